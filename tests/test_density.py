"""Kernel density: reference values from a direct Gaussian sum, with tolerances."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from trygghetskarta.analysis.density import (
    DensityWarning,
    bandwidth_cv,
    bandwidth_scott,
    bandwidth_silverman,
    kde,
)
from trygghetskarta.analysis.grid import MAX_CELLS, Grid, cell_centres, grid_from_bounds
from trygghetskarta.errors import AnalysisError

# Hand-made coordinates near the origin are metres in a local plane; within ±180/±90 they
# would look like degrees, so the tests say which CRS they are in.
PLANE = "EPSG:3006"

X0, Y0 = 670_000.0, 6_580_000.0  # central Stockholm in SWEREF99 TM, metres


def direct_density(
    x: np.ndarray,
    y: np.ndarray,
    grid: Grid,
    sigma: float | np.ndarray,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Σ_i w_i N(cell centre; (x_i, y_i), σ_i² I) per km², evaluated at every cell."""
    xs, ys = grid.centres()
    gx, gy = np.meshgrid(xs, ys)
    s2 = np.broadcast_to(np.asarray(sigma, dtype=float) ** 2, x.shape)
    w = np.ones_like(x) if weights is None else weights
    out = np.zeros(gx.shape)
    for xi, yi, si2, wi in zip(x, y, s2, w, strict=True):
        d2 = (gx - xi) ** 2 + (gy - yi) ** 2
        out += wi * np.exp(-d2 / (2 * si2)) / (2 * math.pi * si2)
    return out * 1e6


def cluster(n: int, seed: int = 3, spread: float = 400.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return X0 + rng.normal(0, spread, n), Y0 + rng.normal(0, spread * 0.6, n)


# --- accuracy -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "cell", "sigma", "weighted"),
    [
        pytest.param(40, 10.0, 200.0, False, id="cluster-20-cells-per-sigma"),
        pytest.param(40, 10.0, 200.0, True, id="weighted"),
        pytest.param(7, 12.5, 300.0, False, id="few-events-odd-cell"),
        pytest.param(200, 5.0, 60.0, False, id="fine-grid"),
    ],
)
def test_kde_matches_direct_gaussian_sum(n: int, cell: float, sigma: float, weighted: bool) -> None:
    x, y = cluster(n)
    w = np.random.default_rng(9).uniform(0.5, 3.0, n) if weighted else None
    grid = kde(x, y, cell_size=cell, bandwidth=sigma, weights=w)
    ref = direct_density(x, y, grid, sigma, w)
    err = np.abs(grid.values - ref).max() / ref.max()
    assert err <= 1e-3


def test_binning_bias_is_corrected_on_a_coarse_grid() -> None:
    # sigma = 5 cells: plain linear binning smooths by 1/6 cell² and misses by ~2.5e-3
    rng = np.random.default_rng(12)
    x, y = X0 + rng.uniform(0, 2000, 400), Y0 + rng.uniform(0, 2000, 400)
    grid = kde(x, y, cell_size=50.0, bandwidth=250.0)
    ref = direct_density(x, y, grid, 250.0)
    assert np.abs(grid.values - ref).max() / ref.max() <= 1e-3


def test_kde_sums_to_the_number_of_events() -> None:
    x, y = cluster(100)
    grid = kde(
        x, y, cell_size=20.0, bandwidth=150.0, bounds=(X0 - 5e3, Y0 - 5e3, X0 + 5e3, Y0 + 5e3)
    )
    cell_km2 = (grid.cell_size / 1000) ** 2
    assert grid.values.sum() * cell_km2 == pytest.approx(100, rel=1e-9)


@pytest.mark.parametrize(
    "uncertainty",
    [pytest.param(None, id="plain"), pytest.param(np.r_[0.0, 250.0, 1000.0, 25.0], id="widened")],
)
def test_mass_is_conserved_with_weights(uncertainty: np.ndarray | None) -> None:
    x = X0 + np.array([0.0, 33.3, -517.0, 1204.4])
    y = Y0 + np.array([0.0, 71.0, 250.5, -333.3])
    w = np.array([1.0, 2.0, 0.5, 4.0])
    grid = kde(
        x,
        y,
        cell_size=25.0,
        bandwidth=200.0,
        weights=w,
        uncertainty=uncertainty,
        bounds=(X0 - 8e3, Y0 - 8e3, X0 + 8e3, Y0 + 8e3),
    )
    assert grid.values.sum() * (25 / 1000) ** 2 == pytest.approx(w.sum(), rel=1e-9)
    assert grid.params["weight_total"] == pytest.approx(7.5)


