"""The ``maps`` and ``report`` steps: turn the run's scene into the HTML files a planner opens.

Part of the wiring layer with :mod:`trygghetskarta.pipeline` (which re-exports
:func:`maps` and :func:`report`); the scene itself is built by
:mod:`trygghetskarta.pipeline.scene` (its names are re-exported here).
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import duckdb
import folium
import pandas as pd

from trygghetskarta import __version__, render
from trygghetskarta.analysis import trends
from trygghetskarta.analysis.bra_compare import bra_comparison
from trygghetskarta.config import Settings
from trygghetskarta.pipeline import index_page, lagesbild_inputs, outputs
from trygghetskarta.pipeline import lagesbild_measures as measures_mod
from trygghetskarta.pipeline import pdf as pdf_mod
from trygghetskarta.pipeline.scene import (
    COVERAGE_SOURCE,
    KOMMUN_AREA,
    LAYER_ORDER,
    SOURCES,
    Scene,
    SourceLayer,
    build_scene,
    coverage_summary,
    load_analysis,
    monthly_grids,
    note_coverage,
    read_coverage,
    read_layers,
    slug,
    summaries,
)
from trygghetskarta.pipeline.steps import Progress, StepResult, new_run_id, no_progress, timed
from trygghetskarta.pipeline.steps import now as _steps_now
from trygghetskarta.render import (
    ExportProfile,
)
from trygghetskarta.schema import CATEGORY_LABELS_SV, LAYER_LABELS_SV, Category, Layer

__all__ = [
    "CITY_MAP_FILE",
    "COVERAGE_SOURCE",
    "INDEX_FILE",
    "KOMMUN_AREA",
    "LAYER_ORDER",
    "RATES_TITLE",
    "SOURCES",
    "Scene",
    "SourceLayer",
    "bra_table",
    "build_scene",
    "city_map",
    "coverage_summary",
    "district_map",
    "hotspot_map",
    "lagesbild",
    "load_analysis",
    "map_layers",
    "map_links",
    "map_scene",
    "maps",
    "monthly_grids",
    "note_coverage",
    "output_dir",
    "read_coverage",
    "read_layers",
    "report",
    "report_scene",
    "slug",
    "summaries",
    "write_index",
]

#: The city map's file in a profile's ``maps`` folder.
CITY_MAP_FILE = "stockholm.html"
INDEX_FILE = index_page.INDEX_FILE


map_label = render.map_label


def map_layers(scene: Scene) -> list[render.MapLayer]:
    """The scene's source layers for the maps, in :data:`LAYER_ORDER` (the lead first):
    each with its events of the period, density rasters and analysis tables. The police
    layer is read from the scene's own fields (``events``, ``grid``, ``monthly``,
    ``analysis``), which hold it, so a scene changed there is drawn as changed."""
    police = SourceLayer(
        layer=Layer.POLICE_EVENT.value,
        label=LAYER_LABELS_SV[Layer.POLICE_EVENT],
        events=scene.events,
        grid=scene.grid,
        monthly=scene.monthly,
        analysis=scene.analysis,
    )
    sources = {**scene.layers, Layer.POLICE_EVENT.value: police}
    if scene.events.empty and Layer.POLICE_EVENT.value not in scene.layers:
        del sources[Layer.POLICE_EVENT.value]
    out = []
    for layer in LAYER_ORDER:
        source = sources.get(layer)
        if source is None:
            continue
        events = source.events[scene.period.contains(source.events["occurred_at"])]
        out.append(
            render.MapLayer(
                layer=layer,
                label=map_label(layer),
                events=events,
                grid=source.grid,
                monthly_grids=dict(source.monthly),
                analysis=source.analysis,
            )
        )
    return out


def map_links(scene: Scene) -> dict[str, dict[str, str]]:
    """Each district's map and lägesbild, relative to a page in the ``maps`` folder."""
    return {
        str(d): {"map": f"{slug(str(d))}.html", "report": f"../reports/{slug(str(d))}.html"}
        for d in scene.districts["name"]
    }


