"""Raw files compressed in place stay byte-exact, replayable and ingested once.

Tiny hand-written answers in the API's format; the last test ingests through the
pipeline on the real boundaries (``realdata``).
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import re
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from trygghetskarta import pipeline, store
from trygghetskarta.cli import app
from trygghetskarta.config import load_settings
from trygghetskarta.errors import ConfigError, SourceError
from trygghetskarta.pipeline import housekeeping, runlock
from trygghetskarta.sources import fires, polisen, polisen_api, raw_files

REPO = Path(__file__).resolve().parents[1]
DAY = 86_400

EVENT = {
    "id": 900001,
    "datetime": "2026-08-22 17:00:00 +02:00",
    "name": "22 augusti 16.01, Misshandel, Stockholm",
    "summary": "Misshandel på Götgatan, Södermalm – två gripna.",
    "url": "/aktuellt/handelser/2026/augusti/22/22-augusti-16.01-misshandel-stockholm/",
    "type": "Misshandel",
    "location": {"name": "Stockholms län", "gps": "59.602496,18.138438"},
}


def _age(path: Path, days: float) -> None:
    """Set the file's modification time ``days`` ago."""
    when = time.time() - days * DAY
    os.utime(path, (when, when))


@pytest.mark.parametrize(
    "body",
    [
        json.dumps([EVENT], ensure_ascii=False).encode("utf-8"),
        b"",
        "<html><h1>Rån, Södermalm</h1>\r\n<p>ÅÄÖ \u2028 \x00</p></html>".encode(),
        os.urandom(300_000),
    ],
    ids=["api-answer", "empty", "html-page", "binary-300k"],
)
def test_compression_is_byte_exact_keeps_the_time_and_removes_the_plain_file(tmp_path, body):
    path = tmp_path / "polisen" / "a.json"
    path.parent.mkdir()
    path.write_bytes(body)
    _age(path, 40)
    mtime = path.stat().st_mtime_ns
    packed = raw_files.compress_file(path)
    assert packed == tmp_path / "polisen" / "a.json.gz"
    assert not path.exists()
    assert gzip.decompress(packed.read_bytes()) == body  # any gunzip gives the original back
    assert raw_files.read_bytes(packed) == body
    with raw_files.open_binary(packed) as fh:
        assert fh.read() == body
    assert packed.stat().st_mtime_ns == mtime
    assert [p.name for p in packed.parent.iterdir()] == ["a.json.gz"]  # no temporary left


def test_only_old_text_files_in_the_fetch_folders_are_compressed(tmp_path):
    files = {
        "README.md": 40,  # the folder's own README, at the top: never
        "polisen/polisen_20260101T000000.000000Z_all.json": 40,
        "polisen/polisen_20260301T000000.000000Z_all.json": 5,  # too young
        "polisen/meta/polisen_20260101T000000.000000Z_all.json": 40,
        "polisen/rejected/polisen_20260101T000000.000000Z_all.html": 40,
        "polisen/pages/650297.html": 40,
        "polisen/.polisen_x.json.123.abcd.tmp": 40,  # a write in progress
        "polisen/archive.parquet": 40,  # not text
        ".http/polisen.se.calls.json": 40,  # the throttle's state
        "mcf/b11_0180_2024.json": 40,
        "boundaries/districts.geojson": 40,  # input data, not a fetch folder
    }
    for name, days in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name, encoding="utf-8")
        _age(path, days)
    done = raw_files.compress_older(tmp_path, cutoff=time.time() - 30 * DAY)
    compressed = sorted(str(p.relative_to(tmp_path)) for p in done.files)
    assert compressed == [
        "mcf/b11_0180_2024.json.gz",
        "polisen/meta/polisen_20260101T000000.000000Z_all.json.gz",
        "polisen/pages/650297.html.gz",
        "polisen/polisen_20260101T000000.000000Z_all.json.gz",
        "polisen/rejected/polisen_20260101T000000.000000Z_all.html.gz",
    ]
    # each file holds its own relative name
    assert done.bytes_before == sum(len(name) for name in compressed) - 3 * len(compressed)
    assert done.bytes_after == sum(p.stat().st_size for p in done.files)
    for name in files:
        if f"{name}.gz" not in compressed:
            assert (tmp_path / name).read_text(encoding="utf-8") == name
    again = raw_files.compress_older(tmp_path, cutoff=time.time() - 30 * DAY)
    assert again.files == [] and again.settled == []


