"""Reporting periods in whole Stockholm months."""

from __future__ import annotations

import pandas as pd
import pytest

from trygghetskarta.errors import ConfigError
from trygghetskarta.periods import Period, default_period

TZ = "Europe/Stockholm"


def test_months_cover_whole_months_in_stockholm_time():
    p = Period.months("2025-01", "2025-12")
    assert p.start == pd.Timestamp("2025-01-01", tz=TZ)
    assert p.end == pd.Timestamp("2026-01-01", tz=TZ)
    assert (p.label, p.slug) == ("jan 2025 – dec 2025", "2025-01_2025-12")


def test_year_before_is_the_same_months():
    p = Period.months("2024-03", "2025-02").year_before()
    assert (p.start, p.end) == (
        pd.Timestamp("2023-03-01", tz=TZ),
        pd.Timestamp("2024-03-01", tz=TZ),
    )


def test_contains_is_half_open():
    p = Period.months("2025-01", "2025-01")
    times = pd.Series(pd.to_datetime(["2024-12-31 23:59", "2025-01-01 00:00", "2025-02-01 00:00"]))
    assert p.contains(times.dt.tz_localize(TZ)).tolist() == [False, True, False]


def test_default_period_is_the_last_twelve_months_up_to_the_latest_event():
    times = pd.Series(pd.to_datetime(["2023-05-02 00:00", "2025-06-30 23:30"]).tz_localize(TZ))
    p = default_period(times)
    assert (p.label, p.slug) == ("jul 2024 – jun 2025", "2024-07_2025-06")


def test_a_late_evening_event_counts_in_its_local_month():
    # 2025-06-30 22:30 UTC is 1 July 00:30 in Stockholm.
    times = pd.Series([pd.Timestamp("2025-06-30 22:30", tz="UTC")])
    assert default_period(times, months=1).slug == "2025-07_2025-07"


@pytest.mark.parametrize(
    ("start", "end"),
    [
        pytest.param(pd.Timestamp("2025-01-01"), pd.Timestamp("2025-02-01"), id="naive"),
        pytest.param(
            pd.Timestamp("2025-02-01", tz=TZ), pd.Timestamp("2025-01-01", tz=TZ), id="reversed"
        ),
    ],
)
def test_bad_periods_are_refused(start, end):
    with pytest.raises(ConfigError):
        Period(start, end)


def test_no_event_times_is_one_clear_error():
    with pytest.raises(ConfigError, match="no event has a time"):
        default_period(pd.Series([], dtype="datetime64[ns, Europe/Stockholm]"))
