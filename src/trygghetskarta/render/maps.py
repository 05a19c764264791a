"""The city map and the district map: :func:`city_map`, :func:`district_map`.

Part of :mod:`trygghetskarta.render`. Each builds a whole map from frames and the export
profile, with the month slider, the layers of the analyse step and the embedded ledger.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd

from trygghetskarta.config import STORE_CRS
from trygghetskarta.coverage import Coverage
from trygghetskarta.errors import ConfigError, SchemaError, TrygghetskartaWarning
from trygghetskarta.freshness import Freshness
from trygghetskarta.render.basemap import _finish, add_events, base_map, set_group, set_title
from trygghetskarta.render.coverage import add_gap_band, coverage_lines, month_notes
from trygghetskarta.render.disclosure import Disclosure, ledger_html
from trygghetskarta.render.format import (
    SUPPRESSED_LABEL,
    Period,
    fmt_count,
    fmt_int,
    fmt_month_in,
    fmt_period,
    period_bounds,
)
from trygghetskarta.render.layers import (
    CLUSTER_LAYER_NAME,
    EMERGING_LAYER_NAME,
    GI_LAYER_NAME,
    MORAN_LAYER_NAME,
    STADSDEL_GI_LAYER_NAME,
    AnalysisLayers,
    add_clusters,
    add_emerging,
    add_gi_star_cells,
    add_local_moran,
    add_no_gi_cells,
    add_stadsdel_gi,
)
from trygghetskarta.render.legend import (
    add_freshness,
    add_info_box,
)
from trygghetskarta.render.profile import (
    ExportProfile,
    drop_sensitive,
    sensitive_mask,
)
from trygghetskarta.render.published import city_table, stadsdel_table
from trygghetskarta.render.raster import DensityGrid, add_density
from trygghetskarta.render.timeline import (
    _pivot,
    add_area_counts,
    add_month_slider,
    month_of,
    months_between,
)
from trygghetskarta.render.vector import (
    add_area_info,
    add_count_labels,
    add_districts,
    add_water,
    area_geojson,
    label_points,
    to_web,
)
from trygghetskarta.render.verbatim import Verbatim
from trygghetskarta.schema import LAYER_LABELS_SV, Layer

DENSITY_LAYER_NAME = "Täthet (händelser per km²)"
#: What a layer's events are called in sentences ("fler anmälda brott än omgivningen").
NOUNS_SV = {
    Layer.POLICE_EVENT.value: "händelser",
    Layer.REPORTED_CRIME.value: "anmälda brott",
    Layer.SHOOTING.value: "skjutningar",
    Layer.FIRE.value: "bränder",
}
#: Sentence under every density legend: the ramp is the same on every map of the run.
SAME_SCALE_NOTE = (
    "Samma färgskala på stadskartan och på varje stadsdelsområdes karta (en "
    "stadsdelsområdeskarta zoomar in, den färgar inte om)."
)


#: The source layers' names on the maps: the police's notices are called what they are
#: (press notices, not all crimes); the others as in the schema.
MAP_LABELS_SV = {Layer.POLICE_EVENT.value: "Polisens händelsenotiser"}


def map_label(layer: str) -> str:
    """A source layer's Swedish name on the maps: ``"police_event"`` → "Polisens
    händelsenotiser", ``"shooting"`` → "Skjutningar"."""
    return MAP_LABELS_SV.get(layer, LAYER_LABELS_SV[Layer(layer)])


def density_name(label: str) -> str:
    """The layer control's name of a source layer's density: ``Täthet per km² – Skjutningar``."""
    return f"Täthet per km² – {label}"


def hotspot_name(label: str) -> str:
    """The name of a source layer's Gi* cells (hot and cold spots)."""
    return f"{GI_LAYER_NAME} – {label}"


def count_fill_name(label: str, *, district: bool = False) -> str:
    """The name of a source layer's count choropleth (per district, or per stadsdel)."""
    return f"Antal per {'stadsdel' if district else 'stadsdelsområde'} (färg) – {label}"


