"""A real HTTP server on 127.0.0.1 that answers from a script, for the network tests.

``ScriptedServer`` listens on ``127.0.0.1`` on a free port, in a thread. Each request takes
the next :class:`Reply` from its script (the last one repeats when ``repeat_last`` is set)
and is recorded in ``requests``. A reply can be delayed (a hung connection: the handler
waits on an event the fixture sets at teardown, so no test waits for it), cut short, sent
with a wrong length, trickled a byte at a time (body only, or status line and headers too),
or with any status, headers and body. Every wait is bounded.
"""

from __future__ import annotations

import contextlib
import functools
import gzip as gzip_mod
import json
import socket
import ssl
import threading
import time
import urllib.parse
import zlib
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HOST = "127.0.0.1"
MAX_HANG_S = 10.0  # a "hung" reply never holds a thread longer than this
MAX_TRICKLE_S = 60.0  # nor does a trickling one (teardown stops it at once)


@dataclass
class Reply:
    """One scripted answer.

    Attributes
    ----------
    status, body, headers
        What to send. ``body`` may be ``bytes``, ``str`` or any JSON value.
    delay_s
        Wait this long before answering (bounded by teardown and :data:`MAX_HANG_S`).
    declared_length
        Content-Length to announce instead of the real one (a body cut short in transit).
    gzip
        Send the body gzip-compressed with ``Content-Encoding: gzip``.
    content_type
        Defaults to JSON for JSON values, ``text/plain`` for text.
    trickle_s
        Send the body one byte every ``trickle_s`` seconds (0: all at once), for at most
        :data:`MAX_TRICKLE_S` or until teardown.
    trickle_headers
        Trickle the status line and headers too, not only the body.
    """

    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    declared_length: int | None = None
    gzip: bool = False
    content_type: str | None = None
    trickle_s: float = 0.0
    trickle_headers: bool = False

    def payload(self) -> tuple[bytes, str]:
        if isinstance(self.body, bytes):
            return self.body, self.content_type or "application/json; charset=utf-8"
        if isinstance(self.body, str):
            return self.body.encode("utf-8"), self.content_type or "text/plain; charset=utf-8"
        data = json.dumps(self.body, ensure_ascii=False, indent=2).encode("utf-8")
        return data, self.content_type or "application/json; charset=utf-8"


@dataclass(frozen=True)
class Seen:
    """A request as the server received it."""

    path: str
    query: dict[str, list[str]]
    raw_query: str
    headers: dict[str, str]
    at: float


