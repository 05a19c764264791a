"""The DuckDB store: every SQL statement and the connection.

One file, ``data/processed/trygghetskarta.duckdb``, with the tables

``events``           one row per event, whatever its source (columns: :data:`schema.EVENT_COLUMNS`)
``event_versions``   every distinct version of every event, in the order received
``quarantine``       every input record that could not be used, with the reason
``areas``            district layers (EPSG:3006 geometry)
``population``       inhabitants per area and year
``statistics``       Brå's, the police's and MCF's figures per area × period × category
                     (view ``crime_stats``: Brå's reported crimes)
``ingested_files``   which input files this version of the tool has read
``runs``             one row per pipeline run: start, end, inputs, counts, status

Written by ``analyse``: ``monthly_counts``, ``trends``, ``trend_changes``, ``hour_weekday``,
``near_repeat``; by ``gazetteer load``: ``address_register``.

The spatial extension is loaded from the file shipped by the PyPI package
``duckdb-extension-spatial``; it is never downloaded. Every statement is parameterised.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from trygghetskarta.errors import StoreError
from trygghetskarta.schema import (
    EVENT_COLUMNS,
    GEOCODED_COLUMNS,
    PARSED_COLUMNS,
    POPULATION_COLUMNS,
    STATISTICS_COLUMNS,
    TIMEZONE,
)

log = logging.getLogger(__name__)

#: Columns whose values make an event's content; a change in any of them is an update.
_CONTENT_COLUMNS = tuple(c for c in PARSED_COLUMNS if c not in ("raw", *GEOCODED_COLUMNS))

_TABLES = {
    "events": ", ".join(f"{name} {kind}" for name, kind in EVENT_COLUMNS.items())
    + ", PRIMARY KEY (event_uid)",
    "event_versions": "event_uid VARCHAR, content_hash VARCHAR, published_at TIMESTAMPTZ, "
    "raw VARCHAR, batch_id VARCHAR, received_at TIMESTAMPTZ, received_no BIGINT, "
    "PRIMARY KEY (event_uid, content_hash)",
    "quarantine": "quarantine_key VARCHAR PRIMARY KEY, source VARCHAR, source_id VARCHAR, "
    "source_file VARCHAR, reason VARCHAR, raw VARCHAR, batch_id VARCHAR, "
    "quarantined_at TIMESTAMPTZ",
    "areas": "layer VARCHAR, scheme VARCHAR, name VARCHAR, code VARCHAR, parent VARCHAR, "
    "area_km2 DOUBLE, geom GEOMETRY, PRIMARY KEY (layer, name)",
    "population": ", ".join(f"{c} {t}" for c, t in POPULATION_COLUMNS.items())
    + ", PRIMARY KEY (area, level, reference_date)",
    "statistics": ", ".join(f"{c} {t}" for c, t in STATISTICS_COLUMNS.items())
    + ", PRIMARY KEY (stat_key)",
    "ingested_files": "file_key VARCHAR PRIMARY KEY, paths JSON, batch_id VARCHAR, "
    "ingested_at TIMESTAMPTZ, counts JSON",
    "runs": "run_id VARCHAR PRIMARY KEY, command VARCHAR, started_at TIMESTAMPTZ, "
    "finished_at TIMESTAMPTZ, status VARCHAR, inputs JSON, parameters JSON, counts JSON, "
    "read BIGINT, loaded BIGINT, updated BIGINT, unchanged BIGINT, quarantined BIGINT, "
    "message VARCHAR",
}

_VIEWS = {
    # Analysts' convenience: events with a point geometry, for spatial SQL.
    "events_geo": "SELECT *, ST_Point(x, y) AS geom FROM events WHERE x IS NOT NULL",
    # Brå's reported-crime statistics (the rest of `statistics` is shootings and fires).
    "crime_stats": "SELECT * FROM statistics WHERE source LIKE 'bra%' OR source LIKE '%arsbok%'",
}


def spatial_extension_path() -> Path:
    """Return the spatial extension file shipped by ``duckdb-extension-spatial``.

    Raises
    ------
    StoreError
        When the package is missing or ships no file for this DuckDB version.
    """
    try:
        import duckdb_extension_spatial
    except ImportError as e:
        raise StoreError(
            "the package duckdb-extension-spatial is not installed — run `make install`"
        ) from e
    root = Path(duckdb_extension_spatial.__path__[0]) / "extensions"
    wanted = root / f"v{duckdb.__version__}" / "spatial.duckdb_extension"
    if wanted.is_file():
        return wanted
    found = sorted(root.glob("v*/spatial.duckdb_extension"))
    shipped = [p.parent.name for p in found]
    raise StoreError(
        f"expected the spatial extension for DuckDB v{duckdb.__version__}, the installed "
        f"duckdb-extension-spatial ships {shipped or 'none'} — install matching versions "
        "(pyproject.toml pins both to the same release line)"
    )


def connect(db_path: Path | str, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the database, load the spatial extension offline and create missing tables.

    Parameters
    ----------
    db_path
        The DuckDB file; ``":memory:"`` for a throwaway database (tests).
    read_only
        Open without write access (several readers may share the file).

    Raises
    ------
    StoreError
        The file is locked by another process, cannot be created, or is not a DuckDB file.
    """
    if str(db_path) != ":memory:":
        path = Path(db_path)
        if read_only and not path.exists():
            raise StoreError(f"no database at {path} — run `trygghetskarta ingest` first")
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(
            str(db_path),
            read_only=read_only,
            config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
        )
    except duckdb.IOException as e:
        text = str(e)
        if "lock" in text.lower():
            raise StoreError(
                f"the database {db_path} is in use by another process — close the other "
                "notebook or command that has it open and run again"
            ) from e
        raise StoreError(f"cannot open the database {db_path} ({text}) — check the path") from e
    except duckdb.ConnectionException as e:
        raise StoreError(
            f"the database {db_path} is already open in this process with other settings "
            "(read-only and read-write cannot mix) — close the other connection first"
        ) from e
    except duckdb.Error as e:
        raise StoreError(
            f"{db_path} is not a usable DuckDB file ({e}) — move it away and run again"
        ) from e
    con.execute(f"LOAD '{spatial_extension_path()}'")
    con.execute(f"SET TimeZone = '{TIMEZONE}'")
    if not read_only:
        init_schema(con)
    return con


