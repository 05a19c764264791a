"""Domain errors.

Every error a user can cause is a :class:`TrygghetskartaError`. Each subclass also
subclasses the builtin exception it refines, so callers that already catch
``OSError`` or ``ValueError`` keep working (the pattern of ``rasterio.errors``).

Messages say what was expected, what came, and what to do::

    expected EPSG:3006 or EPSG:3011, got EPSG:4326 — pass crs=...
"""

from __future__ import annotations

import errno
from pathlib import Path


class TrygghetskartaError(Exception):
    """Base class of every error the tool raises on purpose."""


class ConfigError(TrygghetskartaError, ValueError):
    """A setting is missing or has a value the tool cannot use."""


class DataNotFoundError(TrygghetskartaError, FileNotFoundError):
    """No input data where the tool looked for it."""


class SourceError(TrygghetskartaError, OSError):
    """An input file or feed cannot be read (missing, unreadable, wrong format)."""


class SchemaError(TrygghetskartaError, ValueError):
    """A table does not have the columns or types the tool needs."""


class CRSError(TrygghetskartaError, ValueError):
    """Coordinates come in a reference system the tool does not accept."""


class StoreError(TrygghetskartaError, OSError):
    """The DuckDB file cannot be opened or written (locked, read-only, corrupt)."""


class RunLockedError(TrygghetskartaError, BlockingIOError):
    """Another run is writing the database and the outputs (it holds the run lock)."""


class AnalysisError(TrygghetskartaError, ValueError):
    """An analysis cannot run on the data given (empty selection, grid too large)."""


class OutputError(TrygghetskartaError, OSError):
    """A generated file cannot be written (disk full, no permission, a directory in the way)."""


class MissingDependencyError(TrygghetskartaError, ImportError):
    """An optional package a function needs is not installed; the message says how to install it."""


class EncodingError(TrygghetskartaError, UnicodeError):
    """Text cannot be encoded or decoded (e.g. a lone surrogate on its way into a UTF-8 file)."""


class TrygghetskartaWarning(UserWarning):
    """Something the user can fix but the run can go on without (an unknown category, no contact).

    Raised with :func:`warnings.warn`, so Python's standard filters decide how often it shows:
    the default filter shows each distinct message once per place in the code, which is what
    the tool used to do with its own "warned already" sets. The CLI routes these warnings
    to its log; a step may collect them into its result instead.
    """


#: What the user can do about an environmental error, by errno.
_FIXES = {
    errno.ENOSPC: "free space on that disk (or point TRYGGHETSKARTA_PROCESSED at a disk with "
    "room) and run again",
    errno.EDQUOT: "free space within your disk quota and run again",
    errno.EROFS: "make it writable (remount the file system read-write) or point "
    "TRYGGHETSKARTA_PROCESSED at a writable folder, and run again",
    errno.EACCES: "give the user running trygghetskarta access to it and run again",
    errno.EPERM: "give the user running trygghetskarta access to it and run again",
}


def _blocking_file(path: Path) -> Path | None:
    """The first part of ``path`` that exists but is not a folder (ENOTDIR's culprit)."""
    for part in [*reversed(path.parents), path]:
        try:
            if part.exists() and not part.is_dir():
                return part
        except OSError:
            return None
    return None


def environment_error(
    error: OSError | UnicodeError, path: Path | str | None = None, *, doing: str = "write"
) -> OutputError | EncodingError:
    """One sentence for an error of the environment: what failed, on which path, and the fix.

    Parameters
    ----------
    error
        The builtin error (disk full, read-only file system, no permission, a file where a
        folder is expected, text that cannot be encoded).
    path
        The file or folder being used; the error's own ``filename`` wins when it has one.
    doing
        The verb of the sentence: ``"write"`` or ``"read"``.

    Returns
    -------
    OutputError or EncodingError
        A domain error to raise ``from error``; the CLI prints it as one sentence.
    """
    if isinstance(error, UnicodeDecodeError):
        where = f" {path}" if path is not None else ""
        return EncodingError(
            f"cannot read the text{where}: it is not valid {error.encoding} ({error.reason}) — "
            "save it as UTF-8 and run again"
        )
    if isinstance(error, UnicodeError):
        where = f" to {path}" if path is not None else ""
        reason = getattr(error, "reason", None) or str(error)
        return EncodingError(
            f"cannot {doing} text{where}: it holds a character that is not valid UTF-8 "
            f"({reason}, e.g. a lone surrogate such as \\ud800 in an event's text) — remove "
            "that character from the input file and run again"
        )
    named = Path(error.filename) if getattr(error, "filename", None) else None
    target = named or (Path(path) if path is not None else None)
    shown = str(target) if target is not None else "a file"
    code = error.errno
    if code in (errno.ENOSPC, errno.EDQUOT):
        text = f"no space left to {doing} {shown} — {_FIXES[code]}"
    elif code == errno.EROFS:
        text = f"cannot {doing} {shown}: the file system is read-only — {_FIXES[code]}"
    elif code in (errno.EACCES, errno.EPERM):
        text = f"no permission to {doing} {shown} — {_FIXES[code]}"
    elif code == errno.ENOTDIR or (code == errno.EEXIST and target is not None):
        culprit = _blocking_file(target) if target is not None else None
        culprit = culprit or target
        text = (
            f"cannot {doing} {shown}: {culprit} is a file where a folder is expected — move "
            "that file away and run again"
        )
    elif code == errno.EISDIR:
        text = (
            f"cannot {doing} {shown}: it is a folder where a file is expected — move that folder "
            "away and run again"
        )
    elif code == errno.ENOENT:
        text = f"cannot {doing} {shown}: it does not exist — check the path and run again"
    else:
        detail = error.strerror or str(error) or type(error).__name__
        text = (
            f"cannot {doing} {shown} ({detail}) — check that the folder exists, is writable and "
            "has space, and run again"
        )
    return OutputError(text)