def count_labels_name(label: str, *, district: bool = False) -> str:
    """The name of a source layer's count labels (per district, or per stadsdel)."""
    return f"Antal per {'stadsdel' if district else 'stadsdelsområde'} (siffror) – {label}"


def events_name(label: str) -> str:
    """The name of a source layer's event markers (internal profile)."""
    return f"Enskilda händelser – {label}"


@dataclass(frozen=True)
class MapLayer:
    """One source layer of a map: police notices, reported crimes, shootings or fires.

    Attributes
    ----------
    layer
        The :class:`~trygghetskarta.schema.Layer` value (``"reported_crime"`` …).
    label
        Its Swedish name on the map ("Anmälda brott"); layer names and popups use it.
    events
        The layer's events of the period (columns as :attr:`MapScene.events`), or ``None``.
    grid, monthly_grids
        Its density raster of the period and per month (see :attr:`MapScene.grid`).
    analysis
        Its analysis tables (Gi* cells … ; see :class:`AnalysisLayers`).
    """

    layer: str
    label: str
    events: pd.DataFrame | None = None
    grid: DensityGrid | None = None
    monthly_grids: Mapping[object, DensityGrid] | None = None
    analysis: AnalysisLayers | None = None

    @property
    def noun(self) -> str:
        """What its events are called in a sentence ("anmälda brott")."""
        return NOUNS_SV.get(self.layer, "händelser")

    def key(self, name: str) -> str:
        """An area's name in this layer's disclosure cells: police notices keep the name
        (the cells the lägesbild shares), other layers prefix it (``shooting/Järva``)."""
        return name if self.layer == Layer.POLICE_EVENT.value else f"{self.layer}/{name}"


