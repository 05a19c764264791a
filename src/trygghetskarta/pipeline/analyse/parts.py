"""The spatial analyses of the ``analyse`` step, each on one selection of events and one area.

Every function takes the :class:`~.inputs.AnalysisInputs` read once, a layer and
optionally a category (``"all"`` by default) and a district (the kommun by default),
decides which events the analysis may use (see :mod:`.inputs` for the precision
rules), runs it from :mod:`trygghetskarta.analysis` and returns the result with every
parameter that made it (selection, period, counts of events used and left out). Nothing
here writes files: :func:`~trygghetskarta.pipeline.analyse.analyse` does, and notebooks
call these functions for one district.

A selection without usable events raises :class:`~.inputs.EmptySelectionError`
(one sentence saying why); the step records it as a warning.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike

from trygghetskarta.analysis import clusters as clusters_mod
from trygghetskarta.analysis.cells import count_grid
from trygghetskarta.analysis.clusters import dbscan, dbscan_neighbours, hdbscan
from trygghetskarta.analysis.density import kde
from trygghetskarta.analysis.emerging import EmergingHotspots, emerging_hotspots
from trygghetskarta.analysis.grid import Grid, grid_from_bounds
from trygghetskarta.analysis.hotspots import GiStar, gi_star, gi_star_areas
from trygghetskarta.analysis.local_moran import eb_rates, local_moran_rate
from trygghetskarta.analysis.spacetime import space_time_cube
from trygghetskarta.config import STORE_CRS
from trygghetskarta.errors import TrygghetskartaWarning
from trygghetskarta.pipeline.analyse.inputs import (
    ALL,
    IN_STADSDEL,
    PLACED,
    UNPLACED,
    AnalysisInputs,
    EmptySelectionError,
    months_before,
    select,
    study_area,
)
from trygghetskarta.schema import TIMEZONE

# The parameters (cells, Gi*'s neighbourhood and minimum, the emerging cube, Moran's
# permutations, the clusters) are ``inputs.parameters``: one frozen
# :class:`~trygghetskarta.config.AnalysisParameters` built by ``config``.

__all__ = [
    "CellHotspots",
    "clusters",
    "density",
    "emerging",
    "emerging_cell_size",
    "hotspot_cells",
    "hotspot_stadsdelar",
    "local_moran_regso",
    "params_json",
    "sample_fields",
    "warn_sampled",
]


def params_json(params: Mapping[str, Any]) -> str:
    """Parameters as one JSON string (the ``params`` column of tables)."""
    return json.dumps(dict(params), ensure_ascii=False, sort_keys=True, default=str)


def sample_fields(n: int, of: int) -> dict[str, Any]:
    """The columns that say whether an analysis used every event of its selection.

    Parameters
    ----------
    n
        Events the analysis ran on.
    of
        Events of the selection it could use.

    Returns
    -------
    dict
        ``sampled_n`` and ``sampled_of`` (equal when nothing was sampled) and ``sampled``,
        ``"n of N"`` when a cap bit (e.g. ``"20000 of 184134"``), ``""`` otherwise.
    """
    return {
        "sampled_n": int(n),
        "sampled_of": int(of),
        "sampled": f"{int(n)} of {int(of)}" if n < of else "",
    }


def warn_sampled(
    analysis: str, label: str, n: int, of: int, setting: str, *, what: str = "ran on"
) -> None:
    """Warn that ``analysis`` of a selection ran on a seeded sample because of a cap.

    The ``analyse`` step collects the warning into its result (the run summary and the
    manifest); the maps and reports that show the result carry a Swedish note.

    Parameters
    ----------
    analysis
        What ran (``"clusters"``, ``"near-repeat"``).
    label
        The selection, ``layer/category``.
    n, of
        Events used and events of the selection.
    setting
        The ``[analysis]`` setting whose cap bit (``cluster_max_events`` …).
    what
        What was computed on the sample, before "a seeded random sample".
    """
    warnings.warn(
        f"{analysis} {label}: {what} a seeded random sample of {n:,} of {of:,} placed events "
        f"because [analysis] {setting} = {n:,} — raise {setting} to use every event "
        "(time and memory grow with it)",
        TrygghetskartaWarning,
        stacklevel=2,
    )


def _label(layer: str, category: str, district: str | None = None) -> str:
    where = f" in {district}" if district else ""
    return f"{layer}/{category}{where}"


def _selection(
    inputs: AnalysisInputs, layer: str, category: str, area: str, selected: int
) -> dict[str, Any]:
    return {
        "layer": layer,
        "category": category,
        "area": area,
        "period_start": inputs.period.start.date().isoformat(),
        "period_end": inputs.period.end.date().isoformat(),
        "n_selected": int(selected),
    }


def _located(ev: pd.DataFrame) -> pd.Series:
    """Events with a position below kommun level (and a known uncertainty)."""
    return (
        ev["x"].notna()
        & ev["y"].notna()
        & ev["uncertainty_m"].notna()
        & ~ev["precision"].isin(UNPLACED)
    )


# --------------------------------------------------------------------------------------
# density


def density(
    inputs: AnalysisInputs,
    layer: str,
    category: str = ALL,
    *,
    district: str | None = None,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    bandwidth: float | str | None = None,
) -> Grid:
    """Kernel density of a selection over the kommun (or a district), events per km².

    Every event with a position below kommun level counts, its kernel widened by its
    position's uncertainty (σ² = h² + u², see :func:`~trygghetskarta.analysis.density.kde`);
    ``kommun``-level events and events without a position are left out and counted in
    ``params["n_unplaced"]``. All events of the kommun count, so a district's map near
    its border also shows its neighbours' events. Cells outside the area are NaN. The
    cell and the bandwidth (metres or a rule) are ``inputs.parameters``'.

    ``start`` and ``end`` choose part of the period (e.g. one month, for the map's month
    slider); by default the whole period. ``bandwidth`` overrides the parameters' (the
    monthly grids use the bandwidth the period's grid got, so that they compare).

    Raises
    ------
    EmptySelectionError
        No event of the selection in the period has a position below kommun level.
    """
    area = study_area(inputs, district)
    ev = select(inputs, layer, category, start=start, end=end)
    located = ev[_located(ev).to_numpy()]
    if located.empty:
        raise EmptySelectionError(
            f"density {_label(layer, category)}: no event in {inputs.period.label} has a "
            f"position below kommun level ({len(ev)} events, none placed)"
        )
    cell = inputs.parameters.cell_size_m
    transform, shape = grid_from_bounds(area.bounds, cell)
    grid = kde(
        located["x"].to_numpy(dtype=float),
        located["y"].to_numpy(dtype=float),
        cell_size=cell,
        bandwidth=inputs.parameters.bandwidth if bandwidth is None else bandwidth,
        bounds=area.bounds,
        uncertainty=located["uncertainty_m"].to_numpy(dtype=float),
        mask=area.mask(transform, shape),
    )
    params = {
        **grid.params,
        **_selection(inputs, layer, category, area.name, len(ev)),
        "n_unplaced": int(len(ev) - len(located)),
        "unplaced": "precision kommun or none, or no position: left out",
        "uncertainty": "each kernel widened to sigma² = bandwidth² + uncertainty_m²",
    }
    return Grid(grid.values, grid.transform, grid.crs, params, grid.units)


# --------------------------------------------------------------------------------------
# Gi* on cells and on stadsdelar


@dataclass(frozen=True, eq=False)
class CellHotspots:
    """Gi* on grid cells with the counts it ran on."""

    gi: GiStar
    counts: Grid

    def grids(self) -> dict[str, Grid]:
        """``{"z": ..., "bins": ...}`` GeoTIFF-ready grids (NaN outside the area)."""
        return self.gi.grids()

    def to_frame(self) -> gpd.GeoDataFrame:
        """One row per analysed cell: ``row, col, x, y, count, z, p, p_sim, p_adjusted,
        bin, significant`` and the cell's square."""
        frame = self.gi.to_frame()
        counts = self.counts.values[frame["row"].to_numpy(), frame["col"].to_numpy()]
        frame.insert(4, "count", counts.astype(np.int64))
        return frame


