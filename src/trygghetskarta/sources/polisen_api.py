"""Live police events from the polisen.se API: fetch, check and keep every raw answer.

``GET {base_url}/api/events`` returns a JSON array of the latest events (at most about 500,
about a week nationwide), optionally filtered with ``DateTime`` (``2026``, ``2026-08``,
``2026-08-22`` or ``2026-08-22 21``), ``locationname`` and ``type`` (several values joined
by ``;``). The published terms: a User-Agent, at least 10 s between calls and at most 60
calls an hour; :mod:`trygghetskarta.net` enforces them.

Nothing here parses events into the schema; that is :func:`trygghetskarta.sources.polisen.
parse`, which reads these files and the archive alike. Each answer is written to disk
before anything parses it:

``data/raw/polisen/polisen_<UTC time>_<query>.json``
    an accepted answer, byte for byte as received (gzip undone); the ingest reads these;
``data/raw/polisen/meta/<same stem>.json``
    URL, status, headers, times and counts of that answer;
``data/raw/polisen/rejected/polisen_<UTC time>_<query>.<ext>``
    an answer that is not an array of events (an HTML error page with status 200, JSON cut
    short, an object, the last answer of a failed call), kept for replay beside a
    ``.meta.json``; the ingest never reads this folder;
``data/raw/.http/<host>.calls.json``
    the times of the last hour's calls, so the limits hold across runs.

Names start with the UTC time, so sorting them sorts the answers in time. Write a file
by hand into ``data/raw/polisen/`` to replay it.

Since January 2026 ``location.name`` is the county and ``locationname=Stockholm`` no longer
matches Stockholm kommun's events: poll without a location filter (the parser keeps the
kommun by the title) or with the county, ``locationname=Stockholms län``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import unicodedata
import warnings
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from trygghetskarta.coverage import Finding
from trygghetskarta.errors import ConfigError, SourceError, TrygghetskartaWarning
from trygghetskarta.net import (
    ClientSettings,
    HttpClient,
    HttpError,
    RateLimitError,
    Response,
    write_atomic,
)
from trygghetskarta.schema import TIMEZONE
from trygghetskarta.sources import raw_files
from trygghetskarta.sources._polisen_answer import (
    RejectedResponseError,
    check_events,
    describe_answer,
    latest_by_id,
    overlap_gap,
)
from trygghetskarta.sources.polisen_coverage import (
    API_WINDOW,
    HOURS,
    answer_findings,
    read_answer,
)

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://polisen.se"
EVENTS_PATH = "/api/events"
#: How far back uncovered days are backfilled by default (``backfill_max_days``).
BACKFILL_MAX_DAYS = 365
#: Days in a row whose answer failed after which a backfill stops (the server is in trouble).
MAX_FAILED_DAYS = 3
#: The API's published limits, the defaults of :func:`client_settings`.
MIN_INTERVAL_S = 10.0
MAX_PER_HOUR = 60
RAW_SUBDIR = "polisen"
REJECTED_SUBDIR = "rejected"
META_SUBDIR = "meta"
STATE_SUBDIR = ".http"
_STOCKHOLM = ZoneInfo(TIMEZONE)
_DATE_TIME = re.compile(r"\d{4}(-\d{2}(-\d{2}( \d{2})?)?)?")


# --------------------------------------------------------------------------- settings


def client_settings(values: Mapping[str, Any] | None = None, *, origin: str = "") -> ClientSettings:
    """:class:`~trygghetskarta.net.ClientSettings` for polisen.se with its published limits.

    Parameters
    ----------
    values
        E.g. the ``[polisen]`` table of ``trygghetskarta.toml``: ``base_url``, ``contact``,
        ``user_agent``, ``timeout_s``, ``min_interval_s``, ``max_per_hour``,
        ``max_attempts``, ``backoff_s``, ``backoff_max_s``, ``max_wait_s``, ``max_bytes``;
        other keys are ignored here. Missing keys get the real API and its limits (10 s,
        60 per hour).
    origin
        Where ``values`` came from, for error messages.
    """
    return ClientSettings.from_mapping(
        values or {},
        origin=origin or "the polisen settings",
        base_url=DEFAULT_BASE_URL,
        min_interval_s=MIN_INTERVAL_S,
        max_per_hour=MAX_PER_HOUR,
    )


@dataclass(frozen=True)
class PolisenSettings:
    """Everything a poll needs, from the ``[polisen]`` table of ``trygghetskarta.toml``.

    Attributes
    ----------
    client
        Connection, identity and limits (:func:`client_settings`).
    location, types
        ``locationname`` and ``type`` filters of the regular poll (empty: no filter).
    backfill_max_days
        How far back, in days before today, every day the store does not cover is fetched
        one by one (``DateTime=YYYY-MM-DD``, newest first); 0 switches the backfill off.
        ``backfill_days``, its older name, is read as it (with a warning).
    fetch
        Whether the nightly run (``make maps``) polls before it ingests.
    pages
        Whether each new or changed event of the municipality gets its page fetched
        (:mod:`~trygghetskarta.sources.polisen_pages`), through the same client.
    pages_days
        Events of the answers fetched in this many days get their page fetched or retried.
    page_tries
        Attempts (one per run) at a page that fails before it is given up.
    """

    client: ClientSettings
    location: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    backfill_max_days: int = BACKFILL_MAX_DAYS
    fetch: bool = False
    pages: bool = True
    pages_days: int = 14
    page_tries: int = 5

    KEYS = (
        "location",
        "types",
        "backfill_max_days",
        "backfill_days",
        "fetch",
        "pages",
        "pages_days",
        "page_tries",
    )

    @classmethod
    def from_mapping(
        cls, values: Mapping[str, Any], *, origin: str = "trygghetskarta.toml [polisen]"
    ) -> PolisenSettings:
        """Read and check the ``[polisen]`` table; unknown keys are an error."""
        known = set(cls.KEYS) | {f.name for f in fields(ClientSettings)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(
                f"unknown keys {unknown} in {origin}; expected some of {sorted(known)} — "
                "fix the spelling"
            )
        key = "backfill_max_days"
        if "backfill_days" in values and key not in values:
            key = "backfill_days"
            warnings.warn(
                f"backfill_days in {origin} is the older name of backfill_max_days (how far "
                "back uncovered days are backfilled) — rename it",
                TrygghetskartaWarning,
                stacklevel=2,
            )
        days = values.get(key, BACKFILL_MAX_DAYS)
        if isinstance(days, bool) or not isinstance(days, int | str) or not str(days).isdigit():
            raise ConfigError(
                f"{key} in {origin} must be a whole number ≥ 0, got {days!r} — fix it"
            )
        return cls(
            client=client_settings(values, origin=origin),
            location=_names(values.get("location"), "location"),
            types=_names(values.get("types"), "types"),
            backfill_max_days=int(days),
            fetch=_flag(values, "fetch", False, origin),
            pages=_flag(values, "pages", True, origin),
            pages_days=_whole(values, "pages_days", 14, origin, least=1),
            page_tries=_whole(values, "page_tries", 5, origin, least=1),
        )


def _whole(values: Mapping[str, Any], key: str, default: int, origin: str, *, least: int) -> int:
    value = values.get(key, default)
    text = str(value).strip()
    whole = not isinstance(value, bool) and isinstance(value, int | str) and text.isdigit()
    if not whole or int(text) < least:
        raise ConfigError(
            f"{key} in {origin} must be a whole number ≥ {least}, got {value!r} — fix it"
        )
    return int(text)


def _flag(values: Mapping[str, Any], key: str, default: bool, origin: str) -> bool:
    value = values.get(key, default)
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
        value = value.lower() in ("true", "1", "yes")
    if not isinstance(value, bool):
        raise ConfigError(f"{key} in {origin} must be true or false, got {value!r} — fix it")
    return value


# --------------------------------------------------------------------------- queries


def _names(value: str | Sequence[str] | None, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value.split(";") if isinstance(value, str) else list(value)
    out = []
    for item in items:
        if not isinstance(item, str):
            raise ConfigError(f"{what} must be names (text), got {item!r} — pass strings")
        if item.strip():
            out.append(item.strip())
    return tuple(out)


def _date_time_param(value: str | date | datetime) -> str:
    if isinstance(value, datetime):
        local = value.astimezone(_STOCKHOLM) if value.tzinfo else value
        return f"{local:%Y-%m-%d %H}"
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    if not _DATE_TIME.fullmatch(text):
        raise ConfigError(
            f"DateTime must be like 2026, 2026-08, 2026-08-22 or '2026-08-22 21', got "
            f"{value!r} — pass one of those forms"
        )
    return text


def query_params(
    *,
    date_time: str | date | datetime | None = None,
    location: str | Sequence[str] | None = None,
    types: str | Sequence[str] | None = None,
) -> dict[str, str]:
    """The API's query parameters for a fetch.

    Parameters
    ----------
    date_time
        ``DateTime``: a year, month, day or day and hour as text (``"2026-08-22 21"``),
        a :class:`~datetime.date`, or a :class:`~datetime.datetime` (its Stockholm hour).
    location
        ``locationname``: one name or several (joined by ``;``).
    types
        ``type``: one event type or several (joined by ``;``).

    >>> query_params(date_time="2026-08-22", location=["Stockholm", "Solna"])
    {'DateTime': '2026-08-22', 'locationname': 'Stockholm;Solna'}
    """
    params: dict[str, str] = {}
    if date_time is not None:
        params["DateTime"] = _date_time_param(date_time)
    for key, value in (("locationname", location), ("type", types)):
        names = _names(value, key)
        if names:
            params[key] = ";".join(names)
    return params


def query_slug(params: Mapping[str, str]) -> str:
    """A file-name-safe ASCII label of a query: ``"all"`` or ``"DateTime-2026-08-22"``…

    >>> query_slug({"locationname": "Stockholms län", "type": "Rån;Stöld"})
    'locationname-Stockholms-lan_type-Ran-Stold'
    """
    if not params:
        return "all"
    text = "_".join(f"{k}-{v}" for k, v in params.items())
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"-{2,}", "-", re.sub(r"[^A-Za-z0-9_-]+", "-", ascii_text)).strip("-_")
    if len(slug) > 80:
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
        slug = f"{slug[:70]}-{digest}"
    return slug


# --------------------------------------------------------------------------- saving


def _free_name(folder: Path, when: datetime, slug: str, suffix: str) -> Path:
    """``polisen_<UTC time to the µs>_<slug><suffix>``; a taken name moves the time 1 µs on.

    So names never collide and sorting them always sorts the answers in time.
    """
    moment = when.astimezone(UTC)
    while True:
        path = folder / f"polisen_{moment:%Y%m%dT%H%M%S.%fZ}_{slug}{suffix}"
        if not path.exists():
            return path
        moment += timedelta(microseconds=1)


def _keep_rejected(folder: Path, slug: str, response: Response, reason: str) -> Path:
    rejected = folder / REJECTED_SUBDIR
    head = response.body.lstrip()[:1]
    suffix = ".html" if head == b"<" else ".json" if head in (b"[", b"{") else ".txt"
    path = _free_name(rejected, response.fetched_at, slug, suffix)
    write_atomic(path, response.body)
    meta = response.describe() | {"rejected_because": reason}
    write_atomic(
        path.with_name(path.name + ".meta.json"),
        json.dumps(meta, ensure_ascii=False, indent=2).encode("utf-8"),
    )
    return path


def _log_answer(records: list[Any], url: str, path: Path) -> dict[str, Any]:
    summary = describe_answer(records)
    if not records:
        log.warning("GET %s returned an empty array: no events (kept in %s)", url, path)
        return summary
    log.info(
        "polisen: saved %d events (%d distinct ids, published %s … %s) to %s",
        len(records),
        summary["distinct_ids"],
        summary["published_min"],
        summary["published_max"],
        path,
    )
    duplicated = summary["duplicated_ids"]
    if duplicated:
        log.warning(
            "GET %s: %d ids appear more than once (%s); the ingest keeps one event per id "
            "and every distinct version",
            url,
            len(duplicated),
            _ids(duplicated),
        )
    if summary["not_events"]:
        log.warning(
            "GET %s: %d of %d elements are not event objects with an id; the ingest "
            "quarantines them",
            url,
            summary["not_events"],
            len(records),
        )
    return summary


def fetch(
    client_settings: ClientSettings,
    *,
    raw_dir: Path,
    date_time: str | date | datetime | None = None,
    location: str | Sequence[str] | None = None,
    types: str | Sequence[str] | None = None,
    client: HttpClient | None = None,
) -> Path:
    """Fetch one answer of ``GET {base_url}/api/events`` and keep it under ``raw_dir``.

    Parameters
    ----------
    client_settings
        Base URL, identity, limits (see :func:`client_settings`).
    raw_dir
        The raw data root (``Settings.raw_dir``, i.e. ``data/raw``); answers go to
        ``raw_dir/polisen/`` and the call log to ``raw_dir/.http/``.
    date_time, location, types
        The API's filters (see :func:`query_params`).
    client
        A client to reuse (several fetches in one poll share its waits); by default one is
        made with its call log in ``raw_dir/.http``.

    Returns
    -------
    pathlib.Path
        The saved file: the body exactly as received, a JSON array of API events.

    Raises
    ------
    SourceError
        The answer is not a JSON array of events (kept under ``rejected/``; nothing of it
        is read by the ingest), or the call failed after its retries
        (:class:`~trygghetskarta.net.HttpError`, the last answer also kept).
    """
    params = query_params(date_time=date_time, location=location, types=types)
    folder = Path(raw_dir) / RAW_SUBDIR
    slug = query_slug(params)
    http = client or HttpClient(client_settings, state_dir=Path(raw_dir) / STATE_SUBDIR)
    try:
        response = http.get(EVENTS_PATH, params)
    except HttpError as e:
        if e.response is None:
            raise
        kept = _keep_rejected(folder, slug, e.response, reason=str(e))
        raise type(e)(
            f"{e}; the last answer is kept in {kept}",
            url=e.url,
            status=e.status,
            response=e.response,
            attempts=e.attempts,
        ) from e
    try:
        records = check_events(response.body, content_type=response.content_type)
    except RejectedResponseError as e:
        kept = _keep_rejected(folder, slug, response, reason=e.what)
        log.error(
            "GET %s answered %d with %s, not a JSON array of events; kept in %s, "
            "nothing ingested from it",
            response.url,
            response.status,
            e.what,
            kept,
        )
        raise SourceError(
            f"{response.url} answered {response.status} with {e.what}; expected a JSON array "
            f"of polisen.se events. Nothing was ingested from it and the answer is kept in "
            f"{kept} — check base_url ({client_settings.base_url}), or run again later if "
            "polisen.se had a problem"
        ) from e
    path = _free_name(folder, response.fetched_at, slug, ".json")
    write_atomic(path, response.body)
    summary = _log_answer(records, response.url, path)
    meta = response.describe() | {"query": params} | summary
    write_atomic(
        folder / META_SUBDIR / path.name,
        json.dumps(meta, ensure_ascii=False, indent=2).encode("utf-8"),
    )
    return path


# --------------------------------------------------------------------------- polling


@dataclass(frozen=True)
class PollResult:
    """What :func:`poll` fetched, how it compares with the previous poll, and which days
    it found covered or could not fill.

    Attributes
    ----------
    files
        Every answer saved, the regular poll first, then backfilled days and hours.
    events
        Distinct event ids in the regular poll's answer.
    new, changed
        Ids not in the previous answer of the same query, and ids whose record differs.
    unchanged
        Ids served identically by both answers.
    previous
        The previous answer compared with, if any.
    gap
        Published times (newest before, oldest now) between which events may have been
        missed, when the two answers do not overlap; else None.
    backfilled, missed
        Days (ISO dates) filled one by one (by day or by hours), and days tried and not
        filled (each also a finding with its reason).
    findings
        Coverage learned: days covered by the answers (``overlap``), by a day or by its
        hours (``backfill-day``, ``backfill-hours``), and days tried and not filled
        (``unfilled``, the reason in ``detail``). The pipeline records them in the store.
    untried
        Uncovered days not tried because the backfill stopped (the rate limit, or the API
        no longer serving days that far back); the next run tries them again.
    """

    files: tuple[Path, ...]
    events: int
    new: tuple[str, ...]
    changed: tuple[str, ...]
    unchanged: int
    previous: Path | None
    gap: tuple[datetime, datetime] | None
    backfilled: tuple[str, ...] = ()
    missed: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()
    untried: tuple[str, ...] = ()


def saved_answers(raw_dir: Path, params: Mapping[str, str]) -> list[Path]:
    """Accepted answers of one query under ``raw_dir/polisen``, oldest first.

    An answer compressed by housekeeping (``….json.gz``) is listed in its place.
    """
    folder = Path(raw_dir) / RAW_SUBDIR
    slug = query_slug(params)
    pattern = re.compile(rf"polisen_\d{{8}}T\d{{6}}\.\d{{6}}Z_{re.escape(slug)}\.json")
    return [
        p
        for p in raw_files.find(folder, "polisen_*.json")
        if pattern.fullmatch(raw_files.logical_name(p))
    ]


def _read_answer(path: Path) -> list[Any] | None:
    try:
        return check_events(raw_files.read_bytes(path))
    except (OSError, RejectedResponseError) as e:
        log.warning("cannot compare with the previous answer %s (%s)", path, e)
        return None


def _ids(keys: Iterable[str]) -> str:
    keys = sorted(keys, key=int)
    return ", ".join(keys[:10]) + (" …" if len(keys) > 10 else "")


def poll(
    client_settings: ClientSettings,
    *,
    raw_dir: Path,
    location: str | Sequence[str] | None = None,
    types: str | Sequence[str] | None = None,
    backfill_max_days: int = BACKFILL_MAX_DAYS,
    covered: Collection[date] | None = None,
    known: Collection[date] = (),
    now: datetime | None = None,
    client: HttpClient | None = None,
) -> PollResult:
    """Fetch the latest events, compare with the previous poll and backfill uncovered days.

    Only fetches and saves (the ingest reads the files) and returns what it learned: one
    regular fetch; then one fetch per uncovered day (``DateTime=YYYY-MM-DD``), newest
    first. A day that comes back with the API's most (500 events) is asked hour by hour
    (``DateTime=YYYY-MM-DD HH``). A day is filled when its answer, or each of its 24 hour
    answers, holds fewer than 500 events; a day tried and not filled (the rate limit, an
    HTTP error, an hour still at 500, an empty answer) is a finding with the reason. The
    backfill stops at the rate limit (the client waits at most ``max_wait_s``), after
    :data:`MAX_FAILED_DAYS` failed days in a row, and when
    the API no longer answers that far back: an empty answer for a day the store holds
    events of (``known``), or for any day when the query has no filter (no day passes
    without a police event in Sweden). Every finding is logged.

    Parameters
    ----------
    client_settings, raw_dir, location, types
        As for :func:`fetch`.
    backfill_max_days
        How far back, in days before today, uncovered days are backfilled; 0 switches the
        backfill off.
    covered
        The days the store already covers. When given, every other day of the last
        ``backfill_max_days`` (today excluded: it is not over) that the answers do not
        cover is backfilled; when None (no store), only the days between this answer and
        the previous one, when they do not overlap.
    known
        Days on which the store holds events of this source.
    now
        The clock (default: the current time); today is its Stockholm date.
    client
        A client to reuse; by default one shared by all fetches of this poll.

    Raises
    ------
    SourceError
        The regular fetch failed (see :func:`fetch`). A failed backfill day is a finding
        (``unfilled``) and listed in ``missed``; the poll still returns.
    """
    params = query_params(location=location, types=types)
    before = saved_answers(raw_dir, params)
    previous = before[-1] if before else None
    http = client or HttpClient(client_settings, state_dir=Path(raw_dir) / STATE_SUBDIR)
    path = fetch(client_settings, raw_dir=raw_dir, location=location, types=types, client=http)
    current = latest_by_id(check_events(path.read_bytes()))
    old_records = _read_answer(previous) if previous else None
    today = (now or datetime.now(_STOCKHOLM)).astimezone(_STOCKHOLM).date()
    meta = Path(raw_dir) / RAW_SUBDIR / META_SUBDIR
    answers = [a for p in (previous, path) if p is not None if (a := read_answer(p, meta_dir=meta))]
    if old_records is None:
        answers = answers[-1:]
    found = [
        Finding(days, f.covered, f.how, f.detail)
        for f in answer_findings(answers)
        if (days := tuple(d for d in f.days if d < today))
    ]
    answered = {d for f in found for d in f.days}
    new: list[str] = list(current)
    changed: list[str] = []
    unchanged = 0
    gap = None
    if old_records is None:
        previous = None
        log.info(
            "polisen: first poll of %s (%d events): nothing to compare with; older events "
            "come from the archive%s",
            query_slug(params),
            len(current),
            "" if covered is None else " or the backfill",
        )
    else:
        old = latest_by_id(old_records)
        new = [k for k in current if k not in old]
        changed = [k for k in current if k in old and current[k] != old[k]]
        unchanged = len(current) - len(new) - len(changed)
        log.info(
            "polisen: %d events, %d new, %d changed%s, %d unchanged, %d no longer served since %s",
            len(current),
            len(new),
            len(changed),
            f" (ids {_ids(changed)})" if changed else "",
            unchanged,
            len(set(old) - set(current)),
            previous.name,
        )
        gap = _gap(old_records, list(current.values()))
    days = _uncovered(gap, covered, answered, today, backfill_max_days)
    done = _Backfill()
    if days:
        done = _backfill(
            client_settings,
            http,
            raw_dir,
            days,
            known=set(known),
            nationwide=not params,
            location=location,
            types=types,
        )
    elif gap is not None and backfill_max_days == 0:
        log.error("polisen: the backfill is switched off (backfill_max_days = 0): the gap stays")
    return PollResult(
        (path, *done.files),
        len(current),
        tuple(sorted(new, key=int)),
        tuple(sorted(changed, key=int)),
        unchanged,
        previous,
        gap,
        tuple(d.isoformat() for d in done.filled),
        tuple(sorted(d.isoformat() for d in done.missed)),
        (*found, *done.findings),
        tuple(d.isoformat() for d in done.untried),
    )


def _uncovered(
    gap: tuple[datetime, datetime] | None,
    covered: Collection[date] | None,
    answered: set[date],
    today: date,
    max_days: int,
) -> list[date]:
    """The days to backfill, newest first (see :func:`poll`)."""
    if max_days <= 0:
        return []
    oldest = today - timedelta(days=max_days)
    if covered is None:
        if gap is None:
            return []
        first = gap[0].astimezone(_STOCKHOLM).date()
        last = gap[1].astimezone(_STOCKHOLM).date()
        span = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    else:
        span = [oldest + timedelta(days=n) for n in range(max_days)]
    have = answered | set(covered or ())
    return sorted((d for d in span if oldest <= d < today and d not in have), reverse=True)


def _gap(old: list[Any], new: list[Any]) -> tuple[datetime, datetime] | None:
    gap = overlap_gap(old, new)
    if gap is not None:
        log.warning(
            "polisen: this answer does not overlap the previous one (newest there %s, oldest "
            "here %s): events published in between may have left the API's window",
            gap[0].isoformat(),
            gap[1].isoformat(),
        )
    return gap


@dataclass
class _Backfill:
    """What a backfill did (built while it runs, returned as tuples in the PollResult)."""

    files: list[Path] = field(default_factory=list)
    filled: list[date] = field(default_factory=list)
    missed: list[date] = field(default_factory=list)
    untried: list[date] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def gap(self, day: date, reason: str) -> None:
        self.missed.append(day)
        self.findings.append(Finding((day,), False, "unfilled", reason))


class _StopError(Exception):
    """The backfill cannot go on this run (the reason is the message)."""


def _backfill(
    settings: ClientSettings,
    http: HttpClient,
    raw_dir: Path,
    days: Sequence[date],
    *,
    known: set[date],
    nationwide: bool,
    location: str | Sequence[str] | None,
    types: str | Sequence[str] | None,
) -> _Backfill:
    """Fetch ``days`` one by one, newest first, splitting a full day into hours."""
    done = _Backfill()

    def get(when: str | date) -> tuple[Path, int]:
        try:
            path = fetch(
                settings,
                raw_dir=raw_dir,
                date_time=when,
                location=location,
                types=types,
                client=http,
            )
        except RateLimitError as e:
            raise _StopError(f"the rate limit stopped the backfill at {when}: {e}") from e
        done.files.append(path)
        return path, len(check_events(path.read_bytes()))

    log.info(
        "polisen: backfilling %d uncovered days, newest first: %s … %s",
        len(days),
        days[0],
        days[-1],
    )
    failed = 0
    for n, day in enumerate(days):
        try:
            try:
                path, count = get(day)
            except SourceError as e:
                log.error("polisen: backfill of %s failed: %s", day, e)
                done.gap(day, f"the day's answer failed: {e}")
                failed += 1
                if failed >= MAX_FAILED_DAYS:
                    log.error(
                        "polisen: %d days in a row failed: the backfill stops; the next run "
                        "tries again",
                        failed,
                    )
                    done.untried.extend(days[n + 1 :])
                    break
                continue
            failed = 0
            if count == 0:
                had = day in known
                done.gap(
                    day,
                    "the API returned no events for the day"
                    + (" although the store holds events of it" if had else ""),
                )
                if had or nationwide:
                    why = "the store holds events of it" if had else "no day passes without one"
                    log.warning(
                        "polisen: %s returned no events although %s: the API no longer serves "
                        "days that far back; the backfill stops here",
                        day,
                        why,
                    )
                    done.untried.extend(days[n + 1 :])
                    break
                log.warning(
                    "polisen: %s returned no events: a quiet day, or the API no longer serves "
                    "it; it stays a gap",
                    day,
                )
                continue
            if count < API_WINDOW:
                done.filled.append(day)
                done.findings.append(
                    Finding((day,), True, "backfill-day", f"{count} events in {path.name}")
                )
                continue
            log.warning(
                "polisen: %s returned %d events, the API's most: asking it hour by hour",
                day,
                count,
            )
            _hours(get, day, done)
        except _StopError as e:
            log.error("polisen: %s; the remaining days are tried on the next run", e)
            done.gap(day, str(e))
            done.untried.extend(days[n + 1 :])
            break
    if done.missed:
        log.error(
            "polisen: events published on %s were not fetched (recorded as gaps, tried again "
            "on the next run); an archive file in data/raw/polisen/ can fill them",
            ", ".join(d.isoformat() for d in sorted(done.missed)),
        )
    if done.filled:
        log.info(
            "polisen: backfilled %d days: %s",
            len(done.filled),
            ", ".join(d.isoformat() for d in done.filled),
        )
    return done


def _hours(get: Any, day: date, done: _Backfill) -> None:
    """Ask a full day hour by hour; the day is filled when every hour is under the limit."""
    counts: list[int] = []
    for hour in HOURS:
        try:
            _, count = get(f"{day.isoformat()} {hour:02d}")
        except SourceError as e:
            log.error("polisen: backfill of %s hour %02d failed: %s", day, hour, e)
            done.gap(day, f"hour {hour:02d} failed: {e}")
            return
        if count >= API_WINDOW:
            done.gap(day, f"hour {hour:02d} returned {count} events, the API's most")
            log.error("polisen: %s hour %02d still returned %d events: a gap", day, hour, count)
            return
        counts.append(count)
    done.filled.append(day)
    done.findings.append(
        Finding(
            (day,),
            True,
            "backfill-hours",
            f"{sum(counts)} events in 24 hour answers, the largest {max(counts)}",
        )
    )
