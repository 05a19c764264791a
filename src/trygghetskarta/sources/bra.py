"""Reported-crime statistics (Brå and the city yearbook) → one long ``crime_stats`` frame.

Pure: files in, frames out; no database, no network. Reads every shape the statistics
come in, telling them apart by content, not by name:

- Brå's table-builder exports (``.xls``; "Anmälda brott / Brottsförebyggande rådet"),
  yearly or monthly, counts (``Antal``) and/or rates (``/100 000 inv``), for kommuner and
  Stockholm's stadsdelsområden in both schemes and the former stadsdelar;
- the same figures as long CSV extracts (``crime_stats/bra_*.csv``) or a user's own file
  in that shape;
- the city yearbook table 1.63 "Anmälda brott YYYY" (``.xlsx`` or its CSV extract);
- Brå's yearly municipal CSV from bra.se (``;``, UTF-8 BOM, space as thousands separator,
  header from 2023, "<name>s kommun" without header in 2021).

Rules (each broken rule quarantines the statistic with a reason a person understands):

- ``..``, ``-``, ``–`` or an empty cell is *suppressed*: no value, never 0.
- Counts are whole numbers ≥ 0, rates numbers ≥ 0; "2 731" and "21308,0" are read as
  numbers; a value Excel turned into a date is refused.
- An area shown before it existed, or after it ceased, with only 0 or nothing (Brå prints
  0 for Järva before 2024), is not a count.
- A period that starts after ``as_of`` (today) is refused.
- The same statistic twice (same source, area, period, category): the copy goes to
  quarantine; two different values for it both go.
- A file that cannot be read as a whole raises :class:`SourceError` naming the file, the
  line and the fix.

``read`` counts statistics as the inputs present them (one per area × period × category,
with its count and rate), so ``read == len(stats) + len(quarantine)``.
"""

from __future__ import annotations

import calendar
import hashlib
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from trygghetskarta import districts as d
from trygghetskarta.errors import SourceError
from trygghetskarta.schema import STATISTICS_COLUMNS
from trygghetskarta.sources import _bra_csv
from trygghetskarta.sources._bra_tables import (
    SOURCE_ARSBOK,
    SOURCE_BRA,
    SOURCE_BRA_KOMMUN,
    Record,
    category_key,
    classify_area,
    month_number,
    read_solwebb,
    read_yearbook,
)
from trygghetskarta.sources._stats_io import Cell, file_kind, read_grid, read_text_table

__all__ = [
    "QUARANTINE_COLUMNS",
    "SOURCE_ARSBOK",
    "SOURCE_BRA",
    "SOURCE_BRA_KOMMUN",
    "STATS_COLUMNS",
    "StatsResult",
    "discover",
    "parse",
    "parse_file",
]

#: The ``crime_stats`` table: column → DuckDB type (the shared ``statistics`` table).
STATS_COLUMNS: dict[str, str] = STATISTICS_COLUMNS
QUARANTINE_COLUMNS = ("source", "source_id", "source_file", "reason", "raw")
#: Columns whose values make a statistic's content (a change in one is an update).
CONTENT_COLUMNS = ("count", "rate", "rate_unit", "suppressed", "preliminary", "note")

SUPPRESSED_MARKS = frozenset({"", "..", ".", "-", "–", "—", "x", "×"})
_DATE_LIKE = re.compile(
    r"^(\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2})?)?|\d{1,2}/\d{1,2}/\d{2,4}"
    r"|\d{1,2}-[a-zåäö]{3}(-\d{2,4})?|[a-zåäö]{3}-\d{2,4})$",
    re.I,
)
_THOUSANDS = re.compile(r"(?<=\d)[\s\u00a0\u202f\u2009](?=\d{3}(?!\d))")
_RATE_EQUAL_ABS = 5e-4  # a rate rounded to 3 decimals equals its full-precision value


@dataclass(frozen=True)
class StatsResult:
    """What :func:`parse` returns.

    Attributes
    ----------
    stats
        One row per statistic, columns :data:`STATS_COLUMNS`.
    quarantine
        One row per rejected statistic: ``source, source_id, source_file, reason, raw``.
    read
        Statistics read; always ``len(stats) + len(quarantine)``.
    files
        The files read, in order.
    """

    stats: pd.DataFrame
    quarantine: pd.DataFrame
    read: int
    files: tuple[str, ...]


