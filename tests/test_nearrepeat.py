"""The Knox test: pointpats' Burkitt reference case, brute-force tables, bands, bad input."""

from __future__ import annotations

import functools
import warnings

import geopandas as gpd
import libpysal
import numpy as np
import pandas as pd
import pytest
from pointpats import Knox
from scipy.stats import poisson

from real_events import placed_police_events
from trygghetskarta.analysis.nearrepeat import equal_bands
from trygghetskarta.analysis.nearrepeat import knox as _knox
from trygghetskarta.analysis.nearrepeat import knox_table as _knox_table
from trygghetskarta.errors import AnalysisError

# Hand-made coordinates near the origin are metres in a local plane; within ±180/±90 they
# would look like degrees, so the tests say which CRS they are in.
PLANE = "EPSG:3006"
knox = functools.partial(_knox, crs=PLANE)
knox_table = functools.partial(_knox_table, crs=PLANE)

TZ = "Europe/Stockholm"


@pytest.fixture(scope="module")
def burkitt() -> gpd.GeoDataFrame:
    """Burkitt's lymphoma in the West Nile district of Uganda (188 cases), from libpysal."""
    return gpd.read_file(libpysal.examples.get_path("burkitt.shp"))


def brute_force(x, y, t, d_edges, t_edges) -> np.ndarray:
    """Every pair, band by ``edge[k-1] < value <= edge[k]``, by hand."""
    x, y, t = (np.asarray(v, dtype=float) for v in (x, y, t))
    i, j = np.triu_indices(x.size, 1)
    d = np.hypot(x[i] - x[j], y[i] - y[j])
    dt = np.abs(t[i] - t[j])
    sb = np.searchsorted(np.asarray(d_edges, float), d, side="left")
    tb = np.searchsorted(np.asarray(t_edges, float), dt, side="left")
    out = np.zeros((len(d_edges) + 1, len(t_edges) + 1), dtype=np.int64)
    np.add.at(out, (sb, tb), 1)
    return out


# ------------------------------------------------------------------ the reference case


def test_burkitt_matches_pointpats_reference_values(burkitt: gpd.GeoDataFrame) -> None:
    """pointpats' own test values (pointpats/tests/test_spacetime.py::TestKnox)."""
    res = knox(
        burkitt["X"],
        burkitt["Y"],
        burkitt["T"],
        distance=20,
        time=5,
        permutations=99,
        seed=np.random.RandomState(12345),
    )
    assert res.statistic == 13
    np.testing.assert_array_equal(res.observed, [[13, 3416], [39, 14110]])
    np.testing.assert_allclose(
        res.expected,
        [[1.01438161e01, 3.41885618e03], [4.1856139e01, 1.41071438e04]],
        rtol=1e-5,
        atol=0,
    )
    assert res.p_sim == 0.21  # same permutations as numpy.random.seed(12345) in pointpats
    assert res.pairs == 188 * 187 // 2
    assert (res.close_in_space, res.close_in_time) == (3429, 52)
    assert res.ratio == pytest.approx(13 / 10.1438161, rel=1e-8)


def test_poisson_p_value_is_pointpats_plus_the_observed_count(
    burkitt: gpd.GeoDataFrame,
) -> None:
    """pointpats reports P(X > 13) = 0.14624558197140414; the p-value is P(X >= 13)."""
    res = knox(burkitt["X"], burkitt["Y"], burkitt["T"], distance=20, time=5, permutations=0)
    assert res.p_poisson == pytest.approx(
        0.14624558197140414 + poisson.pmf(13, res.expected_statistic), rel=1e-12
    )
    assert res.p_sim is None
    assert res.simulated.size == 0


@pytest.mark.parametrize(
    ("delta", "tau", "seed"),
    [(20, 5, 1), (10, 30, 2), (35, 60, 3), (5, 365, 4)],
    ids=["d20-t5", "d10-t30", "d35-t60", "d5-t365"],
)
def test_same_tables_and_permutations_as_pointpats(
    burkitt: gpd.GeoDataFrame, delta: float, tau: float, seed: int
) -> None:
    mine = knox(
        burkitt["X"],
        burkitt["Y"],
        burkitt["T"],
        distance=delta,
        time=tau,
        permutations=49,
        seed=np.random.RandomState(seed),
    )
    np.random.seed(seed)
    ref = Knox(
        burkitt[["X", "Y"]], burkitt[["T"]], delta=delta, tau=tau, permutations=49, keep=True
    )
    np.testing.assert_array_equal(mine.observed, ref.observed)
    np.testing.assert_allclose(mine.expected, ref.expected, rtol=1e-12)
    np.testing.assert_array_equal(mine.simulated, ref.sim)
    assert mine.p_sim == ref.p_sim


