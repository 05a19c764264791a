"""What publishing the read-only snapshot costs, against the ways it could be done.

Run with ``.venv/bin/python bench/bench_snapshot.py [--rows N]``.

A database shaped like the real one (an ``events`` table of N rows with text, the default
about the size of the shared archive's database) is written once; then, in the same run:

- ``file copy`` — :func:`trygghetskarta.store.publish`: copy the closed file, fsync, make it
  read-only, rename over the snapshot (what every run does);
- ``runs only`` — ``store.publish(..., data=False)``: the last snapshot with only ``runs``
  replaced (what a failed run does);
- ``COPY FROM DATABASE`` — DuckDB's logical copy into a new file (the alternative that
  would not need the batch's connection closed);
- ``EXPORT DATABASE`` — writing Parquet files for readers instead of a database file.

Prints seconds and the ratio to ``file copy``, and the sizes.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from trygghetskarta import store


def _make(path: Path, rows: int) -> None:
    con = store.connect(path, read_only=False)
    try:
        con.execute(
            "CREATE TABLE numbers AS SELECT range AS id, 'polisen:' || range AS event_uid, "
            "repeat('Misshandel på Götgatan, Södermalm. ', 1 + range % 7) AS summary, "
            "concat_ws(' ', md5(random()::VARCHAR), md5(random()::VARCHAR), "
            "md5(random()::VARCHAR), md5(random()::VARCHAR), md5(random()::VARCHAR), "
            "md5(random()::VARCHAR), md5(random()::VARCHAR), md5(random()::VARCHAR)) AS body, "
            "random() * 20000 + 670000 AS x, random() * 20000 + 6570000 AS y FROM range(?)",
            [rows],
        )
        con.execute(
            "INSERT INTO runs (run_id, command, status) SELECT 'r' || range, 'run', 'ok' "
            "FROM range(500)"
        )
    finally:
        con.close()


def _memory() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    con.execute(f"LOAD '{store.spatial_extension_path()}'")
    return con


def _timed(action: Callable[[], object], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=700_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        work, snapshot = root / ".work" / "t.duckdb", root / "t.duckdb"
        _make(work, args.rows)
        store.publish(work, snapshot)

        def logical() -> None:
            target = root / "logical.duckdb"
            target.unlink(missing_ok=True)
            con = _memory()
            try:
                con.execute(f"ATTACH '{work}' AS t (READ_ONLY)")
                con.execute(f"ATTACH '{target}' AS target")
                con.execute("COPY FROM DATABASE t TO target")
            finally:
                con.close()

        def export() -> None:
            target = root / "export"
            shutil.rmtree(target, ignore_errors=True)
            con = duckdb.connect(str(work), read_only=True)
            try:
                con.execute(f"EXPORT DATABASE '{target}' (FORMAT parquet)")
            finally:
                con.close()

        results = {
            "file copy": _timed(lambda: store.publish(work, snapshot)),
            "runs only": _timed(lambda: store.publish(work, snapshot, data=False)),
            "COPY FROM DATABASE": _timed(logical),
            "EXPORT DATABASE": _timed(export),
        }
        size = work.stat().st_size
    print(f"database: {args.rows:,} rows, {size / 1e6:.1f} MB")
    base = results["file copy"]
    print(f"{'publication':<22}{'seconds':>9}{'ratio':>8}")
    for name, seconds in results.items():
        print(f"{name:<22}{seconds:>9.2f}{seconds / base:>8.2f}")


if __name__ == "__main__":
    main()
