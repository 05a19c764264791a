"""The DuckDB connection: the file, the spatial extension, the schema and transactions.

Part of :mod:`trygghetskarta.store`, which lists the tables.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from trygghetskarta.districts import SDO_13_TO_11
from trygghetskarta.errors import StoreError
from trygghetskarta.schema import (
    EVENT_COLUMNS,
    POPULATION_COLUMNS,
    QUARANTINE_CLASS_PREFIXES,
    STATISTICS_COLUMNS,
    TIMEZONE,
    QuarantineClass,
)

_TABLES = {
    "events": ", ".join(f"{name} {kind}" for name, kind in EVENT_COLUMNS.items())
    + ", PRIMARY KEY (event_uid)",
    "event_versions": "event_uid VARCHAR, content_hash VARCHAR, published_at TIMESTAMPTZ, "
    "raw VARCHAR, batch_id VARCHAR, received_at TIMESTAMPTZ, received_no BIGINT, "
    "PRIMARY KEY (event_uid, content_hash)",
    "quarantine": "quarantine_key VARCHAR PRIMARY KEY, source VARCHAR, source_id VARCHAR, "
    "source_file VARCHAR, reason VARCHAR, raw VARCHAR, batch_id VARCHAR, "
    "quarantined_at TIMESTAMPTZ, reason_class VARCHAR",
    "areas": "layer VARCHAR, scheme VARCHAR, name VARCHAR, code VARCHAR, parent VARCHAR, "
    "area_km2 DOUBLE, geom GEOMETRY, PRIMARY KEY (layer, name)",
    "population": ", ".join(f"{c} {t}" for c, t in POPULATION_COLUMNS.items())
    + ", PRIMARY KEY (area, level, reference_date)",
    "statistics": ", ".join(f"{c} {t}" for c, t in STATISTICS_COLUMNS.items())
    + ", PRIMARY KEY (stat_key)",
    "ingested_files": "file_key VARCHAR PRIMARY KEY, paths JSON, batch_id VARCHAR, "
    "ingested_at TIMESTAMPTZ, counts JSON",
    "coverage_days": "source VARCHAR, day DATE, covered BOOLEAN, how VARCHAR, detail VARCHAR, "
    "recorded_at TIMESTAMPTZ, PRIMARY KEY (source, day)",
    "step_inputs": "step VARCHAR PRIMARY KEY, fingerprint VARCHAR, result JSON, "
    "recorded_at TIMESTAMPTZ",
    "runs": "run_id VARCHAR PRIMARY KEY, command VARCHAR, started_at TIMESTAMPTZ, "
    "finished_at TIMESTAMPTZ, status VARCHAR, inputs JSON, parameters JSON, counts JSON, "
    "read BIGINT, loaded BIGINT, updated BIGINT, unchanged BIGINT, quarantined BIGINT, "
    "message VARCHAR",
}


def _district_2024_sql() -> str:
    """``stadsdelsomrade`` named in the 11-area scheme of 2024 (the 13 areas of 2021–2023
    fold into it: Rinkeby-Kista and Spånga-Tensta are Järva, Norrmalm and Östermalm are
    Norra innerstaden; the other nine keep their names)."""
    whens = " ".join(
        f"WHEN '{old}' THEN '{new}'" for old, new in SDO_13_TO_11.items() if old != new
    )
    return f"CASE stadsdelsomrade {whens} ELSE stadsdelsomrade END"


#: Years of Brå's statistics, one row per area, year and category (see ``crime_stats_yearly``).
_CRIME_STATS_YEARLY = """
WITH s AS (
    SELECT *, CASE WHEN source LIKE 'bra%' THEN 0 ELSE 1 END AS pri
    FROM crime_stats WHERE year IS NOT NULL AND area IS NOT NULL
), monthly AS (
    SELECT * FROM s WHERE month IS NOT NULL
    QUALIFY row_number() OVER (
        PARTITION BY area_scheme, area, year, month, category_key
        ORDER BY pri, count IS NULL, source_table
    ) = 1
), by_month AS (
    SELECT area_scheme, area, year, category_key,
        count(*) AS months,
        sum(count) AS months_sum,
        bool_or(count IS NULL) AS months_suppressed,
        bool_or(preliminary) AS months_preliminary,
        first(source_table ORDER BY pri, source_table) AS months_table
    FROM monthly GROUP BY ALL
), by_year AS (
    SELECT area_scheme, area, year, category_key,
        first({'count': count, 'suppressed': suppressed, 'preliminary': preliminary,
               'source_table': source_table} ORDER BY pri, count IS NULL, source_table)
            FILTER (WHERE month IS NULL AND rate_unit IS DISTINCT FROM 'per_100k')
            AS counted,
        first(rate ORDER BY pri, source_table)
            FILTER (WHERE month IS NULL AND rate_unit = 'per_100k') AS rate_per_100k,
        first(rate ORDER BY pri, source_table)
            FILTER (WHERE month IS NULL AND rate_unit = 'per_1000') AS rate_per_1000,
        first(category ORDER BY month IS NOT NULL, pri, source_table) AS category,
        list(DISTINCT source_table ORDER BY source_table) AS source_tables
    FROM s GROUP BY ALL
)
SELECT y.area_scheme, y.area, y.year, y.category_key, y.category,
    CAST(CASE WHEN y.counted IS NOT NULL THEN y.counted.count
              WHEN m.months = 12 AND NOT m.months_suppressed THEN m.months_sum END
         AS BIGINT) AS count,
    y.rate_per_100k, y.rate_per_1000,
    CASE WHEN y.counted IS NOT NULL THEN 12 ELSE coalesce(m.months, 0) END AS months,
    y.counted IS NOT NULL OR coalesce(m.months = 12, false) AS complete,
    CAST(CASE WHEN y.counted IS NULL AND m.months < 12 AND NOT m.months_suppressed
              THEN m.months_sum END AS BIGINT) AS count_so_far,
    coalesce(y.counted.suppressed,
             CASE WHEN m.months IS NOT NULL THEN m.months_suppressed END, false) AS suppressed,
    coalesce(y.counted.preliminary, m.months_preliminary, false) AS preliminary,
    CASE WHEN y.counted IS NOT NULL THEN y.counted.source_table
         WHEN m.months IS NOT NULL
         THEN m.months_table || ' (sum of ' || m.months || ' months)' END AS count_from,
    y.source_tables
