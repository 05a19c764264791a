"""Expected counts per unit for the next week, month or quarter, with prediction intervals.

Every forecast is made from events strictly before its *origin*: the events are binned into
whole periods counted back from the origin (``[origin - k·step, origin - (k-1)·step)``), so
an event at or after the origin never enters a count, a feature or a fitted model.

Methods (the names in the ``method`` column):

``previous_period``     the last period's count (naive)
``previous_12_months``  the mean per period over the last year (52 weeks, 12 months, 4 quarters)
``long_term_mean``      the mean per period over all the history given
``seasonal_naive``      the same period a year earlier
``near_repeat``         a prospective surface (Bowers, Johnson and Pease 2004): each past event
                        weighted by ``exp(-age / decay)``, half its weight spilling to the
                        unit's neighbours, scaled to the last year's mean total per period
``poisson_glm``         a Poisson regression (scikit-learn's ``PoissonRegressor``) pooled
                        over units, on log lagged counts (last period, last quarter, last
                        year, all history, a year earlier), the neighbours' last year and
                        the season (sine and cosine of the period's month)

Intervals are negative-binomial quantiles around the expected count, with each method's
dispersion estimated from its own one-step errors on the history before the origin
(method of moments; Poisson when the errors show no over-dispersion). Their coverage is
checked in the back-test (:func:`trygghetskarta.analysis.evaluate.backtest`).

Units are the values of an events column: ``stadsdel``, ``stadsdelsomrade``, ``regso``, or
grid cells from :func:`cell_units`, which refuses events not placed at an address or better
(a grid over events placed at a district's representative point measures the geocoder, not
the forecast).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from trygghetskarta.errors import AnalysisError
from trygghetskarta.schema import TIMEZONE

#: Forecast horizons and the length of one period.
HORIZONS: dict[str, pd.DateOffset] = {
    "week": pd.DateOffset(weeks=1),
    "month": pd.DateOffset(months=1),
    "quarter": pd.DateOffset(months=3),
}
#: Periods in a year, per horizon (the seasonal lag).
SEASON: dict[str, int] = {"week": 52, "month": 12, "quarter": 4}
#: The naive baselines, simplest first.
BASELINES = ("previous_period", "previous_12_months", "long_term_mean", "seasonal_naive")
#: Every method, baselines first.
METHODS = (*BASELINES, "near_repeat", "poisson_glm")
#: The columns of a forecast frame.
FORECAST_COLUMNS = ("unit", "period_start", "period_end", "expected", "lower", "upper", "method")
#: Precision classes that may be gridded (see :func:`cell_units`).
GRIDDABLE = ("exact", "address")

__all__ = [
    "BASELINES",
    "FORECAST_COLUMNS",
    "GRIDDABLE",
    "HORIZONS",
    "METHODS",
    "SEASON",
    "CountHistory",
    "cell_units",
    "count_history",
    "forecast",
    "forecast_all",
]


@dataclass(frozen=True)
class CountHistory:
    """Counts per unit and whole period before an origin.

    Attributes
    ----------
    counts
        ``units × periods`` (float), oldest period first; the last column ends at ``origin``.
    units
        The unit names, in the order of the rows.
    starts
        Each column's first instant (timezone-aware).
    origin
        The first instant of the period forecast.
    horizon
        ``week``, ``month`` or ``quarter``.
    """

    counts: np.ndarray
    units: tuple[str, ...]
    starts: pd.DatetimeIndex
    origin: pd.Timestamp
    horizon: str

    @property
    def target(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """The period forecast: ``[origin, origin + step)``."""
        return self.origin, self.origin + HORIZONS[self.horizon]

    def to_frame(self) -> pd.DataFrame:
        """The counts as a frame: one row per unit, one column per period start."""
        return pd.DataFrame(self.counts, index=list(self.units), columns=self.starts)


def _timestamp(value: Any, name: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as e:
        raise AnalysisError(f"{name} must be a date or timestamp, got {value!r}") from e
    if ts.tzinfo is None:
        return ts.tz_localize(TIMEZONE)
    return ts.tz_convert(TIMEZONE)


def _check_horizon(horizon: str) -> str:
    if horizon not in HORIZONS:
        raise AnalysisError(
            f"horizon must be one of {list(HORIZONS)}, got {horizon!r} — pick one of those"
        )
    return horizon


def cell_units(
    events: pd.DataFrame, cell_size: float = 250.0, *, origin_xy: tuple[float, float] = (0, 0)
) -> pd.Series:
    """Grid-cell ids (``"E<col>N<row>"`` of ``cell_size`` m cells in EPSG:3006) per event.

    Parameters
    ----------
    events
        Rows with ``x``, ``y`` (EPSG:3006) and ``precision``.
    cell_size
        The cell's side in metres.
    origin_xy
        The grid's lower-left corner.

    Returns
    -------
    pd.Series
        One id per event, indexed like ``events``.

    Raises
    ------
    AnalysisError
        Some events are placed coarser than an address: a grid over them would show where
        the geocoder puts a district's events, not where they happened.

    Examples
    --------
    >>> import pandas as pd
    >>> events = pd.DataFrame({"x": [674_010.0, 674_260.0], "y": [6_580_990.0, 6_581_000.0],
    ...                        "precision": ["address", "exact"]})
    >>> cell_units(events).tolist()
    ['E2696N26323', 'E2697N26324']
    """
    coarse = ~events["precision"].isin(GRIDDABLE).to_numpy()
    if coarse.any():
        found = events.loc[coarse, "precision"].value_counts().to_dict()
        raise AnalysisError(
            f"grid cells need events placed at an address or better ({list(GRIDDABLE)}), "
            f"got {int(coarse.sum())} of {len(events)} placed coarser ({found}) — forecast "
            "those per stadsdel, stadsdelsområde or RegSO instead"
        )
    col = np.floor((events["x"].to_numpy(float) - origin_xy[0]) / cell_size).astype(int)
    row = np.floor((events["y"].to_numpy(float) - origin_xy[1]) / cell_size).astype(int)
    return pd.Series([f"E{c}N{r}" for c, r in zip(col, row, strict=True)], index=events.index)


def count_history(
    events: pd.DataFrame,
    *,
    origin: Any,
    horizon: str = "month",
    unit: str = "stadsdel",
    units: Sequence[str] | None = None,
    start: Any = None,
) -> CountHistory:
    """Count events per unit and whole period before ``origin``.

    Parameters
    ----------
    events
        Rows with ``occurred_at`` and the ``unit`` column; rows without a unit are left out
        (they were not placed at that level).
    origin
        The first instant of the period to forecast; events at or after it are ignored.
    horizon
        ``week``, ``month`` or ``quarter``.
    unit
        The events column naming each event's unit.
    units
        Every unit (units without events count zero); default the units seen.
    start
        The first day of complete data: the history starts with the first whole period on
        or after it (default: the first event's time).

    Returns
    -------
    CountHistory

    Raises
    ------
    AnalysisError
        Unknown horizon, missing columns, or no whole period between ``start`` and ``origin``.

    Examples
    --------
    >>> import pandas as pd
    >>> months = pd.date_range("2023-01-01", "2024-12-01", freq="MS", tz="Europe/Stockholm")
    >>> events = pd.DataFrame({"occurred_at": months.repeat(3), "stadsdel": ["A", "A", "B"] * 24})
    >>> history = count_history(events, origin="2025-01-01", units=["A", "B", "C"])
    >>> history.counts.shape, history.counts[:, -1].tolist(), str(history.starts[0].date())
    ((3, 24), [2.0, 1.0, 0.0], '2023-01-01')
    """
    horizon = _check_horizon(horizon)
    for column in ("occurred_at", unit):
        if column not in events.columns:
            raise AnalysisError(
                f"the events lack the column {column!r} (got {list(events.columns)}) — pass "
                "rows of the events table with that column"
            )
    origin = _timestamp(origin, "origin")
    times = pd.to_datetime(events["occurred_at"], utc=True).dt.tz_convert(TIMEZONE)
    keep = (times < origin).to_numpy() & events[unit].notna().to_numpy()
    times, names = times[keep], events.loc[keep, unit].astype(str).to_numpy()
    if start is None:
        if not len(times):
            raise AnalysisError(
                f"no events before the origin {origin.date()} and no start given — give "
                "start= (the first day of complete data) or an origin after the data begin"
            )
        start = times.min()
    start = _timestamp(start, "start")
    step = HORIZONS[horizon]
    edges = [origin]
    while edges[-1] - step >= start:
        edges.append(edges[-1] - step)
    if len(edges) < 2:
        raise AnalysisError(
            f"no whole {horizon} between the start {start.date()} and the origin "
            f"{origin.date()} — choose a later origin"
        )
    edges_index = pd.DatetimeIndex(edges[::-1])
    known = list(units) if units is not None else sorted(set(names))
    position = {u: i for i, u in enumerate(known)}
    row = np.array([position.get(n, -1) for n in names], dtype=int)
    column = np.searchsorted(edges_index.asi8, times.dt.tz_convert("UTC").astype("int64"), "right")
    column = np.asarray(column) - 1
    ok = (row >= 0) & (column >= 0) & (column < len(edges_index) - 1)
    periods = len(edges_index) - 1
    flat = np.bincount(row[ok] * periods + column[ok], minlength=len(known) * periods)
    return CountHistory(
        counts=flat.reshape(len(known), periods).astype(float),
        units=tuple(known),
        starts=edges_index[:-1],
        origin=origin,
        horizon=horizon,
    )


def _neighbour_matrix(
    units: Sequence[str], neighbours: Mapping[str, Sequence[str]] | None
) -> np.ndarray:
    """Row-standardised adjacency (zeros for a unit without neighbours)."""
    n = len(units)
    w = np.zeros((n, n))
    if neighbours:
        position = {u: i for i, u in enumerate(units)}
        for u, near in neighbours.items():
            i = position.get(str(u))
            if i is None:
                continue
            for v in near:
                j = position.get(str(v))
                if j is not None and j != i:
                    w[i, j] = 1.0
    sums = w.sum(axis=1, keepdims=True)
    return np.divide(w, sums, out=np.zeros_like(w), where=sums > 0)


def _baseline(counts: np.ndarray, t: int, method: str, season: int) -> np.ndarray:
    """A naive forecast of column ``t`` from columns ``< t``."""
    past = counts[:, :t]
    if method == "previous_period":
        return past[:, -1]
    if method == "previous_12_months":
        return past[:, -season:].mean(axis=1)
    if method == "long_term_mean":
        return past.mean(axis=1)
    if method == "seasonal_naive":
        return past[:, t - season] if t >= season else past.mean(axis=1)
    raise AnalysisError(f"unknown baseline {method!r}; expected one of {list(BASELINES)}")


def _near_repeat(
    counts: np.ndarray, t: int, w: np.ndarray, season: int, decay: float
) -> np.ndarray:
    """Prospective surface: recency-weighted counts, half spilling to neighbours, scaled to
    the last year's mean total per period."""
    past = counts[:, :t]
    age = np.arange(t, 0, -1, dtype=float) - 0.5  # periods from each column's middle
    weights = np.exp(-age / decay)
    own = past @ weights
    score = own + 0.5 * (w @ own)
    level = past[:, -season:].sum(axis=0).mean()
    total = score.sum()
    return score * (level / total) if total > 0 else np.full(len(score), level / len(score))


def _features(counts: np.ndarray, t: int, w: np.ndarray, season: int, month: int) -> np.ndarray:
    """Features of the model for target column ``t`` (from columns ``< t`` only)."""
    past = counts[:, :t]
    last = past[:, -1]
    recent = past[:, -3:].mean(axis=1)
    year = past[:, -season:].mean(axis=1)
    longterm = past.mean(axis=1)
    seasonal = past[:, t - season] if t >= season else year
    near = w @ year
    angle = 2 * np.pi * (month - 1) / 12
    n = len(last)
    return np.column_stack(
        [
            np.log1p(last),
            np.log1p(recent),
            np.log1p(year),
            np.log1p(longterm),
            np.log1p(seasonal),
            np.log1p(near),
            np.full(n, np.sin(angle)),
            np.full(n, np.cos(angle)),
        ]
    )


def _dispersion(actual: np.ndarray, expected: np.ndarray) -> float:
    """Negative-binomial alpha by moments, ``Var = mu + alpha·mu²``; 0 when not over-dispersed."""
    mu = np.maximum(expected, 1e-9)
    denom = float((mu**2).sum())
    if denom <= 0:
        return 0.0
    return max(0.0, float(((actual - mu) ** 2 - mu).sum()) / denom)


def _interval(expected: np.ndarray, alpha: float, level: float) -> tuple[np.ndarray, np.ndarray]:
    tail = (1 - level) / 2
    mu = np.maximum(expected, 1e-9)
    if alpha < 1e-6:
        return stats.poisson.ppf(tail, mu), stats.poisson.ppf(1 - tail, mu)
    size = 1 / alpha
    p = size / (size + mu)
    return stats.nbinom.ppf(tail, size, p), stats.nbinom.ppf(1 - tail, size, p)


def _predict(
    history: CountHistory,
    method: str,
    w: np.ndarray,
    decay: float,
    targets: np.ndarray,
) -> np.ndarray:
    """``units × len(targets)`` forecasts of a non-model method for columns ``targets``
    (``T`` is the origin's period)."""
    season = SEASON[history.horizon]
    full = history.counts
    out = np.empty((full.shape[0], len(targets)))
    for k, t in enumerate(targets):
        if method == "near_repeat":
            out[:, k] = _near_repeat(full, int(t), w, season, decay)
        else:
            out[:, k] = _baseline(full, int(t), method, season)
    return out


def _months(history: CountHistory) -> np.ndarray:
    """The calendar month of each column's start, and of the origin's period, last."""
    return np.r_[history.starts.month.to_numpy(), history.origin.month]


def _fit_glm(
    history: CountHistory, w: np.ndarray, train: np.ndarray, months: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Fitted values on the training columns and the forecast of the origin's period."""
    from sklearn.linear_model import PoissonRegressor

    season = SEASON[history.horizon]
    counts = history.counts
    x = np.vstack([_features(counts, int(t), w, season, int(months[t])) for t in train])
    y = np.concatenate([counts[:, int(t)] for t in train])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    model = PoissonRegressor(alpha=1e-4, max_iter=1000)
    model.fit((x - mean) / scale, y)
    t_end = counts.shape[1]
    x_new = _features(counts, t_end, w, season, int(months[t_end]))
    fitted = model.predict((x - mean) / scale).reshape(len(train), -1).T
    return fitted, model.predict((x_new - mean) / scale)


def forecast_all(
    history: CountHistory,
    *,
    methods: Sequence[str] = METHODS,
    neighbours: Mapping[str, Sequence[str]] | None = None,
    level: float = 0.9,
    decay: float | None = None,
    min_train: int = 6,
) -> pd.DataFrame:
    """Forecast the origin's period with several methods from one :class:`CountHistory`.

    Parameters
    ----------
    history
        Counts before the origin (:func:`count_history`).
    methods
        Names from :data:`METHODS`.
    neighbours
        Each unit's neighbours (names), for ``near_repeat`` and ``poisson_glm``.
    level
        The prediction interval's level (0.9: the 5th and 95th percentiles).
    decay
        The near-repeat surface's time constant in periods (default: 4 weeks, 1.5 months
        or 1 quarter).
    min_train
        The fewest past periods to fit the model and the dispersions on.

    Returns
    -------
    pd.DataFrame
        :data:`FORECAST_COLUMNS`, one row per unit and method.

    Raises
    ------
    AnalysisError
        An unknown method, a level outside (0, 1), or a history shorter than a year plus
        ``min_train`` periods.

    Examples
    --------
    >>> import pandas as pd
    >>> months = pd.date_range("2023-01-01", "2024-12-01", freq="MS", tz="Europe/Stockholm")
    >>> events = pd.DataFrame({"occurred_at": months.repeat(3), "stadsdel": ["A", "A", "B"] * 24})
    >>> history = count_history(events, origin="2025-01-01")
    >>> table = forecast_all(history, methods=["previous_period", "seasonal_naive"])
    >>> table.groupby("method")["expected"].apply(list).to_dict()
    {'previous_period': [2.0, 1.0], 'seasonal_naive': [2.0, 1.0]}
    """
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise AnalysisError(f"unknown methods {unknown}; expected some of {list(METHODS)}")
    if not 0 < level < 1:
        raise AnalysisError(f"level must be between 0 and 1, got {level!r} (e.g. 0.9)")
    season = SEASON[history.horizon]
    periods = history.counts.shape[1]
    if periods < season + min_train:
        raise AnalysisError(
            f"a {history.horizon}ly forecast needs at least {season + min_train} whole periods "
            f"of history before the origin {history.origin.date()}, got {periods} — choose a "
            "later origin or an earlier start"
        )
    if decay is None:
        decay = {"week": 4.0, "month": 1.5, "quarter": 1.0}[history.horizon]
    w = _neighbour_matrix(history.units, neighbours)
    train = np.arange(season, periods)
    months = _months(history)
    start, end = history.target
    rows = []
    for method in methods:
        if method == "poisson_glm":
            fitted, expected = _fit_glm(history, w, train, months)
        else:
            fitted = _predict(history, method, w, decay, train)
            expected = _predict(history, method, w, decay, np.array([periods]))[:, 0]
        alpha = _dispersion(history.counts[:, train], fitted)
        lower, upper = _interval(expected, alpha, level)
        rows.append(
            pd.DataFrame(
                {
                    "unit": list(history.units),
                    "period_start": start.date(),
                    "period_end": (end - pd.Timedelta(days=1)).date(),
                    "expected": expected,
                    "lower": lower.astype(int),
                    "upper": upper.astype(int),
                    "method": method,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def forecast(
    events: pd.DataFrame,
    *,
    origin: Any,
    horizon: str = "month",
    unit: str = "stadsdel",
    units: Sequence[str] | None = None,
    method: str = "poisson_glm",
    neighbours: Mapping[str, Sequence[str]] | None = None,
    start: Any = None,
    level: float = 0.9,
) -> pd.DataFrame:
    """Expected events per unit in the period starting at ``origin``, with an interval.

    Parameters
    ----------
    events
        Rows with ``occurred_at`` and the ``unit`` column (events at or after ``origin``
        are ignored, so passing them changes nothing).
    origin
        The first day of the period forecast (a date: midnight in Stockholm).
    horizon
        ``week``, ``month`` or ``quarter``.
    unit
        The events column naming the unit (``stadsdel``, ``stadsdelsomrade``, ``regso``,
        or cell ids from :func:`cell_units`).
    units
        Every unit to forecast (default: those with events before the origin).
    method
        One of :data:`METHODS`.
    neighbours
        Each unit's neighbouring units (used by ``near_repeat`` and ``poisson_glm``).
    start
        The first day of complete data (default: the first event's).
    level
        The level of the prediction interval.

    Returns
    -------
    pd.DataFrame
        :data:`FORECAST_COLUMNS`: ``unit``, ``period_start``, ``period_end`` (the last day
        included), ``expected``, ``lower``, ``upper`` (counts), ``method``.

    Examples
    --------
    >>> import pandas as pd
    >>> months = pd.date_range("2023-01-01", "2024-12-01", freq="MS", tz="Europe/Stockholm")
    >>> events = pd.DataFrame({"occurred_at": months.repeat(3), "stadsdel": ["A", "A", "B"] * 24})
    >>> forecast(events, origin="2025-01-01", method="previous_12_months")[
    ...     ["unit", "expected", "lower", "upper"]]
      unit  expected  lower  upper
    0    A       2.0      0      5
    1    B       1.0      0      3
    """
    history = count_history(
        events, origin=origin, horizon=horizon, unit=unit, units=units, start=start
    )
    return forecast_all(history, methods=[method], neighbours=neighbours, level=level)
