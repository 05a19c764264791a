"""A failed run says so, and public and internal outputs never share a path.

Pure tests cover the sentences of environmental errors, the staged publication of a
folder and the internal band. The tests marked ``realdata`` run the pipeline on a small
project (the real boundaries and population, 100 real police events) and then break it:
a read-only ``public/`` (a real read-only bind mount where the sandbox allows mounts), a
``reports`` path that is a file, a step killed with SIGKILL while it writes, a bug.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from trygghetskarta import pipeline, store
from trygghetskarta.cli import app
from trygghetskarta.config import load_settings
from trygghetskarta.errors import EncodingError, OutputError, environment_error
from trygghetskarta.pipeline import outputs, publish
from trygghetskarta.render import mark_internal
from trygghetskarta.render.marking import BAND_TEXT, NOINDEX

REPO = Path(__file__).resolve().parents[1]
FIXTURE_EVENTS = "police_events/fixture_stockholm_100_api_format.json"


# --------------------------------------------------------------------------- sentences


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (errno.ENOSPC, "no space left to write"),
        (errno.EDQUOT, "no space left to write"),
        (errno.EROFS, "the file system is read-only"),
        (errno.EACCES, "no permission to write"),
        (errno.EPERM, "no permission to write"),
        (errno.EISDIR, "it is a folder where a file is expected"),
        (errno.EIO, "Input/output error"),
    ],
    ids=["enospc", "edquot", "erofs", "eacces", "eperm", "eisdir", "other"],
)
def test_an_environmental_error_is_one_sentence_naming_the_path_and_the_fix(
    tmp_path, code, expected
):
    path = tmp_path / "public" / "maps" / "stockholm.html"
    error = environment_error(OSError(code, os.strerror(code), str(path)))
    text = str(error)
    assert isinstance(error, OutputError) and isinstance(error, OSError)
    assert expected in text
    assert str(path) in text
    assert " — " in text and "run again" in text  # the fix
    assert "\n" not in text and "Traceback" not in text


def test_a_file_where_a_folder_is_expected_names_that_file(tmp_path):
    (tmp_path / "public").write_text("not a folder", encoding="utf-8")
    path = tmp_path / "public" / "maps"
    try:
        path.mkdir(parents=True)
    except OSError as e:
        text = str(environment_error(e))
    assert f"{tmp_path / 'public'} is a file where a folder is expected" in text
    assert "move that file away" in text


def test_the_path_given_is_named_when_the_error_has_none(tmp_path):
    text = str(environment_error(OSError(errno.ENOSPC, "No space left on device"), tmp_path))
    assert f"no space left to write {tmp_path}" in text


def test_text_that_cannot_be_encoded_is_one_sentence(tmp_path):
    try:
        "Rinkeby \ud800".encode()
    except UnicodeError as e:
        error = environment_error(e, tmp_path / "x.html")
    assert isinstance(error, EncodingError) and isinstance(error, UnicodeError)
    assert str(tmp_path / "x.html") in str(error)
    assert "not valid UTF-8" in str(error)


# --------------------------------------------------------------------------- staging


def _fill(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")


def _contents(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2-exchange", "two-renames"])
def test_a_staged_folder_replaces_the_previous_set_only_when_complete(
    tmp_path, monkeypatch, exchange
):
    if not exchange:
        monkeypatch.setattr(outputs, "_exchange", lambda a, b: False)
    target = tmp_path / "public" / "maps"
    with outputs.staged_folder(target, "run1") as staging:
        _fill(staging, {"a.html": "1", "b.html": "1"})
        assert not target.exists()  # nothing is published before the block ends
    assert _contents(target) == {"a.html": "1", "b.html": "1"}
    with outputs.staged_folder(target, "run2") as staging:
        _fill(staging, {"a.html": "2"})
        assert _contents(target) == {"a.html": "1", "b.html": "1"}
    assert _contents(target) == {"a.html": "2"}  # the new set, not a mix
    assert sorted(p.name for p in target.parent.iterdir()) == ["maps"]


def test_a_failure_while_staging_leaves_the_previous_set(tmp_path):
    target = tmp_path / "maps"
    with outputs.staged_folder(target, "run1") as staging:
        _fill(staging, {"a.html": "old"})
    with pytest.raises(RuntimeError, match="half-way"), outputs.staged_folder(target, "run2") as s:
        _fill(s, {"a.html": "new"})
        raise RuntimeError("half-way")
    assert _contents(target) == {"a.html": "old"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["maps"]


def test_a_target_that_is_a_file_is_refused_and_kept(tmp_path):
    target = tmp_path / "reports"
    target.write_text("someone's notes", encoding="utf-8")
    refused = pytest.raises(OutputError, match="is a file where a folder is expected")
    with refused, outputs.staged_folder(target, "run1"):
        pytest.fail("the block must not run")
    assert target.read_text(encoding="utf-8") == "someone's notes"


def test_stale_staging_is_removed_and_a_half_swapped_set_restored(tmp_path):
    target = tmp_path / "maps"
    stale = tmp_path / ".staging-run0-maps"
    stale.mkdir()
    _fill(stale, {"a.html": "half"})
    previous = tmp_path / ".previous-run0-maps"  # killed between the two renames
    previous.mkdir()
    _fill(previous, {"a.html": "complete"})
    other = tmp_path / ".staging-run0-reports"  # another folder's: not this one's business
    other.mkdir()
    removed = outputs.clean_stale_staging(target)
    assert set(removed) == {stale, previous}
    assert _contents(target) == {"a.html": "complete"}
    assert other.is_dir()


def test_a_read_only_parent_gives_one_sentence_naming_the_target(tmp_path, monkeypatch):
    """EROFS simulated at the OS boundary (the real mount is tested below)."""
    target = tmp_path / "public" / "maps"
    target.parent.mkdir()
    real_mkdir = os.mkdir

    def read_only(path, *args, **kwargs):
        if Path(path).parent == target.parent:
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", read_only)
    with pytest.raises(OutputError) as caught, outputs.staged_folder(target, "run1"):
        pytest.fail("the block must not run")
    assert str(caught.value).startswith(f"cannot write {target}: the file system is read-only")


# --------------------------------------------------------------------------- band


_PAGE = (
    "<!DOCTYPE html>\n<html>\n<head>\n<script>var s = '<body>';</script>\n</head>\n"
    '<body class="x">\n<main>text</main>\n</body>\n</html>\n'
)


def test_an_internal_page_gets_the_band_first_in_its_body_and_noindex_in_its_head():
    page = mark_internal(_PAGE)
    head, body = page.split("</head>")
    assert NOINDEX in head and "tk-internt" in head
    assert "@media print" in head
    assert body.lstrip("\n").startswith('<body class="x">')
    first = body.split('<body class="x">', 1)[1].lstrip()
    assert first.startswith(f'<div class="tk-internt" role="note">{BAND_TEXT}</div>')
    assert "var s = '<body>';" in head  # a '<body>' inside the head is left alone
    assert page.count(BAND_TEXT) == 1


@pytest.mark.parametrize(
    "page", ["<p>no page</p>", "<html><head></head></html>"], ids=["fragment", "no-body"]
)
def test_marking_a_fragment_is_refused(page):
    with pytest.raises(ValueError, match="expected a whole HTML page"):
        mark_internal(page)


# --------------------------------------------------------------------------- small project


@pytest.fixture(scope="module")
def small_project(shared_data, tmp_path_factory) -> Path:
    """A project with the real boundaries and 100 real police events after one good run."""
    root = tmp_path_factory.mktemp("small")
    data = root / "data"
    data.mkdir()
    for folder in ("boundaries", "gazetteer", "population"):
        (data / folder).symlink_to(shared_data / folder)
    raw = root / "project" / "data" / "raw" / "polisen"
    raw.mkdir(parents=True)
    shutil.copy(shared_data / FIXTURE_EVENTS, raw / "polisen_20260822T000000000000Z_all.json")
    report = pipeline.run(_settings(root))
    assert report.status == "ok"
    return root


def _env(root: Path) -> dict[str, str]:
    return {
        "TRYGGHETSKARTA_DATA": str(root / "data"),
        "TRYGGHETSKARTA_PROCESSED": str(root / "project" / "data" / "processed"),
    }


def _settings(root: Path, **overrides):
    return load_settings(root / "project", env=_env(root), **overrides)


@pytest.fixture
def project(small_project, tmp_path) -> Path:
    """A copy of the small project (its database and outputs) that a test may break."""
    root = tmp_path / "copy"
    shutil.copytree(small_project, root, symlinks=True)
    return root


def _hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _cli(root: Path, *args: str):
    """The CLI as a user runs it in the project folder."""
    with contextlib.chdir(root / "project"):
        return CliRunner().invoke(app, list(args), env=_env(root) | {"COLUMNS": "300"})


def _runs(root: Path, *, batch: bool = False) -> list[tuple]:
    """The runs as readers see them (the published snapshot), or in the batch's database."""
    settings = _settings(root)
    con = store.connect(settings.work_db_path if batch else settings.db_path, read_only=True)
    try:
        return con.execute(
            "SELECT run_id, command, status, message FROM runs ORDER BY started_at"
        ).fetchall()
    finally:
        con.close()


