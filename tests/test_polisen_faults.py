"""Faults the live police ingest must survive, end to end into DuckDB.

Each test polls a real HTTP server on 127.0.0.1 (scripted answers), then ingests what was
saved the way the pipeline does (:func:`police_ingest.ingest`: parse every police file →
validate → one transaction: merge + quarantine). After every fault: no event lost, none
duplicated, every version kept, the database as it was before a failed or interrupted
batch, and a log line that says what happened.
"""

from __future__ import annotations

import json
import logging
import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

import pytest

from police_ingest import (
    BASE,
    CHANGED,
    NEWER,
    Served,
    assert_nothing_lost,
    assert_same,
    duplicated_and_shuffled,
    ingest,
    police_files,
    snapshot,
)
from scripted_server import FakeTime, Reply, ScriptedServer, api_event
from trygghetskarta import store
from trygghetskarta.errors import SourceError
from trygghetskarta.net import HttpClient
from trygghetskarta.sources import polisen_api

pytestmark = pytest.mark.network


@dataclass(frozen=True)
class Fault:
    replies: tuple[Reply, ...]
    served: list[dict[str, Any]] | None  # the events answer that ends up saved, if any
    log: str  # what the log must say
    timeout_s: float = 2.0


FAULTS = {
    "http-500-then-ok": Fault(
        (Reply(500, "<h1>Internal Server Error</h1>"), Reply(200, NEWER)), NEWER, "HTTP 500"
    ),
    "http-503-twice-then-ok": Fault(
        (Reply(503, ""), Reply(503, "", headers={"Retry-After": "4"}), Reply(200, NEWER)),
        NEWER,
        "HTTP 503",
    ),
    "http-429-retry-after": Fault(
        (Reply(429, "Too many", headers={"Retry-After": "30"}), Reply(200, NEWER)),
        NEWER,
        "Retry-After 30 s",
    ),
    "hung-connection": Fault(
        (Reply(200, NEWER, delay_s=8.0), Reply(200, NEWER)), NEWER, "timed out after 0.3 s", 0.3
    ),
    "cut-in-transit": Fault(
        (Reply(200, json.dumps(NEWER)[:300].encode(), declared_length=4000), Reply(200, NEWER)),
        NEWER,
        "connection closed after 300 of 4000 bytes",
    ),
    "5xx-every-attempt": Fault(
        tuple(Reply(502, "Bad gateway") for _ in range(3)), None, "failed 3 times"
    ),
    "truncated-json": Fault(
        (Reply(200, json.dumps(NEWER)[:-40].encode()),), None, "JSON cut short"
    ),
    "html-page-status-200": Fault(
        (
            Reply(
                200,
                "<html><head><title>Polisen - Tekniskt fel</title></head></html>",
                content_type="text/html; charset=utf-8",
            ),
        ),
        None,
        "an HTML page titled 'Polisen - Tekniskt fel'",
    ),
    "empty-array": Fault((Reply(200, []),), [], "returned an empty array"),
    "duplicated-reordered": Fault(
        (Reply(200, duplicated_and_shuffled(NEWER)),), NEWER, "ids appear more than once"
    ),
    "text-changed": Fault((Reply(200, CHANGED),), CHANGED, "1 changed (ids 101)"),
}


@pytest.mark.parametrize("name", list(FAULTS), ids=list(FAULTS))
def test_a_fault_between_two_good_polls_loses_nothing(name, tmp_path, caplog):
    fault = FAULTS[name]
    fake = FakeTime()
    raw = tmp_path / "raw"
    con = store.connect(tmp_path / "t.duckdb")
    served = Served()
    with ScriptedServer([Reply(200, BASE), *fault.replies, Reply(200, CHANGED)]) as server:
        settings = polisen_api.client_settings(
            {
                "base_url": server.base_url,
                "min_interval_s": 0,
                "max_attempts": 3,
                "backoff_s": 1.0,
                "timeout_s": fault.timeout_s,
            }
        )
        client = HttpClient(settings, state_dir=raw / ".http", clock=fake.clock, sleep=fake.sleep)

        def poll() -> None:
            polisen_api.poll(settings, raw_dir=raw, client=client)

        poll()  # the good poll before
        served.add(BASE)
        first = ingest(con, raw)
        assert (first["loaded"], first["quarantined"]) == (4, 1)
        before = snapshot(con)

        caplog.clear()
        with caplog.at_level(logging.INFO, logger="trygghetskarta"):
            if fault.served is None:
                with pytest.raises(SourceError):
                    poll()
            else:
                poll()
        assert fault.log in caplog.text
        counts = ingest(con, raw)  # the nightly run ingests whatever is on disk
        if fault.served is None or fault.served == []:
            assert_same(before, snapshot(con))  # nothing of the bad answer got in
            assert counts["loaded"] == counts["updated"] == 0
        else:
            served.add(fault.served)
        assert_nothing_lost(con, served)
        if name == "text-changed":
            assert counts["updated"] == 1 and counts["loaded"] == 1  # 101 edited, 107 new
            summary = con.execute(
                "SELECT summary FROM events WHERE event_uid = 'polisen:101'"
            ).fetchone()[0]
            assert summary.endswith("En man i 30-årsåldern gripen.")

        poll()  # the good poll after
        served.add(CHANGED)
        ingest(con, raw)
        assert_nothing_lost(con, served)
        again = snapshot(con)
        ingest(con, raw)  # re-running changes nothing
        assert_same(again, snapshot(con))
        assert server.pending == 0 and server.exhausted == 0
    assert len(served.versions["101"]) == 2  # the edit of the last poll is a second version
    con.close()


