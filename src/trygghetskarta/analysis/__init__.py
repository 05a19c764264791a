"""Analyses: pure functions on arrays and frames, no database access.

This is the analyst's API (see ``docs/api.md`` for a worked example of each function on
the real data). Every name below is importable from ``trygghetskarta.analysis`` and, for
short, from ``trygghetskarta`` itself.

- **Inputs** (:mod:`.points`): every function that takes event positions accepts a
  ``GeoSeries``/``GeoDataFrame`` of points in any CRS (reprojected to EPSG:3006), a frame
  with ``x``/``y`` columns, or x and y arrays; degrees without a CRS are refused.
  :func:`to_points` makes a GeoDataFrame of the store's events, :func:`as_xy` is the
  conversion itself. Area statistics take a libpysal ``W`` or ``Graph``, the areas'
  ``GeoDataFrame``, an adjacency or neighbour lists (:func:`area_inputs`).
- **Rasters** (:mod:`.grid`): the :class:`Grid` type (``to_geotiff``, ``from_geotiff``,
  ``to_xarray``, ``to_geodataframe``, ``plot``), :func:`grid_from_bounds`,
  :func:`cell_centres`, :func:`area_mask`.
- **Density** (:mod:`.density`, :mod:`.bandwidth`): :func:`kde` (linear binning + FFT,
  kernels widened by each event's uncertainty), :func:`bandwidth_scott`,
  :func:`bandwidth_silverman`, :func:`bandwidth_cv`.
- **Hot spots** (:mod:`.hotspots`, :mod:`.cells`, :mod:`.neighbours`): :func:`count_grid`,
  :func:`gi_star` on grids, :func:`gi_star_areas` on areas (results indexed like the
  input: ``GiStar.to_frame()``), :func:`queen_neighbours`, :func:`rook_neighbours`,
  :func:`adjacency_from_lists`, :func:`neighbour_lists`, :func:`higher_order`;
  significance helpers :func:`benjamini_hochberg`, :func:`confidence_bins`.
- **Local Moran's I** (:mod:`.local_moran`): :func:`local_moran`, :func:`local_moran_rate`,
  :func:`eb_rates`, :func:`assuncao_reis_rates`.
- **Emerging hot spots** (:mod:`.spacetime`, :mod:`.emerging`, :mod:`.mann_kendall`):
  :func:`space_time_cube`, :func:`gi_star_cube`, :func:`emerging_hotspots`,
  :func:`classify_emerging`, :func:`mann_kendall`.
- **Near-repeat** (:mod:`.nearrepeat`): :func:`knox`, :func:`knox_table`.
- **Clusters** (:mod:`.clusters`, loaded on first use: it imports scikit-learn):
  :func:`dbscan`, :func:`hdbscan`, :func:`cluster_outlines`.
- **Trends and rhythm** (:mod:`.trends`, :mod:`.rates`, :mod:`.rhythm`, :mod:`.schemes`):
  :func:`monthly_counts`, :func:`period_summary`, :func:`monthly_series`,
  :func:`change_table`, :func:`seasonal_baseline`, :func:`hour_weekday`,
  the normal range (:mod:`.normal_range`: :func:`seasonal_range`, :func:`count_interval`,
  :func:`rate_interval`, :class:`PredictionInterval`),
  :func:`to_2024_districts`, :func:`to_2021_2023_districts`, :func:`scheme_mapping`.
- **Places** (:mod:`.places`): :func:`top_places`, the places an area's events name most
  often, without the area's own name.
- **Forecasts** (:mod:`.forecast`, :mod:`.evaluate`): :func:`count_history`,
  :func:`forecast`, :func:`forecast_all`, :func:`cell_units`; the rolling-origin
  back-test :func:`backtest` (:class:`Backtest`), :func:`capture`, :func:`rolling_origins`.
- **Follow-up of measures** (:mod:`.followup`): :func:`parse_measures` (:class:`Measure`,
  :class:`MeasureError`), :func:`monthly_matrix`, :func:`choose_comparison`,
  :func:`follow_up` (:class:`FollowUp`).

The nightly ``analyse`` step runs the same functions on the store's events for every
layer, category and district.
"""

from __future__ import annotations

from typing import Any

