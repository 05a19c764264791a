"""The forecasts' back-test on the real archive: does any method beat counting?

Run with ``.venv/bin/python bench/bench_forecast.py`` (needs ``../shared/data``). The real
police archive is ingested and geocoded into a temporary directory through the project's
own pipeline (or ``--db FILE`` reads a database a run already wrote), and every forecast
method of ``trygghetskarta.analysis.forecast`` is back-tested with monthly rolling
origins from ``--first`` to ``--last`` (by default every month with 18 whole months of
data before it, to 2025-12: 2024-10 … 2025-12 on the shared archive), the
units the events were placed at: the 117 stadsdelar (and the stadsdelsområden with
``--unit stadsdelsomrade``). Sensitive events stay at district level.

Printed: for each coverage (1, 2.3 and 5 % of the area) and method, the hit rate, PAI,
PEI, the ratio of its hits to the best baseline's with a paired bootstrap interval over
origins, and how often its 90 % prediction interval held the count; then one sentence
saying whether the best method beats counting, by how much, and how sure that is.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from trygghetskarta import areas as areas_mod
from trygghetskarta import pipeline, store
from trygghetskarta.analysis.evaluate import COVERAGES, backtest, rolling_origins
from trygghetskarta.config import load_settings
from trygghetskarta.pipeline.analyse.inputs import read_window
from trygghetskarta.pipeline.forecast import unit_data

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"


def _events(db: Path) -> tuple[pd.DataFrame, object]:
    con = store.connect(db, read_only=True)
    try:
        columns = ["occurred_at", "category", "x", "y", "precision", "stadsdel", "stadsdelsomrade"]
        events = store.read_events(con, layers=["police_event"], columns=[*columns, "sensitive"])
        settings = load_settings(REPO, env={"TRYGGHETSKARTA_DATA": str(DATA)})
        window = read_window(con, settings.analysis)
    finally:
        con.close()
    return events, window


def _ingest(out: Path) -> Path:
    env = {"TRYGGHETSKARTA_DATA": str(DATA), "TRYGGHETSKARTA_PROCESSED": str(out)}
    settings = load_settings(REPO, env=env)
    report = pipeline.run(settings, steps=("ingest", "geocode"))
    if report.status not in ("ok", "partial"):
        raise SystemExit(f"the ingest of {DATA} ended {report.status}")
    return settings.db_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="a database a run wrote (default: ingest now)")
    parser.add_argument(
        "--first",
        help="first origin, YYYY-MM-01 (default: the first with 18 whole months before it)",
    )
    parser.add_argument("--last", default="2025-12-01", help="last origin (YYYY-MM-01)")
    parser.add_argument("--unit", default="stadsdel", choices=("stadsdel", "stadsdelsomrade"))
    parser.add_argument("--boot", type=int, default=2000, help="bootstrap draws")
    args = parser.parse_args()
    if not DATA.exists():
        raise SystemExit(f"no shared data at {DATA}: the back-test needs the real archive")
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        db = args.db or _ingest(Path(tmp))
        events, window = _events(db)
        ingest_s = time.perf_counter() - start
    areas = areas_mod.load_areas(DATA)
    first = args.first
    if first is None:  # a year for the seasonal lag and six months to fit on
        begin = pd.Timestamp(window.data_start)
        begin = begin if begin.day == 1 else begin + pd.offsets.MonthBegin(1)
        first = str((begin + pd.DateOffset(months=18)).date())
    origins = rolling_origins(first, args.last)
    data = unit_data(
        events,
        areas,
        args.unit,
        origin=pd.Timestamp(args.last, tz="Europe/Stockholm"),
        start=window.data_start,
    )
    start = time.perf_counter()
    result = backtest(
        data.events,
        areas_km2=data.area_km2,
        origins=origins,
        unit="unit",
        neighbours=data.neighbours,
        start=window.data_start,
        n_boot=args.boot,
    )
    test_s = time.perf_counter() - start
    placed = int(data.events["unit"].notna().sum())
    print(
        f"police events placed in a {args.unit}: {placed:,} of {len(events):,}; data from "
        f"{window.data_start}; {len(origins)} monthly origins {first} … {args.last}; "
        f"{len(data.area_km2)} units"
    )
    if data.note:
        print(f"note: {data.note}")
    print(f"reading the archive took {ingest_s:.0f} s, the back-test {test_s:.0f} s")
    table = result.table
    for coverage in COVERAGES:
        rows = table[table["coverage"] == coverage]
        best = rows["best_baseline"].iloc[0]
        print(f"\n== {coverage:.1%} of the area (best baseline: {best})")
        print(
            f"{'method':<20}{'hit rate':>9}{'PAI':>7}{'PEI':>6}{'× best baseline':>17}"
            f"{'95 % interval':>16}{'90 % PI held':>14}"
        )
        for r in rows.itertuples():
            held = "" if pd.isna(r.interval_coverage) else f"{r.interval_coverage:.1%}"
            print(
                f"{r.method:<20}{r.hit_rate:>9.3f}{r.pai:>7.2f}{r.pei:>6.2f}{r.ratio:>17.2f}"
                f"{f'{r.ratio_low:.2f}–{r.ratio_high:.2f}':>16}{held:>14}"
            )
    verdict = result.verdict()
    model = result.verdict("poisson_glm")
    print()
    if verdict["beats"]:
        print(
            f"VERDICT: {verdict['method']} beats counting: PAI {verdict['pai']:.2f} against "
            f"{verdict['baseline_pai']:.2f} for {verdict['baseline']} at 2.3 % of the area, "
            f"{verdict['ratio']:.2f}× (95 % interval {verdict['ratio_low']:.2f}–"
            f"{verdict['ratio_high']:.2f})."
        )
    else:
        print(
            f"VERDICT: no method beats counting. The best baseline, {verdict['baseline']}, "
            f"reaches PAI {verdict['baseline_pai']:.2f} at 2.3 % of the area; the Poisson "
            f"model reaches {model['pai']:.2f}, {model['ratio']:.2f}× (95 % interval "
            f"{model['ratio_low']:.2f}–{model['ratio_high']:.2f}), an interval that "
            "includes 1: the forecast is not shown on the lägesbilder."
        )


if __name__ == "__main__":
    main()
