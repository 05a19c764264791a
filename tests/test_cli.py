"""The command line: help a new user can follow, exit codes 0/1/2, no traceback for user errors."""

from __future__ import annotations

import io
import logging
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from trygghetskarta.cli import app
from trygghetskarta.cli_log import ConsoleHandler
from trygghetskarta.errors import TrygghetskartaWarning

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


def test_a_bad_profile_is_a_usage_error_naming_the_choices(tmp_path):
    result = runner.invoke(
        app, ["maps", "--profile", "secret"], env={"TRYGGHETSKARTA_PROCESSED": str(tmp_path)}
    )
    assert result.exit_code == 2
    assert "'secret' is not one of 'public', 'internal'" in result.output


def test_an_unknown_option_is_a_usage_error():
    assert runner.invoke(app, ["run", "--frobnicate"]).exit_code == 2


def test_status_without_a_database_says_to_ingest_first(tmp_path):
    db = tmp_path / "absent.duckdb"
    result = runner.invoke(app, ["--db", str(db), "status"])
    assert result.exit_code == 1
    sentence = f"error: no database at {db} — run `trygghetskarta ingest` first"
    assert sentence in result.output.splitlines()


#: A folder name long enough that any sentence naming it passes a narrow terminal's width.
LONG = "a-folder-with-a-name-long-enough-to-be-wrapped-by-any-terminal-" * 2
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _cli(args: list[str], *, terminal: bool, out: Path) -> subprocess.CompletedProcess[str]:
    """Run the command in a child process whose terminal is 20 columns wide.

    ``terminal`` makes rich treat stderr as a terminal (``TTY_COMPATIBLE=1``), else as a pipe
    to a log file. ``out`` is its processed folder (never the checkout's data/processed).
    """
    env = os.environ | {
        "COLUMNS": "20",
        "LINES": "10",
        "TTY_COMPATIBLE": "1" if terminal else "0",
        "TRYGGHETSKARTA_PROCESSED": str(out),
    }
    return subprocess.run(
        [sys.executable, "-m", "trygghetskarta", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def _lines(text: str) -> list[str]:
    return [_ANSI.sub("", line) for line in text.splitlines()]


@pytest.mark.parametrize("terminal", [False, True], ids=["piped-to-a-log", "narrow-terminal"])
def test_an_error_is_one_line_whatever_the_terminal(tmp_path, terminal):
    db = tmp_path / LONG / "absent.duckdb"
    done = _cli(["--db", str(db), "status"], terminal=terminal, out=tmp_path / "out")
    assert done.returncode == 1
    sentence = f"error: no database at {db} — run `trygghetskarta ingest` first"
    assert sentence in _lines(done.stderr), done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.realdata
def test_an_error_naming_a_config_section_keeps_its_brackets(shared_data, tmp_path):
    """Messages are text, never rich markup: "[sources.brott.columns]" stays in the sentence."""
    listed = tmp_path / "brott.csv"
    listed.write_text("Diarienummer;Brottsdag;Brottstyp;Plats\nK-1;2024-03-01;Rån;Slussen\n")
    db = tmp_path / "db.duckdb"
    result = runner.invoke(
        app,
        ["--data", str(shared_data), "--db", str(db), "ingest", "brott", str(listed)],
        env={"TRYGGHETSKARTA_PROCESSED": str(tmp_path / "out")},
    )
    assert result.exit_code == 1
    # the summary on stdout (the log on stderr says it as it happens)
    (line,) = [x for x in result.stdout.splitlines() if "no column for occurred_at" in x]
    assert line.startswith("  error: brott: ")
    assert line.endswith(
        """— if it is 'Brottsdag', add [sources.brott.columns] occurred_at = "Brottsdag" to """
        "trygghetskarta.toml"
    )


@pytest.mark.filterwarnings("ignore:.crs. was not provided:UserWarning")
def test_a_boundary_file_without_a_crs_is_one_sentence_and_exit_1(tmp_path):
    data = tmp_path / LONG / "data"
    (data / "boundaries").mkdir(parents=True)
    (data / "police_events").mkdir()
    path = data / "boundaries" / "stadsdelsomraden_13_2021-2023_epsg3011.gpkg"
    square = gpd.GeoSeries.from_wkt(["POLYGON ((0 0, 1 0, 1 1, 0 1, 0 0))"])
    gpd.GeoDataFrame({"name": ["Rinkeby-Kista"]}, geometry=square).to_file(path)
    assert gpd.read_file(path).crs is None
    args = ["--data", str(data), "--db", str(tmp_path / "db.duckdb"), "ingest"]
    done = _cli(args, terminal=False, out=tmp_path / "out")
    assert done.returncode == 1
    (line,) = [x for x in _lines(done.stderr) if x.startswith("error: ")]
    assert line == (
        f"error: the boundary file {path} has no coordinate reference system, expected "
        "EPSG:3006, EPSG:3011, EPSG:4326 — give it the one its coordinates are in (e.g. "
        f"`ogr2ogr -a_srs EPSG:3011 fixed.gpkg {path.name}`) or replace it with the copy from "
        "the shared data"
    )
    assert "Traceback" not in done.stderr


@pytest.mark.realdata
def test_the_summary_is_one_line_per_fact_in_a_narrow_terminal(shared_data, tmp_path):
    db = tmp_path / LONG / "trygghetskarta.duckdb"
    population = shared_data / "population" / "stockholm_population_by_sdo_2010-2024_arsbok.csv"
    args = ["--data", str(shared_data), "--db", str(db), "ingest", "befolkning", str(population)]
    done = _cli(args, terminal=True, out=tmp_path / "out")
    assert done.returncode == 0, done.stderr
    lines = _lines(done.stdout)
    (ingest,) = [x for x in lines if x.startswith("ingest (")]
    assert re.fullmatch(
        r"ingest \([\d.]+ s\): read [\d,]+ = loaded [\d,]+ \+ updated [\d,]+ \+ unchanged "
        r"[\d,]+ \+ quarantined [\d,]+",
        ingest,
    )
    assert f"database: {db}" in lines


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


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/x/sources/polisen.py", id="posix"),
        pytest.param(r"C:\proj\src\polisen.py", id="windows-drive"),
    ],
)
def test_a_warning_reaches_the_log_as_its_message_alone(path):
    text = "unknown police event type 'Drönarlarm: x' mapped to 'other'"
    formatted = warnings.formatwarning(text, TrygghetskartaWarning, path, 158, "warnings.warn(")
    sink = io.StringIO()
    handler = ConsoleHandler(Console(file=sink, soft_wrap=True, color_system=None))
    handler.emit(logging.LogRecord("py.warnings", logging.WARNING, "", 0, "%s", (formatted,), None))
    assert sink.getvalue() == f"warning: {text}\n"
