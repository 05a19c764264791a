"""The pipeline: wires the stages together and is the one place that writes outputs.

``ingest`` → ``geocode`` → ``analyse`` → ``maps`` → ``report``; :func:`run` does all five and
records the run in the ``runs`` table and in ``data/processed/manifest.json``. Each step takes
the run's :class:`~trygghetskarta.config.Settings` and an open connection, and returns a
:class:`StepResult` (counts, files written, warnings). One failing source does not stop
the others: its error is recorded and the run ends ``partial``.

One module per step: :mod:`.fetch`, :mod:`.ingest`, :mod:`.geocoding`, :mod:`.analyse`; the maps and
report steps are in :mod:`trygghetskarta.publish`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from trygghetskarta import publish, store
from trygghetskarta._steps import Progress, StepResult, no_progress, now
from trygghetskarta.config import STORE_CRS, Settings
from trygghetskarta.errors import TrygghetskartaError
from trygghetskarta.pipeline.analyse import analyse
from trygghetskarta.pipeline.fetch import fetch, polisen_settings
from trygghetskarta.pipeline.geocoding import geocode, geocode_file, load_address_register
from trygghetskarta.pipeline.ingest import (
    POLICE_ARCHIVE_GLOBS,
    POLICE_RAW_GLOBS,
    SOURCES,
    ingest,
    police_files,
)


@dataclass
class RunReport:
    """A whole run: its id, its steps and how it ended."""

    run_id: str
    steps: list[StepResult]
    status: str
    manifest: Path | None = None


def run(
    settings: Settings,
    *,
    steps: tuple[str, ...] = ("ingest", "geocode", "analyse", "maps", "report"),
    progress: Progress = no_progress,
    options: Mapping[str, Mapping[str, Any]] | None = None,
) -> RunReport:
    """Run the steps in order, record the run and write the manifest.

    ``options`` gives a step its own keyword arguments, e.g. ``{"ingest": {"source":
    "brott", "paths": [...]}}``. A domain error in one step ends the run there (later steps
    need its output); the run
    row says ``failed`` with the sentence, and the error is raised again for the CLI.
    """
    settings.require_data()
    settings.processed_dir.mkdir(parents=True, exist_ok=True)
    functions: dict[str, Callable[..., StepResult]] = {
        "fetch": fetch,
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
                extra = dict((options or {}).get(name, {}))
                results.append(functions[name](settings, con, progress=progress, **extra))
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
    "POLICE_ARCHIVE_GLOBS",
    "POLICE_RAW_GLOBS",
    "SOURCES",
    "RunReport",
    "StepResult",
    "analyse",
    "fetch",
    "geocode",
    "geocode_file",
    "ingest",
    "load_address_register",
    "maps",
    "police_files",
    "polisen_settings",
    "report",
    "run",
]
