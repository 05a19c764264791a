"""No silent sampling at city scale: Knox and clusters on every event against the old caps.

Run with ``.venv/bin/python bench/bench_sampling.py`` (``--full`` runs HDBSCAN on all
200 000 events, minutes; otherwise its time there is extrapolated from 10⁴ and 5·10⁴ and
marked ``≈``; ``--permutations`` for the Knox p-values, default 99).

Synthetic events (seeded, ``bench_nearrepeat.synthetic_events``): clustered over a
30 × 30 km square, 10 % near repeats, times over one year (the step's period).

1. **Knox** (same location + 250/500/1000 m × 7/14/28 days, as the step): the step's
   new method — the observed table on *every* event (``space_time_table``: band totals by
   ``count_neighbors``, pairs close in space and time by time blocks) plus the
   Monte-Carlo p-values on a seeded sample of ``knox_max_events`` — against the old
   step, which ran the whole test on that sample only; and the observed table of every
   event by the previous engine (every pair within 1 000 m listed, ``close_pairs``),
   checked equal, where its pairs fit in memory.
2. **Clusters**: HDBSCAN (scikit-learn, KD-tree) and DBSCAN (250 m, KD-tree) on every
   event against the old cap of ``cluster_max_events`` sampled events.

Ratios: ``new/old`` is the price of using every event (> 1: slower than the cap).
"""

from __future__ import annotations

import argparse
import math
import resource
import time
from collections.abc import Callable

import numpy as np
from bench_nearrepeat import synthetic_events
from scipy.spatial import cKDTree
from sklearn.cluster import DBSCAN, HDBSCAN

from trygghetskarta.analysis._knox_pairs import (
    close_pairs,
    comparable_times,
    estimate_pairs,
    space_time_table,
)
from trygghetskarta.analysis.nearrepeat import knox_table
from trygghetskarta.config import AnalysisParameters

PARAMS = AnalysisParameters()
SIZES = (10_000, 50_000, 200_000)
SEED = 20_240_101
#: The previous engine listed every pair within the largest band: at most this many here.
OLD_ENGINE_MAX_PAIRS = 150_000_000


def events(n: int) -> tuple[np.ndarray, np.ndarray]:
    xy, t = synthetic_events(n, seed=SEED)
    return xy, t / 4.0  # four years → one year


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def fmt(seconds: float | None, approx: bool = False) -> str:
    if seconds is None:
        return "–"
    text = f"{seconds:.2f}" if seconds < 100 else f"{seconds:.0f}"
    return ("≈" if approx else "") + text


def knox_section(permutations: int) -> None:
    cap = PARAMS.knox_max_events
    d_edges = np.array([0.0, *PARAMS.knox_distance_bands_m])
    t_edges = np.array(PARAMS.knox_time_bands_d)
    print(
        f"1. Knox, {permutations} permutations, cap knox_max_events = {cap:,} "
        "(new: table on every event + p-values on the cap; old: everything on the cap)"
    )
    head = (
        f"{'events':>8} {'pairs ≤1 km':>12} {'new table s':>12} {'p-values s':>11} "
        f"{'new s':>8} {'old s':>8} {'new/old':>8} {'old engine s':>13} {'engine/new':>11} "
        f"{'equal':>6}"
    )
    print(head)
    print("-" * len(head))
    rng = np.random.default_rng(SEED)
    for n in SIZES:
        xy, t = events(n)
        pick = np.sort(rng.choice(n, size=min(cap, n), replace=False))

        def run(idx: np.ndarray, perms: int, xy: np.ndarray = xy, t: np.ndarray = t) -> object:
            return knox_table(
                xy[idx, 0],
                xy[idx, 1],
                t[idx],
                distance_bands=PARAMS.knox_distance_bands_m,
                time_bands=PARAMS.knox_time_bands_d,
                same_location=True,
                permutations=perms,
                seed=SEED,
            )

        everything = np.arange(n)
        t_table, table = timed(lambda: run(everything, 0))  # noqa: B023
        t_perm, _ = timed(lambda: run(pick, permutations))  # noqa: B023
        old = t_perm  # the old step: the whole test on the same sample
        new = t_table + (t_perm if n > cap else 0.0)
        if n <= cap:  # nothing sampled: the new step permutes every event
            new, _ = timed(lambda: run(everything, permutations))  # noqa: B023
        pairs = estimate_pairs(cKDTree(xy), xy, float(d_edges[-1]))
        engine, equal = None, "–"
        if pairs <= OLD_ENGINE_MAX_PAIRS:
            times, t_cmp = comparable_times(t, t_edges, False)
            engine, listed = timed(
                lambda: close_pairs(xy, d_edges, 10**10).table(times, t_cmp)  # noqa: B023
            )
            fast = space_time_table(xy, times, d_edges, t_cmp)
            equal = str(bool(np.array_equal(listed, fast)))
            assert np.array_equal(fast, table.observed[:-1])
        ratio = "–" if engine is None else f"{engine / t_table:.1f}"
        print(
            f"{n:>8,} {pairs:>12,.0f} {fmt(t_table):>12} {fmt(t_perm):>11} {fmt(new):>8} "
            f"{fmt(old):>8} {new / old:>8.2f} {fmt(engine):>13} {ratio:>11} {equal:>6}"
        )
    print(
        "   old engine: the previous observed table (every pair within 1 000 m listed, "
        f"~16 bytes a pair); not run above {OLD_ENGINE_MAX_PAIRS:,} pairs"
    )


