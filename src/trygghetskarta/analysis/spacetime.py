"""Space-time cubes (cell × period) and the space-time Getis-Ord Gi*.

:func:`space_time_cube` counts events per grid cell and period; :func:`gi_star_cube`
gives every bin its Gi* z-score against a space-time neighbourhood, as ArcGIS Pro's
Emerging Hot Spot Analysis does. :mod:`~trygghetskarta.analysis.emerging` builds the
patterns on top; the method is described there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from affine import Affine
from numpy.typing import ArrayLike
from scipy.special import ndtr

from trygghetskarta.analysis.cells import bin_events, box_sum, check_neighbourhood, mask_array
from trygghetskarta.analysis.grid import (
    Bounds,
    _check_cell_size,
    area_bounds,
    area_mask,
    as_area,
    grid_from_bounds,
)
from trygghetskarta.analysis.points import Points, as_xy, event_values
from trygghetskarta.config import STORE_CRS
from trygghetskarta.errors import AnalysisError

#: ArcGIS's *Define Global Window* options: entire cube, neighbourhood time step,
#: individual time step.
GLOBAL_WINDOWS = ("cube", "time_window", "period")

__all__ = ["GLOBAL_WINDOWS", "SpaceTimeCube", "gi_star_cube", "space_time_cube"]


@dataclass(frozen=True, eq=False)
class SpaceTimeCube:
    """Counts per period and cell: ``values[t, row, col]``, row 0 north.

    Attributes
    ----------
    values
        ``(periods, rows, cols)`` float; NaN in cells outside the study area.
    periods
        The period labels, oldest first.
    transform, crs
        The grid's georeference (as :class:`~trygghetskarta.analysis.grid.Grid`).
    params
        Cell size and event counts (used, left out, outside bounds or periods).
    """

    values: np.ndarray
    periods: tuple[Any, ...]
    transform: Affine
    crs: str = STORE_CRS
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if np.ndim(self.values) != 3 or len(self.periods) != np.shape(self.values)[0]:
            raise AnalysisError(
                "a space-time cube needs values of shape (periods, rows, cols) and one label "
                f"per period, got shape {np.shape(self.values)} and {len(self.periods)} labels"
            )


def _period_index(period: ArrayLike, periods: Sequence[Any] | None) -> tuple[pd.Index, np.ndarray]:
    labels = pd.Index(period)
    present = labels[labels.notna()]
    if periods is not None:
        index = pd.Index(periods)
        if index.has_duplicates:
            raise AnalysisError("periods must not repeat a label")
    elif isinstance(present, pd.PeriodIndex) and len(present):
        index = pd.period_range(present.min(), present.max(), freq=present.freq)
    else:
        index = pd.Index(sorted(present.unique()))
    if len(index) == 0:
        raise AnalysisError(
            "no periods: pass periods= (e.g. the months analysed) or events with a period"
        )
    return index, index.get_indexer(labels)


def space_time_cube(
    x: Points,
    y: ArrayLike | None = None,
    period: ArrayLike | str | None = None,
    *,
    cell_size: float,
    bounds: Bounds | None = None,
    periods: Sequence[Any] | None = None,
    mask: ArrayLike | object | None = None,
    crs: object | None = None,
) -> SpaceTimeCube:
    """Count events per grid cell and period.

    Parameters
    ----------
    x, y
        Event coordinates in EPSG:3006, metres; or the events as ``x`` alone (a
        GeoSeries/GeoDataFrame of points in any CRS or a frame with ``x`` and ``y``, see
        :func:`~trygghetskarta.analysis.points.as_xy`) with ``period=`` by keyword.
    period
        Each event's period label, e.g. ``occurred_at.dt.tz_localize(None).dt.to_period("M")``
        (pandas Periods), ``"2024-05"`` strings or integers; or the name of a column of
        the events frame.
    cell_size
        Cell width and height, metres.
    bounds
        ``(xmin, ymin, xmax, ymax)`` of the grid; default the events' extent.
    periods
        All periods of the cube, oldest first — periods without events are zero, not
        missing. Default: with pandas Periods, every period from the first to the last
        event's; otherwise the sorted distinct labels.
    mask
        The study area: a polygon (shapely in EPSG:3006, or a GeoSeries/GeoDataFrame in
        any CRS; its bounding box is then the default ``bounds``), or a boolean
        ``(rows, cols)`` array, True inside. Cells whose centre lies outside are NaN.
    crs
        The CRS of x and y when they are not EPSG:3006.

    Returns
    -------
    SpaceTimeCube
        ``params`` counts the events used and those left out (no coordinates or period,
        outside the bounds, or in a period not in ``periods``).

    Examples
    --------
    >>> x, y = [674_005, 674_005, 674_015], [6_580_005] * 3
    >>> cube = space_time_cube(x, y, ["2024-01", "2024-02", "2024-02"],
    ...                        cell_size=10, bounds=(674_000, 6_580_000, 674_020, 6_580_010))
    >>> cube.values.tolist(), cube.periods
    ([[[1.0, 0.0]], [[1.0, 1.0]]], ('2024-01', '2024-02'))
    """
    cell = _check_cell_size(cell_size)
    if period is None:
        raise AnalysisError(
            "space_time_cube needs each event's period: pass period= (values, or a column "
            "name with a frame)"
        )
    xa, ya = as_xy(x, y, crs=crs)
    period = event_values(x, period, "period")
    labels = (
        np.asarray(period, dtype=object).ravel() if not isinstance(period, pd.Series) else period
    )
    if not (xa.size == ya.size == len(labels)):
        raise AnalysisError(
            f"x, y and period must have one value per event, got {xa.size}, {ya.size} and "
            f"{len(labels)}"
        )
    index, t = _period_index(labels, periods)
    has_xy = np.isfinite(xa) & np.isfinite(ya)
    has_t = t >= 0
    area = as_area(mask)
    if area is not None and bounds is None:
        bounds = area_bounds(area)
    if bounds is None:
        if not has_xy.any():
            raise AnalysisError(
                f"no events with a position ({xa.size} given) — pass bounds= to get an "
                "all-zero cube"
            )
        bounds = (xa[has_xy].min(), ya[has_xy].min(), xa[has_xy].max(), ya[has_xy].max())
    transform, shape = grid_from_bounds(bounds, cell)
    m = area_mask(area, transform, shape) if area is not None else mask_array(mask, shape)
    row, col, inside = bin_events(np.where(has_xy, xa, np.inf), ya, transform, shape)
    use = has_xy & has_t & inside
    values = np.zeros((len(index), *shape))
    np.add.at(values, (t[use], row[use], col[use]), 1.0)
    if m is not None:
        values[:, ~m] = np.nan
    params = {
        "cell_size_m": cell,
        "n_periods": len(index),
        "first_period": str(index[0]),
        "last_period": str(index[-1]),
        "n_events": int(use.sum()),
        "n_left_out_no_position": int((~has_xy).sum()),
        "n_outside_bounds": int((has_xy & ~inside).sum()),
        "n_outside_periods": int((has_xy & inside & ~has_t).sum()),
    }
    return SpaceTimeCube(values, tuple(index), transform, STORE_CRS, params)


# --------------------------------------------------------------------------------------
# space-time Gi*


def _trailing(a: np.ndarray, steps: int) -> np.ndarray:
    """Sum over each period and the ``steps`` periods before it (axis 0)."""
    out = a.copy()
    for u in range(1, min(steps, a.shape[0] - 1) + 1):
        out[u:] += a[:-u]
    return out


def _window_moments(
    v: np.ndarray, valid: np.ndarray, steps: int, window: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Count, mean and population standard deviation of the global window of each period."""
    t = v.shape[0]
    cnt = valid.reshape(t, -1).sum(axis=1).astype(float)
    tot = v.reshape(t, -1).sum(axis=1)
    mean_t = np.divide(tot, cnt, out=np.zeros(t), where=cnt > 0)
    dev = np.where(valid, v - mean_t[:, None, None], 0.0)
    m2_t = (dev * dev).reshape(t, -1).sum(axis=1)
    if window == "period":
        return cnt, mean_t, np.sqrt(np.divide(m2_t, cnt, out=np.zeros(t), where=cnt > 0))
    if window == "cube":
        n = cnt.sum()
        mean = tot.sum() / n
        m2 = (m2_t + cnt * (mean_t - mean) ** 2).sum()
        return np.full(t, n), np.full(t, mean), np.full(t, np.sqrt(m2 / n))
    # time window: periods t - steps … t, combined with Chan's formula
    n_w = _trailing(cnt, steps)
    mean_w = np.divide(_trailing(tot, steps), n_w, out=np.zeros(t), where=n_w > 0)
    m2_w = np.zeros(t)
    for u in range(t):
        lo = max(0, u - steps)
        m2_w[u] = (m2_t[lo : u + 1] + cnt[lo : u + 1] * (mean_t[lo : u + 1] - mean_w[u]) ** 2).sum()
    return n_w, mean_w, np.sqrt(np.divide(m2_w, n_w, out=np.zeros(t), where=n_w > 0))


