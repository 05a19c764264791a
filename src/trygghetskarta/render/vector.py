"""Area layers: outlines, choropleths, static count labels and water.

Part of :mod:`trygghetskarta.render`, which re-exports :func:`add_districts`,
:func:`add_count_labels`, :func:`add_water` and :func:`water_polygons`. Geometries are
simplified in EPSG:3006, reduced to their polygons, reprojected to EPSG:4326 and written
with five decimals (about a metre): enough for a district map, and no coordinate in a file
is more precise than that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely.geometry import mapping

from trygghetskarta.config import STORE_CRS, WEB_CRS
from trygghetskarta.errors import CRSError, SchemaError
from trygghetskarta.render.format import esc, fmt_cell, fmt_count, fmt_number
from trygghetskarta.render.legend import (
    HtmlControl,
    class_colors,
    link_html,
    quantile_edges,
    step_legend_html,
)
from trygghetskarta.render.profile import PUBLIC, ExportProfile
from trygghetskarta.render.timeline import _Script, js_json

__all__ = [
    "MISSING_COLOR",
    "WATER_COLOR",
    "add_area_info",
    "add_count_labels",
    "add_districts",
    "add_water",
    "area_geojson",
    "label_points",
    "to_web",
    "water_polygons",
]

#: The colour of areas without a value.
MISSING_COLOR = "#d9d9d9"
WATER_COLOR = "#bcd6ea"
#: Decimals of degrees written to a file (1e-5° ≈ 1.1 m north–south, 0.6 m east–west).
COORD_DECIMALS = 5
_COLUMN_LABELS_SV = {"name": "Namn", "population": "Invånare", "count": "Antal"}
_SIMPLIFY_M = 5.0
_POLYGONAL = ("Polygon", "MultiPolygon")


@cache
def _transformer() -> Transformer:
    return Transformer.from_crs(STORE_CRS, WEB_CRS, always_xy=True)


def _polygons(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygonal part of a geometry (a collection from a dissolve keeps its polygons)."""
    if geom is None or geom.is_empty or geom.geom_type in _POLYGONAL:
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in _POLYGONAL]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _round(geom: shapely.Geometry) -> shapely.Geometry:
    return shapely.transform(geom, lambda xy: np.round(xy, COORD_DECIMALS))


def to_web(
    gdf: gpd.GeoDataFrame, what: str, *, simplify_m: float = _SIMPLIFY_M
) -> gpd.GeoDataFrame:
    """Check, simplify (metres) and reproject areas to EPSG:4326 with rounded coordinates."""
    if gdf.crs is None:
        raise CRSError(f"{what} has no CRS; expected {STORE_CRS} — set it with .set_crs(3006)")
    if "name" not in gdf.columns:
        raise SchemaError(
            f"{what} needs a 'name' column, got columns {list(gdf.columns)} — rename it"
        )
    out = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty].copy()
    out = out.to_crs(STORE_CRS)
    out["geometry"] = [_polygons(g) for g in out.geometry]
    if simplify_m > 0:
        out["geometry"] = out.geometry.simplify(simplify_m, preserve_topology=True)
    out = out[~out.geometry.is_empty].to_crs(WEB_CRS)
    out["geometry"] = [_round(g) for g in out.geometry]
    return out


def area_geojson(web: gpd.GeoDataFrame) -> dict:
    """A FeatureCollection of ``web``'s geometries with ``tk_i`` (the row number)."""
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": mapping(g), "properties": {"tk_i": i}}
            for i, g in enumerate(web.geometry)
        ],
    }


def label_points(areas: gpd.GeoDataFrame) -> list[tuple[float, float]]:
    """``(lat, lon)`` of a point inside each area, rounded like every coordinate."""
    if areas.crs is None:
        raise CRSError(f"areas has no CRS; expected {STORE_CRS} — set it with .set_crs(3006)")
    local = areas.to_crs(STORE_CRS)
    points = local.geometry.representative_point()
    lon, lat = _transformer().transform(points.x.to_numpy(), points.y.to_numpy())
    return [
        (round(float(a), COORD_DECIMALS), round(float(o), COORD_DECIMALS))
        for a, o in zip(lat, lon, strict=True)
    ]