def cluster_section(full: bool) -> None:
    cap = PARAMS.cluster_max_events
    print(f"\n2. Clusters on every event against the old cap cluster_max_events = {cap:,}")
    head = (
        f"{'method':>8} {'events':>8} {'every event s':>14} {'cap s':>8} {'every/cap':>10} "
        f"{'clusters':>9}"
    )
    print(head)
    print("-" * len(head))
    rng = np.random.default_rng(SEED)
    measured: dict[int, float] = {}
    for method in ("hdbscan", "dbscan"):
        for n in SIZES:
            xy, _ = events(n)
            sample = xy[np.sort(rng.choice(n, size=min(cap, n), replace=False))]

            def fit(points: np.ndarray, method: str = method) -> object:
                if method == "hdbscan":
                    return HDBSCAN(
                        min_cluster_size=PARAMS.cluster_min_size, algorithm="kd_tree", copy=True
                    ).fit(points)
                return DBSCAN(
                    eps=PARAMS.cluster_eps_m,
                    min_samples=PARAMS.cluster_min_size,
                    algorithm="kd_tree",
                ).fit(points)

            t_cap, _ = timed(lambda: fit(sample))  # noqa: B023
            approx = method == "hdbscan" and n == SIZES[-1] and not full
            if approx:  # extrapolate from the two measured sizes (log-log)
                (n0, s0), (n1, s1) = sorted(measured.items())[-2:]
                slope = math.log(s1 / s0) / math.log(n1 / n0)
                t_all, found = s1 * (n / n1) ** slope, "–"
            else:
                t_all, model = timed(lambda: fit(xy))  # noqa: B023
                found = f"{int(model.labels_.max()) + 1:,}"
                if method == "hdbscan":
                    measured[n] = t_all
            print(
                f"{method:>8} {n:>8,} {fmt(t_all, approx):>14} {fmt(t_cap):>8} "
                f"{t_all / t_cap:>10.1f} {found:>9}"
            )
    if not full:
        print("   ≈: HDBSCAN at 200 000 extrapolated from 10⁴ and 5·10⁴ (pass --full to run it)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--permutations", type=int, default=99)
    parser.add_argument("--full", action="store_true", help="run HDBSCAN on 200 000 events")
    args = parser.parse_args()
    print(f"synthetic events, seed {SEED}, one year over 30 × 30 km, 10 % near repeats\n")
    knox_section(args.permutations)
    cluster_section(args.full)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak resident memory of the whole benchmark: {peak:,.0f} MB")


if __name__ == "__main__":
    main()
