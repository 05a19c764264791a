"""Helpers shared by the frame-based analyses (trends, rates, rhythm, schemes): column checks,
Stockholm local time, grouping keys."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd

from trygghetskarta.errors import AnalysisError, SchemaError
from trygghetskarta.periods import Comparison
from trygghetskarta.schema import TIMEZONE

YEAR = pd.DateOffset(years=1)
#: The group of events with no value in a grouping column (e.g. no district).
UNKNOWN = "okänt"
#: A date as the analyses take it: text, date, datetime or Timestamp.
DateLike = str | dt.date | dt.datetime | pd.Timestamp


def columns(by: str | Sequence[str]) -> list[str]:
    return [by] if isinstance(by, str) else list(by)


def require(frame: pd.DataFrame, needed: Sequence[str], what: str = "events") -> None:
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"the {what} frame lacks the columns {missing} (it has {list(frame.columns)}) "
            "— select them in the query that built the frame"
        )


def local_naive(times: pd.Series, column: str) -> pd.Series:
    if not isinstance(times.dtype, pd.DatetimeTZDtype):
        raise SchemaError(
            f"{column} must be timezone-aware datetimes, got dtype {times.dtype} — "
            f"localise them, e.g. .dt.tz_localize({TIMEZONE!r})"
        )
    return times.dt.tz_convert(TIMEZONE).dt.tz_localize(None)


def local_stamp(value: DateLike, name: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as e:
        raise AnalysisError(f"{name} must be a date, got {value!r}") from e
    if pd.isna(ts):
        raise AnalysisError(f"{name} must be a date, got {value!r}")
    return ts.tz_convert(TIMEZONE).tz_localize(None) if ts.tzinfo is not None else ts


def month_of(value: DateLike, name: str) -> pd.Timestamp:
    return local_stamp(value, name).to_period("M").to_timestamp()


def filled_keys(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    out = frame.copy()
    for c in columns:
        col = out[c].astype(object)
        out[c] = col.where(col.notna(), UNKNOWN)
    return out


def spans(
    start: DateLike | None, end: DateLike | None, comparison: Comparison | None
) -> tuple[pd.Timestamp, pd.Timestamp, pd.Timestamp, pd.Timestamp, bool]:
    """``(t0, t1, p0, p1, comparable)``: the period and the year before, naive Stockholm
    time, ends excluded; from ``comparison`` when given, else the same dates a year before."""
    if comparison is not None:
        cur, prev = comparison.current, comparison.previous
        return (
            local_stamp(cur.start, "start"),
            local_stamp(cur.end, "end"),
            local_stamp(prev.start, "start"),
            local_stamp(prev.end, "end"),
            comparison.comparable,
        )
    if start is None or end is None:
        raise AnalysisError(
            f"expected start and end, or a comparison, got start={start!r}, end={end!r} — "
            "pass period.comparison() or both dates"
        )
    t0, t1 = local_stamp(start, "start"), local_stamp(end, "end")
    if t1 <= t0:
        raise AnalysisError(
            f"end ({end}) must be after start ({start}) — the period is [start, end)"
        )
    return t0, t1, t0 - pd.DateOffset(years=1), t1 - pd.DateOffset(years=1), True