def add_districts(
    m: folium.Map,
    districts: gpd.GeoDataFrame,
    *,
    name: str = "Stadsdelsområden",
    tooltip_cols: Sequence[str] = ("name",),
    values: pd.Series | str | None = None,
    legend_title: str | None = None,
    k: int = 5,
    color: str = "#333333",
    weight: float = 2.0,
    fill_opacity: float | None = None,
    show: bool = True,
) -> folium.Map:
    """Draw area outlines with name tooltips, optionally as a quantile choropleth.

    Parameters
    ----------
    m
        The map to draw on.
    districts
        Polygons with a ``name`` column, in EPSG:3006 (any CRS that is set is accepted).
    name
        Layer name in the layer control.
    tooltip_cols
        Columns shown on hover; the first in bold, the others as ``label: value``.
    values
        A value per area for a choropleth: a Series indexed by ``name`` or the name of a
        column. ``None`` draws outlines only.
    legend_title
        Legend title (e.g. ``"Händelser per 1 000 invånare"``); the value's name if ``None``.
    k
        Number of quantile classes (fewer when values repeat).
    color, weight
        Outline colour and width in pixels.
    fill_opacity
        Fill opacity; 0.7 for a choropleth and a faint white wash otherwise.
    show
        Whether the layer is on when the map opens.

    Returns
    -------
    folium.Map
    """
    web = to_web(districts, "districts")
    vals: pd.Series | None = None
    if isinstance(values, str):
        if values not in web.columns:
            raise SchemaError(f"no column {values!r} in districts, got {list(web.columns)}")
        vals = pd.to_numeric(web[values], errors="coerce")
        legend_title = legend_title or values
    elif values is not None:
        vals = pd.to_numeric(web["name"].map(pd.Series(values)), errors="coerce")
        legend_title = legend_title or str(getattr(values, "name", None) or "Värde")
    layer = folium.FeatureGroup(name=name, show=show)

    edges = colors = None
    if vals is not None:
        edges = quantile_edges(vals, k)
        colors = class_colors(max(len(edges) - 1, 1)) if len(edges) else []
    features = []
    for i, (_, row) in enumerate(web.iterrows()):
        tip = [f"<b>{esc(row[tooltip_cols[0]])}</b>"] if tooltip_cols else []
        tip += [
            f"{esc(_COLUMN_LABELS_SV.get(c, c))}: {esc(fmt_cell(row[c]))}" for c in tooltip_cols[1:]
        ]
        style = {"color": color, "weight": weight, "fillColor": "#ffffff", "fillOpacity": 0.35}
        if vals is not None:
            v = vals.iloc[i]
            if np.isfinite(v) and len(edges):
                cls = int(
                    np.clip(np.searchsorted(edges[1:-1], v, side="right"), 0, len(colors) - 1)
                )
                style["fillColor"] = colors[cls]
            else:
                style["fillColor"] = MISSING_COLOR
            style["fillOpacity"] = 0.7
            tip.append(f"{esc(legend_title)}: {esc(fmt_number(v) if np.isfinite(v) else '–')}")
        if fill_opacity is not None:
            style["fillOpacity"] = fill_opacity
            style["fill"] = fill_opacity > 0  # no fill: hovers reach the layers below
        features.append(
            {
                "type": "Feature",
                "geometry": mapping(row.geometry),
                "properties": {"tk_tip": "<br>".join(tip), "tk_style": style},
            }
        )
    geojson = folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        style_function=lambda f: f["properties"]["tk_style"],
        highlight_function=lambda f: {"weight": weight + 2},
        tooltip=folium.GeoJsonTooltip(fields=["tk_tip"], labels=False),
        control=False,
    )
    geojson.add_to(layer)
    layer.add_to(m)
    if vals is not None and edges is not None and len(edges):
        missing = MISSING_COLOR if bool(vals.isna().any()) else None
        legend = step_legend_html(str(legend_title), edges, colors, missing_color=missing)
        m.add_child(HtmlControl(legend, position="bottomright", layer=layer))
    return m


