"""What the maps and reports of one run show: the scene, read once from the store and the rasters.

Part of the wiring layer: :func:`build_scene` reads the store, the ``analyse`` step's
rasters and tables and the ``forecast`` step's outlook once per run; the ``maps`` and
``report`` steps (:mod:`trygghetskarta.pipeline.publish`) turn the :class:`Scene` into what
:mod:`trygghetskarta.render` draws. Maps and reports show the districts of the scheme in
force at the end of the period.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb
import geopandas as gpd
import pandas as pd

from trygghetskarta import areas as areas_mod
from trygghetskarta import render, store
from trygghetskarta.analysis import trends
from trygghetskarta.analysis.grid import Grid
from trygghetskarta.config import Settings
from trygghetskarta.coverage import Coverage
from trygghetskarta.freshness import Freshness, assess
from trygghetskarta.periods import Comparison, Period, default_period
from trygghetskarta.pipeline import forecast as forecast_files
from trygghetskarta.pipeline import outputs
from trygghetskarta.pipeline.analyse.inputs import DataWindow, read_window
from trygghetskarta.pipeline.steps import StepResult
from trygghetskarta.pipeline.steps import now as _steps_now
from trygghetskarta.render import (
    AnalysisLayers,
)
from trygghetskarta.schema import GEOCODED_COLUMNS, LAYER_LABELS_SV, Layer

SOURCES = [
    "Polisen (polisen.se, händelser)",
    "Stockholms stad (områden, befolkning)",
    "SCB (RegSO)",
]
KOMMUN_AREA = "Stockholm"
_log = logging.getLogger(__name__)

_EVENT_COLUMNS = [
    "event_uid",
    "sensitive",
    "layer",
    "category",
    "source_type",
    "occurred_at",
    "summary",
    "url",
    *GEOCODED_COLUMNS,  # position, precision, place and areas
]


def slug(name: str) -> str:
    """A file name for a district: ``Hägersten-Älvsjö`` → ``hagersten-alvsjo``.

    Only ASCII letters and digits are kept (words joined by ``-``): a name from a boundary
    file is text, never a path (``../x`` → ``x``); a name with none gives ``omrade``.
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "-".join(re.sub(r"[^a-z0-9]+", " ", ascii_name.lower()).split()) or "omrade"


#: The order in which the maps' layer control and the lägesbild show the source layers:
#: reported crimes lead (when the store has them), then the police's notices, shootings, fires.
LAYER_ORDER = (
    Layer.REPORTED_CRIME.value,
    Layer.POLICE_EVENT.value,
    Layer.SHOOTING.value,
    Layer.FIRE.value,
)


@dataclass(frozen=True)
class SourceLayer:
    """One source layer (police notices, reported crimes, shootings or fires) of a scene.

    Built once by :func:`build_scene` for every layer that has events in the scene's window;
    :attr:`Scene.layers` holds them in :data:`LAYER_ORDER`.
    """

    layer: str  # a :class:`~trygghetskarta.schema.Layer` value
    label: str  # its Swedish name (:data:`~trygghetskarta.schema.LAYER_LABELS_SV`)
    events: pd.DataFrame  # from a year before the period to its end, districts in the scheme
    grid: Grid | None  # the analyse step's density raster of the period (None: not written)
    # the analyse step's monthly density rasters of the layer, "YYYY-MM" → grid
    monthly: Mapping[str, Grid] = dataclasses.field(default_factory=dict)
    analysis: AnalysisLayers | None = None  # Gi*, emerging, clusters … of the layer, all categories


@dataclass(frozen=True)
class Scene:
    """Everything the maps and reports of one run show (built once, used by both steps).

    :func:`map_scene` and :func:`report_scene` turn it into what :mod:`~trygghetskarta.render`
    and :mod:`~trygghetskarta.report` take, with the run's export profile.
    """

    period: Period
    scheme: str
    districts: gpd.GeoDataFrame
    stadsdelar: gpd.GeoDataFrame
    events: pd.DataFrame  # police events from a year before the period to its end
    population: pd.DataFrame
    grid: Grid | None
    made_at: pd.Timestamp
    water: gpd.GeoDataFrame | None = None
    analysis: AnalysisLayers | None = None
    crime_stats: pd.DataFrame | None = None  # Brå's reported crimes (None: none stored)
    # the analyse step's monthly density rasters of police events, "YYYY-MM" → grid
    monthly: Mapping[str, Grid] = dataclasses.field(default_factory=dict)
    # where the police data are complete; ``period`` knows the same ends (Period.with_data)
    window: DataWindow | None = None
    # the days the police feed covers (None: no coverage recorded yet)
    coverage: Coverage | None = None
    # each source's newest event at the run's clock ("Senaste data" on every page)
    freshness: Freshness | None = None
    # every source layer with events in the window, in LAYER_ORDER; the police layer's
    # events, grid, monthly and analysis are also the fields above
    layers: Mapping[str, SourceLayer] = dataclasses.field(default_factory=dict)
    # the forecast step's forecast, back-test verdict and follow-up of measures (None: none)
    outlook: render.Outlook | None = None

    @property
    def comparison(self) -> Comparison:
        """The period against the same days a year before, with the feed's gaps."""
        return self.period.comparison(None if self.window is None else self.window.coverage)

    @property
    def in_period(self) -> pd.DataFrame:
        return self.events[self.period.contains(self.events["occurred_at"])]


