"""The analysis layers of the maps: Gi* cells, emerging hot spots, stadsdel Gi*, local
Moran per RegSO and clusters — legends, layer names, what is drawn, profile rules."""

from __future__ import annotations

from datetime import datetime

import folium
import geopandas as gpd
import pytest
from shapely.geometry import box

from trygghetskarta import render
from trygghetskarta.render import layers as al
from trygghetskarta.render.format import SUPPRESSED_LABEL, js_json
from trygghetskarta.render.profile import INTERNAL, PUBLIC, export_profile

INFO = {
    "period": ("2024-01-01", "2024-12-31"),
    "sources": ["Polisen"],
    "made_at": datetime(2025, 1, 2, 3, 4),
}
SCRIPT = "<script>alert(1)</script>"


def cells(size: float, bins: list[int], counts: list[int] | None = None, **cols):
    x0, y0 = 673_000.0, 6_580_000.0
    geoms = [box(x0 + i * size, y0, x0 + (i + 1) * size, y0 + size) for i in range(len(bins))]
    data = {"bin": bins, "count": counts or [10] * len(bins), "z": [2.7] * len(bins), **cols}
    return gpd.GeoDataFrame(data, geometry=geoms, crs="EPSG:3006")


def areas(names: list[str], **cols) -> gpd.GeoDataFrame:
    geoms = [
        box(673_000 + 500 * i, 6_578_000, 673_500 + 500 * i, 6_578_500) for i in range(len(names))
    ]
    return gpd.GeoDataFrame({"name": names, **cols}, geometry=geoms, crs="EPSG:3006")


def layers_of(m: folium.Map) -> dict[str, folium.FeatureGroup]:
    return {c.layer_name: c for c in m._children.values() if isinstance(c, folium.FeatureGroup)}


def features(layer: folium.FeatureGroup) -> list[dict]:
    (gj,) = [c for c in layer._children.values() if isinstance(c, folium.GeoJson)]
    return gj.data["features"]


def tips(layer: folium.FeatureGroup) -> list[str]:
    return [f["properties"]["tk_tip"] for f in features(layer)]


def new_map() -> folium.Map:
    return folium.Map(location=[59.33, 18.06], zoom_start=12, tiles=None)


def test_gi_cells_draw_significant_bins_with_arcgis_legend():
    m = al.add_gi_star_cells(new_map(), cells(250, [3, 0, -2, 1]), profile=PUBLIC)
    layer = layers_of(m)[al.GI_LAYER_NAME]
    drawn = features(layer)
    assert [f["properties"]["tk_style"]["fillColor"] for f in drawn] == [
        al.GI_BIN_COLORS[3],
        al.GI_BIN_COLORS[-2],
        al.GI_BIN_COLORS[1],
    ]
    assert layer.show is False
    html = m.get_root().render()
    for label in ("Hot spot 99 %", "Hot spot 90 %", "Cold spot 95 %"):
        assert label in html
    # The legend shows the levels drawn, and says in words what they mean.
    assert "Cold spot 99 %" not in html and al.GI_BIN_COLORS[-3] not in html
    assert "Röda rutor (hot spots) har fler händelser än omgivningen" in html


@pytest.mark.parametrize(
    ("profile", "size", "drawn"),
    [
        pytest.param("public", 250, True, id="public-250m"),
        pytest.param("public", 200, True, id="public-200m"),
        pytest.param("public", 100, False, id="public-100m-left-out"),
        pytest.param("internal", 100, True, id="internal-100m"),
    ],
)
def test_gi_cells_under_200_m_stay_out_of_public_maps(profile, size, drawn):
    m = al.add_gi_star_cells(new_map(), cells(size, [3]), profile=export_profile(profile))
    assert (al.GI_LAYER_NAME in layers_of(m)) is drawn


@pytest.mark.parametrize(
    ("profile", "shown", "hidden"),
    [
        pytest.param("public", SUPPRESSED_LABEL, "Händelser: 3", id="public"),
        pytest.param("internal", "Händelser: 3", SUPPRESSED_LABEL, id="internal"),
    ],
)
def test_gi_cell_counts_below_five_are_suppressed_in_public(profile, shown, hidden):
    m = al.add_gi_star_cells(
        new_map(), cells(250, [3], counts=[3]), profile=export_profile(profile)
    )
    (tip,) = tips(layers_of(m)[al.GI_LAYER_NAME])
    assert shown in tip
    assert hidden not in tip


def test_emerging_legend_names_the_patterns_present_in_swedish():
    patterns = ["new hot spot", "persistent hot spot", "no pattern detected", "new hot spot"]
    table = cells(1000, [0] * 4, pattern=patterns, n_hot_bins=[1, 20, 0, 2])
    m = al.add_emerging(new_map(), table, profile=PUBLIC)
    layer = layers_of(m)[al.EMERGING_LAYER_NAME]
    assert len(features(layer)) == 3  # "no pattern detected" is not drawn
    html = m.get_root().render()
    assert "Ny hot spot" in html and "Ihållande hot spot" in html
    assert "Avtagande hot spot" not in html  # not present, not in the legend
    assert "Månader som hot spot: 20" in "".join(tips(layer))