def map_scene(scene: Scene, profile: ExportProfile, *, months: bool = True) -> render.MapScene:
    """What the maps of a scene show, in ``profile``: every source layer of the period
    (:func:`map_layers`) with its density raster (and, with ``months``, one grid per month
    for the slider), the rates per district, the analysis layers and the links between
    the pages (:func:`map_links`)."""
    per_district, _ = summaries(scene)
    layers = map_layers(scene)
    if not months:
        layers = [dataclasses.replace(x, monthly_grids=None) for x in layers]
    return render.MapScene(
        districts=scene.districts,
        period=scene.period,
        sources=SOURCES,
        made_at=scene.made_at.to_pydatetime(),
        profile=profile,
        stadsdelar=scene.stadsdelar,
        events=scene.in_period,
        grid=scene.grid,
        monthly_grids=monthly_grids(scene) if months else None,
        rates=per_district.get("rate_per_1000"),
        water=scene.water,
        analysis=scene.analysis,
        tiles="OpenStreetMap",
        coverage=scene.coverage,
        freshness=scene.freshness,
        version=__version__,
        layers=layers,
        links=map_links(scene),
        city_link=CITY_MAP_FILE,
        index_link=f"../{INDEX_FILE}",
    )


RATES_TITLE = "Polisens händelsenotiser per 1 000 invånare"


def city_map(maps: render.MapScene) -> folium.Map:
    """The city overview map."""
    events = maps.events
    n_unplaced = None if events is None else int(events["x"].isna().sum())
    return render.city_map(
        maps, n_unplaced=n_unplaced, title="Stockholms stad", rates_title=RATES_TITLE
    )


def district_map(maps: render.MapScene, district: str, *, shown: Sequence[str] = ()) -> folium.Map:
    """The map of one district; ``shown`` names layers switched on (each switching the
    others of its group off, see :func:`render.show_only`)."""
    events = maps.events
    mine = None if events is None else events[events["stadsdelsomrade"] == district]
    n_unplaced = None if mine is None else int(mine["x"].isna().sum())
    m = render.district_map(maps, district, n_unplaced=n_unplaced, title=district)
    for name in shown:
        render.show_only(m, name)
    return m


def hotspot_map(
    maps: render.MapScene, district: str, *, base: folium.Map | None = None
) -> folium.Map | None:
    """The district map with the lead layer's Gi* hot and cold cells switched on, for the
    lägesbild; ``None`` when the analysis wrote no Gi* cells for it.

    ``base``, the district's map already built (and not yet rendered), is copied rather
    than built again: the same map with another layer on (building one costs seconds,
    most of it the public profile's protection of its counts; a copy, milliseconds)."""
    layers = maps.source_layers()
    lead = layers[0] if layers else None
    gi = None if lead is None or lead.analysis is None else lead.analysis.gi_cells
    if gi is None or gi.empty:
        return None
    name = render.hotspot_name(lead.label)
    if base is None:
        return district_map(maps, district, shown=(name,))
    m = copy.deepcopy(base)
    render.show_only(m, name)
    return m


def write_index(settings: Settings, scene: Scene, result: StepResult) -> Path:
    """Write ``<processed>/<profile>/index.html``: every map and lägesbild with its period
    (see :mod:`~trygghetskarta.pipeline.index_page`); its path goes into ``result.counts``."""
    path = index_page.write_index(
        settings.processed_dir / settings.profile,
        districts=[str(d) for d in scene.districts["name"]],
        period=scene.period.label,
        made_at=scene.made_at.to_pydatetime(),
        profile=ExportProfile.from_settings(settings),
        slug=slug,
        city_file=CITY_MAP_FILE,
    )
    result.counts["index"] = str(path)
    return path


def bra_table(scene: Scene, district: str) -> pd.DataFrame | None:
    """Brå's figures for the district beside the city's; ``None`` when none are stored."""
    if scene.crime_stats is None:
        return None
    return bra_comparison(scene.crime_stats, district, city=KOMMUN_AREA)


