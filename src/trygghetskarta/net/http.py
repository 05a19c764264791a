"""The client: :class:`HttpClient` and the :class:`Response` it returns.

Part of :mod:`trygghetskarta.net`, whose docstring says what every call does.
"""

from __future__ import annotations

import http.client
import io
import logging
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from trygghetskarta.errors import TrygghetskartaWarning
from trygghetskarta.net.deadline import _Deadline, _DeadlineHTTPHandler, _DeadlineHTTPSHandler
from trygghetskarta.net.errors import HttpError, RateLimitError
from trygghetskarta.net.inflate import _Inflater
from trygghetskarta.net.redirects import _SameHostRedirects
from trygghetskarta.net.settings import CONTACT_PLACEHOLDER, ClientSettings, _is_loopback
from trygghetskarta.net.throttle import (
    CallLog,
    backoff_delay,
    next_call_wait,
    parse_retry_after,
)

log = logging.getLogger(__name__)

_READ_CHUNK = 64 * 1024


# --------------------------------------------------------------------------- settings


# --------------------------------------------------------------------------- one deadline


# --------------------------------------------------------------------------- redirects


# --------------------------------------------------------------------------- bodies


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
        if placeholder and remote:  # once per host under Python's default warning filter
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
        wait_for_budget: bool = True,
    ) -> Response:
        """GET ``path`` with retries; return the first 2xx response.

        With ``wait_for_budget=False`` a call for which ``max_per_hour`` is spent is not
        waited for: :class:`RateLimitError` at once (the caller leaves it for a later run).

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
            self._wait_turn(url, attempt, wait_for_budget=wait_for_budget)
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

    def _wait_turn(self, url: str, attempt: int, *, wait_for_budget: bool = True) -> None:
        """Sleep until a call is allowed, then record it (across processes)."""
        s = self.settings
        with self._calls.session() as calls:
            now = self._clock()
            if not wait_for_budget and len(calls) >= s.max_per_hour:
                again = datetime.fromtimestamp(calls[-s.max_per_hour] + 3600.0, UTC).astimezone()
                raise RateLimitError(
                    f"the hourly limit of {s.host} is spent ({s.max_per_hour} calls in the "
                    f"last hour; the next at {again:%Y-%m-%d %H:%M:%S %Z}) — run again after "
                    "that time",
                    url=url,
                    attempts=attempt - 1,
                )
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
