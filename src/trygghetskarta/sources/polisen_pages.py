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

import json
import logging
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
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
from trygghetskarta.sources._page_index import (
    META_SUBDIR,
    PAGE_TRIES,
    PageAttempt,
    PageIndex,
    _free_stem,
    answer_time,
    read_page,
    record_sha256,
)
from trygghetskarta.sources._polisen_answer import (
    RejectedResponseError,
    check_events,
    latest_by_id,
    published,
)

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
REJECTED_SUBDIR = "rejected"
#: Days after an answer was fetched during which its events' pages are fetched or retried.
PAGES_DAYS = 14


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
    latest = {k: r for k, r in latest_by_id(records).items() if index.concerns(r) is not None}
    never = datetime.max.replace(tzinfo=UTC)

    def oldest_first(item: tuple[str, dict[str, Any]]) -> tuple[datetime, int]:
        return (published(item[1]) or never, int(item[0]))

    return dict(sorted(latest.items(), key=oldest_first))


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
