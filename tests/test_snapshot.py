"""Readers never block the writer, and one run at a time.

The batch writes its own database and publishes a read-only snapshot when a run ends; a
reader in another process keeps its view through a whole run. The run lock is an OS file
lock: a second run stops at once naming the first, and a killed run leaves no stale lock.
Small tables made here; the end-to-end tests (``realdata``) run the pipeline on the real
boundaries and 100 real police events, in real processes.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from trygghetskarta import pipeline, store
from trygghetskarta.cli import app
from trygghetskarta.config import load_settings
from trygghetskarta.errors import RunLockedError, StoreError
from trygghetskarta.pipeline import runlock

REPO = Path(__file__).resolve().parents[1]
FIXTURE_EVENTS = "police_events/fixture_stockholm_100_api_format.json"
ENV = os.environ | {"PYTHONPATH": str(REPO / "src")}


def _python(code: str, *args: str, **kwargs) -> subprocess.Popen:
    """Another Python process running ``code`` with this checkout's package."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env=ENV,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def _db(path: Path, runs: list[str], rows: int) -> None:
    """A database with ``rows`` rows in ``runs_made`` … and these runs, written read-write."""
    con = store.connect(path)
    try:
        con.execute("CREATE OR REPLACE TABLE numbers AS SELECT range AS n FROM range(?)", [rows])
        for run_id in runs:
            con.execute(
                "INSERT INTO runs (run_id, command, started_at, status) VALUES (?, 'run', ?, 'ok')",
                [run_id, pd.Timestamp("2026-12-03 02:00", tz="Europe/Stockholm")],
            )
    finally:
        con.close()


def _count(path: Path, query: str = "SELECT count(*) FROM numbers") -> int:
    con = store.connect(path)
    try:
        return con.execute(query).fetchone()[0]
    finally:
        con.close()


# --------------------------------------------------------------------------- snapshot


def test_a_published_snapshot_is_read_only_and_opens_read_only_by_default(tmp_path):
    work, snapshot = tmp_path / ".work" / "t.duckdb", tmp_path / "t.duckdb"
    _db(work, ["r1"], 10)
    store.publish(work, snapshot)
    assert stat.S_IMODE(snapshot.stat().st_mode) == store.SNAPSHOT_MODE
    assert store.is_snapshot(snapshot) and not store.is_snapshot(work)
    con = store.connect(snapshot)  # no argument: read-only, as an analyst would open it
    try:
        assert con.execute("SELECT count(*) FROM numbers").fetchone()[0] == 10
        with pytest.raises(Exception, match="read-only"):
            con.execute("CREATE TABLE mine (x INT)")
    finally:
        con.close()
    with pytest.raises(StoreError, match=r"read-only on disk: it is the snapshot .*\(chmod u\+w\)"):
        store.connect(snapshot, read_only=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".work", "t.duckdb"]  # no temporary


def test_a_failed_run_keeps_the_data_and_records_its_runs(tmp_path):
    work, snapshot = tmp_path / ".work" / "t.duckdb", tmp_path / "t.duckdb"
    _db(work, ["good"], 10)
    store.publish(work, snapshot)
    _db(work, ["failed"], 99)  # the failed run changed the batch's data half-way
    store.publish(work, snapshot, data=False)
    assert _count(snapshot) == 10
    assert _count(snapshot, "SELECT string_agg(run_id, ',' ORDER BY run_id) FROM runs") == (
        "failed,good"
    )


def test_a_first_run_that_fails_publishes_an_empty_database_with_its_runs(tmp_path):
    work, snapshot = tmp_path / ".work" / "t.duckdb", tmp_path / "t.duckdb"
    _db(work, ["failed"], 5)
    store.publish(work, snapshot, data=False)
    assert _count(snapshot, "SELECT count(*) FROM runs") == 1
    assert _count(snapshot, "SELECT count(*) FROM events") == 0
    con = store.connect(snapshot)
    try:
        assert not store.has_table(con, "numbers")
    finally:
        con.close()


def test_the_batch_starts_from_a_database_written_by_an_older_version(tmp_path):
    work, legacy = tmp_path / ".work" / "t.duckdb", tmp_path / "t.duckdb"
    _db(legacy, ["old"], 7)  # written in place, writable, as before snapshots
    assert store.seed_work(work, legacy)
    assert not store.seed_work(work, legacy)  # only once
    assert _count(work) == 7
    _db(work, ["new"], 8)
    store.publish(work, legacy)
    assert _count(legacy) == 8 and store.is_snapshot(legacy)