@dataclass(frozen=True)
class MapScene:
    """What the maps of one run show, and the rules they show it by (built once).

    Attributes
    ----------
    districts
        Stadsdelsområden with ``name`` (EPSG:3006).
    period, sources, made_at
        For the info box (see :func:`add_info_box`). The month slider covers the months
        of ``period`` (or of ``events`` when ``period`` is a free text).
    profile
        The export profile (see :class:`~trygghetskarta.render.profile.ExportProfile`): the
        public one never shows individual events and publishes counts through its
        suppression (no count under five shown or derivable, see
        :mod:`trygghetskarta.render.disclosure`); the internal one adds ``events`` as clustered
        markers.
    stadsdelar
        Optional finer areas with ``name``, drawn as thin outlines (and, on a district
        map, labelled with their counts).
    events
        The events of the period, placed or not, with ``occurred_at`` and
        ``stadsdelsomrade`` (and ``stadsdel`` for district maps; ``x``, ``y``,
        ``category``, ``summary`` … for the internal markers). They give the count labels
        and the count choropleth per area and month, driven by the month slider; a
        district map takes the rows of its district.
    grid
        Optional density raster (see :func:`add_density`); in the public profile it is
        shown on cells of at least 200 m.
    monthly_grids
        Optional density grid per month (keys: anything ``pd.Timestamp`` reads, e.g.
        ``"2025-03"``), on the cells of ``grid``: the month slider then switches the
        density layer to each month's grid (public: on 200 m cells, like ``grid``). Only
        the city map uses them.
    rates
        Optional value per district name (e.g. events per 1 000 inhabitants) for a
        choropleth on the city map; it is off at start when a density grid is shown too.
    water
        Optional water polygons (see :func:`water_polygons`), drawn under everything.
    analysis
        Optional analysis tables (Gi* cells, emerging hot spots, stadsdel Gi*, local
        Moran per RegSO, clusters), each drawn as a layer with a legend, off at start
        (see :func:`trygghetskarta.render.layers.add_analysis_layers`); a district map
        clips them to the district.
    tiles
        Optional online tile layer offered off by default (e.g. ``"OpenStreetMap"``).
    coverage
        The days the police feed covers (``store.read_coverage``): the info box states the
        covered period and every gap inside ``period`` ("Data saknas 3–9 mars 2026"), a
        band along the bottom of the window repeats the gaps (on screen and in print), and
        the month slider marks the months a gap touches. ``None``: nothing is said.
    freshness
        Optional newest event per source at the run's clock: "Senaste data: …" at the top
        right of every map and in its info box (amber, with what it means, when stale).
    version
        Optional version of the tool, stated in the info box.
    layers
        The source layers to draw, the lead first (see :class:`MapLayer`): each gets a
        density layer, a hot spot layer (Gi* cells), a count choropleth and count labels
        per area, all on the same month slider, with the profile's rules applied to each
        alike; only the lead's other analysis layers (emerging hot spots, Gi* per
        stadsdel, Moran, clusters) are drawn. Empty: one layer made of ``events``,
        ``grid``, ``monthly_grids`` and ``analysis`` (police notices).
    links
        Optional relative links per district name: ``{"map": "jarva.html", "report":
        "../reports/jarva.html"}``; the areas' popups link to them. ``city_link`` is the
        city map's file (from a district map), ``index_link`` the index page.
    max_markers
        Internal profile: a layer with more events than this is not drawn as points (the
        info box says so); counts, density and hot spots show it.

    Raises
    ------
    trygghetskarta.errors.ConfigError
        ``profile`` is not an :class:`~trygghetskarta.render.profile.ExportProfile` (e.g. a
        name: build the profile once with ``ExportProfile.from_settings``).
    """

    districts: gpd.GeoDataFrame
    period: Period
    sources: Sequence[str] | str
    made_at: datetime
    profile: ExportProfile
    stadsdelar: gpd.GeoDataFrame | None = None
    events: pd.DataFrame | None = None
    grid: DensityGrid | None = None
    monthly_grids: Mapping[object, DensityGrid] | None = None
    rates: pd.Series | None = None
    water: gpd.GeoDataFrame | None = None
    analysis: AnalysisLayers | None = None
    tiles: str | None = None
    coverage: Coverage | None = None
    freshness: Freshness | None = None
    version: str | None = None
    layers: Sequence[MapLayer] = ()
    links: Mapping[str, Mapping[str, str]] | None = None
    city_link: str | None = None
    index_link: str | None = None
    max_markers: int = 50_000

    def __post_init__(self) -> None:
        if not isinstance(self.profile, ExportProfile):
            raise ConfigError(
                f"MapScene.profile must be an ExportProfile, got {self.profile!r} — build it "
                "once with ExportProfile.from_settings(settings) or export_profile(name)"
            )

    def source_layers(self) -> list[MapLayer]:
        """:attr:`layers`, or the one police layer of the scene's own fields."""
        if self.layers:
            return list(self.layers)
        return [
            MapLayer(
                layer=Layer.POLICE_EVENT.value,
                label=map_label(Layer.POLICE_EVENT.value),
                events=self.events,
                grid=self.grid,
                monthly_grids=self.monthly_grids,
                analysis=self.analysis,
            )
        ]


def _slider_months(period: Period, events: pd.DataFrame | None) -> list[pd.Timestamp]:
    """The months of the period, or of the events when the period is a free text."""
    bounds = period_bounds(period)
    if bounds is not None:
        return months_between(*bounds)
    if events is None or events.empty or "occurred_at" not in events.columns:
        return []
    month = month_of(events["occurred_at"].dropna())
    return months_between(month.min(), month.max()) if not month.empty else []


def _check_events(events: pd.DataFrame, area_col: str) -> None:
    missing = [c for c in ("occurred_at", area_col) if c not in events.columns]
    if missing:
        raise SchemaError(
            f"events need columns occurred_at and {area_col} for the month slider, "
            f"missing {missing} — pass the events table's rows"
        )