def test_datetimes_give_the_same_test_as_days(burkitt: gpd.GeoDataFrame) -> None:
    """Burkitt's DATE is T days after 1899-12-30; bands in days give the same test."""
    assert (burkitt["DATE"] - pd.to_timedelta(burkitt["T"], unit="D")).nunique() == 1
    args = {"distance": 20, "time": 5, "permutations": 99}
    by_day = knox(burkitt["X"], burkitt["Y"], burkitt["T"], **args, seed=7)
    by_date = knox(burkitt["X"], burkitt["Y"], burkitt["DATE"], **args, seed=7)
    aware = burkitt["DATE"].dt.tz_localize("UTC")
    by_aware = knox(burkitt["X"], burkitt["Y"], aware, **args, seed=7)
    for res in (by_date, by_aware):
        np.testing.assert_array_equal(res.observed, by_day.observed)
        np.testing.assert_array_equal(res.simulated, by_day.simulated)
    assert by_date.table.time_unit == "d"
    assert by_day.table.time_unit == ""


# ------------------------------------------------------------------ the table


@pytest.mark.parametrize("same_location", [False, True], ids=["bands", "same-location"])
@pytest.mark.parametrize("seed", [0, 1, 2], ids=["s0", "s1", "s2"])
def test_table_equals_brute_force_on_a_lattice(seed: int, same_location: bool) -> None:
    """Integer coordinates and times in tenths: many pairs lie exactly on band edges."""
    rng = np.random.default_rng(seed)
    n = 250
    x = rng.integers(0, 40, n).astype(float)
    y = rng.integers(0, 40, n).astype(float)
    t = rng.integers(0, 80, n) * 0.1
    d_edges, t_edges = [3.0, 5.0, 10.0], [0.3, 1.0, 2.5]
    tab = knox_table(
        x,
        y,
        t,
        distance_bands=d_edges,
        time_bands=t_edges,
        same_location=same_location,
        permutations=0,
    )
    edges = [0.0, *d_edges] if same_location else d_edges
    np.testing.assert_array_equal(tab.observed, brute_force(x, y, t, edges, t_edges))
    assert tab.observed.sum() == tab.pairs == n * (n - 1) // 2


def test_expected_is_the_product_of_the_margins_over_all_pairs() -> None:
    rng = np.random.default_rng(5)
    x, y = rng.uniform(0, 2000, (2, 400))
    t = rng.uniform(0, 365, 400)
    tab = knox_table(x, y, t, distance_bands=[100, 300], time_bands=[7, 30], permutations=0)
    rows, cols = tab.observed.sum(axis=1), tab.observed.sum(axis=0)
    np.testing.assert_allclose(tab.expected, np.outer(rows, cols) / tab.pairs, rtol=1e-12)
    np.testing.assert_allclose(tab.expected.sum(axis=0), cols, rtol=1e-12)
    np.testing.assert_allclose(tab.ratio, tab.observed / tab.expected, rtol=1e-12)


def test_expected_is_the_mean_of_the_permutation_null() -> None:
    """Shuffling times over locations has the analytic expectation as its exact mean."""
    rng = np.random.default_rng(11)
    x, y = rng.uniform(0, 1000, (2, 150))
    t = rng.uniform(0, 100, 150)
    tab = knox_table(
        x, y, t, distance_bands=[100, 200], time_bands=[5, 15], permutations=2000, seed=3
    )
    sims = tab.simulated.astype(float)
    se = sims.std(axis=0) / np.sqrt(sims.shape[0])
    assert np.all(np.abs(sims.mean(axis=0) - tab.expected) < 4 * se + 1e-9)
    # both margins stay as observed under every shuffle
    cols = np.broadcast_to(tab.observed.sum(axis=0), tab.simulated.sum(axis=1).shape)
    rows = np.broadcast_to(tab.observed.sum(axis=1), tab.simulated.sum(axis=2).shape)
    np.testing.assert_array_equal(tab.simulated.sum(axis=1), cols)
    np.testing.assert_array_equal(tab.simulated.sum(axis=2), rows)


