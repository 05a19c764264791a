"""The pair engine of the Knox test (see :mod:`~trygghetskarta.analysis.nearrepeat`).

- Pairs ``i < j`` within the largest distance edge are listed once with a KD-tree, given
  their distance band by squared distance, and sorted by band, so that each band is one
  contiguous segment of two index arrays (:class:`ClosePairs`).
- A table of those pairs by time band is, per band segment, a count of ``|t_i - t_j| >
  e`` for each time edge ``e``: no per-pair band index, no ``bincount``. A permutation
  re-reads the times of the listed pairs only.
- The time margin over *all* pairs comes from the sorted times by binary search, with the
  same predicate ``|a - b| <= e`` evaluated in the same arithmetic, so that the margin and
  the listed pairs agree to the last pair.

Datetimes become whole seconds since the earliest event (int32 when they fit), so time
differences and edges are exact integers and gathers move half the bytes.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.spatial import cKDTree

from trygghetskarta.errors import AnalysisError

#: Seconds per day: datetime times are compared in whole seconds, bands given in days.
SECONDS_PER_DAY = 86_400
#: Pairs whose times are read at once (bounds the temporaries and keeps them in cache).
PAIR_CHUNK = 1 << 19
#: Events whose neighbours are counted to estimate the number of close pairs.
SAMPLE_FOR_ESTIMATE = 4_000


# --------------------------------------------------------------------------------------
# inputs


def _datetime_seconds(t: ArrayLike) -> np.ndarray | None:
    """Whole seconds since the epoch (float, NaN for NaT) if ``t`` holds datetimes."""
    if isinstance(t, pd.Series | pd.Index):
        values = pd.Series(t)
    else:
        arr = np.asarray(t)
        if arr.ndim == 2 and arr.shape[1] == 1:  # pointpats passes (n, 1) frames
            arr = arr[:, 0]
        if arr.dtype.kind != "M":
            return None
        values = pd.Series(arr.ravel())
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    elif values.dtype.kind != "M":
        return None
    secs = values.to_numpy(dtype="datetime64[s]")
    out = secs.astype(np.int64).astype(np.float64)
    out[np.isnat(secs)] = np.nan
    return out


def event_times(t: ArrayLike) -> tuple[np.ndarray, bool]:
    """Times as float64 (whole seconds for datetimes) and whether they were datetimes."""
    secs = _datetime_seconds(t)
    if secs is not None:
        return secs, True
    try:
        return np.asarray(t, dtype=np.float64).ravel(), False
    except (TypeError, ValueError) as e:
        raise AnalysisError(
            f"expected times as numbers or datetimes, got dtype {np.asarray(t).dtype} "
            "— pass occurred_at (datetimes) or days as numbers"
        ) from e


def usable_events(
    x: ArrayLike, y: ArrayLike, t: ArrayLike
) -> tuple[np.ndarray, np.ndarray, bool, int]:
    """Coordinates ``(n, 2)``, times, whether they are datetimes, and how many were dropped."""
    xs = np.asarray(x, dtype=np.float64).ravel()
    ys = np.asarray(y, dtype=np.float64).ravel()
    ts, is_datetime = event_times(t)
    if not (xs.size == ys.size == ts.size):
        raise AnalysisError(
            f"expected x, y and t of the same length, got {xs.size}, {ys.size} and {ts.size}"
        )
    ok = np.isfinite(xs) & np.isfinite(ys) & np.isfinite(ts)
    excluded = int(ok.size - ok.sum())
    if excluded:
        warnings.warn(
            f"{excluded} of {ok.size} events without a position or a time were left out of "
            "the Knox test",
            UserWarning,
            stacklevel=3,
        )
    if ok.sum() < 2:
        raise AnalysisError(
            f"the Knox test compares pairs of events and needs at least 2 with a position "
            f"and a time, got {int(ok.sum())} — widen the selection"
        )
    return np.column_stack([xs[ok], ys[ok]]), ts[ok], is_datetime, excluded


def comparable_times(
    ts: np.ndarray, edges: np.ndarray, is_datetime: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Times and time edges in the arithmetic the counts use.

    Datetimes: integer seconds since the earliest event (int32 when they fit) and edges
    as whole seconds (a difference of whole seconds is within ``e`` seconds exactly when
    it is within ``floor(e)``). Numbers: float64 as given.
    """
    if not is_datetime:
        return ts.astype(np.float64), edges.astype(np.float64)
    rel = ts - ts.min()
    dtype = np.int32 if rel.max() < 2**31 - 1 else np.int64
    # round to the millisecond first so that 0.1 d gives 8640 s, not 8639
    secs = np.floor(np.round(edges * SECONDS_PER_DAY, 3))
    return rel.astype(dtype), np.minimum(secs, np.iinfo(dtype).max).astype(dtype)


