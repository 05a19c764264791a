"""Police events in the polisen.se API format: read, fold versions, map to the event schema.

Pure: reads files and returns frames; no database, no network. Reads every format the
events come in: the API's JSON array (live responses and the 2026 snapshot), the same with
archived page text (``_html_*`` keys), JSON lines (one API object per line), and the parquet
archive of 2022-09 … 2025-12.

Rules (see ``../shared/data/police_events/PROVENANCE.md`` for the API notes):

- The incident time is only in the title, ``"1 augusti 16.31, Misshandel, Stockholm"``
  (``:`` before 2023-12, ``.`` after); the year comes from the published time, and a
  month more than six months away from it belongs to the neighbouring year (published
  1 January about ``"31 december 23.50"`` is the previous year). A title with a date but no
  time of day gets 00:00 (no such title is in the archive). In the autumn hour that occurs
  twice the first (summer time) reading is used; a time in the skipped spring hour is moved
  forward.
- The municipality is the title's last comma part; ``location.name`` has been the county
  since January 2026 and is never used to filter, and ``location.gps`` (a municipality or
  county centre) is never used as a position: the geocode stage places events.
- Versions of one id are folded: the latest published time wins, then the one with more
  text, then the one read last; ``body`` (page text) comes from any version that has it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trygghetskarta.errors import SourceError
from trygghetskarta.schema import EVENT_COLUMNS, PARSED_COLUMNS, TIMEZONE, Category, Layer

SOURCE = "polisen"
BASE_URL = "https://polisen.se"
QUARANTINE_OUT = ("source", "source_id", "source_file", "reason", "raw")
#: Columns of :func:`read_records`. ``problem`` says why a record is unusable on its own
#: (not a JSON object, no id, …), else None.
RECORD_COLUMNS = (
    "source_file",
    "record_no",
    "source_id",
    "datetime",
    "name",
    "summary",
    "url",
    "type",
    "location_name",
    "location_gps",
    "body",
    "raw",
    "problem",
)

logger = logging.getLogger(__name__)
_WARNED_TYPES: set[str] = set()

_MONTH_NAMES = (
    "januari februari mars april maj juni juli augusti september oktober november december"
)
#: Swedish month names and their three-letter abbreviations (plus "sept") -> month number.
MONTHS: dict[str, int] = {
    key: number
    for number, name in enumerate(_MONTH_NAMES.split(), start=1)
    for key in (name, name[:3])
} | {"sept": 9}
_TITLE_DATE = (
    r"^\s*(?P<day>\d{1,2})\s+(?P<month>[^\W\d_]+)\.?"
    r"(?:\s+(?:kl\.?\s*)?(?P<hour>\d{1,2})[:.](?P<minute>\d{2}))?(?=[\s,]|$)"
)
_API_TIME_FORMAT = "%Y-%m-%d %H:%M:%S %z"


@dataclass(frozen=True)
class ParseResult:
    """What :func:`parse` returns.

    Attributes
    ----------
    events
        One row per event after folding versions, columns :data:`schema.PARSED_COLUMNS`.
    quarantine
        One row per rejected event: ``source, source_id, source_file, reason, raw``.
    read
        Distinct ids read across all files, plus records without a usable id;
        always ``len(events) + len(quarantine)``.
    versions
        Records read, counting every version of an id.
    """

    events: pd.DataFrame
    quarantine: pd.DataFrame
    read: int
    versions: int


# --------------------------------------------------------------------------- categories


@cache
def _type_table() -> dict[str, tuple[Category, bool]]:
    path = resources.files("trygghetskarta") / "resources" / "police_type_categories.csv"
    with resources.as_file(path) as csv:
        table = pd.read_csv(csv, dtype=str, keep_default_na=False)
    return {
        row.source_type.strip(): (Category(row.category), row.sensitive.strip().lower() == "true")
        for row in table.itertuples(index=False)
    }


def categorise(source_type: str) -> tuple[Category, bool]:
    """Map a raw police event type to the shared category and the sensitive flag.

    Parameters
    ----------
    source_type
        The API's ``type``, e.g. ``"Misshandel, grov"``. Surrounding whitespace is ignored.

    Returns
    -------
    tuple of (Category, bool)
        The category from ``resources/police_type_categories.csv`` (every ``Sammanfattning …``
        type is ``summary``) and whether the type is sensitive (sexual offences). A type not in
        the table is ``other`` and not sensitive; a warning is logged once per type.
    """
    key = (source_type or "").strip()
    if key.startswith("Sammanfattning"):
        return Category.SUMMARY, False
    found = _type_table().get(key)
    if found is not None:
        return found
    if key and key not in _WARNED_TYPES:
        _WARNED_TYPES.add(key)
        logger.warning(
            "unknown police event type %r mapped to 'other' — add it to "
            "resources/police_type_categories.csv",
            key,
        )
    return Category.OTHER, False


# --------------------------------------------------------------------------- titles


def municipality_from_title(title: str) -> str | None:
    """Return the municipality (or county) a police title names: its last comma part.

    Parameters
    ----------
    title
        ``"<day> <month> <HH.MM>, <type>, <place>"``; the type may itself contain commas.

    Returns
    -------
    str or None
        ``"Stockholm"`` for ``"1 augusti 16.31, Misshandel, Stockholm"``; None when the title
        has fewer than three comma parts or an empty last part.
    """
    if not isinstance(title, str):
        return None
    place = _municipalities(pd.Series([title], dtype=object)).iloc[0]
    return place if isinstance(place, str) else None


def _municipalities(titles: pd.Series) -> pd.Series:
    parts = titles.str.split(",")
    place = parts.str[-1].str.strip()
    return place.where((parts.str.len() >= 3) & (place.str.len() > 0))


def _incident_times(titles: pd.Series, published: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Vectorised :func:`incident_time`: (occurred_at in Stockholm time or NaT, date found)."""
    parts = titles.str.extract(_TITLE_DATE)
    month = parts["month"].str.lower().map(MONTHS)
    found = month.notna()
    pub = published.dt.tz_convert(TIMEZONE)
    shift = month - pub.dt.month
    year = pub.dt.year - (shift > 6).astype(int) + (shift < -6).astype(int)
    hour = pd.to_numeric(parts["hour"]).fillna(0)
    minute = pd.to_numeric(parts["minute"]).fillna(0)
    naive = pd.to_datetime(
        pd.DataFrame(
            {
                "year": year.where(found & (hour < 24) & (minute < 60)),
                "month": month,
                "day": pd.to_numeric(parts["day"]),
                "hour": hour,
                "minute": minute,
            }
        ),
        errors="coerce",
    )
    occurred = naive.dt.tz_localize(
        TIMEZONE, ambiguous=np.ones(len(naive), dtype=bool), nonexistent="shift_forward"
    )
    return occurred, found


