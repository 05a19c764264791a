"""The nightly batch an IT department can operate (issue 14): the log file, --version,
usage errors, freshness of the data, and a summary whose first line says how the night went.

Pure tests use hand-written values; the tests marked ``realdata`` run the pipeline on a
small project (the real boundaries and population, 100 real police events whose newest was
published on 1 August 2026) with the run's clock injected, so that they never depend on
today's date.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import itertools
import json
import logging
import os
import re
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from trygghetskarta import cli_log, pipeline, store
from trygghetskarta.cli import app
from trygghetskarta.config import PROFILES, load_settings
from trygghetskarta.errors import ConfigError, OutputError
from trygghetskarta.freshness import Freshness, FreshnessPolicy, SourceFreshness, assess
from trygghetskarta.pipeline import StepResult, summary
from trygghetskarta.pipeline.steps import STEP_LOG_KEY
from trygghetskarta.render.legend import add_freshness
from trygghetskarta.render.report import freshness_note
from trygghetskarta.schema import TIMEZONE, QuarantineClass, quarantine_class

runner = CliRunner()
FIXTURE_EVENTS = "police_events/fixture_stockholm_100_api_format.json"
VERSION = importlib.metadata.version("trygghetskarta")
#: A log file line: ISO 8601 time with milliseconds and offset, level, step, message.
LOG_LINE = re.compile(
    r"(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d) (?P<level>[A-Z]+) +"
    r"(?P<step>\S+) +(?P<message>.*)"
)


def _ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=TIMEZONE)


# --------------------------------------------------------------------------- --version, exit 2


def test_version_prints_the_package_metadata_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"trygghetskarta {VERSION}\n"


def test_the_profile_type_lists_the_profiles_of_the_settings():
    from typing import get_args

    from trygghetskarta.cli import Profile

    assert get_args(Profile) == PROFILES


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["maps", "--profile", "publik"], "'publik' is not one of 'public', 'internal'"),
        (["report", "--profile", "PUBLIC!"], "'PUBLIC!' is not one of 'public', 'internal'"),
        (["run", "--profile", "publik"], "'publik' is not one of 'public', 'internal'"),
        (
            ["gazetteer", "load", "--crs", "EPSG:9999", "README.md"],
            "is not one of 'epsg:3006', 'epsg:3011', 'epsg:4326'",
        ),
        (["run", "--bandwidth", "wide"], "or one of scott, silverman, cv, got 'wide'"),
        (["analyse", "--cell-size", "-5"], "must be a positive number, got -5.0"),
        (["ingest", "polis"], "expected one of befolkning, polisen, brott"),
        (["run", "--frobnicate"], "No such option: --frobnicate"),
    ],
    ids=[
        "maps-profile",
        "report-profile",
        "run-profile",
        "crs",
        "bandwidth",
        "cell",
        "source",
        "x",
    ],
)
def test_a_wrong_option_value_is_a_usage_error_listing_what_is_allowed(tmp_path, args, expected):
    env = {"TRYGGHETSKARTA_PROCESSED": str(tmp_path), "TRYGGHETSKARTA_DATA": str(tmp_path)}
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 2, result.output
    # one line, whatever the terminal's width: typer's plain usage error, no rich box
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("Error: ")]
    assert expected in line
    assert "Traceback" not in result.output
    assert not list(tmp_path.iterdir())  # nothing was run


def test_a_crs_in_lower_case_is_accepted_as_its_canonical_name(tmp_path, monkeypatch):
    seen = {}

    def fake(settings, path, *, crs):
        seen["crs"] = crs
        return {"read": 0, "loaded": 0, "rejected": 0, "notes": []}

    monkeypatch.setattr(pipeline, "load_address_register", fake)
    path = tmp_path / "register.csv"
    path.write_text("street;number;x;y\n")
    result = runner.invoke(app, ["gazetteer", "load", "--crs", "epsg:3011", str(path)])
    assert result.exit_code == 0, result.output
    assert seen == {"crs": "EPSG:3011"}


# --------------------------------------------------------------------------- log file


def _log_lines(path: Path) -> list[re.Match]:
    lines = path.read_text(encoding="utf-8").splitlines()
    matches = [LOG_LINE.fullmatch(line) for line in lines]
    assert all(matches), [line for line, m in zip(lines, matches, strict=True) if not m]
    return matches


def test_the_log_file_has_a_timestamp_and_the_step_on_every_line_and_no_repeats(tmp_path):
    path = tmp_path / "logs" / "nightly.log"  # its folder is created
    sink = Console(file=open(tmp_path / "console.txt", "w"), soft_wrap=True, color_system=None)  # noqa: SIM115
    handlers = cli_log.configure(sink, verbose=False, log_file=path)
    log = logging.getLogger("trygghetskarta.test_ops")
    try:
        log.info("before any step")
        log.info("ingest: started", extra={STEP_LOG_KEY: "ingest"})
        for _ in range(10):  # a loop that logs the same fact per item
            log.info("public map: cluster outlines are internal only")
        log.warning("a source is old")
        log.info("maps: started", extra={STEP_LOG_KEY: "maps"})
        log.info("written")
        log.info("written")
        log.info("run ended", extra={STEP_LOG_KEY: ""})
    finally:
        for handler in handlers:
            logging.getLogger().removeHandler(handler)
            handler.close()
    found = [(m["level"], m["step"], m["message"]) for m in _log_lines(path)]
    assert found == [
        ("INFO", "-", "before any step"),
        ("INFO", "ingest", "ingest: started"),
        ("INFO", "ingest", "public map: cluster outlines are internal only"),
        ("INFO", "ingest", "(the line above repeated 9 times)"),
        ("WARNING", "ingest", "a source is old"),
        ("INFO", "maps", "maps: started"),
        ("INFO", "maps", "written"),
        ("INFO", "maps", "(the line above repeated once more)"),
        ("INFO", "-", "run ended"),
    ]
    for m in _log_lines(path):
        stamp = pd.Timestamp(m["time"])
        assert stamp.utcoffset() == _ts(stamp.tz_localize(None)).utcoffset()  # Stockholm time
    # the console (no -v) shows the warning alone
    sink.file.close()
    assert (tmp_path / "console.txt").read_text() == "warning: a source is old\n"


def test_configuring_twice_in_one_process_never_doubles_a_line(tmp_path):
    path = tmp_path / "a.log"
    sink = Console(file=open(tmp_path / "c.txt", "w"), color_system=None)  # noqa: SIM115
    for _ in range(3):
        handlers = cli_log.configure(sink, verbose=True, log_file=path)
    logging.getLogger("trygghetskarta.test_ops").info("once")
    for handler in handlers:
        logging.getLogger().removeHandler(handler)
        handler.close()
    sink.file.close()
    assert [m["message"] for m in _log_lines(path)] == ["once"]
    assert (tmp_path / "c.txt").read_text() == "info: once\n"


def test_a_log_file_that_cannot_be_opened_is_one_sentence_and_exit_1(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = runner.invoke(app, ["--log-file", str(blocker / "x.log"), "status"])
    assert result.exit_code == 1
    (line,) = [x for x in result.output.splitlines() if x.startswith("error: ")]
    assert str(blocker) in line
    with pytest.raises(OutputError):
        cli_log.FileLogHandler(blocker / "x.log")


def test_an_error_of_a_command_reaches_the_log_file(tmp_path):
    log = tmp_path / "run.log"
    db = tmp_path / "absent.duckdb"
    result = runner.invoke(app, ["--log-file", str(log), "--db", str(db), "status"])
    assert result.exit_code == 1
    messages = [(m["level"], m["message"]) for m in _log_lines(log)]
    assert messages[0] == ("INFO", f"trygghetskarta {VERSION}: " + messages[0][1].split(": ", 1)[1])
    assert ("ERROR", f"no database at {db} — run `trygghetskarta ingest` first") in messages


# --------------------------------------------------------------------------- freshness


NOW = _ts("2026-08-11 03:00")


@pytest.mark.parametrize(
    ("published", "age", "stale", "label"),
    [
        ("2026-08-11 01:10", 0, False, "11 augusti 2026 (från i dag)"),
        ("2026-08-10 23:59", 1, False, "10 augusti 2026 (1 dag gammal)"),
        ("2026-08-08 00:01", 3, False, "8 augusti 2026 (3 dagar gammal)"),
        ("2026-08-07 23:59", 4, True, "7 augusti 2026 (4 dagar gammal)"),
        ("2025-12-31 19:06", 223, True, "31 december 2025 (223 dagar gammal)"),
    ],
    ids=["today", "yesterday", "at-threshold", "over-threshold", "last-year"],
)
def test_the_age_is_whole_days_in_stockholm_and_stale_above_the_threshold(
    published, age, stale, label
):
    fresh = assess({"polisen": (None, _ts(published))}, now=NOW, policy=FreshnessPolicy())
    (source,) = fresh.sources
    assert (source.age_days, source.stale, source.label()) == (age, stale, label)
    assert fresh.headline() == f"Senaste data: {label}"
    assert (fresh.note() is not None) == stale
    assert len(fresh.warnings()) == int(stale)


def test_days_are_counted_in_stockholm_across_a_change_of_clock():
    # 29 March 2026: clocks go from 02:00 CET to 03:00 CEST; 23 hours make that day
    published = pd.Timestamp("2026-03-28 22:30", tz="UTC")  # 23:30 on the 28th in Stockholm
    now = pd.Timestamp("2026-03-29 22:10", tz="UTC")  # 00:10 on the 30th in Stockholm
    fresh = assess({"polisen": (None, published)}, now=now, policy=FreshnessPolicy())
    assert fresh.sources[0].age_days == 2


def test_the_newest_of_the_incident_and_publication_times_counts():
    source = SourceFreshness(
        "polisen-brott", _ts("2026-08-09 12:00"), None, NOW, threshold_days=None
    )
    assert source.newest == _ts("2026-08-09 12:00") and source.age_days == 2
    assert not source.stale  # no threshold: stated, never stale


def test_sources_with_a_threshold_are_shown_first_and_derived_ones_follow():
    newest = {
        "shooting:polisen": (_ts("2026-07-01 10:00"), _ts("2026-07-01 11:00")),
        "polisen": (_ts("2026-08-10 21:00"), _ts("2026-08-10 21:30")),
        "fire:polisen": (_ts("2026-08-02 10:00"), None),
    }
    fresh = assess(newest, now=NOW, policy=FreshnessPolicy())
    assert [s.source for s in fresh.sources] == ["polisen", "fire:polisen", "shooting:polisen"]
    assert fresh.stale == ()  # the derived layers follow the feed and have no threshold
    assert fresh.headline() == "Senaste data: 10 augusti 2026 (1 dag gammal)"


def test_a_source_with_a_threshold_and_no_events_is_listed_not_stale():
    fresh = assess({}, now=NOW, policy=FreshnessPolicy())
    (source,) = fresh.sources
    assert source.label() == "inga händelser från Polisen" and not source.stale


def test_two_sources_with_thresholds_are_named_each():
    policy = FreshnessPolicy.from_table({"polisen-brott_days": 45}, "test")
    newest = {
        "polisen": (None, _ts("2026-08-10 22:00")),
        "polisen-brott": (_ts("2026-06-01 00:00"), None),
    }
    fresh = assess(newest, now=NOW, policy=policy)
    assert fresh.headline() == (
        "Senaste data: Polisen 10 augusti 2026 (1 dag gammal); polisen-brott 1 juni 2026 "
        "(71 dagar gammal)"
    )
    assert [s.source for s in fresh.stale] == ["polisen-brott"]
    assert fresh.note() == (
        "Uppgifterna är inte aktuella: polisen-brott (äldre än 45 dagar). Kartor och siffror "
        "visar inte läget i dag."
    )


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ({"polisen_days": 7}, {"polisen": 7}),
        ({"polisen_days": False}, {}),
        ({"polisen_days": 0, "polisen-brott_days": 45}, {"polisen": 0, "polisen-brott": 45}),
        ({}, {"polisen": 3}),
    ],
    ids=["changed", "switched-off", "added", "defaults"],
)
def test_the_freshness_table_changes_the_defaults(table, expected):
    assert FreshnessPolicy.from_table(table, "test").as_dict() == expected


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"polisen": 3}, "unknown key 'polisen' in [freshness] of test, expected '<source>_days'"),
        ({"polisen_days": "3"}, "must be a whole number of days ≥ 0 or false, got '3'"),
        ({"polisen_days": -1}, "must be a whole number of days ≥ 0 or false, got -1"),
        ({"polisen_days": 2.5}, "must be a whole number of days ≥ 0 or false, got 2.5"),
        ({"polisen_days": True}, "must be a whole number of days ≥ 0 or false, got True"),
        (3, "'freshness' in test must be a table, got 3"),
    ],
    ids=["no-suffix", "text", "negative", "fraction", "true", "not-a-table"],
)
def test_a_bad_freshness_table_is_one_sentence(table, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        FreshnessPolicy.from_table(table, "test")


def test_the_freshness_table_is_read_from_the_toml_file(tmp_path):
    toml = "[freshness]\npolisen_days = 5\npolisen-brott_days = 45\n"
    (tmp_path / "trygghetskarta.toml").write_text(toml)
    settings = load_settings(tmp_path, env={})
    assert settings.freshness.as_dict() == {"polisen": 5, "polisen-brott": 45}
    assert "freshness" not in settings.extra
    assert load_settings(tmp_path / "none", env={}).freshness.threshold("polisen") == 3


def test_source_names_are_escaped_on_maps_and_reports():
    import folium

    from trygghetskarta.render import to_html

    policy = FreshnessPolicy.from_table({"<b>x</b>_days": 1, "polisen_days": False}, "test")
    fresh = assess({"<b>x</b>": (None, _ts("2026-08-01 10:00"))}, now=NOW, policy=policy)
    note = freshness_note(fresh)
    assert "<b>x</b>" not in note and "&lt;b&gt;x&lt;/b&gt;" in note
    assert 'class="tk-fresh tk-stale"' in note
    page = to_html(add_freshness(folium.Map(), fresh))
    assert "<b>x</b>" not in page
    assert "Senaste data: &lt;b&gt;x&lt;/b&gt; 1 augusti 2026 (10 dagar gammal)" not in page
    assert "Senaste data: 1 augusti 2026 (10 dagar gammal)" in page
    assert "tk-stale" in page and "(äldre än 1 dag)" in page


# --------------------------------------------------------------------------- summary


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("outside Stockholm kommun (title names Malmö)", QuarantineClass.OUTSIDE_AREA),
        ("outside Stockholm kommun: the row names 'Solna' (line 4)", QuarantineClass.OUTSIDE_AREA),
        ("area did not exist: Järva in 2021 (formed 2024-01-01) — …", QuarantineClass.NOT_DATA),
        ("duplicate: the same statistic as x.csv line 2067", QuarantineClass.NOT_DATA),
        ("duplicate row: line 5 repeats line 2", QuarantineClass.NOT_DATA),
        ("title names no municipality: 'Trafikolycka'", QuarantineClass.INVALID),
        ("incident after publication: 2025-05-01 08:00 is …", QuarantineClass.INVALID),
        ("conflicting id: 'K-1' on line 3 differs from line 2", QuarantineClass.INVALID),
    ],
    ids=["police-outside", "list-outside", "placeholder", "dup-stat", "dup-row", "no-kommun",
         "after-publication", "conflicting-id"],
)  # fmt: skip
def test_each_quarantine_reason_has_its_class(reason, expected):
    assert quarantine_class(reason) is expected


def _ingest(**classes: int) -> StepResult:
    reasons = {"outside Stockholm kommun": classes.get("outside", 0), "no date": classes["wrong"]}
    return StepResult(
        "ingest",
        counts={
            "read": 100,
            "loaded": 40,
            "updated": 2,
            "unchanged": 0,
            "quarantined": sum(reasons.values()),
            "quarantine_reasons": reasons,
            "quarantine_classes": {"outside_area": classes.get("outside", 0), "invalid": 3},
        },
        seconds=4.0,
    )


def test_a_healthy_night_reads_ok_with_the_outside_records_apart():
    fresh = assess({"polisen": (None, _ts("2026-08-10 23:00"))}, now=NOW, policy=FreshnessPolicy())
    results = [
        _ingest(outside=55, wrong=3),
        StepResult("analyse", warnings=["Gi* cells shooting/all: 3 events …"], seconds=5.0),
        StepResult("maps", files=[Path("a.html"), Path("b.html")], seconds=3.0),
    ]
    assert summary.headline("ok", None, results, fresh) == (
        "OK: ingest, analyse, maps in 12 s; 40 new and 2 changed records (55 outside the area, "
        "3 wrong); 2 maps; polisen: newest event 2026-08-10 23:00, 1 day old (threshold 3 days)"
    )


def test_stale_data_makes_the_night_ok_with_warnings():
    old = assess({"polisen": (None, _ts("2026-07-01 10:00"))}, now=NOW, policy=FreshnessPolicy())
    results = [_ingest(outside=1, wrong=3), StepResult("maps", warnings=["no raster"])]
    line = summary.headline("ok", None, results, old)
    assert line.startswith(
        "OK with warnings: polisen data is 41 days old (threshold 3) (and 1 more warnings); "
    )
    body = summary.as_dict("ok", None, results, old)
    assert body["quarantine"] == {"outside_area": 1, "invalid": 3}
    assert len(body["warnings"]) == 2 and body["warnings"][1] == "maps: no raster"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("partial", "PARTLY FAILED: errors in ingest (1); the other steps ran — see the errors"),
        ("failed", "FAILED: errors in ingest (1); the run stopped — see the errors"),
        ("interrupted", "INTERRUPTED: errors in ingest (1); the run stopped — see the errors"),
    ],
    ids=["partial", "failed", "interrupted"],
)
def test_a_bad_night_says_so_first(status, expected):
    results = [StepResult("ingest", errors=["brott: no column"]), StepResult("geocode")]
    assert summary.headline(status, "ingest: brott: no column", results, None) == expected


def test_quarantined_records_get_their_class_in_the_store_and_old_databases_are_classified(
    tmp_path,
):
    db = tmp_path / "old.duckdb"
    con = duckdb.connect(str(db))  # the quarantine table as it was before the classes
    con.execute(
        "CREATE TABLE quarantine (quarantine_key VARCHAR PRIMARY KEY, source VARCHAR, "
        "source_id VARCHAR, source_file VARCHAR, reason VARCHAR, raw VARCHAR, batch_id VARCHAR, "
        "quarantined_at TIMESTAMPTZ)"
    )
    con.execute(
        "INSERT INTO quarantine VALUES ('a', 'polisen', '1', 'f', 'outside Stockholm kommun "
        "(title names Solna)', '{}', 'b', now()), ('b', 'polisen', '2', 'f', 'title has no "
        "incident date: x', '{}', 'b', now())"
    )
    con.close()
    con = store.connect(db)
    try:
        new = pd.DataFrame(
            {
                "source": ["bra"],
                "source_id": [None],
                "source_file": ["x.csv"],
                "reason": ["duplicate: the same statistic as x.csv line 3"],
                "raw": ["{}"],
            }
        )
        assert store.add_quarantine(con, new, batch_id="c", quarantined_at=NOW) == 1
        rows = con.execute("SELECT source_id, reason_class FROM quarantine ORDER BY 1").fetchall()
    finally:
        con.close()
    assert rows == [("1", "outside_area"), ("2", "invalid"), (None, "not_data")]


# --------------------------------------------------------------------------- a small project


def _env(root: Path) -> dict[str, str]:
    return {
        "TRYGGHETSKARTA_DATA": str(root / "data"),
        "TRYGGHETSKARTA_PROCESSED": str(root / "project" / "data" / "processed"),
    }


def _settings(root: Path, **overrides):
    return load_settings(root / "project", env=_env(root), **overrides)


#: The newest of the 100 events was published on 1 August 2026 at 17:28.
TEN_DAYS_LATER = _ts("2026-08-11 04:00")


@pytest.fixture(scope="module")
def stale_project(shared_data, tmp_path_factory):
    """The small project after a run on 11 August 2026 (data ten days old, threshold 3), and
    maps and reports of the internal profile from the same clock."""
    root = tmp_path_factory.mktemp("ops")
    data = root / "data"
    data.mkdir()
    for folder in ("boundaries", "gazetteer", "population"):
        (data / folder).symlink_to(shared_data / folder)
    raw = root / "project" / "data" / "raw" / "polisen"
    raw.mkdir(parents=True)
    shutil.copy(shared_data / FIXTURE_EVENTS, raw / "polisen_20260801T000000000000Z_all.json")
    report = pipeline.run(_settings(root), now=TEN_DAYS_LATER)
    manifest = json.loads((_settings(root).processed_dir / "manifest.json").read_text())
    internal = pipeline.run(
        _settings(root, profile="internal"), steps=("maps", "report"), now=TEN_DAYS_LATER
    )
    assert internal.status == "ok"
    return root, report, manifest


@pytest.mark.realdata
def test_a_run_on_old_data_warns_and_says_so_in_its_summary_and_manifest(stale_project):
    _, report, manifest = stale_project
    assert report.status == "ok"
    (polisen,) = report.freshness.stale
    assert (polisen.source, polisen.age_days) == ("polisen", 10)
    assert report.headline.startswith("OK with warnings: polisen data is 10 days old (threshold 3)")
    assert manifest["version"] == VERSION
    assert manifest["freshness"]["stale"] == ["polisen"]
    (entry,) = [s for s in manifest["freshness"]["sources"] if s["source"] == "polisen"]
    assert entry["newest_published"] == "2026-08-01T17:28:38+02:00" and entry["age_days"] == 10
    assert manifest["summary"]["headline"] == report.headline
    assert set(manifest["summary"]["quarantine"]) == {c.value for c in QuarantineClass}
    assert manifest["parameters"]["freshness_days"] == {"polisen": 3}


@pytest.mark.realdata
@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize(
    "page", ["maps/stockholm.html", "maps/sodermalm.html", "reports/sodermalm.html"]
)
def test_maps_and_reports_of_both_profiles_say_how_old_the_data_is(stale_project, profile, page):
    root = stale_project[0]
    folder = _settings(root).processed_dir / profile
    html = (folder / page).read_text(encoding="utf-8")
    assert "Senaste data: 1 augusti 2026 (10 dagar gammal)" in html
    assert "tk-stale" in html and "Uppgifterna är inte aktuella: Polisen (äldre än 3 dagar)" in html
    assert f"trygghetskarta {VERSION}" in html
    kind = page.split("/")[0]
    folder_manifest = json.loads((folder / kind / "manifest.json").read_text())
    assert folder_manifest["version"] == VERSION
    assert folder_manifest["freshness"]["stale"] == ["polisen"]


@pytest.mark.realdata
def test_a_run_on_fresh_data_neither_warns_nor_marks_the_pages(stale_project, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(stale_project[0], root, symlinks=True)
    next_morning = _ts("2026-08-02 04:00")
    report = pipeline.run(_settings(root), steps=("maps",), now=next_morning)
    assert report.freshness.stale == ()
    assert report.headline.startswith("OK: maps in ")
    html = (_settings(root).processed_dir / "public" / "maps" / "stockholm.html").read_text()
    assert "Senaste data: 1 augusti 2026 (1 dag gammal)" in html
    assert "tk-stale" not in html.replace(".tk-stale", "")


@pytest.mark.realdata
def test_the_cli_summary_log_file_and_status_of_a_night(stale_project, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(stale_project[0], root, symlinks=True)
    log = root / "logs" / "nightly.log"
    with contextlib.chdir(root / "project"):
        result = runner.invoke(
            app, ["-v", "--log-file", str(log), "maps"], env=_env(root) | {"COLUMNS": "40"}
        )
        status = runner.invoke(app, ["status"], env=_env(root) | {"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[0]
    # the data (newest 1 August 2026) is older than three days whenever this test runs
    assert first.startswith("OK with warnings: polisen data is ")
    found = _log_lines(log)
    messages = [m["message"] for m in found]
    assert f"trygghetskarta {VERSION}: " in messages[0]
    assert first in messages  # the summary is in the file too
    assert {m["step"] for m in found if m["message"].startswith("maps: started")} == {"maps"}
    assert [a for a, b in itertools.pairwise(messages) if a == b] == []
    assert any(
        m["level"] == "WARNING" and "older than its threshold" in m["message"] for m in found
    )
    # status: freshness per source
    assert status.exit_code == 0, status.output
    (line,) = [x for x in status.stdout.splitlines() if x.startswith("freshness: polisen:")]
    assert "newest event 2026-08-01 17:28" in line and line.endswith(": stale")


@pytest.mark.realdata
def test_a_healthy_first_run_on_the_shared_data_does_not_read_as_alarming(real_run):
    settings, report = real_run
    (ingest,) = [s for s in report.steps if s.step == "ingest"]
    split = ingest.counts["quarantine_classes"]
    # the national feed's other municipalities are most of the quarantine, and apart
    assert split["outside_area"] > 60_000
    assert split["invalid"] < 10
    assert sum(split.values()) == ingest.counts["quarantined"]
    con = store.connect(settings.db_path, read_only=True)
    try:
        stored = dict(
            con.execute("SELECT reason_class, count(*) FROM quarantine GROUP BY ALL").fetchall()
        )
    finally:
        con.close()
    assert stored == {k: v for k, v in split.items() if v}
    verdict = report.headline.split(":", 1)[0]
    assert verdict in ("OK", "OK with warnings")  # stale when run long after 2025, never failed
    assert "wrong" in report.headline and "outside the area" in report.headline
    assert isinstance(report.freshness, Freshness)


@pytest.mark.realdata
@pytest.mark.browser
@pytest.mark.parametrize("profile", PROFILES)
def test_the_age_of_the_data_is_visible_on_screen_and_in_print(stale_project, profile, tmp_path):
    chromium = os.environ.get("TRYGGHETSKARTA_CHROMIUM", "/usr/bin/chromium")
    if shutil.which(chromium) is None:
        pytest.skip(f"BROWSER TEST SKIPPED: no Chromium at {chromium}")
    from playwright.sync_api import sync_playwright

    folder = _settings(stale_project[0]).processed_dir / profile
    pages = {
        "map": folder / "maps" / "stockholm.html",
        "report": folder / "reports" / "sodermalm.html",
    }
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=shutil.which(chromium), headless=True, args=["--no-sandbox"]
        )
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 800})
            page.route(
                "**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort()
            )
            for kind, path in pages.items():
                page.goto(path.as_uri())
                for media in ("screen", "print"):
                    page.emulate_media(media=media)
                    # the map's box at the top right; the report's line under its heading
                    selector = ".leaflet-control.tk-fresh" if kind == "map" else "p.tk-fresh"
                    fresh = page.locator(selector)
                    assert fresh.is_visible(), (kind, media)
                    assert fresh.inner_text().startswith(
                        "Senaste data: 1 augusti 2026 (10 dagar gammal)"
                    )
                    box = fresh.bounding_box()
                    assert box["y"] < 400 and box["height"] >= 20, (kind, media, box)
                    background = fresh.evaluate("e => getComputedStyle(e).backgroundColor")
                    assert background == "rgb(255, 243, 205)", (kind, media)  # amber: stale
                    on_top = page.evaluate(
                        "([x, y]) => document.elementFromPoint(x, y).closest('.tk-fresh') !== null",
                        [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
                    )
                    assert on_top, (kind, media)
                page.emulate_media(media="screen")
                page.screenshot(path=str(tmp_path / f"{profile}-{kind}.png"))
        finally:
            browser.close()
