"""The pipeline: wires the stages together and is the one place that writes outputs.

``ingest`` → ``geocode`` → ``analyse`` → ``forecast`` → ``maps`` → ``report``; :func:`run`
does all six and records the run in the ``runs`` table and in ``data/processed/manifest.json``.
Each step takes the run's :class:`~trygghetskarta.config.Settings` and an open connection,
and returns a :class:`StepResult` (counts, files written, warnings). One failing source does
not stop the others: its error is recorded and the run ends ``partial``. Any exception a
step raises ends the run ``failed``, with its message in ``runs`` and in the manifest.

Outputs: ``data/processed/public/{maps,reports}/`` and ``data/processed/internal/{maps,reports}/``,
each folder published at once with its own ``manifest.json`` (see :func:`publish.maps`).

One module per step: :mod:`.fetch`, :mod:`.ingest`, :mod:`.geocoding`, :mod:`.analyse`; the maps and
report steps are in :mod:`trygghetskarta.pipeline.publish`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from trygghetskarta import __version__, store
from trygghetskarta.config import PROFILES, STORE_CRS, Settings
from trygghetskarta.errors import StoreError, TrygghetskartaError, environment_error
from trygghetskarta.freshness import Freshness, assess
from trygghetskarta.pipeline import housekeeping, outputs, publish, runlock, summary, workdb
from trygghetskarta.pipeline import steps as _steps
from trygghetskarta.pipeline.analyse import analyse
from trygghetskarta.pipeline.fetch import fetch, polisen_settings
from trygghetskarta.pipeline.forecast import forecast_step, write_forecast
from trygghetskarta.pipeline.geocoding import geocode, geocode_file, load_address_register
from trygghetskarta.pipeline.ingest import (
    POLICE_ARCHIVE_GLOBS,
    POLICE_RAW_GLOBS,
    SOURCES,
    ingest,
    police_files,
)
from trygghetskarta.pipeline.measures import follow_up_measures
from trygghetskarta.pipeline.pdf import find_chromium, print_pdf
from trygghetskarta.pipeline.steps import (
    STEP_LOG_KEY,
    Progress,
    StepResult,
    new_run_id,
    no_progress,
)


@dataclass
class RunReport:
    """A whole run: its id, its steps, how it ended and how fresh its data is.

    ``freshness`` is each source's newest event at the run's clock (``None`` when the
    database could not be read at the end); ``headline`` is the run's verdict in one line
    (``OK: …``, ``OK with warnings: …``, ``FAILED: …``, see :mod:`.summary`).
    """

    run_id: str
    steps: list[StepResult]
    status: str
    manifest: Path | None = None
    #: Raw files compressed after the run (``compress_raw=True``), else None.
    compressed: housekeeping.Compressed | None = None
    freshness: Freshness | None = None
    headline: str = ""


#: Steps that publish a folder of pages (they get the run id for their staging folder).
_PUBLISHING = ("maps", "report")
#: Steps that take the run's clock (``now=``).
_CLOCKED = ("ingest", "maps", "report")
_log = logging.getLogger(__name__)


def run(
    settings: Settings,
    *,
    steps: tuple[str, ...] = ("ingest", "geocode", "analyse", "forecast", "maps", "report"),
    progress: Progress = no_progress,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    halt_on_errors: bool = False,
    compress_raw: bool = False,
    now: pd.Timestamp | None = None,
) -> RunReport:
    """Run the steps in order, record the run, write the manifest and publish the database.

    One run at a time: the run holds the run lock (:mod:`.runlock`) and raises
    :class:`~trygghetskarta.errors.RunLockedError` at once, naming the running one, when
    another run holds it. The steps write the batch's own database
    (``Settings.work_db_path``); when they end, the run publishes it as the read-only
    snapshot readers open (``Settings.db_path``): whole when the run ended ``ok`` or
    ``partial``, only its ``runs`` table when it failed (readers keep the last good data
    and ``status`` shows the failure). A snapshot that cannot be published fails the run.
    With ``compress_raw`` (and ``[raw] compress``, true by default), a run that ended
    ``ok`` or ``partial`` then compresses the raw files older than ``[raw]
    compress_after_days`` (see :mod:`.housekeeping`).

    ``now`` is the run's clock (default: the time it starts): the ingest quarantines
    events published after it, and the freshness of each source (its newest event's age,
    warned about when older than ``settings.freshness``) and the pages' "Skapad" and
    "Senaste data" are seen from it. Tests inject it so that they do not depend on today.

    ``options`` gives a step its own keyword arguments, e.g. ``{"ingest": {"source":
    "brott", "paths": [...]}}``. With ``halt_on_errors`` a step that reports errors ends the
    run there as ``failed`` (``fetch polisen`` does not ingest after a fetch that failed);
    without it the later steps still run and the run ends ``partial``.

    Every exception a step raises ends the run there (later steps need its output): the
    ``runs`` row and ``manifest.json`` say ``failed`` with its message, and it is raised
    again for the CLI. A domain error is raised as it is; an error of the environment (no
    space, read-only, no permission, a file where a folder is expected, text that cannot be
    encoded, a database that cannot be written) is raised as a domain error whose message
    is one sentence naming the path and the fix; any other exception is a bug and is raised
    as it is (the CLI shows its traceback), after being recorded as ``failed`` too.

    Raises
    ------
    TrygghetskartaError
        A step failed for a reason the user can fix.
    """
    settings.require_data()
    tidy = compress_raw and housekeeping.raw_settings(settings).compress  # checked up front
    try:
        settings.processed_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise environment_error(e, settings.processed_dir) from e
    with runlock.run_lock(settings.run_lock_path, " ".join(steps)):
        try:
            report = _run_steps(settings, steps, progress, options, halt_on_errors, now)
        except BaseException:
            _publish_runs_quietly(settings)
            raise
        ended_well = report.status in ("ok", "partial")
        try:
            workdb.publish(settings, data=ended_well)
        except TrygghetskartaError as e:
            if not ended_well:  # the failure is in the manifest and the batch's database
                _log.error("%s", e)
                return report
            _fail_after_the_steps(settings, report, f"publish: {e}")
            raise
        if tidy and ended_well:
            report.compressed = _compress_quietly(settings)
    return report


def _publish_runs_quietly(settings: Settings) -> None:
    """After a step raised: record the failed run in the snapshot's ``runs`` if possible."""
    try:
        workdb.publish(settings, data=False)
    except TrygghetskartaError as e:
        _log.error("%s", e)


