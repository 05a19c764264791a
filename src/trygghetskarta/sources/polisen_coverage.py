"""Which days police event files cover: API answers and archives. Pure: files in, findings out.

A day (Europe/Stockholm, by the API's ``datetime``, the time an event was published or
last edited) is *covered* when every event published that day is known to have been
received. Three kinds of evidence, each a :class:`~trygghetskarta.coverage.Finding`:

``overlap``
    A regular answer (no ``DateTime`` filter) holds the latest events, so it holds every
    event published between its oldest and its newest one. Consecutive answers of the same
    query whose spans overlap join into one span. A day is covered when it lies wholly
    inside a span: the oldest day of a span is cut (older events had left the window) and
    the day of its newest event is still going on, so neither counts.
``backfill-day``, ``backfill-hours``
    An answer for one day (``DateTime=YYYY-MM-DD``) with fewer events than the API's most
    (500) holds the whole day; an empty answer proves nothing (the API may no longer serve
    the day). A day that came back with 500 is asked hour by hour
    (``DateTime=YYYY-MM-DD HH``): it is covered when all 24 hours came back under 500.
``archive``
    An archive (the parquet file, the JSON with page text, JSON lines) was scraped from the
    API's window, and holds some days densely and others only as stragglers. A day is held
    densely when the archive has at least :data:`ARCHIVE_MIN_SHARE` of the median number of
    events per day over its whole span (the real archive: median 66 nationwide; its dense
    days hold at least 29, the sparse ones before 21 March 2023 at most 4), and so was the
    day before: the first dense day after a sparse stretch is the oldest day of the
    scraper's first answer, cut like the oldest day of any answer (20 March 2023: 62).
    The rule assumes an archive of the whole country, as the API serves it.

Names follow :mod:`trygghetskarta.sources.polisen_api`: ``polisen_<UTC time>_<query>.json``,
with the query's ``DateTime`` first in ``<query>``. A JSON array of at most 500 events
under another name (an answer written by hand) is a regular answer; a larger one, JSON
lines and parquet are archives.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

from trygghetskarta.coverage import Finding
from trygghetskarta.errors import SourceError
from trygghetskarta.schema import TIMEZONE
from trygghetskarta.sources import raw_files
from trygghetskarta.sources._polisen_answer import (
    RejectedResponseError,
    check_events,
    describe_answer,
)

log = logging.getLogger(__name__)

#: The most events one answer of the API holds: an answer this full may have left some out.
API_WINDOW = 500
#: A day an archive holds densely has at least this share of the median events per day.
ARCHIVE_MIN_SHARE = 1 / 3
#: Local hours asked when a day is split (a spring-forward day's missing hour is empty).
HOURS = tuple(range(24))

_STOCKHOLM = ZoneInfo(TIMEZONE)
_SAVED = re.compile(r"polisen_\d{8}T\d{6}\.\d{6}Z_(?P<slug>.+)\.json")
_DATE_SLUG = re.compile(
    r"DateTime-(?P<day>\d{4}-\d{2}-\d{2})(?:-(?P<hour>\d{2}))?(?:_(?P<rest>.*))?"
)


@dataclass(frozen=True)
class Answer:
    """One saved answer of the API, as far as coverage needs it.

    Attributes
    ----------
    path
        The file.
    query
        The query without its ``DateTime`` (``"all"``, ``"locationname-Stockholms-lan"`` …):
        answers of the same query are compared.
    day, hour
        The ``DateTime`` filter's day and hour, if any.
    records
        Elements in the answer.
    first, last
        Oldest and newest published time in it (None when it has none).
    """

    path: Path
    query: str
    day: date | None
    hour: int | None
    records: int
    first: datetime | None
    last: datetime | None

    @property
    def filtered_by_type(self) -> bool:
        """Answers filtered by event type hold only some events: they cover no day."""
        return bool(re.search(r"(^|_)type-", self.query))


def query_of(path: Path) -> tuple[str, date | None, int | None]:
    """``(query, day, hour)`` from a saved answer's name; ``("replay", None, None)`` for a
    file named otherwise (an answer written by hand is a regular answer of its own query)."""
    match = _SAVED.fullmatch(raw_files.logical_name(path))
    if match is None:
        return "replay", None, None
    slug = match["slug"]
    dated = _DATE_SLUG.fullmatch(slug)
    if dated is None:
        return slug, None, None
    hour = int(dated["hour"]) if dated["hour"] is not None else None
    return dated["rest"] or "all", date.fromisoformat(dated["day"]), hour


def _stamp(text: str | None) -> datetime | None:
    return None if not text else datetime.fromisoformat(text)


def read_answer(path: Path, *, meta_dir: Path | None = None) -> Answer | None:
    """An :class:`Answer` from a saved file (or its metadata file in ``meta_dir``, which
    :func:`~trygghetskarta.sources.polisen_api.fetch` writes with the counts); None when the
    file is not an answer of the API (an archive, or not an events array)."""
    path = Path(path)
    query, day, hour = query_of(path)
    meta = (
        None
        if meta_dir is None
        else raw_files.existing(Path(meta_dir) / raw_files.logical_name(path))
    )
    summary = None
    if meta is not None and meta.is_file():
        try:
            summary = json.loads(raw_files.read_bytes(meta).decode("utf-8"))
            summary = {k: summary[k] for k in ("records", "published_min", "published_max")}
        except (OSError, ValueError, KeyError, TypeError):
            summary = None
    if summary is None:
        try:
            records = check_events(raw_files.read_bytes(path))
        except (OSError, SourceError, RejectedResponseError) as e:
            log.info("coverage: %s is not an answer of the API (%s)", path, e)
            return None
        if query == "replay" and len(records) > API_WINDOW:
            return None  # an archive written as one JSON array
        summary = describe_answer(records)
    return Answer(
        path=path,
        query=query,
        day=day,
        hour=hour,
        records=int(summary["records"]),
        first=_stamp(summary["published_min"]),
        last=_stamp(summary["published_max"]),
    )


def _start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=_STOCKHOLM)


def whole_days(first: datetime, last: datetime) -> list[date]:
    """The days lying wholly inside ``first`` … ``last`` (Europe/Stockholm).

    >>> from datetime import datetime
    >>> tz = ZoneInfo("Europe/Stockholm")
    >>> whole_days(datetime(2026, 3, 1, 9, tzinfo=tz), datetime(2026, 3, 4, 2, tzinfo=tz))
    [datetime.date(2026, 3, 2), datetime.date(2026, 3, 3)]
    """
    day = first.astimezone(_STOCKHOLM).date()
    if _start(day) < first:
        day += timedelta(days=1)
    out = []
    while _start(day + timedelta(days=1)) <= last:
        out.append(day)
        day += timedelta(days=1)
    return out


def answer_findings(answers: Sequence[Answer]) -> list[Finding]:
    """What a sequence of answers (in the order fetched) says about coverage.

    Regular answers of one query join while consecutive ones overlap; each span covers the
    days wholly inside it (``overlap``). A day answer under the API's limit covers its day
    (``backfill-day``); 24 hour answers under the limit cover theirs (``backfill-hours``).
    Answers filtered by event type cover nothing. No gap is found here: a gap is a day
    tried and not filled, which only the fetch knows (see ``polisen_api.poll``).
    """
    findings: list[Finding] = []
    spans: dict[str, list[list]] = {}
    hours: dict[tuple[str, date], dict[int, Answer]] = {}
    for answer in answers:
        if answer.filtered_by_type:
            log.info("coverage: %s is filtered by type and covers no day", answer.path.name)
            continue
        if answer.day is None:
            if answer.first is None or answer.last is None:
                continue
            chain = spans.setdefault(answer.query, [])
            if chain and answer.first <= chain[-1][1]:
                chain[-1][1] = max(chain[-1][1], answer.last)
                chain[-1][3] = answer.path.name
            else:
                chain.append([answer.first, answer.last, answer.path.name, answer.path.name])
        elif answer.hour is None:
            if 0 < answer.records < API_WINDOW:
                findings.append(
                    Finding(
                        (answer.day,),
                        True,
                        "backfill-day",
                        f"{answer.records} events in {answer.path.name}",
                    )
                )
        else:
            hours.setdefault((answer.query, answer.day), {})[answer.hour] = answer
    for query, chain in spans.items():
        for first, last, name_first, name_last in chain:
            days = whole_days(first, last)
            if days:
                names = name_first if name_first == name_last else f"{name_first} … {name_last}"
                detail = f"answers of {query} from {first.isoformat()} to {last.isoformat()}"
                findings.append(Finding(tuple(days), True, "overlap", f"{detail} ({names})"))
    for (_, day), got in hours.items():
        if set(got) >= set(HOURS) and all(got[h].records < API_WINDOW for h in HOURS):
            total = sum(got[h].records for h in HOURS)
            largest = max(got[h].records for h in HOURS)
            if total > 0:
                detail = f"{total} events in 24 hour answers, the largest {largest}"
                findings.append(Finding((day,), True, "backfill-hours", detail))
    return findings


# --------------------------------------------------------------------------- archives


def _published_of(path: Path) -> pd.DataFrame:
    """``id`` and ``published`` (UTC) of every record of a police file, without parsing
    the rest (parquet: two columns; JSON: the array or the lines)."""
    path = Path(path)
    try:
        with raw_files.open_binary(path) as fh:
            magic = fh.read(4)
        if magic == b"PAR1" or raw_files.logical_suffix(path) == ".parquet":
            frame = pd.read_parquet(path, columns=["id", "datetime"])
        else:
            text = raw_files.read_bytes(path).decode("utf-8-sig")
            try:
                data = json.loads(text)
            except json.JSONDecodeError:
                data = []
                for line in text.split("\n"):
                    try:
                        data.append(json.loads(line))
                    except json.JSONDecodeError:
                        continue
            data = data if isinstance(data, list) else [data]
            frame = pd.DataFrame(
                [(r.get("id"), r.get("datetime")) for r in data if isinstance(r, dict)],
                columns=["id", "datetime"],
            )
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise SourceError(
            f"cannot read the police file {path} to find the days it covers ({e}) — check it"
        ) from e
    stamps = pd.to_datetime(
        frame["datetime"], format="%Y-%m-%d %H:%M:%S %z", errors="coerce", utc=True
    )
    retry = stamps.isna() & frame["datetime"].notna()
    if retry.any():
        stamps[retry] = pd.to_datetime(
            frame.loc[retry, "datetime"], format="ISO8601", errors="coerce", utc=True
        )
    return pd.DataFrame({"id": frame["id"].astype(str), "published": stamps}).dropna()


def archive_day_counts(paths: Iterable[Path]) -> pd.Series:
    """Events per Europe/Stockholm day of publication in an archive (each id once, at its
    latest time), every day of its span included (0 for a day it holds none)."""
    frames = [_published_of(p) for p in paths]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.Series(dtype="int64")
    events = pd.concat(frames, ignore_index=True)
    latest = events.groupby("id")["published"].max()
    days = latest.dt.tz_convert(TIMEZONE).dt.date
    counts = days.value_counts()
    span = pd.date_range(min(counts.index), max(counts.index), freq="D").date
    return counts.reindex(span, fill_value=0).astype("int64")


def archive_findings(
    paths: Sequence[Path], *, min_share: float = ARCHIVE_MIN_SHARE
) -> list[Finding]:
    """The days an archive holds densely (see the module's notes), as one finding.

    Parameters
    ----------
    paths
        The archive's files, read together (an event in several counts once).
    min_share
        Share of the median events per day a day needs to count as held densely.
    """
    counts = archive_day_counts(paths)
    if counts.empty:
        return []
    median = float(counts.median())
    least = max(1.0, min_share * median)
    dense = counts >= least
    held = dense & dense.shift(1, fill_value=False)
    days = tuple(d for d, ok in held.items() if ok)
    if not days:
        return []
    detail = (
        f"{', '.join(Path(p).name for p in paths)}: days with at least {least:.0f} events "
        f"(a third of the median {median:g} per day) after a day with as many; "
        f"{int((~held).sum())} of {len(counts)} days held sparsely or cut"
    )
    return [Finding(days, True, "archive", detail)]
