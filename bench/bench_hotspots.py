"""Benchmark of Gi*, its permutations and emerging hot spots against libpysal + esda, pymannkendall.

Run with ``.venv/bin/python bench/bench_hotspots.py`` (``--quick`` for smaller sizes).

1. **Gi\\* on a 300 × 300 grid** (90 000 cells of clustered Poisson counts), queen
   neighbourhood of order 1 (3 × 3) and 2 (5 × 5): ``gi_star`` (analytic z, p, BH FDR,
   bins) against building libpysal weights (``lat2W(rook=False)``, plus
   ``higher_order(..., lower_order=True)`` for order 2) and running
   ``esda.G_Local(y, w, star=True, transform="B", permutations=0)`` on the same grid; the
   largest |Δz| shows they compute the same numbers.
2. **Conditional permutations** (999): ``gi_star(..., permutations=999)`` against esda's
   ``G_Local(..., permutations=999)`` (which uses numba when installed; without numba it
   is a Python loop, timed on a smaller grid and extrapolated per cell).
3. **Emerging hot spots** on a 100 × 100 × 24 cube: ``emerging_hotspots`` (space-time
   Gi*, FDR over the cube, two Mann-Kendall tests per cell, the patterns) against the
   same work done the usual way: esda's ``G_Local`` per period on libpysal weights plus
   ``pymannkendall.original_test`` per cell (timed on a sample of cells, extrapolated).

Times are the best of ``--repeat`` runs after one warm-up.
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
from collections.abc import Callable

import numpy as np
from affine import Affine

from trygghetskarta.analysis.emerging import SpaceTimeCube, emerging_hotspots
from trygghetskarta.analysis.hotspots import gi_star

SEED = 20_240_101


def best_of(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    """(best of ``repeat`` calls after a warm-up, last result)."""
    result = fn()
    best = math.inf
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, result


def once(fn: Callable[[], object]) -> tuple[float, object]:
    t = time.perf_counter()
    result = fn()
    return time.perf_counter() - t, result


def clustered_counts(side: int, seed: int = SEED) -> np.ndarray:
    """Poisson counts with a smooth background and 40 hot areas, like crime on a city grid."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:side, 0:side]
    rate = np.full((side, side), 0.5)
    for cy, cx, s, a in zip(
        rng.uniform(0, side, 40),
        rng.uniform(0, side, 40),
        rng.uniform(2, side / 15, 40),
        rng.uniform(2, 20, 40),
        strict=True,
    ):
        rate += a * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s * s))
    return rng.poisson(rate).astype(float)


def esda_gi(y: np.ndarray, w: object, permutations: int = 0) -> object:
    from esda.getisord import G_Local

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return G_Local(y, w, transform="B", star=True, permutations=permutations, seed=1)


def lattice(side: int, order: int) -> object:
    from libpysal.weights import higher_order, lat2W

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = lat2W(side, side, rook=False)
        return higher_order(w, order, lower_order=True) if order > 1 else w


def bench_gi(side: int, repeat: int) -> None:
    counts = clustered_counts(side)
    print(f"1. Gi* on a {side} × {side} grid ({side * side:,} cells), analytic z + BH FDR + bins")
    head = (
        f"{'order':>5} {'gi_star s':>10} {'lat2W s':>9} {'esda s':>8} {'libpysal+esda s':>15} "
        f"{'ratio':>8} {'max |Δz|':>9} {'hot cells':>9}"
    )
    print(head)
    print("-" * len(head))
    for order in (1, 2):
        t_ours, res = best_of(lambda o=order: gi_star(counts, neighbourhood=o), repeat)
        t_w, w = once(lambda o=order: lattice(side, o))
        t_esda, ref = once(lambda w=w: esda_gi(counts.ravel(), w))
        dz = float(np.abs(res.z.ravel() - ref.Zs).max())
        total = t_w + t_esda
        print(
            f"{order:>5} {t_ours:>10.4f} {t_w:>9.2f} {t_esda:>8.2f} {total:>15.2f} "
            f"{total / t_ours:>7.0f}× {dz:>9.1e} {int((res.bins > 0).sum()):>9,}"
        )
    print("targets: gi_star < 0.1 s and ≥ 100× faster than libpysal + esda, same z (≤ 1e-6)\n")


