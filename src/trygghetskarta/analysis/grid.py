"""Raster grids in SWEREF99 TM: the :class:`Grid` result type and its geometry helpers.

A grid is north-up: row 0 is the northern edge, column 0 the western edge, and the
affine transform maps (column, row) of a cell's upper-left corner to (x, y) in metres,
exactly as rasterio does. Values are at cell centres.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from affine import Affine

from trygghetskarta.config import STORE_CRS
from trygghetskarta.errors import AnalysisError

#: Largest grid (cells) an analysis will allocate. A KDE holds several float64 and
#: complex work arrays of about the grid's size, roughly :data:`BYTES_PER_CELL` bytes a
#: cell, so the default limit needs about 7 GB at its peak.
MAX_CELLS = 150_000_000
#: Approximate peak working memory of a density computation per output cell, bytes.
BYTES_PER_CELL = 48

Bounds = tuple[float, float, float, float]


@dataclass(frozen=True, eq=False)
class Grid:
    """A north-up raster in metres with the parameters that made it.

    Attributes
    ----------
    values
        2-D float array, shape ``(rows, cols)``; row 0 is the northern edge.
    transform
        rasterio's affine transform from (col, row) to (x, y) of cell corners.
    crs
        The reference system, always ``"EPSG:3006"`` for analysis output.
    params
        What made the grid (bandwidth, cell size, counts ...); written as GeoTIFF tags.
    units
        What one value means, e.g. ``"events per km²"``.
    """

    values: np.ndarray
    transform: Affine
    crs: str = STORE_CRS
    params: Mapping[str, str | float] = field(default_factory=dict)
    units: str = ""

    def __post_init__(self) -> None:
        if np.ndim(self.values) != 2:
            raise AnalysisError(
                f"a grid needs a 2-D array of values, got {np.ndim(self.values)} dimensions"
            )

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, cols)``."""
        rows, cols = self.values.shape
        return int(rows), int(cols)

    @property
    def cell_size(self) -> float:
        """Cell width in metres (cells are square)."""
        return float(self.transform.a)

    @property
    def bounds(self) -> Bounds:
        """``(xmin, ymin, xmax, ymax)`` of the outer cell edges, metres."""
        rows, cols = self.shape
        xmin, ymax = self.transform.c, self.transform.f
        return (xmin, ymax + self.transform.e * rows, xmin + self.transform.a * cols, ymax)

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Cell-centre coordinates: see :func:`cell_centres`."""
        return cell_centres(self.transform, self.shape)


def _check_cell_size(cell_size: float) -> float:
    try:
        c = float(cell_size)
    except (TypeError, ValueError) as e:
        raise AnalysisError(f"cell_size must be a number of metres, got {cell_size!r}") from e
    if not math.isfinite(c) or c <= 0:
        raise AnalysisError(f"cell_size must be a positive number of metres, got {cell_size!r}")
    return c


def check_grid_size(
    shape: tuple[int, int], cell_size: float, *, max_cells: int = MAX_CELLS
) -> None:
    """Refuse a grid too large to compute in memory.

    Parameters
    ----------
    shape
        ``(rows, cols)`` of the grid.
    cell_size
        Its cell size, metres (used to suggest one that fits).
    max_cells
        The limit, cells.

    Raises
    ------
    AnalysisError
        Saying how many cells and how much memory the grid would need and the smallest
        whole-metre cell size that fits the limit for the same bounds.
    """
    rows, cols = shape
    n = rows * cols
    if n <= max_cells:
        return
    need_gb = n * BYTES_PER_CELL / 1e9
    fits = math.ceil(cell_size * math.sqrt(n / max_cells) * 1.0001)
    raise AnalysisError(
        f"a grid of {rows:,} × {cols:,} cells ({n:.3g} cells, about {need_gb:,.0f} GB while "
        f"computing) is larger than the limit of {max_cells:.3g} cells; use cell_size ≥ {fits} m "
        "for these bounds, or smaller bounds"
    )


def grid_from_bounds(
    bounds: Bounds, cell_size: float, *, max_cells: int = MAX_CELLS
) -> tuple[Affine, tuple[int, int]]:
    """The transform and shape of a grid covering ``bounds``, snapped outward to the cells.

    Parameters
    ----------
    bounds
        ``(xmin, ymin, xmax, ymax)`` in metres (EPSG:3006).
    cell_size
        Cell width and height, metres.
    max_cells
        Refuse grids with more cells than this (see :func:`check_grid_size`).

    Returns
    -------
    transform, shape
        A north-up transform whose corners are multiples of ``cell_size`` and enclose
        ``bounds``, and ``(rows, cols)``. A bound of zero width still gets one cell.

    Raises
    ------
    AnalysisError
        Bounds not finite or inverted, a cell size that is not positive, or a grid over
        the size limit.
    """
    c = _check_cell_size(cell_size)
    try:
        xmin, ymin, xmax, ymax = (float(b) for b in bounds)
    except (TypeError, ValueError) as e:
        raise AnalysisError(
            f"bounds must be (xmin, ymin, xmax, ymax) in metres, got {bounds!r}"
        ) from e
    if not all(math.isfinite(b) for b in (xmin, ymin, xmax, ymax)):
        raise AnalysisError(f"bounds must be finite numbers, got {bounds!r}")
    if xmax < xmin or ymax < ymin:
        raise AnalysisError(
            f"bounds must be (xmin, ymin, xmax, ymax) with xmin ≤ xmax and ymin ≤ ymax, "
            f"got {bounds!r}"
        )
    eps = 1e-9  # a bound that is a multiple of the cell size up to rounding stays put
    col0 = math.floor(xmin / c + eps)
    col1 = max(math.ceil(xmax / c - eps), col0 + 1)
    row0 = math.floor(ymin / c + eps)
    row1 = max(math.ceil(ymax / c - eps), row0 + 1)
    shape = (row1 - row0, col1 - col0)
    check_grid_size(shape, c, max_cells=max_cells)
    return Affine(c, 0.0, col0 * c, 0.0, -c, row1 * c), shape


def cell_centres(transform: Affine, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates of the cell centres of a north-up grid.

    Parameters
    ----------
    transform
        The grid's affine transform (no rotation).
    shape
        ``(rows, cols)``.

    Returns
    -------
    xs, ys
        ``xs[j]`` is the x of column ``j`` (increasing), ``ys[i]`` the y of row ``i``
        (decreasing: row 0 is north). ``np.meshgrid(xs, ys)`` gives 2-D arrays that line
        up with ``values``.
    """
    if transform.b != 0 or transform.d != 0:
        raise AnalysisError(f"expected a north-up transform without rotation, got {transform!r}")
    rows, cols = shape
    xs = transform.c + transform.a * (np.arange(cols) + 0.5)
    ys = transform.f + transform.e * (np.arange(rows) + 0.5)
    return xs, ys
