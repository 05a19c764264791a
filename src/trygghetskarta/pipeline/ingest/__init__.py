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
from trygghetskarta.pipeline.ingest import layers
from trygghetskarta.pipeline.steps import Progress, StepResult, no_progress, now, timed
from trygghetskarta.schema import quarantine_classes, validate_events
from trygghetskarta.sources import bra, polisen
from trygghetskarta.sources.text_repair import Repairs

log = logging.getLogger(__name__)

#: Police files: the archive in ``<data>/police_events``, live fetches in ``data/raw/polisen``.
POLICE_ARCHIVE_GLOBS = ("polisen_events_*.parquet", "*events_with_text*.json")
POLICE_RAW_GLOBS = ("*.json", "*.jsonl")


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
            try:
                counts = _run_source(name, settings, con, paths if source else None, clock)
            except SourceError as e:
                result.errors.append(f"{name}: {e}")
                log.error("source %s failed: %s", name, e)
                continue
            sources[name] = counts
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
            result.counts["derived"] = layers.derive_from_police(settings, con)
        result.counts.update(
            totals,
            quarantine_reasons=reasons,
            quarantine_classes=quarantine_classes(reasons),
            sources=sources,
        )
    return result


def _reason_kind(reason: str) -> str:
    """Group quarantine reasons for the summary (the part before any quoted detail)."""
    return reason.split(" (")[0].split(": ")[0]


def _file_key(paths: list[Path]) -> str:
    """What identifies a batch's input: the files' contents and the tool's version.

    A new version of the tool may parse the same file differently, so it reads it again.
    """
    digest = hashlib.sha256(__version__.encode())
    for path in paths:
        with path.open("rb") as f:
            digest.update(hashlib.file_digest(f, "sha256").digest())
    return digest.hexdigest()[:32]


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
    for paths in batches:
        key = _file_key(paths)
        if key in done and not settings.reingest:
            counts["files_skipped"].extend(str(p) for p in paths)
            continue
        parsed = polisen.parse(paths, municipality=settings.municipality, now=clock)
        validate_events(parsed.events)
        repairs += parsed.repairs
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
    return counts
