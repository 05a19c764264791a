"""Page text for live police events: fetch each event's page, keep it raw, attach its text.

The API gives only a summary; the incident's place is often only on the event's own page
(``{base_url}{url}``). For every event of the analysed municipality in a recent answer
whose page has not been fetched for the version the API now serves, :func:`fetch_pages`
fetches the page through the same :class:`~trygghetskarta.net.HttpClient` as the API
(the same throttle, limits and User-Agent; the hourly limit is shared, and when it is
spent the remaining pages wait for the next run) and keeps it before anything parses it:

``data/raw/polisen/pages/<id>_<UTC time>.html``
    the page, byte for byte as received (gzip undone); a later fetch is a new file;
``data/raw/polisen/pages/meta/<id>_<UTC time>.json``
    every attempt, good or bad: URL, status, headers, times, the API record it was fetched
    for (``record_sha256``) and, when it failed, why (``problem``);
``data/raw/polisen/pages/rejected/<id>_<UTC time>.<ext>``
    the body of an answer that was not an event page (an error status, an empty page, a
    page without ``.event-page.editorial-content``), kept for replay.

The ingest attaches the text where the archive has it, as ``_html_title``,
``_html_preamble``, ``_html_body`` and ``_html_published`` in the record (see
:class:`PageIndex`), so the geocoder and the shooting classifier read live and archived
text alike; an event whose page is missing is ingested now with ``text_missing`` saying
why, and its page is tried again on the next run.

Page files are read only through :func:`read_page`.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from trygghetskarta.errors import SourceError
from trygghetskarta.net import ClientSettings, HttpClient, HttpError, RateLimitError, write_atomic
from trygghetskarta.sources._page_html import (
    NotAnEventPageError,
    PageText,
    parse_page,
)
from trygghetskarta.sources._polisen_answer import (
    RejectedResponseError,
    check_events,
    event_id,
    latest_by_id,
)
from trygghetskarta.sources.polisen import municipality_from_title

log = logging.getLogger(__name__)

__all__ = [
    "NotAnEventPageError",
    "PageAttempt",
    "PageIndex",
    "PageText",
    "PagesResult",
    "answer_time",
    "fetch_pages",
    "page_candidates",
    "parse_page",
    "read_page",
    "record_sha256",
]

PAGES_SUBDIR = "pages"
META_SUBDIR = "meta"
REJECTED_SUBDIR = "rejected"
#: Days after an answer was fetched during which its events' pages are fetched or retried.
PAGES_DAYS = 14
#: Attempts at one version's page before it is given up (one attempt per run).
PAGE_TRIES = 5
_STEM = re.compile(r"(?P<id>\d+)_(?P<time>\d{8}T\d{6}\.\d{6}Z)")
_ANSWER = re.compile(r"polisen_(?P<time>\d{8}T\d{6}\.\d{6}Z)_.*\.json")
_TIME_FORMAT = "%Y%m%dT%H%M%S.%fZ"


# --------------------------------------------------------------------------- files


def read_page(path: Path) -> bytes:
    """The bytes of a saved page (or of its meta file), as they were received.

    The one reader of page files: a file compressed in place (``<name>.gz``) is read
    decompressed, byte for byte as it was saved.

    Raises
    ------
    SourceError
        The file cannot be read.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
        return gzip.decompress(data) if path.name.endswith(".gz") else data
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise SourceError(f"cannot read the saved page {path} ({e}) — fetch it again") from e


def _stem(path: Path) -> str:
    """``<id>_<UTC time>`` of a page, meta or rejected file, whatever its suffixes."""
    found = _STEM.match(path.name)
    return found.group(0) if found else path.name


def _time_of(stem: str) -> datetime | None:
    found = _STEM.fullmatch(stem)
    if not found:
        return None
    return datetime.strptime(found.group("time"), _TIME_FORMAT).replace(tzinfo=UTC)


def answer_time(path: Path) -> datetime | None:
    """When a saved API answer was fetched, from its name (``polisen_<UTC time>_…json``).

    None for a file named otherwise (an archive or a hand-written replay).

    >>> answer_time(Path("polisen_20260822T175400.000000Z_all.json")).isoformat()
    '2026-08-22T17:54:00+00:00'
    """
    found = _ANSWER.fullmatch(Path(path).name.removesuffix(".gz"))
    if not found:
        return None
    return datetime.strptime(found.group("time"), _TIME_FORMAT).replace(tzinfo=UTC)


