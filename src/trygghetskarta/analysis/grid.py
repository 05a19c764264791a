"""Raster grids in SWEREF99 TM: the :class:`Grid` result type and its geometry helpers.

A grid is north-up: row 0 is the northern edge, column 0 the western edge, and the
affine transform maps (column, row) of a cell's upper-left corner to (x, y) in metres,
exactly as rasterio does. Values are at cell centres.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from affine import Affine

from trygghetskarta.config import STORE_CRS
from trygghetskarta.errors import AnalysisError, MissingDependencyError, OutputError

if TYPE_CHECKING:
    import geopandas as gpd
    import xarray as xr
    from matplotlib.axes import Axes

#: GeoTIFFs at least this many cells wide and high are written in tiles of this size.
TILE = 256

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

    # ----------------------------------------------------------------------------------
    # results that travel: GeoTIFF, xarray, GeoDataFrame, a plot

    def to_geotiff(self, path: Path | str, *, description: str | None = None) -> Path:
        """Write the grid as a single-band float32 GeoTIFF that QGIS and GDAL open as is.

        The file has the grid's CRS and transform, NaN as nodata, DEFLATE compression
        with the floating-point predictor (tiles of 256 cells on large grids), every
        entry of ``params`` as a dataset tag and ``units`` as the band's unit — the
        format of the rasters the nightly ``analyse`` step writes. The file is written
        whole or not at all (a temporary file beside it, renamed into place).

        Parameters
        ----------
        path
            The file to write; its folder is created when missing. An existing file is
            replaced.
        description
            The band's description; default: ``units``.

        Returns
        -------
        pathlib.Path
            ``path``.

        Raises
        ------
        OutputError
            The file cannot be written (no space, no permission, a GDAL error).

        Examples
        --------
        >>> import tempfile, pathlib, rasterio
        >>> g = Grid(np.array([[1.0, np.nan]]), Affine(100, 0, 674_000, 0, -100, 6_580_100),
        ...          params={"bandwidth_m": 300.0}, units="events per km²")
        >>> path = g.to_geotiff(pathlib.Path(tempfile.mkdtemp()) / "density.tif")
        >>> with rasterio.open(path) as src:
        ...     src.crs.to_epsg(), src.read(1).tolist(), src.tags()["bandwidth_m"]
        (3006, [[1.0, nan]], '300')
        """
        import rasterio
        from rasterio.errors import RasterioError

        from trygghetskarta.net import write_atomic

        target = Path(path)
        rows, cols = self.shape
        values = np.asarray(self.values, dtype=np.float32)
        profile: dict[str, object] = {
            "driver": "GTiff",
            "height": rows,
            "width": cols,
            "count": 1,
            "dtype": "float32",
            "crs": self.crs,
            "transform": self.transform,
            "nodata": np.nan,
            "compress": "deflate",
            "predictor": 3,
        }
        if rows >= TILE and cols >= TILE:
            profile.update(tiled=True, blockxsize=TILE, blockysize=TILE)
        tags = {str(k): _tag_value(v) for k, v in self.params.items()}
        tags["units"] = self.units

        def write(tmp: Path) -> None:
            with rasterio.open(tmp, "w", **profile) as dst:
                dst.write(values, 1)
                dst.update_tags(**tags)
                dst.update_tags(1, units=self.units)
                dst.set_band_description(1, description or self.units)
                dst.set_band_unit(1, self.units)

        try:
            write_atomic(target, write)
        except (OSError, RasterioError) as e:
            raise OutputError(
                f"could not write the GeoTIFF {target} ({e}{_disk_full(target, values.nbytes)})"
                " — check that the folder is writable and has space"
            ) from e
        return target

    @classmethod
    def from_geotiff(cls, path: Path | str) -> Grid:
        """Read a single-band GeoTIFF (e.g. one the ``analyse`` step wrote) into a Grid.

        Nodata cells come back as NaN, the dataset tags as ``params`` and the band's
        unit (or description) as ``units``.

        Raises
        ------
        OutputError
            The file is missing or not a raster rasterio can open.
        """
        import rasterio
        from rasterio.errors import RasterioIOError

        try:
            with rasterio.open(path) as src:
                values = src.read(1, masked=True).astype("float64").filled(np.nan)
                tags = dict(src.tags())
                units = src.units[0] or src.descriptions[0] or tags.get("units", "")
                epsg = src.crs.to_epsg() if src.crs else None
                crs = f"EPSG:{epsg}" if epsg else str(src.crs)
                return cls(values, src.transform, crs, tags, units)
        except RasterioIOError as e:
            raise OutputError(
                f"cannot read the raster {path} ({e}) — check the path; the nightly rasters "
                "are under data/processed/rasters/"
            ) from e

    def to_xarray(self, name: str | None = None) -> xr.DataArray:
        """The grid as an ``xarray.DataArray`` that rioxarray understands.

        Dimensions ``("y", "x")`` with the cell-centre coordinates in metres (y
        decreasing: row 0 is north), a ``spatial_ref`` coordinate holding the CRS as WKT
        and the GDAL geotransform (the CF grid-mapping convention rioxarray reads, so
        ``da.rio.crs`` and ``da.rio.transform()`` work without rioxarray being needed
        here), ``units`` and every entry of ``params`` in ``attrs``.

        Parameters
        ----------
        name
            The array's name; default the ``layer`` in ``params`` or ``"values"``.

        Raises
        ------
        MissingDependencyError
            xarray is not installed (an optional dependency); the message says how to
            install it.

        Examples
        --------
        >>> g = Grid(np.array([[1.0, 2.0]]), Affine(100, 0, 674_000, 0, -100, 6_580_100))
        >>> da = g.to_xarray()  # doctest: +SKIP
        >>> da.dims, da.x.values.tolist(), da.y.values.tolist()  # doctest: +SKIP
        (('y', 'x'), [674050.0, 674150.0], [6580050.0])
        """
        try:
            import xarray as xr
        except ImportError as e:
            raise MissingDependencyError(
                "Grid.to_xarray needs the optional package xarray, which is not installed — "
                "install it with: pip install 'trygghetskarta[xarray]' (or pip install xarray)"
            ) from e
        from pyproj import CRS

        xs, ys = self.centres()
        t = self.transform
        wkt = CRS.from_user_input(self.crs).to_wkt()
        spatial_ref = xr.DataArray(
            0,
            attrs={
                "crs_wkt": wkt,
                "spatial_ref": wkt,
                "GeoTransform": f"{t.c!r} {t.a!r} {t.b!r} {t.f!r} {t.d!r} {t.e!r}",
            },
        )
        attrs: dict[str, Any] = {
            str(k): v if isinstance(v, str | int | float) else str(v)
            for k, v in self.params.items()
        }
        attrs["units"] = self.units
        attrs["crs"] = self.crs
        attrs["grid_mapping"] = "spatial_ref"
        layer = self.params.get("layer")
        return xr.DataArray(
            np.asarray(self.values, dtype=float),
            dims=("y", "x"),
            coords={"y": ys, "x": xs, "spatial_ref": spatial_ref},
            name=name or (str(layer) if layer else "values"),
            attrs=attrs,
        )

    def to_geodataframe(self, *, dropna: bool = True) -> gpd.GeoDataFrame:
        """One row per cell, with its square as the geometry.

        Parameters
        ----------
        dropna
            Leave out cells whose value is NaN (outside the area analysed); default.

        Returns
        -------
        geopandas.GeoDataFrame
            Columns ``row, col, x, y`` (the cell centre), ``value`` and ``geometry`` (the
            cell's square), in the grid's CRS; rows ordered north to south, west to east.

        Examples
        --------
        >>> g = Grid(np.array([[1.0, np.nan]]), Affine(100, 0, 674_000, 0, -100, 6_580_100))
        >>> cells = g.to_geodataframe()
        >>> cells[["row", "col", "value"]].to_dict("records"), round(cells.area.iloc[0])
        ([{'row': 0, 'col': 0, 'value': 1.0}], 10000)
        """
        import geopandas as gpd
        import pandas as pd
        import shapely

        values = np.asarray(self.values, dtype=float)
        keep = np.isfinite(values) if dropna else np.ones(values.shape, dtype=bool)
        rows, cols = np.nonzero(keep)
        xs, ys = self.centres()
        cx, cy = xs[cols], ys[rows]
        hx, hy = abs(self.transform.a) / 2, abs(self.transform.e) / 2
        frame = pd.DataFrame(
            {"row": rows, "col": cols, "x": cx, "y": cy, "value": values[rows, cols]}
        )
        geometry = shapely.box(cx - hx, cy - hy, cx + hx, cy + hy)
        return gpd.GeoDataFrame(frame, geometry=geometry, crs=self.crs)

    def plot(
        self,
        ax: Axes | None = None,
        *,
        title: str | None = None,
        cmap: str | None = None,
        colorbar: bool = True,
        **imshow_kwargs: Any,
    ) -> Axes:
        """Draw the grid on matplotlib axes, north up, in metres, with a colour bar.

        The colour bar lies under the map, so a title of any length never runs into it
        (long titles are wrapped).
        A grid of ArcGIS ``Gi_Bin`` classes (:meth:`GiStar.grids`) is drawn with seven
        classes, cold to hot, and Swedish labels.

        Parameters
        ----------
        ax
            The axes to draw on; default a new figure's.
        title
            The axes' title.
        cmap
            A matplotlib colour map; default ``"magma_r"`` (``"RdBu_r"`` for Gi_Bin).
        colorbar
            Draw the colour bar, labelled with ``units``.
        **imshow_kwargs
            Passed to ``Axes.imshow`` (e.g. ``vmax=``, ``alpha=``).

        Returns
        -------
        matplotlib.axes.Axes
            The axes drawn on.

        Raises
        ------
        MissingDependencyError
            matplotlib is not installed (an optional dependency).

        Examples
        --------
        >>> g = Grid(np.array([[1.0, 2.0]]), Affine(100, 0, 674_000, 0, -100, 6_580_100),
        ...          units="events per km²")
        >>> ax = g.plot(title="Täthet")
        >>> ax.get_title(), ax.images[0].get_extent()
        ('Täthet', [674000.0, 674200.0, 6580000.0, 6580100.0])
        """
        from trygghetskarta.analysis._plot import plot_grid

        return plot_grid(self, ax, title=title, cmap=cmap, colorbar=colorbar, **imshow_kwargs)


def _disk_full(target: Path, needed: int) -> str:
    """``"; no space left on device …"`` when the target's disk is (nearly) full: GDAL
    reports a full disk only as "Write failed" and prints the cause to stderr."""
    try:
        free = shutil.disk_usage(target.parent).free
    except OSError:
        return ""
    if free >= needed:
        return ""
    return f"; no space left on device: {free:,} bytes free, up to {needed:,} needed"


def _tag_value(value: object) -> str:
    """A parameter as GeoTIFF tag text, as the nightly rasters write it."""
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


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

    Examples
    --------
    >>> transform, shape = grid_from_bounds((674_010, 6_580_020, 674_290, 6_580_180), 100)
    >>> (transform.c, transform.f), shape
    ((674000.0, 6580200.0), (2, 3))
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

    Examples
    --------
    >>> xs, ys = cell_centres(Affine(100, 0, 674_000, 0, -100, 6_580_200), (2, 3))
    >>> xs.tolist(), ys.tolist()
    ([674050.0, 674150.0, 674250.0], [6580150.0, 6580050.0])
    """
    if transform.b != 0 or transform.d != 0:
        raise AnalysisError(f"expected a north-up transform without rotation, got {transform!r}")
    rows, cols = shape
    xs = transform.c + transform.a * (np.arange(cols) + 0.5)
    ys = transform.f + transform.e * (np.arange(rows) + 0.5)
    return xs, ys


def as_area(area: object) -> Any:
    """The area analysed as one shapely geometry in EPSG:3006, or ``None`` for a mask array.

    Parameters
    ----------
    area
        A shapely geometry (taken as EPSG:3006), a GeoSeries or GeoDataFrame (any CRS,
        reprojected; several rows are united), or anything else (``None`` is returned:
        it is a mask array or no mask).

    Raises
    ------
    CRSError
        A GeoSeries without a CRS whose coordinates look like degrees.
    """
    import geopandas as gpd
    import shapely
    from shapely.geometry.base import BaseGeometry

    if isinstance(area, BaseGeometry):
        return area
    if not isinstance(area, gpd.GeoSeries | gpd.GeoDataFrame):
        return None
    geoms = area.geometry if isinstance(area, gpd.GeoDataFrame) else area
    if geoms.crs is None:
        from trygghetskarta.analysis.points import _refuse_degrees

        xmin, ymin, xmax, ymax = geoms.total_bounds
        _refuse_degrees(np.array([xmin, xmax]), np.array([ymin, ymax]), "area's coordinates")
    elif geoms.crs != STORE_CRS:
        geoms = geoms.to_crs(STORE_CRS)
    return shapely.union_all(geoms.dropna().to_numpy())


def area_bounds(area: Any) -> Bounds:
    """``(xmin, ymin, xmax, ymax)`` of a geometry from :func:`as_area`, metres."""
    import shapely

    xmin, ymin, xmax, ymax = shapely.bounds(area)
    return float(xmin), float(ymin), float(xmax), float(ymax)


def area_mask(area: object, transform: Affine, shape: tuple[int, int]) -> np.ndarray:
    """True for the cells of a grid whose centre lies inside the area.

    Parameters
    ----------
    area
        A shapely geometry in EPSG:3006, or a GeoSeries/GeoDataFrame (see :func:`as_area`).
    transform, shape
        The grid's (e.g. from :func:`grid_from_bounds`).

    Examples
    --------
    >>> from shapely.geometry import box
    >>> transform, shape = grid_from_bounds((0, 0, 30, 10), 10)
    >>> area_mask(box(0, 0, 20, 10), transform, shape).tolist()
    [[True, True, False]]
    """
    import shapely

    geom = as_area(area)
    if geom is None:
        raise AnalysisError(
            f"expected the area as a shapely geometry, GeoSeries or GeoDataFrame, got "
            f"{type(area).__name__}"
        )
    xs, ys = cell_centres(transform, shape)
    gx, gy = np.meshgrid(xs, ys)
    return np.asarray(shapely.contains_xy(geom, gx, gy), dtype=bool)