def _monthly(scene: Scene, district: str) -> pd.DataFrame:
    """A district's counts per month and category, over the months of its own events."""
    mine = scene.events[scene.events["stadsdelsomrade"] == district]
    return trends.monthly_counts(mine, by=("stadsdelsomrade", "category"))


def report_scene(
    scene: Scene,
    profile: ExportProfile,
    *,
    history: pd.DataFrame | None = None,
    near_repeat: pd.DataFrame | None = None,
) -> render.ReportScene:
    """What the lägesbilder of a scene show, in ``profile``: every district's figures,
    monthly counts and events (from a year before the period), the city's figures and
    Brå's statistics beside the city's, and, with ``history`` (every event of the store,
    :func:`.lagesbild_inputs.read_history`), each layer's measure with its normal range:
    reported crimes first (the crime lists' layer, then Brå's statistics), police notices,
    shootings, fires; ``near_repeat`` (the store's ``near_repeat`` table) adds its sentences."""
    per_district, city = summaries(scene)
    names = [str(n) for n in scene.districts["name"]]
    compare = scene.comparison
    figures = {}
    for district in names:
        row = (
            per_district.loc[district] if district in per_district.index else pd.Series(dtype=float)
        )
        figures[district] = {
            "count": row.get("count", 0),
            "count_last_year": row.get("count_prev_year"),
            "change_pct": row.get("change_pct"),
            "rate_per_1000": row.get("rate_per_1000"),
            "population": row.get("population"),
            "compared_with": compare.previous.label,
            "comparison_notes": compare.notes,
            "comparable": compare.comparable,
        }
    bra = {d: t for d in names if (t := bra_table(scene, d)) is not None}
    measures: dict[str, list[render.Measure]] = {}
    categories: dict[str, dict[str, render.Measure]] = {}
    if history is not None:
        covered = lagesbild_inputs.covered_from(scene, history, LAYER_ORDER)
        layers = tuple(scene.layers) or (Layer.POLICE_EVENT.value,)
        labels = {c.value: CATEGORY_LABELS_SV[c] for c in Category}
        police = Layer.POLICE_EVENT.value
        for district in names:
            found = measures_mod.district_measures(
                history, district, compare, scene.period, covered, layers
            )
            ordered = []
            crime = found.pop(Layer.REPORTED_CRIME.value, None)
            if crime is not None:
                ordered.append(dataclasses.replace(crime, key=Layer.REPORTED_CRIME.value))
            bra_m = measures_mod.bra_measure(scene.crime_stats, district)
            if bra_m is not None:
                ordered.append(dataclasses.replace(bra_m, key="bra"))
            ordered += [dataclasses.replace(m, key=k) for k, m in found.items()]
            measures[district] = ordered
            if police in layers:
                categories[district] = measures_mod.category_measures(
                    history, district, police, compare, scene.period, covered.get(police), labels
                )
    return render.ReportScene(
        period=scene.period,
        made_at=scene.made_at.to_pydatetime(),
        sources=SOURCES,
        profile=profile,
        monthly=pd.concat([_monthly(scene, d) for d in names], ignore_index=True),
        summaries=figures,
        city_summary={"rate_per_1000": city.get("rate_per_1000"), "count": city.get("count")},
        events=scene.events,
        bra=bra,
        hotspot_caption=(
            "Rutor på 250 × 250 m där polisens händelser är fler (röda) eller färre (blå) "
            "än slumpen förklarar, med 90, 95 och 99 % konfidens (Getis-Ord Gi*)."
        ),
        coverage=scene.coverage,
        freshness=scene.freshness,
        version=__version__,
        outlook=scene.outlook,
        measures=measures,
        categories=categories,
        near_repeat=lagesbild_inputs.near_repeat_sentences(scene, near_repeat),
    )


