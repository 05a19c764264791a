"""Getis-Ord Gi* on grids and areas: esda's reference values, random grids vs esda, bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.stats
from affine import Affine
from esda.getisord import G_Local
from libpysal.weights import W, higher_order, lat2W, w_subset
from shapely.geometry import Point, box

from trygghetskarta.analysis.grid import Grid
from trygghetskarta.analysis.hotspots import count_grid, gi_star, gi_star_areas
from trygghetskarta.analysis.neighbours import (
    adjacency_from_lists,
    neighbour_lists,
    queen_neighbours,
    rook_neighbours,
)
from trygghetskarta.analysis.neighbours import (
    higher_order as our_higher_order,
)
from trygghetskarta.analysis.significance import (
    _draw_permutations,
    benjamini_hochberg,
    conditional_permutation_tails,
    confidence_bins,
    pseudo_p,
)
from trygghetskarta.errors import AnalysisError

# Hand-made coordinates near the origin are metres in a local plane; within ±180/±90 they
# would look like degrees, so the tests say which CRS they are in.
PLANE = "EPSG:3006"

# esda/tests/test_getisord.py: six points, DistanceBand(threshold=15), y below
POINTS = [(10, 10), (20, 10), (40, 10), (15, 20), (30, 20), (30, 30)]
Y6 = np.array([2, 3, 3.2, 5, 8, 7])
# the neighbours of that distance band, worked out by hand (distance ≤ 15)
LISTS6 = [[1, 3], [0, 3, 4], [4], [0, 1, 4], [1, 2, 3, 5], [4]]
# esda's documented G_Local(y, w, transform="B", star=True).Zs for the six points
ESDA_STAR_B_ZS = [-1.39727626, -0.28917762, 0.65064964, -0.28917762, 1.23452088, 2.02424331]


def esda_gi_star(y: np.ndarray, w: W) -> G_Local:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return G_Local(y, w, transform="B", star=True, permutations=0)


def lattice_w(rows: int, cols: int, d: int) -> W:
    """Queen contiguity of orders 1 … d on a lattice: the neighbourhood gi_star defines."""
    w = lat2W(rows, cols, rook=False)
    if d > 1:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            w = higher_order(w, d, lower_order=True)
    return w


# ---------------------------------------------------------------------------------------
# reference values


def test_six_point_reference_case_matches_esda_documented_values() -> None:
    res = gi_star_areas(Y6, LISTS6, fdr=False)
    np.testing.assert_allclose(res.z, ESDA_STAR_B_ZS, atol=1e-6)


def test_six_point_case_matches_esda_computed_on_libpysal_distance_band() -> None:
    from libpysal.weights import DistanceBand

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = DistanceBand(POINTS, threshold=15)
    assert [sorted(w.neighbors[i]) for i in range(6)] == LISTS6
    ref = esda_gi_star(Y6, w)
    res = gi_star_areas(Y6, LISTS6, fdr=False)
    np.testing.assert_allclose(res.z, ref.Zs, atol=1e-9)
    # esda's p_norm is one-sided; ours is two-sided
    np.testing.assert_allclose(res.p, 2 * ref.p_norm, atol=1e-12)


@pytest.mark.parametrize(
    ("rows", "cols", "d"),
    [(13, 17, 1), (20, 20, 2), (11, 9, 3), (1, 12, 1), (30, 7, 1)],
    ids=["13x17-d1", "20x20-d2", "11x9-d3", "one-row", "30x7"],
)
def test_random_grid_matches_esda_on_lat2w_of_the_same_order(rows: int, cols: int, d: int) -> None:
    rng = np.random.default_rng(rows * 100 + cols + d)
    counts = rng.poisson(3, size=(rows, cols)).astype(float)
    w = lattice_w(rows, cols, d)
    ref = esda_gi_star(counts.ravel(), w)
    res = gi_star(counts, neighbourhood=d, fdr=False)
    np.testing.assert_allclose(res.z.ravel(), ref.Zs, atol=1e-6)
    np.testing.assert_allclose(res.p.ravel(), 2 * ref.p_norm, atol=1e-9)


def test_lattice_neighbourhood_is_the_square_around_the_cell_edges_fewer() -> None:
    w = lattice_w(6, 6, 2)
    # corner: 3 × 3 square minus itself; centre-ish (2, 2): 5 × 5 minus itself
    assert len(w.neighbors[0]) == 8
    assert len(w.neighbors[2 * 6 + 2]) == 24
    res = gi_star(np.arange(36.0).reshape(6, 6), neighbourhood=2, fdr=False)
    assert np.isfinite(res.z).all()


def test_nan_cells_are_left_out_not_zero_like_esda_on_the_subset() -> None:
    rng = np.random.default_rng(7)
    counts = rng.poisson(4, size=(15, 12)).astype(float)
    counts[rng.random(counts.shape) < 0.25] = np.nan
    keep = np.flatnonzero(np.isfinite(counts.ravel()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = w_subset(lat2W(15, 12, rook=False), keep.tolist())
    ref = esda_gi_star(counts.ravel()[keep], w)
    res = gi_star(counts, fdr=False)
    np.testing.assert_allclose(res.z.ravel()[keep], ref.Zs, atol=1e-6)
    assert np.isnan(res.z[np.isnan(counts)]).all()
    assert (res.bins[np.isnan(counts)] == 0).all()
    # treating the NaN as zeros would give other numbers
    zero_filled = gi_star(np.nan_to_num(counts), fdr=False)
    assert np.abs(zero_filled.z.ravel()[keep] - ref.Zs).max() > 0.05


def test_grid_gives_georeferenced_z_and_bins_grids() -> None:
    g = count_grid(
        [674_005.0] * 30 + [674_205.0],
        [6_580_005.0] * 30 + [6_580_105.0],
        cell_size=100,
        bounds=(673_000, 6_579_000, 675_000, 6_581_000),
    )
    res = gi_star(g)
    grids = res.grids()
    assert grids["z"].transform == g.transform
    assert grids["bins"].values[g.values == 30].item() == 3
    assert grids["z"].params["neighbourhood_cells"] == 1
    with pytest.raises(AnalysisError, match="no georeference"):
        gi_star(g.values).grids()
    table = res.to_frame()
    assert len(table) == g.values.size and table.crs.to_epsg() == 3006
    busiest = table[table.contains(Point(674_005, 6_580_005))].iloc[0]
    assert busiest.bin == 3 and busiest.z == res.z[g.values == 30].item()
    areas = gi_star_areas(Y6, LISTS6).to_frame()
    assert areas.position.tolist() == list(range(6)) and "geometry" not in areas


# ---------------------------------------------------------------------------------------
# significance


def test_benjamini_hochberg_equals_scipy() -> None:
    rng = np.random.default_rng(1)
    p = rng.random(500) ** 3
    np.testing.assert_allclose(
        benjamini_hochberg(p), scipy.stats.false_discovery_control(p, method="bh"), atol=1e-12
    )
    with_nan = np.append(p, np.nan)
    adj = benjamini_hochberg(with_nan)
    assert np.isnan(adj[-1])
    np.testing.assert_allclose(adj[:-1], benjamini_hochberg(p))


@pytest.mark.parametrize(
    ("z", "p", "expected"),
    [
        (3.0, 0.0027, 3),
        (-3.0, 0.0027, -3),
        (2.0, 0.0455, 2),
        (1.7, 0.089, 1),
        (-1.7, 0.089, -1),
        (1.5, 0.1336, 0),
        (2.0, 0.01, 3),  # the bin follows the p-value given (e.g. FDR-adjusted), not z
    ],
    ids=["hot99", "cold99", "hot95", "hot90", "cold90", "ns", "by-p"],
)
def test_confidence_bins_follow_arcgis_gi_bin(z: float, p: float, expected: int) -> None:
    assert confidence_bins(np.array([z]), np.array([p]))[0] == expected


def test_fdr_makes_fewer_cells_significant_than_raw_p() -> None:
    rng = np.random.default_rng(5)
    counts = rng.poisson(5, size=(60, 60)).astype(float)
    raw = gi_star(counts, fdr=False)
    fdr = gi_star(counts, fdr=True)
    np.testing.assert_array_equal(raw.z, fdr.z)
    # pure noise: about 10 % of cells pass 90 % confidence raw, almost none after BH
    assert (raw.bins != 0).mean() > 0.05
    assert (fdr.bins != 0).sum() < (raw.bins != 0).sum() / 10
    assert np.all(fdr.p_adjusted >= fdr.p)


def test_permutation_tail_counts_equal_a_direct_loop_with_the_same_draws() -> None:
    rng = np.random.default_rng(0)
    n = 60
    y = rng.gamma(2, 1, n)
    k = np.where(rng.random(n) < 0.8, 5, rng.integers(0, 8, n))
    obs = rng.gamma(2, 1, n) * k
    ge, le = conditional_permutation_tails(y, obs, k, permutations=300, seed=9)
    draws = _draw_permutations(n, int(k.max()), 300, 9)
    for i in range(n):
        others = np.delete(y, i)
        sims = others[draws[:, : k[i]]].sum(axis=1)
        assert ge[i] == (sims >= obs[i]).sum()
        assert le[i] == (sims <= obs[i]).sum()


def test_permutation_p_values_agree_with_esda_within_monte_carlo_error() -> None:
    rng = np.random.default_rng(3)
    values = rng.gamma(2, 1, size=(12, 12))
    values[3:6, 3:6] += 2.5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = G_Local(
            values.ravel(),
            lat2W(12, 12, rook=False),
            transform="B",
            star=True,
            permutations=9999,
            seed=5,
        )
    res = gi_star(values, permutations=9999, seed=11)
    ours = res.p_sim.ravel() / 2  # esda's p_sim is the one-sided ("directed") half
    se = np.sqrt(ref.p_sim * (1 - ref.p_sim) / 9999 * 2) + 1e-4
    assert np.abs(ours - ref.p_sim).mean() < 0.01
    assert (np.abs(ours - ref.p_sim) / se).max() < 5


def test_permutations_are_reproducible_with_a_seed_and_classify_with_p_sim() -> None:
    counts = np.random.default_rng(2).poisson(3, size=(20, 20)).astype(float)
    counts[8:11, 8:11] = 12
    a = gi_star(counts, permutations=199, seed=4, fdr=False)
    b = gi_star(counts, permutations=199, seed=4, fdr=False)
    c = gi_star(counts, permutations=199, seed=5, fdr=False)
    np.testing.assert_array_equal(a.p_sim, b.p_sim)
    assert not np.array_equal(a.p_sim, c.p_sim)
    assert a.bins[9, 9] > 0
    # with 199 permutations the smallest two-sided p is 0.01; bins use p_sim
    assert a.p_sim.min() >= 0.01
    assert a.params["permutations"] == 199
    # with FDR over 400 cells, p_sim ≥ 0.01 cannot reach 90 % for a handful of cells
    assert (gi_star(counts, permutations=199, seed=4).bins == 0).all()


def test_pseudo_p_counts_ties_in_both_tails() -> None:
    # an observation equal to every simulation is not significant
    assert pseudo_p(np.array([99]), np.array([99]), 99)[0] == 1.0


# ---------------------------------------------------------------------------------------
# neighbours


def test_queen_and_rook_contiguity_of_a_3x3_block_of_squares() -> None:
    squares = [box(c, -r, c + 1, -r + 1) for r in range(3) for c in range(3)]
    queen = neighbour_lists(queen_neighbours(squares))
    rook = neighbour_lists(rook_neighbours(squares))
    ref_queen = lat2W(3, 3, rook=False).neighbors
    ref_rook = lat2W(3, 3, rook=True).neighbors
    assert queen == [sorted(ref_queen[i]) for i in range(9)]
    assert rook == [sorted(ref_rook[i]) for i in range(9)]


def test_tolerance_bridges_a_sliver_gap() -> None:
    a, b = box(0, 0, 100, 100), box(100.4, 0, 200, 100)
    assert neighbour_lists(queen_neighbours([a, b])) == [[], []]
    assert neighbour_lists(queen_neighbours([a, b], tolerance=1)) == [[1], [0]]
    assert neighbour_lists(rook_neighbours([a, b], tolerance=1)) == [[1], [0]]
    corner = box(100.4, 100.4, 200, 200)
    assert neighbour_lists(rook_neighbours([a, corner], tolerance=1)) == [[], []]


def test_gi_star_areas_from_polygons_equals_from_the_adjacency() -> None:
    squares = [box(c, -r, c + 1, -r + 1) for r in range(4) for c in range(5)]
    values = np.random.default_rng(8).poisson(4, 20).astype(float)
    by_geom = gi_star_areas(values, squares, fdr=False)
    ref = esda_gi_star(values, lat2W(4, 5, rook=False))
    np.testing.assert_allclose(by_geom.z, ref.Zs, atol=1e-9)


def test_higher_order_matches_libpysal() -> None:
    w = lat2W(5, 6, rook=True)
    adj = adjacency_from_lists({i: w.neighbors[i] for i in range(30)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = higher_order(w, 3, lower_order=True)
    assert neighbour_lists(our_higher_order(adj, 3)) == [
        sorted(ref.neighbors[i]) for i in range(30)
    ]


def test_gi_star_areas_nan_area_is_left_out_and_an_island_compares_its_own_value() -> None:
    values = np.array([1.0, 2.0, np.nan, 8.0, 3.0, 2.0])
    lists = [[1], [0, 2], [1, 3], [2], [5], [4]]
    res = gi_star_areas(values, lists, fdr=False)
    assert np.isnan(res.z[2]) and res.bins[2] == 0
    assert res.params["n_areas"] == 5 and res.params["n_islands"] == 1
    # area 3 lost its only neighbour: it is compared alone, like esda with island k = 1
    keep = [0, 1, 3, 4, 5]
    ref = esda_gi_star(
        values[keep], W({0: [1], 1: [0], 2: [], 3: [4], 4: [3]}, silence_warnings=True)
    )
    np.testing.assert_allclose(res.z[keep], ref.Zs, atol=1e-9)


# ---------------------------------------------------------------------------------------
# bad input: one clear result or one clear error, never NaN maps


@pytest.mark.parametrize(
    ("counts", "match"),
    [
        (np.zeros((0, 0)), "empty"),
        (np.full((3, 3), np.nan), "no valid value"),
        (np.array([[1.0, np.inf]]), "infinite"),
        (np.arange(5.0), "2-D"),
    ],
    ids=["empty", "all-nan", "inf", "one-dimensional"],
)
def test_bad_grids_raise_one_clear_error(counts: np.ndarray, match: str) -> None:
    with pytest.raises(AnalysisError, match=match):
        gi_star(counts)


@pytest.mark.parametrize(
    "kwargs",
    [{"neighbourhood": 0}, {"neighbourhood": 1.5}, {"alpha": 1.2}, {"permutations": -1}],
    ids=["d0", "d-fraction", "alpha", "permutations"],
)
def test_bad_parameters_raise(kwargs: dict) -> None:
    with pytest.raises(AnalysisError):
        gi_star(np.ones((4, 4)), **kwargs)


@pytest.mark.parametrize(
    "counts",
    [np.zeros((30, 30)), np.full((4, 4), 2.0), np.array([[7.0]]), np.array([[np.nan, 3.0, 3.0]])],
    ids=["all-zeros", "constant", "single-cell", "constant-with-nan"],
)
def test_no_variation_gives_an_empty_map_with_a_note(counts: np.ndarray) -> None:
    res = gi_star(counts, permutations=9, seed=1)
    valid = np.isfinite(counts)
    assert (res.z[valid] == 0).all() and (res.p[valid] == 1).all()
    assert (res.bins == 0).all() and not res.significant.any()
    assert "Gi* is undefined" in res.note
    assert res.params["note"] == res.note


def test_all_events_in_one_cell_is_the_one_hot_spot() -> None:
    counts = np.zeros((50, 50))
    counts[20, 30] = 400
    res = gi_star(counts)
    assert np.isfinite(res.z).all()
    hot = np.argwhere(res.bins > 0)
    # the cell and its 8 neighbours contain it in their neighbourhood
    assert {tuple(c) for c in hot} == {(r, c) for r in range(19, 22) for c in range(29, 32)}
    assert (res.bins >= 0).all()


def test_neighbourhood_covering_every_cell_gives_zero_not_nan() -> None:
    counts = np.array([[1.0, 5.0, 2.0], [0.0, 9.0, 3.0], [4.0, 2.0, 1.0]])
    res = gi_star(counts, fdr=False)
    # the centre's neighbourhood is the whole grid: its sum is exactly the expectation
    assert res.z[1, 1] == 0 and res.p[1, 1] == 1
    assert np.isfinite(res.z).all()


def test_count_grid_bins_events_and_counts_what_it_leaves_out() -> None:
    g = count_grid(
        [5.0, 15.0, 15.0, np.nan, 25.0, 20.0],
        [5.0, 5.0, 5.0, 5.0, 5.0, 10.0],
        cell_size=10,
        bounds=(0, 0, 20, 10),
        crs=PLANE,
    )
    assert g.values.tolist() == [[1.0, 3.0]]  # (20, 10) is on the grid's corner: kept
    assert g.params["n_left_out"] == 1 and g.params["n_outside_bounds"] == 1
    masked = count_grid(
        [5.0], [5.0], cell_size=10, bounds=(0, 0, 20, 10), mask=[[True, False]], crs=PLANE
    )
    assert masked.values[0, 0] == 1 and np.isnan(masked.values[0, 1])
    with pytest.raises(AnalysisError, match="pass bounds"):
        count_grid([], [], cell_size=10)
    assert count_grid([], [], cell_size=10, bounds=(0, 0, 20, 10)).values.sum() == 0


def test_gi_star_accepts_a_grid_and_keeps_its_crs() -> None:
    grid = Grid(np.eye(5), Affine(50, 0, 670_000, 0, -50, 6_580_000))
    res = gi_star(grid)
    assert res.crs == "EPSG:3006" and res.transform == grid.transform


@pytest.mark.parametrize(
    "module", ["hotspots", "cells", "neighbours", "significance", "local_moran"]
)
def test_docstring_examples_run(module: str) -> None:
    import doctest
    import importlib

    mod = importlib.import_module(f"trygghetskarta.analysis.{module}")
    assert doctest.testmod(mod).failed == 0


@pytest.mark.realdata
def test_queen_contiguity_of_the_real_stadsdelar_equals_libpysal(shared_data) -> None:
    import geopandas as gpd
    from libpysal.weights import Queen

    areas = gpd.read_file(shared_data / "boundaries" / "stadsdelar_117.geojson").to_crs(3006)
    ours = neighbour_lists(queen_neighbours(areas.geometry))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = Queen.from_dataframe(areas, use_index=False)
    theirs = [sorted(ref.neighbors[i]) for i in range(len(areas))]
    # shapely finds every vertex-sharing pair libpysal finds (and touches without a vertex)
    assert all(set(t) <= set(o) for t, o in zip(theirs, ours, strict=True))
    extra = sum(len(set(o) - set(t)) for t, o in zip(theirs, ours, strict=True))
    assert extra <= 0.05 * sum(len(t) for t in theirs)


@pytest.mark.realdata
def test_gi_star_of_regso_population_density_equals_esda(shared_data) -> None:
    import geopandas as gpd

    regso = gpd.read_file(shared_data / "boundaries" / "regso_2025_stockholm_epsg3006.gpkg")
    density = regso["pop_2024"].to_numpy(float) / regso.geometry.area.to_numpy() * 1e6
    adj = queen_neighbours(regso.geometry)
    res = gi_star_areas(density, adj, fdr=True)
    w = W(dict(enumerate(neighbour_lists(adj))), silence_warnings=True)
    ref = esda_gi_star(density, w)
    np.testing.assert_allclose(res.z, ref.Zs, atol=1e-6)
    # the inner city is a hot spot of population density
    assert (res.bins > 0).sum() >= 5
