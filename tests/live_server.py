"""polisen.se on 127.0.0.1: the events API and the events' pages, for the live-feed tests.

``LiveServer`` serves ``GET /api/events`` as the API does (the latest ``window`` events
published up to ``now``, newest first) and any other path from ``pages`` (status, body,
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
from urllib.parse import urlsplit

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

    def answer(self) -> list[dict[str, Any]]:
        """What ``/api/events`` answers now."""
        shown = [e for e in self.events if self.now is None or published(e) <= self.now]
        shown.sort(key=published, reverse=True)
        return shown[: self.window]

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        path = urlsplit(handler.path).path
        with self._lock:
            self.requests.append(path)
            self.agents.add(handler.headers.get("User-Agent", ""))
            if path == "/api/events":
                page = Page(
                    200, json.dumps(self.answer(), ensure_ascii=False).encode(), "application/json"
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
