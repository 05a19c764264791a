"""Near-repeat analysis: the Knox test of space-time interaction.

Does one event bring another nearby soon after? The Knox test looks at every pair of
events and asks whether pairs that are *close in space* are also *close in time* more
often than they would be if where and when an event happens were independent.

- :func:`knox` is the classic test with one distance and one time threshold: the 2 × 2
  table of pairs (close/far in space × close/far in time), observed and expected, the
  Knox ratio, an analytic Poisson p-value and a Monte-Carlo p-value. Its numbers are
  those of ``pointpats.Knox`` (see *Notes*).
- :func:`knox_table` is the table analysts know from the Near Repeat Calculator
  (Ratcliffe 2009): several distance bands × several time bands, each cell with its
  observed and expected number of pairs, their ratio and a Monte-Carlo p-value.

Method
------
A pair is counted once (``i < j``); there are ``n (n - 1) / 2``. A pair is in distance
band ``k`` when ``edge[k-1] < d <= edge[k]`` (the first band starts at 0 inclusive;
with ``same_location=True`` an extra first band holds the pairs at exactly the same
point) and in time band ``k`` likewise with ``|t_i - t_j|``. The last row and column
hold the pairs beyond the largest edge.

Expected counts are those under independence of the space and time intervals:
``E[k, l] = S_k · T_l / P`` with ``S_k`` the pairs in distance band ``k``, ``T_l`` those
in time band ``l`` and ``P`` all pairs. This is also the exact mean of the table under
the Monte-Carlo null, which shuffles the times over the locations: a shuffle gives each
spatial pair a uniformly drawn pair of times, and leaves both margins unchanged.

The observed table is counted exactly on every event without listing every pair close
in space: the pairs per distance band come from ``cKDTree.count_neighbors``, the pairs
close in both space and time from KD-trees over time blocks as wide as the largest time
band (a pair within it lies in one block or two neighbouring ones), the time margins
from the sorted times by binary search, and the "beyond" row and column by subtraction;
memory grows with the pairs close in space *and* time.

The Monte-Carlo permutations list the pairs within the largest distance edge once
(``scipy.spatial.cKDTree``; they do not change when the times are shuffled), so their
memory grows with the number of *close* pairs, not with ``n²`` (about 25 bytes a pair
at its peak; :data:`MAX_PAIRS` bounds it), and each permutation re-reads the times of
the listed pairs only (``bench/bench_nearrepeat.py`` times it against pointpats and a
brute force).

Times can be numbers (any unit; bands in the same unit) or datetimes (bands in days;
datetimes are compared to the second, so "exactly 7 days" is exact).

Notes
-----
On pointpats' Burkitt's lymphoma reference case (188 cases, ``delta=20``, ``tau=5``)
:func:`knox` gives the statistic 13 and the observed and expected tables of
``pointpats.Knox`` exactly, and with ``seed=numpy.random.RandomState(12345)`` the same
permutations and the same ``p_sim = 0.21``. Its analytic p-value differs on purpose:
pointpats reports ``1 - F(NST)``, the probability of *more* than the observed count;
the p-value of the observed count is ``P(X >= NST) = 1 - F(NST - 1)`` (0.22 here, next to
the permutation's 0.21, where pointpats says 0.146).

References
----------
Knox, E. G. (1964). The detection of space-time interactions. *Applied Statistics* 13, 25–29.
Ratcliffe, J. H. (2009). Near Repeat Calculator (version 1.3). Temple University.
Johnson, S. D. et al. (2007). Space-time patterns of risk: a cross national assessment of
residential burglary victimization. *Journal of Quantitative Criminology* 23, 201–219.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.stats import poisson

from trygghetskarta.analysis._knox_pairs import (
    close_pairs,
    comparable_times,
    pairs_total,
    space_time_table,
    time_margin,
    usable_events,
    with_beyond_row,
)
from trygghetskarta.analysis.points import Points, as_xy, event_values
from trygghetskarta.errors import AnalysisError

#: :func:`knox_table` refuses selections with more close pairs than this (estimated
#: before they are listed): listing them peaks at about 25 bytes a pair (1.3 GB at
#: 5·10⁷), and each permutation reads them all once.
MAX_PAIRS = 50_000_000

Seed = int | np.random.Generator | np.random.RandomState | None

__all__ = [
    "MAX_PAIRS",
    "KnoxResult",
    "KnoxTable",
    "equal_bands",
    "knox",
    "knox_table",
]


# --------------------------------------------------------------------------------------
# results


@dataclass(frozen=True)
class KnoxTable:
    """Observed and expected pairs in distance bands × time bands.

    Rows are distance bands, columns time bands; the last row and the last column hold
    the pairs beyond the largest edge, so every table sums to ``pairs``.

    Attributes
    ----------
    distance_edges
        Upper edges of the distance bands, metres (or the unit of the coordinates); with
        ``same_location`` the first edge is 0.
    time_edges
        Upper edges of the time bands, in days for datetimes, else in the unit of ``t``.
    distance_labels, time_labels
        One label per row / column (``"0 m"``, ``"0–100 m"``, ``"> 400 m"``;
        ``"0–7 d"``, ``"> 28 d"``).
    observed
        Pairs per cell, int64, shape ``(len(distance_edges) + 1, len(time_edges) + 1)``.
    expected
        Pairs expected per cell if space and time were independent (float).
    ratio
        ``observed / expected`` (the Knox ratio; NaN where nothing is expected).
    p_value
        Monte-Carlo p-value of *at least* the observed count, ``(1 + #{sim >= obs}) /
        (permutations + 1)``; ``None`` without permutations.
    p_lower
        The same for *at most* the observed count (fewer pairs than chance).
    simulated
        The table under each permutation, shape ``(permutations, rows, columns)``.
    n
        Events used; ``n_excluded`` events had a missing coordinate or time.
    pairs
        ``n (n - 1) / 2``.
    permutations
        Shuffles of the times over the locations.
    time_unit
        ``"d"`` for datetime times, else ``""``.
    """

    distance_edges: np.ndarray
    time_edges: np.ndarray
    distance_labels: tuple[str, ...]
    time_labels: tuple[str, ...]
    observed: np.ndarray
    expected: np.ndarray
    ratio: np.ndarray
    p_value: np.ndarray | None
    p_lower: np.ndarray | None
    simulated: np.ndarray | None = field(repr=False)
    n: int
    n_excluded: int
    pairs: int
    permutations: int
    time_unit: str

    def to_frame(self) -> pd.DataFrame:
        """One row per cell: bands, their bounds, observed, expected, ratio, p-values.

        Returns
        -------
        pandas.DataFrame
            Columns ``distance_band, distance_from, distance_to, time_band, time_from,
            time_to, observed, expected, ratio, p_value, p_lower``. ``*_to`` is ``inf``
            for the band beyond the largest edge; ``*_from`` is exclusive except for the
            first band.
        """
        d_from, d_to = _band_bounds(self.distance_edges)
        t_from, t_to = _band_bounds(self.time_edges)
        rows, cols = self.observed.shape
        ii, jj = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
        ii, jj = ii.ravel(), jj.ravel()
        nan = np.full(rows * cols, np.nan)
        return pd.DataFrame(
            {
                "distance_band": np.asarray(self.distance_labels, dtype=object)[ii],
                "distance_from": d_from[ii],
                "distance_to": d_to[ii],
                "time_band": np.asarray(self.time_labels, dtype=object)[jj],
                "time_from": t_from[jj],
                "time_to": t_to[jj],
                "observed": self.observed.ravel(),
                "expected": self.expected.ravel(),
                "ratio": self.ratio.ravel(),
                "p_value": nan if self.p_value is None else self.p_value.ravel(),
                "p_lower": nan if self.p_lower is None else self.p_lower.ravel(),
            }
        )

    def pivot(self, value: str = "ratio") -> pd.DataFrame:
        """One statistic as a distance × time table, as the Near Repeat Calculator shows it.

        Parameters
        ----------
        value
            ``"observed"``, ``"expected"``, ``"ratio"``, ``"p_value"`` or ``"p_lower"``.

        Returns
        -------
        pandas.DataFrame
            Index: the distance labels; columns: the time labels.
        """
        allowed = ("observed", "expected", "ratio", "p_value", "p_lower")
        if value not in allowed:
            raise AnalysisError(f"expected one of {allowed}, got {value!r}")
        data = getattr(self, value)
        if data is None:
            raise AnalysisError(f"{value} needs permutations — call with permutations > 0")
        return pd.DataFrame(
            data,
            index=pd.Index(self.distance_labels, name="distance"),
            columns=pd.Index(self.time_labels, name="time"),
        )


@dataclass(frozen=True)
class KnoxResult:
    """The Knox test with one distance and one time threshold.

    Attributes
    ----------
    statistic
        Pairs close in both space and time (``NST``).
    expected_statistic
        Such pairs expected under independence, ``NS · NT / pairs``.
    ratio
        ``statistic / expected_statistic``: above 1 means near-repeats.
    observed, expected
        The 2 × 2 tables ``[[NST, NS - NST], [NT - NST, rest]]`` (rows: close / far in
        space; columns: close / far in time), as in ``pointpats.Knox``.
    close_in_space, close_in_time
        ``NS`` and ``NT``: pairs within ``distance`` / within ``time``.
    pairs
        ``n (n - 1) / 2``.
    p_poisson
        ``P(X >= statistic)`` for ``X ~ Poisson(expected_statistic)``.
    p_sim
        Monte-Carlo p-value ``(1 + #{sim >= statistic}) / (permutations + 1)``, or
        ``None`` without permutations.
    simulated
        The statistic under each permutation (empty without permutations).
    distance, time
        The thresholds (inclusive).
    n, n_excluded, permutations
        Events used, events left out for a missing coordinate or time, shuffles.
    table
        The full :class:`KnoxTable` with both thresholds as its only band edges.
    """

    statistic: int
    expected_statistic: float
    ratio: float
    observed: np.ndarray
    expected: np.ndarray
    close_in_space: int
    close_in_time: int
    pairs: int
    p_poisson: float
    p_sim: float | None
    simulated: np.ndarray = field(repr=False)
    distance: float
    time: float
    n: int
    n_excluded: int
    permutations: int
    table: KnoxTable = field(repr=False)


# --------------------------------------------------------------------------------------
# helpers


def equal_bands(width: float, count: int) -> list[float]:
    """Upper edges of ``count`` bands of equal ``width``: ``width, 2·width, …``.

    Parameters
    ----------
    width
        Band width (metres for distance, days for time), > 0.
    count
        Number of bands, >= 1.

    Returns
    -------
    list of float

    Examples
    --------
    >>> equal_bands(100, 4)
    [100.0, 200.0, 300.0, 400.0]
    """
    if not (np.isfinite(width) and width > 0) or int(count) != count or count < 1:
        raise AnalysisError(
            f"expected a positive band width and a whole number of bands >= 1, got "
            f"width={width!r}, count={count!r}"
        )
    return [float(width) * k for k in range(1, int(count) + 1)]


def _band_bounds(edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    upper = np.append(edges.astype(float), np.inf)
    lower = np.append(0.0, edges.astype(float))
    return lower, upper


def _fmt(value: float) -> str:
    return f"{value:g}"


def _labels(edges: np.ndarray, unit: str) -> tuple[str, ...]:
    suffix = f" {unit}" if unit else ""
    out = []
    lower = 0.0
    for edge in edges:
        out.append(
            f"{_fmt(edge)}{suffix}" if edge == lower else f"{_fmt(lower)}–{_fmt(edge)}{suffix}"
        )
        lower = float(edge)
    out.append(f"> {_fmt(lower)}{suffix}")
    return tuple(out)


def _edges(values: Sequence[float] | float, name: str, allow_zero_first: bool) -> np.ndarray:
    edges = np.atleast_1d(np.asarray(values, dtype=float))
    if edges.ndim != 1 or edges.size == 0 or not np.all(np.isfinite(edges)):
        raise AnalysisError(
            f"expected {name} as one or more finite upper band edges, got {values!r}"
        )
    if np.any(np.diff(edges) <= 0) or edges[0] < 0 or (edges[0] == 0 and not allow_zero_first):
        raise AnalysisError(
            f"expected increasing positive {name} edges (e.g. [100, 200, 300]), got "
            f"{edges.tolist()} — sort them and drop duplicates"
        )
    return edges


def _rng(seed: Seed) -> np.random.Generator | np.random.RandomState:
    if isinstance(seed, np.random.Generator | np.random.RandomState):
        return seed
    return np.random.default_rng(seed)


# --------------------------------------------------------------------------------------
# the tests


def knox_table(
    x: Points,
    y: ArrayLike | None = None,
    t: ArrayLike | str | None = None,
    *,
    distance_bands: Sequence[float],
    time_bands: Sequence[float],
    same_location: bool = False,
    permutations: int = 99,
    seed: Seed = None,
    max_pairs: int = MAX_PAIRS,
    crs: object | None = None,
) -> KnoxTable:
    """Near-repeat table: observed and expected pairs in distance × time bands.

    Parameters
    ----------
    x, y
        Event coordinates in EPSG:3006 (metres), or the events as ``x`` alone (a
        GeoSeries/GeoDataFrame of points in any CRS, or a frame with ``x`` and ``y``;
        see :func:`~trygghetskarta.analysis.points.as_xy`) with ``t=`` by keyword.
        Events with a non-finite coordinate or time are left out with a warning and
        counted in ``n_excluded``.
    t
        Event times: datetimes (tz-aware or naive; bands in days) or numbers (bands in
        the same unit); or the name of a column of the events frame
        (``t="occurred_at"``).
    distance_bands
        Increasing upper edges of the distance bands, e.g. ``[100, 200, 300, 400]``
        (see :func:`equal_bands`); pairs farther than the last edge form the last row.
    time_bands
        Increasing upper edges of the time bands, e.g. ``[7, 14, 21, 28]`` days.
    same_location
        Add a first distance band of pairs at exactly the same point (the Near Repeat
        Calculator's "same location"; for geocoded events, the same place or address).
    permutations
        Shuffles of the times over the locations for the Monte-Carlo p-values; 0 for
        none. The smallest p-value possible is ``1 / (permutations + 1)``.
    seed
        Seed or generator for the shuffles (an ``int``, ``numpy.random.Generator`` or,
        to reproduce numpy's legacy global stream, ``numpy.random.RandomState``).
    max_pairs
        With permutations, refuse when more pairs than this lie within the largest
        distance edge (the observed table alone has no such limit).
    crs
        The CRS of x and y when they are not EPSG:3006.

    Returns
    -------
    KnoxTable

    Raises
    ------
    AnalysisError
        Fewer than 2 usable events, bad band edges, or too many close pairs for the
        permutations.

    Examples
    --------
    >>> x = [0.0, 10.0, 1000.0, 1010.0]
    >>> y = [0.0, 0.0, 0.0, 0.0]
    >>> t = [0.0, 1.0, 50.0, 90.0]
    >>> tab = knox_table(x, y, t, distance_bands=[50], time_bands=[5], permutations=0)
    >>> tab.observed.tolist()
    [[1, 1], [0, 4]]
    >>> tab.expected.tolist()
    [[0.3333333333333333, 1.6666666666666667], [0.6666666666666666, 3.3333333333333335]]
    """
    if t is None:
        raise AnalysisError(
            "knox needs the events' times: pass t= (values, or a column name with a frame)"
        )
    xa, ya = as_xy(x, y, crs=crs)
    xy, ts, is_datetime, excluded = usable_events(xa, ya, event_values(x, t, "t"))
    d_edges = _edges(distance_bands, "distance", allow_zero_first=False)
    if same_location:
        d_edges = np.concatenate([[0.0], d_edges])
    t_edges = _edges(time_bands, "time", allow_zero_first=True)
    if int(permutations) != permutations or permutations < 0:
        raise AnalysisError(f"expected permutations >= 0, got {permutations!r}")
    permutations = int(permutations)
    times, t_cmp = comparable_times(ts, t_edges, is_datetime)
    n = xy.shape[0]
    pairs = pairs_total(n)

    margin = time_margin(times, t_cmp, pairs)
    observed = with_beyond_row(space_time_table(xy, times, d_edges, t_cmp), margin)
    row = observed.sum(axis=1).astype(float)
    expected = np.outer(row, margin.astype(float)) / float(pairs)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(expected > 0, observed / expected, np.nan)

    p_value = p_lower = simulated = None
    if permutations:
        # the spatial pairs do not change when the times are shuffled: listed once
        close = close_pairs(xy, d_edges, max_pairs)
        rng = _rng(seed)
        simulated = np.empty((permutations, *observed.shape), dtype=np.int64)
        for k in range(permutations):
            shuffled = times[rng.permutation(n)]
            simulated[k] = with_beyond_row(close.table(shuffled, t_cmp), margin)
        p_value = (1.0 + (simulated >= observed).sum(axis=0)) / (permutations + 1.0)
        p_lower = (1.0 + (simulated <= observed).sum(axis=0)) / (permutations + 1.0)

    unit = "d" if is_datetime else ""
    d_labels = _labels(d_edges, "m")
    return KnoxTable(
        distance_edges=d_edges,
        time_edges=t_edges,
        distance_labels=d_labels,
        time_labels=_labels(t_edges, unit),
        observed=observed,
        expected=expected,
        ratio=ratio,
        p_value=p_value,
        p_lower=p_lower,
        simulated=simulated,
        n=n,
        n_excluded=excluded,
        pairs=pairs,
        permutations=permutations,
        time_unit=unit,
    )


def knox(
    x: Points,
    y: ArrayLike | None = None,
    t: ArrayLike | str | None = None,
    *,
    distance: float,
    time: float,
    permutations: int = 99,
    seed: Seed = None,
    max_pairs: int = MAX_PAIRS,
    crs: object | None = None,
) -> KnoxResult:
    """Knox test: are pairs close in space also close in time more often than by chance?

    Parameters
    ----------
    x, y
        Event coordinates in EPSG:3006 (metres), or the events as ``x`` alone with
        ``t=`` by keyword (as in :func:`knox_table`).
    t
        Event times: datetimes (``time`` in days) or numbers (``time`` in their unit),
        or the name of a column of the events frame.
    distance
        Pairs at most this far apart are close in space (``pointpats``' ``delta``).
    time
        Pairs at most this far apart in time are close in time (``tau``).
    permutations
        Shuffles of the times over the locations for ``p_sim``; 0 for none.
    seed
        Seed or generator for the shuffles; ``numpy.random.RandomState(s)`` draws the
        same permutations as ``pointpats`` after ``numpy.random.seed(s)``.
    max_pairs
        With permutations, refuse when more pairs than this lie within ``distance``.
    crs
        The CRS of x and y when they are not EPSG:3006.

    Returns
    -------
    KnoxResult

    Raises
    ------
    AnalysisError
        Fewer than 2 usable events, a threshold that is not positive, or too many pairs.

    Examples
    --------
    >>> x, y = [674_000, 674_005, 674_100, 674_105], [6_580_000] * 4
    >>> res = knox(x, y, [0, 1, 10, 11], distance=10, time=2,
    ...            permutations=0)
    >>> res.statistic, round(res.expected_statistic, 3), round(res.ratio, 2)
    (2, 0.667, 3.0)
    """
    for name, value in (("distance", distance), ("time", time)):
        if not (np.isfinite(value) and value > 0):
            raise AnalysisError(f"expected a positive {name} threshold, got {value!r}")
    table = knox_table(
        x,
        y,
        t,
        crs=crs,
        distance_bands=[distance],
        time_bands=[time],
        permutations=permutations,
        seed=seed,
        max_pairs=max_pairs,
    )
    observed = table.observed
    nst = int(observed[0, 0])
    expected_nst = float(table.expected[0, 0])
    p_poisson = float(poisson.sf(nst - 1, expected_nst)) if expected_nst > 0 else float(nst == 0)
    simulated = (
        table.simulated[:, 0, 0].copy() if table.simulated is not None else np.empty(0, np.int64)
    )
    return KnoxResult(
        statistic=nst,
        expected_statistic=expected_nst,
        ratio=float(table.ratio[0, 0]),
        observed=observed,
        expected=table.expected,
        close_in_space=int(observed[0].sum()),
        close_in_time=int(observed[:, 0].sum()),
        pairs=table.pairs,
        p_poisson=p_poisson,
        p_sim=None if table.p_value is None else float(table.p_value[0, 0]),
        simulated=simulated,
        distance=float(distance),
        time=float(time),
        n=table.n,
        n_excluded=table.n_excluded,
        permutations=table.permutations,
        table=table,
    )
