"""Tests of the folium maps: layers, legends, profiles, escaping and reprojection."""

from __future__ import annotations

import base64
import json
import math
import re
import struct
import zlib
from dataclasses import dataclass, field
from datetime import datetime

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine
from pyproj import Transformer
from shapely.geometry import box

from trygghetskarta import render
from trygghetskarta.errors import ConfigError, CRSError, SchemaError
from trygghetskarta.render.assets import AssetError, inline_assets
from trygghetskarta.render.basemap import _latlon_bounds
from trygghetskarta.render.format import SUPPRESSED_LABEL, esc
from trygghetskarta.render.legend import SUPPRESSED_COLOR, count_classes
from trygghetskarta.render.profile import coarsen_grid, export_profile
from trygghetskarta.render.vector import to_web

SERGEL = (674_300.0, 6_580_900.0)
INFO = {
    "period": ("2024-01-01", "2024-12-31"),
    "sources": ["Polisen", "Stockholms stad"],
    "made_at": datetime(2025, 1, 2, 3, 4),
    "n_unplaced": 17,
}
PAYLOADS = {
    "script": "<script>alert(1)</script>",
    "onerror": '"><img src=x onerror=alert(1)>',
    "template_literal": "`${alert(1)}` \\",
    "backtick": "`);alert(1);(`",
}


#: Arguments of city_map and district_map that are per map, not per scene.
_PER_MAP = ("n_unplaced", "title", "counts", "rates_title", "padding_m")


def _info() -> dict:
    """INFO without the per-map arguments: the info box's fields of a scene."""
    return {k: v for k, v in INFO.items() if k not in _PER_MAP}


def scene_of(districts: gpd.GeoDataFrame, profile: str = "public", **kw) -> render.MapScene:
    """A MapScene of ``districts`` in the named profile; ``kw`` are its other fields."""
    return render.MapScene(districts=districts, profile=export_profile(profile), **kw)


def city_map(districts: gpd.GeoDataFrame, **kw) -> folium.Map:
    """render.city_map of a scene made of ``kw`` (per-map arguments passed to the call)."""
    per_map = {k: kw.pop(k) for k in _PER_MAP if k in kw}
    return render.city_map(scene_of(districts, **kw), **per_map)


def district_map(district: str, districts: gpd.GeoDataFrame, **kw) -> folium.Map:
    """render.district_map of a scene made of ``kw`` (per-map arguments passed to the call)."""
    per_map = {k: kw.pop(k) for k in _PER_MAP if k in kw}
    return render.district_map(scene_of(districts, **kw), district, **per_map)


@dataclass
class Grid:
    """A density grid as analysis.density makes it (values per km², row 0 north)."""

    values: np.ndarray
    transform: Affine
    crs: str = "EPSG:3006"
    params: dict = field(default_factory=dict)


def gauss_kruger_inverse(e: float, n: float) -> tuple[float, float]:
    """SWEREF99 TM → (lon, lat) with Lantmäteriet's formulas, independent of pyproj."""
    a, f = 6_378_137.0, 1 / 298.257222101
    lon0, k0, fe = math.radians(15.0), 0.9996, 500_000.0
    e2 = f * (2 - f)
    nn = f / (2 - f)
    a_roof = a / (1 + nn) * (1 + nn**2 / 4 + nn**4 / 64)
    d1 = nn / 2 - 2 * nn**2 / 3 + 37 * nn**3 / 96 - nn**4 / 360
    d2 = nn**2 / 48 + nn**3 / 15 - 437 * nn**4 / 1440
    d3 = 17 * nn**3 / 480 - 37 * nn**4 / 840
    d4 = 4397 * nn**4 / 161280
    a_s = e2 + e2**2 + e2**3 + e2**4
    b_s = -(7 * e2**2 + 17 * e2**3 + 30 * e2**4) / 6
    c_s = (224 * e2**3 + 889 * e2**4) / 120
    d_s = -(4279 * e2**4) / 1260
    xi = n / (k0 * a_roof)
    eta = (e - fe) / (k0 * a_roof)
    xp, ep = xi, eta
    for k, d in enumerate((d1, d2, d3, d4), start=1):
        xp -= d * math.sin(2 * k * xi) * math.cosh(2 * k * eta)
        ep -= d * math.cos(2 * k * xi) * math.sinh(2 * k * eta)
    phi = math.asin(math.sin(xp) / math.cosh(ep))
    lon = lon0 + math.atan(math.sinh(ep) / math.cos(xp))
    s2 = math.sin(phi) ** 2
    lat = phi + math.sin(phi) * math.cos(phi) * (a_s + b_s * s2 + c_s * s2**2 + d_s * s2**3)
    return math.degrees(lon), math.degrees(lat)


