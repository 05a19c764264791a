"""Significance for local statistics: FDR correction, confidence bins, conditional permutation.

Shared by :mod:`~trygghetskarta.analysis.hotspots` (Gi*, local Moran's I) and
:mod:`~trygghetskarta.analysis.emerging` (emerging hot spots).

- :func:`benjamini_hochberg`: Benjamini–Hochberg adjusted p-values (the step-up
  false-discovery-rate procedure), ignoring NaN.
- :func:`confidence_bins`: ArcGIS's ``Gi_Bin`` coding, −3 … 3, from z and p.
- :func:`conditional_permutation_tails`: for every observation, how many of the
  simulated neighbour sums are at least / at most the observed one, when the neighbours'
  values are drawn at random from all *other* observations (conditional randomisation,
  as in esda's ``crand``).
- :func:`pseudo_p`: the two-sided pseudo p-value from those counts.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from trygghetskarta.errors import AnalysisError

#: Confidence levels of ArcGIS's hot spot bins: ``(bin, largest p)`` from strongest down.
CONFIDENCE_LEVELS: tuple[tuple[int, float], ...] = ((3, 0.01), (2, 0.05), (1, 0.10))
#: Simulated permutations processed at a time (bounds the working memory).
_PERMUTATION_CHUNK = 64

__all__ = [
    "CONFIDENCE_LEVELS",
    "benjamini_hochberg",
    "conditional_permutation_tails",
    "confidence_bins",
    "pseudo_p",
]


def benjamini_hochberg(p: ArrayLike) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values ("q-values"), NaN left out of the family.

    The adjusted value of the i-th smallest of m p-values is
    ``min_{j ≥ i} (m · p_(j) / j)``, capped at 1; rejecting where it is ≤ α is the BH
    step-up procedure at false discovery rate α. Same as
    ``scipy.stats.false_discovery_control(p, method="bh")`` on the finite values.

    Parameters
    ----------
    p
        p-values of any shape; NaN marks "not tested" and stays NaN.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values, the shape of ``p``.

    Examples
    --------
    >>> benjamini_hochberg([0.01, 0.04, 0.03, np.nan]).round(3).tolist()
    [0.03, 0.04, 0.04, nan]
    """
    pa = np.asarray(p, dtype=float)
    out = np.full(pa.shape, np.nan)
    flat = pa.ravel()
    ok = np.isfinite(flat)
    m = int(ok.sum())
    if m == 0:
        return out
    vals = flat[ok]
    if np.any((vals < 0) | (vals > 1)):
        raise AnalysisError("p-values must lie in [0, 1]; got values outside — check the input")
    order = np.argsort(vals, kind="stable")
    ranked = vals[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1]
    res = np.empty(m)
    res[order] = np.minimum(adjusted, 1.0)
    out_flat = out.ravel()
    out_flat[ok] = res
    return out_flat.reshape(pa.shape)


def confidence_bins(z: ArrayLike, p: ArrayLike) -> np.ndarray:
    """ArcGIS's ``Gi_Bin``: ±3 at 99 %, ±2 at 95 %, ±1 at 90 % confidence, else 0.

    A value is in bin ``±b`` when its (two-sided, possibly FDR-adjusted) p-value is at
    most 0.01, 0.05 or 0.10 for b = 3, 2, 1; the sign is the sign of ``z`` (positive: hot
    spot, negative: cold spot). NaN (not analysed) gives 0.

    Parameters
    ----------
    z
        z-scores (only their sign is used).
    p
        p-values of the same shape.

    Returns
    -------
    numpy.ndarray
        ``int8`` bins in −3 … 3.

    Examples
    --------
    >>> confidence_bins([2.7, -2.0, 1.7, 1.0], [0.007, 0.045, 0.09, 0.3]).tolist()
    [3, -2, 1, 0]
    """
    za = np.asarray(z, dtype=float)
    pa = np.asarray(p, dtype=float)
    if za.shape != pa.shape:
        raise AnalysisError(f"z and p must have the same shape, got {za.shape} and {pa.shape}")
    level = np.zeros(za.shape, dtype=np.int8)
    with np.errstate(invalid="ignore"):
        for b, cut in reversed(CONFIDENCE_LEVELS):
            level[pa <= cut] = b
    sign = np.sign(np.nan_to_num(za)).astype(np.int8)
    return (level * sign).astype(np.int8)


def _draw_permutations(n: int, k: int, permutations: int, seed: int | None) -> np.ndarray:
    """``permutations`` rows of ``k`` distinct indices from ``range(n - 1)``."""
    rng = np.random.default_rng(seed)
    return np.stack([rng.choice(n - 1, size=k, replace=False) for _ in range(permutations)])


