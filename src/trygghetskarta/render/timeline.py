"""The month slider and the layers it drives: counts per area and month, event markers.

Part of :mod:`trygghetskarta.render`. One slider per map sets a *time index*: ``0`` is the
whole period, ``k`` the k-th month. Every time-dependent layer registers a function with
the map's timeline (a few lines of inline JavaScript, no library) that redraws it for an
index. Everything a layer may show is computed here in Python, per area and index, with
the profile's rules applied; the browser only picks the precomputed class and text, so a
public file never holds a count below five, and source text reaches the page escaped
(HTML) or as plain text (``textContent``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
from jinja2 import Template

from trygghetskarta.coverage import MONTH_NAMES_SV
from trygghetskarta.render.format import (
    SUPPRESSED_LABEL,
    category_color,
    esc,
    event_popup_html,
    fmt_count,
    fmt_int,
    fmt_month,
    js_json,
)
from trygghetskarta.render.legend import count_classes, ensure_runtime, legend_row
from trygghetskarta.render.verbatim import VerbatimMacro
from trygghetskarta.schema import TIMEZONE

if TYPE_CHECKING:
    from trygghetskarta._privacy import ExportProfile

__all__ = [
    "WHOLE_PERIOD",
    "add_area_counts",
    "add_event_markers",
    "add_month_slider",
    "month_of",
    "months_between",
]

WHOLE_PERIOD = "Hela perioden"


def _ensure_runtime(m: folium.Map) -> None:
    ensure_runtime(m)


def month_of(occurred_at: pd.Series) -> pd.Series:
    """The first day of each time's month (naive, Stockholm time)."""
    times = pd.to_datetime(occurred_at)
    if times.dt.tz is not None:
        times = times.dt.tz_convert(TIMEZONE).dt.tz_localize(None)
    return times.dt.to_period("M").dt.to_timestamp()


def months_between(first: Any, last: Any) -> list[pd.Timestamp]:
    """Every month from ``first`` to ``last`` inclusive (first days, naive)."""
    a = pd.Timestamp(first).to_period("M").to_timestamp()
    b = pd.Timestamp(last).to_period("M").to_timestamp()
    return list(pd.date_range(a, b, freq="MS"))


class _Script(VerbatimMacro):
    """A piece of script run after the map is made; ``{map}`` names the map.

    The code is written into the page as it is (see :mod:`trygghetskarta.render.verbatim`); data
    in it comes from :func:`js_json`, so no text in it can hold ``{map}`` either.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this.code.replace('{map}', this._parent.get_name()) }}
        {% endmacro %}
        """
    )

    def __init__(self, code: str) -> None:
        super().__init__()
        self._name = "TkScript"
        self.code = code


