"""Raw-data housekeeping and the disk use ``status`` shows.

``data/raw/`` keeps every API answer (and, with page text, every event page) so that any run
can be replayed; it only grows. Answers and pages older than ``compress_after_days`` (the
``[raw]`` table of ``trygghetskarta.toml``, 30 by default) are compressed in place with gzip
(``name.json`` → ``name.json.gz``): about an eighth of the size, byte-exact after
``gunzip``, and still read by every reader and the ingest, which does not take a compressed
file for a new one (:mod:`trygghetskarta.sources.raw_files`). ``trygghetskarta run``
compresses at its end when it went well; ``trygghetskarta raw compress`` does it on demand.

```toml
[raw]
compress_after_days = 30   # 0: every raw file, whatever its age
compress = true            # false: `run` leaves data/raw alone (`raw compress` still works)
```
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trygghetskarta.config import CONFIG_FILE, Settings
from trygghetskarta.errors import ConfigError, environment_error
from trygghetskarta.pipeline import runlock
from trygghetskarta.sources import raw_files
from trygghetskarta.sources.raw_files import Compressed

log = logging.getLogger(__name__)

DAY_S = 86_400


@dataclass(frozen=True)
class RawSettings:
    """The ``[raw]`` table of ``trygghetskarta.toml``.

    Attributes
    ----------
    compress_after_days
        Raw files last modified longer ago than this are compressed; 0 compresses all.
    compress
        Whether ``trygghetskarta run`` compresses at its end (``raw compress`` always does).
    """

    compress_after_days: int = 30
    compress: bool = True

    KEYS = ("compress_after_days", "compress")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], *, origin: str) -> RawSettings:
        """Read and check the ``[raw]`` table; an unknown key or a bad value is an error."""
        if not isinstance(values, Mapping):
            raise ConfigError(
                f"'raw' in {origin} must be a table, got {values!r} — write `[raw]` and "
                "its settings below it"
            )
        unknown = sorted(set(values) - set(cls.KEYS))
        if unknown:
            raise ConfigError(
                f"unknown keys {unknown} in {origin}; expected some of {list(cls.KEYS)} — "
                "fix the spelling"
            )
        days = values.get("compress_after_days", cls.compress_after_days)
        if isinstance(days, bool) or not isinstance(days, int) or days < 0:
            raise ConfigError(
                f"compress_after_days in {origin} must be a whole number of days ≥ 0, got "
                f"{days!r} — e.g. compress_after_days = 30"
            )
        compress = values.get("compress", cls.compress)
        if not isinstance(compress, bool):
            raise ConfigError(
                f"compress in {origin} must be true or false, got {compress!r} — fix it"
            )
        return cls(compress_after_days=days, compress=compress)


def raw_settings(settings: Settings) -> RawSettings:
    """The run's :class:`RawSettings`, from the ``[raw]`` table of ``trygghetskarta.toml``."""
    return RawSettings.from_mapping(
        settings.extra.get("raw", {}), origin=f"{settings.project_dir / CONFIG_FILE} [raw]"
    )


def compress_raw(
    settings: Settings, *, older_than_days: int | None = None, clock: float | None = None
) -> Compressed:
    """Compress the raw files older than ``older_than_days`` (default: the setting).

    Called by :func:`trygghetskarta.pipeline.run` under its run lock; use
    :func:`compress_command` from outside a run.

    Parameters
    ----------
    older_than_days
        Overrides ``[raw] compress_after_days``.
    clock
        Now, seconds since the epoch (tests).

    Raises
    ------
    OutputError
        A file cannot be written (disk full, read-only, no permission): one sentence; the
        files compressed before it stay compressed, the one it failed on stays plain.
    """
    days = (
        raw_settings(settings).compress_after_days if older_than_days is None else older_than_days
    )
    if days < 0:
        raise ConfigError(f"expected a number of days ≥ 0, got {days} — pass 0 or more")
    cutoff = (time.time() if clock is None else clock) - days * DAY_S
    try:
        done = raw_files.compress_older(settings.raw_dir, cutoff=cutoff)
    except OSError as e:
        raise environment_error(e, settings.raw_dir) from e
    if done.files:
        log.info(
            "raw: compressed %d files older than %d days (%s → %s)",
            len(done.files),
            days,
            human_bytes(done.bytes_before),
            human_bytes(done.bytes_after),
        )
    return done


def compress_command(settings: Settings, *, older_than_days: int | None = None) -> Compressed:
    """``trygghetskarta raw compress``: :func:`compress_raw` under the run lock, so that it
    never renames a file an ingest is reading.

    Raises
    ------
    RunLockedError
        A run is in progress.
    """
    with runlock.run_lock(settings.run_lock_path, "raw compress"):
        return compress_raw(settings, older_than_days=older_than_days)


@dataclass(frozen=True)
class Usage:
    """Bytes and files under one path."""

    label: str
    path: Path
    bytes: int
    files: int
    compressed: int = 0


def _walk(path: Path) -> tuple[int, int, int]:
    total = files = packed = 0
    if path.is_file():
        return path.stat().st_size, 1, int(raw_files.is_compressed(path))
    for folder, _, names in os.walk(path):
        for name in names:
            try:
                size = os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                continue
            total += size
            files += 1
            packed += raw_files.is_compressed(name)
    return total, files, packed


def disk_use(settings: Settings) -> list[Usage]:
    """What ``status`` shows: the size of ``data/raw/``, the published database and the
    batch's own copy (with its write-ahead log)."""
    found = []
    raw, files, packed = _walk(settings.raw_dir)
    found.append(Usage("raw data", settings.raw_dir, raw, files, packed))
    for label, path in (
        ("database (published)", settings.db_path),
        ("database (batch)", settings.work_db_path),
    ):
        wal = path.with_name(path.name + ".wal")
        sizes = [p.stat().st_size for p in (path, wal) if p.exists()]
        found.append(Usage(label, path, sum(sizes), len(sizes)))
    return found


def human_bytes(n: float) -> str:
    """``1536`` → ``"1.5 kB"`` (decimal units, as ``df -H`` and file managers show them).

    >>> human_bytes(999), human_bytes(1_536), human_bytes(112_734_208)
    ('999 B', '1.5 kB', '112.7 MB')
    """
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")  # pragma: no cover
