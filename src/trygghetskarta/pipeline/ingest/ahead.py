"""Reading one step ahead: the next part of a source is parsed while this one is stored.

Two ways, for two sizes of list:

- :func:`read_ahead` makes the next part in a thread. It costs nothing to start, but the
  reader's Python and the merge's Python share one interpreter lock.
- :class:`ProcessReader` reads a list in a process of its own and hands each chunk's
  events over a pipe. Starting it costs about half a second (a fresh interpreter imports
  the readers), after which the reading and the merge each have a core: worth it for a
  large list (see :data:`PROCESS_FROM_BYTES`).
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from collections.abc import Generator, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

import trygghetskarta
from trygghetskarta.sources import event_lists, list_worker
from trygghetskarta.sources.text_repair import Repairs

T = TypeVar("T")

#: What ``next`` returns when the parts are over (no part is this object).
_END = object()

#: Lists at least this large in all (bytes on disk) are read in a process of their own
#: by ``ingest_list``: about 180 000 rows of a typical crime list. Below it, starting a
#: process costs more than the overlap gains.
PROCESS_FROM_BYTES = 16 * 2**20

#: Seconds a stopped reader process is given to end before it is terminated.
_GRACE_S = 5.0


def read_ahead(parts: Iterable[T]) -> Generator[T, None, None]:
    """Iterate ``parts`` with the next one made in a thread of its own meanwhile.

    A list is parsed a chunk at a time while the chunk before is merged into DuckDB, which
    runs its statements without Python's global lock: on two cores the two overlap. The
    parts come in their order, one at a time; at most one part waits beyond the one given
    out, so memory grows by one part. An exception raised while making a part is raised
    here, when that part is asked for; when the caller stops early (an exception of its
    own), the part being made is finished and dropped.

    Parameters
    ----------
    parts
        Any iterable; its iterator is only ever advanced by one thread at a time.
    """
    it = iter(parts)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-ahead") as pool:
        coming = pool.submit(next, it, _END)
        while True:
            part = coming.result()
            if part is _END:
                return
            coming = pool.submit(next, it, _END)
            yield part  # type: ignore[misc]


class ProcessReader:
    """A :class:`~trygghetskarta.sources.event_lists.ListReader` run in a process of its own.

    :meth:`start` (or entering it as a context, or iterating) starts the process; iterating
    gives each chunk's events as the process sends them;
    the process reads on while the caller stores a chunk, at most a chunk or two ahead
    (the pipe holds no more). Once the iteration is over, :meth:`quarantine`,
    :attr:`read`, :attr:`notes` and :attr:`repairs` are those of the reader. An error
    in the reader (a :class:`~trygghetskarta.errors.SourceError` for a file without a
    required column) is raised here, where its chunk would have come. When the caller
    stops early, the process is stopped too (and :meth:`close`, or leaving the context,
    stops a process started but never read).

    The process is a fresh interpreter running :mod:`trygghetskarta.sources.list_worker`,
    never a fork (the caller holds DuckDB's threads, which a fork would copy mid-flight)
    and never ``multiprocessing``'s spawn (which would run the caller's own script again
    in the new process when that script has no ``if __name__ == "__main__"``).

    Parameters
    ----------
    paths, contract, options, kommun, municipality, now, chunk_rows
        As for :class:`~trygghetskarta.sources.event_lists.ListReader`; they are sent to
        the process pickled, so the contract's functions must be importable (module-level).
    """

    def __init__(
        self,
        paths: Sequence[Path | str],
        contract: event_lists.Contract,
        options: event_lists.ListOptions | None = None,
        *,
        kommun: Any = None,
        municipality: str = "Stockholm",
        now: pd.Timestamp | None = None,
        chunk_rows: int | None = None,
    ) -> None:
        if chunk_rows is not None and chunk_rows < 1:
            raise ValueError(f"chunk_rows must be at least 1, got {chunk_rows}")
        self._request = list_worker.Request(
            (tuple(Path(p) for p in paths), contract, options),
            {"kommun": kommun, "municipality": municipality, "now": now, "chunk_rows": chunk_rows},
        )
        self._totals: list_worker.Totals | None = None
        self._iterated = False
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ProcessReader:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Start the process (iterating starts it when this was not called): it reads
        while the caller does other work."""
        if self._process is not None:
            return
        env = dict(os.environ)
        # the process finds this very package, however the caller found it
        here = str(Path(trygghetskarta.__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
        self._process = subprocess.Popen(
            [sys.executable, *list_worker.COMMAND],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        assert self._process.stdin is not None
        try:
            pickle.dump(self._request, self._process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self._process.stdin.close()
        except BrokenPipeError:
            pass  # it ended at once; reading says why

    def close(self) -> None:
        """Stop reading: a process still sending gets a broken pipe and ends (or is
        killed after a grace period)."""
        if self._process is None or self._process.stdout is None:
            return
        self._process.stdout.close()
        try:
            self._process.wait(_GRACE_S)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def __iter__(self) -> Iterator[pd.DataFrame]:
        if self._iterated:
            raise RuntimeError("a ProcessReader reads its files once; make a new one to read again")
        self._iterated = True
        self.start()
        assert self._process is not None and self._process.stdout is not None
        try:
            while True:
                try:
                    kind, value = pickle.load(self._process.stdout)
                except EOFError:
                    code = self._process.wait(_GRACE_S)
                    raise RuntimeError(
                        f"the list reader process ended without its results (exit code {code}"
                        "; its error is above, or it ran out of memory) — run the ingest again"
                    ) from None
                if kind == "part":
                    yield value
                elif kind == "error":
                    raise value
                else:
                    self._totals = value
                    return
        finally:
            self.close()

    def _done(self) -> list_worker.Totals:
        if self._totals is None:
            raise RuntimeError("read every chunk of a ProcessReader before asking for its totals")
        return self._totals

    def quarantine(self) -> pd.DataFrame:
        """The refused rows, as :meth:`ListReader.quarantine
        <trygghetskarta.sources.event_lists.ListReader.quarantine>` gives them."""
        return self._done().quarantine

    @property
    def read(self) -> int:
        """Data rows read."""
        return self._done().read

    @property
    def notes(self) -> list[str]:
        """What the readers guessed or fixed, per file."""
        return self._done().notes

    @property
    def repairs(self) -> Repairs:
        """Lone surrogates replaced and NUL characters removed in the cells."""
        return self._done().repairs


def list_bytes(paths: Iterable[Path]) -> int:
    """The lists' size on disk, which decides how they are read (:data:`PROCESS_FROM_BYTES`)."""
    return sum(Path(p).stat().st_size for p in paths)
