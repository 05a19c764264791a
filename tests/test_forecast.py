"""analysis.forecast: counts before the origin only, the baselines' reference values, the
model and its intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trygghetskarta.analysis import cell_units, count_history, forecast, forecast_all
from trygghetskarta.analysis.forecast import METHODS
from trygghetskarta.errors import AnalysisError

TZ = "Europe/Stockholm"


def _events(counts: dict[str, list[int]], first: str = "2023-01-01") -> pd.DataFrame:
    """Events on the 10th of each month: ``counts[unit][k]`` events in month ``k``."""
    rows = []
    months = pd.date_range(first, periods=len(next(iter(counts.values()))), freq="MS", tz=TZ)
    for unit, per_month in counts.items():
        for month, n in zip(months, per_month, strict=True):
            rows += [(month + pd.Timedelta(days=9, hours=12), unit)] * n
    return pd.DataFrame(rows, columns=["occurred_at", "stadsdel"])


#: 24 months of two units: A has 1..24 events (month k has k), B has 2 in January, else 0.
HAND = {"A": list(range(1, 25)), "B": [2 if k % 12 == 0 else 0 for k in range(24)]}


@pytest.mark.parametrize(
    ("method", "expected_a", "expected_b"),
    [
        ("previous_period", 24.0, 0.0),
        ("previous_12_months", np.mean(range(13, 25)), 2 / 12),
        ("long_term_mean", np.mean(range(1, 25)), 4 / 24),
        ("seasonal_naive", 13.0, 2.0),  # January 2024: the origin's period a year before
    ],
    ids=["previous-period", "previous-12-months", "long-term-mean", "seasonal-naive"],
)
def test_the_baselines_give_their_hand_computed_values(method, expected_a, expected_b):
    # The history starts on the given first day of complete data (by default the first
    # whole period after the first event, which would drop January 2023 here).
    table = forecast(
        _events(HAND), origin="2025-01-01", method=method, start="2023-01-01"
    ).set_index("unit")
    assert table.loc["A", "expected"] == pytest.approx(expected_a)
    assert table.loc["B", "expected"] == pytest.approx(expected_b)
    assert table["method"].eq(method).all()
    assert str(table["period_start"].iloc[0]) == "2025-01-01"
    assert str(table["period_end"].iloc[0]) == "2025-01-31"


@pytest.mark.parametrize("method", METHODS, ids=list(METHODS))
def test_events_at_or_after_the_origin_change_nothing(method):
    rng = np.random.default_rng(3)
    base = _events(
        {u: list(rng.poisson(lam, 30)) for u, lam in zip("ABCD", (1, 3, 6, 9), strict=True)}
    )
    origin = pd.Timestamp("2025-07-01", tz=TZ)
    later = pd.DataFrame(
        {
            "occurred_at": [origin, origin, origin + pd.Timedelta(days=40), origin.normalize()]
            + [origin + pd.Timedelta(hours=h) for h in range(0, 500, 7)],
            "stadsdel": ["A", "D", "B", "C"] + ["A"] * len(range(0, 500, 7)),
        }
    )
    neighbours = {"A": ["B"], "B": ["A", "C"], "C": ["B", "D"], "D": ["C"]}
    kw = dict(origin="2025-07-01", method=method, neighbours=neighbours, units=list("ABCD"))
    alone = forecast(base, **kw)
    more = forecast(pd.concat([base, later], ignore_index=True), **kw)
    pd.testing.assert_frame_equal(alone, more)


def test_an_event_a_second_before_the_origin_counts():
    base = _events(HAND)
    just = pd.DataFrame(
        {
            "occurred_at": [pd.Timestamp("2025-01-01", tz=TZ) - pd.Timedelta(seconds=1)],
            "stadsdel": ["B"],
        }
    )
    table = forecast(
        pd.concat([base, just], ignore_index=True), origin="2025-01-01", method="previous_period"
    )
    assert table.set_index("unit").loc["B", "expected"] == 1.0


@pytest.mark.parametrize(
    ("horizon", "period_end", "periods"),
    [("week", "2025-01-07", 156), ("month", "2025-01-31", 36), ("quarter", "2025-03-31", 12)],
    ids=["week", "month", "quarter"],
)
def test_horizons_count_whole_periods_back_from_the_origin(horizon, period_end, periods):
    events = _events({"A": [1, 2, 3] * 12, "B": [0, 0, 1] * 12}, first="2022-01-01")
    history = count_history(events, origin="2025-01-01", horizon=horizon, start="2022-01-01")
    assert history.counts.shape == (2, periods)
    assert history.counts.sum() == 84  # every event, none twice
    table = forecast(events, origin="2025-01-01", horizon=horizon, method="long_term_mean")
    assert str(table["period_end"].iloc[0]) == period_end


def test_units_without_events_are_forecast_zero_and_unknown_names_are_left_out():
    events = pd.concat(
        [
            _events(HAND),
            pd.DataFrame({"occurred_at": [pd.Timestamp("2024-05-05", tz=TZ)], "stadsdel": [None]}),
        ]
    )
    table = forecast(
        events, origin="2025-01-01", units=["A", "B", "C"], method="long_term_mean"
    ).set_index("unit")
    assert table.loc["C", "expected"] == 0.0
    assert list(table.index) == ["A", "B", "C"]


def _poisson_panel(rates: np.ndarray, months: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    counts = {f"u{i:02d}": list(rng.poisson(r, months)) for i, r in enumerate(rates)}
    return _events(counts, first="2021-01-01")


def test_the_model_recovers_stable_rates_and_its_intervals_cover_them():
    rates = np.linspace(0.5, 12, 40)
    events = _poisson_panel(rates, 48, seed=7)
    history = count_history(events, origin="2025-01-01", units=[f"u{i:02d}" for i in range(40)])
    table = forecast_all(history, methods=["poisson_glm", "long_term_mean"])
    glm = table[table["method"] == "poisson_glm"]["expected"].to_numpy()
    # The pooled model's error stays near the long-term mean's (the best estimate of a
    # stable rate): within 20 % of the truth on average.
    assert np.mean(np.abs(glm - rates) / rates) < 0.2
    rng = np.random.default_rng(11)
    draws = rng.poisson(rates, size=(2000, len(rates)))
    rows = table[table["method"] == "poisson_glm"]
    inside = (draws >= rows["lower"].to_numpy()) & (draws <= rows["upper"].to_numpy())
    assert 0.85 <= inside.mean() <= 0.99  # 90 % intervals of discrete counts


def test_the_intervals_widen_with_over_dispersion():
    rng = np.random.default_rng(5)
    rates = np.full(30, 5.0)
    poisson = _events({f"u{i}": list(rng.poisson(5, 36)) for i in range(30)}, first="2022-01-01")
    spread = rng.gamma(1.0, 5.0, size=(30, 36))  # negative binomial with alpha = 1
    nb = _events({f"u{i}": list(rng.poisson(spread[i])) for i in range(30)}, first="2022-01-01")
    width = {}
    for name, events in (("poisson", poisson), ("nb", nb)):
        table = forecast(events, origin="2025-01-01", method="long_term_mean")
        width[name] = float((table["upper"] - table["lower"]).mean())
    assert rates.mean() == 5.0
    assert width["nb"] > 1.5 * width["poisson"]


def test_cells_refuse_events_placed_at_area_level():
    events = pd.DataFrame(
        {
            "x": [674_000.0, 674_100.0],
            "y": [6_580_000.0, 6_580_100.0],
            "precision": ["address", "stadsdel"],
        }
    )
    with pytest.raises(AnalysisError, match=r"1 of 2 placed coarser \({'stadsdel': 1}\)"):
        cell_units(events)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"horizon": "year"}, "horizon must be one of"),
        ({"origin": "2023-06-01"}, "needs at least 18 whole periods"),
        ({"method": "oracle"}, "unknown methods"),
        ({"level": 1.5}, "level must be between 0 and 1"),
        ({"origin": "not a date"}, "origin must be a date"),
    ],
    ids=["horizon", "short-history", "method", "level", "origin"],
)
def test_bad_arguments_say_what_was_expected(kwargs, message):
    arguments = {"origin": "2025-01-01"} | kwargs
    with pytest.raises(AnalysisError, match=message):
        forecast(_events(HAND), **arguments)
