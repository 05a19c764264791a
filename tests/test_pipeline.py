"""The pipeline end to end: real data in, database, rasters, maps and reports out."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import rasterio

from trygghetskarta import pipeline, store
from trygghetskarta.config import load_settings
from trygghetskarta.errors import DataNotFoundError

pytestmark = pytest.mark.realdata

REPO = Path(__file__).resolve().parents[1]

#: Stockholm events in the archive, less the one whose incident lies days after its
#: publication ("01 maj 08:00, Övrigt", published 28 April), which is quarantined.
STOCKHOLM_EVENTS_IN_ARCHIVE = 3_274
ARCHIVE_EVENTS = 70_289
#: The archive's events with page text: a second copy (the same version) of Stockholm's.
WITH_TEXT_RECORDS = 3_452


@pytest.fixture
def db(real_run):
    settings, _ = real_run
    con = store.connect(settings.db_path, read_only=True)
    yield con
    con.close()


def test_the_run_ends_ok_with_every_step(real_run):
    _, report = real_run
    assert report.status == "ok"
    assert [s.step for s in report.steps] == [
        "ingest",
        "geocode",
        "analyse",
        "forecast",
        "maps",
        "report",
    ]


def test_every_record_is_an_event_or_quarantined(real_run, db):
    _, report = real_run
    read, loaded, updated, unchanged, quarantined = db.execute(
        "SELECT read, loaded, updated, unchanged, quarantined FROM runs WHERE run_id = ?",
        [report.run_id],
    ).fetchone()
    assert read == loaded + updated + unchanged + quarantined
    (ingest,) = [s for s in report.steps if s.step == "ingest"]
    police = ingest.counts["sources"]["polisen"]
    assert police["read"] == ARCHIVE_EVENTS + WITH_TEXT_RECORDS  # every record, every copy
    assert police["loaded"] == STOCKHOLM_EVENTS_IN_ARCHIVE
    assert police["unchanged"] == STOCKHOLM_EVENTS_IN_ARCHIVE  # the copies with page text
    assert police["read"] == police["loaded"] + police["unchanged"] + police["quarantined"]
    stored = db.execute("SELECT count(*) FROM events WHERE layer = 'police_event'").fetchone()[0]
    assert stored == STOCKHOLM_EVENTS_IN_ARCHIVE
    assert db.execute("SELECT count(*) FROM quarantine").fetchone()[0] == quarantined


def test_shootings_and_fires_are_derived_from_the_police_events(real_run, db):
    _, report = real_run
    (ingest,) = [s for s in report.steps if s.step == "ingest"]
    derived = ingest.counts["derived"]
    layers = dict(db.execute("SELECT layer, count(*) FROM events GROUP BY ALL").fetchall())
    assert layers["shooting"] == derived["shootings"] > 0
    assert layers["fire"] == derived["fires"] > 0
    orphans = db.execute(
        "SELECT count(*) FROM events d WHERE d.layer IN ('shooting', 'fire') AND NOT EXISTS "
        "(SELECT 1 FROM events p WHERE p.event_uid = 'polisen:' || d.source_id)"
    ).fetchone()[0]
    assert orphans == 0


def test_every_event_has_an_incident_time_and_a_precision(db):
    missing = db.execute(
        "SELECT count(*) FILTER (WHERE occurred_at IS NULL), "
        "count(*) FILTER (WHERE precision IS NULL) FROM events"
    ).fetchone()
    assert missing == (0, 0)


def test_events_placed_from_text_have_a_district_in_the_scheme_of_their_time(db):
    rows = db.execute(
        """
        SELECT year(occurred_at) >= 2024 AS new_scheme, list(DISTINCT stadsdelsomrade)
        FROM events
        WHERE precision IN ('place', 'street', 'stadsdel') AND stadsdelsomrade IS NOT NULL
        GROUP BY ALL
        """
    ).fetchall()
    names = {new: set(districts) for new, districts in rows}
    assert "Järva" in names[True] and "Rinkeby-Kista" not in names[True]
    assert "Rinkeby-Kista" in names[False] and "Järva" not in names[False]
    placed, with_district = db.execute(
        "SELECT count(*), count(stadsdelsomrade) FROM events "
        "WHERE precision IN ('place', 'street', 'stadsdel') AND year(occurred_at) >= 2024"
    ).fetchone()
    assert with_district == placed


def test_the_police_gps_field_is_never_a_position(db):
    # The API's gps for Stockholm kommun is 59.329324,18.068581 = (674 242, 6 580 797) in 3006.
    n = db.execute(
        "SELECT count(*) FROM events WHERE abs(x - 674242) < 50 AND abs(y - 6580797) < 50"
    ).fetchone()[0]
    assert n == 0
    assert (
        db.execute(
            "SELECT count(*) FROM events WHERE precision = 'kommun' AND x IS NOT NULL"
        ).fetchone()[0]
        == 0
    )


def test_outputs_are_written(real_run):
    settings, report = real_run
    out = settings.processed_dir
    public = out / "public"
    assert (public / "maps" / "stockholm.html").is_file()
    assert len(list((public / "maps").glob("*.html"))) == 12  # the city + 11 districts
    assert len(list((public / "reports").glob("*.html"))) == 11
    assert not (out / "internal").exists()  # the default profile is public
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["run_id"] == report.run_id
    assert manifest["status"] == "ok"
    for kind in ("maps", "reports"):
        folder = json.loads((public / kind / "manifest.json").read_text(encoding="utf-8"))
        assert folder["run_id"] == report.run_id
        assert {f["name"] for f in folder["files"]} == {
            p.name for p in (public / kind).glob("*.html")
        }


def test_the_density_raster_is_a_geotiff_in_sweref99_tm_with_its_parameters(real_run):
    settings, _ = real_run
    (path,) = (settings.processed_dir / "rasters").glob("density_police_event_*.tif")
    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == 3006
        tags = src.tags()
        assert float(tags["bandwidth_m"]) == settings.analysis.bandwidth
        assert float(tags["cell_size_m"]) == settings.analysis.cell_size_m
        assert json.loads(tags["analysis_parameters"]) == settings.analysis.as_dict()
        band = src.read(1, masked=True)
        assert band.count() > 0 and float(band.max()) > 0


def test_a_second_ingest_of_the_same_input_changes_nothing(real_run):
    settings, _ = real_run
    before = _snapshot(settings)
    con = store.connect(settings.work_db_path)  # the batch's database: readers' stays as it is
    try:
        skipped = pipeline.ingest(settings, con).counts
        again = pipeline.ingest(settings.with_overrides(reingest=True), con).counts
        geocode = pipeline.geocode(settings, con)
    finally:
        con.close()
    # Police files already ingested by this version are skipped ...
    assert skipped["sources"]["polisen"]["read"] == 0
    assert len(skipped["sources"]["polisen"]["files_skipped"]) == 2
    # ... and read again on request, they change nothing; nor does any other source.
    police = again["sources"]["polisen"]
    assert (police["loaded"], police["updated"]) == (0, 0)
    assert police["unchanged"] == 2 * STOCKHOLM_EVENTS_IN_ARCHIVE  # every version, again
    assert (again["loaded"], again["updated"]) == (0, 0)
    assert again["read"] == again["unchanged"] + again["quarantined"]
    assert geocode.counts["changed"] == 0
    assert _snapshot(settings) == before


def _snapshot(settings):
    con = store.connect(settings.work_db_path, read_only=True)
    try:
        return con.execute(
            "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM quarantine), "
            "(SELECT count(*) FROM event_versions), "
            "(SELECT sum(hash(event_uid || coalesce(summary, '') || coalesce(precision, ''))) "
            "FROM events)"
        ).fetchone()
    finally:
        con.close()


def test_a_missing_source_is_recorded_and_the_run_goes_on(shared_data, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for folder in ("boundaries", "gazetteer", "population"):
        (data / folder).symlink_to(shared_data / folder)
    env = {"TRYGGHETSKARTA_DATA": str(data), "TRYGGHETSKARTA_PROCESSED": str(tmp_path / "out")}
    report = pipeline.run(load_settings(REPO, env=env))
    assert report.status == "partial"
    (ingest,) = [s for s in report.steps if s.step == "ingest"]
    assert any("no police event files" in e for e in ingest.errors)
    assert ingest.counts["areas"] > 0


def test_no_data_stops_before_touching_anything(tmp_path):
    env = {
        "TRYGGHETSKARTA_DATA": str(tmp_path / "nothing"),
        "TRYGGHETSKARTA_PROCESSED": str(tmp_path / "out"),
    }
    with pytest.raises(DataNotFoundError, match="no input data found"):
        pipeline.run(load_settings(REPO, env=env))
    assert not (tmp_path / "out").exists()


def _poll(i: int, summary: str, published: str) -> list[dict]:
    return [
        {
            "id": 900001,
            "datetime": published,
            "name": "22 augusti 16.01, Misshandel, Stockholm",
            "summary": summary,
            "url": "/aktuellt/handelser/2026/augusti/22/22-augusti-16.01-misshandel-stockholm/",
            "type": "Misshandel",
            "location": {"name": "Stockholms län", "gps": "59.602496,18.138438"},
        }
    ]


def test_every_version_of_an_edited_event_is_kept_across_polls(shared_data, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for folder in ("boundaries", "gazetteer", "population"):
        (data / folder).symlink_to(shared_data / folder)
    project = tmp_path / "checkout"
    polls = project / "data" / "raw" / "polisen"
    polls.mkdir(parents=True)
    edits = ["Misshandel i Rinkeby.", "En man misshandlad i Rinkeby.", "En man gripen i Rinkeby."]
    for i, text in enumerate(edits):
        answer = _poll(i, text, f"2026-08-22 1{7 + i}:00:00 +02:00")
        name = f"polisen_2026082{i}T000000000000Z_all.json"
        (polls / name).write_text(json.dumps(answer, ensure_ascii=False), encoding="utf-8")
    env = {"TRYGGHETSKARTA_DATA": str(data), "TRYGGHETSKARTA_PROCESSED": str(tmp_path / "out")}
    settings = load_settings(project, env=env)
    con = store.connect(settings.db_path)
    try:
        counts = pipeline.ingest(settings, con).counts["sources"]["polisen"]
        versions = con.execute(
            "SELECT count(*) FROM event_versions WHERE event_uid = 'polisen:900001'"
        ).fetchone()[0]
        summary = con.execute("SELECT summary FROM events WHERE source = 'polisen'").fetchone()[0]
    finally:
        con.close()
    assert (counts["loaded"], counts["updated"]) == (1, 2)
    assert versions == 3
    assert summary == edits[-1]


def _project(shared_data, tmp_path, answers: dict[str, str]):
    """A checkout whose data dir has the real boundaries and population, and these raw polls
    (file name → JSON text) in data/raw/polisen."""
    data = tmp_path / "data"
    data.mkdir()
    for folder in ("boundaries", "gazetteer", "population"):
        (data / folder).symlink_to(shared_data / folder)
    project = tmp_path / "checkout"
    polls = project / "data" / "raw" / "polisen"
    polls.mkdir(parents=True)
    for name, text in answers.items():
        (polls / name).write_bytes(text.encode("utf-8"))
    env = {"TRYGGHETSKARTA_DATA": str(data), "TRYGGHETSKARTA_PROCESSED": str(tmp_path / "out")}
    return load_settings(project, env=env), data


def test_every_version_of_an_event_in_one_answer_is_kept_in_order(shared_data, tmp_path):
    versions = [
        _poll(
            0,
            f"Misshandel i Rinkeby, version {k}.",
            f"2026-08-22 17:{k // 60:02}:{k % 60:02} +02:00",
        )[0]
        for k in range(500)
    ]
    answer = json.dumps(versions, ensure_ascii=False)
    settings, _ = _project(
        shared_data, tmp_path, {"polisen_20260822T180000000000Z_all.json": answer}
    )
    con = store.connect(settings.db_path)
    try:
        counts = pipeline.ingest(settings, con, source="polisen").counts["sources"]["polisen"]
        kept = con.execute(
            "SELECT json_extract_string(raw, '$.summary') FROM event_versions "
            "WHERE event_uid = 'polisen:900001' ORDER BY received_at, received_no"
        ).fetchall()
        summary = con.execute("SELECT summary FROM events WHERE source = 'polisen'").fetchone()[0]
    finally:
        con.close()
    assert [k for (k,) in kept] == [v["summary"] for v in versions]
    assert (counts["read"], counts["loaded"], counts["updated"], counts["unchanged"]) == (
        500,
        1,
        499,
        0,
    )
    assert summary == versions[-1]["summary"]


def test_impossible_dates_and_broken_text_are_quarantined_or_repaired_and_the_run_goes_on(
    shared_data, tmp_path
):
    good = _poll(0, "Misshandel i Rinkeby.", "2026-08-22 17:00:00 +02:00")[0]
    records = [
        dict(good, id=900002, datetime="2099-08-22 17:00:00 +02:00"),
        dict(good, id=900003, datetime="1999-08-22 17:00:00 +02:00"),
        dict(good, id=900004, name="30 augusti 16.01, Misshandel, Stockholm"),
        dict(good, id=900005, summary="SURROGATE"),
    ]
    answer = json.dumps(records, ensure_ascii=False).replace(
        "SURROGATE", "halv \\ud800, nul \\u0000\x00."
    )
    settings, data = _project(
        shared_data, tmp_path, {"polisen_20260822T180000000000Z_all.json": answer}
    )
    (data / "lists" / "brott").mkdir(parents=True)
    (data / "lists" / "brott" / "brott.csv").write_bytes(
        "Id;Brott;Datum;Adress\nA;Stöld;2024-01-01;Göt\x00gatan 1\n"
        "B;Rån;2199-01-01;Slussen\n".encode()
    )
    clock = pd.Timestamp("2026-08-23 12:00", tz="Europe/Stockholm")
    con = store.connect(settings.db_path)
    try:
        result = pipeline.ingest(settings, con, now=clock)
        reasons = dict(con.execute("SELECT source_id, reason FROM quarantine").fetchall())
        summary = con.execute("SELECT summary FROM events WHERE source_id = '900005'").fetchone()[0]
        place = con.execute("SELECT place_name FROM events WHERE source_id = 'A'").fetchone()[0]
    finally:
        con.close()
    assert result.errors == []
    assert reasons["900002"].startswith("published in the future: 2099-08-22 17:00")
    assert reasons["900003"] == "published before 2000: 1999-08-22 17:00"
    assert reasons["900004"].startswith("incident after publication: 2026-08-30 16:01")
    assert reasons["B"].startswith("date in the future: 2199-01-01 00:00")
    assert summary == "halv \ufffd, nul ."
    assert place == "Götgatan 1"
    police = result.counts["sources"]["polisen"]
    assert police["repaired"] == {"lone_surrogates": 1, "nul_characters": 2}
    assert result.counts["sources"]["brott"]["repaired"] == {
        "lone_surrogates": 0,
        "nul_characters": 1,
    }
    assert any(
        w.startswith("polisen: 1 lone surrogate replaced with U+FFFD, 2 NUL characters removed")
        for w in result.warnings
    )
    assert any(w.startswith("brott: 1 NUL character removed") for w in result.warnings)
    assert result.counts["quarantine_reasons"]["published in the future"] == 1


def test_an_unknown_police_type_is_a_warning_of_the_ingest_step(shared_data, tmp_path):
    record = _poll(0, "Något hände i Rinkeby.", "2026-08-22 17:00:00 +02:00")[0] | {
        "type": "Drönarlarm (test)",
        "name": "22 augusti 16.01, Drönarlarm (test), Stockholm",
    }
    answer = json.dumps([record, record | {"id": 900002}], ensure_ascii=False)
    settings, _ = _project(
        shared_data, tmp_path, {"polisen_20260822T180000000000Z_all.json": answer}
    )
    con = store.connect(settings.db_path)
    try:
        result = pipeline.ingest(settings, con, source="polisen")
    finally:
        con.close()
    assert [w for w in result.warnings if "Drönarlarm" in w] == [
        "unknown police event type 'Drönarlarm (test)' mapped to 'other' — add it to "
        "resources/police_type_categories.csv"
    ]