# --------------------------------------------------------------------------- files


def parse_file(path: Path | str, *, year: int | None = None) -> list[Record]:
    """Read one file of any supported shape into unchecked records.

    Parameters
    ----------
    path
        A spreadsheet (.xls/.xlsx, told apart by content) or a CSV file.
    year
        The year of a Brå municipal CSV whose name does not contain it.

    Raises
    ------
    SourceError
        The file cannot be read or has no known shape.
    """
    path = Path(path)
    kind = file_kind(path)
    if kind in ("xls", "xlsx", "html"):
        grid = read_grid(path)
        first = " ".join(c.text() for c in grid.rows[0]) if grid.rows else ""
        if "brottsförebyggande rådet" in first.lower():
            return read_solwebb(grid)
        return read_yearbook(grid)
    table = read_text_table(path, preferred=",")
    if not table.rows:
        raise SourceError(f"{path.name}, line 1: the file has no rows — export it again")
    shape = _bra_csv.shape(table)
    if shape == "kommun":
        table = read_text_table(path, preferred=";")
        return _bra_csv.read_kommun(table, year=_bra_csv.kommun_csv_year(path, year))
    if shape == "yearbook":
        return _bra_csv.read_yearbook_csv(table)
    return _bra_csv.read_long(table)


def discover(data_dir: Path | str) -> list[Path]:
    """The crime-statistics files of a data directory, one file per publication.

    ``data_dir`` is the data directory (with ``crime_stats/``) or that folder itself. The
    original exports under ``raw/`` are preferred; a CSV extract is used when its original
    is absent (the monthly 2020–2023 extract has none). Every other CSV there (a Brå
    municipal CSV, a user's long CSV) is included.
    """
    folder = Path(data_dir)
    if (folder / "crime_stats").is_dir():
        folder = folder / "crime_stats"
    raw = folder / "raw"
    found: list[Path] = []
    originals = sorted(raw.glob("*.xls*")) if raw.is_dir() else []
    found.extend(originals)
    derived_from = {
        "bra_anmalda_brott_per100k_stockholm_sdo_2021-2025.csv": "bra_alla_kommuner_2021_2025.xls",
        "stockholm_arsbok_anmalda_brott_2024_per_sdo.csv": "1.63-anmalda-brott-2024.xlsx",
        "bra_anmalda_brott_monthly_bromma_hagersten-alvsjo_2025-2026.csv": "Brott_2025_raw.xls",
    }
    names = {p.name for p in originals}
    for csv in sorted(folder.glob("*.csv")) if folder.is_dir() else []:
        if derived_from.get(csv.name) not in names:
            found.append(csv)
    return found


# --------------------------------------------------------------------------- values


def _number(value: Any, what: str) -> tuple[float | None, bool, str | None]:
    """(number, suppressed, problem) of a raw cell or CSV field."""
    if value is None:
        return None, False, None
    if isinstance(value, Cell):
        if value.kind == "number":
            return _finite(float(value.value), what)
        if value.kind == "empty":
            return None, True, None
        if value.kind == "date":
            problem = (
                f"Excel date: the {what} is a date ({value.text()}) — Excel turned the number "
                "into a date; format the cell as a number and export again"
            )
            return None, False, problem
        if value.kind != "text":
            return None, False, f"not a number: the {what} is {value.text()!r} — fix the cell"
        value = value.value
    text = str(value).strip()
    if text in SUPPRESSED_MARKS:
        return None, True, None
    if _DATE_LIKE.match(text):
        problem = (
            f"Excel date: the {what} {text!r} is a date — Excel turned the number into a date; "
            "export the column as numbers"
        )
        return None, False, problem
    cleaned = _THOUSANDS.sub("", text)
    if re.fullmatch(r"-?\d+,\d+", cleaned):
        cleaned = cleaned.replace(",", ".")
    elif re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", cleaned):
        cleaned = cleaned.replace(",", "")
    try:
        number = float(cleaned)
    except ValueError:
        problem = f"not a number: the {what} {text!r} — write digits, '..' or leave it empty"
        return None, False, problem
    return _finite(number, what)


