"""A list read in a process of its own, started as :data:`COMMAND`.

The process reads one pickled :class:`Request` from its standard input, reads the lists
with a :class:`~trygghetskarta.sources.event_lists.ListReader` and writes to its standard
output a stream of pickled messages: ``("part", events)`` per chunk, then ``("end",
Totals)``, or ``("error", exception)`` when the read stops. Anything else the process
prints goes to its standard error. It imports only the readers (not the pipeline), so it
starts in a fraction of a second. The caller is
:class:`trygghetskarta.pipeline.ingest.ahead.ProcessReader`.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import sys
import traceback
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import pandas as pd

from trygghetskarta.errors import TrygghetskartaError
from trygghetskarta.sources.event_lists import ListReader
from trygghetskarta.sources.text_repair import Repairs

#: The process's command line after the interpreter. Not ``-m``: its classes must be
#: pickled under this module's name, not ``__main__``'s.
COMMAND = ("-c", f"from {__name__} import main; main()")


@dataclass(frozen=True)
class Request:
    """The arguments of the :class:`~trygghetskarta.sources.event_lists.ListReader`."""

    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Totals:
    """What a reader says once it is done (see ``ListReader.quarantine`` and the rest)."""

    quarantine: pd.DataFrame
    read: int
    notes: list[str]
    repairs: Repairs


def serve(request: Request, channel: BinaryIO) -> None:
    """Read the lists and write the messages to ``channel``; stop quietly when the
    reading end has gone away (the caller stopped early)."""

    def send(kind: str, value: Any) -> None:
        pickle.dump((kind, value), channel, protocol=pickle.HIGHEST_PROTOCOL)
        channel.flush()

    try:
        reader = ListReader(*request.args, **request.kwargs)
        for part in reader:
            send("part", part)
        send("end", Totals(reader.quarantine(), reader.read, reader.notes, reader.repairs))
    except BrokenPipeError:
        return
    except BaseException as error:  # every error goes back to the caller
        if not isinstance(error, TrygghetskartaError):
            # the caller's traceback ends at the pipe: keep where it happened here
            error.add_note("raised in the list reader process:\n" + traceback.format_exc())
        try:
            send("error", error)
        except BrokenPipeError:
            return
        except (pickle.PicklingError, TypeError, AttributeError):
            send("error", RuntimeError(f"{type(error).__name__}: {error}"))


def main() -> None:
    """The process's entry: the request on standard input, the messages on standard output."""
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray output goes to stderr
    sys.stdout = sys.stderr
    request = pickle.load(sys.stdin.buffer)
    try:
        serve(request, channel)
    finally:
        with contextlib.suppress(BrokenPipeError):
            channel.close()
