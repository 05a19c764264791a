"""One run at a time: an OS file lock on ``.work/run.lock`` beside the database.

Every command that writes the database or the outputs (``run`` and each step, ``fetch``,
``gazetteer load``, ``raw compress``) holds the lock while it works. A second one does not
wait: it stops at once with one sentence naming the run that holds the lock (its pid, when
it started, its command), which the holder writes into the lock file.

The lock is :func:`fcntl.flock` on the open file, so the kernel releases it when the holder
ends in any way — a crash, ``kill -9``, a power cut — and a killed run never leaves a
stale lock behind; the file's text is only a description. The descriptor is not inherited
by child processes (Python opens it close-on-exec), so a browser started by a run cannot
keep the lock after the run ends.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from trygghetskarta.errors import RunLockedError, environment_error
from trygghetskarta.pipeline.steps import now

try:  # POSIX; on other platforms runs are not serialised
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

#: How long a run waits for the lock before it gives up. Only a ``status`` that is
#: reading the lock file can hold it that briefly; a run holds it for minutes.
WAIT_S = 0.5


@dataclass(frozen=True)
class RunHolder:
    """The run that holds the lock, as it described itself in the lock file."""

    pid: int | None
    started_at: str | None
    command: str | None
    host: str | None = None

    def describe(self) -> str:
        """``pid 4711, started 2026-12-03T02:15:00+01:00, `trygghetskarta run```."""
        if self.pid is None:
            return "a process that has not yet written its details"
        parts = [f"pid {self.pid}"]
        if self.host and self.host != socket.gethostname():
            parts[0] += f" on {self.host}"
        if self.started_at:
            parts.append(f"started {self.started_at}")
        if self.command:
            parts.append(f"`trygghetskarta {self.command}`")
        return ", ".join(parts)

    def alive(self) -> bool | None:
        """Whether the holder's process still exists (None: on another host, or unknown)."""
        if self.pid is None or (self.host and self.host != socket.gethostname()):
            return None
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def _read_holder(fd: int) -> RunHolder:
    try:
        text = os.pread(fd, 4096, 0).decode("utf-8")
        body = json.loads(text) if text.strip() else {}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        body = {}
    if not isinstance(body, dict):
        body = {}
    pid = body.get("pid")
    return RunHolder(
        pid=pid if isinstance(pid, int) else None,
        started_at=body.get("started_at"),
        command=body.get("command"),
        host=body.get("host"),
    )


def _refusal(path: Path, holder: RunHolder) -> RunLockedError:
    if holder.alive() is False:
        return RunLockedError(
            f"the run lock {path} is held although the run that took it ({holder.describe()}) "
            f"has ended — a process it started still has the file open: find it with "
            f"`fuser -v {path}`, stop it, and run again"
        )
    return RunLockedError(
        f"another run is in progress ({holder.describe()}) — wait for it to finish (see "
        f"`trygghetskarta status`), or stop it with `kill {holder.pid or 'PID'}` if it hangs, "
        "and run again"
    )


def _open(path: Path) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    except OSError as e:
        raise environment_error(e, path) from e


@contextlib.contextmanager
def run_lock(path: Path, command: str, *, wait_s: float = WAIT_S) -> Iterator[RunHolder]:
    """Hold the run lock for the block, or raise at once if another run holds it.

    Parameters
    ----------
    path
        The lock file (``Settings.run_lock_path``); created when missing, never removed.
    command
        What this run does (``"run"``, ``"ingest geocode"`` …), written for the message
        another run and ``status`` show.
    wait_s
        How long to retry before giving up (a ``status`` may hold it for a moment).

    Yields
    ------
    RunHolder
        This run as the lock file describes it.

    Raises
    ------
    RunLockedError
        Another run holds the lock: one sentence naming it (pid, start, command).
    OutputError
        The lock file cannot be created (read-only folder, no space …).
    """
    fd = _open(path)
    try:
        if fcntl is not None:
            deadline = time.monotonic() + wait_s
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise _refusal(path, _read_holder(fd)) from None
                    time.sleep(0.05)
        holder = RunHolder(
            pid=os.getpid(),
            started_at=now().isoformat(timespec="seconds"),
            command=command,
            host=socket.gethostname(),
        )
        with contextlib.suppress(OSError):  # the description is a courtesy; the lock holds
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(asdict(holder), ensure_ascii=False).encode("utf-8"), 0)
        try:
            yield holder
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)  # an empty lock file: nobody is running
    finally:
        os.close(fd)  # releases the lock


def current_run(path: Path) -> RunHolder | None:
    """The run holding the lock now, or None when no run is in progress.

    Takes the lock shared for an instant to see whether anybody holds it (a run starting
    in that instant retries for :data:`WAIT_S`), never blocks.
    """
    if fcntl is None or not path.exists():
        return None
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_holder(fd)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


@contextlib.contextmanager
def idle(path: Path) -> Iterator[bool]:
    """Hold the lock for a short read if no run holds it; yields whether it was free.

    ``status`` uses this to read the batch's own database when nothing was published yet.
    """
    if fcntl is None:
        yield False
        return
    try:
        fd = _open(path)
    except OSError:
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)
