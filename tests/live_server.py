"""polisen.se on 127.0.0.1: the events API and the events' pages, for the live-feed tests.

``LiveServer`` serves ``GET /api/events`` as the API does (the latest ``window`` events
published up to ``now``, newest first, and by ``DateTime`` those of a year, month, day or
hour) and any other path from ``pages`` (status, body,
content type), 404 otherwise; every request is recorded. ``replay_*`` build that server's
content from the archive of events with page text: API-shaped records (the API's keys
only) and pages rebuilt from the ``_html_*`` fields into polisen.se's structure.
Used by ``test_polisen_pages.py`` and ``bench/bench_live.py``.
"""

from __future__ import annotations

import html
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

HOST = "127.0.0.1"
API_KEYS = ("id", "datetime", "name", "summary", "url", "type", "location")
ARCHIVE = "police_events/stockholms_lan_events_with_text_2022-09_2025-12.json"
_API_TIME = "%Y-%m-%d %H:%M:%S %z"


def published(record: dict[str, Any]) -> datetime:
    """The API's ``datetime`` of a record."""
    return datetime.strptime(record["datetime"], _API_TIME)


@dataclass
class Page:
    """One answer for a page path."""

    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"


@dataclass
class LiveServer:
    """The API and the pages on 127.0.0.1; a context manager."""

    events: list[dict[str, Any]] = field(default_factory=list)
    pages: dict[str, Page] = field(default_factory=dict)
    now: datetime | None = None
    window: int = 500
    requests: list[str] = field(default_factory=list)
    agents: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    def __enter__(self) -> LiveServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                server._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer((HOST, 0), Handler)
        self._httpd.daemon_threads = True
        httpd = self._httpd
        threading.Thread(
            target=lambda: httpd.serve_forever(poll_interval=0.02), daemon=True
        ).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._httpd is not None
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def base_url(self) -> str:
        assert self._httpd is not None
        return f"http://{HOST}:{self._httpd.server_address[1]}"

    def page_requests(self) -> list[str]:
        with self._lock:
            return [r for r in self.requests if not r.startswith("/api/")]

    def answer(self, date_time: str | None = None) -> list[dict[str, Any]]:
        """What ``/api/events`` answers now: with ``DateTime`` (``2026``, ``2026-08``,
        ``2026-08-22`` or ``2026-08-22 21``) only the events published then, local time."""
        shown = [e for e in self.events if self.now is None or published(e) <= self.now]
        if date_time:
            shown = [e for e in shown if f"{published(e):%Y-%m-%d %H}".startswith(date_time)]
        shown.sort(key=published, reverse=True)
        return shown[: self.window]

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        path = parts.path
        date_time = parse_qs(parts.query).get("DateTime", [None])[0]
        with self._lock:
            self.requests.append(path)
            self.agents.add(handler.headers.get("User-Agent", ""))
            if path == "/api/events":
                page = Page(
                    200,
                    json.dumps(self.answer(date_time), ensure_ascii=False).encode(),
                    "application/json",
                )
            else:
                page = self.pages.get(
                    path, Page(404, b"<html><title>Sidan finns inte</title></html>")
                )
        handler.send_response(page.status)
        handler.send_header("Content-Type", page.content_type)
        handler.send_header("Content-Length", str(len(page.body)))
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(page.body)
        handler.close_connection = True


# --------------------------------------------------------------------------- the archive


def api_record(record: dict[str, Any]) -> dict[str, Any]:
    """An archived record as the API serves it: its keys only, no page text."""
    return {k: record[k] for k in API_KEYS if k in record}


def event_page(
    title: str | None,
    preamble: str | None,
    body: str | None,
    published_at: str | None = None,
) -> bytes:
    """An event page in polisen.se's structure, with the given texts (escaped)."""
    esc = html.escape
    paragraphs = "".join(f"<p>{esc(line)}</p>\n" for line in (body or "").split("\n"))
    when = f'<time class="date" datetime="{esc(published_at)}">x</time>' if published_at else ""
    return (
        "<!DOCTYPE html><html lang=sv><head><meta charset=utf-8><title>"
        f"{esc(title or '')} | Polismyndigheten</title></head><body><main>"
        '<div class="event-page editorial-content">'
        f"<h1>\n    {esc(title or '')}\n</h1>"
        + (f'<p class="preamble">\n    {esc(preamble)}\n</p>' if preamble is not None else "")
        + '<div class="event-content"><div class="text-body editorial-html">\n'
        + paragraphs
        + f'</div><div class="meta-data-container">{when}</div></div></div>'
        "</main></body></html>"
    ).encode("utf-8")


def replay_content(records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, Page]]:
    """API records and rebuilt pages (a 404 where the archive has no page text)."""
    events = [api_record(r) for r in records]
    pages = {}
    for r in records:
        if r.get("_html_title") is None:
            continue
        pages[r["url"]] = Page(
            200,
            event_page(
                r["_html_title"],
                r.get("_html_preamble"),
                r.get("_html_body"),
                r.get("_html_published"),
            ),
        )
    return events, pages


