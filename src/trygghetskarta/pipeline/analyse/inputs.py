"""What the ``analyse`` step reads once: events, areas, population, the period and the study areas.

:func:`load_inputs` reads the store and the district layers and returns
:class:`AnalysisInputs`, which every analysis in :mod:`.parts` and
:mod:`.tables` takes; notebooks call it too. :func:`select` and
:func:`study_area` choose the events and the area one analysis runs on.

Precision classes
-----------------
Each analysis uses only events placed well enough for its scale (``schema.Precision``):

========================================  ===============================================
analysis                                  events used
========================================  ===============================================
density                                   every event with a position below kommun level,
                                          its kernel widened by its ``uncertainty_m``
Gi* on grid cells, emerging hot spots     ``uncertainty_m`` ≤ the cell size
Gi* on stadsdelar                         :data:`IN_STADSDEL` (``stadsdel`` or better)
local Moran on RegSO, Knox, clusters      :data:`PLACED` (``place``, ``street`` or better)
trends, hour × weekday                    every event (no position needed)
========================================  ===============================================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from affine import Affine
from shapely.geometry.base import BaseGeometry

from trygghetskarta import areas as areas_mod
from trygghetskarta import store
from trygghetskarta.analysis.grid import cell_centres, grid_from_bounds
from trygghetskarta.analysis.neighbours import queen_neighbours
from trygghetskarta.analysis.schemes import (
    scheme_mapping,
    to_2021_2023_districts,
    to_2024_districts,
)
from trygghetskarta.analysis.trends import complete_from
from trygghetskarta.config import AnalysisParameters, Settings
from trygghetskarta.coverage import Coverage
from trygghetskarta.errors import AnalysisError, SourceError
from trygghetskarta.periods import Period, default_period
from trygghetskarta.schema import TIMEZONE, Layer, Precision

#: The category value of a selection of every category of a layer.
ALL = "all"
#: Precision classes that say nothing about where in the kommun an event happened.
UNPLACED = (Precision.KOMMUN.value, Precision.NONE.value)
#: Events placed at a place (square, station), a street or better.
PLACED = tuple(p.value for p in Precision if p.rank <= Precision.PLACE.rank)
#: Events placed at least to their stadsdel.
IN_STADSDEL = (*PLACED, Precision.STADSDEL.value)

#: The event columns the analyses read.
EVENT_COLUMNS = (
    "event_uid",
    "layer",
    "category",
    "occurred_at",
    "x",
    "y",
    "precision",
    "uncertainty_m",
    "stadsdel",
    "stadsdelsomrade",
)

#: The source whose recorded coverage sets the data window (the police feed).
COVERAGE_SOURCE = "polisen"

__all__ = [
    "ALL",
    "COVERAGE_SOURCE",
    "IN_STADSDEL",
    "PLACED",
    "UNPLACED",
    "AnalysisInputs",
    "DataWindow",
    "EmptySelectionError",
    "StudyArea",
    "data_window",
    "district_population",
    "districts_in_scheme",
    "load_inputs",
    "prepare_inputs",
    "read_window",
    "regso_of",
    "select",
    "study_area",
]


class EmptySelectionError(AnalysisError):
    """A selection has no events an analysis can use (the step records it as a warning)."""


@dataclass(frozen=True)
class DataWindow:
    """Where the police data are complete: what comparisons and trends may use.

    Attributes
    ----------
    data_start
        The first day of complete data (``None``: no events).
    data_start_from
        How it was chosen: ``"setting"`` (``data_start`` under ``[analysis]``, the
        environment or ``--data-start``), ``"coverage"`` (the first covered day the store
        recorded for the feed) or ``"events"`` (no recorded coverage: the first month not
        far below the median, :func:`~trygghetskarta.analysis.trends.complete_from`).
    data_end
        The last day with data: the later of the last covered day and the newest event's.
    coverage
        The feed's recorded coverage (its gaps are named next to the figures they touch),
        or ``None`` when none is recorded.
    """

    data_start: date | None
    data_start_from: str
    data_end: date | None
    coverage: Coverage | None = None

    def as_dict(self) -> dict[str, object]:
        """JSON-ready, for the manifest."""
        return {
            "data_start": None if self.data_start is None else self.data_start.isoformat(),
            "data_start_from": self.data_start_from,
            "data_end": None if self.data_end is None else self.data_end.isoformat(),
            "gaps": [] if self.coverage is None else [g.label for g in self.coverage.gaps],
        }


def data_window(
    parameters: AnalysisParameters, coverage: Coverage | None, occurred_at: pd.Series
) -> DataWindow:
    """The data window from the setting, the recorded coverage and the events' times.

    ``data_start``: the setting when given, else the coverage's first day, else
    :func:`~trygghetskarta.analysis.trends.complete_from` of the events. ``data_end``: the
    later of the coverage's last day and the newest event's day. A coverage that covers
    nothing counts as none.
    """
    if coverage is not None and coverage.first is None:
        coverage = None
    times = pd.to_datetime(occurred_at.dropna())
    if len(times) and not isinstance(times.dtype, pd.DatetimeTZDtype):
        times = times.dt.tz_localize(TIMEZONE)
    newest = times.max().tz_convert(TIMEZONE).date() if len(times) else None
    ends = [d for d in (newest, None if coverage is None else coverage.last) if d is not None]
    data_end = max(ends) if ends else None
    if parameters.data_start is not None:
        start = pd.Timestamp(parameters.data_start).date()  # "YYYY-MM" is its first day
        return DataWindow(start, "setting", data_end, coverage)
    if coverage is not None:
        return DataWindow(coverage.first, "coverage", data_end, coverage)
    first = complete_from(times) if len(times) else None
    return DataWindow(first, "events", data_end, None)


def read_window(con: duckdb.DuckDBPyConnection, parameters: AnalysisParameters) -> DataWindow:
    """:func:`data_window` from the store: the feed's coverage and the police events' times."""
    coverage = store.read_coverage(con, COVERAGE_SOURCE)
    times = store.read_events(con, layers=[Layer.POLICE_EVENT.value], columns=["occurred_at"])
    return data_window(parameters, coverage, times["occurred_at"])


@dataclass(frozen=True, eq=False)
class StudyArea:
    """The area an analysis covers: the kommun or one district, in EPSG:3006.

    Grids cover its bounding box; cells whose centre lies outside it are NaN (left out).
    ``masks`` holds the masks of the grids the analysis parameters use, computed once
    when the area is made (:meth:`with_masks`); other grids' masks are computed per call.
    """

    name: str
    geometry: BaseGeometry
    kind: str
    masks: Mapping[tuple[Any, ...], np.ndarray] = field(
        default_factory=lambda: MappingProxyType({}), repr=False
    )

    def __post_init__(self) -> None:
        shapely.prepare(self.geometry)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(xmin, ymin, xmax, ymax)``, metres."""
        xmin, ymin, xmax, ymax = shapely.bounds(self.geometry)
        return float(xmin), float(ymin), float(xmax), float(ymax)

    def _compute_mask(self, transform: Affine, shape: tuple[int, int]) -> np.ndarray:
        xs, ys = cell_centres(transform, shape)
        gx, gy = np.meshgrid(xs, ys)
        out = shapely.contains_xy(self.geometry, gx, gy)
        out.flags.writeable = False
        return out

    def mask(self, transform: Affine, shape: tuple[int, int]) -> np.ndarray:
        """True for the cells of a grid whose centre lies inside the area (read-only)."""
        key = (tuple(transform)[:6], tuple(shape))
        found = self.masks.get(key)
        return found if found is not None else self._compute_mask(transform, shape)

    def with_masks(self, cell_sizes: Sequence[float]) -> StudyArea:
        """A copy holding the masks of the grids with these cells over the area's bounds."""
        masks: dict[tuple[Any, ...], np.ndarray] = {}
        for cell in sorted(set(float(c) for c in cell_sizes)):
            transform, shape = grid_from_bounds(self.bounds, cell)
            masks[(tuple(transform)[:6], tuple(shape))] = self._compute_mask(transform, shape)
        return StudyArea(self.name, self.geometry, self.kind, MappingProxyType(masks))


