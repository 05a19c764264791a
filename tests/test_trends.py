"""Monthly counts and period summaries on tiny hand-written event frames."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from trygghetskarta.analysis.trends import UNKNOWN, monthly_counts, period_summary
from trygghetskarta.errors import AnalysisError, SchemaError

TZ = "Europe/Stockholm"


def events(rows: list[tuple[str, str | None, str]], tz: str = TZ) -> pd.DataFrame:
    """(local time, district, category) → an events frame with tz-aware ``occurred_at``."""
    times = pd.to_datetime([r[0] for r in rows], format="ISO8601").tz_localize(tz)
    return pd.DataFrame(
        {
            "occurred_at": times,
            "stadsdelsomrade": [r[1] for r in rows],
            "category": [r[2] for r in rows],
        }
    )


def as_dict(frame: pd.DataFrame, *cols: str) -> dict[tuple, int]:
    """``{(key values...): count}``, months as ISO dates."""
    out = {}
    for row in frame.itertuples(index=False):
        values = row._asdict()
        key = tuple(values[c] for c in cols)
        key = tuple(str(v.date()) if isinstance(v, pd.Timestamp) else v for v in key)
        out[key] = out.get(key, 0) + int(values["count"])
    return out


def test_monthly_counts_fill_missing_months_with_zero() -> None:
    ev = events(
        [
            ("2024-01-03 10:00", "Farsta", "violence"),
            ("2024-01-20 22:00", "Farsta", "violence"),
            ("2024-04-01 00:30", "Farsta", "violence"),
        ]
    )
    got = monthly_counts(ev, by="stadsdelsomrade")
    assert list(got.columns) == ["month", "stadsdelsomrade", "count"]
    assert as_dict(got, "month", "stadsdelsomrade") == {
        ("2024-01-01", "Farsta"): 2,
        ("2024-02-01", "Farsta"): 0,
        ("2024-03-01", "Farsta"): 0,
        ("2024-04-01", "Farsta"): 1,
    }
    assert got["month"].dt.tz is None
    assert got["count"].dtype == "int64"


def test_every_combination_of_groups_and_months_has_a_row() -> None:
    ev = events(
        [
            ("2024-01-03", "Farsta", "violence"),
            ("2024-02-03", "Skärholmen", "fire"),
        ]
    )
    got = monthly_counts(ev)
    assert len(got) == 2 * 2 * 2  # months × districts × categories
    assert got["count"].sum() == 2
    row = got[(got["stadsdelsomrade"] == "Skärholmen") & (got["category"] == "violence")]
    assert row["count"].tolist() == [0, 0]


@pytest.mark.parametrize(
    ("utc_time", "month"),
    [
        pytest.param("2024-01-31 22:30", "2024-01-01", id="23:30-local-stays-in-january"),
        pytest.param("2024-01-31 23:30", "2024-02-01", id="00:30-local-is-february"),
        pytest.param("2024-06-30 22:30", "2024-07-01", id="summer-time-00:30-is-july"),
    ],
)
def test_months_are_stockholm_calendar_months(utc_time: str, month: str) -> None:
    ev = events([(utc_time, "Farsta", "fire")], tz="UTC")
    got = monthly_counts(ev, by=())
    assert as_dict(got, "month") == {(month,): 1}


def test_events_without_district_are_kept_as_unknown() -> None:
    ev = events([("2024-01-03", None, "fire"), ("2024-01-04", "Farsta", "fire")])
    got = monthly_counts(ev, by="stadsdelsomrade")
    assert as_dict(got, "stadsdelsomrade") == {(UNKNOWN,): 1, ("Farsta",): 1}
    assert UNKNOWN == "okänt"


def test_explicit_period_pads_and_cuts() -> None:
    ev = events([("2023-12-24", "Farsta", "fire"), ("2024-02-10", "Farsta", "fire")])
    got = monthly_counts(ev, by="stadsdelsomrade", start="2024-01-15", end="2024-04-02")
    assert as_dict(got, "month", "stadsdelsomrade") == {
        ("2024-01-01", "Farsta"): 0,
        ("2024-02-01", "Farsta"): 1,
        ("2024-03-01", "Farsta"): 0,
        ("2024-04-01", "Farsta"): 0,
    }


def test_empty_frame_gives_empty_counts() -> None:
    got = monthly_counts(events([]))
    assert got.empty
    assert list(got.columns) == ["month", "stadsdelsomrade", "category", "count"]


def test_events_without_time_are_left_out_with_a_warning() -> None:
    ev = events([("2024-01-03", "Farsta", "fire"), ("2024-01-04", "Farsta", "fire")])
    ev.loc[1, "occurred_at"] = pd.NaT
    with pytest.warns(UserWarning, match="1 events without occurred_at"):
        got = monthly_counts(ev, by=())
    assert got["count"].tolist() == [1]


@pytest.mark.parametrize(
    ("frame", "error", "message"),
    [
        pytest.param(
            pd.DataFrame(
                {
                    "occurred_at": pd.to_datetime(["2024-01-01"]),
                    "stadsdelsomrade": ["A"],
                    "category": ["x"],
                }
            ),
            SchemaError,
            "timezone-aware",
            id="naive-times",
        ),
        pytest.param(
            pd.DataFrame({"occurred_at": pd.to_datetime(["2024-01-01"]).tz_localize(TZ)}),
            SchemaError,
            "lacks the columns",
            id="missing-column",
        ),
    ],
)
def test_monthly_counts_refuse_bad_frames(frame: pd.DataFrame, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        monthly_counts(frame)


def test_monthly_counts_refuse_end_before_start() -> None:
    ev = events([("2024-01-03", "Farsta", "fire")])
    with pytest.raises(AnalysisError, match="before start"):
        monthly_counts(ev, start="2024-05-01", end="2024-01-01")


# --- period summary -------------------------------------------------------------------

SUMMARY_EVENTS = [
    # 2024 (the period)
    ("2024-02-01", "Farsta", "fire"),
    ("2024-03-01", "Farsta", "fire"),
    ("2024-03-02", "Farsta", "fire"),
    ("2024-12-31 23:59", "Skärholmen", "fire"),
    ("2024-06-01", None, "fire"),
    # 2023 (the year before)
    ("2023-05-01", "Farsta", "fire"),
    ("2023-06-01", "Farsta", "fire"),
    ("2023-06-01", "Skärholmen", "fire"),
    ("2023-06-02", "Skärholmen", "fire"),
    # outside both
    ("2025-01-01 00:00", "Skärholmen", "fire"),
    ("2022-12-31 23:00", "Älvsjö", "fire"),
]


def test_period_summary_compares_with_the_year_before() -> None:
    got = period_summary(events(SUMMARY_EVENTS), start="2024-01-01", end="2025-01-01")
    rows = got.set_index("stadsdelsomrade")
    assert rows["count"].to_dict() == {"Farsta": 3, "Skärholmen": 1, "Älvsjö": 0, UNKNOWN: 1}
    assert rows["count_prev_year"].to_dict() == {
        "Farsta": 2,
        "Skärholmen": 2,
        "Älvsjö": 0,
        UNKNOWN: 0,
    }
    assert rows.loc["Farsta", "change_pct"] == pytest.approx(50.0)
    assert rows.loc["Skärholmen", "change_pct"] == pytest.approx(-50.0)
    assert math.isnan(rows.loc[UNKNOWN, "change_pct"])
    assert "rate_per_1000" not in got.columns


def test_period_summary_rates_use_the_latest_population_not_after_the_period() -> None:
    population = pd.DataFrame(
        {
            "area": ["Farsta", "Farsta", "Farsta", "Skärholmen"],
            "year": [2022, 2023, 2025, 2021],
            "population": [50_000, 60_000, 99_999, 40_000],
        }
    )
    got = period_summary(
        events(SUMMARY_EVENTS), start="2024-01-01", end="2025-01-01", population=population
    )
    rows = got.set_index("stadsdelsomrade")
    assert rows.loc["Farsta", "population_year"] == 2023
    assert rows.loc["Farsta", "rate_per_1000"] == pytest.approx(3 / 60_000 * 1000)
    assert rows.loc["Skärholmen", "rate_per_1000"] == pytest.approx(1 / 40_000 * 1000)
    assert math.isnan(rows.loc["Älvsjö", "rate_per_1000"])


def test_period_summary_refuses_an_empty_period() -> None:
    with pytest.raises(AnalysisError, match=r"must be after start"):
        period_summary(events(SUMMARY_EVENTS), start="2024-01-01", end="2024-01-01")


def test_docstring_examples_run() -> None:
    import doctest

    import trygghetskarta.analysis.trends as trends

    assert doctest.testmod(trends).failed == 0
