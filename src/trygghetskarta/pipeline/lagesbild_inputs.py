"""What the lägesbild adds to a scene: history, near-repeat, static maps, hotspot cells.

Part of the wiring layer beside :mod:`trygghetskarta.pipeline.publish` (which builds the
:class:`~trygghetskarta.pipeline.publish.Scene` these functions read, and calls them from
its ``report`` step): every event of the store for the normal ranges
(:func:`read_history`), the near-repeat sentences, the district's Gi* cells per confidence
bin, the static maps for print and what the reports folder's manifest says about them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pandas as pd

from trygghetskarta import areas as areas_mod
from trygghetskarta import render, store
from trygghetskarta.config import Settings
from trygghetskarta.pipeline import lagesbild_measures as measures_mod
from trygghetskarta.schema import Layer

if TYPE_CHECKING:
    from trygghetskarta.pipeline.scene import Scene

#: The columns of the events the lägesbild's measures read (every year in the store).
_HISTORY_COLUMNS = ["layer", "category", "occurred_at", "stadsdelsomrade"]


def read_history(
    settings: Settings,
    con: duckdb.DuckDBPyConnection,
    scheme: str,
    layers: Sequence[str],
) -> pd.DataFrame:
    """Every event of the source layers up to now (layer, category, time, district named
    in ``scheme``): the earlier years the lägesbild's normal ranges are made of."""
    events = store.read_events(con, layers=list(layers), columns=_HISTORY_COLUMNS)
    if scheme == areas_mod.SCHEME_2024 and len(events):
        areas = areas_mod.load_areas(settings.require_data())
        renamed = {str(n): areas.to_2024(str(n)) for n in areas.sdo_13["name"]}
        events["stadsdelsomrade"] = events["stadsdelsomrade"].map(lambda n: renamed.get(n, n))
    return events


def covered_from(
    scene: Scene, history: pd.DataFrame, layers: Sequence[str]
) -> dict[str, pd.Timestamp | None]:
    """Each layer's first data: the police's complete data from the window, the other
    layers' first event (months before it are not counted as zeros)."""
    out: dict[str, pd.Timestamp | None] = {}
    for layer in layers:
        times = history.loc[history["layer"] == layer, "occurred_at"]
        first = None if times.empty else pd.Timestamp(times.min()).tz_convert("Europe/Stockholm")
        if first is not None:
            first = first.normalize().replace(day=1)
        out[layer] = first
    window = scene.window
    if window is not None and window.data_start is not None:
        start = pd.Timestamp(window.data_start).tz_localize("Europe/Stockholm")
        police = out.get(Layer.POLICE_EVENT.value)
        out[Layer.POLICE_EVENT.value] = start if police is None else max(police, start)
    return out


def near_repeat_sentences(scene: Scene, table: pd.DataFrame | None) -> list[str]:
    """One sentence per layer of the scene with a near-repeat (Knox) result, city-wide,
    with the sample note when its p-values come from a sample."""
    if table is None or table.empty:
        return []
    out = []
    for layer, source in scene.layers.items():
        rows = table[(table["layer"] == layer) & (table["category"] == "all")]
        if rows.empty:
            continue
        note = None
        n, of = rows["sampled_n"].iloc[0], rows["sampled_of"].iloc[0]
        if pd.notna(n) and pd.notna(of) and int(n) < int(of):
            note = render.sample_note(int(n), int(of)) + " (gäller testets p-värde)"
        label = measures_mod.MEASURE_LABELS.get(layer, source.label)
        sentence = render.near_repeat_sentence(rows, label, note)
        if sentence:
            out.append(sentence)
    return out


def hotspot_bins(scene: Scene, district: str) -> dict[int, int] | None:
    """The district's Gi* cells (police notices, all categories) per confidence bin, by
    cell centre; ``None`` when the analysis wrote no cells."""
    gi = scene.analysis.gi_cells if scene.analysis is not None else None
    if gi is None or gi.empty or "bin" not in gi.columns:
        return None
    mine = scene.districts[scene.districts["name"] == district]
    if mine.empty:
        return None
    inside = gi[gi.geometry.centroid.within(mine.union_all())]
    counts = inside["bin"].fillna(0).astype(int).value_counts()
    return {int(b): int(n) for b, n in counts.items()}


def static_maps(scene: Scene, district: str) -> tuple[str | None, str | None]:
    """The district's density map and hotspot map as PNG data URIs for print (the density
    on the city's scale); ``None`` for a map without data."""
    grid = scene.grid
    density = None
    if grid is not None:
        values = grid.values
        top = float(values[values > 0].max()) if (values > 0).any() else 1.0
        density = render.density_png(
            scene.districts,
            district,
            values,
            grid.transform,
            vmax=top,
            water=scene.water,
        )
    gi = scene.analysis.gi_cells if scene.analysis is not None else None
    hot = render.hotspot_png(scene.districts, district, gi, water=scene.water)
    return density, hot


def report_manifest(scene: Scene, printer: Path | None) -> dict[str, object]:
    """What the reports folder's manifest says about the lägesbilder beyond their files:
    the layers they measure (reported crimes first), how the normal range is made, and
    whether PDFs were printed (and by which program)."""
    return {
        "lagesbild": {
            "measures": [
                *(
                    [Layer.REPORTED_CRIME.value]
                    if Layer.REPORTED_CRIME.value in scene.layers
                    else []
                ),
                *(["bra"] if scene.crime_stats is not None else []),
                *(k for k in scene.layers if k != Layer.REPORTED_CRIME.value),
            ],
            "normal_range": {
                "counts": "Poisson-gamma predictive (negative binomial), same days earlier",
                "rates": "normal prediction interval from earlier years (Brå)",
                "level": measures_mod.RANGE_LEVEL,
                "years": measures_mod.RANGE_YEARS,
                "min_years": measures_mod.MIN_YEARS,
            },
            "pdf": None if printer is None else {"printer": str(printer), "page": "A4"},
        }
    }


def optional_table(con: duckdb.DuckDBPyConnection, name: str) -> pd.DataFrame | None:
    """A table of the analyse step, ``None`` when the store has none (not analysed yet)."""
    try:
        return store.read_table(con, name)
    except duckdb.CatalogException:
        return None