def _compress_quietly(settings: Settings) -> housekeeping.Compressed | None:
    """Raw-data housekeeping after a good run; a problem there is a warning, not a failure."""
    try:
        return housekeeping.compress_raw(settings)
    except (TrygghetskartaError, OSError) as e:
        _log.warning("raw-data housekeeping skipped: %s", e)
        return None


def _fail_after_the_steps(settings: Settings, report: RunReport, message: str) -> None:
    """The steps went well but the run cannot publish: record it failed everywhere."""
    report.status = "failed"
    try:
        con = store.connect(settings.work_db_path, read_only=False)
        try:
            con.execute(
                "UPDATE runs SET status = 'failed', message = ? WHERE run_id = ?",
                [message, report.run_id],
            )
        finally:
            con.close()
    except (StoreError, duckdb.Error) as e:
        _log.error("run %s could not be recorded as failed (%s)", report.run_id, e)
    path = settings.processed_dir / "manifest.json"
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        if body.get("run_id") == report.run_id:
            body.update(status="failed", message=message, written_at=_steps.now().isoformat())
            text = json.dumps(body, ensure_ascii=False, indent=2, default=str)
            outputs.write_atomic(path, text.encode("utf-8"))
    except (OSError, ValueError) as e:
        _log.error("%s could not be updated (%s)", path, e)


