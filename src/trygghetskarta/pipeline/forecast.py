"""Forecasts: the ``forecast`` step of the nightly run and the ``trygghetskarta forecast`` command.

Both read the events of one layer (police notices by default, optionally one category),
count them per unit (``stadsdel``, ``stadsdelsomrade`` in the scheme in force at the
origin, ``regso`` for events placed at a place or better, or 250 m ``cell`` for events
placed at an address or better), back-test every method of
:mod:`trygghetskarta.analysis.forecast` on the :data:`BACKTEST_ORIGINS` periods before the
origin (:func:`~trygghetskarta.analysis.evaluate.backtest`), and forecast the origin's
period with the method that back-test ranks best (highest PAI on 2.3 % of the area; a
baseline on a tie). Sensitive events count only per stadsdelsområde, as everywhere.

The nightly step forecasts the month after the last complete month of data, per stadsdel,
and writes (``<YYYY-MM>`` the month forecast):

``tables/forecast_stadsdel_month_<YYYY-MM>.csv``   unit, period_start, period_end, expected,
                                                  lower, upper, method
``tables/backtest_stadsdel_month_<YYYY-MM>.csv``   the back-test: method × coverage, hit rate,
                                                  PAI, PEI, ratio to the best baseline and
                                                  its interval, interval coverage
``tables/forecast_summary.json``                  the latest: files, method, verdict

and the follow-up of the registered measures (:mod:`.measures`) when there are any. The
step's counts (in ``manifest.json``) hold the verdict.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import shapely

from trygghetskarta import areas as areas_mod
from trygghetskarta import render, store
from trygghetskarta.analysis import evaluate
from trygghetskarta.analysis.forecast import (
    BASELINES,
    FORECAST_COLUMNS,
    HORIZONS,
    SEASON,
    cell_units,
    count_history,
    forecast_all,
)
from trygghetskarta.analysis.neighbours import queen_neighbours
from trygghetskarta.config import Settings
from trygghetskarta.errors import AnalysisError, StoreError
from trygghetskarta.pipeline import measures
from trygghetskarta.pipeline.analyse.inputs import (
    PLACED,
    districts_in_scheme,
    read_window,
    regso_of,
)
from trygghetskarta.pipeline.steps import Progress, StepResult, no_progress, timed
from trygghetskarta.schema import TIMEZONE, Layer

#: Units a forecast can be made for.
UNITS = ("stadsdel", "stadsdelsomrade", "regso", "cell")
#: Origins of the back-test that chooses the method (periods before the origin).
BACKTEST_ORIGINS = 12
#: The side of a grid cell (m) for ``unit="cell"``.
CELL_SIZE = 250.0
#: Columns of a forecast file.
CSV_COLUMNS = list(FORECAST_COLUMNS)
SUMMARY_FILE = "forecast_summary.json"

__all__ = [
    "BACKTEST_ORIGINS",
    "UNITS",
    "ForecastRun",
    "UnitData",
    "forecast_step",
    "make_forecast",
    "nightly_origin",
    "read_outlook",
    "unit_data",
    "write_forecast",
]


@dataclass(frozen=True)
class UnitData:
    """Events with their unit, and every unit's area and neighbours.

    ``events`` has ``occurred_at`` and ``unit``; ``area_km2`` is indexed by unit name;
    ``start`` is the first day of complete data.
    """

    events: pd.DataFrame
    area_km2: pd.Series
    neighbours: Mapping[str, Sequence[str]]
    start: date | None
    unit: str
    note: str = ""


@dataclass(frozen=True)
class ForecastRun:
    """A forecast and the back-test that chose its method."""

    table: pd.DataFrame
    backtest: evaluate.Backtest | None
    verdict: Mapping[str, Any] = field(default_factory=dict)
    note: str = ""


def _neighbours(names: Sequence[str], geometry: Any) -> dict[str, list[str]]:
    adjacency = queen_neighbours(geometry).tocsr()
    return {
        names[i]: [
            names[j] for j in adjacency.indices[adjacency.indptr[i] : adjacency.indptr[i + 1]]
        ]
        for i in range(len(names))
    }


def _read_events(con: duckdb.DuckDBPyConnection, layer: str, category: str | None) -> pd.DataFrame:
    known = {item.value for item in Layer}
    if layer not in known:
        raise AnalysisError(f"expected a layer of {sorted(known)}, got {layer!r}")
    columns = ["occurred_at", "category", "x", "y", "precision", "stadsdel", "stadsdelsomrade"]
    events = store.read_events(con, layers=[layer], columns=[*columns, "sensitive"])
    if category is not None:
        found = sorted(events["category"].dropna().unique())
        if category not in found:
            raise AnalysisError(
                f"no {layer} events of the category {category!r}; the store has {found}"
            )
        events = events[events["category"] == category]
    if events.empty:
        raise AnalysisError(f"the store holds no {layer} events — run `trygghetskarta run` first")
    return events.reset_index(drop=True)


def unit_data(
    events: pd.DataFrame,
    areas: areas_mod.Areas,
    unit: str,
    *,
    origin: pd.Timestamp,
    start: date | None,
) -> UnitData:
    """Each event's unit and every unit's area (km²) and neighbours.

    Sensitive events count only per stadsdelsområde. ``regso`` counts events placed at a
    place or better; ``cell`` refuses events placed coarser than an address.
    """
    if unit not in UNITS:
        raise AnalysisError(f"expected a unit of {list(UNITS)}, got {unit!r}")
    sensitive = events.get("sensitive", pd.Series(False, index=events.index))
    sensitive = sensitive.fillna(False).astype(bool).to_numpy()
    note = ""
    if unit == "stadsdelsomrade":
        scheme = areas_mod.scheme_at(origin)
        names = districts_in_scheme(events["stadsdelsomrade"], events["stadsdel"], areas, scheme)
        layer = areas.sdo_11 if scheme == areas_mod.SCHEME_2024 else areas.sdo_13
        frame = pd.DataFrame({"occurred_at": events["occurred_at"], "unit": names})
        area = pd.Series(layer["area_km2"].to_numpy(), index=list(layer["name"]))
        return UnitData(frame, area, _neighbours(list(layer["name"]), layer.geometry), start, unit)
    kept = events[~sensitive]
    if sensitive.any():
        note = f"{int(sensitive.sum())} sensitive events count only per stadsdelsområde"
    if unit == "stadsdel":
        sd = areas.stadsdelar
        names = list(sd["name"])
        frame = pd.DataFrame({"occurred_at": kept["occurred_at"], "unit": kept["stadsdel"]})
        area = pd.Series(sd["area_km2"].to_numpy(), index=names)
        return UnitData(frame, area, _neighbours(names, sd.geometry), start, unit, note)
    if unit == "regso":
        placed = kept[kept["precision"].isin(PLACED)]
        codes = regso_of(placed["x"].to_numpy(float), placed["y"].to_numpy(float), areas.regso)
        frame = pd.DataFrame({"occurred_at": placed["occurred_at"].to_numpy(), "unit": codes})
        names = list(areas.regso["code"])
        area = pd.Series(areas.regso.geometry.area.to_numpy() / 1e6, index=names)
        left = len(kept) - len(placed)
        note = "; ".join(
            [
                n
                for n in (
                    note,
                    f"{left} events placed only to their stadsdel or coarser are left out",
                )
                if n
            ]
        )
        return UnitData(frame, area, _neighbours(names, areas.regso.geometry), start, unit, note)
    placed = kept[kept["precision"].notna() & ~kept["precision"].isin(("kommun", "none"))]
    cells = cell_units(placed, CELL_SIZE)  # refuses events placed coarser than an address
    frame = pd.DataFrame(
        {"occurred_at": placed["occurred_at"].to_numpy(), "unit": cells.to_numpy()}
    )
    names, area = _kommun_cells(areas)
    return UnitData(frame, area, _cell_neighbours(names), start, unit, note)


def _kommun_cells(areas: areas_mod.Areas) -> tuple[list[str], pd.Series]:
    """The 250 m cells whose centre lies in the kommun."""
    geometry = areas.kommun.geometry.iloc[0]
    x0, y0, x1, y1 = geometry.bounds
    cols = np.arange(np.floor(x0 / CELL_SIZE), np.ceil(x1 / CELL_SIZE)).astype(int)
    rows = np.arange(np.floor(y0 / CELL_SIZE), np.ceil(y1 / CELL_SIZE)).astype(int)
    cc, rr = np.meshgrid(cols, rows)
    inside = shapely.contains_xy(geometry, (cc + 0.5) * CELL_SIZE, (rr + 0.5) * CELL_SIZE)
    names = [f"E{c}N{r}" for c, r in zip(cc[inside], rr[inside], strict=True)]
    return names, pd.Series((CELL_SIZE / 1000) ** 2, index=names)


def _cell_neighbours(names: Sequence[str]) -> dict[str, list[str]]:
    known = set(names)
    out = {}
    for name in names:
        c, r = (int(v) for v in name[1:].split("N"))
        near = [f"E{c + dc}N{r + dr}" for dc in (-1, 0, 1) for dr in (-1, 0, 1) if dc or dr]
        out[name] = [n for n in near if n in known]
    return out


def make_forecast(
    data: UnitData,
    *,
    origin: pd.Timestamp,
    horizon: str = "month",
    backtest_origins: int = BACKTEST_ORIGINS,
    seed: int = 0,
) -> ForecastRun:
    """Back-test every method on the periods before ``origin`` and forecast with the best.

    Raises
    ------
    AnalysisError
        Too little history before ``origin`` for any back-test origin.
    """
    step = HORIZONS[horizon]
    season = SEASON[horizon]
    start = pd.Timestamp(data.start, tz=TIMEZONE) if data.start is not None else None
    past = data.events[pd.to_datetime(data.events["occurred_at"], utc=True) < origin]
    if not past["unit"].notna().any():
        raise AnalysisError(
            f"no events placed at the level of a {data.unit} before {origin.date()}"
            + (f" ({data.note})" if data.note else "")
            + " — forecast per stadsdel or stadsdelsomrade instead"
        )
    if start is None:
        times = pd.to_datetime(past["occurred_at"], utc=True)
        if times.empty:
            raise AnalysisError(f"no events before the origin {origin.date()} to forecast from")
        start = times.min().tz_convert(TIMEZONE)
    origins = [origin - step * k for k in range(backtest_origins, 0, -1)]
    need = season + 6
    origins = [o for o in origins if o - step * need >= start]
    if not origins:
        first = start + step * (need + 1)
        raise AnalysisError(
            f"a {horizon}ly forecast needs {need + 1} whole periods of data before the "
            f"origin, and the data begin {start.date()} — choose an origin on or after "
            f"{first.date()}"
        )
    backtest = evaluate.backtest(
        past,
        areas_km2=data.area_km2,
        origins=origins,
        horizon=horizon,
        unit="unit",
        neighbours=data.neighbours,
        start=start,
        n_boot=1000,
        seed=seed,
    )
    method = backtest.best_method()
    verdict = backtest.verdict(method) | {"best_method": method, "horizon": horizon}
    verdict["best_baseline"] = verdict["baseline"]
    if method in BASELINES:
        # counting won: what the best model reached against it is the figure to quote
        model = backtest.verdict(backtest.best_method(models_only=True))
        verdict["challenger"] = {
            k: model[k] for k in ("method", "pai", "ratio", "ratio_low", "ratio_high")
        }
    history = count_history(
        past,
        origin=origin,
        horizon=horizon,
        unit="unit",
        units=list(data.area_km2.index),
        start=start,
    )
    table = forecast_all(history, methods=[method], neighbours=data.neighbours)
    return ForecastRun(table[CSV_COLUMNS], backtest, verdict, data.note)


def _origin(value: Any) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return ts.tz_localize(TIMEZONE) if ts.tzinfo is None else ts.tz_convert(TIMEZONE)


def _open_snapshot(settings: Settings) -> duckdb.DuckDBPyConnection:
    if not settings.db_path.exists():
        raise StoreError(
            f"no published database at {settings.db_path} — run `trygghetskarta run` first "
            "(or give --db)"
        )
    return store.connect(settings.db_path, read_only=True)


def write_forecast(
    settings: Settings,
    *,
    origin: Any,
    out: Path,
    horizon: str = "month",
    unit: str = "stadsdel",
    layer: str = Layer.POLICE_EVENT.value,
    category: str | None = None,
) -> ForecastRun:
    """``trygghetskarta forecast``: the forecast of one period as CSV, from the published
    database and the events before ``origin`` only.

    Raises
    ------
    TrygghetskartaError
        No published database, an unknown layer or category, too little history.
    """
    origin = _origin(origin)
    con = _open_snapshot(settings)
    try:
        events = _read_events(con, layer, category)
        window = read_window(con, settings.analysis)
    finally:
        con.close()
    areas = areas_mod.load_areas(settings.require_data())
    data = unit_data(events, areas, unit, origin=origin, start=window.data_start)
    run = make_forecast(data, origin=origin, horizon=horizon, seed=settings.seed)
    measures.write_whole(out, run.table.to_csv(index=False, float_format="%.4f"))
    return run


def nightly_origin(data_end: date) -> pd.Timestamp:
    """The first day of the month after the last complete month of data (``data_end`` the
    last day with data): a month is forecast only from whole months before it."""
    following = pd.Timestamp(data_end) + pd.Timedelta(days=1)
    return _origin(following.to_period("M").to_timestamp())


def forecast_step(
    settings: Settings,
    con: duckdb.DuckDBPyConnection,
    *,
    progress: Progress = no_progress,
) -> StepResult:
    """The nightly ``forecast`` step: next month per stadsdel, its back-test, and the
    follow-up of the registered measures (see the module's docstring)."""
    result = StepResult("forecast")
    with timed(result):
        window = read_window(con, settings.analysis)
        if window.data_end is None:
            result.warnings.append("forecast: no police events yet — nothing to forecast")
            return result
        origin = nightly_origin(window.data_end)
        progress("forecast", 0, 2)
        events = _read_events(con, Layer.POLICE_EVENT.value, None)
        areas = areas_mod.load_areas(settings.require_data())
        data = unit_data(events, areas, "stadsdel", origin=origin, start=window.data_start)
        try:
            run = make_forecast(data, origin=origin, seed=settings.seed)
        except AnalysisError as e:
            result.warnings.append(f"forecast: {e}")
            run = None
        tables = settings.processed_dir / "tables"
        if run is not None:
            month = f"{origin:%Y-%m}"
            path = tables / f"forecast_stadsdel_month_{month}.csv"
            measures.write_whole(path, run.table.to_csv(index=False, float_format="%.4f"))
            test = tables / f"backtest_stadsdel_month_{month}.csv"
            assert run.backtest is not None
            measures.write_whole(test, run.backtest.table.to_csv(index=False, float_format="%.4f"))
            summary = {
                "origin": str(origin.date()),
                "horizon": "month",
                "unit": "stadsdel",
                "layer": Layer.POLICE_EVENT.value,
                "forecast": path.name,
                "backtest": test.name,
                "backtest_origins": [str(o.date()) for o in run.backtest.origins],
                "verdict": run.verdict,
                "note": run.note,
            }
            text = json.dumps(summary, ensure_ascii=False, indent=2, default=str)
            result.files += [path, test, measures.write_whole(tables / SUMMARY_FILE, text)]
            result.counts["forecast"] = {
                "origin": summary["origin"],
                "method": run.verdict["best_method"],
                "best_baseline": run.verdict["best_baseline"],
                "beats_counting": run.verdict["beats"],
                "pai": round(run.verdict["pai"], 3),
                "ratio": round(run.verdict["ratio"], 3),
                "ratio_interval": [
                    round(run.verdict["ratio_low"], 3),
                    round(run.verdict["ratio_high"], 3),
                ],
            }
            if "challenger" in run.verdict:
                challenger = run.verdict["challenger"]
                result.counts["forecast"]["challenger"] = {
                    "method": challenger["method"],
                    "ratio": round(challenger["ratio"], 3),
                    "ratio_interval": [
                        round(challenger["ratio_low"], 3),
                        round(challenger["ratio_high"], 3),
                    ],
                }
        progress("forecast", 1, 2)
        followed = measures.nightly_follow_up(settings, con, areas, window)
        if followed is not None:
            result.files.append(followed.path)
            result.counts["measures"] = followed.counts
            result.warnings.extend(followed.warnings)
        progress("forecast", 2, 2)
    return result


def read_outlook(settings: Settings, areas: areas_mod.Areas, scheme: str) -> render.Outlook | None:
    """What the lägesbild's forecast and follow-up sections show, from the files the
    ``forecast`` step wrote (``None`` when it wrote none)."""
    tables = settings.processed_dir / "tables"
    district_of = dict(
        zip(
            areas.stadsdelar["name"],
            areas.stadsdelar["sdo_2024" if scheme == areas_mod.SCHEME_2024 else "sdo_2021_2023"],
            strict=True,
        )
    )
    forecast, verdict = None, None
    summary_path = tables / SUMMARY_FILE
    if summary_path.exists():
        try:
            summary = json.loads(summary_path.read_text(encoding="utf-8"))
            forecast = pd.read_csv(tables / summary["forecast"])
        except (OSError, ValueError, KeyError):
            summary, forecast = None, None
        if forecast is not None and summary is not None:
            forecast["stadsdelsomrade"] = forecast["unit"].map(district_of)
            forecast["area_km2"] = forecast["unit"].map(
                dict(zip(areas.stadsdelar["name"], areas.stadsdelar["area_km2"], strict=True))
            )
            verdict = dict(summary["verdict"])
    followed = measures.read_follow_up(settings)
    if forecast is None and followed is None:
        return None
    return render.Outlook(forecast=forecast, backtest=verdict, measures=followed)
