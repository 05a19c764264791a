"""The analyse step: its parts on a tiny hand-made town, and its outputs on the real data.

The tiny town (an L-shaped kommun of 4 × 4 km, two 2024 districts of which one was two
districts before 2024, six stadsdelar that are also the RegSO) makes every number
checkable by hand. The real-data tests read what ``real_run`` wrote.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from shapely.geometry import box

from trygghetskarta import areas as areas_mod
from trygghetskarta import pipeline, store
from trygghetskarta.config import AnalysisParameters
from trygghetskarta.errors import (
    AnalysisError,
    CRSError,
    OutputError,
    SourceError,
    TrygghetskartaWarning,
)
from trygghetskarta.periods import Period
from trygghetskarta.pipeline import outputs
from trygghetskarta.pipeline.analyse import parts, selections, tables
from trygghetskarta.pipeline.analyse.inputs import (
    ALL,
    IN_STADSDEL,
    PLACED,
    EmptySelectionError,
    district_population,
    districts_in_scheme,
    prepare_inputs,
    regso_of,
    select,
    study_area,
)

TZ = "Europe/Stockholm"
X0, Y0 = 670_000.0, 6_575_000.0
CRS = "EPSG:3006"


# --------------------------------------------------------------------------------------
# the tiny town


def _b(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    return box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def tiny_areas() -> areas_mod.Areas:
    """Kommun = 4 × 4 km minus its north-east quarter; A1, A2 (→ A in 2024) and B."""
    kommun = shapely.difference(_b(0, 0, 4000, 4000), _b(2000, 2000, 4000, 4000))
    d13 = {"A1": _b(0, 0, 2000, 2000), "A2": _b(0, 2000, 2000, 4000), "B": _b(2000, 0, 4000, 2000)}
    to24 = {"A1": "A", "A2": "A", "B": "B"}
    sdo_13 = gpd.GeoDataFrame(
        {
            "name": list(d13),
            "adm_id": [1, 2, 3],
            "name_2024": [to24[n] for n in d13],
            "region": "R",
            "area_km2": 4.0,
        },
        geometry=list(d13.values()),
        crs=CRS,
    )
    sdo_11 = gpd.GeoDataFrame(
        {"name": ["A", "B"], "region": "R", "area_km2": [8.0, 4.0]},
        geometry=[shapely.union(d13["A1"], d13["A2"]), d13["B"]],
        crs=CRS,
    )
    # six stadsdelar (also the RegSO): each district split into a west and an east half
    names, geoms, old, new = [], [], [], []
    for d, g in d13.items():
        xmin, ymin, xmax, ymax = g.bounds
        mid = (xmin + xmax) / 2
        for half, (a, b) in (("w", (xmin, mid)), ("e", (mid, xmax))):
            names.append(f"{d}{half}")
            geoms.append(box(a, ymin, b, ymax))
            old.append(d)
            new.append(to24[d])
    stadsdelar = gpd.GeoDataFrame(
        {
            "name": names,
            "name_upper": [n.upper() for n in names],
            "sdo_2021_2023": old,
            "sdo_2024": new,
            "area_km2": 2.0,
        },
        geometry=geoms,
        crs=CRS,
    )
    regso = gpd.GeoDataFrame(
        {
            "code": [f"R{i}" for i in range(6)],
            "name": names,
            "pop_2024": [1000, 3000, 2000, 2000, 500, 1500],
            "sdo_2021_2023": old,
            "sdo_2024": new,
        },
        geometry=geoms,
        crs=CRS,
    )
    town = gpd.GeoDataFrame(
        {"name": ["Småstad"], "code": ["0000"], "area_km2": [12.0]}, geometry=[kommun], crs=CRS
    )
    return areas_mod.Areas(sdo_13, sdo_11, stadsdelar, regso, town)


def tiny_population() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "area": ["A", "B", "Stockholm"] * 2,
            "level": ["stadsdelsomrade", "stadsdelsomrade", "kommun"] * 2,
            "year": [2020] * 3 + [2024] * 3,
            "population": [7000, 3500, 10500, 8000, 4000, 12000],
            "forecast": False,
        }
    )


def event(
    x: float,
    y: float,
    when: str,
    *,
    precision: str = "address",
    uncertainty: float = 25.0,
    layer: str = "police_event",
    category: str = "violence",
    stadsdel: str | None = None,
    district: str | None = None,
) -> dict:
    return {
        "x": X0 + x if np.isfinite(x) else np.nan,
        "y": Y0 + y if np.isfinite(y) else np.nan,
        "occurred_at": pd.Timestamp(when, tz=TZ),
        "precision": precision,
        "uncertainty_m": uncertainty,
        "layer": layer,
        "category": category,
        "stadsdel": stadsdel,
        "stadsdelsomrade": district,
    }


def frame(rows: list[dict]) -> pd.DataFrame:
    out = pd.DataFrame(rows)
    out.insert(0, "event_uid", [f"t:{i}" for i in range(len(out))])
    return out


THEFT = "theft_burglary"


def town_events() -> pd.DataFrame:
    """A hot spot of 12 violence events at one address in A1e, spread events, unplaced ones."""
    rows = [
        event(1500, 500, f"2025-{m:02d}-10 22:15", stadsdel="A1e", district="A")
        for m in range(1, 13)
    ]
    rows += [
        event(300, 2500, "2025-03-02 12:00", category=THEFT, stadsdel="A2w", district="A"),
        event(3500, 1500, "2025-05-05 08:30", category=THEFT, stadsdel="Be", district="B"),
        # known only to its stadsdel / district / the kommun
        event(2500, 1000, "2025-06-01 01:00", precision="stadsdel", uncertainty=800.0,
              stadsdel="Bw", district="B"),
        event(1000, 3000, "2025-06-02 01:00", precision="stadsdelsomrade", uncertainty=1400.0,
              district="A"),
        event(np.nan, np.nan, "2025-06-03 01:00", precision="kommun", uncertainty=8000.0),
        # a year earlier (13-area names) and a shooting
        event(1500, 500, "2024-02-10 22:15", stadsdel="A1e", district="A"),
        event(500, 3500, "2023-05-10 10:00", stadsdel="A2w", district="A2"),
        event(2500, 500, "2025-08-08 23:00", layer="shooting", category="shooting_explosion",
              precision="street", uncertainty=500.0, stadsdel="Bw", district="B"),
    ]  # fmt: skip
    return frame(rows)


@pytest.fixture
def town():
    return prepare_inputs(
        town_events(),
        tiny_areas(),
        tiny_population(),
        period=Period.months("2025-01", "2025-12"),
        parameters=AnalysisParameters(cell_size_m=100.0, bandwidth=200.0),
        seed=7,
    )


# --------------------------------------------------------------------------------------
# outputs.write_geoparquet


def _cells() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"n": [1, 2], "name": ["a", "b"]},
        geometry=[_b(0, 0, 10, 10), _b(10, 0, 20, 10)],
        crs=CRS,
    )


def test_geoparquet_round_trips_in_sweref99_tm_and_leaves_no_temporary_file(tmp_path: Path):
    path = outputs.write_geoparquet(_cells(), tmp_path / "sub" / "cells.parquet")
    back = outputs.read_geoparquet(path)
    assert back.crs.to_epsg() == 3006
    assert back[["n", "name"]].to_dict("list") == {"n": [1, 2], "name": ["a", "b"]}
    assert back.geometry.equals(_cells().geometry)
    assert [p.name for p in path.parent.iterdir()] == ["cells.parquet"]


def test_geoparquet_reprojects_other_crs_to_3006(tmp_path: Path):
    wgs = _cells().to_crs("EPSG:4326")
    back = outputs.read_geoparquet(outputs.write_geoparquet(wgs, tmp_path / "c.parquet"))
    assert back.crs.to_epsg() == 3006
    np.testing.assert_allclose(back.total_bounds, _cells().total_bounds, atol=1e-3)


def test_geoparquet_writes_an_empty_frame_with_its_columns(tmp_path: Path):
    empty = _cells().iloc[0:0]
    back = outputs.read_geoparquet(outputs.write_geoparquet(empty, tmp_path / "e.parquet"))
    assert len(back) == 0 and list(back.columns) == ["n", "name", "geometry"]


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: _cells().set_crs(None, allow_override=True), CRSError),
        (lambda: pd.DataFrame({"n": [1]}), OutputError),
    ],
    ids=["no-crs", "not-a-geodataframe"],
)
def test_geoparquet_refuses_frames_it_cannot_georeference(make, error, tmp_path: Path):
    with pytest.raises(error, match="expected a GeoDataFrame"):
        outputs.write_geoparquet(make(), tmp_path / "x.parquet")
    assert not list(tmp_path.iterdir())


def test_geoparquet_failure_keeps_the_old_file_and_cleans_up(tmp_path: Path):
    target = tmp_path / "c.parquet"
    outputs.write_geoparquet(_cells(), target)
    bad = _cells()
    bad["mixed"] = [1, "one"]  # one column, two types: arrow refuses it
    with pytest.raises(OutputError, match="could not write"):
        outputs.write_geoparquet(bad, target)
    assert list(outputs.read_geoparquet(target).columns) == ["n", "name", "geometry"]
    assert [p.name for p in tmp_path.iterdir()] == ["c.parquet"]


def test_reading_a_missing_geoparquet_says_how_to_make_it(tmp_path: Path):
    with pytest.raises(SourceError, match="trygghetskarta analyse"):
        outputs.read_geoparquet(tmp_path / "missing.parquet")


# --------------------------------------------------------------------------------------
# helpers


@pytest.mark.parametrize(
    ("uncertainty", "expected"),
    [
        ([10, 25, 25, 800], 250.0),
        ([10, 500, 800, 820], 500.0),
        ([10, 800, 820, 900], 1000.0),
        ([3000, 4000], 1000.0),
        ([], 1000.0),
        ([np.nan, 10, 20], 250.0),
    ],
    ids=["mostly-exact", "half-within-500", "mostly-stadsdel", "none-fits", "empty", "nan-ignored"],
)
def test_emerging_cell_size_is_the_finest_that_keeps_half_the_events(uncertainty, expected):
    assert parts.emerging_cell_size(uncertainty) == expected


def test_regso_of_takes_the_first_area_on_a_border_and_none_outside():
    layer = gpd.GeoDataFrame({"code": ["A", "B"]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)])
    got = regso_of(np.array([0.5, 1.0, 1.5, 9.0, np.nan]), np.array([0.5, 0.5, 0.5, 9, 1]), layer)
    assert got.tolist() == ["A", "A", "B", None, None]


def test_population_of_the_13_districts_splits_merged_ones_by_regso_population():
    areas = tiny_areas()
    pop13 = district_population(tiny_population(), areas, areas_mod.SCHEME_2021_2023)
    got = pop13.set_index(["area", "year"])["population"]
    # A1 has RegSO 1000 + 3000, A2 2000 + 2000: shares 0.5 / 0.5 of A in every year
    assert got[("A1", 2020)] == pytest.approx(3500.0)
    assert got[("A2", 2024)] == pytest.approx(4000.0)
    assert got[("B", 2024)] == 4000.0
    assert got[("Stockholm", 2024)] == 12000.0
    pop11 = district_population(tiny_population(), areas, areas_mod.SCHEME_2024)
    assert set(pop11["area"]) == {"A", "B", "Stockholm"}


def test_districts_in_either_scheme_follow_the_reform():
    areas = tiny_areas()
    names = pd.Series(["A1", "A", "A", "B", None])
    stadsdel = pd.Series(["A1w", "A2e", None, "Bw", None])
    new = districts_in_scheme(names, stadsdel, areas, "2024")
    assert new.fillna("-").tolist() == ["A", "A", "A", "B", "-"]
    with pytest.warns(UserWarning, match="1 events in a merged 2024 district"):
        old = districts_in_scheme(names, stadsdel, areas, "2021_2023")
    assert old.fillna("-").tolist() == ["A1", "A2", "A", "B", "-"]


# --------------------------------------------------------------------------------------
# the parts on the tiny town


def test_inputs_place_events_in_the_maps_scheme_and_placed_ones_in_a_regso(town):
    ev = town.events
    assert town.scheme == "2024"
    assert ev.loc[ev["occurred_at"].dt.year == 2023, "district"].tolist() == ["A"]
    # RegSO only for place/street-or-better events with a position
    assert ev.loc[ev["precision"].isin(PLACED), "regso"].notna().all()
    assert ev.loc[~ev["precision"].isin(PLACED), "regso"].isna().all()
    assert ev.loc[0, "regso"] == "R1"  # (1500, 500) lies in A1e


def test_selections_are_layers_whole_and_police_categories():
    fake = SimpleNamespace(layers=["police_event", "shooting"], categories=lambda layer: ["a"])
    assert selections(fake) == [("police_event", ALL), ("shooting", ALL), ("police_event", "a")]


def test_density_covers_the_kommun_and_leaves_kommun_level_events_out(town):
    grid = parts.density(town, "police_event")
    area = study_area(town)
    inside = area.mask(grid.transform, grid.shape)
    assert np.isnan(grid.values[~inside]).all() and np.isfinite(grid.values[inside]).all()
    assert grid.crs == CRS and grid.cell_size == 100.0
    p = grid.params
    # 12 + 2 in 2025 placed + 1 stadsdel + 1 district; the kommun-level one left out
    assert (p["n_selected"], p["n_events"], p["n_unplaced"]) == (17, 16, 1)
    assert (p["layer"], p["category"], p["period_start"]) == ("police_event", "all", "2025-01-01")
    # the mass inside the kommun is at most the events, and most of it
    km2 = (grid.cell_size / 1000) ** 2
    assert 12 < np.nansum(grid.values) * km2 <= 16 + 1e-6


def test_density_of_a_district_is_masked_to_it(town):
    grid = parts.density(town, "police_event", district="B")
    xs, ys = np.meshgrid(*grid.centres())
    in_b = shapely.contains_xy(_b(2000, 0, 4000, 2000), xs, ys)
    assert np.isfinite(grid.values[in_b]).all() and np.isnan(grid.values[~in_b]).all()


def test_a_category_without_placed_events_is_an_empty_selection(town):
    with pytest.raises(EmptySelectionError, match="police_event/drugs: no event"):
        parts.density(town, "police_event", "drugs")
    with pytest.raises(AnalysisError, match="expected a district"):
        study_area(town, "Atlantis")


def test_gi_star_cells_count_only_events_placed_within_a_cell(town):
    hot = parts.hotspot_cells(town, "police_event", min_events=10)
    cells = hot.to_frame()
    # 12 + 2 address events; the stadsdel- and district-level ones are too uncertain
    assert cells["count"].sum() == 14 == hot.gi.params["n_events"]
    assert hot.gi.params["n_left_out_uncertain"] == 2
    top = cells.sort_values("count").iloc[-1]
    assert top["count"] == 12 and top["bin"] == 3 and top["significant"]
    z = hot.grids()["z"]
    assert z.params["cell_size_m"] == 250.0 and z.params["max_uncertainty_m"] == 250.0
    assert np.isnan(z.values).sum() == hot.gi.params["n_cells_outside"] > 0


def test_gi_star_needs_30_placed_events_by_default(town):
    with pytest.raises(EmptySelectionError, match=r"0 events .* within 250 m"):
        parts.hotspot_cells(town, "shooting", min_events=1)
    with pytest.raises(EmptySelectionError, match=r"14 events .* fewer than the 30 Gi. needs"):
        parts.hotspot_cells(town, "police_event")
    with pytest.raises(EmptySelectionError, match=r"15 events .* fewer than the 30 Gi. needs"):
        parts.hotspot_stadsdelar(town, "police_event")


def test_gi_star_on_stadsdelar_counts_events_placed_to_a_stadsdel(town):
    table = parts.hotspot_stadsdelar(town, "police_event", min_events=1)
    counts = dict(zip(table["stadsdel"], table["count"], strict=True))
    assert counts == {"A1w": 0, "A1e": 12, "A2w": 1, "A2e": 0, "Bw": 1, "Be": 1}
    assert table.crs.to_epsg() == 3006 and len(table) == 6
    assert json.loads(table["params"].iloc[0])["precision"] == ", ".join(IN_STADSDEL)
    np.testing.assert_allclose(table["events_per_km2"], table["count"] / 2.0)


def test_local_moran_rates_per_regso(town):
    table = parts.local_moran_regso(town, "police_event")
    assert table["count"].tolist() == [0, 12, 1, 0, 0, 1]
    np.testing.assert_allclose(table["rate_per_1000"], table["count"] / table["population"] * 1000)
    assert set(table["label"]) <= {"HH", "LL", "HL", "LH", "ns"}
    assert json.loads(table["params"].iloc[0])["permutations"] == 9999


def test_emerging_hot_spots_of_a_place_that_turned_hot():
    steady = ((510, 510), (3510, 510), (510, 3510))
    rows = [
        event(x, y, f"{year}-{m:02d}-05 12:00")
        for year in (2024, 2025)
        for m in range(1, 13)
        for x, y in steady
    ]
    new = [event(1510, 1510, f"2025-{m:02d}-15 12:00") for m in range(7, 13) for _ in range(6)]
    inputs = prepare_inputs(
        frame(rows + new), tiny_areas(), None, period=Period.months("2025-01", "2025-12")
    )
    res = parts.emerging(inputs, "police_event")
    assert res.params["cell_size_m"] == 250.0  # every event is known to 25 m
    assert res.params["n_periods"] == 24 and res.params["first_period"] == "2024-01"
    assert res.params["n_events_in_area"] == len(rows) + len(new)
    counts = res.counts()
    assert sum(counts.values()) == res.params["n_cells"] == int(res.valid.sum())
    cells = res.to_frame().set_index(["x", "y"])
    assert cells.loc[(X0 + 1625, Y0 + 1625), "pattern"] == "consecutive hot spot"
    assert cells.loc[(X0 + 1625, Y0 + 1625), "n_hot_bins"] == 6


def test_clusters_on_a_sample_count_every_event_inside_the_outline(town):
    grid = [(dx, dy) for dx in (0, 20, 40) for dy in (0, 20, 40, 60)]
    rows = [event(1510 + dx, 510 + dy, "2025-04-01 10:00") for dx, dy in grid]
    rows += [event(3510 + dx, 1510, "2025-04-01 10:00") for dx in range(0, 240, 20)]
    inputs = prepare_inputs(
        frame(rows), tiny_areas(), None, period=Period.months("2025-01", "2025-12"), seed=3
    )
    full = parts.clusters(inputs, "police_event", min_cluster_size=5)
    assert sorted(full["n_events"]) == [12, 12]
    assert (full["n_events"] == full["n_events_in_sample"]).all()
    sampled = parts.clusters(inputs, "police_event", min_cluster_size=5, max_events=16)
    assert sampled["n_events_in_sample"].sum() <= 16
    assert (sampled["n_events"] >= sampled["n_events_in_sample"]).all()
    assert sampled["n_events"].sum() > sampled["n_events_in_sample"].sum()
    assert json.loads(sampled["params"].iloc[0])["n_sampled"] == 16
    with pytest.raises(EmptySelectionError, match="fewer than a cluster's 10"):
        parts.clusters(town, "shooting")


def test_near_repeat_table_sums_to_the_pairs_and_samples_large_selections(town):
    table = tables.near_repeat(town, "police_event", permutations=19)
    n = 14  # placed police events in 2025
    assert table["n_events"].iloc[0] == n and table["observed"].sum() == n * (n - 1) // 2
    # the 12 events at one address, a month apart: 66 pairs at 0 m
    same = table[table["distance_band"] == "0 m"]
    assert same["observed"].sum() == 66
    with pytest.warns(TrygghetskartaWarning, match="p-values come from permutations of"):
        sampled = tables.near_repeat(town, "police_event", permutations=19, max_events=5)
    # the table counts every event; only the p-values come from the sample of 5
    assert sampled["n_events"].iloc[0] == n and sampled["n_sampled_from"].iloc[0] == n
    assert sampled["observed"].sum() == n * (n - 1) // 2
    assert sampled["sampled"].iloc[0] == "5 of 14" and sampled["sampled_n"].iloc[0] == 5


def test_hour_weekday_counts_every_event_of_the_period(town):
    prof = tables.hour_weekday_profile(town)
    in_period = int(town.period.contains(town.events["occurred_at"]).sum())
    assert prof.n_events == in_period == 18
    assert len(prof.counts) % 168 == 0
    a = tables.hour_weekday_profile(town, district="A", layer="police_event")
    assert a.matrix().sum() == 12 + 1 + 1  # the address hot spot, A2w, the district-level one
    assert a.matrix()[:, 22].sum() == 12
    with pytest.raises(EmptySelectionError, match="no event"):
        tables.hour_weekday_profile(town, category="drugs")


def test_trends_rates_reproduce_count_over_population(town):
    table = tables.trends(town)
    assert set(table["scheme"]) == {"2021_2023", "2024"}
    with_pop = table[table["population"] > 0]
    np.testing.assert_allclose(
        with_pop["rate_per_1000"], with_pop["count"] / with_pop["population"] * 1000
    )
    new = table[table["scheme"] == "2024"]
    assert set(new["district"]) <= {"A", "B", "okänt"}
    old = table[table["scheme"] == "2021_2023"]
    assert {"A1", "A2", "B"} <= set(old["district"])
    # every event is counted once per scheme and layer
    for scheme in ("2021_2023", "2024"):
        rows = table[table["scheme"] == scheme]
        assert rows["count"].sum() == len(town.events)
    # the city is the sum over the districts
    sums = new.groupby(["layer", "month", "category"])["count"].sum()
    city = new.groupby(["layer", "month", "category"])["city_count"].first()
    assert sums.equals(city)


def test_trend_changes_compare_with_the_year_before(town):
    table = tables.trend_changes(town)
    row = table[
        (table["scheme"] == "2024") & (table["district"] == "A") & (table["category"] == "violence")
    ].iloc[0]
    assert (row["count"], row["count_prev_year"]) == (13, 1)
    assert 0 <= row["q_change"] <= 1 and row["p_change"] <= row["q_change"] + 1e-12


def test_select_keeps_the_period_layer_category_and_district(town):
    assert len(select(town, "police_event")) == 17
    assert len(select(town, "police_event", "theft_burglary")) == 2
    assert len(select(town, "police_event", district="B")) == 2


# --------------------------------------------------------------------------------------
# the real data: what `real_run` wrote


@pytest.fixture(scope="module")
def analysed(real_run):
    settings, report = real_run
    (step,) = [s for s in report.steps if s.step == "analyse"]
    return settings, step


@pytest.fixture(scope="module")
def db(analysed):
    settings, _ = analysed
    con = store.connect(settings.db_path, read_only=True)
    yield con
    con.close()


def _slug(step) -> str:
    start = pd.Timestamp(step.counts["period_start"])
    last = pd.Timestamp(step.counts["period_end"]) - pd.offsets.MonthBegin(1)
    return f"{start:%Y-%m}_{last:%Y-%m}"


def _table(settings, name: str, step) -> gpd.GeoDataFrame:
    return outputs.read_geoparquet(
        settings.processed_dir / "tables" / f"{name}_{_slug(step)}.parquet"
    )


def _in_period(db, step, where: str = "true") -> pd.DataFrame:
    return db.execute(
        f"SELECT layer, category, precision, stadsdel, x, y FROM events "
        f"WHERE occurred_at >= ? AND occurred_at < ? AND {where}",
        [
            pd.Timestamp(step.counts["period_start"], tz=TZ),
            pd.Timestamp(step.counts["period_end"], tz=TZ),
        ],
    ).df()


@pytest.mark.realdata
def test_the_step_records_its_parameters_times_and_every_selection(analysed, db):
    _, step = analysed
    assert step.errors == []
    counts = step.counts
    layers = [r[0] for r in db.execute("SELECT DISTINCT layer FROM events ORDER BY 1").fetchall()]
    police = db.execute(
        "SELECT count(DISTINCT category) FROM events WHERE layer = 'police_event'"
    ).fetchone()[0]
    assert counts["selections"] == len(layers) + police
    assert counts["parameters"] == AnalysisParameters().as_dict()
    assert {"read", "density", "gi_star_cells", "emerging", "trends", "near_repeat"} <= set(
        counts["seconds"]
    )
    assert all(path.exists() for path in step.files)
    assert all(isinstance(w, str) and w for w in step.warnings)


@pytest.mark.realdata
def test_gi_star_rasters_are_in_sweref99_tm_with_their_parameters(analysed):
    settings, step = analysed
    rasters = settings.processed_dir / "rasters"
    with rasterio.open(rasters / f"gi_star_z_police_event_{_slug(step)}.tif") as src:
        assert src.crs.to_epsg() == 3006
        tags = src.tags()
        z = src.read(1)
    assert (tags["kind"], tags["event_layer"], tags["category"]) == (
        "gi_star_z",
        "police_event",
        "all",
    )
    assert float(tags["cell_size_m"]) == 250.0 and tags["statistic"] == "Getis-Ord Gi*"
    assert (
        tags["fdr"] == "benjamini-hochberg" and tags["period_start"] == step.counts["period_start"]
    )
    assert np.isfinite(z).sum() == int(tags["n_cells"]) > 0
    assert np.isnan(z).sum() == int(tags["n_cells_outside"]) > 0  # outside the kommun
    with rasterio.open(rasters / f"gi_star_bin_police_event_{_slug(step)}.tif") as src:
        bins = src.read(1)
    assert set(np.unique(bins[np.isfinite(bins)])) <= {-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0}
    assert np.array_equal(np.isnan(bins), np.isnan(z))


@pytest.mark.realdata
def test_no_raster_is_a_nan_map(analysed):
    _, step = analysed
    tifs = [p for p in step.files if p.suffix == ".tif"]
    assert len(tifs) >= 3 * step.counts["gi_star_maps"]
    for path in tifs:
        with rasterio.open(path) as src:
            values = src.read(1)
            kind = src.tags()["kind"]
        assert np.isfinite(values).any(), path.name
        if kind == "density":
            assert np.nanmax(values) > 0, path.name


@pytest.mark.realdata
def test_gi_star_cells_hold_every_counted_event_and_consistent_classes(analysed):
    settings, step = analysed
    cells = _table(settings, "gi_star_cells", step)
    assert cells.crs.to_epsg() == 3006
    for (_, _), rows in cells.groupby(["layer", "category"]):
        params = json.loads(rows["params"].iloc[0])
        assert rows["count"].sum() == params["n_events"] > 0
    hot = cells[cells["bin"] != 0]
    assert (hot["p_adjusted"] <= 0.10).all()
    assert (np.sign(hot["bin"]) == np.sign(hot["z"])).all()


@pytest.mark.realdata
def test_stadsdel_hotspots_count_the_events_placed_to_a_stadsdel(analysed, db):
    settings, step = analysed
    table = _table(settings, "gi_star_stadsdelar", step)
    assert (table.groupby(["layer", "category"]).size() == 117).all()
    # Sensitive events count per district only (analyse_inputs._district_level_only).
    ev = _in_period(db, step, "stadsdel IS NOT NULL AND NOT coalesce(sensitive, false)")
    ev = ev[ev["precision"].isin(IN_STADSDEL)]
    whole = table[table["category"] == ALL].groupby("layer")["count"].sum()
    expected = ev.groupby("layer").size()
    assert whole.to_dict() == expected[expected >= AnalysisParameters().gi_min_events].to_dict()
    for layer in expected[expected < AnalysisParameters().gi_min_events].index:
        assert any(w.startswith(f"Gi* stadsdelar {layer}/all:") for w in step.warnings)


@pytest.mark.realdata
def test_local_moran_rates_per_regso_reproduce_count_over_population(analysed):
    settings, step = analysed
    table = _table(settings, "local_moran_regso", step)
    assert (table.groupby(["layer", "category"]).size() == 127).all()
    np.testing.assert_allclose(table["rate_per_1000"], table["count"] / table["population"] * 1e3)
    assert set(table["label"]) <= {"HH", "LL", "HL", "LH", "ns"}
    assert table["count"].sum() > 0


@pytest.mark.realdata
def test_emerging_pattern_counts_sum_to_the_cells_analysed(analysed):
    settings, step = analysed
    cells = _table(settings, "emerging_cells", step)
    assert step.counts["emerging"]
    for layer, found in step.counts["emerging"].items():
        assert sum(found["patterns"].values()) == found["n_cells"]
        mine = cells[cells["layer"] == layer]
        assert len(mine) == found["n_cells"]
        assert mine["pattern"].value_counts().to_dict() == {
            k: v for k, v in found["patterns"].items() if v
        }
        path = settings.processed_dir / "rasters" / f"emerging_{layer}_{_slug(step)}.tif"
        with rasterio.open(path) as src:
            codes = src.read(1)
            assert float(src.tags()["cell_size_m"]) == found["cell_size_m"]
        assert np.isfinite(codes).sum() == found["n_cells"]


@pytest.mark.realdata
def test_trends_rates_reproduce_count_over_population_in_both_schemes(analysed, db):
    trends = db.execute("SELECT * FROM trends").df()
    with_pop = trends[trends["population"] > 0]
    np.testing.assert_allclose(
        with_pop["rate_per_1000"], with_pop["count"] / with_pop["population"] * 1000
    )
    districts = trends.groupby("scheme")["district"].unique()
    assert len(set(districts["2024"]) - {"okänt"}) == 11
    assert {"Rinkeby-Kista", "Spånga-Tensta", "Norrmalm", "Östermalm"} <= set(
        districts["2021_2023"]
    )
    per_layer = db.execute("SELECT layer, count(*) AS n FROM events GROUP BY layer").df()
    for scheme, rows in trends.groupby("scheme"):
        got = rows.groupby("layer")["count"].sum().to_dict()
        assert got == dict(zip(per_layer["layer"], per_layer["n"], strict=True)), scheme
    changes = db.execute("SELECT * FROM trend_changes").df()
    assert set(changes["scheme"]) == {"2021_2023", "2024"}
    assert changes["q_change"].between(0, 1).all()


@pytest.mark.realdata
def test_hour_weekday_profile_holds_every_event_of_the_period(analysed, db):
    _, step = analysed
    prof = db.execute("SELECT * FROM hour_weekday").df()
    assert prof["count"].sum() == len(_in_period(db, step)) == step.counts["events_in_period"]
    assert (prof.groupby(["layer", "district", "category"]).size() == 168).all()


@pytest.mark.realdata
def test_near_repeat_tables_sum_to_the_pairs(db):
    knox = db.execute("SELECT * FROM near_repeat").df()
    assert not knox.empty
    for _, rows in knox.groupby(["layer", "category"]):
        assert rows["observed"].sum() == rows["pairs"].iloc[0]
        assert rows["expected"].sum() == pytest.approx(rows["pairs"].iloc[0])
    known = knox[knox["expected"] > 0]
    np.testing.assert_allclose(known["ratio"], known["observed"] / known["expected"])


@pytest.mark.realdata
def test_a_period_without_events_warns_and_writes_no_map(analysed, tmp_path):
    settings, step = analysed
    mine = settings.with_overrides(processed_dir=tmp_path, db_path=tmp_path / "t.duckdb")
    shutil.copyfile(settings.db_path, mine.db_path)  # a writable copy of the snapshot
    con = store.connect(mine.db_path)
    try:
        empty = pipeline.analyse(mine, con, period=Period.months("2019-01", "2019-12"))
        stale = con.execute("SELECT count(*), count(DISTINCT period_start) FROM near_repeat")
        assert stale.fetchone() == (0, 0)  # no table of another period is left behind
        again = pipeline.analyse(mine, con)
    finally:
        con.close()
    assert empty.errors == [] and empty.counts["density_maps"] == 0
    assert any("density police_event/all: no event in jan 2019" in w for w in empty.warnings)
    assert not list((tmp_path / "rasters").glob("density_*_2019-01_2019-12.tif"))
    # the same inputs and seed give the same tables
    for name in ("local_moran_regso", "gi_star_stadsdelar", "clusters"):
        ours = outputs.read_geoparquet(tmp_path / "tables" / f"{name}_{_slug(step)}.parquet")
        pd.testing.assert_frame_equal(
            pd.DataFrame(ours.drop(columns="geometry")),
            pd.DataFrame(_table(settings, name, step).drop(columns="geometry")),
        )
    assert again.counts["emerging"] == step.counts["emerging"]


def test_sensitive_events_stay_at_district_level():
    from trygghetskarta.pipeline.analyse.inputs import _district_level_only

    events = pd.DataFrame(
        {
            "x": [674_000.0, 675_000.0],
            "y": [6_580_000.0, 6_581_000.0],
            "uncertainty_m": [250.0, 250.0],
            "stadsdel": ["Södermalm", "Södermalm"],
            "precision": ["place", "place"],
            "district": ["Södermalm", "Södermalm"],
            "sensitive": [True, False],
        }
    )
    notes = _district_level_only(events)
    assert events.loc[0, ["x", "y"]].isna().all()
    assert pd.isna(events.loc[0, "stadsdel"])
    assert events.loc[0, "precision"] == "stadsdelsomrade"
    assert events.loc[0, "district"] == "Södermalm"  # still counted per district
    assert events.loc[1, "x"] == 674_000.0 + 1_000.0  # the other event keeps its point
    assert notes and "1 sensitive events" in notes[0]