@dataclass(frozen=True)
class _Counts:
    """One source layer's counts per area and month, as the map publishes them."""

    months: list[pd.Timestamp]
    events: pd.DataFrame  # the rows counted (in the slider's months)
    ledgers: list[Disclosure]
    mask: np.ndarray | None  # suppressed, area × (whole period, months); None: internal
    whole: list[str]  # each area's whole-period count as shown ("dolt" where suppressed)
    unplaced: int | None


def _count_table(
    areas: gpd.GeoDataFrame,
    events: pd.DataFrame,
    months: list[pd.Timestamp],
    *,
    source: MapLayer,
    area_col: str,
    profile: ExportProfile,
    district: tuple[str, pd.DataFrame, int | None] | None = None,
) -> _Counts:
    """A layer's counts per area and month with the profile's suppression (pure).

    ``district`` is ``(name, all its events, unplaced)`` on a district map, whose stadsdel
    counts are published together with the district's own row of the city map."""
    in_months = events[month_of(events["occurred_at"]).isin(months).to_numpy()]
    names = [str(n) for n in areas["name"]]
    counts = _pivot(in_months, area_col, names, months)
    keys = [source.key(n) for n in names]
    unplaced = None
    if district is None:
        ledgers, mask = city_table(profile, keys, months, counts)
    else:
        name, everything, n_unplaced = district
        inside = everything[month_of(everything["occurred_at"]).isin(months).to_numpy()]
        row = _pivot(inside.assign(_d=name), "_d", [name], months)[0, 1:]
        ledgers, mask, unplaced = stadsdel_table(
            profile, source.key(name), keys, months, counts, row, n_unplaced
        )
    if profile.public:
        whole = [
            SUPPRESSED_LABEL if h else fmt_int(c)
            for c, h in zip(counts[:, 0], mask[:, 0], strict=True)
        ]
    else:
        mask = None
        whole = [fmt_count(c, profile=profile) for c in counts[:, 0]]
    return _Counts(months, in_months, ledgers, mask, whole, unplaced)


def _add_counts(
    m: folium.Map,
    areas: gpd.GeoDataFrame,
    table: _Counts,
    *,
    source: MapLayer,
    area_col: str,
    period: Period,
    profile: ExportProfile,
    district: bool,
    lead: bool,
) -> None:
    """Draw a layer's count labels and count choropleth (see :func:`add_area_counts`)."""
    web = to_web(areas, "areas")
    local = areas.to_crs(STORE_CRS)
    local = local[local["name"].isin(web["name"])]
    labels = count_labels_name(source.label, district=district)
    fill = count_fill_name(source.label, district=district)
    add_area_counts(
        m,
        local,
        table.events,
        area_col=area_col,
        months=table.months,
        profile=profile,
        geojson=area_geojson(web),
        label_points=label_points(local),
        name_labels=labels,
        name_fill=fill,
        show_labels=lead,
        note=None,
        suppressed=table.mask,
        month_texts=[fmt_month_in(mo, period) for mo in table.months],
    )
    set_group(m, labels, "labels")
    set_group(m, fill, "area")


def _add_slider(
    m: folium.Map, months: list[pd.Timestamp], period: Period, coverage: Coverage | None
) -> None:
    add_month_slider(
        m,
        months,
        period_label=fmt_period(period),
        month_texts=[fmt_month_in(mo, period) for mo in months],
        month_notes=month_notes(coverage, months),
    )


def _figures(
    names: Sequence[str], sources: Sequence[MapLayer], tables: Sequence[_Counts]
) -> dict[str, list[tuple[str, str]]]:
    """Each area's whole-period count per source layer, as shown: ``[(label, text)]``."""
    return {
        n: [(src.label, t.whole[i]) for src, t in zip(sources, tables, strict=True)]
        for i, n in enumerate(names)
    }