def js_text(html: str) -> str:
    r"""The page with JSON ``\uXXXX`` escapes decoded: what scripts hand to ``innerHTML``."""
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), html)


def decode_png(data_url: str) -> np.ndarray:
    """Decode an RGBA PNG without filters (as render writes it) into an array."""
    raw = base64.b64decode(data_url.split(",", 1)[1])
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(raw):
        (length,) = struct.unpack(">I", raw[pos : pos + 4])
        kind, body = raw[pos + 4 : pos + 8], raw[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", raw[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body), kind
        chunks[kind] = chunks.get(kind, b"") + body
        pos += 12 + length
    width, height = struct.unpack(">II", chunks[b"IHDR"][:8])
    rows = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), dtype="uint8")
    rows = rows.reshape(height, 1 + 4 * width)
    assert (rows[:, 0] == 0).all()
    return rows[:, 1:].reshape(height, width, 4)


@pytest.fixture
def grid() -> Grid:
    values = np.zeros((40, 40))
    values[10:14, 10:14] = 50.0
    values[0, 0] = np.nan
    return Grid(values, Affine(100.0, 0, 671_000, 0, -100.0, 6_582_000))


@pytest.fixture
def events() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "x": [674_123.0, 673_456.0, np.nan],
            "y": [6_580_987.0, 6_579_321.0, np.nan],
            "occurred_at": pd.to_datetime(
                ["2024-03-05 13:20", "2024-06-01 22:05", "2024-07-01 00:00"], utc=True
            ),
            "source_type": ["Misshandel", "Stöld", "Brand"],
            "category": ["violence", "theft_burglary", "fire"],
            "summary": ["Bråk vid torget", "Cykel stulen", "Utan position"],
            "url": ["https://polisen.se/a", "javascript://%0Aalert(1)", None],
            "precision": ["street", "place", "none"],
            "place_name": ["Sergels torg", "Slussen", None],
            "stadsdelsomrade": ["Norr", "Söder", None],
            "stadsdel": ["Norra delen", "Södra delen", None],
            "sensitive": [False, False, False],
        }
    )


def html_of(m: folium.Map) -> str:
    return m.get_root().render()


def overlays(m: folium.Map) -> list[folium.raster_layers.ImageOverlay]:
    return [c for c in m._children.values() if isinstance(c, folium.raster_layers.ImageOverlay)]


@pytest.mark.parametrize(
    ("e", "n"),
    [SERGEL, (669_500.0, 6_589_500.0), (678_000.0, 6_569_000.0)],
    ids=["sergels_torg", "kista", "farsta"],
)
def test_to_wgs84_matches_gauss_kruger(e: float, n: float) -> None:
    lon, lat = render.to_wgs84(e, n)
    ref_lon, ref_lat = gauss_kruger_inverse(e, n)
    assert float(lon) == pytest.approx(ref_lon, abs=1e-6)
    assert float(lat) == pytest.approx(ref_lat, abs=1e-6)


def test_sergels_torg_lands_in_central_stockholm() -> None:
    lon, lat = render.to_wgs84(*SERGEL)
    assert float(lat) == pytest.approx(59.331, abs=0.002)
    assert float(lon) == pytest.approx(18.064, abs=0.001)


def test_density_cell_is_drawn_where_it_lies() -> None:
    """One hot cell at Sergels torg: the opaque pixels sit at its lat/lon (row 0 is north)."""
    values = np.zeros((30, 30))
    col, row = 13, 6  # cell whose area contains SERGEL
    transform = Affine(100.0, 0, SERGEL[0] - col * 100 - 50, 0, -100.0, SERGEL[1] + row * 100 + 50)
    values[row, col] = 10.0
    m = render.add_density(
        render.base_map((673_000, 6_578_000, 676_000, 6_583_000)), Grid(values, transform)
    )
    (overlay,) = overlays(m)
    rgba = decode_png(overlay.url)
    (south, west), (north, east) = overlay.bounds
    to_merc = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    to_geo = Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)
    x0, y0 = to_merc.transform(west, north)
    x1, y1 = to_merc.transform(east, south)
    rows, cols = np.nonzero(rgba[..., 3])
    h, w = rgba.shape[:2]
    lon, lat = to_geo.transform(
        x0 + (cols.mean() + 0.5) / w * (x1 - x0), y0 + (rows.mean() + 0.5) / h * (y1 - y0)
    )
    ref_lon, ref_lat = render.to_wgs84(*SERGEL)
    assert lat == pytest.approx(float(ref_lat), abs=0.0005)
    assert lon == pytest.approx(float(ref_lon), abs=0.0005)


