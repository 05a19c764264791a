"""Legends, the info box and page styles as Leaflet controls.

Part of :mod:`trygghetskarta.render`, which re-exports :func:`add_info_box`. Legends are
plain HTML inside a Leaflet control (no d3 or other library: branca's own colormap legend
loads d3 from a CDN and stays blank offline). A legend can be bound to a layer so that it
shows and hides with it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from datetime import datetime
from math import floor, log10
from typing import TYPE_CHECKING

import branca.colormap as bcm
import folium
import numpy as np
import pandas as pd
from jinja2 import Template

from trygghetskarta.errors import ConfigError
from trygghetskarta.render.format import (
    SUPPRESSED_LABEL,
    Period,
    esc,
    fmt_datetime,
    fmt_int,
    fmt_number,
    fmt_period,
    fmt_sources,
    js_json,
)
from trygghetskarta.render.runtime import RUNTIME_JS
from trygghetskarta.render.verbatim import Verbatim, VerbatimMacro

if TYPE_CHECKING:
    from trygghetskarta._privacy import ExportProfile
    from trygghetskarta.freshness import Freshness

#: Ramp of the choropleth classes (ColorBrewer YlGn): the maps keep red for hot spots.
CLASS_COLORMAP = "YlGn_09"
#: Ramp of count classes (ColorBrewer Purples), apart from the densities' YlGnBu and the
#: hot spots' red and blue.
COUNT_COLORMAP = "Purples_09"
#: The class "färre än 5" of the public profile.
SUPPRESSED_COLOR = "#f2f0f7"

_CSS = """
.tk-box {
  background: rgba(255, 255, 255, 0.94); padding: 6px 9px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0, 0, 0, 0.35);
  font: 12px/1.35 "Helvetica Neue", Arial, Helvetica, sans-serif; color: #222;
  max-width: 280px;
}
.tk-box .tk-title { font-weight: bold; margin-bottom: 4px; }
.tk-legend-row { display: flex; align-items: center; gap: 6px; margin: 1px 0; }
.tk-swatch {
  display: inline-block; width: 16px; height: 12px; border: 1px solid #777; flex: none;
}
.tk-gradient { height: 12px; width: 200px; border: 1px solid #777; }
.tk-ticks { position: relative; width: 202px; height: 14px; font-size: 11px; }
.tk-ticks span { position: absolute; top: 0; transform: translateX(-50%); white-space: nowrap; }
.tk-ticks span:first-child { transform: none; }
.tk-ticks span.tk-top { left: auto; right: 0; transform: none; }
.tk-info .tk-line { margin: 1px 0; }
.tk-label {
  text-align: center; font: 12px/1.2 "Helvetica Neue", Arial, sans-serif; color: #111;
  text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 3px #fff; white-space: nowrap;
  pointer-events: none;
}
.tk-label .tk-count {
  display: inline-block; margin-top: 2px; padding: 1px 6px; border-radius: 9px;
  background: #fff; border: 1px solid #555; font-weight: bold; text-shadow: none;
}
.tk-note { margin-top: 4px; color: #555; font-size: 11px; }
.tk-box .tk-gap { color: #5c4200; background: #fff3cd; font-weight: bold; padding: 1px 3px;
  margin: 2px 0; print-color-adjust: exact; -webkit-print-color-adjust: exact; }
.tk-slider { min-width: 240px; }
.tk-slider-row { display: flex; align-items: center; gap: 4px; }
.tk-slider .tk-range { flex: 1; min-width: 150px; margin: 0; }
.tk-slider .tk-step {
  border: 1px solid #999; background: #fff; border-radius: 3px; cursor: pointer;
  font-size: 11px; line-height: 1; padding: 3px 5px; color: #333;
}
.tk-slider-value { font-weight: bold; margin-top: 3px; }
.leaflet-control-layers, .leaflet-control-layers label {
  font: 12px/1.35 "Helvetica Neue", Arial, Helvetica, sans-serif; color: #222;
}
.leaflet-control-layers-expanded { padding: 6px 10px 6px 6px; }
.tk-popup { font: 12px/1.4 "Helvetica Neue", Arial, sans-serif; max-width: 300px; }
.tk-popup .tk-meta { color: #555; }
.tk-popup p { margin: 4px 0; }
.tk-box.tk-fresh { max-width: 340px; font-weight: bold; }
.tk-box.tk-fresh.tk-stale {
  background: #fff3cd; border: 2px solid #b45309; color: #5c2d00;
  print-color-adjust: exact; -webkit-print-color-adjust: exact;
}
.tk-fresh .tk-note { font-weight: normal; color: #5c2d00; }
.tk-info .tk-version { color: #555; font-size: 11px; }
.tk-legend-panel { overflow-y: auto; max-width: 300px; }
.tk-legend-panel > .tk-legend-head { font-weight: bold; font-size: 13px; margin-bottom: 2px; }
.tk-legend-section + .tk-legend-section {
  border-top: 1px solid #ccc; margin-top: 6px; padding-top: 5px;
}
.leaflet-control-layers { max-width: 320px; }
.leaflet-control-layers-expanded .leaflet-control-layers-list {
  max-height: 48vh; overflow-y: auto; padding-right: 4px;
}
.tk-group { border: 0; margin: 0 0 4px; padding: 0; }
.tk-group-title { font-weight: bold; margin: 4px 0 2px; }
.tk-popup a { color: #0b4f9c; }
.leaflet-popup-content .tk-popup { max-height: 340px; overflow-y: auto; }
.tk-popup summary { cursor: pointer; margin: 2px 0; }
.tk-popup details .tk-figures { margin-left: 14px; }
.tk-figures { border-collapse: collapse; margin-top: 2px; }
.tk-figures td { padding: 0 0 0 0; }
.tk-figures td.tk-num {
  text-align: right; padding-left: 10px; font-variant-numeric: tabular-nums;
}
.tk-info a { color: #0b4f9c; }
.tk-info summary { cursor: pointer; font-weight: bold; }
"""


class HtmlControl(VerbatimMacro):
    """A Leaflet control holding static HTML, optionally shown only while a layer is on.

    Parameters
    ----------
    html
        The control's inner HTML; every piece of source text in it must already be escaped.
    position
        A Leaflet corner: ``topleft``, ``topright``, ``bottomleft`` or ``bottomright``.
    css_class
        Extra CSS class of the control's container.
    layer
        When given, ``html`` is a legend: a section of the map's one legend panel (bottom
        right), shown exactly while this layer is on (``position`` and ``css_class`` are
        then the panel's).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: {{ this.position_json }}});
        {{ this.get_name() }}.onAdd = function (map) {
            var div = L.DomUtil.create('div', {{ this.css_json }});
            div.innerHTML = {{ this.html_json }};
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            return div;
        };
        {% if this.layer_name %}
        TK.legend({{ this._parent.get_name() }}, {{ this.layer_name }}, {{ this.html_json }});
        {% else %}
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endif %}
        {% endmacro %}
        """
    )

    def __init__(
        self,
        html: str,
        *,
        position: str = "bottomright",
        css_class: str = "tk-box",
        layer: folium.map.Layer | None = None,
    ) -> None:
        super().__init__()
        self._name = "HtmlControl"
        self.html = html
        self.html_json = _js_string(html)
        self.position_json = _js_string(position)
        self.css_json = _js_string(css_class)
        self.layer_name = layer.get_name() if layer is not None else None

    def fold(self, summary: str) -> None:
        """Show only ``summary`` (plain text) until the reader opens the box."""
        self.html_json = _js_string(
            f"<details><summary>{esc(summary)}</summary>{self.html}</details>"
        )


class MetricScale(VerbatimMacro):
    """Leaflet's scale bar in metres and kilometres only (folium's shows miles too)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        L.control.scale({imperial: false, maxWidth: 150}).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "MetricScale"


class FitOnLoad(VerbatimMacro):
    """Fit the view to the bounds as soon as the map has a size, without animation.

    A map inside an ``<iframe srcdoc>`` (the lägesbild) may be laid out before its frame
    has a size, and the frame may still have none when its ``load`` event fires. A fit
    made at no size zooms out to the minimum, and an animated one swallows the fits that
    follow it until it ends (Leaflet ignores a new view while a zoom animation runs): in
    Chromium one lägesbild map in three ended at the minimum zoom, with folium's own
    animated ``fit_bounds``. So the view is fitted here only, never animated: at once when
    the map has a size, on ``load``, and each time its container goes from no size to a
    size (a frame laid out late, or shown again after print); a fit that finds a zoom
    animation running waits for its end.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map, bounds) {
            var el = map.getContainer();
            function empty() { return !el.clientWidth || !el.clientHeight; }
            function fit() {
                if (empty()) { return; }
                if (map._animatingZoom) { map.once('zoomend', fit); return; }
                map.invalidateSize({animate: false});
                map.fitBounds(bounds, {animate: false});
            }
            fit();
            if (document.readyState !== 'complete') { window.addEventListener('load', fit); }
            if (window.ResizeObserver) {
                var wasEmpty = empty();
                new ResizeObserver(function () {
                    var now = empty();
                    if (wasEmpty && !now) { fit(); }
                    wasEmpty = now;
                }).observe(el);
            }
        })({{ this._parent.get_name() }}, {{ this.bounds_json }});
        {% endmacro %}
        """
    )

    def __init__(self, bounds: list[list[float]]) -> None:
        super().__init__()
        self._name = "FitOnLoad"
        self.bounds_json = json.dumps(bounds)


def _js_string(text: str) -> str:
    """A JavaScript string literal that cannot end the ``<script>`` or reach a template."""
    return js_json(text)


def add_styles(m: folium.Map, *, background: str = "#eae7e1") -> None:
    """Add the controls' style sheet, a plain map background and the maps' shared script
    (:data:`RUNTIME_JS`), once per map."""
    ensure_runtime(m)
    header = m.get_root().header
    if "tk_styles" in header._children:
        return
    css = _CSS + f"#{m.get_name()} {{ background: {background}; }}\n"
    header.add_child(Verbatim(f"<style>{css}</style>"), name="tk_styles")


def ensure_runtime(m: folium.Map) -> None:
    """Add :data:`RUNTIME_JS` to the page's head, once."""
    header = m.get_root().header
    if "tk_timeline_runtime" not in header._children:
        header.add_child(Verbatim(f"<script>{RUNTIME_JS}</script>"), name="tk_timeline_runtime")


def step_legend_html(
    title: str, edges: Sequence[float], colors: Sequence[str], *, missing_color: str | None = None
) -> str:
    """A class legend: one swatch per class with its edges, ``12,3 – 15,6``."""
    rows = []
    for i, color in enumerate(colors):
        lo, hi = edges[i], edges[i + 1]
        text = fmt_number(lo) if lo == hi else f"{fmt_number(lo)} – {fmt_number(hi)}"
        rows.append(legend_row(color, text))
    if missing_color is not None:
        rows.append(legend_row(missing_color, "Uppgift saknas"))
    return f'<div class="tk-title">{esc(title)}</div>' + "".join(rows)


_RELATIVE_HREF = re.compile(r"^(\.\./)?[a-z0-9][a-z0-9._/-]*\.html$")


def link_html(text: str, href: str) -> str:
    """A link to another page of the published folder: ``<a href="../reports/x.html">``.

    Raises
    ------
    ConfigError
        ``href`` is not a relative path to an ``.html`` file of plain ASCII names, at most
        one folder up (a link that would leave the published folder, or hold a scheme
        such as ``javascript:``).
    """
    parts = href.split("/")
    inner = parts[1:] if parts[0] == ".." else parts
    if not _RELATIVE_HREF.match(href) or any(p in ("", ".", "..") for p in inner):
        raise ConfigError(
            f"expected a relative link to an .html file such as '../reports/jarva.html', "
            f"got {href!r} — build links from publish.slug"
        )
    return f'<a href="{esc(href)}">{esc(text)}</a>'


def legend_row(color: str, text: str) -> str:
    """One legend row: a colour swatch and its (escaped) text."""
    return (
        f'<div class="tk-legend-row"><span class="tk-swatch" style="background:{esc(color)}">'
        f"</span><span>{esc(text)}</span></div>"
    )


def gradient_legend_html(
    title: str, vmin: float, vmax: float, colors: Sequence[str], *, n_ticks: int = 5
) -> str:
    """A continuous legend: a colour bar from ``vmin`` to ``vmax`` with round ticks.

    The ticks are round numbers (steps of 1, 2 or 5 × 10^k, at most ``n_ticks``) placed
    where they fall on the bar; the bar's top value is written at its right end.
    """
    stops = ", ".join(esc(c) for c in colors)
    span = vmax - vmin if vmax > vmin else 1.0
    step = _tick_step(span, n_ticks - 1)
    first = math.ceil(vmin / step) * step
    ticks = [first + i * step for i in range(int((vmax - first) / step + 1e-9) + 1)]
    if ticks and (vmax - ticks[-1]) / span < 0.15:
        ticks = ticks[:-1]  # leave room for the top value
    spans = [
        f'<span style="left:{100 * (t - vmin) / span:.1f}%">{esc(fmt_number(t))}</span>'
        for t in ticks
    ]
    spans.append(f'<span class="tk-top">{esc(fmt_number(_nice_round(vmax)))}</span>')
    return (
        f'<div class="tk-title">{esc(title)}</div>'
        f'<div class="tk-gradient" style="background: linear-gradient(to right, {stops})"></div>'
        f'<div class="tk-ticks">{"".join(spans)}</div>'
    )


def _tick_step(span: float, n: int) -> float:
    raw = span / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    return next(s * mag for s in (1, 2, 5, 10) if s * mag >= raw)


def _nice_round(value: float) -> float:
    """Round a tick to two significant digits (``1234.5`` → ``1200``)."""
    if value == 0:
        return 0.0
    digits = 1 - floor(log10(abs(value)))
    return round(value, digits)


def quantile_edges(values: Sequence[float] | np.ndarray | pd.Series, k: int = 5) -> np.ndarray:
    """Class edges that split the finite values into ``k`` quantile classes.

    Returns
    -------
    numpy.ndarray
        Increasing unique edges, from the minimum to the maximum; fewer than ``k + 1`` when
        values repeat (a single value gives ``[v, v]``, one class).
    """
    v = np.asarray(values, dtype="float64")
    v = v[np.isfinite(v)]
    if v.size == 0:
        return np.array([], dtype="float64")
    edges = np.unique(np.quantile(v, np.linspace(0.0, 1.0, k + 1)))
    return edges if edges.size > 1 else np.array([edges[0], edges[0]])


def count_classes(
    values: np.ndarray, *, profile: ExportProfile, k: int = 5, suppressed: np.ndarray | None = None
) -> tuple[np.ndarray, list[str], str]:
    """Colour classes of counts, with the suppressed ones as their own class in public.

    Parameters
    ----------
    values
        Counts (any shape); NaN is "no value".
    profile
        With a minimum count (public) every count below it is in one class; without one
        (internal) every count is classed.
    k
        Number of quantile classes of the other counts.
    suppressed
        Which values are suppressed (from ``ExportProfile.suppress``), like ``values``;
        ``None`` suppresses the counts below the minimum. The classes of the others are computed
        from the shown counts only.

    Returns
    -------
    classes, colors, labels
        An int array like ``values`` (``-1`` for NaN), the colour of each class, and each
        class's text with its edges (``"5 – 7"``).
    """
    v = np.asarray(values, dtype="float64")
    classes = np.full(v.shape, -1, dtype="int64")
    colors: list[str] = []
    labels: list[str] = []
    big = np.isfinite(v)
    if profile.min_count is not None:
        hide = v < profile.min_count if suppressed is None else np.asarray(suppressed, dtype=bool)
        small = big & hide
        big &= ~small
        if small.any():
            classes[small] = 0
            colors.append(SUPPRESSED_COLOR)
            labels.append(SUPPRESSED_LABEL)
    if big.any():
        edges = np.unique(np.round(quantile_edges(v[big], k)))
        if edges.size == 1:
            edges = np.array([edges[0], edges[0]])
        n = len(edges) - 1
        ramp = getattr(bcm.linear, COUNT_COLORMAP).scale(0, 1)
        ramp_colors = [ramp.rgb_hex_str(0.25 + 0.75 * i / max(n - 1, 1)) for i in range(n)]
        idx = np.clip(np.searchsorted(edges[1:-1], v[big], side="right"), 0, n - 1)
        classes[big] = idx + len(colors)
        colors += ramp_colors
        # Counts are integers: classes 5 – 7, 8 – 12, … (a value on an inner edge goes up).
        for j in range(n):
            lo, hi = edges[j], edges[j + 1] if j == n - 1 else max(edges[j], edges[j + 1] - 1)
            text = fmt_int(lo) if hi == lo else f"{fmt_int(lo)} – {fmt_int(hi)}"
            labels.append(text)
    return classes, colors, labels


def class_colors(n: int) -> list[str]:
    """``n`` colours from light to dark along the class ramp."""
    ramp = getattr(bcm.linear, CLASS_COLORMAP).scale(0, 1)
    if n == 1:
        return [ramp.rgb_hex_str(0.5)]
    return [ramp.rgb_hex_str(0.1 + 0.85 * i / (n - 1)) for i in range(n)]


def linear_colormap(colormap: str | bcm.LinearColormap) -> bcm.LinearColormap:
    """A branca linear colormap by name; ``"YlOrRd"`` picks the finest ``YlOrRd_09``."""
    if isinstance(colormap, bcm.LinearColormap):
        return colormap
    names = [n for n in dir(bcm.linear) if n == colormap or n.startswith(f"{colormap}_")]
    if not names:
        raise ConfigError(f"unknown colormap {colormap!r} — use a branca name such as 'YlOrRd'")
    return getattr(bcm.linear, colormap if colormap in names else max(names))


def add_freshness(m: folium.Map, freshness: Freshness | None) -> folium.Map:
    """Add "Senaste data: 31 december 2025 (337 dagar gammal)" at the top right of the map.

    Shown on screen and in print, in both profiles; amber with a sentence on what it means
    when a source is older than its threshold (see :class:`trygghetskarta.freshness.Freshness`).
    Nothing is added without a freshness or sources.
    """
    headline = None if freshness is None else freshness.headline()
    if freshness is None or headline is None:
        return m
    note = freshness.note()
    html = f'<div class="tk-line">{esc(headline)}</div>'
    if note:
        html += f'<div class="tk-note">{esc(note)}</div>'
    css = "tk-box tk-fresh" + (" tk-stale" if note else "")
    m.add_child(HtmlControl(html, position="topright", css_class=css))
    return m


def add_info_box(
    m: folium.Map,
    *,
    title: str,
    period: Period,
    sources: Sequence[str] | str,
    made_at: datetime,
    n_unplaced: int | None,
    position: str = "bottomleft",
    notes: Sequence[str] = (),
    coverage: str = "",
    gaps: Sequence[str] = (),
    freshness: Freshness | None = None,
    version: str | None = None,
    links: Sequence[tuple[str, str]] = (),
) -> folium.Map:
    """Add a box stating what the map shows: title, period, sources, when made, unplaced events.

    Parameters
    ----------
    m
        The map to draw on.
    title
        The map's title.
    period
        ``(start, end)`` dates or a ready text.
    sources
        Source names, e.g. ``["Polisen", "Stockholms stad"]``.
    made_at
        When the map was made.
    n_unplaced
        Number of events in the period that could not be placed (and are not shown);
        ``None`` leaves the line out.
    position
        Leaflet corner of the box.
    notes
        Further lines (plain text, escaped), e.g. what the public profile leaves out.
    coverage
        The days the data covers (plain text, escaped), after the period.
    gaps
        One line per gap in the data inside the period (plain text, escaped), marked.
    freshness
        Each source's newest event: its headline ("Senaste data: …") follows the period.
    version
        The tool's version, stated after when the map was made ("trygghetskarta 0.1.0").
    links
        ``(text, href)`` of related pages (relative links within the published folder,
        e.g. ``("Lägesbild för Järva", "../reports/jarva.html")``), one line each.

    Returns
    -------
    folium.Map
    """
    headline = None if freshness is None else freshness.headline()
    made = f"Skapad: {fmt_datetime(made_at)}"
    lines = [
        f'<div class="tk-title">{esc(title)}</div>',
        f'<div class="tk-line">Period: {esc(fmt_period(period))}</div>',
        *([f'<div class="tk-line tk-covered">{esc(coverage)}</div>'] if coverage else []),
        *(f'<div class="tk-line tk-gap">{esc(gap)}</div>' for gap in gaps),
        *([f'<div class="tk-line tk-fresh-line">{esc(headline)}</div>'] if headline else []),
        f'<div class="tk-line">{fmt_sources(sources)}</div>',
        f'<div class="tk-line">{esc(made)}</div>',
    ]
    if version:
        lines.append(f'<div class="tk-line tk-version">trygghetskarta {esc(version)}</div>')
    if n_unplaced is not None:
        text = (
            "Alla händelser kunde placeras."
            if n_unplaced == 0
            else f"{fmt_number(n_unplaced)} händelser kunde inte placeras och visas inte."
        )
        lines.append(f'<div class="tk-line">{esc(text)}</div>')
    lines += [f'<div class="tk-line tk-note">{esc(note)}</div>' for note in notes]
    lines += [f'<div class="tk-line">{link_html(text, href)}</div>' for text, href in links]
    m.add_child(HtmlControl("".join(lines), position=position, css_class="tk-box tk-info"))
    return m
