"""Saved event pages: the one reader of page files, and the index of every attempt.

Part of :mod:`trygghetskarta.sources.polisen_pages` (which re-exports the public names):
which page's text a live record gets, or why it gets none. Pure: reads files only.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from trygghetskarta.errors import SourceError
from trygghetskarta.sources._page_html import PageText, parse_page
from trygghetskarta.sources._polisen_answer import (
    RejectedResponseError,
    check_events,
    event_id,
)
from trygghetskarta.sources.polisen import municipality_from_title

log = logging.getLogger(__name__)

META_SUBDIR = "meta"
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
    #: Pages parsed so far (a page is attached to every answer that holds its event).
    _texts: dict[Path, PageText | str] = field(default_factory=dict, compare=False, repr=False)

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
            if not isinstance(meta, dict):
                log.warning("polisen pages: %s is not a meta object; ignored", meta_path)
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

    def concerns(self, record: Any) -> str | None:
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
        key = self.concerns(record)
        if key is None:
            return None
        chosen, reason = self.choose(key, record_sha256(record), answer_time(source_file))
        if chosen is None:
            return {"_page_missing": reason}
        assert chosen.page is not None
        text = self._texts.get(chosen.page)
        if text is None:
            try:
                text = parse_page(read_page(chosen.page))
            except SourceError as e:  # NotAnEventPageError included
                text = f"page {chosen.page.name} unreadable: {e}"
            self._texts[chosen.page] = text
        if isinstance(text, str):
            return {"_page_missing": text}
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
            key = self.concerns(record)
            if key is None or key not in self.attempts:
                continue
            chosen, reason = self.choose(key, record_sha256(record), answered)
            parts.append(f"{key}:{chosen.stem if chosen else reason}")
        return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:16] if parts else ""
