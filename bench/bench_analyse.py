"""Time and memory of the whole ``analyse`` step, against the targets of issue 5.

Run with ``.venv/bin/python bench/bench_analyse.py`` (needs ``../shared/data``;
``--events N`` for another synthetic size, ``--quick`` for 200 000).

1. **Real data**: the real archive is ingested and geocoded into a temporary directory;
   the analyse step (every layer × category, density, Gi* on cells and stadsdelar, local
   Moran on RegSO, emerging hot spots, Knox, HDBSCAN, hour × weekday, trends in both
   district schemes) then runs in a fresh process. Target: under 60 s.
2. **Synthetic**: the events table of a copy of that database is replaced by 1 million
   synthetic events over 2024–2025 (four layers, police events and reported crimes with
   their categories, 60 % around 400 hot places, every precision class with the
   geocoder's kind of position and uncertainty), and the step runs again in a fresh
   process. Targets: under 5 minutes and a peak resident memory under 4 GB
   (``resource.getrusage``, the whole process: Python, libraries and data).
3. **Why sampling**: HDBSCAN and the Knox permutations grow with the square of the
   events; the step runs HDBSCAN on a seeded sample of ``cluster_max_events`` and the
   Knox permutations on one of ``knox_max_events`` above those sizes (the Knox table
   itself counts every event; ``bench/bench_sampling.py`` compares both). They are
   timed here on growing samples of the synthetic placed events and extrapolated
   (log-log fit) to the largest selection: the time the step would take without it.

Each row prints the measured time and its ratio to the target (or to the alternative).
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from trygghetskarta import areas as areas_mod
from trygghetskarta import pipeline, store
from trygghetskarta.analysis.clusters import hdbscan
from trygghetskarta.analysis.nearrepeat import MAX_PAIRS, knox_table
from trygghetskarta.config import AnalysisParameters, load_settings
from trygghetskarta.schema import UNCERTAINTY_M, Category, Layer, Precision

#: The step's default parameters (the caps and bands measured here).
PARAMS = AnalysisParameters()

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
SEED = 20_240_101
TARGET_REAL_S = 60.0
TARGET_SYNTH_S = 300.0
TARGET_RSS_GB = 4.0

LAYER_SHARES = {
    Layer.POLICE_EVENT.value: 0.5,
    Layer.REPORTED_CRIME.value: 0.35,
    Layer.FIRE.value: 0.10,
    Layer.SHOOTING.value: 0.05,
}
LAYER_CATEGORIES = {
    Layer.POLICE_EVENT.value: [c.value for c in Category if c is not Category.SUMMARY],
    Layer.REPORTED_CRIME.value: [
        c.value
        for c in (
            Category.VIOLENCE,
            Category.ROBBERY,
            Category.THEFT_BURGLARY,
            Category.VANDALISM,
            Category.DRUGS,
            Category.OTHER,
        )
    ],
    Layer.FIRE.value: [Category.FIRE.value],
    Layer.SHOOTING.value: [Category.SHOOTING_EXPLOSION.value],
}
PRECISION_SHARES = {
    Precision.EXACT: 0.20,
    Precision.ADDRESS: 0.20,
    Precision.STREET: 0.10,
    Precision.PLACE: 0.15,
    Precision.STADSDEL: 0.25,
    Precision.STADSDELSOMRADE: 0.03,
    Precision.KOMMUN: 0.07,
}
HOUR_WEIGHTS = np.array(
    [3, 2, 2, 1, 1, 1, 2, 3, 4, 4, 4, 5, 5, 5, 5, 6, 6, 7, 7, 7, 7, 6, 5, 4], dtype=float
)


def settings_for(out: Path):
    env = {"TRYGGHETSKARTA_DATA": str(DATA), "TRYGGHETSKARTA_PROCESSED": str(out)}
    return load_settings(REPO, env=env)


# --------------------------------------------------------------------------------------
# the measured run, in a fresh process


def child(out: Path) -> None:
    """Run the analyse step on ``out``'s database; print seconds, parts and peak RSS."""
    settings = settings_for(out)
    con = store.connect(settings.db_path)
    start = time.perf_counter()
    result = pipeline.analyse(settings, con)
    seconds = time.perf_counter() - start
    con.close()
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rss_gb": rss_kb * 1024 / 1e9,
                "parts": result.counts.get("seconds", {}),
                "files": len(result.files),
                "warnings": len(result.warnings),
                "selections": result.counts.get("selections"),
                "events": result.counts.get("events"),
                "events_in_period": result.counts.get("events_in_period"),
                "emerging": {
                    k: v["cell_size_m"] for k, v in result.counts.get("emerging", {}).items()
                },
            }
        )
    )


