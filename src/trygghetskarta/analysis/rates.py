"""Monthly rates and period change per district and category, against last year and the city.

- :func:`monthly_series`: monthly counts per district and category with rates per
  1 000 inhabitants, the same month a year before, and the city's figures beside them.
- :func:`change_table`: a period against the same period a year before, per district
  and category and for the city, with exact tests of the change and of the change
  against the city's.
- :func:`population_at`: the population of an area in a year (latest known or
  interpolated).

Events are frames with a timezone-aware ``occurred_at`` and the grouping columns; events
without a district count under :data:`~trygghetskarta.analysis.trends.UNKNOWN` and belong
to the city's totals (a police event placed only in the kommun happened in the city all
the same). Population frames have the columns ``area, year, population``
(``areas.load_population``); the city's own row is named by ``city`` (``"Stockholm"``).
To follow districts across the 2024 reform, put them in one scheme first
(:mod:`~trygghetskarta.analysis.schemes`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from scipy.stats import binomtest, fisher_exact

from trygghetskarta.analysis._frames import (
    YEAR,
    columns,
    filled_keys,
    local_naive,
    local_stamp,
    month_of,
    require,
    spans,
)
from trygghetskarta.analysis.trends import DateLike, monthly_counts
from trygghetskarta.errors import AnalysisError
from trygghetskarta.periods import Comparison

#: The name of the whole city in population frames.
CITY = "Stockholm"

PopulationMethod = Literal["latest", "interpolate"]

__all__ = ["CITY", "change_table", "monthly_series", "population_at"]


def _pct_change(now: pd.Series, before: pd.Series) -> pd.Series:
    b = before.astype(float)
    return ((now.astype(float) - b) / b.where(b > 0) * 100.0).astype(float)


def _per_1000(count: pd.Series, population: pd.Series) -> pd.Series:
    pop = population.astype(float)
    return (count.astype(float) / pop.where(pop > 0) * 1000.0).astype(float)


def population_at(
    population: pd.DataFrame,
    areas: Sequence[object],
    years: Sequence[int],
    *,
    method: PopulationMethod = "latest",
) -> np.ndarray:
    """Population of each (area, year) pair.

    Parameters
    ----------
    population
        Columns ``area, year, population`` (forecast rows, ``forecast=True``, are
        ignored).
    areas, years
        Equal-length sequences: the pairs to look up.
    method
        ``"latest"``: the latest year not after the one asked for (as
        :func:`~trygghetskarta.analysis.trends.period_summary`), NaN before the first;
        ``"interpolate"``: linear between the years given, constant beyond them.

    Returns
    -------
    numpy.ndarray
        float64, NaN for areas without population (e.g. :data:`UNKNOWN`).
    """
    require(population, ["area", "year", "population"], "population")
    if method not in ("latest", "interpolate"):
        raise AnalysisError(f"expected method 'latest' or 'interpolate', got {method!r}")
    pop = population
    if "forecast" in pop.columns:
        pop = pop[~pop["forecast"].astype(bool)]
    area_arr = np.asarray(areas, dtype=object)
    year_arr = np.asarray(years, dtype=float)
    if area_arr.size != year_arr.size:
        raise AnalysisError(
            f"expected as many years as areas, got {year_arr.size} and {area_arr.size}"
        )
    out = np.full(area_arr.size, np.nan)
    for area, rows in pop.groupby("area", sort=False):
        rows = rows.sort_values("year")
        ys = rows["year"].to_numpy(dtype=float)
        ps = rows["population"].to_numpy(dtype=float)
        hit = area_arr == area
        if not hit.any():
            continue
        want = year_arr[hit]
        if method == "latest":
            idx = np.searchsorted(ys, want, side="right") - 1
            out[hit] = np.where(idx >= 0, ps[np.clip(idx, 0, None)], np.nan)
        else:
            out[hit] = np.interp(want, ys, ps)
    return out


def _by_and_others(by: str | Sequence[str], district: str) -> tuple[list[str], list[str]]:
    cols = columns(by)
    if district not in cols:
        raise AnalysisError(
            f"expected the district column {district!r} among by={cols} — add it or name "
            "another district column"
        )
    return cols, [c for c in cols if c != district]


def _with_prev_year(
    frame: pd.DataFrame, keys: list[str], value: str, first: pd.Timestamp
) -> pd.Series:
    """The ``value`` of the same month a year before; NaN before the covered range."""
    shifted = frame[["month", *keys, value]].copy()
    shifted["month"] = shifted["month"] + YEAR
    merged = frame[["month", *keys]].merge(shifted, on=["month", *keys], how="left")
    prev = merged[value].astype(float)
    prev[(frame["month"] - YEAR < first).to_numpy()] = np.nan
    return pd.Series(prev.to_numpy(), index=frame.index)


def monthly_series(
    events: pd.DataFrame,
    *,
    population: pd.DataFrame | None = None,
    by: str | Sequence[str] = ("stadsdelsomrade", "category"),
    district: str = "stadsdelsomrade",
    start: DateLike | None = None,
    end: DateLike | None = None,
    data_start: DateLike | None = None,
    data_end: DateLike | None = None,
    city: str = CITY,
    population_method: PopulationMethod = "latest",
    time_column: str = "occurred_at",
) -> pd.DataFrame:
    """Monthly counts and rates per district and category, against last year and the city.

    Parameters
    ----------
    events
        One row per event with ``time_column`` (tz-aware) and the ``by`` columns. To
        follow districts across the 2024 reform, put them in one scheme first
        (:func:`to_2024_districts`).
    population
        Optional ``area, year, population`` frame for the rates (per 1 000 inhabitants
        per month); the city's row is named ``city``.
    by
        Grouping columns, including ``district``.
    district
        The district column: the city's figures are the sums over it.
    start, end
        First and last month reported (default: those of the events).
    data_start
        The first month the data covers (default: the month of the first event); a
        month whose month a year before is earlier has no previous-year values (NaN, not
        0).
    data_end
        The last day with data. The month it cuts is marked ``partial_month`` and its
        previous-year values count the same calendar days a year before
        (:func:`trygghetskarta.periods.like_for_like`: data ending 22 August against
        1–22 August), never the whole month.
    city
        The city's name in ``population``.
    population_method
        See :func:`population_at`.
    time_column
        The event time.

    Returns
    -------
    pandas.DataFrame
        One row per month and group (every combination, zeros included): ``month``,
        the ``by`` columns, ``count``, ``count_prev_year``, ``change_pct``,
        ``city_count``, ``city_count_prev_year``, ``city_change_pct``,
        ``change_vs_city_pp`` (the district's change minus the city's, percentage
        points), ``partial_month`` (the data end inside the month) and, with
        ``population``, ``population``, ``rate_per_1000``, ``city_population``,
        ``city_rate_per_1000`` and ``rate_ratio_city`` (the district's rate over the
        city's). Changes are NaN where the year before had no events or is not covered.
    """
    cols, others = _by_and_others(by, district)
    require(events, [time_column, *cols])
    local = local_naive(events[time_column], time_column)
    if data_start is not None:
        covered = month_of(data_start, "data_start")
    elif local.notna().any():
        covered = local.min().to_period("M").to_timestamp()
    else:  # no event has a time: an empty frame with every column
        covered = pd.Timestamp("1970-01-01")
        events = events.iloc[0:0]
    first = month_of(start, "start") if start is not None else covered
    last = month_of(end, "end") if end is not None else None
    counts = monthly_counts(
        events, by=cols, start=max(first - YEAR, covered), end=last, time_column=time_column
    )
    citywide = counts.groupby(["month", *others], sort=False, as_index=False)["count"].sum()
    citywide = citywide.rename(columns={"count": "city_count"})
    citywide["city_count_prev_year"] = _with_prev_year(citywide, others, "city_count", covered)
    out = counts.copy()
    out["count_prev_year"] = _with_prev_year(out, cols, "count", covered)
    out = out.merge(citywide, on=["month", *others], how="left")
    out = out[out["month"] >= first].reset_index(drop=True)
    out["partial_month"] = False
    if data_end is not None:
        _same_days_last_year(out, events, cols, others, covered, data_end, time_column)
    out["change_pct"] = _pct_change(out["count"], out["count_prev_year"])
    out["city_change_pct"] = _pct_change(out["city_count"], out["city_count_prev_year"])
    out["change_vs_city_pp"] = out["change_pct"] - out["city_change_pct"]
    if population is not None:
        years = out["month"].dt.year.to_numpy()
        out["population"] = population_at(
            population, out[district].to_numpy(), years, method=population_method
        )
        out["rate_per_1000"] = _per_1000(out["count"], out["population"])
        out["city_population"] = population_at(
            population, [city] * len(out), years, method=population_method
        )
        out["city_rate_per_1000"] = _per_1000(out["city_count"], out["city_population"])
        out["rate_ratio_city"] = out["rate_per_1000"] / out["city_rate_per_1000"]
    order = ["month", *cols, "count", "count_prev_year", "change_pct", "city_count"]
    order += ["city_count_prev_year", "city_change_pct", "change_vs_city_pp", "partial_month"]
    rest = [c for c in out.columns if c not in order]
    return out[order + rest]


def _same_days_last_year(
    out: pd.DataFrame,
    events: pd.DataFrame,
    cols: list[str],
    others: list[str],
    covered: pd.Timestamp,
    data_end: DateLike,
    time_column: str,
) -> None:
    """In place: the month ``data_end`` cuts gets ``partial_month`` and previous-year
    counts over the same calendar days a year before (city counts too)."""
    end = local_stamp(data_end, "data_end").normalize()
    month = end.to_period("M").to_timestamp()
    if end + pd.Timedelta(days=1) == month + pd.DateOffset(months=1):
        return  # the data end on the month's last day: the month is whole
    rows = (out["month"] == month).to_numpy()
    if not rows.any():
        return
    out.loc[rows, "partial_month"] = True
    p0, p1 = month - YEAR, end - YEAR + pd.Timedelta(days=1)
    if p0 < covered:
        return  # the year before is not covered: already NaN
    frame = filled_keys(events[[time_column, *cols]], cols)
    local = local_naive(frame[time_column], time_column)
    before = frame[((local >= p0) & (local < p1)).to_numpy()]
    out.loc[rows, "count_prev_year"] = _counts_at(before, out.loc[rows], cols)
    city_prev = _counts_at(before, out.loc[rows], others) if others else float(len(before))
    out.loc[rows, "city_count_prev_year"] = city_prev


def _counts_at(events: pd.DataFrame, rows: pd.DataFrame, keys: list[str]) -> np.ndarray:
    """How many ``events`` share each row's ``keys`` values (0 for none)."""
    counts = events.groupby(keys).size()
    index = pd.MultiIndex.from_frame(rows[keys]) if len(keys) > 1 else pd.Index(rows[keys[0]])
    return counts.reindex(index, fill_value=0).to_numpy(dtype=float)


def _two_sided_rate_test(now: int, before: int, exposure_ratio: float) -> float:
    """Exact conditional test of equal Poisson rates (R's ``poisson.test`` of two counts)."""
    total = now + before
    if total == 0:
        return 1.0
    return float(binomtest(now, total, exposure_ratio / (1.0 + exposure_ratio)).pvalue)


def change_table(
    events: pd.DataFrame,
    *,
    start: DateLike | None = None,
    end: DateLike | None = None,
    comparison: Comparison | None = None,
    by: str | Sequence[str] = ("stadsdelsomrade", "category"),
    district: str = "stadsdelsomrade",
    population: pd.DataFrame | None = None,
    city: str = CITY,
    population_method: PopulationMethod = "latest",
    time_column: str = "occurred_at",
) -> pd.DataFrame:
    """A period against the same period a year before, per group and for the city.

    Parameters
    ----------
    events
        One row per event, covering the period and the year before it.
    start, end
        The period ``[start, end)`` in Stockholm local time, against the same dates a
        year before; not needed with ``comparison``.
    comparison
        The days counted and those compared with
        (:func:`trygghetskarta.periods.like_for_like`); when it is not comparable (the
        year before lies before complete data) the changes and their tests are NaN.
    by, district
        Grouping columns and the district among them (the city sums over it).
    population, city, population_method
        For rates per 1 000 inhabitants over the period (population of the year of the
        period's last day), as in :func:`monthly_series`.
    time_column
        The event time.

    Returns
    -------
    pandas.DataFrame
        One row per combination of the ``by`` values seen in ``events``, with
        ``count``, ``count_prev_year``, ``change_pct``, ``p_change`` (exact two-sided
        test that the rate did not change, conditional on the two counts' sum, allowing
        for periods of unequal length), ``city_count``, ``city_count_prev_year``,
        ``city_change_pct``, ``change_vs_city_pp``, ``p_vs_city`` (Fisher's exact test
        that the group's share of the city's events did not change) and, with
        ``population``, ``population``, ``rate_per_1000``, ``city_population``,
        ``city_rate_per_1000``, ``rate_ratio_city``; and ``comparable``.

    Raises
    ------
    AnalysisError
        ``end`` is not after ``start``, or neither they nor ``comparison`` are given.
    """
    cols, others = _by_and_others(by, district)
    require(events, [time_column, *cols])
    t0, t1, p0, p1, comparable = spans(start, end, comparison)
    frame = filled_keys(events[[time_column, *cols]], cols)
    local = local_naive(frame[time_column], time_column)
    levels = [sorted(frame[c].unique(), key=str) for c in cols]
    index = pd.MultiIndex.from_product(levels, names=cols)
    now = frame[(local >= t0) & (local < t1)].groupby(cols).size().reindex(index, fill_value=0)
    before = frame[(local >= p0) & (local < p1)].groupby(cols).size().reindex(index, fill_value=0)
    out = pd.DataFrame({"count": now.astype("int64"), "count_prev_year": before.astype("int64")})
    out = out.reset_index()
    if others:
        totals = out.groupby(others, as_index=False)[["count", "count_prev_year"]].sum()
        totals.columns = [*others, "city_count", "city_count_prev_year"]
        out = out.merge(totals, on=others, how="left")
    else:
        out["city_count"] = int(out["count"].sum())
        out["city_count_prev_year"] = int(out["count_prev_year"].sum())
    exposure = (t1 - t0) / (p1 - p0)
    out["change_pct"] = _pct_change(out["count"], out["count_prev_year"])
    out["p_change"] = [
        _two_sided_rate_test(int(a), int(b), exposure)
        for a, b in zip(out["count"], out["count_prev_year"], strict=True)
    ]
    out["city_change_pct"] = _pct_change(out["city_count"], out["city_count_prev_year"])
    out["change_vs_city_pp"] = out["change_pct"] - out["city_change_pct"]
    out["p_vs_city"] = [
        float(fisher_exact([[a, b], [c - a, d - b]]).pvalue)
        for a, b, c, d in zip(
            out["count"],
            out["count_prev_year"],
            out["city_count"],
            out["city_count_prev_year"],
            strict=True,
        )
    ]
    if population is not None:
        year = (t1 - pd.Timedelta(days=1)).year
        out["population"] = population_at(
            population, out[district].to_numpy(), [year] * len(out), method=population_method
        )
        out["rate_per_1000"] = _per_1000(out["count"], out["population"])
        out["city_population"] = population_at(
            population, [city] * len(out), [year] * len(out), method=population_method
        )
        out["city_rate_per_1000"] = _per_1000(out["city_count"], out["city_population"])
        out["rate_ratio_city"] = out["rate_per_1000"] / out["city_rate_per_1000"]
    if not comparable:
        for c in ("change_pct", "p_change", "city_change_pct", "change_vs_city_pp", "p_vs_city"):
            out[c] = np.nan
    out["comparable"] = comparable
    return out
