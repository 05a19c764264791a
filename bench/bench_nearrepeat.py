"""Benchmark of the Knox near-repeat test and of the event clusters.

Run with ``.venv/bin/python bench/bench_nearrepeat.py`` (``--quick`` skips the pointpats
run at 3·10⁴ that checks the extrapolation; ``--full`` adds HDBSCAN at 10⁵, minutes).

Synthetic events: clustered over a 30 × 30 km square (like a city's events), times
uniform over four years, 10 % of them a *repeat* of an earlier event (within 150 m and
7 days), so the tables have a signal to find.

1. **Knox test** (200 m, 7 days, ``--permutations`` shuffles): ``knox`` against
   ``pointpats.Knox`` with the same ``numpy.random.RandomState`` — the tables and every
   permuted statistic must be identical. pointpats keeps every event's spatial and
   temporal neighbours as Python sets; at 10⁵ events that needs more memory than this
   machine has, so its time and memory there are extrapolated from its measured cost per
   neighbour entry (checked against a measured run at 3·10⁴ unless ``--quick``).
2. **Near-repeat table** (same location + 5 × 100 m, 4 × 7 days, as the Near Repeat
   Calculator): ``knox_table`` against a NumPy brute force over all ``n (n - 1) / 2``
   pairs (equality checked; at 10⁵ that is 5·10⁹ pairs and is not run).
3. **Clusters**: ``dbscan`` (100 m, 10 events) and ``hdbscan`` (25 events) against
   scikit-learn's fit alone — the difference is the outlines.

Every Knox candidate runs in a fresh process, so that its peak memory (RSS) is its own.
``bench/bench_sampling.py`` times the table on every event at city scale (10⁴ to 2·10⁵)
against the step's old cap.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import resource
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

SEED = 20_240_101
SIDE = 30_000.0
DAYS = 4 * 365
DELTA, TAU = 200.0, 7.0
D_BANDS = [100.0, 200.0, 300.0, 400.0, 500.0]
T_BANDS = [7.0, 14.0, 21.0, 28.0]


def synthetic_events(n: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """``n`` events: (x, y) in metres and t in days; 10 % are near repeats."""
    rng = np.random.default_rng(seed)
    n_repeat = n // 10
    n_first = n - n_repeat
    centres = rng.uniform(1_000, SIDE - 1_000, size=(400, 2))
    sizes = rng.pareto(1.2, 400) + 1
    which = rng.choice(400, size=n_first, p=sizes / sizes.sum())
    spread = rng.uniform(30, 600, 400)[which]
    xy = centres[which] + rng.normal(size=(n_first, 2)) * spread[:, None]
    t = rng.uniform(0, DAYS, n_first)
    src = rng.integers(0, n_first, n_repeat)
    angle = rng.uniform(0, 2 * math.pi, n_repeat)
    dist = rng.uniform(0, 150, n_repeat)
    offset = np.column_stack([np.cos(angle), np.sin(angle)]) * dist[:, None]
    xy = np.vstack([xy, xy[src] + offset])
    t = np.concatenate([t, t[src] + rng.uniform(0, 7, n_repeat)])
    return xy, t


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# ------------------------------------------------------------------ candidates (child side)


def run_ours_knox(n: int, permutations: int) -> dict[str, Any]:
    from trygghetskarta.analysis.nearrepeat import knox

    xy, t = synthetic_events(n)
    knox(xy[:50, 0], xy[:50, 1], t[:50], distance=DELTA, time=TAU, permutations=2)  # warm-up
    start = time.perf_counter()
    res = knox(
        xy[:, 0],
        xy[:, 1],
        t,
        distance=DELTA,
        time=TAU,
        permutations=permutations,
        seed=np.random.RandomState(SEED),
    )
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "rss": _peak_rss_mb(),
        "observed": res.observed,
        "expected": res.expected,
        "sim": res.simulated,
        "ns": res.close_in_space,
        "nt": res.close_in_time,
    }


def run_pointpats_knox(n: int, permutations: int) -> dict[str, Any]:
    from pointpats import Knox

    xy, t = synthetic_events(n)
    Knox(xy[:50], t[:50, None], delta=DELTA, tau=TAU, permutations=2)  # warm-up
    np.random.seed(SEED)
    start = time.perf_counter()
    res = Knox(xy, t[:, None], delta=DELTA, tau=TAU, permutations=permutations, keep=True)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "rss": _peak_rss_mb(),
        "observed": res.observed,
        "expected": res.expected,
        "sim": getattr(res, "sim", np.empty(0)),
    }


def run_ours_table(n: int, permutations: int) -> dict[str, Any]:
    from trygghetskarta.analysis.nearrepeat import knox_table

    xy, t = synthetic_events(n)
    knox_table(xy[:50, 0], xy[:50, 1], t[:50], distance_bands=D_BANDS, time_bands=T_BANDS)
    start = time.perf_counter()
    tab = knox_table(
        xy[:, 0],
        xy[:, 1],
        t,
        distance_bands=D_BANDS,
        time_bands=T_BANDS,
        same_location=True,
        permutations=permutations,
        seed=SEED,
        max_pairs=100_000_000,
    )
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "rss": _peak_rss_mb(),
        "observed": tab.observed,
        "ratio": tab.ratio,
        "p": tab.p_value,
        "close_pairs": int(tab.observed[:-1].sum()),
    }


def run_brute_table(n: int) -> dict[str, Any]:
    """Every pair at once with NumPy: what a direct implementation does."""
    xy, t = synthetic_events(n)
    start = time.perf_counter()
    i, j = np.triu_indices(n, 1)
    d = np.hypot(xy[i, 0] - xy[j, 0], xy[i, 1] - xy[j, 1])
    dt = np.abs(t[i] - t[j])
    sb = np.searchsorted(np.array([0.0, *D_BANDS]), d, side="left")
    tb = np.searchsorted(np.array(T_BANDS), dt, side="left")
    shape = (len(D_BANDS) + 2, len(T_BANDS) + 1)
    observed = np.bincount(sb * shape[1] + tb, minlength=shape[0] * shape[1]).reshape(shape)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "rss": _peak_rss_mb(), "observed": observed}


# ------------------------------------------------------------------ parent side


def in_child(fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """Run ``fn(*args)`` in a fresh process (its own peak memory)."""
    with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def fmt_s(seconds: float) -> str:
    return f"{seconds:.3f}" if seconds < 100 else f"{seconds:.0f}"


def knox_section(args: argparse.Namespace) -> None:
    perms = args.permutations
    print(f"1. Knox test, {DELTA:.0f} m × {TAU:.0f} d, {perms} permutations (same seed)")
    head = (
        f"{'events':>8} {'ours s':>8} {'ours MB':>8} {'pointpats s':>12} {'pointpats MB':>13} "
        f"{'pp/ours':>8} {'tables':>7} {'perms':>6} {'NS':>10} {'NT':>10}"
    )
    print(head)
    print("-" * len(head))
    base = in_child(run_ours_knox, 100, 0)["rss"]  # an interpreter with numpy and scipy
    ours_small = in_child(run_ours_knox, 10_000, perms)
    pp_setup = in_child(run_pointpats_knox, 10_000, 0)
    pp_small = in_child(run_pointpats_knox, 10_000, perms)
    same_tab = np.array_equal(ours_small["observed"], pp_small["observed"]) and np.allclose(
        ours_small["expected"], pp_small["expected"], rtol=1e-12
    )
    same_sim = np.array_equal(ours_small["sim"], pp_small["sim"])
    print(
        f"{10_000:>8,} {fmt_s(ours_small['seconds']):>8} {ours_small['rss']:>8.0f} "
        f"{fmt_s(pp_small['seconds']):>12} {pp_small['rss']:>13.0f} "
        f"{pp_small['seconds'] / ours_small['seconds']:>8.1f} {same_tab!s:>7} "
        f"{same_sim!s:>6} {ours_small['ns']:>10,} {ours_small['nt']:>10,}"
    )
    # pointpats' cost model: its setup and memory grow with the neighbour entries it keeps
    # (2 NS + 2 NT Python set items), each permutation with the spatial entries (2 NS);
    # fitted as a line through the measured runs without permutations
    points = [(2 * (ours_small["ns"] + ours_small["nt"]), pp_setup["seconds"], pp_setup["rss"])]
    if not args.quick:
        mid = 30_000
        ours_mid = in_child(run_ours_knox, mid, 0)
        pp_mid = in_child(run_pointpats_knox, mid, 0)
        same_mid = np.array_equal(ours_mid["observed"], pp_mid["observed"])
        print(
            f"{mid:>8,} {fmt_s(ours_mid['seconds']):>8} {ours_mid['rss']:>8.0f} "
            f"{fmt_s(pp_mid['seconds']):>12} {pp_mid['rss']:>13.0f} "
            f"{pp_mid['seconds'] / ours_mid['seconds']:>8.1f} "
            f"{same_mid!s:>7} {'–':>6} {ours_mid['ns']:>10,} {ours_mid['nt']:>10,}   "
            "(both without permutations)"
        )
        points.append((2 * (ours_mid["ns"] + ours_mid["nt"]), pp_mid["seconds"], pp_mid["rss"]))
    e = np.array([p[0] for p in points], dtype=float)
    if len(points) > 1:
        sec_fit = np.polyfit(e, [p[1] for p in points], 1)
        mb_fit = np.polyfit(e, [p[2] for p in points], 1)
    else:
        sec_fit = np.array([points[0][1] / e[0], 0.0])
        mb_fit = np.array([(points[0][2] - base) / e[0], base])
    per_perm_entry = (pp_small["seconds"] - pp_setup["seconds"]) / perms / (2 * ours_small["ns"])
    ours_big = in_child(run_ours_knox, 100_000, perms)
    entries = 2 * (ours_big["ns"] + ours_big["nt"])
    seconds = float(np.polyval(sec_fit, entries)) + perms * per_perm_entry * 2 * ours_big["ns"]
    mb = float(np.polyval(mb_fit, entries))
    print(
        f"{100_000:>8,} {fmt_s(ours_big['seconds']):>8} {ours_big['rss']:>8.0f} "
        f"{'≈' + fmt_s(seconds):>12} {'≈' + f'{mb:.0f}':>13} {seconds / ours_big['seconds']:>8.0f} "
        f"{'–':>7} {'–':>6} {ours_big['ns']:>10,} {ours_big['nt']:>10,}   "
        "(pointpats extrapolated, not run)"
    )
    print(
        f"   pointpats model ({len(points)} measured runs): {sec_fit[0] * 1e6:.2f} µs and "
        f"{mb_fit[0] * 1e3:.2f} kB per neighbour entry, {per_perm_entry * 1e6:.2f} µs per "
        "spatial entry and permutation"
    )


def table_section(args: argparse.Namespace) -> None:
    perms = args.permutations
    print(
        f"\n2. Near-repeat table, same location + {len(D_BANDS)} × 100 m, "
        f"{len(T_BANDS)} × 7 d, {perms} permutations"
    )
    head = (
        f"{'events':>8} {'close pairs':>12} {'ours s':>8} {'no perms s':>11} {'ours MB':>8} "
        f"{'brute s':>8} {'brute MB':>9} {'brute/ours':>11} {'equal':>6} "
        f"{'ratio 0–100 m × 0–7 d':>22}"
    )
    print(head)
    print("-" * len(head))
    for n in (10_000, 100_000):
        ours = in_child(run_ours_table, n, perms)
        bare = in_child(run_ours_table, n, 0)
        if n <= 10_000:
            brute = in_child(run_brute_table, n)
            equal = str(np.array_equal(brute["observed"], ours["observed"]))
            b_s, b_mb = fmt_s(brute["seconds"]), f"{brute['rss']:.0f}"
            ratio = f"{brute['seconds'] / bare['seconds']:.0f}"
        else:
            pairs = n * (n - 1) // 2
            b_s, b_mb, ratio, equal = "–", f"≈{pairs * 40 / 1e9:.0f} GB", "–", "–"
        cell = f"{ours['ratio'][1, 0]:.2f} (p {ours['p'][1, 0]:.3f})"
        print(
            f"{n:>8,} {ours['close_pairs']:>12,} {fmt_s(ours['seconds']):>8} "
            f"{fmt_s(bare['seconds']):>11} {ours['rss']:>8.0f} {b_s:>8} {b_mb:>9} {ratio:>11} "
            f"{equal:>6} {cell:>22}"
        )
    print("   brute/ours compares the table without permutations (the brute force has none)")


def clusters_section(args: argparse.Namespace) -> None:
    from sklearn.cluster import DBSCAN, HDBSCAN

    from trygghetskarta.analysis.clusters import dbscan, hdbscan

    print("\n3. Clusters (ours = scikit-learn + renumbering + concave outlines)")
    head = (
        f"{'method':>8} {'events':>8} {'ours s':>8} {'sklearn s':>10} {'ours/sklearn':>13} "
        f"{'clusters':>9} {'noise':>8}"
    )
    print(head)
    print("-" * len(head))
    runs: list[tuple[str, int]] = [("dbscan", 10_000), ("dbscan", 100_000), ("hdbscan", 10_000)]
    if args.full:
        runs.append(("hdbscan", 100_000))
    for method, n in runs:
        xy, _ = synthetic_events(n)
        if method == "dbscan":
            start = time.perf_counter()
            DBSCAN(eps=100.0, min_samples=10).fit(xy)
            t_sk = time.perf_counter() - start
            start = time.perf_counter()
            res = dbscan(xy[:, 0], xy[:, 1], eps=100.0, min_samples=10)
        else:
            start = time.perf_counter()
            HDBSCAN(min_cluster_size=25, copy=True).fit(xy)
            t_sk = time.perf_counter() - start
            start = time.perf_counter()
            res = hdbscan(xy[:, 0], xy[:, 1], min_cluster_size=25)
        t_ours = time.perf_counter() - start
        print(
            f"{method:>8} {n:>8,} {fmt_s(t_ours):>8} {fmt_s(t_sk):>10} {t_ours / t_sk:>13.2f} "
            f"{res.n_clusters:>9,} {res.n_noise:>8,}"
        )
    if not args.full:
        print("   hdbscan at 10⁵ skipped (minutes with scikit-learn; pass --full)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--permutations", type=int, default=99)
    parser.add_argument("--quick", action="store_true", help="skip pointpats at 3·10⁴")
    parser.add_argument("--full", action="store_true", help="add HDBSCAN at 10⁵")
    args = parser.parse_args()
    print(
        f"synthetic events over {SIDE / 1000:.0f} × {SIDE / 1000:.0f} km and {DAYS} days, "
        f"10 % near repeats; {mp.cpu_count()} CPUs\n"
    )
    knox_section(args)
    table_section(args)
    clusters_section(args)


if __name__ == "__main__":
    main()
