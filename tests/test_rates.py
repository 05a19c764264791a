"""Monthly rates, change against last year and the city, on tiny hand-written frames."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest, fisher_exact

from real_events import placed_police_events, real_areas
from trygghetskarta.analysis.rates import change_table, monthly_series, population_at
from trygghetskarta.analysis.schemes import scheme_mapping, to_2024_districts
from trygghetskarta.analysis.trends import UNKNOWN
from trygghetskarta.errors import AnalysisError, SchemaError

TZ = "Europe/Stockholm"

POP = pd.DataFrame(
    {
        "area": ["A", "A", "B", "B", "Stockholm", "Stockholm", "A"],
        "year": [2020, 2024, 2020, 2024, 2020, 2024, 2034],
        "population": [1_000, 2_000, 4_000, 4_000, 10_000, 12_000, 9_999],
        "forecast": [False, False, False, False, False, False, True],
    }
)


def events(rows: list[tuple[str, str | None, str]]) -> pd.DataFrame:
    """(local time, district, category) → an events frame with tz-aware ``occurred_at``."""
    times = pd.to_datetime([r[0] for r in rows], format="ISO8601").tz_localize(TZ)
    return pd.DataFrame(
        {
            "occurred_at": times,
            "stadsdelsomrade": [r[1] for r in rows],
            "category": [r[2] for r in rows],
        }
    )


def repeat(when: str, district: str | None, category: str, n: int) -> list[tuple]:
    return [(when, district, category)] * n


def row(frame: pd.DataFrame, **keys) -> pd.Series:
    hit = frame
    for k, v in keys.items():
        hit = hit[hit[k] == (pd.Timestamp(v) if k == "month" else v)]
    assert len(hit) == 1, hit
    return hit.iloc[0]


# ------------------------------------------------------------------ population


@pytest.mark.parametrize(
    ("method", "year", "expected"),
    [
        ("latest", 2019, math.nan),
        ("latest", 2020, 1_000.0),
        ("latest", 2023, 1_000.0),
        ("latest", 2030, 2_000.0),  # the 2034 forecast is never used
        ("interpolate", 2022, 1_500.0),
        ("interpolate", 2019, 1_000.0),
        ("interpolate", 2030, 2_000.0),
    ],
    ids=[
        "latest-before",
        "latest-on",
        "latest-between",
        "latest-after",
        "interp-between",
        "interp-before",
        "interp-after",
    ],
)
def test_population_at(method: str, year: int, expected: float) -> None:
    got = population_at(POP, ["A", "nowhere"], [year, year], method=method)
    np.testing.assert_allclose(got, [expected, math.nan], equal_nan=True)


def test_population_at_refuses_an_unknown_method() -> None:
    with pytest.raises(AnalysisError, match="latest"):
        population_at(POP, ["A"], [2024], method="mean")


# ------------------------------------------------------------------ monthly series


def test_monthly_series_counts_last_year_city_and_rates() -> None:
    ev = events(
        repeat("2023-03-10 12:00", "A", "violence", 2)
        + repeat("2023-03-11 12:00", "B", "violence", 4)
        + repeat("2024-03-05 12:00", "A", "violence", 5)
        + repeat("2024-03-06 12:00", "B", "violence", 3)
        + repeat("2024-03-07 12:00", None, "violence", 2)
    )
    got = monthly_series(ev, population=POP, start="2024-01", end="2024-03")
    a = row(got, month="2024-03-01", stadsdelsomrade="A", category="violence")
    assert (a["count"], a["count_prev_year"], a["change_pct"]) == (5, 2, 150.0)
    assert (a["city_count"], a["city_count_prev_year"]) == (10, 6)
    assert a["city_change_pct"] == pytest.approx(400 / 6)
    assert a["change_vs_city_pp"] == pytest.approx(150 - 400 / 6)
    assert a["population"] == 2_000 and a["rate_per_1000"] == pytest.approx(2.5)
    assert a["city_rate_per_1000"] == pytest.approx(10 / 12)
    assert a["rate_ratio_city"] == pytest.approx(2.5 / (10 / 12))
    unknown = row(got, month="2024-03-01", stadsdelsomrade=UNKNOWN, category="violence")
    assert unknown["count"] == 2 and math.isnan(unknown["rate_per_1000"])
    assert sorted(got["month"].unique()) == list(pd.date_range("2024-01-01", periods=3, freq="MS"))
    jan = row(got, month="2024-01-01", stadsdelsomrade="A", category="violence")
    assert jan["count"] == 0 and math.isnan(jan["count_prev_year"])  # before the first event
    covered = monthly_series(ev, start="2024-01", end="2024-03", data_start="2023-01")
    jan = row(covered, month="2024-01-01", stadsdelsomrade="A", category="violence")
    assert jan["count_prev_year"] == 0
    assert math.isnan(jan["change_pct"])  # nothing a year before: no percentage


def test_months_before_the_data_have_no_previous_year_not_zero() -> None:
    ev = events(
        repeat("2023-06-10 12:00", "A", "theft", 3)
        + repeat("2024-06-10 12:00", "A", "theft", 6)
        + repeat("2024-05-10 12:00", "A", "theft", 1)
    )
    got = monthly_series(ev)  # the data starts in June 2023
    may = row(got, month="2024-05-01", stadsdelsomrade="A", category="theft")
    june = row(got, month="2024-06-01", stadsdelsomrade="A", category="theft")
    assert math.isnan(may["count_prev_year"]) and math.isnan(may["city_count_prev_year"])
    assert (june["count_prev_year"], june["change_pct"]) == (3, 100.0)
    # with data_start the archive is declared complete from January 2023: May 2023 had 0
    declared = monthly_series(ev, data_start="2023-01-01")
    may = row(declared, month="2024-05-01", stadsdelsomrade="A", category="theft")
    assert may["count_prev_year"] == 0


def test_city_totals_are_the_sum_over_districts() -> None:
    rng = np.random.default_rng(1)
    days = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 730, 400), unit="D")
    ev = pd.DataFrame(
        {
            "occurred_at": days.tz_localize(TZ),
            "stadsdelsomrade": rng.choice(["A", "B", "C", None], 400),
            "category": rng.choice(["x", "y"], 400),
        }
    )
    got = monthly_series(ev)
    sums = got.groupby(["month", "category"])["count"].sum()
    city = got.groupby(["month", "category"])["city_count"].first()
    pd.testing.assert_series_equal(sums, city, check_names=False)
    assert got["count"].sum() == 400


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [({"by": ("category",)}, AnalysisError), ({"by": ("stadsdelsomrade", "layer")}, SchemaError)],
    ids=["district-not-in-by", "missing-column"],
)
def test_monthly_series_bad_grouping(kwargs: dict, error: type) -> None:
    with pytest.raises(error):
        monthly_series(events([("2024-01-01 10:00", "A", "x")]), **kwargs)


def test_monthly_series_of_no_events_is_empty_with_every_column() -> None:
    got = monthly_series(events([]), population=POP)
    assert got.empty
    assert {"count_prev_year", "city_count", "rate_per_1000", "rate_ratio_city"} <= set(got)


# ------------------------------------------------------------------ change table


def test_change_table_counts_tests_and_rates() -> None:
    ev = events(
        repeat("2023-05-01 12:00", "A", "v", 10)
        + repeat("2024-05-01 12:00", "A", "v", 20)
        + repeat("2023-05-02 12:00", "B", "v", 30)
        + repeat("2024-05-02 12:00", "B", "v", 30)
        + repeat("2022-05-02 12:00", "B", "v", 99)  # outside both periods
    )
    got = change_table(ev, start="2024-05-01", end="2024-06-01", population=POP)
    a = row(got, stadsdelsomrade="A", category="v")
    assert (a["count"], a["count_prev_year"], a["change_pct"]) == (20, 10, 100.0)
    assert (a["city_count"], a["city_count_prev_year"]) == (50, 40)
    assert a["city_change_pct"] == pytest.approx(25.0)
    assert a["change_vs_city_pp"] == pytest.approx(75.0)
    # May has 31 days in both years: the conditional test is binomial(30, 1/2)
    assert a["p_change"] == pytest.approx(binomtest(20, 30, 0.5).pvalue, rel=1e-12)
    assert a["p_change"] == pytest.approx(0.09874, abs=5e-6)  # R: poisson.test(c(20, 10))
    assert a["p_vs_city"] == pytest.approx(fisher_exact([[20, 10], [30, 30]]).pvalue)
    assert a["rate_per_1000"] == pytest.approx(20 / 2_000 * 1000)
    assert a["rate_ratio_city"] == pytest.approx((20 / 2_000) / (50 / 12_000))


def test_change_test_allows_for_a_leap_day() -> None:
    """February 2024 has 29 days, February 2023 28: 58 events against 56 is no change."""
    ev = events(repeat("2023-02-10 12:00", "A", "v", 56) + repeat("2024-02-10 12:00", "A", "v", 58))
    got = change_table(ev, start="2024-02-01", end="2024-03-01")
    assert got["p_change"].iloc[0] == pytest.approx(1.0)
    assert binomtest(58, 114, 0.5).pvalue < 0.93  # what a test of equal lengths would give


def test_change_table_refuses_an_empty_period() -> None:
    with pytest.raises(AnalysisError, match="after start"):
        change_table(events([("2024-01-01 10:00", "A", "x")]), start="2024-02-01", end="2024-02-01")


def test_docstring_examples_run() -> None:
    import doctest

    from trygghetskarta.analysis import rates

    assert doctest.testmod(rates).failed == 0


# ------------------------------------------------------------------ real data


@pytest.mark.realdata
def test_real_series_across_the_reform(shared_data) -> None:
    from trygghetskarta.areas import load_population

    ev = placed_police_events(shared_data).copy()
    areas = real_areas(shared_data)
    ev["district"] = to_2024_districts(ev["stadsdelsomrade"], scheme_mapping(areas.sdo_13))
    got = monthly_series(
        ev,
        population=load_population(shared_data),
        by=("district", "category"),
        district="district",
        data_start="2023-04-01",  # the archive is dense from 2023-03-25 (PROVENANCE.md)
    )
    assert (
        got["count"].sum()
        == (
            ev["occurred_at"].dt.tz_convert(TZ).dt.tz_localize(None) >= pd.Timestamp("2023-04-01")
        ).sum()
    )
    named = set(got["district"]) - {UNKNOWN}
    assert named == set(areas.sdo_11["name"])  # one scheme all through
    rated = got[got["district"] != UNKNOWN]
    assert rated["population"].notna().all()
    assert (rated["rate_per_1000"] >= 0).all()
    assert got.loc[got["month"] < "2024-04-01", "count_prev_year"].isna().all()
    assert got.loc[got["month"] >= "2024-04-01", "count_prev_year"].notna().all()
