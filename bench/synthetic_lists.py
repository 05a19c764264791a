"""SYNTHETIC crime lists for benchmarks: seeded, never real, never shipped as data.

:func:`write_synthetic_crime_list` writes a CSV in the documented contract format of the
police's reported-crimes list (``docs/event_lists.md``) to a folder the caller chooses (a
temporary one in ``bench/bench_lists.py``). Every row is made up:

- **where**: each stadsdelsområde (2024 scheme, the real boundaries of the data
  directory) gets its share of the city's reported crimes of 2024 (Stockholm's
  statistical yearbook, table 1.63, from Brå: ``crime_stats/stockholm_arsbok_…csv``);
  within a district 70 % of the points gather round a few hotspots (normal, σ 120–400 m)
  and the rest spread over the district; 8 % of the rows give only an address;
- **what**: the district's 2024 mix of violence, theft and robbery, vandalism, drugs and
  the rest, each as a handful of real crime names (sensitive ones included);
- **when**: five years to the end of 2025, with hours and weekdays by kind (violence
  at night and at weekends, thefts in the day and the evening, vandalism at night);
  a third of the thefts as a time span;
- **mistakes**: about 1 % of the rows repeated, dated in the future or given
  coordinates in the wrong system, as real deliveries have them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from trygghetskarta import areas

#: The yearbook's columns → (crime names, crime codes) drawn for that share.
KINDS: dict[str, list[tuple[str, str]]] = {
    "valdsbrott": [
        ("Misshandel, utomhus, obekant med offret", "0393"),
        ("Misshandel, inomhus, bekant med offret", "0375"),
        ("Olaga hot", "0401"),
        ("Grov kvinnofridskränkning", "0410"),
        ("Sexuellt ofredande", "0659"),
    ],
    "stold_ran": [
        ("Stöld av cykel", "0857"),
        ("Inbrott i lägenhet", "0823"),
        ("Butiksstöld", "0805"),
        ("Stöld ur/från motorfordon", "0846"),
        ("Rån mot person, utomhus", "0990"),
    ],
    "skadegorelse": [
        ("Skadegörelse genom klotter", "1209"),
        ("Skadegörelse på motorfordon", "1203"),
    ],
    "narkotikabrott": [("Narkotikabrott, innehav", "5011"), ("Ringa narkotikabrott", "5010")],
    "ovrigt": [
        ("Bedrägeri", "0904"),
        ("Ofredande", "0421"),
        ("Rattfylleri", "3005"),
        ("Olaga intrång", "4805"),
    ],
}
#: Hour-of-day weights (0–23) by kind.
_NIGHT = np.array([6, 5, 4, 3, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3, 4, 4, 5, 5, 6, 7, 7, 7], float)
_DAY = np.array([1, 1, 1, 1, 1, 1, 2, 3, 5, 6, 6, 7, 7, 7, 7, 8, 8, 8, 7, 6, 5, 4, 2, 2], float)
HOURS = {
    "valdsbrott": _NIGHT,
    "stold_ran": _DAY,
    "skadegorelse": np.roll(_NIGHT, -1),
    "narkotikabrott": np.roll(_DAY, 4),
    "ovrigt": _DAY,
}
#: Weekday weights (Monday first) by kind: violence and vandalism at weekends.
WEEKDAYS = {
    "valdsbrott": np.array([1, 1, 1, 1.1, 1.5, 1.9, 1.6]),
    "skadegorelse": np.array([1, 1, 1, 1, 1.3, 1.5, 1.3]),
}
START, END = pd.Timestamp("2021-01-01"), pd.Timestamp("2026-01-01")
STREETS = ["Götgatan", "Drottninggatan", "Rinkebystråket", "Hornsgatan", "Sveavägen"]
HEADER = [
    "Diarienummer",
    "Brottsbenämning",
    "Brottskod",
    "Brottsdatum från",
    "Brottstid från",
    "Brottsdatum till",
    "Brottstid till",
    "Brottsplats",
    "Kommun",
    "X",
    "Y",
]


def _district_mix(data_dir: Path) -> pd.DataFrame:
    path = data_dir / "crime_stats" / "stockholm_arsbok_anmalda_brott_2024_per_sdo.csv"
    table = pd.read_csv(path)
    table = table[table["level"] == "stadsdelsomrade"].set_index("area")
    kinds = ["valdsbrott", "stold_ran", "skadegorelse", "narkotikabrott"]
    mix = table[kinds].astype(float)
    mix["ovrigt"] = table["anmalda_brott"] - mix.sum(axis=1)
    return mix


def _points(
    rng: np.random.Generator, polygon: shapely.Geometry, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points in ``polygon``: 70 % round a few hotspots, the rest spread out."""
    shapely.prepare(polygon)
    x0, y0, x1, y1 = polygon.bounds
    spots = []
    while len(spots) < 6:
        cx, cy = rng.uniform(x0, x1), rng.uniform(y0, y1)
        if shapely.contains_xy(polygon, cx, cy):
            spots.append((cx, cy, rng.uniform(120, 400)))
    xs, ys = np.empty(0), np.empty(0)
    while len(xs) < n:
        m = (n - len(xs)) * 2 + 16
        pick = rng.integers(0, len(spots), m)
        near = rng.random(m) < 0.7
        centre = np.array([spots[k] for k in pick])
        x = np.where(near, rng.normal(centre[:, 0], centre[:, 2]), rng.uniform(x0, x1, m))
        y = np.where(near, rng.normal(centre[:, 1], centre[:, 2]), rng.uniform(y0, y1, m))
        inside = shapely.contains_xy(polygon, x, y)
        xs, ys = np.concatenate([xs, x[inside]]), np.concatenate([ys, y[inside]])
    return np.round(xs[:n]), np.round(ys[:n])


