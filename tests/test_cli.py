"""The command line: help a new user can follow, exit codes 0/1/2, no traceback for user errors."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

from trygghetskarta.cli import app

runner = CliRunner()


def test_help_lists_every_step():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("ingest", "geocode", "analyse", "maps", "report", "run", "status"):
        assert command in result.output


def test_no_data_is_exit_1_with_one_sentence_and_no_traceback(tmp_path):
    env = {"TRYGGHETSKARTA_DATA": str(tmp_path / "none"), "TRYGGHETSKARTA_PROCESSED": str(tmp_path)}
    result = runner.invoke(app, ["run"], env=env)
    assert result.exit_code == 1
    assert "no input data found" in result.output
    assert "Traceback" not in result.output


def test_a_bad_profile_is_exit_1_naming_the_choices(tmp_path):
    result = runner.invoke(
        app, ["maps", "--profile", "secret"], env={"TRYGGHETSKARTA_PROCESSED": str(tmp_path)}
    )
    assert result.exit_code == 1
    assert "profile must be one of" in result.output


def test_an_unknown_option_is_a_usage_error():
    assert runner.invoke(app, ["run", "--frobnicate"]).exit_code == 2


def test_status_without_a_database_says_to_ingest_first(tmp_path):
    result = runner.invoke(app, ["--db", str(tmp_path / "absent.duckdb"), "status"])
    assert result.exit_code == 1
    assert "run `trygghetskarta ingest` first" in result.output


def test_python_dash_m_is_the_same_command():
    done = subprocess.run(
        [sys.executable, "-m", "trygghetskarta", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0
    assert "ingest" in done.stdout


@pytest.mark.realdata
def test_status_lists_the_runs(real_run):
    settings, report = real_run
    result = runner.invoke(app, ["--db", str(settings.db_path), "status"], env={"COLUMNS": "250"})
    assert result.exit_code == 0
    assert report.run_id[:10] in result.output


@pytest.mark.realdata
def test_geocode_a_file_it_has_never_seen(shared_data, tmp_path):
    source = shared_data / "police_events" / "api_snapshot_2026-08-22T1754Z_all.json"
    out = tmp_path / "placed.csv"
    result = runner.invoke(
        app, ["--data", str(shared_data), "geocode", str(source), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    placed = pd.read_csv(out)
    assert len(placed) == 500  # one row per event in the answer
    assert set(placed.columns) >= {"id", "x", "y", "precision", "stadsdel", "stadsdelsomrade"}
    stockholm = placed[placed["precision"].isin(["place", "street", "stadsdel", "stadsdelsomrade"])]
    assert len(stockholm) > 0 and stockholm["stadsdelsomrade"].notna().all()


def test_geocode_of_a_missing_file_is_exit_1_naming_it(tmp_path):
    result = runner.invoke(app, ["geocode", str(tmp_path / "nope.json")])
    assert result.exit_code == 1
    assert "nope.json" in result.output
    assert "Traceback" not in result.output