@dataclass(frozen=True, eq=False)
class AnalysisInputs:
    """Everything the analyses read, read once.

    Attributes
    ----------
    events
        Every event in the store (all times) with :data:`EVENT_COLUMNS`, plus
        ``district`` (its stadsdelsområde in ``scheme``) and ``regso`` (the RegSO code
        of :data:`PLACED` events, else missing).
    period
        The period analysed.
    scheme
        The district scheme in force at the period's end (the scheme of the maps).
    areas
        The district layers (EPSG:3006).
    population
        ``area, level, year, population`` of the districts (2024 scheme) and the kommun
        (``"Stockholm"``), or ``None`` when the population file is missing.
    stadsdel_neighbours, regso_neighbours
        Queen contiguity of the stadsdelar and RegSO, in the layers' row order.
    parameters
        The analysis parameters (``Settings.analysis``).
    seed
        The seed of every random draw (``Settings.seed``).
    study_areas
        The kommun (key ``""``) and each district of ``scheme``, with the masks of the
        parameters' grids (see :func:`study_area`).
    notes
        What limits the inputs (e.g. no population file).
    window
        Where the police data are complete (:class:`DataWindow`); ``period`` knows the
        same ends (:meth:`~trygghetskarta.periods.Period.with_data`).
    """

    events: pd.DataFrame
    period: Period
    scheme: str
    areas: areas_mod.Areas
    population: pd.DataFrame | None
    stadsdel_neighbours: sp.csr_array
    regso_neighbours: sp.csr_array
    parameters: AnalysisParameters
    seed: int
    notes: tuple[str, ...] = ()
    study_areas: Mapping[str, StudyArea] = field(
        default_factory=lambda: MappingProxyType({}), repr=False
    )
    window: DataWindow = DataWindow(None, "events", None)

    @property
    def layers(self) -> list[str]:
        """The layers with events in the store, sorted."""
        return sorted(self.events["layer"].dropna().unique())

    def categories(self, layer: str) -> list[str]:
        """The categories of a layer's events in the store, sorted."""
        ev = self.events
        return sorted(ev.loc[ev["layer"] == layer, "category"].dropna().unique())

    @property
    def districts(self) -> list[str]:
        """The districts of :attr:`scheme`, sorted."""
        return self.areas.district_names(self.scheme)