def _finite(number: float, what: str) -> tuple[float | None, bool, str | None]:
    if not math.isfinite(number):
        return None, False, f"not a number: the {what} {number!r} is not finite"
    if number < 0:
        return None, False, f"negative: the {what} {number:g} is below 0 — counts and rates are ≥ 0"
    return number, False, None


def _year(value: Any) -> tuple[int | None, bool, str | None]:
    """(year, preliminary, problem)."""
    if isinstance(value, Cell):
        if value.kind == "date":
            problem = f"Excel date: the year is a date ({value.text()}) — expected a year like 2024"
            return None, False, problem
        value = value.text()
    text = str(value).strip()
    m = re.fullmatch(r"(\d{4})(?:\.0)?\s*(prel\.?)?", text, re.I)
    if m and 1950 <= int(m.group(1)) <= 2100:
        return int(m.group(1)), bool(m.group(2)), None
    if re.fullmatch(r"\d{5}(\.0+)?", text):
        problem = f"Excel date: the year {text!r} is a date serial — expected a year like 2024"
    elif _DATE_LIKE.match(text):
        problem = f"Excel date: the year {text!r} is a date — expected a year like 2024"
    else:
        problem = f"bad year: {text!r} is not a year — expected four digits like 2024"
    return None, False, problem


def _month(value: Any) -> tuple[int | None, str | None]:
    """(month 1–12 or None for a yearly figure, problem)."""
    if value is None:
        return None, None
    if isinstance(value, int):
        return (value, None) if 1 <= value <= 12 else (None, f"bad month: {value} is not 1–12")
    text = value.text() if isinstance(value, Cell) else str(value).strip()
    if text == "":
        return None, None
    if re.fullmatch(r"\d{1,2}(\.0)?", text) and 1 <= int(float(text)) <= 12:
        return int(float(text)), None
    if month_number(text):
        return month_number(text), None
    if _DATE_LIKE.match(text) or (isinstance(value, Cell) and value.kind == "date"):
        return None, f"Excel date: the month {text!r} is a date — Excel converted it; expected 1–12"
    return None, f"bad month: {text!r} is not a month — expected 1–12 or a Swedish month name"


# --------------------------------------------------------------------------- checks


def _period(year: int, month: int | None) -> tuple[date, date]:
    if month is None:
        return date(year, 1, 1), date(year, 12, 31)
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _kommun_name(name: str, known: frozenset[str] | None) -> str:
    """Fold Brå's 2021 genitive ("Stockholms", "Arjeplogs") to the kommun's name."""
    if not known or name in known:
        return name
    if name.endswith("s") and name[:-1] in known:
        return name[:-1]
    return name


def _check(rec: Record, as_of: date, known: frozenset[str] | None) -> dict[str, Any]:
    """One record → a row dict with ``problem`` set when it cannot be used."""
    row: dict[str, Any] = {"_rec": rec, "problem": rec.problem}
    if row["problem"]:
        return row
    info = classify_area(rec.area_raw, kind_hint=rec.kind_hint)
    year, prel_year, problem = _year(rec.year)
    month, month_problem = _month(rec.month)
    count, count_sup, count_problem = _number(rec.count, "count")
    rate, rate_sup, rate_problem = _number(rec.rate, "rate")
    if count is not None and not float(count).is_integer():
        count_problem = f"not a whole number: the count {count:g} — counts are whole numbers"
    problems = [problem, month_problem, count_problem, rate_problem]
    if info is None:
        problems.insert(0, (
            f"unknown area: {rec.area_raw!r} is not a kommun, county, Stockholm "
            "stadsdelsområde or former stadsdel — check the spelling"
        ))  # fmt: skip
    if not str(rec.category).strip():
        problems.insert(0, "no category: the category column is empty — fill it")
    problem = next((p for p in problems if p), None)
    if problem:
        row["problem"] = problem
        return row
    assert info is not None and year is not None
    start, end = _period(year, month)
    if start > as_of:
        row["problem"] = (
            f"future period: {start.isoformat()} starts after today ({as_of.isoformat()}) — "
            "check the year and month"
        )
        return row
    if info.kind == "district":
        scheme = d.scheme_for(info.name, start)
    elif info.kind == "former":
        scheme = d.SCHEME_FORMER
    else:
        scheme = {"kommun": d.SCHEME_KOMMUN, "region": d.SCHEME_REGION,
                  "county": d.SCHEME_COUNTY, "country": d.SCHEME_COUNTRY}[info.kind]  # fmt: skip
    area = _kommun_name(info.name, known) if info.kind == "kommun" else info.name
    key, sensitive = category_key(rec.category)
    parts = (rec.source, scheme, area, start.isoformat(), end.isoformat(), key)
    row.update(
        stat_key=hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()[:20],
        source=rec.source,
        source_table=rec.source_table,
        source_file=rec.source_file,
        source_line=rec.line,
        area=area,
        area_raw=rec.area_raw,
        area_scheme=scheme,
        year=year,
        month=month,
        period_start=start,
        period_end=end,
        category=" ".join(str(rec.category).split()),
        category_path=rec.category_path,
        category_key=key,
        count=None if count is None else int(count),
        rate=rate,
        rate_unit=rec.rate_unit if rec.rate is not None else None,
        suppressed=bool(count_sup or rate_sup),
        preliminary=bool(rec.preliminary or prel_year),
        sensitive=sensitive,
        note=rec.note,
        _formed=rec.formed or d.FORMED.get(area),
        _ceased=rec.ceased or info.ceased or d.CEASED.get(area),
    )
    return row


