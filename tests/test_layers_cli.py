"""The other three layers through the command line, on the worked example files."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from trygghetskarta import store
from trygghetskarta.cli import app

pytestmark = pytest.mark.realdata

LISTS = Path(__file__).resolve().parent / "data" / "lists"
runner = CliRunner()


@pytest.fixture
def env(shared_data, tmp_path):
    # Boundaries and the gazetteer only: no police archive, so the lists are all there is.
    data = tmp_path / "data"
    data.mkdir()
    for folder in ("boundaries", "gazetteer", "population"):
        (data / folder).symlink_to(shared_data / folder)
    return {"TRYGGHETSKARTA_DATA": str(data), "TRYGGHETSKARTA_PROCESSED": str(tmp_path / "out")}


def _db(env) -> Path:
    return Path(env["TRYGGHETSKARTA_PROCESSED"]) / "trygghetskarta.duckdb"


def _invoke(args, env):
    result = runner.invoke(app, args, env=env | {"COLUMNS": "200"})
    return result


@pytest.mark.parametrize(
    ("source", "example", "layer", "n"),
    [
        pytest.param("brott", "brott_exempel.csv", "reported_crime", None, id="brott"),
        pytest.param("skjutningar", "skjutningar_exempel.csv", "shooting", None, id="skjutningar"),
        pytest.param("brander", "brander_exempel.csv", "fire", None, id="brander"),
    ],
)
def test_each_worked_example_ingests_geocodes_and_reruns_unchanged(env, source, example, layer, n):
    first = _invoke(["ingest", source, str(LISTS / example)], env)
    assert first.exit_code == 0, first.output
    assert _invoke(["geocode"], env).exit_code == 0
    again = _invoke(["ingest", source, str(LISTS / example)], env)
    assert again.exit_code == 0
    assert "loaded 0 + updated 0" in again.output
    con = store.connect(_db(env), read_only=True)
    try:
        rows = con.execute(
            "SELECT count(*), count(stadsdelsomrade), count(*) FILTER (WHERE precision IS NULL) "
            "FROM events WHERE layer = ?",
            [layer],
        ).fetchone()
    finally:
        con.close()
    assert rows[0] > 0
    assert rows[2] == 0  # every listed event has a precision after geocoding
    assert rows[1] > 0  # and those placed inside the kommun have a district


def test_bad_rows_are_quarantined_with_reasons_and_the_run_says_so(env):
    result = _invoke(["ingest", "brott", str(LISTS / "brott_med_fel.csv")], env)
    assert result.exit_code == 0, result.output
    con = store.connect(_db(env), read_only=True)
    try:
        events = con.execute("SELECT count(*) FROM events").fetchone()[0]
        reasons = con.execute("SELECT reason FROM quarantine").fetchall()
    finally:
        con.close()
    # 17 rows: with the default options (no column mapping in trygghetskarta.toml) 8 are
    # usable and 9 go to quarantine, each with its reason.
    assert (events, len(reasons)) == (8, 9)
    text = " | ".join(r[0] for r in reasons)
    for reason in ("date in the future", "outside Stockholm kommun", "duplicate row"):
        assert reason in text
    assert "read 17 = loaded 8" in result.output
    assert "quarantined 9" in result.output


def test_an_address_register_places_listed_addresses(env):
    loaded = _invoke(["gazetteer", "load", str(LISTS / "adresser_exempel.csv")], env)
    assert loaded.exit_code == 0, loaded.output
    assert _invoke(["ingest", "brott", str(LISTS / "brott_exempel.csv")], env).exit_code == 0
    assert _invoke(["geocode"], env).exit_code == 0
    con = store.connect(_db(env), read_only=True)
    try:
        got = con.execute(
            "SELECT precision, stadsdel FROM events WHERE source_id = 'EXEMPEL-0002'"
        ).fetchone()
    finally:
        con.close()
    assert got == ("address", "Södermalm")


def test_an_unknown_source_is_a_usage_error(env):
    assert _invoke(["ingest", "vader"], env).exit_code == 2


def test_statistics_and_population_reproduce_the_yearbook(shared_data, tmp_path):
    env = {
        "TRYGGHETSKARTA_DATA": str(shared_data),
        "TRYGGHETSKARTA_PROCESSED": str(tmp_path / "out"),
    }
    for source in ("befolkning", "brott"):
        result = _invoke(["ingest", source], env)
        assert result.exit_code == 0, result.output
    con = store.connect(tmp_path / "out" / "trygghetskarta.duckdb", read_only=True)
    try:
        rates = dict(
            con.execute(
                """
                SELECT s.area, round(s.count / p.population * 1000, 1)
                FROM crime_stats s JOIN population p
                  ON p.area = s.area AND p.year = s.year AND p.reference_date = DATE '2024-12-31'
                WHERE s.source = 'stockholm_arsbok' AND s.year = 2024
                  AND s.category_key = 'total' AND s.area IN ('Järva', 'Stockholm')
                """
            ).fetchall()
        )
    finally:
        con.close()
    assert rates == {"Järva": 167.5, "Stockholm": 203.5}
