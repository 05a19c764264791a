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

2026-style events
    ``tests/data/geocode_2026.csv`` holds 316 Stockholm-kommun events as the live API gives
    them (title and summary, no page text): every 2026 event in the shared data (the API
    snapshot of 22 August 2026 and the 2026 rows of the 100-event fixture, 40 in all) and
    every event of the parquet archive from 15 September 2025 on that is not in the
    2022–2025 set (the archive ends on 31 December 2025). Each summary was read by hand
    and labelled as above, by what the summary supports. One third is held out by a hash
    of the id (``sha256(id) % 3 == 0``, see ``geocode_sample.holdout``); its figures were not looked
    at while the geocoder was improved. The same events are also geocoded with the page
    text of the archive (``with pages``, for the 276 that have it), as the live feed will
    read them once it fetches pages; those columns are scored against the page labels
    (``page_stadsdel``, ``page_sdo``: the summary's labels unless the page names a finer
    or another place).

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
LABELS_2026 = REPO / "tests" / "data" / "geocode_2026.csv"
WITH_TEXT = "stockholms_lan_events_with_text_2022-09_2025-12.json"
ARCHIVE = "polisen_events_2022-09_2025-12.parquet"
#: The files the 2026-style events are read from, as the live API gives them.
API_FILES = (
    "api_snapshot_2026-08-22T1754Z_all.json",
    "fixture_stockholm_100_api_format.json",
    ARCHIVE,
)
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


def labelled_2026_events(
    data_dir: Path = DATA, labels: Path = LABELS_2026, *, pages: bool = False
) -> pd.DataFrame:
    """The 2026-style labelled events with their API texts (summary only), in label order.

    With ``pages=True`` the events that the archive has with page text get it (summary,
    body and the raw record holding the preamble), and the page labels replace the
    summary labels.
    """
    lab = gc.read_labels(labels)
    parsed = polisen.parse([data_dir / "police_events" / f for f in API_FILES]).events
    parsed = parsed[parsed["source_id"].isin(set(lab["id"]))].set_index("source_id")
    if pages:
        text = polisen.parse([data_dir / "police_events" / WITH_TEXT]).events
        text = text[text["source_id"].isin(set(parsed.index))].set_index("source_id")
        for col in ("summary", "body", "raw"):
            parsed.loc[text.index, col] = text[col]
        if {"page_stadsdel", "page_sdo"} <= set(lab.columns):
            lab = lab.assign(label_stadsdel=lab["page_stadsdel"], label_sdo=lab["page_sdo"])
    missing = sorted(set(lab["id"]) - set(parsed.index))
    if missing:
        raise SystemExit(f"labelled ids not in {API_FILES}: {missing}")
    events = lab.drop(columns=["occurred_at"]).merge(
        parsed.reset_index().rename(columns={"source_id": "id"}), on="id", how="left",
        validate="1:1",
    )  # fmt: skip
    return events


# --------------------------------------------------------------------------- scores

#: Row names of the accuracy table, one per :class:`trygghetskarta.geocode.Scores` field.
ROWS = {
    "n": "n",
    "with_district": "with district",
    "coverage": "coverage",
    "district_accuracy": "district acc",
    "stadsdel_coverage": "stadsdel cov",
    "stadsdel_accuracy": "stadsdel acc",
    "labelled_none": "labelled none",
    "wrongly_placed": "wrongly placed",
}


def scores(labels: pd.DataFrame, got: pd.DataFrame) -> dict[str, float]:
    """Coverage, district and stadsdel accuracy, wrongly placed (see the module docstring)."""
    figures = gc.score_labels(labels, got).as_dict()
    return {ROWS[k]: v for k, v in figures.items()}


def confusions(events: pd.DataFrame, got: pd.DataFrame) -> pd.DataFrame:
    """Rows where the district or the stadsdel disagrees with the label."""
    return gc.label_confusions(events, got)


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
    """One column per run and split, one row per figure."""
    sets = {name: (events, got) for name, got in runs.items()}
    return figure_table(sets, splits)


def figure_table(
    sets: dict[str, tuple[pd.DataFrame, pd.DataFrame]], splits: list[str], width: int = 22
) -> str:
    """The figures of several labelled sets side by side: one column per set and split.

    ``sets`` maps a column title to (labelled events, the geocoder's answers in their order).
    """
    cols = [(name, split) for name in sets for split in splits]
    lines = [f"{'':16}" + "".join(f"{f'{n} {s}':>{width}}" for n, s in cols)]
    table = {}
    for name, split in cols:
        events, got = sets[name]
        mask = (
            (events["split"] == split).to_numpy() if split != "all" else np.ones(len(events), bool)
        )
        table[(name, split)] = scores(events[mask].reset_index(drop=True),
                                      got[mask].reset_index(drop=True))  # fmt: skip
    for k in ROWS.values():
        lines.append(f"{k:16}" + "".join(f"{_fmt(table[c][k]):>{width}}" for c in cols))
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
    live = labelled_2026_events(args.data)
    paged = labelled_2026_events(args.data, pages=True)
    got_live = gc.geocode_events(live, gaz, areas).reset_index(drop=True)
    got_paged = gc.geocode_events(paged, gaz, areas).reset_index(drop=True)
    print(
        f"\ngeocode on the 2022–2025 set ({LABELS.name}: summary and page text) beside the"
        f" 2026-style set ({LABELS_2026.name}: API summary only, and with page text)"
    )
    sets = {
        "2022–25": (events, got),
        "2026 live": (live, got_live),
        "2026 pages": (paged, got_paged),
    }
    print(figure_table(sets, splits, width=16))
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
        conf = pd.concat(
            [
                confusions(events, got).assign(set="2022–25"),
                confusions(live, got_live).assign(set="2026 live"),
                confusions(paged, got_paged).assign(set="2026 pages"),
            ],
            ignore_index=True,
        )
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
