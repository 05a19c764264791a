"""Draw the seeded, stratified sample of Stockholm police events for the geocoding labels.

Run once with ``.venv/bin/python bench/geocode_sample.py OUT.csv``; the ids it prints were
then read and labelled by hand into ``tests/data/geocode_dev.csv`` (see that file's notes
in ``bench/bench_geocode.py``). Kept so that the draw can be repeated and checked.

Population: events of ``stockholms_lan_events_with_text_2022-09_2025-12.json`` whose title
names Stockholm kommun (``_title_location == "Stockholm"``), parsed with
:func:`trygghetskarta.sources.polisen.parse`. Strata: incident year (2022 and 2023 pooled)
× category; each stratum gives its proportional share of ``N`` (largest remainders), drawn
with ``numpy.random.default_rng(SEED)``. Every drawn event then goes to ``dev`` or
``test`` (held out) by a second seeded draw within its year, ``N_TEST`` in all.
"""

from __future__ import annotations

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


if __name__ == "__main__":
    out = draw(population())
    print(out.groupby(["split", "year"]).size().unstack(), file=sys.stderr)
    out.to_csv(sys.argv[1] if len(sys.argv) > 1 else sys.stdout, index=False)
