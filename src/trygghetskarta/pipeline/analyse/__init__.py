"""The ``analyse`` step: every analysis of issue 5 for the period, written as files and tables.

For each *selection* — every layer in the store, and each category of police events and
reported crimes — the step runs density, Gi* on grid cells and on stadsdelar, local
Moran's I on RegSO rates, HDBSCAN clusters and the Knox near-repeat test
(:mod:`.parts`, :mod:`.tables`); per layer the emerging hot spots of the
last 24 months; and over everything the monthly counts, trends (both district schemes)
and the hour × weekday profile. A selection without usable events gives a warning, never
an exception.

Written (``<slug>`` is the period, e.g. ``2025-01_2025-12``; ``<c>`` a category):

``rasters/density_<layer>_<slug>.tif``                  events per km², NaN outside the kommun
``rasters/monthly/density_<layer>_<YYYY-MM>_<slug>.tif``  the same per month (the month slider)
``rasters/gi_star_z_<layer>_<slug>.tif``                Gi* z on 250 m cells
``rasters/gi_star_bin_<layer>_<slug>.tif``              Gi_Bin −3 … 3
``rasters/emerging_<layer>_<slug>.tif``                 emerging pattern code (−8 … 8)
``rasters/by_category/<kind>_<layer>_<c>_<slug>.tif``   density and Gi* per category
``tables/gi_star_cells_<slug>.parquet``                 every selection's analysed cells
``tables/gi_star_stadsdelar_<slug>.parquet``            Gi* per stadsdel
``tables/local_moran_regso_<slug>.parquet``             local Moran per RegSO
``tables/emerging_cells_<slug>.parquet``                emerging pattern per cell
``tables/clusters_<slug>.parquet``                      HDBSCAN outlines

and the DuckDB tables ``monthly_counts``, ``trends``, ``trend_changes``, ``hour_weekday``
and ``near_repeat``. Every GeoTIFF's ``analysis_parameters`` tag holds the step's
:class:`~trygghetskarta.config.AnalysisParameters` whole (JSON), its other tags and the
tables' ``params`` column what made that file;
``StepResult.counts`` holds the counts, the emerging patterns and the time of each part,
and ``counts["sampled"]`` every analysis that a cap (``cluster_max_events``,
``knox_max_events``) made run on a seeded sample (``"sampled": "n of N"``); each also
gives a warning.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import geopandas as gpd
import pandas as pd

from trygghetskarta import store
from trygghetskarta.analysis import trends as trends_mod
from trygghetskarta.analysis.grid import Grid
from trygghetskarta.config import STORE_CRS, Settings
from trygghetskarta.errors import AnalysisError
from trygghetskarta.periods import Period
from trygghetskarta.pipeline import outputs
from trygghetskarta.pipeline.analyse import parts, reuse, tables
from trygghetskarta.pipeline.analyse.inputs import (
    ALL,
    COVERAGE_SOURCE,
    AnalysisInputs,
    EmptySelectionError,
    load_inputs,
)
from trygghetskarta.pipeline.steps import Progress, StepResult, no_progress, timed
from trygghetskarta.schema import Layer

_log = logging.getLogger(__name__)

#: Layers whose categories are analysed one by one as well (shootings and fires have one).
PER_CATEGORY_LAYERS = (Layer.POLICE_EVENT.value, Layer.REPORTED_CRIME.value)

__all__ = ["analyse", "analyse_prepared", "monthly_density_path", "selections"]


def selections(inputs: AnalysisInputs) -> list[tuple[str, str]]:
    """``(layer, category)`` pairs analysed: every layer whole, and the categories of
    :data:`PER_CATEGORY_LAYERS` one by one."""
    out = [(layer, ALL) for layer in inputs.layers]
    for layer in inputs.layers:
        if layer in PER_CATEGORY_LAYERS:
            out.extend((layer, c) for c in inputs.categories(layer))
    return out


class _Recorder:
    """Collects warnings, counts and the time of each part of the step."""

    def __init__(self, result: StepResult) -> None:
        self.result = result
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def part(self, name: str) -> Iterator[None]:
        """Time a part; turn analysis errors and warnings into the step's warnings."""
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                yield
            except EmptySelectionError as e:
                self.result.warnings.append(str(e))
            except AnalysisError as e:
                self.result.warnings.append(f"{name}: {e}")
        for w in caught:
            if issubclass(w.category, UserWarning) and "trygghetskarta" in (w.filename or ""):
                message = f"{name}: {w.message}"
                if message not in self.result.warnings:
                    self.result.warnings.append(message)
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        self.seconds[name] += time.perf_counter() - start


