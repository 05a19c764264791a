"""The city map and the district map: :func:`city_map`, :func:`district_map`.

Part of :mod:`trygghetskarta.render`. Each builds a whole map from frames and the export
profile, with the month slider, the layers of the analyse step and the embedded ledger.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import folium
import folium.plugins
import geopandas as gpd
import pandas as pd

from trygghetskarta.config import STORE_CRS
from trygghetskarta.coverage import Coverage
from trygghetskarta.errors import ConfigError, SchemaError
from trygghetskarta.freshness import Freshness
from trygghetskarta.render.basemap import _finish, base_map, set_group, set_title
from trygghetskarta.render.coverage import add_gap_band, coverage_lines
from trygghetskarta.render.disclosure import Disclosure
from trygghetskarta.render.format import (
    Period,
    fmt_period,
)
from trygghetskarta.render.layers import (
    AnalysisLayers,
)
from trygghetskarta.render.legend import (
    add_freshness,
    add_info_box,
)
from trygghetskarta.render.map_parts import (
    MapLayer,
    _add_counts,
    _add_ledger,
    _add_slider,
    _analysis,
    _check_events,
    _count_table,
    _Counts,
    _density,
    _figures,
    _markers,
    _monthly_grids,
    _slider_months,
    map_label,
)
from trygghetskarta.render.profile import (
    ExportProfile,
    drop_sensitive,
    sensitive_mask,
)
from trygghetskarta.render.raster import DensityGrid
from trygghetskarta.render.vector import (
    add_area_info,
    add_count_labels,
    add_districts,
    add_water,
)
from trygghetskarta.schema import Layer


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
    max_markers: int = 20_000

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
    slider = months if months and counted else None
    if slider is None and counts is not None:
        add_count_labels(m, districts, counts, name="Antal händelser", profile=profile)
    if n_unplaced is not None and profile.single(n_unplaced) is None:
        # Shown on its own (the city's total is shown nowhere), so only the minimum applies.
        n_unplaced = None
        notes.append("Antal händelser som inte kunde placeras: dolt.")
    return _finish_map(m, scene, title, period, n_unplaced, notes, ledgers, slider=slider)


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
    *,
    slider: list[pd.Timestamp] | None = None,
) -> folium.Map:
    """What every map ends with: the page title, the info box (period, coverage and gaps,
    freshness, version, links), the month slider over ``slider``'s months (added after
    the info box: it sits above it and comes before it for the keyboard), the gap band,
    the "Senaste data" box and the ledger."""
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
    if slider:
        _add_slider(m, slider, period, scene.coverage)
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
    slider = months if months and counted else None
    if slider is None and counts is not None:
        if inner is None:
            raise SchemaError("counts per stadsdel need stadsdelar= to place the labels")
        add_count_labels(m, inner, counts, name="Antal händelser per stadsdel", profile=profile)
    if n_unplaced is not None and not (months and counted):
        n_unplaced = profile.single(n_unplaced)
    if unplaced_given and n_unplaced is None:
        notes.append("Antal händelser som inte kunde placeras: dolt.")
    title = title or f"{district} – händelser"
    return _finish_map(
        m,
        scene,
        title,
        period,
        n_unplaced,
        notes,
        ledgers,
        _district_links(scene, district),
        slider=slider,
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
