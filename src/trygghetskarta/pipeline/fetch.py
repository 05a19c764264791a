"""The ``fetch`` step: poll the live sources into ``data/raw/`` — the only step that uses
the network. What it saves is read by the next ``ingest``."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import duckdb

from trygghetskarta.config import CONFIG_FILE, Settings
from trygghetskarta.errors import SourceError
from trygghetskarta.net import HttpClient
from trygghetskarta.pipeline.steps import Progress, StepResult, no_progress, timed
from trygghetskarta.sources import polisen_api, polisen_pages

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

    Then, unless ``pages = false``, fetch the pages of the municipality's new and changed
    events (and retry those that failed) through the same client into
    ``data/raw/polisen/pages/``; pages the hourly limit leaves no room for wait for the
    next run.

    A source that cannot be fetched is recorded in ``errors``; the ingest that follows
    still reads everything already on disk. A page that fails is a warning, not an error:
    its event is ingested without the text and the page is tried again next run.
    """
    result = StepResult("fetch")
    with timed(result):
        cfg = polisen_settings(settings)
        progress("Hämtar: polisen", 0, 1)
        http = HttpClient(cfg.client, state_dir=settings.raw_dir / polisen_api.STATE_SUBDIR)
        try:
            polled = polisen_api.poll(
                cfg.client,
                raw_dir=settings.raw_dir,
                location=cfg.location or None,
                types=cfg.types or None,
                backfill_days=cfg.backfill_days,
                client=http,
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
            if cfg.pages:
                _fetch_pages(settings, cfg, http, result)
        finally:
            progress("Hämtar: polisen", 1, 1)
    return result


def _fetch_pages(
    settings: Settings,
    cfg: polisen_api.PolisenSettings,
    http: HttpClient,
    result: StepResult,
) -> None:
    """The pages of the municipality's events that lack them, into ``result``'s counts."""
    pages = polisen_pages.fetch_pages(
        cfg.client,
        raw_dir=settings.raw_dir,
        municipality=settings.municipality,
        now=datetime.now(UTC),
        days=cfg.pages_days,
        max_tries=cfg.page_tries,
        client=http,
    )
    result.files.extend(pages.files)
    result.counts.update(
        pages_fetched=len(pages.fetched),
        pages_failed=len(pages.failed),
        pages_waiting=len(pages.waiting),
        pages_given_up=len(pages.given_up),
    )
    if pages.failed:
        shown = "; ".join(pages.problems[:3]) + (" …" if len(pages.problems) > 3 else "")
        result.warnings.append(
            f"polisen: {len(pages.failed)} event pages failed ({shown}); their events are "
            "ingested without page text and the pages are tried again on the next run"
        )
    if pages.waiting:
        result.warnings.append(
            f"polisen: {len(pages.waiting)} event pages wait for the next run: the hourly "
            "limit of calls is spent"
        )
    if pages.given_up:
        result.warnings.append(
            f"polisen: gave up the pages of {len(pages.given_up)} events after "
            f"{cfg.page_tries} tries each (ids {', '.join(pages.given_up[:10])})"
        )