def add_month_slider(
    m: folium.Map,
    months: Sequence[pd.Timestamp],
    *,
    period_label: str | None = None,
    month_texts: Sequence[str] | None = None,
    month_notes: Sequence[str | None] | None = None,
) -> folium.Map:
    """Add the month slider: position 0 is the whole period, then one position per month.

    Parameters
    ----------
    m
        The map.
    months
        The months of the period, first days, in order.
    period_label
        Text after "Hela perioden"; the first and last month when ``None``.
    month_texts
        Each month's text (e.g. ``1–22 aug 2026`` for a month the data's end cuts, see
        :func:`~trygghetskarta.render.format.fmt_month_in`); ``mar 2024`` … when ``None``.
    month_notes
        Per month, a note shown after its text (e.g. the days a gap in the data leaves
        out: ``"mars 2026 – data saknas 3–9 mars 2026"``), or ``None``; the whole period
        then says that it has gaps.
    """
    _ensure_runtime(m)
    texts = list(month_texts) if month_texts is not None else [fmt_month(mo) for mo in months]
    notes = list(month_notes or [None] * len(months))
    labels = [t + (f" – {n}" if n else "") for t, n in zip(texts, notes, strict=True)]
    whole = f"{WHOLE_PERIOD} ({period_label or (texts[0] + ' – ' + texts[-1])})"
    if any(notes):
        whole += " – med luckor i data"
    spoken = [whole, *(_spoken(mo, t, n) for mo, t, n in zip(months, texts, notes, strict=True))]
    code = f"""
    (function (map, labels, spoken) {{
      var tl = TK.timeline(map);
      var ctl = L.control({{position: 'bottomleft'}});
      ctl.onAdd = function () {{
        var div = L.DomUtil.create('div', 'tk-box tk-slider');
        var title = L.DomUtil.create('div', 'tk-title', div);
        title.textContent = 'Månad';
        var row = L.DomUtil.create('div', 'tk-slider-row', div);
        var prev = L.DomUtil.create('button', 'tk-step', row);
        prev.type = 'button'; prev.textContent = '\\u25C0'; prev.title = 'Föregående månad';
        prev.setAttribute('aria-label', 'Föregående månad');
        var input = L.DomUtil.create('input', 'tk-range', row);
        input.type = 'range'; input.min = 0; input.max = labels.length - 1; input.step = 1;
        input.value = tl.index; input.setAttribute('aria-label', 'Månad som kartan visar');
        var next = L.DomUtil.create('button', 'tk-step', row);
        next.type = 'button'; next.textContent = '\\u25B6'; next.title = 'Nästa månad';
        next.setAttribute('aria-label', 'Nästa månad');
        var value = L.DomUtil.create('div', 'tk-slider-value', div);
        value.setAttribute('aria-live', 'polite');
        function show(i) {{
          value.textContent = labels[i]; input.value = i;
          input.setAttribute('aria-valuetext', spoken[i]);
        }}
        function go(i) {{ i = Math.max(0, Math.min(labels.length - 1, i)); tl.set(i); }}
        input.addEventListener('input', function () {{ go(parseInt(input.value, 10)); }});
        prev.addEventListener('click', function () {{ go(tl.index - 1); }});
        next.addEventListener('click', function () {{ go(tl.index + 1); }});
        tl.on(show);
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        return div;
      }};
      ctl.addTo(map);
    }})({{map}}, {js_json([whole, *labels])}, {js_json(spoken)});
    """
    m.add_child(_Script(code))
    return m


def _spoken(month: pd.Timestamp, text: str, note: str | None) -> str:
    """The slider's value as a screen reader says it: ``mars 2025`` (the month's full
    Swedish name), then the shown text where it says more (``1–22 aug 2026``) and a note."""
    words = f"{MONTH_NAMES_SV[month.month - 1]} {month.year}"
    if text != fmt_month(month):
        words += f" ({text})"
    return words + (f" – {note}" if note else "")


def _pivot(
    events: pd.DataFrame, area_col: str, names: Sequence[str], months: Sequence[pd.Timestamp]
) -> np.ndarray:
    """Counts, area × (whole period, month 1, …, month n)."""
    out = np.zeros((len(names), len(months) + 1))
    if events.empty:
        return out
    month = month_of(events["occurred_at"])
    table = (
        pd.DataFrame({"area": events[area_col].to_numpy(), "month": month.to_numpy()})
        .value_counts()
        .unstack(fill_value=0)
    )
    table = table.reindex(index=list(names), columns=list(months), fill_value=0)
    out[:, 1:] = table.to_numpy(dtype="float64")
    out[:, 0] = out[:, 1:].sum(axis=1)
    return out