def districts_in_scheme(
    districts: pd.Series, stadsdel: pd.Series, areas: areas_mod.Areas, scheme: str
) -> pd.Series:
    """Each event's district in one scheme, whatever the scheme at its time.

    Parameters
    ----------
    districts
        The ``stadsdelsomrade`` column (the scheme in force at each event's time).
    stadsdel
        The ``stadsdel`` column (splits Järva and Norra innerstaden back into the 13
        areas of 2021–2023).
    areas
        The district layers.
    scheme
        ``areas.SCHEME_2021_2023`` or ``areas.SCHEME_2024``.

    Returns
    -------
    pandas.Series
        District names (missing where the event has none).

    Warns
    -----
    UserWarning
        Events of a merged 2024 district that no stadsdel splits (they keep the 2024 name).
    """
    mapping = scheme_mapping(areas.sdo_13)
    if scheme == areas_mod.SCHEME_2024:
        return to_2024_districts(districts, mapping)
    if scheme != areas_mod.SCHEME_2021_2023:
        raise AnalysisError(
            f"expected a district scheme {areas_mod.SCHEMES}, got {scheme!r} — use "
            "areas.SCHEME_2021_2023 or areas.SCHEME_2024"
        )
    old_of = dict(zip(areas.stadsdelar["name"], areas.stadsdelar["sdo_2021_2023"], strict=True))
    return to_2021_2023_districts(districts, stadsdel, mapping, old_of)


def district_population(
    population: pd.DataFrame, areas: areas_mod.Areas, scheme: str
) -> pd.DataFrame:
    """Population per district of a scheme and of the kommun, per year.

    The population file counts the 11 districts of 2024 (Järva and Norra innerstaden
    retro-computed by the city for earlier years). For the 13 districts of 2021–2023, a
    merged district's population is split between its two old districts in proportion
    to their RegSO populations of 2024, in every year; the other nine are unchanged.

    Parameters
    ----------
    population
        ``areas.load_population`` (``area, level, year, population``).
    areas
        The district layers (RegSO with ``pop_2024`` and both district columns).
    scheme
        ``areas.SCHEME_2021_2023`` or ``areas.SCHEME_2024``.

    Returns
    -------
    pandas.DataFrame
        ``area, year, population`` (float: split populations are estimates), the kommun
        as ``"Stockholm"``.
    """
    keep = population["level"].isin(["stadsdelsomrade", "kommun"])
    base = population.loc[keep, ["area", "year", "population"]].astype({"population": float})
    if scheme == areas_mod.SCHEME_2024:
        return base.reset_index(drop=True)
    regso = areas.regso
    old = regso.groupby("sdo_2021_2023")["pop_2024"].sum()
    new = regso.groupby("sdo_2024")["pop_2024"].sum()
    rows = []
    for name, name_2024 in scheme_mapping(areas.sdo_13).items():
        share = float(old.get(name, 0.0)) / float(new.get(name_2024, np.nan))
        part = base[base["area"] == name_2024].copy()
        part["area"] = name
        part["population"] = part["population"] * share
        rows.append(part)
    rows.append(base[base["area"] == "Stockholm"])
    return pd.concat(rows, ignore_index=True)