FROM by_year y LEFT JOIN by_month m USING (area_scheme, area, year, category_key)
"""

_VIEWS = {
    # Analysts' convenience: events with a point geometry, for spatial SQL.
    "events_geo": "SELECT *, ST_Point(x, y) AS geom FROM events WHERE x IS NOT NULL",
    # Every event with the event it was derived from (shootings and fires are derived from
    # police events; their raw record names it) and its district in the 2024 scheme.
    "events_labelled": "SELECT *, CASE WHEN raw LIKE '%\"derived_from\":%' "
    "THEN json_extract_string(raw, '$.derived_from') END AS derived_from, "
    f"{_district_2024_sql()} AS stadsdelsomrade_2024 FROM events",
    # Each incident once: the events not derived from another stored event.
    "events_unique": "SELECT * FROM events_labelled WHERE derived_from IS NULL",
    # Brå's reported-crime statistics (the rest of `statistics` is shootings and fires).
    "crime_stats": "SELECT * FROM statistics WHERE source LIKE 'bra%' OR source LIKE '%arsbok%'",
    "crime_stats_yearly": _CRIME_STATS_YEARLY,
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


#: File mode of a published snapshot: read-only for everyone, so that ``connect`` opens it
#: read-only by default and a SQL client cannot write into a file the next run replaces.
SNAPSHOT_MODE = 0o444


def is_snapshot(path: Path | str) -> bool:
    """True for a file nobody may write: the mode of a published snapshot.

    The published database (``data/processed/trygghetskarta.duckdb``) is replaced whole by
    every run (see :mod:`trygghetskarta.store.snapshot`); what a reader wrote into it would
    be lost, so it is read-only on disk.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISREG(mode) and not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def connect(
    db_path: Path | str, *, read_only: bool | None = None, memory_limit: str | None = None
) -> duckdb.DuckDBPyConnection:
    """Open the database, load the spatial extension offline and create missing tables.

    Parameters
    ----------
    db_path
        The DuckDB file; ``":memory:"`` for a throwaway database (tests).
    read_only
        Open without write access (any number of readers, in any processes, may share the
        file). ``None`` (the default): read-only when the file is a published snapshot
        (read-only on disk, as ``data/processed/trygghetskarta.duckdb`` is), read-write
        otherwise. An analyst's ``store.connect("data/processed/trygghetskarta.duckdb")``
        therefore never blocks the nightly run. It keeps the data it opened until every
        connection of this process to that path is closed; connect again after that to see
        what a later run published.
    memory_limit
        DuckDB's ``memory_limit`` for this connection's database (e.g. ``"1GB"``; the
        batch passes ``Settings.db_memory_limit``); beyond it DuckDB spills to a temporary
        directory beside the file. ``None``: DuckDB's default (80 % of the memory).

    Raises
    ------
    StoreError
        The file is locked by another process, cannot be created, or is not a DuckDB file;
        or ``read_only=False`` was asked of a published snapshot.
    """
    if str(db_path) != ":memory:":
        path = Path(db_path)
        snapshot = is_snapshot(path)
        if read_only is None:
            read_only = snapshot
        elif not read_only and snapshot:
            raise StoreError(
                f"{path} is read-only on disk: it is the snapshot the nightly run publishes "
                "and replaces whole, so nothing written into it would last — open it "
                "read-only (store.connect(path)), or copy it and make the copy writable "
                "(chmod u+w) to write tables of your own"
            )
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
    if memory_limit is not None:
        try:
            quoted = memory_limit.replace("'", "''")
            con.execute(f"SET memory_limit = '{quoted}'")
        except duckdb.Error as e:
            con.close()
            raise StoreError(
                f"DuckDB refused the memory limit {memory_limit!r} ({e}) — give a size such "
                "as '1GB'"
            ) from e
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
    # Databases made before live events got their page text.
    con.execute("ALTER TABLE events ADD COLUMN IF NOT EXISTS text_missing VARCHAR")
    # Databases made before quarantine reasons had a class (schema.QuarantineClass).
    con.execute("ALTER TABLE quarantine ADD COLUMN IF NOT EXISTS reason_class VARCHAR")
    _classify_quarantine(con)
    for name, query in _VIEWS.items():
        con.execute(f"CREATE OR REPLACE VIEW {name} AS {query}")


