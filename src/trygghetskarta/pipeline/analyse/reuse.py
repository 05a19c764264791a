"""When the ``analyse`` step may keep what it wrote last time: the same inputs.

The step is a pure function of the events and coverage in the store, the boundary and
population files of the data directory, the analysis parameters, the seed, the period asked
for and the code. :func:`fingerprint` hashes all of them; when it equals the one recorded
after the last full run (``store.step_inputs``) and every file that run wrote is still
there as written, the rasters, tables and DuckDB tables it wrote are what a new run would
write, and the step reuses them (a night with nothing new skips the analyses, 67 s of
111 s at a million listed crimes). Anything else (a new event, a moved point, a changed
setting, a new version of the code, a raster removed by hand, ``ingest --all``) runs every
analysis again.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

import trygghetskarta
from trygghetskarta import __version__, store
from trygghetskarta.config import Settings
from trygghetskarta.periods import Period

#: The step whose inputs are recorded.
STEP = "analyse"
#: Folders of the data directory the step reads (``areas.load_areas``, ``load_population``).
DATA_FOLDERS = ("boundaries", "population")
#: Tables of the store the step reads.
TABLES = ("events", "coverage_days")


def _code_digest(digest: hashlib._Hash) -> None:
    """Every file of the installed package (code and resources), by path and content."""
    root = Path(trygghetskarta.__file__).parent
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(root).as_posix().encode("utf-8") + b"\x1f")
            digest.update(hashlib.sha256(path.read_bytes()).digest())


def _data_digest(digest: hashlib._Hash, data: Path) -> None:
    for folder in DATA_FOLDERS:
        base = data / folder
        if not base.is_dir():
            digest.update(f"{folder}: none\x1f".encode())
            continue
        for path in sorted(base.rglob("*")):
            if path.is_file():
                digest.update(path.relative_to(data).as_posix().encode("utf-8") + b"\x1f")
                digest.update(hashlib.sha256(path.read_bytes()).digest())


def fingerprint(settings: Settings, con: duckdb.DuckDBPyConnection, period: Period | None) -> str:
    """A digest of everything the ``analyse`` step reads (see the module's text)."""
    digest = hashlib.sha256()
    for part in (
        __version__,
        repr(settings.analysis),
        str(settings.seed),
        settings.municipality,
        str(settings.processed_dir.resolve()),
        "default period" if period is None else repr(period),
    ):
        digest.update(part.encode("utf-8") + b"\x1f")
    for table in TABLES:
        digest.update(f"{table}={store.table_digest(con, table)}\x1f".encode())
    _data_digest(digest, settings.require_data())
    _code_digest(digest)
    return digest.hexdigest()[:32]


#: The tables of the store the step writes (checked to be there before it is skipped).
WRITTEN_TABLES = ("monthly_counts", "near_repeat", "hour_weekday", "trends", "trend_changes")


def file_marks(paths: list[Path]) -> dict[str, list[int]]:
    """Each file's size and modification time (ns): how the files written are recognised."""
    marks: dict[str, list[int]] = {}
    for path in paths:
        info = Path(path).stat()
        marks[str(path)] = [info.st_size, info.st_mtime_ns]
    return marks


def reusable(
    settings: Settings, con: duckdb.DuckDBPyConnection, print_: str
) -> store.StepInputs | None:
    """What the last full run reported, when its inputs had the fingerprint ``print_``, the
    tables it wrote are there and every file it wrote is still there unchanged; else None
    (also with ``ingest --all``, which reads and computes everything again)."""
    if settings.reingest:
        return None
    held = store.read_step_inputs(con, STEP)
    if held is None or held.fingerprint != print_:
        return None
    if not all(store.has_table(con, t) for t in WRITTEN_TABLES):
        return None
    for name, (size, mtime) in held.files.items():
        try:
            info = Path(name).stat()
        except OSError:
            return None
        if (info.st_size, info.st_mtime_ns) != (size, mtime):
            return None
    return held