def add_area_info(
    m: folium.Map,
    areas: gpd.GeoDataFrame,
    *,
    name: str,
    figures: Mapping[str, Sequence[tuple[str, str, Sequence[tuple[str, str]]]]],
    period_text: str,
    links: Mapping[str, Sequence[tuple[str, str]]] | None = None,
    color: str = "#333333",
    weight: float = 2.0,
) -> folium.Map:
    """Area outlines that answer hover and click: name and figures, and links.

    Hover shows the area's name and each figure; a click opens a popup with the same
    figures, the period and the area's links (its district map, its lägesbild). The areas
    are filled with a transparent colour so that the whole area answers, and the layer is
    kept under every other layer (a layer switched on is drawn above it; switching this
    one on again sends it back), so cells and choropleths drawn above answer first.

    Parameters
    ----------
    m
        The map to draw on.
    areas
        Polygons with a ``name`` column (EPSG:3006).
    name
        Layer name in the layer control.
    figures
        Per area name, ``(label, text, categories)``, already as the profile shows them
        (``"dolt"`` where suppressed): e.g. ``("Skjutningar", "dolt", [])``; the
        categories (``(name, text)`` pairs) open under their layer in the popup.
    period_text
        The period the figures count, for the popup.
    links
        Per area name, ``(text, href)`` of relative links (see
        :func:`~trygghetskarta.render.legend.link_html`).
    color, weight
        Outline colour and width in pixels.
    """
    web = to_web(areas, "areas")
    features = []
    for _, row in web.iterrows():
        area = str(row["name"])
        rows = "".join(
            f"<tr><td>{esc(label)}</td><td class='tk-num'>{esc(text)}</td></tr>"
            for label, text, _ in figures.get(area, ())
        )
        table = f"<table class='tk-figures'>{rows}</table>" if rows else ""
        tip = f"<b>{esc(area)}</b>{table}"
        details = "".join(
            f"<details><summary>{esc(label)}: {esc(text)}</summary><table class='tk-figures'>"
            + "".join(
                f"<tr><td>{esc(c)}</td><td class='tk-num'>{esc(t)}</td></tr>" for c, t in cats
            )
            + "</table></details>"
            if cats
            else f"<div>{esc(label)}: {esc(text)}</div>"
            for label, text, cats in figures.get(area, ())
        )
        anchors = "".join(
            f"<div>{link_html(text, href)}</div>" for text, href in (links or {}).get(area, ())
        )
        popup = (
            f"<div class='tk-popup'><b>{esc(area)}</b>"
            f"<div class='tk-meta'>{esc(period_text)}</div>{details}{anchors}</div>"
        )
        features.append(
            {
                "type": "Feature",
                "geometry": mapping(row.geometry),
                "properties": {"tk_tip": tip, "tk_popup": popup},
            }
        )
    layer = folium.FeatureGroup(name=name, show=True)
    geojson = folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        style_function=lambda f: {
            "color": color,
            "weight": weight,
            "fillColor": "#ffffff",
            "fillOpacity": 0.0,
        },
        highlight_function=lambda f: {"weight": weight + 2},
        tooltip=folium.GeoJsonTooltip(fields=["tk_tip"], labels=False, sticky=True),
        popup=folium.GeoJsonPopup(fields=["tk_popup"], labels=False),
        control=False,
    )
    geojson.add_to(layer)
    layer.add_to(m)
    code = f"""
    (function (map, layer) {{
      function back() {{
        layer.eachLayer(function (l) {{ if (l.bringToBack) {{ l.bringToBack(); }} }});
      }}
      map.on('overlayadd', function (e) {{ if (e.layer === layer) {{ back(); }} }});
      map.whenReady(back);
    }})({{map}}, {layer.get_name()});
    """
    m.add_child(_Script(code))
    return m