def add_area_counts(
    m: folium.Map,
    areas: gpd.GeoDataFrame,
    events: pd.DataFrame,
    *,
    area_col: str,
    months: Sequence[pd.Timestamp],
    profile: ExportProfile,
    geojson: dict,
    label_points: Sequence[tuple[float, float]],
    name_labels: str = "Antal händelser",
    name_fill: str = "Antal händelser (färg)",
    show_labels: bool = True,
    show_fill: bool = False,
    show_names: bool = True,
    note: str | None = None,
    suppressed: np.ndarray | None = None,
    month_texts: Sequence[str] | None = None,
) -> np.ndarray:
    """Count labels and a count choropleth per area, redrawn for each slider position.

    Parameters
    ----------
    m
        The map (with a slider from :func:`add_month_slider` for the same ``months``).
    areas
        The areas, with ``name``; only used for their names and order.
    events
        Events with ``occurred_at`` and ``area_col``; rows outside ``months`` are ignored.
        The caller has applied the profile's sensitive-event rule for this area level.
    area_col
        The events' column naming the area (``stadsdelsomrade`` or ``stadsdel``).
    months
        The slider's months.
    profile
        The export profile (its minimum count, see :func:`count_classes`).
    geojson
        The areas as a GeoJSON FeatureCollection in EPSG:4326, in the order of ``areas``.
    label_points
        ``(lat, lon)`` of each area's label.
    name_labels, name_fill
        Names of the two layers in the layer control.
    show_labels, show_fill
        Whether each layer is on when the map opens.
    show_names
        Write the area's name above its count.
    note
        An extra line under the legend (escaped).
    month_texts
        Each month's text on the slider (e.g. ``1–22 aug 2026`` for a month the data's end
        cuts); ``mar 2024`` … when ``None``.
    suppressed
        Which counts (area × (whole period, months …)) the profile suppressed (see
        ``ExportProfile.suppress``); they read "dolt" and share one colour. ``None``
        suppresses the counts below the profile's minimum (five in public).

    Returns
    -------
    numpy.ndarray
        The counts, area × (whole period, months …), as drawn before suppression.
    """
    _ensure_runtime(m)
    names = [str(n) for n in areas["name"]]
    counts = _pivot(events, area_col, names, months)
    if suppressed is None:
        texts = [[fmt_count(c, profile=profile) for c in row] for row in counts]
        hide = None
    else:
        hide = np.asarray(suppressed, dtype=bool)
        texts = [
            [SUPPRESSED_LABEL if h else fmt_int(c) for c, h in zip(row, hrow, strict=True)]
            for row, hrow in zip(counts, hide, strict=True)
        ]
    whole_cls, whole_colors, whole_labels = count_classes(
        counts[:, :1], profile=profile, suppressed=None if hide is None else hide[:, :1]
    )
    month_cls, month_colors, month_labels = count_classes(
        counts[:, 1:], profile=profile, suppressed=None if hide is None else hide[:, 1:]
    )
    whole_rows = "".join(legend_row(c, t) for c, t in zip(whole_colors, whole_labels, strict=True))
    month_rows = "".join(legend_row(c, t) for c, t in zip(month_colors, month_labels, strict=True))
    classes = np.concatenate([whole_cls, month_cls + len(whole_colors) * (month_cls >= 0)], axis=1)
    colors = whole_colors + month_colors
    note_html = f'<div class="tk-note">{esc(note)}</div>' if note else ""
    legends = [
        f'<div class="tk-title">{esc(name_labels)}, hela perioden</div>{whole_rows}{note_html}',
        f'<div class="tk-title">{esc(name_labels)} per månad</div>{month_rows}{note_html}',
    ]
    if month_texts is None:
        month_texts = [fmt_month(mo) for mo in months]
    slider_labels = [WHOLE_PERIOD, *month_texts]
    # Labels declutter in order of the counts shown (a suppressed count ranks last, so the
    # order gives nothing away).
    shown_whole = np.where(hide[:, 0], -1.0, counts[:, 0]) if hide is not None else counts[:, 0]
    labels_group = folium.FeatureGroup(name=name_labels, show=show_labels).add_to(m)
    fill_group = folium.FeatureGroup(name=name_fill, show=show_fill).add_to(m)
    data = {
        "names": [
            f'<div class="tk-name"><span>{esc(n)}</span></div>' if show_names else "" for n in names
        ],
        "rank": np.argsort(np.argsort(-shown_whole, kind="stable"), kind="stable").tolist(),
        "tips": [f"<b>{esc(n)}</b>" for n in names],
        "points": [[round(la, 5), round(lo, 5)] for la, lo in label_points],
        "text": [[esc(t) for t in row] for row in texts],
        "plain": texts,
        "cls": classes.tolist(),
        "colors": colors,
        "months": [esc(x) for x in slider_labels],
        "legends": legends,
        "geojson": geojson,
    }
    code = f"""
    (function (map, labelsGroup, fillGroup, d) {{
      var tl = TK.timeline(map);
      if (!map.getPane('tkLabels')) {{
        map.createPane('tkLabels');
        map.getPane('tkLabels').style.zIndex = 450;  // above areas, below markers and popups
        map.getPane('tkLabels').style.pointerEvents = 'none';
      }}
      var fill = L.geoJSON(d.geojson, {{
        style: function () {{
          return {{color: '#555', weight: 0.8, fillOpacity: 0.75, fillColor: '#ccc'}};
        }}
      }}).addTo(fillGroup);
      var polys = [];
      fill.eachLayer(function (l) {{
        var a = l.feature.properties.tk_i;
        polys.push(l);
        l.bindTooltip(function () {{
          return d.tips[a] + '<br>' + d.months[tl.index] + ': ' + d.text[a][tl.index];
        }}, {{sticky: true}});
      }});
      var spans = d.points.map(function (p, a) {{
        var box = document.createElement('div');
        box.className = 'tk-label';
        box.innerHTML = d.names[a];  // escaped in Python
        var s = document.createElement('span'); s.className = 'tk-count'; box.appendChild(s);
        L.marker(p, {{
          icon: L.divIcon({{html: box, className: 'tk-label-icon', iconSize: [180, 40],
                            iconAnchor: [90, 20]}}),
          interactive: false, keyboard: false, pane: 'tkLabels'
        }}).addTo(labelsGroup);
        return s;
      }});
      var legend = TK.legend(map, fillGroup, d.legends[tl.index === 0 ? 0 : 1]);
      // Where labels collide, those of the areas with fewer events step aside (zoom in to
      // see them); the count choropleth's tooltips name every area.
      function declutter() {{
        var placed = [];
        var order = spans.map(function (s, a) {{ return a; }});
        order.sort(function (a, b) {{ return d.rank[a] - d.rank[b]; }});
        order.forEach(function (a) {{
          var s = spans[a];
          if (!s.isConnected) {{ return; }}
          var box = s.parentNode;
          box.style.visibility = '';
          var name = box.querySelector('.tk-name span');
          var rects = [s.getBoundingClientRect()];
          if (name) {{ rects.push(name.getBoundingClientRect()); }}
          var hit = rects.some(function (r) {{
            return placed.some(function (p) {{
              return !(r.right < p.left || r.left > p.right ||
                       r.bottom < p.top || r.top > p.bottom);
            }});
          }});
          if (hit) {{ box.style.visibility = 'hidden'; }}
          else {{ placed.push.apply(placed, rects); }}
        }});
      }}
      map.on('zoomend overlayadd', declutter);
      window.addEventListener('load', function () {{ setTimeout(declutter, 0); }});
      tl.on(function (i) {{
        spans.forEach(function (s, a) {{ s.textContent = d.plain[a][i]; }});
        declutter();
        polys.forEach(function (l) {{
          var c = d.cls[l.feature.properties.tk_i][i];
          l.setStyle({{fillColor: c < 0 ? '#d9d9d9' : d.colors[c]}});
        }});
        legend.set(d.legends[i === 0 ? 0 : 1]);
      }});
    }})({{map}}, {labels_group.get_name()}, {fill_group.get_name()}, {js_json(data)});
    """
    m.add_child(_Script(code))
    return counts


