"""The ``analyse`` step: monthly counts, and rasters and tables of every analysis."""

from __future__ import annotations

from typing import Any

import duckdb
import numpy as np
import shapely

from trygghetskarta import areas as areas_mod
from trygghetskarta import outputs, store
from trygghetskarta._steps import Progress, StepResult, no_progress, timed
from trygghetskarta.analysis import density, trends
from trygghetskarta.analysis.grid import cell_centres
from trygghetskarta.config import STORE_CRS, Settings
from trygghetskarta.periods import Period, default_period


def _kommun_mask(settings: Settings, grid_transform: Any, shape: tuple[int, int]) -> np.ndarray:
    """Boolean mask of cells whose centre lies inside the kommun."""
    kommun = areas_mod.load_areas(settings.require_data()).kommun.geometry.union_all()
    xs, ys = cell_centres(grid_transform, shape)
    grid_x, grid_y = np.meshgrid(xs, ys)
    return shapely.contains_xy(kommun, grid_x, grid_y)


def analyse(
    settings: Settings,
    con: duckdb.DuckDBPyConnection,
    *,
    period: Period | None = None,
    progress: Progress = no_progress,
) -> StepResult:
    """Monthly counts per district and category, and one density raster per layer."""
    result = StepResult("analyse")
    with timed(result):
        events = store.read_events(
            con,
            columns=[
                "event_uid",
                "layer",
                "category",
                "occurred_at",
                "x",
                "y",
                "precision",
                "uncertainty_m",
                "stadsdelsomrade",
                "stadsdel",
            ],
        )
        if events.empty:
            result.warnings.append("the store holds no events — run `trygghetskarta ingest` first")
            return result
        period = period or default_period(events["occurred_at"])
        result.counts["period"] = period.label
        monthly = trends.monthly_counts(events, by=("layer", "stadsdelsomrade", "category"))
        result.counts["monthly_rows"] = store.replace_table(con, "monthly_counts", monthly)

        kommun = areas_mod.load_areas(settings.require_data()).kommun.to_crs(STORE_CRS)
        bounds = tuple(kommun.total_bounds)
        raster_dir = settings.processed_dir / "rasters"
        in_period = events[
            (events["occurred_at"] >= period.start) & (events["occurred_at"] < period.end)
        ]
        layers = sorted(in_period["layer"].unique())
        for i, layer in enumerate(layers):
            progress("Täthetskartor", i, len(layers))
            subset = in_period[(in_period["layer"] == layer) & in_period["x"].notna()]
            grid = density.kde(
                subset["x"].to_numpy(),
                subset["y"].to_numpy(),
                cell_size=settings.cell_size_m,
                bandwidth=settings.bandwidth_m,
                bounds=bounds,
                uncertainty=subset["uncertainty_m"].to_numpy(),
            )
            mask = _kommun_mask(settings, grid.transform, grid.values.shape)
            path = raster_dir / f"density_{layer}_{period.slug}.tif"
            outputs.write_geotiff(
                grid,
                path,
                mask=mask,
                extra_tags={
                    "layer": layer,
                    "period_start": period.start.date().isoformat(),
                    "period_end": period.end.date().isoformat(),
                    "n_without_position": int((in_period["layer"] == layer).sum() - len(subset)),
                },
            )
            result.files.append(path)
        progress("Täthetskartor", len(layers), len(layers))
    return result
