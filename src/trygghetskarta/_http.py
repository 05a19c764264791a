"""The only code that talks to the network: one throttled, retrying GET helper.

Every call goes through :meth:`HttpClient.get`, which

- sends a User-Agent naming the project, its version and a contact the user sets;
- keeps to the server's published limits: at least ``min_interval_s`` between two calls and
  at most ``max_per_hour`` calls in any hour, counted across processes through a small log
  of call times on disk (``<state_dir>/<host>.calls.json``, guarded by a file lock where the
  platform has one), so two commands run back to back do not exceed them either;
- gives each request ONE deadline, ``timeout_s`` after it starts, for everything: connecting,
  the status line and headers, any redirects and the whole body. The socket's timeout shrinks
  to the time left before every read and the clock is checked between reads, so a server
  that trickles a byte a second cannot keep a read alive past the deadline. When the deadline
  passes while the server was still sending, the call fails at once (not retried); when
  nothing came at all (a hung server), it is retried like a dropped connection;
- counts ``max_bytes`` on the body as decompressed: gzip and deflate are undone piece by
  piece and the read stops as soon as the output passes ``max_bytes`` (a small gzip body that
  expands to gigabytes is refused holding at most about ``max_bytes``);
- follows a redirect only within ``base_url``'s host (same scheme and port, or http → https),
  at most :data:`MAX_REDIRECTS` of them; a redirect to another host, port or scheme is refused
  with a sentence naming both hosts;
- retries with exponential backoff on 5xx answers, timeouts, refused or dropped connections
  and bodies cut short, and on 429 waits as long as ``Retry-After`` says (seconds or an HTTP
  date); it never waits longer than ``max_wait_s`` in one go and says so instead;
- logs every retry and wait with the reason.

Settings are passed in (:class:`ClientSettings`); nothing here reads the environment or a
global. What a source does with a body (saving it under ``data/raw/`` before parsing it) is
up to the source; :func:`write_atomic` is the helper it uses so that a crash never leaves a
half-written file under a name the ingest reads.
"""

from __future__ import annotations

import functools
import http.client
import io
import ipaddress
import logging
import math
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from trygghetskarta._throttle import (
    CallLog,
    backoff_delay,
    next_call_wait,
    parse_retry_after,
    write_atomic,
)
from trygghetskarta.errors import ConfigError, SourceError, TrygghetskartaWarning

log = logging.getLogger(__name__)

#: Shown in the User-Agent until the user sets ``contact``; a warning says so (once per host
#: under Python's default warning filter).
CONTACT_PLACEHOLDER = "https://example.invalid/set-contact-in-trygghetskarta.toml"
_READ_CHUNK = 64 * 1024
#: Redirects followed in one request (only within base_url's host; see :func:`_redirect_problem`).
MAX_REDIRECTS = 5
#: Largest piece asked of the decompressor at once (what it holds beyond the body).
_INFLATE_PIECE = 1 << 20


def _version() -> str:
    try:
        return metadata.version("trygghetskarta")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "dev"


class HttpError(SourceError):
    """A request failed for good: retries exhausted, a non-retryable status, or a limit.

    Attributes
    ----------
    url
        The URL requested.
    status
        The last HTTP status, or None when no answer came (timeout, connection error).
    response
        The last response received, if any (its body is kept for the caller to save).
    attempts
        How many requests were sent.
    """

    def __init__(
        self,
        message: str,
        *,
        url: str,
        status: int | None = None,
        response: Response | None = None,
        attempts: int = 0,
    ) -> None:
        super().__init__(message)
        self.url = url
        self.status = status
        self.response = response
        self.attempts = attempts