def test_density_transparent_where_zero_or_nan(grid: Grid) -> None:
    m = render.add_density(render.base_map((671_000, 6_578_000, 675_000, 6_582_000)), grid)
    rgba = decode_png(overlays(m)[0].url)
    alpha = rgba[..., 3]
    opaque_share = (alpha > 0).mean()
    assert 0 < opaque_share < 16 / 1600 * 1.5  # 16 of 1600 cells are non-zero
    assert alpha[0, 0] == 0 and alpha[-1, -1] == 0


def test_density_legend_and_layer(grid: Grid) -> None:
    m = render.add_density(
        render.base_map((671_000, 6_578_000, 675_000, 6_582_000)), grid, name="Täthet"
    )
    text = js_text(html_of(m))
    assert "Händelser per km²" in text
    assert "L.imageOverlay" in text and "data:image/png;base64," in text


def test_density_clip_hides_cells_outside(grid: Grid, districts: gpd.GeoDataFrame) -> None:
    outside_only = districts.loc[districts["name"] == "Söder", "geometry"].iloc[0]
    m = render.add_density(
        render.base_map((671_000, 6_578_000, 675_000, 6_582_000)), grid, clip_to=outside_only
    )
    assert overlays(m) == []  # the hot cells lie in Väster: nothing left to draw
    assert "Inga händelser att visa." in js_text(html_of(m))


def test_density_rejects_other_crs(grid: Grid) -> None:
    grid.crs = "EPSG:4326"
    with pytest.raises(CRSError, match="EPSG:3006"):
        render.add_density(render.base_map((0, 0, 1, 1)), grid)


def test_base_map_has_no_online_tiles_by_default() -> None:
    html = html_of(render.base_map((671_000, 6_578_000, 675_000, 6_582_000)))
    assert "tile.openstreetmap.org" not in html
    assert "L.tileLayer" not in html
    assert "imperial" in html  # the metric-only scale bar ({imperial: false})


def test_osm_tiles_are_an_overlay_switched_off() -> None:
    m = render.base_map((671_000, 6_578_000, 675_000, 6_582_000), tiles="OpenStreetMap")
    (tiles,) = [c for c in m._children.values() if isinstance(c, folium.TileLayer)]
    assert tiles.overlay is True and tiles.show is False
    assert "tile.openstreetmap.org" in html_of(m)


def test_city_map_has_layers_legends_and_info_box(districts: gpd.GeoDataFrame, grid: Grid) -> None:
    m = city_map(
        districts,
        grid=grid,
        counts={"Norr": 12, "Söder": 7, "Väster": 30},
        rates=pd.Series({"Norr": 1.5, "Söder": 2.5, "Väster": 3.5}),
        **INFO,
    )
    text = js_text(html_of(m))
    for needle in (
        '"Stadsdelsområden"',
        '"Täthet per km² – Polisens händelsenotiser"',
        '"Händelser per 1 000 invånare"',
        '"Antal händelser"',
        "Polisens händelsenotiser per km²",
        "Samma färgskala på stadskartan och på varje stadsdelsområdes karta",
        "Period: 2024-01-01 – 2024-12-31",
        "Källor: Polisen, Stockholms stad",
        "Skapad: 2025-01-02 03:04",
        "17 händelser kunde inte placeras",
        "L.control.layers",
        "L.control.fullscreen",
        "L.control.scale",
    ):
        assert needle in text, needle


def test_choropleth_legend_shows_quantile_edges(districts: gpd.GeoDataFrame) -> None:
    m = render.base_map((671_000, 6_578_000, 675_000, 6_582_000))
    values = pd.Series({"Norr": 1.0, "Söder": 2.0, "Väster": 3.0})
    render.add_districts(m, districts, values=values, legend_title="Per 1 000 inv.", k=2)
    text = js_text(html_of(m))
    assert "Per 1 000 inv." in text
    assert "1 – 2</span>" in text and "2 – 3</span>" in text


