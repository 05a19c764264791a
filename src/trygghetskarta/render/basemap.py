"""The base map, the event markers and the page (:func:`base_map`, :func:`add_events`, …).

Part of :mod:`trygghetskarta.render`. Inputs are in SWEREF99 TM (EPSG:3006); :func:`to_wgs84`
is the one transformer to EPSG:4326 (with ``always_xy=True``).
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from collections.abc import Sequence
from functools import cache
from typing import Any

import folium
import folium.plugins
import numpy as np
import pandas as pd
from jinja2 import Template
from pyproj import Transformer

from trygghetskarta.config import STORE_CRS, WEB_CRS
from trygghetskarta.errors import SchemaError
from trygghetskarta.render import assets as _assets
from trygghetskarta.render.format import esc, js_json
from trygghetskarta.render.legend import (
    FitOnLoad,
    HtmlControl,
    MetricScale,
    add_styles,
)
from trygghetskarta.render.timeline import (
    add_event_markers,
)
from trygghetskarta.render.verbatim import LayerControl, _render_verbatim, check_template_free

Bounds = tuple[float, float, float, float]


OSM_LAYER_NAME = "Bakgrundskarta (OpenStreetMap, kräver internet)"

#: Layers of one group are shown one at a time (radio buttons in the layer control).
#: ``area``: every layer that colours areas or cells; ``labels``: the count labels.
GROUPS = {
    "area": ("Färg på kartan (en i taget)", "Ingen färg"),
    "labels": ("Siffror på kartan (en i taget)", "Inga siffror"),
}
#: The attribute of a folium layer that names its group (see :func:`set_group`).
GROUP_ATTR = "tk_group"


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
    if not getattr(root, "title", None):
        root.title = "Karta"  # every page has a title; maps set theirs (set_title)
    check_template_free(root)
    html = _assets.inline_assets(root.render())
    return re.sub(r"<html(?=[\s>])(?![^>]*\blang=)", '<html lang="sv"', html, count=1)


def set_title(m: folium.Map, title: str) -> folium.Map:
    """The page's ``<title>`` (escaped): what a browser tab and a screen reader announce."""
    m.get_root().title = esc(title)
    return m


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
    m.add_child(FitOnLoad(latlon))  # folium's own fit_bounds animates and races it
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


def set_group(m: folium.Map, name: str, group: str, *, show: bool | None = None) -> bool:
    """Put the map's layer called ``name`` into ``group`` (a key of :data:`GROUPS`).

    Returns whether such a layer exists; ``show`` also sets whether it is on at start.
    """
    if group not in GROUPS:
        raise ValueError(f"expected a group among {sorted(GROUPS)}, got {group!r}")
    found = False
    for item in m._children.values():
        if isinstance(item, folium.map.Layer) and item.layer_name == name:
            setattr(item, GROUP_ATTR, group)
            if show is not None:
                item.show = show
            found = True
    return found


def fold_controls(m: folium.Map) -> bool:
    """Fold the map's controls for a map shown small inside a page (the lägesbild), so
    that the map comes first: the layer control into Leaflet's layers button (it opens
    on hover, click or the keyboard), the info box into a "Om kartan" line that opens on
    click. Nothing is left out of the page. Returns whether the map has a layer control."""
    found = [c for c in m._children.values() if isinstance(c, GroupedLayerControl)]
    for control in found:
        control.options["collapsed"] = True
    for child in m._children.values():
        if isinstance(child, HtmlControl) and "tk-info" in child.css_json:
            child.fold("Om kartan")
    return bool(found)


def show_only(m: folium.Map, name: str) -> bool:
    """Switch on the layer ``name`` and every other layer of its group off; returns
    whether it exists (a layer in no group is just switched on)."""
    target = [
        i for i in m._children.values() if isinstance(i, folium.map.Layer) and i.layer_name == name
    ]
    if not target:
        return False
    group = getattr(target[0], GROUP_ATTR, None)
    for item in m._children.values():
        same = isinstance(item, folium.map.Layer) and getattr(item, GROUP_ATTR, None) == group
        if group is not None and same:
            item.show = item.layer_name == name
    target[0].show = True
    return True


