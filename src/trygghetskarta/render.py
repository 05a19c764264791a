"""Maps: functions that take data and return or extend a :class:`folium.Map`.

Every function takes the map to draw on (``m``) and returns it, like geopandas'
``explore``. Inputs are in SWEREF99 TM (EPSG:3006); this module is the only place that
reprojects to EPSG:4326 (with ``always_xy=True``). Nothing here writes files: the pipeline
saves the map with ``m.save(path)``.

Profiles: ``public`` maps show areas, density surfaces and counts (below five shown as
"färre än 5"), never individual events; ``internal`` maps may add clustered event markers.
Text from sources is escaped everywhere (see :func:`trygghetskarta._format.esc`).

Maps need no online tiles: the background is plain and the districts are drawn on it; an
OpenStreetMap layer can be added as an overlay that is off until the user switches it on.

:func:`add_density` (with the raster warping and PNG encoding) lives in ``_raster`` and
:func:`add_info_box` (with the legends and controls) in ``_legend``; both are part of this
module's API and are imported from here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cache

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import Transformer
from shapely.geometry import mapping

from trygghetskarta._format import (
    Period,
    category_color,
    check_profile,
    esc,
    event_popup_html,
    fmt_cell,
    fmt_count,
    fmt_number,
)
from trygghetskarta._legend import (
    FitOnLoad,
    HtmlControl,
    MetricScale,
    add_info_box,
    add_styles,
    class_colors,
    quantile_edges,
    step_legend_html,
)
from trygghetskarta._raster import (
    DensityGrid,
    add_density,
)
from trygghetskarta.config import STORE_CRS, WEB_CRS
from trygghetskarta.errors import ConfigError, CRSError, SchemaError

__all__ = [
    "DensityGrid",
    "add_count_labels",
    "add_density",
    "add_districts",
    "add_events",
    "add_info_box",
    "base_map",
    "city_map",
    "district_map",
    "quantile_edges",
    "to_wgs84",
]

Bounds = tuple[float, float, float, float]

#: The colour of areas without a value.
MISSING_COLOR = "#d9d9d9"
OSM_LAYER_NAME = "Bakgrundskarta (OpenStreetMap, kräver internet)"
_COLUMN_LABELS_SV = {"name": "Namn", "population": "Invånare", "count": "Antal"}
_SIMPLIFY_M = 5.0


@cache
def _transformer() -> Transformer:
    return Transformer.from_crs(STORE_CRS, WEB_CRS, always_xy=True)


def to_wgs84(x: float | np.ndarray, y: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project SWEREF99 TM (EPSG:3006) easting/northing to WGS84 longitude/latitude.

    Parameters
    ----------
    x, y
        Easting and northing in metres.

    Returns
    -------
    lon, lat
        Degrees (always x/y order, i.e. longitude first).
    """
    lon, lat = _transformer().transform(np.asarray(x, dtype="float64"), np.asarray(y, "float64"))
    return np.asarray(lon), np.asarray(lat)


def _latlon_bounds(bounds_3006: Bounds) -> list[list[float]]:
    minx, miny, maxx, maxy = bounds_3006
    xs = np.array([minx, minx, maxx, maxx])
    ys = np.array([miny, maxy, miny, maxy])
    lon, lat = to_wgs84(xs, ys)
    return [[float(lat.min()), float(lon.min())], [float(lat.max()), float(lon.max())]]


def _to_web(gdf: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    if gdf.crs is None:
        raise CRSError(f"{what} has no CRS; expected {STORE_CRS} — set it with .set_crs(3006)")
    if "name" not in gdf.columns:
        raise SchemaError(
            f"{what} needs a 'name' column, got columns {list(gdf.columns)} — rename it"
        )
    out = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty].copy()
    if out.crs.is_projected:
        out["geometry"] = out.geometry.simplify(_SIMPLIFY_M, preserve_topology=True)
    return out.to_crs(WEB_CRS)


def base_map(
    bounds_3006: Bounds, *, m: folium.Map | None = None, tiles: str | None = None
) -> folium.Map:
    """Create (or extend) a map fitted to an area, with a plain background and no online tiles.

    Parameters
    ----------
    bounds_3006
        ``(minx, miny, maxx, maxy)`` in EPSG:3006 metres.
    m
        An existing map to extend; a new one (with a metric scale bar and zoom limits, which
        marker clustering needs) is made when ``None``.
    tiles
        A folium tile name (e.g. ``"OpenStreetMap"``) to offer as an optional overlay that is
        off until the user switches it on in the layer control; ``None`` adds no tiles.

    Returns
    -------
    folium.Map
    """
    latlon = _latlon_bounds(bounds_3006)
    if m is None:
        center = [(latlon[0][0] + latlon[1][0]) / 2, (latlon[0][1] + latlon[1][1]) / 2]
        m = folium.Map(location=center, zoom_start=11, tiles=None)
        m.add_child(MetricScale())
    _zoom_limits(m)
    add_styles(m)
    if tiles is not None:
        folium.TileLayer(tiles, name=OSM_LAYER_NAME, overlay=True, show=False).add_to(m)
    m.fit_bounds(latlon)
    m.add_child(FitOnLoad(latlon))
    return m


