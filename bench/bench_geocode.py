"""Benchmark of :mod:`trygghetskarta.geocode`: accuracy on hand-labelled events, and speed.

Run with ``.venv/bin/python bench/bench_geocode.py`` (``--split dev`` to print only the
development figures while working on the geocoder; ``--confusions`` to list the errors).

Accuracy
    ``tests/data/geocode_dev.csv`` holds 360 Stockholm-kommun events of 2022–2025 (a seeded
    sample stratified by year and category, see ``bench/geocode_sample.py``), each read by
    hand — summary, page preamble and page body — and labelled with the stadsdel and the
    district (at the event's time) that the text supports, or none: no place, only
    "Stockholm" or "centrala/södra/västra Stockholm", only places outside the kommun,
    several incidents in different districts, or a road or bridge that runs through
    several districts. 260 events are the development split, 100 are held out (``test``):
    they were labelled with the rest and never looked at while the geocoder was improved.
    The bench joins the labels on ``id`` with the texts in
    ``../shared/data/police_events`` (the labels file holds no event text). Figures:

    - coverage: of the events whose label has a district, the share that get one;
    - district accuracy: of those covered, the share whose district equals the label;
    - stadsdel accuracy: of the events whose label has a stadsdel and that get one, the
      share equal to the label (stadsdel coverage is printed beside it);
    - wrongly placed: of the events labelled none, the share that get a district.

    Baseline: a plain word match of the shared gazetteer (every name of at least four
    letters, whole words, case-insensitive, longest first, one compiled regex); the first
    name found in the summary, else in the page body, gives the district (its own columns
    in the gazetteer; a 2021–2023 name is mapped to 2024 for events from 2024 on) and,
    for stadsdel and RegSO/valdistrikt names, the stadsdel it lies in.

Speed
    The whole Swedish parquet archive (70 289 events, summaries only, as the live API
    gives them, shuffled with a fixed seed so that the smaller sets are random subsets of
    the larger) geocoded by :func:`~trygghetskarta.geocode.geocode_events` at 10 000,
    35 000 and all events, best of ``--repeat`` runs; events/s should stay flat (linear
    cost). The baseline's regex scan is timed on the same texts as a reference.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from trygghetskarta import areas as ar
from trygghetskarta import geocode as gc
from trygghetskarta.sources import polisen

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
LABELS = REPO / "tests" / "data" / "geocode_dev.csv"
WITH_TEXT = "stockholms_lan_events_with_text_2022-09_2025-12.json"
ARCHIVE = "polisen_events_2022-09_2025-12.parquet"
SEED = 20_250_303


# --------------------------------------------------------------------------- data


def labelled_events(data_dir: Path = DATA, labels: Path = LABELS) -> pd.DataFrame:
    """The labelled events with their texts: parsed events joined with the labels on id."""
    lab = pd.read_csv(labels, dtype=str, keep_default_na=False)
    parsed = polisen.parse([data_dir / "police_events" / WITH_TEXT]).events
    parsed = parsed[parsed["source_id"].isin(set(lab["id"]))]
    events = lab.drop(columns=["occurred_at"]).merge(
        parsed.rename(columns={"source_id": "id"}), on="id", how="left", validate="1:1"
    )
    missing = events["event_uid"].isna()
    if missing.any():
        raise SystemExit(f"labelled ids not in {WITH_TEXT}: {events.loc[missing, 'id'].tolist()}")
    return events


# --------------------------------------------------------------------------- scores


def _names(values: object) -> np.ndarray:
    """Names as an object array, None for anything that is not a non-empty string."""
    return np.array([v if isinstance(v, str) and v else None for v in values], dtype=object)


def scores(labels: pd.DataFrame, got: pd.DataFrame) -> dict[str, float]:
    """Coverage, district and stadsdel accuracy, wrongly placed (see the module docstring)."""
    want_d, want_s = _names(labels["label_sdo"]), _names(labels["label_stadsdel"])
    got_d, got_s = _names(got["stadsdelsomrade"]), _names(got["stadsdel"])
    has_d, has_s = want_d != None, want_s != None  # noqa: E711
    placed_d, placed_s = got_d != None, got_s != None  # noqa: E711
    ok_d = placed_d & (got_d == want_d)
    ok_s = placed_s & (got_s == want_s)
    none = ~has_d

    def share(num: np.ndarray, den: np.ndarray) -> float:
        return float(num.sum() / den.sum()) if den.sum() else float("nan")

    return {
        "n": len(labels),
        "with district": int(has_d.sum()),
        "coverage": share(has_d & placed_d, has_d),
        "district acc": share(has_d & ok_d, has_d & placed_d),
        "stadsdel cov": share(has_s & placed_s, has_s),
        "stadsdel acc": share(has_s & ok_s, has_s & placed_s),
        "labelled none": int(none.sum()),
        "wrongly placed": share(none & placed_d, none),
    }


def confusions(events: pd.DataFrame, got: pd.DataFrame) -> pd.DataFrame:
    """Rows where the district or the stadsdel disagrees with the label."""
    want_d, want_s = _names(events["label_sdo"]), _names(events["label_stadsdel"])
    gd, gs = _names(got["stadsdelsomrade"]), _names(got["stadsdel"])
    bad_d = gd != want_d
    bad_s = (want_s != None) & (gs != None) & (gs != want_s)  # noqa: E711
    rows = np.flatnonzero(bad_d | bad_s)
    return pd.DataFrame(
        {
            "id": events["id"].to_numpy()[rows],
            "split": events["split"].to_numpy()[rows],
            "label": [f"{want_s[i] or '-'} / {want_d[i] or '-'}" for i in rows],
            "got": [f"{gs[i] or '-'} / {gd[i] or '-'}" for i in rows],
            "place_name": got["place_name"].to_numpy(dtype=object)[rows],
            "label_place": events["label_place"].to_numpy()[rows],
        }
    )


# --------------------------------------------------------------------------- baseline


class WordMatch:
    """The baseline: a plain word match of the shared gazetteer, first name found wins."""

    def __init__(self, data_dir: Path, areas: ar.Areas) -> None:
        gaz = pd.read_csv(data_dir / "gazetteer" / "stockholm_placenames.csv", dtype=str)
        gaz = gaz[gaz["name"].str.replace(r"\W", "", regex=True).str.len() >= 4]
        sd = dict(zip(areas.stadsdelar["name"].str.lower(), areas.stadsdelar["name"], strict=True))
        from pyproj import Transformer

        to3006 = Transformer.from_crs(4326, 3006, always_xy=True)
        x, y = to3006.transform(gaz["lon"].astype(float).to_numpy(), gaz["lat"].astype(float))
        where = ar.assign(x, y, "2023-06-01", areas)
        self.place: dict[str, tuple[str | None, str | None, str | None]] = {}
        for (_, row), s in zip(gaz.iterrows(), where["stadsdel"], strict=True):
            key = row["name"].lower()
            if key in self.place:
                continue
            stadsdel = sd.get(key) if row["kind"] == "stadsdel" else None
            if row["kind"] in ("regso_2025", "valdistrikt_place"):
                stadsdel = s
            d13 = (
                row["stadsdelsomrade_2021_2023"]
                if isinstance(row["stadsdelsomrade_2021_2023"], str)
                else None
            )
            d24 = (
                row["stadsdelsomrade_2024"]
                if isinstance(row["stadsdelsomrade_2024"], str)
                else None
            )
            self.place[key] = (stadsdel, d13, d24)
        names = sorted(self.place, key=len, reverse=True)
        self.regex = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b", re.IGNORECASE)
        self.to24 = dict(zip(areas.sdo_13["name"], areas.sdo_13["name_2024"], strict=True))

    def first(self, text: object) -> str | None:
        if not isinstance(text, str):
            return None
        m = self.regex.search(text)
        return m.group(1).lower() if m else None

    def geocode(
        self, summaries: pd.Series, bodies: pd.Series, occurred_at: pd.Series
    ) -> pd.DataFrame:
        schemes = ar.schemes_at(occurred_at).to_numpy()
        out = []
        for s, b, scheme in zip(summaries, bodies, schemes, strict=True):
            key = self.first(s) or self.first(b)
            if key is None:
                out.append((None, None, None))
                continue
            stadsdel, d13, d24 = self.place[key]
            district = d13 if scheme == ar.SCHEME_2021_2023 else d24 or self.to24.get(d13 or "")
            out.append((stadsdel, district, key))
        return pd.DataFrame(out, columns=["stadsdel", "stadsdelsomrade", "place_name"])


# --------------------------------------------------------------------------- main


def _fmt(v: float | int) -> str:
    return f"{v:7.1%}" if isinstance(v, float) else f"{v:7d}"


def accuracy_table(events: pd.DataFrame, runs: dict[str, pd.DataFrame], splits: list[str]) -> str:
    keys = ["n", "with district", "coverage", "district acc", "stadsdel cov", "stadsdel acc",
            "labelled none", "wrongly placed"]  # fmt: skip
    cols = [(name, split) for split in splits for name in runs]
    head = f"{'':16}" + "".join(f"{f'{n} {s}':>22}" for n, s in cols)
    lines = [head]
    table = {}
    for name, split in cols:
        mask = (
            (events["split"] == split).to_numpy() if split != "all" else np.ones(len(events), bool)
        )
        table[(name, split)] = scores(events[mask].reset_index(drop=True),
                                      runs[name][mask].reset_index(drop=True))  # fmt: skip
    for k in keys:
        lines.append(f"{k:16}" + "".join(f"{_fmt(table[c][k]):>22}" for c in cols))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--split", choices=["dev", "test", "both"], default="both")
    ap.add_argument("--confusions", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-speed", action="store_true")
    args = ap.parse_args(argv)

    areas = ar.load_areas(args.data)
    t0 = time.perf_counter()
    gaz = gc.load_gazetteer(args.data, areas)
    t_load = time.perf_counter() - t0
    events = labelled_events(args.data)
    got = gc.geocode_events(events, gaz, areas).reset_index(drop=True)
    base = WordMatch(args.data, areas)
    got_base = base.geocode(events["summary"], events["body"], events["occurred_at"])
    splits = ["dev", "test"] if args.split == "both" else [args.split]
    print(f"accuracy on {LABELS.relative_to(REPO)} (labelled by hand)")
    print(accuracy_table(events, {"geocode": got, "baseline": got_base}, splits))
    for split in splits:
        mask = (events["split"] == split).to_numpy()
        a = scores(events[mask].reset_index(drop=True), got[mask].reset_index(drop=True))
        b = scores(events[mask].reset_index(drop=True), got_base[mask].reset_index(drop=True))
        print(
            f"{split}: correct districts / labelled districts: geocode "
            f"{a['coverage'] * a['district acc']:.1%}, baseline "
            f"{b['coverage'] * b['district acc']:.1%} (ratio "
            f"{(a['coverage'] * a['district acc']) / (b['coverage'] * b['district acc']):.2f})"
        )
    if args.confusions:
        conf = confusions(events, got)
        conf = conf[conf["split"].isin(splits)]
        with pd.option_context("display.width", 250, "display.max_colwidth", 60,
                               "display.max_rows", 500):  # fmt: skip
            print(f"\nremaining confusions ({len(conf)}):")
            print(conf.to_string(index=False))
    if args.no_speed:
        return 0

    arch = pd.read_parquet(
        args.data / "police_events" / ARCHIVE, columns=["id", "summary", "datetime_iso"]
    )
    frame = pd.DataFrame(
        {
            "event_uid": "polisen:" + arch["id"].astype(str),
            "summary": arch["summary"],
            "body": None,
            "occurred_at": pd.to_datetime(arch["datetime_iso"], utc=True, format="ISO8601"),
            "category": "other",
        }
    ).sample(frac=1.0, random_state=SEED, ignore_index=True)  # nested random subsets
    print(f"\nspeed on {ARCHIVE} (summaries only); gazetteer load {t_load:.2f} s")
    head = ("events", "geocode s", "events/s", "baseline s", "events/s", "ratio")
    print("{:>8} {:>10} {:>10} {:>11} {:>10} {:>6}".format(*head))
    for n in (10_000, 35_000, len(frame)):
        part = frame.iloc[:n]
        best = best_b = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            gc.geocode_events(part, gaz, areas)
            best = min(best, time.perf_counter() - t0)
            t0 = time.perf_counter()
            for s in part["summary"]:
                base.first(s)
            best_b = min(best_b, time.perf_counter() - t0)
        row = (n, best, n / best, best_b, n / best_b, best_b / best)
        print("{:8d} {:10.2f} {:10.0f} {:11.2f} {:10.0f} {:6.2f}".format(*row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