def test_default_bounds_hold_nearly_all_the_mass() -> None:
    x, y = cluster(30)
    grid = kde(x, y, cell_size=20.0, bandwidth=200.0)
    # 3 sigma on every side: at most ~0.3 % per side is outside
    assert grid.values.sum() * (20 / 1000) ** 2 == pytest.approx(30, rel=0.01)
    assert grid.params["n_outside_bounds"] == 0


# --- linear binning -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dx", "dy", "expected"),
    [
        pytest.param(0.0, 0.0, {(2, 2): 1.0}, id="on-a-centre"),
        pytest.param(
            5.0, -5.0, {(2, 2): 0.25, (2, 3): 0.25, (3, 2): 0.25, (3, 3): 0.25}, id="between-four"
        ),
        pytest.param(2.5, 0.0, {(2, 2): 0.75, (2, 3): 0.25}, id="quarter-east"),
        pytest.param(0.0, 2.5, {(2, 2): 0.75, (1, 2): 0.25}, id="quarter-north"),
    ],
)
def test_linear_binning_splits_over_the_four_centres(
    dx: float, dy: float, expected: dict[tuple[int, int], float]
) -> None:
    # 10 m cells from (0, 0) to (50, 50); the centre of row 2, column 2 is (25, 25).
    # A bandwidth of 0.1 m makes the kernel a single cell, so the grid shows the binning.
    with pytest.warns(DensityWarning, match="smaller than the cell size"):
        grid = kde(
            [25.0 + dx],
            [25.0 + dy],
            cell_size=10.0,
            bandwidth=0.1,
            bounds=(0, 0, 50, 50),
            crs=PLANE,
        )
    counts = grid.values * (10 / 1000) ** 2
    want = np.zeros((5, 5))
    for (row, col), share in expected.items():
        want[row, col] = share
    np.testing.assert_allclose(counts, want, atol=1e-12)


def test_north_west_event_is_in_the_first_rows_and_columns() -> None:
    bounds = (X0, Y0, X0 + 2_000, Y0 + 1_000)
    grid = kde([X0 + 160], [Y0 + 915], cell_size=50.0, bandwidth=60.0, bounds=bounds)
    row, col = np.unravel_index(np.argmax(grid.values), grid.shape)
    assert (row, col) == (1, 3)  # y 915 → second row from the north; x 160 → fourth column
    xs, ys = grid.centres()
    assert (xs[col], ys[row]) == (X0 + 175, Y0 + 925)
    assert grid.transform.e < 0 and grid.transform.f == Y0 + 1_000


def test_event_outside_the_bounds_still_counts_inside() -> None:
    bounds = (X0, Y0, X0 + 1_000, Y0 + 1_000)
    x, y = np.array([X0 - 150.0, X0 + 500]), np.array([Y0 + 500, Y0 + 1_300.0])
    grid = kde(x, y, cell_size=10.0, bandwidth=200.0, bounds=bounds)
    ref = direct_density(x, y, grid, 200.0)
    assert np.abs(grid.values - ref).max() / ref.max() <= 1e-3
    assert grid.params["n_outside_bounds"] == 2


# --- uncertainty ----------------------------------------------------------------------


def test_uncertainty_widens_each_kernel_like_a_direct_sum() -> None:
    x, y = cluster(12, seed=5)
    u = np.array([0, 10, 25, 250, 250, 500, 800, 0, 10, 2500, 25, 500], dtype=float)
    h = 150.0
    grid = kde(
        x,
        y,
        cell_size=10.0,
        bandwidth=h,
        uncertainty=u,
        bounds=(X0 - 4e3, Y0 - 4e3, X0 + 4e3, Y0 + 4e3),
    )
    ref = direct_density(x, y, grid, np.sqrt(h**2 + u**2))
    assert np.abs(grid.values - ref).max() / ref.max() <= 1e-3
    assert grid.params["uncertainty_groups"] == 7