def _manifest(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _assert_manifest_describes_its_folder(folder: Path) -> None:
    body = _manifest(folder / "manifest.json")
    listed = {f["name"]: f["sha256"] for f in body["files"]}
    beside = {k: v for k, v in _hashes(folder).items() if k != "manifest.json"}
    assert listed == beside


@pytest.mark.realdata
def test_a_good_run_publishes_each_folder_with_a_manifest_of_its_files(small_project):
    processed = _settings(small_project).processed_dir
    assert sorted(p.name for p in (processed / "public").iterdir()) == [
        "index.html",
        "maps",
        "reports",
    ]
    assert not (processed / "internal").exists()
    assert not (processed / "maps").exists() and not (processed / "reports").exists()
    for kind, n in (("maps", 12), ("reports", 11)):
        folder = processed / "public" / kind
        assert len(list(folder.glob("*.html"))) == n
        _assert_manifest_describes_its_folder(folder)
    top = _manifest(processed / "manifest.json")
    assert top["status"] == "ok" and top["message"] is None
    assert top["outputs"]["public/maps"]["run_id"] == top["run_id"]
    assert top["outputs"]["public/reports"]["files"] == 11
    assert not any(p.name.startswith((".staging-", ".previous-")) for p in processed.rglob("*"))


@pytest.fixture(scope="module")
def internal_run(small_project, tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A copy of the small project after `maps` and `report --profile internal`, and the
    hashes of its public files before those two commands."""
    root = tmp_path_factory.mktemp("internal") / "copy"
    shutil.copytree(small_project, root, symlinks=True)
    before = _hashes(_settings(root).processed_dir / "public")
    for command in ("maps", "report"):
        result = _cli(root, command, "--profile", "internal")
        assert result.exit_code == 0, result.output
    return root, before


@pytest.mark.realdata
def test_internal_maps_and_reports_leave_every_public_file_byte_identical(internal_run):
    project, before = internal_run
    public = _settings(project).processed_dir / "public"
    assert _hashes(public) == before
    internal = _settings(project).processed_dir / "internal"
    pages = sorted(internal.rglob("*.html"))
    assert len(pages) == 24  # 12 maps, 11 reports and the index
    for page in pages:
        text = page.read_text(encoding="utf-8")
        head, body = text.split("</head>", 1)
        assert NOINDEX in head, page
        assert BAND_TEXT in body, page
    for page in public.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert BAND_TEXT not in text and NOINDEX not in text, page
    _assert_manifest_describes_its_folder(internal / "maps")
    _assert_manifest_describes_its_folder(internal / "reports")


def _unmount(path: Path) -> None:
    """Unmount, lazily if a handle is still open, so that no mount outlives the test."""
    if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(path)], check=True)


@contextlib.contextmanager
def _read_only_mount(path: Path) -> Iterator[None]:
    """``path`` as a read-only bind mount of itself; skips where mounts are not allowed."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a read-only bind mount needs root and mount(8)")
    bind = subprocess.run(["mount", "--bind", str(path), str(path)], capture_output=True)
    if bind.returncode != 0:
        pytest.skip(f"this sandbox allows no bind mounts: {bind.stderr.decode().strip()}")
    try:
        ro = subprocess.run(
            ["mount", "-o", "remount,ro,bind", str(path)], capture_output=True, check=False
        )
        if ro.returncode != 0:
            pytest.skip(f"this sandbox cannot remount read-only: {ro.stderr.decode().strip()}")
        yield
    finally:
        _unmount(path)


@pytest.mark.realdata
def test_a_read_only_public_folder_fails_the_run_with_one_sentence(project):
    processed = _settings(project).processed_dir
    public = processed / "public"
    before = _hashes(public)
    with _read_only_mount(public):
        result = _cli(project, "run")
        status = _cli(project, "status")
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # no traceback: typer's Exit(1)
    assert "Traceback" not in result.output
    sentence = f"cannot write {public / 'maps'}: the file system is read-only"
    assert sentence in " ".join(result.output.split())
    *_, (run_id, _, run_status, message) = _runs(project)
    assert run_status == "failed"
    assert message.startswith(f"maps: {sentence}")
    assert f"run {run_id} failed: maps: {sentence}" in status.output
    manifest = _manifest(processed / "manifest.json")
    assert (manifest["run_id"], manifest["status"]) == (run_id, "failed")
    assert manifest["message"] == message
    assert _hashes(public) == before  # the previous complete set, with its manifests


@pytest.mark.realdata
def test_a_reports_path_that_is_a_file_fails_the_run_with_one_sentence(project):
    processed = _settings(project).processed_dir
    reports = processed / "public" / "reports"
    shutil.rmtree(reports)
    reports.write_text("not a folder", encoding="utf-8")
    result = _cli(project, "report")
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    sentence = f"cannot write {reports}: it is a file where a folder is expected"
    assert sentence in " ".join(result.output.split())
    *_, (_, command, run_status, message) = _runs(project)
    assert (command, run_status) == ("report", "failed")
    assert message.startswith(f"report: {sentence}")
    assert reports.read_text(encoding="utf-8") == "not a folder"


@pytest.mark.realdata
@pytest.mark.parametrize("step", ["maps", "report"])
def test_a_bug_in_a_step_is_recorded_failed_and_raised_with_its_traceback(
    project, monkeypatch, step
):
    def broken(*args, **kwargs):
        raise RuntimeError("an index went past the end")

    monkeypatch.setattr(publish, step, broken)
    folder = _settings(project).processed_dir / "public" / {"maps": "maps"}.get(step, "reports")
    before = _hashes(folder)
    result = _cli(project, step)  # `maps` and `report` are runs of one step
    assert result.exit_code == 1
    assert isinstance(result.exception, RuntimeError)  # the CLI lets it show its traceback
    *_, (_, _, run_status, message) = _runs(project)
    assert run_status == "failed"
    assert message == f"{step}: RuntimeError: an index went past the end"
    manifest = _manifest(_settings(project).processed_dir / "manifest.json")
    assert manifest["status"] == "failed" and manifest["message"] == message
    assert _hashes(folder) == before  # the failed step's folder keeps its previous set


def _wait_for_staging(parent: Path, process: subprocess.Popen, timeout: float = 120) -> Path:
    """The staging folder once it holds a first page (the step is writing)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for staging in parent.glob(".staging-*"):
            if any(staging.glob("*.html")):
                return staging
        if process.poll() is not None:
            pytest.fail(f"the step ended before it wrote anything: {process.returncode}")
        time.sleep(0.01)
    pytest.fail("no staging folder appeared")


@pytest.mark.realdata
@pytest.mark.parametrize(("command", "kind"), [("maps", "maps"), ("report", "reports")])
def test_a_step_killed_while_writing_leaves_the_previous_set_and_its_manifest(
    project, command, kind
):
    processed = _settings(project).processed_dir
    folder = processed / "public" / kind
    before = _hashes(processed / "public")
    env = os.environ | _env(project) | {"PYTHONPATH": str(REPO / "src")}
    process = subprocess.Popen(
        [sys.executable, "-m", "trygghetskarta", command],
        cwd=project / "project",
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        staging = _wait_for_staging(folder.parent, process)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    assert staging.is_dir()  # killed mid-way: the new set was only staged, beside the old
    after = _hashes(processed / "public")
    assert {k: v for k, v in after.items() if not k.startswith(".staging-")} == before
    _assert_manifest_describes_its_folder(folder)
    *_, (killed, _, run_status, _) = _runs(project, batch=True)
    assert run_status == "running"
    assert killed not in {r[0] for r in _runs(project)}  # never published for readers
    # The next run marks the killed one interrupted and removes its staging folder.
    result = _cli(project, command)
    assert result.exit_code == 0, result.output
    assert not staging.exists()
    statuses = {run_id: s for run_id, _, s, _ in _runs(project)}
    assert statuses[killed] == "interrupted"
    _assert_manifest_describes_its_folder(folder)
    top = _manifest(processed / "manifest.json")
    assert (
        top["outputs"][f"public/{kind}"]["run_id"] == _manifest(folder / "manifest.json")["run_id"]
    )


@pytest.mark.realdata
def test_the_old_shared_folders_are_left_alone_with_a_warning(project):
    processed = _settings(project).processed_dir
    old = processed / "maps"
    old.mkdir()
    (old / "stockholm.html").write_text("old", encoding="utf-8")
    result = _cli(project, "maps")
    assert result.exit_code == 0, result.output
    assert "is from an older version and is no longer updated" in " ".join(result.output.split())
    assert (old / "stockholm.html").read_text(encoding="utf-8") == "old"


@contextlib.contextmanager
def _small_disk(path: Path, size: str) -> Iterator[None]:
    """A tmpfs of ``size`` mounted at ``path``; skips where mounts are not allowed."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a small tmpfs needs root and mount(8)")
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"this sandbox allows no tmpfs mounts: {done.stderr.decode().strip()}")
    try:
        yield
    finally:
        _unmount(path)