def hotspot_cells(
    inputs: AnalysisInputs,
    layer: str,
    category: str = ALL,
    *,
    district: str | None = None,
    cell_size: float | None = None,
    min_events: int | None = None,
) -> CellHotspots:
    """Getis-Ord Gi* hot and cold spots of a selection's counts on grid cells.

    Only events whose ``uncertainty_m`` is at most the cell size are counted (an event
    known only to its stadsdel cannot be put in a 250 m cell); the neighbourhood is the
    3 × 3 cells around each cell; p-values are FDR-corrected (Benjamini–Hochberg) and
    the bins are ArcGIS's ``Gi_Bin`` (see :func:`~trygghetskarta.analysis.hotspots.gi_star`).
    Cells outside the area are left out. ``cell_size`` and ``min_events`` default to
    ``inputs.parameters``' ``gi_cell_size_m`` and ``gi_min_events``.

    Raises
    ------
    EmptySelectionError
        Fewer than ``min_events`` events of the selection are placed within a cell's
        width inside the area.
    """
    p = inputs.parameters
    cell_size = p.gi_cell_size_m if cell_size is None else cell_size
    min_events = p.gi_min_events if min_events is None else min_events
    area = study_area(inputs, district)
    ev = select(inputs, layer, category)
    located = ev[_located(ev).to_numpy()]
    use = located[(located["uncertainty_m"] <= cell_size).to_numpy()]
    transform, shape = grid_from_bounds(area.bounds, cell_size)
    counts = count_grid(
        use["x"].to_numpy(dtype=float),
        use["y"].to_numpy(dtype=float),
        cell_size=cell_size,
        bounds=area.bounds,
        mask=area.mask(transform, shape),
    )
    counted = int(counts.params["n_events_in_mask"])
    if counted < min_events:
        raise EmptySelectionError(
            f"Gi* cells {_label(layer, category, district)}: {counted} events in "
            f"{inputs.period.label} are placed within {cell_size:g} m inside {area.name}, "
            f"fewer than the {min_events} Gi* needs ({len(ev)} events, {len(located)} with a "
            "position) — see the density map"
        )
    res = gi_star(counts, neighbourhood=p.gi_neighbourhood, fdr=True)
    params = {
        **res.params,
        **{k: v for k, v in counts.params.items() if k != "n_events"},
        **_selection(inputs, layer, category, area.name, len(ev)),
        "cell_size_m": float(cell_size),
        "max_uncertainty_m": float(cell_size),
        "n_events": int(counts.params["n_events_in_mask"]),
        "n_left_out_uncertain": int(len(located) - len(use)),
        "n_unplaced": int(len(ev) - len(located)),
        "min_events": int(min_events),
    }
    return CellHotspots(replace(res, params=params), counts)