def test_what_a_killed_publication_left_is_removed(tmp_path):
    snapshot = tmp_path / "t.duckdb"
    left = tmp_path / ".t.duckdb.publish.4711.abcd1234.tmp"
    left.write_bytes(b"half")
    other = tmp_path / ".other.duckdb.publish.1.a.tmp"
    other.write_bytes(b"not ours")
    assert store.remove_stale(snapshot) == [left]
    assert other.exists()


_READER = """
    import sys
    from trygghetskarta import store
    con = store.connect(sys.argv[1])
    query = sys.argv[2]
    print(con.execute(query).fetchone()[0], flush=True)
    sys.stdin.readline()
    print(con.execute(query).fetchone()[0], flush=True)
    con.close()
"""


def test_a_reader_in_another_process_keeps_its_view_while_a_snapshot_is_published(tmp_path):
    work, snapshot = tmp_path / ".work" / "t.duckdb", tmp_path / "t.duckdb"
    _db(work, ["r1"], 10)
    store.publish(work, snapshot)
    reader = _python(_READER, str(snapshot), "SELECT count(*) FROM numbers")
    try:
        assert reader.stdout.readline().strip() == "10"
        _db(work, ["r2"], 20)  # the batch writes its own file while the reader reads
        store.publish(work, snapshot)
        assert _count(snapshot) == 20  # a new connection sees the new data
        out, err = reader.communicate("\n", timeout=60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            reader.kill()
    assert reader.returncode == 0, err
    assert out.strip() == "10"  # the reader's connection still sees its snapshot


# --------------------------------------------------------------------------- lock


_HOLDER = """
    import sys
    from pathlib import Path
    from trygghetskarta.pipeline import runlock
    with runlock.run_lock(Path(sys.argv[1]), "ingest geocode analyse maps report"):
        print("locked", flush=True)
        sys.stdin.readline()
"""


def test_a_second_run_stops_at_once_naming_the_first(tmp_path):
    lock = tmp_path / ".work" / "run.lock"
    holder = _python(_HOLDER, str(lock))
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunLockedError) as caught, runlock.run_lock(lock, "run"):
            pytest.fail("the block must not run while another process holds the lock")
        text = str(caught.value)
        assert f"another run is in progress (pid {holder.pid}, started 20" in text
        assert "`trygghetskarta ingest geocode analyse maps report`" in text
        assert f"kill {holder.pid}" in text and "\n" not in text
        running = runlock.current_run(lock)
        assert running is not None and running.pid == holder.pid
        holder.communicate("\n", timeout=60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            holder.kill()
    assert runlock.current_run(lock) is None
    assert lock.read_text(encoding="utf-8") == ""  # released cleanly: no description left
    with runlock.run_lock(lock, "run") as me:
        assert me.pid == os.getpid()


def test_a_killed_run_leaves_no_stale_lock(tmp_path):
    lock = tmp_path / ".work" / "run.lock"
    holder = _python(_HOLDER, str(lock))
    assert holder.stdout.readline().strip() == "locked"
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=60)
    assert json.loads(lock.read_text(encoding="utf-8"))["pid"] == holder.pid  # its note stays
    assert runlock.current_run(lock) is None  # but the kernel released its lock
    with runlock.run_lock(lock, "run") as me:
        assert me.pid == os.getpid()


def test_a_lock_kept_by_a_child_of_a_finished_run_is_named_as_such(tmp_path):
    lock = tmp_path / ".work" / "run.lock"
    lock.parent.mkdir()
    lock.write_text(json.dumps({"pid": 2**22 + 12345, "command": "run"}), encoding="utf-8")
    keeper = _python(
        """
        import fcntl, sys
        fd = open(sys.argv[1], "rb")
        fcntl.flock(fd, fcntl.LOCK_EX)
        print("locked", flush=True)
        sys.stdin.readline()
        """,
        str(lock),
    )
    try:
        assert keeper.stdout.readline().strip() == "locked"
        ended = pytest.raises(RunLockedError, match=r"has ended — .* `fuser -v ")
        with ended, runlock.run_lock(lock, "run"):
            pytest.fail("the block must not run")
    finally:
        keeper.kill()
        keeper.wait(timeout=60)


# --------------------------------------------------------------------------- whole runs


@pytest.fixture(scope="module")
def small_project(shared_data, tmp_path_factory) -> Path:
    """A project with the real boundaries and 100 real police events after one good run."""
    root = tmp_path_factory.mktemp("snapshot")
    data = root / "data"
    data.mkdir()
    for folder in ("boundaries", "gazetteer", "population"):
        (data / folder).symlink_to(shared_data / folder)
    raw = root / "project" / "data" / "raw" / "polisen"
    raw.mkdir(parents=True)
    shutil.copy(shared_data / FIXTURE_EVENTS, raw / "polisen_20260822T000000.000000Z_all.json")
    report = pipeline.run(_settings(root))
    assert report.status == "ok"
    return root


