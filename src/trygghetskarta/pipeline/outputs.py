"""Writers of generated files: GeoTIFF rasters and GeoParquet tables in EPSG:3006, and
folders of HTML pages published all at once.

Every writer writes to a temporary file beside the target and renames it into place, so
a reader (QGIS, the nightly batch's next step) never sees half a file; they all do it
through :func:`write_atomic`, the project's one atomic write (re-exported here for the
wiring layer). A folder of pages
(:func:`staged_folder`) is written into a staging folder beside it and swapped into place
only when every file is written, so a reader never sees half a set.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import os
import shutil
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyarrow
import rasterio
from pyproj import CRS
from pyproj.exceptions import CRSError as PyprojCRSError
from rasterio.errors import RasterioIOError

from trygghetskarta.analysis.grid import Grid
from trygghetskarta.config import STORE_CRS
from trygghetskarta.errors import (
    AnalysisError,
    CRSError,
    OutputError,
    SourceError,
    environment_error,
)
from trygghetskarta.net import write_atomic as write_atomic


def write_geotiff(
    grid: Grid,
    path: Path | str,
    *,
    extra_tags: Mapping[str, object] | None = None,
    description: str | None = None,
    mask: np.ndarray | None = None,
) -> Path:
    """Write a grid as a single-band float32 GeoTIFF that QGIS and GDAL open as is.

    Parameters
    ----------
    grid
        The raster; NaN cells become nodata.
    path
        Target file; its directory is created when missing. An existing file is
        replaced only once the new one is complete.
    extra_tags
        More dataset tags (e.g. the run id, the selection), written after the grid's
        ``params`` and overriding them on a clash.
    description
        The band description; default: the grid's units.
    mask
        Optional boolean array of the grid's shape, True inside the area shown; cells
        outside are written as nodata (``kde(mask=...)`` does the same on the grid).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    OutputError
        The file cannot be written (no space, no permission, a GDAL error).
    AnalysisError
        ``mask`` does not have the grid's shape.

    Notes
    -----
    The format is :meth:`Grid.to_geotiff`'s (the analyst's API writes the same files):
    the grid's CRS and transform, float32 values with NaN as nodata, DEFLATE compression
    with the floating-point predictor, tiles of 256 pixels when the raster is large
    enough, the grid's ``params`` and ``extra_tags`` as dataset tags, and ``units`` as
    the band's unit type and a ``units`` tag.
    """
    values = np.asarray(grid.values, dtype=float)
    params = dict(grid.params)
    if mask is not None:
        inside = np.asarray(mask, dtype=bool)
        if inside.shape != grid.shape:
            raise AnalysisError(
                f"mask must have the grid's shape {grid.shape} (rows, cols), got {inside.shape}"
            )
        values = np.where(inside, values, np.nan)
        params["mask"] = "cells outside the mask are nodata"
    params.update(extra_tags or {})
    tagged = Grid(values, grid.transform, grid.crs, params, grid.units)
    return tagged.to_geotiff(path, description=description)


def read_geotiff(path: Path | str) -> Grid:
    """Read a GeoTIFF written by :func:`write_geotiff` back into a :class:`Grid`.

    Nodata cells come back as NaN; the dataset tags come back as ``params``.

    Raises
    ------
    SourceError
        The file is missing or not a raster rasterio can open.
    """
    path = Path(path)
    try:
        with rasterio.open(path) as src:
            values = src.read(1, masked=True).astype("float64").filled(np.nan)
            return Grid(
                values=values,
                transform=src.transform,
                crs=str(src.crs),
                params=dict(src.tags()),
                units=src.descriptions[0] or "",
            )
    except RasterioIOError as e:
        raise SourceError(
            f"cannot read the raster {path} ({e}) — run `trygghetskarta analyse` to write it"
        ) from e


def _has_geometry(frame: gpd.GeoDataFrame) -> bool:
    try:
        frame.geometry  # noqa: B018 - raises when there is no active geometry column
    except AttributeError:
        return False
    return True


def write_geoparquet(frame: gpd.GeoDataFrame, path: Path | str) -> Path:
    """Write a GeoDataFrame as a GeoParquet file in EPSG:3006 that QGIS and DuckDB open as is.

    Parameters
    ----------
    frame
        The table, with an active geometry column and a CRS. A frame in another CRS is
        reprojected to EPSG:3006; the index is not written (put what it holds in a
        column). An empty frame is written with its columns, so a reader finds the
        file and the schema even when an analysis found nothing.
    path
        Target file; its directory is created when missing. An existing file is
        replaced only once the new one is complete.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    CRSError
        The frame has no CRS (nothing says what its coordinates mean).
    OutputError
        Not a GeoDataFrame with a geometry column, or the file cannot be written.

    Examples
    --------
    >>> import tempfile, shapely
    >>> gdf = gpd.GeoDataFrame({"n": [1]}, geometry=[shapely.box(0, 0, 1, 1)], crs="EPSG:3006")
    >>> with tempfile.TemporaryDirectory() as d:
    ...     back = read_geoparquet(write_geoparquet(gdf, Path(d) / "t.parquet"))
    >>> back.crs.to_epsg(), back["n"].tolist()
    (3006, [1])
    """
    target = Path(path)
    if not isinstance(frame, gpd.GeoDataFrame) or not _has_geometry(frame):
        raise OutputError(
            f"expected a GeoDataFrame with a geometry column to write to {target.name}, got "
            f"{type(frame).__name__} — build it with geopandas.GeoDataFrame(..., geometry=...)"
        )
    if frame.crs is None:
        raise CRSError(
            f"expected a GeoDataFrame in EPSG:3006 to write to {target.name}, got one without "
            "a CRS — set it with .set_crs('EPSG:3006') if the coordinates are SWEREF99 TM"
        )
    try:
        same = CRS.from_user_input(frame.crs) == CRS.from_user_input(STORE_CRS)
    except PyprojCRSError as e:  # pragma: no cover - geopandas validates its CRS
        raise CRSError(f"cannot read the CRS of the frame for {target.name}: {e}") from e
    out = frame if same else frame.to_crs(STORE_CRS)

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as sink:  # closed here even when the writer fails half-way
            out.to_parquet(sink, index=False, compression="zstd")

    try:
        write_atomic(target, write)
    except (OSError, ValueError, pyarrow.ArrowException) as e:
        raise OutputError(
            f"could not write the GeoParquet file {target} ({e}) — check that the directory "
            "is writable and has space, and that every column holds one type"
        ) from e
    return target


def read_geoparquet(path: Path | str) -> gpd.GeoDataFrame:
    """Read a GeoParquet file written by :func:`write_geoparquet`.

    Raises
    ------
    SourceError
        The file is missing or not GeoParquet.
    """
    path = Path(path)
    try:
        return gpd.read_parquet(path)
    except (OSError, ValueError, pyarrow.ArrowException) as e:
        raise SourceError(
            f"cannot read the GeoParquet file {path} ({e}) — run `trygghetskarta analyse` to "
            "write it"
        ) from e


# --------------------------------------------------------------------------- folders

#: Prefixes of the hidden folders beside a published folder during its swap.
STAGING_PREFIX = ".staging-"
PREVIOUS_PREFIX = ".previous-"
#: The file in each published folder that describes the files beside it.
FOLDER_MANIFEST = "manifest.json"
_RENAME_EXCHANGE = 2  # linux/fs.h


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    rc = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False  # the kernel or the file system cannot exchange: rename in two steps
    raise OSError(code, os.strerror(code), str(b))


def _staging_path(target: Path, run_id: str) -> Path:
    return target.parent / f"{STAGING_PREFIX}{run_id}-{target.name}"


def _previous_path(target: Path, run_id: str) -> Path:
    return target.parent / f"{PREVIOUS_PREFIX}{run_id}-{target.name}"


def clean_stale_staging(target: Path) -> list[Path]:
    """Remove what a killed run left beside ``target``; restore ``target`` if it was mid-swap.

    A run killed between the two renames of a swap (only where the file system cannot
    exchange two folders in one step) leaves ``target`` missing and the previous set in
    ``.previous-<run>-<name>``: that set is moved back. Staging folders of killed runs are
    deleted.

    Returns
    -------
    list of Path
        The folders removed or restored.
    """
    parent, name = target.parent, target.name
    if not parent.is_dir():
        return []
    found: list[Path] = []
    for previous in sorted(parent.glob(f"{PREVIOUS_PREFIX}*-{name}")):
        if not target.exists() and previous.is_dir():
            os.rename(previous, target)
        else:
            shutil.rmtree(previous)
        found.append(previous)
    for staging in sorted(parent.glob(f"{STAGING_PREFIX}*-{name}")):
        shutil.rmtree(staging)
        found.append(staging)
    return found


@contextmanager
def staged_folder(target: Path | str, run_id: str) -> Iterator[Path]:
    """Write a folder's files into a staging folder beside it, then swap it into place.

    The block writes every file into the folder it is given (``.staging-<run>-<name>``,
    next to ``target``, on the same file system). When the block ends without an error,
    the staging folder takes ``target``'s place in one rename (the previous folder is
    deleted only after the swap); when it raises, the staging folder is deleted and
    ``target`` is left as it was. A process killed inside the block leaves ``target``
    untouched and a stale staging folder that :func:`clean_stale_staging` removes.

    Raises
    ------
    OutputError
        ``target`` is a file, or a folder cannot be created or renamed (read-only, no
        space, no permission): one sentence naming the path.
    """
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise OutputError(
            f"cannot write {target}: it is a file where a folder is expected — move that file "
            "away and run again"
        )
    staging = _staging_path(target, run_id)
    try:
        clean_stale_staging(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging.mkdir()
    except OSError as e:  # name the folder the user knows, not the staging folder
        raise environment_error(OSError(e.errno, e.strerror, str(target)), target) from e
    try:
        yield staging
        _swap(staging, target, run_id)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _swap(staging: Path, target: Path, run_id: str) -> None:
    try:
        if target.is_dir():
            if _exchange(staging, target):
                shutil.rmtree(staging)  # now the previous set
                return
            previous = _previous_path(target, run_id)
            os.rename(target, previous)
            try:
                os.rename(staging, target)
            except OSError:
                os.rename(previous, target)  # keep the previous set in place
                raise
            shutil.rmtree(previous)
        elif target.exists():
            raise OutputError(
                f"cannot write {target}: it is a file where a folder is expected — move that "
                "file away and run again"
            )
        else:
            os.rename(staging, target)
    except OSError as e:
        if isinstance(e, OutputError):
            raise
        raise environment_error(OSError(e.errno, e.strerror, str(target)), target) from e


def write_text(path: Path | str, text: str) -> Path:
    """Write a UTF-8 text file; errors of the environment become one sentence naming it.

    Raises
    ------
    OutputError
        The file cannot be written (no space, read-only, no permission, wrong type of path).
    EncodingError
        The text holds a character UTF-8 cannot encode (a lone surrogate).
    """
    path = Path(path)
    try:
        data = text.encode("utf-8")
    except UnicodeError as e:
        raise environment_error(e, path) from e
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())  # on disk before its folder is swapped into place
    except OSError as e:
        raise environment_error(e, path) from e
    return path


def describe_files(folder: Path, files: Sequence[Path]) -> list[dict[str, object]]:
    """Name, size and SHA-256 of each file (for a folder's manifest)."""
    rows: list[dict[str, object]] = []
    for path in files:
        data = (folder / Path(path).name).read_bytes()
        rows.append(
            {
                "name": Path(path).name,
                "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        )
    return rows
