"""The ``fetch`` step: poll the live sources into ``data/raw/`` — the only step that uses
the network. What it saves is read by the next ``ingest``.

The poll backfills every day of the last ``backfill_max_days`` that the store does not
cover (``store.read_coverage``), and this step records what the poll learned in the
store's ``coverage_days``: days covered by overlapping answers or by a backfill, and days
tried and not filled (gaps, with the reason), which the next run tries again."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import duckdb
import pandas as pd

from trygghetskarta import store
from trygghetskarta.config import CONFIG_FILE, Settings
from trygghetskarta.errors import SourceError
from trygghetskarta.net import HttpClient
from trygghetskarta.pipeline.steps import Progress, StepResult, no_progress, timed
from trygghetskarta.sources import polisen, polisen_api, polisen_pages

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
    now: pd.Timestamp | None = None,
) -> StepResult:
    """Poll the police events API and keep every answer under ``data/raw/polisen/``.

    With a connection, every day of the last ``backfill_max_days`` the store does not
    cover is backfilled, and what the poll learned is recorded in ``coverage_days``;
    without one, only a gap between two polls is. Then, unless ``pages = false``, fetch the
    pages of the municipality's new and changed events (and retry those that failed)
    through the same client into ``data/raw/polisen/pages/``; pages the hourly limit leaves
    no room for wait for the next run.

    A source that cannot be fetched is recorded in ``errors``; the ingest that follows
    still reads everything already on disk. A page that fails is a warning, not an error:
    its event is ingested without the text and the page is tried again next run.

    Parameters
    ----------
    now
        The run's clock (default: the current time): today is not backfilled.
    """
    result = StepResult("fetch")
    with timed(result):
        cfg = polisen_settings(settings)
        progress("Hämtar: polisen", 0, 1)
        covered = known = None
        if con is not None:
            coverage = store.coverage_days(con, polisen.SOURCE)
            covered = set(coverage.loc[coverage["covered"], "day"].map(_as_date))
            known = store.event_days(con, polisen.SOURCE)
        http = HttpClient(cfg.client, state_dir=settings.raw_dir / polisen_api.STATE_SUBDIR)
        try:
            polled = polisen_api.poll(
                cfg.client,
                raw_dir=settings.raw_dir,
                location=cfg.location or None,
                types=cfg.types or None,
                backfill_max_days=cfg.backfill_max_days,
                covered=covered,
                known=known or (),
                now=None if now is None else now.to_pydatetime(),
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
                backfilled=len(polled.backfilled),
                gaps=len(polled.missed),
                untried_days=len(polled.untried),
                backfilled_days=list(polled.backfilled),
                missed_days=list(polled.missed),
            )
            if con is not None:
                with store.transaction(con):
                    recorded = store.record_findings(con, polisen.SOURCE, polled.findings)
                result.counts["coverage_recorded"] = recorded
            if polled.missed:
                result.warnings.append(
                    f"polisen: events published on {_days_text(polled.missed)} could not be "
                    "fetched (recorded as gaps, tried again on the next run) — an archive "
                    "file in data/raw/polisen/ can fill them"
                )
            if polled.untried:
                result.warnings.append(
                    f"polisen: {len(polled.untried)} uncovered days ({polled.untried[-1]} … "
                    f"{polled.untried[0]}) were not tried this run; the next run goes on"
                )
            if cfg.pages:
                _fetch_pages(settings, cfg, http, result)
        finally:
            progress("Hämtar: polisen", 1, 1)
    return result


def _as_date(value: object) -> object:
    """A ``coverage_days.day`` value as a :class:`datetime.date`."""
    return pd.Timestamp(value).date()


def _days_text(days: tuple[str, ...], most: int = 10) -> str:
    shown = ", ".join(days[:most])
    return shown + (f" and {len(days) - most} more" if len(days) > most else "")


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
