"""``trygghetskarta fetch polisen`` against hostile servers on 127.0.0.1, as a city runs it.

The command is run as a separate process, exactly as a nightly job calls it, against a
server that trickles its answer, one that sends a gzip bomb, and one that redirects to
another host. Each time: exit 1 quickly, one sentence saying why, and nothing saved where
the ingest reads.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scripted_server import Reply, ScriptedServer, gzip_bomb

pytestmark = pytest.mark.network

EVENTS = [{"id": i, "name": f"22 augusti 09.{i:02d}, Rån, Stockholm"} for i in range(30)]
#: Peak memory of the process: the interpreter and the libraries it imports take ~350 MB;
#: the bomb inflates to 1 GiB (2.5 GB of memory before the client counted inflated bytes).
MAX_RSS_KB = 800_000
RSS_WRAPPER = """
import sys
from pathlib import Path
from trygghetskarta.cli import app

def peak_kb():
    # this process's own peak (ru_maxrss would include the parent it was forked from)
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])

try:
    app(sys.argv[1:], prog_name="trygghetskarta")
finally:
    print(f"MAXRSS {peak_kb()}", file=sys.stderr)
"""


def project(tmp_path: Path, polisen: str = "") -> Path:
    """A project folder with a data directory (so the run starts) and optional settings."""
    (tmp_path / "data" / "police_events").mkdir(parents=True)
    if polisen:
        (tmp_path / "trygghetskarta.toml").write_text(f"[polisen]\n{polisen}\n")
    return tmp_path


def fetch_polisen(folder: Path, base_url: str, *extra: str) -> tuple[int, str, float, int]:
    """Run the command in ``folder``; return exit code, stderr (one line), seconds, peak RSS."""
    args = ["--data", "data", "fetch", "polisen", "--base-url", base_url]
    args += ["--min-interval", "0", "--timeout", "5", *extra]
    env = dict(os.environ, COLUMNS="500", NO_COLOR="1")
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", RSS_WRAPPER, *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    took = time.monotonic() - started
    peak = done.stderr.rsplit("MAXRSS ", 1)[1].split()[0]
    rss = int(peak) if peak.isdigit() else -1
    return done.returncode, " ".join((done.stdout + done.stderr).split()), took, rss


def saved(folder: Path) -> list[Path]:
    """Every file the fetch left under data/raw/ except the call log of the rate limits."""
    raw = folder / "data" / "raw"
    return sorted(p for p in raw.rglob("*") if p.is_file() and ".http" not in p.parts)


def test_a_trickling_server_is_given_up_on_within_15_s(tmp_path):
    folder = project(tmp_path)
    body = json.dumps(EVENTS).encode()  # ~2 KB at a byte a second: over half an hour
    with ScriptedServer([Reply(200, body, trickle_s=1.0)], repeat_last=True) as server:
        code, output, took, _ = fetch_polisen(folder, server.base_url)
        asked = len(server.requests)
    assert code == 1
    assert took < 15.0  # 5 s of reading plus starting Python; it was over 180 s
    assert "did not send its whole answer within timeout_s = 5 s" in output
    assert "raise timeout_s (--timeout)" in output
    assert "Traceback" not in output
    assert asked == 1  # a trickle is not asked again
    assert saved(folder) == []
    assert "ended failed" in output and "ingest (" not in output  # nothing new to ingest


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux's /proc")
def test_a_gzip_bomb_is_refused_and_nothing_is_saved(tmp_path):
    max_bytes = 2_000_000
    folder = project(tmp_path, f"max_bytes = {max_bytes}")
    bomb = gzip_bomb()  # 1 MB that inflates to 1 GiB
    with ScriptedServer([Reply(200, bomb, headers={"Content-Encoding": "gzip"})]) as server:
        code, output, took, rss = fetch_polisen(folder, server.base_url)
        asked = len(server.requests)
    assert code == 1
    assert "the body is larger than max_bytes = 2,000,000 once its gzip is undone" in output
    assert "Traceback" not in output
    assert asked == 1
    assert saved(folder) == []  # neither where the ingest reads nor under rejected/
    big = [p for p in folder.rglob("*") if p.is_file() and p.stat().st_size > max_bytes]
    assert big == []
    assert rss < MAX_RSS_KB, f"peak memory {rss / 1000:.0f} MB"
    assert took < 30.0


def test_a_redirect_to_another_host_is_exit_1_naming_both(tmp_path):
    folder = project(tmp_path)
    with ScriptedServer() as server:
        elsewhere = f"http://localhost:{server.port}/api/events"
        server.add(Reply(302, "", headers={"Location": elsewhere}), Reply(200, EVENTS))
        code, output, _, _ = fetch_polisen(folder, server.base_url, "--no-ingest")
        asked = len(server.requests)
    assert code == 1
    sentence = (
        f"answered 302 with a redirect to another host, http://localhost:{server.port} "
        f"instead of {server.base_url}; refused"
    )
    assert sentence in output
    assert "Traceback" not in output
    assert asked == 1  # localhost was never asked
    assert saved(folder) == []
    (manifest,) = folder.rglob("manifest.json")
    steps = {s["step"]: s for s in json.loads(manifest.read_text())["steps"]}
    assert sentence in steps["fetch"]["errors"][0]