def incident_time(title: str, published_at: pd.Timestamp) -> pd.Timestamp | None:
    """Read the incident time from a police title.

    Parameters
    ----------
    title
        E.g. ``"26 september 14:21, Mord/dråp, försök, Stockholm"`` or
        ``"1 augusti 16.31, Misshandel, Stockholm"``.
    published_at
        The event's published time; gives the year. A naive timestamp is read as Stockholm
        time.

    Returns
    -------
    pandas.Timestamp or None
        Timezone-aware (Europe/Stockholm). The year is the published year unless the title's
        month is more than six months away (New Year); a title without a time of day gives
        00:00. None when the title has no date or an impossible one (``"31 februari"``).
    """
    stamp = pd.Timestamp(published_at)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(TIMEZONE)
    occurred, _ = _incident_times(pd.Series([title], dtype=object), pd.Series([stamp]))
    value = occurred.iloc[0]
    return None if pd.isna(value) else value


# --------------------------------------------------------------------------- reading


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _normalise_id(value: Any) -> tuple[str | None, str | None]:
    """Return (source_id, problem)."""
    if value is None:
        return None, "record has no id"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value), None
    if isinstance(value, float) and value.is_integer():
        return str(int(value)), None
    if isinstance(value, str) and value.strip().isdigit():
        return str(int(value.strip())), None
    return None, f"id {value!r} is not a number"