def test_a_planted_near_repeat_is_found_and_random_data_is_not() -> None:
    rng = np.random.default_rng(2024)
    n = 300
    x, y = rng.uniform(0, 5000, (2, n))
    t = rng.uniform(0, 365, n)
    # each of 40 events gets a repeat 20 m away within a day
    src = rng.choice(n, 40, replace=False)
    xr = np.concatenate([x, x[src] + 20.0])
    yr = np.concatenate([y, y[src]])
    tr = np.concatenate([t, t[src] + rng.uniform(0, 1, 40)])
    args = {"distance_bands": [50, 200], "time_bands": [2, 14], "permutations": 199, "seed": 1}
    planted = knox_table(xr, yr, tr, **args)
    assert planted.ratio[0, 0] > 5
    assert planted.p_value[0, 0] == pytest.approx(1 / 200)
    null = knox_table(x, y, t, **args)
    assert null.p_value[0, 0] > 0.05


def test_band_edges_are_inclusive_and_same_location_is_exact() -> None:
    x = [0.0, 0.0, 100.0, 100.0 + 1e-6]
    y = [0.0, 0.0, 0.0, 0.0]
    t = [0.0, 7.0, 7.0, 14.0]
    tab = knox_table(
        x, y, t, distance_bands=[100], time_bands=[7], same_location=True, permutations=0
    )
    # pairs: (0,1) d=0 dt=7; (0,2) d=100 dt=7; (0,3) d>100 dt=14; (1,2) d=100 dt=0;
    #        (1,3) d>100 dt=7; (2,3) d≈0 dt=7
    np.testing.assert_array_equal(tab.observed, [[1, 0], [3, 0], [1, 1]])
    assert tab.distance_labels == ("0 m", "0–100 m", "> 100 m")
    assert tab.time_labels == ("0–7", "> 7")


@pytest.mark.parametrize(
    ("times", "edge", "within"),
    [((0.2, 0.9), 0.7, True), ((5.7, 5.9), 0.2, False), ((0.6, 1.1), 0.5, False)],
    ids=["diff-rounds-down", "diff-rounds-up", "sum-rounds-up"],
)
def test_rounding_at_a_time_edge_puts_the_pair_in_one_band_only(
    times: tuple[float, float], edge: float, within: bool
) -> None:
    """0.9 - 0.2 <= 0.7 but 0.9 > 0.2 + 0.7 in floating point (and the converse): the
    pair's band and the all-pairs margin must use the same predicate."""
    assert (abs(times[1] - times[0]) <= edge) == within
    assert (times[1] <= times[0] + edge) != within
    tab = knox_table([0, 0], [0, 1], times, distance_bands=[5], time_bands=[edge], permutations=0)
    expected = [[1, 0], [0, 0]] if within else [[0, 1], [0, 0]]
    np.testing.assert_array_equal(tab.observed, expected)


def test_datetime_bands_are_elapsed_time_to_the_second() -> None:
    base = pd.Timestamp("2024-03-28 12:00", tz=TZ)  # summer time starts 2024-03-31
    times = pd.Series(
        [
            base,
            base + pd.Timedelta(days=7),  # exactly 7 × 24 h later
            base + pd.Timedelta(days=7, seconds=1),
        ]
    )
    tab = knox_table(
        [0.0, 10.0, 20.0],
        [0.0, 0.0, 0.0],
        times,
        distance_bands=[50],
        time_bands=[7],
        permutations=0,
    )
    # (0,1) 7 d → within; (0,2) 7 d 1 s → beyond; (1,2) 1 s → within
    np.testing.assert_array_equal(tab.observed, [[2, 1], [0, 0]])
    assert tab.time_labels == ("0–7 d", "> 7 d")


def test_to_frame_and_pivot() -> None:
    rng = np.random.default_rng(8)
    x, y = rng.uniform(0, 1000, (2, 120))
    t = rng.uniform(0, 60, 120)
    tab = knox_table(
        x,
        y,
        t,
        distance_bands=equal_bands(100, 3),
        time_bands=equal_bands(7, 2),
        same_location=True,
        permutations=19,
        seed=2,
    )
    frame = tab.to_frame()
    assert len(frame) == 5 * 3
    assert frame["observed"].sum() == tab.pairs
    assert frame["distance_to"].iloc[-1] == np.inf
    pivot = tab.pivot("observed")
    assert list(pivot.index) == ["0 m", "0–100 m", "100–200 m", "200–300 m", "> 300 m"]
    assert list(pivot.columns) == ["0–7", "7–14", "> 14"]
    np.testing.assert_array_equal(pivot.to_numpy(), tab.observed)
    with pytest.raises(AnalysisError, match="expected one of"):
        tab.pivot("z")