def regso_of(x: np.ndarray, y: np.ndarray, regso: pd.DataFrame) -> np.ndarray:
    """The RegSO code of each point (``None`` outside every RegSO or without a position).

    A point on the border of two RegSO goes to the one listed first.

    Examples
    --------
    >>> import geopandas as gpd
    >>> layer = gpd.GeoDataFrame({"code": ["A", "B"]},
    ...                          geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)])
    >>> regso_of(np.array([0.5, 1.5, 5.0, np.nan]), np.array([0.5, 0.5, 5.0, 0.5]), layer).tolist()
    ['A', 'B', None, None]
    """
    xs = np.asarray(x, dtype=float)
    ys = np.asarray(y, dtype=float)
    out = np.full(xs.size, None, dtype=object)
    ok = np.flatnonzero(np.isfinite(xs) & np.isfinite(ys))
    if ok.size == 0:
        return out
    tree = shapely.STRtree(regso.geometry.to_numpy())
    ipt, ipoly = tree.query(shapely.points(xs[ok], ys[ok]), predicate="intersects")
    order = np.lexsort((ipoly, ipt))
    ipt, ipoly = ipt[order], ipoly[order]
    first = np.r_[True, ipt[1:] != ipt[:-1]] if ipt.size else np.zeros(0, dtype=bool)
    codes = regso["code"].to_numpy(dtype=object)
    out[ok[ipt[first]]] = codes[ipoly[first]]
    return out


def load_inputs(
    settings: Settings, con: duckdb.DuckDBPyConnection, *, period: Period | None = None
) -> AnalysisInputs:
    """Read the events, the district layers and the population once.

    Parameters
    ----------
    settings
        The run's settings (data directory, analysis parameters, seed).
    con
        An open store (read-only is enough).
    period
        The period analysed; default the last 12 whole months up to the latest event.

    Returns
    -------
    AnalysisInputs

    Raises
    ------
    EmptySelectionError
        The store holds no events.
    """
    # `sensitive` too: such events are kept at district level (see _district_level_only).
    events = store.read_events(con, columns=[*EVENT_COLUMNS, "sensitive"])
    if events.empty:
        raise EmptySelectionError("the store holds no events — run `trygghetskarta ingest` first")
    data = settings.require_data()
    notes: list[str] = []
    try:
        population: pd.DataFrame | None = areas_mod.load_population(data)
    except SourceError as e:
        population = None
        notes.append(f"no rates per 1 000 inhabitants: {e}")
    return prepare_inputs(
        events,
        areas_mod.load_areas(data),
        population,
        period=period,
        parameters=settings.analysis,
        seed=settings.seed,
        notes=notes,
        coverage=store.read_coverage(con, COVERAGE_SOURCE),
    )


def _district_level_only(events: pd.DataFrame) -> list[str]:
    """Keep sensitive events (sexual offences, violence in close relationships) at district
    level: they count in every district table but lose their point, stadsdel and RegSO, so
    no analysis below the district (density, Gi*, clusters, near-repeat …) shows them.

    Changes ``events`` in place; returns a note saying how many were affected.
    """
    if "sensitive" not in events.columns:
        return []
    sensitive = events["sensitive"].fillna(False).astype(bool).to_numpy()
    if not sensitive.any():
        return []
    events.loc[sensitive, ["x", "y", "uncertainty_m"]] = np.nan
    events.loc[sensitive, "stadsdel"] = None
    events.loc[sensitive, "precision"] = Precision.STADSDELSOMRADE.value
    return [
        f"{int(sensitive.sum())} sensitive events are kept at district level: they count per "
        "district but in no analysis below it"
    ]


