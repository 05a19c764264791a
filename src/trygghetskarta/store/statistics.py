"""Statistics, areas and whole derived tables in the store.

Part of :mod:`trygghetskarta.store`.
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb
import pandas as pd

from trygghetskarta.schema import (
    STATISTICS_COLUMNS,
)
from trygghetskarta.store.connection import _TABLES
from trygghetskarta.store.events import MergeCounts


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