def _add_ledger(m: folium.Map, profile: ExportProfile, ledgers: Sequence[Disclosure]) -> None:
    """Embed what the map's counts show, for audits (see :mod:`.disclosure`)."""
    if profile.public and ledgers:
        m.get_root().html.add_child(
            Verbatim(ledger_html(ledgers, min_count=profile.min_count)), name="tk_ledger"
        )


def _monthly_grids(
    monthly_grids: Mapping[object, DensityGrid] | None, months: Sequence[pd.Timestamp]
) -> list[DensityGrid | None] | None:
    """The grids in the slider's month order (``None`` where a month has none)."""
    if not monthly_grids or not months:
        return None
    by_month = {pd.Timestamp(str(k)).to_period("M"): g for k, g in monthly_grids.items()}
    return [by_month.get(pd.Timestamp(mo).to_period("M")) for mo in months]


def _density(
    m: folium.Map,
    source: MapLayer,
    clip_to: object,
    profile: ExportProfile,
    *,
    scale_to: object,
    show: bool,
    monthly: list[DensityGrid | None] | None = None,
) -> None:
    grid = source.grid
    marked = str(grid.params.get("sensitive", "")).lower() == "excluded"
    if profile.public and not marked:
        # one warning per message under the default filter, not one per map
        warnings.warn(
            "public map: the density raster does not say it leaves sensitive events out "
            "(params['sensitive'] != 'excluded'); compute it without them for public maps",
            TrygghetskartaWarning,
            stacklevel=1,
        )
    name = density_name(source.label)
    add_density(
        m,
        grid,
        name=name,
        legend_title=f"{source.label} per km²",
        clip_to=clip_to,
        scale_to=scale_to,
        scale_note=SAME_SCALE_NOTE,
        min_cell=profile.min_cell_m,
        show=show,
        monthly=monthly,
    )
    set_group(m, name, "area")


def _analysis(
    m: folium.Map, source: MapLayer, layers: AnalysisLayers, profile: ExportProfile, lead: bool
) -> None:
    """The layer's Gi* cells; for the lead layer also its other analysis layers."""
    label = source.label
    drawn = [(hotspot_name(label), add_gi_star_cells, layers.gi_cells)]
    if lead:
        drawn += [
            (f"{STADSDEL_GI_LAYER_NAME} – {label}", add_stadsdel_gi, layers.gi_stadsdelar),
            (f"{MORAN_LAYER_NAME} – {label}", add_local_moran, layers.moran),
            (f"{EMERGING_LAYER_NAME} – {label}", add_emerging, layers.emerging),
            (f"{CLUSTER_LAYER_NAME} – {label}", add_clusters, layers.clusters),
        ]
    for name, add, table in drawn:
        if add is add_gi_star_cells and (table is None or table.empty):
            add_no_gi_cells(m, name=name, what=source.noun)
        elif add is add_gi_star_cells:
            add(m, table, profile=profile, name=name, what=source.noun)
        else:
            add(m, table, profile=profile, name=name)
        set_group(m, name, "area")


def _markers(
    m: folium.Map,
    scene: MapScene,
    source: MapLayer,
    events: pd.DataFrame,
    months: list,
    *,
    show: bool,
) -> str | None:
    """Internal profile: the layer's events as markers (on at start for the lead layer),
    or a note why not (too many)."""
    if not scene.profile.show_points or events.empty:
        return None
    if len(events) > scene.max_markers:
        return (
            f"{source.label}: {fmt_int(len(events))} händelser är fler än "
            f"{fmt_int(scene.max_markers)} och visas inte som punkter."
        )
    add_events(m, events, name=events_name(source.label), months=months or None, show=show)
    return None