def record_sha256(record: Mapping[str, Any]) -> str:
    """A digest of one API record (keys sorted): equal digests, the same version of an event."""
    text = json.dumps(record, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _free_stem(folder: Path, key: str, when: datetime) -> str:
    moment = when.astimezone(UTC)
    while True:
        stem = f"{key}_{moment:{_TIME_FORMAT}}"
        if not (folder / META_SUBDIR / f"{stem}.json").exists():
            return stem
        moment += timedelta(microseconds=1)


# --------------------------------------------------------------------------- the index


@dataclass(frozen=True)
class PageAttempt:
    """One fetch of an event's page, from its meta file (or from the page alone).

    Attributes
    ----------
    event_id
        The API id.
    stem
        ``<id>_<UTC time>``: names the page, its meta and a rejected body.
    fetched_at
        When the fetch started (UTC).
    record_sha256
        The API record it was fetched for (:func:`record_sha256`), None if unknown.
    page
        The saved page when the fetch brought an event page, else None.
    problem
        Why it failed (status, timeout, not an event page), else None.
    """

    event_id: str
    stem: str
    fetched_at: datetime
    record_sha256: str | None
    page: Path | None
    problem: str | None


@dataclass(frozen=True)
class PageIndex:
    """Every page attempt saved under ``data/raw/polisen/pages``, by event id.

    Built once per step with :meth:`scan`; :meth:`attach` is what the police reader calls
    for each live record (see :func:`trygghetskarta.sources.polisen.parse`).

    Attributes
    ----------
    attempts
        Per event id, its attempts oldest first.
    municipality
        Pages are attached to the records of this municipality (by the title) only.
    switched_off
        Pages are not fetched (``pages = false``): the reason given to events without one.
    max_tries
        Attempts at one version's page before it is given up.
    """

    attempts: Mapping[str, tuple[PageAttempt, ...]] = field(default_factory=dict)
    municipality: str = "Stockholm"
    switched_off: bool = False
    max_tries: int = PAGE_TRIES

    @classmethod
    def scan(
        cls,
        folder: Path,
        *,
        municipality: str = "Stockholm",
        switched_off: bool = False,
        max_tries: int = PAGE_TRIES,
    ) -> PageIndex:
        """Index the pages folder (``data/raw/polisen/pages``); a missing folder is empty."""
        folder = Path(folder)
        found: dict[str, dict[str, PageAttempt]] = {}
        pages = {
            _stem(p): p
            for pattern in ("*.html", "*.html.gz")
            for p in folder.glob(pattern)
            if _STEM.match(p.name)
        }
        for meta_path in sorted((folder / META_SUBDIR).glob("*.json*")):
            stem = _stem(meta_path)
            try:
                meta = json.loads(read_page(meta_path))
            except (SourceError, ValueError) as e:
                log.warning("polisen pages: unreadable meta file %s (%s); ignored", meta_path, e)
                continue
            when = _time_of(stem)
            key = str(meta.get("event_id", stem.split("_")[0]))
            if when is None:
                continue
            problem = meta.get("problem")
            page = pages.get(stem) if not problem else None
            if not problem and page is None:
                problem = "the saved page is missing"
            found.setdefault(key, {})[stem] = PageAttempt(
                key, stem, when, meta.get("record_sha256"), page, problem
            )
        for stem, page in pages.items():  # a page saved whose meta never was (a crash)
            key = stem.split("_")[0]
            when = _time_of(stem)
            if when is not None and stem not in found.get(key, {}):
                found.setdefault(key, {})[stem] = PageAttempt(key, stem, when, None, page, None)
        attempts = {
            key: tuple(sorted(items.values(), key=lambda a: a.fetched_at))
            for key, items in found.items()
        }
        return cls(attempts, municipality, switched_off, max_tries)

    def __len__(self) -> int:
        return sum(len(a) for a in self.attempts.values())

    # -------------------------------------------------------------- choosing a page

    def tries(self, key: str, digest: str) -> int:
        """Failed attempts at the page of this version of event ``key``."""
        return sum(
            1 for a in self.attempts.get(key, ()) if a.record_sha256 == digest and a.page is None
        )

    def has_page(self, key: str, digest: str) -> bool:
        """Whether the page of this version of event ``key`` has been saved."""
        return any(
            a.page is not None and a.record_sha256 == digest for a in self.attempts.get(key, ())
        )

    def choose(
        self, key: str, digest: str, answered_at: datetime | None
    ) -> tuple[PageAttempt | None, str | None]:
        """The page whose text a record gets, or why it gets none.

        The latest page fetched for this very version of the event; else the latest page
        of the event fetched before the answer (text carried from an earlier version);
        else no page, with the reason: the last failure, pages switched off, or not
        fetched yet.
        """
        attempts = self.attempts.get(key, ())
        saved = [a for a in attempts if a.page is not None]
        same = [a for a in saved if a.record_sha256 == digest]
        if same:
            return same[-1], None
        if answered_at is not None:
            earlier = [a for a in saved if a.fetched_at <= answered_at]
            if earlier:
                return earlier[-1], None
        failed = [a for a in attempts if a.page is None and a.record_sha256 == digest]
        if failed:
            last = failed[-1]
            when = f"{last.fetched_at:%Y-%m-%d %H:%M} UTC"
            then = "given up" if len(failed) >= self.max_tries else "tried again on the next run"
            return None, (
                f"page not fetched: {last.problem} ({len(failed)} "
                f"{'try' if len(failed) == 1 else 'tries'}, the last {when}); {then}"
            )
        if self.switched_off:
            return None, "page not fetched: pages are switched off ([polisen] pages = false)"
        return None, "page not fetched yet: it is fetched on the next run"

    def _wanted(self, record: Any) -> str | None:
        """The record's id when it is an event of the municipality without page text."""
        if not isinstance(record, dict) or "_html_body" in record:
            return None
        key = event_id(record)
        place = municipality_from_title(record.get("name"))  # type: ignore[arg-type]
        if key is None or place is None or place.casefold() != self.municipality.casefold():
            return None
        return key

    def attach(self, record: Any, source_file: Path) -> dict[str, Any] | None:
        """The keys to add to one live record: its page's text, or why it has none.

        Returns None for a record this does not concern (another municipality, not an
        event, a record that already has page text). Otherwise either the archive's
        ``_html_title``, ``_html_preamble``, ``_html_body``, ``_html_published`` and
        ``_page`` (the page file's stem), or ``_page_missing`` (the reason).
        """
        key = self._wanted(record)
        if key is None:
            return None
        chosen, reason = self.choose(key, record_sha256(record), answer_time(source_file))
        if chosen is None:
            return {"_page_missing": reason}
        assert chosen.page is not None
        try:
            text = parse_page(read_page(chosen.page))
        except SourceError as e:  # NotAnEventPageError included
            return {"_page_missing": f"page {chosen.page.name} unreadable: {e}"}
        return text.as_record_fields() | {"_page": chosen.stem}

    def signature(self, path: Path) -> str:
        """What the pages attached to one answer's records are: part of its batch key.

        Changes when a page is fetched, fails again, or is given up for one of its events,
        so that the answer is read again with it. Empty when no page concerns the file.
        """
        if not self.attempts:
            return ""
        try:
            records = check_events(read_page(path))
        except (SourceError, RejectedResponseError):
            return ""
        answered = answer_time(path)
        parts = []
        for record in records:
            key = self._wanted(record)
            if key is None or key not in self.attempts:
                continue
            chosen, reason = self.choose(key, record_sha256(record), answered)
            parts.append(f"{key}:{chosen.stem if chosen else reason}")
        return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:16] if parts else ""


