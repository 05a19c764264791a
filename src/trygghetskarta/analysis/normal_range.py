"""The normal range: a prediction interval for a new count or rate from earlier years.

A lägesbild says whether this year's figure lies *within the normal range*: inside the
interval where the same period of earlier years says it should fall if nothing changed.

- :func:`count_interval`: a count (events in a month, a quarter, a year) from the counts
  of the same period in ``k`` earlier years. The rate is not known, only estimated from
  ``k`` counts; the interval is the Poisson–gamma predictive distribution, a negative
  binomial: with the earlier counts summing to ``s`` and Jeffreys' prior, the rate's
  posterior is Gamma(``s + 1/2``, ``k``) and a new count is
  NegBin(``r = s + 1/2``, ``p = k / (k + 1)``) with mean ``(s + 1/2) / k``. Wider than a
  plain Poisson interval around the mean, most of all when ``k`` is small.
- :func:`rate_interval`: a rate (Brå's reported crimes per 100 000 inhabitants) from
  earlier years' rates, where the counts behind them are large and the year-to-year
  variation is what matters: the normal prediction interval
  ``mean ± t(k − 1) · s · √(1 + 1/k)``.
- :func:`seasonal_range`: :func:`count_interval` for every month of a monthly frame,
  against the same calendar month of earlier years (as :func:`seasonal_baseline` takes
  them), with where each month lies (``"under"``, ``"inom"``, ``"över"``).

Pure functions; no data is read or written.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.stats import nbinom
from scipy.stats import t as student_t

from trygghetskarta.analysis._frames import columns, filled_keys, require
from trygghetskarta.errors import AnalysisError

__all__ = ["PredictionInterval", "count_interval", "rate_interval", "seasonal_range"]

#: Where a value lies against its interval.
BELOW, WITHIN, ABOVE = "under", "inom", "över"


@dataclass(frozen=True)
class PredictionInterval:
    """A prediction interval for one new value.

    Attributes
    ----------
    expected
        The value expected from the earlier years (NaN without enough years).
    lower, upper
        The interval's ends, both included (NaN without enough years).
    years
        How many earlier values it rests on.
    level
        The interval's coverage (e.g. 0.95).
    method
        ``"poisson-gamma"`` (counts) or ``"normal"`` (rates).
    """

    expected: float
    lower: float
    upper: float
    years: int
    level: float
    method: str

    @property
    def known(self) -> bool:
        """True when there were enough earlier years for an interval."""
        return not math.isnan(self.lower)

    def position(self, value: float) -> str | None:
        """``"under"``, ``"inom"`` or ``"över"`` the interval; ``None`` without one.

        >>> PredictionInterval(10.0, 4.0, 17.0, 3, 0.95, "poisson-gamma").position(18)
        'över'
        """
        if not self.known or value is None or math.isnan(float(value)):
            return None
        if value < self.lower:
            return BELOW
        if value > self.upper:
            return ABOVE
        return WITHIN


def _level(level: float) -> float:
    if not 0.0 < float(level) < 1.0:
        raise AnalysisError(f"expected a level between 0 and 1 (e.g. 0.95), got {level!r}")
    return float(level)


def _earlier(values: ArrayLike, what: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float).ravel()
    arr = arr[~np.isnan(arr)]
    if (arr < 0).any():
        raise AnalysisError(f"expected {what} >= 0, got {arr[arr < 0].tolist()}")
    return arr


def count_interval(
    earlier: ArrayLike, *, level: float = 0.95, min_years: int = 2
) -> PredictionInterval:
    """The interval a new count falls in, from the counts of the same period in earlier years.

    Parameters
    ----------
    earlier
        The counts of the same period (same calendar months) in earlier years; NaN
        (a year not covered) is left out.
    level
        Coverage of the interval: the new count falls inside with at least this
        probability if its rate is that of the earlier years.
    min_years
        Fewer earlier counts than this give no interval (NaN ends, :attr:`known` false).

    Returns
    -------
    PredictionInterval
        ``method="poisson-gamma"``; ends are whole counts.

    Examples
    --------
    >>> iv = count_interval([20, 24, 22])
    >>> iv.expected, iv.lower, iv.upper
    (22.166666666666668, 12.0, 34.0)
    >>> count_interval([20]).known
    False
    """
    level = _level(level)
    counts = _earlier(earlier, "counts")
    k = len(counts)
    if k < max(int(min_years), 1):
        nan = float("nan")
        return PredictionInterval(nan, nan, nan, k, level, "poisson-gamma")
    r = float(counts.sum()) + 0.5
    p = k / (k + 1.0)
    tail = (1.0 - level) / 2.0
    lower = float(nbinom.ppf(tail, r, p))
    upper = float(nbinom.ppf(1.0 - tail, r, p))
    return PredictionInterval(r / k, lower, upper, k, level, "poisson-gamma")


def rate_interval(
    earlier: ArrayLike, *, level: float = 0.95, min_years: int = 3
) -> PredictionInterval:
    """The interval a new rate falls in, from the rates of earlier years.

    The normal prediction interval ``mean ± t(k − 1) · s · √(1 + 1/k)`` (``s`` the sample
    standard deviation of the ``k`` earlier rates), cut at zero: for rates resting on
    large counts, whose variation from year to year is larger than chance alone.

    Parameters
    ----------
    earlier
        Earlier years' rates (NaN left out).
    level
        Coverage of the interval.
    min_years
        Fewer rates than this (at least 2, for a standard deviation) give no interval.

    Returns
    -------
    PredictionInterval
        ``method="normal"``.

    Examples
    --------
    >>> iv = rate_interval([100.0, 110.0, 120.0])
    >>> round(iv.lower, 1), round(iv.upper, 1)
    (60.3, 159.7)
    """
    level = _level(level)
    rates = _earlier(earlier, "rates")
    k = len(rates)
    if k < max(int(min_years), 2):
        nan = float("nan")
        return PredictionInterval(nan, nan, nan, k, level, "normal")
    mean = float(rates.mean())
    half = float(student_t.ppf(0.5 + level / 2.0, k - 1)) * float(rates.std(ddof=1))
    half *= math.sqrt(1.0 + 1.0 / k)
    return PredictionInterval(mean, max(mean - half, 0.0), mean + half, k, level, "normal")


def seasonal_range(
    monthly: pd.DataFrame,
    *,
    by: str | Sequence[str] = (),
    years: int = 3,
    min_years: int = 2,
    level: float = 0.95,
) -> pd.DataFrame:
    """Each month's count against its normal range from the same month of earlier years.

    Parameters
    ----------
    monthly
        Columns ``month`` (first of month), ``count`` and ``by``, every covered month
        present (a month missing from the frame counts as not covered, not as zero).
    by
        Group columns (e.g. ``"category"``).
    years
        At most this many earlier years make the range.
    min_years
        Months with fewer earlier years get no range.
    level
        Coverage of each month's interval (:func:`count_interval`).

    Returns
    -------
    pandas.DataFrame
        ``monthly`` with ``expected``, ``lower``, ``upper``, ``range_years`` and
        ``position`` (``"under"``, ``"inom"``, ``"över"``, or missing without a range).

    Examples
    --------
    >>> m = pd.DataFrame({"month": pd.to_datetime(["2023-03-01", "2024-03-01", "2025-03-01"]),
    ...                   "count": [10, 12, 30]})
    >>> seasonal_range(m)["position"].tolist()
    [None, None, 'över']
    """
    cols = columns(by)
    require(monthly, ["month", "count", *cols], "monthly")
    if int(years) != years or years < 1:
        raise AnalysisError(f"expected whole years >= 1, got years={years!r}")
    out = monthly.reset_index(drop=True).copy()
    keyed = filled_keys(out[["month", *cols, "count"]], cols)
    keyed["month"] = pd.to_datetime(keyed["month"])
    repeated = keyed.duplicated(["month", *cols])
    if repeated.any():
        first = keyed.loc[repeated, ["month", *cols]].iloc[0].tolist()
        raise AnalysisError(
            f"expected one row per month and group {['month', *cols]}, got repeats (first: "
            f"{first}) — pass the group columns as by= or sum the rows first"
        )
    earlier_counts = []
    for back in range(1, int(years) + 1):
        shifted = keyed.copy()
        shifted["month"] = shifted["month"] + pd.DateOffset(years=back)
        hit = keyed[["month", *cols]].merge(shifted, on=["month", *cols], how="left")["count"]
        earlier_counts.append(hit.to_numpy(dtype=float))
    table = np.column_stack(earlier_counts) if earlier_counts else np.empty((len(out), 0))
    intervals = [count_interval(row, level=level, min_years=min_years) for row in table]
    out["expected"] = [iv.expected for iv in intervals]
    out["lower"] = [iv.lower for iv in intervals]
    out["upper"] = [iv.upper for iv in intervals]
    out["range_years"] = np.array([iv.years for iv in intervals], dtype=np.int64)
    out["position"] = pd.Series(
        [iv.position(c) for iv, c in zip(intervals, out["count"].to_numpy(float), strict=True)],
        dtype=object,
    )
    return out