def add_event_markers(
    m: folium.Map,
    events: pd.DataFrame,
    lat: np.ndarray,
    lon: np.ndarray,
    *,
    months: Sequence[pd.Timestamp] | None,
    name: str,
    show: bool,
) -> folium.Map:
    """Clustered event markers with escaped popups, filtered by the slider's month.

    The markers are made in the browser from one compact array (a folium marker per event
    costs about a kilobyte of script each). ``events`` rows and ``lat``/``lon`` align.
    """
    _ensure_runtime(m)
    index = {mo: i + 1 for i, mo in enumerate(months or [])}
    month_idx = (
        [index.get(mo, -1) for mo in month_of(events["occurred_at"])]
        if months and "occurred_at" in events.columns
        else [0] * len(events)
    )
    rows = [
        [float(la), float(lo), int(k), category_color(row.get("category")), event_popup_html(row)]
        for (_, row), la, lo, k in zip(events.iterrows(), lat, lon, month_idx, strict=True)
    ]
    cluster = folium.plugins.MarkerCluster(
        name=name, show=show, options={"maxClusterRadius": 50, "chunkedLoading": True}
    ).add_to(m)
    code = f"""
    (function (map, cluster, rows) {{
      var tl = TK.timeline(map);
      var markers = rows.map(function (r) {{
        var mk = L.circleMarker([r[0], r[1]], {{radius: 6, color: '#222222', weight: 1,
          fillColor: r[3], fillOpacity: 0.9}});
        mk.bindPopup(r[4], {{maxWidth: 320}});
        mk.tkMonth = r[2];
        return mk;
      }});
      tl.on(function (i) {{
        cluster.clearLayers();
        cluster.addLayers(i === 0 ? markers.filter(function (mk) {{ return mk.tkMonth >= 0; }})
                                  : markers.filter(function (mk) {{ return mk.tkMonth === i; }}));
      }});
    }})({{map}}, {cluster.get_name()}, {js_json(rows)});
    """
    m.add_child(_Script(code))
    return m
