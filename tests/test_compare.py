"""Like-for-like comparisons (issue 11, item 3): the same days a year before, only complete
months in trends and baselines, partial months and quarters labelled, gaps said next to
the change they touch.

Tiny hand-made events reproduce the mechanism of the issue's real figures (data ending
22 August compared with all of last August: −11.5 % where the same days give −9.0 %).
"""

from __future__ import annotations

import re
from datetime import date, datetime

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box
from typer.testing import CliRunner

from test_analyse_step import event, frame, tiny_areas, tiny_population
from test_render import area_data, html_of, month_events
from test_render import city_map as city_map_of
from trygghetskarta import store
from trygghetskarta.analysis.rates import change_table, monthly_series
from trygghetskarta.analysis.trends import complete_from, period_summary
from trygghetskarta.cli import app
from trygghetskarta.config import AnalysisParameters, load_settings
from trygghetskarta.coverage import Coverage, Gap
from trygghetskarta.errors import ConfigError
from trygghetskarta.periods import Period, block_label, like_for_like, month_label
from trygghetskarta.pipeline.analyse import tables
from trygghetskarta.pipeline.analyse.inputs import data_window, prepare_inputs, read_window
from trygghetskarta.render import audit_ledgers, read_ledgers, recovered, report
from trygghetskarta.render.profile import export_profile
from trygghetskarta.schema import Category

TZ = "Europe/Stockholm"


def times(*stamps: str) -> pd.Series:
    return pd.Series(pd.to_datetime(list(stamps))).dt.tz_localize(TZ)


def cut_year_events(district: str = "A") -> pd.DataFrame:
    """Ten events a month January–July 2025, August 2025 six on 1–22 and four after;
    nine a month January–July 2026 and five on 1–22 August 2026 (the data end there)."""
    stamps: list[str] = []
    for m in range(1, 8):
        stamps += [f"2025-{m:02d}-{d:02d} 12:00" for d in range(1, 11)]
        stamps += [f"2026-{m:02d}-{d:02d} 12:00" for d in range(1, 10)]
    stamps += [f"2025-08-{d:02d} 12:00" for d in (1, 5, 9, 13, 17, 22)]
    stamps += [f"2025-08-{d:02d} 12:00" for d in (23, 25, 28, 31)]
    stamps += [f"2026-08-{d:02d} 12:00" for d in (2, 6, 10, 14, 22)]
    return pd.DataFrame(
        {"occurred_at": times(*stamps), "stadsdelsomrade": district, "category": "violence"}
    )


PERIOD = Period.months("2026-01", "2026-08")
DATA_END = date(2026, 8, 22)


# --------------------------------------------------------------------------------------
# the rule


def test_a_period_ending_22_august_compares_with_1_january_to_22_august_last_year():
    c = like_for_like(PERIOD, DATA_END)
    assert (c.current.first, c.current.last) == (date(2026, 1, 1), date(2026, 8, 22))
    assert (c.previous.first, c.previous.last) == (date(2025, 1, 1), date(2025, 8, 22))
    assert c.partial and c.comparable and c.exposure == 1.0
    assert c.label == "1 januari – 22 augusti 2026 mot 1 januari – 22 augusti 2025"
    assert c.notes == (
        "Data finns till och med 22 augusti 2026; året innan räknas till och med samma dag.",
    )
    assert PERIOD.with_data(DATA_END).comparison() == c


@pytest.mark.parametrize(
    ("first", "last", "data_end", "prev_last", "days"),
    [
        ("2024-01", "2024-02", date(2024, 2, 29), date(2023, 2, 28), (60, 59)),
        ("2025-01", "2025-02", date(2025, 2, 28), date(2024, 2, 29), (59, 60)),
        ("2024-01", "2024-03", date(2024, 2, 28), date(2023, 2, 28), (59, 59)),
        ("2025-01", "2025-03", date(2025, 2, 27), date(2024, 2, 27), (58, 58)),
        ("2024-01", "2024-12", None, date(2023, 12, 31), (366, 365)),
    ],
    ids=[
        "ends-29-feb-whole-feb-before",
        "ends-28-feb-month-end-whole-leap-feb-before",
        "cut-28-feb-leap-year",
        "cut-27-feb-same-date",
        "whole-leap-year",
    ],
)
def test_29_february_whole_months_compare_whole_cut_ones_the_same_dates(
    first, last, data_end, prev_last, days
):
    c = like_for_like(Period.months(first, last), data_end)
    assert c.previous.last == prev_last
    assert (c.current.days, c.previous.days) == days


