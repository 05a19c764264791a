"""Row checks behind :func:`trygghetskarta.sources.event_lists.parse_list`.

One row of a delivered list becomes either an event record or a quarantine reason. The
reasons start with their kind (``duplicate row``, ``date in the future``, ``outside
Stockholm kommun`` …) so that an ingest summary can count them, and end with the line.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from trygghetskarta.config import WEB_CRS
from trygghetskarta.schema import EVENT_COLUMNS, PARSED_COLUMNS, TIMEZONE
from trygghetskarta.sources import _coords
from trygghetskarta.sources._listfile import parse_datetime, parse_number, parse_time, text

QUARANTINE_OUT = ("source", "source_id", "source_file", "reason", "raw")
#: Dates before this are an empty Excel date cell (1899-12-30), a typo, or so old that they
#: would stretch every period shown back to them: quarantined as implausible.
EARLIEST = dt.datetime(2000, 1, 1)
TEXT_FIELDS = (
    "source_id",
    "crime_code",
    "crime_type",
    "kind",
    "object",
    "address",
    "place",
    "municipality",
    "description",
)


def combine(day: dt.datetime | None, clock: dt.time | None) -> dt.datetime | None:
    """A date with the time of day from its own column, when there is one."""
    if day is None:
        return None
    if clock is None:
        return day
    return day.replace(hour=clock.hour, minute=clock.minute, second=clock.second)


def localise(stamp: dt.datetime) -> pd.Timestamp:
    """Stockholm time: naive stamps are local (the first of a doubled autumn hour)."""
    ts = pd.Timestamp(stamp)
    if ts.tzinfo is not None:
        return ts.tz_convert(TIMEZONE)
    return ts.tz_localize(TIMEZONE, ambiguous=True, nonexistent="shift_forward")


def row_values(
    row: list[Any], columns: Mapping[str, str], header: list[str], *, dayfirst: bool = True
) -> tuple[dict[str, Any], str | None]:
    """Parse one row's fields; return the values and the first problem (kind: detail).

    Every field of :data:`TEXT_FIELDS`, the dates and times, the coordinates and the raw
    ``dead``/``injured`` cells get a key (None when the file lacks the column).
    """
    index = {h: i for i, h in enumerate(header)}
    raw = {name: row[index[col]] for name, col in columns.items()}
    values: dict[str, Any] = {name: text(raw.get(name)) for name in TEXT_FIELDS}
    for name in ("occurred_at", "occurred_to"):
        stamp, problem = parse_datetime(raw.get(name), dayfirst=dayfirst)
        if problem:
            return values, f"unreadable date: {columns[name]} {problem}"
        values[name] = stamp
    for name, day in (("occurred_time", "occurred_at"), ("occurred_to_time", "occurred_to")):
        clock, problem = parse_time(raw.get(name))
        if problem:
            return values, f"unreadable time: {columns[name]} {problem}"
        values[name] = clock
        values[day] = combine(values[day], clock)
    for name in ("x", "y", "lat", "lon"):
        number, problem = parse_number(raw.get(name))
        if problem:
            return values, f"unreadable coordinate: {columns[name]} {problem}"
        values[name] = number
    for name in ("dead", "injured"):
        values[name] = raw.get(name)
    return values, None


def time_known(values: Mapping[str, Any]) -> bool:
    """Whether the row gives a time of day (a date alone reads as 00:00)."""
    stamp = values.get("occurred_at")
    return values.get("occurred_time") is not None or (
        stamp is not None and (stamp.hour, stamp.minute, stamp.second) != (0, 0, 0)
    )


def content_key(values: Mapping[str, Any]) -> str:
    """A hash of the parsed fields: equal rows are duplicates; it also names rows without id."""
    payload = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in values.items()}
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass
class Seen:
    """Rows and ids already read in this ingest, for duplicates and conflicts."""

    rows: dict[str, str] = field(default_factory=dict)
    ids: dict[str, tuple[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Checked:
    """A row that passed the checks: its id, times and position."""

    source_id: str
    begins: pd.Timestamp
    ends: pd.Timestamp | None
    has_point: bool
    place: str | None


def check_row(
    values: Mapping[str, Any],
    placement: tuple[float, float, str, str | None],
    *,
    where: str,
    label: str,
    date_column: str,
    municipality: str,
    now: pd.Timestamp,
    seen: Seen,
) -> tuple[Checked | None, str | None]:
    """Check one parsed row; return what passed, or the quarantine reason.

    Parameters
    ----------
    values
        From :func:`row_values`.
    placement
        ``(x, y, status, note)`` from :func:`place`.
    where
        ``"line 14"``; ``label`` is ``"<file> line 14"`` (for "repeats …" messages).
    date_column
        The file's date column, for the "no date" message.
    """
    status, note = placement[2], placement[3]
    key = content_key(values)
    sid = values["source_id"] or f"row-{key[:16]}"
    if key in seen.rows:
        return None, f"duplicate row: {where} repeats {seen.rows[key]}"
    seen.rows[key] = label
    if values["source_id"] and sid in seen.ids and seen.ids[sid][1] != key:
        return None, f"conflicting id: {sid!r} on {where} differs from {seen.ids[sid][0]}"
    seen.ids[sid] = (label, key)
    start, end = values["occurred_at"], values["occurred_to"]
    if start is None:
        return None, f"no date: {where} has no {date_column}"
    begins = localise(start)
    if begins > now:
        return None, f"date in the future: {begins:%Y-%m-%d %H:%M} ({where})"
    if start.replace(tzinfo=None) < EARLIEST:
        return None, (
            f"implausible date: {start:%Y-%m-%d} ({where}; before 2000, and an empty Excel "
            "date cell reads as 1899-12-30)"
        )
    ends = localise(end) if end is not None else None
    if ends is not None and ends < begins:
        return None, f"time span ends before it starts: {ends:%Y-%m-%d %H:%M} ({where})"
    other = values["municipality"]
    names = (municipality.casefold(), f"{municipality} kommun".casefold())
    if other and other.casefold() not in names:
        return None, f"outside {municipality} kommun: the row names {other!r} ({where})"
    kinds = {
        _coords.OUTSIDE: f"outside {municipality} kommun",
        _coords.IMPLAUSIBLE: "coordinates in no known reference system",
        _coords.AMBIGUOUS: "ambiguous coordinates",
    }
    if status in kinds:
        return None, f"{kinds[status]}: {note} ({where})"
    has_point = status in (_coords.OK, _coords.FIXED)
    place = values["address"] or values["place"]
    if not has_point and not place:
        return None, f"no position: {where} has neither coordinates nor an address or place"
    return Checked(sid, begins, ends, has_point, place), None


def place(
    parsed: list[Mapping[str, Any]],
    columns: Mapping[str, str],
    crs: str,
    kommun: shapely.Geometry | None,
    municipality: str,
) -> list[tuple[float, float, str, str | None]]:
    """``(x, y, status, note)`` per parsed row through :func:`_coords.place_points`.

    Latitude/longitude columns are used (as EPSG:4326) when the file has no x column.
    """
    if not parsed:
        return []
    use_latlon = "x" not in columns and {"lat", "lon"} <= set(columns)
    xs = np.array([v["lon" if use_latlon else "x"] for v in parsed], dtype=float)
    ys = np.array([v["lat" if use_latlon else "y"] for v in parsed], dtype=float)
    blank = np.isnan(xs) & np.isnan(ys)
    declared = WEB_CRS if use_latlon else crs
    placed = _coords.place_points(
        xs, ys, declared=declared, kommun=kommun, municipality=municipality
    )
    return [
        (np.nan, np.nan, _coords.MISSING, None)
        if blank[k]
        else (placed.x[k], placed.y[k], placed.status[k], placed.note[k])
        for k in range(len(parsed))
    ]


def quarantine_row(
    source: str, path: str, line: int, reason: str, record: Mapping[str, Any], sid: str | None
) -> dict[str, Any]:
    """One quarantine record: the row as received with its line."""
    raw = json.dumps({"line": line, "record": record}, ensure_ascii=False, default=str)
    return {"source": source, "source_id": sid, "source_file": path, "reason": reason, "raw": raw}


#: The text dtype of an events frame (missing values are ``pd.NA``).
TEXT = pd.StringDtype()


def schema_column(name: str, values: pd.Series) -> pd.Series:
    """One column of event records in the schema's dtype (a column already in it is
    returned as it is, so that its text is not turned into Python objects once more)."""
    kind = EVENT_COLUMNS[name]
    if name in ("occurred_at", "published_at"):
        return pd.to_datetime(values, utc=True).dt.tz_convert(TIMEZONE)
    if kind == "VARCHAR":
        if values.dtype == TEXT:
            return values
        return values.astype(object).where(values.notna(), None).astype(TEXT)
    if kind == "DOUBLE":
        return pd.to_numeric(values, errors="coerce").astype(float)
    if kind == "BOOLEAN":
        return values.astype(bool)
    return values


def events_frame(rows: list[dict[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """Event records → a frame with the schema's columns and dtypes."""
    frame = pd.DataFrame(rows, columns=list(PARSED_COLUMNS))
    for col in PARSED_COLUMNS:
        frame[col] = schema_column(col, frame[col])
    if _in_order(frame):  # a frame built in order is not copied once more
        return frame.reset_index(drop=True)
    return frame.sort_values(["occurred_at", "event_uid"], ignore_index=True)


def _in_order(frame: pd.DataFrame) -> bool:
    """Whether the events are already sorted by ``(occurred_at, event_uid)`` (no time and
    no id missing), so that sorting them would change nothing."""
    if len(frame) < 2 or frame["occurred_at"].isna().any() or frame["event_uid"].isna().any():
        return len(frame) < 2
    when = frame["occurred_at"].to_numpy(dtype="datetime64[us]")
    uid = pa.array(frame["event_uid"].array, type=pa.large_string(), from_pandas=True)
    earlier = when[:-1] < when[1:]
    tied = when[:-1] == when[1:]
    uid_ok = pc.less(uid[:-1], uid[1:]).to_numpy(zero_copy_only=False)
    return bool(np.all(earlier | (tied & uid_ok)))


def quarantine_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Quarantine records → a frame of strings."""
    return pd.DataFrame(rows, columns=list(QUARANTINE_OUT)).astype(pd.StringDtype())