def _times(rng: np.random.Generator, kind: str, n: int) -> pd.DatetimeIndex:
    days = pd.date_range(START, END, freq="D", inclusive="left")
    weekday = WEEKDAYS.get(kind, np.ones(7))[days.dayofweek]
    day = rng.choice(len(days), n, p=weekday / weekday.sum())
    hour_w = HOURS[kind] / HOURS[kind].sum()
    hour = rng.choice(24, n, p=hour_w)
    minute = rng.integers(0, 60, n)
    return days[day] + pd.to_timedelta(hour * 60 + minute, unit="min")


def write_synthetic_crime_list(folder: Path, rows: int, *, data_dir: Path, seed: int = 16) -> Path:
    """Write ``rows`` SYNTHETIC reported crimes as ``synthetic_brott_<rows>_seed<seed>.csv``.

    Parameters
    ----------
    folder
        Where to write (a temporary folder: the file is never data of the project).
    rows
        How many rows, mistakes included.
    data_dir
        The data directory with ``boundaries/`` and ``crime_stats/`` (real, read only).
    seed
        The same seed writes the same file.
    """
    rng = np.random.default_rng(seed)
    mix = _district_mix(data_dir)
    districts = areas.load_areas(data_dir).sdo_11.set_index("name").geometry
    mix = mix.loc[[d for d in mix.index if d in districts.index]]
    share = (mix / mix.to_numpy().sum()).stack()
    counts = rng.multinomial(rows, share.to_numpy())
    parts = []
    for (district, kind), n in zip(share.index, counts, strict=True):
        if not n:
            continue
        xs, ys = _points(rng, districts[district], n)
        names = KINDS[kind]
        which = rng.integers(0, len(names), n)
        begins = _times(rng, kind, n)
        span = (kind == "stold_ran") & (rng.random(n) < 0.33)
        ends = begins + pd.to_timedelta(rng.integers(30, 14 * 60, n), unit="min")
        address = rng.random(n) < 0.08
        street = np.array(STREETS, dtype=object)[rng.integers(0, len(STREETS), n)]
        parts.append(
            pd.DataFrame(
                {
                    "Brottsbenämning": [names[k][0] for k in which],
                    "Brottskod": [names[k][1] for k in which],
                    "Brottsdatum från": begins.strftime("%Y-%m-%d"),
                    "Brottstid från": begins.strftime("%H:%M"),
                    "Brottsdatum till": np.where(span, ends.strftime("%Y-%m-%d"), ""),
                    "Brottstid till": np.where(span, ends.strftime("%H:%M"), ""),
                    "Brottsplats": np.where(
                        address, street + " " + rng.integers(1, 80, n).astype(str), ""
                    ),
                    "Kommun": "Stockholm",
                    "X": np.where(address, "", xs.astype(int).astype(str)),
                    "Y": np.where(address, "", ys.astype(int).astype(str)),
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True).sample(frac=1.0, random_state=seed)
    frame = frame.reset_index(drop=True)
    frame.insert(0, "Diarienummer", [f"SYNT-{seed}-{k:08d}" for k in range(len(frame))])
    # Mistakes as deliveries have them: repeats, the future, swapped axes.
    k = max(rows // 300, 1)
    bad = rng.choice(len(frame), 3 * k, replace=False)
    frame.loc[bad[:k], "Brottsdatum från"] = "2031-05-01"
    swap = bad[k : 2 * k]
    frame.loc[swap, ["X", "Y"]] = frame.loc[swap, ["Y", "X"]].to_numpy()
    repeats = frame.iloc[bad[2 * k :]]
    frame = pd.concat([frame.iloc[: rows - len(repeats)], repeats], ignore_index=True)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"synthetic_brott_{rows}_seed{seed}.csv"
    frame[HEADER].to_csv(path, sep=";", index=False)
    return path