def prepare_inputs(
    events: pd.DataFrame,
    areas: areas_mod.Areas,
    population: pd.DataFrame | None,
    *,
    period: Period | None = None,
    parameters: AnalysisParameters | None = None,
    seed: int = 0,
    notes: Sequence[str] = (),
    coverage: Coverage | None = None,
) -> AnalysisInputs:
    """:class:`AnalysisInputs` from frames already read (what :func:`load_inputs` does after
    reading; tests and notebooks with their own events call it directly).

    Parameters
    ----------
    events
        One row per event with :data:`EVENT_COLUMNS` (``occurred_at`` timezone-aware).
    areas, population
        The district layers and ``areas.load_population`` (or ``None``).
    period
        Default: ``parameters.period``, else the last 12 whole months up to the latest event.
    parameters
        The analysis parameters (default :class:`~trygghetskarta.config.AnalysisParameters`
        with its defaults).
    seed
        The seed of every random draw.
    notes
        What limits the inputs.
    coverage
        The police feed's recorded coverage (``None``: none recorded); with the police
        events' times and ``parameters.data_start`` it gives the :class:`DataWindow`.

    Raises
    ------
    EmptySelectionError
        No events.
    """
    missing = [c for c in EVENT_COLUMNS if c not in events.columns]
    if missing:
        raise AnalysisError(
            f"the events frame lacks the columns {missing} — read them with "
            "store.read_events(con, columns=EVENT_COLUMNS)"
        )
    if events.empty:
        raise EmptySelectionError("no events to analyse")
    events = events.reset_index(drop=True).copy()
    if not isinstance(events["occurred_at"].dtype, pd.DatetimeTZDtype):
        events["occurred_at"] = pd.to_datetime(events["occurred_at"], utc=True)
    events["occurred_at"] = events["occurred_at"].dt.tz_convert(TIMEZONE)
    parameters = parameters or AnalysisParameters()
    if period is None and parameters.period is not None:
        period = Period.months(*parameters.period)
    period = period or default_period(events["occurred_at"])
    police = events.loc[(events["layer"] == Layer.POLICE_EVENT.value).to_numpy(), "occurred_at"]
    window = data_window(parameters, coverage, police if len(police) else events["occurred_at"])
    if window.data_end is not None and window.data_end < period.first_day:
        notes = [
            *notes,
            f"the data end on {window.data_end}, before the period {period.label} starts",
        ]
        period = period.with_data(None, window.data_start)
    else:
        period = period.with_data(window.data_end, window.data_start)
    scheme = areas_mod.scheme_at(period.last_month)
    events["district"] = districts_in_scheme(
        events["stadsdelsomrade"], events["stadsdel"], areas, scheme
    )
    notes = [*notes, *_district_level_only(events)]
    placed = events["precision"].isin(PLACED).to_numpy()
    regso = np.full(len(events), None, dtype=object)
    regso[placed] = regso_of(
        events["x"].to_numpy(dtype=float)[placed],
        events["y"].to_numpy(dtype=float)[placed],
        areas.regso,
    )
    events["regso"] = regso
    return AnalysisInputs(
        events=events,
        period=period,
        scheme=scheme,
        areas=areas,
        population=population,
        stadsdel_neighbours=queen_neighbours(areas.stadsdelar.geometry),
        regso_neighbours=queen_neighbours(areas.regso.geometry),
        parameters=parameters,
        seed=int(seed),
        notes=tuple(notes),
        study_areas=_study_areas(areas, scheme, parameters),
        window=window,
    )


def _study_areas(
    areas: areas_mod.Areas, scheme: str, parameters: AnalysisParameters
) -> Mapping[str, StudyArea]:
    """The kommun (key ``""``) and the districts of a scheme, with the masks of the grids
    the parameters use (density, Gi* and the emerging candidates)."""
    cells = (
        parameters.cell_size_m,
        parameters.gi_cell_size_m,
        *parameters.emerging_cell_candidates_m,
    )
    kommun = areas.kommun
    found = {"": StudyArea(str(kommun["name"].iloc[0]), kommun.geometry.iloc[0], "kommun")}
    layer = areas.districts(scheme)
    for name, geometry in zip(layer["name"], layer.geometry, strict=True):
        found[str(name)] = StudyArea(str(name), geometry, "district")
    return MappingProxyType({k: a.with_masks(cells) for k, a in found.items()})


def study_area(inputs: AnalysisInputs, district: str | None = None) -> StudyArea:
    """The kommun, or one district of the period's scheme.

    Raises
    ------
    AnalysisError
        A district name that is not one of the scheme's.
    """
    area = inputs.study_areas.get(district or "")
    if area is None:
        names = ", ".join(sorted(k for k in inputs.study_areas if k))
        raise AnalysisError(
            f"expected a district of the {inputs.scheme} scheme ({names}), got {district!r}"
        )
    return area


def select(
    inputs: AnalysisInputs,
    layer: str,
    category: str = ALL,
    *,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    district: str | None = None,
) -> pd.DataFrame:
    """The events of a layer (and category) in ``[start, end)`` — by default the period.

    ``district`` keeps the events assigned to that district (in the period's scheme).
    """
    ev = inputs.events
    start = inputs.period.start if start is None else start
    end = inputs.period.end if end is None else end
    keep = (ev["layer"] == layer) & (ev["occurred_at"] >= start) & (ev["occurred_at"] < end)
    if category != ALL:
        keep &= ev["category"] == category
    if district is not None:
        keep &= ev["district"] == district
    return ev[keep.to_numpy()]


def months_before(period: Period, months: int) -> Period:
    """The ``months`` whole months ending with the period's last month."""
    last = period.last_month.tz_localize(None).to_period("M")
    return Period.months(str(last - (months - 1)), str(last))
