"""The ``geocode`` step, and geocoding of a single file without the database."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from trygghetskarta import areas as areas_mod
from trygghetskarta import geocode as geocode_mod
from trygghetskarta import store
from trygghetskarta.config import Settings
from trygghetskarta.pipeline import workdb
from trygghetskarta.pipeline.steps import Progress, StepResult, no_progress, timed
from trygghetskarta.schema import GEOCODED_COLUMNS, Precision
from trygghetskarta.sources import polisen


def _areas(settings: Settings) -> areas_mod.Areas:
    return areas_mod.load_areas(settings.require_data())


#: Sources whose only position is in their words: placed by the text geocoder.
TEXT_SOURCES = ("polisen", "shooting:polisen", "fire:polisen")


def _given_positions(events: pd.DataFrame, areas: areas_mod.Areas) -> pd.DataFrame:
    """Events whose source gave coordinates: keep them, add the districts at their time."""
    placed = areas_mod.assign(
        events["x"].to_numpy(), events["y"].to_numpy(), events["occurred_at"], areas
    )
    out = events[["event_uid", "x", "y", "precision", "uncertainty_m", "place_name"]].copy()
    out["stadsdel"] = placed["stadsdel"].to_numpy()
    out["stadsdelsomrade"] = placed["stadsdelsomrade"].to_numpy()
    return out


def _named_places(
    events: pd.DataFrame,
    gazetteer: geocode_mod.Gazetteer,
    areas: areas_mod.Areas,
    register: geocode_mod.AddressRegister | None,
) -> pd.DataFrame:
    """Events from lists with an address or place but no coordinates: the address register
    when one is loaded, then the text geocoder on the name."""
    found = geocode_mod.geocode_addresses(
        events["place_name"].tolist(),
        events["occurred_at"].tolist(),
        register,
        fallback=partial(geocode_mod.geocode_text, gaz=gazetteer, areas=areas),
        assign=partial(areas_mod.assign, areas=areas),
    )
    found.insert(0, "event_uid", events["event_uid"].to_numpy())
    return found


def _register(con: duckdb.DuckDBPyConnection) -> geocode_mod.AddressRegister | None:
    frame = (
        store.read_table(con, "address_register")
        if store.has_table(con, "address_register")
        else None
    )
    return None if frame is None or frame.empty else geocode_mod.AddressRegister.from_frame(frame)


def load_address_register(settings: Settings, path: Path, *, crs: str) -> dict[str, Any]:
    """Read an address register file and store it as the table ``address_register``."""
    areas = _areas(settings)
    loaded = geocode_mod.load_register(
        path, crs=crs, kommun=areas.kommun.geometry.iloc[0], municipality=settings.municipality
    )
    with workdb.writing(settings, "gazetteer load") as con, store.transaction(con):
        store.replace_table(con, "address_register", loaded.register.to_frame())
    return {
        "read": loaded.read,
        "loaded": len(loaded.register.to_frame()),
        "rejected": len(loaded.rejected),
        "notes": loaded.notes,
    }


def geocode(
    settings: Settings, con: duckdb.DuckDBPyConnection, *, progress: Progress = no_progress
) -> StepResult:
    """Place every event: police text by the text geocoder, listed coordinates as given.

    Events from sources with only words (police events and the layers derived from them)
    are geocoded from their text; events whose source gave coordinates keep them and get
    the districts of their time; listed events with only an address or place name are
    geocoded from that name.
    """
    result = StepResult("geocode")
    with timed(result):
        areas = _areas(settings)
        gazetteer = geocode_mod.load_gazetteer(settings.require_data(), areas)
        texts = store.read_events(
            con,
            sources=list(TEXT_SOURCES),
            # raw: the geocoder reads the page preamble when the API cut the summary short
            columns=["event_uid", "title", "summary", "body", "occurred_at", "category", "raw"],
        )
        others = store.read_events(
            con,
            columns=[
                "event_uid",
                "source",
                "occurred_at",
                "x",
                "y",
                "precision",
                "uncertainty_m",
                "place_name",
            ],
        )
        others = others[~others["source"].isin(TEXT_SOURCES)]
        total = len(texts) + len(others)
        progress("Geokodning", 0, total)
        parts = [geocode_mod.geocode_events(texts, gazetteer, areas)]
        # Coordinates the source gave are `exact`; a point an earlier night found for an
        # address or place is not a given coordinate, and is placed from its name again
        # (else the second night would assign it districts from that point: not idempotent).
        given = others["precision"].eq(Precision.EXACT.value).fillna(False).astype(bool)
        has_xy = given & others["x"].notna() & others["y"].notna()
        if has_xy.any():
            parts.append(_given_positions(others[has_xy], areas))
        if (~has_xy).any():
            parts.append(_named_places(others[~has_xy], gazetteer, areas, _register(con)))
        positions = pd.concat(parts, ignore_index=True)
        progress("Geokodning", total, total)
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
