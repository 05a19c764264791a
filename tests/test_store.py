"""The DuckDB store: offline spatial extension, merges that count right, atomic batches."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import duckdb
import numpy as np
import pandas as pd
import pytest

from trygghetskarta import store
from trygghetskarta.errors import StoreError
from trygghetskarta.schema import PARSED_COLUMNS

TZ = "Europe/Stockholm"
NOW = pd.Timestamp("2025-01-01 12:00", tz=TZ)


def _events(rows: list[dict]) -> pd.DataFrame:
    base = {c: None for c in PARSED_COLUMNS}
    frame = pd.DataFrame([{**base, **r} for r in rows])
    for col in ("occurred_at", "published_at"):
        frame[col] = pd.to_datetime(frame[col]).dt.tz_localize(TZ)
    for col in ("x", "y", "uncertainty_m"):
        frame[col] = frame[col].astype(float)
    return frame


def _event(i: int, summary: str = "Misshandel på Södermalm.", published: str = "2024-05-01 10:00"):
    return {
        "event_uid": f"polisen:{i}",
        "source": "polisen",
        "source_id": str(i),
        "layer": "police_event",
        "category": "violence",
        "source_type": "Misshandel",
        "occurred_at": "2024-05-01 09:00",
        "published_at": published,
        "title": "1 maj 09.00, Misshandel, Stockholm",
        "summary": summary,
        "sensitive": False,
        "raw": json.dumps({"id": i, "summary": summary}),
    }


@pytest.fixture
def con(tmp_path):
    connection = store.connect(tmp_path / "t.duckdb")
    yield connection
    connection.close()


def test_spatial_extension_loads_offline(con):
    x, y = con.execute(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_Point(18.0686, 59.3293), "
        "'EPSG:4326', 'EPSG:3006', always_xy := true) AS p)"
    ).fetchone()
    # Stockholm's centre in SWEREF99 TM: pyproj gives (674 571.9, 6 580 743.0).
    assert x == pytest.approx(674_571.9, abs=1)
    assert y == pytest.approx(6_580_743.0, abs=1)


def test_first_merge_loads_and_rerun_changes_nothing(con):
    events = _events([_event(1), _event(2)])
    with store.transaction(con):
        first = store.merge_events(con, events, batch_id="b1", ingested_at=NOW)
    with store.transaction(con):
        second = store.merge_events(con, events, batch_id="b2", ingested_at=NOW)
    assert first == store.MergeCounts(loaded=2, updated=0, unchanged=0)
    assert second == store.MergeCounts(loaded=0, updated=0, unchanged=2)
    assert con.execute("SELECT DISTINCT batch_id FROM events").fetchall() == [("b1",)]


def test_edited_event_updates_and_keeps_every_version(con):
    with store.transaction(con):
        store.merge_events(con, _events([_event(1)]), batch_id="b1", ingested_at=NOW)
    edited = _events(
        [_event(1, summary="Grov misshandel på Hornsgatan.", published="2024-05-01 12:00")]
    )
    with store.transaction(con):
        counts = store.merge_events(con, edited, batch_id="b2", ingested_at=NOW)
    assert counts == store.MergeCounts(loaded=0, updated=1, unchanged=0)
    assert (
        con.execute("SELECT summary FROM events").fetchone()[0] == "Grov misshandel på Hornsgatan."
    )
    assert con.execute("SELECT count(*) FROM event_versions").fetchone()[0] == 2


def test_an_older_version_never_replaces_a_newer_one(con):
    newer = _events([_event(1, summary="ny text", published="2024-05-02 10:00")])
    older = _events([_event(1, summary="gammal text", published="2024-05-01 10:00")])
    with store.transaction(con):
        store.merge_events(con, newer, batch_id="b1", ingested_at=NOW)
        counts = store.merge_events(con, older, batch_id="b2", ingested_at=NOW)
    assert counts.unchanged == 1
    assert con.execute("SELECT summary FROM events").fetchone()[0] == "ny text"


def _minutes(k: int) -> str:
    return str(pd.Timestamp("2024-05-01 10:00") + pd.Timedelta(minutes=k))


def test_every_version_in_one_batch_is_kept_in_the_order_received(con):
    versions = _events([_event(1, f"version {k}", _minutes(k)) for k in range(500)])
    with store.transaction(con):
        counts = store.merge_events(
            con, versions.iloc[[-1]], batch_id="b1", ingested_at=NOW, versions=versions
        )
    assert counts == store.MergeCounts(loaded=1, updated=499, unchanged=0)
    kept = con.execute(
        "SELECT json_extract_string(raw, '$.summary') FROM event_versions "
        "ORDER BY received_at, received_no"
    ).fetchall()
    assert [k for (k,) in kept] == [f"version {k}" for k in range(500)]
    assert con.execute("SELECT summary FROM events").fetchall() == [("version 499",)]


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        pytest.param(["a", "b", "a"], store.MergeCounts(1, 1, 1), id="a-b-a-the-repeat-is-old"),
        pytest.param(["a", "a", "a"], store.MergeCounts(1, 0, 2), id="the-same-version-thrice"),
        pytest.param(["b", "a"], store.MergeCounts(1, 0, 1), id="an-older-version-after"),
    ],
)
def test_versions_in_a_batch_count_as_if_each_came_alone(con, order, expected):
    """a (10:00) and b (11:00): the counts add up to the versions received."""
    kinds = {"a": _event(1, "a", "2024-05-01 10:00"), "b": _event(1, "b", "2024-05-01 11:00")}
    versions = _events([kinds[k] for k in order])
    latest = _events([kinds[max(order)]])  # what events holds after the batch
    with store.transaction(con):
        counts = store.merge_events(con, latest, batch_id="b1", ingested_at=NOW, versions=versions)
    assert counts == expected
    assert counts.loaded + counts.updated + counts.unchanged == len(order)
    assert con.execute("SELECT count(*) FROM event_versions").fetchone()[0] == len(set(order))
    # The same batch again: every version is already there.
    with store.transaction(con):
        again = store.merge_events(con, latest, batch_id="b2", ingested_at=NOW, versions=versions)
    assert again == store.MergeCounts(0, 0, len(order))


def test_merge_refuses_an_event_twice_or_versions_without_their_event(con):
    with pytest.raises(ValueError, match="more than once"):
        store.merge_events(con, _events([_event(1), _event(1)]), batch_id="b", ingested_at=NOW)
    with pytest.raises(ValueError, match="name different events"):
        store.merge_events(
            con, _events([_event(1)]), batch_id="b", ingested_at=NOW, versions=_events([_event(2)])
        )


def test_an_older_database_gains_the_order_column(tmp_path):
    path = tmp_path / "old.duckdb"
    con = store.connect(path)
    con.execute("DROP TABLE event_versions")
    con.execute(
        "CREATE TABLE event_versions (event_uid VARCHAR, content_hash VARCHAR, "
        "published_at TIMESTAMPTZ, raw VARCHAR, batch_id VARCHAR, received_at TIMESTAMPTZ, "
        "PRIMARY KEY (event_uid, content_hash))"
    )
    con.close()
    con = store.connect(path)
    try:
        with store.transaction(con):
            store.merge_events(con, _events([_event(1)]), batch_id="b", ingested_at=NOW)
        assert con.execute("SELECT received_no FROM event_versions").fetchall() == [(0,)]
    finally:
        con.close()


def test_a_failed_batch_leaves_the_database_as_it_was(con):
    with store.transaction(con):
        store.merge_events(con, _events([_event(1)]), batch_id="b1", ingested_at=NOW)
    with pytest.raises(RuntimeError), store.transaction(con):
        store.merge_events(con, _events([_event(2), _event(3)]), batch_id="b2", ingested_at=NOW)
        raise RuntimeError("killed in the middle of the batch")
    assert con.execute("SELECT count(*) FROM events").fetchone()[0] == 1
    assert con.execute("SELECT count(*) FROM event_versions").fetchone()[0] == 1


def test_quarantine_is_idempotent(con):
    bad = pd.DataFrame(
        [
            {
                "source": "polisen",
                "source_id": "9",
                "source_file": "a.json",
                "reason": "title has no incident date",
                "raw": "{}",
            }
        ]
    )
    assert store.add_quarantine(con, bad, batch_id="b1", quarantined_at=NOW) == 1
    assert store.add_quarantine(con, bad, batch_id="b2", quarantined_at=NOW) == 0
    assert con.execute("SELECT reason FROM quarantine").fetchall() == [
        ("title has no incident date",)
    ]


def test_update_positions_touches_only_changed_rows(con):
    with store.transaction(con):
        store.merge_events(con, _events([_event(1), _event(2)]), batch_id="b1", ingested_at=NOW)
    positions = pd.DataFrame(
        {
            "event_uid": ["polisen:1", "polisen:2"],
            "x": [674_000.0, None],
            "y": [6_580_000.0, None],
            "precision": ["place", "kommun"],
            "uncertainty_m": [250.0, 8000.0],
            "place_name": ["Medborgarplatsen", None],
            "stadsdel": ["Södermalm", None],
            "stadsdelsomrade": ["Södermalm", None],
        }
    )
    assert store.update_positions(con, positions) == 2
    assert store.update_positions(con, positions) == 0
    assert con.execute("SELECT count(*) FROM events_geo").fetchone()[0] == 1


def test_read_events_filters_by_period_and_layer(con):
    with store.transaction(con):
        store.merge_events(con, _events([_event(1)]), batch_id="b1", ingested_at=NOW)
    start = pd.Timestamp("2024-05-01", tz=TZ)
    assert len(store.read_events(con, layers=["police_event"], start=start)) == 1
    assert len(store.read_events(con, layers=["fire"])) == 0
    assert len(store.read_events(con, end=start)) == 0


def test_a_database_locked_by_another_process_is_one_clear_error(tmp_path):
    path = tmp_path / "locked.duckdb"
    store.connect(path).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
            "print('ready', flush=True); "
            "time.sleep(30)",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(StoreError, match="in use by another process"):
            store.connect(path)
    finally:
        holder.kill()
        holder.wait(timeout=10)


def test_a_file_that_is_not_a_database_is_one_clear_error(tmp_path):
    path = tmp_path / "junk.duckdb"
    path.write_text("this is not a database")
    with pytest.raises(StoreError, match=r"move it away|cannot open"):
        store.connect(path)


def test_runs_record_counts(con):
    store.start_run(con, "r1", command="ingest", started_at=NOW, inputs={"a": 1}, parameters={})
    store.finish_run(
        con,
        "r1",
        finished_at=NOW,
        status="ok",
        counts={"read": 3, "loaded": 2, "updated": 0, "unchanged": 0, "quarantined": 1},
    )
    row = con.execute("SELECT status, read, loaded, quarantined FROM runs").fetchone()
    assert row == ("ok", 3, 2, 1)


def test_event_period_is_timezone_aware(con):
    assert store.event_period(con) is None
    with store.transaction(con):
        store.merge_events(con, _events([_event(1)]), batch_id="b1", ingested_at=NOW)
    first, last = store.event_period(con)
    assert first == last == pd.Timestamp("2024-05-01 09:00", tz=TZ)


def test_mixing_read_only_and_read_write_in_one_process_is_explained(tmp_path):
    path = tmp_path / "t.duckdb"
    store.connect(path).close()
    reader = store.connect(path, read_only=True)
    try:
        with pytest.raises(StoreError, match="read-only and read-write cannot mix"):
            store.connect(path)
    finally:
        reader.close()


def test_quarantine_of_a_record_without_an_id(con):
    bad = pd.DataFrame(
        {
            "source": ["polisen"],
            "source_id": pd.array([pd.NA], dtype="string"),
            "source_file": ["a.json"],
            "reason": ["record has no id"],
            "raw": ["{}"],
        }
    )
    assert store.add_quarantine(con, bad, batch_id="b1", quarantined_at=NOW) == 1
    assert store.add_quarantine(con, bad, batch_id="b2", quarantined_at=NOW) == 0


def test_a_run_left_running_is_marked_interrupted_by_the_next(con, caplog):
    store.start_run(con, "killed", command="ingest", started_at=NOW, inputs={}, parameters={})
    with caplog.at_level("WARNING", logger="trygghetskarta.store"):
        store.start_run(con, "next", command="ingest", started_at=NOW, inputs={}, parameters={})
    statuses = dict(con.execute("SELECT run_id, status FROM runs").fetchall())
    assert statuses == {"killed": "interrupted", "next": "running"}
    assert "run killed was interrupted" in caplog.text


def test_ingested_files_are_remembered(con):
    assert store.ingested_file_keys(con) == set()
    store.record_ingested_files(con, "k1", ["a.json"], batch_id="b1", at=NOW, counts={"read": 1})
    assert store.ingested_file_keys(con) == {"k1"}


def test_a_text_column_empty_in_one_batch_does_not_turn_numeric(con):
    """A batch whose ``text_missing`` is all missing (float NaN in pandas) merges into a
    store whose event has text there, and the text stays text."""
    first = _events([_event(1)])
    first["text_missing"] = "page not fetched: 404"
    store.merge_events(con, first, batch_id="b1", ingested_at=NOW)
    second = _events([_event(1)])
    second["text_missing"] = float("nan")
    assert second["text_missing"].dtype.kind == "f"
    store.merge_events(con, second, batch_id="b2", ingested_at=NOW)
    assert con.execute("SELECT text_missing FROM events").fetchall() == [(None,)]
    store.merge_events(con, first, batch_id="b3", ingested_at=NOW)
    assert con.execute("SELECT text_missing FROM events").fetchall() == [("page not fetched: 404",)]


# --------------------------------------------------------------------------- set-based merge


def _content_hash_row_by_row(frame: pd.DataFrame) -> list[str]:
    """The reference: the hash as it was computed row by row before it took arrays."""
    from trygghetskarta.store.events import _CONTENT_COLUMNS

    cols = [c for c in _CONTENT_COLUMNS if c in frame.columns]
    out = []
    for row in frame[cols].itertuples(index=False, name=None):
        text = json.dumps([None if pd.isna(v) else str(v) for v in row], ensure_ascii=False)
        out.append(hashlib.sha256(text.encode("utf-8")).hexdigest()[:32])
    return out


def _varied_events() -> pd.DataFrame:
    """Text that JSON escapes, missing values of every kind, sub-second and DST times."""
    texts = ['Rån "på" torget', "back\\slash", "rad\nbrytning\ttab", "", "åäö €", "\x01ctl"]
    rows = []
    for i in range(60):
        rows.append(
            {
                **_event(i, texts[i % len(texts)]),
                "place_name": None if i % 3 else texts[(i + 1) % len(texts)],
                "x": [674_345.0, float("nan"), 1e16, -0.0, 1 / 3][i % 5],
                "y": 6_581_101.5,
                "uncertainty_m": float("nan") if i % 2 else 25.0,
                "precision": None if i % 2 else "exact",
                "sensitive": bool(i % 4 == 0),
                "occurred_at": [
                    "2024-05-01 09:00:00.000",
                    "2024-10-27 02:30:00.000",  # the doubled autumn hour
                    "2024-03-31 03:15:00.000",
                    "2024-05-01 09:00:00.250",
                ][i % 4],
                "published_at": None if i % 5 == 0 else "2024-05-01 10:00:00.000",
            }
        )
    base = {c: None for c in PARSED_COLUMNS}
    frame = pd.DataFrame([{**base, **r} for r in rows])
    for col in ("occurred_at", "published_at"):
        frame[col] = pd.to_datetime(frame[col]).dt.tz_localize(
            TZ, ambiguous=np.ones(len(frame), dtype=bool), nonexistent="shift_forward"
        )
    frame["summary"] = frame["summary"].astype(pd.StringDtype())
    frame.loc[7, "summary"] = pd.NA
    return frame


@pytest.mark.parametrize(
    "shape",
    [
        pytest.param(lambda f: f, id="object-columns"),
        pytest.param(lambda f: f.astype({"title": pd.StringDtype()}), id="string-dtype"),
        pytest.param(
            lambda f: f.assign(occurred_at=f["occurred_at"].dt.tz_convert("UTC")), id="utc"
        ),
        pytest.param(lambda f: f.iloc[:0], id="empty"),
    ],
)
def test_content_hash_from_arrays_equals_the_row_by_row_hash(shape):
    frame = shape(_varied_events())
    assert store.content_hash(frame).tolist() == _content_hash_row_by_row(frame)


def test_set_based_counts_equal_the_ordered_walk():
    """Random batches against random held states: the array count and the walk agree."""
    from trygghetskarta.store.events import _apply_in_order, _count_versions

    rng = np.random.default_rng(16)
    stamps = pd.date_range("2024-05-01", periods=6, freq="h", tz=TZ).append(
        pd.DatetimeIndex([pd.NaT], tz=TZ)
    )
    for _ in range(50):
        n = int(rng.integers(1, 40))
        received = pd.DataFrame(
            {
                "event_uid": [f"e{k}" for k in rng.integers(0, 15, n)],
                "content_hash": [f"h{k}" for k in rng.integers(0, 3, n)],
                "published_at": stamps[rng.integers(0, len(stamps), n)],
            }
        )
        m = int(rng.integers(0, 10))
        held = pd.DataFrame(
            {
                "event_uid": [f"e{k}" for k in rng.choice(15, m, replace=False)],
                "content_hash": [f"h{k}" for k in rng.integers(0, 3, m)],
                "published_at": stamps[rng.integers(0, len(stamps), m)],
            }
        )
        assert _count_versions(received, held) == _apply_in_order(received, held)


@pytest.mark.parametrize("slice_rows", [3, 4, 100], ids=["slices-of-3", "slices-of-4", "whole"])
def test_a_list_merged_in_slices_is_the_list_merged_whole(tmp_path, monkeypatch, slice_rows):
    import trygghetskarta.store.events as store_events

    frame = _events([_event(i, summary=f"Misshandel {i} på Södermalm.") for i in range(10)])
    whole = store.connect(tmp_path / "whole.duckdb")
    counts = store.merge_events(whole, frame, batch_id="b", ingested_at=NOW)
    monkeypatch.setattr(store_events, "MERGE_SLICE_ROWS", slice_rows)
    sliced = store.connect(tmp_path / "sliced.duckdb")
    assert store.merge_events(sliced, frame, batch_id="b", ingested_at=NOW) == counts
    changed = frame.assign(title=["ändrad"] * 5 + list(frame["title"][5:]))
    again = store.merge_events(sliced, changed, batch_id="c", ingested_at=NOW)
    assert again == store.MergeCounts(0, 5, 5)
    store.merge_events(whole, changed, batch_id="c", ingested_at=NOW)
    for table in ("events", "event_versions"):
        query = f"SELECT * FROM {table} ORDER BY ALL"
        pd.testing.assert_frame_equal(sliced.sql(query).df(), whole.sql(query).df())


def test_an_event_repeated_across_slices_is_refused(con, monkeypatch):
    import trygghetskarta.store.events as store_events

    monkeypatch.setattr(store_events, "MERGE_SLICE_ROWS", 2)
    frame = _events([_event(1), _event(2), _event(3), _event(1)])
    with pytest.raises(ValueError, match="'polisen:1' more than once"):
        store.merge_events(con, frame, batch_id="b", ingested_at=NOW)
    assert con.sql("SELECT count(*) FROM events").fetchone() == (0,)


@pytest.mark.parametrize(
    "dtype", [object, "string[python]", "string[pyarrow]"], ids=["object", "python", "arrow"]
)
def test_content_hash_is_the_same_however_text_is_stored(dtype):
    titles = ['citat "här"', None, "snedstreck \\ och\ttab", "ö", "", "vanlig"]
    frame = _events([_event(i) for i in range(len(titles))])
    frame["title"] = pd.Series(titles, dtype=dtype)
    # the hash is sha256 over the JSON list of str(value) of the content columns
    expected = []
    for _, row in frame.iterrows():
        values = [
            None if (v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v))) else str(v)
            for v in (row[c] for c in store.events._CONTENT_COLUMNS if c in frame.columns)
        ]
        text = json.dumps(values, ensure_ascii=False)
        expected.append(hashlib.sha256(text.encode()).hexdigest()[:32])
    assert store.content_hash(frame).tolist() == expected


def test_a_memory_limit_is_set_on_the_connection_and_a_bad_one_is_refused(tmp_path):
    con = store.connect(tmp_path / "x.duckdb", memory_limit="256MiB")
    try:
        (limit,) = con.execute("SELECT current_setting('memory_limit')").fetchone()
    finally:
        con.close()
    assert limit == "256.0 MiB"
    with pytest.raises(StoreError, match="memory limit 'plenty'"):
        store.connect(tmp_path / "y.duckdb", memory_limit="plenty")


def test_fewer_threads_leaves_a_core_and_gives_it_back():
    con = duckdb.connect()
    con.execute("SET threads = 3")
    with store.fewer_threads(con):
        assert con.execute("SELECT current_setting('threads')").fetchone() == (2,)
    assert con.execute("SELECT current_setting('threads')").fetchone() == (3,)
    con.execute("SET threads = 1")
    with pytest.raises(ZeroDivisionError), store.fewer_threads(con):
        assert con.execute("SELECT current_setting('threads')").fetchone() == (1,)
        _ = 1 / 0
    assert con.execute("SELECT current_setting('threads')").fetchone() == (1,)
