"""Hot spots: Getis-Ord Gi* on grid cells and on areas, with FDR-corrected significance.

:func:`gi_star` is what analysts call on a grid of counts, :func:`gi_star_areas` on
values per area (stadsdelar, RegSO); :func:`count_grid` bins events into the grid
``gi_star`` takes. Local Moran's I on rates lives in
:mod:`~trygghetskarta.analysis.local_moran` and is re-exported here.

The statistic
-------------
For observation ``i`` with neighbourhood ``N(i)`` (binary weights, ``i`` itself
included) of ``k_i`` observations, among ``n`` observations with mean ``x̄`` and
standard deviation ``S = sqrt(Σx²/n − x̄²)``::

    z_i = (Σ_{j∈N(i)} x_j − x̄ k_i) / (S · sqrt((n k_i − k_i²) / (n − 1)))

This is ArcGIS's Gi* z-score and exactly esda's ``G_Local(y, w, star=True,
transform="B").Zs`` (esda puts weight 1 on the diagonal and uses the same moments).
p-values are two-sided, ``2 Φ(−|z|)`` (esda's ``p_norm`` is the one-sided half).

Grids
-----
The neighbourhood of a cell is the ``(2d + 1) × (2d + 1)`` square around it for
``neighbourhood=d`` — queen contiguity of orders 1 … d, the cell included, which is
``libpysal.weights.higher_order(lat2W(rows, cols, rook=False), d, lower_order=True)``
plus the diagonal. Sums over it are two 1-D convolutions with a row of ones
(``scipy.ndimage.convolve1d``), so a 300 × 300 grid takes about a millisecond and no
weights matrix is ever built.

- **Edges.** The grid does not wrap and is not padded with values: a cell on the edge
  simply has fewer neighbours (``k_i`` = 4 at a corner for d = 1), exactly as with
  ``lat2W``.
- **NaN** marks cells outside the study area (water, another kommun). They are left out
  of everything: ``n``, ``x̄``, ``S``, the neighbour sums and the neighbour counts
  ``k_i`` — as if the weights had been built on the valid cells only (libpysal's
  ``w_subset``). They are not treated as zero. Their results are NaN (z, p) and 0 (bin).
- **No variation** (every valid cell has the same value, e.g. a period without events,
  or a single valid cell): Gi* is undefined (0/0). The result is a clear "nothing to
  find": z = 0, p = 1, bin 0 everywhere, and ``note`` says why. A neighbourhood that
  covers every valid cell (``k_i = n``) has z = 0 and p = 1 for the same reason.

Significance
------------
``fdr=True`` (default) adjusts the p-values by Benjamini–Hochberg over all valid cells
(the false discovery rate is controlled among the cells called hot or cold); the hot and
cold classes follow ArcGIS's ``Gi_Bin``: ±3 where the (adjusted) p ≤ 0.01 (99 %
confidence), ±2 where p ≤ 0.05 (95 %), ±1 where p ≤ 0.10 (90 %), 0 otherwise, the sign
being the sign of z. With ``permutations > 0`` the classes use the two-sided pseudo
p-value of seeded conditional permutations (each cell keeps its value, its neighbours'
values are drawn from the other cells) instead of the normal approximation; a cell whose
permutation tail disagrees with the sign of its z gets bin 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from affine import Affine
from numpy.typing import ArrayLike
from scipy.special import ndtr

from trygghetskarta.analysis.cells import box_sum, check_neighbourhood, count_grid
from trygghetskarta.analysis.grid import Grid, cell_centres
from trygghetskarta.analysis.local_moran import (
    LocalMoran,
    assuncao_reis_rates,
    eb_rates,
    local_moran,
    local_moran_rate,
)
from trygghetskarta.analysis.neighbours import area_inputs, higher_order
from trygghetskarta.analysis.significance import (
    benjamini_hochberg,
    conditional_permutation_tails,
    confidence_bins,
    pseudo_p,
)
from trygghetskarta.config import STORE_CRS
from trygghetskarta.errors import AnalysisError

__all__ = [
    "GiStar",
    "LocalMoran",
    "assuncao_reis_rates",
    "count_grid",
    "eb_rates",
    "gi_star",
    "gi_star_areas",
    "local_moran",
    "local_moran_rate",
]

NO_VARIATION = (
    "all {n} valid values are equal ({value:g}): Gi* is undefined, so no hot or cold spots"
)


@dataclass(frozen=True, eq=False)
class GiStar:
    """Gi* results, one value per cell (2-D, like the input grid) or per area (1-D).

    Attributes
    ----------
    z
        Gi* z-scores; NaN where the input was NaN.
    p
        Two-sided p-values of the normal approximation, ``2 Φ(−|z|)``.
    p_sim
        Two-sided pseudo p-values of the conditional permutations, or ``None`` when
        ``permutations=0``.
    p_adjusted
        Benjamini–Hochberg adjusted values of the p-values the classes use (``p_sim``
        with permutations, else ``p``); equal to them when ``fdr=False``.
    bins
        ``int8`` ArcGIS ``Gi_Bin``: 3/2/1 hot spot at 99/95/90 % confidence, −3/−2/−1
        cold spot, 0 not significant or not analysed.
    significant
        ``p_adjusted ≤ alpha`` (False where not analysed).
    n
        Number of valid observations (the ``n`` of the formula).
    params
        What made the result (neighbourhood, fdr, alpha, permutations, seed, n, note);
        written as GeoTIFF tags by the pipeline.
    note
        Empty, or why the map is empty (no variation).
    transform, crs
        The grid's georeference when :func:`gi_star` was given a
        :class:`~trygghetskarta.analysis.grid.Grid`; ``None`` otherwise.
    index
        For areas: their labels (the values' index, the weights' ids or the frame's
        index), which :meth:`to_frame` uses as its index; ``None`` for bare arrays.
    geometry
        For areas given as a GeoDataFrame or GeoSeries: their geometry, in the order of
        the values (``to_frame`` is then a GeoDataFrame).
    """

    z: np.ndarray
    p: np.ndarray
    p_sim: np.ndarray | None
    p_adjusted: np.ndarray
    bins: np.ndarray
    significant: np.ndarray
    n: int
    params: Mapping[str, Any] = field(default_factory=dict)
    note: str = ""
    transform: Affine | None = None
    crs: str | None = None
    index: pd.Index | None = None
    geometry: Any = None

    @property
    def hot(self) -> np.ndarray:
        """Significant at ``alpha`` with z > 0."""
        return self.significant & (np.nan_to_num(self.z) > 0)

    @property
    def cold(self) -> np.ndarray:
        """Significant at ``alpha`` with z < 0."""
        return self.significant & (np.nan_to_num(self.z) < 0)

    def grids(self) -> dict[str, Grid]:
        """``{"z": Grid, "bins": Grid}`` for GeoTIFF output (bins as float, NaN outside).

        Raises
        ------
        AnalysisError
            When the result has no georeference (the input was a bare array or areas).
        """
        if self.transform is None or self.z.ndim != 2:
            raise AnalysisError(
                "this Gi* result has no georeference — pass a Grid (e.g. from count_grid) "
                "to gi_star to get grids"
            )
        tags = {k: v for k, v in self.params.items() if isinstance(v, str | int | float)}
        bins = self.bins.astype(np.float32)
        bins[np.isnan(self.z)] = np.nan
        crs = self.crs or STORE_CRS
        return {
            "z": Grid(self.z, self.transform, crs, {**tags, "layer": "gi_star_z"}, "z-score"),
            "bins": Grid(
                bins,
                self.transform,
                crs,
                {**tags, "layer": "gi_star_bin", "classes": "-3..3 = Gi_Bin (ArcGIS)"},
                "Gi_Bin",
            ),
        }

    def plot(self, ax: Any = None, *, title: str | None = None) -> Any:
        """Map the hot and cold spots in ArcGIS's seven Gi_Bin classes; returns the axes.

        A grid result is drawn as its ``bins`` grid (see
        :meth:`~trygghetskarta.analysis.grid.Grid.plot`); areas given with their geometry
        as polygons, with a legend under the map.

        Raises
        ------
        AnalysisError
            Areas without geometry (pass a GeoDataFrame as the neighbours).
        MissingDependencyError
            matplotlib is not installed.
        """
        if self.z.ndim == 2:
            if self.transform is None:
                raise AnalysisError(
                    "this Gi* result has no georeference — pass a Grid (e.g. from count_grid) "
                    "to gi_star to plot it"
                )
            return self.grids()["bins"].plot(ax, title=title)
        if self.geometry is None:
            raise AnalysisError(
                "these Gi* areas have no geometry — pass the areas' GeoDataFrame as the "
                "neighbours of gi_star_areas to plot them"
            )
        from trygghetskarta.analysis._plot import plot_areas

        return plot_areas(self.to_frame(), "bin", ax, title=title, kind="bins")

    def to_frame(self) -> pd.DataFrame:
        """One row per analysed cell (or area): z, p, p_sim, p_adjusted, bin, significant.

        For a georeferenced grid result, a GeoDataFrame with the cell's ``row``, ``col``,
        centre ``x``, ``y`` and square polygon (write it with ``to_parquet``). For areas
        given with labels (a Series, a libpysal ``W``/``Graph`` or a GeoDataFrame), one
        row per area indexed like the input, as esda's results are (areas left out have
        NaN), and a GeoDataFrame when the areas came with their geometry; for bare
        arrays, the analysed areas with ``position`` (the area's place in the input) to
        join on.
        """
        if self.z.ndim == 1 and self.index is not None:
            frame = pd.DataFrame(
                {
                    "z": self.z,
                    "p": self.p,
                    "p_sim": self.p_sim if self.p_sim is not None else np.nan,
                    "p_adjusted": self.p_adjusted,
                    "bin": self.bins,
                    "significant": self.significant,
                },
                index=self.index,
            )
            if self.geometry is None:
                return frame
            import geopandas as gpd

            return gpd.GeoDataFrame(frame, geometry=self.geometry, crs=self.geometry.crs)
        valid = np.isfinite(self.z)
        idx = np.nonzero(valid)
        cols: dict[str, np.ndarray] = {
            "z": self.z[idx],
            "p": self.p[idx],
            "p_sim": (self.p_sim if self.p_sim is not None else np.full(self.z.shape, np.nan))[idx],
            "p_adjusted": self.p_adjusted[idx],
            "bin": self.bins[idx],
            "significant": self.significant[idx],
        }
        if self.z.ndim == 1:
            return pd.DataFrame({"position": idx[0], **cols})
        if self.transform is None:
            return pd.DataFrame({"row": idx[0], "col": idx[1], **cols})
        import geopandas as gpd
        import shapely

        xs, ys = cell_centres(self.transform, self.z.shape)
        cx, cy = xs[idx[1]], ys[idx[0]]
        half = abs(self.transform.a) / 2
        frame = pd.DataFrame({"row": idx[0], "col": idx[1], "x": cx, "y": cy, **cols})
        geometry = shapely.box(cx - half, cy - half, cx + half, cy + half)
        return gpd.GeoDataFrame(frame, geometry=geometry, crs=self.crs or STORE_CRS)


# --------------------------------------------------------------------------------------
# the statistic


def _gi_z(local_sum: np.ndarray, k: np.ndarray, n: int, mean: float, std: float) -> np.ndarray:
    """Gi* z from neighbour sums (self included) and neighbour counts."""
    num = local_sum - mean * k
    var = (n * k - k * k) / (n - 1)
    den = std * np.sqrt(np.maximum(var, 0.0))
    z = np.zeros_like(num)
    np.divide(num, den, out=z, where=den > 0)
    return z


def _check_values(values: ArrayLike, what: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as e:
        raise AnalysisError(f"{what} must be numbers, got {type(values).__name__}") from e
    if arr.size == 0:
        raise AnalysisError(f"{what} is empty — there is nothing to analyse")
    if np.isinf(arr).any():
        raise AnalysisError(
            f"{what} has {int(np.isinf(arr).sum())} infinite values — use NaN for cells "
            "outside the study area"
        )
    if np.isnan(arr).all():
        raise AnalysisError(
            f"{what} has no valid value: all {arr.size} are NaN (outside the study area) — "
            "check the mask"
        )
    return arr


def _check_alpha(alpha: float) -> float:
    a = float(alpha)
    if not 0 < a < 1:
        raise AnalysisError(f"alpha must be a significance level in (0, 1), got {alpha!r}")
    return a


def _check_permutations(permutations: int) -> int:
    if int(permutations) != permutations or permutations < 0:
        raise AnalysisError(f"permutations must be a whole number ≥ 0, got {permutations!r}")
    return int(permutations)


def _finish(
    z: np.ndarray,
    valid: np.ndarray,
    local_sum: np.ndarray,
    k: np.ndarray,
    y: np.ndarray,
    *,
    constant: bool,
    fdr: bool,
    alpha: float,
    permutations: int,
    seed: int | None,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray, np.ndarray]:
    """p, p_sim, p_adjusted, bins, significant on the valid observations (1-D)."""
    zv = z[valid]
    p = np.full(z.shape, np.nan)
    p[valid] = 2.0 * ndtr(-np.abs(zv))
    p_sim: np.ndarray | None = None
    p_used = p
    agree = np.ones(z.shape, dtype=bool)
    if permutations and not constant:
        yv = y[valid]
        n_ge, n_le = conditional_permutation_tails(
            yv,
            local_sum[valid] - yv,
            np.rint(k[valid]).astype(np.int64) - 1,
            permutations=permutations,
            seed=seed,
        )
        p_sim = np.full(z.shape, np.nan)
        p_sim[valid] = pseudo_p(n_ge, n_le, permutations)
        p_used = p_sim
        upper = n_ge < n_le  # the observed sum is in the upper tail
        lower = n_le < n_ge
        agree[valid] = ((zv > 0) & upper) | ((zv < 0) & lower)
    elif permutations:
        p_sim = np.where(valid, 1.0, np.nan)
        p_used = p_sim
    p_adj = benjamini_hochberg(p_used) if fdr else p_used.copy()
    bins = confidence_bins(np.where(valid, z, np.nan), p_adj)
    bins[~agree] = 0
    with np.errstate(invalid="ignore"):
        significant = (p_adj <= alpha) & valid & agree
    return p, p_sim, p_adj, bins, significant


# --------------------------------------------------------------------------------------
# grids


def gi_star(
    counts: ArrayLike | Grid,
    *,
    neighbourhood: int = 1,
    fdr: bool = True,
    alpha: float = 0.05,
    permutations: int = 0,
    seed: int | None = None,
) -> GiStar:
    """Getis-Ord Gi* hot and cold spots on a grid of counts (or any values per cell).

    Parameters
    ----------
    counts
        2-D array (row 0 north, as in :class:`~trygghetskarta.analysis.grid.Grid`) or a
        ``Grid`` (e.g. from :func:`count_grid`); NaN marks cells outside the study area,
        which are left out (see the module notes).
    neighbourhood
        ``d``: each cell's neighbourhood is the ``(2d+1) × (2d+1)`` square around it,
        itself included (queen contiguity of orders 1 … d), with binary weights.
    fdr
        Adjust the p-values by Benjamini–Hochberg before classifying (default).
    alpha
        Level of ``significant`` (and of ``hot``/``cold``); the bins always use
        ArcGIS's 90/95/99 % levels.
    permutations
        If > 0, also compute pseudo p-values from that many conditional permutations and
        classify with them. A pseudo p-value is never below ``2 / (permutations + 1)``,
        and Benjamini–Hochberg over ``m`` cells needs about ``m × that / 0.10`` cells at
        that floor before any is called significant at 90 %: with FDR, use thousands of
        permutations (esda's and ArcGIS's 999 or fewer leave small maps empty).
    seed
        Seed of the permutations (same seed, same result).

    Returns
    -------
    GiStar
        z, p, p_sim, p_adjusted, bins and significant of the grid's shape, with the
        grid's transform and CRS when ``counts`` was a ``Grid``.

    Raises
    ------
    AnalysisError
        Not a 2-D array, empty, all NaN, infinite values, or bad parameters.

    Examples
    --------
    >>> counts = np.zeros((9, 9))
    >>> counts[3:6, 3:6] = 5
    >>> res = gi_star(counts, neighbourhood=1)
    >>> int(res.bins[4, 4]), round(float(res.z[4, 4]), 3), int(res.bins[0, 0])
    (3, 8.944, 0)
    """
    transform = crs = None
    if isinstance(counts, Grid):
        transform, crs = counts.transform, counts.crs
        counts = counts.values
    arr = _check_values(counts, "counts")
    if arr.ndim != 2:
        raise AnalysisError(
            f"counts must be a 2-D grid (rows, cols), got {arr.ndim} dimension(s) — use "
            "gi_star_areas for values per area"
        )
    d = check_neighbourhood(neighbourhood)
    a = _check_alpha(alpha)
    perms = _check_permutations(permutations)
    valid = np.isfinite(arr)
    y = np.where(valid, arr, 0.0)
    yv = arr[valid]
    n = int(yv.size)
    constant = bool(yv.max() == yv.min())
    note = NO_VARIATION.format(n=n, value=float(yv[0])) if constant else ""
    local_sum = box_sum(y, d)
    k = box_sum(valid.astype(float), d)
    if constant:
        z = np.zeros(arr.shape)
    else:
        z = _gi_z(local_sum, k, n, float(yv.mean()), float(yv.std()))
    z[~valid] = np.nan
    p, p_sim, p_adj, bins, significant = _finish(
        z,
        valid,
        local_sum,
        k,
        y,
        constant=constant,
        fdr=fdr,
        alpha=a,
        permutations=perms,
        seed=seed,
    )
    params = {
        "statistic": "Getis-Ord Gi*",
        "neighbourhood_cells": d,
        "neighbourhood": f"{2 * d + 1} x {2 * d + 1} cells, binary weights, cell included",
        "fdr": "benjamini-hochberg" if fdr else "none",
        "alpha": a,
        "permutations": perms,
        "seed": -1 if seed is None else int(seed),
        "n_cells": n,
        "n_cells_outside": int(arr.size - n),
        "note": note,
    }
    return GiStar(z, p, p_sim, p_adj, bins, significant, n, params, note, transform, crs)


# --------------------------------------------------------------------------------------
# areas


def gi_star_areas(
    values: ArrayLike,
    neighbours: object,
    *,
    order: int = 1,
    fdr: bool = True,
    alpha: float = 0.05,
    permutations: int = 0,
    seed: int | None = None,
) -> GiStar:
    """Getis-Ord Gi* on values per area (counts or rates per stadsdel, RegSO …).

    Parameters
    ----------
    values
        One value per area, a ``pandas.Series`` (its index names the areas) or an
        array; NaN leaves an area out (not counted as zero, and not a neighbour of
        anything).
    neighbours
        The areas' neighbours: a libpysal ``W`` or ``Graph`` (e.g. ``Queen.from_dataframe``,
        ``Graph.build_contiguity``; matched to a Series on its ids; any non-zero weight
        is a neighbour, as esda's ``transform="B"``), the areas' ``GeoDataFrame`` or
        ``GeoSeries`` (queen contiguity; the result then carries the geometry), an
        ``(n, n)`` adjacency (see :mod:`~trygghetskarta.analysis.neighbours`), neighbour
        lists, or one shapely polygon per area.
    order
        Neighbours within this many contiguity steps count (1: touching areas).
    fdr, alpha, permutations, seed
        As in :func:`gi_star`.

    Returns
    -------
    GiStar
        1-D arrays in the order of ``values``; :meth:`GiStar.to_frame` gives one row
        per area indexed like the input. An area without neighbours (an island) is
        compared on its own value (``k = 1``), as esda does. The z-scores equal esda's
        ``G_Local(values, w, transform="B", star=True).Zs``.

    Examples
    --------
    esda's six-point reference case (distance band 15):

    >>> lists = [[1, 3], [0, 3, 4], [4], [0, 1, 4], [1, 2, 3, 5], [4]]
    >>> res = gi_star_areas([2, 3, 3.2, 5, 8, 7], lists, fdr=False)
    >>> res.z.round(4).tolist()
    [-1.3973, -0.2892, 0.6506, -0.2892, 1.2345, 2.0242]

    With a libpysal ``W`` and a Series, the result is indexed by the areas:

    >>> import pandas as pd
    >>> from libpysal.weights import W
    >>> w = W({"a": ["b"], "b": ["a", "c"], "c": ["b", "d"], "d": ["c"]})
    >>> counts = pd.Series({"a": 1.0, "b": 2.0, "c": 9.0, "d": 12.0})
    >>> gi_star_areas(counts, w, fdr=False).to_frame()["z"].round(3).to_dict()
    {'a': -1.681, 'b': -1.294, 'c': 1.078, 'd': 1.681}
    """
    given = area_inputs(values, neighbours)
    arr = _check_values(given.values, "values").ravel()
    a = _check_alpha(alpha)
    perms = _check_permutations(permutations)
    n_all = arr.size
    adj = given.adjacency
    if order != 1:
        adj = higher_order(adj, order)
    valid = np.isfinite(arr)
    if not valid.all():
        keep = np.flatnonzero(valid)
        adj_v = adj[keep][:, keep]
    else:
        adj_v = adj
    yv = arr[valid]
    n = int(yv.size)
    constant = bool(yv.max() == yv.min())
    note = NO_VARIATION.format(n=n, value=float(yv[0])) if constant else ""
    star = sp.csr_array(adj_v) + sp.eye_array(n, format="csr")
    local_v = star @ yv
    k_v = np.asarray(star.sum(axis=1)).ravel().astype(float)
    local_sum = np.zeros(n_all)
    k = np.ones(n_all)
    local_sum[valid] = local_v
    k[valid] = k_v
    z = np.zeros(n_all) if constant else _gi_z(local_sum, k, n, float(yv.mean()), float(yv.std()))
    z[~valid] = np.nan
    y = np.where(valid, arr, 0.0)
    p, p_sim, p_adj, bins, significant = _finish(
        z,
        valid,
        local_sum,
        k,
        y,
        constant=constant,
        fdr=fdr,
        alpha=a,
        permutations=perms,
        seed=seed,
    )
    params = {
        "statistic": "Getis-Ord Gi*",
        "neighbourhood": f"contiguity of order ≤ {order}, binary weights, area included",
        "fdr": "benjamini-hochberg" if fdr else "none",
        "alpha": a,
        "permutations": perms,
        "seed": -1 if seed is None else int(seed),
        "n_areas": n,
        "n_areas_left_out": int(n_all - n),
        "n_islands": int((k_v == 1).sum()),
        "note": note,
    }
    return GiStar(
        z,
        p,
        p_sim,
        p_adj,
        bins,
        significant,
        n,
        params,
        note,
        index=given.index,
        geometry=given.geometry,
    )
