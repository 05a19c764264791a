"""The ``geocode`` step, and geocoding of a single file without the database."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from trygghetskarta import areas as areas_mod
from trygghetskarta import geocode as geocode_mod
from trygghetskarta import store
from trygghetskarta._steps import Progress, StepResult, no_progress, timed
from trygghetskarta.config import Settings
from trygghetskarta.schema import GEOCODED_COLUMNS, Layer, Precision
from trygghetskarta.sources import polisen


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