def _run_steps(
    settings: Settings,
    steps: tuple[str, ...],
    progress: Progress,
    options: Mapping[str, Mapping[str, Any]] | None,
    halt_on_errors: bool,
    now: pd.Timestamp | None,
) -> RunReport:
    """The steps on the batch's database, recorded in ``runs`` and ``manifest.json``;
    ``now`` is the run's clock (None: the time it starts)."""
    functions: dict[str, Callable[..., StepResult]] = {
        "fetch": fetch,
        "ingest": ingest,
        "geocode": geocode,
        "analyse": analyse,
        "forecast": forecast_step,
        "maps": publish.maps,
        "report": publish.report,
    }
    run_id = new_run_id()
    started_at = _steps.now()
    clock = started_at if now is None else now
    con: duckdb.DuckDBPyConnection | None = None
    try:
        workdb.prepare(settings)
        con = store.connect(
            settings.work_db_path, read_only=False, memory_limit=settings.db_memory_limit
        )
        store.start_run(
            con,
            run_id,
            command=" ".join(steps),
            started_at=started_at,
            inputs={
                "data_dir": str(settings.data_dir),
                "police_files": [str(p) for p in police_files(settings)],
            },
            parameters=_parameters(settings),
        )
    except (OSError, UnicodeError, duckdb.Error) as e:
        if con is not None:
            with contextlib.suppress(duckdb.Error):
                con.close()
        if not _environmental(e):
            raise
        error = _domain_error(e, settings)
        _record_elsewhere(settings, run_id, "failed", str(error), [], started_at)
        raise error from e
    results: list[StepResult] = []
    status, message = "ok", None
    raised: BaseException | None = None
    try:
        for name in steps:
            extra = dict((options or {}).get(name, {}))
            if name in _PUBLISHING:
                extra.setdefault("run_id", run_id)
            if name in _CLOCKED:
                extra.setdefault("now", clock)
            _log.info("%s: started", name, extra={STEP_LOG_KEY: name})
            try:
                results.append(functions[name](settings, con, progress=progress, **extra))
            except BaseException as e:
                status, text = _failure(e, settings)
                message = f"{name}: {text}"
                results.append(StepResult(name, errors=[text]))
                raised = e
                if _environmental(e) and not isinstance(e, TrygghetskartaError):
                    raise _domain_error(e, settings) from e
                raise
            if name in _PUBLISHING:
                _write_manifest_quietly(settings, run_id, "running", None, results, started_at)
            if halt_on_errors and results[-1].errors:
                status = "failed"
                message = "; ".join(f"{name}: {e}" for e in results[-1].errors)
                break
        if status == "ok" and any(r.errors for r in results):
            status = "partial"
            message = "; ".join(e for r in results for e in r.errors)
    finally:
        freshness = _freshness(settings, con, clock)
        try:
            _write_manifest(
                settings, run_id, status, message, results, started_at, freshness=freshness
            )
        except OSError as e:
            error = environment_error(e, settings.processed_dir / "manifest.json")
            if raised is None:  # the steps went well but their record cannot be written
                status, message = "failed", f"manifest: {error}"
                _finish(con, settings, run_id, status, message, results)
                raise error from e
            _log.error("%s", error)
        _finish(con, settings, run_id, status, message, results)
        verdict = summary.headline(status, message, results, freshness)
        _log.info("run %s: %s", run_id, verdict, extra={STEP_LOG_KEY: ""})
    return RunReport(
        run_id,
        results,
        status,
        settings.processed_dir / "manifest.json",
        freshness=freshness,
        headline=verdict,
    )


def data_freshness(
    settings: Settings, con: duckdb.DuckDBPyConnection, *, now: pd.Timestamp | None = None
) -> Freshness:
    """Each source's newest event in the database and its age at ``now`` (default: the
    current time), against the thresholds of ``settings.freshness`` (``status`` shows it).
    """
    clock = _steps.now() if now is None else now
    return assess(store.newest_events(con), now=clock, policy=settings.freshness)


