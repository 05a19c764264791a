"""Incremental lists: a list file ingested unchanged is skipped; a changed or new one merges."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import psutil
import pytest

from trygghetskarta import store
from trygghetskarta.config import load_settings
from trygghetskarta.errors import SourceError
from trygghetskarta.pipeline.ingest import layers

pytestmark = pytest.mark.realdata

LISTS = Path(__file__).resolve().parent / "data" / "lists"
NOW = pd.Timestamp("2026-06-01 12:00", tz="Europe/Stockholm")
HEADER = "Diarienummer;Brottsbenämning;Brottsdatum från;Brottstid från;Brottsplats;X;Y\n"
ROWS = [
    "K-1;Misshandel, utomhus;2024-03-02;23:40;Sergels torg;674345;6581101\n",
    "K-2;Stöld av cykel;2024-03-01;18:00;Götgatan 48;;\n",
    "K-3;Skadegörelse;2024-03-05;20:10;;666091;6589360\n",
]


@pytest.fixture
def project(shared_data, tmp_path):
    data = tmp_path / "data"
    (data / "lists" / "brott").mkdir(parents=True)
    (data / "boundaries").symlink_to(shared_data / "boundaries")
    env = {"TRYGGHETSKARTA_DATA": str(data), "TRYGGHETSKARTA_PROCESSED": str(tmp_path / "out")}
    settings = load_settings(tmp_path, env=env)
    con = store.connect(settings.db_path)
    yield settings, data / "lists" / "brott", con
    con.close()


def _counts(counts: dict) -> tuple[int, int, int, int, int]:
    return tuple(counts[k] for k in ("read", "loaded", "updated", "unchanged", "quarantined"))


def test_an_unchanged_list_is_skipped_and_a_changed_one_merges_its_differences(project):
    settings, folder, con = project
    first = folder / "brott_2024.csv"
    first.write_text(HEADER + "".join(ROWS), encoding="utf-8")
    counts = layers.ingest_list(settings, con, "brott", now=NOW)
    assert _counts(counts) == (3, 3, 0, 0, 0)

    again = layers.ingest_list(settings, con, "brott", now=NOW)
    assert _counts(again) == (0, 0, 0, 0, 0)
    assert again["files_skipped"] == [str(first)]

    # The next delivery corrects K-2, repeats K-1 and K-3 and adds K-4: only the
    # differences change the store, and every row is counted.
    changed = ROWS[0] + ROWS[1].replace("Stöld av cykel", "Grov stöld") + ROWS[2]
    changed += "K-4;Rån;2024-03-06;12:00;;674345;6581101\n"
    first.write_text(HEADER + changed, encoding="utf-8")
    counts = layers.ingest_list(settings, con, "brott", now=NOW)
    assert _counts(counts) == (4, 1, 1, 2, 0)
    assert con.execute("SELECT title FROM events WHERE source_id = 'K-2'").fetchone() == (
        "Grov stöld",
    )
    assert con.execute(
        "SELECT count(*) FROM event_versions WHERE event_uid = 'polisen-brott:K-2'"
    ).fetchone() == (2,)

    # A new file beside it is read alone; the old one stays skipped.
    second = folder / "brott_2025.csv"
    second.write_text(HEADER + "K-5;Rån;2025-01-06;12:00;;674345;6581101\n", encoding="utf-8")
    counts = layers.ingest_list(settings, con, "brott", now=NOW)
    assert _counts(counts) == (1, 1, 0, 0, 0)
    assert counts["files"] == [str(second)] and counts["files_skipped"] == [str(first)]

    # ingest --all reads everything again and changes nothing.
    everything = layers.ingest_list(settings.with_overrides(reingest=True), con, "brott", now=NOW)
    assert _counts(everything) == (5, 0, 0, 5, 0)


@pytest.mark.parametrize("process", [False, True], ids=["thread", "process"])
def test_a_list_stored_a_chunk_at_a_time_is_stored_as_read_whole(project, tmp_path, process):
    settings, folder, con = project
    more = [f"K-{i};Rån;2024-04-{i:02d};12:00;;674345;6581101\n" for i in range(4, 9)]
    (folder / "brott.csv").write_text(HEADER + "".join(ROWS + more + ROWS[:1]), "utf-8")
    counts = layers.ingest_list(settings, con, "brott", now=NOW, chunk_rows=2, process=process)
    assert _counts(counts) == (9, 8, 0, 0, 1)
    assert counts["by_reason"] == {"duplicate row": 1}
    numbers = con.execute("SELECT received_no FROM event_versions ORDER BY 1").fetchall()
    assert [n for (n,) in numbers] == list(range(8))  # numbered on across the chunks
    query = "SELECT * EXCLUDE (batch_id, ingested_at) FROM events ORDER BY event_uid"
    chunked = con.execute(query).df()
    whole = store.connect(tmp_path / "whole.duckdb")
    layers.ingest_list(settings, whole, "brott", now=NOW)
    pd.testing.assert_frame_equal(chunked, whole.execute(query).df())
    whole.close()


@pytest.mark.parametrize("process", [False, True], ids=["thread", "process"])
def test_a_list_that_fails_half_way_stores_nothing(project, process):
    settings, folder, con = project
    threads = con.execute("SELECT current_setting('threads')").fetchone()
    (folder / "a.csv").write_text(HEADER + "".join(ROWS), "utf-8")
    (folder / "b.csv").write_text("Diarienummer;Brottsbenämning\nK-9;Rån\n", "utf-8")
    with pytest.raises(SourceError, match=r"b\.csv: no column for occurred_at"):
        layers.ingest_list(settings, con, "brott", now=NOW, chunk_rows=1, process=process)
    for table in ("events", "event_versions", "quarantine", "ingested_files"):
        assert con.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,), table
    # DuckDB got back the core it left the reader process
    assert con.execute("SELECT current_setting('threads')").fetchone() == threads


def test_a_list_with_rows_in_the_future_is_read_again_the_next_night(project):
    settings, folder, con = project
    path = folder / "brott.csv"
    path.write_text(HEADER + ROWS[0] + "K-9;Rån;2026-06-01;20:00;;674345;6581101\n", "utf-8")
    tonight = layers.ingest_list(settings, con, "brott", now=NOW)
    assert _counts(tonight) == (2, 1, 0, 0, 1)
    tomorrow = layers.ingest_list(settings, con, "brott", now=NOW + pd.Timedelta(days=1))
    assert _counts(tomorrow) == (2, 1, 0, 1, 0)  # the row dated 20:00 is an event now
    assert tomorrow["files_skipped"] == []
    third = layers.ingest_list(settings, con, "brott", now=NOW + pd.Timedelta(days=2))
    assert _counts(third) == (0, 0, 0, 0, 0)


def test_other_settings_read_the_file_again(project, tmp_path):
    settings, folder, con = project
    path = folder / "brott.csv"
    path.write_text(HEADER + "".join(ROWS), encoding="utf-8")
    layers.ingest_list(settings, con, "brott", now=NOW)
    toml = tmp_path / "trygghetskarta.toml"
    toml.write_text('[sources.brott.code_categories]\n"12" = "violence"\n', encoding="utf-8")
    env = {
        "TRYGGHETSKARTA_DATA": str(settings.require_data()),
        "TRYGGHETSKARTA_PROCESSED": str(settings.db_path.parent),
    }
    other = load_settings(tmp_path, env=env)
    counts = layers.ingest_list(other, con, "brott", now=NOW)
    assert _counts(counts) == (3, 0, 0, 3, 0)


def test_a_typo_years_ahead_does_not_make_every_night_read_the_list(project):
    settings, folder, con = project
    path = folder / "brott.csv"
    path.write_text(HEADER + ROWS[0] + "K-8;Rån;2031-05-01;10:00;;674345;6581101\n", "utf-8")
    assert _counts(layers.ingest_list(settings, con, "brott", now=NOW)) == (2, 1, 0, 0, 1)
    tomorrow = layers.ingest_list(settings, con, "brott", now=NOW + pd.Timedelta(days=1))
    assert tomorrow["read"] == 0 and tomorrow["files_skipped"] == [str(path)]
    then = layers.ingest_list(settings, con, "brott", now=pd.Timestamp("2031-05-02", tz="UTC"))
    assert _counts(then) == (2, 1, 0, 1, 0)


@pytest.mark.parametrize("nights", [2, 3], ids=["second-night", "third-night"])
def test_listed_events_are_placed_the_same_every_night(project, shared_data, nights):
    """A point found for an address is not a coordinate the list gave: the next night
    places the row from its address again, not from that point (it used to get the
    districts of the point on the second night, so the analyses never saw the same data)."""
    from trygghetskarta import pipeline

    settings, folder, con = project
    (settings.require_data() / "gazetteer").symlink_to(shared_data / "gazetteer")
    streets = "K-5;Butiksstöld;2024-03-07;14:00;Drottninggatan 5;;\n"
    (folder / "brott_2024.csv").write_text(HEADER + "".join(ROWS) + streets, encoding="utf-8")
    layers.ingest_list(settings, con, "brott", now=NOW)
    query = (
        "SELECT source_id, x, y, precision, uncertainty_m, place_name, stadsdel, "
        "stadsdelsomrade FROM events ORDER BY source_id"
    )
    placed = []
    for _ in range(nights):
        pipeline.geocode(settings, con)
        placed.append(con.execute(query).df())
    for later in placed[1:]:
        pd.testing.assert_frame_equal(later, placed[0])
    precision = dict(zip(placed[0]["source_id"], placed[0]["precision"], strict=True))
    assert precision["K-1"] == precision["K-3"] == "exact"
    assert precision["K-2"] != "exact" and precision["K-5"] != "exact"  # from their address


@pytest.mark.parametrize("process", [False, True], ids=["thread", "process"])
def test_a_merge_that_fails_half_way_stops_the_reading(project, monkeypatch, process):
    settings, folder, con = project
    threads = con.execute("SELECT current_setting('threads')").fetchone()
    rows = [f"K-{i};Rån;2024-04-01;12:00;;674345;6581101\n" for i in range(1, 9)]
    (folder / "brott.csv").write_text(HEADER + "".join(rows), "utf-8")
    merges = []
    merge = layers._merge_events

    def failing(con, events, *args):
        merges.append(len(events))
        if len(merges) == 3:  # the others' (empty) events, a chunk, then the disk is full
            raise OSError("disk full")
        return merge(con, events, *args)

    monkeypatch.setattr(layers, "_merge_events", failing)
    started = set(psutil.Process().children())
    with pytest.raises(OSError, match="disk full"):
        layers.ingest_list(settings, con, "brott", now=NOW, chunk_rows=2, process=process)
    assert con.execute("SELECT count(*) FROM events").fetchone() == (0,)
    assert con.execute("SELECT current_setting('threads')").fetchone() == threads
    assert not [p for p in psutil.Process().children() if p not in started and p.is_running()]


def test_a_large_list_is_read_apart_unless_there_is_no_interpreter_to_start(project, monkeypatch):
    settings, folder, con = project
    (folder / "brott.csv").write_text(HEADER + "".join(ROWS), "utf-8")
    started = []

    class Spy(layers.ProcessReader):
        def __init__(self, *args, **kwargs) -> None:
            started.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(layers, "ProcessReader", Spy)
    monkeypatch.setattr(layers, "PROCESS_FROM_BYTES", 1)  # every list is large
    assert _counts(layers.ingest_list(settings, con, "brott", now=NOW)) == (3, 3, 0, 0, 0)
    assert len(started) == 1
    monkeypatch.setattr(sys, "executable", "")  # embedded: read in a thread instead
    again = layers.ingest_list(settings.with_overrides(reingest=True), con, "brott", now=NOW)
    assert _counts(again) == (3, 0, 0, 3, 0)
    assert len(started) == 1