def hotspot_stadsdelar(
    inputs: AnalysisInputs, layer: str, category: str = ALL, *, min_events: int | None = None
) -> gpd.GeoDataFrame:
    """Gi* on the counts of a selection's events per stadsdel (all 117, queen contiguity).

    Counts events placed at least to their stadsdel (:data:`IN_STADSDEL`); the
    stadsdel layer includes water. The statistic runs on counts, as the stadsdelar
    are the areas planners act on; ``events_per_km2`` is given beside them.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per stadsdel: ``stadsdel, district_2021_2023, district_2024, area_km2,
        count, events_per_km2, z, p, p_adjusted, bin, significant`` and the selection
        and ``params`` columns, EPSG:3006.

    Raises
    ------
    EmptySelectionError
        Fewer than ``min_events`` (default ``inputs.parameters.gi_min_events``) events
        placed to a stadsdel.
    """
    min_events = inputs.parameters.gi_min_events if min_events is None else min_events
    ev = select(inputs, layer, category)
    sd = inputs.areas.stadsdelar
    use = ev[(ev["precision"].isin(IN_STADSDEL) & ev["stadsdel"].notna()).to_numpy()]
    known = use["stadsdel"].isin(sd["name"])
    if int(known.sum()) < min_events:
        raise EmptySelectionError(
            f"Gi* stadsdelar {_label(layer, category)}: {int(known.sum())} events in "
            f"{inputs.period.label} are placed to a stadsdel, fewer than the {min_events} "
            f"Gi* needs ({len(ev)} events)"
        )
    counts = use.loc[known.to_numpy(), "stadsdel"].value_counts().reindex(sd["name"], fill_value=0)
    res = gi_star_areas(counts.to_numpy(dtype=float), inputs.stadsdel_neighbours, fdr=True)
    params = {
        **res.params,
        **_selection(inputs, layer, category, "kommun", len(ev)),
        "value": "events per stadsdel",
        "precision": ", ".join(IN_STADSDEL),
        "n_events": int(known.sum()),
        "n_unknown_stadsdel": int((~known).sum()),
        "min_events": int(min_events),
    }
    frame = pd.DataFrame(
        {
            "layer": layer,
            "category": category,
            "stadsdel": sd["name"].to_numpy(),
            "district_2021_2023": sd["sdo_2021_2023"].to_numpy(),
            "district_2024": sd["sdo_2024"].to_numpy(),
            "area_km2": sd["area_km2"].to_numpy(dtype=float),
            "count": counts.to_numpy(dtype=np.int64),
            "events_per_km2": counts.to_numpy(dtype=float) / sd["area_km2"].to_numpy(dtype=float),
            "z": res.z,
            "p": res.p,
            "p_adjusted": res.p_adjusted,
            "bin": res.bins,
            "significant": res.significant,
            "params": params_json(params),
        }
    )
    return gpd.GeoDataFrame(frame, geometry=sd.geometry.to_numpy(), crs=STORE_CRS)