@pytest.mark.parametrize(
    ("u_step", "bounds", "n_plans"),
    [
        # few kernels of very different width: each its own FFT frame
        pytest.param(None, (X0 - 4e3, Y0 - 4e3, X0 + 4e3, Y0 + 4e3), 5, id="own-frames"),
        # many similar kernels: one frame, spectra summed, one inverse FFT
        pytest.param(5.0, (X0 - 1.2e3, Y0 - 1e3, X0 + 1e3, Y0 + 1e3), 1, id="one-common-frame"),
        # events outside tight bounds: each kernel's frame gets its own margins
        pytest.param(5.0, (X0 - 300, Y0 - 200, X0 + 400, Y0 + 300), 17, id="margins-outside"),
    ],
)
def test_kernel_groups_in_any_fft_plan_match_a_direct_sum(
    monkeypatch: pytest.MonkeyPatch, u_step: float | None, bounds, n_plans: int
) -> None:
    import trygghetskarta.analysis.density as density

    plans: list[int] = []
    original = density._plan

    def spy(*args):  # record how many FFT frames were used
        result = original(*args)
        plans.append(len(result))
        return result

    monkeypatch.setattr(density, "_plan", spy)
    if u_step is None:
        x, y = cluster(12, seed=5)
        u = np.array([0, 10, 25, 250, 250, 500, 800, 0, 10, 2500, 25, 500], dtype=float)
    else:
        x, y = cluster(20, seed=5)
        u = 100 + u_step * np.arange(20)
    grid = kde(x, y, cell_size=10.0, bandwidth=150.0, uncertainty=u, bounds=bounds)
    ref = direct_density(x, y, grid, np.sqrt(150.0**2 + u**2))
    assert np.abs(grid.values - ref).max() / ref.max() <= 1e-3
    assert plans == [n_plans]


def test_many_distinct_uncertainties_are_rounded_to_10_m() -> None:
    x, y = cluster(40, seed=7)
    u = 100.0 + np.arange(40)  # 100 .. 139 m: more distinct radii than kept exactly
    grid = kde(x, y, cell_size=10.0, bandwidth=150.0, uncertainty=u)
    assert grid.params["uncertainty_rounding_m"] == 10.0
    assert grid.params["uncertainty_groups"] == 5  # 100, 110, 120, 130, 140 (half up)
    ref = direct_density(x, y, grid, np.sqrt(150.0**2 + u**2))
    assert np.abs(grid.values - ref).max() / ref.max() <= 5e-3


def test_uncertainty_nan_is_left_out_and_counted() -> None:
    x = X0 + np.array([0.0, 100.0, 200.0, np.nan])
    y = Y0 + np.array([0.0, 100.0, 200.0, 0.0])
    u = np.array([10.0, np.nan, 25.0, 10.0])
    bounds = (X0 - 3e3, Y0 - 3e3, X0 + 3e3, Y0 + 3e3)
    grid = kde(x, y, cell_size=20.0, bandwidth=200.0, uncertainty=u, bounds=bounds)
    assert grid.params["n_events"] == 2
    assert grid.params["n_left_out"] == 2
    assert grid.params["n_left_out_no_uncertainty"] == 1
    assert grid.params["n_left_out_no_coordinates"] == 1
    assert grid.values.sum() * (20 / 1000) ** 2 == pytest.approx(2, rel=1e-9)


# --- bandwidth rules ------------------------------------------------------------------

_FIVE = [1.0, 2.0, 3.0, 4.0, 5.0]


@pytest.mark.parametrize(
    ("rule", "x", "y", "expected"),
    [
        # square corners: s = sqrt(4/3) on both axes, n = 4
        pytest.param(
            bandwidth_scott,
            [-1, 1, -1, 1],
            [-1, -1, 1, 1],
            2 / math.sqrt(3) * 4 ** (-1 / 6),
            id="scott-square",
        ),
        # 1..5: s = sqrt(2.5), n = 5
        pytest.param(
            bandwidth_scott, _FIVE, _FIVE, math.sqrt(2.5) * 5 ** (-1 / 6), id="scott-line"
        ),
        # IQR of 1..5 is 4 - 2 = 2, 2 / 1.349 = 1.4826 < sqrt(2.5) = 1.5811
        pytest.param(
            bandwidth_silverman, _FIVE, _FIVE, 2 / 1.349 * 5 ** (-1 / 6), id="silverman-iqr"
        ),
        # square corners: IQR / 1.349 = 1.4826 > s = 1.1547, so s is used
        pytest.param(
            bandwidth_silverman,
            [-1, 1, -1, 1],
            [-1, -1, 1, 1],
            2 / math.sqrt(3) * 4 ** (-1 / 6),
            id="silverman-std",
        ),
        # x spread s = sqrt(2.5); y all equal so s_y = 0 (IQR 0 falls back to s = 0)
        pytest.param(
            bandwidth_scott, _FIVE, [7.0] * 5, math.sqrt(2.5) / 2 * 5 ** (-1 / 6), id="scott-flat-y"
        ),
    ],
)
def test_bandwidth_rules_match_hand_computed_values(rule, x, y, expected) -> None:
    assert rule(np.array(x, float) * 100, np.array(y, float) * 100) == pytest.approx(
        expected * 100, rel=1e-12
    )