def measure(out: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(out)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------
# synthetic events


def _points_in(geom: shapely.Geometry, n: int, rng: np.random.Generator) -> np.ndarray:
    xmin, ymin, xmax, ymax = shapely.bounds(geom)
    shapely.prepare(geom)
    out = np.empty((0, 2))
    while len(out) < n:
        cand = rng.uniform((xmin, ymin), (xmax, ymax), size=(2 * n, 2))
        out = np.vstack([out, cand[shapely.contains_xy(geom, cand[:, 0], cand[:, 1])]])
    return out[:n]


def synthetic_events(n: int, areas: areas_mod.Areas, seed: int = SEED) -> pd.DataFrame:
    """``n`` events over 2024–2025 shaped like the real ones (see the module notes)."""
    rng = np.random.default_rng(seed)
    kommun = areas.kommun.geometry.iloc[0]
    centres = _points_in(kommun, 400, rng)
    places = _points_in(kommun, 800, rng)
    hot = rng.random(n) < 0.6
    xy = _points_in(kommun, n, rng)
    pick = rng.integers(0, len(centres), size=int(hot.sum()))
    xy[hot] = centres[pick] + rng.normal(0, 150, size=(int(hot.sum()), 2))

    days = rng.integers(0, 731, size=n)
    hours = rng.choice(24, size=n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    minutes = rng.integers(0, 60, size=n)
    naive = (
        pd.Timestamp("2024-01-01")
        + pd.to_timedelta(days, unit="D")
        + pd.to_timedelta(hours * 60 + minutes, unit="min")
    )
    occurred = pd.Series(naive).dt.tz_localize(
        "Europe/Stockholm", ambiguous="NaT", nonexistent="shift_forward"
    )
    occurred = occurred.fillna(pd.Timestamp("2024-06-01 12:00", tz="Europe/Stockholm"))

    placed = areas_mod.assign(xy[:, 0], xy[:, 1], occurred, areas)
    layers = rng.choice(list(LAYER_SHARES), size=n, p=list(LAYER_SHARES.values()))
    categories = np.empty(n, dtype=object)
    for layer, cats in LAYER_CATEGORIES.items():
        here = layers == layer
        categories[here] = rng.choice(cats, size=int(here.sum()))
    classes = list(PRECISION_SHARES)
    precision = rng.choice(
        np.array([c.value for c in classes], dtype=object),
        size=n,
        p=list(PRECISION_SHARES.values()),
    )
    x, y = xy[:, 0].copy(), xy[:, 1].copy()
    u = np.array([UNCERTAINTY_M[Precision(p)] or np.nan for p in precision], dtype=float)
    jitter = {Precision.ADDRESS.value: 10.0, Precision.STREET.value: 150.0}
    for cls, sd in jitter.items():
        m = precision == cls
        x[m] += rng.normal(0, sd, int(m.sum()))
        y[m] += rng.normal(0, sd, int(m.sum()))
    m = precision == Precision.PLACE.value
    _, nearest = shapely.STRtree(shapely.points(places)).query_nearest(shapely.points(xy[m]))
    x[m], y[m] = places[nearest, 0], places[nearest, 1]
    u[m] = rng.uniform(100, 900, int(m.sum()))
    for cls, layer, col in (
        (Precision.STADSDEL.value, areas.stadsdelar, "stadsdel"),
        (Precision.STADSDELSOMRADE.value, areas.sdo_13, None),
    ):
        m = precision == cls
        names = placed["stadsdel"].to_numpy(dtype=object)
        if col is None:  # the district's point; 13-area names for the geometry
            d13 = areas_mod.assign(xy[:, 0], xy[:, 1], pd.Timestamp("2023-06-01"), areas)
            names = d13["stadsdelsomrade"].to_numpy(dtype=object)
        lookup = layer.set_index("name")
        reps = lookup.geometry.representative_point()
        radius = np.sqrt(lookup.geometry.area / np.pi)
        known = m & pd.Series(names).isin(lookup.index).to_numpy()
        x[known] = reps.x.reindex(names[known]).to_numpy()
        y[known] = reps.y.reindex(names[known]).to_numpy()
        u[known] = radius.reindex(names[known]).to_numpy()
    unplaced = precision == Precision.KOMMUN.value
    x[unplaced] = y[unplaced] = np.nan
    stadsdel = placed["stadsdel"].to_numpy(dtype=object, copy=True)
    district = placed["stadsdelsomrade"].to_numpy(dtype=object, copy=True)
    stadsdel[unplaced | (precision == Precision.STADSDELSOMRADE.value)] = None
    district[unplaced] = None
    uid = pd.Series(np.arange(n)).astype(str)
    return pd.DataFrame(
        {
            "event_uid": "synthetic:" + uid,
            "source": "synthetic",
            "source_id": uid,
            "layer": layers,
            "category": categories,
            "occurred_at": occurred,
            "published_at": occurred,
            "x": x,
            "y": y,
            "precision": precision,
            "uncertainty_m": u,
            "stadsdel": stadsdel,
            "stadsdelsomrade": district,
            "sensitive": False,
            "raw": "{}",
        }
    )


# --------------------------------------------------------------------------------------
# the quadratic parts with and without sampling


def sampling_table(events: pd.DataFrame, seed: int = SEED) -> list[tuple]:
    """HDBSCAN and Knox on samples up to twice the step's cap of the largest selection's
    placed events; the exponent of the two largest sizes extrapolates to all of them."""
    start = pd.Timestamp("2025-01-01", tz="Europe/Stockholm")
    chosen = events[
        (events["layer"] == Layer.POLICE_EVENT.value)
        & (events["occurred_at"] >= start)
        & events["precision"].isin([p.value for p in Precision if p.rank <= Precision.PLACE.rank])
    ]
    full = len(chosen)
    rng = np.random.default_rng(seed)
    rows = []
    for name, cap, run in (
        (
            "hdbscan",
            PARAMS.cluster_max_events,
            lambda s: hdbscan(
                s["x"].to_numpy(),
                s["y"].to_numpy(),
                min_cluster_size=PARAMS.cluster_min_size,
            ),
        ),
        (
            "knox",
            PARAMS.knox_max_events,
            lambda s: knox_table(
                s["x"].to_numpy(),
                s["y"].to_numpy(),
                s["occurred_at"],
                distance_bands=PARAMS.knox_distance_bands_m,
                time_bands=PARAMS.knox_time_bands_d,
                same_location=True,
                permutations=PARAMS.knox_permutations,
                seed=seed,
            ),
        ),
    ):
        sizes = [cap // 4, cap // 2, cap, 2 * cap]
        times = []
        result = None
        for size in sizes:
            sample = chosen.iloc[rng.choice(full, size=min(size, full), replace=False)]
            t = time.perf_counter()
            result = run(sample)
            times.append(time.perf_counter() - t)
        slope = math.log(times[-1] / times[-2]) / math.log(sizes[-1] / sizes[-2])
        extrapolated = times[-1] * (full / sizes[-1]) ** slope
        note = ""
        if name == "knox":  # pairs within the largest band grow with the square
            close = int(result.observed[:-1].sum()) * (full / sizes[-1]) ** 2
            refused = close > MAX_PAIRS
            note = f"{close:.2g} close pairs" + (f" > {MAX_PAIRS:.0e}: refused" if refused else "")
        rows.append((name, sizes, times, slope, full, extrapolated, note))
    return rows


# --------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="200 000 synthetic events")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    if not (DATA / "police_events").is_dir():
        print(f"skipped: the real data is not at {DATA}")
        return
    n = 200_000 if args.quick else args.events
    with tempfile.TemporaryDirectory(prefix="bench_analyse_") as tmp:
        real = Path(tmp) / "real"
        t = time.perf_counter()
        pipeline.run(settings_for(real), steps=("ingest", "geocode"))
        prep = time.perf_counter() - t
        real_res = measure(real)

        synth = Path(tmp) / "synthetic"
        synth.mkdir()
        shutil.copy(settings_for(real).db_path, settings_for(synth).db_path)
        areas = areas_mod.load_areas(DATA)
        t = time.perf_counter()
        events = synthetic_events(n, areas)
        con = store.connect(settings_for(synth).db_path)
        store.replace_table(con, "events", events)
        con.close()
        build = time.perf_counter() - t
        synth_res = measure(synth)
        sampling = sampling_table(events)

    print(f"\nanalyse step (ingest + geocode of the real data: {prep:.1f} s; {n:,} synthetic")
    print(f"events built and stored in {build:.1f} s; each run in a fresh process)\n")
    head = f"{'data':<22}{'events':>10}{'in period':>11}{'selections':>11}{'files':>7}"
    head += f"{'seconds':>9}{'target':>8}{'ratio':>7}{'peak RSS GB':>13}{'/ 4 GB':>8}"
    print(head)
    print("-" * len(head))
    for label, res, target in (
        ("real (../shared/data)", real_res, TARGET_REAL_S),
        (f"synthetic {n / 1e6:g} M", synth_res, TARGET_SYNTH_S),
    ):
        print(
            f"{label:<22}{res['events']:>10,}{res['events_in_period']:>11,}"
            f"{res['selections']:>11}{res['files']:>7}{res['seconds']:>9.1f}{target:>8.0f}"
            f"{res['seconds'] / target:>7.2f}{res['rss_gb']:>13.2f}"
            f"{res['rss_gb'] / TARGET_RSS_GB:>8.2f}"
        )
    print("\nseconds per part (share of the step)")
    parts = sorted(set(real_res["parts"]) | set(synth_res["parts"]), key=str)
    print(f"{'part':<22}{'real':>9}{'share':>7}{'synthetic':>11}{'share':>7}")
    for part in parts:
        a = real_res["parts"].get(part, 0.0)
        b = synth_res["parts"].get(part, 0.0)
        print(
            f"{part:<22}{a:>9.2f}{a / real_res['seconds']:>7.0%}{b:>11.2f}"
            f"{b / synth_res['seconds']:>7.0%}"
        )
    print(
        f"\nemerging cell size (m): real {real_res['emerging']}, synthetic {synth_res['emerging']}"
    )
    print("\nthe quadratic parts on samples of the largest selection (police events, 2025,")
    print("placed at a place or better) up to twice the step's cap (the third size), and")
    print("extrapolated to all of it with the exponent of the two largest sizes")
    print(
        f"{'part':<9}{'sample sizes':>30}{'seconds':>26}{'exponent':>10}{'all events':>12}"
        f"{'extrapolated s':>16}{'÷ at cap':>10}  note"
    )
    for name, sizes, times, slope, full, extrapolated, note in sampling:
        print(
            f"{name:<9}{' '.join(f'{s:,}' for s in sizes):>30}"
            f"{' '.join(f'{t:.2f}' for t in times):>26}{slope:>10.2f}{full:>12,}"
            f"{extrapolated:>16.0f}{extrapolated / times[2]:>10.0f}  {note}"
        )


if __name__ == "__main__":
    main()