# --------------------------------------------------------------------------- fetching


@dataclass(frozen=True)
class PagesResult:
    """What :func:`fetch_pages` did.

    Attributes
    ----------
    fetched, failed
        Event ids whose page was saved, and ids whose fetch failed (tried again next run).
    waiting
        Ids not tried because the hourly limit was spent: they wait for the next run.
    given_up
        Ids whose page failed :data:`PAGE_TRIES` times for the version served now.
    files
        The pages saved.
    problems
        One line per failure (id and why).
    """

    fetched: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    waiting: tuple[str, ...] = ()
    given_up: tuple[str, ...] = ()
    files: tuple[Path, ...] = ()
    problems: tuple[str, ...] = ()


def _recent_answers(folder: Path, since: datetime) -> list[Path]:
    found = []
    for path in sorted(folder.glob("polisen_*.json")):
        when = answer_time(path)
        if when is not None and when >= since:
            found.append(path)
    return found


def page_candidates(
    raw_dir: Path,
    *,
    municipality: str,
    now: datetime,
    days: int = PAGES_DAYS,
    answers: Iterable[Path] | None = None,
) -> dict[str, dict[str, Any]]:
    """The events whose page may be wanted: the municipality's events in recent answers.

    Parameters
    ----------
    raw_dir
        ``data/raw``; answers are read from ``raw_dir/polisen``.
    municipality
        Events whose title names it.
    now, days
        Answers fetched in the ``days`` days before ``now`` (by their names).
    answers
        Read these files instead (a replay, a test).

    Returns
    -------
    dict
        Event id → its latest record in those answers, oldest event first.
    """
    folder = Path(raw_dir) / "polisen"
    files = (
        list(answers)
        if answers is not None
        else _recent_answers(folder, now - timedelta(days=days))
    )
    records: list[Any] = []
    for path in files:
        try:
            records.extend(check_events(read_page(path)))
        except (SourceError, RejectedResponseError) as e:
            log.warning("polisen pages: cannot read the answer %s (%s); skipped", path, e)
    index = PageIndex(municipality=municipality)
    latest = {k: r for k, r in latest_by_id(records).items() if index._wanted(r) is not None}
    return dict(sorted(latest.items(), key=lambda kv: (str(kv[1].get("datetime")), int(kv[0]))))


