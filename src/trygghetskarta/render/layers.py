"""Map layers of the analysis outputs: Gi* cells, emerging hot spots, stadsdel Gi*,
local Moran per RegSO and cluster outlines.

Each ``add_*`` function takes the map and a table written by the ``analyse`` step (read
with :func:`trygghetskarta.pipeline.outputs.read_geoparquet`, EPSG:3006), draws one layer with its
legend (the legend is shown while the layer is on) and returns the map. Layers are off
when the map opens, so that the density surface stays readable. An empty table draws
nothing. :class:`AnalysisLayers` bundles the tables of one map and
:func:`add_analysis_layers` draws all of them, following the export profile:

* ``public``: Gi* and emerging-hotspot cells only when they are at least
  :data:`~trygghetskarta.render.profile.MIN_PUBLIC_CELL_M` wide; counts below five in tooltips
  read "färre än 5"; no cluster outlines (their shapes follow individual events).
* ``internal``: everything, cluster outlines included.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import mapping

from trygghetskarta.config import STORE_CRS
from trygghetskarta.render.format import esc, fmt_count, fmt_float, fmt_int, is_missing
from trygghetskarta.render.legend import HtmlControl, legend_row
from trygghetskarta.render.profile import ExportProfile
from trygghetskarta.render.vector import to_web

__all__ = [
    "CLUSTER_LAYER_NAME",
    "EMERGING_LAYER_NAME",
    "EMERGING_NAMES_SV",
    "GI_BIN_COLORS",
    "GI_BIN_LABELS",
    "GI_LAYER_NAME",
    "MORAN_LAYER_NAME",
    "STADSDEL_GI_LAYER_NAME",
    "AnalysisLayers",
    "add_analysis_layers",
    "add_clusters",
    "add_emerging",
    "add_gi_star_cells",
    "add_local_moran",
    "add_no_gi_cells",
    "add_stadsdel_gi",
    "sample_note",
]

_log = logging.getLogger(__name__)

GI_LAYER_NAME = "Hot spots och cold spots (Gi*, 250 m-rutor)"
EMERGING_LAYER_NAME = "Framväxande hot spots (trend över månader)"
STADSDEL_GI_LAYER_NAME = "Hot spots per stadsdel (Gi*)"
MORAN_LAYER_NAME = "Lokala kluster per RegSO (Moran, händelser per 1 000 inv.)"
CLUSTER_LAYER_NAME = "Täta kluster av händelser (HDBSCAN, intern)"

#: ArcGIS's hot spot colours, by Gi* bin (−3 … 3; 0 is not drawn).
GI_BIN_COLORS = {
    3: "#d62f27",
    2: "#ed7551",
    1: "#fab984",
    0: "#f7f7f2",
    -1: "#c0ccbe",
    -2: "#849eba",
    -3: "#4575b5",
}
GI_BIN_LABELS = {
    3: "Hot spot 99 %",
    2: "Hot spot 95 %",
    1: "Hot spot 90 %",
    0: "Inte signifikant",
    -1: "Cold spot 90 %",
    -2: "Cold spot 95 %",
    -3: "Cold spot 99 %",
}

#: Swedish names of the emerging-hotspot patterns (ArcGIS's categories) and their colours.
EMERGING_NAMES_SV = {
    "new hot spot": "Ny hot spot",
    "consecutive hot spot": "Sammanhängande hot spot",
    "intensifying hot spot": "Intensifierande hot spot",
    "persistent hot spot": "Ihållande hot spot",
    "diminishing hot spot": "Avtagande hot spot",
    "sporadic hot spot": "Sporadisk hot spot",
    "oscillating hot spot": "Oscillerande hot spot",
    "historical hot spot": "Historisk hot spot",
    "new cold spot": "Ny cold spot",
    "consecutive cold spot": "Sammanhängande cold spot",
    "intensifying cold spot": "Intensifierande cold spot",
    "persistent cold spot": "Ihållande cold spot",
    "diminishing cold spot": "Avtagande cold spot",
    "sporadic cold spot": "Sporadisk cold spot",
    "oscillating cold spot": "Oscillerande cold spot",
    "historical cold spot": "Historisk cold spot",
}
_EMERGING_COLORS = dict(
    zip(
        EMERGING_NAMES_SV,
        [
            "#67000d",
            "#a50f15",
            "#cb181d",
            "#ef3b2c",
            "#fb6a4a",
            "#fc9272",
            "#fcbba1",
            "#d9b3a6",
            "#08306b",
            "#08519c",
            "#2171b5",
            "#4292c6",
            "#6baed6",
            "#9ecae1",
            "#c6dbef",
            "#b3bfd9",
        ],
        strict=True,
    )
)
_NO_PATTERN = "no pattern detected"

#: Local Moran quadrants: label → (Swedish legend text, colour), GeoDa's colours.
MORAN_LABELS = {
    "HH": ("Högt omgivet av högt (HH)", "#d7191c"),
    "LL": ("Lågt omgivet av lågt (LL)", "#2c7bb6"),
    "HL": ("Högt omgivet av lågt (HL)", "#fdae61"),
    "LH": ("Lågt omgivet av högt (LH)", "#abd9e9"),
}
_NS_COLOR = "#ffffff"


@dataclass(frozen=True)
class AnalysisLayers:
    """The analysis tables one map shows (each ``None`` or empty when there is none).

    All are GeoDataFrames in EPSG:3006 as the ``analyse`` step writes them, already
    filtered to one source layer and category (see :meth:`clipped` for one district).
    """

    gi_cells: gpd.GeoDataFrame | None = None
    emerging: gpd.GeoDataFrame | None = None
    gi_stadsdelar: gpd.GeoDataFrame | None = None
    moran: gpd.GeoDataFrame | None = None
    clusters: gpd.GeoDataFrame | None = None
    what: str = "polisens händelser"

    def clipped(self, shape: object) -> AnalysisLayers:
        """The same layers with only the rows whose shape lies mostly in ``shape``
        (cells and areas by their interior point; cluster outlines by intersection)."""

        def inside(gdf: gpd.GeoDataFrame | None, touch: bool = False) -> gpd.GeoDataFrame | None:
            if gdf is None or gdf.empty:
                return gdf
            local = gdf.to_crs(STORE_CRS)
            if touch:
                return local[local.geometry.intersects(shape)]
            return local[local.geometry.representative_point().within(shape)]

        return replace(
            self,
            gi_cells=inside(self.gi_cells),
            emerging=inside(self.emerging),
            gi_stadsdelar=inside(self.gi_stadsdelar),
            moran=inside(self.moran),
            clusters=inside(self.clusters, touch=True),
        )


def _legend(title: str, rows: Sequence[tuple[str, str]], note: str | None = None) -> str:
    html = f'<div class="tk-title">{esc(title)}</div>' + "".join(
        legend_row(color, text) for color, text in rows
    )
    if note:
        html += f'<div class="tk-note">{esc(note)}</div>'
    return html


def _draw(
    m: folium.Map,
    web: gpd.GeoDataFrame,
    styles: Sequence[dict],
    tips: Sequence[str],
    *,
    name: str,
    show: bool,
    legend: str,
) -> folium.Map:
    layer = folium.FeatureGroup(name=name, show=show)
    features = [
        {
            "type": "Feature",
            "geometry": mapping(geom),
            "properties": {"tk_tip": tip, "tk_style": style},
        }
        for geom, style, tip in zip(web.geometry, styles, tips, strict=True)
    ]
    if features:  # an empty layer keeps its legend, which says nothing was found
        folium.GeoJson(
            {"type": "FeatureCollection", "features": features},
            style_function=lambda f: f["properties"]["tk_style"],
            tooltip=folium.GeoJsonTooltip(fields=["tk_tip"], labels=False),
            control=False,
        ).add_to(layer)
    layer.add_to(m)
    m.add_child(HtmlControl(legend, position="bottomright", layer=layer))
    return m


def _web(gdf: gpd.GeoDataFrame, what: str, *, simplify_m: float) -> gpd.GeoDataFrame:
    named = gdf.assign(name=gdf["name"] if "name" in gdf.columns else "")
    return to_web(named, what, simplify_m=simplify_m)


def _cell_size(cells: gpd.GeoDataFrame) -> float:
    return float(np.sqrt(np.median(cells.to_crs(STORE_CRS).geometry.area)))


def _count_line(row: pd.Series, profile: ExportProfile) -> str:
    if "count" not in row.index or is_missing(row["count"]):
        return ""
    return f"<br>Händelser: {esc(fmt_count(row['count'], profile=profile))}"


def add_gi_star_cells(
    m: folium.Map,
    cells: gpd.GeoDataFrame,
    *,
    profile: ExportProfile,
    name: str = GI_LAYER_NAME,
    show: bool = False,
    what: str = "händelser",
) -> folium.Map:
    """Draw the significant Gi* cells (``bin`` ≠ 0) coloured by confidence.

    The legend shows the colours of the bins present only and says in words what is
    significant (:func:`gi_note`); with no significant cell it draws no colour and says
    "Inga signifikanta hot spots eller cold spots".

    Parameters
    ----------
    m
        The map to draw on.
    cells
        Gi* cells with ``bin`` (−3 … 3), ``geometry`` and, where known, ``count`` and ``z``.
    profile
        Cells narrower than its ``min_cell_m`` (public: 200 m) are not drawn (the layer
        is left out) and counts below its minimum (public: five) read "dolt".
    name, show
        Layer name in the layer control; whether it is on when the map opens.
    what
        What is counted, plural, in the note ("händelser", "anmälda brott").
    """
    if cells is None or cells.empty:
        return m
    if profile.cell_too_small(_cell_size(cells)):
        _log.warning(
            "%s map: Gi* cells are %.0f m wide, under %.0f m — layer left out",
            profile.name,
            _cell_size(cells),
            profile.min_cell_m,
        )
        return m
    sig = cells[pd.to_numeric(cells["bin"], errors="coerce").fillna(0).astype(int) != 0]
    present = sorted({int(b) for b in sig["bin"]}, reverse=True)
    legend = _legend(
        "Hot spots och cold spots (Gi*)",
        [(GI_BIN_COLORS[b], GI_BIN_LABELS[b]) for b in present],
        note=gi_note(present, what=what),
    )
    web = _web(sig, "Gi* cells", simplify_m=0)
    styles, tips = [], []
    for _, row in web.iterrows():
        b = int(row["bin"])
        styles.append(
            {"color": GI_BIN_COLORS[b], "weight": 0.5, "fillColor": GI_BIN_COLORS[b]}
            | {"fillOpacity": 0.75}
        )
        z = f"<br>z = {esc(fmt_float(row['z'], 2))}" if "z" in row.index else ""
        tips.append(f"<b>{esc(GI_BIN_LABELS[b])}</b>{_count_line(row, profile)}{z}")
    return _draw(m, web, styles, tips, name=name, show=show, legend=legend)


def gi_note(present: Sequence[int], *, what: str = "händelser") -> str:
    """What a Gi* layer shows, in words: which cells are significant, and at what level.

    Parameters
    ----------
    present
        The Gi* bins drawn (−3 … 3, 0 left out).
    what
        What is counted, plural ("händelser", "anmälda brott").

    Examples
    --------
    >>> gi_note([]).split(":")[0]
    'Inga signifikanta hot spots eller cold spots i perioden'
    >>> gi_note([3, -1]).split(",")[0]
    'Röda rutor (hot spots) har fler händelser än omgivningen'
    """
    if not list(present):
        return (
            "Inga signifikanta hot spots eller cold spots i perioden: ingen ruta har fler "
            f"eller färre {what} än slumpen förklarar, så ingen ruta färgas."
        )
    return (
        f"Röda rutor (hot spots) har fler {what} än omgivningen, blå (cold spots) färre, "
        "mer än slumpen förklarar; procenten är konfidensen efter korrigering för många "
        "test. Rutor utan färg är inte signifikanta."
    )


def add_no_gi_cells(
    m: folium.Map, *, name: str = GI_LAYER_NAME, what: str = "händelser"
) -> folium.Map:
    """A Gi* layer for a selection the analysis computed no cells for (too few events):
    nothing is coloured and its legend says why, so that the layer list is the same for
    every source layer and a reader does not take a missing layer for "no hot spots"."""
    layer = folium.FeatureGroup(name=name, show=False)
    layer.add_to(m)
    legend = _legend(
        "Hot spots och cold spots (Gi*)",
        [],
        note=(
            f"Inga signifikanta hot spots eller cold spots: för få {what} i perioden för "
            "att pröva (Gi* behöver minst 30 placerade inom 250 m). Ingen ruta färgas."
        ),
    )
    m.add_child(HtmlControl(legend, position="bottomright", layer=layer))
    return m


def add_emerging(
    m: folium.Map,
    cells: gpd.GeoDataFrame,
    *,
    profile: ExportProfile,
    name: str = EMERGING_LAYER_NAME,
    show: bool = False,
) -> folium.Map:
    """Draw the emerging-hotspot cells that have a pattern, one colour per pattern.

    ``cells`` has ``pattern`` (ArcGIS's English names, e.g. ``"new hot spot"``) and
    ``geometry``, and optionally ``n_hot_bins`` and ``count_slope``. The legend lists the
    Swedish names of the patterns present.
    """
    if cells is None or cells.empty:
        return m
    if profile.cell_too_small(_cell_size(cells)):
        _log.warning(
            "%s map: emerging-hotspot cells under %.0f m — layer left out",
            profile.name,
            profile.min_cell_m,
        )
        return m
    shown = cells[cells["pattern"].isin(list(EMERGING_NAMES_SV))]
    present = [p for p in EMERGING_NAMES_SV if p in set(shown["pattern"])]
    rows = [(_EMERGING_COLORS[p], EMERGING_NAMES_SV[p]) for p in present]
    legend = _legend(
        "Framväxande hot spots",
        rows,
        note="Mönster i Gi* månad för månad och trenden (Mann–Kendall) i perioden."
        + ("" if rows else " Inga mönster hittades."),
    )
    web = _web(shown, "emerging-hotspot cells", simplify_m=0)
    styles, tips = [], []
    for _, row in web.iterrows():
        color = _EMERGING_COLORS[row["pattern"]]
        styles.append({"color": color, "weight": 0.8, "fillColor": color, "fillOpacity": 0.7})
        extra = ""
        if "n_hot_bins" in row.index and not is_missing(row["n_hot_bins"]):
            extra += f"<br>Månader som hot spot: {esc(int(row['n_hot_bins']))}"
        if "count_slope" in row.index and not is_missing(row["count_slope"]):
            extra += f"<br>Trend: {esc(fmt_float(row['count_slope'], 2))} händelser/månad"
        tips.append(f"<b>{esc(EMERGING_NAMES_SV[row['pattern']])}</b>{extra}")
    return _draw(m, web, styles, tips, name=name, show=show, legend=legend)


def add_stadsdel_gi(
    m: folium.Map,
    stadsdelar: gpd.GeoDataFrame,
    *,
    profile: ExportProfile,
    name: str = STADSDEL_GI_LAYER_NAME,
    show: bool = False,
) -> folium.Map:
    """Colour the stadsdelar by their Gi* bin; tooltips give count and events per km²
    (internal profile only: in public they are the district maps' stadsdel counts).

    ``stadsdelar`` has ``stadsdel``, ``bin`` and ``geometry`` and optionally ``count``,
    ``events_per_km2`` and ``z``.
    """
    if stadsdelar is None or stadsdelar.empty:
        return m
    gdf = stadsdelar.rename(columns={"stadsdel": "name"})
    web = _web(gdf, "stadsdel Gi*", simplify_m=5.0)
    styles, tips = [], []
    for _, row in web.iterrows():
        b = int(row["bin"]) if not is_missing(row["bin"]) else 0
        sig = b != 0
        styles.append(
            {
                "color": "#555555",
                "weight": 0.8,
                "fillColor": GI_BIN_COLORS[b],
                "fillOpacity": 0.7 if sig else 0.25,
            }
        )
        density, count = "", ""
        if not profile.public:
            # Public: these are the district maps' stadsdel counts, which may be suppressed
            # there to protect a small one; the count (or count ÷ area) must not undo that.
            if "events_per_km2" in row.index and not is_missing(row["events_per_km2"]):
                density = f"<br>Händelser per km²: {esc(fmt_float(row['events_per_km2'], 1))}"
            count = _count_line(row, profile)
        tips.append(f"<b>{esc(row['name'])}</b><br>{esc(GI_BIN_LABELS[b])}{count}{density}")
    legend = _legend(
        "Gi* per stadsdel",
        [(GI_BIN_COLORS[b], GI_BIN_LABELS[b]) for b in (3, 2, 1, 0, -1, -2, -3)],
        note="Stadsdelar med fler (hot) eller färre (cold) händelser per km² än grannarna.",
    )
    return _draw(m, web, styles, tips, name=name, show=show, legend=legend)


def add_local_moran(
    m: folium.Map,
    regso: gpd.GeoDataFrame,
    *,
    profile: ExportProfile,
    name: str = MORAN_LAYER_NAME,
    show: bool = False,
) -> folium.Map:
    """Colour the RegSO areas by their significant local Moran quadrant (HH, LL, HL, LH).

    ``regso`` has ``name``, ``label`` (``"HH"`` … or ``"ns"``) and ``geometry`` and
    optionally ``count``, ``population`` and ``eb_rate_per_1000``. In the public profile
    areas with fewer than five events show "färre än 5" and no rate.
    """
    if regso is None or regso.empty:
        return m
    web = _web(regso, "RegSO local Moran", simplify_m=5.0)
    styles, tips = [], []
    for _, row in web.iterrows():
        label = str(row.get("label", "ns"))
        text, color = MORAN_LABELS.get(label, ("Inte signifikant", _NS_COLOR))
        sig = label in MORAN_LABELS
        styles.append(
            {
                "color": "#666666",
                "weight": 0.6,
                "fillColor": color,
                "fillOpacity": 0.75 if sig else 0.15,
            }
        )
        rate = ""
        if "eb_rate_per_1000" in row.index and not is_missing(row["eb_rate_per_1000"]):
            small = (
                "count" in row.index
                and not is_missing(row["count"])
                and profile.single(row["count"]) is None
            )
            value = "–" if small else fmt_float(row["eb_rate_per_1000"], 1)
            rate = f"<br>Händelser per 1 000 inv. (utjämnat): {esc(value)}"
        tips.append(f"<b>{esc(row['name'])}</b><br>{esc(text)}{_count_line(row, profile)}{rate}")
    legend = _legend(
        "Lokala kluster (Moran)",
        [(color, text) for text, color in MORAN_LABELS.values()]
        + [(_NS_COLOR, "Inte signifikant")],
        note="RegSO-områden efter händelser per 1 000 invånare (Empirical Bayes-utjämnat) "
        "jämfört med grannområdena.",
    )
    return _draw(m, web, styles, tips, name=name, show=show, legend=legend)


def sample_note(n: int, of: int) -> str:
    """The Swedish note of a result computed on a random sample of its events.

    Parameters
    ----------
    n
        Events the analysis used.
    of
        Events of the selection.

    Returns
    -------
    str
        ``"Beräknat på ett slumpmässigt urval av 20 000 av 184 134 händelser."`` (numbers
        with non-breaking spaces).

    Examples
    --------
    >>> sample_note(20_000, 184_134).replace("\u00a0", " ")
    'Beräknat på ett slumpmässigt urval av 20 000 av 184 134 händelser.'
    """
    return f"Beräknat på ett slumpmässigt urval av {fmt_int(n)} av {fmt_int(of)} händelser."


def _sampled(frame: gpd.GeoDataFrame) -> str | None:
    """:func:`sample_note` when the analysis table says a cap made it use a sample
    (columns ``sampled_n`` < ``sampled_of``), else ``None``."""
    if not {"sampled_n", "sampled_of"} <= set(frame.columns) or frame.empty:
        return None
    n, of = frame["sampled_n"].iloc[0], frame["sampled_of"].iloc[0]
    if is_missing(n) or is_missing(of) or int(n) >= int(of):
        return None
    return sample_note(int(n), int(of))


def add_clusters(
    m: folium.Map,
    clusters: gpd.GeoDataFrame,
    *,
    profile: ExportProfile,
    name: str = CLUSTER_LAYER_NAME,
    show: bool = False,
) -> folium.Map:
    """Draw cluster outlines (HDBSCAN) with their size — internal profile only.

    ``clusters`` has ``cluster``, ``geometry`` and optionally ``n_events``,
    ``area_km2`` and ``events_per_km2``; when its ``sampled_n`` is below ``sampled_of``
    (a cap made the analysis use a sample) the legend and every outline's tooltip say so
    (:func:`sample_note`). In the public profile nothing is drawn: an
    outline hugging a handful of events tells where they happened.
    """
    if clusters is None or clusters.empty:
        return m
    if not profile.cluster_outlines:
        # debug: a fact of the profile (stated in its map notes), not news on each map
        _log.debug("%s map: cluster outlines are internal only — layer left out", profile.name)
        return m
    gdf = clusters.assign(name=[f"Kluster {c}" for c in clusters["cluster"]])
    web = _web(gdf, "clusters", simplify_m=0)
    sampled = _sampled(clusters)
    styles, tips = [], []
    for _, row in web.iterrows():
        styles.append({"color": "#6a3d9a", "weight": 2, "fillColor": "#6a3d9a", "fillOpacity": 0.1})
        n = f"<br>Händelser: {esc(fmt_count(row['n_events'], profile=profile))}"
        a = row.get("area_km2")
        area = "" if is_missing(a) else f"<br>Yta: {esc(fmt_float(a, 2))} km²"
        note = "" if sampled is None else f"<br><i>{esc(sampled)}</i>"
        tips.append(f"<b>{esc(row['name'])}</b>{n if 'n_events' in row.index else ''}{area}{note}")
    legend = _legend(
        "Kluster (HDBSCAN)",
        [("#6a3d9a", "Område med tätt liggande händelser")],
        note="Intern version: konturerna följer enskilda händelser."
        + ("" if sampled is None else f" {sampled}"),
    )
    return _draw(m, web, styles, tips, name=name, show=show, legend=legend)


def add_analysis_layers(
    m: folium.Map, layers: AnalysisLayers, *, profile: ExportProfile
) -> folium.Map:
    """Draw every layer of ``layers`` that has rows, each off when the map opens."""
    add_stadsdel_gi(m, layers.gi_stadsdelar, profile=profile)
    add_local_moran(m, layers.moran, profile=profile)
    add_gi_star_cells(m, layers.gi_cells, profile=profile)
    add_emerging(m, layers.emerging, profile=profile)
    add_clusters(m, layers.clusters, profile=profile)
    return m
