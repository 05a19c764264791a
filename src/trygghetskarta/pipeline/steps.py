"""What every pipeline step returns, and the small helpers the steps share."""

from __future__ import annotations

import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from trygghetskarta.errors import TrygghetskartaWarning
from trygghetskarta.schema import TIMEZONE

#: The attribute of the log record :func:`trygghetskarta.pipeline.run` writes when a step
#: starts (the step's name) and when the run ends (``""``), so that a log handler can stamp
#: every line with its step (the CLI's ``--log-file`` does).
STEP_LOG_KEY = "tk_step"

#: Called as ``progress(description, done, total)`` during long steps (the CLI draws bars).
Progress = Callable[[str, int, int], None]


def no_progress(description: str, done: int, total: int) -> None:
    """A :data:`Progress` that shows nothing."""


@dataclass
class StepResult:
    """What one step did: counts, files written, warnings and errors, and how long it took."""

    step: str
    counts: dict[str, Any] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors


def now() -> pd.Timestamp:
    """The current time in Europe/Stockholm."""
    return pd.Timestamp.now(tz=TIMEZONE)


def new_run_id() -> str:
    """A run's id: its start time and six random hex digits, e.g. ``20260822T031500-3f9a1c``."""
    return f"{now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


@contextmanager
def timed(result: StepResult) -> Iterator[StepResult]:
    """Time a block into ``result.seconds`` and collect its warnings into ``result.warnings``.

    Every :class:`~trygghetskarta.errors.TrygghetskartaWarning` the warning filters let
    through in the block (an unknown category, no contact set; Python's default filter lets
    each message through once) becomes one line of ``result.warnings``, so the run's summary
    and manifest carry it; other warnings (a library's deprecations) are passed on unchanged.
    """
    start = time.perf_counter()
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            try:
                yield result
            finally:
                result.seconds = round(time.perf_counter() - start, 3)
    finally:
        for w in caught:
            if issubclass(w.category, TrygghetskartaWarning):
                if str(w.message) not in result.warnings:
                    result.warnings.append(str(w.message))
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
