"""The archive and the live answers in one database: parquet, JSON, JSON lines, polls.

Backfill from every archive format, then live answers on top, through the pipeline's
police batch (:func:`police_ingest.ingest`) and through ``pipeline.ingest`` itself; and
the issue's acceptance test of ``trygghetskarta fetch polisen`` against a local server.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from police_ingest import (
    BASE,
    SNAPSHOT,
    assert_same,
    duplicated_and_shuffled,
    edited,
    ingest,
    is_stockholm,
    police_files,
    snapshot,
    stored_ids,
)
from scripted_server import Reply, ScriptedServer, api_event
from trygghetskarta import pipeline, store
from trygghetskarta.config import Settings
from trygghetskarta.errors import SourceError
from trygghetskarta.sources import polisen, polisen_api

pytestmark = pytest.mark.network


def _write_parquet(records: list[dict[str, Any]], path: Path) -> Path:
    """A tiny archive file with the columns of ``polisen_events_*.parquet``."""
    rows = [
        {
            "id": r.get("id"),
            "datetime": r.get("datetime"),
            "name": r.get("name"),
            "summary": r.get("summary"),
            "url": r.get("url"),
            "type": r.get("type"),
            "location_name": r.get("location", {}).get("name"),
            "location_gps": r.get("location", {}).get("gps"),
        }
        for r in records
        if isinstance(r.get("id"), int)
    ]
    pd.DataFrame(rows).to_parquet(path)
    return path


def _usable(records: list[Any]) -> list[dict[str, Any]]:
    """Records with a numeric id (see the xfail test below for those without)."""
    return [r for r in records if isinstance(r, dict) and isinstance(r.get("id"), int)]


def test_backfill_from_parquet_json_and_json_lines_then_live(tmp_path, test_data):
    fixtures = test_data / "polisen"
    api = _usable(json.loads((fixtures / "api_events.json").read_text(encoding="utf-8")))
    parquet = _write_parquet(api[:6], tmp_path / "polisen_events_test.parquet")
    api_json = tmp_path / "api_events.json"
    api_json.write_text(json.dumps(api, ensure_ascii=False), encoding="utf-8")
    versions = [
        json.loads(line)
        for line in (fixtures / "versions.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip().endswith("}")
    ]
    jsonl = tmp_path / "versions.jsonl"
    jsonl.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in versions), "utf-8")
    archive = (parquet, api_json, fixtures / "events_with_text.json", jsonl)
    raw = tmp_path / "raw"
    con = store.connect(tmp_path / "t.duckdb")
    first = ingest(con, raw, archive)
    expected = polisen.parse(list(archive))
    with_text = json.loads((archive[2]).read_text("utf-8"))
    every_id = {str(r["id"]) for r in [*api, *versions, *with_text]}
    records = 6 + len(api) + len(with_text) + len(versions)  # every version of every id
    assert first["read"] == expected.read == records > len(every_id)
    assert first["loaded"] == len(expected.events) >= 8
    assert stored_ids(con) == every_id
    again = ingest(con, raw, archive)  # re-run: nothing changes, every version is known
    assert (again["loaded"], again["updated"]) == (0, 0)
    assert again["unchanged"] == len(expected.versions) > len(expected.events)

    # A live answer carries a newer version of an archived event and a new one.
    archived = next(r for r in api if r["id"] == 648400)
    newer = dict(
        archived,
        summary=archived["summary"] + " Polisen söker vittnen.",
        datetime="2026-08-01 20:00:00 +02:00",
    )
    fresh = api_event(700001, published="2026-08-02 9:00:00 +02:00", occurred=(2, 8, 8, 30))
    with ScriptedServer([Reply(200, [fresh, newer])]) as server:
        settings = polisen_api.client_settings({"base_url": server.base_url, "min_interval_s": 0})
        polisen_api.poll(settings, raw_dir=raw)
    live = ingest(con, raw, archive)
    assert (live["loaded"], live["updated"]) == (1, 1)
    versions = con.execute(
        "SELECT count(*) FROM event_versions WHERE event_uid = 'polisen:648400'"
    ).fetchone()[0]
    assert versions == 2
    police = "SELECT count(*) FROM events WHERE layer = 'police_event'"
    assert con.execute(police).fetchone()[0] == len(expected.events) + 1
    con.close()


def test_an_answer_element_without_an_id_is_quarantined_not_fatal(tmp_path):
    answer = [*BASE, {"datetime": "2026-08-22 8:00:00 +02:00", "name": "Utan id, Rån, Stockholm"}]
    with ScriptedServer([Reply(200, answer)]) as server:
        settings = polisen_api.client_settings({"base_url": server.base_url, "min_interval_s": 0})
        polisen_api.poll(settings, raw_dir=tmp_path / "raw")
    con = store.connect(tmp_path / "t.duckdb")
    counts = ingest(con, tmp_path / "raw")
    assert (counts["loaded"], counts["quarantined"]) == (4, 2)
    con.close()


@pytest.mark.realdata
def test_backfill_of_the_real_archive_then_real_answers(tmp_path, shared_data, caplog):
    """Parquet + page-text JSON + JSON lines + two live answers, into one database."""
    folder = shared_data / "police_events"
    sample = json.loads((folder / "fixture_stockholm_100_api_format.json").read_text("utf-8"))
    jsonl = tmp_path / "extra.jsonl"
    lines = [
        dict(r, summary=(r.get("summary") or "") + " (uppdaterad)", datetime=r["datetime"])
        for r in sample[:5]
    ]
    jsonl.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in lines), "utf-8")
    archive = (
        folder / "polisen_events_2022-09_2025-12.parquet",
        folder / "stockholms_lan_events_with_text_2022-09_2025-12.json",
        jsonl,
    )
    raw = tmp_path / "raw"
    con = store.connect(tmp_path / "t.duckdb")
    first = ingest(con, raw, archive)
    archived_ids = {str(i) for i in pd.read_parquet(archive[0], columns=["id"])["id"]}
    archived_ids |= {str(r["id"]) for r in json.loads(archive[1].read_text("utf-8"))}
    archived_ids |= {str(r["id"]) for r in lines}
    archived_records = 70_289 + len(json.loads(archive[1].read_text("utf-8"))) + len(lines)
    assert first["read"] == archived_records  # every version of every id
    assert stored_ids(con) == archived_ids  # every archived event kept or quarantined
    assert first["loaded"] > 3_000
    summaries = con.execute(
        "SELECT summary FROM events WHERE source_id IN (SELECT unnest(?))",
        [[str(r["id"]) for r in lines]],
    ).df()["summary"]
    assert len(summaries) == len(lines)
    assert summaries.str.endswith("(uppdaterad)").all()  # the JSON-lines version won

    body = (shared_data / SNAPSHOT).read_bytes()
    records = json.loads(body)
    target = next(r for r in records if is_stockholm(r))
    second = duplicated_and_shuffled(
        edited(
            records,
            target["id"],
            summary=target["summary"] + " Två personer gripna.",
            datetime="2026-08-22 20:30:00 +02:00",
        )
    )
    with ScriptedServer([Reply(200, body), Reply(200, second)]) as server:
        settings = polisen_api.client_settings({"base_url": server.base_url, "min_interval_s": 0})
        polisen_api.poll(settings, raw_dir=raw)
        live = ingest(con, raw)  # (the live files only: the archive is already in)
        with caplog.at_level(logging.INFO, logger="trygghetskarta"):
            polisen_api.poll(settings, raw_dir=raw)
        again = ingest(con, raw)
    assert (live["read"], live["loaded"], live["quarantined"]) == (500, 15, 485)
    assert (again["loaded"], again["updated"]) == (0, 1)
    assert f"1 changed (ids {target['id']})" in caplog.text
    assert "ids appear more than once" in caplog.text
    before = snapshot(con)

    everything = ingest(con, raw, archive)  # what the nightly ingest reads: all of it
    assert (everything["loaded"], everything["updated"]) == (0, 0)
    assert everything["read"] == archived_records + len(records) + len(second)
    assert_same(before, snapshot(con))
    assert stored_ids(con) == archived_ids | {str(r["id"]) for r in records}
    n = con.execute(
        "SELECT count(*) FROM event_versions WHERE event_uid = ?", [f"polisen:{target['id']}"]
    ).fetchone()[0]
    assert n == 2
    con.close()


# --------------------------------------------------------------------------- the pipeline


@pytest.mark.realdata
def test_pipeline_ingest_reads_fetched_answers_and_never_rejected_ones(tmp_path, shared_data):
    """``pipeline.ingest`` on a data dir with the boundaries and only live answers."""
    data = tmp_path / "data"
    data.mkdir()
    for name in ("boundaries", "population", "gazetteer"):
        (data / name).symlink_to(shared_data / name)
    (data / "police_events").mkdir()
    raw = tmp_path / "raw"
    settings = Settings(
        project_dir=tmp_path,
        data_dir=data,
        processed_dir=tmp_path / "processed",
        raw_dir=raw,
        db_path=tmp_path / "processed" / "t.duckdb",
    )
    body = (shared_data / SNAPSHOT).read_bytes()
    replies = [Reply(200, body), Reply(200, "<html><title>Fel</title></html>")]
    with ScriptedServer(replies) as server:
        client_settings = polisen_api.client_settings(
            {"base_url": server.base_url, "min_interval_s": 0}
        )
        polisen_api.poll(client_settings, raw_dir=raw)
        with pytest.raises(SourceError, match="HTML page"):
            polisen_api.poll(client_settings, raw_dir=raw)
    assert len(list((raw / "polisen" / "rejected").glob("*.html"))) == 1
    con = store.connect(settings.db_path)
    result = pipeline.ingest(settings, con)
    assert result.errors == []
    counts = result.counts["sources"]["polisen"]
    assert counts["files"] == [str(p) for p in police_files(raw)]
    assert (counts["read"], counts["loaded"], counts["quarantined"]) == (500, 15, 485)
    # A second ingest skips the answer it already read; read again on request, nothing changes.
    again = pipeline.ingest(settings, con).counts["sources"]["polisen"]
    assert again["read"] == 0
    assert again["files_skipped"] == counts["files"]
    reread = pipeline.ingest(settings.with_overrides(reingest=True), con).counts
    police = reread["sources"]["polisen"]
    assert (police["loaded"], police["updated"], police["unchanged"]) == (0, 0, 15)
    con.close()


# --------------------------------------------------------------------------- the command line


@pytest.mark.realdata
def test_cli_fetch_polisen_ingests_exactly_what_was_served(tmp_path, shared_data, monkeypatch):
    """The acceptance test of issue 3, for when ``trygghetskarta fetch polisen`` is wired."""
    from typer.testing import CliRunner

    from trygghetskarta import cli

    runner = CliRunner()
    if runner.invoke(cli.app, ["fetch", "--help"]).exit_code != 0:
        pytest.skip("`trygghetskarta fetch polisen` is not wired into cli.py yet")
    data = tmp_path / "data"
    data.mkdir()
    for name in ("boundaries", "population", "gazetteer"):
        (data / name).symlink_to(shared_data / name)
    (data / "police_events").mkdir()
    (tmp_path / "trygghetskarta.toml").write_text(
        "[polisen]\nbackoff_s = 0\nmax_attempts = 3\ntimeout_s = 1\n"
        'contact = "https://example.org/test"\n'
        # the script serves regular polls only: no backfill of uncovered days here (that
        # is tested in test_coverage_live.py)
        "backfill_max_days = 0\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "t.duckdb"
    body = (shared_data / SNAPSHOT).read_bytes()
    records = json.loads(body)
    target = next(r for r in records if is_stockholm(r))
    changed = edited(
        records, target["id"], summary="Ny text.", datetime="2026-08-22 21:00:00 +02:00"
    )
    script = [
        Reply(503, ""),
        Reply(429, "", headers={"Retry-After": "0"}),
        Reply(200, body),  # first run: two faults, then the answer
        Reply(200, body[:-100]),  # second run: truncated
        Reply(200, duplicated_and_shuffled(changed)),  # third run: edited, duplicated
    ]
    with ScriptedServer(script) as server:
        args = ["--data", str(data), "--db", str(db), "fetch", "polisen"]
        # the scripted server answers the API only (pages: test_polisen_pages.py)
        args += ["--base-url", server.base_url, "--min-interval", "0", "--no-pages"]
        first = runner.invoke(cli.app, args)
        assert first.exit_code == 0, first.output
        con = store.connect(db)
        assert stored_ids(con) == {str(r["id"]) for r in records}
        police = "SELECT count(*) FROM events WHERE layer = 'police_event'"
        assert con.execute(police).fetchone()[0] == 15
        before = snapshot(con)
        con.close()

        second = runner.invoke(cli.app, args)
        assert second.exit_code == 1
        assert "JSON cut short" in second.output
        con = store.connect(db)
        assert_same(before, snapshot(con))
        con.close()

        third = runner.invoke(cli.app, args)
        assert third.exit_code == 0, third.output
        assert server.pending == 0
    con = store.connect(db)
    assert stored_ids(con) == {str(r["id"]) for r in records}
    versions = con.execute(
        "SELECT count(*) FROM event_versions WHERE event_uid = ?", [f"polisen:{target['id']}"]
    ).fetchone()[0]
    assert versions == 2
    con.close()
