"""Checks on one polisen.se API answer, before anything parses it into events. Pure.

Used by :mod:`trygghetskarta.sources.polisen_api` to decide whether an answer is kept for
the ingest or set aside, to describe it in the log, and to compare two polls.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from trygghetskarta.errors import SourceError

_API_TIME = "%Y-%m-%d %H:%M:%S %z"


class RejectedResponseError(SourceError):
    """An answer that is not a JSON array of events; ``what`` says what it was."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def check_events(body: bytes, *, content_type: str = "") -> list[Any]:
    """Check that an answer is a JSON array of events and return it decoded.

    Elements that are not event objects are left in (the parser quarantines them) but an
    array with no event object at all is not an events answer.

    Raises
    ------
    RejectedResponseError
        The body is empty, not UTF-8, HTML, JSON cut short or otherwise invalid, not an
        array, or an array without a single object with an ``id``.
    """
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise RejectedResponseError(f"{len(body)} bytes that are not UTF-8 text ({e})") from e
    stripped = text.strip()
    if not stripped:
        raise RejectedResponseError("an empty body")
    if stripped.startswith("<"):
        title = re.search(r"<title[^>]*>(.*?)</title>", stripped, re.I | re.S)
        label = f" titled {title.group(1).strip()[:80]!r}" if title else ""
        served = f", served as {content_type}" if content_type else ""
        raise RejectedResponseError(f"an HTML page{label} ({len(body)} bytes{served})")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        if e.pos >= len(text.rstrip()) - 1 or e.msg.startswith("Unterminated string"):
            raise RejectedResponseError(
                f"JSON cut short: it ends at byte {len(body)} inside a value ({e.msg})"
            ) from e
        raise RejectedResponseError(f"invalid JSON: {e.msg} at byte {e.pos}") from e
    if not isinstance(data, list):
        kind = (
            f"a JSON object with keys {sorted(data)[:6]}"
            if isinstance(data, dict)
            else f"a JSON {type(data).__name__} {data!r:.40}"
        )
        raise RejectedResponseError(kind)
    if data and not any(isinstance(r, dict) and "id" in r for r in data):
        raise RejectedResponseError(
            f"an array of {len(data)} values none of which is an event (an object with an id)"
        )
    return data


def published(record: Any) -> datetime | None:
    """The API's ``datetime`` of a record (published or last edited), None if unreadable."""
    if not isinstance(record, dict) or not isinstance(record.get("datetime"), str):
        return None
    try:
        return datetime.strptime(record["datetime"].strip(), _API_TIME)
    except ValueError:
        return None


def event_id(record: Any) -> str | None:
    """A record's id as canonical text (``"650297"``), None when missing or not a number."""
    value = record.get("id") if isinstance(record, dict) else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return str(int(value))
    if isinstance(value, str) and value.strip().isdigit():
        return str(int(value.strip()))
    return None


def latest_by_id(records: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """One record per event id: the latest published, the later one on a tie."""
    out: dict[str, dict[str, Any]] = {}
    for record in records:
        key = event_id(record)
        if key is None:
            continue
        held = out.get(key)
        if held is None:
            out[key] = record
            continue
        new, old = published(record), published(held)
        if new is None or old is None or new >= old:
            out[key] = record
    return out


def describe_answer(records: list[Any]) -> dict[str, Any]:
    """Counts of an accepted answer, kept beside it and logged.

    Returns
    -------
    dict
        ``records``, ``distinct_ids``, ``duplicated_ids`` (sorted), ``not_events`` (elements
        without a usable id), ``published_min``/``published_max`` (ISO text or None).
    """
    ids = [event_id(r) for r in records]
    counts = Counter(i for i in ids if i is not None)
    times = [t for t in map(published, records) if t is not None]
    return {
        "records": len(records),
        "distinct_ids": len(counts),
        "duplicated_ids": sorted((i for i, n in counts.items() if n > 1), key=int),
        "not_events": sum(i is None for i in ids),
        "published_min": min(times).isoformat() if times else None,
        "published_max": max(times).isoformat() if times else None,
    }


def overlap_gap(old: list[Any], new: list[Any]) -> tuple[datetime, datetime] | None:
    """The span two answers leave uncovered, if they do not overlap.

    Returns ``(newest published in old, oldest published in new)`` when the oldest event
    of ``new`` is newer than the newest of ``old``; None when they overlap or either has
    no readable time.
    """
    old_times = [t for t in map(published, old) if t is not None]
    new_times = [t for t in map(published, new) if t is not None]
    if not old_times or not new_times:
        return None
    newest_before, oldest_now = max(old_times), min(new_times)
    return (newest_before, oldest_now) if oldest_now > newest_before else None