from trygghetskarta.analysis.bandwidth import (
    DensityWarning,
    bandwidth_cv,
    bandwidth_scott,
    bandwidth_silverman,
)
from trygghetskarta.analysis.cells import count_grid
from trygghetskarta.analysis.density import kde
from trygghetskarta.analysis.emerging import (
    CATEGORIES,
    EmergingHotspots,
    classify_emerging,
    emerging_hotspots,
)
from trygghetskarta.analysis.evaluate import Backtest, backtest, capture, rolling_origins
from trygghetskarta.analysis.followup import (
    FollowUp,
    Measure,
    MeasureError,
    choose_comparison,
    follow_up,
    monthly_matrix,
    parse_measures,
)
from trygghetskarta.analysis.forecast import (
    CountHistory,
    cell_units,
    count_history,
    forecast,
    forecast_all,
)
from trygghetskarta.analysis.grid import Grid, area_mask, cell_centres, grid_from_bounds
from trygghetskarta.analysis.hotspots import GiStar, gi_star, gi_star_areas
from trygghetskarta.analysis.local_moran import (
    LocalMoran,
    assuncao_reis_rates,
    eb_rates,
    local_moran,
    local_moran_rate,
)
from trygghetskarta.analysis.mann_kendall import MannKendall, mann_kendall
from trygghetskarta.analysis.nearrepeat import KnoxResult, KnoxTable, knox, knox_table
from trygghetskarta.analysis.neighbours import (
    adjacency_from_lists,
    area_inputs,
    higher_order,
    neighbour_lists,
    queen_neighbours,
    rook_neighbours,
)
from trygghetskarta.analysis.normal_range import (
    PredictionInterval,
    count_interval,
    rate_interval,
    seasonal_range,
)
from trygghetskarta.analysis.places import top_places
from trygghetskarta.analysis.points import as_xy, looks_like_degrees, to_points
from trygghetskarta.analysis.rates import change_table, monthly_series
from trygghetskarta.analysis.rhythm import HourWeekday, hour_weekday, seasonal_baseline
from trygghetskarta.analysis.schemes import (
    scheme_mapping,
    to_2021_2023_districts,
    to_2024_districts,
)
from trygghetskarta.analysis.significance import benjamini_hochberg, confidence_bins
from trygghetskarta.analysis.spacetime import SpaceTimeCube, gi_star_cube, space_time_cube
from trygghetskarta.analysis.trends import monthly_counts, period_summary

#: Names loaded from their module on first access (scikit-learn is slow to import).
_LAZY = {
    "Clusters": "trygghetskarta.analysis.clusters",
    "cluster_outlines": "trygghetskarta.analysis.clusters",
    "dbscan": "trygghetskarta.analysis.clusters",
    "hdbscan": "trygghetskarta.analysis.clusters",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CATEGORIES",
    "Backtest",
    "Clusters",
    "CountHistory",
    "DensityWarning",
    "EmergingHotspots",
    "FollowUp",
    "GiStar",
    "Grid",
    "HourWeekday",
    "KnoxResult",
    "KnoxTable",
    "LocalMoran",
    "MannKendall",
    "Measure",
    "MeasureError",
    "PredictionInterval",
    "SpaceTimeCube",
    "adjacency_from_lists",
    "area_inputs",
    "area_mask",
    "as_xy",
    "assuncao_reis_rates",
    "backtest",
    "bandwidth_cv",
    "bandwidth_scott",
    "bandwidth_silverman",
    "benjamini_hochberg",
    "capture",
    "cell_centres",
    "cell_units",
    "change_table",
    "choose_comparison",
    "classify_emerging",
    "cluster_outlines",
    "confidence_bins",
    "count_grid",
    "count_history",
    "count_interval",
    "dbscan",
    "eb_rates",
    "emerging_hotspots",
    "follow_up",
    "forecast",
    "forecast_all",
    "gi_star",
    "gi_star_areas",
    "gi_star_cube",
    "grid_from_bounds",
    "hdbscan",
    "higher_order",
    "hour_weekday",
    "kde",
    "knox",
    "knox_table",
    "local_moran",
    "local_moran_rate",
    "looks_like_degrees",
    "mann_kendall",
    "monthly_counts",
    "monthly_matrix",
    "monthly_series",
    "neighbour_lists",
    "parse_measures",
    "period_summary",
    "queen_neighbours",
    "rate_interval",
    "rolling_origins",
    "rook_neighbours",
    "scheme_mapping",
    "seasonal_baseline",
    "seasonal_range",
    "space_time_cube",
    "to_2021_2023_districts",
    "to_2024_districts",
    "to_points",
    "top_places",
]