@pytest.mark.realdata
def test_a_full_disk_on_a_fresh_project_is_one_sentence_and_never_left_running(small_project):
    root = small_project.parent / "full"
    shutil.rmtree(root, ignore_errors=True)
    (root / "project" / "data" / "raw").mkdir(parents=True)
    (root / "data").symlink_to(small_project / "data")
    (root / "project" / "data" / "raw" / "polisen").symlink_to(
        small_project / "project" / "data" / "raw" / "polisen"
    )
    processed = _settings(root).processed_dir
    with _small_disk(processed, "2m"):
        result = _cli(root, "run")
        status = _cli(root, "status")
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
        assert "Traceback" not in result.output
        assert "No space left on device" in result.output or "no space left" in result.output
        # Where the disk fills decides whether the database can still record the end: then
        # the run is failed with the sentence; if not, status calls it interrupted. Never running.
        (line,) = [x for x in status.output.splitlines() if x.startswith("run ")]
        recorded = " failed: " in line and "no space left" in line.lower()
        unrecorded = " interrupted: " in line and "the next run marks it interrupted" in line
        assert recorded or unrecorded, line
        assert "running" not in status.output.split("run ", 1)[0]
        subprocess.run(["mount", "-o", "remount,size=256m", str(processed)], check=True)
        again = _cli(root, "run")
        assert again.exit_code == 0, again.output
        statuses = [s for _, _, s, _ in _runs(root)]
    assert statuses[-1] == "ok" and statuses[:-1]
    assert set(statuses[:-1]) == ({"failed"} if recorded else {"interrupted"})


