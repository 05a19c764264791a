"""Measures (åtgärder) and their follow-up: ``trygghetskarta uppfoljning`` and the nightly run.

The measures file is ``data/raw/atgarder/åtgärder.csv`` (or the file given): UTF-8, comma
separated, one measure a row, the contract in ``docs/measures.md``
(:func:`trygghetskarta.analysis.parse_measures` checks it). A polygon measure names a
GeoJSON or GeoPackage file beside the CSV (EPSG:3006, 3011 or 4326; its polygons are one
area).

Each measure is followed up on the monthly counts of its layer (and categories) in its
area, against comparison areas of the same kind chosen by the pre-period
(:func:`trygghetskarta.analysis.follow_up`): other stadsdelar for a stadsdel or a polygon
(those touching the polygon left out), other RegSO for a RegSO; the area's direct
neighbours are left out of the comparison (displacement or diffusion would bias it).
Sensitive events count in no area below the district. Only whole months with data are
used.

Written by the nightly run: ``tables/uppfoljning.csv`` (one row per measure: id, namn,
omrade, stadsdelsomrade, start, slut, the estimate, its interval, the pre-trend check, the
stated power, the verdict and the Swedish conclusion).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from trygghetskarta import areas as areas_mod
from trygghetskarta import store
from trygghetskarta.analysis import followup
from trygghetskarta.analysis.neighbours import queen_neighbours
from trygghetskarta.config import Settings
from trygghetskarta.errors import (
    AnalysisError,
    CRSError,
    DataNotFoundError,
    SchemaError,
    StoreError,
    environment_error,
)
from trygghetskarta.pipeline import outputs
from trygghetskarta.pipeline.analyse.inputs import PLACED, DataWindow, read_window, regso_of

#: Where the nightly run looks for the measures file, under ``Settings.raw_dir``.
MEASURES_FILE = Path("atgarder") / "åtgärder.csv"
#: The nightly follow-up table, under ``tables/``.
FOLLOW_UP_FILE = "uppfoljning.csv"

__all__ = [
    "FOLLOW_UP_FILE",
    "MEASURES_FILE",
    "Followed",
    "follow_up_all",
    "follow_up_measures",
    "load_measures",
    "measures_path",
    "nightly_follow_up",
    "read_follow_up",
]


@dataclass(frozen=True)
class Followed:
    """The nightly follow-up: the file written, its counts and warnings."""

    path: Path
    counts: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def write_whole(path: Path, text: str) -> Path:
    """Write a text file whole or not at all (``outputs.write_atomic``); an error of the
    environment is one sentence naming the path."""
    try:
        return outputs.write_atomic(path, text.encode("utf-8"))
    except (OSError, UnicodeError) as e:
        raise environment_error(e, path) from e


def measures_path(settings: Settings) -> Path:
    """The default measures file: ``<raw>/atgarder/åtgärder.csv``."""
    return settings.raw_dir / MEASURES_FILE


def load_measures(
    path: Path, areas: areas_mod.Areas
) -> tuple[list[followup.Measure], dict[str, Any]]:
    """The measures of a file, checked, and each polygon measure's geometry (EPSG:3006).

    Raises
    ------
    DataNotFoundError
        The file (or a polygon file it names) does not exist.
    MeasureError
        A row breaks the contract (the message names the file, line and column).
    """
    if not path.exists():
        raise DataNotFoundError(
            f"no measures file at {path} — write one as docs/measures.md describes, or give "
            "--measures FILE"
        )
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except UnicodeDecodeError as e:
        raise followup.MeasureError(
            f"{path}: expected UTF-8 text, got bytes that are not ({e.reason}) — save the file "
            "as UTF-8 and run again"
        ) from e
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise followup.MeasureError(
            f"{path}: expected a comma-separated file with a header row, got "
            f"{str(e).splitlines()[0]} — check the separators and quotes"
        ) from e
    found = followup.parse_measures(
        frame,
        source=str(path),
        stadsdelar=list(areas.stadsdelar["name"]),
        regso=list(areas.regso["code"]),
    )
    shapes: dict[str, Any] = {}
    for m in found:
        if m.area_kind != "polygon":
            continue
        file = (path.parent / m.area).resolve()
        where = f"{path}, line {m.line}, column omrade"
        if not file.exists():
            raise DataNotFoundError(
                f"{where}: expected a polygon file, got {m.area!r}, which does not exist at {file}"
            )
        try:
            layer = areas_mod.to_store_crs(gpd.read_file(file), file.name)
        except (OSError, ValueError, CRSError) as e:
            raise followup.MeasureError(
                f"{where}: expected a GeoJSON or GeoPackage of polygons in EPSG:3006, 3011 or "
                f"4326, got {m.area!r} ({str(e).splitlines()[0]})"
            ) from e
        geometry = shapely.union_all(layer.geometry.to_numpy())
        if geometry.is_empty or geometry.area <= 0:
            raise followup.MeasureError(f"{where}: expected polygons, got {m.area!r} with no area")
        shapes[m.id] = geometry
    return found, shapes


def _neighbour_names(names: Sequence[str], geometry: Any, name: str) -> set[str]:
    adjacency = queen_neighbours(geometry).tocsr()
    i = list(names).index(name)
    return {names[j] for j in adjacency.indices[adjacency.indptr[i] : adjacency.indptr[i + 1]]}


def _last_whole_month(data_end: date) -> pd.Timestamp:
    end = pd.Timestamp(data_end)
    month = end.to_period("M").to_timestamp()
    return month if end.is_month_end else month - pd.DateOffset(months=1)


def follow_up_all(
    events: pd.DataFrame,
    areas: areas_mod.Areas,
    measures: Sequence[followup.Measure],
    shapes: dict[str, Any],
    window: DataWindow,
    *,
    scheme: str = areas_mod.SCHEME_2024,
) -> pd.DataFrame:
    """Follow up every measure; a measure that cannot be followed up gets "kan inte
    avgöras" with the reason (its row is kept)."""
    if window.data_end is None:
        raise AnalysisError("no data to follow the measures up on — run `trygghetskarta run`")
    last = _last_whole_month(window.data_end)
    times = pd.to_datetime(events["occurred_at"], utc=True).dt.tz_convert("Europe/Stockholm")
    first = (
        pd.Timestamp(window.data_start)
        if window.data_start is not None
        else times.min().tz_localize(None).to_period("M").to_timestamp()
    )
    first = first if first.day == 1 else (first + pd.offsets.MonthBegin(1))
    sensitive = events.get("sensitive", pd.Series(False, index=events.index))
    events = events[~sensitive.fillna(False).astype(bool).to_numpy()]
    sd, regso = areas.stadsdelar, areas.regso
    sd_names = list(sd["name"])
    district_col = "sdo_2024" if scheme == areas_mod.SCHEME_2024 else "sdo_2021_2023"
    rows = []
    for m in measures:
        chosen = events[events["layer"] == m.layer]
        if m.categories:
            chosen = chosen[chosen["category"].isin(m.categories)]
        district = m.district
        try:
            if m.area_kind == "regso":
                placed = chosen[chosen["precision"].isin(PLACED)].copy()
                placed["regso"] = regso_of(
                    placed["x"].to_numpy(float), placed["y"].to_numpy(float), regso
                )
                names = list(regso["code"])
                table = followup.monthly_matrix(
                    placed, unit="regso", first=first, last=last, units=names
                )
                drop = {m.area} | _neighbour_names(names, regso.geometry, m.area)
                treated = table.loc[m.area]
                district = district or str(regso.set_index("code").loc[m.area, district_col])
            else:
                table = followup.monthly_matrix(
                    chosen, unit="stadsdel", first=first, last=last, units=sd_names
                )
                if m.area_kind == "stadsdel":
                    drop = {m.area} | _neighbour_names(sd_names, sd.geometry, m.area)
                    treated = table.loc[m.area]
                    district = district or str(sd.set_index("name").loc[m.area, district_col])
                else:
                    shape = shapes[m.id]
                    touching = sd.geometry.intersects(shape.buffer(1.0)).to_numpy()
                    drop = set(np.asarray(sd_names)[touching])
                    placed = chosen[chosen["precision"].isin(PLACED)].copy()
                    inside = shapely.contains_xy(
                        shape, placed["x"].to_numpy(float), placed["y"].to_numpy(float)
                    )
                    placed["inside"] = np.where(inside, "area", None)
                    treated = followup.monthly_matrix(
                        placed, unit="inside", first=first, last=last, units=["area"]
                    ).loc["area"]
                    if district is None:
                        overlap = sd.geometry.intersection(shape).area.to_numpy()
                        district = str(sd[district_col].iloc[int(np.argmax(overlap))])
            result = followup.follow_up(
                treated, table.drop(index=list(drop & set(table.index))), start=m.start, end=m.end
            )
            estimate = result.as_dict()
        except AnalysisError as e:
            estimate = {
                "verdict": "kan inte avgöras",
                "conclusion": f"Kan inte avgöras: {_reason_sv(e)}",
            }
        rows.append(
            {
                "id": m.id,
                "namn": m.name,
                "omradestyp": m.area_kind,
                "omrade": m.area,
                "stadsdelsomrade": district,
                "start": m.start.isoformat(),
                "slut": m.end.isoformat() if m.end else "",
                "lager": m.layer,
                "kategorier": ";".join(m.categories),
                **estimate,
            }
        )
    return pd.DataFrame(rows)