@pytest.mark.parametrize("profile", ["public", "internal"])
def test_a_table_without_findings_keeps_the_layer_and_says_so(profile):
    m = new_map()
    al.add_emerging(
        m, cells(1000, [0], pattern=["no pattern detected"]), profile=export_profile(profile)
    )
    al.add_gi_star_cells(m, cells(250, [0, 0]), profile=export_profile(profile))
    html = m.get_root().render()
    assert "Inga mönster hittades." in html
    assert "Inga signifikanta hot spots eller cold spots i perioden" in html
    # No hot (or cold) colour where nothing is significant: not even in the legend.
    assert not any(al.GI_BIN_COLORS[b] in html for b in (3, 2, 1, -1, -2, -3))
    assert set(layers_of(m)) == {al.EMERGING_LAYER_NAME, al.GI_LAYER_NAME}


def test_stadsdel_gi_colours_by_bin_and_escapes_names():
    table = areas(["Gärdet", SCRIPT], bin=[3, 0], count=[40, 2], events_per_km2=[12.5, 0.4])
    table = table.rename(columns={"name": "stadsdel"})
    m = al.add_stadsdel_gi(new_map(), table, profile=PUBLIC)
    layer = layers_of(m)[al.STADSDEL_GI_LAYER_NAME]
    styles = [f["properties"]["tk_style"] for f in features(layer)]
    assert styles[0]["fillColor"] == al.GI_BIN_COLORS[3]
    assert styles[1]["fillOpacity"] < styles[0]["fillOpacity"]
    tip_texts = tips(layer)
    # public: neither count nor count ÷ area (the district maps may suppress these counts)
    assert "Händelser" not in "".join(tip_texts)
    internal = al.add_stadsdel_gi(new_map(), table, profile=INTERNAL)
    internal_tips = tips(layers_of(internal)[al.STADSDEL_GI_LAYER_NAME])
    assert "Händelser per km²: 12,5" in internal_tips[0]
    assert "Händelser: 40" in internal_tips[0]
    html = m.get_root().render()
    assert SCRIPT not in html and "&lt;script&gt;" in "".join(tip_texts)


@pytest.mark.parametrize("profile", ["public", "internal"])
def test_local_moran_quadrants_and_small_areas(profile):
    table = areas(
        ["Hög", "Låg", "Liten"],
        label=["HH", "LL", "ns"],
        count=[80, 20, 3],
        eb_rate_per_1000=[30.0, 4.0, 2.5],
    )
    m = al.add_local_moran(new_map(), table, profile=export_profile(profile))
    layer = layers_of(m)[al.MORAN_LAYER_NAME]
    colors = [f["properties"]["tk_style"]["fillColor"] for f in features(layer)]
    assert colors[:2] == [al.MORAN_LABELS["HH"][1], al.MORAN_LABELS["LL"][1]]
    small = tips(layer)[2]
    if profile == "public":
        assert SUPPRESSED_LABEL in small and "2,5" not in small
    else:
        assert "Händelser: 3" in small and "2,5" in small
    assert "Högt omgivet av högt (HH)" in m.get_root().render()


@pytest.mark.parametrize(("profile", "drawn"), [("public", False), ("internal", True)])
def test_cluster_outlines_only_in_internal_maps(profile, drawn):
    table = gpd.GeoDataFrame(
        {"cluster": [0], "n_events": [29], "area_km2": [0.05]},
        geometry=[box(674_000, 6_581_000, 674_300, 6_581_200)],
        crs="EPSG:3006",
    )
    m = al.add_clusters(new_map(), table, profile=export_profile(profile))
    assert (al.CLUSTER_LAYER_NAME in layers_of(m)) is drawn


@pytest.mark.parametrize("add", [al.add_gi_star_cells, al.add_emerging, al.add_local_moran])
def test_missing_or_empty_tables_draw_nothing(add):
    m = new_map()
    add(m, None, profile=PUBLIC)
    add(m, cells(250, [3]).iloc[:0], profile=PUBLIC)
    assert layers_of(m) == {}


def analysis() -> al.AnalysisLayers:
    # Two Gi* cells: one in "Norr", one in "Väster".
    gi = gpd.GeoDataFrame(
        {"bin": [3, -3], "count": [12, 0], "z": [3.1, -2.9]},
        geometry=[
            box(674_000, 6_581_000, 674_250, 6_581_250),
            box(671_500, 6_579_000, 671_750, 6_579_250),
        ],
        crs="EPSG:3006",
    )
    moran = areas(["Område"], label=["HH"], count=[50], eb_rate_per_1000=[9.0])
    return al.AnalysisLayers(gi_cells=gi, moran=moran)


def test_city_map_lists_analysis_layers_off_at_start(districts):
    m = render.city_map(render.MapScene(districts, **INFO, profile=PUBLIC, analysis=analysis()))
    html = render.to_html(m)
    control = html[html.index("L.control.layers") :]
    label = render.map_label("police_event")
    for name in (render.hotspot_name(label), f"{al.MORAN_LAYER_NAME} – {label}"):
        assert js_json(name) in control
        assert layers_of(m)[name].show is False
    assert al.EMERGING_LAYER_NAME not in html  # no table, no layer


def test_district_map_shows_only_its_own_cells(districts):
    m = render.district_map(
        render.MapScene(districts, **INFO, profile=PUBLIC, analysis=analysis()), "Norr"
    )
    drawn = features(layers_of(m)[render.hotspot_name(render.map_label("police_event"))])
    assert len(drawn) == 1
    assert drawn[0]["properties"]["tk_style"]["fillColor"] == al.GI_BIN_COLORS[3]
