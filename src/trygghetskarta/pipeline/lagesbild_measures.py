"""The lägesbild's measures: level, change like for like and normal range, per district.

Part of the wiring layer beside :mod:`trygghetskarta.pipeline.publish`: reads nothing
itself (the report step hands it the store's events and statistics) and calls the pure
functions of :mod:`trygghetskarta.analysis` (:func:`~trygghetskarta.analysis.count_interval`,
:func:`~trygghetskarta.analysis.rate_interval`,
:func:`~trygghetskarta.analysis.seasonal_range`). The counts are raw here; the lägesbild
applies the export profile when it shows them.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from trygghetskarta import analysis
from trygghetskarta.periods import Comparison, Period
from trygghetskarta.render import Measure
from trygghetskarta.schema import LAYER_LABELS_SV, TIMEZONE, Layer

#: Earlier years a normal range is made of (at most), and needs (at least).
RANGE_YEARS = 3
MIN_YEARS = 2
#: Coverage of the normal range.
RANGE_LEVEL = 0.95
#: The label of Brå's reported crimes, and what its figure is.
BRA_LABEL = "Anmälda brott (Brå)"
BRA_UNIT = "anmälda brott per 100 000 invånare"
#: Layer label on the lägesbild: police notices are named for what they are.
MEASURE_LABELS = {
    Layer.REPORTED_CRIME.value: "Anmälda brott (polisens brottslistor)",
    Layer.POLICE_EVENT.value: "Polisens händelsenotiser",
    Layer.SHOOTING.value: "Skjutningar",
    Layer.FIRE.value: "Bränder",
}


def _stamps(times: pd.Series) -> pd.Series:
    t = pd.to_datetime(times)
    return t.dt.tz_localize(TIMEZONE) if t.dt.tz is None else t.dt.tz_convert(TIMEZONE)


def _count_between(times: pd.Series, start: pd.Timestamp, end: pd.Timestamp) -> int:
    return int(((times >= start) & (times < end)).sum())


def earlier_counts(
    times: pd.Series,
    comparison: Comparison,
    covered_from: pd.Timestamp | None,
    *,
    years: int = RANGE_YEARS,
) -> list[float]:
    """The counts of the same days in each of ``years`` earlier years that the data cover.

    The current span of ``comparison`` moved back 1, 2 … years; a year that starts
    before ``covered_from`` (the layer's first data) is left out, not counted as zero.
    """
    start, end = comparison.current.start, comparison.current.end
    out: list[float] = []
    for back in range(1, years + 1):
        s = start - pd.DateOffset(years=back)
        e = end - pd.DateOffset(years=back)
        if covered_from is not None and s < covered_from:
            continue
        out.append(float(_count_between(times, s, e)))
    return out


def _months(times: pd.Series) -> pd.DataFrame:
    """Counts per month over every month from the first event's to the last's."""
    if times.empty:
        return pd.DataFrame({"month": pd.Series(dtype="datetime64[ns]"), "count": []})
    month = times.dt.tz_localize(None).dt.to_period("M")
    counts = month.value_counts()
    full = pd.period_range(counts.index.min(), counts.index.max(), freq="M")
    counts = counts.reindex(full, fill_value=0)
    return pd.DataFrame({"month": full.to_timestamp(), "count": counts.to_numpy()})


def month_positions(
    times: pd.Series, period: Period, covered_from: pd.Timestamp | None
) -> tuple[int, int, int]:
    """Months of ``period`` above and below their normal range, and months with a range.

    Every month from ``covered_from`` (or the first event) to the period's end counts
    (zeros included), each against the same calendar month of earlier years
    (:func:`~trygghetskarta.analysis.seasonal_range`); a month cut by the data's end is
    not tested (its count is not a whole month's).
    """
    first = times.min() if covered_from is None else covered_from
    if pd.isna(first):
        return 0, 0, 0
    first = pd.Timestamp(first).tz_convert(TIMEZONE)
    month_start = first.normalize().replace(day=1)
    if covered_from is not None and first != month_start:
        first = month_start + pd.DateOffset(months=1)  # the data begin inside that month
    else:
        first = month_start
    times = times[times >= first]
    spanned = pd.concat(
        [times, pd.Series([pd.Timestamp(first), period.end - pd.Timedelta(seconds=1)])]
    )
    monthly = _months(_stamps(spanned))
    # the two markers added to fix the range are not events
    monthly.loc[monthly.index[0], "count"] -= 1
    monthly.loc[monthly.index[-1], "count"] -= 1
    ranged = analysis.seasonal_range(
        monthly, years=RANGE_YEARS, min_years=MIN_YEARS, level=RANGE_LEVEL
    )
    start = period.start.tz_convert(TIMEZONE).tz_localize(None)
    last = (
        pd.Timestamp(period.data_end).to_period("M")
        if period.partial and period.data_end is not None
        else None
    )
    inside = ranged[ranged["month"] >= start]
    if last is not None:
        inside = inside[inside["month"].dt.to_period("M") < last]
    tested = inside[inside["position"].notna()]
    return (
        int((tested["position"] == "över").sum()),
        int((tested["position"] == "under").sum()),
        len(tested),
    )


def event_measure(
    label: str,
    times: pd.Series,
    comparison: Comparison,
    period: Period,
    covered_from: pd.Timestamp | None,
) -> Measure:
    """A measure of events: the period's count, the same days a year before, the normal
    range of the same days in earlier years and the months outside their own range."""
    times = _stamps(times.dropna())
    current = _count_between(times, comparison.current.start, comparison.current.end)
    previous = None
    if comparison.comparable and (
        covered_from is None or comparison.previous.start >= covered_from
    ):
        previous = float(_count_between(times, comparison.previous.start, comparison.previous.end))
    earlier = earlier_counts(times, comparison, covered_from)
    interval = analysis.count_interval(earlier, level=RANGE_LEVEL, min_years=MIN_YEARS)
    above, below, tested = month_positions(times, period, covered_from)
    return Measure(
        label=label,
        value=float(current),
        previous=previous,
        compared_with="samma dagar året innan",
        interval=interval,
        months_above=above,
        months_below=below,
        months_tested=tested,
        min_years=MIN_YEARS,
    )


def district_measures(
    history: pd.DataFrame,
    district: str,
    comparison: Comparison,
    period: Period,
    covered_from: Mapping[str, pd.Timestamp | None],
    layers: tuple[str, ...],
) -> dict[str, Measure]:
    """Each source layer's measure for one district, by layer value, in ``layers``' order.

    ``history`` holds every event of the store's layers (``layer``, ``occurred_at``,
    ``stadsdelsomrade`` named in the scheme of the maps); ``covered_from`` each layer's
    first data.
    """
    mine = history[history["stadsdelsomrade"] == district]
    out: dict[str, Measure] = {}
    for layer in layers:
        rows = mine[mine["layer"] == layer]
        label = MEASURE_LABELS.get(layer, LAYER_LABELS_SV.get(Layer(layer), layer))
        out[layer] = event_measure(
            label, rows["occurred_at"], comparison, period, covered_from.get(layer)
        )
    return out


def category_measures(
    history: pd.DataFrame,
    district: str,
    layer: str,
    comparison: Comparison,
    period: Period,
    covered_from: pd.Timestamp | None,
    labels: Mapping[str, str],
) -> dict[str, Measure]:
    """One measure per category of a layer in a district (raw counts), by category."""
    rows = history[(history["stadsdelsomrade"] == district) & (history["layer"] == layer)]
    out: dict[str, Measure] = {}
    for category, part in rows.groupby("category", sort=True):
        key = str(category)
        out[key] = event_measure(
            labels.get(key, key), part["occurred_at"], comparison, period, covered_from
        )
    return out


def bra_measure(stats: pd.DataFrame | None, district: str) -> Measure | None:
    """Brå's reported crimes per 100 000 inhabitants in the district's latest year, against
    the year before and the normal range of the earlier years; ``None`` without figures.

    Uses the yearly ``total`` rows of Brå's own database (``bra_statistikdatabas``, one
    series across both district schemes where the district kept its name).
    """
    if stats is None or stats.empty:
        return None
    rows = stats[
        (stats["area"] == district)
        & stats["area_scheme"].isin(["sdo_11", "sdo_13"])
        & stats["month"].isna()
        & (stats["category_key"] == "total")
        & (stats["rate_unit"] == "per_100k")
    ]
    if "suppressed" in rows.columns:
        rows = rows[~rows["suppressed"].fillna(False).astype(bool)]
    rows = rows.dropna(subset=["rate"])
    if rows.empty:
        return None
    by_year = rows.groupby("year")["rate"].mean().sort_index()
    year = int(by_year.index.max())
    value = float(by_year.loc[year])
    previous = float(by_year.loc[year - 1]) if year - 1 in by_year.index else None
    earlier = by_year[by_year.index < year].to_numpy(dtype=float)
    interval = analysis.rate_interval(earlier, level=RANGE_LEVEL)
    return Measure(
        label=f"{BRA_LABEL} {year}",
        value=float(np.round(value)),
        unit=BRA_UNIT,
        previous=None if previous is None else float(np.round(previous)),
        compared_with=str(year - 1),
        interval=interval,
        season=False,
        min_years=3,
    )
