"""The Mann-Kendall trend test and Sen's slope, vectorised over many series.

:func:`mann_kendall` tests every series of a 2-D (or N-D) array at once — every cell of a
space-time cube — and gives, series by series, the same ``s``, ``var_s``, ``z``, ``p``,
``Tau`` and ``slope`` as ``pymannkendall.original_test``:

- ``S = Σ_{a<b} sign(x_b − x_a)``;
- ``Var(S) = [n(n−1)(2n+5) − Σ_g t_g(t_g−1)(2t_g+5)] / 18`` with ``t_g`` the sizes of
  groups of tied values;
- ``z = (S − 1)/√Var(S)`` for S > 0, ``(S + 1)/√Var(S)`` for S < 0, 0 for S = 0
  (continuity correction);
- two-sided ``p = 2 Φ(−|z|)``; ``Tau = S / (n(n−1)/2)``;
- Sen's slope: the median of ``(x_b − x_a)/(b − a)`` over all pairs, per time step.

NaN values are skipped (``n`` counts the others), as ``pymannkendall`` does. A series with
fewer than two values has S = 0, z = 0, p = 1, Tau = 0 and slope NaN → 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import ndtr

from trygghetskarta.errors import AnalysisError

#: Series processed at a time (bounds the n × T × T tie table).
_CHUNK = 8192

__all__ = ["MannKendall", "mann_kendall"]


@dataclass(frozen=True, eq=False)
class MannKendall:
    """Mann-Kendall results, one value per series (the input's shape without its time axis).

    Attributes
    ----------
    s
        Mann-Kendall score S.
    var_s
        Variance of S under no trend, with the tie correction.
    z
        Continuity-corrected normal score.
    p
        Two-sided p-value.
    tau
        Kendall's Tau.
    slope
        Sen's slope, change per time step (0 where it cannot be computed).
    n
        Number of non-NaN values in each series.
    """

    s: np.ndarray
    var_s: np.ndarray
    z: np.ndarray
    p: np.ndarray
    tau: np.ndarray
    slope: np.ndarray
    n: np.ndarray

    def increasing(self, alpha: float) -> np.ndarray:
        """Significant upward trend at level ``alpha`` (p ≤ alpha and S > 0)."""
        return (self.p <= alpha) & (self.s > 0)

    def decreasing(self, alpha: float) -> np.ndarray:
        """Significant downward trend at level ``alpha`` (p ≤ alpha and S < 0)."""
        return (self.p <= alpha) & (self.s < 0)


def _chunk(x: np.ndarray, with_slope: bool) -> tuple[np.ndarray, ...]:
    m, t = x.shape
    ok = np.isfinite(x)
    n = ok.sum(axis=1).astype(float)
    s = np.zeros(m)
    slopes = np.full((m, t * (t - 1) // 2 if with_slope else 0), np.nan)
    pos = 0
    for a in range(t - 1):
        d = x[:, a + 1 :] - x[:, a : a + 1]
        s += np.nansum(np.sign(d), axis=1)
        if with_slope:
            slopes[:, pos : pos + t - 1 - a] = d / np.arange(1, t - a)
        pos += t - 1 - a
    eq = x[:, :, None] == x[:, None, :]  # NaN equals nothing, itself included
    ties = eq.sum(axis=2).astype(float)  # size of each value's tie group
    tie_term = np.where(ok, (ties - 1) * (2 * ties + 5), 0.0).sum(axis=1)
    var_s = (n * (n - 1) * (2 * n + 5) - tie_term) / 18.0
    root = np.sqrt(np.maximum(var_s, 0.0))
    z = np.zeros(m)
    pos_s = (s > 0) & (root > 0)
    neg_s = (s < 0) & (root > 0)
    z[pos_s] = (s[pos_s] - 1) / root[pos_s]
    z[neg_s] = (s[neg_s] + 1) / root[neg_s]
    p = 2.0 * ndtr(-np.abs(z))
    pairs = n * (n - 1) / 2
    tau = np.divide(s, pairs, out=np.zeros(m), where=pairs > 0)
    slope = np.zeros(m)
    complete = ok.all(axis=1) & (n >= 2) & with_slope
    if complete.any():  # np.median partitions; nanmedian goes through masked arrays
        slope[complete] = np.median(slopes[complete], axis=1)
    gaps = ~complete & (n >= 2) & with_slope
    if gaps.any():
        slope[gaps] = np.nanmedian(slopes[gaps], axis=1)
    return s, var_s, z, p, tau, slope, n


def mann_kendall(x: ArrayLike, *, axis: int = -1, slope: bool = True) -> MannKendall:
    """Mann-Kendall trend test of every series along ``axis`` (pymannkendall's ``original_test``).

    Parameters
    ----------
    x
        Values; the time axis is ``axis`` (default the last). A 1-D array is one series.
    axis
        The time axis.
    slope
        Compute Sen's slope (the costliest part; ``False`` leaves it 0).

    Returns
    -------
    MannKendall
        Arrays of the input's shape without ``axis`` (0-d arrays for one series).

    Raises
    ------
    AnalysisError
        When ``x`` is empty or not numeric.

    Examples
    --------
    >>> res = mann_kendall([1.0, 2.0, 2.0, 5.0, 4.0, 6.0])
    >>> float(res.s), round(float(res.z), 4), round(float(res.p), 4), float(res.slope)
    (12.0, 2.104, 0.0354, 1.0)
    """
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as e:
        raise AnalysisError(f"the series must be numbers, got {type(x).__name__}") from e
    if arr.ndim == 0 or arr.size == 0:
        raise AnalysisError("the series is empty — a trend test needs values over time")
    moved = np.moveaxis(arr, axis, -1)
    lead = moved.shape[:-1]
    flat = moved.reshape(-1, moved.shape[-1])
    parts = [_chunk(flat[i : i + _CHUNK], slope) for i in range(0, flat.shape[0], _CHUNK)]
    out = [np.concatenate([p[j] for p in parts]).reshape(lead) for j in range(7)]
    return MannKendall(*out)