def conditional_permutation_tails(
    values: np.ndarray,
    observed: np.ndarray,
    n_others: np.ndarray,
    *,
    permutations: int,
    seed: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Tail counts of neighbour sums under conditional randomisation.

    For observation ``i`` with ``n_others[i]`` neighbours (itself not counted), a
    simulated neighbour sum is the sum of the values of ``n_others[i]`` observations
    drawn without replacement from all observations except ``i`` — site ``i`` keeps its
    value (the null of esda's conditional randomisation). As in esda's ``crand``, one
    table of random draws is shared by all observations: row ``r`` holds ``kmax``
    distinct indices into the ``n - 1`` other observations, and observation ``i`` uses
    its first ``n_others[i]`` of them, shifted past ``i``.

    The sums are computed without gathering ``n × permutations × k`` values: the value
    at index ``r`` shifted past ``i`` is ``values[r]`` when ``r < i`` and
    ``values[r + 1]`` otherwise, so a simulated sum is a per-row constant plus a step
    function of ``i``, built with one cumulative sum per row and distinct ``k``.

    Parameters
    ----------
    values
        1-D array of the ``n`` observations' values (no NaN).
    observed
        Observed neighbour sum of each observation, itself excluded.
    n_others
        Number of neighbours of each observation, itself excluded (0 for an island).
    permutations
        Number of simulated draws per observation.
    seed
        Seed of the random generator; the same seed gives the same counts.

    Returns
    -------
    n_ge, n_le
        How many simulated sums are ≥ and ≤ the observed sum (ties, within a relative
        1e-9, count in both). An island's sums are all 0 = observed, so both are
        ``permutations``.
    """
    y = np.asarray(values, dtype=float)
    obs = np.asarray(observed, dtype=float)
    k = np.asarray(n_others, dtype=np.int64)
    n = y.size
    n_ge = np.zeros(n, dtype=np.int64)
    n_le = np.zeros(n, dtype=np.int64)
    ks = np.unique(k[k > 0])
    islands = k == 0
    n_ge[islands] = permutations
    n_le[islands] = permutations
    if ks.size == 0 or permutations <= 0:
        return n_ge, n_le
    kmax = int(ks[-1])
    if kmax > n - 1:
        raise AnalysisError(
            f"an observation has {kmax} neighbours but there are only {n - 1} others"
        )
    draws = _draw_permutations(n, kmax, permutations, seed)
    step = np.diff(y)  # step[r] = y[r + 1] - y[r], r in 0 … n-2
    tol = 1e-9 * max(float(np.abs(y).max()) * kmax, 1e-300)
    groups = [(int(kk), np.flatnonzero(k == kk)) for kk in ks]
    rows_idx = np.arange(min(_PERMUTATION_CHUNK, permutations))
    diff = np.empty((rows_idx.size, n))  # r + 1 ≤ n - 1, so n columns suffice
    shift = np.empty_like(diff)
    flags = np.empty(diff.shape, dtype=bool)
    lo, hi = obs - tol, obs + tol
    for p0 in range(0, permutations, _PERMUTATION_CHUNK):
        r = draws[p0 : p0 + _PERMUTATION_CHUNK]
        c = r.shape[0]
        base = np.cumsum(y[r], axis=1)  # sum of y[r] over the first j + 1 draws
        dval = step[r]
        # shifted sum = base + sum_j dval_j [i <= r_j], built as a difference array
        d = diff[:c]
        d.fill(0.0)
        done = 0
        for kk, cells in groups:
            np.add.at(
                d,
                (np.repeat(rows_idx[:c], kk - done), (r[:, done:kk] + 1).ravel()),
                -dval[:, done:kk].ravel(),
            )
            d[:, 0] += dval[:, done:kk].sum(axis=1)
            done = kk
            if cells.size * kk < n:
                # few observations with this many neighbours (grid edges): gather directly
                idx = r[:, None, :kk]
                sims = y[idx + (idx >= cells[None, :, None])].sum(axis=2)
                o = obs[cells]
                n_ge[cells] += (sims >= o - tol).sum(axis=0)
                n_le[cells] += (sims <= o + tol).sum(axis=0)
            else:
                sims = shift[:c]
                np.cumsum(d, axis=1, out=sims)
                sims += base[:, kk - 1 : kk]
                np.greater_equal(sims, lo, out=flags[:c])
                n_ge[cells] += flags[:c].sum(axis=0)[cells]
                np.less_equal(sims, hi, out=flags[:c])
                n_le[cells] += flags[:c].sum(axis=0)[cells]
    return n_ge, n_le


def pseudo_p(n_ge: np.ndarray, n_le: np.ndarray, permutations: int) -> np.ndarray:
    """Two-sided pseudo p-value: twice the smaller tail, ``2 (min(n_ge, n_le) + 1) / (P + 1)``.

    Capped at 1. Half of it is esda's (deprecated, "directed") ``p_sim`` when there are
    no ties; counting ties in both tails makes an observation equal to all of its
    simulations get p = 1 instead of esda's 1 / (P + 1).

    Examples
    --------
    >>> pseudo_p(np.array([0, 999, 500]), np.array([999, 0, 499]), 999).tolist()
    [0.002, 0.002, 1.0]
    """
    tail = np.minimum(n_ge, n_le)
    return np.minimum(2.0 * (tail + 1.0) / (permutations + 1.0), 1.0)