def test_data_ending_before_the_period_is_refused_with_the_fix():
    with pytest.raises(ConfigError, match=r"before the period .* choose an earlier period"):
        Period.months("2026-01", "2026-12").with_data(date(2025, 12, 31))


def test_the_data_end_on_the_last_day_leaves_the_period_whole():
    p = Period.months("2026-01", "2026-08").with_data(date(2026, 8, 31))
    assert not p.partial and p.label == "jan 2026 – aug 2026"
    assert PERIOD.with_data(DATA_END).label == "jan 2026 – 22 aug 2026"
    assert PERIOD.with_data(DATA_END).slug == "2026-01_2026-08"  # file names stay


def test_a_gap_inside_either_span_is_named_and_one_outside_is_not():
    coverage = Coverage(
        "polisen",
        date(2024, 6, 1),
        date(2026, 8, 22),
        (Gap(date(2024, 11, 2), date(2024, 11, 4)), Gap(date(2025, 3, 3), date(2025, 3, 9))),
    )
    c = like_for_like(PERIOD, DATA_END, coverage=coverage)
    assert c.gaps == (Gap(date(2025, 3, 3), date(2025, 3, 9)),)
    assert c.notes[-1] == ("Jämförelsen omfattar dagar utan data: Data saknas 3–9 mars 2025.")


def test_a_year_before_complete_data_is_not_comparable():
    c = like_for_like(Period.months("2024-01", "2024-12"), data_start=date(2023, 4, 1))
    assert not c.comparable and c.incomplete_before == date(2023, 4, 1)
    assert "Ingen jämförelse: data är ofullständiga före april 2023." in c.notes
    assert like_for_like(Period.months("2024-04", "2024-12"), data_start="2023-04-01").comparable


# --------------------------------------------------------------------------------------
# labels


@pytest.mark.parametrize(
    ("month", "kwargs", "expected"),
    [
        ("2026-08-01", {"data_end": date(2026, 8, 22)}, "1–22 aug 2026"),
        ("2026-07-01", {"data_end": date(2026, 8, 22)}, "jul 2026"),
        ("2026-08-01", {"data_end": date(2026, 8, 31)}, "aug 2026"),
        ("2023-03-01", {"data_start": date(2023, 4, 1)}, "mar 2023 (ofullständiga data)"),
        ("2023-03-01", {"data_start": date(2023, 3, 15)}, "15–31 mar 2023"),
    ],
    ids=["cut-by-end", "before-end", "end-on-last-day", "before-start", "start-inside"],
)
def test_month_labels_say_where_the_data_cut_them(month, kwargs, expected):
    assert month_label(month, **kwargs) == expected


@pytest.mark.parametrize(
    ("first", "present", "kwargs", "expected"),
    [
        ("2024-07-01", None, {}, "jul–sep 2024"),
        ("2024-07-01", ["2024-09-01"], {}, "jul–sep 2024 (endast sep)"),
        ("2024-11-01", ["2024-11-01", "2024-12-01"], {}, "nov 2024–jan 2025 (endast nov–dec)"),
        ("2026-07-01", None, {"data_end": date(2026, 8, 22)}, "jul–sep 2026 (endast 1 jul–22 aug)"),
        ("2023-01-01", None, {"data_start": date(2023, 4, 1)}, "jan–mar 2023 (ofullständiga data)"),
    ],
    ids=["whole", "mid-quarter-start", "across-new-year", "cut-by-end", "before-data-start"],
)
def test_quarter_labels_say_which_months_they_count(first, present, kwargs, expected):
    assert block_label(first, 3, present, **kwargs) == expected


# --------------------------------------------------------------------------------------
# the analyses


def test_period_summary_counts_the_same_days_last_year():
    ev = cut_year_events()
    # the old way: the period's months against the same whole months
    naive = period_summary(ev, start="2026-01-01", end="2026-09-01").iloc[0]
    assert (naive["count"], naive["count_prev_year"]) == (68, 80)
    assert naive["change_pct"] == pytest.approx(-15.0)
    same = period_summary(ev, comparison=like_for_like(PERIOD, DATA_END)).iloc[0]
    assert (same["count"], same["count_prev_year"]) == (68, 76)
    assert same["change_pct"] == pytest.approx(-10.526316, abs=1e-6)
    assert bool(same["comparable"])


