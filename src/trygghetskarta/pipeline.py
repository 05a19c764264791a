"""The pipeline: wires the stages together and is the one place that writes outputs.

``ingest`` → ``geocode`` → ``analyse`` → ``maps`` → ``report``; :func:`run` does all five and
records the run in the ``runs`` table and in ``data/processed/manifest.json``. Each step takes
the run's :class:`~trygghetskarta.config.Settings` and an open connection, and returns a
:class:`StepResult` (counts, files written, warnings). One failing source does not stop
the others: its error is recorded and the run ends ``partial``.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import shapely

from trygghetskarta import areas as areas_mod
from trygghetskarta import geocode as geocode_mod
from trygghetskarta import outputs, publish, store
from trygghetskarta._steps import Progress, StepResult, no_progress, now, timed
from trygghetskarta.analysis import density, trends
from trygghetskarta.analysis.grid import cell_centres
from trygghetskarta.config import STORE_CRS, Settings
from trygghetskarta.errors import SourceError, TrygghetskartaError
from trygghetskarta.periods import Period, default_period
from trygghetskarta.schema import GEOCODED_COLUMNS, Layer, Precision, validate_events
from trygghetskarta.sources import polisen

log = logging.getLogger(__name__)

#: Police files: the archive in ``<data>/police_events``, live fetches in ``data/raw/polisen``.
POLICE_ARCHIVE_GLOBS = ("polisen_events_*.parquet", "*events_with_text*.json")
POLICE_RAW_GLOBS = ("*.json", "*.jsonl")


@dataclass
class RunReport:
    """A whole run: its id, its steps and how it ended."""

    run_id: str
    steps: list[StepResult]
    status: str
    manifest: Path | None = None


# --------------------------------------------------------------------------- ingest


def police_files(settings: Settings) -> list[Path]:
    """The police event files an ingest reads: the archive, then live fetches (oldest first)."""
    data = settings.require_data()
    found: list[Path] = []
    for pattern in POLICE_ARCHIVE_GLOBS:
        found.extend(sorted((data / "police_events").glob(pattern)))
    raw = settings.raw_dir / "polisen"
    if raw.is_dir():
        for pattern in POLICE_RAW_GLOBS:
            found.extend(sorted(raw.glob(pattern)))
    return found


def _load_areas(settings: Settings, con: duckdb.DuckDBPyConnection, result: StepResult) -> None:
    data = settings.require_data()
    areas = areas_mod.load_areas(data)
    layers = {
        "stadsdelsomrade_2021_2023": areas.sdo_13.assign(
            scheme=areas_mod.SCHEME_2021_2023, code=areas.sdo_13["adm_id"], parent=None
        ),
        "stadsdelsomrade_2024": areas.sdo_11.assign(
            scheme=areas_mod.SCHEME_2024, code=None, parent=None
        ),
        "stadsdel": areas.stadsdelar.assign(
            scheme=None, code=None, parent=areas.stadsdelar["sdo_2024"]
        ),
        "regso": areas.regso.assign(scheme=None, parent=areas.regso["sdo_2024"]),
        "kommun": areas.kommun.assign(
            name=settings.municipality, scheme=None, code=None, parent=None
        ),
    }
    result.counts["areas"] = store.replace_areas(con, layers)
    population = areas_mod.load_population(data).drop(columns=["forecast"], errors="ignore")
    population = population.assign(
        source="Stockholms stad, statistisk årsbok tabell 1.2 (SCB/Sweco)"
    )
    regso_pop = pd.DataFrame(
        {
            "area": areas.regso["code"].astype(str),
            "level": "regso",
            "year": 2024,
            "population": areas.regso["pop_2024"].astype("int64"),
            "source": "SCB, RegSO 2025, folkmängd 31 dec 2024",
        }
    )
    result.counts["population_rows"] = store.replace_table(
        con, "population", pd.concat([population, regso_pop], ignore_index=True)
    )


def ingest(
    settings: Settings, con: duckdb.DuckDBPyConnection, *, progress: Progress = no_progress
) -> StepResult:
    """Load areas, population and every event source into the store.

    Each source's batch is one transaction: it lands whole or not at all. A source that
    fails is recorded in ``errors`` and the others still load.
    """
    result = StepResult("ingest")
    with timed(result):
        progress("Områden och befolkning", 0, 2)
        with store.transaction(con):
            _load_areas(settings, con, result)
        progress("Områden och befolkning", 2, 2)
        totals = dict.fromkeys(("read", "loaded", "updated", "unchanged", "quarantined"), 0)
        reasons: dict[str, int] = {}
        sources: dict[str, Any] = {}
        for name, ingest_one in (("polisen", _ingest_police),):
            progress(f"Källa: {name}", 0, 1)
            try:
                counts = ingest_one(settings, con)
            except SourceError as e:
                result.errors.append(f"{name}: {e}")
                log.error("source %s failed: %s", name, e)
                continue
            finally:
                progress(f"Källa: {name}", 1, 1)
            sources[name] = counts
            for key in totals:
                totals[key] += counts[key]
            for reason, n in counts["by_reason"].items():
                reasons[reason] = reasons.get(reason, 0) + n
        result.counts.update(totals, quarantine_reasons=reasons, sources=sources)
    return result


def _reason_kind(reason: str) -> str:
    """Group quarantine reasons for the summary (the part before any quoted detail)."""
    return reason.split(" (")[0].split(": ")[0]


def _ingest_police(settings: Settings, con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    files = police_files(settings)
    if not files:
        raise SourceError(
            f"no police event files in {settings.require_data() / 'police_events'} — expected "
            f"{' or '.join(POLICE_ARCHIVE_GLOBS)}"
        )
    parsed = polisen.parse(files, municipality=settings.municipality)
    validate_events(parsed.events)
    batch_id = f"polisen-{uuid.uuid4().hex[:12]}"
    at = now()
    with store.transaction(con):
        merged = store.merge_events(con, parsed.events, batch_id=batch_id, ingested_at=at)
        store.add_quarantine(con, parsed.quarantine, batch_id=batch_id, quarantined_at=at)
    by_reason = parsed.quarantine["reason"].map(_reason_kind).value_counts().to_dict()
    counts = {
        "files": [str(f) for f in files],
        "read": parsed.read,
        "versions": parsed.versions,
        "loaded": merged.loaded,
        "updated": merged.updated,
        "unchanged": merged.unchanged,
        "quarantined": len(parsed.quarantine),
        "by_reason": {str(k): int(v) for k, v in by_reason.items()},
    }
    accounted = counts["loaded"] + counts["updated"] + counts["unchanged"] + counts["quarantined"]
    if accounted != counts["read"]:
        raise AssertionError(
            f"police ingest lost records: read {counts['read']}, accounted {accounted}"
        )
    return counts


# --------------------------------------------------------------------------- geocode


def _areas(settings: Settings) -> areas_mod.Areas:
    return areas_mod.load_areas(settings.require_data())


def geocode(
    settings: Settings, con: duckdb.DuckDBPyConnection, *, progress: Progress = no_progress
) -> StepResult:
    """Place every police event from its text; positions given by a source are kept."""
    result = StepResult("geocode")
    with timed(result):
        areas = _areas(settings)
        gazetteer = geocode_mod.load_gazetteer(settings.require_data(), areas)
        events = store.read_events(
            con,
            layers=[Layer.POLICE_EVENT.value],
            # raw: the geocoder reads the page preamble when the API cut the summary short
            columns=["event_uid", "title", "summary", "body", "occurred_at", "category", "raw"],
        )
        progress("Geokodning", 0, len(events))
        positions = geocode_mod.geocode_events(events, gazetteer, areas)
        progress("Geokodning", len(events), len(events))
        with store.transaction(con):
            result.counts["changed"] = store.update_positions(con, positions)
        result.counts["events"] = len(positions)
        result.counts["by_precision"] = (
            (positions["precision"].value_counts().reindex([p.value for p in Precision]).dropna())
            .astype(int)
            .to_dict()
        )
    return result


def geocode_file(
    path: Path | str,
    data_dir: Path | str,
    *,
    municipality: str = "Stockholm",
    areas: areas_mod.Areas | None = None,
    gazetteer: geocode_mod.Gazetteer | None = None,
) -> pd.DataFrame:
    """Geocode a file of police events without a database: one row per event.

    Parameters
    ----------
    path
        Events as the polisen.se API returns them (a JSON array), as the archive stores
        them (with ``_html_*`` page text), as JSON lines, or the parquet archive; versions
        of one id are folded (see :func:`trygghetskarta.sources.polisen.parse`).
    data_dir
        The input data directory (boundaries and gazetteer).
    municipality
        Events whose title names another municipality are not placed: precision
        ``kommun``, place name :data:`geocode_mod.OUTSIDE_PREFIX` + their municipality, no position.
    areas, gazetteer
        Already loaded layers, to skip loading them again.

    Returns
    -------
    pd.DataFrame
        ``id`` (the event id as a string) and :data:`~trygghetskarta.schema.GEOCODED_COLUMNS`,
        events of ``municipality`` first in incident-time order, then the others in file
        order. Records that cannot be read as an event (no title, no time) get precision
        ``none`` and the reason as ``place_name``; a record without an id gets ``id`` None.

    Raises
    ------
    SourceError
        The file is missing or not a police events file.
    """
    areas = areas if areas is not None else areas_mod.load_areas(data_dir)
    if gazetteer is None:
        gazetteer = geocode_mod.load_gazetteer(data_dir, areas)
    parsed = polisen.parse([Path(path)], municipality=municipality)
    placed = geocode_mod.geocode_events(parsed.events, gazetteer, areas).drop(columns="event_uid")
    placed.insert(0, "id", parsed.events["source_id"].astype(object).to_numpy())
    q = parsed.quarantine
    reason = q["reason"].astype(object)
    other = reason.str.startswith(f"outside {municipality}", na=False)
    where = reason.str.extract(r"title names (.*)\)$", expand=False).astype(object)
    rest = pd.DataFrame(
        {
            "id": q["source_id"].astype(object).where(q["source_id"].notna(), None).to_numpy(),
            "x": np.nan,
            "y": np.nan,
            "precision": np.where(other, Precision.KOMMUN.value, Precision.NONE.value),
            "uncertainty_m": np.nan,
            "place_name": np.where(
                other, geocode_mod.OUTSIDE_PREFIX + where.fillna(""), reason
            ).astype(object),
            "stadsdel": None,
            "stadsdelsomrade": None,
        }
    )
    out = pd.concat([placed.reset_index(drop=True), rest], ignore_index=True)
    for col in ("id", "precision", "place_name", "stadsdel", "stadsdelsomrade"):
        out[col] = out[col].astype(object).where(out[col].notna(), None)
    return out[["id", *GEOCODED_COLUMNS]]


# --------------------------------------------------------------------------- analyse


def _kommun_mask(settings: Settings, grid_transform: Any, shape: tuple[int, int]) -> np.ndarray:
    """Boolean mask of cells whose centre lies inside the kommun."""
    kommun = _areas(settings).kommun.geometry.union_all()
    xs, ys = cell_centres(grid_transform, shape)
    grid_x, grid_y = np.meshgrid(xs, ys)
    return shapely.contains_xy(kommun, grid_x, grid_y)


def analyse(
    settings: Settings,
    con: duckdb.DuckDBPyConnection,
    *,
    period: Period | None = None,
    progress: Progress = no_progress,
) -> StepResult:
    """Monthly counts per district and category, and one density raster per layer."""
    result = StepResult("analyse")
    with timed(result):
        events = store.read_events(
            con,
            columns=[
                "event_uid",
                "layer",
                "category",
                "occurred_at",
                "x",
                "y",
                "precision",
                "uncertainty_m",
                "stadsdelsomrade",
                "stadsdel",
            ],
        )
        if events.empty:
            result.warnings.append("the store holds no events — run `trygghetskarta ingest` first")
            return result
        period = period or default_period(events["occurred_at"])
        result.counts["period"] = period.label
        monthly = trends.monthly_counts(events, by=("layer", "stadsdelsomrade", "category"))
        result.counts["monthly_rows"] = store.replace_table(con, "monthly_counts", monthly)

        kommun = _areas(settings).kommun.to_crs(STORE_CRS)
        bounds = tuple(kommun.total_bounds)
        raster_dir = settings.processed_dir / "rasters"
        in_period = events[
            (events["occurred_at"] >= period.start) & (events["occurred_at"] < period.end)
        ]
        layers = sorted(in_period["layer"].unique())
        for i, layer in enumerate(layers):
            progress("Täthetskartor", i, len(layers))
            subset = in_period[(in_period["layer"] == layer) & in_period["x"].notna()]
            grid = density.kde(
                subset["x"].to_numpy(),
                subset["y"].to_numpy(),
                cell_size=settings.cell_size_m,
                bandwidth=settings.bandwidth_m,
                bounds=bounds,
                uncertainty=subset["uncertainty_m"].to_numpy(),
            )
            mask = _kommun_mask(settings, grid.transform, grid.values.shape)
            path = raster_dir / f"density_{layer}_{period.slug}.tif"
            outputs.write_geotiff(
                grid,
                path,
                mask=mask,
                extra_tags={
                    "layer": layer,
                    "period_start": period.start.date().isoformat(),
                    "period_end": period.end.date().isoformat(),
                    "n_without_position": int((in_period["layer"] == layer).sum() - len(subset)),
                },
            )
            result.files.append(path)
        progress("Täthetskartor", len(layers), len(layers))
    return result


# --------------------------------------------------------------------------- run


def run(
    settings: Settings,
    *,
    steps: tuple[str, ...] = ("ingest", "geocode", "analyse", "maps", "report"),
    progress: Progress = no_progress,
) -> RunReport:
    """Run the steps in order, record the run and write the manifest.

    A domain error in one step ends the run there (later steps need its output); the run
    row says ``failed`` with the sentence, and the error is raised again for the CLI.
    """
    settings.require_data()
    settings.processed_dir.mkdir(parents=True, exist_ok=True)
    functions: dict[str, Callable[..., StepResult]] = {
        "ingest": ingest,
        "geocode": geocode,
        "analyse": analyse,
        "maps": publish.maps,
        "report": publish.report,
    }
    run_id = f"{now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    con = store.connect(settings.db_path)
    results: list[StepResult] = []
    status, message = "ok", None
    try:
        store.start_run(
            con,
            run_id,
            command=" ".join(steps),
            started_at=now(),
            inputs={
                "data_dir": str(settings.data_dir),
                "police_files": [str(p) for p in police_files(settings)],
            },
            parameters=_parameters(settings),
        )
        for name in steps:
            try:
                results.append(functions[name](settings, con, progress=progress))
            except TrygghetskartaError as e:
                status, message = "failed", f"{name}: {e}"
                results.append(StepResult(name, errors=[str(e)]))
                raise
        if any(r.errors for r in results):
            status = "partial"
            message = "; ".join(e for r in results for e in r.errors)
    finally:
        counts = next((r.counts for r in results if r.step == "ingest"), {})
        store.finish_run(
            con,
            run_id,
            finished_at=now(),
            status=status,
            counts={k: v for k, v in counts.items() if k != "sources"}
            | {"steps": {r.step: r.counts for r in results}},
            message=message,
        )
        con.close()
    manifest = _write_manifest(settings, run_id, status, results)
    return RunReport(run_id, results, status, manifest)


def _parameters(settings: Settings) -> dict[str, Any]:
    return {
        "municipality": settings.municipality,
        "cell_size_m": settings.cell_size_m,
        "bandwidth_m": settings.bandwidth_m,
        "seed": settings.seed,
        "profile": settings.profile,
        "crs": STORE_CRS,
    }


def _write_manifest(
    settings: Settings, run_id: str, status: str, results: list[StepResult]
) -> Path:
    path = settings.processed_dir / "manifest.json"
    body = {
        "run_id": run_id,
        "status": status,
        "written_at": now().isoformat(),
        "data_dir": str(settings.data_dir),
        "database": str(settings.db_path),
        "parameters": _parameters(settings),
        "steps": [asdict(r) | {"files": [str(f) for f in r.files]} for r in results],
    }
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(body, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    tmp.replace(path)
    return path


maps = publish.maps
report = publish.report

__all__ = [
    "RunReport",
    "StepResult",
    "analyse",
    "geocode",
    "geocode_file",
    "ingest",
    "maps",
    "police_files",
    "report",
    "run",
]
