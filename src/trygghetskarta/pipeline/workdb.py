"""The batch's own database and the snapshot it publishes for readers.

Every command that writes works on ``Settings.work_db_path`` (``data/processed/.work/
trygghetskarta.duckdb``) under the run lock (:mod:`.runlock`), and publishes
``Settings.db_path`` (``data/processed/trygghetskarta.duckdb``) for readers when it ends
(:func:`trygghetskarta.store.publish`). Readers — notebooks, SQL clients, ``status`` — open
the snapshot, so they never block the batch, and the batch never changes what they see
while they look.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import duckdb

from trygghetskarta import store
from trygghetskarta.config import Settings
from trygghetskarta.errors import StoreError, TrygghetskartaError, environment_error
from trygghetskarta.pipeline import runlock

log = logging.getLogger(__name__)


def prepare(settings: Settings) -> None:
    """Before a run writes: remove what a killed publication left, and start the batch's
    database from the published snapshot when it has none (the first run after an upgrade
    from a version that wrote ``db_path`` directly, or after ``.work/`` was removed).

    Raises
    ------
    OSError, duckdb.Error
        The copy cannot be made (disk full …); the caller records the run as failed.
    """
    for tmp in store.remove_stale(settings.db_path, settings.work_db_path):
        log.info("removed %s, left by a publication that was killed", tmp)
    if store.seed_work(settings.work_db_path, settings.db_path):
        log.info(
            "the batch's database %s starts from the published %s",
            settings.work_db_path,
            settings.db_path,
        )


def publication_error(error: BaseException, settings: Settings) -> TrygghetskartaError:
    """One sentence for a snapshot that could not be published."""
    if isinstance(error, TrygghetskartaError):
        return error
    if isinstance(error, OSError):
        cause = str(environment_error(error, settings.db_path)).split(" — ")[0]
    else:
        cause = str(error).splitlines()[0] if str(error) else type(error).__name__
    return StoreError(
        f"the database could not be published to {settings.db_path} ({cause}) — readers "
        "keep the previous snapshot; free space or make the folder writable, and run again"
    )


def publish(settings: Settings, *, data: bool) -> None:
    """Publish the batch's database to ``Settings.db_path`` (see :func:`store.publish`).

    Nothing to publish when the batch's database does not exist (a run that failed before
    it could open it).

    Raises
    ------
    TrygghetskartaError
        The copy cannot be written; the previous snapshot stays (one sentence).
    """
    if not settings.work_db_path.exists():
        return
    try:
        store.publish(settings.work_db_path, settings.db_path, data=data)
    except (OSError, duckdb.Error) as e:
        raise publication_error(e, settings) from e
    log.info("published %s", settings.db_path)


@contextlib.contextmanager
def writing(settings: Settings, command: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """A write connection to the batch's database for a command outside :func:`pipeline.run`
    (``gazetteer load``): under the run lock, published whole when the block ends well.

    Raises
    ------
    RunLockedError
        Another run is in progress.
    """
    with runlock.run_lock(settings.run_lock_path, command):
        try:
            prepare(settings)
            con = store.connect(
                settings.work_db_path, read_only=False, memory_limit=settings.db_memory_limit
            )
        except (OSError, duckdb.Error) as e:
            raise publication_error(e, settings) from e
        try:
            yield con
        finally:
            con.close()
        publish(settings, data=True)


def read_runs(settings: Settings, query: str, parameters: list[Any] | None = None) -> list[tuple]:
    """Rows of ``query`` on the published snapshot, for ``status``.

    Before any snapshot exists (a first run still going, or one that could not publish),
    reads the batch's own database instead, but only while no run holds the lock.

    Raises
    ------
    StoreError
        There is no database yet, or only the one a run is writing now.
    """
    path: Path = settings.db_path
    if path.exists():
        con = store.connect(path, read_only=True)
        try:
            return con.execute(query, parameters or []).fetchall()
        finally:
            con.close()
    if settings.work_db_path.exists():
        with runlock.idle(settings.run_lock_path) as free:
            if free:
                con = store.connect(settings.work_db_path, read_only=True)
                try:
                    return con.execute(query, parameters or []).fetchall()
                finally:
                    con.close()
        holder = runlock.current_run(settings.run_lock_path)
        running = f" ({holder.describe()})" if holder else ""
        raise StoreError(
            f"no database published at {path} yet: the first run{running} is still writing "
            "it — wait for it to end and run `trygghetskarta status` again"
        )
    raise StoreError(f"no database at {path} — run `trygghetskarta ingest` first")


def unpublished_run(settings: Settings, shown: Iterable[str]) -> tuple[str, str, str] | None:
    """The last run as ``manifest.json`` records it, when the runs ``status`` read lack it.

    A run whose database could not be published (disk full …), or that could not even
    open it, is recorded in the manifest only; ``status`` shows it from there. Returns
    ``(run_id, status, message)``, or None when the manifest's run is among ``shown``.
    """
    path = settings.processed_dir / "manifest.json"
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    run_id = body.get("run_id") if isinstance(body, dict) else None
    if not isinstance(run_id, str) or run_id in set(shown):
        return None
    status = str(body.get("status") or "unknown")
    if status == "running":  # killed before its end was recorded anywhere
        status = "interrupted"
    message = str(body.get("message") or "")
    return run_id, status, message
