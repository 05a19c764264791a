"""The DuckDB store: every SQL statement and the connection.

Readers open ``data/processed/trygghetskarta.duckdb``, a read-only snapshot each run
publishes when it ends; the batch writes its own copy, ``data/processed/.work/
trygghetskarta.duckdb`` (:mod:`trygghetskarta.store.snapshot`). Both hold the tables

``events``           one row per event, whatever its source (columns: :data:`schema.EVENT_COLUMNS`)
``event_versions``   every distinct version of every event, in the order received
``quarantine``       every input record that could not be used, with the reason and its class
``areas``            district layers (EPSG:3006 geometry)
``population``       inhabitants per area and year
``statistics``       Brå's, the police's and MCF's figures per area × period × category
                     (view ``crime_stats``: Brå's reported crimes)
``ingested_files``   which input files this version of the tool has read
``runs``             one row per pipeline run: start, end, inputs, counts, status
``coverage_days``    per source and day: whether the feed is known complete that day
``step_inputs``      per step: the fingerprint of the inputs it last ran on in full, and
                     what it reported then (``analyse`` reuses its outputs on the same inputs)

Written by ``analyse``: ``monthly_counts``, ``trends``, ``trend_changes``, ``hour_weekday``,
``near_repeat``; by ``gazetteer load``: ``address_register``.

The spatial extension is loaded from the file shipped by the PyPI package
``duckdb-extension-spatial``; it is never downloaded. Every statement is parameterised.
"""

from trygghetskarta.store.connection import (
    SNAPSHOT_MODE,
    connect,
    fewer_threads,
    init_schema,
    is_snapshot,
    spatial_extension_path,
    transaction,
)
from trygghetskarta.store.coverage import (
    coverage_days,
    event_days,
    read_coverage,
    record_days,
    record_findings,
)
from trygghetskarta.store.events import (
    MergeCounts,
    add_quarantine,
    content_hash,
    event_period,
    ingested_file_counts,
    ingested_file_keys,
    merge_events,
    newest_events,
    read_events,
    record_ingested_files,
    retire_derived,
    text_missing,
    update_positions,
)
from trygghetskarta.store.runs import (
    StepInputs,
    finish_run,
    forget_step_inputs,
    read_step_inputs,
    record_step_inputs,
    start_run,
    table_digest,
)
from trygghetskarta.store.snapshot import publish, remove_stale, seed_work
from trygghetskarta.store.statistics import (
    has_table,
    merge_statistics,
    read_areas,
    read_table,
    replace_areas,
    replace_table,
)

__all__ = [
    "SNAPSHOT_MODE",
    "MergeCounts",
    "StepInputs",
    "add_quarantine",
    "connect",
    "content_hash",
    "coverage_days",
    "event_days",
    "event_period",
    "fewer_threads",
    "finish_run",
    "forget_step_inputs",
    "has_table",
    "ingested_file_counts",
    "ingested_file_keys",
    "init_schema",
    "is_snapshot",
    "merge_events",
    "merge_statistics",
    "newest_events",
    "publish",
    "read_areas",
    "read_coverage",
    "read_events",
    "read_step_inputs",
    "read_table",
    "record_days",
    "record_findings",
    "record_ingested_files",
    "record_step_inputs",
    "remove_stale",
    "replace_areas",
    "replace_table",
    "retire_derived",
    "seed_work",
    "spatial_extension_path",
    "start_run",
    "table_digest",
    "text_missing",
    "transaction",
    "update_positions",
]