#: The analysis tables the maps show: AnalysisLayers field → file name prefix.
_ANALYSIS_TABLES = {
    "gi_cells": "gi_star_cells",
    "emerging": "emerging_cells",
    "gi_stadsdelar": "gi_star_stadsdelar",
    "moran": "local_moran_regso",
    "clusters": "clusters",
}


def load_analysis(
    processed_dir: Path,
    period_slug: str,
    *,
    layer: str = Layer.POLICE_EVENT.value,
    category: str = "all",
) -> AnalysisLayers:
    """The ``analyse`` step's tables of one period for one source layer and category.

    A missing file leaves its layer out (logged at info level), never an error; rows of
    other layers or categories are dropped (tables without those columns are kept whole).
    """
    tables: dict[str, gpd.GeoDataFrame | None] = {}
    for field, prefix in _ANALYSIS_TABLES.items():
        path = processed_dir / "tables" / f"{prefix}_{period_slug}.parquet"
        if not path.exists():
            _log.info("no %s — the map leaves that layer out", path.name)
            tables[field] = None
            continue
        gdf = outputs.read_geoparquet(path)
        if "layer" in gdf.columns:
            gdf = gdf[gdf["layer"] == layer]
        if "category" in gdf.columns:
            gdf = gdf[gdf["category"] == category]
        tables[field] = gdf
    return AnalysisLayers(**tables)


def build_scene(
    settings: Settings, con: duckdb.DuckDBPyConnection, *, now: pd.Timestamp | None = None
) -> Scene | None:
    """Read the store and the rasters once; ``None`` when there are no events yet.

    ``now`` is the run's clock (default: the current time): the pages are "Skapad" then,
    and each source's freshness is seen from it.
    """
    clock = _steps_now() if now is None else now
    span = store.event_period(con)
    if span is None:
        return None
    all_times = pd.Series([span[0], span[1]])
    chosen = settings.analysis.period
    period = Period.months(*chosen) if chosen else default_period(all_times)
    window = read_window(con, settings.analysis)
    if window.data_end is not None and window.data_end >= period.first_day:
        period = period.with_data(window.data_end, window.data_start)
    else:
        period = period.with_data(None, window.data_start)
    areas = areas_mod.load_areas(settings.require_data())
    scheme = areas_mod.scheme_at(period.last_month)
    layers = read_layers(settings, con, period, areas, scheme)
    police = layers.get(Layer.POLICE_EVENT.value) or _empty_layer(Layer.POLICE_EVENT.value)
    population = store.read_table(con, "population")
    crime_stats = store.read_table(con, "crime_stats")
    water = render.water_polygons(areas.kommun, areas_mod.load_land(settings.require_data()))
    return Scene(
        coverage=read_coverage(con),
        water=water,
        analysis=police.analysis,
        crime_stats=crime_stats if len(crime_stats) else None,
        period=period,
        scheme=scheme,
        districts=areas.districts(scheme),
        stadsdelar=areas.stadsdelar[["name", "geometry"]],
        events=police.events,
        population=population,
        grid=police.grid,
        made_at=clock,
        monthly=police.monthly,
        window=window,
        freshness=assess(store.newest_events(con), now=clock, policy=settings.freshness),
        layers=layers,
        outlook=forecast_files.read_outlook(settings, areas, scheme),
    )


def _empty_layer(layer: str) -> SourceLayer:
    """A layer without events (the police layer of a store that holds only other layers)."""
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in _EVENT_COLUMNS})
    empty["occurred_at"] = pd.Series(dtype="datetime64[us, Europe/Stockholm]")
    for c in ("x", "y", "uncertainty_m"):
        empty[c] = pd.Series(dtype=float)
    return SourceLayer(layer=layer, label=LAYER_LABELS_SV[Layer(layer)], events=empty, grid=None)