# --------------------------------------------------------------------------------------
# local Moran's I on RegSO


def local_moran_regso(inputs: AnalysisInputs, layer: str, category: str = ALL) -> gpd.GeoDataFrame:
    """Local Moran's I of a selection's rates per RegSO (population 2024).

    Events placed at a place, a street or better (:data:`PLACED`) are assigned to
    their RegSO by point in polygon. The statistic runs on Empirical-Bayes standardised
    rates (Assunção & Reis, esda's ``Moran_Local_Rate``), so RegSO with few inhabitants
    do not dominate; seeded conditional permutations (``local_moran_permutations``, 9 999
    by default), FDR over the RegSO.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per RegSO: ``code, name, district_2021_2023, district_2024, population,
        count, rate_per_1000`` (crude), ``eb_rate_per_1000`` (Marshall's EB-smoothed),
        ``eb_standardised`` (what was analysed), ``I, lag, quadrant, p_sim,
        p_adjusted, label`` (HH, LL, HL, LH, ns) and the selection and ``params``
        columns, EPSG:3006.

    Raises
    ------
    EmptySelectionError
        No event of the selection placed at a place or better inside a RegSO.
    """
    ev = select(inputs, layer, category)
    regso = inputs.areas.regso
    use = ev[(ev["precision"].isin(PLACED) & ev["regso"].notna()).to_numpy()]
    if use.empty:
        raise EmptySelectionError(
            f"local Moran RegSO {_label(layer, category)}: no event in {inputs.period.label} "
            f"is placed at a place, street or better inside a RegSO ({len(ev)} events)"
        )
    counts = use["regso"].value_counts().reindex(regso["code"], fill_value=0)
    e = counts.to_numpy(dtype=float)
    b = regso["pop_2024"].to_numpy(dtype=float)
    res = local_moran_rate(
        e,
        b,
        inputs.regso_neighbours,
        rate="assuncao",
        permutations=inputs.parameters.local_moran_permutations,
        seed=inputs.seed,
    )
    params = {
        **res.params,
        **_selection(inputs, layer, category, "kommun", len(ev)),
        "population": "RegSO pop_2024",
        "precision": ", ".join(PLACED),
        "n_events": len(use),
    }
    with np.errstate(divide="ignore", invalid="ignore"):
        crude = np.where(b > 0, e / b * 1000.0, np.nan)
    frame = pd.DataFrame(
        {
            "layer": layer,
            "category": category,
            "code": regso["code"].to_numpy(),
            "name": regso["name"].to_numpy(),
            "district_2021_2023": regso["sdo_2021_2023"].to_numpy(),
            "district_2024": regso["sdo_2024"].to_numpy(),
            "population": b.astype(np.int64),
            "count": e.astype(np.int64),
            "rate_per_1000": crude,
            "eb_rate_per_1000": eb_rates(e, b) * 1000.0,
            "eb_standardised": res.values,
            "I": res.I,
            "lag": res.lag,
            "quadrant": res.quadrant,
            "p_sim": res.p_sim,
            "p_adjusted": res.p_adjusted,
            "label": res.labels.astype(str),
            "params": params_json(params),
        }
    )
    return gpd.GeoDataFrame(frame, geometry=regso.geometry.to_numpy(), crs=STORE_CRS)


# --------------------------------------------------------------------------------------
# emerging hot spots


