"""Events as analysts hold them: a GeoSeries or GeoDataFrame of points, or x and y arrays.

Every analysis that takes event positions (:func:`~trygghetskarta.analysis.kde`,
:func:`~trygghetskarta.analysis.count_grid`, the bandwidth rules,
:func:`~trygghetskarta.analysis.space_time_cube`, :func:`~trygghetskarta.analysis.knox`,
the clusters …) reads them through :func:`as_xy`, so they all accept the same inputs:

- a ``GeoSeries`` or ``GeoDataFrame`` of points in any CRS: it is reprojected to
  EPSG:3006 (SWEREF99 TM, metres), the CRS every analysis computes in;
- a ``DataFrame`` with ``x`` and ``y`` columns (as :func:`trygghetskarta.store.read_events`
  returns), in EPSG:3006 unless ``crs=`` says otherwise;
- ``x`` and ``y`` arrays, in EPSG:3006 unless ``crs=`` says otherwise.

Positions with no CRS that look like longitude and latitude (every x within ±180 and
every y within ±90: no place in Sweden has such SWEREF99 TM coordinates) are refused with
one sentence, never silently taken as metres. Missing or empty geometries become NaN
coordinates, which the analyses leave out and count.

Per-event values (weights, uncertainty, times, periods) may be given as the name of a
column of the frame passed as the points (:func:`event_values`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from trygghetskarta.config import STORE_CRS
from trygghetskarta.errors import AnalysisError, CRSError

__all__ = ["as_xy", "event_values", "is_points", "looks_like_degrees", "to_points"]

#: What the analyses take as event positions.
Points = Any


def is_points(value: object) -> bool:
    """True for a GeoSeries, a GeoDataFrame or a DataFrame with ``x`` and ``y`` columns."""
    import geopandas as gpd

    if isinstance(value, gpd.GeoSeries | gpd.GeoDataFrame):
        return True
    return isinstance(value, pd.DataFrame) and {"x", "y"} <= set(value.columns)


def looks_like_degrees(x: ArrayLike, y: ArrayLike) -> bool:
    """Whether coordinates look like longitude and latitude rather than metres.

    True when there is at least one finite position and every finite x lies within
    ±180 and every finite y within ±90. In SWEREF99 TM such coordinates lie on the
    equator, thousands of kilometres from Sweden.

    Examples
    --------
    >>> looks_like_degrees([18.07, 18.05], [59.33, 59.31])
    True
    >>> looks_like_degrees([674_000.0], [6_580_000.0])
    False
    """
    xa = np.asarray(x, dtype=float).ravel()
    ya = np.asarray(y, dtype=float).ravel()
    ok = np.isfinite(xa) & np.isfinite(ya)
    if not ok.any():
        return False
    return bool(np.all(np.abs(xa[ok]) <= 180.0) and np.all(np.abs(ya[ok]) <= 90.0))


def _crs_name(crs: object) -> str:
    try:
        from pyproj import CRS

        c = CRS.from_user_input(crs)
    except Exception as e:  # pyproj raises CRSError and others for unknown input
        raise CRSError(
            f"crs must be a CRS pyproj understands (e.g. 'EPSG:4326'), got {crs!r}"
        ) from e
    epsg = c.to_epsg()
    return f"EPSG:{epsg}" if epsg else c.to_string()


def _reproject(x: np.ndarray, y: np.ndarray, crs: object) -> tuple[np.ndarray, np.ndarray]:
    from pyproj import CRS, Transformer

    source = CRS.from_user_input(crs)
    if source == CRS.from_user_input(STORE_CRS):
        return x, y
    tr = Transformer.from_crs(source, STORE_CRS, always_xy=True)
    ok = np.isfinite(x) & np.isfinite(y)
    xo = np.full(x.shape, np.nan)
    yo = np.full(y.shape, np.nan)
    if ok.any():
        xo[ok], yo[ok] = tr.transform(x[ok], y[ok])
    return xo, yo


def _refuse_degrees(x: np.ndarray, y: np.ndarray, what: str) -> None:
    if looks_like_degrees(x, y):
        ok = np.isfinite(x) & np.isfinite(y)
        raise CRSError(
            f"the {what} have no CRS and look like longitude/latitude degrees (x "
            f"{np.min(x[ok]):.4g}–{np.max(x[ok]):.4g}, y {np.min(y[ok]):.4g}–"
            f"{np.max(y[ok]):.4g}), but metres in {STORE_CRS} were expected — set the CRS "
            "(gdf.set_crs('EPSG:4326'), or crs='EPSG:4326' with arrays) to have them "
            "reprojected"
        )


def _geometry_xy(geoms: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    import shapely

    arr = np.asarray(geoms.values if hasattr(geoms, "values") else geoms, dtype=object)
    missing = shapely.is_missing(arr) | shapely.is_empty(arr)
    kinds = shapely.get_type_id(arr)
    bad = ~missing & (kinds != shapely.GeometryType.POINT)
    if bad.any():
        names = sorted({shapely.get_type_id(g) for g in arr[bad]})
        type_names = ", ".join(shapely.GeometryType(k).name.title() for k in names)
        raise AnalysisError(
            f"expected one point per event in the {what}, got {int(bad.sum())} other "
            f"geometries ({type_names}) — pass .geometry.representative_point() or .centroid"
        )
    x = np.full(arr.size, np.nan)
    y = np.full(arr.size, np.nan)
    keep = ~missing
    if keep.any():
        x[keep] = shapely.get_x(arr[keep])
        y[keep] = shapely.get_y(arr[keep])
    return x, y


def as_xy(
    points: Points,
    y: ArrayLike | None = None,
    *,
    crs: object | None = None,
    what: str = "events",
) -> tuple[np.ndarray, np.ndarray]:
    """Event positions as two float arrays in EPSG:3006 metres.

    Parameters
    ----------
    points
        A ``GeoSeries`` or ``GeoDataFrame`` of points (any CRS; missing or empty
        geometries give NaN), a ``DataFrame`` with ``x`` and ``y`` columns, or the x
        coordinates (then ``y`` is required).
    y
        The y coordinates, when ``points`` is x.
    crs
        The CRS of x and y or of the frame's columns (default EPSG:3006); for a
        GeoSeries or GeoDataFrame only when it has none.
    what
        What the positions are, for error messages.

    Returns
    -------
    x, y
        Float arrays of the same length, EPSG:3006, NaN where there is no position.

    Raises
    ------
    CRSError
        Degrees with no CRS (one sentence saying how to set it), a CRS pyproj does not
        know, or a ``crs=`` that disagrees with the GeoSeries' own.
    AnalysisError
        Geometries that are not points, x and y of different lengths, or a frame and a
        ``y`` at once.

    Examples
    --------
    >>> import geopandas as gpd
    >>> pts = gpd.GeoSeries.from_xy([18.0686], [59.3293], crs="EPSG:4326")
    >>> x, y = as_xy(pts)
    >>> round(float(x[0])), round(float(y[0]))
    (674572, 6580743)
    >>> as_xy([18.0686], [59.3293])
    Traceback (most recent call last):
    ...
    trygghetskarta.errors.CRSError: the events have no CRS and look like longitude/latitude degrees (x 18.07–18.07, y 59.33–59.33), but metres in EPSG:3006 were expected — set the CRS (gdf.set_crs('EPSG:4326'), or crs='EPSG:4326' with arrays) to have them reprojected
    """  # noqa: E501
    import geopandas as gpd

    if isinstance(points, gpd.GeoDataFrame | gpd.GeoSeries):
        if y is not None:
            raise AnalysisError(
                f"got a {type(points).__name__} and y — pass either the points or x and y"
            )
        geoms = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
        own = geoms.crs
        if own is not None and crs is not None and _crs_name(own) != _crs_name(crs):
            raise CRSError(
                f"the {what} are in {_crs_name(own)} but crs={crs!r} was given — drop crs= "
                "(the GeoSeries' CRS is used) or fix the GeoSeries with set_crs(..., "
                "allow_override=True)"
            )
        xa, ya = _geometry_xy(geoms, what)
        source = own if own is not None else crs
    elif isinstance(points, pd.DataFrame):
        if y is not None:
            raise AnalysisError("got a DataFrame and y — pass either the frame or x and y")
        missing = [c for c in ("x", "y") if c not in points.columns]
        if missing:
            raise AnalysisError(
                f"the {what} frame needs x and y columns (or a geometry), it lacks {missing} "
                f"(it has {list(points.columns)[:12]})"
            )
        xa = pd.to_numeric(points["x"], errors="coerce").to_numpy(dtype=float)
        ya = pd.to_numeric(points["y"], errors="coerce").to_numpy(dtype=float)
        source = crs
    else:
        if y is None:
            raise AnalysisError(
                f"expected a GeoSeries or GeoDataFrame of points, or x and y arrays, got "
                f"{type(points).__name__} and no y"
            )
        try:
            xa = np.asarray(points, dtype=float).ravel()
            ya = np.asarray(y, dtype=float).ravel()
        except (TypeError, ValueError) as e:
            raise AnalysisError(
                f"x and y must be numbers (metres in {STORE_CRS}), got "
                f"{type(points).__name__} and {type(y).__name__}"
            ) from e
        if xa.shape != ya.shape:
            raise AnalysisError(
                f"x and y must have the same length, got {xa.size} x values and {ya.size} y values"
            )
        source = crs
    if source is None:
        _refuse_degrees(xa, ya, what)
        return xa, ya
    return _reproject(xa, ya, source)


def event_values(points: Points, value: Any, name: str) -> Any:
    """A per-event argument, taken from the frame's column when it is a column name.

    Parameters
    ----------
    points
        What was passed as the events.
    value
        The argument: ``None``, values (returned as given), or the name of a column of
        ``points`` when that is a (Geo)DataFrame.
    name
        The argument's name, for the error message.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"x": [1.0], "y": [2.0], "uncertainty_m": [25.0]})
    >>> event_values(frame, "uncertainty_m", "uncertainty").tolist()
    [25.0]
    """
    if not isinstance(value, str):
        return value
    if isinstance(points, pd.DataFrame):
        if value not in points.columns:
            raise AnalysisError(
                f"{name}={value!r} names no column of the events frame (it has "
                f"{list(points.columns)[:12]})"
            )
        return points[value]
    raise AnalysisError(
        f"{name}={value!r} is a column name, but the events are not a DataFrame — pass the "
        "values themselves"
    )


def to_points(
    events: pd.DataFrame, *, crs: object = STORE_CRS, sensitive_points: bool = False
) -> Any:
    """A GeoDataFrame of the events with a point geometry from their ``x`` and ``y``.

    Rows without a position (events known only to the kommun) are kept, with an empty
    geometry, so nothing is lost; the analyses leave them out and count them. Sensitive
    events (a true ``sensitive`` column: sexual offences, violence in close
    relationships) stay at district level in every analysis: they keep their row and
    their district, but no point, unless ``sensitive_points=True``.

    Parameters
    ----------
    events
        A frame with ``x`` and ``y`` columns, e.g. from
        :func:`trygghetskarta.store.read_events`.
    crs
        The CRS of ``x`` and ``y`` (the store's EPSG:3006 by default).
    sensitive_points
        Give sensitive events their point too (for an analysis that is allowed to).

    Returns
    -------
    geopandas.GeoDataFrame
        The same rows, index and columns plus ``geometry``.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"x": [674_000.0, None, 674_100.0],
    ...                       "y": [6_580_000.0, None, 6_580_100.0],
    ...                       "sensitive": [False, False, True]})
    >>> gdf = to_points(frame)
    >>> gdf.crs.to_epsg(), gdf.geometry.is_empty.tolist()
    (3006, [False, True, True])
    """
    import geopandas as gpd
    import shapely

    if not isinstance(events, pd.DataFrame):
        raise AnalysisError(
            f"to_points needs a DataFrame with x and y columns, got {type(events).__name__} — "
            "read the events with store.read_events"
        )
    if not {"x", "y"} <= set(events.columns):
        raise AnalysisError(
            f"to_points needs x and y columns, the frame has {list(events.columns)[:12]} — "
            "select x and y in the query that built it"
        )
    x = pd.to_numeric(events["x"], errors="coerce").to_numpy(dtype=float)
    y = pd.to_numeric(events["y"], errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    if not sensitive_points and "sensitive" in events.columns:
        ok &= ~events["sensitive"].fillna(False).astype(bool).to_numpy()
    geoms = np.full(x.size, shapely.Point(), dtype=object)
    geoms[ok] = shapely.points(x[ok], y[ok])
    return gpd.GeoDataFrame(events.copy(), geometry=geoms, crs=crs)
