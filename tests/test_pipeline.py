"""The pipeline end to end: real data in, database, rasters, maps and reports out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import rasterio

from trygghetskarta import pipeline, store
from trygghetskarta.config import load_settings
from trygghetskarta.errors import DataNotFoundError

pytestmark = pytest.mark.realdata

REPO = Path(__file__).resolve().parents[1]

STOCKHOLM_EVENTS_IN_ARCHIVE = 3_275
ARCHIVE_EVENTS = 70_289


@pytest.fixture
def db(real_run):
    settings, _ = real_run
    con = store.connect(settings.db_path, read_only=True)
    yield con
    con.close()


def test_the_run_ends_ok_with_every_step(real_run):
    _, report = real_run
    assert report.status == "ok"
    assert [s.step for s in report.steps] == ["ingest", "geocode", "analyse", "maps", "report"]


def test_every_record_is_an_event_or_quarantined(real_run, db):
    _, report = real_run
    read, loaded, updated, unchanged, quarantined = db.execute(
        "SELECT read, loaded, updated, unchanged, quarantined FROM runs WHERE run_id = ?",
        [report.run_id],
    ).fetchone()
    assert read == loaded + updated + unchanged + quarantined
    (ingest,) = [s for s in report.steps if s.step == "ingest"]
    police = ingest.counts["sources"]["polisen"]
    assert police["read"] == ARCHIVE_EVENTS
    assert police["loaded"] == STOCKHOLM_EVENTS_IN_ARCHIVE
    assert police["read"] == police["loaded"] + police["quarantined"]
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
        assert float(tags["bandwidth_m"]) == settings.bandwidth_m
        assert float(tags["cell_size_m"]) == settings.cell_size_m
        band = src.read(1, masked=True)
        assert band.count() > 0 and float(band.max()) > 0


def test_a_second_ingest_of_the_same_input_changes_nothing(real_run):
    settings, _ = real_run
    before = _snapshot(settings)
    con = store.connect(settings.db_path)
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
    assert police["unchanged"] == STOCKHOLM_EVENTS_IN_ARCHIVE
    assert (again["loaded"], again["updated"]) == (0, 0)
    assert again["read"] == again["unchanged"] + again["quarantined"]
    assert geocode.counts["changed"] == 0
    assert _snapshot(settings) == before


def _snapshot(settings):
    con = store.connect(settings.db_path, read_only=True)
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