# --------------------------------------------------------------------------------------
# time margin over all pairs


def _within(s: np.ndarray, idx: np.ndarray, own: np.ndarray, e: float) -> np.ndarray:
    """``|s[idx] - s[own]| <= e`` in the array's own arithmetic (what the pairs use)."""
    return np.abs(s[idx] - s[own]) <= e


def time_margin(times: np.ndarray, edges: np.ndarray, pairs: int) -> np.ndarray:
    """Pairs per time band over all ``n (n - 1) / 2`` pairs.

    For each event ``i`` of the sorted times ``s``, the events ``j > i`` with ``|s[j] -
    s[i]| <= e`` form a run starting at ``i + 1`` (subtraction is monotone), found by
    binary search for ``s[i] + e`` and then corrected where rounding makes the two
    predicates differ, one run of equal values at a time.
    """
    s = np.sort(times)
    wide = s.astype(np.int64) if s.dtype.kind in "iu" else s  # s + e must not overflow
    n = s.size
    own = np.arange(n)
    cumulative = []
    for e in edges:
        end = np.searchsorted(s, wide + e, side="right")  # first index past the run
        while True:  # too far: the last element taken fails the pair predicate
            back = (end > own + 1) & ~_within(s, np.maximum(end - 1, 0), own, e)
            if not back.any():
                break
            end[back] = np.searchsorted(s, s[end[back] - 1], side="left")
        while True:  # not far enough: the next element passes it
            ahead = end < n
            ahead[ahead] = _within(s, end[ahead], own[ahead], e)
            if not ahead.any():
                break
            end[ahead] = np.searchsorted(s, s[end[ahead]], side="right")
        cumulative.append(int((np.maximum(end, own + 1) - own - 1).sum()))
    return np.diff(np.concatenate([[0], np.asarray(cumulative, dtype=np.int64), [pairs]]))


# --------------------------------------------------------------------------------------
# pairs close in space


def estimate_pairs(tree: cKDTree, xy: np.ndarray, radius: float) -> float:
    """Pairs within ``radius``: counted exactly for small ``n``, else from a fixed sample."""
    n = xy.shape[0]
    if n <= SAMPLE_FOR_ESTIMATE:
        counts = tree.query_ball_point(xy, radius, return_length=True)
        return float(counts.sum() - n) / 2.0
    pick = np.random.default_rng(0).choice(n, size=SAMPLE_FOR_ESTIMATE, replace=False)
    counts = tree.query_ball_point(xy[pick], radius, return_length=True)
    return float(counts.mean() - 1.0) * n / 2.0


@dataclass(frozen=True)
class ClosePairs:
    """Pairs ``i < j`` within the largest distance edge, grouped by distance band.

    Attributes
    ----------
    i, j
        Event indices; the pairs of band ``k`` are ``[starts[k], starts[k + 1])``.
    starts
        Segment bounds, length ``bands + 1``.
    """

    i: np.ndarray
    j: np.ndarray
    starts: np.ndarray

    @property
    def bands(self) -> int:
        return self.starts.size - 1

    def table(self, times: np.ndarray, edges: np.ndarray) -> np.ndarray:
        """Pairs per (distance band, time band), shape ``(bands, len(edges) + 1)``."""
        out = np.zeros((self.bands, edges.size + 1), dtype=np.int64)
        for band in range(self.bands):
            lo, hi = int(self.starts[band]), int(self.starts[band + 1])
            beyond = np.zeros(edges.size, dtype=np.int64)  # pairs with |dt| > edge
            for a in range(lo, hi, PAIR_CHUNK):
                b = min(a + PAIR_CHUNK, hi)
                d = times[self.i[a:b]] - times[self.j[a:b]]
                np.abs(d, out=d)
                for k, e in enumerate(edges):
                    beyond[k] += np.count_nonzero(d > e)
            within = (hi - lo) - beyond  # cumulative: pairs with |dt| <= edge k
            out[band] = np.diff(np.concatenate([[0], within, [hi - lo]]))
        return out