def gi_star_cube(
    values: ArrayLike,
    *,
    neighbourhood: int = 1,
    time_steps: int = 1,
    global_window: str = "cube",
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Space-time Gi* z-scores and two-sided p-values of every bin of a cube.

    Parameters
    ----------
    values
        ``(periods, rows, cols)``; NaN bins are left out.
    neighbourhood
        Spatial neighbourhood ``d`` (the ``(2d+1)²`` square, cell included).
    time_steps
        Number of earlier periods in the neighbourhood (ArcGIS's default 1; 0 =
        the bin's own period only).
    global_window
        ``"cube"``, ``"time_window"`` or ``"period"`` (see the module notes).

    Returns
    -------
    z, p, constant_periods
        z and p of the cube's shape (NaN where the input is NaN), and the periods whose
        global window has no variation (their z are 0, p 1).

    Examples
    --------
    >>> v = np.zeros((2, 5, 5)); v[1, 1:4, 1:4] = 4
    >>> z, p, flat = gi_star_cube(v, time_steps=0, global_window="period")
    >>> round(float(z[1, 2, 2]), 3), flat
    (4.899, [0])
    """
    v = np.asarray(values, dtype=float)
    if v.ndim != 3 or v.size == 0:
        raise AnalysisError(
            "a space-time cube must be a non-empty (periods, rows, cols) array, got shape "
            f"{v.shape}"
        )
    if np.isinf(v).any():
        raise AnalysisError(
            "the cube has infinite values — use NaN for cells outside the study area"
        )
    d = check_neighbourhood(neighbourhood)
    if isinstance(time_steps, bool) or int(time_steps) != time_steps or time_steps < 0:
        raise AnalysisError(f"time_steps must be a whole number ≥ 0, got {time_steps!r}")
    steps = int(time_steps)
    if global_window not in GLOBAL_WINDOWS:
        raise AnalysisError(
            f"global_window must be one of {', '.join(GLOBAL_WINDOWS)}, got {global_window!r}"
        )
    valid = np.isfinite(v)
    if not valid.any():
        raise AnalysisError("the cube has no valid bin: every cell is outside the study area")
    v0 = np.where(valid, v, 0.0)
    local = _trailing(box_sum(v0, d), steps)
    k = _trailing(box_sum(valid.astype(float), d), steps)
    n, mean, std = _window_moments(v0, valid, steps, global_window)
    # a window of equal values: rounding must not turn 0/0 into noise
    std[std <= 1e-12 * max(float(np.abs(v0).max()), 1e-300)] = 0.0
    n3, mean3, std3 = (a[:, None, None] for a in (n, mean, std))
    num = local - mean3 * k
    var = (n3 * k - k * k) / np.maximum(n3 - 1, 1)
    den = std3 * np.sqrt(np.maximum(var, 0.0))
    z = np.zeros(v.shape)
    np.divide(num, den, out=z, where=den > 0)
    z[~valid] = np.nan
    p = np.where(valid, 2.0 * ndtr(-np.abs(np.nan_to_num(z))), np.nan)
    constant = [int(t) for t in np.flatnonzero(std == 0)]
    return z, p, constant
