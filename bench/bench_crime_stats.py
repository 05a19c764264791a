"""Benchmark of the crime-statistics and population parsers, and their reconciliation.

Run with ``.venv/bin/python bench/bench_crime_stats.py`` (``--data DIR`` for another data
directory; ``../shared/data`` by default). Prints two tables:

1. **Speed.** For each real file: ``bra.parse`` / ``population.parse`` (read, check every
   value, classify areas and categories, find duplicates and areas that did not exist)
   against the bare read the same file needs anyway — ``pandas.read_csv`` for CSV,
   ``pandas.read_excel`` for .xls (xlrd) and .xlsx (openpyxl) — best of ``--repeat`` runs.
   The ratio is what the checks cost on top of reading.
2. **Accuracy.** The reconciliations of ``analysis.crime_rates`` on the same files:
   yearbook rates per 1 000 recomputed from parsed counts and population (largest
   relative error, and the two figures the issue names), Brå's per-100k recomputed from
   monthly counts with the population of 31 December the year before, Brå 2024 against
   the yearbook, and what has no district.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pandas as pd
import xlrd

from trygghetskarta import districts
from trygghetskarta.analysis import crime_rates as cr
from trygghetskarta.sources import bra, population

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def best_of(fn: Callable[[], object], repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def bare_read(path: Path) -> Callable[[], object]:
    if path.suffix == ".xls":  # pandas 3 deprecates its xlrd engine: xlrd itself
        return lambda: [
            s.get_rows() and list(s.get_rows()) for s in xlrd.open_workbook(path).sheets()
        ]
    if path.suffix == ".xlsx":
        return lambda: pd.read_excel(path, header=None, engine="openpyxl")
    return lambda: pd.read_csv(path, dtype=str, keep_default_na=False)


def speed(data: Path, repeat: int) -> None:
    files = [(p, "bra") for p in bra.discover(data)]
    files += [
        (p, "bra") for p in sorted((data / "crime_stats").glob("*.csv")) if (p, "bra") not in files
    ]
    files += [(p, "population") for p in population.discover(data)]
    print(f"{'file':<66} {'records':>8} {'parse ms':>9} {'bare ms':>8} {'ratio':>6}")
    for path, kind in files:
        if kind == "bra":
            parse = lambda p=path: bra.parse(p, as_of=date(2026, 11, 22))  # noqa: E731
        else:
            parse = lambda p=path: population.parse(p)  # noqa: E731
        records = parse().read
        t_parse = best_of(parse, repeat)
        t_bare = best_of(bare_read(path), repeat)
        name = path.relative_to(data).as_posix()
        print(
            f"{name:<66} {records:>8} {t_parse * 1e3:>9.1f} {t_bare * 1e3:>8.1f} "
            f"{t_parse / t_bare:>6.1f}"
        )


def accuracy(data: Path) -> None:
    stats = bra.parse(bra.discover(data), as_of=date(2026, 11, 22)).stats
    pop = population.parse(population.discover(data)).population
    yearbook = stats[stats["source"] == bra.SOURCE_ARSBOK]
    rates = cr.add_rates(yearbook, pop)
    rel = ((rates["computed_rate"] - rates["rate"]).abs() / rates["rate"]).max()
    print(f"{'check':<62} {'result':>24}")
    print(f"{'yearbook 2024: 75 rates per 1 000, largest relative error':<62} {rel:>24.1e}")
    for area in ("Järva", "Stockholm"):
        row = rates[(rates["area"] == area) & (rates["category_key"] == "total")].iloc[0]
        text = (
            f"{row['count']} / {row['population']} = "
            f"{cr.round_half_up(row['computed_rate'], 1)[0]:.1f}"
        )
        print(f"{'yearbook 2024 ' + area + ' (one decimal)':<62} {text:>24}")
    check = cr.monthly_vs_yearly(stats, pop)
    done = check[check["match"].notna()]
    text = f"{int(done['match'].astype(bool).sum())} of {len(done)}"
    print(f"{'Brå yearly per-100k from 12 monthly counts, 31 Dec year before':<62} {text:>24}")
    unchanged = [a for a in districts.SDO_11 if a in districts.SDO_13]
    for year, convention in ((2021, "previous_year_end"), (2020, "year_end")):
        rows = stats[
            (stats["year"] == year) & stats["month"].notna() & stats["area"].isin(unchanged)
        ]
        out = cr.add_rates(rows, pop, per=100_000, convention=convention)
        out = out[out["population"].notna()]
        same = cr.round_half_up(out["computed_rate"], 0) == out["rate"].astype(float).to_numpy()
        label = f"Brå monthly per-100k {year}, 9 districts, {convention}"
        print(f"{label:<62} {f'{int(same.sum())} of {len(out)}':>24}")
    rows = stats[
        (stats["source"] == bra.SOURCE_BRA)
        & (stats["year"] == 2021)
        & (stats["area"] == "Stockholm")
        & stats["month"].notna()
    ]
    lo, hi = cr.implied_population_bounds(rows["count"], rows["rate"])
    text = f"{lo:,.0f}–{hi:,.0f}".replace(",", " ")
    print(f"{'Stockholm kommun 2021: population behind Brå rates (975 551)':<62} {text:>24}")
    brå = stats[
        (stats["source"] == bra.SOURCE_BRA)
        & (stats["area"] == "Stockholm")
        & (stats["year"] == 2024)
        & (stats["category_key"] == "total")
    ]
    yb = rates[(rates["area"] == "Stockholm") & (rates["category_key"] == "total")]
    if len(brå) and len(yb):
        ratio = brå["rate"].iloc[0] / (yb["rate"].iloc[0] * 100)
        implied = cr.implied_population(yb["count"].iloc[0], brå["rate"].iloc[0])[0]
        text = f"{ratio:.5f} (pop {implied:,.0f})".replace(",", " ")
        print(f"{'Brå 2024 Stockholm 20 419 / (yearbook 203.51 × 100)':<62} {text:>24}")
    city = cr.district_sum_vs_city(stats)
    for source, part in city.groupby("source"):
        total = part[part["category_key"] == "total"]
        part = total if len(total) else part
        text = f"{part['without_district'].sum()} ({part['share_without'].mean():.2%})"
        print(f"{'without a district, ' + source:<62} {text:>24}")
    print(
        f"{'13→11 sums vs Brå retro-computed 11-area figures, overlaps':<62} "
        f"{len(cr.compare_schemes(stats)):>24}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not (args.data / "crime_stats").is_dir():
        print(f"no crime_stats/ in {args.data} — pass --data DIR; nothing measured")
        return
    speed(args.data, args.repeat)
    print()
    accuracy(args.data)


if __name__ == "__main__":
    main()
