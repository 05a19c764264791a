"""Which days answers and archives cover, and how pages say it (pure functions, tiny data)."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from scripted_server import api_event
from trygghetskarta import store
from trygghetskarta.config import Settings
from trygghetskarta.coverage import Coverage, Finding, Gap, gap_months
from trygghetskarta.errors import ConfigError
from trygghetskarta.render.coverage import (
    context_gaps,
    coverage_lines,
    month_notes,
    report_note,
)
from trygghetskarta.render.svg import line_chart_svg, small_multiples_html
from trygghetskarta.sources import polisen_coverage
from trygghetskarta.sources.polisen_coverage import Answer, answer_findings, whole_days

TZ = ZoneInfo("Europe/Stockholm")


def _at(day: int, hour: int = 12, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=TZ)


def _answer(
    first: datetime | None,
    last: datetime | None,
    *,
    query: str = "all",
    day: date | None = None,
    hour: int | None = None,
    records: int = 100,
    name: str = "a.json",
) -> Answer:
    return Answer(Path(name), query, day, hour, records, first, last)


# --------------------------------------------------------------------------- the values


def test_a_finding_says_unfilled_exactly_when_not_covered():
    Finding((date(2026, 3, 1),), False, "unfilled", "HTTP 503")
    with pytest.raises(ConfigError, match="how='unfilled' exactly"):
        Finding((date(2026, 3, 1),), True, "unfilled")
    with pytest.raises(ConfigError, match="how='unfilled' exactly"):
        Finding((date(2026, 3, 1),), False, "overlap")
    with pytest.raises(ConfigError, match="one of overlap"):
        Finding((date(2026, 3, 1),), True, "guess")


@pytest.mark.parametrize(
    ("gaps", "expected"),
    [
        ([], {}),
        ([(3, 9)], {"2026-03": 1}),
        ([(3, 9), (20, 20)], {"2026-03": 2}),
    ],
    ids=["none", "one", "two-in-a-month"],
)
def test_gap_months_lists_each_month_a_gap_touches(gaps, expected):
    days = {date(2026, 2, 1)} | {date(2026, 4, 30)}
    holes = {date(2026, 3, d) for a, b in gaps for d in range(a, b + 1)}
    days |= {date(2026, m, d) for m in (2, 3, 4) for d in range(1, 29)} - holes
    days |= {date(2026, 4, 29), date(2026, 4, 30), date(2026, 3, 29), date(2026, 3, 30)}
    days |= {date(2026, 3, 31)}
    coverage = Coverage.from_days("polisen", days)
    got = gap_months(coverage, date(2026, 1, 1), date(2026, 12, 31))
    assert {k: len(v) for k, v in got.items()} == expected


def test_a_gap_across_a_month_end_touches_both_months():
    coverage = Coverage(
        "polisen", date(2026, 1, 1), date(2026, 5, 1), (Gap(date(2026, 3, 30), date(2026, 4, 2)),)
    )
    assert sorted(gap_months(coverage, date(2026, 1, 1), date(2026, 5, 1))) == [
        "2026-03",
        "2026-04",
    ]
    assert gap_months(None, date(2026, 1, 1), date(2026, 5, 1)) == {}


# --------------------------------------------------------------------------- answers


@pytest.mark.parametrize(
    ("first", "last", "days"),
    [
        (_at(1, 9), _at(4, 2), [2, 3]),
        (_at(1, 0), _at(2, 0), [1]),
        (_at(1, 9), _at(1, 23), []),
        (_at(1, 0), _at(1, 23), []),
    ],
    ids=["inner-days", "exact-midnights", "within-a-day", "day-not-over"],
)
def test_whole_days_are_those_wholly_inside_a_span(first, last, days):
    assert whole_days(first, last) == [date(2026, 3, d) for d in days]


def test_whole_days_follow_the_stockholm_day_across_daylight_saving():
    # 29 March 2026 has 23 hours: still one whole day from midnight to midnight
    assert whole_days(_at(28, 23), _at(30, 1)) == [date(2026, 3, 29)]


def test_overlapping_answers_join_and_cover_the_day_between_them():
    answers = [
        _answer(_at(1, 9), _at(8, 10), name="one.json"),
        _answer(_at(8, 9), _at(15, 10), name="two.json"),  # overlaps: 8 March is joined
    ]
    (found,) = answer_findings(answers)
    assert (found.covered, found.how) == (True, "overlap")
    assert found.days == tuple(date(2026, 3, d) for d in range(2, 15))
    assert "one.json … two.json" in found.detail


def test_answers_that_do_not_overlap_leave_the_days_between_uncovered():
    answers = [_answer(_at(1, 9), _at(8, 10)), _answer(_at(20, 9), _at(27, 10))]
    days = sorted(d for f in answer_findings(answers) for d in f.days)
    coverage = Coverage.from_days("polisen", days)
    assert [g.label for g in coverage.gaps] == ["Data saknas 8–20 mars 2026"]


def test_answers_of_other_queries_do_not_join_and_type_filters_cover_nothing():
    answers = [
        _answer(_at(1, 9), _at(8, 10)),
        _answer(_at(8, 9), _at(15, 10), query="locationname-Stockholms-lan"),
        _answer(_at(1, 9), _at(15, 10), query="type-Ran"),
    ]
    days = sorted(d for f in answer_findings(answers) for d in f.days)
    assert date(2026, 3, 8) not in days  # the two queries do not join
    assert days == [date(2026, 3, d) for d in (2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14)]


@pytest.mark.parametrize(
    ("records", "covered"),
    [(120, True), (499, True), (500, False), (0, False)],
    ids=["quiet", "just-under", "full", "empty"],
)
def test_a_day_answer_covers_its_day_only_under_the_limit(records, covered):
    day = date(2026, 3, 5)
    found = answer_findings([_answer(None, None, day=day, records=records)])
    assert bool(found) is covered
    if covered:
        assert found[0].how == "backfill-day" and found[0].days == (day,)


@pytest.mark.parametrize(
    ("hours", "full_hour", "covered"),
    [(range(24), None, True), (range(23), None, False), (range(24), 14, False)],
    ids=["all-24", "one-missing", "one-full"],
)
def test_hour_answers_cover_a_day_when_all_24_are_under_the_limit(hours, full_hour, covered):
    day = date(2026, 3, 5)
    answers = [
        _answer(None, None, day=day, hour=h, records=500 if h == full_hour else 30) for h in hours
    ]
    found = answer_findings(answers)
    assert [(f.days, f.how) for f in found] == ([((day,), "backfill-hours")] if covered else [])


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("polisen_20260822T031500.000000Z_all.json", ("all", None, None)),
        (
            "polisen_20260822T031500.000000Z_DateTime-2026-08-20.json",
            ("all", date(2026, 8, 20), None),
        ),
        (
            "polisen_20260822T031500.000000Z_DateTime-2026-08-20-13_locationname-Stockholms-lan.json",
            ("locationname-Stockholms-lan", date(2026, 8, 20), 13),
        ),
        ("mina_handelser.json", ("replay", None, None)),
    ],
    ids=["regular", "day", "hour-with-location", "by-hand"],
)
def test_the_query_comes_from_the_saved_name(name, expected):
    assert polisen_coverage.query_of(Path(name)) == expected


# --------------------------------------------------------------------------- archives


def _archive(tmp_path: Path, per_day: dict[str, int]) -> Path:
    records = []
    n = 0
    for day, count in per_day.items():
        for i in range(count):
            n += 1
            records.append(api_event(n, published=f"{day} {i % 24}:00:00 +01:00"))
    path = tmp_path / "archive.json"
    path.write_text(json.dumps(records), encoding="utf-8")
    return path


def test_an_archive_covers_the_days_it_holds_densely_after_a_dense_day(tmp_path):
    counts = {
        "2023-03-16": 2,
        "2023-03-17": 0,
        "2023-03-18": 3,
        "2023-03-19": 40,  # the scraper's first, cut day
        "2023-03-20": 60,
        "2023-03-21": 70,
        "2023-03-22": 25,  # a third of the median 32.5 is 10.8: dense
        "2023-03-23": 8,  # below it: sparse
        "2023-03-24": 65,  # after a sparse day: cut
        "2023-03-25": 66,
    }
    (found,) = polisen_coverage.archive_findings([_archive(tmp_path, counts)])
    assert found.how == "archive"
    assert [d.isoformat() for d in found.days] == [
        "2023-03-20",
        "2023-03-21",
        "2023-03-22",
        "2023-03-25",
    ]
    assert "days with at least 11 events (a third of the median 32.5 per day)" in found.detail


def test_an_archive_counts_each_event_once_at_its_latest_time(tmp_path):
    a = tmp_path / "a.jsonl"
    b = tmp_path / "b.jsonl"
    a.write_text(json.dumps(api_event(1, published="2023-03-20 10:00:00 +01:00")), "utf-8")
    b.write_text(json.dumps(api_event(1, published="2023-03-21 10:00:00 +01:00")), "utf-8")
    counts = polisen_coverage.archive_day_counts([a, b])
    assert counts.to_dict() == {date(2023, 3, 21): 1}


@pytest.mark.realdata
def test_the_real_archive_is_dense_from_21_march_2023_to_its_end(shared_data):
    folder = shared_data / "police_events"
    (found,) = polisen_coverage.archive_findings(
        [
            folder / "polisen_events_2022-09_2025-12.parquet",
            folder / "stockholms_lan_events_with_text_2022-09_2025-12.json",
        ]
    )
    coverage = Coverage.from_days("polisen", found.days)
    assert (coverage.first, coverage.last, coverage.gaps) == (
        date(2023, 3, 21),
        date(2025, 12, 31),
        (),
    )
    assert "median 65" in found.detail


# --------------------------------------------------------------------------- the ingest


@pytest.mark.realdata
def test_answer_files_ingested_by_hand_record_their_overlap(tmp_path, shared_data):
    from trygghetskarta import pipeline

    data = tmp_path / "data"
    data.mkdir()
    for name in ("boundaries", "population", "gazetteer"):
        (data / name).symlink_to(shared_data / name)
    (data / "police_events").mkdir()
    settings = Settings(
        project_dir=tmp_path,
        data_dir=data,
        processed_dir=tmp_path / "processed",
        raw_dir=tmp_path / "raw",
        db_path=tmp_path / "t.duckdb",
    )

    def answer(name: str, days: range) -> Path:
        records = [
            api_event(
                d * 100 + h, published=f"2026-03-{d:02d} {h}:00:00 +01:00", occurred=(d, 3, h, 0)
            )
            for d in days
            for h in range(1, 24, 3)
        ]
        path = tmp_path / name
        path.write_text(json.dumps(records[::-1]), encoding="utf-8")
        return path

    con = store.connect(settings.db_path)
    first, second = answer("forsta.json", range(1, 9)), answer("andra.json", range(8, 15))
    result = pipeline.ingest(settings, con, source="polisen", paths=[first, second])
    assert not result.errors
    assert result.counts["sources"]["polisen"]["coverage"] == {"overlap": 12}
    coverage = store.read_coverage(con, "polisen")
    assert (coverage.first, coverage.last, coverage.gaps) == (
        date(2026, 3, 2),
        date(2026, 3, 13),
        (),
    )
    again = pipeline.ingest(settings, con, source="polisen", paths=[first, second])
    assert again.counts["sources"]["polisen"]["coverage"] == {"overlap": 0}  # nothing new
    con.close()


# --------------------------------------------------------------------------- pages


COVERAGE = Coverage(
    "polisen",
    date(2025, 1, 1),
    date(2026, 8, 22),
    (Gap(date(2025, 6, 1), date(2025, 6, 2)), Gap(date(2026, 3, 3), date(2026, 3, 9))),
)


@pytest.mark.parametrize(
    ("period", "gaps"),
    [
        ((date(2026, 1, 1), date(2026, 8, 31)), ["Data saknas 3–9 mars 2026"]),
        ((date(2026, 4, 1), date(2026, 8, 31)), []),
        ("hela tiden", ["Data saknas 1–2 juni 2025", "Data saknas 3–9 mars 2026"]),
    ],
    ids=["gap-inside", "no-gap", "free-text"],
)
def test_coverage_lines_state_the_span_and_the_gaps_in_the_period(period, gaps):
    label, found = coverage_lines(COVERAGE, period)
    assert label == "Data 1 januari 2025 – 22 augusti 2026 (polisens händelser)."
    assert found == gaps
    assert coverage_lines(None, period) == ("", [])


def test_month_notes_name_the_missing_days_of_each_month():
    months = list(pd.date_range("2026-02-01", "2026-04-01", freq="MS"))
    assert month_notes(COVERAGE, months) == [None, "data saknas 3–9 mars 2026", None]


def test_the_report_note_names_gaps_in_the_period_and_before_it():
    html = report_note(COVERAGE, (date(2026, 1, 1), date(2026, 8, 31)), shown_from=date(2025, 1, 1))
    assert "<li>Data saknas 3–9 mars 2026</li>" in html
    assert "före perioden" in html and "<li>Data saknas 1–2 juni 2025</li>" in html
    assert context_gaps(COVERAGE, (date(2026, 1, 1), date(2026, 8, 31)), None) == ()
    quiet = report_note(COVERAGE, (date(2026, 4, 1), date(2026, 8, 31)))
    assert "tk-gaps" not in quiet and "Data 1 januari 2025" in quiet


def test_charts_hatch_the_months_a_gap_touches():
    table = pd.DataFrame(
        {"alla": [10, 4, 12]}, index=pd.date_range("2026-02-01", periods=3, freq="MS")
    )
    notes = month_notes(COVERAGE, list(table.index))
    svg = line_chart_svg(table, labels={}, colors={}, title="t", partial=notes)
    assert svg.count('class="tk-partial"') == 1
    assert "<title>data saknas 3–9 mars 2026</title>" in svg
    assert 'class="tk-partial"' not in line_chart_svg(table, labels={}, colors={}, title="t")
    multiples = small_multiples_html(table, labels={}, colors={}, title="t", partial=notes)
    assert multiples.count('class="tk-partial"') == 1


def test_the_days_of_a_period_before_the_first_covered_day_are_a_gap_too():
    archive = Coverage("polisen", date(2023, 3, 21), date(2025, 12, 31))
    _, gaps = coverage_lines(archive, (date(2023, 1, 1), date(2023, 12, 31)))
    assert gaps == ["Data saknas 1 januari – 20 mars 2023"]
    months = list(pd.date_range("2023-02-01", "2023-04-01", freq="MS"))
    assert month_notes(archive, months) == [
        "data saknas 1–28 februari 2023",
        "data saknas 1–20 mars 2023",
        None,
    ]
    # after the last covered day the data may be still to come: said by the covered period
    assert coverage_lines(archive, (date(2025, 7, 1), date(2026, 6, 30)))[1] == []


def test_the_manifest_and_the_summary_list_the_gaps_of_the_period():
    import dataclasses

    from test_publish import _tiny_scene
    from trygghetskarta.pipeline.publish import coverage_summary, note_coverage
    from trygghetskarta.pipeline.steps import StepResult

    coverage = Coverage(
        "polisen",
        date(2023, 1, 1),
        date(2024, 12, 31),
        (Gap(date(2023, 6, 1), date(2023, 6, 3)), Gap(date(2024, 3, 3), date(2024, 3, 9))),
    )
    scene = dataclasses.replace(_tiny_scene(), coverage=coverage)  # period: 2024
    summary = coverage_summary(scene)
    assert summary["gaps"] == [
        {
            "first": "2024-03-03",
            "last": "2024-03-09",
            "days": 7,
            "label": "Data saknas 3–9 mars 2024",
        }
    ]
    assert (summary["first"], summary["last"], summary["gap_days"]) == (
        "2023-01-01",
        "2024-12-31",
        7,
    )
    result = StepResult("maps")
    note_coverage(scene, result)
    assert result.counts == {"coverage": "Data 1 januari 2023 – 31 december 2024", "gap_days": 7}
    assert result.warnings == [
        "polisen: 7 days of the period are gaps in the data (Data saknas 3–9 mars 2024); the "
        "pages say so"
    ]
    empty = StepResult("maps")
    note_coverage(dataclasses.replace(scene, coverage=None), empty)
    assert "no coverage of the police feed is recorded" in empty.warnings[0]