def read_freshness(settings: Settings, *, now: pd.Timestamp | None = None) -> Freshness | None:
    """:func:`data_freshness` of the published snapshot (``status``), or None before a run
    has published one. Never blocks a run: readers only open the snapshot."""
    if not settings.db_path.exists():
        return None
    con = store.connect(settings.db_path, read_only=True)
    try:
        return data_freshness(settings, con, now=now)
    finally:
        con.close()


def _freshness(
    settings: Settings, con: duckdb.DuckDBPyConnection, clock: pd.Timestamp
) -> Freshness | None:
    """Each source's newest event at the run's clock; a stale source is logged as a
    warning. ``None`` (logged) when the database cannot answer after a failed step."""
    try:
        found = data_freshness(settings, con, now=clock)
    except duckdb.Error as e:
        _log.warning("the freshness of the data could not be read (%s)", str(e).splitlines()[0])
        return None
    for source in found.sources:
        _log.info("freshness: %s", source.sentence())
    for warning in found.warnings():
        _log.warning("%s", warning)
    return found


def _failure(error: BaseException, settings: Settings) -> tuple[str, str]:
    """The status and the message a step's exception leaves in ``runs`` and the manifest."""
    if isinstance(error, KeyboardInterrupt):
        return "interrupted", "interrupted (Ctrl-C) before the step finished"
    if isinstance(error, TrygghetskartaError):
        return "failed", str(error)
    if _environmental(error):
        return "failed", str(_domain_error(error, settings))
    text = str(error)
    return "failed", f"{type(error).__name__}: {text}" if text else type(error).__name__


#: What the operating system says, in DuckDB's messages, when a disk is full or read-only.
_OS_TROUBLE = re.compile(
    r"No space left|Disk quota|Read-only file system|Permission denied|Could not write file"
)


def _environmental(error: BaseException) -> bool:
    """True for errors of the environment: OSError, UnicodeError, a database that cannot be
    written; False for the tool's own bugs."""
    if isinstance(error, OSError | UnicodeError | duckdb.IOException):
        return True
    return isinstance(error, duckdb.Error) and bool(_OS_TROUBLE.search(str(error)))


def _domain_error(error: BaseException, settings: Settings) -> TrygghetskartaError:
    """One sentence for an error of the environment met outside the tool's own checks."""
    if isinstance(error, TrygghetskartaError):
        return error
    if isinstance(error, duckdb.Error):
        return StoreError(
            f"cannot write the database {settings.work_db_path} ({str(error).splitlines()[0]}) — "
            "check that its disk has space and is writable, and run again"
        )
    if isinstance(error, UnicodeError):
        return environment_error(error)
    assert isinstance(error, OSError)
    return environment_error(error, settings.processed_dir)


def _finish(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    run_id: str,
    status: str,
    message: str | None,
    results: list[StepResult],
) -> None:
    """Record how the run ended; if the database cannot take it, log why and go on.

    The row then stays ``running`` and the next run marks it ``interrupted``; the
    manifest (when it could be written) still says how the run ended.
    """
    counts = next((r.counts for r in results if r.step == "ingest"), {})
    try:
        store.finish_run(
            con,
            run_id,
            finished_at=_steps.now(),
            status=status,
            counts={k: v for k, v in counts.items() if k != "sources"}
            | {"steps": {r.step: r.counts for r in results}},
            message=message,
        )
    except (duckdb.Error, OSError) as e:
        _log.error(
            "run %s ended %s but the database %s could not record it (%s); the next run "
            "marks it interrupted",
            run_id,
            status,
            settings.work_db_path,
            str(e).splitlines()[0] if str(e) else type(e).__name__,
        )
    finally:
        with contextlib.suppress(duckdb.Error):
            con.close()


def _record_elsewhere(
    settings: Settings,
    run_id: str,
    status: str,
    message: str,
    results: list[StepResult],
    started_at: pd.Timestamp,
) -> None:
    """When the database cannot record a run, the manifest still says how it ended."""
    try:
        _write_manifest(settings, run_id, status, message, results, started_at)
    except OSError as e:
        _log.error("%s", environment_error(e, settings.processed_dir / "manifest.json"))


