"""The ``runs`` table: one row per pipeline run, started and finished; ``step_inputs``:
what a step last ran on in full, so that a run on the same inputs can reuse its outputs.

Part of :mod:`trygghetskarta.store`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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


# --------------------------------------------------------------------------- step inputs


def table_digest(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """A digest of a table's rows, whatever their order: its row count and the sum of
    DuckDB's ``hash`` of each whole row (``"0:0"`` for an empty or missing table).

    Any change to any value of any row changes it (short of a 64-bit collision); the same
    rows give the same digest however they were written. About 0.3 s for a million events.
    """
    if table not in _KNOWN_TABLES:
        raise ValueError(f"expected one of {sorted(_KNOWN_TABLES)}, got table {table!r}")
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]
    ).fetchone()[0]
    if not exists:
        return "0:0"
    n, total = con.execute(f"SELECT count(*), sum(hash(t)::HUGEINT) FROM {table} t").fetchone()
    return f"{n}:{total or 0}"


#: Tables whose digest a step may take as part of its inputs.
_KNOWN_TABLES = frozenset(
    {"events", "coverage_days", "areas", "population", "statistics", "address_register"}
)


@dataclass(frozen=True)
class StepInputs:
    """What a step recorded after it last ran in full: the fingerprint of its inputs, what
    it reported (``counts``, ``warnings``), the files it wrote with their size and
    modification time in nanoseconds (``files``), and when."""

    fingerprint: str
    counts: dict[str, Any]
    files: dict[str, list[int]]
    warnings: list[str]
    recorded_at: str


def read_step_inputs(con: duckdb.DuckDBPyConnection, step: str) -> StepInputs | None:
    """The inputs ``step`` last ran on in full (:func:`record_step_inputs`), or None."""
    row = con.execute(
        "SELECT fingerprint, result, CAST(recorded_at AS VARCHAR) FROM step_inputs WHERE step = ?",
        [step],
    ).fetchone()
    if row is None:
        return None
    result = json.loads(row[1])
    return StepInputs(
        row[0], result["counts"], dict(result["files"]), list(result["warnings"]), row[2]
    )


def record_step_inputs(
    con: duckdb.DuckDBPyConnection,
    step: str,
    fingerprint: str,
    *,
    counts: Mapping[str, Any],
    files: Mapping[str, Sequence[int]],
    warnings: Sequence[str],
    at: Any,
) -> None:
    """Record that ``step`` ran in full on inputs with this fingerprint, and what it
    reported, so that a later run on the same inputs may reuse its outputs."""
    result = json.dumps(
        {"counts": counts, "files": {k: list(v) for k, v in files.items()}, "warnings": warnings},
        ensure_ascii=False,
        default=str,
    )
    con.execute(
        "INSERT OR REPLACE INTO step_inputs (step, fingerprint, result, recorded_at) "
        "VALUES (?, ?, ?, ?)",
        [step, fingerprint, result, at],
    )


def forget_step_inputs(con: duckdb.DuckDBPyConnection, step: str) -> None:
    """Forget what ``step`` last ran on (its outputs are being replaced)."""
    con.execute("DELETE FROM step_inputs WHERE step = ?", [step])
