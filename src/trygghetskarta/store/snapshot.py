"""The published snapshot: readers never open the file the batch writes.

DuckDB lets one process write a file, and a read-only connection in another process stops
any writer from opening it. So the batch writes its own file (``.work/trygghetskarta.duckdb``
beside the published one) and, when a run ends, publishes a copy for readers (notebooks, SQL
clients, ``status``): written whole to a hidden temporary file beside the published
database, made read-only on disk, then renamed over it in one step (:func:`os.replace`). A
reader holding the old file open keeps its consistent view (on POSIX the old file lives on
until its last reader closes it); a new connection sees the new data.

- :func:`seed_work` starts the batch's file from the published one (the first run after an
  upgrade, or after ``.work/`` was removed), so nothing is lost either way.
- :func:`publish` copies the whole batch database (a run that went well), or only its
  ``runs`` table onto the last good snapshot (a run that failed: readers keep the data
  they had, and ``status`` still shows the failure).
- :func:`remove_stale` removes the temporary files a killed publication left.

Part of :mod:`trygghetskarta.store`.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from pathlib import Path

from trygghetskarta.store.connection import SNAPSHOT_MODE, connect


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def _fsync_dir(folder: Path) -> None:
    if hasattr(os, "O_DIRECTORY"):
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _temporary(target: Path, what: str) -> Path:
    return target.with_name(f".{target.name}.{what}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def _checkpointed_copy(source: Path, target: Path) -> None:
    """Copy a closed database (and its WAL, replayed into the copy) to ``target``."""
    shutil.copyfile(source, target)
    if _wal(source).exists():  # an unclean end: let DuckDB replay it into the copy
        shutil.copyfile(_wal(source), _wal(target))
        con = connect(target, read_only=False)
        try:
            con.execute("CHECKPOINT")
        finally:
            con.close()
        with contextlib.suppress(FileNotFoundError):
            _wal(target).unlink()
    os.chmod(target, 0o644)


def seed_work(work: Path, snapshot: Path) -> bool:
    """Start the batch's database from the published snapshot when it has none yet.

    Returns True when a copy was made. The copy is made whole under a temporary name and
    renamed into place, so a crash never leaves a half copy as the batch's database.
    """
    if work.exists() or not snapshot.exists():
        return False
    work.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary(work, "seed")
    try:
        _checkpointed_copy(snapshot, tmp)
        _fsync_file(tmp)
        os.replace(tmp, work)
    except BaseException:
        _remove(tmp)
        raise
    _fsync_dir(work.parent)
    return True


def _remove(tmp: Path) -> None:
    for path in (tmp, _wal(tmp)):
        with contextlib.suppress(OSError):
            path.unlink()


def _runs_onto(base: Path | None, work: Path, tmp: Path) -> None:
    """``tmp``: the last good snapshot (or an empty database) with the batch's ``runs``."""
    if base is not None:
        _checkpointed_copy(base, tmp)
    con = connect(tmp, read_only=False)  # creates every table a new file lacks
    try:
        con.execute(f"ATTACH '{_quoted(work)}' AS work (READ_ONLY)")
        try:
            con.execute("BEGIN TRANSACTION")
            con.execute("DELETE FROM runs")
            con.execute("INSERT INTO runs BY NAME SELECT * FROM work.runs")
            con.execute("COMMIT")
        finally:
            con.execute("DETACH work")
        con.execute("CHECKPOINT")
    finally:
        con.close()


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def publish(work: Path, snapshot: Path, *, data: bool = True) -> Path:
    """Publish the batch's database for readers, atomically.

    Parameters
    ----------
    work
        The batch's database, closed (every connection to it in this process closed).
    snapshot
        The published file readers open (``Settings.db_path``).
    data
        True: the snapshot becomes a copy of the whole batch database (a run that went
        well). False: the last snapshot's data stay, and only its ``runs`` table is
        replaced by the batch's (a failed run is recorded where ``status`` reads it; a
        first run that failed publishes an empty database with its ``runs``).

    Returns
    -------
    pathlib.Path
        ``snapshot``, read-only on disk.

    Raises
    ------
    OSError, duckdb.Error
        The copy cannot be written (disk full, read-only folder …); the previous snapshot
        is left as it was and the temporary file removed.
    """
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary(snapshot, "publish")
    try:
        if data:
            _checkpointed_copy(work, tmp)
        else:
            _runs_onto(snapshot if snapshot.exists() else None, work, tmp)
        os.chmod(tmp, SNAPSHOT_MODE)
        _fsync_file(tmp)
        # A WAL beside the published name (left by a version that wrote it directly) would
        # be replayed onto the new file; it was folded into the batch's copy by seed_work.
        with contextlib.suppress(FileNotFoundError):
            _wal(snapshot).unlink()
        os.replace(tmp, snapshot)
    except BaseException:
        _remove(tmp)
        raise
    _fsync_dir(snapshot.parent)
    return snapshot


def remove_stale(*paths: Path) -> list[Path]:
    """Remove the temporary files a killed seeding or publication left beside ``paths``."""
    removed = []
    for path in paths:
        if not path.parent.is_dir():
            continue
        for tmp in path.parent.glob(f".{path.name}.*.tmp*"):
            with contextlib.suppress(OSError):
                tmp.unlink()
                removed.append(tmp)
    return removed