def test_change_table_counts_the_same_days_and_tests_equal_exposure():
    ev = cut_year_events().assign(category="violence")
    got = change_table(ev, comparison=like_for_like(PERIOD, DATA_END)).iloc[0]
    assert (got["count"], got["count_prev_year"]) == (68, 76)
    assert got["change_pct"] == pytest.approx(-10.526316, abs=1e-6)
    # exact conditional test, equal days: P(X <= 68 or >= …) for Binomial(144, 1/2)
    from scipy.stats import binomtest

    assert got["p_change"] == pytest.approx(binomtest(68, 144, 0.5).pvalue)


def test_change_table_gives_no_change_against_an_incomplete_year():
    ev = cut_year_events()
    compare = like_for_like(PERIOD, DATA_END, data_start=date(2025, 4, 1))
    got = change_table(ev, comparison=compare).iloc[0]
    assert got["count_prev_year"] == 76 and not bool(got["comparable"])
    assert np.isnan(got["change_pct"]) and np.isnan(got["p_change"])


def test_monthly_series_compares_a_cut_month_with_the_same_days():
    ev = cut_year_events()
    got = monthly_series(ev, data_start="2025-01-01", data_end=DATA_END, start="2026-07")
    jul, aug = got.iloc[0], got.iloc[1]
    assert (jul["count"], jul["count_prev_year"], bool(jul["partial_month"])) == (9, 10, False)
    assert (aug["count"], aug["count_prev_year"], bool(aug["partial_month"])) == (5, 6, True)
    assert aug["change_pct"] == pytest.approx(-100 / 6)
    assert aug["city_count_prev_year"] == 6
    whole = monthly_series(ev, data_start="2025-01-01", start="2026-07").iloc[1]
    assert whole["count_prev_year"] == 10  # without data_end: all of August 2025


def test_complete_from_skips_a_sparse_archive():
    sparse = [f"2023-{m:02d}-05 10:00" for m in (1, 2, 3)]  # one a month
    dense = [
        f"{y}-{m:02d}-{d:02d} 10:00"
        for y in (2023, 2024)
        for m in range(4, 13)
        for d in (1, 2, 3, 4, 5, 6)
    ]
    assert complete_from(times(*sparse, *dense)) == date(2023, 4, 1)
    assert complete_from(times()) is None


# --------------------------------------------------------------------------------------
# the data window: setting, coverage, events


def _pre_archive_events() -> pd.Series:
    sparse = [f"2022-{m:02d}-10 10:00" for m in range(9, 13)]
    dense = [
        f"{y}-{m:02d}-{d:02d} 10:00"
        for y in (2023, 2024)
        for m in range(1, 13)
        for d in range(1, 9)
    ]
    return times(*sparse, *dense, "2025-01-22 10:00")


@pytest.mark.parametrize(
    ("setting", "coverage", "start", "how"),
    [
        (None, None, date(2023, 1, 1), "events"),
        (
            None,
            Coverage.from_days("polisen", [date(2023, 6, 1), date(2023, 6, 2)]),
            date(2023, 6, 1),
            "coverage",
        ),
        ("2023-04", Coverage.from_days("polisen", [date(2023, 6, 1)]), date(2023, 4, 1), "setting"),
        (None, Coverage("polisen", None, None), date(2023, 1, 1), "events"),
    ],
    ids=["events", "coverage", "setting-wins", "empty-coverage-is-none"],
)
def test_data_start_defaults_to_the_coverage_then_the_events(setting, coverage, start, how):
    window = data_window(AnalysisParameters(data_start=setting), coverage, _pre_archive_events())
    assert (window.data_start, window.data_start_from) == (start, how)
    assert window.data_end == date(2025, 1, 22)