class GroupedLayerControl(LayerControl):
    """The layer control with groups of layers shown one at a time, as radio buttons.

    Each group of :data:`GROUPS` that has layers gets a titled ``radiogroup`` at the top
    of the control, with a "none" choice first; the other overlays follow as checkboxes.
    Switching a group's layer on (by the control or by a script) switches the others of
    the group off. The control container is moved before the map's panes, so that the
    keyboard reaches zoom, the layer control and the month slider before anything drawn.
    No library is needed: Leaflet's own control, its inputs turned into radio buttons.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map, base, overlays, options, groups) {
            var ctl = L.control.layers(base, overlays, options);
            var add = ctl._addItem;
            ctl._addItem = function (obj) {
                var label = add.call(this, obj);
                for (var g = 0; g < groups.length; g++) {
                    if (groups[g].layers.indexOf(obj.layer) < 0) { continue; }
                    var list = this._overlaysList;
                    var box = list.querySelector('[data-tk-group="' + g + '"]');
                    if (!box) {
                        box = document.createElement('div');
                        box.className = 'tk-group';
                        box.setAttribute('role', 'radiogroup');
                        box.setAttribute('aria-label', groups[g].title);
                        box.setAttribute('data-tk-group', g);
                        var title = document.createElement('div');
                        title.className = 'tk-group-title';
                        title.textContent = groups[g].title;
                        box.appendChild(title);
                        list.insertBefore(box, label);
                    }
                    box.appendChild(label);
                    var input = label.querySelector('input');
                    input.type = 'radio';
                    input.name = 'tk-group-' + L.Util.stamp(this) + '-' + g;
                    input.checked = this._map.hasLayer(obj.layer);
                }
                return label;
            };
            groups.forEach(function (g) { TK.exclusive(map, g.layers); });
            ctl.addTo(map);
            map.tkLayerControl = ctl;  // for scripts and tests: which layer is in which group
            ctl.tkGroups = groups;
            if (map.zoomControl) {  // Leaflet's buttons say "Zoom in" in English
                [[map.zoomControl._zoomInButton, 'Zooma in'],
                 [map.zoomControl._zoomOutButton, 'Zooma ut']].forEach(function (b) {
                    b[0].title = b[1]; b[0].setAttribute('aria-label', b[1]);
                });
            }
            var box = map.getContainer();
            box.insertBefore(map._controlContainer, box.firstChild);
        })({{ this._parent.get_name() }}, {{ this.base_js }}, {{ this.overlays_js }},
           {{ this.options_json }}, {{ this.groups_js }});
        {% endmacro %}
        """
    )

    def render(self, **kwargs: Any) -> None:
        """Collect the parent's layers, groups first, and add the control's script."""
        base: OrderedDict[str, str] = OrderedDict()
        grouped: dict[str, list[Any]] = {g: [] for g in GROUPS}
        others: list[Any] = []
        for item in self._parent._children.values():
            if not isinstance(item, folium.map.Layer) or not item.control:
                continue
            if not item.overlay:
                base[esc(item.layer_name)] = item.get_name()
                continue
            group = getattr(item, GROUP_ATTR, None)
            grouped.get(group, others).append(item)
        ordered = [i for g in GROUPS for i in grouped[g]] + others
        self.base_js = _js_object(base)
        self.overlays_js = _js_object(
            OrderedDict((esc(i.layer_name), i.get_name()) for i in ordered)
        )
        self.options_json = json.dumps(self.options)
        self.groups_js = (
            "["
            + ",".join(
                "{title: "
                + js_json(GROUPS[g][0])
                + ", layers: ["
                + ",".join(i.get_name() for i in grouped[g])
                + "]}"
                for g in GROUPS
                if grouped[g]
            )
            + "]"
        )
        _render_verbatim(self, kwargs)


def _js_object(names: OrderedDict[str, str]) -> str:
    """``{"name": variable, …}``: layer names (escaped) to the layers' script variables."""
    return "{" + ",".join(f"{js_json(k)}: {v}" for k, v in names.items()) + "}"


def _finish(m: folium.Map) -> folium.Map:
    folium.plugins.Fullscreen(
        title="Helskärm", title_cancel="Lämna helskärm", force_separate_button=True
    ).add_to(m)
    for group, (_, none_name) in GROUPS.items():
        members = [
            i
            for i in m._children.values()
            if isinstance(i, folium.map.Layer) and getattr(i, GROUP_ATTR, None) == group
        ]
        if not members:
            continue
        shown = [i for i in members if i.show]
        for extra in shown[1:]:  # one at a time, from the start too
            extra.show = False
        none = folium.FeatureGroup(name=none_name, show=not shown)
        setattr(none, GROUP_ATTR, group)
        # first in its group: move it before the members in the map's children
        m.add_child(none)
        m._children.move_to_end(none.get_name(), last=False)
    GroupedLayerControl(collapsed=False).add_to(m)
    return m