def city_map(
    scene: MapScene,
    *,
    n_unplaced: int | None = None,
    title: str = "Händelser i Stockholms stad",
    counts: Mapping[str, float] | pd.Series | None = None,
    rates_title: str = "Händelser per 1 000 invånare",
) -> folium.Map:
    """The whole city: every source layer's density, hot spots and counts per district.

    Parameters
    ----------
    scene
        What the map shows and the profile it follows (see :class:`MapScene`): for each
        source layer (:meth:`MapScene.source_layers`, the lead first) a density layer, a
        Gi* layer and counts per district and month; the lead's density is on at start.
        The colour layers form one radio group and the count labels another (one shown
        at a time); the districts answer hover and click with their name, their counts
        per layer and (``scene.links``) links to their map and lägesbild.
    n_unplaced
        Events of the period that could not be placed, for the info box (shown on its
        own, so only the profile's minimum count applies); ``None`` leaves it out.
    title
        Title in the info box and of the page.
    counts
        Count per district name for static labels; used only when no layer has events.
    rates_title
        Legend title of the choropleth of ``scene.rates``.

    Returns
    -------
    folium.Map
    """
    profile, districts, period = scene.profile, scene.districts, scene.period
    sources = scene.source_layers()
    local = districts.to_crs(STORE_CRS)
    city = local.geometry.union_all()
    m = base_map(tuple(local.total_bounds), tiles=scene.tiles)
    if scene.water is not None:
        add_water(m, scene.water)
    if scene.stadsdelar is not None:
        add_districts(
            m, scene.stadsdelar, name="Stadsdelar", color="#8a8a8a", weight=0.8, fill_opacity=0
        )
    with_events = [s for s in sources if s.events is not None]
    months = _slider_months(period, with_events[0].events if with_events else None)
    tables: list[_Counts] = []
    for source in with_events:
        _check_events(source.events, "stadsdelsomrade")
        if months:
            tables.append(
                _count_table(
                    districts,
                    source.events,
                    months,
                    source=source,
                    area_col="stadsdelsomrade",
                    profile=profile,
                )
            )
    names = [str(n) for n in districts["name"]]
    counted = [s for s in with_events if months]
    add_area_info(
        m,
        districts,
        name="Stadsdelsområden",
        figures=_figures(names, counted, tables),
        period_text=fmt_period(period),
        links=_links(scene, names, city=True),
    )
    if scene.rates is not None:
        add_districts(
            m, districts, name=rates_title, values=scene.rates, legend_title=rates_title, show=False
        )
        set_group(m, rates_title, "area")
    lead_drawn = False
    for i, source in enumerate(sources):
        if source.grid is not None:
            monthly = _monthly_grids(source.monthly_grids, months)
            _density(m, source, city, profile, scale_to=city, show=not lead_drawn, monthly=monthly)
            lead_drawn = True
        if source.analysis is not None:
            _analysis(m, source, source.analysis, profile, lead=i == 0)
    ledgers: list[Disclosure] = []
    notes = list(profile.map_notes)
    for source, table in zip(counted, tables, strict=True):
        _add_counts(
            m,
            districts,
            table,
            source=source,
            area_col="stadsdelsomrade",
            period=period,
            profile=profile,
            district=False,
            lead=source is counted[0],
        )
        ledgers += table.ledgers
        note = _markers(m, scene, source, source.events, months, show=source is counted[0])
        if note:
            notes.append(note)
    if months and counted:
        _add_slider(m, months, period, scene.coverage)
    elif counts is not None:
        add_count_labels(m, districts, counts, name="Antal händelser", profile=profile)
    if n_unplaced is not None and profile.single(n_unplaced) is None:
        # Shown on its own (the city's total is shown nowhere), so only the minimum applies.
        n_unplaced = None
        notes.append("Antal händelser som inte kunde placeras: dolt.")
    return _finish_map(m, scene, title, period, n_unplaced, notes, ledgers)


def _links(scene: MapScene, names: Sequence[str], *, city: bool) -> dict[str, list]:
    """Per area, ``[(text, href)]``: its district map (from the city map) and lägesbild."""
    out: dict[str, list] = {}
    for n in names:
        found = (scene.links or {}).get(n, {})
        links = []
        if city and found.get("map"):
            links.append((f"Karta över {n}", found["map"]))
        if found.get("report"):
            links.append((f"Lägesbild för {n}", found["report"]))
        out[n] = links
    return out


