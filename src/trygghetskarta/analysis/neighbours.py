"""Neighbours of areas: contiguity from polygons with shapely, as sparse adjacency matrices.

An adjacency is a symmetric ``scipy.sparse.csr_array`` of shape ``(n, n)`` with 1 where
two areas are neighbours and an empty diagonal (an area is not its own neighbour; Gi*
adds the area itself). It is what :func:`~trygghetskarta.analysis.hotspots.gi_star_areas`
and :func:`~trygghetskarta.analysis.hotspots.local_moran` take, so no weights library is
needed at run time; ``libpysal.weights.W(neighbour_lists(adj))`` gives the same weights
to libpysal.

The area statistics also take what a PySAL user holds (:func:`area_inputs`): a libpysal
``W`` or ``Graph`` (its neighbour structure: esda's binary and row-standardised
transforms of it), or a ``GeoDataFrame``/``GeoSeries`` of the areas (queen contiguity,
and the geometry is kept for the result). Values given as a ``pandas.Series`` are matched
to the weights' ids or the frame's index, and the results are indexed like them.

- :func:`queen_neighbours`: areas that share at least one boundary point.
- :func:`rook_neighbours`: areas that share a stretch of boundary.
- :func:`adjacency_from_lists`: from ``{i: [j, ...]}`` or a list of lists.
- :func:`higher_order`: neighbours within ``order`` contiguity steps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from numpy.typing import ArrayLike
from shapely.geometry.base import BaseGeometry

from trygghetskarta.errors import AnalysisError

__all__ = [
    "AreaInputs",
    "adjacency_from_lists",
    "area_inputs",
    "as_adjacency",
    "higher_order",
    "neighbour_lists",
    "queen_neighbours",
    "rook_neighbours",
]


def _geometries(geometries: Iterable[BaseGeometry]) -> np.ndarray:
    if _is_geo_frame(geometries):
        geometries = geometries.geometry  # type: ignore[attr-defined]
    geoms = np.asarray(list(getattr(geometries, "values", geometries)), dtype=object)
    if geoms.ndim != 1:
        raise AnalysisError("geometries must be a sequence of shapely polygons")
    bad = [i for i, g in enumerate(geoms) if not isinstance(g, BaseGeometry) or g.is_empty]
    if bad:
        raise AnalysisError(
            f"expected one non-empty shapely geometry per area, got {len(bad)} missing or empty "
            f"(positions {bad[:5]}) — drop those areas or repair their geometry"
        )
    return geoms


def _symmetric(rows: np.ndarray, cols: np.ndarray, n: int) -> sp.csr_array:
    keep = rows != cols
    rows, cols = rows[keep], cols[keep]
    data = np.ones(2 * rows.size, dtype=np.int8)
    adj = sp.coo_array(
        (data, (np.concatenate([rows, cols]), np.concatenate([cols, rows]))), shape=(n, n)
    ).tocsr()
    adj.data[:] = 1  # duplicates were summed
    adj.sort_indices()
    return adj


def _candidate_pairs(geoms: np.ndarray, tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    if not np.isfinite(tolerance) or tolerance < 0:
        raise AnalysisError(f"tolerance must be a distance ≥ 0 in metres, got {tolerance!r}")
    tree = shapely.STRtree(geoms)
    if tolerance > 0:
        left, right = tree.query(geoms, predicate="dwithin", distance=tolerance)
    else:
        left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    return left[keep], right[keep]


def _is_geo_frame(obj: object) -> bool:
    import geopandas as gpd

    return isinstance(obj, gpd.GeoDataFrame)


def _is_geo(obj: object) -> bool:
    import geopandas as gpd

    return isinstance(obj, gpd.GeoDataFrame | gpd.GeoSeries)


def _is_libpysal_w(obj: object) -> bool:
    return all(hasattr(obj, a) for a in ("id_order", "neighbors", "sparse"))


def _is_libpysal_graph(obj: object) -> bool:
    return all(hasattr(obj, a) for a in ("unique_ids", "adjacency", "sparse"))


def _weights_structure(weights: object) -> tuple[sp.csr_array, pd.Index]:
    """The 0/1 neighbour structure of a libpysal ``W`` or ``Graph`` and its ids, in order.

    Weights other than 0 count as neighbours (esda's binary transform); self-weights and
    a Graph's zero self-loops of islands are dropped. A structure that is not symmetric
    (k nearest neighbours) is kept as it is: row ``i`` lists the neighbours of ``i``.
    """
    if _is_libpysal_graph(weights):
        ids = pd.Index(weights.unique_ids)  # type: ignore[attr-defined]
    else:
        ids = pd.Index(weights.id_order)  # type: ignore[attr-defined]
    m = sp.csr_array(weights.sparse)  # type: ignore[attr-defined]
    m = sp.csr_array((m != 0).astype(np.int8))
    m.setdiag(0)
    m.eliminate_zeros()
    m.sort_indices()
    return m, ids


def queen_neighbours(geometries: Iterable[BaseGeometry], *, tolerance: float = 0.0) -> sp.csr_array:
    """Queen contiguity: areas whose boundaries share at least one point.

    Two polygons are neighbours when they intersect (touch at an edge or a corner, or
    overlap) — shapely's ``intersects`` on the geometries, found through an STRtree.
    This is libpysal's ``Queen`` for polygons that share vertices; unlike libpysal it
    also finds polygons that touch where only one of them has a vertex.

    Parameters
    ----------
    geometries
        One polygon per area (a GeoDataFrame, a GeoSeries or a sequence of shapely
        geometries), in a metric CRS (EPSG:3006) when ``tolerance`` is used.
    tolerance
        Also count areas at most this many metres apart as neighbours (boundaries that
        were digitised separately often leave slivers). 0 (default) means touching.

    Returns
    -------
    scipy.sparse.csr_array
        ``(n, n)`` symmetric 0/1 adjacency with an empty diagonal.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> adj = queen_neighbours([box(0, 0, 1, 1), box(1, 0, 2, 1), box(1, 1, 2, 2), box(5, 5, 6, 6)])
    >>> neighbour_lists(adj)
    [[1, 2], [0, 2], [0, 1], []]
    """
    geoms = _geometries(geometries)
    left, right = _candidate_pairs(geoms, float(tolerance))
    return _symmetric(left, right, geoms.size)


def rook_neighbours(geometries: Iterable[BaseGeometry], *, tolerance: float = 0.0) -> sp.csr_array:
    """Rook contiguity: areas that share a stretch of boundary, not just a point.

    Without a tolerance, two polygons are neighbours when their boundaries intersect
    along a length greater than 1e-9 of the shorter perimeter (a shared corner has length
    0). With ``tolerance`` > 0, the length of one area's boundary lying within
    ``tolerance`` of the other's must exceed ``4 × tolerance``: a corner contact gives at
    most about ``2 × tolerance``, a shared edge across a sliver gap gives its length.

    Parameters
    ----------
    geometries
        One polygon per area, metric CRS.
    tolerance
        Gap in metres still counted as shared boundary (0: exactly shared).

    Returns
    -------
    scipy.sparse.csr_array
        ``(n, n)`` symmetric 0/1 adjacency with an empty diagonal.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> adj = rook_neighbours([box(0, 0, 1, 1), box(1, 0, 2, 1), box(1, 1, 2, 2)])
    >>> neighbour_lists(adj)
    [[1], [0, 2], [1]]
    """
    geoms = _geometries(geometries)
    tol = float(tolerance)
    left, right = _candidate_pairs(geoms, tol)
    if left.size == 0:
        return _symmetric(left, right, geoms.size)
    bl = shapely.boundary(geoms[left])
    br = shapely.boundary(geoms[right])
    if tol > 0:
        shared = shapely.intersection(bl, shapely.buffer(br, tol))
        need = 4 * tol
    else:
        shared = shapely.intersection(bl, br)
        need = 0.0
    perimeter = np.minimum(shapely.length(bl), shapely.length(br))
    length = shapely.length(shared)
    keep = length > np.maximum(need, 1e-9 * perimeter)
    return _symmetric(left[keep], right[keep], geoms.size)


def adjacency_from_lists(
    neighbours: Mapping[int, Iterable[int]] | Sequence[Iterable[int]], n: int | None = None
) -> sp.csr_array:
    """An adjacency from neighbour lists (positions 0 … n-1), made symmetric.

    Parameters
    ----------
    neighbours
        ``{i: [j, ...]}`` (e.g. libpysal's ``W.neighbors`` with integer ids in order)
        or a list whose i-th item lists the neighbours of area i. Self-references are
        dropped; a pair listed one way only is made mutual.
    n
        Number of areas (default: the number of lists, or 1 + the largest position).

    Examples
    --------
    >>> neighbour_lists(adjacency_from_lists({0: [1], 1: [0, 2], 2: []}))
    [[1], [0, 2], [1]]
    """
    items = neighbours.items() if isinstance(neighbours, Mapping) else enumerate(neighbours)
    rows: list[int] = []
    cols: list[int] = []
    for i, js in items:
        for j in js:
            rows.append(int(i))
            cols.append(int(j))
    r = np.asarray(rows, dtype=np.int64)
    c = np.asarray(cols, dtype=np.int64)
    size = len(neighbours) if n is None else int(n)
    if r.size:
        size = max(size, int(max(r.max(), c.max())) + 1) if n is None else size
        if min(r.min(), c.min()) < 0 or max(r.max(), c.max()) >= size:
            raise AnalysisError(f"neighbour positions must lie in 0 … {size - 1}")
    return _symmetric(r, c, size)


def as_adjacency(neighbours: object, n: int) -> sp.csr_array:
    """Accept an adjacency (sparse or dense square array), neighbour lists, polygons or
    a libpysal ``W`` or ``Graph``, in the order of the values.

    Polygons (shapely geometries, a GeoSeries or a GeoDataFrame) get
    :func:`queen_neighbours`; a ``W`` or ``Graph`` gives its neighbour structure in its
    id order (see :func:`area_inputs` to match ids to a Series' index).

    Raises
    ------
    AnalysisError
        When the shape does not match ``n`` areas or the object is none of these.
    """
    if _is_libpysal_w(neighbours) or _is_libpysal_graph(neighbours):
        adj, ids = _weights_structure(neighbours)
        if adj.shape != (n, n):
            raise AnalysisError(
                f"the weights have {len(ids)} areas but there are {n} values — build the "
                "weights from the same areas as the values"
            )
        return adj
    if _is_geo(neighbours):
        if len(neighbours) != n:  # type: ignore[arg-type]
            raise AnalysisError(
                f"expected {n} geometries (one per value), got {len(neighbours)}"  # type: ignore[arg-type]
            )
        return queen_neighbours(neighbours)  # type: ignore[arg-type]
    if sp.issparse(neighbours) or (isinstance(neighbours, np.ndarray) and neighbours.ndim == 2):
        adj = sp.csr_array(neighbours)
        if adj.shape != (n, n):
            raise AnalysisError(
                f"the adjacency must be {n} × {n} (one row per value), got {adj.shape}"
            )
        adj = adj.astype(bool).astype(np.int8)
        adj.setdiag(0)
        adj.eliminate_zeros()
        if (adj != adj.T).nnz:
            raise AnalysisError("the adjacency must be symmetric — pass (A + A.T) > 0")
        adj.sort_indices()
        return adj
    seq = list(getattr(neighbours, "values", neighbours))  # type: ignore[call-overload]
    if seq and all(isinstance(g, BaseGeometry) for g in seq):
        if len(seq) != n:
            raise AnalysisError(f"expected {n} geometries (one per value), got {len(seq)}")
        return queen_neighbours(seq)
    if isinstance(neighbours, Mapping) or all(isinstance(s, Iterable) for s in seq):
        return adjacency_from_lists(neighbours, n)  # type: ignore[arg-type]
    raise AnalysisError(
        "neighbours must be an n × n adjacency, neighbour lists or one polygon per area, "
        f"got {type(neighbours).__name__}"
    )


def higher_order(adjacency: sp.csr_array, order: int) -> sp.csr_array:
    """Neighbours within ``order`` contiguity steps (orders 1 … ``order`` together).

    ``order=1`` returns the adjacency itself; 2 adds the neighbours' neighbours, and so
    on (libpysal's ``higher_order(w, k, lower_order=True)``).

    Examples
    --------
    >>> chain = adjacency_from_lists([[1], [0, 2], [1, 3], [2]])
    >>> neighbour_lists(higher_order(chain, 2))
    [[1, 2], [0, 2, 3], [0, 1, 3], [1, 2]]
    """
    if int(order) != order or order < 1:
        raise AnalysisError(f"order must be a whole number ≥ 1, got {order!r}")
    n = adjacency.shape[0]
    step = (adjacency != 0).astype(np.int64) + sp.eye_array(n, dtype=np.int64, format="csr")
    reach = step
    for _ in range(int(order) - 1):
        reach = ((reach @ step) > 0).astype(np.int64)
    out = sp.csr_array((reach > 0).astype(np.int8))
    out.setdiag(0)
    out.eliminate_zeros()
    out.sort_indices()
    return out


def neighbour_lists(adjacency: sp.csr_array) -> list[list[int]]:
    """The neighbours of each area as sorted lists of positions (for libpysal, or to read).

    Parameters
    ----------
    adjacency
        An ``(n, n)`` adjacency (e.g. from :func:`queen_neighbours`).

    Returns
    -------
    list of list of int
        Item ``i`` lists the positions of the neighbours of area ``i``;
        ``libpysal.weights.W(dict(enumerate(lists)))`` gives libpysal the same weights.

    Examples
    --------
    >>> import numpy as np
    >>> neighbour_lists(np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]]))
    [[1], [0, 2], [1]]
    """
    adj = sp.csr_array(adjacency)
    adj.sort_indices()
    return [adj.indices[adj.indptr[i] : adj.indptr[i + 1]].tolist() for i in range(adj.shape[0])]


@dataclass(frozen=True, eq=False)
class AreaInputs:
    """Values per area matched to their neighbours, as the area statistics take them.

    Attributes
    ----------
    values
        Float values, in the order of ``index`` (or of the input).
    adjacency
        The 0/1 neighbour structure in the same order (row ``i``: the neighbours of ``i``).
    index
        The areas' labels (the values' index, the weights' ids or the frame's index), or
        ``None`` for bare arrays with bare neighbours.
    geometry
        The areas' geometry in the same order, when the neighbours were a GeoDataFrame or
        GeoSeries.
    """

    values: np.ndarray
    adjacency: sp.csr_array
    index: pd.Index | None
    geometry: Any = None


def _default_index(index: pd.Index) -> bool:
    return bool(index.equals(pd.RangeIndex(len(index))))


def _order(labels: pd.Index, index: pd.Index | None, what: str) -> np.ndarray | None:
    """Positions in ``labels`` of each of ``index``; ``None`` when already in order."""
    if index is None or labels.equals(index):
        return None
    if labels.is_unique and index.is_unique and len(labels) == len(index):
        pos = labels.get_indexer(index)
        if (pos >= 0).all():
            return pos
    if len(labels) == len(index) and (_default_index(index) or _default_index(labels)):
        return None  # one side carries no labels: by position, as esda does
    missing = [v for v in index[:50] if v not in labels][:3]
    raise AnalysisError(
        f"the values' index does not match the {what} ({len(index)} values, {len(labels)} "
        f"areas; e.g. {missing} not among them) — build the {what} from the same areas, or "
        "pass the values as an array in their order"
    )


def area_inputs(values: ArrayLike, neighbours: object, *, what: str = "values") -> AreaInputs:
    """Match values per area to their neighbours, the way esda and geopandas users hold them.

    Parameters
    ----------
    values
        One value per area: a ``pandas.Series`` (its index names the areas) or an array.
    neighbours
        A libpysal ``W`` or ``Graph`` (matched on its ids when ``values`` is a Series),
        a ``GeoDataFrame``/``GeoSeries`` of the areas (queen contiguity; matched on its
        index), an ``(n, n)`` adjacency, neighbour lists or shapely polygons (in the
        order of the values).
    what
        What the values are, for error messages.

    Returns
    -------
    AreaInputs
        Values, adjacency, index and geometry, in one order: the values' own.

    Raises
    ------
    AnalysisError
        Labels that do not match, or a neighbour object of another size or kind.

    Examples
    --------
    >>> import pandas as pd
    >>> from libpysal.weights import W
    >>> w = W({"a": ["b"], "b": ["a", "c"], "c": ["b"]})
    >>> got = area_inputs(pd.Series({"c": 3.0, "a": 1.0, "b": 2.0}), w)
    >>> list(got.index), neighbour_lists(got.adjacency)
    (['c', 'a', 'b'], [[2], [2], [0, 1]])
    """
    series = values if isinstance(values, pd.Series) else None
    try:
        arr = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError) as e:
        raise AnalysisError(f"{what} must be numbers, got {type(values).__name__}") from e
    index = series.index if series is not None else None
    geometry = None
    if _is_libpysal_w(neighbours) or _is_libpysal_graph(neighbours):
        adj, ids = _weights_structure(neighbours)
        if len(ids) != arr.size:
            raise AnalysisError(
                f"the weights have {len(ids)} areas but there are {arr.size} {what} — build "
                "the weights from the same areas as the values"
            )
        pos = _order(ids, index, "weights' ids")
        if pos is not None:
            adj = sp.csr_array(adj[pos][:, pos])
        if index is None or (_default_index(index) and not _default_index(ids)):
            index = ids
    elif _is_geo(neighbours):
        geoms = neighbours.geometry if _is_geo_frame(neighbours) else neighbours  # type: ignore[attr-defined]
        if len(geoms) != arr.size:
            raise AnalysisError(
                f"expected one area per value: {arr.size} {what} but {len(geoms)} geometries"
            )
        pos = _order(geoms.index, index, "areas' index")
        if pos is not None:
            geoms = geoms.iloc[pos]
        if index is None or (_default_index(index) and not _default_index(geoms.index)):
            index = geoms.index
        geometry = geoms.set_axis(index)
        adj = queen_neighbours(geometry)
    else:
        adj = as_adjacency(neighbours, arr.size)
    return AreaInputs(arr, adj, index, geometry)