@pytest.mark.parametrize(
    ("values", "k", "expected"),
    [
        (range(1, 11), 5, [1.0, 2.8, 4.6, 6.4, 8.2, 10.0]),
        ([1, 1, 1, 5], 4, [1.0, 2.0, 5.0]),
        ([3.0, np.nan, 3.0], 5, [3.0, 3.0]),
        ([np.nan], 5, []),
    ],
    ids=["ten_values", "repeats_merge", "single_value", "all_nan"],
)
def test_quantile_edges(values, k: int, expected: list[float]) -> None:
    np.testing.assert_allclose(render.quantile_edges(list(values), k), expected)


@pytest.mark.parametrize(
    ("count", "profile", "shown"),
    [
        (0, "public", SUPPRESSED_LABEL),
        (4, "public", SUPPRESSED_LABEL),
        (5, "public", "5"),
        (1234, "public", "1\u00a0234"),
        (4, "internal", "4"),
        (0, "internal", "0"),
    ],
    ids=["zero_public", "four_public", "five_public", "large_public", "four_internal", "zero_int"],
)
def test_count_labels_suppress_small_counts_in_public(
    districts: gpd.GeoDataFrame, count: int, profile: str, shown: str
) -> None:
    m = render.base_map((671_000, 6_578_000, 675_000, 6_582_000))
    render.add_count_labels(
        m, districts, {"Norr": count, "Söder": 100}, profile=export_profile(profile)
    )
    text = js_text(html_of(m))
    label = re.search(r"<div>Norr</div><span class=\\\"tk-count\\\">(.*?)</span>", text)
    assert label is not None
    assert label.group(1) == shown


def test_public_city_map_has_no_events(districts: gpd.GeoDataFrame, events: pd.DataFrame) -> None:
    public = js_text(render.to_html(city_map(districts, events=events, **INFO)))
    internal = js_text(
        render.to_html(city_map(districts, events=events, profile="internal", **INFO))
    )
    lon, lat = render.to_wgs84(events["x"].dropna().to_numpy(), events["y"].dropna().to_numpy())
    for value in (*lon, *lat):
        assert f"{float(value):.5f}" not in public  # not even to the metre
        assert repr(float(value)) in internal
    for summary in ("Bråk vid torget", "Cykel stulen"):
        assert summary not in public
        assert summary in internal
    assert "markerClusterGroup" not in public and "markerClusterGroup" in internal


def test_events_popup_content_and_links(events: pd.DataFrame) -> None:
    m = render.add_events(render.base_map((671_000, 6_578_000, 675_000, 6_582_000)), events)
    text = js_text(html_of(m))
    rows = json.loads(re.search(r"\}\)\(map_\w+, marker_cluster_\w+, (\[.*\])\);", text).group(1))
    assert len(rows) == 2  # the row without x/y is skipped
    popups = " ".join(r[4] for r in rows)
    assert 'href="https://polisen.se/a"' in popups
    assert "javascript:" not in text
    assert "2024-03-05 14:20" in popups  # shown in Stockholm time
    assert "Sergels torg – Gata" in popups
    assert "Utan position" not in text
    assert [r[2] for r in rows] == [0, 0]  # no slider months: shown whatever the slider says


@pytest.mark.parametrize("payload", list(PAYLOADS.values()), ids=list(PAYLOADS))
@pytest.mark.parametrize("profile", ["public", "internal"])
def test_source_text_is_escaped_everywhere(
    districts: gpd.GeoDataFrame, events: pd.DataFrame, payload: str, profile: str
) -> None:
    districts = districts.assign(name=["Norr", payload, "Väster"])
    events = events.assign(
        summary=payload, place_name=payload, source_type=payload, stadsdelsomrade=payload
    )
    m = city_map(
        districts,
        rates=pd.Series({payload: 2.0, "Norr": 1.0, "Väster": 3.0}),
        events=events,
        profile=profile,
        title=payload,
        **{**INFO, "sources": [payload]},
    )
    text = js_text(render.to_html(m))
    assert payload not in text
    assert esc(payload) in text
    assert "<script>alert" not in text and "<img src=x" not in text


