"""The tabular analyses of the ``analyse`` step: near-repeats, hour × weekday, trends.

Like :mod:`.parts`, each function takes the
:class:`~.inputs.AnalysisInputs` read once and returns a frame (the step writes
it to DuckDB); notebooks call them too.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from trygghetskarta import areas as areas_mod
from trygghetskarta.analysis.nearrepeat import KnoxTable, knox_table
from trygghetskarta.analysis.rates import CITY, change_table, monthly_series
from trygghetskarta.analysis.rhythm import HourWeekday, hour_weekday, seasonal_baseline
from trygghetskarta.analysis.significance import benjamini_hochberg
from trygghetskarta.coverage import Coverage
from trygghetskarta.pipeline.analyse.inputs import (
    ALL,
    PLACED,
    AnalysisInputs,
    EmptySelectionError,
    district_population,
    districts_in_scheme,
    select,
)
from trygghetskarta.pipeline.analyse.parts import params_json, sample_fields, warn_sampled
from trygghetskarta.schema import TIMEZONE

# The Knox bands, permutations and cap are ``inputs.parameters``' ``knox_*``
# (:class:`~trygghetskarta.config.AnalysisParameters`). The observed table counts every
# placed event (memory grows with the pairs close in space and time); above
# ``knox_max_events`` the permutations run on a seeded random sample: their time is
# permutations × pairs close in space, and those grow with the square of the events
# (5 000 events over the kommun take about a second with 999 permutations; 20 000 take
# 45 s, 50 000 five minutes, bench/bench_nearrepeat.py).
#: Earlier years the seasonal baseline of a month averages.
BASELINE_YEARS = 3
#: False discovery rate at which a change against the year before is flagged.
CHANGE_ALPHA = 0.05

__all__ = [
    "hour_weekday_profile",
    "near_repeat",
    "trend_changes",
    "trends",
]


def near_repeat(
    inputs: AnalysisInputs,
    layer: str,
    category: str = ALL,
    *,
    distance_bands: Sequence[float] | None = None,
    time_bands: Sequence[float] | None = None,
    permutations: int | None = None,
    max_events: int | None = None,
) -> pd.DataFrame:
    """Knox near-repeat table of a selection's placed events in the period.

    Pairs of events placed at a place, a street or better (:data:`PLACED`) in distance
    bands (the same point, then ``distance_bands``) × time bands (days), observed against
    expected under independence, with seeded Monte-Carlo p-values
    (:func:`~trygghetskarta.analysis.nearrepeat.knox_table`). The observed and expected
    pairs and their ratio count every placed event, however many. The Monte-Carlo
    p-values need the pairs close in space listed and re-read once per permutation
    (pairs grow with the square of the events): above ``max_events`` events they come
    from the permutations of a seeded random sample of that size, and the table says
    so: a warning (the step's result, the run summary, the manifest) and the columns
    ``sampled_n``, ``sampled_of`` and ``sampled`` (``"5000 of 184134"``; ``""`` when
    every event was used). The bands, permutations and cap default to
    ``inputs.parameters``' ``knox_*``.

    Returns
    -------
    pandas.DataFrame
        ``KnoxTable.to_frame()`` (``distance_band … p_lower``) with ``layer, category,
        period_start, period_end, n_events, n_sampled_from, pairs, permutations``,
        ``sampled_n, sampled_of, sampled`` and ``params``.

    Raises
    ------
    EmptySelectionError
        Fewer than two placed events.
    """
    p = inputs.parameters
    distance_bands = p.knox_distance_bands_m if distance_bands is None else distance_bands
    time_bands = p.knox_time_bands_d if time_bands is None else time_bands
    permutations = p.knox_permutations if permutations is None else permutations
    max_events = p.knox_max_events if max_events is None else max_events
    ev = select(inputs, layer, category)
    use = ev[(ev["precision"].isin(PLACED) & ev["x"].notna() & ev["y"].notna()).to_numpy()]
    if len(use) < 2:
        raise EmptySelectionError(
            f"near-repeat {layer}/{category}: {len(use)} events in {inputs.period.label} are "
            "placed at a place, street or better; the Knox test needs two"
        )
    n_from = len(use)

    def run(events: pd.DataFrame, shuffles: int) -> KnoxTable:
        return knox_table(
            events["x"].to_numpy(dtype=float),
            events["y"].to_numpy(dtype=float),
            events["occurred_at"],
            distance_bands=distance_bands,
            time_bands=time_bands,
            same_location=True,
            permutations=shuffles,
            seed=inputs.seed,
        )

    capped = permutations > 0 and n_from > max_events
    # the observed table is exact on every event whatever their number; only the
    # permutations (time × close pairs) are capped
    table = run(use, 0 if capped else permutations)
    p_value, p_lower, tested_n, shuffled = table.p_value, table.p_lower, table.n, 0
    if capped:
        tested = run(use.sample(n=max_events, random_state=inputs.seed), permutations)
        p_value, p_lower, tested_n = tested.p_value, tested.p_lower, tested.n
        shuffled = tested.permutations
        warn_sampled(
            "near-repeat",
            f"{layer}/{category}",
            tested_n,
            n_from,
            "knox_max_events",
            what=f"the table counts all {table.n:,} events, but its Monte-Carlo p-values "
            "come from permutations of",
        )
    params = {
        "test": "Knox, Monte-Carlo (times shuffled over places)",
        "distance_bands_m": list(distance_bands),
        "time_bands_d": list(time_bands),
        "same_location_band": True,
        "precision": ", ".join(PLACED),
        "seed": inputs.seed,
        "n_excluded": table.n_excluded,
        "p_values_from": "every event" if not capped else f"a seeded sample of {tested_n}",
    }
    out = table.to_frame()
    if capped:
        nan = np.full(table.observed.size, np.nan)
        out["p_value"] = nan if p_value is None else p_value.ravel()
        out["p_lower"] = nan if p_lower is None else p_lower.ravel()
    head = {
        "layer": layer,
        "category": category,
        "period_start": inputs.period.start.date(),
        "period_end": inputs.period.end.date(),
        "n_events": table.n,
        "n_sampled_from": n_from,
        "pairs": table.pairs,
        "permutations": shuffled if capped else table.permutations,
    }
    for i, (name, value) in enumerate(head.items()):
        out.insert(i, name, value)
    fields = sample_fields(tested_n if capped else n_from, n_from)
    for name, value in fields.items():
        out[name] = value
    out["params"] = params_json(params)
    out.attrs.update(fields)
    return out


#: Columns and types of the ``near_repeat`` table (what :func:`near_repeat` returns).
NEAR_REPEAT_COLUMNS = {
    "layer": "string",
    "category": "string",
    "period_start": "datetime64[s]",
    "period_end": "datetime64[s]",
    "n_events": "int64",
    "n_sampled_from": "int64",
    "pairs": "int64",
    "permutations": "int64",
    "distance_band": "string",
    "distance_from": "float64",
    "distance_to": "float64",
    "time_band": "string",
    "time_from": "float64",
    "time_to": "float64",
    "observed": "int64",
    "expected": "float64",
    "ratio": "float64",
    "p_value": "float64",
    "p_lower": "float64",
    "sampled_n": "int64",
    "sampled_of": "int64",
    "sampled": "string",
    "params": "string",
}


def empty_near_repeat() -> pd.DataFrame:
    """The ``near_repeat`` table with no rows (no selection had two placed events)."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in NEAR_REPEAT_COLUMNS.items()})


def hour_weekday_profile(
    inputs: AnalysisInputs,
    *,
    layer: str | None = None,
    category: str | None = None,
    district: str | None = None,
) -> HourWeekday:
    """Events of the period per weekday and hour (Stockholm time), by layer, district, category.

    Every event counts, placed or not; ``district`` is the district in the period's
    scheme (``"okänt"`` for events without one). ``layer``, ``category`` and
    ``district`` narrow the selection.

    Raises
    ------
    EmptySelectionError
        No event in the selection.
    """
    ev = inputs.events
    keep = inputs.period.contains(ev["occurred_at"])
    for column, value in (("layer", layer), ("category", category), ("district", district)):
        if value is not None:
            keep &= ev[column] == value
    chosen = ev[keep.to_numpy()]
    if chosen.empty and (layer or category or district):
        what = "/".join(str(v) for v in (layer, category, district) if v)
        raise EmptySelectionError(f"hour × weekday {what}: no event in {inputs.period.label}")
    return hour_weekday(chosen, by=("layer", "district", "category"))


def hour_weekday_table(inputs: AnalysisInputs) -> pd.DataFrame:
    """:func:`hour_weekday_profile` of every event as the long ``hour_weekday`` table."""
    counts = hour_weekday_profile(inputs).counts
    counts.insert(0, "scheme", inputs.scheme)
    counts.insert(0, "period_end", inputs.period.end.date())
    counts.insert(0, "period_start", inputs.period.start.date())
    return counts


def _population(inputs: AnalysisInputs, scheme: str) -> pd.DataFrame | None:
    if inputs.population is None:
        return None
    return district_population(inputs.population, inputs.areas, scheme)


def _in_scheme(inputs: AnalysisInputs, scheme: str) -> pd.DataFrame:
    ev = inputs.events
    frame = ev[["occurred_at", "layer", "category"]].copy()
    with warnings.catch_warnings():
        # events of a merged district that no stadsdel splits keep the 2024 name; the
        # step warns once for the maps' scheme, the trends need not repeat it
        warnings.simplefilter("ignore", UserWarning)
        frame["district"] = districts_in_scheme(
            ev["stadsdelsomrade"], ev["stadsdel"], inputs.areas, scheme
        )
    return frame


def trends(inputs: AnalysisInputs) -> pd.DataFrame:
    """Monthly counts, rates and changes per district × category, in both district schemes.

    For each scheme (``2021_2023``: 13 districts, ``2024``: 11) and layer: the events
    carried into that scheme's districts (:func:`~.inputs.districts_in_scheme`),
    :func:`~trygghetskarta.analysis.rates.monthly_series` (count, the same month a year
    before, change, the city's figures, rates per 1 000 inhabitants and against the city)
    and :func:`~trygghetskarta.analysis.rhythm.seasonal_baseline` (the same calendar month
    in up to three earlier years, with an FDR-controlled flag).

    Only months from ``inputs.window.data_start`` (the first day of complete data) are
    compared with the year before or make a baseline; earlier months are listed with
    ``complete_data`` false and no change or baseline. The month the data's end cuts is
    ``partial_month``: its change counts the same days a year before and it is not tested
    against its baseline (a part of a month against whole ones). ``gaps`` names the
    feed's recorded gaps inside the month or the same month a year before.

    Returns
    -------
    pandas.DataFrame
        ``scheme, layer, month, district, category, count … rate_ratio_city, baseline,
        baseline_years, ratio_to_baseline, p_value, q_value, above_baseline,
        complete_data, partial_month``; every month from the first event's to the last,
        zeros included. Events without a district are ``"okänt"`` and count in the
        city's figures.
    """
    window = inputs.window
    first = inputs.events["occurred_at"].min()
    data_start = window.data_start if window.data_start is not None else first
    start_month = pd.Timestamp(data_start).to_period("M").to_timestamp()
    first_month = first.tz_convert(TIMEZONE).tz_localize(None).to_period("M").to_timestamp()
    out = []
    for scheme in areas_mod.SCHEMES:
        population = _population(inputs, scheme)
        frame = _in_scheme(inputs, scheme)
        for layer in inputs.layers:
            mine = frame[(frame["layer"] == layer).to_numpy()]
            series = _layer_trends(mine, population, start_month, first_month, window.data_end)
            series.insert(0, "layer", layer)
            series.insert(0, "scheme", scheme)
            out.append(series)
    table = pd.concat(out, ignore_index=True)
    if inputs.population is not None:
        table["population_source"] = (
            "yearbook 31 Dec, latest year not after the month; 2021–2023 districts of a "
            "merged 2024 district split by RegSO population 2024"
        )
    table["gaps"] = _month_gaps(table["month"], inputs.window.coverage)
    return table


def _month_gaps(months: pd.Series, coverage: Coverage | None) -> pd.Series:
    """The recorded gaps (Swedish labels) inside each month or the same month a year
    before, ``""`` for none: a monthly change over a gap says so."""
    if coverage is None or not coverage.gaps:
        return pd.Series("", index=months.index, dtype=object)
    found: dict[pd.Timestamp, str] = {}
    for month in pd.unique(months):
        m = pd.Timestamp(month).to_period("M")
        spans = [(m - 12).start_time.date(), (m - 12).end_time.date()]
        spans += [m.start_time.date(), m.end_time.date()]
        gaps = {
            *coverage.gaps_within(spans[0], spans[1]),
            *coverage.gaps_within(spans[2], spans[3]),
        }
        found[pd.Timestamp(month)] = "; ".join(g.label for g in sorted(gaps))
    return months.map(lambda mo: found[pd.Timestamp(mo)])


def _layer_trends(
    events: pd.DataFrame,
    population: pd.DataFrame | None,
    start_month: pd.Timestamp,
    first_event: pd.Timestamp,
    data_end: object,
) -> pd.DataFrame:
    """One layer's :func:`trends` in one scheme: every month from ``first_event``'s (the
    first event of any layer), only complete months (from ``start_month``) compared with
    the year before and baselined."""
    by = ("district", "category")
    series = monthly_series(
        events,
        population=population,
        by=by,
        district="district",
        data_start=min(first_event, start_month),
        data_end=data_end,
        city=CITY,
    )
    complete = (series["month"] >= start_month).to_numpy()
    unmatched = (series["month"] - pd.DateOffset(years=1) < start_month).to_numpy()
    for c in (*_PREV_COLUMNS, "change_vs_city_pp"):
        series.loc[unmatched, c] = float("nan")
    partial = series["partial_month"].to_numpy(dtype=bool)
    tested = complete & ~partial
    baselined = seasonal_baseline(
        series[tested].reset_index(drop=True), by=by, years=BASELINE_YEARS
    )
    table = pd.concat([baselined, series[~tested]], ignore_index=True)
    table["complete_data"] = (table["month"] >= start_month).to_numpy()
    table["above_baseline"] = table["above_baseline"].fillna(False).astype(bool)
    table["baseline_years"] = table["baseline_years"].fillna(0).astype("int64")
    return table.sort_values(["month", *by], kind="stable").reset_index(drop=True)


#: Columns of :func:`~trygghetskarta.analysis.rates.monthly_series` about the year before.
_PREV_COLUMNS = ("count_prev_year", "change_pct", "city_count_prev_year", "city_change_pct")


def trend_changes(inputs: AnalysisInputs) -> pd.DataFrame:
    """The period against the same months a year before, per district × category.

    :func:`~trygghetskarta.analysis.rates.change_table` for each scheme and layer: counts,
    change with an exact test, change against the city's with Fisher's exact test, and
    rates per 1 000 inhabitants over the period.

    The comparison is :meth:`~trygghetskarta.periods.Period.comparison`: the period to the
    data's last day against the same calendar days a year before, not comparable (changes
    NaN) when the year before starts before complete data; ``prev_start``/``prev_end``
    name the days compared with, ``gaps`` the recorded gaps inside either span.

    Returns
    -------
    pandas.DataFrame
        ``scheme, layer, period_start, period_end, prev_start, prev_end, district,
        category, count, count_prev_year, change_pct, p_change, city_count …,
        comparable, gaps``.
    """
    out = []
    period = inputs.period
    comparison = period.comparison(inputs.window.coverage)
    gaps = "; ".join(g.label for g in comparison.gaps)
    for scheme in areas_mod.SCHEMES:
        population = _population(inputs, scheme)
        frame = _in_scheme(inputs, scheme)
        for layer in inputs.layers:
            mine = frame[(frame["layer"] == layer).to_numpy()]
            table = change_table(
                mine,
                comparison=comparison,
                by=("district", "category"),
                district="district",
                population=population,
                city=CITY,
            )
            table["q_change"] = benjamini_hochberg(table["p_change"].to_numpy(dtype=float))
            table["significant_change"] = table["q_change"] <= CHANGE_ALPHA
            table["gaps"] = gaps
            # ends excluded, as everywhere: the first day not counted
            table.insert(0, "prev_end", comparison.previous.end.date())
            table.insert(0, "prev_start", comparison.previous.first)
            table.insert(0, "period_end", comparison.current.end.date())
            table.insert(0, "period_start", comparison.current.first)
            table.insert(0, "layer", layer)
            table.insert(0, "scheme", scheme)
            out.append(table)
    return pd.concat(out, ignore_index=True)
