"""The ``ingest`` step: areas, population and every event source into the store.

Each source's batch is one transaction; one failing source does not stop the others.

Counting: every record read is a police record (each version of an event counts), a list
row or a statistics row, and ends as ``loaded``, ``updated``, ``unchanged`` or
``quarantined``, so ``read = loaded + updated + unchanged + quarantined`` for every batch.
Several versions of one event in one batch count as if each had come in a batch of its
own, in the order received (see :func:`trygghetskarta.store.merge_events`): the first
``loaded`` (a new event), each later one ``updated`` (new content) or ``unchanged``.
The quarantined records are counted per reason (``quarantine_reasons``) and per class
(``quarantine_classes``: outside the area, repeats and placeholder cells, wrong; see
:class:`trygghetskarta.schema.QuarantineClass`).
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from trygghetskarta import __version__, store
from trygghetskarta import areas as areas_mod
from trygghetskarta.config import Settings
from trygghetskarta.errors import ConfigError, SourceError
from trygghetskarta.pipeline import steps as _steps
from trygghetskarta.pipeline.fetch import polisen_settings
from trygghetskarta.pipeline.ingest import layers
from trygghetskarta.pipeline.steps import Progress, StepResult, no_progress, now, timed
from trygghetskarta.schema import quarantine_classes, validate_events
from trygghetskarta.sources import (
    bra,
    polisen,
    polisen_api,
    polisen_coverage,
    polisen_pages,
    raw_files,
)
from trygghetskarta.sources.text_repair import Repairs

log = logging.getLogger(__name__)

#: Police files: the archive in ``<data>/police_events``, live fetches in ``data/raw/polisen``.
POLICE_ARCHIVE_GLOBS = ("polisen_events_*.parquet", "*events_with_text*.json")
POLICE_RAW_GLOBS = ("*.json", "*.jsonl")


def police_files(settings: Settings) -> list[Path]:
    """The police event files an ingest reads: the archive, then live fetches (oldest first).

    A live answer compressed by housekeeping (``….json.gz``) is read in its place.
    """
    data = settings.require_data()
    found: list[Path] = []
    for pattern in POLICE_ARCHIVE_GLOBS:
        found.extend(sorted((data / "police_events").glob(pattern)))
    raw = settings.raw_dir / "polisen"
    if raw.is_dir():
        for pattern in POLICE_RAW_GLOBS:
            found.extend(raw_files.find(raw, pattern))
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


#: The sources an ingest reads, in order; ``trygghetskarta ingest SOURCE PATH…`` names one.
SOURCES = ("befolkning", "polisen", "brott", "skjutningar", "brander")


def _brott(
    settings: Settings,
    con: duckdb.DuckDBPyConnection,
    paths: list[Path] | None,
    clock: pd.Timestamp,
) -> dict:
    """Brå's statistics and the police's crime lists: a path is a list unless Brå's parser
    recognises it as statistics."""
    if paths is None:
        stats = layers.ingest_crime_statistics(settings, con)
        lists = layers.ingest_list(settings, con, "brott", now=clock)
    else:
        kinds = {p: _is_statistics(p) for p in paths}
        stats_paths = [p for p, is_stats in kinds.items() if is_stats]
        list_paths = [p for p, is_stats in kinds.items() if not is_stats]
        empty = {"read": 0, "loaded": 0, "updated": 0, "unchanged": 0, "quarantined": 0}
        stats = (
            layers.ingest_crime_statistics(settings, con, stats_paths)
            if stats_paths
            else dict(empty, by_reason={})
        )
        lists = (
            layers.ingest_list(settings, con, "brott", list_paths, now=clock)
            if list_paths
            else dict(empty, by_reason={})
        )
    merged = {
        k: stats[k] + lists[k] for k in ("read", "loaded", "updated", "unchanged", "quarantined")
    }
    if lists.get("repaired"):
        merged["repaired"] = lists["repaired"]
    reasons = dict(stats["by_reason"])
    for k, v in lists["by_reason"].items():
        reasons[k] = reasons.get(k, 0) + v
    return merged | {"by_reason": reasons, "statistics": stats, "lists": lists}


def _is_statistics(path: Path) -> bool:
    try:
        bra.parse_file(path)
    except SourceError:
        return False
    return True


def _run_source(
    name: str,
    settings: Settings,
    con: duckdb.DuckDBPyConnection,
    paths: list[Path] | None,
    clock: pd.Timestamp,
) -> dict[str, Any]:
    if name == "polisen":
        return _ingest_police(settings, con, paths, clock)
    if name == "befolkning":
        return layers.ingest_population(settings, con, paths)
    if name == "brott":
        return _brott(settings, con, paths, clock)
    return layers.ingest_list(settings, con, name, paths, now=clock)


def ingest(
    settings: Settings,
    con: duckdb.DuckDBPyConnection,
    *,
    progress: Progress = no_progress,
    source: str | None = None,
    paths: list[Path] | None = None,
    now: pd.Timestamp | None = None,
) -> StepResult:
    """Load areas and every source into the store, then re-derive shootings and fires.

    Each source's batch is one transaction: it lands whole or not at all. A source that
    fails is recorded in ``errors`` and the others still load. Characters repaired in a
    source's text (lone surrogates, NULs) are counted in its ``repaired`` and named in
    ``warnings``.

    Parameters
    ----------
    source, paths
        Ingest only this source (one of :data:`SOURCES`), from these files (default: the
        data directory's own).
    now
        The run's clock, against which events in the future are quarantined (default: the
        time the step starts).
    """
    clock = _steps.now() if now is None else now
    if source is not None and source not in SOURCES:
        raise ConfigError(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}")
    result = StepResult("ingest")
    with timed(result):
        progress("Områden", 0, 1)
        with store.transaction(con):
            _load_areas(settings, con, result)
        progress("Områden", 1, 1)
        totals = dict.fromkeys(("read", "loaded", "updated", "unchanged", "quarantined"), 0)
        reasons: dict[str, int] = {}
        sources: dict[str, Any] = {}
        names = (source,) if source else SOURCES
        for i, name in enumerate(names):
            progress("Källor", i, len(names))
            started = time.perf_counter()
            try:
                counts = _run_source(name, settings, con, paths if source else None, clock)
            except SourceError as e:
                result.errors.append(f"{name}: {e}")
                log.error("source %s failed: %s", name, e)
                continue
            counts["seconds"] = round(time.perf_counter() - started, 3)
            sources[name] = counts
            if counts.get("lacking_text_read"):
                result.warnings.append(_lacking_text(counts["lacking_text_read"]))
            repaired = counts.get("repaired")
            if repaired:
                result.warnings.append(
                    f"{name}: {Repairs.from_counts(repaired).describe()} in the text it read (the "
                    "records are kept; see the log for the files)"
                )
            for key in totals:
                totals[key] += counts[key]
            for reason, n in counts["by_reason"].items():
                reasons[reason] = reasons.get(reason, 0) + n
        progress("Källor", len(names), len(names))
        if source in (None, "polisen"):
            started = time.perf_counter()
            result.counts["derived"] = layers.derive_from_police(settings, con)
            result.counts["derived"]["seconds"] = round(time.perf_counter() - started, 3)
        result.counts.update(
            totals,
            quarantine_reasons=reasons,
            quarantine_classes=quarantine_classes(reasons),
            sources=sources,
        )
    return result


def _lacking_text(reasons: dict[str, int]) -> str:
    """The warning for the live events read in this run that have no page text."""
    total = sum(reasons.values())
    kinds: dict[str, int] = {}
    for reason, n in reasons.items():
        kind = reason.split(" (")[0]
        kinds[kind] = kinds.get(kind, 0) + n
    shown = "; ".join(f"{n} {kind}" for kind, n in list(kinds.items())[:3])
    return (
        f"polisen: {total} live events read now have no page text ({shown}); they are placed "
        "from their summary until it comes (events.text_missing says why)"
    )


def _reason_kind(reason: str) -> str:
    """Group quarantine reasons for the summary (the part before any quoted detail)."""
    return reason.split(" (")[0].split(": ")[0]


def _file_key(paths: list[Path], pages: str = "") -> str:
    """What identifies a batch's input: the files' contents and the tool's version, and
    for a live answer the page text its events get (``pages``, see
    :meth:`~trygghetskarta.sources.polisen_pages.PageIndex.signature`).

    A new version of the tool may parse the same file differently, so it reads it again;
    an answer whose events got a page since (or whose page failed again) is read again
    with it. The content is the original bytes, so a file compressed by housekeeping keeps
    its key and is not read again as new.
    """
    digest = hashlib.sha256(__version__.encode())
    for path in paths:
        digest.update(raw_files.content_digest(path))
    if pages:
        digest.update(f"pages:{pages}".encode())
    return digest.hexdigest()[:32]


def _page_index(settings: Settings) -> polisen_pages.PageIndex:
    """The saved pages of live events (``data/raw/polisen/pages``), read once per ingest."""
    cfg = polisen_settings(settings)
    return polisen_pages.PageIndex.scan(
        settings.raw_dir / "polisen" / polisen_pages.PAGES_SUBDIR,
        municipality=settings.municipality,
        switched_off=not cfg.pages,
        max_tries=cfg.page_tries,
    )


def _police_batches(settings: Settings) -> list[list[Path]]:
    """The archive files as one batch (their versions fold together), then each live answer
    as a batch of its own in the order it was fetched, so every version of an edited event
    reaches ``event_versions``."""
    files = police_files(settings)
    raw = settings.raw_dir / "polisen"
    archive = [f for f in files if f.parent != raw]
    live = [f for f in files if f.parent == raw]
    return ([archive] if archive else []) + [[f] for f in live]


def _ingest_police(
    settings: Settings,
    con: duckdb.DuckDBPyConnection,
    paths: list[Path] | None,
    clock: pd.Timestamp,
) -> dict[str, Any]:
    batches = [[p] for p in paths] if paths else _police_batches(settings)
    if not batches:
        raise SourceError(
            f"no police event files in {settings.require_data() / 'police_events'} — expected "
            f"{' or '.join(POLICE_ARCHIVE_GLOBS)}, or run `trygghetskarta fetch polisen`"
        )
    done = store.ingested_file_keys(con)
    counts: dict[str, Any] = dict.fromkeys(
        ("read", "versions", "loaded", "updated", "unchanged", "quarantined"), 0
    )
    counts.update(files=[], files_skipped=[], by_reason={})
    repairs = Repairs()
    index = _page_index(settings)
    live_dir = settings.raw_dir / "polisen"
    missing_now: dict[str, str | None] = {}  # why each event read now lacks page text
    for paths in batches:
        live = all(p.parent == live_dir for p in paths)
        key = _file_key(paths, "".join(index.signature(p) for p in paths) if live else "")
        if key in done and not settings.reingest:
            counts["files_skipped"].extend(str(p) for p in paths)
            continue
        parsed = polisen.parse(
            paths,
            municipality=settings.municipality,
            now=clock,
            pages=index.attach if live else None,
        )
        validate_events(parsed.events)
        repairs += parsed.repairs
        if live:
            reasons = parsed.events["text_missing"].astype(object)
            missing_now.update(
                zip(parsed.events["event_uid"], reasons.where(reasons.notna(), None), strict=True)
            )
        batch_id = f"polisen-{uuid.uuid4().hex[:12]}"
        at = now()
        with store.transaction(con):
            merged = store.merge_events(
                con, parsed.events, batch_id=batch_id, ingested_at=at, versions=parsed.versions
            )
            store.add_quarantine(con, parsed.quarantine, batch_id=batch_id, quarantined_at=at)
            batch = {
                "read": parsed.read,
                "versions": len(parsed.versions),
                "loaded": merged.loaded,
                "updated": merged.updated,
                "unchanged": merged.unchanged,
                "quarantined": len(parsed.quarantine),
            }
            store.record_ingested_files(
                con, key, [str(p) for p in paths], batch_id=batch_id, at=at, counts=batch
            )
        accounted = batch["loaded"] + batch["updated"] + batch["unchanged"] + batch["quarantined"]
        if accounted != batch["read"]:
            raise AssertionError(f"police ingest lost records in {paths}: {batch}")
        log.info("polisen: %s → %s", ", ".join(p.name for p in paths), batch)
        for k, v in batch.items():
            counts[k] += v
        counts["files"].extend(str(p) for p in paths)
        for reason, n in parsed.quarantine["reason"].map(_reason_kind).value_counts().items():
            counts["by_reason"][str(reason)] = counts["by_reason"].get(str(reason), 0) + int(n)
    if repairs:
        counts["repaired"] = repairs.as_counts()
    counts["coverage"] = _record_coverage(settings, con, batches, explicit=bool(paths))
    lacking = store.text_missing(con, polisen.SOURCE)
    counts["lacking_text"] = sum(lacking.values())  # every event in the store
    counts["lacking_text_reasons"] = lacking
    read_now: dict[str, int] = {}
    for reason in missing_now.values():
        if reason is not None:
            read_now[reason] = read_now.get(reason, 0) + 1
    counts["lacking_text_read"] = read_now  # the events this run read
    return counts


def _record_coverage(
    settings: Settings,
    con: duckdb.DuckDBPyConnection,
    batches: list[list[Path]],
    *,
    explicit: bool,
) -> dict[str, int]:
    """Record in ``coverage_days`` the days the police files cover (see
    :mod:`trygghetskarta.sources.polisen_coverage`); return the rows changed per ``how``.

    API answers (saved by ``fetch`` or written by hand) cover the days wholly inside the
    spans of consecutive overlapping answers, and the days a day or hour backfill filled;
    the archive covers the days it holds densely. Without ``explicit`` paths every saved
    answer under ``data/raw/polisen`` is read (from its small metadata file where there
    is one), so an answer's overlap with one ingested by an earlier run counts too.
    Recording is idempotent: a covered day stays covered.
    """
    raw = settings.raw_dir / "polisen"
    meta = raw / polisen_api.META_SUBDIR
    files = [p for batch in batches for p in batch]
    answers: list[polisen_coverage.Answer] = []
    archive: list[Path] = []
    for path in files:
        live = explicit or path.parent == raw
        answer = None
        if live and raw_files.logical_suffix(path) == ".json":
            answer = polisen_coverage.read_answer(
                path, meta_dir=meta if path.parent == raw else None
            )
        if answer is None:
            archive.append(path)
        else:
            answers.append(answer)
    findings = polisen_coverage.answer_findings(answers)
    if archive:
        findings += polisen_coverage.archive_findings(archive)
    with store.transaction(con):
        changed = store.record_findings(con, polisen.SOURCE, findings)
    if any(changed.values()):
        log.info("polisen: coverage recorded: %s", changed)
    return changed