def _classify_quarantine(con: duckdb.DuckDBPyConnection) -> None:
    """Give every quarantined record without a class its class, from the same prefixes as
    :func:`trygghetskarta.schema.quarantine_class` (a no-op once every row has one)."""
    cases, params = [], []
    for kind, prefixes in QUARANTINE_CLASS_PREFIXES.items():
        for prefix in prefixes:
            cases.append("WHEN starts_with(reason, ?) THEN ?")
            params += [prefix, kind.value]
    con.execute(
        f"UPDATE quarantine SET reason_class = CASE {' '.join(cases)} ELSE ? END "
        "WHERE reason_class IS NULL",
        [*params, QuarantineClass.INVALID.value],
    )


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


@contextmanager
def fewer_threads(con: duckdb.DuckDBPyConnection, by: int = 1) -> Iterator[None]:
    """Run a block with ``by`` fewer DuckDB threads (at least one), then restore them.

    For statements that run beside other work of the same job (a list read ahead in a
    process of its own): with every core DuckDB's, the two would take turns on each.
    """
    (before,) = con.execute("SELECT current_setting('threads')").fetchone()  # type: ignore[misc]
    con.execute(f"SET threads = {max(1, int(before) - by)}")
    try:
        yield
    finally:
        con.execute(f"SET threads = {int(before)}")
