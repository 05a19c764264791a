"""When a call may go out: backoff, ``Retry-After``, rate limits and the call log on disk.

No network here; :mod:`trygghetskarta.net.http` uses these. The limits count calls per host
over the last hour, kept in ``<state_dir>/<host>.calls.json`` so that they hold across
processes (a file lock serialises them where the platform has ``fcntl``).
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import logging
import os
import re
import secrets
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC
from pathlib import Path

try:  # POSIX: serialise the call log between processes
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

HOUR_S = 3600.0


def backoff_delay(attempt: int, base_s: float, cap_s: float) -> float:
    """Seconds to wait before retry number ``attempt`` (1 = the first retry).

    >>> [backoff_delay(k, 10.0, 60.0) for k in (1, 2, 3, 4)]
    [10.0, 20.0, 40.0, 60.0]
    """
    if attempt < 1:
        raise ValueError(f"attempt counts from 1, got {attempt}")
    return float(min(cap_s, base_s * 2.0 ** (attempt - 1)))


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Read a ``Retry-After`` header: delay in seconds from ``now`` (epoch seconds).

    Parameters
    ----------
    value
        ``"120"`` (seconds) or an HTTP date ``"Wed, 21 Oct 2015 07:28:00 GMT"``.
    now
        The current time, seconds since the epoch.

    Returns
    -------
    float or None
        Seconds to wait (0 for a date in the past), None when absent or unreadable.

    >>> parse_retry_after("7", now=0.0)
    7.0
    >>> parse_retry_after("Thu, 01 Jan 1970 00:01:00 GMT", now=0.0)
    60.0
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


def write_atomic(path: Path | str, data: bytes | Callable[[Path], object]) -> Path:
    """Write ``path`` so that it is either absent or complete, never partial.

    This is the project's one atomic write: the saved API answers, the throttle's state
    file and (through :mod:`trygghetskarta.pipeline.outputs`) every raster, table and manifest. It
    lives here, in the lowest layer that writes, because the network layer cannot import
    the layers above it.

    Parameters
    ----------
    path
        The file to create or replace; its folder is created when missing.
    data
        The bytes to write, or a function that writes the file at the path it is given
        (for writers that need a path, such as rasterio or pyarrow).

    Returns
    -------
    pathlib.Path
        ``path``.

    Notes
    -----
    The content goes to a hidden temporary file in the same directory
    (``.<name>.<pid>.<random>.tmp``, which no ingest glob matches), is flushed to disk,
    then renamed over ``path``; the folder is flushed too, so the rename itself survives a
    crash. On any error the temporary file is removed and the error raised unchanged.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        if callable(data):
            data(tmp)
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        else:
            with open(tmp, "xb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable (POSIX)
        fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return path


def next_call_wait(
    calls: Sequence[float],
    now: float,
    *,
    min_interval_s: float,
    max_per_hour: int,
    not_before: float = 0.0,
) -> tuple[str, float]:
    """How long to wait before the next call, and which limit says so.

    Parameters
    ----------
    calls
        Start times (epoch seconds, oldest first) of the calls of the last hour.
    now
        The current time.
    min_interval_s, max_per_hour
        The limits: seconds between two calls, calls in any 3600 s.
    not_before
        A time before which no call may go (a ``Retry-After`` or backoff).

    Returns
    -------
    tuple of (str, float)
        The binding limit (``"min_interval_s"``, ``"max_per_hour"`` or ``"retry"``) and
        the seconds to wait (≤ 0: go now).

    >>> next_call_wait([0.0], 4.0, min_interval_s=10, max_per_hour=60)
    ('min_interval_s', 6.0)
    >>> next_call_wait([0.0, 100.0], 200.0, min_interval_s=10, max_per_hour=2)
    ('max_per_hour', 3400.0)
    """
    waits = {"retry": not_before - now}
    if calls:
        waits["min_interval_s"] = calls[-1] + min_interval_s - now
    if len(calls) >= max_per_hour:
        waits["max_per_hour"] = calls[-max_per_hour] + HOUR_S - now
    return max(waits.items(), key=lambda kv: kv[1])


class CallLog:
    """Start times of the calls to one host in the last hour.

    Parameters
    ----------
    host
        ``host[:port]``; names the file.
    state_dir
        Directory of ``<host>.calls.json``; None keeps the log in memory only.
    clock
        Wall clock, epoch seconds.
    """

    def __init__(self, host: str, *, state_dir: Path | None, clock: Callable[[], float]) -> None:
        self.host = host
        self._clock = clock
        self._memory: list[float] = []
        safe = re.sub(r"[^A-Za-z0-9.-]", "_", host)
        self.path = Path(state_dir) / f"{safe}.calls.json" if state_dir else None

    @contextlib.contextmanager
    def session(self) -> Iterator[list[float]]:
        """Yield the calls of the last hour (oldest first) under a lock; append to record one.

        The list is saved when the block ends without an error, so a call refused inside
        the block is not counted.
        """
        if self.path is None:
            self._memory = self._prune(self._memory)
            yield self._memory
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a+b") as lock:
            if fcntl is not None:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                calls = self._prune(self._load())
                yield calls
                payload = {"host": self.host, "calls": calls}
                write_atomic(self.path, json.dumps(payload).encode("utf-8"))
            finally:
                if fcntl is not None:
                    fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def _load(self) -> list[float]:
        assert self.path is not None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            calls = [float(t) for t in data["calls"]]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError) as e:
            log.warning("the call log %s is unreadable (%s); starting a new one", self.path, e)
            return []
        return calls

    def _prune(self, calls: list[float]) -> list[float]:
        now = self._clock()
        future = [t for t in calls if t > now + 1.0]
        if future:
            log.warning(
                "%d recorded calls to %s lie in the future (clock changed?); ignoring them",
                len(future),
                self.host,
            )
        return sorted(t for t in calls if now - HOUR_S < t <= now + 1.0)
