"""What the analyst's inputs cost: GeoDataFrames and libpysal weights against bare arrays.

Run with ``.venv/bin/python bench/bench_api.py`` (``--quick`` for smaller sizes).

1. **kde on 50 000 events**, 100 m cells, 300 m bandwidth over 20 × 20 km: x and y arrays
   in EPSG:3006 (the baseline) against a GeoDataFrame in EPSG:3006 (geometry → arrays)
   and a GeoDataFrame in EPSG:4326 (reprojected first).
2. **Gi\\* on 2 500 areas** (a 50 × 50 lattice of polygons): a precomputed adjacency
   (the baseline) against a libpysal ``Queen`` W (its neighbour structure matched to a
   Series' ids), a ``Graph``, and the GeoDataFrame itself (queen contiguity computed
   with shapely), and against ``esda.G_Local(..., permutations=0)`` on the same W.

Each line prints the time and its ratio to the baseline; times are the best of
``--repeat`` runs after one warm-up.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from trygghetskarta.analysis import gi_star_areas, kde, queen_neighbours

SEED = 20_250_101
X0, Y0 = 664_000.0, 6_570_000.0  # south-west corner, roughly Stockholm in SWEREF99 TM


def best_of(fn: Callable[[], object], repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def report(label: str, seconds: float, baseline: float) -> None:
    print(f"  {label:<44} {seconds * 1000:9.1f} ms   {seconds / baseline:6.2f} × baseline")


def bench_kde(n: int, repeat: int) -> None:
    rng = np.random.default_rng(SEED)
    x = X0 + rng.uniform(0, 20_000, n)
    y = Y0 + rng.uniform(0, 20_000, n)
    bounds = (X0, Y0, X0 + 20_000, Y0 + 20_000)
    in_3006 = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs="EPSG:3006")
    in_4326 = in_3006.to_crs("EPSG:4326")
    args = {"cell_size": 100, "bandwidth": 300, "bounds": bounds}
    print(f"kde, {n:,} events, 200 × 200 cells")
    base = best_of(lambda: kde(x, y, **args), repeat)
    report("x, y arrays in EPSG:3006 (baseline)", base, base)
    report("GeoDataFrame in EPSG:3006", best_of(lambda: kde(in_3006, **args), repeat), base)
    report(
        "GeoDataFrame in EPSG:4326 (reprojected)",
        best_of(lambda: kde(in_4326, **args), repeat),
        base,
    )


def bench_areas(side: int, repeat: int) -> None:
    from esda.getisord import G_Local
    from libpysal.graph import Graph
    from libpysal.weights import Queen

    boxes = [
        shapely.box(X0 + c * 500, Y0 + r * 500, X0 + (c + 1) * 500, Y0 + (r + 1) * 500)
        for r in range(side)
        for c in range(side)
    ]
    areas = gpd.GeoDataFrame(
        {"code": [f"a{i:05d}" for i in range(side * side)]}, geometry=boxes, crs="EPSG:3006"
    ).set_index("code")
    values = pd.Series(np.random.default_rng(SEED).poisson(5, side * side), index=areas.index)
    values = values.astype(float)
    adjacency = queen_neighbours(areas)
    w = Queen.from_dataframe(areas, use_index=True)
    graph = Graph.build_contiguity(areas, rook=False)
    print(f"Gi* on {side * side:,} areas (queen contiguity)")
    base = best_of(lambda: gi_star_areas(values.to_numpy(), adjacency, fdr=False), repeat)
    report("adjacency (baseline)", base, base)
    report(
        "libpysal W, values as a Series", best_of(lambda: gi_star_areas(values, w), repeat), base
    )
    report("libpysal Graph", best_of(lambda: gi_star_areas(values, graph), repeat), base)
    report(
        "the GeoDataFrame (contiguity computed)",
        best_of(lambda: gi_star_areas(values, areas), repeat),
        base,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        esda = best_of(
            lambda: G_Local(values.to_numpy(), w, transform="B", star=True, permutations=0), repeat
        )
    report("esda G_Local on the same W", esda, base)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    bench_kde(10_000 if args.quick else 50_000, args.repeat)
    bench_areas(20 if args.quick else 50, args.repeat)


if __name__ == "__main__":
    main()