def emerging_cell_size(
    uncertainty: ArrayLike,
    candidates: Sequence[float] = (250.0, 500.0, 1000.0),
    min_share: float = 0.5,
) -> float:
    """The smallest candidate cell within which at least ``min_share`` of the events are placed.

    A space-time cube counts an event in one cell, so only events whose position is
    known to within the cell's width belong in it. Small cells show more detail but,
    when most events are known only to their stadsdel, analyse few of them; this picks
    the finest candidate that still analyses most events (the largest when none does).

    Parameters
    ----------
    uncertainty
        ``uncertainty_m`` of the located events (NaN ignored).
    candidates
        Cell sizes, metres.
    min_share
        The share of events the cube must keep.

    Examples
    --------
    >>> emerging_cell_size([10, 25, 250, 800, 820])
    250.0
    >>> emerging_cell_size([250, 800, 820, 900])
    1000.0
    """
    u = np.asarray(uncertainty, dtype=float)
    u = u[np.isfinite(u)]
    sizes = sorted(float(c) for c in candidates)
    for c in sizes:
        if u.size and np.mean(u <= c) >= min_share:
            return c
    return sizes[-1]


def emerging(
    inputs: AnalysisInputs,
    layer: str,
    category: str = ALL,
    *,
    district: str | None = None,
    cell_size: float | None = None,
    months: int | None = None,
) -> EmergingHotspots:
    """ArcGIS-style emerging hot spots of a selection over the last ``months`` months.

    A monthly space-time cube over the area (cells outside it left out), space-time Gi*
    with the 3 × 3 cells of the month and the month before, FDR over the cube, the
    Mann-Kendall trend and ArcGIS's 17 patterns
    (:func:`~trygghetskarta.analysis.emerging.emerging_hotspots`). Only events placed
    within the cell's width count; the cell size is chosen by
    :func:`emerging_cell_size` from ``inputs.parameters``' candidates and share unless
    given; ``months`` defaults to ``inputs.parameters.emerging_months``.

    Raises
    ------
    EmptySelectionError
        No event of the selection placed within a cell's width in the window.
    """
    p = inputs.parameters
    months = p.emerging_months if months is None else months
    area = study_area(inputs, district)
    window = months_before(inputs.period, months)
    ev = select(inputs, layer, category, start=window.start, end=window.end)
    located = ev[_located(ev).to_numpy()]
    rule = (
        f"given ({cell_size:g} m)"
        if cell_size is not None
        else f"smallest of {', '.join(f'{c:g}' for c in p.emerging_cell_candidates_m)} m "
        f"within which ≥ {p.emerging_min_share:.0%} of the located events are placed"
    )
    cell = (
        float(cell_size)
        if cell_size is not None
        else emerging_cell_size(
            located["uncertainty_m"], p.emerging_cell_candidates_m, p.emerging_min_share
        )
    )
    use = located[(located["uncertainty_m"] <= cell).to_numpy()]
    transform, shape = grid_from_bounds(area.bounds, cell)
    month = use["occurred_at"].dt.tz_convert(TIMEZONE).dt.tz_localize(None).dt.to_period("M")
    first = window.start.tz_localize(None).to_period("M")
    periods = pd.period_range(first, periods=months, freq="M")
    cube = space_time_cube(
        use["x"].to_numpy(dtype=float),
        use["y"].to_numpy(dtype=float),
        month,
        cell_size=cell,
        bounds=area.bounds,
        periods=list(periods),
        mask=area.mask(transform, shape),
    )
    inside = int(np.nansum(cube.values))
    if inside == 0:
        raise EmptySelectionError(
            f"emerging hot spots {_label(layer, category, district)}: no event in "
            f"{window.label} is placed within {cell:g} m inside {area.name} ({len(ev)} "
            f"events, {len(located)} with a position)"
        )
    res = emerging_hotspots(cube)
    params = {
        **res.params,
        **_selection(inputs, layer, category, area.name, len(ev)),
        "window_start": window.start.date().isoformat(),
        "window_end": window.end.date().isoformat(),
        "cell_size_rule": rule,
        "max_uncertainty_m": cell,
        "n_located": len(located),
        "n_events_in_area": inside,
        "share_of_located_used": round(len(use) / len(located), 4) if len(located) else 0.0,
    }
    return replace(res, params=params)


# --------------------------------------------------------------------------------------
# clusters


