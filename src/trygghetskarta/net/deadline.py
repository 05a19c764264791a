"""One deadline per request: connection, headers, redirects and body alike.

Part of :mod:`trygghetskarta.net`. The socket's timeout shrinks to the time left before
every read and the clock is checked between reads, so a server that trickles a byte a
second cannot keep a read alive past the deadline.
"""

from __future__ import annotations

import functools
import http.client
import io
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any


class _DeadlineError(TimeoutError):
    """The request's one deadline passed (raised before a read or a connect)."""


class _Deadline:
    """The single deadline of one request, and how many bytes the server sent before it.

    Shared by the connection, the response and every redirect of that request; made anew
    for each attempt, never shared between requests.
    """

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.at = time.monotonic() + timeout_s
        self.received = 0

    def remaining(self) -> float:
        """Seconds left; raises :class:`_DeadlineError` when none are."""
        left = self.at - time.monotonic()
        if left <= 0:
            raise _DeadlineError(f"the answer was not complete within {self.timeout_s:g} s")
        return left


class _DeadlineReader(io.RawIOBase):
    """A socket's raw reader whose every read may only use the time left before the deadline.

    ``http.client`` reads the status line, headers and body through a buffered reader over
    this, so a server that trickles bytes (each read returning after a second, none timing
    out on its own) still runs into the deadline: before each read the socket's timeout is
    set to the time left, and no read starts once it has passed.
    """

    def __init__(self, raw: io.RawIOBase, sock: Any, deadline: _Deadline) -> None:
        super().__init__()
        self._raw = raw
        self._sock = sock
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        self._sock.settimeout(self._deadline.remaining())
        n = self._raw.readinto(buffer)
        if n:
            self._deadline.received += n
        return n

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


class _DeadlineResponse(http.client.HTTPResponse):
    """An ``HTTPResponse`` that reads its socket through a :class:`_DeadlineReader`."""

    def __init__(self, sock: Any, *args: Any, deadline: _Deadline, **kwargs: Any) -> None:
        super().__init__(sock, *args, **kwargs)
        assert isinstance(self.fp, io.BufferedReader)
        self.fp = io.BufferedReader(_DeadlineReader(self.fp.detach(), sock, deadline))


class _DeadlineConnectionMixin:
    """Connects with the time left before the deadline; answers with a deadline response."""

    timeout: float | None

    def __init__(self, *args: Any, deadline: _Deadline, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline = deadline
        self.response_class = functools.partial(_DeadlineResponse, deadline=deadline)

    def connect(self) -> None:
        self.timeout = self._deadline.remaining()
        super().connect()  # type: ignore[misc]


class _DeadlineHTTPConnection(_DeadlineConnectionMixin, http.client.HTTPConnection):
    pass


class _DeadlineHTTPSConnection(_DeadlineConnectionMixin, http.client.HTTPSConnection):
    """``HTTPSConnection.connect`` whose TLS handshake gets only the time left.

    CPython bounds a whole handshake by the socket's timeout, so setting it to the time
    left after the TCP connect keeps even a handshake trickled byte by byte to the deadline.
    """

    _context: ssl.SSLContext
    _tunnel_host: str | None
    host: str

    def connect(self) -> None:
        self.timeout = self._deadline.remaining()
        http.client.HTTPConnection.connect(self)
        self.sock.settimeout(self._deadline.remaining())
        server_hostname = self._tunnel_host or self.host
        self.sock = self._context.wrap_socket(self.sock, server_hostname=server_hostname)


class _DeadlineHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, deadline: _Deadline) -> None:
        super().__init__()
        self._deadline = deadline

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        connection = functools.partial(_DeadlineHTTPConnection, deadline=self._deadline)
        return self.do_open(connection, req)


class _DeadlineHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, deadline: _Deadline) -> None:
        super().__init__()
        self._deadline = deadline

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        connection = functools.partial(_DeadlineHTTPSConnection, deadline=self._deadline)
        return self.do_open(connection, req, context=self._context)