def _raster_path(settings: Settings, kind: str, layer: str, category: str, slug: str) -> Path:
    base = settings.processed_dir / "rasters"
    if category == ALL:
        return base / f"{kind}_{layer}_{slug}.tif"
    return base / "by_category" / f"{kind}_{layer}_{category}_{slug}.tif"


def _write_grid(
    result: StepResult,
    inputs: AnalysisInputs,
    grid: Grid,
    path: Path,
    kind: str,
    layer: str,
    category: str,
    **more: str,
) -> None:
    """Write one raster; ``event_layer``, ``category`` and ``kind`` tags say what it shows
    (Gi* and emerging grids use their ``layer`` tag for the statistic), and
    ``analysis_parameters`` holds every parameter of the step (JSON) and ``analysis_seed``
    the run's seed (a grid's own ``seed`` tag, e.g. Gi*'s, is kept)."""
    # Sensitive events are kept at district level before any analysis (analyse_inputs), so
    # no raster holds them; the tag lets a public map check it.
    tags = {
        "kind": kind,
        "event_layer": layer,
        "category": category,
        "sensitive": "excluded",
        "analysis_parameters": inputs.parameters.to_json(),
        "analysis_seed": str(inputs.seed),
        **more,
    }
    result.files.append(outputs.write_geotiff(grid, path, extra_tags=tags))


def _drop_stale(paths: list[Path]) -> None:
    """Remove files an earlier run wrote for a selection that is empty now."""
    for path in paths:
        path.unlink(missing_ok=True)


def _write_table(
    result: StepResult, settings: Settings, name: str, frames: list[gpd.GeoDataFrame], slug: str
) -> int:
    path = settings.processed_dir / "tables" / f"{name}_{slug}.parquet"
    if frames:
        frame = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=STORE_CRS)
    else:
        frame = gpd.GeoDataFrame({"layer": [], "category": []}, geometry=[], crs=STORE_CRS)
    result.files.append(outputs.write_geoparquet(frame, path))
    return len(frame)


def _selection_maps(
    inputs: AnalysisInputs,
    settings: Settings,
    result: StepResult,
    rec: _Recorder,
    sel: tuple[str, str],
    frames: dict[str, list[gpd.GeoDataFrame]],
    near: list[pd.DataFrame],
) -> None:
    layer, category = sel
    slug = inputs.period.slug
    counts = result.counts
    density_path = _raster_path(settings, "density", layer, category, slug)
    grid: Grid | None = None
    with rec.part("density"):
        _drop_stale([density_path])
        grid = parts.density(inputs, layer, category)
        _write_grid(result, inputs, grid, density_path, "density", layer, category)
        counts["density_maps"] += 1
        _note_cv_sample(result, sel, grid)
    if category == ALL:
        with rec.part("density_monthly"):
            _drop_stale(_monthly_density_files(settings, layer, slug))
            if grid is not None:  # no period raster: no monthly ones either
                bandwidth = float(grid.params["bandwidth_m"])
                _monthly_density(inputs, settings, result, layer, bandwidth)
    gi_paths = [_raster_path(settings, f"gi_star_{k}", layer, category, slug) for k in ("z", "bin")]
    with rec.part("gi_star_cells"):
        _drop_stale(gi_paths)
        hot = parts.hotspot_cells(inputs, layer, category)
        grids = hot.grids()
        _write_grid(result, inputs, grids["z"], gi_paths[0], "gi_star_z", layer, category)
        _write_grid(result, inputs, grids["bins"], gi_paths[1], "gi_star_bin", layer, category)
        cells = hot.to_frame()
        cells.insert(0, "category", category)
        cells.insert(0, "layer", layer)
        cells["params"] = parts.params_json(hot.gi.params)
        frames["gi_star_cells"].append(cells)
        counts["gi_star_maps"] += 1
        counts["gi_star_hot_cells"] += int((hot.gi.bins > 0).sum())
    with rec.part("gi_star_stadsdelar"):
        frames["gi_star_stadsdelar"].append(parts.hotspot_stadsdelar(inputs, layer, category))
    with rec.part("local_moran_regso"):
        frames["local_moran_regso"].append(parts.local_moran_regso(inputs, layer, category))
    with rec.part("clusters"):
        found = parts.clusters(inputs, layer, category)
        frames["clusters"].append(found)
        counts["clusters"] += len(found)
        _note_sampled(result, "clusters", "cluster_max_events", sel, found)
    with rec.part("near_repeat"):
        table = tables.near_repeat(inputs, layer, category)
        near.append(table)
        _note_sampled(result, "near_repeat", "knox_max_events", sel, table)