def _env(root: Path) -> dict[str, str]:
    return {
        "TRYGGHETSKARTA_DATA": str(root / "data"),
        "TRYGGHETSKARTA_PROCESSED": str(root / "project" / "data" / "processed"),
    }


def _settings(root: Path):
    return load_settings(root / "project", env=_env(root))


@pytest.fixture
def project(small_project, tmp_path) -> Path:
    root = tmp_path / "copy"
    shutil.copytree(small_project, root, symlinks=True)
    return root


def _cli(root: Path, *args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "trygghetskarta", *args],
        cwd=root / "project",
        env=ENV | _env(root) | {"COLUMNS": "300"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def _new_answer(root: Path, n: int) -> None:
    """A later poll with ``n`` new Stockholm events."""
    events = [
        {
            "id": 990000 + i,
            "datetime": f"2026-08-23 1{i}:00:00 +02:00",
            "name": f"23 augusti 1{i}.00, Misshandel, Stockholm",
            "summary": "Misshandel på Götgatan, Södermalm.",
            "url": f"/aktuellt/handelser/2026/augusti/23/{i}/",
            "type": "Misshandel",
            "location": {"name": "Stockholms län", "gps": "59.602496,18.138438"},
        }
        for i in range(n)
    ]
    path = (
        root / "project" / "data" / "raw" / "polisen" / "polisen_20260823T180000.000000Z_all.json"
    )
    path.write_text(json.dumps(events, ensure_ascii=False), encoding="utf-8")


_POLICE = "SELECT count(*) FROM events WHERE layer = 'police_event'"


@pytest.mark.realdata
def test_a_whole_run_succeeds_while_another_process_holds_the_database_open(project):
    settings = _settings(project)
    before = _count(settings.db_path, _POLICE)
    runs_before = _count(settings.db_path, "SELECT count(*) FROM runs")
    _new_answer(project, 3)
    reader = _python(_READER, str(settings.db_path), _POLICE)
    try:
        assert reader.stdout.readline().strip() == str(before)
        status = _cli(project, "status")
        status_out, status_err = status.communicate(timeout=300)
        run = _cli(project, "run")  # what `make maps` does
        out, err = run.communicate(timeout=900)
        assert run.returncode == 0, out + err
        again, _ = reader.communicate("\n", timeout=60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            reader.kill()
    assert reader.returncode == 0
    assert again.strip() == str(before)  # the reader's view did not change under it
    assert _count(settings.db_path, _POLICE) == before + 3  # a new connection sees the run
    assert _count(settings.db_path, "SELECT count(*) FROM runs") == runs_before + 1
    assert status.returncode == 0, status_err
    assert re.search(r"database \(published\): [\d.]+ [kMG]?B — ", status_out)
    assert "raw data: " in status_out and "1 compressed" not in status_out
    assert store.is_snapshot(settings.db_path)


@pytest.mark.realdata
def test_a_second_run_while_one_is_running_exits_1_at_once_with_one_sentence(project):
    first = _cli(project, "run")
    lock = _settings(project).run_lock_path
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:  # wait until the first run holds the lock
            holder = runlock.current_run(lock)
            if holder is not None and holder.pid == first.pid:
                break
            assert first.poll() is None, first.communicate()
            time.sleep(0.01)
        second = _cli(project, "run")
        out, err = second.communicate(timeout=120)
        status = _cli(project, "status")
        status_out, _ = status.communicate(timeout=120)
    finally:
        first_out, first_err = first.communicate(timeout=900)
    assert second.returncode == 1
    lines = [x for x in (out + err).splitlines() if x.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: another run is in progress (pid {first.pid}, started ")
    assert "`trygghetskarta ingest geocode analyse forecast maps report`" in lines[0]
    assert f"in progress: pid {first.pid}" in status_out
    assert first.returncode == 0, first_out + first_err  # the first is not disturbed


@pytest.mark.realdata
def test_a_failed_run_leaves_readers_the_last_good_data_and_status_shows_it(project):
    settings = _settings(project)
    before = _count(settings.db_path, _POLICE)
    _new_answer(project, 2)
    reports = settings.processed_dir / "public" / "reports"
    shutil.rmtree(reports)
    reports.write_text("not a folder", encoding="utf-8")  # the report step will fail
    run = _cli(project, "run")
    _, err = run.communicate(timeout=900)
    assert run.returncode == 1
    assert _count(settings.db_path, _POLICE) == before  # readers keep the last good data
    failed = _count(
        settings.db_path,
        "SELECT count(*) FROM runs WHERE status = 'failed' AND message LIKE 'report: %'",
    )
    assert failed == 1  # … and the failure is recorded where status reads it
    assert _count(settings.work_db_path, _POLICE) == before + 2  # the batch keeps its work
    reports.unlink()
    again = _cli(project, "run")
    out, err = again.communicate(timeout=900)
    assert again.returncode == 0, out + err
    assert _count(settings.db_path, _POLICE) == before + 2


@pytest.mark.realdata
def test_a_good_run_compresses_old_raw_answers_and_ingests_nothing_twice(project):
    settings = _settings(project)
    answer = settings.raw_dir / "polisen" / "polisen_20260822T000000.000000Z_all.json"
    original = answer.read_bytes()
    old = pd.Timestamp("2026-01-01").timestamp()
    os.utime(answer, (old, old))
    before = _count(settings.db_path, "SELECT count(*) FROM event_versions")
    run = _cli(project, "run")
    out, err = run.communicate(timeout=900)
    assert run.returncode == 0, out + err
    assert re.search(r"^raw: 1 old file compressed, [\d.]+ kB → [\d.]+ kB$", out, re.M), out
    packed = answer.with_name(answer.name + ".gz")
    assert not answer.exists() and packed.exists()
    assert subprocess.run(["gzip", "-dc", str(packed)], capture_output=True).stdout == original
    again = _cli(project, "ingest", "polisen")
    out, err = again.communicate(timeout=900)
    assert again.returncode == 0, out + err
    con = store.connect(settings.db_path)
    try:
        (last,) = con.execute(
            "SELECT counts FROM runs WHERE command = 'ingest' ORDER BY started_at DESC LIMIT 1"
        ).fetchone()
    finally:
        con.close()
    police = json.loads(last)["steps"]["ingest"]["sources"]["polisen"]
    assert police["read"] == 0 and police["files_skipped"] == [str(packed)]
    assert _count(settings.db_path, "SELECT count(*) FROM event_versions") == before
    status = _cli(project, "status")
    status_out, _ = status.communicate(timeout=120)
    assert re.search(r"raw data: [\d.]+ [kMG]?B in [\d,]+ files \(1 compressed\)", status_out)


def _in_process(root: Path, *args: str):
    with contextlib.chdir(root / "project"):
        return CliRunner().invoke(app, list(args), env=_env(root) | {"COLUMNS": "300"})


@pytest.mark.realdata
def test_a_database_that_cannot_be_published_fails_the_run_with_one_sentence(project, monkeypatch):
    settings = _settings(project)
    before = _count(settings.db_path, "SELECT count(*) FROM runs")
    snapshot_bytes = settings.db_path.read_bytes()

    def full(work, snapshot, *, data=True):
        raise OSError(errno.ENOSPC, "No space left on device", str(snapshot))

    monkeypatch.setattr(store, "publish", full)
    result = _in_process(project, "maps")
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    sentence = (
        f"the database could not be published to {settings.db_path} (no space left to write "
        f"{settings.db_path}) — readers keep the previous snapshot"
    )
    assert sentence in " ".join(result.output.split())
    assert settings.db_path.read_bytes() == snapshot_bytes  # readers keep the last good one
    (run_id, status, message) = _count_row(
        settings.work_db_path,
        "SELECT run_id, status, message FROM runs ORDER BY started_at DESC LIMIT 1",
    )
    assert status == "failed" and message.startswith(f"publish: {sentence}")
    manifest = json.loads((settings.processed_dir / "manifest.json").read_text("utf-8"))
    assert (manifest["run_id"], manifest["status"]) == (run_id, "failed")
    monkeypatch.undo()
    shown = _in_process(project, "status")
    assert shown.exit_code == 0, shown.output
    assert f"run {run_id} failed (only in manifest.json): publish: {sentence}" in " ".join(
        shown.output.split()
    )
    assert _count(settings.db_path, "SELECT count(*) FROM runs") == before
    again = _in_process(project, "maps")  # the next run publishes both
    assert again.exit_code == 0, again.output
    assert _count(settings.db_path, "SELECT count(*) FROM runs") == before + 2


def _count_row(path: Path, query: str) -> tuple:
    con = store.connect(path, read_only=True)
    try:
        return con.execute(query).fetchone()
    finally:
        con.close()
