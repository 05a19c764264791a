"""Draw the Stockholm police events for the geocoding labels.

Run once with ``.venv/bin/python bench/geocode_sample.py OUT.csv``; the ids it prints were
then read and labelled by hand into ``tests/data/geocode_dev.csv`` (see that file's notes
in ``bench/bench_geocode.py``). Kept so that the draw can be repeated and checked.

``.venv/bin/python bench/geocode_sample.py --2026 OUT.csv`` lists the 2026-style events of
``tests/data/geocode_2026.csv`` (:func:`draw_2026`): every Stockholm-kommun event of the
files the live API's answers are kept in (the API snapshot, the 100-event fixture and the
parquet archive) from :data:`FROM_2026_STYLE` on that is not in ``geocode_dev.csv``, with
one third held out by the SHA-256 of its id (:func:`holdout`).

Population: events of ``stockholms_lan_events_with_text_2022-09_2025-12.json`` whose title
names Stockholm kommun (``_title_location == "Stockholm"``), parsed with
:func:`trygghetskarta.sources.polisen.parse`. Strata: incident year (2022 and 2023 pooled)
× category; each stratum gives its proportional share of ``N`` (largest remainders), drawn
with ``numpy.random.default_rng(SEED)``. Every drawn event then goes to ``dev`` or
``test`` (held out) by a second seeded draw within its year, ``N_TEST`` in all.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from trygghetskarta.sources import polisen

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FILE = DATA / "police_events" / "stockholms_lan_events_with_text_2022-09_2025-12.json"
SEED = 20_250_303
N = 360
N_TEST = 100
#: The files the live API's answers are kept in (2026: the snapshot and the fixture).
API_FILES = (
    "api_snapshot_2026-08-22T1754Z_all.json",
    "fixture_stockholm_100_api_format.json",
    "polisen_events_2022-09_2025-12.parquet",
)
#: The first incident day of the 2026-style set (the archive ends on 31 December 2025).
FROM_2026_STYLE = "2025-09-15"
DEV_LABELS = Path(__file__).resolve().parents[1] / "tests" / "data" / "geocode_dev.csv"


def population() -> pd.DataFrame:
    """Parsed Stockholm-kommun events of the archive with page text, one per id."""
    events = polisen.parse([FILE]).events
    events["year"] = events["occurred_at"].dt.year.clip(lower=2023).astype(str)
    return events


def draw(events: pd.DataFrame, n: int = N, n_test: int = N_TEST, seed: int = SEED) -> pd.DataFrame:
    """The sample: ``id, occurred_at, year, category, split``."""
    rng = np.random.default_rng(seed)
    strata = events.groupby(["year", "category"]).size()
    quota = strata / strata.sum() * n
    take = np.floor(quota).astype(int)
    rest = (quota - take).sort_values(ascending=False, kind="stable")
    take[rest.index[: n - int(take.sum())]] += 1
    parts = []
    for (year, cat), k in take.items():
        if k == 0:
            continue
        pool = events[(events["year"] == year) & (events["category"] == cat)]
        parts.append(pool.iloc[np.sort(rng.choice(len(pool), size=int(k), replace=False))])
    sample = pd.concat(parts).sort_values("occurred_at", ignore_index=True)
    sample["split"] = "dev"
    for _, idx in sample.groupby("year").groups.items():
        k = round(n_test * len(idx) / len(sample))
        sample.loc[rng.choice(np.asarray(idx), size=k, replace=False), "split"] = "test"
    return pd.DataFrame(
        {
            "id": sample["source_id"].astype(int),
            "occurred_at": sample["occurred_at"].dt.strftime("%Y-%m-%d %H:%M"),
            "year": sample["year"],
            "category": sample["category"],
            "split": sample["split"],
        }
    )


def holdout(event_id: str) -> bool:
    """Whether a 2026-style event is held out: one third of the ids, by their SHA-256."""
    return int(hashlib.sha256(event_id.encode()).hexdigest(), 16) % 3 == 0


def draw_2026(data_dir: Path = DATA) -> pd.DataFrame:
    """The 2026-style events: ``id, occurred_at, split``, in time order."""
    events = polisen.parse([data_dir / "police_events" / f for f in API_FILES]).events
    seen = set(pd.read_csv(DEV_LABELS, dtype=str)["id"])
    start = pd.Timestamp(FROM_2026_STYLE, tz="Europe/Stockholm")
    keep = events[(events["occurred_at"] >= start) & ~events["source_id"].isin(seen)]
    keep = keep.sort_values(["occurred_at", "source_id"])
    return pd.DataFrame(
        {
            "id": keep["source_id"].to_numpy(),
            "occurred_at": keep["occurred_at"].dt.strftime("%Y-%m-%d %H:%M").to_numpy(),
            "split": ["test" if holdout(i) else "dev" for i in keep["source_id"]],
        }
    )


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--2026"]:
        out = draw_2026()
        print(out["split"].value_counts().to_dict(), file=sys.stderr)
        out.to_csv(args[1] if len(args) > 1 else sys.stdout, index=False)
    else:
        out = draw(population())
        print(out.groupby(["split", "year"]).size().unstack(), file=sys.stderr)
        out.to_csv(args[0] if args else sys.stdout, index=False)