def test_a_compression_killed_between_its_renames_is_settled_and_listed_once(tmp_path):
    plain = tmp_path / "polisen" / "polisen_20260101T000000.000000Z_all.json"
    plain.parent.mkdir()
    plain.write_bytes(b"[]")
    _age(plain, 40)
    (plain.parent / (plain.name + ".gz")).write_bytes(gzip.compress(b"[]"))  # both present
    assert raw_files.find(plain.parent, "*.json") == [plain]
    done = raw_files.compress_older(tmp_path, cutoff=time.time() - 30 * DAY)
    assert done.settled == [plain] and done.files == []
    assert [p.name for p in raw_files.find(plain.parent, "*.json")] == [plain.name + ".gz"]


def test_a_broken_compressed_file_is_refused_with_one_sentence(tmp_path):
    path = tmp_path / "a.json.gz"
    path.write_bytes(gzip.compress(json.dumps([EVENT]).encode())[:-12])  # cut short
    with pytest.raises(SourceError, match=r"is not a complete gzip file .* restore it"):
        raw_files.read_bytes(path)
    with pytest.raises(SourceError, match="is not a complete gzip file"):
        polisen.read_records([path])


def test_find_lists_plain_and_compressed_files_in_time_order(tmp_path):
    names = [f"polisen_2026010{d}T000000.000000Z_all.json" for d in range(1, 6)]
    for i, name in enumerate(names):
        body = json.dumps([EVENT | {"id": 900000 + i}]).encode()
        path = tmp_path / name
        if i % 2:
            path = tmp_path / f"{name}.gz"
            body = gzip.compress(body)
        path.write_bytes(body)
    (tmp_path / "polisen_20260101T000000.000000Z_other.jsonl").write_bytes(b"")
    found = raw_files.find(tmp_path, "polisen_*.json")
    assert [raw_files.logical_name(p) for p in found] == names
    assert [p.name.endswith(".gz") for p in found] == [False, True, False, True, False]
    assert raw_files.existing(tmp_path / names[1]) == tmp_path / f"{names[1]}.gz"
    assert raw_files.existing(tmp_path / "missing.json") is None
    # the API client compares with the last answer of the same query, compressed or not
    assert polisen_api.saved_answers(tmp_path.parent, {}) == []
    (tmp_path.parent / "polisen").mkdir()
    for p in found:
        shutil.copy2(p, tmp_path.parent / "polisen" / p.name)
    saved = polisen_api.saved_answers(tmp_path.parent, {})
    assert [raw_files.logical_name(p) for p in saved] == names


def test_a_compressed_answer_reads_as_the_plain_one(test_data, tmp_path):
    plain = tmp_path / "api_events.json"
    shutil.copy(test_data / "polisen" / "api_events.json", plain)
    expected = polisen.read_records([plain]).drop(columns="source_file")
    packed = raw_files.compress_file(plain)
    got = polisen.read_records([packed])
    assert (got["source_file"] == str(packed)).all()
    pd.testing.assert_frame_equal(got.drop(columns="source_file"), expected)


@pytest.mark.parametrize("name", ["b11_0180_2024_json.json", "b11_0180_2024_jsonstat2.json"])
def test_a_compressed_b11_answer_reads_as_the_plain_one(test_data, tmp_path, name):
    mcf = tmp_path / "raw" / "mcf"
    mcf.mkdir(parents=True)
    plain = mcf / name
    shutil.copy(test_data / "pxweb" / name, plain)
    expected = fires.parse_b11(plain, kommun_names={"0180": "Stockholm"})
    packed = raw_files.compress_file(plain)
    assert fires.file_kind(packed) == "b11"
    assert fires.discover(tmp_path / "data", tmp_path / "raw") == [packed]
    got = fires.parse_b11(packed, kommun_names={"0180": "Stockholm"})
    pd.testing.assert_frame_equal(
        got.drop(columns="source_file"), expected.drop(columns="source_file")
    )