def _note_sampled(
    result: StepResult, analysis: str, setting: str, sel: tuple[str, str], frame: pd.DataFrame
) -> None:
    """Record in ``result.counts["sampled"]`` (the run summary and the manifest) an
    analysis of a selection that ran on a sample because the cap ``setting`` bit."""
    if not frame.attrs.get("sampled"):  # parts.sample_fields, kept with no rows too
        return
    n, of = int(frame.attrs["sampled_n"]), int(frame.attrs["sampled_of"])
    result.counts["sampled"].append(
        {
            "analysis": analysis,
            "layer": sel[0],
            "category": sel[1],
            "sampled": f"{n} of {of}",
            "n": n,
            "of": of,
            "setting": setting,
        }
    )


def _note_cv_sample(result: StepResult, sel: tuple[str, str], grid: Grid) -> None:
    """State that ``bandwidth = "cv"`` chose the bandwidth on a seeded sample (the raster's
    ``bandwidth_cv_sample`` tag): a warning and an entry in ``counts["sampled"]``."""
    sample = grid.params.get("bandwidth_cv_sample")
    if not sample:
        return
    n, of = (int(v) for v in str(sample).split(" of "))
    result.warnings.append(
        f"density {sel[0]}/{sel[1]}: the cross-validated bandwidth was scored on a seeded "
        f"random sample of {n:,} of {of:,} placed events (the density itself uses every "
        "event); set [analysis] bandwidth to metres to choose it yourself"
    )
    result.counts["sampled"].append(
        {
            "analysis": "bandwidth_cv",
            "layer": sel[0],
            "category": sel[1],
            "sampled": f"{n} of {of}",
            "n": n,
            "of": of,
            "setting": "bandwidth",
        }
    )


def monthly_density_path(settings: Settings, layer: str, month: str, slug: str) -> Path:
    """``rasters/monthly/density_<layer>_<YYYY-MM>_<slug>.tif``: one month of a layer."""
    return settings.processed_dir / "rasters" / "monthly" / f"density_{layer}_{month}_{slug}.tif"


def _monthly_density_files(settings: Settings, layer: str, slug: str) -> list[Path]:
    folder = settings.processed_dir / "rasters" / "monthly"
    return sorted(folder.glob(f"density_{layer}_*_{slug}.tif"))