def init_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every table and view that does not exist yet.

    ``population`` is rebuilt from its sources on every ingest; a database made before it
    gained ``reference_date`` gets the new table (nothing is lost: the next ingest fills it).
    """
    columns_now = {
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'population'"
        ).fetchall()
    }
    if columns_now and "reference_date" not in columns_now:
        con.execute("DROP TABLE population")
    for name, columns in _TABLES.items():
        con.execute(f"CREATE TABLE IF NOT EXISTS {name} ({columns})")
    # Databases made before versions kept their order within a batch.
    con.execute("ALTER TABLE event_versions ADD COLUMN IF NOT EXISTS received_no BIGINT")
    for name, query in _VIEWS.items():
        con.execute(f"CREATE OR REPLACE VIEW {name} AS {query}")


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Run a block in one transaction: all of it lands, or none of it."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


# --------------------------------------------------------------------------- events


def content_hash(frame: pd.DataFrame) -> pd.Series:
    """Hash the content columns of each event; equal hashes mean an unchanged event."""

    def one(row: tuple[Any, ...]) -> str:
        text = json.dumps([None if pd.isna(v) else str(v) for v in row], ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]

    cols = [c for c in _CONTENT_COLUMNS if c in frame.columns]
    return pd.Series(
        [one(r) for r in frame[cols].itertuples(index=False, name=None)],
        index=frame.index,
        dtype="object",
    )


@dataclass(frozen=True)
class MergeCounts:
    """What a merge did: new events, changed events and events already stored as they are."""

    loaded: int
    updated: int
    unchanged: int


def merge_events(
    con: duckdb.DuckDBPyConnection,
    events: pd.DataFrame,
    *,
    batch_id: str,
    ingested_at: pd.Timestamp,
    versions: pd.DataFrame | None = None,
) -> MergeCounts:
    """Insert new events and update changed ones; leave identical ones alone.

    An incoming event replaces the stored one only when its content differs and it is
    not older (by ``published_at``) than what is stored. Every distinct version goes into
    ``event_versions`` with ``received_no``, its place in the batch: versions order by
    ``(received_at, received_no)``. Call inside :func:`transaction` so a crash leaves
    nothing behind.

    Parameters
    ----------
    events
        One row per event with the :data:`schema.PARSED_COLUMNS`: what ``events`` should
        hold after this batch.
    batch_id, ingested_at
        Recorded on inserted and updated rows.
    versions
        Every version of these events the batch received, in the order received (same
        columns; default: ``events`` itself). A version identical to one already kept is
        not stored again.

    Returns
    -------
    MergeCounts
        Each version counted as if it had come in a batch of its own, in order: ``loaded``
        when its event is new, ``updated`` when it differs from the content held so far and
        is not older, ``unchanged`` otherwise (the same content again, or an older
        version). The three add up to ``len(versions)``: 500 versions of a new event in
        one batch are 1 ``loaded`` and 499 ``updated``.

    Raises
    ------
    ValueError
        ``events`` holds an event twice, or ``versions`` holds an event ``events`` does not
        (or the other way round).
    """
    if events.empty and (versions is None or versions.empty):
        return MergeCounts(0, 0, 0)
    twice = events["event_uid"][events["event_uid"].duplicated()]
    if len(twice):
        raise ValueError(
            f"expected one row per event, got {twice.iloc[0]!r} more than once — pass the "
            "other versions as versions="
        )
    history = events if versions is None else versions
    if set(history["event_uid"]) != set(events["event_uid"]):
        stray = sorted(set(history["event_uid"]) ^ set(events["event_uid"]))
        raise ValueError(
            f"versions and events name different events ({stray[:3]}); every event needs "
            "its versions and every version its event"
        )
    incoming = events.reindex(columns=list(EVENT_COLUMNS)).copy()
    incoming["content_hash"] = content_hash(events)
    incoming["ingested_at"] = ingested_at
    incoming["batch_id"] = batch_id
    received = pd.DataFrame(
        {
            "event_uid": history["event_uid"].astype(object).to_numpy(),
            "content_hash": content_hash(history).to_numpy(),
            "published_at": history["published_at"].to_numpy(),
            "raw": history["raw"].astype(object).to_numpy(),
            "batch_id": batch_id,
            "received_at": ingested_at,
            "received_no": range(len(history)),
        }
    )
    con.register("incoming_df", incoming)
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE incoming AS SELECT * FROM incoming_df")
    finally:
        con.unregister("incoming_df")
    held = con.execute(
        "SELECT e.event_uid, e.content_hash, e.published_at FROM events e "
        "SEMI JOIN incoming i USING (event_uid)"
    ).df()
    counts = _apply_in_order(received, held)
    first = received.drop_duplicates(["event_uid", "content_hash"], keep="first")
    con.register("received_df", first)
    try:
        con.execute(
            """
            INSERT INTO event_versions BY NAME
            SELECT event_uid, content_hash, published_at, raw, batch_id, received_at,
                   received_no
            FROM received_df
            ON CONFLICT DO NOTHING
            """
        )
    finally:
        con.unregister("received_df")
    content = [c for c in EVENT_COLUMNS if c not in (*GEOCODED_COLUMNS, "event_uid")]
    assignments = ", ".join(f"{c} = i.{c}" for c in content)
    con.execute(
        f"""
        UPDATE events SET {assignments}
        FROM incoming i
        WHERE events.event_uid = i.event_uid AND events.content_hash <> i.content_hash
          AND coalesce(i.published_at >= events.published_at, true)
        """
    )
    con.execute(
        "INSERT INTO events SELECT i.* FROM incoming i ANTI JOIN events e USING (event_uid)"
    )
    con.execute("DROP TABLE incoming")
    return counts


def _apply_in_order(received: pd.DataFrame, held: pd.DataFrame) -> MergeCounts:
    """Count versions as :func:`merge_events` describes, starting from what is held."""
    state = {
        uid: (digest, None if pd.isna(at) else pd.Timestamp(at))
        for uid, digest, at in held.itertuples(index=False, name=None)
    }
    loaded = updated = unchanged = 0
    for uid, digest, at in received[["event_uid", "content_hash", "published_at"]].itertuples(
        index=False, name=None
    ):
        stamp = None if pd.isna(at) else pd.Timestamp(at)
        now_held = state.get(uid)
        if now_held is None:
            loaded += 1
        elif digest != now_held[0] and (
            stamp is None or now_held[1] is None or stamp >= now_held[1]
        ):
            updated += 1
        else:
            unchanged += 1
            continue
        state[uid] = (digest, stamp)
    return MergeCounts(loaded, updated, unchanged)


def add_quarantine(
    con: duckdb.DuckDBPyConnection,
    records: pd.DataFrame,
    *,
    batch_id: str,
    quarantined_at: pd.Timestamp,
) -> int:
    """Keep records that cannot be used, with their reasons; return how many were new.

    The same record quarantined again for the same reason is stored once, so a re-run
    of the same input changes nothing.
    """
    if records.empty:
        return 0
    frame = records.reindex(columns=["source", "source_id", "source_file", "reason", "raw"]).copy()
    # A record without an id has <NA> there; na_rep keeps the key well defined.
    parts = frame[["source", "source_id", "raw", "reason"]].astype("string")
    key_parts = parts["source"].str.cat(
        [parts["source_id"], parts["raw"], parts["reason"]], sep="\x1f", na_rep="<NA>"
    )
    frame.insert(
        0,
        "quarantine_key",
        [hashlib.sha256(k.encode("utf-8")).hexdigest()[:32] for k in key_parts],
    )
    frame["batch_id"] = batch_id
    frame["quarantined_at"] = quarantined_at
    frame = frame.drop_duplicates("quarantine_key")
    before = con.execute("SELECT count(*) FROM quarantine").fetchone()[0]
    con.register("quarantine_df", frame)
    try:
        con.execute("INSERT INTO quarantine SELECT * FROM quarantine_df ON CONFLICT DO NOTHING")
    finally:
        con.unregister("quarantine_df")
    return int(con.execute("SELECT count(*) FROM quarantine").fetchone()[0] - before)


def retire_derived(con: duckdb.DuckDBPyConnection, source: str, keep: Sequence[str]) -> int:
    """Delete events of a *derived* source (e.g. ``shooting:polisen``) not in ``keep``.

    Derived events are recomputed from stored police events on every ingest; one that is
    no longer derived (the classifier changed its verdict) goes, and its police event
    stays. Every version stays in ``event_versions``. Returns how many were removed.
    """
    con.register("keep_df", pd.DataFrame({"event_uid": pd.Series(list(keep), dtype="object")}))
    try:
        gone = con.execute(
            "DELETE FROM events WHERE source = ? AND event_uid NOT IN "
            "(SELECT event_uid FROM keep_df) RETURNING event_uid",
            [source],
        ).fetchall()
    finally:
        con.unregister("keep_df")
    return len(gone)


def merge_statistics(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame) -> MergeCounts:
    """Insert new statistics and update changed ones (by ``stat_key``); count as events do."""
    if frame.empty:
        return MergeCounts(0, 0, 0)
    incoming = frame.reindex(columns=list(STATISTICS_COLUMNS))
    con.register("stats_df", incoming)
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE incoming_stats AS SELECT "
            + ", ".join(f"CAST({c} AS {t}) AS {c}" for c, t in STATISTICS_COLUMNS.items())
            + " FROM stats_df"
        )
    finally:
        con.unregister("stats_df")
    content = [c for c in STATISTICS_COLUMNS if c not in ("stat_key", "source_file", "source_line")]
    differs = " OR ".join(f"s.{c} IS DISTINCT FROM i.{c}" for c in content)
    loaded, updated, unchanged = con.execute(
        f"""
        SELECT count(*) FILTER (WHERE s.stat_key IS NULL),
               count(*) FILTER (WHERE s.stat_key IS NOT NULL AND ({differs})),
               count(*) FILTER (WHERE s.stat_key IS NOT NULL AND NOT ({differs}))
        FROM incoming_stats i LEFT JOIN statistics s USING (stat_key)
        """
    ).fetchone()
    con.execute("INSERT OR REPLACE INTO statistics SELECT * FROM incoming_stats")
    con.execute("DROP TABLE incoming_stats")
    return MergeCounts(int(loaded), int(updated), int(unchanged))


def update_positions(con: duckdb.DuckDBPyConnection, positions: pd.DataFrame) -> int:
    """Write geocoding results (``event_uid`` + :data:`schema.GEOCODED_COLUMNS`).

    Only rows whose values differ are touched; returns how many changed.
    """
    if positions.empty:
        return 0
    frame = positions.reindex(columns=["event_uid", *GEOCODED_COLUMNS])
    con.register("positions_df", frame)
    try:
        differs = " OR ".join(f"events.{c} IS DISTINCT FROM p.{c}" for c in GEOCODED_COLUMNS)
        changed = con.execute(
            f"SELECT count(*) FROM events JOIN positions_df p USING (event_uid) WHERE {differs}"
        ).fetchone()[0]
        assignments = ", ".join(f"{c} = p.{c}" for c in GEOCODED_COLUMNS)
        con.execute(
            f"UPDATE events SET {assignments} FROM positions_df p "
            f"WHERE events.event_uid = p.event_uid AND ({differs})"
        )
    finally:
        con.unregister("positions_df")
    return int(changed)


def read_events(
    con: duckdb.DuckDBPyConnection,
    *,
    layers: Sequence[str] | None = None,
    sources: Sequence[str] | None = None,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Read events, optionally of some layers or sources and with ``start <= occurred_at < end``."""
    cols = list(columns) if columns else list(EVENT_COLUMNS)
    unknown = sorted(set(cols) - set(EVENT_COLUMNS))
    if unknown:
        raise ValueError(f"unknown event columns {unknown}; expected some of {list(EVENT_COLUMNS)}")
    where, params = ["true"], []
    if layers:
        where.append(f"layer IN ({', '.join('?' for _ in layers)})")
        params.extend(layers)
    if sources:
        where.append(f"source IN ({', '.join('?' for _ in sources)})")
        params.extend(sources)
    if start is not None:
        where.append("occurred_at >= ?")
        params.append(start)
    if end is not None:
        where.append("occurred_at < ?")
        params.append(end)
    query = (
        f"SELECT {', '.join(cols)} FROM events WHERE {' AND '.join(where)} "
        "ORDER BY occurred_at, event_uid"
    )
    return con.execute(query, params).df()


