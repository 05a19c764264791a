"""The base map, the event markers and the page (:func:`base_map`, :func:`add_events`, …).

Part of :mod:`trygghetskarta.render`. Inputs are in SWEREF99 TM (EPSG:3006); :func:`to_wgs84`
is the one transformer to EPSG:4326 (with ``always_xy=True``).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import folium
import folium.plugins
import numpy as np
import pandas as pd
from pyproj import Transformer

from trygghetskarta.config import STORE_CRS, WEB_CRS
from trygghetskarta.errors import SchemaError
from trygghetskarta.render import assets as _assets
from trygghetskarta.render.legend import (
    FitOnLoad,
    MetricScale,
    add_styles,
)
from trygghetskarta.render.timeline import (
    add_event_markers,
)
from trygghetskarta.render.verbatim import LayerControl, check_template_free

Bounds = tuple[float, float, float, float]


OSM_LAYER_NAME = "Bakgrundskarta (OpenStreetMap, kräver internet)"


external_references = _assets.external_references


def to_html(m: folium.Map) -> str:
    """The map as one self-contained HTML page (what the pipeline writes to a file).

    Every script, style sheet and icon is inside the page; the only network address left
    is the optional OpenStreetMap tile template, used only if the user switches it on.

    Raises
    ------
    trygghetskarta.render.assets.AssetError
        The map uses a library that is not vendored (e.g. awesome-markers icons).
    trygghetskarta.render.verbatim.TemplateTextError
        Template syntax reached a folium element that branca compiles as a template (text
        that did not go through ``esc``; a bug).
    """
    root = m.get_root()
    check_template_free(root)
    return _assets.inline_assets(root.render())


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


def add_events(
    m: folium.Map,
    events: pd.DataFrame,
    *,
    name: str = "Händelser",
    show: bool = True,
    months: Sequence[pd.Timestamp] | None = None,
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
    months
        The map's slider months: each marker is shown in its month's position (and all in
        position 0, "hela perioden"); events outside these months are not shown. ``None``
        shows every event whatever the slider says.

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
    return add_event_markers(m, placed, lat, lon, months=months, name=name, show=show)


def _finish(m: folium.Map) -> folium.Map:
    folium.plugins.Fullscreen(
        title="Helskärm", title_cancel="Lämna helskärm", force_separate_button=True
    ).add_to(m)
    LayerControl(collapsed=False).add_to(m)
    return m