def test_seeded_runs_repeat_and_seeds_differ() -> None:
    rng = np.random.default_rng(9)
    x, y = rng.uniform(0, 500, (2, 200))
    t = rng.uniform(0, 30, 200)
    args = {"distance_bands": [50, 100], "time_bands": [3], "permutations": 30}
    a = knox_table(x, y, t, **args, seed=1)
    b = knox_table(x, y, t, **args, seed=1)
    c = knox_table(x, y, t, **args, seed=2)
    np.testing.assert_array_equal(a.simulated, b.simulated)
    assert not np.array_equal(a.simulated, c.simulated)


# ------------------------------------------------------------------ bad input


def test_events_without_position_or_time_are_left_out_and_counted() -> None:
    x = [0.0, 10.0, np.nan, 30.0, 40.0]
    y = [0.0, 0.0, 0.0, 0.0, 0.0]
    t = pd.Series(pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03", None, "2024-01-05"]))
    with pytest.warns(UserWarning, match="2 of 5 events"):
        tab = knox_table(x, y, t, distance_bands=[15], time_bands=[2], permutations=0)
    assert (tab.n, tab.n_excluded, tab.pairs) == (3, 2, 3)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"distance_bands": [200, 100], "time_bands": [7]}, "increasing"),
        ({"distance_bands": [0, 100], "time_bands": [7]}, "increasing"),
        ({"distance_bands": [], "time_bands": [7]}, "one or more"),
        ({"distance_bands": [100], "time_bands": [np.nan]}, "finite"),
        ({"distance_bands": [100], "time_bands": [7], "permutations": -1}, "permutations"),
    ],
    ids=["decreasing", "zero-distance", "no-bands", "nan-edge", "negative-permutations"],
)
def test_bad_parameters_say_what_was_expected(kwargs: dict, match: str) -> None:
    with pytest.raises(AnalysisError, match=match):
        knox_table([0, 1, 2], [0, 0, 0], [0, 1, 2], **kwargs)


@pytest.mark.parametrize("n", [0, 1], ids=["empty", "single"])
def test_fewer_than_two_events_is_one_clear_sentence(n: int) -> None:
    with pytest.raises(AnalysisError, match="at least 2"):
        knox([0.0] * n, [0.0] * n, [0.0] * n, distance=10, time=1)


@pytest.mark.parametrize("threshold", [0, -5, np.nan], ids=["zero", "negative", "nan"])
def test_knox_thresholds_must_be_positive(threshold: float) -> None:
    with pytest.raises(AnalysisError, match="positive"):
        knox([0, 1], [0, 0], [0, 1], distance=threshold, time=1)


def test_too_many_close_pairs_is_refused_with_the_estimate() -> None:
    x = np.zeros(2_000)  # every pair at the same point: ~2 million pairs
    with pytest.raises(AnalysisError, match=r"at most 1,000 pairs .* got about 1,999,000"):
        knox_table(x, x, np.arange(2_000.0), distance_bands=[10], time_bands=[1], max_pairs=1_000)


def test_all_events_at_one_time_give_nan_ratios_not_a_crash() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tab = knox_table(
            [0, 5, 100],
            [0, 0, 0],
            [3.0, 3.0, 3.0],
            distance_bands=[10],
            time_bands=[1],
            permutations=9,
            seed=0,
        )
    np.testing.assert_array_equal(tab.observed, [[1, 0], [2, 0]])
    assert np.isnan(tab.ratio[:, 1]).all()
    assert np.isfinite(tab.ratio[:, 0]).all()


def test_docstring_examples_run() -> None:
    import doctest

    from trygghetskarta.analysis import nearrepeat

    assert doctest.testmod(nearrepeat).failed == 0


# ------------------------------------------------------------------ real data


@pytest.mark.realdata
def test_knox_on_the_real_placed_police_events(shared_data) -> None:
    events = placed_police_events(shared_data)
    good = events[events["precision"].isin(["exact", "address", "place", "street"])]
    assert len(good) > 300
    tab = knox_table(
        good["x"],
        good["y"],
        good["occurred_at"],
        distance_bands=equal_bands(250, 4),
        time_bands=equal_bands(7, 4),
        same_location=True,
        permutations=99,
        seed=20_240_101,
    )
    assert tab.n == len(good) and tab.n_excluded == 0
    assert tab.observed.sum() == tab.pairs
    assert tab.observed[0].sum() > 0, "geocoded events share places: same-location pairs"
    assert np.isfinite(tab.expected).all() and (tab.expected > 0).all()
    assert np.isfinite(tab.ratio).all()
    assert ((tab.p_value > 0) & (tab.p_value <= 1)).all()
