"""Local Moran's I and Empirical-Bayes rates against esda; clusters, outliers and bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from esda.moran import Moran_Local, Moran_Local_Rate
from esda.smoothing import Empirical_Bayes, assuncao_rate
from libpysal.weights import W, lat2W

from trygghetskarta.analysis.hotspots import local_moran, local_moran_rate
from trygghetskarta.analysis.local_moran import assuncao_reis_rates, eb_rates
from trygghetskarta.analysis.neighbours import adjacency_from_lists, neighbour_lists
from trygghetskarta.errors import AnalysisError

ROWS, COLS = 8, 9


def lattice(rook: bool = True) -> tuple[W, object]:
    w = lat2W(ROWS, COLS, rook=rook)
    return w, adjacency_from_lists({i: w.neighbors[i] for i in range(ROWS * COLS)})


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def test_local_moran_equals_esda_statistic_and_quadrants() -> None:
    y = np.random.default_rng(1).gamma(2, 1, ROWS * COLS)
    w, adj = lattice()
    ref = quiet(Moran_Local, y, w, permutations=0)
    res = local_moran(y, adj, permutations=99, seed=1)
    np.testing.assert_allclose(res.I, ref.Is, atol=1e-9)
    np.testing.assert_array_equal(res.quadrant, ref.q)
    np.testing.assert_allclose(res.z, ref.z, atol=1e-12)


def test_permutation_p_values_agree_with_esda_within_monte_carlo_error() -> None:
    rng = np.random.default_rng(3)
    y = rng.gamma(2, 1, ROWS * COLS)
    y[:12] += 3  # a cluster in the first rows
    w, adj = lattice()
    ref = quiet(Moran_Local, y, w, permutations=9999, seed=5)
    res = local_moran(y, adj, permutations=9999, seed=7, fdr=False)
    ours = res.p_sim / 2  # esda's p_sim is the one-sided ("directed") half
    se = np.sqrt(ref.p_sim * (1 - ref.p_sim) / 9999 * 2) + 1e-4
    assert np.abs(ours - ref.p_sim).mean() < 0.01
    assert (np.abs(ours - ref.p_sim) / se).max() < 5


@pytest.mark.parametrize(("rate", "adjusted"), [("assuncao", True), ("raw", False)])
def test_local_moran_rate_equals_esda_moran_local_rate(rate: str, adjusted: bool) -> None:
    rng = np.random.default_rng(11)
    pop = rng.integers(50, 5000, ROWS * COLS).astype(float)
    events = rng.poisson(pop * 0.01).astype(float)
    w, adj = lattice(rook=False)
    ref = quiet(Moran_Local_Rate, events, pop, w, adjusted=adjusted, permutations=0)
    res = local_moran_rate(events, pop, adj, rate=rate, permutations=99, seed=1)
    np.testing.assert_allclose(res.I, ref.Is, atol=1e-9)
    np.testing.assert_array_equal(res.quadrant, ref.q)
    assert res.params["rate"] == rate


def test_assuncao_reis_rates_equal_esda() -> None:
    e = np.array([30, 25, 25, 15, 33, 21, 30, 20])
    b = np.array([100, 100, 110, 90, 100, 90, 110, 90])
    np.testing.assert_allclose(assuncao_reis_rates(e, b), assuncao_rate(e, b), atol=1e-12)


def test_eb_rates_equal_esda_empirical_bayes_and_shrink_small_populations_most() -> None:
    rng = np.random.default_rng(2)
    b = rng.integers(20, 3000, 40).astype(float)
    e = rng.poisson(b * rng.gamma(4, 0.005, 40)).astype(float)
    ours = eb_rates(e, b)
    np.testing.assert_allclose(ours, Empirical_Bayes(e, b).r.ravel(), atol=1e-12)
    crude = e / b
    overall = e.sum() / b.sum()
    pull = np.abs(crude - ours) / np.maximum(np.abs(crude - overall), 1e-12)
    small, large = b < np.quantile(b, 0.25), b > np.quantile(b, 0.75)
    assert pull[small].mean() > pull[large].mean()


def test_eb_prior_variance_below_zero_is_clamped_to_full_shrinkage() -> None:
    # less spread than Poisson noise: esda's weights go negative, ours are 0
    e = np.array([30, 25, 25, 15, 33, 21, 30, 20])
    b = np.array([100, 100, 110, 90, 100, 90, 110, 90])
    esda_r = Empirical_Bayes(e, b).r.ravel()
    ours = eb_rates(e, b)
    np.testing.assert_allclose(ours, e.sum() / b.sum())
    assert not np.allclose(esda_r, ours)


def test_a_cluster_and_an_outlier_are_labelled() -> None:
    y = np.full((ROWS, COLS), 1.0) + np.random.default_rng(4).random((ROWS, COLS)) * 0.3
    y[:4, :4] = 6.0  # a high-value cluster in one corner …
    y[1, 1] = 1.0  # … with a low value inside it
    _, adj = lattice(rook=False)
    res = local_moran(y.ravel(), adj, permutations=9999, seed=3)
    labels = res.labels.reshape(ROWS, COLS)
    assert labels[2, 2] == "HH"
    assert labels[1, 1] == "LH"
    assert (labels[4:, 4:] == "ns").all()
    assert res.quadrant.reshape(ROWS, COLS)[2, 2] == 1


def test_fdr_and_seed() -> None:
    y = np.random.default_rng(6).gamma(2, 1, ROWS * COLS)
    _, adj = lattice()
    a = local_moran(y, adj, permutations=999, seed=2, fdr=False)
    b = local_moran(y, adj, permutations=999, seed=2, fdr=False)
    f = local_moran(y, adj, permutations=999, seed=2, fdr=True)
    np.testing.assert_array_equal(a.p_sim, b.p_sim)
    assert (f.p_adjusted >= a.p_sim).all()
    assert (f.labels != "ns").sum() <= (a.labels != "ns").sum()


def test_areas_without_population_are_left_out_and_islands_named() -> None:
    events = np.array([5.0, 3.0, 0.0, 8.0, 2.0, 1.0])
    pop = np.array([1000.0, 800.0, 0.0, 900.0, 500.0, 700.0])
    lists = [[1, 2], [0, 2], [0, 1, 3], [2], [5], [4]]
    res = local_moran_rate(events, pop, lists, rate="raw", permutations=99, seed=1)
    assert res.labels[2] == "n/a" and np.isnan(res.I[2])
    assert res.labels[3] == "island"  # its only neighbour has no population
    assert res.params["n_areas_without_population"] == 1
    assert np.isfinite(res.I[[0, 1, 3, 4, 5]]).all()


def test_no_variation_gives_no_clusters_and_a_note() -> None:
    res = local_moran_rate([2.0, 4.0, 6.0], [100, 200, 300], [[1], [0, 2], [1]], rate="raw")
    assert (res.labels == "ns").all() and (res.I == 0).all() and (res.p_sim == 1).all()
    assert "equal" in res.note


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: local_moran([], []), "no areas"),
        (lambda: local_moran([np.nan, np.nan], [[1], [0]]), "no valid value"),
        (lambda: local_moran([1.0, 2.0], [[1], [0]], permutations=0), "permutations"),
        (lambda: local_moran([1.0, 2.0, 3.0], np.eye(2)), "3 × 3"),
        (lambda: local_moran_rate([1, -2], [10, 10], [[1], [0]]), "≥ 0"),
        (lambda: local_moran_rate([1, 2], [0, 0], [[1], [0]]), "population"),
        (lambda: local_moran_rate([1, 2], [5, 5], [[1], [0]], rate="smr"), "rate must be"),
    ],
    ids=["empty", "all-nan", "no-permutations", "wrong-adjacency", "negative", "no-pop", "rate"],
)
def test_bad_input_raises_one_clear_error(call, match: str) -> None:
    with pytest.raises(AnalysisError, match=match):
        call()


@pytest.mark.realdata
def test_local_moran_of_regso_population_density_equals_esda(shared_data) -> None:
    import geopandas as gpd

    from trygghetskarta.analysis.neighbours import queen_neighbours

    regso = gpd.read_file(shared_data / "boundaries" / "regso_2025_stockholm_epsg3006.gpkg")
    density = regso["pop_2024"].to_numpy(float) / regso.geometry.area.to_numpy() * 1e6
    adj = queen_neighbours(regso.geometry)
    res = local_moran(density, adj, seed=1)  # 9999 permutations: FDR over 127 areas
    w = W(dict(enumerate(neighbour_lists(adj))), silence_warnings=True)
    ref = quiet(Moran_Local, density, w, permutations=0)
    np.testing.assert_allclose(res.I, ref.Is, atol=1e-9)
    np.testing.assert_array_equal(res.quadrant, ref.q)
    # the dense inner city: a few areas survive FDR over 127 areas, many more without it
    assert (res.labels == "HH").sum() >= 1
    raw = local_moran(density, adj, seed=1, fdr=False)
    assert (raw.labels == "HH").sum() >= 10
    assert set(np.flatnonzero(res.labels == "HH")) <= set(np.flatnonzero(raw.labels == "HH"))
