"""Clusters of events: DBSCAN and HDBSCAN with the clusters' outlines as polygons.

Density-based clustering finds groups of events that lie closer together than the
events around them, of any shape, and leaves the rest as *noise* — the point-based
counterpart of a hotspot map (ArcGIS Pro's *Density-based Clustering* tool offers the
same two methods). Both run scikit-learn on coordinates in EPSG:3006, so every distance
parameter is in metres.

- :func:`dbscan`: a cluster is a set of events each within ``eps`` metres of a *core*
  event, which has at least ``min_samples`` events (itself included) within ``eps``.
  One fixed scale; easy to explain ("at least 5 events within 150 m").
- :func:`hdbscan`: DBSCAN over all scales at once, keeping the most stable clusters of
  at least ``min_cluster_size`` events; finds dense inner-city clusters and sparse
  suburban ones in one run, without an ``eps``.
- :func:`cluster_outlines`: one polygon per cluster (concave or convex hull) with its
  number of events, distinct locations, area and density, for any labelling.

Labels are renumbered by size: cluster 0 is the largest. Noise is :data:`NOISE` (-1);
events without a position get :data:`UNPLACED` (-2) and take no part in the clustering.
Many geocoded events share one point (a square, a station): a cluster made only of such
points has no area, so its outline is a disc of ``min_radius`` metres around its hull,
flagged ``degenerate``, and its density is NaN.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import ArrayLike
from scipy.spatial import cKDTree
from sklearn.cluster import DBSCAN, HDBSCAN

from trygghetskarta.analysis.points import Points, as_xy, event_values, is_points
from trygghetskarta.config import STORE_CRS
from trygghetskarta.errors import AnalysisError

#: Label of events that belong to no cluster.
NOISE = -1
#: Label of events without a position (not clustered).
UNPLACED = -2
#: Square metres per square kilometre.
M2_PER_KM2 = 1e6
#: Default concave-hull ratio (shapely's ``ratio``: 1 gives the convex hull, values
#: towards 0 follow the events more tightly).
CONCAVE_RATIO = 0.5
#: Default radius, metres, of the outline of a cluster whose hull has no area.
MIN_RADIUS_M = 25.0
#: DBSCAN (scikit-learn) holds every event's neighbours within ``eps`` at once, 8 bytes
#: an entry: :func:`dbscan_neighbours` above this (about 0.4 GB) is too many for one run.
DBSCAN_MAX_NEIGHBOURS = 50_000_000
#: Events whose neighbours :func:`dbscan_neighbours` counts to estimate the total.
_ESTIMATE_SAMPLE = 4_000

Hull = Literal["concave", "convex"]

__all__ = [
    "DBSCAN_MAX_NEIGHBOURS",
    "NOISE",
    "UNPLACED",
    "Clusters",
    "cluster_outlines",
    "dbscan",
    "dbscan_neighbours",
    "hdbscan",
]

_OUTLINE_COLUMNS = {
    "cluster": np.int64,
    "n_events": np.int64,
    "n_locations": np.int64,
    "area_km2": np.float64,
    "events_per_km2": np.float64,
    "centre_x": np.float64,
    "centre_y": np.float64,
    "degenerate": np.bool_,
}


@dataclass(frozen=True)
class Clusters:
    """The result of :func:`dbscan` or :func:`hdbscan`.

    Attributes
    ----------
    labels
        One label per input event (int64): ``0, 1, …`` by decreasing cluster size,
        :data:`NOISE` or :data:`UNPLACED`.
    outlines
        One row per cluster (see :func:`cluster_outlines`), EPSG:3006.
    method
        ``"dbscan"`` or ``"hdbscan"``.
    params
        The parameters of the run (for the output's metadata).
    core
        DBSCAN: True for core events; None for HDBSCAN.
    probability
        HDBSCAN: each event's strength of membership in its cluster (0 for noise and
        unplaced events); None for DBSCAN.
    """

    labels: np.ndarray
    outlines: gpd.GeoDataFrame = field(repr=False)
    method: str
    params: dict[str, Any]
    core: np.ndarray | None = field(default=None, repr=False)
    probability: np.ndarray | None = field(default=None, repr=False)

    @property
    def n_clusters(self) -> int:
        """Number of clusters."""
        return len(self.outlines)

    @property
    def n_noise(self) -> int:
        """Events with a position that belong to no cluster."""
        return int(np.count_nonzero(self.labels == NOISE))

    @property
    def n_unplaced(self) -> int:
        """Events left out for lack of a position."""
        return int(np.count_nonzero(self.labels == UNPLACED))

    @property
    def n_clustered(self) -> int:
        """Events in some cluster."""
        return int(np.count_nonzero(self.labels >= 0))


def _points(
    x: Points, y: ArrayLike | None, crs: object | None = None
) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = as_xy(x, y, crs=crs)
    placed = np.isfinite(xs) & np.isfinite(ys)
    return np.column_stack([xs, ys]), placed


def _by_size(labels: np.ndarray) -> np.ndarray:
    """Renumber cluster labels 0, 1, … by decreasing size (ties: first seen first)."""
    out = labels.copy()
    member = labels >= 0
    if not member.any():
        return out
    old, first, counts = np.unique(labels[member], return_index=True, return_counts=True)
    order = np.lexsort((first, -counts))
    new = np.empty(old.max() + 1, dtype=np.int64)
    new[old[order]] = np.arange(order.size)
    out[member] = new[labels[member]]
    return out


def _positive(name: str, value: float) -> None:
    if not (isinstance(value, int | float | np.number) and np.isfinite(value) and value > 0):
        raise AnalysisError(f"expected {name} to be a number > 0 (metres), got {value!r}")


def _whole(name: str, value: int, minimum: int) -> None:
    if not (isinstance(value, int | np.integer) and value >= minimum):
        raise AnalysisError(f"expected {name} to be a whole number >= {minimum}, got {value!r}")


def cluster_outlines(
    x: Points,
    y: ArrayLike | None = None,
    labels: ArrayLike | None = None,
    *,
    hull: Hull = "concave",
    ratio: float = CONCAVE_RATIO,
    min_radius: float = MIN_RADIUS_M,
    crs: str = STORE_CRS,
) -> gpd.GeoDataFrame:
    """One polygon per cluster with its size, area and density.

    Parameters
    ----------
    x, y
        Event coordinates in ``crs`` (metres); or the events as ``x`` alone (a
        GeoSeries/GeoDataFrame of points, reprojected to EPSG:3006, with the labels
        second or as ``labels=``).
    labels
        Cluster label per event (e.g. ``Clusters.labels``); negative labels (noise,
        unplaced) are left out.
    hull
        ``"concave"`` (``shapely.concave_hull`` with ``ratio``) or ``"convex"``.
    ratio
        Concave-hull ratio in [0, 1]; 1 is the convex hull.
    min_radius
        Radius, metres, of the disc drawn around a cluster whose hull has no area (all
        its events on one point or one line).
    crs
        Reference system of the coordinates and of the result.

    Returns
    -------
    geopandas.GeoDataFrame
        Sorted by ``cluster``, with columns ``cluster, n_events, n_locations`` (distinct
        coordinates), ``area_km2`` (of the outline), ``events_per_km2`` (NaN for
        degenerate clusters), ``centre_x, centre_y`` (mean of the events),
        ``degenerate`` and ``geometry`` (Polygon). Empty, with these columns, when there
        are no clusters.

    Examples
    --------
    >>> out = cluster_outlines([0, 100, 0, 100, 5000], [0, 0, 100, 100, 0], [0, 0, 0, 0, -1])
    >>> out[["cluster", "n_events", "area_km2"]].to_dict("records")
    [{'cluster': 0, 'n_events': 4, 'area_km2': 0.01}]
    """
    if hull not in ("concave", "convex"):
        raise AnalysisError(f"expected hull 'concave' or 'convex', got {hull!r}")
    if not 0.0 <= ratio <= 1.0:
        raise AnalysisError(f"expected a concave-hull ratio in [0, 1], got {ratio!r}")
    _positive("min_radius", min_radius)
    if is_points(x):
        if labels is None:
            labels, y = y, None
        if isinstance(x, gpd.GeoSeries | gpd.GeoDataFrame):
            crs = STORE_CRS
        xy, placed = _points(x, y)
    else:
        xy, placed = _points(x, y, crs)
    if labels is None:
        raise AnalysisError("cluster_outlines needs each event's cluster label: pass labels=")
    lab = np.asarray(labels).ravel()
    if lab.size != xy.shape[0]:
        raise AnalysisError(f"expected one label per event ({xy.shape[0]}), got {lab.size}")
    keep = (lab >= 0) & placed
    xy, lab = xy[keep], lab[keep].astype(np.int64)
    if lab.size == 0:
        empty = {c: np.empty(0, dtype=t) for c, t in _OUTLINE_COLUMNS.items()}
        return gpd.GeoDataFrame(empty, geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    order = np.argsort(lab, kind="stable")
    xy, lab = xy[order], lab[order]
    ids, starts, n_events = np.unique(lab, return_index=True, return_counts=True)
    group = np.repeat(np.arange(ids.size), n_events)
    multipoints = shapely.multipoints(xy, indices=group)
    hulls = (
        shapely.concave_hull(multipoints, ratio=ratio)
        if hull == "concave"
        else shapely.convex_hull(multipoints)
    )
    degenerate = shapely.area(hulls) <= 0.0
    outlines = np.where(degenerate, shapely.buffer(hulls, min_radius), hulls)
    area_km2 = shapely.area(outlines) / M2_PER_KM2
    n_locations = np.array(
        [len(np.unique(xy[s : s + c], axis=0)) for s, c in zip(starts, n_events, strict=True)],
        dtype=np.int64,
    )
    centre_x = np.bincount(group, weights=xy[:, 0]) / n_events
    centre_y = np.bincount(group, weights=xy[:, 1]) / n_events
    with np.errstate(divide="ignore", invalid="ignore"):
        density = np.where(degenerate, np.nan, n_events / area_km2)
    return gpd.GeoDataFrame(
        {
            "cluster": ids.astype(np.int64),
            "n_events": n_events.astype(np.int64),
            "n_locations": n_locations,
            "area_km2": area_km2,
            "events_per_km2": density,
            "centre_x": centre_x,
            "centre_y": centre_y,
            "degenerate": degenerate,
        },
        geometry=outlines,
        crs=crs,
    )


def dbscan_neighbours(x: ArrayLike, y: ArrayLike, eps: float) -> float:
    """Neighbour entries DBSCAN would hold: events within ``eps`` of each event, summed.

    Counted exactly with a KD-tree for up to 4 000 events, else estimated from a fixed
    sample of 4 000 (the same every run), without listing any neighbour.

    Parameters
    ----------
    x, y
        Coordinates in metres (non-finite ones are left out).
    eps
        DBSCAN's radius, metres.

    Returns
    -------
    float
        The entries, each event counting itself.

    Examples
    --------
    >>> dbscan_neighbours([0, 10, 20, 5000], [0, 0, 0, 0], eps=15)
    8.0
    """
    _positive("eps", eps)
    xs, ys = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    ok = np.isfinite(xs) & np.isfinite(ys)
    xy = np.column_stack([xs[ok], ys[ok]])
    if xy.shape[0] == 0:
        return 0.0
    tree = cKDTree(xy)
    if xy.shape[0] <= _ESTIMATE_SAMPLE:
        return float(tree.query_ball_point(xy, float(eps), return_length=True).sum())
    pick = np.random.default_rng(0).choice(xy.shape[0], size=_ESTIMATE_SAMPLE, replace=False)
    counts = tree.query_ball_point(xy[pick], float(eps), return_length=True)
    return float(counts.mean()) * xy.shape[0]


def dbscan(
    x: Points,
    y: ArrayLike | None = None,
    *,
    eps: float,
    min_samples: int = 5,
    weights: ArrayLike | None = None,
    hull: Hull = "concave",
    ratio: float = CONCAVE_RATIO,
    min_radius: float = MIN_RADIUS_M,
    crs: object | None = None,
) -> Clusters:
    """DBSCAN clusters of events, with their outlines.

    Parameters
    ----------
    x, y
        Event coordinates in EPSG:3006, metres; or the events as ``x`` alone (a
        GeoSeries/GeoDataFrame of points in any CRS or a frame with ``x`` and ``y``, see
        :func:`~trygghetskarta.analysis.points.as_xy`). Events with a non-finite
        coordinate or no geometry get :data:`UNPLACED`.
    eps
        Neighbourhood radius, metres.
    min_samples
        Events (weights, with ``weights``) within ``eps`` of an event, itself included,
        for it to be a core event.
    weights
        Optional weight per event (e.g. the number of events a point stands for).
    hull, ratio, min_radius
        Outline shape, see :func:`cluster_outlines`.
    crs
        The CRS of x and y when they are not EPSG:3006.

    Returns
    -------
    Clusters
        With ``core`` set.

    Raises
    ------
    AnalysisError
        A parameter out of range.

    Examples
    --------
    >>> res = dbscan([0, 10, 20, 5000, 5010, 5020, 9000], [0] * 7, eps=15, min_samples=2)
    >>> res.labels.tolist(), res.n_noise
    ([0, 0, 0, 1, 1, 1, -1], 1)
    """
    _positive("eps", eps)
    _whole("min_samples", min_samples, 1)
    xy, placed = _points(x, y, crs)
    w = None
    if weights is not None:
        w = np.asarray(event_values(x, weights, "weights"), dtype=np.float64).ravel()
        if w.size != xy.shape[0] or not np.all(np.isfinite(w[placed])) or np.any(w < 0):
            raise AnalysisError(
                f"expected one finite non-negative weight per event ({xy.shape[0]}), got "
                f"{w.size} values"
            )
        w = w[placed]
    labels = np.full(xy.shape[0], UNPLACED, dtype=np.int64)
    core = np.zeros(xy.shape[0], dtype=bool)
    if placed.any():
        model = DBSCAN(eps=float(eps), min_samples=int(min_samples), algorithm="kd_tree").fit(
            xy[placed], sample_weight=w
        )
        labels[placed] = _by_size(model.labels_.astype(np.int64))
        inner = np.zeros(int(placed.sum()), dtype=bool)
        inner[model.core_sample_indices_] = True
        core[placed] = inner
    params = {"eps": float(eps), "min_samples": int(min_samples), "weighted": w is not None}
    params |= {"hull": hull, "ratio": ratio, "min_radius": min_radius}
    return Clusters(
        labels=labels,
        outlines=cluster_outlines(
            xy[:, 0], xy[:, 1], labels, hull=hull, ratio=ratio, min_radius=min_radius
        ),
        method="dbscan",
        params=params,
        core=core,
    )


def hdbscan(
    x: Points,
    y: ArrayLike | None = None,
    *,
    min_cluster_size: int = 10,
    min_samples: int | None = None,
    cluster_selection_epsilon: float = 0.0,
    allow_single_cluster: bool = False,
    hull: Hull = "concave",
    ratio: float = CONCAVE_RATIO,
    min_radius: float = MIN_RADIUS_M,
    crs: object | None = None,
) -> Clusters:
    """HDBSCAN clusters of events, with their outlines.

    Parameters
    ----------
    x, y
        Event coordinates in EPSG:3006, metres; or the events as ``x`` alone (a
        GeoSeries/GeoDataFrame of points in any CRS or a frame with ``x`` and ``y``, see
        :func:`~trygghetskarta.analysis.points.as_xy`). Events with a non-finite
        coordinate or no geometry get :data:`UNPLACED`.
    min_cluster_size
        The smallest group of events that counts as a cluster (>= 2).
    min_samples
        Events in an event's neighbourhood for it to be a core event; default
        ``min_cluster_size``. Larger values call more events noise.
    cluster_selection_epsilon
        Metres: clusters closer than this are merged (keeps dense areas from splitting
        into many micro-clusters).
    allow_single_cluster
        Allow the result to be one cluster of all events.
    hull, ratio, min_radius
        Outline shape, see :func:`cluster_outlines`.
    crs
        The CRS of x and y when they are not EPSG:3006.

    Returns
    -------
    Clusters
        With ``probability`` set.

    Raises
    ------
    AnalysisError
        A parameter out of range.

    Examples
    --------
    Two tight groups of 40 events 2 km apart among 20 events scattered over 6 km:

    >>> rng = np.random.default_rng(0)
    >>> x = np.r_[674_000 + rng.normal(0, 30, 40), 676_000 + rng.normal(0, 30, 40),
    ...           675_000 + rng.uniform(-3000, 3000, 20)]
    >>> y = np.r_[6_580_000 + rng.normal(0, 30, 40), 6_581_000 + rng.normal(0, 30, 40),
    ...           6_580_500 + rng.uniform(-3000, 3000, 20)]
    >>> res = hdbscan(x, y, min_cluster_size=10)
    >>> res.n_clusters, int((res.labels[:80] >= 0).sum()) >= 78
    (2, True)
    """
    _whole("min_cluster_size", min_cluster_size, 2)
    if min_samples is not None:
        _whole("min_samples", min_samples, 1)
    if not (np.isfinite(cluster_selection_epsilon) and cluster_selection_epsilon >= 0):
        raise AnalysisError(
            f"expected cluster_selection_epsilon >= 0 metres, got {cluster_selection_epsilon!r}"
        )
    xy, placed = _points(x, y, crs)
    labels = np.full(xy.shape[0], UNPLACED, dtype=np.int64)
    probability = np.zeros(xy.shape[0], dtype=np.float64)
    n_placed = int(placed.sum())
    needed = min_samples if min_samples is not None else min_cluster_size
    if n_placed > max(1, needed):
        model = HDBSCAN(
            min_cluster_size=int(min_cluster_size),
            min_samples=None if min_samples is None else int(min_samples),
            cluster_selection_epsilon=float(cluster_selection_epsilon),
            allow_single_cluster=allow_single_cluster,
            algorithm="kd_tree",  # core distances and the tree of a city's events: O(n) memory
            copy=True,
        ).fit(xy[placed])
        labels[placed] = _by_size(model.labels_.astype(np.int64))
        probability[placed] = model.probabilities_
    elif n_placed:
        labels[placed] = NOISE  # too few events for any cluster
    params = {
        "min_cluster_size": int(min_cluster_size),
        "min_samples": None if min_samples is None else int(min_samples),
        "cluster_selection_epsilon": float(cluster_selection_epsilon),
        "allow_single_cluster": bool(allow_single_cluster),
        "hull": hull,
        "ratio": ratio,
        "min_radius": min_radius,
    }
    return Clusters(
        labels=labels,
        outlines=cluster_outlines(
            xy[:, 0], xy[:, 1], labels, hull=hull, ratio=ratio, min_radius=min_radius
        ),
        method="hdbscan",
        params=params,
        probability=probability,
    )