def _finish_map(
    m: folium.Map,
    scene: MapScene,
    title: str,
    period: Period,
    n_unplaced: int | None,
    notes: list[str],
    ledgers: Sequence[Disclosure],
    links: Sequence[tuple[str, str]] = (),
) -> folium.Map:
    """What every map ends with: the page title, the info box (period, coverage and gaps,
    freshness, version, links), the gap band, the "Senaste data" box and the ledger."""
    covered, gaps = coverage_lines(scene.coverage, period)
    if scene.index_link:
        links = [*links, ("Alla kartor och lägesbilder", scene.index_link)]
    add_info_box(
        m,
        title=title,
        period=period,
        sources=scene.sources,
        made_at=scene.made_at,
        n_unplaced=n_unplaced,
        notes=notes,
        coverage=covered,
        gaps=gaps,
        freshness=scene.freshness,
        version=scene.version,
        links=links,
    )
    add_gap_band(m, scene.coverage, period)
    add_freshness(m, scene.freshness)
    _add_ledger(m, scene.profile, ledgers)
    set_title(m, f"{title}, {fmt_period(period)}")
    return _finish(m)


def district_map(
    scene: MapScene,
    district: str,
    *,
    n_unplaced: int | None = None,
    title: str | None = None,
    counts: Mapping[str, float] | pd.Series | None = None,
    padding_m: float = 500.0,
) -> folium.Map:
    """One district: its outline and stadsdelar, and every source layer clipped to it.

    The density layers keep the city map's colour scale (the ramp's top is the whole
    city's), so a district map zooms into the city map and never recolours.

    Parameters
    ----------
    scene
        What the maps show and the profile they follow (see :class:`MapScene`): each
        source layer's rows of the district (``stadsdelsomrade == district``) give the
        counts per stadsdel and month (``scene.stadsdelar`` must be given) and, in the
        internal profile, the markers; ``scene.stadsdelar`` whose interior point lies in
        the district are drawn and labelled, and answer hover and click with their counts
        per layer and links to the district's lägesbild and the city map; density grids
        and analysis layers are clipped to the district. In the public profile the
        counts per stadsdel leave sensitive events out (they count only per district).
    district
        The district's name, as in ``scene.districts["name"]``.
    n_unplaced
        The district's events of the period (of ``scene.events``, the police notices)
        that could not be placed, for the info box (published with the district's
        counts); ``None`` leaves it out.
    title
        Info box title; ``"<district> – händelser"`` when ``None``.
    counts
        Optional count per stadsdel name for static labels (``scene.stadsdelar`` must be
        given); used only when no layer has events.
    padding_m
        Margin around the district when fitting the view, metres.

    Returns
    -------
    folium.Map
    """
    profile, districts, period = scene.profile, scene.districts, scene.period
    local = districts.to_crs(STORE_CRS)
    chosen = local[local["name"] == district]
    if chosen.empty:
        raise ConfigError(f"unknown district {district!r}; expected one of {sorted(local['name'])}")
    shape = chosen.geometry.union_all()
    city = local.geometry.union_all()
    sources = scene.source_layers()
    minx, miny, maxx, maxy = shape.bounds
    m = base_map(
        (minx - padding_m, miny - padding_m, maxx + padding_m, maxy + padding_m),
        tiles=scene.tiles,
    )
    notes = list(profile.map_notes)
    if scene.water is not None:
        add_water(m, scene.water)
    others = local[local["name"] != district]
    if not others.empty:
        add_districts(
            m, others, name="Övriga stadsdelsområden", color="#9a9a9a", weight=1, fill_opacity=0
        )
    inner = None
    if scene.stadsdelar is not None:
        sd = scene.stadsdelar.to_crs(STORE_CRS)
        inner = sd[sd.geometry.representative_point().within(shape.buffer(1.0))]
    with_events = [s for s in sources if s.events is not None]
    if with_events and inner is None:
        raise SchemaError("counts per stadsdel need stadsdelar= to place the labels")
    lead_events = None
    if with_events:
        _check_events(with_events[0].events, "stadsdelsomrade")
        lead_events = with_events[0].events
        lead_events = lead_events[lead_events["stadsdelsomrade"] == district]
    months = _slider_months(period, lead_events)
    tables: list[_Counts] = []
    mine: list[pd.DataFrame] = []
    unplaced_given = n_unplaced is not None
    sensitive_note = False
    for source in with_events:
        _check_events(source.events, "stadsdelsomrade")
        events = source.events[source.events["stadsdelsomrade"] == district]
        _check_events(events, "stadsdel")
        mine.append(events)
        if not profile.sensitive_detail and sensitive_mask(events).any():
            sensitive_note = True
        if not months:
            continue
        # The police notices' unplaced events are published with their stadsdel table.
        is_police = source.layer == Layer.POLICE_EVENT.value
        tables.append(
            _count_table(
                inner,
                drop_sensitive(events, profile),
                months,
                source=source,
                area_col="stadsdel",
                profile=profile,
                district=(district, events, n_unplaced if is_police else None),
            )
        )
        if is_police:
            n_unplaced = tables[-1].unplaced
    if sensitive_note:
        # No number: it would be a count below five, or give one away by subtraction.
        notes.append(
            "Händelser av känslig art (t.ex. sexualbrott) räknas bara för hela "
            "stadsdelsområdet, inte per stadsdel."
        )
    counted = [s for s in with_events if months]
    if inner is not None:
        names = [str(n) for n in inner["name"]]
        add_area_info(
            m,
            inner,
            name="Stadsdelar",
            figures=_figures(names, counted, tables),
            period_text=fmt_period(period),
            links={n: _district_links(scene, district) for n in names},
            color="#777777",
            weight=1,
        )
    add_districts(m, chosen, name=district, weight=3.5, fill_opacity=0.0)
    lead_drawn = False
    for i, source in enumerate(sources):
        if source.grid is not None:
            _density(m, source, shape, profile, scale_to=city, show=not lead_drawn)
            lead_drawn = True
        if source.analysis is not None:
            _analysis(m, source, source.analysis.clipped(shape), profile, lead=i == 0)
    ledgers: list[Disclosure] = []
    for source, table, events in zip(counted, tables, mine, strict=False):
        _add_counts(
            m,
            inner,
            table,
            source=source,
            area_col="stadsdel",
            period=period,
            profile=profile,
            district=True,
            lead=source is counted[0],
        )
        ledgers += table.ledgers
        note = _markers(m, scene, source, events, months, show=source is counted[0])
        if note:
            notes.append(note)
    if months and counted:
        _add_slider(m, months, period, scene.coverage)
    elif counts is not None:
        if inner is None:
            raise SchemaError("counts per stadsdel need stadsdelar= to place the labels")
        add_count_labels(m, inner, counts, name="Antal händelser per stadsdel", profile=profile)
    if n_unplaced is not None and not (months and counted):
        n_unplaced = profile.single(n_unplaced)
    if unplaced_given and n_unplaced is None:
        notes.append("Antal händelser som inte kunde placeras: dolt.")
    title = title or f"{district} – händelser"
    return _finish_map(
        m, scene, title, period, n_unplaced, notes, ledgers, _district_links(scene, district)
    )


def _district_links(scene: MapScene, district: str) -> list[tuple[str, str]]:
    """From a district map: its lägesbild and the city map."""
    links = []
    report = (scene.links or {}).get(district, {}).get("report")
    if report:
        links.append((f"Lägesbild för {district}", report))
    if scene.city_link:
        links.append(("Stadskartan (hela Stockholm)", scene.city_link))
    return links
