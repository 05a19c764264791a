"""Reading police event files in the polisen.se API format into one row per record.

Part of :mod:`trygghetskarta.sources.polisen` (which re-exports :func:`read_records` and
:data:`RECORD_COLUMNS`): the readers of the JSON array, JSON lines and parquet archive
formats, each record checked on its own (not an object, no id) and every text repaired
of lone surrogates and NUL characters. Pure: reads files, returns frames.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trygghetskarta.errors import SourceError
from trygghetskarta.sources import raw_files
from trygghetskarta.sources.text_repair import (
    NONE,
    Repairs,
    may_need_repair,
    repair_json,
    repair_json_text,
    repair_series,
)

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
    "text_missing",
)

#: Given one record of a live answer and the file it came from, the keys to add to it
#: (its page text as ``_html_*``, or ``_page_missing``), or None: see
#: :meth:`trygghetskarta.sources.polisen_pages.PageIndex.attach`.
PageAttacher = Callable[[Any, Path], Mapping[str, Any] | None]


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


def _record_row(
    record: Any, source_file: str, record_no: int, pages: PageAttacher | None = None
) -> dict[str, Any]:
    if pages is not None:
        extra = pages(record, Path(source_file))
        if extra:
            record = {**record, **extra}
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
        "text_missing": _text(record.get("_page_missing")),
    }


def _read_parquet(path: Path) -> tuple[pd.DataFrame, Repairs]:
    try:
        table = pd.read_parquet(
            io.BytesIO(raw_files.read_bytes(path)) if raw_files.is_compressed(path) else path
        )
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
    repairs = NONE
    for key in table.columns:
        if table[key].dtype == object or pd.api.types.is_string_dtype(table[key]):
            table[key], found = repair_series(table[key])
            repairs += found
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
            "text_missing": None,
        }
    )
    for col in ("datetime", "name", "summary", "url", "type", "location_name", "location_gps"):
        if col not in table.columns:
            frame[col] = None
        elif pd.api.types.is_string_dtype(table[col]):
            frame[col] = table[col].astype(object).where(table[col].notna(), None)
        else:
            frame[col] = table[col].map(_text)
    return frame, repairs


def _read_json(path: Path, pages: PageAttacher | None = None) -> tuple[pd.DataFrame, Repairs]:
    hint = "fetch it again or pass a polisen.se JSON, JSON-lines or parquet file"
    try:
        text = raw_files.read_bytes(path).decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise SourceError(f"{path} is not UTF-8 text — {hint}") from e
    text, repairs = repair_json_text(text)
    escaped = may_need_repair(text)
    stripped = text.lstrip()
    if not stripped:
        raise SourceError(f"{path} is empty — {hint}")
    if stripped.startswith("<"):
        raise SourceError(f"{path} is an HTML or XML page, not polisen.se JSON — {hint}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as whole:
        if stripped.startswith("{"):
            rows, parsed, found = _read_json_lines(text, str(path), repair=escaped, pages=pages)
            if parsed:
                return pd.DataFrame(rows, columns=list(RECORD_COLUMNS)), repairs + found
        raise SourceError(f"{path} is not valid JSON ({whole}) — {hint}") from whole
    if not isinstance(data, list) and not (isinstance(data, dict) and "id" in data):
        got = f"an object with keys {sorted(data)[:5]}" if isinstance(data, dict) else repr(data)
        raise SourceError(f"{path} holds {got}, expected an array of polisen.se events — {hint}")
    if escaped:
        data, found = repair_json(data)
        repairs += found
    records = data if isinstance(data, list) else [data]
    rows = [_record_row(r, str(path), no, pages) for no, r in enumerate(records)]
    return pd.DataFrame(rows, columns=list(RECORD_COLUMNS)), repairs


def _read_json_lines(
    text: str, source_file: str, *, repair: bool, pages: PageAttacher | None = None
) -> tuple[list[dict[str, Any]], int, Repairs]:
    """One API object per line; a line that is not JSON becomes a record with a problem.

    Returns the rows, how many lines were JSON and the characters repaired (``repair``:
    whether the text holds escapes that may need it).
    """
    rows: list[dict[str, Any]] = []
    parsed = 0
    repairs = NONE
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
            if repair:
                record, found = repair_json(record)
                repairs += found
            rows.append(_record_row(record, source_file, no, pages))
    return rows, parsed, repairs


def read_records(paths: Sequence[Path]) -> pd.DataFrame:
    """Read police event files into one frame of normalised raw records.

    Parameters
    ----------
    paths
        Files in any supported format: a JSON array of API events (with or without
        ``_html_*`` page text), JSON lines (``.jsonl``/``.ndjson`` or detected by content),
        or the parquet archive (``.parquet`` or the ``PAR1`` magic bytes); each of them may
        be gzip-compressed (``….json.gz``, see :mod:`trygghetskarta.sources.raw_files`).

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
    return read_all(paths)[0]


def read_all(
    paths: Sequence[Path], *, pages: PageAttacher | None = None
) -> tuple[pd.DataFrame, Repairs]:
    """:func:`read_records` and the characters repaired on the way (lone surrogates, NULs).

    ``pages`` adds page text to the records of JSON files (not to the parquet archive) as
    they are read, before ``raw`` is made, exactly where archived records carry it.
    """
    frames: list[pd.DataFrame] = []
    repairs = NONE
    for path in map(Path, paths):
        try:
            with raw_files.open_binary(path) as fh:
                magic = fh.read(4)
        except SourceError:
            raise
        except OSError as e:
            raise SourceError(
                f"cannot read police events file {path} ({e.strerror}) — check the path"
            ) from e
        is_parquet = magic == b"PAR1" or raw_files.logical_suffix(path) == ".parquet"
        frame, found = _read_parquet(path) if is_parquet else _read_json(path, pages)
        frames.append(frame)
        repairs += found
    if not frames:
        return pd.DataFrame(columns=list(RECORD_COLUMNS)), repairs
    records = pd.concat(frames, ignore_index=True)[list(RECORD_COLUMNS)]
    for col in RECORD_COLUMNS:  # one representation: object columns, None when missing
        if col != "record_no":
            records[col] = records[col].astype(object).where(records[col].notna(), None)
    return records, repairs
