"""Live placement against the archive's: the share of events placed below kommun level.

Run with ``.venv/bin/python bench/bench_live.py`` (needs ``../shared/data``, or ``--data
DIR``; ``--start``/``--end`` choose the months, default January–April 2025).

The archive's Stockholms län events of the period (with their page text) are served on
127.0.0.1 as polisen.se would serve them: ``/api/events`` answers the latest events up to
a moving "now", and each event's page is rebuilt from its ``_html_*`` fields in polisen.se's
structure (404 where the archive has no text). ``trygghetskarta fetch polisen`` polls every
three days, then ``ingest polisen`` and ``geocode`` run, as the nightly batch would. Three
ways of reading the same Stockholm kommun events, in the same run:

- ``live, summary only`` — ``fetch polisen --no-pages``: what the tool saw before pages;
- ``live, with pages`` — ``fetch polisen``: each new event's page fetched and parsed;
- ``archive`` — the same records ingested from the archive file with their page text.

Printed: events, the share placed below kommun level (and only at kommun level or not at
all), the shooting layer's size and whether it equals the archive's, and the wall time of
each as a ratio to the archive's ingest.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the polisen.se stand-in of the network tests

from live_server import archive_records, replay_archive, replay_live  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--start", default="2025-01-01")
    parser.add_argument("--end", default="2025-05-01")
    args = parser.parse_args()
    if not (args.data / "police_events").is_dir():
        print(f"no police_events in {args.data}; pass --data DIR")
        return
    records = archive_records(args.data, args.start, args.end)
    kommun = sum(r.get("_title_location") == "Stockholm" for r in records)
    print(
        f"{len(records)} Stockholms län events published {args.start} … {args.end} "
        f"({kommun} in Stockholm kommun), polled every 3 days"
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        runs = {
            "live, summary only": replay_live(args.data, folder / "plain", records, pages=False),
            "live, with pages": replay_live(args.data, folder / "pages", records),
            "archive": replay_archive(args.data, folder / "archive", records),
        }
    base = runs["archive"]
    print(
        f"{'':20} {'events':>7} {'below kommun':>13} {'kommun/none':>12} "
        f"{'pages asked':>12} {'shootings':>10} {'= archive':>10} {'time ratio':>11}"
    )
    for name, run in runs.items():
        print(
            f"{name:20} {len(run.events):7d} {1 - run.kommun_or_worse:13.1%} "
            f"{run.kommun_or_worse:12.1%} {run.page_requests:12d} {len(run.shootings):10d} "
            f"{run.shootings == base.shootings!s:>10} {run.seconds / base.seconds:10.2f}x"
        )
    gap = runs["live, with pages"].kommun_or_worse - base.kommun_or_worse
    print(f"live with pages − archive, kommun or worse: {gap * 100:+.1f} percentage points")


if __name__ == "__main__":
    main()