def _parameters(settings: Settings) -> dict[str, Any]:
    return {
        "municipality": settings.municipality,
        "analysis": settings.analysis.as_dict(),
        "seed": settings.seed,
        "profile": settings.profile,
        "crs": STORE_CRS,
        "freshness_days": settings.freshness.as_dict(),
    }


def _published(settings: Settings) -> dict[str, Any]:
    """What each published folder holds now, from the manifest beside its files."""
    found: dict[str, Any] = {}
    for profile in PROFILES:
        for kind in ("maps", "reports"):
            path = settings.processed_dir / profile / kind / outputs.FOLDER_MANIFEST
            try:
                body = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            found[f"{profile}/{kind}"] = {
                "run_id": body.get("run_id"),
                "written_at": body.get("written_at"),
                "period": body.get("period"),
                "files": len(body.get("files", [])),
                "manifest": f"{profile}/{kind}/{outputs.FOLDER_MANIFEST}",
            }
    return found


def _write_manifest(
    settings: Settings,
    run_id: str,
    status: str,
    message: str | None,
    results: list[StepResult],
    started_at: pd.Timestamp,
    *,
    freshness: Freshness | None = None,
) -> Path:
    """``data/processed/manifest.json``: the last run, and what each output folder holds.

    Each folder of pages has its own ``manifest.json`` (written with its files and swapped
    in with them); this one says how the last run went and points to them: the tool's
    version, the run's verdict (``summary``: headline, warnings, quarantine per class) and
    each source's ``freshness``.
    """
    path = settings.processed_dir / "manifest.json"
    body = {
        "run_id": run_id,
        "version": __version__,
        "status": status,
        "message": message,
        "summary": summary.as_dict(status, message, results, freshness),
        "started_at": started_at.isoformat(),
        "written_at": _steps.now().isoformat(),
        "data_dir": str(settings.data_dir),
        "database": str(settings.db_path),
        "parameters": _parameters(settings),
        "freshness": None if freshness is None else freshness.as_dict(),
        "steps": [asdict(r) | {"files": [str(f) for f in r.files]} for r in results],
        "outputs": _published(settings),
    }
    text = json.dumps(body, ensure_ascii=False, indent=2, default=str)
    return outputs.write_atomic(path, text.encode("utf-8"))


def _write_manifest_quietly(
    settings: Settings,
    run_id: str,
    status: str,
    message: str | None,
    results: list[StepResult],
    started_at: pd.Timestamp,
) -> None:
    """Rewrite the manifest after a folder was published, so that it names what is there."""
    try:
        _write_manifest(settings, run_id, status, message, results, started_at)
    except OSError as e:  # the run goes on; the manifest is written again at its end
        _log.warning("%s", environment_error(e, settings.processed_dir / "manifest.json"))


maps = publish.maps
report = publish.report
RunHolder = runlock.RunHolder
compress_raw_files = housekeeping.compress_command
disk_use = housekeeping.disk_use
read_runs = workdb.read_runs
unpublished_run = workdb.unpublished_run


def current_run(settings: Settings) -> runlock.RunHolder | None:
    """The run in progress now (it holds the run lock), or None."""
    return runlock.current_run(settings.run_lock_path)


__all__ = [
    "POLICE_ARCHIVE_GLOBS",
    "POLICE_RAW_GLOBS",
    "SOURCES",
    "RunHolder",
    "RunReport",
    "StepResult",
    "analyse",
    "compress_raw_files",
    "current_run",
    "data_freshness",
    "disk_use",
    "fetch",
    "find_chromium",
    "follow_up_measures",
    "forecast_step",
    "geocode",
    "geocode_file",
    "ingest",
    "load_address_register",
    "maps",
    "police_files",
    "polisen_settings",
    "print_pdf",
    "read_freshness",
    "read_runs",
    "report",
    "run",
    "unpublished_run",
    "write_forecast",
]
