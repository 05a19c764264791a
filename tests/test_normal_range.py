"""analysis.normal_range: prediction intervals from earlier years, against references."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from trygghetskarta import analysis
from trygghetskarta.errors import AnalysisError


@pytest.mark.parametrize(
    "earlier",
    [[20, 24, 22], [0, 0], [3, 9, 5, 4], [150, 180]],
    ids=["three-years", "zeros", "four-small", "two-large"],
)
def test_count_interval_is_the_poisson_gamma_predictive(earlier: list[int]) -> None:
    iv = analysis.count_interval(earlier, level=0.9)
    k, s = len(earlier), sum(earlier)
    # Reference: the mixture of Poissons over Gamma(s + 1/2, rate k), by Monte Carlo.
    rng = np.random.default_rng(7)
    draws = rng.poisson(rng.gamma(s + 0.5, 1.0 / k, size=400_000))
    lo, hi = np.quantile(draws, [0.05, 0.95], method="inverted_cdf")
    assert (iv.lower, iv.upper) == (float(lo), float(hi))
    assert iv.expected == pytest.approx((s + 0.5) / k)
    assert iv.method == "poisson-gamma" and iv.years == k


def test_count_interval_is_wider_than_a_poisson_around_the_mean() -> None:
    iv = analysis.count_interval([20, 24, 22])
    lo, hi = stats.poisson.ppf([0.025, 0.975], 22)
    assert iv.lower <= lo and iv.upper > hi
    assert (iv.lower, iv.upper) == (12.0, 34.0)


@pytest.mark.parametrize(
    ("value", "position"),
    [(11, "under"), (12, "inom"), (34, "inom"), (35, "över")],
    ids=["below", "lower-end", "upper-end", "above"],
)
def test_position_includes_both_ends(value: int, position: str) -> None:
    assert analysis.count_interval([20, 24, 22]).position(value) == position


@pytest.mark.parametrize(
    ("earlier", "min_years"),
    [([5], 2), ([], 1), ([4, float("nan")], 2)],
    ids=["one", "none", "nan"],
)
def test_too_few_years_give_no_interval(earlier: list[float], min_years: int) -> None:
    iv = analysis.count_interval(earlier, min_years=min_years)
    assert not iv.known and iv.position(3) is None and math.isnan(iv.upper)


def test_rate_interval_is_the_normal_prediction_interval() -> None:
    rates = [29404.0, 25641.0, 27138.0]
    iv = analysis.rate_interval(rates, level=0.95)
    mean, sd = np.mean(rates), np.std(rates, ddof=1)
    half = 4.302652729911275 * sd * math.sqrt(1 + 1 / 3)  # t(0.975, 2)
    assert iv.lower == pytest.approx(mean - half) and iv.upper == pytest.approx(mean + half)
    assert iv.position(23497) == "inom"
    assert not analysis.rate_interval(rates[:2]).known  # three years by default


@pytest.mark.parametrize("level", [0, 1, 1.5], ids=["zero", "one", "above-one"])
def test_a_level_outside_zero_one_is_refused(level: float) -> None:
    with pytest.raises(AnalysisError, match="level between 0 and 1"):
        analysis.count_interval([1, 2], level=level)


def test_negative_counts_are_refused() -> None:
    with pytest.raises(AnalysisError, match="counts >= 0"):
        analysis.count_interval([3, -1])


def test_seasonal_range_takes_the_same_month_of_earlier_years() -> None:
    months = pd.to_datetime(["2022-03-01", "2023-03-01", "2024-03-01", "2025-03-01", "2025-04-01"])
    frame = pd.DataFrame({"month": months, "category": "vald", "count": [20, 24, 22, 60, 1]})
    out = analysis.seasonal_range(frame, by="category")
    assert out["range_years"].tolist() == [0, 1, 2, 3, 0]
    last = out.iloc[3]
    assert (last["lower"], last["upper"], last["position"]) == (12.0, 34.0, "över")
    assert out["position"].iloc[4] is None  # April has no earlier year
    assert out.iloc[2]["upper"] == analysis.count_interval([24, 20]).upper


def test_seasonal_range_keeps_groups_apart() -> None:
    months = pd.to_datetime(["2023-05-01", "2024-05-01", "2025-05-01"] * 2)
    frame = pd.DataFrame(
        {"month": months, "d": ["A"] * 3 + ["B"] * 3, "count": [5, 5, 5, 50, 50, 50]}
    )
    out = analysis.seasonal_range(frame, by="d")
    assert out["expected"].iloc[2] == pytest.approx(10.5 / 2)
    assert out["expected"].iloc[5] == pytest.approx(100.5 / 2)
    assert out["position"].tolist()[2::3] == ["inom", "inom"]


def test_seasonal_range_refuses_repeated_months() -> None:
    months = pd.to_datetime(["2024-05-01", "2024-05-01"])
    frame = pd.DataFrame({"month": months, "d": ["A", "B"], "count": [1, 2]})
    with pytest.raises(AnalysisError, match="one row per month and group"):
        analysis.seasonal_range(frame)
    assert len(analysis.seasonal_range(frame, by="d")) == 2
