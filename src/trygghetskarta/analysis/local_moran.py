"""Local Moran's I (LISA) on areas, for rates with Empirical-Bayes treatment of small populations.

:func:`local_moran_rate` is what analysts call with event counts and populations per area
(RegSO, stadsdelar); :func:`local_moran` takes any values. Both return a
:class:`LocalMoran` with the statistic, the Moran scatter-plot quadrant, a pseudo p-value
from seeded conditional permutations and the HH/LL/HL/LH cluster labels.

The statistic is esda's ``Moran_Local(y, w, transformation="r")``: with ``z`` the values
standardised by their mean and (population) standard deviation and ``lag_i`` the mean
of ``z`` over the neighbours of ``i`` (row-standardised binary weights),
``I_i = (n − 1) z_i lag_i / Σ z²``.

Rates of small areas are noisy: one event among 200 inhabitants is a "rate" of 5 per
1 000. Three ways to turn counts into the analysed values (``rate=``):

- ``"assuncao"`` (default): the Empirical-Bayes standardised rates of Assunção & Reis
  (1999), ``(r_i − b) / sqrt(a + b / P_i)`` with the method-of-moments prior mean ``b``
  and variance ``a`` — what esda's ``Moran_Local_Rate(e, b, w)`` (``adjusted=True``)
  analyses. Small populations get a large variance, so their extreme crude rates count
  less.
- ``"eb"``: Marshall's global Empirical-Bayes smoothed rates (esda's
  ``Empirical_Bayes``): each crude rate is pulled towards the overall rate, the more so
  the smaller the population. When the method-of-moments prior variance comes out
  negative (less spread than Poisson noise alone would give) it is set to 0, so every
  rate is the overall rate — esda leaves it negative, which gives weights outside
  [0, 1]; the two agree whenever it is positive.
- ``"raw"``: crude rates ``events / population`` (``adjusted=False`` in esda).

Areas with no population (parks, industrial areas) have no rate and are left out (NaN
results, label ``"n/a"``), as are areas with a NaN count or population.

Significance: each area keeps its value and its neighbours' values are drawn at random
from the other areas (conditional randomisation); the two-sided pseudo p-value is
``2 (min(#sim ≥ obs, #sim ≤ obs) + 1) / (P + 1)`` — twice esda's deprecated default
("directed") ``p_sim``. ``fdr=True`` adjusts it by Benjamini–Hochberg over the areas;
an area is labelled with its quadrant when the adjusted value is ≤ ``alpha``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import ArrayLike

from trygghetskarta.analysis.neighbours import AreaInputs, area_inputs
from trygghetskarta.analysis.significance import (
    benjamini_hochberg,
    conditional_permutation_tails,
    pseudo_p,
)
from trygghetskarta.errors import AnalysisError

#: Quadrant codes as in esda: 1 HH, 2 LH, 3 LL, 4 HL.
QUADRANTS = {1: "HH", 2: "LH", 3: "LL", 4: "HL"}
RATE_METHODS = ("assuncao", "eb", "raw")

__all__ = [
    "QUADRANTS",
    "RATE_METHODS",
    "LocalMoran",
    "assuncao_reis_rates",
    "eb_rates",
    "local_moran",
    "local_moran_rate",
]


@dataclass(frozen=True, eq=False)
class LocalMoran:
    """Local Moran's I per area, in the order of the input.

    Attributes
    ----------
    I
        Local Moran's I (esda's ``Is``); NaN for areas left out.
    values
        What was analysed (rates, EB rates or the values given); NaN where left out.
    z
        ``values`` standardised (mean 0, population standard deviation 1).
    lag
        Mean of ``z`` over each area's neighbours (0 for an island).
    quadrant
        ``int8`` Moran scatter-plot quadrant, esda's ``q``: 1 HH, 2 LH, 3 LL, 4 HL
        (0 where left out).
    p_sim
        Two-sided pseudo p-value of the conditional permutations (1 for islands).
    p_adjusted
        Benjamini–Hochberg adjusted ``p_sim`` (``fdr=True``), else ``p_sim``.
    labels
        ``"HH"``, ``"LL"`` (clusters), ``"HL"``, ``"LH"`` (outliers) where
        ``p_adjusted ≤ alpha``; ``"ns"`` (not significant), ``"island"`` (no
        neighbours), ``"n/a"`` (left out).
    params
        Rate method, permutations, seed, alpha, fdr, counts; and ``note``.
    note
        Empty, or why nothing can be significant (no variation).
    index
        The areas' labels (the values' index, the weights' ids or the frame's index), or
        ``None`` for bare arrays; :meth:`to_frame` is indexed by them.
    geometry
        The areas' geometry when the neighbours were a GeoDataFrame or GeoSeries.
    """

    I: np.ndarray  # noqa: E741 - the statistic's name
    values: np.ndarray
    z: np.ndarray
    lag: np.ndarray
    quadrant: np.ndarray
    p_sim: np.ndarray
    p_adjusted: np.ndarray
    labels: np.ndarray
    params: Mapping[str, Any] = field(default_factory=dict)
    note: str = ""
    index: pd.Index | None = None
    geometry: Any = None

    def to_frame(self) -> pd.DataFrame:
        """One row per area, indexed like the input (as esda's results are).

        Columns ``value, I, z, lag, quadrant, p_sim, p_adjusted, label``; a GeoDataFrame
        when the areas came with their geometry. Areas left out have NaN and ``"n/a"``.
        """
        frame = pd.DataFrame(
            {
                "value": self.values,
                "I": self.I,
                "z": self.z,
                "lag": self.lag,
                "quadrant": self.quadrant,
                "p_sim": self.p_sim,
                "p_adjusted": self.p_adjusted,
                "label": self.labels,
            },
            index=self.index,
        )
        if self.geometry is None:
            return frame
        import geopandas as gpd

        return gpd.GeoDataFrame(frame, geometry=self.geometry, crs=self.geometry.crs)

    def plot(self, ax: Any = None, *, title: str | None = None) -> Any:
        """Map the clusters and outliers (HH, LL, HL, LH, not significant); returns the axes.

        Raises
        ------
        AnalysisError
            Areas without geometry (pass a GeoDataFrame as the neighbours).
        MissingDependencyError
            matplotlib is not installed.
        """
        if self.geometry is None:
            raise AnalysisError(
                "these areas have no geometry — pass the areas' GeoDataFrame as the "
                "neighbours of local_moran to plot them"
            )
        from trygghetskarta.analysis._plot import plot_areas

        return plot_areas(self.to_frame(), "label", ax, title=title, kind="labels")


def _counts(events: ArrayLike, population: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    e = np.asarray(events, dtype=float).ravel()
    b = np.asarray(population, dtype=float).ravel()
    if e.shape != b.shape:
        raise AnalysisError(
            f"events and population must have one value per area each, got {e.size} and {b.size}"
        )
    if e.size == 0:
        raise AnalysisError("no areas given — there is nothing to analyse")
    if np.any(e < 0) or np.any(b < 0) or np.isinf(e).any() or np.isinf(b).any():
        raise AnalysisError("events and population must be finite and ≥ 0 (NaN leaves an area out)")
    return e, b


def _usable(e: np.ndarray, b: np.ndarray) -> np.ndarray:
    ok = np.isfinite(e) & np.isfinite(b) & (b > 0)
    if not ok.any():
        raise AnalysisError(
            f"no area has both a count and a population > 0 ({e.size} areas given) — "
            "check the population column"
        )
    return ok


def _like(events: ArrayLike, out: np.ndarray) -> np.ndarray | pd.Series:
    """``out`` as a Series indexed like ``events`` when that is a Series, else as is."""
    if isinstance(events, pd.Series):
        return pd.Series(out, index=events.index, name=events.name)
    return out


def eb_rates(events: ArrayLike, population: ArrayLike) -> np.ndarray | pd.Series:
    """Marshall's global Empirical-Bayes smoothed rates (esda's ``Empirical_Bayes``).

    With ``m = Σe / Σb`` and the prior variance ``s² = Σ b (r − m)² / Σb − m / b̄``
    (clamped at 0), each rate becomes ``w r + (1 − w) m`` with
    ``w = s² / (s² + m / b_i)``. Areas with no population (or NaN) are NaN and do not
    enter ``m`` or ``s²``.

    Parameters
    ----------
    events, population
        Counts and populations per area.

    Returns
    -------
    numpy.ndarray or pandas.Series
        Smoothed rates per inhabitant; a Series indexed like ``events`` when that is one.

    Examples
    --------
    The area with 20 inhabitants and 3 events (crude rate 0.15) is pulled furthest:

    >>> eb_rates([5, 40, 12, 3, 8, 30], [100, 400, 300, 20, 250, 500]).round(4).tolist()
    [0.0571, 0.0907, 0.0468, 0.074, 0.0425, 0.0605]
    """
    e, b = _counts(events, population)
    ok = _usable(e, b)
    ev, bv = e[ok], b[ok]
    m = ev.sum() / bv.sum()
    r = ev / bv
    s2 = max(float((bv * (r - m) ** 2).sum() / bv.sum() - m / bv.mean()), 0.0)
    denom = s2 + m / bv
    w = np.divide(s2, denom, out=np.zeros_like(denom), where=denom > 0)
    out = np.full(e.shape, np.nan)
    out[ok] = w * r + (1.0 - w) * m
    return _like(events, out)


def assuncao_reis_rates(events: ArrayLike, population: ArrayLike) -> np.ndarray | pd.Series:
    """Empirical-Bayes standardised rates of Assunção & Reis (esda's ``assuncao_rate``).

    ``(r_i − b) / sqrt(v_i)`` with ``b = Σe / Σb``, ``a = Σ P (r − b)² / ΣP − b / P̄``
    and ``v_i = a + b / P_i`` (``b / P_i`` where that is negative). Areas with no
    population (or NaN) are NaN. When there are no events at all every rate is 0. A
    Series of events gives a Series indexed like it.

    Examples
    --------
    >>> e = [30, 25, 25, 15, 33, 21, 30, 20]
    >>> b = [100, 100, 110, 90, 100, 90, 110, 90]
    >>> assuncao_reis_rates(e, b).round(8)[:4].tolist()
    [1.03843594, -0.04099089, -0.56250375, -1.73061861]
    """
    e, b = _counts(events, population)
    ok = _usable(e, b)
    ev, bv = e[ok], b[ok]
    out = np.full(e.shape, np.nan)
    base = ev.sum() / bv.sum()
    r = ev / bv
    if base == 0:
        out[ok] = 0.0
        return _like(events, out)
    a = float((bv * (r - base) ** 2).sum() / bv.sum() - base / bv.mean())
    v = a + base / bv
    v = np.where(v < 0, base / bv, v)
    out[ok] = (r - base) / np.sqrt(v)
    return _like(events, out)


def local_moran(
    values: ArrayLike,
    neighbours: object,
    *,
    permutations: int = 9999,
    seed: int | None = None,
    alpha: float = 0.05,
    fdr: bool = True,
) -> LocalMoran:
    """Local Moran's I with row-standardised contiguity weights and permutation inference.

    Parameters
    ----------
    values
        One value per area, a ``pandas.Series`` (its index names the areas) or an
        array; NaN leaves an area out (and out of its neighbours' lags).
    neighbours
        A libpysal ``W`` or ``Graph`` (matched to a Series on its ids; its neighbour
        structure is used, row-standardised: esda's ``transformation="r"`` of contiguity
        weights), the areas' ``GeoDataFrame``/``GeoSeries`` (queen contiguity), an
        ``(n, n)`` adjacency, neighbour lists or one polygon per area.
    permutations
        Conditional permutations for the pseudo p-values (≥ 1; 9999 by default so
        that, with FDR over ~100 areas, strong clusters can still be significant).
    seed
        Seed of the permutations.
    alpha
        Level at which an area gets its quadrant's label.
    fdr
        Benjamini–Hochberg over the areas (default).

    Returns
    -------
    LocalMoran

    Raises
    ------
    AnalysisError
        Empty input, no valid value, infinite values, a bad adjacency or parameters.

    Examples
    --------
    >>> from trygghetskarta.analysis.neighbours import adjacency_from_lists
    >>> chain = adjacency_from_lists([[1], [0, 2], [1, 3], [2, 4], [3]])
    >>> res = local_moran([1.0, 1.0, 5.0, 9.0, 9.0], chain, permutations=99, seed=1)
    >>> res.quadrant.tolist(), res.I.round(3).tolist()
    ([3, 3, 3, 1, 1], [1.0, 0.5, 0.0, 0.5, 1.0])
    """
    given = values if isinstance(values, AreaInputs) else area_inputs(values, neighbours)
    arr = given.values
    if arr.size == 0:
        raise AnalysisError("no areas given — there is nothing to analyse")
    if np.isinf(arr).any():
        raise AnalysisError("values must be finite (NaN leaves an area out)")
    if not 0 < float(alpha) < 1:
        raise AnalysisError(f"alpha must be a significance level in (0, 1), got {alpha!r}")
    if int(permutations) != permutations or permutations < 1:
        raise AnalysisError(
            f"permutations must be a whole number ≥ 1 (local Moran's significance is by "
            f"permutation), got {permutations!r}"
        )
    perms = int(permutations)
    valid = np.isfinite(arr)
    if not valid.any():
        raise AnalysisError(f"no valid value: all {arr.size} areas are NaN")
    adj = given.adjacency
    keep = np.flatnonzero(valid)
    adj_v = sp.csr_array(adj[keep][:, keep]).astype(float)
    yv = arr[valid]
    n = yv.size
    card = np.asarray(adj_v.sum(axis=1)).ravel()
    islands = card == 0
    sd = float(yv.std())
    constant = bool(yv.max() == yv.min())
    note = ""
    if constant:
        note = f"all {n} valid values are equal ({float(yv[0]):g}): no clusters or outliers"
        zv = np.zeros(n)
    else:
        zv = (yv - yv.mean()) / sd
    nsum = adj_v @ zv
    lag = np.divide(nsum, card, out=np.zeros(n), where=card > 0)
    den = float((zv * zv).sum())
    iv = (n - 1) * zv * lag / den if den > 0 else np.zeros(n)
    zp = zv > 0
    lp = lag > 0
    qv = np.where(zp & lp, 1, np.where(~zp & lp, 2, np.where(~zp & ~lp, 3, 4))).astype(np.int8)
    if constant:
        pv = np.ones(n)
    else:
        n_ge, n_le = conditional_permutation_tails(
            zv, nsum, card.astype(np.int64), permutations=perms, seed=seed
        )
        pv = pseudo_p(n_ge, n_le, perms)
    padj = benjamini_hochberg(pv) if fdr else pv.copy()
    lab = np.array([QUADRANTS[int(q)] for q in qv], dtype=object)
    lab[padj > float(alpha)] = "ns"
    lab[islands] = "island"

    def full(v: np.ndarray, fill: float = np.nan) -> np.ndarray:
        out = np.full(arr.size, fill, dtype=float)
        out[valid] = v
        return out

    quadrant = np.zeros(arr.size, dtype=np.int8)
    quadrant[valid] = qv
    labels = np.full(arr.size, "n/a", dtype=object)
    labels[valid] = lab
    params = {
        "statistic": "local Moran's I",
        "weights": "contiguity, row-standardised",
        "permutations": perms,
        "seed": -1 if seed is None else int(seed),
        "alpha": float(alpha),
        "fdr": "benjamini-hochberg" if fdr else "none",
        "n_areas": int(n),
        "n_areas_left_out": int(arr.size - n),
        "n_islands": int(islands.sum()),
        "note": note,
    }
    return LocalMoran(
        I=full(iv),
        values=full(yv),
        z=full(zv),
        lag=full(lag),
        quadrant=quadrant,
        p_sim=full(pv),
        p_adjusted=full(padj),
        labels=labels,
        params=params,
        note=note,
        index=given.index,
        geometry=given.geometry,
    )


def local_moran_rate(
    events: ArrayLike,
    population: ArrayLike,
    neighbours: object,
    *,
    rate: str = "assuncao",
    permutations: int = 9999,
    seed: int | None = None,
    alpha: float = 0.05,
    fdr: bool = True,
) -> LocalMoran:
    """Local Moran's I of event rates per area, small populations handled by Empirical Bayes.

    Parameters
    ----------
    events, population
        Event count and population at risk per area. Areas with population 0 or NaN are
        left out.
    neighbours
        As in :func:`local_moran`: a libpysal ``W`` or ``Graph``, the areas'
        GeoDataFrame, an ``(n, n)`` adjacency, neighbour lists or one polygon per area.
        With ``events`` a Series, the results are indexed like it.
    rate
        ``"assuncao"`` (EB-standardised rates, esda's ``Moran_Local_Rate`` default),
        ``"eb"`` (Marshall's EB-smoothed rates) or ``"raw"`` (crude rates).
    permutations, seed, alpha, fdr
        As in :func:`local_moran`.

    Returns
    -------
    LocalMoran
        ``values`` holds the analysed rates (per inhabitant for ``"eb"`` and ``"raw"``,
        standardised for ``"assuncao"``); ``params`` adds the rate method and the
        number of areas left out for lack of population.

    Examples
    --------
    Eight areas in a row, each touching the next:

    >>> from trygghetskarta.analysis.neighbours import adjacency_from_lists
    >>> chain = adjacency_from_lists([[1], [0, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7], [6]])
    >>> events = [30, 25, 25, 15, 33, 21, 30, 20]
    >>> population = [100, 100, 110, 90, 100, 90, 110, 90]
    >>> res = local_moran_rate(events, population, chain, permutations=99, seed=1)
    >>> res.values.round(3).tolist()
    [1.038, -0.041, -0.563, -1.731, 1.686, -0.377, 0.476, -0.603]
    >>> res.quadrant.tolist(), sorted(set(res.labels))
    ([4, 2, 3, 2, 4, 2, 4, 2], ['ns'])
    """
    given = area_inputs(events, neighbours, what="events")
    e, b = _counts(given.values, population)
    if rate == "assuncao":
        vals = assuncao_reis_rates(e, b)
    elif rate == "eb":
        vals = eb_rates(e, b)
    elif rate == "raw":
        ok = _usable(e, b)
        vals = np.full(e.shape, np.nan)
        vals[ok] = e[ok] / b[ok]
    else:
        raise AnalysisError(f"rate must be one of {', '.join(RATE_METHODS)}, got {rate!r}")
    res = local_moran(
        AreaInputs(vals, given.adjacency, given.index, given.geometry),
        neighbours,
        permutations=permutations,
        seed=seed,
        alpha=alpha,
        fdr=fdr,
    )
    params = {
        **res.params,
        "rate": rate,
        "n_areas_without_population": int(np.sum(np.isfinite(b) & (b == 0))),
    }
    return LocalMoran(
        res.I,
        res.values,
        res.z,
        res.lag,
        res.quadrant,
        res.p_sim,
        res.p_adjusted,
        res.labels,
        params,
        res.note,
        res.index,
        res.geometry,
    )