def test_district_map_draws_one_district_and_its_stadsdelar(
    districts: gpd.GeoDataFrame, grid: Grid
) -> None:
    stadsdelar = gpd.GeoDataFrame(
        {"name": ["Norra delen", "Södra delen", "Annat"]},
        geometry=[
            box(673_000, 6_581_000, 675_000, 6_582_000),
            box(673_000, 6_580_000, 675_000, 6_581_000),
            box(671_000, 6_578_000, 673_000, 6_580_000),
        ],
        crs="EPSG:3006",
    )
    m = district_map(
        "Norr",
        districts,
        stadsdelar=stadsdelar,
        grid=grid,
        counts={"Norra delen": 3, "Södra delen": 9, "Annat": 50},
        **INFO,
    )
    text = js_text(html_of(m))
    assert '"Norr"' in text and '"Övriga stadsdelsområden"' in text
    assert "<div>Norra delen</div>" in text and "<div>Annat</div>" not in text
    assert SUPPRESSED_LABEL in text and ">9</span>" in text
    assert "Norr – händelser" in text
    assert overlays(m) == []  # the grid's hot cells are in Väster, outside Norr


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda d: city_map(d, profile="open", **INFO), ConfigError),
        (lambda d: render.MapScene(d, profile="public", **_info()), ConfigError),
        (lambda d: district_map("Nowhere", d, **INFO), ConfigError),
        (
            lambda d: render.add_districts(
                render.base_map((0, 0, 1, 1)), d.set_crs(None, allow_override=True)
            ),
            CRSError,
        ),
        (
            lambda d: render.add_districts(
                render.base_map((0, 0, 1, 1)), d.rename(columns={"name": "n"})
            ),
            SchemaError,
        ),
        (
            lambda d: render.add_events(render.base_map((0, 0, 1, 1)), pd.DataFrame({"x": [1.0]})),
            SchemaError,
        ),
    ],
    ids=[
        "unknown_profile",
        "profile_name_in_scene",
        "unknown_district",
        "no_crs",
        "no_name_column",
        "events_without_y",
    ],
)
def test_bad_input_raises_domain_errors(districts: gpd.GeoDataFrame, call, error) -> None:
    with pytest.raises(error):
        call(districts)


@pytest.mark.realdata
def test_city_map_from_real_boundaries(shared_data) -> None:
    path = shared_data / "boundaries" / "stadsdelsomraden_11_from2024_derived.geojson"
    sdo = gpd.read_file(path).to_crs(3006).rename(columns={"sdo_namn": "name"})
    m = city_map(sdo, counts=dict.fromkeys(sdo["name"], 3), **INFO)
    text = js_text(html_of(m))
    assert text.count('"tk_tip": "<b>') == 11
    assert text.count(f'tk-count\\">{SUPPRESSED_LABEL}<') == 11
    (south, west), (north, east) = _latlon_bounds(tuple(sdo.total_bounds))
    assert 59.2 < south < north < 59.45 and 17.7 < west < east < 18.25


# --------------------------------------------------------------------------- self-contained


def month_events(rows: list[tuple[str, str, bool]]) -> pd.DataFrame:
    """Events from ``(month, district, sensitive)``; stadsdel is the district + " delen"."""
    return pd.DataFrame(
        {
            "occurred_at": pd.to_datetime([f"{mo}-15 12:00" for mo, _, _ in rows]).tz_localize(
                "Europe/Stockholm"
            ),
            "stadsdelsomrade": [d for _, d, _ in rows],
            "stadsdel": [{"Norr": "Norra delen"}.get(d, "Annat") for _, d, _ in rows],
            "sensitive": [s for _, _, s in rows],
            "x": 674_000.0,
            "y": 6_581_000.0,
            "category": "violence",
            "summary": "text",
        }
    )


def area_data(html: str) -> dict:
    """The data object of the count layer (labels and choropleth per area and month)."""
    match = re.search(r', (\{"names":.*\})\);$', js_text(html), flags=re.MULTILINE)
    assert match is not None
    return json.loads(match.group(1))


def test_to_html_is_self_contained(districts: gpd.GeoDataFrame, events: pd.DataFrame) -> None:
    m = city_map(districts, events=events, profile="internal", tiles="OpenStreetMap", **INFO)
    html = render.to_html(m)
    assert render.external_references(html) == []
    assert "<script src" not in html and "<link " not in html
    for package in ("leaflet 1.9.4", "leaflet.markercluster 1.5.3", "leaflet.fullscreen 3.0.2"):
        assert f"/* {package} (vendored) */" in html
    assert "jquery" not in html.lower()  # nothing on these maps calls $(…)
    assert "bootstrap" not in html.lower() and "fontawesome" not in html.lower()
    assert "sourceMappingURL" not in html
    # The only fetchable address left is the tile template of the optional OSM layer.
    fetched = re.findall(r'L\.tileLayer\(\s*"([^"]+)"', html)
    assert fetched == ["https://tile.openstreetmap.org/{z}/{x}/{y}.png"]