class ScriptedServer:
    """Serve scripted replies on 127.0.0.1; use as a context manager."""

    def __init__(
        self,
        script: list[Reply] | None = None,
        *,
        repeat_last: bool = False,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.script: list[Reply] = list(script or [])
        self.repeat_last = repeat_last
        self.tls = tls  # a server context: serve https
        self.requests: list[Seen] = []
        self.exhausted = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ control

    def __enter__(self) -> ScriptedServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                server._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer((HOST, 0), Handler)
        self._httpd.daemon_threads = True
        self._httpd.handle_error = lambda request, address: None  # client went away: fine
        assert self._httpd.server_address[0] == HOST
        if self.tls is not None:
            self._httpd.socket = self.tls.wrap_socket(self._httpd.socket, server_side=True)
        httpd = self._httpd
        self._thread = threading.Thread(
            target=lambda: httpd.serve_forever(poll_interval=0.02), daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        assert self._httpd is not None and self._thread is not None
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    @property
    def base_url(self) -> str:
        assert self._httpd is not None
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://{HOST}:{self._httpd.server_address[1]}"

    @property
    def port(self) -> int:
        assert self._httpd is not None
        return int(self._httpd.server_address[1])

    def add(self, *replies: Reply) -> None:
        with self._lock:
            self.script.extend(replies)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self.script)

    # ------------------------------------------------------------------ serving

    def _next(self) -> Reply:
        with self._lock:
            if len(self.script) > 1 or (self.script and not self.repeat_last):
                return self.script.pop(0)
            if self.script:
                return self.script[0]
            self.exhausted += 1
        return Reply(500, "the test script has no reply left for this request")

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        split = urllib.parse.urlsplit(handler.path)
        seen = Seen(
            path=split.path,
            query=urllib.parse.parse_qs(split.query, keep_blank_values=True),
            raw_query=split.query,
            headers={k.lower(): v for k, v in handler.headers.items()},
            at=time.monotonic(),
        )
        with self._lock:
            self.requests.append(seen)
        reply = self._next()
        if reply.delay_s:
            self._stop.wait(min(reply.delay_s, MAX_HANG_S))
            if self._stop.is_set():
                return
        body, content_type = reply.payload()
        if reply.gzip:
            body = gzip_mod.compress(body)
        if reply.trickle_s:
            self._trickle(handler, reply, body, content_type)
            return
        try:
            handler.send_response(reply.status)
            handler.send_header("Content-Type", content_type)
            if reply.gzip:
                handler.send_header("Content-Encoding", "gzip")
            length = reply.declared_length if reply.declared_length is not None else len(body)
            handler.send_header("Content-Length", str(length))
            handler.send_header("Connection", "close")
            for key, value in reply.headers.items():
                handler.send_header(key, value)
            handler.end_headers()
            handler.wfile.write(body)
            handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        handler.close_connection = True

    def _trickle(
        self, handler: BaseHTTPRequestHandler, reply: Reply, body: bytes, content_type: str
    ) -> None:
        """Send the reply a byte every ``reply.trickle_s`` seconds, until teardown at most."""
        lines = [
            f"HTTP/1.1 {reply.status} {HTTPStatus(reply.status).phrase}",
            f"Content-Type: {content_type}",
            f"Content-Length: {len(body)}",
            "Connection: close",
            *(["Content-Encoding: gzip"] if reply.gzip else []),
            *(f"{key}: {value}" for key, value in reply.headers.items()),
        ]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        at_once, slowly = (b"", head + body) if reply.trickle_headers else (head, body)
        handler.close_connection = True
        started = time.monotonic()
        try:
            handler.wfile.write(at_once)
            for i in range(len(slowly)):
                if self._stop.wait(reply.trickle_s) or time.monotonic() - started > MAX_TRICKLE_S:
                    return
                handler.wfile.write(slowly[i : i + 1])
                handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass


# --------------------------------------------------------------------------- relay


class TrickleRelay:
    """A TCP relay on 127.0.0.1 that slows one direction down to a byte every ``trickle_s``.

    What the client sends goes on to ``127.0.0.1:target_port`` at once; what comes back is
    passed to the client a byte at a time — a TLS handshake trickled from the server's side.
    Stops at teardown, after :data:`MAX_TRICKLE_S` at most.
    """

    def __init__(self, target_port: int, trickle_s: float) -> None:
        self.target_port = target_port
        self.trickle_s = trickle_s
        self.connections = 0
        self._stop = threading.Event()
        self._listener = socket.socket()
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> TrickleRelay:
        self._listener.bind((HOST, 0))
        self._listener.listen()
        self._listener.settimeout(0.05)
        self._spawn(self._accept)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._listener.close()

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    def _spawn(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            self.connections += 1
            upstream = socket.create_connection((HOST, self.target_port), timeout=5)
            self._spawn(self._copy, client, upstream)
            self._spawn(self._trickle, upstream, client)

    def _copy(self, source: socket.socket, sink: socket.socket) -> None:
        source.settimeout(0.05)
        started = time.monotonic()
        with contextlib.suppress(OSError):
            while not self._stop.is_set() and time.monotonic() - started < MAX_TRICKLE_S:
                try:
                    data = source.recv(65536)
                except TimeoutError:
                    continue
                if not data:
                    return
                sink.sendall(data)

    def _trickle(self, source: socket.socket, sink: socket.socket) -> None:
        source.settimeout(0.05)
        started = time.monotonic()
        with contextlib.suppress(OSError):
            while time.monotonic() - started < MAX_TRICKLE_S:
                try:
                    data = source.recv(1)
                except TimeoutError:
                    continue
                if not data or self._stop.wait(self.trickle_s):
                    break
                sink.sendall(data)
        source.close()
        sink.close()


# --------------------------------------------------------------------------- bombs


@functools.cache
def gzip_bomb(expanded: int = 1 << 30, *, wbits: int = 16 + zlib.MAX_WBITS) -> bytes:
    """A gzip (or, with ``wbits=zlib.MAX_WBITS``, deflate) body of ``expanded`` zero bytes.

    1 GiB compresses to about 1 MB; built once per process (about 2 s).
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    block = bytes(1 << 20)
    parts = [
        compressor.compress(block[: min(len(block), expanded - done)])
        for done in range(0, expanded, len(block))
    ]
    return b"".join([*parts, compressor.flush()])


# --------------------------------------------------------------------------- time


class FakeTime:
    """A wall clock that only moves when slept on; records every sleep (no real waits)."""

    def __init__(self, start: float = 1_787_000_000.0) -> None:  # 2026-08-17 20:53:20 UTC
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert 0 <= seconds < 10_000, f"an unexpected wait of {seconds} s"
        self.sleeps.append(seconds)
        self.now += seconds


# --------------------------------------------------------------------------- API events


MONTHS = [
    "januari",
    "februari",
    "mars",
    "april",
    "maj",
    "juni",
    "juli",
    "augusti",
    "september",
    "oktober",
    "november",
    "december",
]


def api_event(
    event_id: int,
    *,
    published: str = "2026-08-22 9:51:41 +02:00",
    occurred: tuple[int, int, int, int] = (22, 8, 9, 15),
    event_type: str = "Misshandel",
    place: str = "Stockholm",
    summary: str = "Misshandel vid Medborgarplatsen.",
) -> dict[str, Any]:
    """One event in the exact shape polisen.se serves (2026: county in ``location.name``)."""
    day, month, hour, minute = occurred
    name = f"{day} {MONTHS[month - 1]} {hour:02d}.{minute:02d}, {event_type}, {place}"
    slug = name.lower().replace(",", "").replace(" ", "-").replace(".", "")
    return {
        "id": event_id,
        "datetime": published,
        "name": name,
        "summary": summary,
        "url": f"/aktuellt/handelser/2026/{MONTHS[month - 1]}/{day}/{slug}/",
        "type": event_type,
        "location": {"name": "Stockholms län", "gps": "59.602496,18.138438"},
    }
