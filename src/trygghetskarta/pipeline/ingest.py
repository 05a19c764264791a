"""The ``ingest`` step: areas, population and every event source into the store.

Each source's batch is one transaction; one failing source does not stop the others.
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
from trygghetskarta._steps import Progress, StepResult, no_progress, now, timed
from trygghetskarta.config import Settings
from trygghetskarta.errors import SourceError
from trygghetskarta.schema import validate_events
from trygghetskarta.sources import polisen

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


def _ingest_police(settings: Settings, con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    batches = _police_batches(settings)
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
    for paths in batches:
        key = _file_key(paths)
        if key in done and not settings.reingest:
            counts["files_skipped"].extend(str(p) for p in paths)
            continue
        parsed = polisen.parse(paths, municipality=settings.municipality)
        validate_events(parsed.events)
        batch_id = f"polisen-{uuid.uuid4().hex[:12]}"
        at = now()
        with store.transaction(con):
            merged = store.merge_events(con, parsed.events, batch_id=batch_id, ingested_at=at)
            store.add_quarantine(con, parsed.quarantine, batch_id=batch_id, quarantined_at=at)
            batch = {
                "read": parsed.read,
                "versions": parsed.versions,
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
    return counts