def _quarantine_row(rec: Record, reason: str) -> dict[str, str]:
    return {
        "source": rec.source,
        "source_id": f"{rec.source_file}:{rec.line}:{rec.field}",
        "source_file": rec.source_file,
        "reason": reason,
        "raw": rec.raw,
    }


def _period_label(start: date, end: date) -> str:
    return str(start.year) if (start.month, end.month) == (1, 12) else start.strftime("%Y-%m")


def _not_existing(ok: pd.DataFrame) -> dict[int, str]:
    """Rows for an area before it was formed or after it ceased that hold only 0 or nothing."""

    def day(value: Any) -> date | None:
        return None if value is None or pd.isna(value) else value

    starts = ok["period_start"].tolist()
    formed = [day(v) for v in ok["_formed"]]
    ceased = [day(v) for v in ok["_ceased"]]
    before = pd.Series(
        [f is not None and s < f for s, f in zip(starts, formed, strict=True)], index=ok.index
    )
    after = pd.Series(
        [c is not None and s >= c for s, c in zip(starts, ceased, strict=True)], index=ok.index
    )
    outside = ok[before | after]
    if outside.empty:
        return {}
    nil = (outside["count"].fillna(0) == 0) & (outside["rate"].fillna(0) == 0)
    keys = ["source_file", "area", "period_start", "period_end"]
    # a block with any real value was computed afterwards ("framtagen i efterhand"): keep it
    all_nil = nil.groupby([outside[k] for k in keys]).transform("all")
    position = {idx: n for n, idx in enumerate(ok.index)}
    reasons: dict[int, str] = {}
    for idx in outside.index[all_nil.to_numpy(dtype=bool)]:
        n = position[idx]
        why = (
            f"formed {formed[n].isoformat()}" if before[idx] else f"ceased {ceased[n].isoformat()}"
        )
        label = _period_label(starts[n], ok.at[idx, "period_end"])
        reasons[idx] = (
            f"area did not exist: {ok.at[idx, 'area']} in {label} ({why}) — the table prints 0 "
            "or nothing there, which is not a count"
        )
    return reasons