def test_css_icons_become_data_urls(districts: gpd.GeoDataFrame) -> None:
    html = render.to_html(city_map(districts, **INFO))
    assert "url(images/" not in html and "icon-fullscreen.svg" not in html
    assert 'url("data:image/png;base64,' in html  # layers.png of the layer control
    assert 'url("data:image/svg+xml;base64,' in html  # the full-screen button
    assert 'L.Icon.Default.mergeOptions({iconUrl: "data:image/png;base64,' in html


def test_jquery_only_when_the_page_uses_it() -> None:
    m = render.base_map((671_000, 6_578_000, 675_000, 6_582_000))
    assert "jquery 3.7.1 (vendored)" not in render.to_html(m)
    folium.CircleMarker([59.33, 18.06], popup=folium.Popup("x")).add_to(m)  # folium uses $(…)
    html = render.to_html(m)
    assert "/* jquery 3.7.1 (vendored) */" in html
    assert render.external_references(html) == []


@pytest.mark.parametrize(
    "add",
    [
        lambda m: folium.Marker([59.33, 18.06], icon=folium.Icon(icon="info-sign")).add_to(m),
        lambda m: m.get_root().header.add_child(
            folium.elements.JavascriptLink("https://example.org/plugin.js")
        ),
    ],
    ids=["awesome_marker_icon", "unknown_cdn_script"],
)
def test_pages_that_need_a_cdn_are_refused(add) -> None:
    m = render.base_map((671_000, 6_578_000, 675_000, 6_582_000))
    add(m)
    with pytest.raises(AssetError, match="expected"):
        render.to_html(m)


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ('<script src="https://cdn.example/x.js"></script>', ["https://cdn.example/x.js"]),
        ('<script src="local.js"></script>', ["local.js"]),
        ('<link rel="stylesheet" href="//cdn.example/a.css">', ["//cdn.example/a.css"]),
        ('<img src="http://x/y.png">', ["http://x/y.png"]),
        ("<style>b { background: url(https://x/i.png) }</style>", ["https://x/i.png"]),
        ('<style>@import "https://x/a.css";</style>', ["https://x/a.css"]),
        ('<img src="data:image/png;base64,AAAA"><a href="https://polisen.se">x</a>', []),
        ("&lt;img src=x onerror=alert(1)&gt;", []),
    ],
    ids=[
        "cdn_script",
        "relative_script",
        "protocol_relative_css",
        "img",
        "css_url",
        "import",
        "data_and_links",
        "escaped_text",
    ],
)
def test_external_references(html: str, expected: list[str]) -> None:
    assert render.external_references(html) == expected


def test_inline_assets_is_idempotent() -> None:
    html = render.to_html(render.base_map((671_000, 6_578_000, 675_000, 6_582_000)))
    assert inline_assets(html) == html


# --------------------------------------------------------------------------- month slider


def test_slider_months_and_counts_per_district(districts: gpd.GeoDataFrame) -> None:
    rows = [("2024-01", "Norr", False)] * 6 + [("2024-03", "Norr", False)] * 2
    rows += [("2024-03", "Söder", False)] * 7 + [("2023-12", "Söder", False)]  # before the period
    m = city_map(districts, events=month_events(rows), profile="internal", **INFO)
    data = area_data(html_of(m))
    assert data["months"][0] == "Hela perioden" and data["months"][1:4] == [
        "jan 2024",
        "feb 2024",
        "mar 2024",
    ]
    assert len(data["months"]) == 13  # the period's twelve months
    names = [re.sub("<.*?>", "", n) for n in data["names"]]
    norr, soder = data["plain"][names.index("Norr")], data["plain"][names.index("Söder")]
    assert norr[:4] == ["8", "6", "0", "2"]
    assert soder[:4] == ["7", "0", "0", "7"]  # the December 2023 event is outside the period
    text = js_text(html_of(m))
    assert "var tl = TK.timeline(map);" in text and "tk-range" in text


def test_public_slider_never_holds_a_count_below_five(districts: gpd.GeoDataFrame) -> None:
    rows = [("2024-01", "Norr", False)] * 6 + [("2024-03", "Norr", False)] * 2
    data = area_data(html_of(city_map(districts, events=month_events(rows), **INFO)))
    values = {v for row in data["plain"] for v in row} | {v for row in data["text"] for v in row}
    assert values == {SUPPRESSED_LABEL, "8", "6"}
    # the colour classes tell SUPPRESSED_LABEL apart, nothing finer
    norr = data["cls"][[re.sub("<.*?>", "", n) for n in data["names"]].index("Norr")]
    assert norr[2] == norr[3]  # 0 and 2 events: the same class