class RateLimitError(HttpError):
    """The next call would have to wait longer than ``max_wait_s``."""


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class ClientSettings:
    """How to talk to one server.

    Attributes
    ----------
    base_url
        Scheme and host (and optional port/path prefix), e.g. ``"https://polisen.se"``.
    contact
        A URL or e-mail address the server's operator can reach you at; goes into the
        User-Agent. Set it in ``trygghetskarta.toml``.
    user_agent
        The whole User-Agent string, overriding the one built from the project and contact.
    timeout_s
        Seconds allowed for one request as a whole: connecting, the headers, any redirects
        and the whole body, from the moment it starts.
    min_interval_s
        Seconds between the start of two calls to the same host; 0 only for local tests.
    max_per_hour
        Calls allowed to the same host in any 3600 s (every attempt counts).
    max_attempts
        Requests per :meth:`HttpClient.get`, the first included.
    backoff_s, backoff_max_s
        Wait before retry *k* is ``backoff_s * 2 ** (k - 1)``, at most ``backoff_max_s``
        (a 429's ``Retry-After`` replaces it).
    max_wait_s
        Longest single wait accepted (rate limit or ``Retry-After``); beyond it the call
        fails with :class:`RateLimitError` saying when to run again.
    max_bytes
        Largest body accepted, counted after gzip/deflate is undone (and on the wire).
    """

    base_url: str
    contact: str = CONTACT_PLACEHOLDER
    user_agent: str | None = None
    timeout_s: float = 30.0
    min_interval_s: float = 10.0
    max_per_hour: int = 60
    max_attempts: int = 4
    backoff_s: float = 10.0
    backoff_max_s: float = 300.0
    max_wait_s: float = 900.0
    max_bytes: int = 50_000_000

    def __post_init__(self) -> None:
        parts = urllib.parse.urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(
                f"base_url must be an http(s) URL like 'https://polisen.se', got "
                f"{self.base_url!r} — fix base_url"
            )
        positive = ("timeout_s", "max_per_hour", "max_attempts", "max_bytes")
        for name in positive:
            value = getattr(self, name)
            if not value > 0 or (isinstance(value, float) and not math.isfinite(value)):
                raise ConfigError(f"{name} must be > 0, got {value!r} — fix {name}")
        for name in ("min_interval_s", "backoff_s", "backoff_max_s", "max_wait_s"):
            value = getattr(self, name)
            if not value >= 0 or not math.isfinite(value):
                raise ConfigError(f"{name} must be ≥ 0 seconds, got {value!r} — fix {name}")
        if not str(self.contact).strip() and not self.user_agent:
            raise ConfigError("contact must not be empty — set a URL or e-mail address")

    @property
    def agent(self) -> str:
        """The User-Agent sent: ``trygghetskarta/<version> (+<contact>)`` unless overridden."""
        if self.user_agent:
            return self.user_agent
        return f"trygghetskarta/{_version()} (+{self.contact.strip()})"

    @property
    def host(self) -> str:
        """``host[:port]`` of :attr:`base_url`, lower case: the unit the limits apply to."""
        return urllib.parse.urlsplit(self.base_url).netloc.lower()

    @classmethod
    def from_mapping(
        cls, values: Mapping[str, Any], *, origin: str, **defaults: Any
    ) -> ClientSettings:
        """Build settings from a toml section or environment values.

        Parameters
        ----------
        values
            Keys named like the attributes; strings are converted (environment variables).
            Keys not in this class are ignored here so a section can hold other keys too.
        origin
            Where the values came from, for the error message (``"trygghetskarta.toml
            [polisen]"``).
        **defaults
            Values used when ``values`` lacks the key (e.g. a source's ``base_url``).

        Raises
        ------
        ConfigError
            A value has the wrong type or is out of range.
        """
        kinds = {f.name: f.type for f in fields(cls)}
        chosen: dict[str, Any] = dict(defaults)
        for key, value in values.items():
            if key in kinds:
                chosen[key] = value
        out: dict[str, Any] = {}
        for key, value in chosen.items():
            kind = str(kinds[key])
            try:
                if value is None:
                    out[key] = None
                elif kind.startswith("int"):
                    if isinstance(value, float) and not value.is_integer():
                        raise ValueError(value)
                    out[key] = int(value)
                elif kind.startswith("float"):
                    out[key] = float(value)
                else:
                    out[key] = str(value)
            except (TypeError, ValueError) as e:
                raise ConfigError(
                    f"setting {key!r} from {origin} must be {kind.split(' ')[0]}, got "
                    f"{value!r} — fix {origin}"
                ) from e
        try:
            return cls(**out)
        except ConfigError as e:
            raise ConfigError(f"{e} (from {origin})") from e
        except TypeError as e:
            raise ConfigError(f"{origin}: {e} — set base_url") from e