def test_silverman_ignores_a_far_outlier_that_scott_follows() -> None:
    x, y = cluster(200, seed=11)
    x_out = np.r_[x, X0 + 60_000]
    y_out = np.r_[y, Y0]
    assert bandwidth_scott(x_out, y_out) > 2 * bandwidth_scott(x, y)
    assert bandwidth_silverman(x_out, y_out) < 1.05 * bandwidth_silverman(x, y)


@pytest.mark.parametrize(
    ("x", "y"),
    [
        pytest.param([], [], id="empty"),
        pytest.param([X0], [Y0], id="single"),
        pytest.param([X0] * 5, [Y0] * 5, id="one-position"),
        pytest.param([X0, np.nan], [Y0, Y0 + 1], id="one-finite"),
    ],
)
@pytest.mark.parametrize("rule", [bandwidth_scott, bandwidth_silverman], ids=["scott", "silverman"])
def test_bandwidth_rules_refuse_fewer_than_two_positions(rule, x, y) -> None:
    with pytest.raises(AnalysisError, match="two or more distinct positions"):
        rule(np.array(x, float), np.array(y, float))


def _loo_loglik_by_loops(x: np.ndarray, y: np.ndarray, h: float) -> float:
    total = 0.0
    for i in range(x.size):
        dens = 0.0
        for j in range(x.size):
            if i != j:
                d2 = (x[i] - x[j]) ** 2 + (y[i] - y[j]) ** 2
                dens += math.exp(-d2 / (2 * h * h)) / (2 * math.pi * h * h)
        total += math.log(dens / (x.size - 1))
    return total


def test_bandwidth_cv_picks_the_leave_one_out_maximum() -> None:
    x, y = cluster(40, seed=2, spread=500.0)
    candidates = [40.0, 80.0, 160.0, 320.0, 640.0, 1280.0]
    scores = [_loo_loglik_by_loops(x, y, h) for h in candidates]
    expected = candidates[int(np.argmax(scores))]
    assert expected not in (candidates[0], candidates[-1])  # the test data has an interior optimum
    assert bandwidth_cv(x, y, candidates) == expected


def test_bandwidth_cv_subsamples_large_inputs_reproducibly() -> None:
    x, y = cluster(3_000, seed=4, spread=500.0)
    candidates = np.geomspace(20, 600, 10)
    h1 = bandwidth_cv(x, y, candidates, max_points=500, seed=1)
    h2 = bandwidth_cv(x, y, candidates, max_points=500, seed=1)
    assert h1 == h2
    assert h1 in candidates
    # the normal-reference optimum for this normal cloud is near Scott's bandwidth
    assert bandwidth_scott(x, y) / 2 <= h1 <= bandwidth_scott(x, y) * 2


def test_bandwidth_cv_warns_when_duplicates_push_it_to_the_smallest_candidate() -> None:
    x, y = cluster(20, seed=6)
    x, y = np.repeat(x, 3), np.repeat(y, 3)  # every position three times
    with pytest.warns(DensityWarning, match="smallest candidate"):
        assert bandwidth_cv(x, y, [50.0, 100.0, 200.0]) == 50.0


@pytest.mark.parametrize(
    "candidates", [pytest.param([], id="none"), pytest.param([100.0, -5.0], id="negative")]
)
def test_bandwidth_cv_refuses_bad_candidates(candidates) -> None:
    x, y = cluster(10)
    with pytest.raises(AnalysisError, match="candidate"):
        bandwidth_cv(x, y, candidates)


@pytest.mark.parametrize(
    ("rule", "function"),
    [
        pytest.param("scott", bandwidth_scott, id="scott"),
        pytest.param("silverman", bandwidth_silverman, id="silverman"),
        pytest.param("SCOTT", bandwidth_scott, id="case-insensitive"),
    ],
)
def test_kde_uses_and_records_the_rule(rule: str, function) -> None:
    x, y = cluster(50)
    grid = kde(x, y, cell_size=25.0, bandwidth=rule)
    assert grid.params["bandwidth_m"] == pytest.approx(function(x, y))
    assert grid.params["bandwidth_rule"] == rule.lower()