def test_the_data_end_is_the_later_of_coverage_and_newest_event(tmp_path):
    con = store.connect(tmp_path / "t.duckdb")
    try:
        store.record_days(
            con,
            "polisen",
            [date(2025, 1, 20), date(2025, 1, 21), date(2025, 1, 25)],
            covered=True,
            how="overlap",
        )
        window = read_window(con, AnalysisParameters())
    finally:
        con.close()
    assert window.data_start == date(2025, 1, 20) and window.data_end == date(2025, 1, 25)
    assert window.coverage is not None and [g.label for g in window.coverage.gaps] == [
        "Data saknas 22–24 januari 2025"
    ]


def test_data_start_from_toml_environment_and_command_line(tmp_path):
    project = tmp_path / "p"
    project.mkdir()
    (project / "trygghetskarta.toml").write_text('[analysis]\ndata_start = "2023-04"\n')
    assert load_settings(project, env={}).analysis.data_start == "2023-04-01"
    env = {"TRYGGHETSKARTA_DATA_START": "2023-05-15"}
    assert load_settings(project, env=env).analysis.data_start == "2023-05-15"
    cli = load_settings(project, env=env, analysis={"data_start": "2024-01"})
    assert cli.analysis.data_start == "2024-01-01"
    assert cli.analysis.as_dict()["data_start"] == "2024-01-01"  # what the manifest records


@pytest.mark.parametrize("value", ["april", "2023-13", "2023-04-31", "1999-01"], ids=str)
def test_a_bad_data_start_says_what_is_expected(tmp_path, value):
    with pytest.raises(ConfigError, match=r"data_start.*YYYY-MM-DD.*fix it in"):
        load_settings(tmp_path, env={"TRYGGHETSKARTA_DATA_START": value})


def test_a_bad_data_start_on_the_command_line_stops_with_one_sentence(tmp_path):
    result = CliRunner().invoke(app, ["analyse", "--data-start", "april"], env={})
    assert result.exit_code != 0
    assert "data_start" in result.output and "the command line" in result.output


# --------------------------------------------------------------------------------------
# the analyse step's trends


def sparse_then_dense() -> pd.DataFrame:
    """A sparse archive in 2023 (one event a month) and 20 a month from 2024, in A1."""
    rows = [
        event(500, 500, f"2023-{m:02d}-10 12:00", stadsdel="A1e", district="A1")
        for m in range(1, 13)
    ]
    rows += [
        event(500, 500, f"{y}-{m:02d}-{d:02d} 12:00", stadsdel="A1e", district="A")
        for y in (2024, 2025)
        for m in range(1, 13)
        for d in range(1, 21)
    ]
    return frame(rows)


def _inputs(events: pd.DataFrame, **params) -> object:
    return prepare_inputs(
        events,
        tiny_areas(),
        tiny_population(),
        period=Period.months("2025-01", "2025-12"),
        parameters=AnalysisParameters(**params),
    )


def test_trends_no_longer_compare_january_2024_with_the_sparse_archive():
    inputs = _inputs(sparse_then_dense())
    assert inputs.window.data_start == date(2024, 1, 1)
    assert inputs.window.data_start_from == "events"
    table = tables.trends(inputs)
    city = table[(table["scheme"] == "2024") & (table["district"] == "A")]
    jan24 = city[city["month"] == pd.Timestamp("2024-01-01")].iloc[0]
    assert jan24["count"] == 20 and bool(jan24["complete_data"])
    # before: 20 against 1, "+1 900 %"; now no change and no baseline from 2023
    assert np.isnan(jan24["change_pct"]) and np.isnan(jan24["count_prev_year"])
    assert np.isnan(jan24["baseline"]) and not jan24["above_baseline"]
    jan25 = city[city["month"] == pd.Timestamp("2025-01-01")].iloc[0]
    assert (jan25["count_prev_year"], jan25["change_pct"], jan25["baseline"]) == (20, 0.0, 20.0)
    early = city[city["month"] < pd.Timestamp("2024-01-01")]
    assert len(early) == 12 and not early["complete_data"].any()  # shown, flagged
    assert early["change_pct"].isna().all() and early["baseline"].isna().all()


def test_an_older_data_start_setting_brings_the_sparse_months_back():
    inputs = _inputs(sparse_then_dense(), data_start="2023-01")
    assert inputs.window.data_start_from == "setting"
    table = tables.trends(inputs)
    a = table[(table["scheme"] == "2024") & (table["district"] == "A")]
    jan24 = a[a["month"] == pd.Timestamp("2024-01-01")].iloc[0]
    assert jan24["change_pct"] == pytest.approx(1900.0)