def _is_loopback(host: str) -> bool:
    name = urllib.parse.urlsplit(f"//{host}").hostname or ""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


# --------------------------------------------------------------------------- one deadline


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


# --------------------------------------------------------------------------- redirects


def _origin(url: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of a URL, the port filled in from the scheme."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme, 0)
    return scheme, (parts.hostname or "").lower(), port


def _server(origin: tuple[str, str, int]) -> str:
    scheme, host, port = origin
    default = {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{host}" + ("" if port == default else f":{port}")


def _redirect_problem(old_url: str, new_url: str) -> str | None:
    """Why a redirect from ``old_url`` to ``new_url`` may not be followed, or None.

    Allowed: the same scheme, host and port, or http → https on the same host with the
    default ports. Refused: another host (``127.0.0.1`` and ``localhost`` are two hosts),
    another port, https → http, any other scheme.
    """
    old, new = _origin(old_url), _origin(new_url)
    if new == old:
        return None
    if new[1] == old[1] and (old[0], old[2], new[0], new[2]) == ("http", 80, "https", 443):
        return None
    if new[1] != old[1]:
        return "another host"
    if old[0] == "https" and new[0] != "https":
        return "an unencrypted address"
    return "another port or scheme"


class _SameHostRedirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only within the requested URL's host, at most ``MAX_REDIRECTS``.

    The body of a redirect is never read (the base class would read it whole, unbounded).
    The sentences it raises name hosts as :func:`urllib.parse.urlsplit` reads them, never
    the raw ``Location``, so no text chosen by the server reaches the terminal's markup.
    """

    max_redirections = MAX_REDIRECTS
    max_repeats = MAX_REDIRECTS + 1  # so a loop meets the count below, not the base class's

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        fp.close()
        first = getattr(req, "first_url", req.full_url)
        hops = sum(getattr(req, "redirect_dict", {}).values()) + 1
        try:
            problem = _redirect_problem(req.full_url, newurl)
            old, new = _server(_origin(req.full_url)), _server(_origin(newurl))
        except ValueError as e:  # a Location with an unreadable host or port
            raise HttpError(
                f"GET {first} answered {code} with a redirect to an address that is not a "
                "valid URL; refused — check base_url",
                url=first,
                status=code,
            ) from e
        if problem is not None:
            raise HttpError(
                f"GET {first} answered {code} with a redirect to {problem}, {new} instead of "
                f"{old}; refused, the client only follows redirects within base_url's host — "
                f"if {new} is the right server, set base_url (--base-url) to it",
                url=first,
                status=code,
            )
        if hops > MAX_REDIRECTS:
            raise HttpError(
                f"GET {first} was redirected more than {MAX_REDIRECTS} times, all within "
                f"{old}; refused — set base_url to the address that answers",
                url=first,
                status=code,
            )
        new_request = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new_request is not None:
            new_request.first_url = first  # type: ignore[attr-defined]
        return new_request

    def http_error_302(
        self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any
    ) -> Any:
        try:
            return super().http_error_302(req, fp, code, msg, headers)
        except ValueError as e:  # the Location could not be parsed at all
            fp.close()
            url = getattr(req, "first_url", req.full_url)
            raise HttpError(
                f"GET {url} answered {code} with a redirect to an address that is not a "
                "valid URL; refused — check base_url",
                url=url,
                status=code,
            ) from e

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


# --------------------------------------------------------------------------- bodies


class _Inflater:
    """Undo gzip or deflate piece by piece, never producing more than asked for.

    Parameters
    ----------
    encoding
        ``"gzip"``/``"x-gzip"`` (several members allowed, zero padding after a member
        ignored, as :mod:`gzip` does) or ``"deflate"`` (one zlib stream).
    """

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._gzip = encoding in ("gzip", "x-gzip")
        self._wbits = 16 + zlib.MAX_WBITS if self._gzip else zlib.MAX_WBITS
        self._obj: Any = None  # the current member's decompressor; None between members
        self._members = 0
        self._tail = b""

    def feed(self, data: bytes, room: int) -> Iterator[bytes]:
        """Decompress the next piece of the body, yielding at most ``_INFLATE_PIECE`` at once.

        Stops once ``room`` (≥ 1) bytes have come out: the caller, which asks for one byte
        more than it accepts and stores each piece before asking for the next, refuses the
        body then, having held little more than it accepts.

        Raises
        ------
        zlib.error
            The data is not gzip/deflate, or something follows the end of a deflate stream.
        """
        produced = 0
        while produced < room:
            if self._obj is None:
                self._tail += data
                data = self._tail.lstrip(b"\0") if self._members else self._tail
                self._tail = b""
                if not data:
                    break
                if self._members and not self._gzip:
                    raise zlib.error("data after the end of the deflate stream")
                self._obj = zlib.decompressobj(self._wbits)
                self._members += 1
            limit = min(_INFLATE_PIECE, room - produced)
            piece = self._obj.decompress(data, limit)
            if piece:
                produced += len(piece)
                yield piece
            if self._obj.eof:
                data, self._obj = self._obj.unused_data, None
            else:
                data = self._obj.unconsumed_tail
                if not data and len(piece) < limit:  # all in, all out
                    break

    def finish(self) -> None:
        """Check the stream ended properly (not cut short); an empty body is fine."""
        if self._obj is not None:
            raise EOFError(f"the {self.encoding} stream ended before its end marker")


# --------------------------------------------------------------------------- responses


@dataclass(frozen=True)
class Response:
    """One HTTP answer, body read in full (decompressed when gzip/deflate)."""

    url: str
    status: int
    reason: str
    headers: dict[str, str]
    body: bytes
    fetched_at: datetime
    elapsed_s: float
    attempts: int

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower case (``"application/json"``)."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def describe(self) -> dict[str, Any]:
        """What to keep beside a saved body: URL, status, headers, times, attempts."""
        return {
            "url": self.url,
            "status": self.status,
            "reason": self.reason,
            "headers": self.headers,
            "fetched_at": self.fetched_at.isoformat(),
            "elapsed_s": round(self.elapsed_s, 3),
            "attempts": self.attempts,
            "bytes": len(self.body),
        }


class _TransientError(Exception):
    """A failure worth retrying (timeout, connection dropped, body cut short)."""


# --------------------------------------------------------------------------- the client


class HttpClient:
    """A throttled, retrying GET client for one host.

    Parameters
    ----------
    settings
        Limits, timeouts and identity (:class:`ClientSettings`).
    state_dir
        Where the log of call times is kept so the limits hold across processes
        (``<state_dir>/<host>.calls.json``); None keeps it in memory (tests).
    clock, sleep
        Wall clock (epoch seconds) and sleep function; tests pass fakes.
    """

    def __init__(
        self,
        settings: ClientSettings,
        *,
        state_dir: Path | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._sleep = sleep
        self._not_before = 0.0
        self._calls = CallLog(settings.host, state_dir=state_dir, clock=clock)
        handlers: list[urllib.request.BaseHandler] = []
        if _is_loopback(settings.host):  # a proxy cannot reach our loopback anyway
            handlers.append(urllib.request.ProxyHandler({}))
        self._handlers = tuple(handlers)
        placeholder = settings.contact == CONTACT_PLACEHOLDER and not settings.user_agent
        remote = not _is_loopback(settings.host)
        if placeholder and remote:
            warnings.warn(
                f"no contact set for {settings.host}: the User-Agent says {settings.agent!r} — "
                "set contact = '<your URL or e-mail>' in trygghetskarta.toml so the operator "
                "can reach you",
                TrygghetskartaWarning,
                stacklevel=1,
            )

    # ------------------------------------------------------------------ public

    def url(self, path: str, params: Mapping[str, str] | None = None) -> str:
        """The full URL for ``path`` under ``base_url`` with ``params`` (``;`` kept as is)."""
        base = self.settings.base_url.rstrip("/")
        url = f"{base}/{path.lstrip('/')}"
        if params:
            query = urllib.parse.urlencode(
                {k: v for k, v in params.items() if v is not None},
                quote_via=urllib.parse.quote,
                safe=";",
            )
            if query:
                url = f"{url}?{query}"
        return url

    def get(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        accept: str = "application/json",
    ) -> Response:
        """GET ``path`` with retries; return the first 2xx response.

        Raises
        ------
        HttpError
            A 4xx other than 429, a body over ``max_bytes``, an answer still arriving when
            ``timeout_s`` ran out, or a redirect off the host (none of these retried); or
            every attempt failed. ``.response`` holds the last answer, if any.
        RateLimitError
            The limits or a ``Retry-After`` would need a wait longer than ``max_wait_s``.
        """
        s = self.settings
        url = self.url(path, params)
        last: Response | None = None
        problem = "no attempt made"
        for attempt in range(1, s.max_attempts + 1):
            self._wait_turn(url, attempt)
            retry_after: float | None = None
            try:
                response = self._once(url, accept, attempt)
            except _TransientError as e:
                problem = str(e)
            else:
                last = response
                if 200 <= response.status < 300:
                    log.info(
                        "GET %s → %d, %d bytes in %.2f s (attempt %d)",
                        url,
                        response.status,
                        len(response.body),
                        response.elapsed_s,
                        attempt,
                    )
                    return response
                problem = f"HTTP {response.status} {response.reason}".strip()
                if response.status != 429 and not 500 <= response.status < 600:
                    log.error("GET %s → %s; not retrying", url, problem)
                    raise HttpError(
                        f"GET {url} answered {problem}, expected 200 — check base_url "
                        f"({s.base_url}) and the query parameters",
                        url=url,
                        status=response.status,
                        response=response,
                        attempts=attempt,
                    )
                retry_after = parse_retry_after(
                    response.headers.get("retry-after"), now=self._clock()
                )
            if attempt == s.max_attempts:
                break
            if retry_after is not None:
                delay, why = retry_after, f"Retry-After {retry_after:g} s"
            else:
                delay = backoff_delay(attempt, s.backoff_s, s.backoff_max_s)
                why = "backoff"
            if delay > s.max_wait_s:
                until = datetime.fromtimestamp(self._clock() + delay, UTC).astimezone()
                log.error("GET %s: %s asks for %.0f s; giving up", url, problem, delay)
                raise RateLimitError(
                    f"GET {url} answered {problem} and asks to wait {delay:.0f} s "
                    f"(until {until:%Y-%m-%d %H:%M:%S %Z}), longer than max_wait_s = "
                    f"{s.max_wait_s:g} — run again after that time",
                    url=url,
                    status=last.status if last else None,
                    response=last,
                    attempts=attempt,
                )
            log.warning(
                "GET %s: %s (attempt %d of %d); retrying in %.1f s (%s)",
                url,
                problem,
                attempt,
                s.max_attempts,
                delay,
                why,
            )
            self._not_before = max(self._not_before, self._clock() + delay)
        log.error("GET %s failed %d times; last: %s", url, s.max_attempts, problem)
        raise HttpError(
            f"GET {url} failed {s.max_attempts} times, the last with {problem} — the server "
            "may be down or overloaded; run again later (timeout_s, max_attempts and "
            "backoff_s are configurable)",
            url=url,
            status=last.status if last and problem.startswith("HTTP") else None,
            response=last,
            attempts=s.max_attempts,
        )

    # ------------------------------------------------------------------ internals

    def _opener(self, deadline: _Deadline) -> urllib.request.OpenerDirector:
        """An opener whose connections, responses and redirects all keep to ``deadline``."""
        return urllib.request.build_opener(
            *self._handlers,
            _DeadlineHTTPHandler(deadline),
            _DeadlineHTTPSHandler(deadline),
            _SameHostRedirects(),
        )

    def _once(self, url: str, accept: str, attempt: int) -> Response:
        s = self.settings
        request = urllib.request.Request(
            url,
            headers={
                "User-Agent": s.agent,
                "Accept": accept,
                "Accept-Encoding": "gzip, deflate",
            },
        )
        started = time.monotonic()
        deadline = _Deadline(s.timeout_s)
        fetched_at = datetime.fromtimestamp(self._clock(), UTC)
        try:
            try:
                handle = self._opener(deadline).open(request, timeout=s.timeout_s)
            except urllib.error.HTTPError as e:  # a status ≥ 400 still has a body
                handle = e
            with handle:
                status = getattr(handle, "status", None) or handle.code
                reason = str(getattr(handle, "reason", "") or "")
                headers = {k.lower(): v for k, v in (handle.headers or {}).items()}
                has_body = getattr(handle, "fp", True) is not None
                body = self._read(handle, headers, url, deadline) if has_body else b""
                final_url = handle.geturl() or url
        except HttpError:
            raise
        except ssl.SSLCertVerificationError as e:
            raise HttpError(
                f"GET {url}: the TLS certificate could not be verified ({e.verify_message}) "
                "— check the system's CA certificates or the proxy",
                url=url,
                attempts=attempt,
            ) from e
        except urllib.error.URLError as e:
            if isinstance(e.reason, ssl.SSLCertVerificationError):
                raise HttpError(
                    f"GET {url}: the TLS certificate could not be verified ({e.reason}) — "
                    "check the system's CA certificates or the proxy",
                    url=url,
                    attempts=attempt,
                ) from e
            if isinstance(e.reason, TimeoutError):
                raise self._timed_out(url, deadline, "while connecting", attempt) from e
            raise _TransientError(f"connection failed ({e.reason})") from e
        except TimeoutError as e:
            raise self._timed_out(url, deadline, "waiting for the answer", attempt) from e
        except (http.client.HTTPException, ConnectionError) as e:
            name = type(e).__name__
            raise _TransientError(f"connection dropped ({name}: {e})") from e
        except OSError as e:
            raise _TransientError(f"connection failed ({e})") from e
        return Response(
            url=final_url,
            status=int(status),
            reason=reason,
            headers=headers,
            body=body,
            fetched_at=fetched_at,
            elapsed_s=time.monotonic() - started,
            attempts=attempt,
        )

    def _timed_out(
        self, url: str, deadline: _Deadline, waiting: str, attempt: int
    ) -> HttpError | _TransientError:
        """The deadline passed: retry a silent server, give up on one that sends too slowly.

        A server that sent nothing at all may be briefly hung (retried like a dropped
        connection); one that was still sending when the deadline passed is trickling, and
        asking again would only cost another ``timeout_s`` each time.
        """
        s = self.settings
        if not deadline.received:
            return _TransientError(f"timed out after {s.timeout_s:g} s {waiting}")
        log.error(
            "GET %s: %d bytes came in %g s, the answer still incomplete; not retrying",
            url,
            deadline.received,
            s.timeout_s,
        )
        return HttpError(
            f"GET {url} did not send its whole answer within timeout_s = {s.timeout_s:g} s "
            f"(only {deadline.received:,} bytes came, so the server sends too slowly) — run "
            "again later, or raise timeout_s (--timeout) if the connection is slow",
            url=url,
            attempts=attempt,
        )

    def _read(
        self, handle: Any, headers: Mapping[str, str], url: str, deadline: _Deadline
    ) -> bytes:
        """Read the whole body before ``deadline``, at most ``max_bytes`` once decompressed.

        gzip and deflate are undone as the body arrives, asking the decompressor for no more
        than one byte over what is still allowed, so a small body that expands enormously is
        refused having produced just over ``max_bytes``; the bytes on the wire are held to
        ``max_bytes`` too. The length received is checked against ``Content-Length``.
        """
        s = self.settings
        encoding = headers.get("content-encoding", "").strip().lower()
        inflater = _Inflater(encoding) if encoding in ("gzip", "x-gzip", "deflate") else None
        body = io.BytesIO()  # grows in place; getvalue() hands over its buffer without a copy
        wire = size = 0
        try:
            while True:
                deadline.remaining()
                chunk = handle.read(_READ_CHUNK)
                if not chunk:
                    break
                wire += len(chunk)
                if wire > s.max_bytes:
                    raise self._too_large(url, "")
                if inflater is None:
                    pieces: Iterable[bytes] = (chunk,)
                else:
                    pieces = inflater.feed(chunk, s.max_bytes - size + 1)
                for piece in pieces:
                    size += len(piece)
                    if size > s.max_bytes:
                        raise self._too_large(url, encoding)
                    body.write(piece)
            if inflater is not None:
                inflater.finish()
        except (EOFError, zlib.error) as e:
            raise _TransientError(f"the {encoding} body is cut short or corrupt ({e})") from e
        expected = headers.get("content-length")
        if expected and expected.isdigit() and int(expected) != wire:
            raise _TransientError(f"connection closed after {wire} of {int(expected)} bytes")
        return body.getvalue()

    def _too_large(self, url: str, encoding: str) -> HttpError:
        s = self.settings
        how = f" once its {encoding} is undone" if encoding else ""
        log.error("GET %s: the body passed max_bytes = %d%s; not retrying", url, s.max_bytes, how)
        return HttpError(
            f"GET {url}: the body is larger than max_bytes = {s.max_bytes:,}{how}, so it was "
            "refused and nothing of it kept — check base_url, or raise max_bytes if the answer "
            "is right",
            url=url,
        )

    def _wait_turn(self, url: str, attempt: int) -> None:
        """Sleep until a call is allowed, then record it (across processes)."""
        s = self.settings
        with self._calls.session() as calls:
            now = self._clock()
            why, wait = next_call_wait(
                calls,
                now,
                min_interval_s=s.min_interval_s,
                max_per_hour=s.max_per_hour,
                not_before=self._not_before,
            )
            if wait > s.max_wait_s:
                until = datetime.fromtimestamp(now + wait, UTC).astimezone()
                raise RateLimitError(
                    f"the next call to {s.host} is allowed at {until:%Y-%m-%d %H:%M:%S %Z} "
                    f"({why}: {s.min_interval_s:g} s apart, at most {s.max_per_hour} per "
                    f"hour), {wait:.0f} s from now, longer than max_wait_s = "
                    f"{s.max_wait_s:g} — run again after that time",
                    url=url,
                    attempts=attempt - 1,
                )
            if wait > 0:
                level = logging.INFO if why != "retry" else logging.DEBUG
                log.log(level, "waiting %.1f s before calling %s (%s)", wait, s.host, why)
                self._sleep(wait)
            calls.append(self._clock())


__all__ = [
    "CONTACT_PLACEHOLDER",
    "ClientSettings",
    "HttpClient",
    "HttpError",
    "RateLimitError",
    "Response",
    "backoff_delay",
    "parse_retry_after",
    "write_atomic",
]
