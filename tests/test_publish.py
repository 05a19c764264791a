"""The maps and report steps' own helpers (the steps themselves run in test_pipeline)."""

from __future__ import annotations

import pandas as pd
import pytest

from trygghetskarta.pipeline.publish import slug


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("Hägersten-Älvsjö", "hagersten-alvsjo", id="dash-and-umlauts"),
        pytest.param("Norra innerstaden", "norra-innerstaden", id="space"),
        pytest.param("Enskede-Årsta-Vantör", "enskede-arsta-vantor", id="ring-a"),
        pytest.param("Östermalm", "ostermalm", id="leading-umlaut"),
    ],
)
def test_district_file_names_are_plain_ascii(name, expected):
    assert slug(name) == expected


def test_load_analysis_filters_layer_and_category_and_skips_missing_files(tmp_path, caplog):
    import logging

    import geopandas as gpd
    from shapely.geometry import box

    from trygghetskarta.pipeline import outputs
    from trygghetskarta.pipeline.scene import load_analysis

    cells = gpd.GeoDataFrame(
        {
            "layer": ["police_event", "police_event", "fire"],
            "category": ["all", "violence", "all"],
            "bin": [3, 2, 1],
        },
        geometry=[box(0, 0, 250, 250)] * 3,
        crs="EPSG:3006",
    )
    (tmp_path / "tables").mkdir()
    outputs.write_geoparquet(cells, tmp_path / "tables" / "gi_star_cells_2025-01_2025-12.parquet")
    with caplog.at_level(logging.INFO, logger="trygghetskarta.pipeline.scene"):
        layers = load_analysis(tmp_path, "2025-01_2025-12")
    assert list(layers.gi_cells["bin"]) == [3]
    assert layers.emerging is None and layers.moran is None and layers.clusters is None
    assert "emerging_cells_2025-01_2025-12.parquet" in caplog.text


def _tiny_scene():
    """Two districts (Norr with events, Söder without) in 2024, one event in 2023."""
    import geopandas as gpd
    from shapely.geometry import box

    from trygghetskarta.periods import Period
    from trygghetskarta.pipeline.publish import Scene

    districts = gpd.GeoDataFrame(
        {"name": ["Norr", "Söder"]},
        geometry=[box(0, 1000, 1000, 2000), box(0, 0, 1000, 1000)],
        crs="EPSG:3006",
    )
    times = ["2023-05-10 12:00", "2024-02-10 12:00", "2024-02-11 12:00", "2024-07-01 08:00"]
    events = pd.DataFrame(
        {
            "occurred_at": pd.to_datetime(times).tz_localize("Europe/Stockholm"),
            "stadsdelsomrade": "Norr",
            "stadsdel": "Norra delen",
            "category": ["violence", "violence", "fire", "violence"],
            "x": [500.0, 500.0, None, 600.0],
            "y": [1500.0, 1500.0, None, 1600.0],
            "sensitive": False,
        }
    )
    population = pd.DataFrame(
        {
            "level": ["stadsdelsomrade", "stadsdelsomrade", "kommun"],
            "area": ["Norr", "Söder", "Stockholm"],
            "year": [2024, 2024, 2024],
            "population": [2000, 1000, 3000],
        }
    )
    return Scene(
        period=Period.months("2024-01", "2024-12"),
        scheme="sdo_11",
        districts=districts,
        stadsdelar=districts.assign(name=["Norra delen", "Södra delen"]),
        events=events,
        population=population,
        grid=None,
        made_at=pd.Timestamp("2025-01-02 03:04", tz="Europe/Stockholm"),
    )


@pytest.mark.parametrize("name", ["public", "internal"])
def test_report_scene_has_every_district_and_its_own_months(name):
    from trygghetskarta.pipeline.publish import report_scene
    from trygghetskarta.render import export_profile

    profile = export_profile(name)
    reports = report_scene(_tiny_scene(), profile)
    assert reports.profile is profile
    assert (
        reports.summaries["Norr"]["count"] == 3
        and reports.summaries["Norr"]["count_last_year"] == 1
    )
    assert reports.summaries["Söder"]["count"] == 0  # no events: a row all the same
    norr = reports.monthly[reports.monthly["stadsdelsomrade"] == "Norr"]
    assert int(norr["count"].sum()) == 4  # 2023-05 … 2024-07, both categories
    assert set(reports.monthly["stadsdelsomrade"]) == {"Norr"}
    assert reports.city_summary["count"] == 3
    assert reports.bra == {}  # no Brå statistics stored


@pytest.mark.parametrize("name", ["public", "internal"])
def test_map_scene_holds_the_period_and_the_profile(name):
    from trygghetskarta.pipeline.publish import city_map, map_scene
    from trygghetskarta.render import export_profile, to_html

    profile = export_profile(name)
    maps = map_scene(_tiny_scene(), profile)
    assert maps.profile is profile and maps.monthly_grids == {}  # no raster: no grids
    assert len(maps.events) == 3  # the period's events, placed or not
    page = to_html(city_map(maps))
    assert ("markerClusterGroup" in page) is (name == "internal")