def lagesbild(
    reports: render.ReportScene,
    maps: render.MapScene,
    district: str,
    scene: Scene | None = None,
) -> str:
    """The lägesbild page of one district, with its map and its hotspot map (mouse-wheel
    zoom off: the page scrolls), and, given the ``scene``, their static images for print
    and what the hotspot analysis found in the district."""
    district_m = district_map(maps, district)
    district_m.options["scroll_wheel_zoom"] = False
    render.fold_controls(district_m)  # the frame is small: the map comes first
    hot = hotspot_map(maps, district, base=district_m)  # before district_m is rendered
    images: tuple[str | None, str | None] = (None, None)
    bins = None
    if scene is not None:
        images = lagesbild_inputs.static_maps(scene, district)
        bins = lagesbild_inputs.hotspot_bins(scene, district)
    return render.lagesbild_html(
        reports,
        district,
        map_html=render.to_html(district_m),
        map_link=f"../maps/{slug(district)}.html",
        hotspot_map_html=None if hot is None else render.to_html(hot),
        map_image=images[0],
        hotspot_image=images[1],
        hotspot_bins=bins,
    )


def _scene_or_warn(
    settings: Settings,
    con: duckdb.DuckDBPyConnection,
    result: StepResult,
    now: pd.Timestamp | None = None,
) -> Scene | None:
    """The run's scene, or ``None`` with a warning in ``result`` when there are no events."""
    scene = build_scene(settings, con, now=now)
    if scene is None:
        result.warnings.append("the store holds no events — run `trygghetskarta ingest` first")
    return scene


def output_dir(settings: Settings, kind: str) -> Path:
    """Where the step ``kind`` (``maps`` or ``reports``) publishes for the run's profile.

    ``data/processed/public/<kind>`` or ``data/processed/internal/<kind>``: the two profiles
    never share a path, so rendering one never touches the other's files.
    """
    return settings.processed_dir / settings.profile / kind


def _legacy_warning(settings: Settings, kind: str) -> list[str]:
    old = settings.processed_dir / kind
    if not old.exists():
        return []
    return [
        f"{old} is from an older version and is no longer updated (the {kind} are now in "
        f"{settings.processed_dir / 'public' / kind} and "
        f"{settings.processed_dir / 'internal' / kind}) — delete it"
    ]


def _write_folder_manifest(
    settings: Settings,
    staging: Path,
    result: StepResult,
    run_id: str,
    scene: Scene,
    extra: Mapping[str, object] | None = None,
) -> None:
    """``manifest.json`` in the staging folder: the files beside it and the run that wrote
    them (and ``extra``, e.g. how the lägesbild's normal ranges are made)."""
    body = {
        "run_id": run_id,
        "version": __version__,
        "step": result.step,
        "profile": settings.profile,
        "written_at": _steps_now().isoformat(),
        "period": scene.period.label,
        "comparison": scene.comparison.as_dict(),
        "data_window": None if scene.window is None else scene.window.as_dict(),
        "coverage": coverage_summary(scene),
        "freshness": None if scene.freshness is None else scene.freshness.as_dict(),
        "data_dir": str(settings.data_dir),
        "database": str(settings.db_path),
        "files": outputs.describe_files(staging, result.files),
        "layers": [
            {
                "layer": layer,
                "label": map_label(layer),
                "events": len(source.events),
                "density": source.grid is not None,
                "monthly_grids": len(source.monthly),
            }
            for layer, source in scene.layers.items()
        ],
        **(extra or {}),
    }
    text = json.dumps(body, ensure_ascii=False, indent=2, default=str)
    outputs.write_text(staging / outputs.FOLDER_MANIFEST, text)