@pytest.mark.parametrize(
    ("profile", "norra_delen"), [("public", "6"), ("internal", "9")], ids=["public", "internal"]
)
def test_sensitive_events_count_only_per_district_in_public(
    districts: gpd.GeoDataFrame, profile: str, norra_delen: str
) -> None:
    stadsdelar = gpd.GeoDataFrame(
        {"name": ["Norra delen", "Annat"]},
        geometry=[
            box(673_000, 6_580_000, 675_000, 6_582_000),
            box(671_000, 6_578_000, 673_000, 6_580_000),
        ],
        crs="EPSG:3006",
    )
    rows = [("2024-02", "Norr", False)] * 6 + [("2024-02", "Norr", True)] * 3
    m = district_map(
        "Norr", districts, stadsdelar=stadsdelar, events=month_events(rows), profile=profile, **INFO
    )
    data = area_data(html_of(m))
    assert data["plain"][0][0] == norra_delen
    text = js_text(html_of(m))
    note = "Händelser av känslig art (t.ex. sexualbrott) räknas bara"
    assert (note in text) is (profile == "public")
    assert "3 händelser av känslig art" not in text  # never a number, not even "av känslig art"


def test_internal_markers_follow_the_slider(districts: gpd.GeoDataFrame) -> None:
    rows = [("2024-01", "Norr", False), ("2024-03", "Norr", False), ("2023-05", "Norr", False)]
    m = city_map(districts, events=month_events(rows), profile="internal", **INFO)
    text = js_text(html_of(m))
    markers = json.loads(re.search(r"marker_cluster_\w+, (\[\[.*\]\])\);", text).group(1))
    assert sorted(r[2] for r in markers) == [-1, 1, 3]  # outside the period: never shown


# --------------------------------------------------------------------------- privacy, geometry


def test_coarsen_grid_block_means() -> None:
    values = np.array([[1.0, 3.0, 5.0], [np.nan, 2.0, 7.0], [4.0, 4.0, np.nan]])
    out, transform = coarsen_grid(values, Affine(100.0, 0, 0, 0, -100.0, 300), 200.0)
    np.testing.assert_allclose(out, [[2.0, 6.0], [4.0, np.nan]])
    assert transform.a == 200.0 and transform.e == -200.0 and (transform.c, transform.f) == (0, 300)
    same, t = coarsen_grid(values, Affine(250.0, 0, 0, 0, -250.0, 0), 200.0)
    assert same is values and t.a == 250.0


@pytest.mark.parametrize(("profile", "cell"), [("public", "200"), ("internal", "100")])
def test_public_density_is_shown_on_200_m_cells(
    districts: gpd.GeoDataFrame, grid: Grid, profile: str, cell: str
) -> None:
    m = city_map(districts, grid=grid, profile=profile, **INFO)
    assert f"Rutor om {cell} m" in js_text(html_of(m))


def test_water_is_the_outline_less_the_land() -> None:
    outline = gpd.GeoDataFrame(geometry=[box(0, 0, 1000, 1000)], crs="EPSG:3006")
    land = gpd.GeoDataFrame(
        geometry=[box(0, 0, 1000, 450), box(0, 550, 1000, 1000), box(0, 449.5, 300, 450.5)],
        crs="EPSG:3006",
    )
    water = render.water_polygons(outline, land)
    assert len(water) == 1  # the 100 m channel; the land strip's 0.5 m slivers are gone
    assert water.area.sum() == pytest.approx(100 * 1000 - 300 * 1.0, rel=0.02)
    m = render.add_water(
        render.base_map((0, 6_578_000, 1, 6_578_001)), water.set_crs(3006, allow_override=True)
    )
    assert "tkWater" in html_of(m)


def test_area_coordinates_are_rounded_and_polygonal() -> None:
    odd = shapely.GeometryCollection(
        [
            box(673_000.123, 6_580_000.456, 675_000.789, 6_582_000.321),
            shapely.LineString([(0, 0), (1, 1)]),
        ]
    )
    web = to_web(gpd.GeoDataFrame({"name": ["A"]}, geometry=[odd], crs="EPSG:3006"), "a")
    geom = web.geometry.iloc[0]
    assert geom.geom_type == "Polygon"
    coords = shapely.get_coordinates(geom)
    np.testing.assert_array_equal(coords, np.round(coords, 5))