def test_kde_cv_records_its_candidates() -> None:
    x, y = cluster(80, seed=8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DensityWarning)
        grid = kde(x, y, cell_size=25.0, bandwidth="cv")
    assert grid.params["bandwidth_rule"] == "cv"
    candidates = [float(c) for c in str(grid.params["bandwidth_candidates_m"]).split(",")]
    assert len(candidates) == 12
    assert min(candidates) == pytest.approx(25.0)
    assert any(abs(grid.params["bandwidth_m"] - c) < 1 for c in candidates)


@pytest.mark.parametrize(
    ("n", "sample"), [(80, None), (2_500, "2000 of 2500")], ids=["all", "capped"]
)
def test_kde_cv_states_when_it_scored_a_sample(n: int, sample: str | None) -> None:
    x, y = cluster(n, seed=9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DensityWarning)
        grid = kde(x, y, cell_size=25.0, bandwidth="cv")
    assert grid.params.get("bandwidth_cv_sample") == sample


def test_params_record_how_the_grid_was_made() -> None:
    x, y = cluster(10)
    grid = kde(x, y, cell_size=25.0, bandwidth=300)
    assert {
        k: grid.params[k]
        for k in (
            "bandwidth_m",
            "bandwidth_rule",
            "cell_size_m",
            "n_events",
            "n_left_out",
            "kernel",
            "method",
        )
    } == {
        "bandwidth_m": 300.0,
        "bandwidth_rule": "fixed",
        "cell_size_m": 25.0,
        "n_events": 10,
        "n_left_out": 0,
        "kernel": "gaussian",
        "method": "linear binning + FFT",
    }
    assert grid.units == "events per km²"
    assert grid.crs == "EPSG:3006"


# --- warnings and edge cases ----------------------------------------------------------


def test_warns_when_bandwidth_is_below_the_cell_size() -> None:
    with pytest.warns(
        DensityWarning, match=r"bandwidth \(40 m\) is smaller than the cell size \(50 m\)"
    ):
        kde([X0], [Y0], cell_size=50.0, bandwidth=40.0)


def test_no_warning_when_bandwidth_is_at_least_the_cell_size() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kde([X0], [Y0], cell_size=50.0, bandwidth=50.0)


BOUNDS = (X0, Y0, X0 + 1_000, Y0 + 800)


@pytest.mark.parametrize(
    ("x", "y", "bandwidth", "n_events"),
    [
        pytest.param([], [], 100.0, 0, id="empty"),
        pytest.param([np.nan, np.nan], [Y0, np.nan], 100.0, 0, id="all-nan"),
        pytest.param([], [], "scott", 0, id="empty-with-rule"),
        pytest.param([X0 + 500], [Y0 + 400], 100.0, 1, id="single"),
        pytest.param([X0 + 500] * 4, [Y0 + 400] * 4, 100.0, 4, id="one-position"),
        pytest.param(
            [X0 + 500, np.inf, X0 + 10], [Y0 + 400, Y0, np.nan], 100.0, 1, id="non-finite"
        ),
    ],
)
def test_edge_cases_give_finite_grids(x, y, bandwidth, n_events: int) -> None:
    grid = kde(
        np.array(x, float), np.array(y, float), cell_size=20.0, bandwidth=bandwidth, bounds=BOUNDS
    )
    assert grid.shape == (40, 50)
    assert np.isfinite(grid.values).all()
    assert grid.params["n_events"] == n_events
    assert grid.params["n_left_out"] == len(x) - n_events
    if n_events == 0:
        assert not grid.values.any()
    else:
        assert grid.values.sum() * (20 / 1000) ** 2 == pytest.approx(n_events, rel=0.02)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"x": [], "y": []}, "pass bounds=", id="empty-without-bounds"),
        pytest.param({"x": [np.nan], "y": [Y0]}, "pass bounds=", id="nan-without-bounds"),
        pytest.param(
            {"x": [X0], "y": [Y0], "bandwidth": "scott"},
            "two or more distinct",
            id="single-with-rule",
        ),
        pytest.param(
            {"x": [X0, X0], "y": [Y0, Y0], "bandwidth": "silverman"},
            "two or more distinct",
            id="one-position-with-rule",
        ),
        pytest.param({"x": [X0, X0 + 1], "y": [Y0]}, "same length", id="lengths"),
        pytest.param({"bandwidth": "nrd0"}, "one of", id="unknown-rule"),
        pytest.param({"bandwidth": 0.0}, "positive", id="zero-bandwidth"),
        pytest.param({"bandwidth": True}, "metres or a rule", id="bool-bandwidth"),
        pytest.param({"cell_size": -10.0}, "positive", id="negative-cell"),
        pytest.param({"weights": [-1.0]}, "non-negative", id="negative-weight"),
        pytest.param({"weights": [1.0, 2.0]}, "one value per event", id="weights-length"),
        pytest.param({"uncertainty": [-5.0]}, "non-negative radius", id="negative-uncertainty"),
        pytest.param({"bounds": (X0, Y0, X0 - 5, Y0 + 5)}, "xmin ≤ xmax", id="inverted-bounds"),
    ],
)
def test_bad_input_raises_one_clear_error(kwargs: dict, message: str) -> None:
    args = {"x": [X0], "y": [Y0], "cell_size": 20.0, "bandwidth": 200.0} | kwargs
    x, y = args.pop("x"), args.pop("y")
    with pytest.raises(AnalysisError, match=message):
        kde(x, y, **args)