def _page_path(url: Any) -> str | None:
    """The path of an event's page from its API ``url``; None when it is not a page path.

    The API gives paths relative to polisen.se (``/aktuellt/handelser/…``); anything else
    (an absolute or protocol-relative URL, ``..``, a backslash) is refused, so a page is
    only ever asked of ``base_url``. Characters outside ASCII are percent-encoded.
    """
    if not isinstance(url, str) or not url.strip():
        return None
    parts = urllib.parse.urlsplit(url.strip())
    path = parts.path
    if parts.scheme or parts.netloc or not path.startswith("/") or "\\" in path:
        return None
    if any(segment == ".." for segment in path.split("/")):
        return None
    return urllib.parse.quote(path, safe="/%:@!$&'()*+,;=-._~")


def _save_failure(
    folder: Path, stem: str, meta: dict[str, Any], body: bytes | None, content_type: str
) -> None:
    if body:
        head = body.lstrip()[:1]
        suffix = ".html" if head == b"<" else ".json" if head in (b"[", b"{") else ".txt"
        if "html" in content_type:
            suffix = ".html"
        write_atomic(folder / REJECTED_SUBDIR / f"{stem}{suffix}", body)
    write_atomic(
        folder / META_SUBDIR / f"{stem}.json",
        json.dumps(meta, ensure_ascii=False, indent=2).encode("utf-8"),
    )


def _fetch_one(
    http: HttpClient, folder: Path, key: str, record: Mapping[str, Any], path: str
) -> tuple[Path | None, str | None]:
    """Fetch one page and keep it; return (the saved page, None) or (None, the problem)."""
    base = {"event_id": key, "event_url": record.get("url"), "record_sha256": record_sha256(record)}
    try:
        response = http.get(path, accept="text/html", wait_for_budget=False)
    except RateLimitError:
        raise
    except HttpError as e:
        answer = e.response
        when = answer.fetched_at if answer is not None else datetime.now(UTC)
        stem = _free_stem(folder, key, when)
        meta = (answer.describe() if answer is not None else {"url": e.url}) | base
        problem = str(e).split(" — ")[0]
        _save_failure(
            folder,
            stem,
            meta | {"problem": problem, "fetched_at": when.isoformat()},
            answer.body if answer is not None else None,
            answer.content_type if answer is not None else "",
        )
        return None, problem
    stem = _free_stem(folder, key, response.fetched_at)
    meta = response.describe() | base
    try:
        parse_page(response.body)
    except NotAnEventPageError as e:
        problem = f"{response.url} answered {response.status} with {e}, not an event page"
        _save_failure(
            folder, stem, meta | {"problem": problem}, response.body, response.content_type
        )
        return None, problem
    page = write_atomic(folder / f"{stem}.html", response.body)  # kept before it is used
    write_atomic(
        folder / META_SUBDIR / f"{stem}.json",
        json.dumps(meta | {"problem": None}, ensure_ascii=False, indent=2).encode("utf-8"),
    )
    return page, None


