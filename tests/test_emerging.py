"""Emerging hot spots: the 17 ArcGIS patterns, space-time Gi* against esda, Mann-Kendall against
pymannkendall, the space-time cube, bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pymannkendall
import pytest
from affine import Affine
from esda.getisord import G_Local
from libpysal.weights import W

from trygghetskarta.analysis.emerging import (
    CATEGORIES,
    SpaceTimeCube,
    classify_emerging,
    emerging_hotspots,
    gi_star_cube,
    space_time_cube,
)
from trygghetskarta.analysis.hotspots import gi_star
from trygghetskarta.analysis.mann_kendall import mann_kendall
from trygghetskarta.errors import AnalysisError

# Hand-made coordinates near the origin are metres in a local plane; within ±180/±90 they
# would look like degrees, so the tests say which CRS they are in.
PLANE = "EPSG:3006"

CODE = {name: code for code, name in CATEGORIES.items()}
TRANSFORM = Affine(100, 0, 670_000, 0, -100, 6_581_000)

# One 9 × 9 background of counts, the same in every period, so that the centre cell's
# neighbourhood (the 3 × 3 block around it) is the only thing that changes: its level is
# 30 in a hot period ("H"), 2 in a cold one ("C") and 10, the background's mean, otherwise.
BASE = np.random.default_rng(20240101).poisson(10, (9, 9)).astype(float)
LEVEL = {"H": 30.0, "C": 2.0, ".": 10.0}
CENTRE = (4, 4)


def block_cube(states: str, levels: list[float] | None = None) -> SpaceTimeCube:
    v = np.repeat(BASE[None], len(states), axis=0)
    for t, s in enumerate(states):
        v[t, 3:6, 3:6] = levels[t] if levels is not None else LEVEL[s]
    return SpaceTimeCube(
        v, tuple(pd.period_range("2023-01", periods=len(states), freq="M")), TRANSFORM
    )


UP_HOT = [20.0 + t for t in range(20)]  # hot every period, ever stronger
FLAT_HOT = [28.0 + 2 * (t % 2) for t in range(20)]
DOWN_HOT = [40.0 - t for t in range(20)]
UP_COLD = [4.0 - 0.2 * t for t in range(20)]  # cold every period, ever colder
FLAT_COLD = [1.0 + (t % 2) for t in range(20)]
DOWN_COLD = [0.2 * t for t in range(20)]

# (pattern, states over 20 periods, block levels or None)
SERIES = [
    ("new hot spot", "." * 19 + "H", None),
    ("consecutive hot spot", "." * 16 + "HHHH", None),
    ("intensifying hot spot", "H" * 20, UP_HOT),
    ("persistent hot spot", "H" * 20, FLAT_HOT),
    ("diminishing hot spot", "H" * 20, DOWN_HOT),
    ("sporadic hot spot", "..H...H....H..H....H", None),
    ("oscillating hot spot", "..C.....H.....C....H", None),
    ("historical hot spot", "H" * 18 + "..", None),
    ("new cold spot", "." * 19 + "C", None),
    ("consecutive cold spot", "." * 16 + "CCCC", None),
    ("intensifying cold spot", "C" * 20, UP_COLD),
    ("persistent cold spot", "C" * 20, FLAT_COLD),
    ("diminishing cold spot", "C" * 20, DOWN_COLD),
    ("sporadic cold spot", "..C...C....C..C....C", None),
    ("oscillating cold spot", "..H.....C.....H....C", None),
    ("historical cold spot", "C" * 18 + "..", None),
    ("no pattern detected", "." * 20, None),
]


def test_the_series_cover_all_17_patterns() -> None:
    assert sorted(s[0] for s in SERIES) == sorted(CATEGORIES.values())


@pytest.mark.parametrize(("pattern", "states", "levels"), SERIES, ids=[s[0] for s in SERIES])
def test_each_series_is_exactly_its_pattern_with_gi_star_per_period(
    pattern: str, states: str, levels: list[float] | None
) -> None:
    res = emerging_hotspots(block_cube(states, levels), time_steps=0, global_window="period")
    # the bins are exactly the designed states …
    np.testing.assert_array_equal(res.hot[:, 4, 4], [s == "H" for s in states])
    np.testing.assert_array_equal(res.cold[:, 4, 4], [s == "C" for s in states])
    # … and the pattern follows from them
    assert res.names[CENTRE] == pattern
    assert res.category[CENTRE] == CODE[pattern]


@pytest.mark.parametrize(("pattern", "states", "levels"), SERIES, ids=[s[0] for s in SERIES])
def test_each_series_is_its_pattern_with_arcgis_defaults(
    pattern: str, states: str, levels: list[float] | None
) -> None:
    """One earlier period in the neighbourhood, the whole cube as the global window."""
    res = emerging_hotspots(block_cube(states, levels))
    assert res.params["time_steps"] == 1 and res.params["global_window"] == "cube"
    assert res.names[CENTRE] == pattern


def states_to_bins(states: str) -> tuple[np.ndarray, np.ndarray]:
    hot = np.array([[s == "H"] for s in states])
    cold = np.array([[s == "C"] for s in states])
    return hot, cold


# Series one bin or one trend away from a pattern: each rule must draw the line here.
# (states, trend of the Gi* z: "up", "down" or "", expected pattern)
RULES = [
    ("." * 19 + "H", "", "new hot spot"),
    ("C" + "." * 18 + "H", "", "oscillating hot spot"),  # a prior cold spot: not new
    ("H" + "." * 18 + "H", "", "sporadic hot spot"),  # hot before: not new
    ("." * 18 + "HH", "", "consecutive hot spot"),  # shortest consecutive run
    ("." * 15 + "H" + ".HHH", "", "sporadic hot spot"),  # hot before the final run
    ("C" + "." * 15 + "HHHH", "", "oscillating hot spot"),  # cold before the run
    ("." * 2 + "H" * 18, "up", "intensifying hot spot"),  # exactly 90 % hot
    ("." * 3 + "H" * 17, "up", "consecutive hot spot"),  # 85 %: one run at the end
    ("H" + "." * 2 + "H" * 17, "up", "intensifying hot spot"),  # 90 %, gaps allowed
    ("H" + "." * 3 + "H" * 16, "up", "sporadic hot spot"),  # 85 %, on and off
    ("H" * 20, "up", "intensifying hot spot"),
    ("H" * 20, "down", "diminishing hot spot"),
    ("H" * 20, "", "persistent hot spot"),
    ("H" * 19 + ".", "", "historical hot spot"),  # final not hot: historical, not persistent
    ("H" * 19 + ".", "down", "historical hot spot"),
    ("H" * 17 + "...", "", "no pattern detected"),  # 85 %, final not hot
    ("H" * 18 + ".C", "", "oscillating cold spot"),  # the final state decides first
    ("C" + "H" * 19, "", "persistent hot spot"),  # 95 % hot: one cold period does not matter
    ("H.H.H.H.H.", "", "no pattern detected"),  # last period not significant
    ("H.H.H.H.HH", "", "sporadic hot spot"),
    ("CH", "", "oscillating hot spot"),  # two periods are enough to classify
    ("." * 20, "up", "no pattern detected"),  # a trend alone is no hot spot
]


@pytest.mark.parametrize(
    ("states", "trend", "expected"), RULES, ids=[f"{s}-{t}" for s, t, _ in RULES]
)
def test_rule_boundaries(states: str, trend: str, expected: str) -> None:
    hot, cold = states_to_bins(states)
    got = classify_emerging(hot, cold, [trend == "up"], [trend == "down"])
    assert CATEGORIES[int(got[0])] == expected


@pytest.mark.parametrize(
    ("states", "trend", "expected"), RULES, ids=[f"{s}-{t}" for s, t, _ in RULES]
)
def test_rules_are_mirrored_for_cold_spots(states: str, trend: str, expected: str) -> None:
    swapped = states.translate(str.maketrans("HC", "CH"))
    hot, cold = states_to_bins(swapped)
    mirrored = {"up": "down", "down": "up", "": ""}[trend]
    got = classify_emerging(hot, cold, [mirrored == "up"], [mirrored == "down"])
    assert int(got[0]) == -CODE[expected]


def test_classify_rejects_a_bin_both_hot_and_cold() -> None:
    with pytest.raises(AnalysisError, match="both"):
        classify_emerging(np.ones((3, 1), bool), np.ones((3, 1), bool), [False], [False])


# ---------------------------------------------------------------------------------------
# space-time Gi* against esda


def space_time_w(valid: np.ndarray, d: int, steps: int) -> tuple[W, list[tuple[int, int, int]]]:
    """Explicit weights: same or earlier (≤ steps) period, Chebyshev distance ≤ d."""
    ids = [b for b in np.ndindex(valid.shape) if valid[b]]
    pos = {b: i for i, b in enumerate(ids)}
    neighbours = {}
    for (t, r, c), i in pos.items():
        neighbours[i] = [
            pos[(tt, rr, cc)]
            for tt in range(max(0, t - steps), t + 1)
            for rr in range(r - d, r + d + 1)
            for cc in range(c - d, c + d + 1)
            if (tt, rr, cc) in pos and (tt, rr, cc) != (t, r, c)
        ]
    return W(neighbours, silence_warnings=True), ids


@pytest.mark.parametrize(("d", "steps"), [(1, 1), (1, 2), (2, 1), (1, 0)], ids=str)
def test_space_time_gi_star_over_the_whole_cube_equals_esda_with_space_time_weights(
    d: int, steps: int
) -> None:
    rng = np.random.default_rng(d * 10 + steps)
    v = rng.poisson(3, (5, 6, 7)).astype(float)
    v[:, 0, 0] = np.nan  # outside the study area in every period
    w, ids = space_time_w(np.isfinite(v), d, steps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = G_Local(np.array([v[b] for b in ids]), w, transform="B", star=True, permutations=0)
    z, p, _ = gi_star_cube(v, neighbourhood=d, time_steps=steps, global_window="cube")
    np.testing.assert_allclose([z[b] for b in ids], ref.Zs, atol=1e-9)
    np.testing.assert_allclose([p[b] for b in ids], 2 * ref.p_norm, atol=1e-12)
    assert np.isnan(z[:, 0, 0]).all()


def test_time_window_compares_with_the_bins_of_the_window_only() -> None:
    rng = np.random.default_rng(4)
    v = rng.poisson(3, (6, 5, 5)).astype(float)
    z, _, _ = gi_star_cube(v, time_steps=2, global_window="time_window")
    for t in range(6):
        sub = v[max(0, t - 2) : t + 1]
        w, ids = space_time_w(np.isfinite(sub), 1, 2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = G_Local(
                np.array([sub[b] for b in ids]), w, transform="B", star=True, permutations=0
            )
        last = [i for i, b in enumerate(ids) if b[0] == sub.shape[0] - 1]
        np.testing.assert_allclose(z[t].ravel(), ref.Zs[last], atol=1e-9)


def test_per_period_without_time_steps_is_gi_star_of_each_period() -> None:
    v = np.random.default_rng(2).poisson(4, (4, 8, 8)).astype(float)
    v[:, :2, :2] = np.nan
    z, _, _ = gi_star_cube(v, time_steps=0, global_window="period")
    for t in range(4):
        np.testing.assert_allclose(z[t], gi_star(v[t], fdr=False).z, atol=1e-12, equal_nan=True)


# ---------------------------------------------------------------------------------------
# Mann-Kendall against pymannkendall


def test_mann_kendall_equals_pymannkendall_on_many_series_with_ties_and_nan() -> None:
    rng = np.random.default_rng(0)
    x = rng.poisson(2, (200, 24)).astype(float)
    x[:50] += np.arange(24) * 0.3  # some with a trend
    x[5, 3] = np.nan
    x[7] = 3.0  # constant: S = 0, p = 1
    x[9, :20] = np.nan  # four values left
    x[10, ::2] = np.nan
    res = mann_kendall(x)
    for i in range(200):
        ref = pymannkendall.original_test(x[i])
        got = (res.s[i], res.var_s[i], res.z[i], res.p[i], res.tau[i], res.slope[i])
        np.testing.assert_allclose(
            got, (ref.s, ref.var_s, ref.z, ref.p, ref.Tau, ref.slope), atol=1e-12, rtol=0
        )


def test_mann_kendall_of_the_gi_star_series_is_what_classifies() -> None:
    res = emerging_hotspots(block_cube("H" * 20, UP_HOT), time_steps=0, global_window="period")
    ref = pymannkendall.original_test(res.z[:, 4, 4], alpha=0.10)
    assert res.trend.s[CENTRE] == ref.s and ref.trend == "increasing"
    assert res.trend.p[CENTRE] == pytest.approx(ref.p, abs=1e-12)


def test_mann_kendall_along_another_axis_and_bad_input() -> None:
    x = np.random.default_rng(1).random((6, 3, 2))
    a = mann_kendall(x, axis=0)
    assert a.s.shape == (3, 2)
    assert a.s[1, 1] == pymannkendall.original_test(x[:, 1, 1]).s
    with pytest.raises(AnalysisError, match="empty"):
        mann_kendall([])
    one = mann_kendall([4.0])
    assert (float(one.s), float(one.z), float(one.p), float(one.tau)) == (0.0, 0.0, 1.0, 0.0)


# ---------------------------------------------------------------------------------------
# the cube


def test_space_time_cube_counts_per_cell_and_period_with_empty_periods_kept() -> None:
    t = pd.PeriodIndex(["2024-01", "2024-01", "2024-04", "2024-04", "2024-04"], freq="M")
    cube = space_time_cube(
        [5.0, 15.0, 15.0, 15.0, np.nan],
        [5.0, 5.0, 5.0, 5.0, 5.0],
        t,
        cell_size=10,
        bounds=(0, 0, 20, 10),
        crs=PLANE,
    )
    assert [str(p) for p in cube.periods] == ["2024-01", "2024-02", "2024-03", "2024-04"]
    assert cube.values[:, 0, :].tolist() == [[1, 1], [0, 0], [0, 0], [0, 2]]
    assert cube.params["n_events"] == 4 and cube.params["n_left_out_no_position"] == 1


def test_space_time_cube_explicit_periods_mask_and_events_outside() -> None:
    cube = space_time_cube(
        [5.0, 15.0, 15.0, 99.0],
        [5.0, 5.0, 5.0, 5.0],
        ["a", "b", "z", "a"],
        cell_size=10,
        bounds=(0, 0, 20, 10),
        periods=["a", "b"],
        mask=[[True, False]],
        crs=PLANE,
    )
    assert cube.periods == ("a", "b")
    assert cube.values[:, 0, 0].tolist() == [1, 0]
    assert np.isnan(cube.values[:, 0, 1]).all()
    assert cube.params["n_outside_periods"] == 1 and cube.params["n_outside_bounds"] == 1


def test_results_as_grids_and_a_cell_table() -> None:
    v = np.repeat(BASE[None], 12, axis=0)
    v[-1, 3:6, 3:6] = 30
    v[:, 0, :] = np.nan
    res = emerging_hotspots(SpaceTimeCube(v, tuple(range(12)), TRANSFORM))
    grids = res.grids()
    assert grids["category"].values[4, 4] == CODE["new hot spot"]
    assert np.isnan(grids["category"].values[0]).all()
    assert "1 = new hot spot" in grids["category"].params["classes"]
    table = res.to_frame()
    assert len(table) == 8 * 9 and table.crs.to_epsg() == 3006
    centre = table[(table.row == 4) & (table.col == 4)].iloc[0]
    assert centre.pattern == "new hot spot" and centre.geometry.area == pytest.approx(100 * 100)
    assert sum(res.counts().values()) == 72


# ---------------------------------------------------------------------------------------
# bad input


def test_a_cube_without_events_is_no_pattern_everywhere_with_a_note() -> None:
    cube = space_time_cube([], [], [], cell_size=100, bounds=(0, 0, 500, 500), periods=range(12))
    res = emerging_hotspots(cube)
    assert (res.category == 0).all() and np.isfinite(res.z).all()
    assert "no variation" in res.params["note"]


def test_a_period_without_events_is_not_a_hot_spot_period() -> None:
    v = np.repeat(BASE[None], 12, axis=0)
    v[4] = 0.0  # nothing happened anywhere that month
    res = emerging_hotspots(
        SpaceTimeCube(v, tuple(range(12)), TRANSFORM), time_steps=0, global_window="period"
    )
    assert not res.hot[4].any() and not res.cold[4].any()
    assert (res.z[4] == 0).all()


@pytest.mark.parametrize(
    ("values", "kwargs", "match"),
    [
        (np.zeros((1, 4, 4)), {}, "at least 2 periods"),
        (np.full((3, 2, 2), np.nan), {}, "no valid bin"),
        (np.zeros((3, 2, 2)), {"global_window": "year"}, "global_window"),
        (np.zeros((3, 2, 2)), {"time_steps": -1}, "time_steps"),
        (np.zeros((3, 2, 2)), {"alpha": 0}, "alpha"),
    ],
    ids=["one-period", "all-nan", "window", "steps", "alpha"],
)
def test_bad_cubes_and_parameters_raise_one_clear_error(values, kwargs, match) -> None:
    cube = SpaceTimeCube(values, tuple(range(values.shape[0])), TRANSFORM)
    with pytest.raises(AnalysisError, match=match):
        emerging_hotspots(cube, **kwargs)


def test_all_events_in_one_cell_and_a_single_cell_cube() -> None:
    v = np.zeros((12, 10, 10))
    v[:, 5, 5] = 20
    res = emerging_hotspots(SpaceTimeCube(v, tuple(range(12)), TRANSFORM))
    assert res.names[5, 5] == "persistent hot spot" and np.isfinite(res.z).all()
    single = emerging_hotspots(
        SpaceTimeCube(np.arange(12.0).reshape(12, 1, 1), tuple(range(12)), TRANSFORM)
    )
    assert np.isfinite(single.z).all() and single.category.shape == (1, 1)


def test_fewer_than_ten_periods_is_said() -> None:
    res = emerging_hotspots(block_cube("..HH"))
    assert "only 4 periods" in res.params["note"]


@pytest.mark.parametrize("module", ["emerging", "spacetime", "mann_kendall"])
def test_docstring_examples_run(module: str) -> None:
    import doctest
    import importlib

    mod = importlib.import_module(f"trygghetskarta.analysis.{module}")
    assert doctest.testmod(mod).failed == 0