def close_pairs(xy: np.ndarray, edges: np.ndarray, max_pairs: int) -> ClosePairs:
    """List the pairs within ``edges[-1]`` and sort them by distance band.

    A pair is in band ``k`` when ``edges[k-1]² < d² <= edges[k]²`` (squared distances
    in float64, exact for integer coordinates); the first band starts at 0 inclusive,
    so an edge of 0 is the band of pairs at the same point.
    """
    radius = float(edges[-1])
    tree = cKDTree(xy)
    # a hair wider than the largest edge: the band is decided on d² below, not by the tree
    reach = radius * (1 + 1e-9) + 1e-9
    estimate = estimate_pairs(tree, xy, reach)
    if estimate > max_pairs:
        raise AnalysisError(
            f"expected at most {max_pairs:,} pairs of events within {radius:g} of each other, "
            f"got about {estimate:,.0f} ({xy.shape[0]:,} events) — use a smaller largest "
            "distance band, a shorter period or fewer events, or raise max_pairs"
        )
    found = tree.query_pairs(reach, output_type="ndarray")
    index_type = np.int32 if xy.shape[0] < 2**31 else np.int64
    i = found[:, 0].astype(index_type)
    j = found[:, 1].astype(index_type)
    del found
    xs, ys = np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1])
    limits = edges.astype(np.float64) ** 2
    # band each chunk while it is in cache and file its pairs by band at once (a counting
    # sort; passes over the whole arrays cost several times more at 10⁷ pairs)
    parts_i: list[list[np.ndarray]] = [[] for _ in range(edges.size)]
    parts_j: list[list[np.ndarray]] = [[] for _ in range(edges.size)]
    for a in range(0, i.size, PAIR_CHUNK):
        ic, jc = i[a : a + PAIR_CHUNK], j[a : a + PAIR_CHUNK]
        dx = xs[ic] - xs[jc]
        dy = ys[ic] - ys[jc]
        d2 = dx * dx + dy * dy
        band = np.zeros(ic.size, dtype=np.int16)
        for e2 in limits:
            band += d2 > e2
        for k in range(edges.size):
            hit = band == k
            parts_i[k].append(ic[hit])
            parts_j[k].append(jc[hit])
    del i, j
    sizes = [sum(p.size for p in parts) for parts in parts_i]
    starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    empty = np.empty(0, dtype=index_type)
    flat_i = [p for parts in parts_i for p in parts] or [empty]
    flat_j = [p for parts in parts_j for p in parts] or [empty]
    return ClosePairs(i=np.concatenate(flat_i), j=np.concatenate(flat_j), starts=starts)


def with_beyond_row(inner: np.ndarray, margin: np.ndarray) -> np.ndarray:
    """Add the 'beyond the largest distance' row: the time margin minus the listed rows."""
    return np.vstack([inner, margin - inner.sum(axis=0)])


def pairs_total(n: int) -> int:
    """``n (n - 1) / 2`` as a Python int."""
    return math.comb(n, 2)


# --------------------------------------------------------------------------------------
# the observed table without listing every spatial pair


def band_totals(tree: cKDTree, edges: np.ndarray) -> np.ndarray:
    """Pairs ``i < j`` per distance band within ``edges[-1]``, counted without listing them.

    ``cKDTree.count_neighbors`` counts ordered pairs at distance ``<= r`` (itself
    included) with the same squared-distance predicate :func:`close_pairs` uses.
    """
    n = tree.n
    within = tree.count_neighbors(tree, edges.astype(np.float64), cumulative=True)
    cumulative = (np.asarray(within, dtype=np.int64) - n) // 2
    return np.diff(np.concatenate([[0], cumulative]))