def fetch_pages(
    client_settings: ClientSettings,
    *,
    raw_dir: Path,
    municipality: str = "Stockholm",
    now: datetime | None = None,
    days: int = PAGES_DAYS,
    max_tries: int = PAGE_TRIES,
    client: HttpClient | None = None,
    answers: Iterable[Path] | None = None,
) -> PagesResult:
    """Fetch the pages the recent answers' events still lack, and keep them.

    An event of ``municipality`` in an answer fetched in the last ``days`` days gets its
    page fetched when none has been saved for the version the answers serve now (so a new
    event, an edited one and one whose page failed before), oldest event first. Each
    attempt is kept (see the module's docstring). A page that fails is tried again on the
    next run, up to ``max_tries`` times per version. When the hourly limit, shared with
    the API's calls, is spent, the remaining pages wait for the next run: logged, not an
    error.

    Parameters
    ----------
    client_settings, raw_dir, client
        As for :func:`trygghetskarta.sources.polisen_api.fetch` (share the poll's client).
    municipality
        Whose events get pages (by the title's last part).
    now
        The run's clock (default: now).
    days, max_tries
        See above.
    answers
        Take the events from these answer files instead of the recent ones.

    Returns
    -------
    PagesResult
        Ids fetched, failed, waiting and given up, and the pages saved.
    """
    clock = now or datetime.now(UTC)
    folder = Path(raw_dir) / "polisen" / PAGES_SUBDIR
    http = client or HttpClient(client_settings, state_dir=Path(raw_dir) / ".http")
    index = PageIndex.scan(folder, municipality=municipality, max_tries=max_tries)
    wanted = page_candidates(
        raw_dir, municipality=municipality, now=clock, days=days, answers=answers
    )
    todo: list[tuple[str, dict[str, Any]]] = []
    given_up: list[str] = []
    for key, record in wanted.items():
        digest = record_sha256(record)
        if index.has_page(key, digest):
            continue
        if index.tries(key, digest) >= max_tries:
            given_up.append(key)
            continue
        todo.append((key, record))
    fetched: list[str] = []
    failed: list[str] = []
    files: list[Path] = []
    problems: list[str] = []
    waiting: list[str] = []
    for n, (key, record) in enumerate(todo):
        path = _page_path(record.get("url"))
        if path is None:
            stem = _free_stem(folder, key, datetime.now(UTC))
            problem = f"the event's url {record.get('url')!r} is not a page path on polisen.se"
            meta = {"event_id": key, "event_url": record.get("url")}
            meta |= {"record_sha256": record_sha256(record), "problem": problem}
            _save_failure(folder, stem, meta, None, "")
            failed.append(key)
            problems.append(f"{key}: {problem}")
            continue
        try:
            page, problem = _fetch_one(http, folder, key, record, path)
        except RateLimitError as e:
            waiting = [k for k, _ in todo[n:]]
            log.info(
                "polisen pages: %d pages wait for the next run: %s",
                len(waiting),
                str(e).split(" — ")[0],
            )
            break
        if page is None:
            failed.append(key)
            problems.append(f"{key}: {problem}")
            log.warning("polisen pages: the page of event %s failed: %s", key, problem)
        else:
            fetched.append(key)
            files.append(page)
    log.info(
        "polisen pages: %d fetched, %d failed, %d waiting, %d given up (of %d events of %s "
        "in the answers of the last %d days)",
        len(fetched),
        len(failed),
        len(waiting),
        len(given_up),
        len(wanted),
        municipality,
        days,
    )
    return PagesResult(
        tuple(fetched),
        tuple(failed),
        tuple(waiting),
        tuple(given_up),
        tuple(files),
        tuple(problems),
    )