def _monthly_density(
    inputs: AnalysisInputs, settings: Settings, result: StepResult, layer: str, bandwidth: float
) -> None:
    """One density raster per month of the period with events placed (the maps' month
    slider), on the period raster's cells and with its bandwidth, so that they compare."""
    slug = inputs.period.slug
    months = pd.period_range(
        inputs.period.start.tz_localize(None).to_period("M"),
        inputs.period.last_month.tz_localize(None).to_period("M"),
        freq="M",
    )
    for month in months:
        start = month.to_timestamp().tz_localize(inputs.period.start.tz)
        end = (month + 1).to_timestamp().tz_localize(inputs.period.start.tz)
        try:
            grid = parts.density(inputs, layer, start=start, end=end, bandwidth=bandwidth)
        except EmptySelectionError:
            continue  # no placed event that month: the slider shows none
        path = monthly_density_path(settings, layer, str(month), slug)
        _write_grid(
            result, inputs, grid, path, "density_month", layer, ALL,
            month=str(month), bandwidth_from="the period's density raster",
        )  # fmt: skip
        result.counts["density_month_maps"] += 1


def _emerging(
    inputs: AnalysisInputs,
    settings: Settings,
    result: StepResult,
    rec: _Recorder,
    layer: str,
    frames: dict[str, list[gpd.GeoDataFrame]],
) -> None:
    path = _raster_path(settings, "emerging", layer, ALL, inputs.period.slug)
    with rec.part("emerging"):
        _drop_stale([path])
        res = parts.emerging(inputs, layer)
        _write_grid(result, inputs, res.grids()["category"], path, "emerging", layer, ALL)
        cells = res.to_frame().rename(columns={"category": "pattern_code"})
        cells.insert(0, "category", ALL)
        cells.insert(0, "layer", layer)
        cells["params"] = parts.params_json(res.params)
        frames["emerging_cells"].append(cells)
        result.counts["emerging"][layer] = {
            "cell_size_m": res.params["cell_size_m"],
            "months": res.params["n_periods"],
            "n_cells": res.params["n_cells"],
            "n_events": res.params["n_events_in_area"],
            "patterns": res.counts(),
        }


def analyse(
    settings: Settings,
    con: duckdb.DuckDBPyConnection,
    *,
    period: Period | None = None,
    progress: Progress = no_progress,
) -> StepResult:
    """Run every analysis for the period and write its rasters, tables and DuckDB tables.

    Parameters
    ----------
    settings
        The run's settings (density cell size and bandwidth, seed, output directory).
    con
        The open store.
    period
        The period analysed; default the last 12 whole months up to the latest event.
    progress
        Called as ``progress(description, done, total)``.

    Returns
    -------
    StepResult
        ``files`` written; ``warnings`` for every selection or part that had nothing to
        analyse; ``counts`` with the period, parameters, output counts, the emerging
        patterns per layer (``counts["emerging"][layer]["patterns"]``) and the seconds
        of each part (``counts["seconds"]``).
    """
    result = StepResult("analyse")
    rec = _Recorder(result)
    with timed(result):
        with rec.part("fingerprint"):
            print_ = reuse.fingerprint(settings, con, period)
            held = reuse.reusable(settings, con, print_)
        if held is not None:
            _reuse(result, held, rec)
            return result
        inputs: AnalysisInputs | None = None
        with rec.part("read"):
            inputs = load_inputs(settings, con, period=period)
        if inputs is None:  # no events: the warning says so
            return result
        store.forget_step_inputs(con, reuse.STEP)
        _run(inputs, settings, con, result, rec, progress)
    if not result.errors:  # after `timed`, which adds the warnings caught in the step
        store.record_step_inputs(
            con,
            reuse.STEP,
            print_,
            counts={k: v for k, v in result.counts.items() if k != "seconds"},
            files=reuse.file_marks(result.files),
            warnings=result.warnings,
            at=pd.Timestamp.now(tz="UTC"),
        )
    return result


def _reuse(result: StepResult, held: store.StepInputs, rec: _Recorder) -> None:
    """Report what the last full run on the same inputs wrote (see :mod:`.reuse`)."""
    result.counts.update(held.counts)
    result.counts["seconds"] = {k: round(v, 3) for k, v in rec.seconds.items()}
    result.counts["reused"] = {
        "from": str(held.recorded_at),
        "why": "the events, coverage, boundaries, population, parameters and code are as "
        "when the analyses last ran, and so are their outputs",
    }
    result.files.extend(Path(p) for p in held.files)
    result.warnings.extend(held.warnings)
    _log.info(
        "analyse: inputs unchanged since %s: the rasters and tables written then are kept",
        held.recorded_at,
    )


