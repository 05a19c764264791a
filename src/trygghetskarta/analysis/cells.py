"""Grid cells for hot spot analysis: counting events per cell, neighbourhood sums, masks.

:func:`count_grid` bins events into the grid of counts that
:func:`~trygghetskarta.analysis.hotspots.gi_star` takes (re-exported there);
:func:`box_sum` is the neighbourhood sum Gi* and the space-time cube use.
"""

from __future__ import annotations

import numpy as np
from affine import Affine
from numpy.typing import ArrayLike
from scipy import ndimage

from trygghetskarta.analysis.grid import (
    Bounds,
    Grid,
    _check_cell_size,
    area_bounds,
    area_mask,
    as_area,
    grid_from_bounds,
)
from trygghetskarta.analysis.points import Points, as_xy
from trygghetskarta.config import STORE_CRS
from trygghetskarta.errors import AnalysisError

__all__ = ["bin_events", "box_sum", "check_neighbourhood", "count_grid", "mask_array"]


def box_sum(a: np.ndarray, d: int) -> np.ndarray:
    """Sum over the (2d+1)² square around each cell, zero beyond the edges (exact)."""
    ones = np.ones(2 * d + 1)
    out = ndimage.convolve1d(a, ones, axis=-2, mode="constant", cval=0.0)
    return ndimage.convolve1d(out, ones, axis=-1, mode="constant", cval=0.0)


def check_neighbourhood(neighbourhood: int) -> int:
    if isinstance(neighbourhood, bool) or int(neighbourhood) != neighbourhood or neighbourhood < 1:
        raise AnalysisError(
            f"neighbourhood must be a whole number of cells ≥ 1 (1 = the 3 × 3 square), "
            f"got {neighbourhood!r}"
        )
    return int(neighbourhood)


def bin_events(
    x: np.ndarray, y: np.ndarray, transform: Affine, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row and column of the cell holding each event, and which events fall in the grid.

    An event on a cell edge goes to the cell east / south of it, except on the grid's
    east and south edges, which belong to the last column / row.
    """
    rows, cols = shape
    c = transform.a
    fc = (x - transform.c) / c
    fr = (transform.f - y) / c
    inside = (fc >= 0) & (fc <= cols) & (fr >= 0) & (fr <= rows)
    col = np.minimum(np.floor(np.where(inside, fc, 0)).astype(np.int64), cols - 1)
    row = np.minimum(np.floor(np.where(inside, fr, 0)).astype(np.int64), rows - 1)
    return row, col, inside


def mask_array(mask: ArrayLike | None, shape: tuple[int, int]) -> np.ndarray | None:
    if mask is None:
        return None
    m = np.asarray(mask)
    if m.shape != shape:
        raise AnalysisError(
            f"mask must have the grid's shape {shape} (rows, cols), got {m.shape} — build it "
            "for grid_from_bounds(bounds, cell_size)"
        )
    if m.dtype != bool:
        if not np.isin(m, (0, 1)).all():
            raise AnalysisError("mask must be boolean (True inside the area analysed)")
        m = m.astype(bool)
    return m


def count_grid(
    x: Points,
    y: ArrayLike | None = None,
    *,
    cell_size: float,
    bounds: Bounds | None = None,
    mask: ArrayLike | object | None = None,
    crs: object | None = None,
) -> Grid:
    """Number of events per cell on a north-up grid in EPSG:3006 — the input of :func:`gi_star`.

    Parameters
    ----------
    x, y
        Event coordinates, metres (EPSG:3006); or the events as ``x`` alone: a
        GeoSeries/GeoDataFrame of points in any CRS or a frame with ``x`` and ``y`` (see
        :func:`~trygghetskarta.analysis.points.as_xy`). Events with a non-finite
        coordinate are left out and counted in ``params["n_left_out"]``; events outside
        ``bounds`` in ``params["n_outside_bounds"]``.
    cell_size
        Cell width and height, metres.
    bounds
        ``(xmin, ymin, xmax, ymax)``, snapped outward to the cell size; default the
        events' extent. Required when there are no events (the grid is then all zeros).
    mask
        The study area: a polygon (shapely in EPSG:3006, or a GeoSeries/GeoDataFrame in
        any CRS; its bounding box is then the default ``bounds``), or a boolean array of
        the grid's shape, True inside. Cells whose centre lies outside are NaN (left out
        of Gi*, not zero).
    crs
        The CRS of x and y when they are not EPSG:3006.

    Returns
    -------
    Grid
        Counts (float, NaN outside the mask), with ``units="events per cell"``.

    Examples
    --------
    >>> x, y = [674_005.0, 674_015.0, 674_015.0], [6_580_005.0] * 3
    >>> g = count_grid(x, y, cell_size=10, bounds=(674_000, 6_580_000, 674_020, 6_580_010))
    >>> g.values.tolist()
    [[1.0, 2.0]]
    """
    cell = _check_cell_size(cell_size)
    xa, ya = as_xy(x, y, crs=crs)
    ok = np.isfinite(xa) & np.isfinite(ya)
    xa, ya = xa[ok], ya[ok]
    area = as_area(mask)
    if area is not None:
        bounds = area_bounds(area) if bounds is None else bounds
    if bounds is None:
        if xa.size == 0:
            raise AnalysisError(
                f"no events with a position to count ({ok.size} given, {int((~ok).sum())} "
                "without coordinates) — pass bounds= to get an all-zero grid"
            )
        bounds = (xa.min(), ya.min(), xa.max(), ya.max())
    transform, shape = grid_from_bounds(bounds, cell)
    m = area_mask(area, transform, shape) if area is not None else mask_array(mask, shape)
    row, col, inside = bin_events(xa, ya, transform, shape)
    values = np.zeros(shape)
    np.add.at(values, (row[inside], col[inside]), 1.0)
    n_in_mask = int(values[m].sum()) if m is not None else int(inside.sum())
    if m is not None:
        values[~m] = np.nan
    params = {
        "cell_size_m": cell,
        "n_events": int(inside.sum()),
        "n_left_out": int((~ok).sum()),
        "n_outside_bounds": int((~inside).sum()),
        "n_events_in_mask": n_in_mask,
    }
    return Grid(values, transform, STORE_CRS, params, "events per cell")