_JSON_KINDS = {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}
_JSON_KINDS[type(None)] = "null"


def _record_row(record: Any, source_file: str, record_no: int) -> dict[str, Any]:
    raw = json.dumps(record, ensure_ascii=False)
    if not isinstance(record, dict):
        return {
            "source_file": source_file,
            "record_no": record_no,
            "raw": raw,
            "problem": f"record is a JSON {_JSON_KINDS.get(type(record), 'value')}, "
            "not an event object",
        }
    location = record.get("location") if isinstance(record.get("location"), dict) else {}
    source_id, problem = _normalise_id(record.get("id"))
    body = _text(record.get("_html_body"))
    return {
        "source_file": source_file,
        "record_no": record_no,
        "source_id": source_id,
        "datetime": _text(record.get("datetime")),
        "name": _text(record.get("name")),
        "summary": _text(record.get("summary")),
        "url": _text(record.get("url")),
        "type": _text(record.get("type")),
        "location_name": _text(location.get("name")),
        "location_gps": _text(location.get("gps")),
        "body": body if body and body.strip() else None,
        "raw": raw,
        "problem": problem,
    }


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        table = pd.read_parquet(path)
    except (OSError, ValueError) as e:
        raise SourceError(
            f"{path} is not a readable parquet file ({e}) — replace it with the archive file"
        ) from e
    missing = {"id", "datetime", "name"} - set(table.columns)
    if missing:
        raise SourceError(
            f"{path} has no columns {sorted(missing)}; expected the polisen archive "
            "(id, datetime, name, summary, url, type, location_name, …) — pass the right file"
        )
    keys = list(table.columns)
    columns = [table[k].astype(object).where(table[k].notna(), None).tolist() for k in keys]
    raws = [
        json.dumps(dict(zip(keys, row, strict=True)), ensure_ascii=False)
        for row in zip(*columns, strict=True)
    ]
    ids = pd.to_numeric(table["id"], errors="coerce")
    integral = ids.notna() & (ids == ids.round())
    problem = pd.Series(None, index=table.index, dtype=object)
    problem[~integral] = "id " + table["id"].astype(str).map(repr) + " is not a number"
    problem[table["id"].isna()] = "record has no id"
    frame = pd.DataFrame(
        {
            "source_file": str(path),
            "record_no": np.arange(len(table)),
            "source_id": ids.where(integral).astype("Int64").astype(str).where(integral),
            "raw": raws,
            "problem": problem,
            "body": None,
        }
    )
    for col in ("datetime", "name", "summary", "url", "type", "location_name", "location_gps"):
        if col not in table.columns:
            frame[col] = None
        elif pd.api.types.is_string_dtype(table[col]):
            frame[col] = table[col].astype(object).where(table[col].notna(), None)
        else:
            frame[col] = table[col].map(_text)
    return frame


