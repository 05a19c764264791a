"""analysis.evaluate: the area rule of hit rate, PAI and PEI, and the rolling-origin back-test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trygghetskarta.analysis import backtest, capture, rolling_origins
from trygghetskarta.errors import AnalysisError

TZ = "Europe/Stockholm"


@pytest.mark.parametrize(
    ("expected", "actual", "area", "share", "hits"),
    [
        # Equal areas: the top unit of four is 25 % of the area.
        ([3, 2, 1, 0], [5, 1, 1, 1], [1, 1, 1, 1], 0.25, 5.0),
        # Half of the second unit: its events count in proportion.
        ([3, 2, 1, 0], [5, 2, 1, 1], [1, 1, 1, 1], 0.375, 6.0),
        # Ranked per km²: a big unit with more expected events is less dense.
        ([10, 4], [7, 3], [10, 1], 1 / 11, 3.0),
        # A tie: both units are taken as a block in proportion to their area.
        ([1, 1, 0], [4, 0, 2], [1, 1, 2], 0.25, 2.0),
        # Everything.
        ([1, 2, 3], [1, 2, 3], [1, 1, 1], 1.0, 6.0),
    ],
    ids=["top-unit", "fractional-last", "per-km2", "tie-block", "whole-area"],
)
def test_capture_follows_the_stated_area_rule(expected, actual, area, share, hits):
    assert capture(np.array(expected), np.array(actual), np.array(area), share) == pytest.approx(
        hits
    )


@pytest.mark.parametrize(
    ("share", "area", "message"),
    [(0.0, [1, 1], "share must be in"), (0.1, [1, 0], "positive area")],
    ids=["share", "area"],
)
def test_capture_refuses_bad_inputs(share, area, message):
    with pytest.raises(AnalysisError, match=message):
        capture(np.array([1, 2]), np.array([1, 2]), np.array(area), share)


def _panel(rates: np.ndarray, months: int, seed: int, noise: float = 0.0) -> pd.DataFrame:
    """Events of units with stable rates (``noise``: gamma spread per month, NB)."""
    rng = np.random.default_rng(seed)
    starts = pd.date_range("2021-01-01", periods=months, freq="MS", tz=TZ)
    rows = []
    for i, rate in enumerate(rates):
        mu = rate * (rng.gamma(1 / noise, noise, months) if noise else np.ones(months))
        for month, n in zip(starts, rng.poisson(mu), strict=True):
            rows += [(month + pd.Timedelta(days=14), f"u{i:02d}")] * int(n)
    return pd.DataFrame(rows, columns=["occurred_at", "stadsdel"])


@pytest.fixture(scope="module")
def stable():
    """40 units with stable, unequal rates, on units of unequal size, 12 origins."""
    rates = np.geomspace(0.2, 15, 40)
    areas = pd.Series(np.linspace(0.5, 4, 40)[::-1], index=[f"u{i:02d}" for i in range(40)])
    events = _panel(rates, 48, seed=1)
    result = backtest(
        events,
        areas_km2=areas,
        origins=rolling_origins("2024-01-01", "2024-12-01"),
        start="2021-01-01",
        n_boot=500,
    )
    return result, rates, areas


def test_on_stable_rates_long_memory_beats_short_memory(stable):
    result, _, _ = stable
    table = result.table[result.table["coverage"] == 0.05].set_index("method")
    assert table.loc["long_term_mean", "pai"] > table.loc["previous_period", "pai"]
    assert table.loc["previous_period", "ratio_high"] < 1.0  # reliably worse than the best
    assert table.loc["hindsight", "pei"] == 1.0
    assert (table.drop(index="hindsight")["pei"] <= 1.0).all()
    assert table["best_baseline"].nunique() == 1


def test_the_best_baseline_has_ratio_one_and_a_degenerate_interval(stable):
    result, _, _ = stable
    for coverage, rows in result.table.groupby("coverage"):
        best = rows["best_baseline"].iloc[0]
        row = rows.set_index("method").loc[best]
        assert (row["ratio"], row["ratio_low"], row["ratio_high"]) == (1.0, 1.0, 1.0), coverage


def test_pai_is_hit_rate_over_area_share(stable):
    result, _, _ = stable
    table = result.table
    assert np.allclose(table["pai"], table["hit_rate"] / table["coverage"])


def test_interval_coverage_is_near_the_nominal_90_percent(stable):
    result, _, _ = stable
    coverage = result.table.groupby("method")["interval_coverage"].first()
    assert 0.85 <= coverage["long_term_mean"] <= 0.99
    assert 0.85 <= coverage["poisson_glm"] <= 0.99


def test_a_method_equal_to_the_baseline_does_not_beat_it(stable):
    result, _, _ = stable
    at = result.table[result.table["coverage"] == 0.023]
    verdict = result.verdict(at["best_baseline"].iloc[0])
    assert verdict["beats"] is False
    assert verdict["ratio"] == 1.0


def test_the_verdict_names_the_best_method_and_its_figures(stable):
    result, _, _ = stable
    verdict = result.verdict()
    assert verdict["method"] == result.best_method()
    assert verdict["origins"] == 12
    assert verdict["ratio_low"] <= verdict["ratio"] <= verdict["ratio_high"]


def test_a_model_that_uses_a_real_signal_beats_counting():
    """Units whose rates grow or shrink steadily (growth ~ N(0, 0.7) a year): the last
    month is noisy, the last year lags, the long-term mean is stale; the model blends
    recent and yearly counts and ranks the units better, with an interval above 1."""
    rng = np.random.default_rng(4)
    starts = pd.date_range("2021-01-01", periods=48, freq="MS", tz=TZ)
    rows = []
    for i in range(60):
        level, growth = rng.uniform(1, 4), rng.normal(0, 0.7)
        for k, month in enumerate(starts):
            n = rng.poisson(level * np.exp(growth * (k - 24) / 12))
            rows += [(month + pd.Timedelta(days=3), f"u{i:02d}")] * int(n)
    events = pd.DataFrame(rows, columns=["occurred_at", "stadsdel"])
    areas = pd.Series(1.0, index=[f"u{i:02d}" for i in range(60)])
    result = backtest(
        events,
        areas_km2=areas,
        origins=rolling_origins("2023-01-01", "2024-12-01"),
        start="2021-01-01",
        n_boot=500,
    )
    verdict = result.verdict("poisson_glm")
    assert verdict["baseline"] == "previous_12_months"
    assert verdict["ratio"] > 1.05
    assert verdict["ratio_low"] > 1.0
    assert verdict["beats"] is True
    assert result.best_method() == "poisson_glm"


def test_the_back_test_needs_origins_and_a_baseline():
    events = _panel(np.array([1.0, 2.0]), 30, seed=0)
    areas = pd.Series(1.0, index=["u00", "u01"])
    with pytest.raises(AnalysisError, match="at least one origin"):
        backtest(events, areas_km2=areas, origins=[])
    with pytest.raises(AnalysisError, match="needs a baseline"):
        backtest(events, areas_km2=areas, origins=["2023-01-01"], methods=["poisson_glm"])