def _lone_surrogate() -> UnicodeError:
    try:
        "Rinkeby \ud800".encode()
    except UnicodeError as e:
        return e
    raise AssertionError("a lone surrogate must not encode")


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (lambda db: OSError(errno.ENOSPC, "No space left on device"), "no space left to write"),
        (lambda db: OSError(errno.EACCES, "Permission denied", "/srv/x"), "no permission to"),
        (lambda db: _lone_surrogate(), "not valid UTF-8"),
        (
            lambda db: duckdb.TransactionException(
                f'Failed to commit: Could not write file "{db}.wal": No space left on device'
            ),
            "cannot write the database",
        ),
    ],
    ids=["enospc-without-path", "eacces", "lone-surrogate", "duckdb-disk-full"],
)
def test_an_environmental_error_from_any_step_is_recorded_as_one_sentence(
    project, monkeypatch, error, expected
):
    db = _settings(project).db_path

    def broken(*args, **kwargs):
        raise error(db)

    monkeypatch.setattr(pipeline, "geocode", broken)
    result = _cli(project, "geocode")
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # one sentence, no traceback
    printed = " ".join(result.output.split())
    assert expected in printed and " — " in printed
    *_, (_, command, run_status, message) = _runs(project)
    assert (command, run_status) == ("geocode", "failed")
    assert expected in message and message.startswith("geocode: ")