def _read_json(path: Path) -> pd.DataFrame:
    hint = "fetch it again or pass a polisen.se JSON, JSON-lines or parquet file"
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise SourceError(f"{path} is not UTF-8 text — {hint}") from e
    stripped = text.lstrip()
    if not stripped:
        raise SourceError(f"{path} is empty — {hint}")
    if stripped.startswith("<"):
        raise SourceError(f"{path} is an HTML or XML page, not polisen.se JSON — {hint}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as whole:
        if stripped.startswith("{"):
            rows, parsed = _read_json_lines(text, str(path))
            if parsed:
                return pd.DataFrame(rows, columns=list(RECORD_COLUMNS))
        raise SourceError(f"{path} is not valid JSON ({whole}) — {hint}") from whole
    if not isinstance(data, list) and not (isinstance(data, dict) and "id" in data):
        got = f"an object with keys {sorted(data)[:5]}" if isinstance(data, dict) else repr(data)
        raise SourceError(f"{path} holds {got}, expected an array of polisen.se events — {hint}")
    records = data if isinstance(data, list) else [data]
    rows = [_record_row(r, str(path), no) for no, r in enumerate(records)]
    return pd.DataFrame(rows, columns=list(RECORD_COLUMNS))


def _read_json_lines(text: str, source_file: str) -> tuple[list[dict[str, Any]], int]:
    """One API object per line; a line that is not JSON becomes a record with a problem.

    Returns the rows and how many lines were JSON.
    """
    rows: list[dict[str, Any]] = []
    parsed = 0
    for no, line in enumerate(text.split("\n")):  # not splitlines: U+2028 may be in a string
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            rows.append(
                {
                    "source_file": source_file,
                    "record_no": no,
                    "raw": json.dumps(line, ensure_ascii=False),
                    "problem": f"line {no + 1} of the JSON-lines file is not valid JSON",
                }
            )
        else:
            parsed += 1
            rows.append(_record_row(record, source_file, no))
    return rows, parsed


def read_records(paths: Sequence[Path]) -> pd.DataFrame:
    """Read police event files into one frame of normalised raw records.

    Parameters
    ----------
    paths
        Files in any supported format: a JSON array of API events (with or without
        ``_html_*`` page text), JSON lines (``.jsonl``/``.ndjson`` or detected by content),
        or the parquet archive (``.parquet`` or the ``PAR1`` magic bytes).

    Returns
    -------
    pandas.DataFrame
        One row per record per file, columns :data:`RECORD_COLUMNS`: ``source_id`` is the id
        as a string, ``body`` the page text (``_html_body``, blank → None), ``raw`` the record
        as received (JSON, original keys) and ``problem`` the reason a record is unusable on
        its own (None when fine). No versions are folded here.

    Raises
    ------
    SourceError
        A file is missing, unreadable, empty, HTML, truncated or otherwise not JSON/parquet.
    """
    frames: list[pd.DataFrame] = []
    for path in map(Path, paths):
        try:
            with path.open("rb") as fh:
                magic = fh.read(4)
        except OSError as e:
            raise SourceError(
                f"cannot read police events file {path} ({e.strerror}) — check the path"
            ) from e
        is_parquet = magic == b"PAR1" or path.suffix.lower() == ".parquet"
        frames.append(_read_parquet(path) if is_parquet else _read_json(path))
    if not frames:
        return pd.DataFrame(columns=list(RECORD_COLUMNS))
    records = pd.concat(frames, ignore_index=True)[list(RECORD_COLUMNS)]
    for col in RECORD_COLUMNS:  # one representation: object columns, None when missing
        if col != "record_no":
            records[col] = records[col].astype(object).where(records[col].notna(), None)
    return records


# --------------------------------------------------------------------------- parsing


def _published(values: pd.Series) -> pd.Series:
    stamps = pd.to_datetime(values, format=_API_TIME_FORMAT, errors="coerce", utc=True)
    retry = stamps.isna() & values.notna()
    if retry.any():
        stamps[retry] = pd.to_datetime(values[retry], format="ISO8601", errors="coerce", utc=True)
    return stamps.dt.tz_convert(TIMEZONE)


def _fold(records: pd.DataFrame) -> pd.DataFrame:
    """Keep one version per id (see the module docstring); records without id stay."""
    good = records[records["problem"].isna()].copy()
    length = sum(good[c].fillna("").str.len() for c in ("name", "summary", "body"))
    good = good.assign(_has_pub=good["published"].notna(), _len=length, _order=good.index)
    good = good.sort_values(["source_id", "_has_pub", "published", "_len", "_order"])
    chosen = good.drop_duplicates("source_id", keep="last").set_index("source_id", drop=False)
    bodies = good[good["body"].notna()].drop_duplicates("source_id", keep="last")
    chosen["body"] = chosen["body"].fillna(bodies.set_index("source_id")["body"])
    bad = records[records["problem"].notna()]
    return pd.concat([chosen.reset_index(drop=True), bad], ignore_index=True)


def _reasons(frame: pd.DataFrame, municipality: str) -> pd.Series:
    """First reason each folded record cannot be used, else None."""
    reason = frame["problem"].copy()
    title = frame["name"].fillna("")
    quoted = "'" + title + "'"

    def flag(mask: pd.Series, text: pd.Series | str) -> None:
        todo = mask & reason.isna()
        reason[todo] = text[todo] if isinstance(text, pd.Series) else text

    flag(title.str.strip() == "", "record has no title (name)")
    flag(frame["datetime"].isna(), "record has no published time (datetime)")
    given = frame["datetime"].fillna("").map(repr)
    example = "'2026-08-22 9:51:41 +02:00'"
    flag(
        frame["published"].isna(), "published time (datetime) " + given + " is not like " + example
    )
    place = frame["municipality"]
    flag(place.isna(), "title names no municipality: " + quoted)
    outside = place.str.casefold() != municipality.casefold()
    flag(outside, f"outside {municipality} kommun (title names " + place.fillna("") + ")")
    flag(~frame["date_found"], "title has no incident date: " + quoted)
    flag(frame["occurred_at"].isna(), "title has an impossible incident date or time: " + quoted)
    return reason


def parse(paths: Sequence[Path], *, municipality: str = "Stockholm") -> ParseResult:
    """Parse police event files into events of one municipality and a quarantine.

    Parameters
    ----------
    paths
        Files for :func:`read_records`; versions of one id across them are folded.
    municipality
        Keep events whose title names this municipality (case-insensitive); others are
        quarantined as out of area.

    Returns
    -------
    ParseResult
        Events (validated columns :data:`schema.PARSED_COLUMNS`; no positions: ``x``/``y``
        NaN, ``precision`` None) and one quarantine row per rejected event, with a reason.

    Raises
    ------
    SourceError
        A file cannot be read (see :func:`read_records`). Bad records never raise.
    """
    records = read_records(paths)
    records["published"] = _published(records["datetime"])
    frame = _fold(records)
    frame["municipality"] = _municipalities(frame["name"].fillna(""))
    occurred, found = _incident_times(frame["name"].fillna(""), frame["published"])
    frame["occurred_at"], frame["date_found"] = occurred, found
    reason = _reasons(frame, municipality)

    rejected = frame[reason.notna()]
    quarantine = pd.DataFrame(
        {
            "source": SOURCE,
            "source_id": rejected["source_id"],
            "source_file": rejected["source_file"],
            "reason": reason[reason.notna()],
            "raw": rejected["raw"],
        },
        columns=list(QUARANTINE_OUT),
    ).reset_index(drop=True)
    quarantine = quarantine.astype(pd.StringDtype())

    kept = frame[reason.isna()].reset_index(drop=True)
    types = kept["type"].fillna("")
    mapping = {t: categorise(t) for t in types.unique()}
    url = kept["url"]
    relative = url.fillna("").astype(str).str.startswith("/")
    nothing = pd.Series(np.nan, index=kept.index)
    events = pd.DataFrame(
        {
            "event_uid": SOURCE + ":" + kept["source_id"],
            "source": SOURCE,
            "source_id": kept["source_id"],
            "layer": Layer.POLICE_EVENT.value,
            "category": types.map(lambda t: mapping[t][0].value),
            "source_type": kept["type"],
            "occurred_at": kept["occurred_at"],
            "published_at": kept["published"],
            "title": kept["name"],
            "summary": kept["summary"],
            "body": kept["body"],
            "url": url.where(~relative, BASE_URL + url.fillna("")),
            "x": nothing.astype(float),
            "y": nothing.astype(float),
            "precision": nothing,
            "uncertainty_m": nothing.astype(float),
            "place_name": nothing,
            "sensitive": types.map(lambda t: mapping[t][1]).astype(bool),
            "raw": kept["raw"],
        },
        columns=list(PARSED_COLUMNS),
    )
    text = [c for c in PARSED_COLUMNS if EVENT_COLUMNS[c] == "VARCHAR"]
    events[text] = events[text].astype(pd.StringDtype())
    events = events.sort_values(["occurred_at", "event_uid"], ignore_index=True)
    logger.info(
        "polisen: %d records (%d events) read, %d kept, %d quarantined",
        len(records),
        len(frame),
        len(events),
        len(quarantine),
    )
    return ParseResult(events, quarantine, read=len(frame), versions=len(records))