def analyse_prepared(
    inputs: AnalysisInputs,
    settings: Settings,
    con: duckdb.DuckDBPyConnection,
    *,
    progress: Progress = no_progress,
) -> StepResult:
    """:func:`analyse` on inputs already read (``prepare_inputs`` on events of one's own,
    as the tests do): every analysis, written under ``settings.processed_dir`` and ``con``.

    The parameters are ``inputs.parameters`` (not ``settings.analysis``).
    """
    result = StepResult("analyse")
    with timed(result):
        _run(inputs, settings, con, result, _Recorder(result), progress)
    return result


def _run(
    inputs: AnalysisInputs,
    settings: Settings,
    con: duckdb.DuckDBPyConnection,
    result: StepResult,
    rec: _Recorder,
    progress: Progress,
) -> None:
    counts = result.counts
    counts.update(
        {
            "period": inputs.period.label,
            "period_start": inputs.period.start.date().isoformat(),
            "period_end": inputs.period.end.date().isoformat(),
            "scheme": inputs.scheme,
            "events": len(inputs.events),
            "events_in_period": int(inputs.period.contains(inputs.events["occurred_at"]).sum()),
            "parameters": inputs.parameters.as_dict(),
            "data_window": inputs.window.as_dict(),
            "comparison": inputs.period.comparison(inputs.window.coverage).as_dict(),
        }
    )
    if inputs.window.data_start_from == "events":
        result.warnings.append(
            f"no coverage is recorded for {COVERAGE_SOURCE}: trends and comparisons start at "
            f"{inputs.window.data_start}, the first month not far below the median month "
            "(set data_start under [analysis] or --data-start to choose)"
        )
    result.warnings.extend(inputs.notes)
    for key in (
        "density_maps",
        "density_month_maps",
        "gi_star_maps",
        "gi_star_hot_cells",
        "clusters",
    ):
        counts[key] = 0
    counts["emerging"] = {}
    counts["sampled"] = []  # analyses a cap made run on a sample (empty: none)
    sels = selections(inputs)
    counts["selections"] = len(sels)
    total = len(sels) + len(inputs.layers) + 1
    frames: dict[str, list[gpd.GeoDataFrame]] = defaultdict(list)
    near: list[pd.DataFrame] = []
    step: Callable[[int], None] = lambda done: progress("Analyser", done, total)  # noqa: E731

    with rec.part("monthly_counts"):
        monthly = trends_mod.monthly_counts(
            inputs.events, by=("layer", "stadsdelsomrade", "category")
        )
        counts["monthly_rows"] = store.replace_table(con, "monthly_counts", monthly)
    for i, sel in enumerate(sels):
        step(i)
        _selection_maps(inputs, settings, result, rec, sel, frames, near)
    for j, layer in enumerate(inputs.layers):
        step(len(sels) + j)
        _emerging(inputs, settings, result, rec, layer, frames)
    step(total - 1)
    slug = inputs.period.slug
    with rec.part("write_tables"):
        for name in (
            "gi_star_cells",
            "gi_star_stadsdelar",
            "local_moran_regso",
            "emerging_cells",
            "clusters",
        ):
            counts[f"{name}_rows"] = _write_table(result, settings, name, frames[name], slug)
        knox = pd.concat(near, ignore_index=True) if near else tables.empty_near_repeat()
        counts["near_repeat_rows"] = store.replace_table(con, "near_repeat", knox)
    with rec.part("hour_weekday"):
        counts["hour_weekday_rows"] = store.replace_table(
            con, "hour_weekday", tables.hour_weekday_table(inputs)
        )
    with rec.part("trends"):
        counts["trends_rows"] = store.replace_table(con, "trends", tables.trends(inputs))
        counts["trend_changes_rows"] = store.replace_table(
            con, "trend_changes", tables.trend_changes(inputs)
        )
    step(total)
    counts["seconds"] = {k: round(v, 3) for k, v in rec.seconds.items()}