def event_period(con: duckdb.DuckDBPyConnection) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """First and last ``occurred_at`` in the store, or ``None`` when it is empty."""
    # Through a DataFrame: fetchone() of a TIMESTAMPTZ would need pytz.
    span = con.execute("SELECT min(occurred_at) AS a, max(occurred_at) AS b FROM events").df()
    first, last = span["a"].iloc[0], span["b"].iloc[0]
    if pd.isna(first):
        return None
    return pd.Timestamp(first).tz_convert(TIMEZONE), pd.Timestamp(last).tz_convert(TIMEZONE)


def ingested_file_keys(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Keys of the input batches already ingested (see ``pipeline.ingest``)."""
    return {row[0] for row in con.execute("SELECT file_key FROM ingested_files").fetchall()}


def record_ingested_files(
    con: duckdb.DuckDBPyConnection,
    key: str,
    paths: Sequence[str],
    *,
    batch_id: str,
    at: pd.Timestamp,
    counts: Mapping[str, Any],
) -> None:
    """Remember that a batch of files was ingested (call inside the batch's transaction)."""
    con.execute(
        "INSERT OR REPLACE INTO ingested_files VALUES (?, ?, ?, ?, ?)",
        [key, json.dumps(list(paths)), batch_id, at, json.dumps(dict(counts))],
    )


# --------------------------------------------------------------------------- areas, tables


def replace_areas(con: duckdb.DuckDBPyConnection, layers: Mapping[str, pd.DataFrame]) -> int:
    """Replace the ``areas`` table with the given layers.

    Parameters
    ----------
    layers
        ``layer name -> GeoDataFrame`` in EPSG:3006 with columns ``name`` and ``geometry``
        and optionally ``scheme``, ``code``, ``parent``, ``area_km2``.
    """
    rows = []
    for layer, gdf in layers.items():
        frame = pd.DataFrame(
            {
                "layer": layer,
                "scheme": gdf.get("scheme"),
                "name": gdf["name"].astype(str),
                "code": gdf.get("code"),
                "parent": gdf.get("parent"),
                "area_km2": gdf.geometry.area / 1e6,
                "wkb": gdf.geometry.to_wkb(),
            }
        )
        rows.append(frame)
    frame = pd.concat(rows, ignore_index=True)
    for col in ("scheme", "code", "parent"):
        frame[col] = frame[col].astype("object").where(frame[col].notna(), None)
        frame[col] = frame[col].map(lambda v: None if v is None else str(v))
    con.register("areas_df", frame)
    try:
        con.execute("DELETE FROM areas")
        con.execute(
            "INSERT INTO areas SELECT layer, scheme, name, code, parent, area_km2, "
            "ST_GeomFromWKB(wkb) FROM areas_df"
        )
    finally:
        con.unregister("areas_df")
    return len(frame)


def replace_table(con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame) -> int:
    """Replace a derived table (``population``, ``monthly_counts`` …) with a frame's rows."""
    if not name.isidentifier():
        raise ValueError(f"expected a plain table name, got {name!r}")
    con.register("replacement_df", frame)
    try:
        if name in _TABLES:
            con.execute(f"DELETE FROM {name}")
            cols = ", ".join(frame.columns)
            con.execute(f"INSERT INTO {name} ({cols}) SELECT {cols} FROM replacement_df")
        else:
            con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM replacement_df")
    finally:
        con.unregister("replacement_df")
    return len(frame)


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether a table exists (derived tables appear once a step has written them)."""
    return bool(
        con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
        ).fetchone()[0]
    )


def read_table(con: duckdb.DuckDBPyConnection, name: str) -> pd.DataFrame:
    """Read a whole table (not ``areas``, whose geometry needs :func:`read_areas`)."""
    if not name.isidentifier():
        raise ValueError(f"expected a plain table name, got {name!r}")
    return con.execute(f"SELECT * FROM {name}").df()


def read_areas(con: duckdb.DuckDBPyConnection, layer: str) -> pd.DataFrame:
    """Read one area layer with its geometry as WKB bytes (column ``wkb``)."""
    return con.execute(
        "SELECT layer, scheme, name, code, parent, area_km2, ST_AsWKB(geom) AS wkb "
        "FROM areas WHERE layer = ? ORDER BY name",
        [layer],
    ).df()


# --------------------------------------------------------------------------- runs


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
