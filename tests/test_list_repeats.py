"""Lists read a chunk at a time: repeats and ids across chunks, the reader, reading ahead
(in a thread or in a process of its own)."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

from trygghetskarta.errors import SourceError
from trygghetskarta.pipeline.ingest.ahead import ProcessReader, read_ahead
from trygghetskarta.sources import crime_list
from trygghetskarta.sources._list_repeats import FirstRows, fingerprints
from trygghetskarta.sources.event_lists import ListReader, parse_list

NOW = pd.Timestamp("2026-06-01 12:00", tz="Europe/Stockholm")
HEADER = "Diarienummer;Brottsbenämning;Brottsdatum från;Brottstid från;Brottsplats;X;Y\n"
ROW = "{id};Stöld;2024-03-0{day};12:00;Götgatan {day};674345;658110{day}\n"


def _objects(*values: str | None) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def test_fingerprints_are_equal_for_equal_texts_only():
    prints = fingerprints(_objects("K-1", "K-2", "K-1", "", "k-1"))
    assert prints.dtype == np.dtype("S16")
    assert prints[0] == prints[2]
    assert len(set(prints.tolist())) == 4


def test_first_rows_name_the_first_row_of_each_value_across_calls():
    seen = FirstRows()
    first = seen.first(_objects("a", "b", "a"), np.array([0, 1, 2]))
    assert first.tolist() == [0, 1, 0]
    first = seen.first(_objects("c", "b", "c", "a"), np.array([3, 4, 5, 6]))
    assert first.tolist() == [3, 1, 3, 0]
    assert seen.first(_objects(), np.array([], dtype="int64")).tolist() == []
    assert len(seen.prints) == len(seen.rows) == 3


def _write(path, rows: list[str]):
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    return path


@pytest.fixture
def two_files(tmp_path):
    first = _write(
        tmp_path / "a.csv",
        [ROW.format(id=f"K-{d}", day=d) for d in range(1, 6)],
    )
    # b.csv line 2 repeats a.csv line 2; line 3 reuses K-3 with other content
    second = _write(
        tmp_path / "b.csv",
        [
            ROW.format(id="K-1", day=1),
            ROW.format(id="K-3", day=9),
            ROW.format(id="K-7", day=7),
        ],
    )
    return [first, second]


def test_a_repeat_and_a_reused_id_chunks_apart_name_the_row_they_repeat(two_files):
    reader = ListReader(two_files, crime_list.CONTRACT, now=NOW, chunk_rows=2)
    parts = list(reader)
    # one part per chunk of two rows: b.csv's first chunk is both refused rows
    assert [len(p) for p in parts] == [2, 2, 1, 0, 1]
    quarantine = reader.quarantine()
    assert quarantine["reason"].tolist() == [
        "duplicate row: line 2 repeats a.csv line 2",
        "conflicting id: 'K-3' on line 3 differs from a.csv line 4",
    ]
    assert quarantine["source_file"].tolist() == [str(two_files[1])] * 2
    assert reader.read == 8
    # the same read as one result: chunks change nothing
    whole = parse_list(two_files, crime_list.CONTRACT, now=NOW)
    together = pd.concat(parts, ignore_index=True).sort_values(["occurred_at", "event_uid"])
    assert together["event_uid"].tolist() == whole.events["event_uid"].tolist()
    pd.testing.assert_frame_equal(quarantine, whole.quarantine)
    assert reader.notes == whole.notes


def test_a_reader_reads_once_and_has_no_totals_before_its_end(two_files):
    reader = ListReader(two_files, crime_list.CONTRACT, now=NOW, chunk_rows=3)
    with pytest.raises(RuntimeError, match="read every chunk"):
        reader.quarantine()
    parts = iter(reader)
    next(parts)
    with pytest.raises(RuntimeError, match="read every chunk"):
        _ = reader.notes
    list(parts)
    with pytest.raises(RuntimeError, match="reads its files once"):
        list(reader)
    with pytest.raises(ValueError, match="chunk_rows must be at least 1, got 0"):
        ListReader(two_files, crime_list.CONTRACT, chunk_rows=0)


def test_read_ahead_gives_the_parts_in_order_and_makes_one_ahead_in_another_thread():
    made: list[int] = []
    threads: set[int] = set()

    def parts():
        for i in range(5):
            threads.add(threading.get_ident())
            made.append(i)
            yield i

    got = []
    for part in read_ahead(parts()):
        # the part given out and at most the next have been made
        assert len(made) <= part + 2
        got.append(part)
    assert got == [0, 1, 2, 3, 4]
    assert threading.get_ident() not in threads


def test_read_ahead_raises_a_parts_error_when_that_part_is_asked_for():
    def parts():
        yield 1
        raise ValueError("line 7 is broken")

    ahead = read_ahead(parts())
    assert next(ahead) == 1
    with pytest.raises(ValueError, match="line 7 is broken"):
        next(ahead)


def test_read_ahead_stops_when_its_reader_stops():
    made: list[int] = []

    def parts():
        for i in range(100):
            made.append(i)
            yield i

    ahead = read_ahead(parts())
    assert next(ahead) == 0
    ahead.close()  # waits for the part being made, asks for no more
    assert len(made) <= 2


def test_a_process_reader_gives_what_the_reader_gives(two_files):
    here = ListReader(two_files, crime_list.CONTRACT, now=NOW, chunk_rows=2)
    apart = ProcessReader(two_files, crime_list.CONTRACT, now=NOW, chunk_rows=2)
    with pytest.raises(RuntimeError, match="read every chunk"):
        apart.quarantine()
    mine, theirs = list(here), list(apart)
    assert [len(p) for p in theirs] == [2, 2, 1, 0, 1]
    for a, b in zip(mine, theirs, strict=True):
        pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(apart.quarantine(), here.quarantine())
    assert (apart.read, apart.notes, apart.repairs) == (here.read, here.notes, here.repairs)
    with pytest.raises(RuntimeError, match="reads its files once"):
        list(apart)


def test_a_process_reader_raises_the_readers_error_where_its_chunk_would_come(two_files):
    broken = two_files[1].with_name("c.csv")
    broken.write_text("Diarienummer;Brottsbenämning\nK-9;Rån\n", encoding="utf-8")
    parts = iter(ProcessReader([two_files[0], broken], crime_list.CONTRACT, now=NOW))
    assert len(next(parts)) == 5
    with pytest.raises(SourceError, match=r"c\.csv: no column for occurred_at"):
        next(parts)


def test_a_process_reader_stopped_early_ends_its_process(two_files):
    reader = ProcessReader(two_files, crime_list.CONTRACT, now=NOW, chunk_rows=1)
    parts = iter(reader)
    next(parts)
    parts.close()  # as when the caller's merge fails
    assert reader._process is not None and reader._process.poll() is not None
    with ProcessReader(two_files, crime_list.CONTRACT, now=NOW) as started:
        process = started._process  # started, never read
    assert process is not None and process.poll() is not None