def add_count_labels(
    m: folium.Map,
    areas: gpd.GeoDataFrame,
    counts: Mapping[str, float] | pd.Series,
    *,
    name: str = "Antal händelser",
    profile: ExportProfile = PUBLIC,
    show_names: bool = True,
    show: bool = True,
) -> folium.Map:
    """Put a label with each area's count at a point inside it (no month slider).

    Parameters
    ----------
    m
        The map to draw on.
    areas
        Polygons with a ``name`` column (EPSG:3006).
    counts
        Count per area name for the period; areas missing from it count 0.
    name
        Layer name in the layer control.
    profile
        Public shows counts below its minimum (five) as "dolt"; internal shows them all.
    show_names
        Also write the area's name above its count.
    show
        Whether the layer is on when the map opens.

    Returns
    -------
    folium.Map
    """
    counts = pd.Series(counts, dtype="float64")
    layer = folium.FeatureGroup(name=name, show=show)
    for area, (la, lo) in zip(areas["name"], label_points(areas), strict=True):
        count = counts.get(area, 0.0)
        text = fmt_count(0.0 if pd.isna(count) else count, profile=profile)
        label = f"<div>{esc(area)}</div>" if show_names else ""
        html = f'<div class="tk-label">{label}<span class="tk-count">{esc(text)}</span></div>'
        folium.Marker(
            location=[la, lo],
            icon=folium.DivIcon(
                html=html, icon_size=(180, 40), icon_anchor=(90, 20), class_name="tk-label-icon"
            ),
            interactive=False,
        ).add_to(layer)
    layer.add_to(m)
    return m


def water_polygons(
    outline: gpd.GeoDataFrame | gpd.GeoSeries,
    land: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    min_width_m: float = 20.0,
    min_area_m2: float = 5_000.0,
) -> gpd.GeoDataFrame:
    """Water as the part of an outline that no land polygon covers.

    Stockholm publishes the stadsdelar with and without water; the kommun outline (with
    water) less the land polygons is the water. Slivers narrower than ``min_width_m``
    (where the simplified land polygons do not quite meet) and specks smaller than
    ``min_area_m2`` are removed.

    Parameters
    ----------
    outline
        The area including water (e.g. the kommun), any CRS that is set.
    land
        Land polygons (e.g. ``stadsdelar_117_utan_vatten_simplified.geojson``).
    min_width_m, min_area_m2
        Sliver and speck thresholds, metres and square metres.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per water body, ``name`` = "Vatten", EPSG:3006.
    """
    for frame, what in ((outline, "outline"), (land, "land")):
        if frame.crs is None:
            raise CRSError(f"{what} has no CRS; expected one set — use .set_crs(...)")
    whole = shapely.union_all(outline.to_crs(STORE_CRS).geometry.to_numpy())
    dry = shapely.union_all(land.to_crs(STORE_CRS).geometry.to_numpy())
    wet = whole.difference(dry)
    half = min_width_m / 2
    wet = wet.buffer(-half, join_style="mitre").buffer(half, join_style="mitre").intersection(whole)
    parts = [p for p in shapely.get_parts(_polygons(wet)) if p.area >= min_area_m2]
    return gpd.GeoDataFrame({"name": ["Vatten"] * len(parts)}, geometry=parts, crs=STORE_CRS)


def add_water(m: folium.Map, water: gpd.GeoDataFrame, *, color: str = WATER_COLOR) -> folium.Map:
    """Draw water under every data layer, so that the map reads without online tiles.

    The water sits in its own pane below the data; it is not in the layer control, and it
    steps aside while an online tile layer is switched on.
    """
    if water.empty:
        return m
    web = to_web(water, "water", simplify_m=10.0)
    data = area_geojson(web)
    code = f"""
    (function (map, data) {{
      if (!map.getPane('tkWater')) {{
        map.createPane('tkWater');
        map.getPane('tkWater').style.zIndex = 350;
        map.getPane('tkWater').style.pointerEvents = 'none';
      }}
      var water = L.geoJSON(data, {{pane: 'tkWater', interactive: false,
        style: {{stroke: false, fillColor: {js_json(color)}, fillOpacity: 1}}}}).addTo(map);
      map.on('overlayadd', function (e) {{
        if (e.layer instanceof L.TileLayer) {{ map.removeLayer(water); }}
      }});
      map.on('overlayremove', function (e) {{
        if (e.layer instanceof L.TileLayer) {{ water.addTo(map); }}
      }});
    }})({{map}}, {js_json(data)});
    """
    m.add_child(_Script(code))
    return m
