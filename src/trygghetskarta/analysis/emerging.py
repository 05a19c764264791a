"""Emerging hot spots: a space-time cube, space-time Gi*, Mann-Kendall trends, ArcGIS's 17 patterns.

:func:`space_time_cube` counts events per grid cell and period; :func:`emerging_hotspots`
finds, for every cell, whether it is a new, consecutive, intensifying, persistent,
diminishing, sporadic, oscillating or historical hot (or cold) spot, or shows no pattern,
following ArcGIS Pro's *Emerging Hot Spot Analysis*.

Method
------
1. **Space-time Gi\\*** (:func:`gi_star_cube`). Each bin (cell × period) is compared with
   its space-time neighbourhood: the ``(2d+1) × (2d+1)`` square of cells around it
   (``neighbourhood=d``, the cell included, as in
   :func:`~trygghetskarta.analysis.hotspots.gi_star`) in its own period and in the
   ``time_steps`` periods before it (ArcGIS's *Neighborhood Time Step*, default 1; only
   earlier periods, never later ones; the first periods have fewer). The neighbourhood
   sum is compared with the mean and standard deviation of a *global window*
   (ArcGIS's *Define Global Window*): ``"cube"`` — all bins of the cube (ArcGIS's
   default *Entire cube*); ``"time_window"`` — the bins of the periods in the bin's
   time window (*Neighborhood time step*); ``"period"`` — the bins of the bin's own
   period (*Individual time step*). The z-score is Gi*'s, with ``n`` the number of
   bins in the global window. ``time_steps=0, global_window="period"`` is plain Gi* per
   period, identical to ``gi_star`` on each period's grid.
2. **Bins.** p-values are two-sided and, with ``fdr=True``, Benjamini–Hochberg
   adjusted over all bins of the cube (ArcGIS applies an FDR correction to the bins).
   A bin is a *significant hot spot* when its adjusted p ≤ ``alpha`` and z > 0, a
   *significant cold spot* when z < 0. ``alpha`` defaults to 0.10: ArcGIS counts bins
   of 90 % confidence and more (``Gi_Bin`` ±1 … ±3) as hot or cold spots.
3. **Trend.** The Mann-Kendall test of each cell's series of Gi* z-scores
   (:func:`~trygghetskarta.analysis.mann_kendall.mann_kendall`, pymannkendall's
   ``original_test``) says whether the clustering intensifies (significant upward
   trend at ``trend_alpha``) or diminishes. The trend of the counts themselves is
   reported too (``count_trend``, with Sen's slope in events per period).
4. **Patterns** (:func:`classify_emerging`), ArcGIS Pro's definitions quoted there.

How this deviates from ArcGIS
-----------------------------
- The spatial neighbourhood is a square of queen-contiguous cells, not ArcGIS's fixed
  distance band (which defaults to a distance estimated from the data): for
  ``neighbourhood=d`` it equals a fixed-distance band of ``d`` cells measured with the
  Chebyshev (chessboard) distance.
- Cells outside the study area (NaN, from ``mask``) are left out entirely. ArcGIS
  without a polygon mask analyses only locations with at least one event in some
  period; here every cell in the mask is analysed, an all-zero cell included (a place
  with no events is information, and leaving it out inflates the mean).
- Where ArcGIS's definitions overlap, the order of the checks in
  :func:`classify_emerging` decides; the cases are listed there.
- No permutation inference for the cube (ArcGIS has none either).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from affine import Affine
from numpy.typing import ArrayLike

from trygghetskarta.analysis.grid import (
    Grid,
    cell_centres,
)
from trygghetskarta.analysis.mann_kendall import MannKendall, mann_kendall
from trygghetskarta.analysis.significance import benjamini_hochberg, confidence_bins
from trygghetskarta.analysis.spacetime import (
    GLOBAL_WINDOWS,
    SpaceTimeCube,
    gi_star_cube,
    space_time_cube,
)
from trygghetskarta.config import STORE_CRS
from trygghetskarta.errors import AnalysisError

#: Pattern codes in the order of ArcGIS's list (its ``CATEGORY`` field); cold spots negative.
CATEGORIES: dict[int, str] = {
    0: "no pattern detected",
    1: "new hot spot",
    2: "consecutive hot spot",
    3: "intensifying hot spot",
    4: "persistent hot spot",
    5: "diminishing hot spot",
    6: "sporadic hot spot",
    7: "oscillating hot spot",
    8: "historical hot spot",
    -1: "new cold spot",
    -2: "consecutive cold spot",
    -3: "intensifying cold spot",
    -4: "persistent cold spot",
    -5: "diminishing cold spot",
    -6: "sporadic cold spot",
    -7: "oscillating cold spot",
    -8: "historical cold spot",
}
#: Fewer periods than this and the Mann-Kendall test has little power (and "historical"
#: needs ≥ 10: 90 % of the periods hot with the last one not).
MIN_PERIODS_ADVISED = 10

__all__ = [
    "CATEGORIES",
    "GLOBAL_WINDOWS",
    "EmergingHotspots",
    "SpaceTimeCube",
    "classify_emerging",
    "emerging_hotspots",
    "gi_star_cube",
    "space_time_cube",
]


# --------------------------------------------------------------------------------------
# the patterns


def classify_emerging(
    hot: ArrayLike,
    cold: ArrayLike,
    trend_up: ArrayLike,
    trend_down: ArrayLike,
) -> np.ndarray:
    """ArcGIS's emerging hot spot pattern of each location from its significant bins and trend.

    Parameters
    ----------
    hot, cold
        Boolean ``(periods, ...)``: the bin is a significant hot / cold spot.
    trend_up, trend_down
        Boolean ``(...)``: the location's Gi* z-scores have a significant upward /
        downward Mann-Kendall trend.

    Returns
    -------
    numpy.ndarray
        ``int8`` codes of :data:`CATEGORIES` (0 no pattern, 1 … 8 hot, −1 … −8 cold).

    Notes
    -----
    ArcGIS Pro's definitions ("How Emerging Hot Spot Analysis works"), with ``n`` the
    number of periods and "90 percent" read as ``hot bins ≥ 0.9 n``:

    - *New Hot Spot*: "a statistically significant hot spot for the final time step and
      has never been a statistically significant hot spot before."
    - *Consecutive Hot Spot*: "a single uninterrupted run of at least two statistically
      significant hot spot bins in the final time-step intervals. The location has never
      been a statistically significant hot spot prior to the final hot spot run and less
      than 90 percent of all bins are statistically significant hot spots."
    - *Intensifying Hot Spot*: "a statistically significant hot spot for 90 percent of
      the time-step intervals, including the final time step. In addition, the intensity
      of clustering of high counts in each time step is increasing overall and that
      increase is statistically significant."
    - *Persistent Hot Spot*: "a statistically significant hot spot for 90 percent of the
      time-step intervals with no discernible trend in the intensity of clustering over
      time."
    - *Diminishing Hot Spot*: "a statistically significant hot spot for 90 percent of
      the time-step intervals, including the final time step. In addition, the intensity
      of clustering in each time step is decreasing overall and that decrease is
      statistically significant."
    - *Sporadic Hot Spot*: "a statistically significant hot spot for the final time-step
      interval with a history of also being an on-again and off-again hot spot. Less than
      90 percent of the time-step intervals have been statistically significant hot
      spots and none of the time-step intervals have been statistically significant
      cold spots."
    - *Oscillating Hot Spot*: "a statistically significant hot spot for the final
      time-step interval that has a history of also being a statistically significant
      cold spot during a prior time step. Less than 90 percent of the time-step
      intervals have been statistically significant hot spots."
    - *Historical Hot Spot*: "the most recent time period is not hot, but at least 90
      percent of the time-step intervals have been statistically significant hot spots."
    - Cold spots: the same with hot and cold swapped (an *intensifying* cold spot's z
      trends downward).
    - *No Pattern Detected*: none of the above.

    The definitions overlap; the checks run in this order, which makes every location
    get exactly one pattern:

    1. Final period hot → hot family. With ``h ≥ 0.9 n`` hot bins: intensifying (upward
       trend), diminishing (downward trend), else persistent. With fewer: oscillating if
       any bin was a cold spot; else new if this is the only hot bin; else consecutive if
       the hot bins form one run of ≥ 2 ending in the final period; else sporadic. So a
       prior cold spot makes a location oscillating, never new or consecutive (as in
       sfdep), and persistent requires the final period to be hot (otherwise the
       location is historical, the more specific definition).
    2. Final period cold → the mirror image.
    3. Final period neither → historical hot spot if ``h ≥ 0.9 n``, historical cold spot
       if ``c ≥ 0.9 n``, else no pattern. Historical patterns therefore need n ≥ 10.

    Examples
    --------
    >>> H = np.array([[0], [0], [1], [1]], dtype=bool)   # hot in the last two of 4 periods
    >>> C = np.zeros_like(H)
    >>> int(classify_emerging(H, C, [False], [False])[0])
    2
    """
    h_arr = np.asarray(hot, dtype=bool)
    c_arr = np.asarray(cold, dtype=bool)
    if h_arr.shape != c_arr.shape or h_arr.ndim < 1 or h_arr.shape[0] == 0:
        raise AnalysisError(
            f"hot and cold must be boolean arrays of the same shape (periods, ...), got "
            f"{h_arr.shape} and {c_arr.shape}"
        )
    if np.any(h_arr & c_arr):
        raise AnalysisError("a bin cannot be both a hot and a cold spot")
    up = np.broadcast_to(np.asarray(trend_up, dtype=bool), h_arr.shape[1:])
    down = np.broadcast_to(np.asarray(trend_down, dtype=bool), h_arr.shape[1:])
    n = h_arr.shape[0]
    out = np.zeros(h_arr.shape[1:], dtype=np.int8)
    for sign, a, b, grows, fades in ((1, h_arr, c_arr, up, down), (-1, c_arr, h_arr, down, up)):
        count = a.sum(axis=0)
        other = b.sum(axis=0)
        last = a[-1]
        run = np.cumprod(a[::-1], axis=0).sum(axis=0)  # length of the final run
        mostly = 10 * count >= 9 * n
        code = np.select(
            [
                last & mostly & grows,
                last & mostly & fades,
                last & mostly,
                last & (other > 0),
                last & (count == 1),
                last & (run == count) & (run >= 2),
                last,
            ],
            [3, 5, 4, 7, 1, 2, 6],
            default=0,
        )
        out = np.where(code > 0, sign * code, out).astype(np.int8)
    neither = ~h_arr[-1] & ~c_arr[-1]
    out[neither & (10 * h_arr.sum(axis=0) >= 9 * n)] = 8
    out[neither & (10 * c_arr.sum(axis=0) >= 9 * n)] = -8
    return out


# --------------------------------------------------------------------------------------
# the analysis


@dataclass(frozen=True, eq=False)
class EmergingHotspots:
    """Emerging hot spot patterns per cell, with the bins and trends behind them.

    Attributes
    ----------
    category
        ``int8 (rows, cols)`` pattern codes of :data:`CATEGORIES` (0 also outside the
        study area — see ``valid``).
    valid
        ``(rows, cols)`` True where the cell was analysed.
    z, p_adjusted, bins
        Per bin ``(periods, rows, cols)``: space-time Gi* z, the (FDR-adjusted) p-value
        and ArcGIS's ``Gi_Bin`` (−3 … 3).
    hot, cold
        Per bin: significant hot / cold spot at ``alpha``.
    trend
        Mann-Kendall test of each cell's z-scores (arrays ``(rows, cols)``; its Sen's
        slope is not computed).
    count_trend
        Mann-Kendall test and Sen's slope of each cell's counts.
    periods, transform, crs
        As in the cube.
    params
        Everything that made the result; ``note`` says what limits it.
    """

    category: np.ndarray
    valid: np.ndarray
    z: np.ndarray
    p_adjusted: np.ndarray
    bins: np.ndarray
    hot: np.ndarray
    cold: np.ndarray
    trend: MannKendall
    count_trend: MannKendall
    periods: tuple[Any, ...]
    transform: Affine
    crs: str = STORE_CRS
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def names(self) -> np.ndarray:
        """Pattern names per cell (``""`` outside the study area)."""
        lookup = np.vectorize(CATEGORIES.__getitem__, otypes=[object])
        out = lookup(self.category)
        out[~self.valid] = ""
        return out

    def counts(self) -> dict[str, int]:
        """Number of analysed cells in each pattern, in the order of :data:`CATEGORIES`."""
        codes = self.category[self.valid]
        return {name: int((codes == code).sum()) for code, name in CATEGORIES.items()}

    def grids(self) -> dict[str, Grid]:
        """``category``, ``trend_z`` and ``count_slope`` grids for GeoTIFF output (NaN outside)."""
        tags = {k: v for k, v in self.params.items() if isinstance(v, str | int | float)}
        legend = "; ".join(f"{c} = {n}" for c, n in CATEGORIES.items())

        def grid(a: np.ndarray, layer: str, units: str, **extra: str) -> Grid:
            v = a.astype(np.float32)
            v[~self.valid] = np.nan
            return Grid(v, self.transform, self.crs, {**tags, "layer": layer, **extra}, units)

        return {
            "category": grid(self.category, "emerging_category", "pattern code", classes=legend),
            "trend_z": grid(self.trend.z, "emerging_trend_z", "Mann-Kendall z of Gi* z"),
            "count_slope": grid(self.count_trend.slope, "count_sen_slope", "events per period"),
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per analysed cell: position, pattern and trends, with a polygon per cell.

        Returns a GeoDataFrame in the cube's CRS (write it with ``to_parquet``).
        """
        import geopandas as gpd
        import shapely

        rows, cols = np.nonzero(self.valid)
        xs, ys = cell_centres(self.transform, self.valid.shape)
        half = self.transform.a / 2
        cx, cy = xs[cols], ys[rows]
        frame = pd.DataFrame(
            {
                "row": rows,
                "col": cols,
                "x": cx,
                "y": cy,
                "category": self.category[rows, cols],
                "pattern": self.names[rows, cols].astype(str),
                "n_hot_bins": self.hot[:, rows, cols].sum(axis=0),
                "n_cold_bins": self.cold[:, rows, cols].sum(axis=0),
                "last_bin": self.bins[-1, rows, cols],
                "trend_z": self.trend.z[rows, cols],
                "trend_p": self.trend.p[rows, cols],
                "count_trend_z": self.count_trend.z[rows, cols],
                "count_trend_p": self.count_trend.p[rows, cols],
                "count_slope": self.count_trend.slope[rows, cols],
            }
        )
        geometry = shapely.box(cx - half, cy - half, cx + half, cy + half)
        return gpd.GeoDataFrame(frame, geometry=geometry, crs=self.crs)