def read_layers(
    settings: Settings,
    con: duckdb.DuckDBPyConnection,
    period: Period,
    areas: areas_mod.Areas,
    scheme: str,
) -> dict[str, SourceLayer]:
    """Every source layer with events from a year before ``period`` to its end.

    In :data:`LAYER_ORDER`: each layer's events (districts named in ``scheme``), the
    ``analyse`` step's density raster and monthly rasters of the period, and its analysis
    tables (all categories).
    """
    events = store.read_events(
        con,
        layers=list(LAYER_ORDER),
        start=period.year_before().start,
        end=period.end,
        columns=_EVENT_COLUMNS,
    )
    if scheme == areas_mod.SCHEME_2024:
        # Events before 2024 carry 13-area names; show them in the scheme of the map.
        renamed = {str(n): areas.to_2024(str(n)) for n in areas.sdo_13["name"]}
        events["stadsdelsomrade"] = events["stadsdelsomrade"].map(lambda n: renamed.get(n, n))
    found: dict[str, SourceLayer] = {}
    for layer in LAYER_ORDER:
        mine = events[events["layer"] == layer].reset_index(drop=True)
        if mine.empty:
            continue
        raster = settings.processed_dir / "rasters" / f"density_{layer}_{period.slug}.tif"
        found[layer] = SourceLayer(
            layer=layer,
            label=LAYER_LABELS_SV[Layer(layer)],
            events=mine,
            grid=outputs.read_geotiff(raster) if raster.exists() else None,
            monthly=_monthly_rasters(settings, layer, period),
            analysis=load_analysis(settings.processed_dir, period.slug, layer=layer),
        )
    return found


#: The source whose coverage the maps and reports state (the police events they show).
COVERAGE_SOURCE = "polisen"


def read_coverage(con: duckdb.DuckDBPyConnection) -> Coverage | None:
    """The police feed's coverage, read once per scene; ``None`` when no day was recorded
    (a database from before coverage was kept: the pages then say nothing about it)."""
    coverage = store.read_coverage(con, COVERAGE_SOURCE)
    if coverage.first is None:
        recorded = store.coverage_days(con, COVERAGE_SOURCE)
        if recorded.empty:
            return None
    return coverage


def coverage_summary(scene: Scene) -> dict[str, object]:
    """The coverage for a manifest: the covered span, and every gap inside the period shown
    (first and last day, days, the Swedish label), the days before the first covered day
    included (see :func:`render.gaps_between`)."""
    coverage = scene.coverage
    if coverage is None:
        return {"source": COVERAGE_SOURCE, "recorded": False}
    first = scene.period.start.date()
    last = (scene.period.end - pd.Timedelta(seconds=1)).date()
    gaps = render.gaps_between(coverage, first, last)
    return {
        "source": coverage.source,
        "recorded": True,
        "first": None if coverage.first is None else coverage.first.isoformat(),
        "last": None if coverage.last is None else coverage.last.isoformat(),
        "label": coverage.label,
        "gap_days": sum(g.days for g in gaps),
        "gaps": [
            {
                "first": g.first.isoformat(),
                "last": g.last.isoformat(),
                "days": g.days,
                "label": g.label,
            }
            for g in gaps
        ],
    }


def note_coverage(scene: Scene, result: StepResult) -> None:
    """The coverage in the step's counts (the run summary) and a warning per gap."""
    summary = coverage_summary(scene)
    if not summary["recorded"]:
        result.warnings.append(
            "no coverage of the police feed is recorded — run `trygghetskarta ingest` so that "
            "the maps and reports can state which days the data covers"
        )
        return
    result.counts.update(coverage=summary["label"], gap_days=summary["gap_days"])
    gaps = summary["gaps"]
    if gaps:
        labels = "; ".join(str(g["label"]) for g in gaps)
        result.warnings.append(
            f"polisen: {summary['gap_days']} days of the period are gaps in the data ({labels}); "
            "the pages say so"
        )


def _monthly_rasters(settings: Settings, layer: str, period: Period) -> dict[str, Grid]:
    """The ``analyse`` step's monthly density rasters of a layer, by their ``month`` tag."""
    found: dict[str, Grid] = {}
    folder = settings.processed_dir / "rasters" / "monthly"
    for path in sorted(folder.glob(f"density_{layer}_*_{period.slug}.tif")):
        grid = outputs.read_geotiff(path)
        found[str(grid.params["month"])] = grid
    return found


def _district_population(scene: Scene) -> pd.DataFrame:
    pop = scene.population
    pop = pop[pop["level"].isin(["stadsdelsomrade", "kommun"])]
    if "reference_date" in pop.columns:
        # SCB's 1 November and the yearbook's 31 December: rates use the year's end.
        pop = pop.sort_values("reference_date").drop_duplicates(["area", "year"], keep="last")
    return pop[["area", "year", "population"]]


def summaries(scene: Scene) -> tuple[pd.DataFrame, pd.Series]:
    """Per-district figures for the period, and the whole city's row: the period to the
    data's last day against the same days a year before (:attr:`Scene.comparison`)."""
    events = scene.events
    compare = scene.comparison
    per_district = trends.period_summary(
        events,
        comparison=compare,
        by="stadsdelsomrade",
        population=_district_population(scene),
    ).set_index("stadsdelsomrade")
    city_events = events.assign(kommun=KOMMUN_AREA)
    city = trends.period_summary(
        city_events, comparison=compare, by="kommun", population=_district_population(scene)
    ).iloc[0]
    return per_district, city


def monthly_grids(scene: Scene) -> dict[str, Grid]:
    """The month slider's density grids, ``{"YYYY-MM": grid}``, as the ``analyse`` step
    wrote them (on the period raster's cells, with its bandwidth, sensitive events left
    out); a month without placed events has none."""
    return dict(scene.monthly)