def _reason_sv(error: AnalysisError) -> str:
    text = str(error)
    if "months before and after" in text:
        return "det finns ännu inte data både före och efter starten."
    if "no comparison area" in text:
        return "inga jämförelseområden har tillräckligt många händelser."
    return "uppföljningen kunde inte göras på dessa data."


def _events(con: duckdb.DuckDBPyConnection, measures: Sequence[followup.Measure]) -> pd.DataFrame:
    layers = sorted({m.layer for m in measures})
    return store.read_events(
        con,
        layers=layers,
        columns=[
            "occurred_at",
            "layer",
            "category",
            "x",
            "y",
            "precision",
            "stadsdel",
            "sensitive",
        ],
    )


def nightly_follow_up(
    settings: Settings, con: duckdb.DuckDBPyConnection, areas: areas_mod.Areas, window: DataWindow
) -> Followed | None:
    """The nightly follow-up of ``<raw>/atgarder/åtgärder.csv`` (``None`` without the file).

    A file that breaks its contract is a warning of the step (the run goes on), naming
    the file, line and column.
    """
    path = measures_path(settings)
    if not path.exists():
        return None
    target = settings.processed_dir / "tables" / FOLLOW_UP_FILE
    try:
        found, shapes = load_measures(path, areas)
    except (SchemaError, DataNotFoundError) as e:
        return Followed(target, {"measures": 0, "error": str(e)}, [f"measures: {e}"])
    if not found:
        return None
    scheme = (
        areas_mod.scheme_at(pd.Timestamp(window.data_end))
        if window.data_end
        else areas_mod.SCHEME_2024
    )
    table = follow_up_all(_events(con, found), areas, found, shapes, window, scheme=scheme)
    write_whole(target, table.to_csv(index=False, float_format="%.4f"))
    counts = {"measures": len(table), **table["verdict"].value_counts().to_dict()}
    return Followed(target, counts)