def emerging_hotspots(
    cube: SpaceTimeCube,
    *,
    neighbourhood: int = 1,
    time_steps: int = 1,
    global_window: str = "cube",
    alpha: float = 0.10,
    trend_alpha: float = 0.10,
    fdr: bool = True,
) -> EmergingHotspots:
    """ArcGIS-style Emerging Hot Spot Analysis of a space-time cube.

    Parameters
    ----------
    cube
        From :func:`space_time_cube` (or any counts or values per period and cell).
    neighbourhood
        Spatial neighbourhood ``d`` in cells (``(2d+1)²`` square, cell included).
    time_steps
        Earlier periods in each bin's neighbourhood (ArcGIS's default 1).
    global_window
        ``"cube"`` (default), ``"time_window"`` or ``"period"``; see the module notes.
    alpha
        Level at which a bin counts as a significant hot or cold spot (0.10: ArcGIS's
        90 % confidence).
    trend_alpha
        Level of the Mann-Kendall trend (intensifying / diminishing).
    fdr
        Benjamini–Hochberg over all bins of the cube (default).

    Returns
    -------
    EmergingHotspots

    Raises
    ------
    AnalysisError
        A cube with no valid bin, fewer than two periods, or bad parameters.

    Examples
    --------
    A block of cells that turns hot in the last period is a new hot spot:

    >>> rng = np.random.default_rng(0)
    >>> v = rng.poisson(3, size=(12, 9, 9)).astype(float)
    >>> v[-1, 3:6, 3:6] += 12
    >>> cube = SpaceTimeCube(v, tuple(range(12)), Affine(100, 0, 0, 0, -100, 900))
    >>> res = emerging_hotspots(cube, time_steps=0, global_window="period")
    >>> res.names[4, 4]
    'new hot spot'
    """
    if not isinstance(cube, SpaceTimeCube):
        raise AnalysisError(
            f"expected a SpaceTimeCube (from space_time_cube), got {type(cube).__name__}"
        )
    if not 0 < float(alpha) < 1 or not 0 < float(trend_alpha) < 1:
        raise AnalysisError(
            f"alpha and trend_alpha must be levels in (0, 1), got {alpha!r} and {trend_alpha!r}"
        )
    v = cube.values
    n_periods = v.shape[0]
    if n_periods < 2:
        raise AnalysisError(
            f"emerging hot spots need at least 2 periods (advised ≥ {MIN_PERIODS_ADVISED}), "
            f"got {n_periods} — use gi_star for a single period"
        )
    z, p, constant = gi_star_cube(
        v, neighbourhood=neighbourhood, time_steps=time_steps, global_window=global_window
    )
    valid_bins = np.isfinite(v)
    valid = valid_bins.all(axis=0)
    p_adj = benjamini_hochberg(p) if fdr else p
    with np.errstate(invalid="ignore"):
        sig = (p_adj <= float(alpha)) & valid_bins
    hot = sig & (z > 0)
    cold = sig & (z < 0)
    bins = confidence_bins(z, p_adj)
    trend = mann_kendall(np.where(valid_bins, z, np.nan), axis=0, slope=False)
    count_trend = mann_kendall(v, axis=0)
    category = classify_emerging(
        hot, cold, trend.increasing(float(trend_alpha)), trend.decreasing(float(trend_alpha))
    )
    category[~valid] = 0
    notes = []
    if n_periods < MIN_PERIODS_ADVISED:
        notes.append(
            f"only {n_periods} periods: trends have little power and historical patterns "
            f"need ≥ {MIN_PERIODS_ADVISED}"
        )
    if constant:
        labels = [str(cube.periods[t]) for t in constant]
        notes.append(
            f"no variation in the global window of {len(constant)} period(s): "
            + ", ".join(labels[:5])
        )
    if valid_bins.any(axis=0).sum() > valid.sum():
        notes.append(
            f"{int(valid_bins.any(axis=0).sum() - valid.sum())} cells with NaN in some periods "
            "are not classified"
        )
    params = {
        **{k: v_ for k, v_ in cube.params.items()},
        "statistic": "space-time Getis-Ord Gi* + Mann-Kendall (ArcGIS Emerging Hot Spot Analysis)",
        "neighbourhood_cells": int(neighbourhood),
        "time_steps": int(time_steps),
        "global_window": global_window,
        "alpha": float(alpha),
        "trend_alpha": float(trend_alpha),
        "fdr": "benjamini-hochberg over all bins" if fdr else "none",
        "n_cells": int(valid.sum()),
        "n_periods": n_periods,
        "note": "; ".join(notes),
    }
    return EmergingHotspots(
        category=category,
        valid=valid,
        z=z,
        p_adjusted=p_adj,
        bins=bins,
        hot=hot,
        cold=cold,
        trend=trend,
        count_trend=count_trend,
        periods=tuple(cube.periods),
        transform=cube.transform,
        crs=cube.crs,
        params=params,
    )
