"""The ``fetch`` step: poll the live sources into ``data/raw/`` — the only step that uses
the network. What it saves is read by the next ``ingest``."""

from __future__ import annotations

import logging

import duckdb

from trygghetskarta.config import CONFIG_FILE, Settings
from trygghetskarta.errors import SourceError
from trygghetskarta.pipeline.steps import Progress, StepResult, no_progress, timed
from trygghetskarta.sources import polisen_api

log = logging.getLogger(__name__)


def polisen_settings(settings: Settings) -> polisen_api.PolisenSettings:
    """The ``[polisen]`` table of ``trygghetskarta.toml`` (with command-line overrides)."""
    return polisen_api.PolisenSettings.from_mapping(
        settings.extra.get("polisen", {}),
        origin=f"{settings.project_dir / CONFIG_FILE} [polisen]",
    )


def fetch(
    settings: Settings,
    con: duckdb.DuckDBPyConnection | None = None,
    *,
    progress: Progress = no_progress,
) -> StepResult:
    """Poll the police events API and keep every answer under ``data/raw/polisen/``.

    A source that cannot be fetched is recorded in ``errors``; the ingest that follows
    still reads everything already on disk.
    """
    result = StepResult("fetch")
    with timed(result):
        cfg = polisen_settings(settings)
        progress("Hämtar: polisen", 0, 1)
        try:
            polled = polisen_api.poll(
                cfg.client,
                raw_dir=settings.raw_dir,
                location=cfg.location or None,
                types=cfg.types or None,
                backfill_days=cfg.backfill_days,
            )
        except SourceError as e:
            result.errors.append(f"polisen: {e}")
            log.error("fetching polisen failed: %s", e)
        else:
            result.files.extend(polled.files)
            result.counts.update(
                events=polled.events,
                new=len(polled.new),
                changed=len(polled.changed),
                unchanged=polled.unchanged,
                backfilled_days=list(polled.backfilled),
                missed_days=list(polled.missed),
            )
            if polled.missed:
                result.warnings.append(
                    f"polisen: events published on {', '.join(polled.missed)} were not "
                    "fetched — add them from an archive file in data/raw/polisen/"
                )
        finally:
            progress("Hämtar: polisen", 1, 1)
    return result
