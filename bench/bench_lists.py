"""List ingest at city scale: the column-wise reader and set-based merge against the
row-by-row path they replaced, measured in the same run.

Run with ``.venv/bin/python bench/bench_lists.py [--rows 100000 300000] [--million]``
(or ``TRYGGHETSKARTA_BENCH_1M=1``; the old path at a million rows takes minutes).

For each size a SYNTHETIC crime list (``bench/synthetic_lists.py``, seeded, written to a
temporary folder, never data of the project) is ingested with ``ingest brott`` into a
fresh database by

- ``new``: this checkout's code;
- ``old``: the code before the change (``--baseline``, default the commit this work
  started from), extracted with ``git archive`` into the temporary folder;

each in a process of its own, so that its peak memory (``ru_maxrss``) is its own. Printed
per path: parsing the list alone, the whole list ingest (parse + merge), rows per second,
the peak, and the second night with the list unchanged; then the new/old ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: The commit before the column-wise reader (issue 16's list ingest started here).
BASELINE = "8dc89c4"


def _worker(data: str, out: str, path: str) -> None:
    """Runs in a child process with either code on ``sys.path``; prints one JSON line."""
    import pandas as pd

    from trygghetskarta import store
    from trygghetskarta.config import load_settings
    from trygghetskarta.pipeline.ingest import layers
    from trygghetskarta.sources import crime_list

    now = pd.Timestamp("2026-06-01 12:00", tz="Europe/Stockholm")
    env = {"TRYGGHETSKARTA_DATA": data, "TRYGGHETSKARTA_PROCESSED": out}
    settings = load_settings(out, env=env)
    kommun = layers.areas_mod.load_areas(Path(data)).kommun.geometry.iloc[0]
    t = time.perf_counter()
    parsed = crime_list.parse([Path(path)], kommun=kommun, now=now)
    parse_s = time.perf_counter() - t
    del parsed
    con = store.connect(settings.db_path)
    try:
        t = time.perf_counter()
        first = layers.ingest_list(settings, con, "brott", now=now)
        ingest_s = time.perf_counter() - t
        t = time.perf_counter()
        second = layers.ingest_list(settings, con, "brott", now=now)
        night_s = time.perf_counter() - t
    finally:
        con.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "read": first["read"],
                "parse_s": parse_s,
                "ingest_s": ingest_s,
                "night_s": night_s,
                "night_read": second["read"],
                "peak_mib": peak,
            }
        )
    )


def _run(src: Path, data: Path, out: Path, path: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(src))
    code = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
        "import bench_lists; bench_lists._worker(*sys.argv[1:])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(data), str(out), str(path)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"the worker failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _baseline(rev: str, into: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", rev, "src"], capture_output=True, check=True
    ).stdout
    into.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 300_000])
    parser.add_argument("--million", action="store_true", help="also 1 000 000 rows")
    parser.add_argument("--baseline", default=BASELINE, help="git revision of the old path")
    parser.add_argument("--no-old", action="store_true", help="measure the new path only")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args()
    sizes = list(args.rows)
    if args.million or os.environ.get("TRYGGHETSKARTA_BENCH_1M"):
        sizes.append(1_000_000)
    sys.path.insert(0, str(Path(__file__).parent))
    sys.path.insert(0, str(REPO / "src"))
    from synthetic_lists import write_synthetic_crime_list

    with tempfile.TemporaryDirectory(prefix="bench_lists_") as tmp:
        root = Path(tmp)
        old_src = None if args.no_old else _baseline(args.baseline, root / "baseline")
        print(f"list ingest of SYNTHETIC crime lists (old = {args.baseline}, new = this checkout)")
        header = f"{'rows':>9} {'path':>4} {'parse s':>8} {'ingest s':>9} {'rows/s':>8} "
        print(header + f"{'peak MiB':>9} {'night s':>8}")
        for rows in sizes:
            data = root / f"data_{rows}"
            folder = data / "lists" / "brott"
            for name in ("boundaries", "crime_stats"):
                data.mkdir(parents=True, exist_ok=True)
                (data / name).symlink_to(args.data / name)
            path = write_synthetic_crime_list(folder, rows, data_dir=args.data)
            results = {"new": _run(REPO / "src", data, root / f"new_{rows}", path)}
            if old_src is not None:
                results["old"] = _run(old_src, data, root / f"old_{rows}", path)
            for name, r in results.items():
                rate = r["read"] / r["ingest_s"]
                print(
                    f"{rows:>9,} {name:>4} {r['parse_s']:>8.1f} {r['ingest_s']:>9.1f} "
                    f"{rate:>8,.0f} {r['peak_mib']:>9,.0f} {r['night_s']:>8.2f}"
                )
            if "old" in results:
                new, old = results["new"], results["old"]
                print(
                    f"{rows:>9,} new/old: rows/s ×{old['ingest_s'] / new['ingest_s']:.1f} "
                    f"(parse ×{old['parse_s'] / new['parse_s']:.1f}), peak "
                    f"×{new['peak_mib'] / old['peak_mib']:.2f}, unchanged night "
                    f"×{old['night_s'] / new['night_s']:.0f} faster (new reads "
                    f"{new['night_read']} rows, old {old['night_read']})"
                )


if __name__ == "__main__":
    main()
