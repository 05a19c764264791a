"""The analyse step keeps its outputs when its inputs are those of its last full run, and
runs again when anything it reads has changed.

A store of 360 hand-made police events on Södermalm (seeded points, one year) beside the
real boundaries and population of the shared data (``realdata``: the step reads them).
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from trygghetskarta import pipeline, store
from trygghetskarta.config import load_settings
from trygghetskarta.schema import PARSED_COLUMNS

pytestmark = pytest.mark.realdata

TZ = "Europe/Stockholm"
N = 360


def _events(seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    when = pd.Timestamp("2024-06-01 00:00", tz=TZ) + pd.to_timedelta(
        rng.integers(0, 365 * 24, N), unit="h"
    )
    rows = pd.DataFrame({c: None for c in PARSED_COLUMNS}, index=range(N))
    rows["event_uid"] = [f"polisen:{i}" for i in range(N)]
    rows["source"] = "polisen"
    rows["source_id"] = [str(i) for i in range(N)]
    rows["layer"] = "police_event"
    rows["category"] = np.where(np.arange(N) % 3, "violence", "theft")
    rows["source_type"] = "Misshandel"
    rows["occurred_at"] = when
    rows["published_at"] = when + pd.Timedelta(hours=1)
    rows["title"] = "Misshandel, Stockholm"
    rows["summary"] = "Misshandel på Södermalm."
    rows["sensitive"] = False
    rows["raw"] = [json.dumps({"id": i}) for i in range(N)]
    return rows


@pytest.fixture
def analysed(shared_data, tmp_path):
    """A store with the events placed, analysed once; ``(settings, con, first step)``."""
    env = {"TRYGGHETSKARTA_DATA": str(shared_data), "TRYGGHETSKARTA_PROCESSED": str(tmp_path)}
    settings = load_settings(tmp_path, env=env)
    con = store.connect(tmp_path / "work.duckdb")
    at = pd.Timestamp("2025-06-01 12:00", tz=TZ)
    store.merge_events(con, _events(), batch_id="b1", ingested_at=at)
    rng = np.random.default_rng(11)
    positions = pd.DataFrame(
        {
            "event_uid": [f"polisen:{i}" for i in range(N)],
            "x": 674_500.0 + rng.normal(0, 400, N),
            "y": 6_578_500.0 + rng.normal(0, 300, N),
            "precision": "place",
            "uncertainty_m": 250.0,
            "place_name": "Södermalm",
            "stadsdel": "Södermalm",
            "stadsdelsomrade": "Södermalm",
        }
    )
    store.update_positions(con, positions)
    first = pipeline.analyse(settings, con)
    yield settings, con, first
    con.close()


def _same_report(a: pipeline.StepResult, b: pipeline.StepResult) -> None:
    skip = ("seconds", "reused")
    assert {k: v for k, v in a.counts.items() if k not in skip} == json.loads(
        json.dumps({k: v for k, v in b.counts.items() if k not in skip}, default=str)
    )
    assert sorted(map(str, a.files)) == sorted(map(str, b.files))
    assert a.warnings == b.warnings


def test_a_second_run_on_the_same_inputs_keeps_every_output(analysed):
    settings, con, first = analysed
    assert "reused" not in first.counts and first.counts["density_maps"] > 0
    marks = {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in first.files}
    tables = con.sql("SELECT count(*) FROM trends").fetchone()
    again = pipeline.analyse(settings, con)
    assert "reused" in again.counts
    _same_report(again, first)
    assert {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in again.files} == marks
    assert con.sql("SELECT count(*) FROM trends").fetchone() == tables
    assert set(again.counts["seconds"]) == {"fingerprint"}


def _move_one_event(settings, con):
    con.execute("UPDATE events SET x = x + 50 WHERE event_uid = 'polisen:5'")
    return settings


def _new_event(settings, con):
    extra = _events().iloc[[0]].assign(event_uid="polisen:999", source_id="999")
    store.merge_events(
        con, extra, batch_id="b2", ingested_at=pd.Timestamp("2025-06-02 12:00", tz=TZ)
    )
    return settings


def _raster_removed(settings, con):
    next(settings.processed_dir.glob("rasters/density_*.tif")).unlink()
    return settings


def _table_dropped(settings, con):
    con.execute("DROP TABLE hour_weekday")
    return settings


def _read_again(settings, con):
    return settings.with_overrides(reingest=True)


def _other_bandwidth(settings, con):
    return settings.with_overrides(analysis=dataclasses.replace(settings.analysis, bandwidth=450))


def _other_seed(settings, con):
    return settings.with_overrides(seed=settings.seed + 1)


def _coverage_recorded(settings, con):
    con.execute(
        "INSERT INTO coverage_days VALUES ('polisen', DATE '2025-01-02', true, 'archive', "
        "NULL, now())"
    )
    return settings


CHANGES = {
    "moved-event": _move_one_event,
    "new-event": _new_event,
    "raster-removed": _raster_removed,
    "table-dropped": _table_dropped,
    "ingest-all": _read_again,
    "bandwidth": _other_bandwidth,
    "seed": _other_seed,
    "coverage": _coverage_recorded,
}


@pytest.mark.parametrize("change", list(CHANGES.values()), ids=list(CHANGES))
def test_any_change_to_what_it_reads_runs_every_analysis_again(analysed, change):
    settings, con, first = analysed
    settings = change(settings, con)
    again = pipeline.analyse(settings, con)
    assert "reused" not in again.counts
    assert again.counts["density_maps"] == first.counts["density_maps"]
    assert all(p.exists() for p in again.files)
    assert con.sql("SELECT count(*) FROM hour_weekday").fetchone()[0] > 0


def test_after_running_again_the_new_outputs_are_kept(analysed):
    settings, con, _ = analysed
    _move_one_event(settings, con)
    second = pipeline.analyse(settings, con)
    third = pipeline.analyse(settings, con)
    assert "reused" not in second.counts and "reused" in third.counts
    _same_report(third, second)
