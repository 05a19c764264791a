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
import pandas as pd

from trygghetskarta.config import STORE_CRS
from trygghetskarta.coverage import Coverage
from trygghetskarta.errors import ConfigError, SchemaError, TrygghetskartaWarning
from trygghetskarta.freshness import Freshness
from trygghetskarta.render.basemap import _finish, add_events, base_map
from trygghetskarta.render.coverage import add_gap_band, coverage_lines, month_notes
from trygghetskarta.render.disclosure import Disclosure, ledger_html
from trygghetskarta.render.format import Period, fmt_month_in, fmt_period, period_bounds
from trygghetskarta.render.layers import AnalysisLayers, add_analysis_layers
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
    add_count_labels,
    add_districts,
    add_water,
    area_geojson,
    label_points,
    to_web,
)
from trygghetskarta.render.verbatim import Verbatim

DENSITY_LAYER_NAME = "Täthet (händelser per km²)"


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

    def __post_init__(self) -> None:
        if not isinstance(self.profile, ExportProfile):
            raise ConfigError(
                f"MapScene.profile must be an ExportProfile, got {self.profile!r} — build it "
                "once with ExportProfile.from_settings(settings) or export_profile(name)"
            )


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


def _add_time_layers(
    m: folium.Map,
    areas: gpd.GeoDataFrame,
    events: pd.DataFrame,
    *,
    area_col: str,
    period: Period,
    profile: ExportProfile,
    names: tuple[str, str],
    note: str | None,
    district: tuple[str, pd.DataFrame, int | None] | None = None,
    coverage: Coverage | None = None,
) -> tuple[list[pd.Timestamp], list[Disclosure], int | None]:
    """The count labels, choropleth and slider; returns the months, the ledgers of the
    counts shown and (for a district) the number of unplaced events that may be shown.

    ``district`` is ``(name, all its events, unplaced)`` on a district map, whose stadsdel
    counts are published together with the district's own row of the city map."""
    months = _slider_months(period, events)
    if not months:
        unplaced = None if district is None or district[2] is None else district[2]
        return months, [], None if unplaced is None else profile.single(unplaced)
    in_months = month_of(events["occurred_at"]).isin(months)
    texts = [fmt_month_in(mo, period) for mo in months]  # "1–22 aug 2026" where cut
    web = to_web(areas, "areas")
    local = areas.to_crs(STORE_CRS)
    local = local[local["name"].isin(web["name"])]
    area_names = [str(n) for n in local["name"]]
    counts = _pivot(events[in_months.to_numpy()], area_col, area_names, months)
    unplaced = None
    if district is None:
        ledgers, mask = city_table(profile, area_names, months, counts)
    else:
        name, everything, n_unplaced = district
        inside = everything[month_of(everything["occurred_at"]).isin(months).to_numpy()]
        row = _pivot(inside.assign(_d=name), "_d", [name], months)[0, 1:]
        ledgers, mask, unplaced = stadsdel_table(
            profile, name, area_names, months, counts, row, n_unplaced
        )
    add_area_counts(
        m,
        local,
        events[in_months.to_numpy()],
        area_col=area_col,
        months=months,
        profile=profile,
        geojson=area_geojson(web),
        label_points=label_points(local),
        name_labels=names[0],
        name_fill=names[1],
        note=note,
        suppressed=mask if profile.public else None,
        month_texts=texts,
    )
    add_month_slider(
        m,
        months,
        period_label=fmt_period(period),
        month_texts=texts,
        month_notes=month_notes(coverage, months),
    )
    return months, ledgers, unplaced


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
    grid: DensityGrid,
    clip_to: object,
    profile: ExportProfile,
    show: bool = True,
    monthly: list[DensityGrid | None] | None = None,
) -> None:
    marked = str(grid.params.get("sensitive", "")).lower() == "excluded"
    if profile.public and not marked:
        # one warning per message under the default filter, not one per map
        warnings.warn(
            "public map: the density raster does not say it leaves sensitive events out "
            "(params['sensitive'] != 'excluded'); compute it without them for public maps",
            TrygghetskartaWarning,
            stacklevel=1,
        )
    add_density(
        m,
        grid,
        name=DENSITY_LAYER_NAME,
        clip_to=clip_to,
        min_cell=profile.min_cell_m,
        show=show,
        monthly=monthly,
    )


