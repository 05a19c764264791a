"""Counts over time: monthly series per district and category, and period summaries.

Months are calendar months in Stockholm local time: an event at 23:30 UTC on 31 January
happened on 1 February in Stockholm and counts in February. Events without a district
(or any other grouping value) are kept, under :data:`UNKNOWN`, so totals add up to the
events given.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd

from trygghetskarta.analysis import _frames
from trygghetskarta.analysis._frames import UNKNOWN as UNKNOWN  # re-exported: the okänt group
from trygghetskarta.analysis._frames import DateLike as DateLike
from trygghetskarta.errors import AnalysisError
from trygghetskarta.periods import Comparison

#: A month counts as complete when it holds at least this share of the median month's events …
COMPLETE_SHARE = 3 / 4
#: … and so do the months after it, this many in all (one busy month alone is not enough).
COMPLETE_RUN = 3

#: The value grouping columns get for events where they are missing (no district known).


def _month_start(local: pd.Series) -> pd.Series:
    return local.dt.to_period("M").dt.to_timestamp()


def monthly_counts(
    events: pd.DataFrame,
    *,
    by: str | Sequence[str] = ("stadsdelsomrade", "category"),
    start: DateLike | None = None,
    end: DateLike | None = None,
    time_column: str = "occurred_at",
) -> pd.DataFrame:
    """Events per calendar month and group, with months without events as 0.

    Parameters
    ----------
    events
        One row per event with a timezone-aware ``time_column`` and the ``by`` columns.
    by
        Grouping columns; ``()`` for one series of totals.
    start, end
        First and last month to report (any date inside them); default: the months of
        the first and last event. Events outside are left out.
    time_column
        The event time to count by.

    Returns
    -------
    pandas.DataFrame
        Columns ``month`` (the first day of the month, a tz-naive timestamp at midnight,
        Stockholm calendar), the ``by`` columns and ``count`` (int64). Every combination
        of the months in the period and the values seen in each ``by`` column has a row,
        so a chart of any series has no gaps. Missing grouping values (an event outside
        every district) appear as :data:`UNKNOWN`.

    Raises
    ------
    SchemaError
        A column is missing or the times are not timezone-aware.

    Warns
    -----
    UserWarning
        When events without a time are left out.

    Examples
    --------
    >>> t = pd.to_datetime(["2024-01-05", "2024-03-02"]).tz_localize("Europe/Stockholm")
    >>> ev = pd.DataFrame({"occurred_at": t, "stadsdelsomrade": ["Farsta", None]})
    >>> monthly_counts(ev, by="stadsdelsomrade")["count"].tolist()  # Farsta, okänt × 3 months
    [1, 0, 0, 0, 0, 1]
    """
    cols = _frames.columns(by)
    _frames.require(events, [time_column, *cols])
    frame = _frames.filled_keys(events[[time_column, *cols]], cols)
    frame["month"] = _month_start(_frames.local_naive(frame[time_column], time_column))
    no_time = frame["month"].isna()
    if no_time.any():
        warnings.warn(
            f"{int(no_time.sum())} events without {time_column} were left out of the monthly "
            "counts",
            UserWarning,
            stacklevel=2,
        )
        frame = frame[~no_time]
    first = (
        _month_start(pd.Series([_frames.local_stamp(start, "start")])).iloc[0] if start else None
    )
    last = _month_start(pd.Series([_frames.local_stamp(end, "end")])).iloc[0] if end else None
    if first is None or last is None:
        if frame.empty:
            return pd.DataFrame(
                {
                    "month": pd.Series(dtype="datetime64[ns]"),
                    **{c: pd.Series(dtype=object) for c in cols},
                    "count": pd.Series(dtype="int64"),
                }
            )
        first = frame["month"].min() if first is None else first
        last = frame["month"].max() if last is None else last
    if last < first:
        raise AnalysisError(f"end ({end}) is before start ({start}) — swap them")
    frame = frame[(frame["month"] >= first) & (frame["month"] <= last)]
    months = pd.date_range(first, last, freq="MS")
    levels = [months] + [sorted(frame[c].unique(), key=str) for c in cols]
    index = pd.MultiIndex.from_product(levels, names=["month", *cols])
    counts = frame.groupby(["month", *cols], sort=False).size()
    counts = counts.reindex(index, fill_value=0).astype("int64")
    return counts.rename("count").reset_index()


def _population_for(
    population: pd.DataFrame, year: int
) -> tuple[dict[object, float], dict[object, int]]:
    _frames.require(population, ["area", "year", "population"])
    recent = population[population["year"] <= year].sort_values("year")
    latest = recent.groupby("area", sort=False).tail(1)
    return (
        dict(zip(latest["area"], latest["population"].astype(float), strict=True)),
        dict(zip(latest["area"], latest["year"].astype(int), strict=True)),
    )


def complete_from(
    occurred_at: pd.Series,
    *,
    share: float = COMPLETE_SHARE,
    run: int = COMPLETE_RUN,
) -> date | None:
    """The first day of the first month from which the data look complete.

    Without a recorded coverage, the events themselves say where an archive is sparse: the
    first month that holds at least ``share`` of the median month's events, with the
    ``run - 1`` months after it doing so too (the last month, which the data's end may
    cut, is left out of the median and the test). The police archive of 2022–2025 gives
    April 2023: before it a handful of events a month, and March 2023, where the archive
    starts on the 20th, holds 56 Stockholm events against a median month of 83.

    Parameters
    ----------
    occurred_at
        Event times (timezone-aware).
    share, run
        The threshold and how many months in a row must pass it.

    Returns
    -------
    datetime.date or None
        ``None`` without events; the first month's first day when no month passes.

    Examples
    --------
    >>> t = pd.Series(pd.to_datetime(
    ...     ["2023-01-05"] + ["2023-02-03"] * 2 + ["2023-03-03"] * 9 + ["2023-04-03"] * 10
    ...     + ["2023-05-03"] * 9 + ["2023-06-03"] * 10 + ["2023-07-03"] * 4
    ... ).tz_localize("Europe/Stockholm"))
    >>> complete_from(t)
    datetime.date(2023, 3, 1)
    """
    local = _frames.local_naive(occurred_at.dropna(), "occurred_at")
    if local.empty:
        return None
    months = local.dt.to_period("M")
    counts = months.value_counts().sort_index()
    full = pd.period_range(counts.index.min(), counts.index.max(), freq="M")
    counts = counts.reindex(full, fill_value=0)
    body = counts.iloc[:-1] if len(counts) > 1 else counts
    floor = share * float(np.median(body.to_numpy()))
    ok = (body.to_numpy(dtype=float) >= floor).astype(int)
    n = max(1, min(int(run), len(ok)))
    for i in range(len(ok) - n + 1):
        if ok[i : i + n].all():
            return body.index[i].start_time.date()
    return counts.index[0].start_time.date()


def period_summary(
    events: pd.DataFrame,
    *,
    start: DateLike | None = None,
    end: DateLike | None = None,
    comparison: Comparison | None = None,
    by: str = "stadsdelsomrade",
    population: pd.DataFrame | None = None,
    time_column: str = "occurred_at",
) -> pd.DataFrame:
    """Counts per district in a period, the same days a year before, and the change.

    Parameters
    ----------
    events
        One row per event with a timezone-aware ``time_column`` and the ``by`` column;
        it should cover both the period and the year before it.
    start, end
        The period, ``start`` included and ``end`` excluded, in Stockholm local time
        (``start="2024-01-01", end="2025-01-01"`` is the year 2024), compared with the
        same dates a year before; not needed with ``comparison``.
    comparison
        The days counted and the days compared with
        (:func:`trygghetskarta.periods.like_for_like`: a period cut by the data's end
        against the same calendar days a year before); when it is not
        :attr:`~trygghetskarta.periods.Comparison.comparable` (the year before lies before
        complete data) ``change_pct`` is NaN.
    by
        The district column.
    population
        Optional frame with columns ``area`` (matching ``by`` values), ``year`` and
        ``population``. Each district gets the latest year not after the period's last
        day.
    time_column
        The event time to count by.

    Returns
    -------
    pandas.DataFrame
        One row per district seen anywhere in ``events`` (events with none count under
        :data:`UNKNOWN`), sorted by name, with columns ``by``, ``count``,
        ``count_prev_year``, ``change_pct`` (NaN when the year before had no events or is
        not comparable), ``comparable`` and,
        with ``population``, ``population``, ``population_year`` and ``rate_per_1000``
        (events in the period per 1 000 inhabitants; NaN without a population).

    Raises
    ------
    SchemaError
        A column is missing or the times are not timezone-aware.
    AnalysisError
        ``end`` is not after ``start``, or neither they nor ``comparison`` are given.
    """
    _frames.require(events, [time_column, by])
    t0, t1, p0, p1, comparable = _frames.spans(start, end, comparison)
    frame = _frames.filled_keys(events[[time_column, by]], [by])
    local = _frames.local_naive(frame[time_column], time_column)
    districts = sorted(frame[by].unique(), key=str)
    now = frame.loc[(local >= t0) & (local < t1), by].value_counts()
    before = frame.loc[(local >= p0) & (local < p1), by].value_counts()
    out = pd.DataFrame({by: pd.Series(districts, dtype=object)})
    out["count"] = out[by].map(now).fillna(0).astype("int64")
    out["count_prev_year"] = out[by].map(before).fillna(0).astype("int64")
    prev = out["count_prev_year"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        change = np.where(prev > 0, (out["count"] - prev) / prev * 100.0, np.nan)
    out["change_pct"] = change if comparable else np.nan
    out["comparable"] = comparable
    if population is not None:
        last_day = t1 - pd.Timedelta(days=1)
        pop, year = _population_for(population, last_day.year)
        out["population"] = out[by].map(pop).astype(float)
        out["population_year"] = out[by].map(year).astype("Int64")
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = out["count"] / out["population"].where(out["population"] > 0) * 1000.0
        out["rate_per_1000"] = rate.astype(float)
    return out