def bench_permutations(side: int, esda_side: int, permutations: int) -> None:
    counts = clustered_counts(side)
    print(f"2. conditional permutations ({permutations}), order 1")
    t_ours, _ = once(lambda: gi_star(counts, permutations=permutations, seed=1))
    small = clustered_counts(esda_side)
    w = lattice(esda_side, 1)
    t_esda, _ = once(lambda: esda_gi(small.ravel(), w, permutations=permutations))
    per_cell = t_esda / esda_side**2
    try:
        import numba  # noqa: F401

        engine = "numba"
    except ImportError:
        engine = "no numba: Python loop"
    est = per_cell * side * side
    print(
        f"   gi_star {side}×{side}: {t_ours:.2f} s   esda ({engine}) {esda_side}×{esda_side}: "
        f"{t_esda:.2f} s → {est:.1f} s for {side}×{side} (extrapolated per cell)   "
        f"ratio {est / t_ours:.0f}×\n"
    )


def bench_emerging(side: int, periods: int, sample: int, repeat: int) -> None:
    rng = np.random.default_rng(SEED + 1)
    base = clustered_counts(side)
    trend = np.linspace(0.6, 1.6, periods)[:, None, None]
    values = rng.poisson(base[None] * trend + 0.2).astype(float)
    cube = SpaceTimeCube(values, tuple(range(periods)), Affine(100, 0, 0, 0, -100, side * 100))
    print(f"3. emerging hot spots, {side} × {side} cells × {periods} periods")
    t_ours, res = best_of(lambda: emerging_hotspots(cube), repeat)
    t_per, _ = best_of(
        lambda: emerging_hotspots(cube, time_steps=0, global_window="period"), repeat
    )
    # the usual way: esda per period on libpysal weights, pymannkendall per cell
    import pymannkendall

    t_w, w = once(lambda: lattice(side, 1))
    t_esda, refs = once(lambda: [esda_gi(values[t].ravel(), w) for t in range(periods)])
    z_esda = np.stack([r.Zs for r in refs]).reshape(values.shape)
    cells = rng.choice(side * side, size=sample, replace=False)
    series = z_esda.reshape(periods, -1)[:, cells]
    t_mk, _ = once(lambda: [pymannkendall.original_test(series[:, i]) for i in range(sample)])
    t_mk_all = t_mk / sample * side * side * 2  # two tests per cell (z and counts)
    usual = t_w + t_esda + t_mk_all
    per_period = emerging_hotspots(cube, time_steps=0, global_window="period")
    dz = float(np.abs(per_period.z - z_esda).max())
    print(
        f"   emerging_hotspots (ArcGIS defaults: 1 time step, cube window): {t_ours:.3f} s\n"
        f"   emerging_hotspots (Gi* per period):                              {t_per:.3f} s\n"
        f"   lat2W {t_w:.2f} s + esda × {periods} periods {t_esda:.2f} s + pymannkendall "
        f"2 × {side * side:,} cells {t_mk_all:.1f} s (from {sample} cells) = {usual:.1f} s\n"
        f"   ratio {usual / t_per:.0f}× (per period)   max |Δz| per period vs esda {dz:.1e}\n"
        f"   patterns: " + ", ".join(f"{k} {v}" for k, v in res.counts().items() if v)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="smaller grids")
    args = parser.parse_args()
    side = 120 if args.quick else 300
    bench_gi(side, args.repeat)
    bench_permutations(side, 40 if args.quick else 60, 999)
    bench_emerging(50 if args.quick else 100, 24, 500 if args.quick else 2000, args.repeat)
    print(f"\n({__import__('os').cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
