"""Bandwidth (kernel sigma) rules for 2-D Gaussian kernel density.

:func:`bandwidth_scott` and :func:`bandwidth_silverman` are normal-reference rules;
:func:`bandwidth_cv` chooses among candidates by leave-one-out likelihood. All take
EPSG:3006 coordinates in metres and return sigma in metres. :func:`trygghetskarta.
analysis.density.kde` accepts their names as its ``bandwidth``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from trygghetskarta.analysis.points import Points, as_xy, is_points
from trygghetskarta.errors import AnalysisError

#: Events used by :func:`bandwidth_cv` at most; more are subsampled.
CV_MAX_POINTS = 2_000
#: Seed of the subsample of :func:`bandwidth_cv`.
CV_SEED = 20_240_101


class DensityWarning(UserWarning):
    """A density can be computed but is probably not what was meant."""


def _xy(x: Points, y: ArrayLike | None, crs: object | None = None) -> tuple[np.ndarray, np.ndarray]:
    return as_xy(x, y, crs=crs)


def _finite_xy(
    x: Points, y: ArrayLike | None, rule: str, crs: object | None = None
) -> tuple[np.ndarray, np.ndarray]:
    xa, ya = _xy(x, y, crs)
    ok = np.isfinite(xa) & np.isfinite(ya)
    xa, ya = xa[ok], ya[ok]
    n_pos = len(np.unique(np.column_stack([xa, ya]), axis=0)) if xa.size else 0
    if n_pos < 2:
        raise AnalysisError(
            f"the bandwidth rule {rule!r} needs events at two or more distinct positions, "
            f"got {xa.size} event(s) at {n_pos} position(s) — pass bandwidth in metres"
        )
    return xa, ya


def bandwidth_scott(x: Points, y: ArrayLike | None = None, *, crs: object | None = None) -> float:
    """Scott's rule for a 2-D Gaussian kernel.

    ``h = n^(-1/6) · (s_x + s_y) / 2``, with ``s`` the sample standard deviations
    (``ddof=1``): Scott's factor ``n^(-1/(d+4))`` for ``d = 2`` times the mean spread.
    Events with a non-finite coordinate are ignored.

    Parameters
    ----------
    x, y
        Event coordinates, metres; or a GeoSeries/GeoDataFrame of points as ``x`` (see
        :func:`~trygghetskarta.analysis.points.as_xy`).
    crs
        The CRS of x and y when they are not EPSG:3006.

    Returns
    -------
    float
        The bandwidth (sigma), metres.

    Raises
    ------
    AnalysisError
        Fewer than two distinct positions.

    Notes
    -----
    The rule is optimal for one normal blob. Crime events are clustered, so it gives a
    much smoother map than the data support; it is a starting point, not an answer.

    Examples
    --------
    >>> x = [674_000, 674_100, 674_300, 674_350, 674_900]
    >>> y = [6_580_000, 6_580_200, 6_580_050, 6_580_400, 6_580_100]
    >>> round(bandwidth_scott(x, y), 1)
    194.0

    Points in longitude/latitude are reprojected first:

    >>> import geopandas as gpd
    >>> pts = gpd.GeoSeries.from_xy([18.0686, 18.0700, 18.0710, 18.0650, 18.0600],
    ...                             [59.3293, 59.3300, 59.3290, 59.3310, 59.3200], crs=4326)
    >>> round(bandwidth_scott(pts), 1)
    284.3
    """
    xa, ya = _finite_xy(x, y, "scott", crs)
    spread = (np.std(xa, ddof=1) + np.std(ya, ddof=1)) / 2
    return float(xa.size ** (-1 / 6) * spread)


def _robust_spread(v: np.ndarray) -> float:
    std = float(np.std(v, ddof=1))
    q25, q75 = np.percentile(v, [25, 75])
    iqr = float(q75 - q25) / 1.349
    return min(std, iqr) if iqr > 0 else std


def bandwidth_silverman(
    x: Points, y: ArrayLike | None = None, *, crs: object | None = None
) -> float:
    """Silverman's rule of thumb for a 2-D Gaussian kernel.

    ``h = (4 / (d + 2))^(1/(d+4)) · n^(-1/(d+4)) · (A_x + A_y) / 2`` with ``d = 2``,
    i.e. ``n^(-1/6) · (A_x + A_y) / 2``, where ``A = min(s, IQR / 1.349)`` is Silverman's
    robust spread (sample standard deviation ``s`` with ``ddof=1``; ``s`` alone when the
    interquartile range is 0). In two dimensions the normal-reference constant is 1, so
    this differs from :func:`bandwidth_scott` only in the robust spread, which keeps a few
    far-away events from widening the kernel.

    Parameters
    ----------
    x, y
        Event coordinates, metres; or a GeoSeries/GeoDataFrame of points as ``x`` (see
        :func:`~trygghetskarta.analysis.points.as_xy`).
    crs
        The CRS of x and y when they are not EPSG:3006.

    Returns
    -------
    float
        The bandwidth (sigma), metres.

    Raises
    ------
    AnalysisError
        Fewer than two distinct positions.

    Examples
    --------
    The event far to the east widens Scott's bandwidth (194 m) more than Silverman's:

    >>> x = [674_000, 674_100, 674_300, 674_350, 674_900]
    >>> y = [6_580_000, 6_580_200, 6_580_050, 6_580_400, 6_580_100]
    >>> round(bandwidth_silverman(x, y), 1)
    113.4
    """
    xa, ya = _finite_xy(x, y, "silverman", crs)
    spread = (_robust_spread(xa) + _robust_spread(ya)) / 2
    return float(xa.size ** (-1 / 6) * spread)


def _loo_loglik(d2: np.ndarray, h: float) -> float:
    """Leave-one-out log likelihood of a 2-D Gaussian KDE given squared distances."""
    m = d2.shape[0]
    a = -d2 / (2 * h * h)
    np.fill_diagonal(a, -np.inf)
    top = a.max(axis=1)
    lse = top + np.log(np.exp(a - top[:, None]).sum(axis=1))
    return float(np.sum(lse) - m * math.log((m - 1) * 2 * math.pi * h * h))


def bandwidth_cv(
    x: Points,
    y: ArrayLike | None = None,
    candidates: Sequence[float] | ArrayLike | None = None,
    *,
    max_points: int = CV_MAX_POINTS,
    seed: int = CV_SEED,
    crs: object | None = None,
) -> float:
    """The candidate bandwidth with the highest leave-one-out log likelihood.

    For each candidate ``h`` the score is ``Σ_i log f_{-i}(x_i)``, where ``f_{-i}`` is
    the Gaussian KDE of all events but ``i``, evaluated exactly (no binning).

    Parameters
    ----------
    x, y
        Event coordinates, metres; non-finite ones are ignored. Or a GeoSeries or
        GeoDataFrame of points as ``x``, with the candidates second
        (``bandwidth_cv(points, [100, 200, 400])``).
    candidates
        Bandwidths (sigma) to try, metres.
    max_points
        With more events than this, a random subsample of ``max_points`` events
        (``seed``) is scored, and candidate ``h`` is scored at ``h · (n / m)^(1/6)``: the
        optimal bandwidth in 2-D shrinks as ``n^(-1/6)``, so the subsample's optimum,
        scaled back, estimates the full data's. The cost is ``m²`` per candidate.
    seed
        Seed of the subsample.

    Returns
    -------
    float
        One of ``candidates``.

    Raises
    ------
    AnalysisError
        No candidates, a candidate that is not a positive number, or fewer than two
        distinct positions.

    Warns
    -----
    DensityWarning
        When the best candidate is the smallest or the largest one: the optimum may lie
        outside the candidates. Repeated coordinates (events geocoded to the same
        address) push likelihood cross-validation to ever smaller bandwidths.

    Examples
    --------
    300 events from one normal blob with a spread of 200 m:

    >>> rng = np.random.default_rng(0)
    >>> x = 674_000 + rng.normal(0, 200, 300)
    >>> y = 6_580_000 + rng.normal(0, 200, 300)
    >>> bandwidth_cv(x, y, [50, 100, 200, 400])
    100.0
    """
    if candidates is None and is_points(x):
        candidates, y = y, None
    if candidates is None:
        raise AnalysisError(
            "bandwidth_cv needs candidates: the bandwidths in metres to try, e.g. "
            "bandwidth_cv(points, [100, 200, 400])"
        )
    cand = np.asarray(candidates, dtype=float).ravel()
    if cand.size == 0 or not np.all(np.isfinite(cand)) or np.any(cand <= 0):
        raise AnalysisError(
            f"bandwidth_cv needs one or more positive candidate bandwidths in metres, "
            f"got {candidates!r}"
        )
    cand = np.unique(cand)
    xa, ya = _finite_xy(x, y, "cv", crs)
    n = xa.size
    if n > max_points:
        pick = np.random.default_rng(seed).choice(n, size=max_points, replace=False)
        xa, ya = xa[pick], ya[pick]
    m = xa.size
    scale = (n / m) ** (1 / 6)
    d2 = (xa[:, None] - xa[None, :]) ** 2 + (ya[:, None] - ya[None, :]) ** 2
    scores = np.array([_loo_loglik(d2, h * scale) for h in cand])
    best = int(np.argmax(scores))
    if cand.size > 1 and best in (0, cand.size - 1):
        side = "smallest" if best == 0 else "largest"
        dup = m - len(np.unique(np.column_stack([xa, ya]), axis=0))
        warnings.warn(
            f"cross-validation chose the {side} candidate bandwidth ({cand[best]:g} m), so "
            f"the optimum may lie outside {cand.min():g}–{cand.max():g} m; {dup} of {m} "
            "scored events repeat another's position, which pushes the choice towards "
            "small bandwidths — widen the candidates or use a fixed bandwidth",
            DensityWarning,
            stacklevel=2,
        )
    return float(cand[best])


def default_cv_candidates(x: ArrayLike, y: ArrayLike, cell_size: float) -> np.ndarray:
    """The 12 candidates ``kde(bandwidth="cv")`` tries: geometric, from the cell size to
    twice Scott's bandwidth (at least 4 cells)."""
    hi = max(2 * bandwidth_scott(x, y), 4 * cell_size)
    return np.geomspace(cell_size, hi, 12)