def city_map(
    scene: MapScene,
    *,
    n_unplaced: int | None = None,
    title: str = "Händelser i Stockholms stad",
    counts: Mapping[str, float] | pd.Series | None = None,
    rates_title: str = "Händelser per 1 000 invånare",
) -> folium.Map:
    """The whole city: districts, rate choropleth, density, counts per month and events.

    Parameters
    ----------
    scene
        What the map shows and the profile it follows (see :class:`MapScene`).
    n_unplaced
        Events of the period that could not be placed, for the info box (shown on its
        own, so only the profile's minimum count applies); ``None`` leaves it out.
    title
        Title in the info box.
    counts
        Count per district name for static labels; used only when ``scene.events`` is
        ``None``.
    rates_title
        Legend title of the choropleth of ``scene.rates``.

    Returns
    -------
    folium.Map
    """
    profile, districts, period, events = scene.profile, scene.districts, scene.period, scene.events
    grid, rates = scene.grid, scene.rates
    m = base_map(tuple(districts.to_crs(STORE_CRS).total_bounds), tiles=scene.tiles)
    if scene.water is not None:
        add_water(m, scene.water)
    if scene.stadsdelar is not None:
        add_districts(
            m, scene.stadsdelar, name="Stadsdelar", color="#8a8a8a", weight=0.8, fill_opacity=0
        )
    add_districts(m, districts, name="Stadsdelsområden", fill_opacity=0.0)
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
        monthly = _monthly_grids(scene.monthly_grids, _slider_months(period, events))
        _density(
            m, grid, districts.to_crs(STORE_CRS).geometry.union_all(), profile, monthly=monthly
        )
    if scene.analysis is not None:
        add_analysis_layers(m, scene.analysis, profile=profile)
    months: list[pd.Timestamp] = []
    ledgers: list[Disclosure] = []
    if events is not None:
        _check_events(events, "stadsdelsomrade")
        months, ledgers, _ = _add_time_layers(
            m,
            districts,
            events,
            area_col="stadsdelsomrade",
            period=period,
            profile=profile,
            names=("Antal händelser", "Antal händelser (färg per område)"),
            note=None,
            coverage=scene.coverage,
        )
        if profile.show_points:
            add_events(m, events, name="Enskilda händelser", months=months or None)
    elif counts is not None:
        add_count_labels(m, districts, counts, name="Antal händelser", profile=profile)
    notes = list(profile.map_notes)
    if n_unplaced is not None and profile.single(n_unplaced) is None:
        # Shown on its own (the city's total is shown nowhere), so only the minimum applies.
        n_unplaced = None
        notes.append("Antal händelser som inte kunde placeras: dolt.")
    return _finish_map(m, scene, title, period, n_unplaced, notes, ledgers)


def _finish_map(
    m: folium.Map,
    scene: MapScene,
    title: str,
    period: Period,
    n_unplaced: int | None,
    notes: list[str],
    ledgers: Sequence[Disclosure],
) -> folium.Map:
    """What every map ends with: the info box (period, coverage and gaps, freshness,
    version), the gap band, the "Senaste data" box and the disclosure ledger."""
    covered, gaps = coverage_lines(scene.coverage, period)
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
    )
    add_gap_band(m, scene.coverage, period)
    add_freshness(m, scene.freshness)
    _add_ledger(m, scene.profile, ledgers)
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
    """One district: its outline, its stadsdelar, density clipped to it, counts and events.

    Parameters
    ----------
    scene
        What the maps show and the profile they follow (see :class:`MapScene`): the
        district's rows of ``scene.events`` (``stadsdelsomrade == district``) give the
        counts per stadsdel and month (``scene.stadsdelar`` must be given) and, in the
        internal profile, the markers; ``scene.stadsdelar`` whose interior point lies in
        the district are drawn and labelled; the density grid and the analysis layers are
        clipped to the district. In the public profile the counts per stadsdel leave
        sensitive events out (they count only per district).
    district
        The district's name, as in ``scene.districts["name"]``.
    n_unplaced
        The district's events of the period that could not be placed, for the info box
        (published with the district's counts); ``None`` leaves it out.
    title
        Info box title; ``"<district> – händelser"`` when ``None``.
    counts
        Optional count per stadsdel name for static labels (``scene.stadsdelar`` must be
        given); used only when ``scene.events`` is ``None``.
    padding_m
        Margin around the district when fitting the view, metres.

    Returns
    -------
    folium.Map
    """
    profile, districts, period, grid = scene.profile, scene.districts, scene.period, scene.grid
    events = scene.events
    if events is not None:
        _check_events(events, "stadsdelsomrade")
        events = events[events["stadsdelsomrade"] == district]
    local = districts.to_crs(STORE_CRS)
    chosen = local[local["name"] == district]
    if chosen.empty:
        raise ConfigError(f"unknown district {district!r}; expected one of {sorted(local['name'])}")
    shape = chosen.geometry.union_all()
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
        add_districts(m, inner, name="Stadsdelar", color="#777777", weight=1, fill_opacity=0)
    add_districts(m, chosen, name=district, weight=3.5, fill_opacity=0.0)
    if grid is not None:
        _density(m, grid, shape, profile)
    if scene.analysis is not None:
        add_analysis_layers(m, scene.analysis.clipped(shape), profile=profile)
    ledgers: list[Disclosure] = []
    unplaced_given = n_unplaced is not None
    if events is not None:
        if inner is None:
            raise SchemaError("counts per stadsdel need stadsdelar= to place the labels")
        _check_events(events, "stadsdel")
        shown = drop_sensitive(events, profile)
        if not profile.sensitive_detail and sensitive_mask(events).any():
            # No number: it would be a count below five, or give one away by subtraction.
            notes.append(
                "Händelser av känslig art (t.ex. sexualbrott) räknas bara för hela "
                "stadsdelsområdet, inte per stadsdel."
            )
        months, ledgers, n_unplaced = _add_time_layers(
            m,
            inner,
            shown,
            area_col="stadsdel",
            period=period,
            profile=profile,
            names=("Antal händelser per stadsdel", "Antal händelser (färg per stadsdel)"),
            note=None,
            district=(district, events, n_unplaced),
            coverage=scene.coverage,
        )
        if profile.show_points:
            add_events(m, events, name="Enskilda händelser", months=months or None)
    elif counts is not None:
        if inner is None:
            raise SchemaError("counts per stadsdel need stadsdelar= to place the labels")
        add_count_labels(m, inner, counts, name="Antal händelser per stadsdel", profile=profile)
    if n_unplaced is not None and events is None:
        n_unplaced = profile.single(n_unplaced)
    if unplaced_given and n_unplaced is None:
        notes.append("Antal händelser som inte kunde placeras: dolt.")
    title = title or f"{district} – händelser"
    return _finish_map(m, scene, title, period, n_unplaced, notes, ledgers)