def _time_blocks(s: np.ndarray, t_max: float) -> np.ndarray:
    """Starts of blocks of the sorted times ``s``: each block runs from its first time
    ``s[b]`` while ``s[x] - s[b] <= t_max``, so that two events ``t_max`` or less apart
    lie in one block or in two neighbouring ones — decided with the pairs' own
    subtraction, which is monotone, so rounding cannot put such a pair two blocks apart.
    """
    wide = s.astype(np.int64) if s.dtype.kind in "iu" else s  # s + t_max must not overflow
    n = s.size
    starts = []
    b = 0
    while b < n:
        starts.append(b)
        end = int(np.searchsorted(s, wide[b] + t_max, side="right"))
        while end < n and s[end] - s[b] <= t_max:  # rounding: the next one is still within
            end += 1
        while end > b + 1 and s[end - 1] - s[b] > t_max:  # rounding: the last one is not
            end -= 1
        b = end
    return np.asarray(starts, dtype=np.int64)


def space_time_table(
    xy: np.ndarray, times: np.ndarray, d_edges: np.ndarray, t_edges: np.ndarray
) -> np.ndarray:
    """Pairs per (distance band, time band) within the largest distance edge, exactly.

    The same table as ``close_pairs(xy, d_edges, …).table(times, t_edges)``, with memory
    bounded by the pairs close in space *and* time rather than by every pair close in
    space: the sorted events are cut into time blocks as wide as the largest time edge,
    so that a pair within it lies in one block or two neighbouring ones; each block with
    the next is searched with a KD-tree, and only its pairs within the largest time edge
    are banded. The column beyond the largest time edge is each distance band's total
    (:func:`band_totals`) minus the pairs counted.

    Parameters
    ----------
    xy
        Coordinates ``(n, 2)``.
    times
        Times in the arithmetic of :func:`comparable_times`.
    d_edges, t_edges
        Distance and (comparable) time edges.

    Returns
    -------
    numpy.ndarray
        int64, shape ``(len(d_edges), len(t_edges) + 1)``.
    """
    bands, cols = d_edges.size, t_edges.size + 1
    out = np.zeros((bands, cols), dtype=np.int64)
    reach = float(d_edges[-1]) * (1 + 1e-9) + 1e-9
    limits = d_edges.astype(np.float64) ** 2
    t_max = t_edges[-1]
    order = np.argsort(times, kind="stable")
    starts = _time_blocks(times[order], t_max)
    ends = np.append(starts[1:], order.size)
    for k in range(starts.size):
        own = order[starts[k] : ends[k]]
        nxt = order[starts[k + 1] : ends[k + 1]] if k + 1 < starts.size else order[:0]
        members = np.concatenate([own, nxt])
        if members.size < 2:
            continue
        found = cKDTree(xy[members]).query_pairs(reach, output_type="ndarray")
        for a in range(0, found.shape[0], PAIR_CHUNK):  # 16 bytes a pair, no more
            part = found[a : a + PAIR_CHUNK]
            # pairs with both events in the next block are counted with that block
            keep = (part[:, 0] < own.size) | (part[:, 1] < own.size)
            ic, jc = members[part[keep, 0]], members[part[keep, 1]]
            d = times[ic] - times[jc]
            np.abs(d, out=d)
            close = d <= t_max
            ic, jc, d = ic[close], jc[close], d[close]
            dx = xy[ic, 0] - xy[jc, 0]
            dy = xy[ic, 1] - xy[jc, 1]
            d2 = dx * dx + dy * dy
            band = np.zeros(ic.size, dtype=np.int64)
            for e2 in limits:
                band += d2 > e2
            col = np.zeros(ic.size, dtype=np.int64)
            for e in t_edges:
                col += d > e
            inside = band < bands
            out += np.bincount(band[inside] * cols + col[inside], minlength=bands * cols).reshape(
                bands, cols
            )
    totals = band_totals(cKDTree(xy), d_edges)
    out[:, -1] = totals - out[:, :-1].sum(axis=1)
    return out
