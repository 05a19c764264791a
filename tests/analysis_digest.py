"""Digests of what the ``analyse`` step wrote: numbers to compare with reference values.

A raster's digest is its shape, transform, count of finite cells and the sum, maximum and
sum of squares of its finite values; a GeoParquet table's is its rows and, per numeric
column, the sum of its finite values; a DuckDB table's likewise. Parameters (tags, the
``params`` column) are left out: they say how a file was made, and may grow without the
numbers changing. Compare two digests with :func:`assert_same` (a relative tolerance, as
float32 rasters and FFT sums differ in the last bits between machines).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import rasterio

#: The DuckDB tables the step writes.
DB_TABLES = ("monthly_counts", "trends", "trend_changes", "hour_weekday", "near_repeat")


def _numbers(frame: pd.DataFrame) -> dict[str, Any]:
    out: dict[str, Any] = {"rows": len(frame)}
    for col in sorted(frame.columns):
        if col in ("params", "geometry"):
            continue
        values = frame[col]
        if pd.api.types.is_bool_dtype(values):
            out[col] = int(values.fillna(False).astype(bool).sum())
        elif pd.api.types.is_numeric_dtype(values):
            v = values.to_numpy(dtype=float)
            out[col] = round(float(np.nansum(v[np.isfinite(v)])), 6)
        else:
            out[col] = int(values.notna().sum())
    return out


def raster_digest(path: Path) -> dict[str, Any]:
    with rasterio.open(path) as src:
        v = src.read(1).astype(float)
        transform = [round(float(t), 6) for t in tuple(src.transform)[:6]]
    ok = np.isfinite(v)
    return {
        "shape": list(v.shape),
        "transform": transform,
        "finite": int(ok.sum()),
        "sum": float(v[ok].sum()) if ok.any() else 0.0,
        "max": float(v[ok].max()) if ok.any() else 0.0,
        "sumsq": float((v[ok] ** 2).sum()) if ok.any() else 0.0,
    }


def digest(processed_dir: Path, con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Every raster, GeoParquet table and DuckDB table the step wrote, as numbers."""
    import geopandas as gpd

    out: dict[str, Any] = {}
    for path in sorted((processed_dir / "rasters").rglob("*.tif")):
        out[path.relative_to(processed_dir).as_posix()] = raster_digest(path)
    for path in sorted((processed_dir / "tables").glob("*.parquet")):
        out[path.relative_to(processed_dir).as_posix()] = _numbers(gpd.read_parquet(path))
    for name in DB_TABLES:
        out[f"db/{name}"] = _numbers(con.execute(f"SELECT * FROM {name}").df())
    return out


def differences(reference: dict[str, Any], now: dict[str, Any], *, rel: float = 1e-5) -> list[str]:
    """What differs between two digests (files only in ``now`` are not differences)."""
    found = []
    for name, ref in reference.items():
        if name not in now:
            found.append(f"{name}: missing")
            continue
        for key, a in ref.items():
            b = now[name].get(key)
            if isinstance(a, float) or isinstance(b, float):
                if b is None or not math.isclose(a, b, rel_tol=rel, abs_tol=1e-6):
                    found.append(f"{name}[{key}]: {a!r} then, {b!r} now")
            elif a != b:
                found.append(f"{name}[{key}]: {a!r} then, {b!r} now")
    return found


def town_events(rng_seed: int = 10) -> pd.DataFrame:
    """The tiny town's events of ``test_analyse_step`` plus 400 seeded ones over two years:
    enough for Gi* (30 events), clusters, Knox and emerging hot spots to give numbers."""
    from test_analyse_step import THEFT, event, frame
    from test_analyse_step import town_events as hand_written

    rng = np.random.default_rng(rng_seed)
    rows = []
    months = pd.date_range("2024-01-01", "2025-12-01", freq="MS")
    for i in range(400):
        hot = i % 3 == 0
        x = rng.normal(1500, 150) if hot else rng.uniform(50, 3950)
        y = rng.normal(600, 150) if hot else rng.uniform(50, 1950)
        when = months[rng.integers(len(months))] + pd.Timedelta(
            days=int(rng.integers(28)), hours=int(rng.integers(24))
        )
        district = "A" if x < 2000 else "B"
        half = "w" if (x % 2000) < 1000 else "e"
        name = ("A1" if x < 2000 else "B") + half
        rows.append(
            event(
                x,
                y,
                when.strftime("%Y-%m-%d %H:%M"),
                category=THEFT if i % 4 == 1 else "violence",
                layer="reported_crime" if i % 5 == 4 else "police_event",
                uncertainty=float(rng.choice([10.0, 25.0, 150.0, 600.0])),
                stadsdel=name,
                district=district if when.year >= 2024 else name[:2],
            )
        )
    added = frame(rows)
    added["event_uid"] = [f"r:{i}" for i in range(len(added))]
    return pd.concat([hand_written(), added], ignore_index=True)
