"""Logging for the command line: the console, the ``--log-file`` and the step of each line.

Only :mod:`trygghetskarta.cli` configures logging, with the handlers defined here. Every
handler collapses a message repeated right after itself into one line and a count ("last
message repeated 15 times"), so a loop that logs the same fact per map never floods a log.
The log file gets every line at INFO and above, each with an ISO-8601 timestamp with its
UTC offset (Europe/Stockholm, like the run ids) and the pipeline step it came from::

    2026-12-03T02:15:04.512+01:00 INFO    ingest   polisen: 2 files read …

The step comes from the records :func:`trygghetskarta.pipeline.run` logs when a step starts
and when the run ends (they carry ``STEP_LOG_KEY``); lines outside a run have step ``-``.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.text import Text

from trygghetskarta.errors import environment_error
from trygghetskarta.pipeline.steps import STEP_LOG_KEY
from trygghetskarta.schema import TIMEZONE

#: The record attribute that keeps a record off the console (the summary, already printed).
FILE_ONLY = "tk_file_only"
#: The record attribute a file handler notes the step a record came in under.
_SEEN_STEP = "tk_seen_step"
#: The logger the summary lines go to (so that the log file holds them too).
SUMMARY_LOGGER = "trygghetskarta.summary"

_LEVEL_STYLES = {"CRITICAL": "bold red", "ERROR": "red", "WARNING": "yellow"}
#: The ``path:line: Category: `` that :func:`warnings.formatwarning` puts before a message.
_WARNING_PREFIX = re.compile(r"^.*?:\d+: [A-Za-z_]\w*: ")


def warning_text(formatted: str) -> str:
    """The message of a warning routed to logging, without its place and source line.

    >>> warning_text("/x/polisen.py:158: TrygghetskartaWarning: unknown type 'X'\\n  code\\n")
    "unknown type 'X'"
    """
    first = formatted.split("\n", 1)[0]
    return _WARNING_PREFIX.sub("", first, count=1)


def message_of(record: logging.LogRecord) -> str:
    """A record's message as one line of text (a warning without its source line)."""
    message = record.getMessage()
    if record.name == "py.warnings":
        message = warning_text(message)
    return message


class _Collapsing(logging.Handler):
    """A handler that writes a message repeated right after itself once, then a count.

    Subclasses implement :meth:`write` (one line, already collapsed). The pending count
    is written when another message arrives, on :meth:`flush` and on :meth:`close`.
    """

    def __init__(self, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self._last: tuple[int, str] | None = None
        self._last_record: logging.LogRecord | None = None
        self._repeats = 0

    def write(self, record: logging.LogRecord, message: str) -> None:  # pragma: no cover
        raise NotImplementedError

    def _write_repeats(self) -> None:
        if self._repeats and self._last_record is not None:
            times = "once more" if self._repeats == 1 else f"{self._repeats} times"
            self.write(self._last_record, f"(the line above repeated {times})")
        self._repeats = 0

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = message_of(record)
            key = (record.levelno, message)
            if key == self._last:
                self._repeats += 1
                return
            self._write_repeats()
            self._last, self._last_record = key, record
            self.write(record, message)
        except Exception:  # logging must not raise: report it the way logging does
            self.handleError(record)

    def flush(self) -> None:
        self.acquire()
        try:
            self._write_repeats()
        finally:
            self.release()
        super().flush()

    def close(self) -> None:
        self.flush()
        super().close()


class ConsoleHandler(_Collapsing):
    """Log records as one line each on the error console (``warning: message``).

    Printing through the console keeps log lines above the progress bars; soft wrap keeps
    each message one line however narrow the terminal is. Records marked
    :data:`FILE_ONLY` (the summary, printed on stdout already) are left out.
    """

    def __init__(self, console: Console) -> None:
        super().__init__()
        self.console = console

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(record, FILE_ONLY, False) and bool(super().filter(record))

    def write(self, record: logging.LogRecord, message: str) -> None:
        level = record.levelname
        self.console.print(
            Text.assemble((f"{level.lower()}: ", _LEVEL_STYLES.get(level, "dim")), message)
        )


def timestamp(created: float) -> str:
    """A record's time as ISO 8601 with milliseconds and the UTC offset, in Stockholm.

    >>> timestamp(0.0)
    '1970-01-01T01:00:00.000+01:00'
    """
    return datetime.fromtimestamp(created, ZoneInfo(TIMEZONE)).isoformat(timespec="milliseconds")


class FileLogHandler(_Collapsing):
    """Every record as one line of a UTF-8 log file, appended: time, level, step, message.

    The step is the last one a pipeline record announced (:data:`STEP_LOG_KEY`), ``-``
    outside a run. A message with line breaks (a traceback) keeps them, each following line
    indented, so every line of the file that starts a record starts with a timestamp.

    Raises
    ------
    trygghetskarta.errors.OutputError
        The file (or its folder) cannot be created or opened for appending (one sentence
        naming the path and the fix).
    """

    def __init__(self, path: Path) -> None:
        super().__init__(logging.INFO)
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.stream = path.open("a", encoding="utf-8")
        except OSError as e:
            raise environment_error(e, path) from e
        self.step = "-"

    def filter(self, record: logging.LogRecord) -> bool:
        if hasattr(record, STEP_LOG_KEY):
            self.step = getattr(record, STEP_LOG_KEY) or "-"
        setattr(record, _SEEN_STEP, self.step)
        return bool(super().filter(record))

    def write(self, record: logging.LogRecord, message: str) -> None:
        if record.exc_info and record.name != "py.warnings" and message == message_of(record):
            message += "\n" + logging.Formatter().formatException(record.exc_info)
        text = message.replace("\n", "\n    ")
        # the step the record came in (a count of repeats is written when the next arrives)
        step = getattr(record, _SEEN_STEP, self.step)
        line = f"{timestamp(record.created)} {record.levelname:<7} {step:<8} {text}\n"
        self.stream.write(line)
        self.stream.flush()

    def close(self) -> None:
        self.acquire()
        try:
            try:
                self.flush()
            finally:
                if not self.stream.closed:
                    self.stream.close()
        finally:
            self.release()
        logging.Handler.close(self)


def configure(console: Console, *, verbose: bool, log_file: Path | None) -> list[logging.Handler]:
    """Route logging (and warnings) to the console and, with ``log_file``, to that file.

    The console shows warnings and errors (everything from INFO with ``verbose``); the file
    gets every line from INFO. Handlers of an earlier call (a test's second command in one
    process) are closed and replaced, never added twice.

    Returns
    -------
    list of logging.Handler
        The handlers installed; close them when the command ends (pending counts of
        repeated lines are written then).
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Collapsing)]:
        root.removeHandler(old)
        old.close()
    handlers: list[logging.Handler] = [ConsoleHandler(console)]
    handlers[0].setLevel(logging.INFO if verbose else logging.WARNING)
    if log_file is not None:
        handlers.append(FileLogHandler(log_file))
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(logging.INFO if verbose or log_file is not None else logging.WARNING)
    # warnings (shown once per message under Python's default filter) go to the same log
    logging.captureWarnings(True)
    return handlers