def test_trend_changes_are_not_comparable_before_data_start():
    inputs = _inputs(sparse_then_dense(), data_start="2025-03")
    changes = tables.trend_changes(inputs)
    assert not changes["comparable"].any() and changes["change_pct"].isna().all()
    assert (changes["prev_start"].iloc[0], changes["period_end"].iloc[0]) == (
        date(2024, 1, 1),
        date(2025, 12, 21),  # the newest event is 20 December: ends excluded
    )


# --------------------------------------------------------------------------------------
# the lägesbild


def _report(period: Period, monthly: pd.DataFrame, summary: dict, profile: str = "public",
            events: pd.DataFrame | None = None) -> str:  # fmt: skip
    scene = report.ReportScene(
        period=period,
        made_at=datetime(2026, 8, 23, 6, 0),
        sources=["Polisen"],
        profile=export_profile(profile),
        monthly=monthly,
        summaries={"A": summary},
        events=events,
    )
    return report.lagesbild_html(scene, "A")


def _monthly_of(ev: pd.DataFrame) -> pd.DataFrame:
    local = ev["occurred_at"].dt.tz_convert(TZ).dt.tz_localize(None)
    out = ev.assign(month=local.dt.to_period("M").dt.to_timestamp())
    return (
        out.groupby(["month", "stadsdelsomrade", "category"], as_index=False)
        .size()
        .rename(columns={"size": "count"})
    )


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.mark.parametrize("profile", ["public", "internal"])
def test_the_change_card_names_the_days_compared_and_the_gap(profile):
    ev = cut_year_events()
    coverage = Coverage(
        "polisen", date(2025, 1, 1), DATA_END, (Gap(date(2025, 3, 3), date(2025, 3, 9)),)
    )
    period = PERIOD.with_data(DATA_END)
    compare = period.comparison(coverage)
    got = period_summary(ev, comparison=compare).iloc[0]
    summary = {
        "count": got["count"],
        "count_last_year": got["count_prev_year"],
        "change_pct": got["change_pct"],
        "compared_with": compare.previous.label,
        "comparison_notes": compare.notes,
        "comparable": compare.comparable,
    }
    html = _report(period, _monthly_of(ev), summary, profile, events=ev)
    card = re.search(
        r'<div class="card"><div class="label">Förändring mot året innan.*?</div></div>', html
    )
    assert card is not None
    text = _text(card.group(0))
    assert "−11 %" in text  # −10.5 %, the report's whole percent
    assert "Samma dagar året innan (1 januari – 22 augusti 2025): 76" in text
    assert "Data finns till och med 22 augusti 2026" in text
    assert "Jämförelsen omfattar dagar utan data: Data saknas 3–9 mars 2025." in text
    assert "Period: jan 2026 – 22 aug 2026" in _text(html)
    assert "1–22 aug 2026" in html  # the cut month on the chart


def test_no_change_is_given_against_an_incomplete_year():
    period = Period.months("2024-01", "2024-12").with_data(None, date(2023, 4, 1))
    compare = period.comparison()
    summary = {"count": 240, "count_last_year": 60, "change_pct": None,
               "compared_with": compare.previous.label, "comparison_notes": compare.notes,
               "comparable": compare.comparable}  # fmt: skip
    monthly = pd.DataFrame(
        {"month": pd.date_range("2023-01-01", periods=24, freq="MS"), "stadsdelsomrade": "A",
         "category": "violence", "count": [5] * 24}
    )  # fmt: skip
    html = _report(period, monthly, summary, "internal")
    card = re.search(
        r'<div class="card"><div class="label">Förändring mot året innan.*?</div></div>', html
    )
    assert card is not None
    text = _text(card.group(0))
    assert "Ingen jämförelse: data är ofullständiga före april 2023." in text
    assert "%" not in text
    assert "mar 2023 (ofullständiga data)" in html  # months before data_start flagged