def test_mask_sets_cells_outside_to_nan() -> None:
    transform, shape = grid_from_bounds(BOUNDS, 20.0)
    mask = np.zeros(shape, dtype=bool)
    mask[:, : shape[1] // 2] = True  # western half is land
    grid = kde([X0 + 500], [Y0 + 400], cell_size=20.0, bandwidth=200.0, bounds=BOUNDS, mask=mask)
    assert grid.transform == transform
    assert np.isnan(grid.values[:, shape[1] // 2 :]).all()
    assert np.isfinite(grid.values[:, : shape[1] // 2]).all()
    assert grid.params["n_cells_masked"] == mask.size // 2


def test_mask_of_the_wrong_shape_is_refused() -> None:
    with pytest.raises(AnalysisError, match=r"mask must have the grid's shape \(40, 50\)"):
        kde(
            [X0], [Y0], cell_size=20.0, bandwidth=200.0, bounds=BOUNDS, mask=np.ones((50, 40), bool)
        )


# --- grid helpers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bounds", "cell", "corner", "shape"),
    [
        pytest.param((1.0, 2.0, 99.0, 101.0), 10.0, (0.0, 110.0), (11, 10), id="snapped-outward"),
        pytest.param((0.0, 0.0, 100.0, 50.0), 10.0, (0.0, 50.0), (5, 10), id="already-aligned"),
        pytest.param((0.3, 0.6, 0.9, 0.7), 0.1, (0.3, 0.7), (1, 6), id="float-rounding"),
        pytest.param((5.0, 5.0, 5.0, 5.0), 10.0, (0.0, 10.0), (1, 1), id="a-point"),
    ],
)
def test_grid_from_bounds_snaps_to_cell_multiples(bounds, cell, corner, shape) -> None:
    transform, got_shape = grid_from_bounds(bounds, cell)
    assert got_shape == shape
    assert (transform.c, transform.f) == pytest.approx(corner)
    assert (transform.a, transform.e) == (cell, -cell)


def test_cell_centres_run_east_and_south() -> None:
    transform, shape = grid_from_bounds((0, 0, 30, 20), 10)
    xs, ys = cell_centres(transform, shape)
    np.testing.assert_array_equal(xs, [5, 15, 25])
    np.testing.assert_array_equal(ys, [15, 5])


def test_too_large_grid_says_what_would_fit() -> None:
    side = 60_000.0
    with pytest.raises(AnalysisError, match=r"200,000 × 200,000 cells \(4e\+10 cells") as info:
        grid_from_bounds((0, 0, side, side), 0.3)
    fits = int(str(info.value).split("cell_size ≥ ")[1].split(" m")[0])
    assert (side / fits) ** 2 <= MAX_CELLS < (side / (fits - 1)) ** 2


@pytest.mark.parametrize("module", ["density", "grid", "bandwidth"])
def test_docstring_examples_run(module: str) -> None:
    import doctest
    import importlib

    mod = importlib.import_module(f"trygghetskarta.analysis.{module}")
    assert doctest.testmod(mod).failed == 0