def archive_records(shared_data: Path, start: str, end: str) -> list[dict[str, Any]]:
    """Archived Stockholms län records published in ``[start, end)`` (ISO dates), one per id."""
    records = json.loads((shared_data / ARCHIVE).read_text(encoding="utf-8"))
    lo, hi = datetime.fromisoformat(start), datetime.fromisoformat(end)
    chosen = {}
    for r in records:
        when = published(r).replace(tzinfo=None)
        if lo <= when < hi:
            chosen[r["id"]] = r
    return sorted(chosen.values(), key=published)


# --------------------------------------------------------------------------- the replay


@dataclass
class Replayed:
    """What one replay (or the archive's ingest) left in its database.

    Attributes
    ----------
    events
        Police events of the kommun: ``source_id``, ``precision``, ``versions``,
        ``text_missing``.
    shootings
        Source ids of the shooting layer.
    seconds
        Wall time of the fetches and the ingest and geocode.
    page_requests
        Pages asked of the server.
    """

    events: Any
    shootings: set[str]
    seconds: float
    page_requests: int = 0

    @property
    def kommun_or_worse(self) -> float:
        """Share of the events placed only at kommun level or not at all."""
        return float(self.events["precision"].isin(["kommun", "none"]).mean())


def project(folder: Path, shared_data: Path) -> list[str]:
    """A project in ``folder`` whose data holds the real boundaries and gazetteer but no
    police archive; returns the CLI's common arguments (``--data``, ``--db``)."""
    data = folder / "data"
    data.mkdir(parents=True)
    for name in ("boundaries", "population", "gazetteer"):
        (data / name).symlink_to(shared_data / name)
    (data / "police_events").mkdir()
    (folder / "trygghetskarta.toml").write_text(
        "[polisen]\nbackoff_s = 0\nmax_attempts = 2\ntimeout_s = 10\n"
        'contact = "https://example.org/replay"\n',
        encoding="utf-8",
    )
    return ["--data", str(data), "--db", str(folder / "t.duckdb")]


def _invoke(args: list[str], folder: Path) -> None:
    import os

    from typer.testing import CliRunner

    from trygghetskarta import cli

    here = Path.cwd()
    os.chdir(folder)
    try:
        done = CliRunner().invoke(cli.app, args)
    finally:
        os.chdir(here)
    if done.exit_code != 0:
        raise AssertionError(f"trygghetskarta {' '.join(args)} failed:\n{done.output}")


def _read(folder: Path) -> tuple[Any, set[str]]:
    from trygghetskarta import store

    con = store.connect(folder / "t.duckdb", read_only=True)
    try:
        events = con.execute(
            "SELECT e.source_id, e.precision, e.text_missing, count(v.content_hash) AS versions "
            "FROM events e JOIN event_versions v USING (event_uid) "
            "WHERE e.layer = 'police_event' GROUP BY ALL ORDER BY 1"
        ).df()
        shootings = {
            r[0]
            for r in con.execute(
                "SELECT DISTINCT source_id FROM events WHERE layer = 'shooting'"
            ).fetchall()
        }
    finally:
        con.close()
    return events, shootings


def replay_live(
    shared_data: Path,
    folder: Path,
    records: list[dict[str, Any]],
    *,
    every_days: float = 3.0,
    pages: bool = True,
) -> Replayed:
    """Serve ``records`` as polisen.se would, poll with ``fetch polisen`` every few days,
    then ingest and geocode: what the nightly batch would have made of those days."""
    import time
    from datetime import timedelta

    common = project(folder, shared_data)
    events, served = replay_content(records)
    first, last = published(records[0]), published(records[-1])
    started = time.perf_counter()
    with LiveServer(events=events, pages=served if pages else {}) as server:
        fetch = [*common, "fetch", "polisen", "--base-url", server.base_url, "--no-ingest"]
        fetch += ["--min-interval", "0", "--max-per-hour", "1000000"]
        fetch += ["--pages" if pages else "--no-pages"]
        at = first + timedelta(days=every_days)
        while True:
            server.now = at
            _invoke(fetch, folder)
            if at > last:
                break
            at += timedelta(days=every_days)
        asked = len(server.page_requests())
    _invoke([*common, "ingest", "polisen"], folder)
    _invoke([*common, "geocode"], folder)
    events_frame, shootings = _read(folder)
    return Replayed(events_frame, shootings, time.perf_counter() - started, asked)


def replay_archive(shared_data: Path, folder: Path, records: list[dict[str, Any]]) -> Replayed:
    """The same records ingested from the archive (with their page text), and geocoded."""
    import time

    common = project(folder, shared_data)
    path = folder / "replay_events_with_text.json"
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    started = time.perf_counter()
    _invoke([*common, "ingest", "polisen", str(path)], folder)
    _invoke([*common, "geocode"], folder)
    events, shootings = _read(folder)
    return Replayed(events, shootings, time.perf_counter() - started)