def read_follow_up(settings: Settings) -> pd.DataFrame | None:
    """The nightly follow-up table, or ``None`` when none was written."""
    path = settings.processed_dir / "tables" / FOLLOW_UP_FILE
    if not path.exists():
        return None
    try:
        return pd.read_csv(
            path, dtype={"id": str, "omrade": str, "slut": str}, keep_default_na=False
        )
    except (OSError, ValueError):
        return None


def follow_up_measures(
    settings: Settings, *, path: Path | None = None, out: Path | None = None
) -> pd.DataFrame:
    """``trygghetskarta uppfoljning``: follow up every measure of the file on the published
    database; write the table to ``out`` when given.

    Raises
    ------
    TrygghetskartaError
        No published database, no measures file, or a row that breaks the contract.
    """
    areas = areas_mod.load_areas(settings.require_data())
    found, shapes = load_measures(path or measures_path(settings), areas)
    if not settings.db_path.exists():
        raise StoreError(
            f"no published database at {settings.db_path} — run `trygghetskarta run` first"
        )
    con = store.connect(settings.db_path, read_only=True)
    try:
        window = read_window(con, settings.analysis)
        events = _events(con, found) if found else pd.DataFrame()
    finally:
        con.close()
    if not found:
        return pd.DataFrame()
    scheme = (
        areas_mod.scheme_at(pd.Timestamp(window.data_end))
        if window.data_end
        else areas_mod.SCHEME_2024
    )
    table = follow_up_all(events, areas, found, shapes, window, scheme=scheme)
    if out is not None:
        write_whole(out, table.to_csv(index=False, float_format="%.4f"))
    return table