def _count_inside(outlines: gpd.GeoDataFrame, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Events inside (or on the edge of) each outline."""
    if outlines.empty:
        return np.zeros(0, dtype=np.int64)
    tree = shapely.STRtree(outlines.geometry.to_numpy())
    _, ipoly = tree.query(shapely.points(x, y), predicate="intersects")
    return np.bincount(ipoly, minlength=len(outlines)).astype(np.int64)


def clusters(
    inputs: AnalysisInputs,
    layer: str,
    category: str = ALL,
    *,
    min_cluster_size: int | None = None,
    max_events: int | None = None,
) -> gpd.GeoDataFrame:
    """HDBSCAN (or DBSCAN) clusters of a selection's placed events, as outlines.

    Uses events placed at a place, a street or better (:data:`PLACED`). The method, the
    smallest cluster, DBSCAN's radius and the cap are ``inputs.parameters``'
    (``cluster_*``); ``min_cluster_size`` and ``max_events`` override them. DBSCAN runs
    on a KD-tree over every event whenever their neighbourhoods within ``eps`` fit in
    memory (:data:`~trygghetskarta.analysis.clusters.DBSCAN_MAX_NEIGHBOURS`), whatever
    ``max_events``. HDBSCAN (scikit-learn's, on a KD-tree) takes time that grows with the
    square of the events (1.4 s at 20 000, 9.5 s at 50 000); above ``max_events`` it, or
    a DBSCAN whose neighbourhoods do not fit, runs on a seeded random sample of that
    size, and each outline's ``n_events`` is then the number of all the selection's
    events inside it (``n_events_in_sample`` the sampled ones). A
    cap that bites is never silent: a warning (the step's result, the run summary and
    the manifest) and the columns ``sampled_n``, ``sampled_of`` and ``sampled``
    (``"20000 of 184134"``, see :func:`sample_fields`), which the maps state in Swedish.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per cluster (see :func:`~trygghetskarta.analysis.clusters.cluster_outlines`)
        with the selection, ``sampled_n, sampled_of, sampled`` and ``params`` columns;
        empty when HDBSCAN finds none.

    Raises
    ------
    EmptySelectionError
        Fewer placed events than ``min_cluster_size``.
    """
    p = inputs.parameters
    min_cluster_size = p.cluster_min_size if min_cluster_size is None else min_cluster_size
    max_events = p.cluster_max_events if max_events is None else max_events
    ev = select(inputs, layer, category)
    use = ev[(ev["precision"].isin(PLACED) & ev["x"].notna() & ev["y"].notna()).to_numpy()]
    if len(use) < min_cluster_size:
        raise EmptySelectionError(
            f"clusters {_label(layer, category)}: {len(use)} events in {inputs.period.label} "
            f"are placed at a place, street or better, fewer than a cluster's "
            f"{min_cluster_size}"
        )
    x_all = use["x"].to_numpy(dtype=float)
    y_all = use["y"].to_numpy(dtype=float)
    sample = np.arange(len(use))
    if (
        p.cluster_method == "dbscan"
        and len(use) > max_events
        and dbscan_neighbours(x_all, y_all, p.cluster_eps_m) <= clusters_mod.DBSCAN_MAX_NEIGHBOURS
    ):
        max_events = len(use)  # DBSCAN's time and memory grow with the neighbours: all fit
    if len(use) > max_events:
        rng = np.random.default_rng(inputs.seed)
        sample = np.sort(rng.choice(len(use), size=max_events, replace=False))
        warn_sampled(
            "clusters", _label(layer, category), sample.size, len(use), "cluster_max_events"
        )
    if p.cluster_method == "dbscan":
        res = dbscan(
            x_all[sample], y_all[sample], eps=p.cluster_eps_m, min_samples=min_cluster_size
        )
    else:
        res = hdbscan(x_all[sample], y_all[sample], min_cluster_size=min_cluster_size)
    out = res.outlines.copy()
    out.insert(2, "n_events_in_sample", out["n_events"].to_numpy())
    if sample.size < len(use):
        out["n_events"] = _count_inside(out, x_all, y_all)
        with np.errstate(divide="ignore", invalid="ignore"):
            out["events_per_km2"] = np.where(
                out["degenerate"], np.nan, out["n_events"] / out["area_km2"]
            )
    params = {
        **res.params,
        **_selection(inputs, layer, category, "kommun", len(ev)),
        "method": res.method,
        "precision": ", ".join(PLACED),
        "n_events": len(use),
        "n_sampled": int(sample.size),
        "seed": inputs.seed,
        "n_noise_in_sample": res.n_noise,
    }
    out.insert(0, "category", category)
    out.insert(0, "layer", layer)
    fields = sample_fields(sample.size, len(use))
    for name, value in fields.items():
        out[name] = pd.Series(value, index=out.index, dtype=type(value))
    out["params"] = params_json(params)
    out.attrs.update(fields)  # also when no cluster was found (no rows to say it)
    return out
