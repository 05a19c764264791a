"""The only code that talks to the network: one throttled, retrying GET helper.

Every call goes through :meth:`HttpClient.get`, which

- sends a User-Agent naming the project, its version and a contact the user sets;
- keeps to the server's published limits: at least ``min_interval_s`` between two calls and
  at most ``max_per_hour`` calls in any hour, counted across processes through a small log
  of call times on disk (``<state_dir>/<host>.calls.json``, guarded by a file lock where the
  platform has one), so two commands run back to back do not exceed them either;
- gives up on a connection or a read after ``timeout_s`` (each socket operation, and the
  whole body);
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

import gzip
import http.client
import ipaddress
import logging
import math
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Callable, Mapping
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
from trygghetskarta.errors import ConfigError, SourceError

log = logging.getLogger(__name__)

#: Shown in the User-Agent until the user sets ``contact``; a warning says so once per host.
CONTACT_PLACEHOLDER = "https://example.invalid/set-contact-in-trygghetskarta.toml"
_READ_CHUNK = 64 * 1024
_WARNED_PLACEHOLDER: set[str] = set()


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
        Seconds allowed for connecting, for each read, and for reading the whole body.
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
        Largest body accepted.
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
        self._opener = urllib.request.build_opener(*handlers)
        placeholder = settings.contact == CONTACT_PLACEHOLDER and not settings.user_agent
        remote = not _is_loopback(settings.host)
        if placeholder and remote and settings.host not in _WARNED_PLACEHOLDER:
            _WARNED_PLACEHOLDER.add(settings.host)
            log.warning(
                "no contact set for %s: the User-Agent says %r — set contact = "
                "'<your URL or e-mail>' in trygghetskarta.toml so the operator can reach you",
                settings.host,
                settings.agent,
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
            A 4xx other than 429 (no retry), or every attempt failed; ``.response`` holds
            the last answer, if any.
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
        fetched_at = datetime.fromtimestamp(self._clock(), UTC)
        try:
            try:
                handle = self._opener.open(request, timeout=s.timeout_s)
            except urllib.error.HTTPError as e:  # a status ≥ 400 still has a body
                handle = e
            with handle:
                status = getattr(handle, "status", None) or handle.code
                reason = str(getattr(handle, "reason", "") or "")
                headers = {k.lower(): v for k, v in (handle.headers or {}).items()}
                has_body = getattr(handle, "fp", True) is not None
                body = self._read(handle, headers, url, started) if has_body else b""
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
                raise _TransientError(f"timed out after {s.timeout_s:g} s while connecting") from e
            raise _TransientError(f"connection failed ({e.reason})") from e
        except TimeoutError as e:
            waited = f"timed out after {s.timeout_s:g} s waiting for the answer"
            raise _TransientError(waited) from e
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

    def _read(self, handle: Any, headers: Mapping[str, str], url: str, started: float) -> bytes:
        """Read the whole body within ``timeout_s`` and ``max_bytes``; check its length."""
        s = self.settings
        deadline = started + s.timeout_s
        chunks: list[bytes] = []
        size = 0
        while True:
            chunk = handle.read(_READ_CHUNK)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > s.max_bytes:
                raise HttpError(
                    f"GET {url}: the body is larger than max_bytes = {s.max_bytes:,} — "
                    "check base_url, or raise max_bytes if the answer is right",
                    url=url,
                )
            if time.monotonic() > deadline:
                raise TimeoutError(f"body not read within {s.timeout_s:g} s")
        body = b"".join(chunks)
        expected = headers.get("content-length")
        if expected and expected.isdigit() and int(expected) != size:
            raise _TransientError(f"connection closed after {size} of {int(expected)} bytes")
        encoding = headers.get("content-encoding", "").strip().lower()
        try:
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "deflate":
                body = zlib.decompress(body)
        except (OSError, EOFError, zlib.error) as e:
            raise _TransientError(f"the {encoding} body is cut short or corrupt ({e})") from e
        return body

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