def test_a_quarter_cut_by_a_mid_quarter_start_says_so():
    # the period starts in October: quarters count from it, and the chart's first quarter
    # (jul–sep 2024) holds September only
    # (every category has 7 a month, so that the quarters are shown and drawn: a category
    # whose every quarter is hidden gets no chart of its own)
    months = pd.date_range("2024-09-01", "2025-09-01", freq="MS")
    monthly = pd.DataFrame(
        [
            {"month": m, "stadsdelsomrade": "A", "category": c.value, "count": 7}
            for c in Category
            for m in months
        ]
    )
    html = _report(Period.months("2024-10", "2025-09"), monthly, {"count": 7 * 11 * 12}, "public")
    assert html.count('class="tk-mini"') == len(Category)
    assert "jul–sep 2024 (endast sep)" in html
    assert "okt–dec 2024" in html and "jul–sep 2025" in html


def test_a_public_report_cut_by_the_data_end_leaks_no_small_part_of_last_august():
    # A: 76 in the days compared, August 2025 = 6 + 4: the four after 22 August must not be
    # worked out from the key figure and the months shown
    ev = cut_year_events()
    period = PERIOD.with_data(DATA_END)
    compare = period.comparison()
    summary = {"count": 68, "count_last_year": 76, "change_pct": -10.53,
               "compared_with": compare.previous.label, "comparison_notes": compare.notes,
               "comparable": True}  # fmt: skip
    html = _report(period, _monthly_of(ev), summary, "public", events=ev)
    ledgers = read_ledgers(html)
    names = {k for d in ledgers for k in d.shown}
    assert {"sdo|A|2025-08|1-22", "sdo|A|2025-08|23-"} <= names
    assert recovered(audit_ledgers(ledgers)) == []
    shown = {k: v for d in ledgers for k, v in d.shown.items()}
    assert shown["sdo|A|2025-08|23-"] is None  # four: suppressed
    # August and the key figure are shown, so its part on the days compared is hidden and
    # so is a whole month beside it (else 76 − January…July would give it away)
    assert (shown["sdo|A|2025-08"], shown["sdo|A|före"]) == (10, 76)
    assert shown["sdo|A|2025-08|1-22"] is None
    assert sum(shown[f"sdo|A|2025-{m:02d}"] is None for m in range(1, 8)) >= 1


def test_the_month_slider_says_where_the_data_end():
    districts = gpd.GeoDataFrame(
        {"name": ["Norr", "Söder"]},
        geometry=[
            box(673_000, 6_580_000, 675_000, 6_582_000),
            box(673_000, 6_578_000, 675_000, 6_580_000),
        ],
        crs="EPSG:3006",
    )
    rows = [("2026-07", "Norr", False)] * 6 + [("2026-08", "Norr", False)] * 5
    period = Period.months("2026-07", "2026-08").with_data(date(2026, 8, 22))
    m = city_map_of(
        districts,
        events=month_events(rows),
        profile="internal",
        period=period,
        sources=["Polisen"],
        made_at=datetime(2026, 8, 23),
    )
    data = area_data(html_of(m))
    assert data["months"] == ["Hela perioden", "jul 2026", "1–22 aug 2026"]
    assert "Hela perioden (jul 2026 – 22 aug 2026)" in html_of(m)


def test_a_recorded_gap_sets_data_start_and_is_named_beside_the_changes_it_touches():
    coverage = Coverage(
        "polisen", date(2024, 1, 1), date(2025, 12, 20), (Gap(date(2024, 3, 3), date(2024, 3, 9)),)
    )
    inputs = prepare_inputs(
        sparse_then_dense(),
        tiny_areas(),
        tiny_population(),
        period=Period.months("2025-01", "2025-12"),
        parameters=AnalysisParameters(),
        coverage=coverage,
    )
    assert (inputs.window.data_start, inputs.window.data_start_from) == (
        date(2024, 1, 1),
        "coverage",
    )
    trends = tables.trends(inputs)
    a = trends[(trends["scheme"] == "2024") & (trends["district"] == "A")].set_index("month")
    gap = "Data saknas 3–9 mars 2024"
    assert a.loc[pd.Timestamp("2024-03-01"), "gaps"] == gap
    assert a.loc[pd.Timestamp("2025-03-01"), "gaps"] == gap  # compared with March 2024
    assert a.loc[pd.Timestamp("2025-04-01"), "gaps"] == ""
    changes = tables.trend_changes(inputs)
    assert set(changes["gaps"]) == {gap} and changes["comparable"].all()
