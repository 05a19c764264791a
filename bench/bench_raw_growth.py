"""How fast ``data/raw/`` grows in a year at today's volume, plain and compressed.

Run with ``.venv/bin/python bench/bench_raw_growth.py`` (needs ``../shared/data``, or
``--data DIR``).

Measured in this run, with the tool's own code:

- one API answer and its metadata file as ``fetch polisen`` writes them, fetched from a
  local server that serves the real answer of 22 August 2026
  (``police_events/api_snapshot_2026-08-22T1754Z_all.json``: 500 events, all of Sweden);
- the 40 real event pages (``police_events/pages/``), the size a page fetch keeps;
- Stockholm kommun's events per day in 2025 (the archive; the titles' municipality), the
  pages a day of live page fetching keeps (one per new event; a changed event's page again);
- each file compressed by :func:`trygghetskarta.sources.raw_files.compress_file`, as
  housekeeping does after ``[raw] compress_after_days``.

Prints the growth per year for one poll a day (the nightly run) and for hourly polls, and
the ratio compressed / plain. Reading a compressed answer is timed against a plain one.
"""

from __future__ import annotations

import argparse
import http.server
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd

from trygghetskarta.sources import polisen, polisen_api, raw_files
from trygghetskarta.sources.polisen import municipality_from_title

REPO = Path(__file__).resolve().parents[1]
SNAPSHOT = "police_events/api_snapshot_2026-08-22T1754Z_all.json"
ARCHIVE = "police_events/polisen_events_2022-09_2025-12.parquet"


def _server(body: bytes) -> tuple[http.server.ThreadingHTTPServer, str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def _sizes(paths: list[Path]) -> tuple[int, int]:
    """Bytes plain and compressed (each file compressed in a copy)."""
    plain = packed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for path in paths:
            copy = Path(tmp) / path.name
            shutil.copyfile(path, copy)
            plain += copy.stat().st_size
            packed += raw_files.compress_file(copy).stat().st_size
    return plain, packed


def _fetch_answer(data: Path, raw: Path) -> list[Path]:
    server, url = _server((data / SNAPSHOT).read_bytes())
    try:
        settings = polisen_api.client_settings(
            {"base_url": url, "min_interval_s": 0, "contact": "mailto:bench@example.se"}
        )
        answer = polisen_api.fetch(settings, raw_dir=raw)
    finally:
        server.shutdown()
    return [answer, answer.parent / "meta" / answer.name]


def _stockholm_per_day(data: Path) -> float:
    archive = pd.read_parquet(data / ARCHIVE, columns=["name", "datetime_iso"])
    when = pd.to_datetime(archive["datetime_iso"], utc=True, format="ISO8601")
    year = archive[when.dt.year == 2025]
    stockholm = year["name"].map(municipality_from_title) == "Stockholm"
    return float(stockholm.sum()) / 365


def _read_ratio(path: Path, repeat: int = 30) -> float:
    """Seconds to parse a compressed answer / a plain one (median of ``repeat``)."""
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / path.name
        shutil.copyfile(path, plain)
        packed = Path(tmp) / "packed" / path.name
        packed.parent.mkdir()
        shutil.copyfile(path, packed)
        packed = raw_files.compress_file(packed)
        times = {}
        for label, p in (("plain", plain), ("packed", packed)):
            runs = []
            for _ in range(repeat):
                start = time.perf_counter()
                polisen.read_records([p])
                runs.append(time.perf_counter() - start)
            times[label] = statistics.median(runs)
    return times["packed"] / times["plain"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args()
    data: Path = args.data
    if not (data / SNAPSHOT).exists():
        raise SystemExit(f"no {SNAPSHOT} under {data} — pass --data DIR")
    with tempfile.TemporaryDirectory() as tmp:
        answer_files = _fetch_answer(data, Path(tmp))
        answer_plain, answer_gz = _sizes(answer_files[:1])
        meta_plain, meta_gz = _sizes(answer_files[1:])
        read_ratio = _read_ratio(answer_files[0])
    pages = sorted((data / "police_events" / "pages").glob("*.html"))
    pages_plain, pages_gz = _sizes(pages)
    page_plain, page_gz = pages_plain / len(pages), pages_gz / len(pages)
    per_day = _stockholm_per_day(data)

    print(f"one API answer (500 events): {answer_plain:,} B, compressed {answer_gz:,} B")
    print(f"its metadata file:           {meta_plain:,} B, compressed {meta_gz:,} B")
    print(
        f"one event page (mean of {len(pages)}): {page_plain:,.0f} B, compressed {page_gz:,.0f} B"
    )
    print(f"Stockholm kommun events per day (2025): {per_day:.1f}")
    print()
    print(f"{'growth per year':<34}{'plain':>10}{'compressed':>12}{'ratio':>8}")
    rows = []
    for polls in (1, 24):
        plain = (answer_plain + meta_plain) * polls * 365
        packed = (answer_gz + meta_gz) * polls * 365
        rows.append((f"API answers, {polls} poll(s) a day", plain, packed))
    rows.append(
        ("event pages, one per new event", page_plain * per_day * 365, page_gz * per_day * 365)
    )
    nightly = rows[0][1] + rows[2][1], rows[0][2] + rows[2][2]
    rows.append(("nightly run with page text", *nightly))
    for label, plain, packed in rows:
        print(f"{label:<34}{plain / 1e6:>8.1f} MB{packed / 1e6:>10.1f} MB{packed / plain:>8.3f}")
    print()
    print(f"parsing a compressed answer / a plain one: {read_ratio:.2f}")


if __name__ == "__main__":
    main()