@pytest.mark.realdata
@pytest.mark.browser
def test_the_internal_band_is_visible_on_top_of_maps_and_reports_on_screen_and_in_print(
    internal_run,
):
    chromium = os.environ.get("TRYGGHETSKARTA_CHROMIUM", "/usr/bin/chromium")
    if shutil.which(chromium) is None:
        pytest.skip(f"BROWSER TEST SKIPPED: no Chromium at {chromium}")
    from playwright.sync_api import sync_playwright

    project, _ = internal_run
    internal = _settings(project).processed_dir / "internal"
    pages = [internal / "maps" / "stockholm.html", internal / "reports" / "sodermalm.html"]
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=shutil.which(chromium), headless=True, args=["--no-sandbox"]
        )
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 800})
            page.route(
                "**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort()
            )
            for path in pages:
                page.goto(path.as_uri())
                for media in ("screen", "print"):
                    page.emulate_media(media=media)
                    band = page.locator(".tk-internt")
                    assert band.is_visible(), (path.name, media)
                    assert band.inner_text() == BAND_TEXT
                    box = band.bounding_box()
                    assert box["y"] == 0 and box["height"] >= 20 and box["width"] >= 1000
                    # Nothing is drawn over it: the topmost element at its centre is the band.
                    on_top = page.evaluate(
                        "([x, y]) => document.elementFromPoint(x, y).className",
                        [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
                    )
                    assert on_top == "tk-internt", (path.name, media, on_top)
        finally:
            browser.close()