def _fmt(value: Any) -> str:
    if value is None or pd.isna(value):
        return "none"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _duplicates(ok: pd.DataFrame) -> dict[int, str]:
    """The second and later copies of a statistic, or every copy when their values differ."""
    dup = ok[ok.duplicated("stat_key", keep=False)]
    if dup.empty:
        return {}
    by = dup.groupby("stat_key", sort=False)
    first = by.transform("first")
    rank = by.cumcount()

    def same(col: str) -> pd.Series:
        a, b = dup[col], first[col]
        return (a.isna() & b.isna()) | (a == b).fillna(False)

    rate_a = pd.to_numeric(dup["rate"]).astype(float)
    rate_b = pd.to_numeric(first["rate"]).astype(float)
    close = (rate_a.isna() & rate_b.isna()) | (
        (rate_a - rate_b).abs() <= _RATE_EQUAL_ABS + 1e-9 * rate_b.abs()
    )
    equal = same("count") & same("suppressed") & same("rate_unit") & close
    group_equal = equal.groupby(dup["stat_key"], sort=False).transform("all")
    reasons: dict[int, str] = {}
    for idx in dup.index[(group_equal & (rank > 0)).to_numpy(dtype=bool)]:
        reasons[idx] = (
            f"duplicate: the same statistic as {first.at[idx, 'source_file']} line "
            f"{first.at[idx, 'source_line']} (same area, period, category and value)"
        )
    for _, group in dup[~group_equal.to_numpy(dtype=bool)].groupby("stat_key", sort=False):
        head = group.iloc[0]
        values = "; ".join(
            f"{f} line {ln}: count {_fmt(c)}, rate {_fmt(r)}"
            for f, ln, c, r in group[["source_file", "source_line", "count", "rate"]].itertuples(
                index=False
            )
        )
        period = _period_label(head["period_start"], head["period_end"])
        for idx in group.index:
            reasons[idx] = (
                f"conflicting values: {head['area']} {period} {head['category']!r} "
                f"({values}) — keep one and remove the others"
            )
    return reasons


def _empty_stats() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=_PANDAS_TYPES[c]) for c in STATS_COLUMNS})


_PANDAS_TYPES = {
    "VARCHAR": "string",
    "INTEGER": "Int64",
    "BIGINT": "Int64",
    "DOUBLE": "Float64",
    "BOOLEAN": "boolean",
    "DATE": "datetime64[s]",
}
_PANDAS_TYPES = {c: _PANDAS_TYPES[t] for c, t in STATS_COLUMNS.items()}


def _assemble(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows) if rows else _empty_stats()


def parse(
    paths: Path | str | Iterable[Path | str],
    *,
    as_of: date | None = None,
    kommun_names: Sequence[str] | None = None,
    year: int | None = None,
) -> StatsResult:
    """Parse crime-statistics files into the ``crime_stats`` frame and a quarantine.

    Parameters
    ----------
    paths
        One file or many, of any supported shape (see the module docstring).
    as_of
        The day after which periods are "in the future"; today by default.
    kommun_names
        Municipality names (e.g. from SCB's population table) used to fold the genitive
        of Brå's 2021 municipal CSV ("Stockholms kommun" → "Stockholm"). Without them the
        name is kept as printed.
    year
        The year of a Brå municipal CSV whose file name has none.

    Returns
    -------
    StatsResult

    Raises
    ------
    SourceError
        A file cannot be read as a whole (one sentence: file, line, fix).
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files = [Path(p) for p in paths]
    as_of = as_of or date.today()
    known = frozenset(d.normalise_name(n) for n in kommun_names) if kommun_names else None
    records = [rec for path in files for rec in parse_file(path, year=year)]
    checked = [_check(rec, as_of, known) for rec in records]
    quarantine = [_quarantine_row(r["_rec"], r["problem"]) for r in checked if r["problem"]]
    ok = _assemble([r for r in checked if not r["problem"]])
    if len(ok):
        rejected = _not_existing(ok)
        rest = ok.drop(index=list(rejected))
        rejected.update(_duplicates(rest))
        for idx, reason in sorted(rejected.items()):
            quarantine.append(_quarantine_row(ok.at[idx, "_rec"], reason))
        ok = ok.drop(index=list(rejected))
        stats = ok[list(STATS_COLUMNS)].reset_index(drop=True)
        stats["period_start"] = pd.to_datetime(stats["period_start"])
        stats["period_end"] = pd.to_datetime(stats["period_end"])
        stats = stats.astype(_PANDAS_TYPES)
    else:
        stats = _empty_stats()
    q = pd.DataFrame(quarantine, columns=list(QUARANTINE_COLUMNS)).astype("string")
    result = StatsResult(stats, q, len(records), tuple(str(p) for p in files))
    if result.read != len(stats) + len(q):
        raise AssertionError(f"lost statistics: read {result.read}, kept {len(stats)} + {len(q)}")
    return result