def test_faults_wait_as_told(tmp_path):
    """Retry-After and backoff are honoured in the fault scenarios (not slept for real)."""
    fake = FakeTime()
    replies = [Reply(429, "", headers={"Retry-After": "30"}), Reply(503, ""), Reply(200, BASE)]
    with ScriptedServer(replies) as server:
        settings = polisen_api.client_settings(
            {"base_url": server.base_url, "min_interval_s": 10, "backoff_s": 5.0}
        )
        client = HttpClient(settings, clock=fake.clock, sleep=fake.sleep)
        polisen_api.fetch(settings, raw_dir=tmp_path, client=client)
    assert fake.sleeps == [pytest.approx(30.0), pytest.approx(10.0)]  # backoff 10 s after retry 2


# --------------------------------------------------------------------------- killed mid-batch

CHILD = """
import logging, sys, time
from pathlib import Path
import pandas as pd
from trygghetskarta import store
from trygghetskarta.schema import validate_events
from trygghetskarta.sources import polisen

logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s: %(message)s")
db, files = sys.argv[1], [Path(p) for p in sys.argv[2:]]
parsed = polisen.parse(files, municipality="Stockholm")
validate_events(parsed.events)
con = store.connect(db)
at = pd.Timestamp.now(tz="Europe/Stockholm")
with store.transaction(con):
    store.merge_events(con, parsed.events, batch_id="killed", ingested_at=at)
    store.add_quarantine(con, parsed.quarantine, batch_id="killed", quarantined_at=at)
    inside = con.execute("SELECT count(*) FROM events").fetchone()[0]
    print(f"INSIDE {inside}", flush=True)
    time.sleep(60)
print("COMMITTED", flush=True)
"""


def run_until_inside(args: list[str], marker: str, timeout_s: float = 60.0) -> tuple[str, str]:
    """Start a child, wait (bounded) for ``marker`` on its stdout, SIGKILL it."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    line = b""
    deadline = time.monotonic() + timeout_s
    try:
        while marker.encode() not in line:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or proc.poll() is not None:
                break
            ready, _, _ = select.select([proc.stdout], [], [], remaining)
            if ready:
                line = proc.stdout.readline()
                if not line:
                    break
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        stderr = proc.stderr.read().decode()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL, f"the child ended by itself: {stderr}"
    assert marker.encode() in line, f"no {marker!r} from the child within {timeout_s} s: {stderr}"
    return line.decode(), stderr


def test_a_batch_killed_mid_transaction_leaves_the_database_as_before(tmp_path):
    raw = tmp_path / "raw"
    db = tmp_path / "t.duckdb"
    served = Served()
    many = [
        api_event(
            200_000 + i,
            published=f"2026-08-22 {10 + i % 10}:{i % 60:02d}:00 +02:00",
            occurred=(22, 8, 9, i % 60),
            place="Stockholm" if i % 3 else "Nacka",
            summary=f"Händelse nummer {i} på Sveavägen.",
        )
        for i in range(3000)
    ]
    with ScriptedServer([Reply(200, BASE), Reply(200, [*many, *CHANGED])]) as server:
        settings = polisen_api.client_settings({"base_url": server.base_url, "min_interval_s": 0})
        polisen_api.poll(settings, raw_dir=raw)
        con = store.connect(db)
        ingest(con, raw)
        served.add(BASE)
        before = snapshot(con)
        con.close()
        polisen_api.poll(settings, raw_dir=raw)

    line, stderr = run_until_inside(["-c", CHILD, str(db), *map(str, police_files(raw))], "INSIDE")
    assert int(line.split()[1]) > len(before["events"])  # the batch was written, uncommitted
    assert "polisen: 3012 records" in stderr  # the child's own log of what it was doing

    con = store.connect(db)
    assert_same(before, snapshot(con))  # killed: as if the batch never ran
    counts = ingest(con, raw)  # run again: the batch lands whole
    served.add([*many, *CHANGED])
    assert counts["loaded"] == 2001 and counts["updated"] == 1
    assert_nothing_lost(con, served)
    con.close()
