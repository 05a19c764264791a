"""The maps and report steps' own helpers (the steps themselves run in test_pipeline)."""

from __future__ import annotations

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
    from trygghetskarta.pipeline.publish import load_analysis

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
    with caplog.at_level(logging.INFO, logger="trygghetskarta.pipeline.publish"):
        layers = load_analysis(tmp_path, "2025-01_2025-12")
    assert list(layers.gi_cells["bin"]) == [3]
    assert layers.emerging is None and layers.moran is None and layers.clusters is None
    assert "emerging_cells_2025-01_2025-12.parquet" in caplog.text
