"""Reading one step ahead: the next part of a source is parsed while this one is stored."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

#: What ``next`` returns when the parts are over (no part is this object).
_END = object()


def read_ahead(parts: Iterable[T]) -> Iterator[T]:
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
