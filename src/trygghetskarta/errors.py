"""Domain errors.

Every error a user can cause is a :class:`TrygghetskartaError`. Each subclass also
subclasses the builtin exception it refines, so callers that already catch
``OSError`` or ``ValueError`` keep working (the pattern of ``rasterio.errors``).

Messages say what was expected, what came, and what to do::

    expected EPSG:3006 or EPSG:3011, got EPSG:4326 — pass crs=...
"""

from __future__ import annotations


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


class AnalysisError(TrygghetskartaError, ValueError):
    """An analysis cannot run on the data given (empty selection, grid too large)."""


class OutputError(TrygghetskartaError, OSError):
    """A generated file cannot be written (disk full, no permission, a directory in the way)."""
