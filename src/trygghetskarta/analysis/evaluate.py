"""An honest back-test of the forecasts: rolling origin, every baseline in the same run.

For each origin the forecasts of :mod:`.forecast` use the events before it only; what
happened in the period after it is what they are scored on. The scores are those of crime
forecasting (Chainey et al. 2008; the NIJ 2017 challenge):

hit rate
    the share of the period's events inside the units flagged, when units are flagged by
    expected events per km² until ``coverage`` of the area is reached;
PAI
    hit rate ÷ area share (1 = no better than chance);
PEI
    hits ÷ the hits of a map drawn in hindsight (ranked by the events that happened) on the
    same area (1 = as good as hindsight).

The area rule for units of unequal size: units are taken in order of expected count per
km² until the area share is reached; the last unit counts with the fraction of its area
needed, and its events in proportion. Units with the same expected density are taken as
one block, in proportion to their area (the expected result of breaking the tie at
random), so a baseline that gives many units the same value is not flattered or punished
by their order.

The *gain* of a method over the best baseline at a coverage is the ratio of their hits
summed over the origins (which equals the ratio of their PAIs); its interval is a paired
bootstrap over origins. The best baseline is chosen on the same origins (a choice made
with hindsight that favours the baselines, not the model). Interval coverage is the share
of unit-periods whose count fell inside the method's prediction interval.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from trygghetskarta.analysis.forecast import (
    BASELINES,
    HORIZONS,
    METHODS,
    count_history,
    forecast_all,
)
from trygghetskarta.errors import AnalysisError

#: Shares of the area flagged (1, 2.3 and 5 %).
COVERAGES = (0.01, 0.023, 0.05)
#: The coverage a verdict is made at (the issue's headline figure).
HEADLINE_COVERAGE = 0.023

__all__ = [
    "COVERAGES",
    "HEADLINE_COVERAGE",
    "Backtest",
    "backtest",
    "capture",
    "rolling_origins",
]


def capture(expected: np.ndarray, actual: np.ndarray, area: np.ndarray, share: float) -> float:
    """Events caught when flagging ``share`` of the area by expected count per km².

    Parameters
    ----------
    expected, actual, area
        Per unit: the forecast, the events that happened, the unit's area (km²).
    share
        The share of the total area flagged (0 < share ≤ 1).

    Returns
    -------
    float
        The events inside the flagged area (fractional for the last unit or tie block).

    Examples
    --------
    >>> import numpy as np
    >>> expected, actual = np.array([4.0, 1, 1]), np.array([2.0, 3, 0])
    >>> capture(expected, actual, np.array([1.0, 1, 2]), 0.375)  # the first and half the second
    3.5
    """
    expected, actual, area = (np.asarray(a, dtype=float) for a in (expected, actual, area))
    if not 0 < share <= 1:
        raise AnalysisError(f"share must be in (0, 1], got {share!r} (e.g. 0.023)")
    if (area <= 0).any():
        raise AnalysisError("every unit needs a positive area (km²); got zero or negative ones")
    density = expected / area
    frame = pd.DataFrame({"d": density, "a": area, "y": actual}).groupby("d", sort=True).sum()
    frame = frame.iloc[::-1]
    budget = share * area.sum()
    taken = 0.0
    hits = 0.0
    for a, y in zip(frame["a"].to_numpy(), frame["y"].to_numpy(), strict=True):
        if taken + a <= budget + 1e-12:
            hits += y
            taken += a
            continue
        hits += y * (budget - taken) / a
        break
    return float(hits)


def rolling_origins(first: Any, last: Any, horizon: str = "month") -> list[pd.Timestamp]:
    """Origins every period from ``first`` to ``last`` (both included).

    Examples
    --------
    >>> [str(o.date()) for o in rolling_origins("2024-11-01", "2025-01-01")]
    ['2024-11-01', '2024-12-01', '2025-01-01']
    """
    step = HORIZONS[horizon]
    origin = pd.Timestamp(first)
    end = pd.Timestamp(last)
    out = []
    while origin <= end:
        out.append(origin)
        origin = origin + step
    return out


@dataclass(frozen=True)
class Backtest:
    """The scores of a rolling-origin back-test.

    Attributes
    ----------
    scores
        One row per origin, method and coverage: ``origin, method, coverage, events, hits,
        hindsight`` (``method`` includes ``hindsight``).
    intervals
        One row per origin and method: ``origin, method, inside, units`` (counts inside
        the prediction interval).
    table
        One row per method and coverage: ``method, coverage, hit_rate, pai, pei, ratio,
        ratio_low, ratio_high, best_baseline`` (the ratio to the best baseline at that
        coverage and its paired bootstrap interval), ``interval_coverage``.
    horizon, unit, level, n_boot
        What was tested, and how.
    """

    scores: pd.DataFrame
    intervals: pd.DataFrame
    table: pd.DataFrame
    horizon: str
    unit: str
    level: float
    n_boot: int
    origins: tuple[pd.Timestamp, ...] = field(default_factory=tuple)

    def best_method(self, coverage: float = HEADLINE_COVERAGE, *, models_only: bool = False) -> str:
        """The method with the highest PAI at ``coverage`` (a baseline on a tie); with
        ``models_only`` the best of the methods that are not naive baselines."""
        rows = self.table[
            (self.table["coverage"] == coverage) & (self.table["method"] != "hindsight")
        ]
        if models_only:
            rows = rows[~rows["method"].isin(BASELINES)]
        order = {m: i for i, m in enumerate(METHODS)}
        rows = rows.assign(order=rows["method"].map(order)).sort_values(
            ["pai", "order"], ascending=[False, True]
        )
        return str(rows["method"].iloc[0])

    def verdict(self, method: str | None = None, coverage: float = HEADLINE_COVERAGE) -> dict:
        """Whether ``method`` (default the best) beats the best baseline at ``coverage``:
        ``method, baseline, pai, baseline_pai, ratio, ratio_low, ratio_high, beats``
        (``beats``: the interval's lower end is above 1)."""
        method = method or self.best_method(coverage)
        table = self.table[self.table["coverage"] == coverage].set_index("method")
        row = table.loc[method]
        baseline = str(row["best_baseline"])
        beats = method not in BASELINES and bool(row["ratio_low"] > 1.0)
        return {
            "method": method,
            "baseline": baseline,
            "coverage": coverage,
            "pai": float(row["pai"]),
            "baseline_pai": float(table.loc[baseline, "pai"]),
            "hit_rate": float(row["hit_rate"]),
            "pei": float(row["pei"]),
            "ratio": float(row["ratio"]),
            "ratio_low": float(row["ratio_low"]),
            "ratio_high": float(row["ratio_high"]),
            "interval_coverage": float(row["interval_coverage"]),
            "origins": len(self.origins),
            "beats": beats,
        }


def _bootstrap_ratio(
    hits: np.ndarray, base: np.ndarray, n_boot: int, rng: np.random.Generator
) -> tuple[float, float]:
    """95 % percentile interval of ``sum(hits) / sum(base)`` resampling origins in pairs."""
    n = len(hits)
    draws = rng.integers(0, n, size=(n_boot, n))
    num, den = hits[draws].sum(axis=1), base[draws].sum(axis=1)
    ratios = np.divide(num, den, out=np.full(n_boot, np.nan), where=den > 0)
    ratios = ratios[np.isfinite(ratios)]
    if not len(ratios):
        return float("nan"), float("nan")
    low, high = np.quantile(ratios, [0.025, 0.975])
    return float(low), float(high)


def backtest(
    events: pd.DataFrame,
    *,
    areas_km2: Mapping[str, float] | pd.Series,
    origins: Sequence[Any],
    horizon: str = "month",
    unit: str = "stadsdel",
    methods: Sequence[str] = METHODS,
    neighbours: Mapping[str, Sequence[str]] | None = None,
    start: Any = None,
    coverages: Sequence[float] = COVERAGES,
    level: float = 0.9,
    n_boot: int = 2000,
    seed: int = 0,
) -> Backtest:
    """Score every method on rolling origins against what happened next.

    Parameters
    ----------
    events
        Rows with ``occurred_at`` and the ``unit`` column (every event, also those after
        the origins: each forecast still sees only those before its own origin).
    areas_km2
        Every unit's area in km² (the units scored; units without events count zero).
    origins
        The origins (first instants of the periods forecast).
    horizon, unit, neighbours, start, level
        As for :func:`~trygghetskarta.analysis.forecast.forecast`.
    methods
        The methods scored; every baseline of the list is compared with every other method.
    coverages
        The area shares scored.
    n_boot, seed
        Bootstrap draws of the gain's interval and their seed.

    Returns
    -------
    Backtest

    Raises
    ------
    AnalysisError
        No origins, no baseline among ``methods``, or an origin with too little history.

    Examples
    --------
    >>> import pandas as pd
    >>> months = pd.date_range("2023-01-01", "2024-12-01", freq="MS", tz="Europe/Stockholm")
    >>> events = pd.DataFrame({"occurred_at": months.repeat(3), "stadsdel": ["A", "A", "B"] * 24})
    >>> result = backtest(events, areas_km2={"A": 1.0, "B": 1.0, "C": 2.0},
    ...                   origins=["2024-11-01", "2024-12-01"],
    ...                   methods=["previous_period", "long_term_mean"], n_boot=200)
    >>> row = result.table[(result.table.coverage == 0.023)].set_index("method")
    >>> round(float(row.loc["long_term_mean", "pai"]), 2), result.best_method()
    (2.67, 'previous_period')
    """
    if not len(origins):
        raise AnalysisError("the back-test needs at least one origin, got none")
    if not any(m in BASELINES for m in methods):
        raise AnalysisError(f"the back-test needs a baseline among {list(BASELINES)}")
    area = pd.Series(areas_km2, dtype=float)
    units = [str(u) for u in area.index]
    area_values = area.to_numpy()
    step = HORIZONS[horizon]
    times = pd.to_datetime(events["occurred_at"], utc=True)
    names = events[unit]
    scores, inside = [], []
    for origin in origins:
        history = count_history(
            events, origin=origin, horizon=horizon, unit=unit, units=units, start=start
        )
        frame = forecast_all(history, methods=methods, neighbours=neighbours, level=level)
        begin, end = history.origin, history.origin + step
        after = (times >= begin.tz_convert("UTC")) & (times < end.tz_convert("UTC"))
        actual = (
            names[after.to_numpy()].astype(str).value_counts().reindex(units, fill_value=0)
        ).to_numpy(dtype=float)
        total = float(actual.sum())
        best = {c: capture(actual, actual, area_values, c) for c in coverages}
        for method, rows in frame.groupby("method", sort=False):
            expected = rows["expected"].to_numpy()
            for c in coverages:
                scores.append((begin, method, c, total, capture(expected, actual, area_values, c)))
            low, high = rows["lower"].to_numpy(), rows["upper"].to_numpy()
            inside.append(
                (begin, method, int(((actual >= low) & (actual <= high)).sum()), len(units))
            )
        for c in coverages:
            scores.append((begin, "hindsight", c, total, best[c]))
    score = pd.DataFrame(scores, columns=["origin", "method", "coverage", "events", "hits"])
    hindsight = score[score["method"] == "hindsight"].set_index(["origin", "coverage"])["hits"]
    score["hindsight"] = hindsight.reindex(
        pd.MultiIndex.from_frame(score[["origin", "coverage"]])
    ).to_numpy()
    intervals = pd.DataFrame(inside, columns=["origin", "method", "inside", "units"])
    table = _table(score, intervals, methods, n_boot, np.random.default_rng(seed))
    return Backtest(
        scores=score,
        intervals=intervals,
        table=table,
        horizon=horizon,
        unit=unit,
        level=level,
        n_boot=n_boot,
        origins=tuple(pd.Timestamp(o) for o in score["origin"].unique()),
    )


def _table(
    score: pd.DataFrame,
    intervals: pd.DataFrame,
    methods: Sequence[str],
    n_boot: int,
    rng: np.random.Generator,
) -> pd.DataFrame:
    cover = intervals.groupby("method")[["inside", "units"]].sum()
    interval_coverage = cover["inside"] / cover["units"]
    rows = []
    for c, at in score.groupby("coverage", sort=True):
        hits = at.pivot(index="origin", columns="method", values="hits")
        events = at.groupby("origin")["events"].first().reindex(hits.index).to_numpy()
        total = events.sum()
        hit_rate = hits.sum() / total if total > 0 else hits.sum() * np.nan
        baselines = [m for m in methods if m in BASELINES]
        best = max(baselines, key=lambda m: (hit_rate[m], -baselines.index(m)))
        base_hits = hits[best].to_numpy()
        for method in [*methods, "hindsight"]:
            h = hits[method].to_numpy()
            ratio = h.sum() / base_hits.sum() if base_hits.sum() > 0 else float("nan")
            low, high = _bootstrap_ratio(h, base_hits, n_boot, rng)
            rows.append(
                {
                    "method": method,
                    "coverage": float(c),
                    "hit_rate": float(hit_rate[method]),
                    "pai": float(hit_rate[method] / c),
                    "pei": float(h.sum() / hits["hindsight"].sum())
                    if hits["hindsight"].sum() > 0
                    else float("nan"),
                    "ratio": float(ratio),
                    "ratio_low": low,
                    "ratio_high": high,
                    "best_baseline": best,
                    "interval_coverage": float(interval_coverage.get(method, np.nan)),
                }
            )
    return pd.DataFrame(rows)