@pytest.mark.realdata
def test_a_compressed_answer_is_not_ingested_again(shared_data, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for folder in ("boundaries", "gazetteer", "population"):
        (data / folder).symlink_to(shared_data / folder)
    polls = tmp_path / "checkout" / "data" / "raw" / "polisen"
    polls.mkdir(parents=True)
    first = polls / "polisen_20260822T000000.000000Z_all.json"
    first.write_text(json.dumps([EVENT], ensure_ascii=False), encoding="utf-8")
    env = {"TRYGGHETSKARTA_DATA": str(data), "TRYGGHETSKARTA_PROCESSED": str(tmp_path / "out")}
    settings = load_settings(tmp_path / "checkout", env=env)
    con = store.connect(tmp_path / "t.duckdb")
    try:
        before = pipeline.ingest(settings, con, source="polisen").counts["sources"]["polisen"]
        raw_files.compress_file(first)
        second = polls / "polisen_20260823T000000.000000Z_all.json"  # a later, edited answer
        edited = EVENT | {"summary": "Misshandel på Götgatan, Södermalm – tre gripna."}
        second.write_text(json.dumps([edited], ensure_ascii=False), encoding="utf-8")
        after = pipeline.ingest(settings, con, source="polisen").counts["sources"]["polisen"]
        versions = con.execute("SELECT count(*) FROM event_versions").fetchone()[0]
    finally:
        con.close()
    assert (before["read"], before["loaded"]) == (1, 1)
    assert after["files_skipped"] == [str(first) + ".gz"]  # same key as the plain file
    assert after["files"] == [str(second)]
    assert (after["read"], after["loaded"], after["updated"]) == (1, 0, 1)
    assert versions == 2


# --------------------------------------------------------------------------- settings and CLI


def _project(tmp_path: Path, toml: str | None = None) -> Path:
    project = tmp_path / "checkout"
    (project / "data" / "raw" / "polisen").mkdir(parents=True)
    if toml is not None:
        (project / "trygghetskarta.toml").write_text(toml, encoding="utf-8")
    return project


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        (None, (30, True)),
        ("[raw]\ncompress_after_days = 7\n", (7, True)),
        ("[raw]\ncompress_after_days = 0\ncompress = false\n", (0, False)),
    ],
    ids=["default", "seven-days", "everything-but-not-in-run"],
)
def test_raw_settings_come_from_the_raw_table(tmp_path, toml, expected):
    settings = load_settings(_project(tmp_path, toml), env={})
    raw = housekeeping.raw_settings(settings)
    assert (raw.compress_after_days, raw.compress) == expected


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("[raw]\ncompress_after_day = 7\n", r"unknown keys \['compress_after_day'\] in .*\[raw\]"),
        ("[raw]\ncompress_after_days = -1\n", r"whole number of days ≥ 0, got -1 — e\.g\."),
        ('[raw]\ncompress_after_days = "30"\n', r"whole number of days ≥ 0, got '30'"),
        ('[raw]\ncompress = "yes"\n', r"compress in .* must be true or false, got 'yes'"),
        ("raw = 30\n", r"'raw' in .* must be a table, got 30"),
    ],
    ids=["misspelt", "negative", "text", "not-a-bool", "not-a-table"],
)
def test_a_bad_raw_table_is_one_sentence(tmp_path, toml, expected):
    settings = load_settings(_project(tmp_path, toml), env={})
    with pytest.raises(ConfigError, match=expected):
        housekeeping.raw_settings(settings)


def _cli(project: Path, *args: str):
    with contextlib.chdir(project):
        return CliRunner().invoke(
            app, list(args), env={"TRYGGHETSKARTA_PROCESSED": str(project / "out")}
        )


def test_raw_compress_compresses_what_is_older_than_asked(tmp_path):
    project = _project(tmp_path, "[raw]\ncompress_after_days = 10\n")
    polls = project / "data" / "raw" / "polisen"
    for name, days in (("a.json", 40), ("b.json", 20), ("c.json", 2)):
        (polls / name).write_bytes(json.dumps([EVENT]).encode() * 50)
        _age(polls / name, days)
    result = _cli(project, "raw", "compress")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in polls.iterdir()) == ["a.json.gz", "b.json.gz", "c.json"]
    assert re.fullmatch(
        r"2 files compressed: [\d.]+ kB → [\d.]+ k?B \([\d.]+ kB saved\) in \S+\n", result.output
    )
    result = _cli(project, "raw", "compress", "--older-than", "0")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in polls.iterdir()) == ["a.json.gz", "b.json.gz", "c.json.gz"]
    assert _cli(project, "raw", "compress", "--older-than", "-1").exit_code == 2


def test_raw_compress_waits_for_no_run_it_refuses_at_once(tmp_path):
    project = _project(tmp_path)
    settings = load_settings(project, env={"TRYGGHETSKARTA_PROCESSED": str(project / "out")})
    with runlock.run_lock(settings.run_lock_path, "run"):
        result = _cli(project, "raw", "compress")
    assert result.exit_code == 1
    assert result.output.startswith(f"error: another run is in progress (pid {os.getpid()}, ")
    assert "`trygghetskarta run`" in result.output
