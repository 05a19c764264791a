"""Seasonal baseline and the hour × weekday profile."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom, poisson

from real_events import placed_police_events
from trygghetskarta.analysis.rhythm import WEEKDAYS_SV, hour_weekday, seasonal_baseline
from trygghetskarta.analysis.trends import UNKNOWN, monthly_counts
from trygghetskarta.errors import AnalysisError, SchemaError

TZ = "Europe/Stockholm"


def monthly(counts: dict[str, list[int]], first: str = "2022-01-01") -> pd.DataFrame:
    """One series per district, consecutive months from ``first``."""
    frames = []
    for district, values in counts.items():
        months = pd.date_range(first, periods=len(values), freq="MS")
        frames.append(pd.DataFrame({"month": months, "d": district, "count": values}))
    return pd.concat(frames, ignore_index=True)


# ------------------------------------------------------------------ seasonal baseline


def test_baseline_is_the_mean_of_the_same_month_in_earlier_years() -> None:
    values = list(range(48))  # Jan 2022 … Dec 2025: count = months since Jan 2022
    got = seasonal_baseline(monthly({"A": values}), by="d", years=3, fdr=False)
    march_2025 = got[got["month"] == "2025-03-01"].iloc[0]
    assert march_2025["baseline"] == pytest.approx((2 + 14 + 26) / 3)
    assert march_2025["baseline_years"] == 3
    march_2024 = got[got["month"] == "2024-03-01"].iloc[0]
    assert (march_2024["baseline"], march_2024["baseline_years"]) == ((2 + 14) / 2, 2)
    first_year = got[got["month"] < "2023-01-01"]
    assert first_year["baseline"].isna().all() and not first_year["above_baseline"].any()
    assert (first_year["baseline_years"] == 0).all()


def test_years_limits_the_baseline_and_min_years_withholds_it() -> None:
    values = [10] * 12 + [20] * 12 + [30] * 12 + [40] * 12
    got = seasonal_baseline(monthly({"A": values}), by="d", years=1, min_years=1, fdr=False)
    assert got.loc[got["month"] == "2025-06-01", "baseline"].iloc[0] == 30
    strict = seasonal_baseline(monthly({"A": values}), by="d", min_years=2, fdr=False)
    assert strict.loc[strict["month"] == "2023-06-01", "baseline"].isna().all()
    assert strict.loc[strict["month"] == "2024-06-01", "baseline"].iloc[0] == 15


def test_conditional_and_poisson_p_values() -> None:
    got = seasonal_baseline(
        monthly({"A": [10, 12, 40]}, first="2023-03-01").assign(
            month=pd.to_datetime(["2023-03-01", "2024-03-01", "2025-03-01"])
        ),
        by="d",
        fdr=False,
    )
    last = got.iloc[2]
    assert last["baseline"] == 11 and last["ratio_to_baseline"] == pytest.approx(40 / 11)
    # 40 of 40 + 22 events, each earlier year one share of three
    assert last["p_value"] == pytest.approx(binom.sf(39, 62, 1 / 3), rel=1e-12)
    assert bool(last["above_baseline"])
    pois = seasonal_baseline(got[["month", "d", "count"]], by="d", test="poisson", fdr=False)
    assert pois.iloc[2]["p_value"] == pytest.approx(poisson.sf(39, 11), rel=1e-12)
    assert pois.iloc[2]["p_value"] < last["p_value"]  # the baseline taken as known


def test_a_jump_is_flagged_and_a_steady_series_is_not() -> None:
    steady = [10] * 36
    jump = [10] * 35 + [30]
    got = seasonal_baseline(monthly({"steady": steady, "jump": jump}), by="d")
    flagged = got[got["above_baseline"]]
    assert flagged[["d", "month"]].values.tolist() == [["jump", pd.Timestamp("2024-12-01")]]
    assert (got["q_value"].dropna() >= got["p_value"].dropna()).all()


def test_a_month_below_its_baseline_is_never_flagged() -> None:
    got = seasonal_baseline(monthly({"A": [50] * 24 + [0] * 12}), by="d", fdr=False)
    assert not got["above_baseline"].any()
    assert got["p_value"].iloc[-1] == pytest.approx(1.0)


def test_fdr_withholds_a_flag_that_one_test_would_give() -> None:
    series = {f"d{k}": [10] * 24 for k in range(40)}
    series["d0"] = [10] * 23 + [21]  # p ≈ 0.01 alone, not among 40 × 12 tests
    alone = seasonal_baseline(monthly(series), by="d", fdr=False)
    corrected = seasonal_baseline(monthly(series), by="d")
    assert alone["above_baseline"].sum() == 1
    assert corrected["above_baseline"].sum() == 0


def test_baseline_of_monthly_counts_output_with_unknown_districts() -> None:
    times = pd.to_datetime(["2023-05-02", "2024-05-03", "2024-05-04"]).tz_localize(TZ)
    ev = pd.DataFrame({"occurred_at": times, "stadsdelsomrade": [None, None, "A"]})
    counts = monthly_counts(ev, by="stadsdelsomrade")
    got = seasonal_baseline(counts, by="stadsdelsomrade")
    may = got[(got["month"] == "2024-05-01") & (got["stadsdelsomrade"] == UNKNOWN)].iloc[0]
    assert (may["baseline"], may["baseline_years"]) == (1.0, 1)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"years": 0}, "whole years"),
        ({"min_years": 1.5}, "whole years"),
        ({"test": "t"}, "conditional"),
    ],
    ids=["years", "min-years", "test"],
)
def test_baseline_bad_parameters(kwargs: dict, match: str) -> None:
    with pytest.raises(AnalysisError, match=match):
        seasonal_baseline(monthly({"A": [1, 2]}), by="d", **kwargs)


def test_baseline_needs_its_columns() -> None:
    with pytest.raises(SchemaError, match="count"):
        seasonal_baseline(pd.DataFrame({"month": [], "d": []}), by="d")


# ------------------------------------------------------------------ hour × weekday


def frame(times: list[str | None], tz: str = TZ, **columns) -> pd.DataFrame:
    stamps = pd.Series(pd.to_datetime(times, format="ISO8601")).dt.tz_localize(tz)
    return pd.DataFrame({"occurred_at": stamps, **columns})


def test_profile_is_monday_first_in_local_time() -> None:
    ev = frame(
        [
            "2024-06-03 20:30",  # Monday 22:30 local (UTC+2 in summer)
            "2024-06-09 06:00",  # Sunday 08:00 local
            "2024-03-31 01:30",  # 01:30 UTC on the spring-forward night = Sunday 03:30 local
            "2024-10-26 23:30",  # 23:30 UTC Saturday = Sunday 01:30 local (still summer time)
        ],
        tz="UTC",
    )
    prof = hour_weekday(ev)
    m = prof.matrix()
    assert m.shape == (7, 24) and m.sum() == 4
    assert (m[0, 22], m[6, 8]) == (1, 1)
    assert m[6, 3] == 1 and m[6, 1] == 1
    assert prof.to_frame().index.tolist() == list(WEEKDAYS_SV)


def test_profile_in_local_input() -> None:
    prof = hour_weekday(frame(["2024-06-03 22:30", "2024-06-09 08:00", "2024-01-05 00:10"]))
    m = prof.matrix()
    assert (m[0, 22], m[6, 8], m[4, 0]) == (1, 1, 1)


def test_unknown_times_are_left_out_and_counted() -> None:
    ev = frame(["2024-06-03 22:30", None, "2024-06-04 00:00"], known=[True, True, False])
    prof = hour_weekday(ev, time_known="known")
    assert (prof.n_events, prof.n_unknown_time) == (1, 2)
    assert hour_weekday(ev).n_unknown_time == 1


def test_grouped_profiles_sum_to_the_whole() -> None:
    ev = frame(
        ["2024-06-03 22:30", "2024-06-03 22:45", "2024-06-04 10:00", None],
        district=["A", "B", None, "A"],
    )
    prof = hour_weekday(ev, by="district")
    assert len(prof.counts) == 3 * 168
    assert prof.matrix(district="A")[0, 22] == 1
    assert prof.matrix(district=UNKNOWN)[1, 10] == 1
    np.testing.assert_array_equal(
        prof.matrix(), hour_weekday(ev).matrix()
    )  # no group given: the sum
    assert prof.unknown.set_index("district")["n_unknown_time"].to_dict() == {
        "A": 1,
        "B": 0,
        UNKNOWN: 0,
    }
    with pytest.raises(AnalysisError, match="groups among"):
        prof.matrix(category="x")


def test_profile_of_no_events_is_all_zero() -> None:
    prof = hour_weekday(frame([]))
    assert prof.matrix().sum() == 0 and prof.n_unknown_time == 0


def test_profile_needs_aware_times() -> None:
    naive = pd.DataFrame({"occurred_at": pd.to_datetime(["2024-01-01 10:00"])})
    with pytest.raises(SchemaError, match="timezone-aware"):
        hour_weekday(naive)


def test_docstring_examples_run() -> None:
    import doctest

    from trygghetskarta.analysis import rhythm

    assert doctest.testmod(rhythm).failed == 0


# ------------------------------------------------------------------ real data


@pytest.mark.realdata
def test_real_profile_and_baseline(shared_data) -> None:
    ev = placed_police_events(shared_data)
    prof = hour_weekday(ev, by="category")
    assert prof.n_events + prof.n_unknown_time == len(ev)
    m = prof.matrix()
    night, evening = m[:, 3:6].sum(), m[:, 18:21].sum()
    assert evening > night  # police events follow the day
    counts = monthly_counts(ev[ev["occurred_at"] >= pd.Timestamp("2023-04-01", tz=TZ)], by=())
    got = seasonal_baseline(counts, by=())
    assert got["baseline"].notna().sum() == len(counts) - 12
    assert got["p_value"].dropna().between(0, 1).all()
    assert not math.isnan(got["baseline"].iloc[-1])
