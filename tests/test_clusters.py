"""DBSCAN/HDBSCAN clusters and their outlines on tiny point sets with known clusters."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from sklearn.cluster import DBSCAN

from real_events import placed_police_events
from trygghetskarta.analysis.clusters import (
    NOISE,
    UNPLACED,
    cluster_outlines,
    dbscan,
    hdbscan,
)
from trygghetskarta.errors import AnalysisError

# Hand-made coordinates near the origin are metres in a local plane; within ±180/±90 they
# would look like degrees, so the tests say which CRS they are in.
PLANE = "EPSG:3006"

X0, Y0 = 674_000.0, 6_580_000.0  # central Stockholm in EPSG:3006


def blobs(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """60 events within ~40 m of one point, 30 within ~40 m of another 2 km away, and 10
    events spread over 10 km (noise). Returns x, y and the true group (0, 1, -1)."""
    rng = np.random.default_rng(seed)
    a = rng.normal(0, 15, (60, 2)) + np.array([X0, Y0])
    b = rng.normal(0, 15, (30, 2)) + np.array([X0 + 2_000, Y0])
    noise = rng.uniform(-5_000, 5_000, (10, 2)) + np.array([X0, Y0 + 8_000])
    xy = np.vstack([b, noise, a])  # the larger cluster last: labels must still put it first
    truth = np.r_[np.full(30, 1), np.full(10, -1), np.full(60, 0)]
    return xy[:, 0], xy[:, 1], truth


# ------------------------------------------------------------------ DBSCAN


def test_dbscan_finds_the_two_groups_largest_first() -> None:
    x, y, truth = blobs()
    res = dbscan(x, y, eps=50, min_samples=5)
    np.testing.assert_array_equal(res.labels, truth)
    assert (res.n_clusters, res.n_noise, res.n_unplaced, res.n_clustered) == (2, 10, 0, 90)
    assert res.outlines["n_events"].tolist() == [60, 30]
    assert res.method == "dbscan"
    assert res.params["eps"] == 50.0
    assert res.core is not None and res.core[truth >= 0].mean() > 0.8


@pytest.mark.parametrize(("eps", "min_samples"), [(30, 4), (80, 10), (400, 3)], ids=str)
def test_dbscan_is_sklearns_partition(eps: float, min_samples: int) -> None:
    rng = np.random.default_rng(3)
    xy = np.vstack([rng.normal(0, 60, (200, 2)), rng.uniform(-2_000, 2_000, (100, 2))])
    res = dbscan(xy[:, 0], xy[:, 1], eps=eps, min_samples=min_samples)
    ref = DBSCAN(eps=eps, min_samples=min_samples).fit(xy).labels_
    assert ((res.labels == NOISE) == (ref == NOISE)).all()
    pairs = {(int(a), int(b)) for a, b in zip(res.labels, ref, strict=True) if a >= 0}
    assert len(pairs) == len({a for a, _ in pairs}) == len({b for _, b in pairs})
    sizes = np.bincount(res.labels[res.labels >= 0])
    assert (np.diff(sizes) <= 0).all(), "clusters are numbered by decreasing size"


def test_weights_count_towards_min_samples() -> None:
    x = [0.0, 10.0, 500.0]
    y = [0.0, 0.0, 0.0]
    plain = dbscan(x, y, eps=20, min_samples=3)
    assert plain.labels.tolist() == [NOISE, NOISE, NOISE]
    weighted = dbscan(x, y, eps=20, min_samples=3, weights=[2, 1, 3])
    assert weighted.labels.tolist() == [0, 0, 1]


def test_events_without_position_are_unplaced_and_change_nothing() -> None:
    x, y, truth = blobs()
    x2 = np.r_[x, np.nan, 1.0]
    y2 = np.r_[y, 5.0, np.inf]
    res = dbscan(x2, y2, eps=50, min_samples=5)
    np.testing.assert_array_equal(res.labels[:-2], truth)
    assert res.labels[-2:].tolist() == [UNPLACED, UNPLACED]
    assert (res.n_unplaced, res.n_noise) == (2, 10)


# ------------------------------------------------------------------ HDBSCAN


def test_hdbscan_finds_clusters_of_different_density_that_one_eps_cannot() -> None:
    rng = np.random.default_rng(7)
    dense = rng.normal(0, 10, (80, 2)) + np.array([X0, Y0])  # a square
    sparse = rng.normal(0, 150, (80, 2)) + np.array([X0 + 3_000, Y0])  # a suburb centre
    noise = rng.uniform(-6_000, 6_000, (40, 2)) + np.array([X0, Y0 + 10_000])
    xy = np.vstack([dense, sparse, noise])
    res = hdbscan(xy[:, 0], xy[:, 1], min_cluster_size=20)
    assert res.n_clusters == 2
    for part in (slice(0, 80), slice(80, 160)):
        labels, counts = np.unique(res.labels[part], return_counts=True)
        assert counts[labels >= 0].max() >= 70  # most of each group in one cluster
    assert (res.labels[160:] == NOISE).mean() >= 0.9
    assert res.probability is not None and res.probability[res.labels == NOISE].max() == 0
    # DBSCAN with the dense group's scale breaks the sparse one into noise
    tight = dbscan(xy[:, 0], xy[:, 1], eps=30, min_samples=10)
    assert (tight.labels[80:160] == NOISE).mean() > 0.5


@pytest.mark.parametrize("n", [0, 1, 4], ids=["empty", "one", "four"])
def test_hdbscan_on_too_few_events_gives_no_clusters(n: int) -> None:
    res = hdbscan(np.arange(n, dtype=float), np.zeros(n), min_cluster_size=5, crs=PLANE)
    assert res.n_clusters == 0
    assert res.labels.tolist() == [NOISE] * n
    assert list(res.outlines.columns[:3]) == ["cluster", "n_events", "n_locations"]


# ------------------------------------------------------------------ outlines


def test_outline_of_a_square_has_its_area_and_density() -> None:
    x = [0.0, 100.0, 0.0, 100.0, 50.0]
    y = [0.0, 0.0, 100.0, 100.0, 50.0]
    out = cluster_outlines(x, y, [0, 0, 0, 0, 0], hull="convex")
    row = out.iloc[0]
    assert row["area_km2"] == pytest.approx(0.01)
    assert row["events_per_km2"] == pytest.approx(500.0)
    assert (row["centre_x"], row["centre_y"]) == (50.0, 50.0)
    assert row["n_locations"] == 5 and not row["degenerate"]
    assert out.crs.to_epsg() == 3006


def test_concave_outline_follows_an_l_shape_and_holds_every_event() -> None:
    leg = np.arange(0, 1_001, 50.0)
    x = np.r_[leg, np.zeros_like(leg)]
    y = np.r_[np.zeros_like(leg), leg]
    xy = np.vstack([x, y]).T
    xy = np.vstack([xy, xy + np.array([20.0, 20.0])])  # two rows thick
    labels = np.zeros(len(xy), dtype=int)
    convex = cluster_outlines(xy[:, 0], xy[:, 1], labels, hull="convex")
    concave = cluster_outlines(xy[:, 0], xy[:, 1], labels, hull="concave", ratio=0.1)
    assert concave["area_km2"].iloc[0] < 0.25 * convex["area_km2"].iloc[0]
    poly = concave.geometry.iloc[0]
    assert shapely.covers(poly.buffer(1e-6), shapely.points(xy)).all()


def test_events_on_one_point_make_a_flagged_disc() -> None:
    x = [X0] * 12 + [X0 + 5_000.0]
    y = [Y0] * 12 + [Y0]
    res = dbscan(x, y, eps=50, min_samples=5, min_radius=25)
    row = res.outlines.iloc[0]
    assert (row["n_events"], row["n_locations"]) == (12, 1)
    assert bool(row["degenerate"])
    assert row["area_km2"] == pytest.approx(math.pi * 25**2 / 1e6, rel=0.01)
    assert math.isnan(row["events_per_km2"])
    assert res.outlines.geometry.iloc[0].geom_type == "Polygon"


def test_outlines_skip_noise_and_keep_cluster_ids() -> None:
    out = cluster_outlines([0, 1, 0, 9, 10, 9, 50], [0, 0, 1, 9, 9, 10, 50], [3, 3, 3, 7, 7, 7, -1])
    assert out["cluster"].tolist() == [3, 7]
    assert out["n_events"].tolist() == [3, 3]


def test_outlines_write_to_geoparquet(tmp_path) -> None:
    import geopandas as gpd

    x, y, _ = blobs()
    res = dbscan(x, y, eps=50, min_samples=5)
    path = tmp_path / "clusters.parquet"
    res.outlines.to_parquet(path)
    back = gpd.read_parquet(path)
    assert back.crs.to_epsg() == 3006
    assert back["n_events"].tolist() == [60, 30]


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: dbscan([0], [0], eps=0), "eps"),
        (lambda: dbscan([0], [0], eps=10, min_samples=0), "min_samples"),
        (lambda: dbscan([0], [0], eps=10, min_samples=2.5), "min_samples"),
        (lambda: dbscan([0, 1], [0], eps=10), "same length"),
        (lambda: dbscan([0, 1], [0, 1], eps=10, weights=[1], crs=PLANE), "weight"),
        (lambda: hdbscan([0], [0], min_cluster_size=1), "min_cluster_size"),
        (lambda: hdbscan([0], [0], cluster_selection_epsilon=-1), "cluster_selection_epsilon"),
        (lambda: cluster_outlines([0], [0], [0], hull="alpha"), "hull"),
        (lambda: cluster_outlines([0], [0], [0], ratio=2), "ratio"),
        (lambda: cluster_outlines([0], [0], [0, 1]), "one label per event"),
    ],
    ids=[
        "eps-zero",
        "min-samples-zero",
        "min-samples-float",
        "lengths",
        "weights-length",
        "min-cluster-size",
        "selection-epsilon",
        "hull",
        "ratio",
        "labels-length",
    ],
)
def test_bad_parameters_say_what_was_expected(call, match: str) -> None:
    with pytest.raises(AnalysisError, match=match):
        call()


def test_empty_input_gives_empty_outlines_with_their_columns() -> None:
    res = dbscan([], [], eps=100)
    assert res.n_clusters == 0 and res.labels.size == 0
    assert res.outlines["degenerate"].dtype == bool
    assert res.outlines.crs.to_epsg() == 3006


def test_docstring_examples_run() -> None:
    import doctest

    from trygghetskarta.analysis import clusters

    assert doctest.testmod(clusters).failed == 0


# ------------------------------------------------------------------ real data


@pytest.mark.realdata
def test_clusters_of_the_real_placed_police_events(shared_data) -> None:
    events = placed_police_events(shared_data)
    placed = events[events["precision"].isin(["exact", "address", "place", "street"])]
    res = hdbscan(placed["x"], placed["y"], min_cluster_size=15)
    assert res.n_clusters >= 3
    assert res.n_clustered + res.n_noise == len(placed)
    assert res.outlines["n_events"].sum() == res.n_clustered
    assert res.outlines.geometry.is_valid.all()
    kommun = res.outlines.geometry.union_all().envelope
    assert 6_560_000 < kommun.centroid.y < 6_600_000  # inside Stockholm, not at the origin
    # the whole selection, unplaced events included, keeps its length
    every = dbscan(events["x"], events["y"], eps=150, min_samples=10)
    assert every.labels.size == len(events)
    assert every.n_unplaced == int(events["x"].isna().sum())