def maps(
    settings: Settings,
    con: duckdb.DuckDBPyConnection,
    *,
    progress: Progress = no_progress,
    run_id: str | None = None,
    now: pd.Timestamp | None = None,
) -> StepResult:
    """Write ``stockholm.html`` and ``<district>.html`` for every district to the profile's
    ``maps`` folder (:func:`output_dir`), all at once.

    The pages and the folder's ``manifest.json`` are written into a staging folder and
    swapped into place when all are written (:func:`outputs.staged_folder`); a failure or a
    kill leaves the previous set. Internal pages carry the band "INTERNT – får inte spridas".
    """
    result = StepResult("maps")
    run_id = run_id or new_run_id()
    with timed(result):
        result.warnings.extend(_legacy_warning(settings, "maps"))
        scene = _scene_or_warn(settings, con, result, now)
        if scene is None:
            return result
        if scene.grid is None:
            result.warnings.append(
                "no density raster for the period — run `trygghetskarta analyse`"
            )
        target = output_dir(settings, "maps")
        profile = ExportProfile.from_settings(settings)
        maps_scene = map_scene(scene, profile)
        names = list(scene.districts["name"])
        with outputs.staged_folder(target, run_id) as staging:
            progress("Kartor", 0, len(names) + 1)
            html = render.to_html(city_map(maps_scene))
            outputs.write_text(staging / CITY_MAP_FILE, profile.page(html))
            result.files.append(target / CITY_MAP_FILE)
            for i, district in enumerate(names, start=1):
                html = render.to_html(district_map(maps_scene, district))
                name = f"{slug(district)}.html"
                outputs.write_text(staging / name, profile.page(html))
                result.files.append(target / name)
                progress("Kartor", i, len(names) + 1)
            _write_folder_manifest(settings, staging, result, run_id, scene)
        result.counts.update(
            period=scene.period.label,
            profile=settings.profile,
            maps=len(result.files),
            map_layers=[map_label(layer) for layer in scene.layers],
        )
        write_index(settings, scene, result)
        note_coverage(scene, result)
    return result


def report(
    settings: Settings,
    con: duckdb.DuckDBPyConnection,
    *,
    progress: Progress = no_progress,
    run_id: str | None = None,
    now: pd.Timestamp | None = None,
    pdf: bool = False,
    chromium: str | None = None,
) -> StepResult:
    """Write ``<district>.html``, one lägesbild per district, to the profile's ``reports``
    folder (:func:`output_dir`), all at once (as :func:`maps` does); with ``pdf`` also
    ``<district>.pdf`` beside each, printed by a headless Chromium
    (:func:`~trygghetskarta.pipeline.pdf.find_chromium`: ``chromium`` names the program)."""
    result = StepResult("report")
    run_id = run_id or new_run_id()
    with timed(result):
        result.warnings.extend(_legacy_warning(settings, "reports"))
        scene = _scene_or_warn(settings, con, result, now)
        if scene is None:
            return result
        printer = pdf_mod.find_chromium(settings, chromium) if pdf else None
        target = output_dir(settings, "reports")
        profile = ExportProfile.from_settings(settings)
        maps_scene = map_scene(scene, profile, months=False)  # no city map here
        near = lagesbild_inputs.optional_table(con, "near_repeat")
        reports = report_scene(
            scene,
            profile,
            history=lagesbild_inputs.read_history(settings, con, scene.scheme, LAYER_ORDER),
            near_repeat=near,
        )
        names = list(scene.districts["name"])
        with outputs.staged_folder(target, run_id) as staging:
            pages = []
            for i, district in enumerate(names):
                progress("Lägesbilder", i, len(names))
                page = lagesbild(reports, maps_scene, district, scene)
                name = f"{slug(district)}.html"
                outputs.write_text(staging / name, profile.page(page))
                result.files.append(target / name)
                pages.append(staging / name)
            if printer is not None:
                for i, page_path in enumerate(pages):
                    progress("PDF", i, len(pages))
                    done = pdf_mod.print_pdf(printer, page_path, page_path.with_suffix(".pdf"))
                    result.files.append(target / done.name)
                progress("PDF", len(pages), len(pages))
                result.counts["pdfs"] = len(pages)
            _write_folder_manifest(
                settings,
                staging,
                result,
                run_id,
                scene,
                extra=lagesbild_inputs.report_manifest(scene, printer),
            )
        progress("Lägesbilder", len(names), len(names))
        result.counts.update(
            period=scene.period.label,
            profile=settings.profile,
            reports=sum(1 for f in result.files if f.suffix == ".html"),
        )
        write_index(settings, scene, result)  # the index links the reports just written
        note_coverage(scene, result)
    return result