@pytest.mark.parametrize(
    ("profile", "labels", "classes"),
    [
        (
            "public",
            [SUPPRESSED_LABEL, "5", "6 – 8", "9 – 13", "14 – 27", "28 – 50"],
            [0, 0, 0, 1, 2, 2, 3, 3, 4, 5, 5],
        ),
        (
            "internal",
            ["0 – 3", "4 – 5", "6 – 8", "9 – 19", "20 – 50"],
            [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 4],
        ),
    ],
    ids=["public", "internal"],
)
def test_count_classes(profile: str, labels: list[str], classes: list[int]) -> None:
    values = np.array([0, 1, 4, 5, 6, 7, 9, 12, 20, 33, 50], dtype=float)
    got_classes, colors, got_labels = count_classes(values, profile=export_profile(profile))
    assert [t.replace("\u00a0", " ") for t in got_labels] == labels
    assert got_classes.tolist() == classes
    assert len(colors) == len(labels)
    assert (colors[0] == SUPPRESSED_COLOR) is (profile == "public")


@pytest.mark.realdata
def test_public_maps_of_real_events_hold_no_event_position_or_summary(shared_data) -> None:
    from real_events import placed_police_events, real_areas

    events = placed_police_events(shared_data)
    events = events[events["occurred_at"] >= pd.Timestamp("2025-01-01", tz="Europe/Stockholm")]
    areas = real_areas(shared_data)
    districts = areas.districts("2024")
    known = set(areas.sdo_13["name"])
    events = events.assign(
        stadsdelsomrade=events["stadsdelsomrade"].map(
            lambda n: areas.to_2024(n) if n in known else n
        )
    )
    info = {**INFO, "period": ("2025-01-01", "2025-12-31")}
    city = render.to_html(city_map(districts, events=events, **info))
    sodermalm = events[events["stadsdelsomrade"] == "Södermalm"]
    district = render.to_html(
        district_map("Södermalm", districts, stadsdelar=areas.stadsdelar, events=sodermalm, **info)
    )
    placed = events[events["x"].notna()]
    lon, lat = render.to_wgs84(placed["x"].to_numpy(), placed["y"].to_numpy())
    positions = {f"{v:.6f}" for v in (*lon, *lat)}
    summaries = {esc(s)[:40] for s in events["summary"].dropna() if len(s) >= 25}
    assert len(positions) > 200 and len(summaries) > 500
    for page in (js_text(city), js_text(district)):
        numbers = {f"{float(n):.6f}" for n in re.findall(r"\d{2}\.\d{6,}", page)}
        assert not numbers & positions  # no event position, even to 0.1 m
        assert not any(s in page for s in summaries)
        assert render.external_references(page) == []


def test_monthly_density_follows_the_slider(districts: gpd.GeoDataFrame, grid: Grid) -> None:
    march = Grid(
        np.where(np.arange(40)[:, None] == 12, 30.0, 0.0) * np.ones((1, 40)), grid.transform
    )
    m = city_map(
        districts,
        grid=grid,
        events=month_events([("2024-03", "Norr", False)]),
        monthly_grids={"2024-03": march, "2024-04": Grid(np.zeros((40, 40)), grid.transform)},
        profile="internal",
        **INFO,
    )
    text = js_text(html_of(m))
    data = json.loads(re.search(r'image_overlay_\w+, (\{"urls":.*\})\);$', text, re.M).group(1))
    urls = data["urls"]
    assert len(urls) == 13  # the whole period, then twelve months
    empty = urls[1]
    assert urls[0] != urls[3] and urls[3] != empty  # March has its own image
    assert urls[4] == empty and urls[12] == empty  # an all-zero month and a month without grid
    rgba = decode_png(urls[3])
    assert (rgba[..., 3] > 0).any()
    assert "per månad" in data["legends"][1] and "per månad" not in data["legends"][0]


def test_monthly_grids_must_share_the_period_grid_cells(
    districts: gpd.GeoDataFrame, grid: Grid
) -> None:
    other = Grid(np.ones((20, 20)), Affine(200.0, 0, 671_000, 0, -200.0, 6_582_000))
    with pytest.raises(SchemaError, match="cells of the period's grid"):
        city_map(
            districts,
            grid=grid,
            events=month_events([("2024-03", "Norr", False)]),
            monthly_grids={"2024-03": other},
            **INFO,
        )