def _zoom_limits(m: folium.Map) -> None:
    # Without tiles folium sets no maxZoom, and marker clustering refuses to start.
    m.options.setdefault("min_zoom", 8)
    m.options.setdefault("max_zoom", 19)


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
    web = _to_web(districts, "districts")
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


def add_count_labels(
    m: folium.Map,
    areas: gpd.GeoDataFrame,
    counts: Mapping[str, float] | pd.Series,
    *,
    name: str = "Antal händelser",
    profile: str = "public",
    show_names: bool = True,
    show: bool = True,
) -> folium.Map:
    """Put a label with each area's count at a point inside it.

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
        ``"public"`` shows counts below five as "färre än 5"; ``"internal"`` shows them all.
    show_names
        Also write the area's name above its count.
    show
        Whether the layer is on when the map opens.

    Returns
    -------
    folium.Map
    """
    check_profile(profile)
    counts = pd.Series(counts, dtype="float64")
    if areas.crs is None:
        raise CRSError(f"areas has no CRS; expected {STORE_CRS} — set it with .set_crs(3006)")
    local = areas.to_crs(STORE_CRS)
    points = local.geometry.representative_point()
    lon, lat = to_wgs84(points.x.to_numpy(), points.y.to_numpy())
    layer = folium.FeatureGroup(name=name, show=show)
    for area, la, lo in zip(local["name"], lat, lon, strict=True):
        count = counts.get(area, 0.0)
        text = fmt_count(0.0 if pd.isna(count) else count, profile=profile)
        label = f"<div>{esc(area)}</div>" if show_names else ""
        html = f'<div class="tk-label">{label}<span class="tk-count">{esc(text)}</span></div>'
        folium.Marker(
            location=[float(la), float(lo)],
            icon=folium.DivIcon(
                html=html, icon_size=(180, 40), icon_anchor=(90, 20), class_name="tk-label-icon"
            ),
            interactive=False,
        ).add_to(layer)
    layer.add_to(m)
    return m


def add_events(
    m: folium.Map, events: pd.DataFrame, *, name: str = "Händelser", show: bool = True
) -> folium.Map:
    """Add individual events as clustered markers with popups (internal profile only).

    Parameters
    ----------
    m
        The map to draw on.
    events
        Frame with ``x``, ``y`` (EPSG:3006) and, where known, ``occurred_at``,
        ``source_type``, ``category``, ``summary``, ``url``, ``precision`` and
        ``place_name``. Rows without a position are skipped. Popups escape all text and
        link only http(s) URLs.
    name
        Layer name in the layer control.
    show
        Whether the layer is on when the map opens.

    Returns
    -------
    folium.Map
    """
    missing = [c for c in ("x", "y") if c not in events.columns]
    if missing:
        raise SchemaError(f"events need columns x and y (EPSG:3006), missing {missing}")
    _zoom_limits(m)
    placed = events[events["x"].notna() & events["y"].notna()]
    lon, lat = to_wgs84(placed["x"].to_numpy(), placed["y"].to_numpy())
    cluster = folium.plugins.MarkerCluster(name=name, show=show)
    for (_, row), la, lo in zip(placed.iterrows(), lat, lon, strict=True):
        color = category_color(row.get("category"))
        folium.CircleMarker(
            location=[float(la), float(lo)],
            radius=6,
            color="#222222",
            weight=1,
            fill=True,
            fill_color=color,
            fill_opacity=0.9,
            popup=folium.Popup(event_popup_html(row), max_width=320, lazy=True),
        ).add_to(cluster)
    cluster.add_to(m)
    return m


def _finish(m: folium.Map) -> folium.Map:
    folium.plugins.Fullscreen(
        title="Helskärm", title_cancel="Lämna helskärm", force_separate_button=True
    ).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return m


