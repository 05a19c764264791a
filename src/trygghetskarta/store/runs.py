"""The ``runs`` table: one row per pipeline run, started and finished.

Part of :mod:`trygghetskarta.store`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import duckdb
import pandas as pd

log = logging.getLogger(__name__)


def start_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    *,
    command: str,
    started_at: pd.Timestamp,
    inputs: Mapping[str, Any],
    parameters: Mapping[str, Any],
) -> None:
    """Record that a run began (status ``running`` until :func:`finish_run`).

    A run still ``running`` from before was killed; it is marked ``interrupted``.
    """
    stale = con.execute(
        "UPDATE runs SET status = 'interrupted', message = 'the process ended before the run "
        "finished (killed or crashed); its unfinished batch was rolled back' "
        "WHERE status = 'running' RETURNING run_id"
    ).fetchall()
    for (old_id,) in stale:
        log.warning("run %s was interrupted before it finished; marked 'interrupted'", old_id)
    con.execute(
        "INSERT INTO runs (run_id, command, started_at, status, inputs, parameters) "
        "VALUES (?, ?, ?, 'running', ?, ?)",
        [
            run_id,
            command,
            started_at,
            json.dumps(inputs, default=str),
            json.dumps(parameters, default=str),
        ],
    )


def finish_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    *,
    finished_at: pd.Timestamp,
    status: str,
    counts: Mapping[str, Any],
    message: str | None = None,
) -> None:
    """Record how a run ended: status (``ok``/``partial``/``failed``), counts and a message."""
    con.execute(
        "UPDATE runs SET finished_at = ?, status = ?, counts = ?, read = ?, loaded = ?, "
        "updated = ?, unchanged = ?, quarantined = ?, message = ? WHERE run_id = ?",
        [
            finished_at,
            status,
            json.dumps(counts, default=str),
            counts.get("read"),
            counts.get("loaded"),
            counts.get("updated"),
            counts.get("unchanged"),
            counts.get("quarantined"),
            message,
            run_id,
        ],
    )