def city_map(
    districts: gpd.GeoDataFrame,
    *,
    period: Period,
    sources: Sequence[str] | str,
    made_at: datetime,
    n_unplaced: int | None = None,
    profile: str = "public",
    title: str = "Händelser i Stockholms stad",
    stadsdelar: gpd.GeoDataFrame | None = None,
    grid: DensityGrid | None = None,
    counts: Mapping[str, float] | pd.Series | None = None,
    rates: pd.Series | None = None,
    rates_title: str = "Händelser per 1 000 invånare",
    events: pd.DataFrame | None = None,
    tiles: str | None = None,
) -> folium.Map:
    """The whole city: districts, optional rate choropleth, density, counts and events.

    Parameters
    ----------
    districts
        Stadsdelsområden with ``name`` (EPSG:3006).
    period, sources, made_at, n_unplaced
        For the info box (see :func:`add_info_box`).
    profile
        ``"public"`` never shows individual events and suppresses counts below five;
        ``"internal"`` adds ``events`` as clustered markers.
    title
        Title in the info box.
    stadsdelar
        Optional finer areas with ``name``, drawn as thin outlines.
    grid
        Optional density raster (see :func:`add_density`).
    counts
        Optional count per district name, shown as labels.
    rates
        Optional value per district name (e.g. events per 1 000 inhabitants) for a
        choropleth; it is off at start when a density grid is shown too.
    rates_title
        Legend title of the choropleth.
    events
        Events for the internal profile; ignored in the public profile.
    tiles
        Optional online tile layer offered off by default (e.g. ``"OpenStreetMap"``).

    Returns
    -------
    folium.Map
    """
    check_profile(profile)
    m = base_map(tuple(districts.to_crs(STORE_CRS).total_bounds), tiles=tiles)
    if stadsdelar is not None:
        add_districts(m, stadsdelar, name="Stadsdelar", color="#8a8a8a", weight=0.8)
    add_districts(
        m, districts, name="Stadsdelsområden", fill_opacity=0.0 if grid is not None else None
    )
    if rates is not None:
        add_districts(
            m,
            districts,
            name=rates_title,
            values=rates,
            legend_title=rates_title,
            show=grid is None,
        )
    if grid is not None:
        city = districts.to_crs(STORE_CRS).geometry.union_all()
        add_density(m, grid, name="Täthet (händelser per km²)", clip_to=city)
    if profile == "internal" and events is not None:
        add_events(m, events, name="Enskilda händelser")
    if counts is not None:
        add_count_labels(m, districts, counts, name="Antal händelser", profile=profile)
    add_info_box(
        m, title=title, period=period, sources=sources, made_at=made_at, n_unplaced=n_unplaced
    )
    return _finish(m)


def district_map(
    district: str,
    districts: gpd.GeoDataFrame,
    *,
    period: Period,
    sources: Sequence[str] | str,
    made_at: datetime,
    n_unplaced: int | None = None,
    profile: str = "public",
    title: str | None = None,
    stadsdelar: gpd.GeoDataFrame | None = None,
    grid: DensityGrid | None = None,
    counts: Mapping[str, float] | pd.Series | None = None,
    events: pd.DataFrame | None = None,
    tiles: str | None = None,
    padding_m: float = 500.0,
) -> folium.Map:
    """One district: its outline, its stadsdelar, density clipped to it, counts and events.

    Parameters
    ----------
    district
        The district's name, as in ``districts["name"]``.
    districts
        All stadsdelsområden with ``name`` (EPSG:3006); the others are drawn faintly.
    period, sources, made_at, n_unplaced
        For the info box.
    profile
        ``"public"`` or ``"internal"`` (see :func:`city_map`).
    title
        Info box title; ``"<district> – händelser"`` when ``None``.
    stadsdelar
        Optional stadsdelar with ``name``; those whose interior point lies in the district
        are drawn and labelled.
    grid
        Optional density raster; only cells inside the district are shown.
    counts
        Optional count per stadsdel name (labels at the stadsdelar, which must be given).
    events
        Events for the internal profile, shown as given; ignored in the public profile.
    tiles
        Optional online tile layer offered off by default.
    padding_m
        Margin around the district when fitting the view, metres.

    Returns
    -------
    folium.Map
    """
    check_profile(profile)
    local = districts.to_crs(STORE_CRS)
    chosen = local[local["name"] == district]
    if chosen.empty:
        raise ConfigError(f"unknown district {district!r}; expected one of {sorted(local['name'])}")
    shape = chosen.geometry.union_all()
    minx, miny, maxx, maxy = shape.bounds
    m = base_map(
        (minx - padding_m, miny - padding_m, maxx + padding_m, maxy + padding_m), tiles=tiles
    )
    others = local[local["name"] != district]
    if not others.empty:
        add_districts(
            m, others, name="Övriga stadsdelsområden", color="#9a9a9a", weight=1, fill_opacity=0
        )
    inner = None
    if stadsdelar is not None:
        sd = stadsdelar.to_crs(STORE_CRS)
        inner = sd[sd.geometry.representative_point().within(shape.buffer(1.0))]
        add_districts(m, inner, name="Stadsdelar", color="#777777", weight=1)
    add_districts(
        m, chosen, name=district, weight=3.5, fill_opacity=0.0 if grid is not None else 0.15
    )
    if grid is not None:
        add_density(m, grid, name="Täthet (händelser per km²)", clip_to=shape)
    if profile == "internal" and events is not None:
        add_events(m, events, name="Enskilda händelser")
    if counts is not None:
        if inner is None:
            raise SchemaError("counts per stadsdel need stadsdelar= to place the labels")
        add_count_labels(m, inner, counts, name="Antal händelser per stadsdel", profile=profile)
    add_info_box(
        m,
        title=title or f"{district} – händelser",
        period=period,
        sources=sources,
        made_at=made_at,
        n_unplaced=n_unplaced,
    )
    return _finish(m)
