"""Population per area and date: the city yearbook, SCB's RegSO table and SCB's kommun table.

Pure: files in, frames out. Reads, telling the shapes apart by content:

- Statistisk årsbok för Stockholm table 1.2 "Folkmängd den 31 dec 2010-2034" (``.xlsx``),
  or its CSV extract (``area, level, pop_2010 … pop_2034_forecast``): the 11
  stadsdelsområden (retro-computed for Järva and Norra innerstaden), the three regions,
  "På staden skrivna" (registered in the city without an address) and Hela staden;
- SCB's population by RegSO and five-year age group (``regsokod, regso, age_group,
  population, year``), summed to one figure per RegSO (:func:`read_regso_by_age` keeps
  the ages);
- SCB's population per kommun (``kommun_kod, kommun_namn, population``; table
  BE0101A/FolkmangdNov, i.e. 1 November of the year in the file name).

Every figure carries its ``reference_date``: the yearbook and RegSO count 31 December, SCB's
kommun table 1 November — Stockholm 2024 is 995 574 in one and 995 600 in the other.
Rates per 1 000 use 31 December of the same year, as the yearbook does
(:mod:`trygghetskarta.analysis.crime_rates`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from trygghetskarta import districts as d
from trygghetskarta.errors import SourceError
from trygghetskarta.schema import POPULATION_COLUMNS as SCHEMA_POPULATION_COLUMNS
from trygghetskarta.sources._stats_io import (
    Cell,
    Grid,
    TextTable,
    cell_ref,
    closest,
    file_kind,
    read_grid,
    read_text_table,
)

#: The ``population`` table: column → DuckDB type; primary key (area, level, reference_date).
POPULATION_COLUMNS: dict[str, str] = SCHEMA_POPULATION_COLUMNS
LEVELS = ("stadsdelsomrade", "region", "kommun", "other", "regso")
QUARANTINE_COLUMNS = ("source", "source_id", "source_file", "reason", "raw")
SOURCE_ARSBOK = "stockholm_arsbok_1.2"
SOURCE_REGSO = "scb_regso"
SOURCE_KOMMUN = "scb_folkmangd_nov"

_LEVEL_NAMES = {
    "stadsdelsomrade": "stadsdelsomrade",
    "region": "region",
    "city": "kommun",
    "kommun": "kommun",
    "unassigned": "other",
    "other": "other",
}
_UNASSIGNED = {"på staden skrivna"}
_YEAR_HEAD = re.compile(r"^(?P<year>\d{4})\s*(?P<mark>[¹²³\d*])?$")


@dataclass(frozen=True)
class PopulationResult:
    """What :func:`parse` returns: the figures, the rejected ones, how many were read."""

    population: pd.DataFrame
    quarantine: pd.DataFrame
    read: int


@dataclass
class _Figure:
    area_raw: str
    level: str | None
    code: str | None
    year: int
    reference_date: date
    value: Any
    forecast: bool
    source: str
    source_file: str
    line: int
    field: str
    raw: str
    problem: str | None = None


def _classify(label: str) -> tuple[str, str] | None:
    """A yearbook label → (area, level), names folded to the rest of the package's."""
    text = d.normalise_name(label)
    low = text.lower()
    if low in ("hela staden", "stockholm"):
        return "Stockholm", "kommun"
    if low in _UNASSIGNED:
        return text, "other"
    region = d.REGION_ALIASES.get(text, text)
    if region in d.REGIONS:
        return region, "region"
    if text in d.SDO_11 or text in d.SDO_13:
        return text, "stadsdelsomrade"
    return None


# --------------------------------------------------------------------------- yearbook 1.2


def _yearbook_grid(grid: Grid) -> list[_Figure]:
    name = grid.path.name
    title = grid.cell(0, 0).text()
    if not title.lower().startswith("folkmängd"):
        raise SourceError(
            f"{name}, line 1: expected the yearbook title 'Folkmängd den 31 dec …' in A1, got "
            f"{title[:60]!r} — use table 1.2 of Statistisk årsbok för Stockholm"
        )
    header = next(
        (r for r in range(1, min(len(grid.rows), 10)) if _YEAR_HEAD.match(grid.cell(r, 1).text())),
        None,
    )
    if header is None:
        raise SourceError(f"{name}, line 3: no row of years above the figures — export again")
    columns: dict[int, tuple[int, bool]] = {}
    for c, cell in enumerate(grid.rows[header]):
        text = cell.text()
        if c == 0 or not text:
            continue
        m = _YEAR_HEAD.match(text)
        if m is None:
            break  # "Fördelning, %" and everything right of it: shares, not counts
        columns[c] = (int(m["year"]), m["mark"] is not None)
    figures = []
    for r in range(header + 1, len(grid.rows)):
        label = grid.cell(r, 0).text()
        values = [grid.cell(r, c) for c in columns]
        if not label or all(v.kind == "empty" for v in values):
            continue
        for c, (year, forecast) in columns.items():
            figures.append(
                _Figure(
                    label,
                    None,
                    None,
                    year,
                    date(year, 12, 31),
                    grid.cell(r, c),
                    forecast,
                    SOURCE_ARSBOK,
                    name,
                    r + 1,
                    cell_ref(r, c),
                    grid.raw(r),
                )
            )
    return figures


def _yearbook_csv(table: TextTable) -> list[_Figure]:
    head = [h.strip().lower() for h in table.rows[0].fields]
    name = table.path.name
    pops = {i: h for i, h in enumerate(head) if h.startswith("pop_")}
    for h in head:
        if h not in ("area", "level", "share_2024_pct") and not h.startswith(("pop_", "share_")):
            hint = closest(h, ["area", "level", "pop_2024"])
            raise SourceError(
                f"{name}, line 1: unexpected column {h!r}"
                + (f" — did you mean {hint!r}? rename it" if hint else " — remove or rename it")
            )
    figures = []
    for row in table.rows[1:]:
        fields = [f.strip() for f in row.fields]
        problem = None
        if len(fields) != len(head):
            problem = f"bad line: {len(fields)} fields where the header has {len(head)}"
            fields = (fields + [""] * len(head))[: len(head)]
        for i, col in pops.items():
            m = re.fullmatch(r"pop_(\d{4})(_forecast|_prognos)?", col)
            if not m:
                raise SourceError(f"{name}, line 1: column {col!r} is not pop_<year>[_forecast]")
            year = int(m.group(1))
            level = (
                _LEVEL_NAMES.get(fields[head.index("level")].lower()) if "level" in head else None
            )
            figures.append(
                _Figure(
                    fields[head.index("area")],
                    level,
                    None,
                    year,
                    date(year, 12, 31),
                    fields[i],
                    bool(m.group(2)),
                    SOURCE_ARSBOK,
                    name,
                    row.line,
                    col,
                    row.raw,
                    problem,
                )
            )
    return figures


# --------------------------------------------------------------------------- SCB tables


def read_regso_by_age(path: Path | str) -> pd.DataFrame:
    """SCB population by RegSO and age group, as given.

    Returns
    -------
    pd.DataFrame
        ``code, name, age_group, age_from, age_to, population, year`` (and
        ``sdo_2024`` when the file has the derived district column); ``age_to`` is NA for
        the open top group ("80- år").

    Raises
    ------
    SourceError
        A required column is missing or a value is not a whole number.
    """
    path = Path(path)
    table = read_text_table(path)
    head = [h.strip().lower() for h in table.rows[0].fields]
    need = ["regsokod", "regso", "age_group", "population", "year"]
    missing = [c for c in need if c not in head]
    if missing:
        raise SourceError(
            f"{path.name}, line 1: expected the columns {need}, missing {missing} — rename the "
            "columns back"
        )
    frame = pd.DataFrame([r.fields for r in table.rows[1:]], columns=head, dtype="string")
    ages = frame["age_group"].str.extract(r"^(\d+)\s*-\s*(\d+)?")
    out = pd.DataFrame(
        {
            "code": frame["regsokod"].str.strip(),
            "name": frame["regso"].str.replace(r"^\d{4}R\d+\s+", "", regex=True).str.strip(),
            "age_group": frame["age_group"].str.strip(),
            "age_from": pd.to_numeric(ages[0]).astype("Int64"),
            "age_to": pd.to_numeric(ages[1]).astype("Int64"),
            "population": pd.to_numeric(frame["population"], errors="coerce").astype("Int64"),
            "year": pd.to_numeric(frame["year"], errors="coerce").astype("Int64"),
        }
    )
    if "stadsdelsomrade_2024" in head:
        out["sdo_2024"] = frame["stadsdelsomrade_2024"]
    bad = out["population"].isna() | out["year"].isna() | (out["population"] < 0).fillna(True)
    if bad.any():
        line = table.rows[1 + int(bad.to_numpy().argmax())].line
        raise SourceError(
            f"{path.name}, line {line}: population or year is not a whole number ≥ 0 — fix "
            "that line"
        )
    return out


def _regso_csv(table: TextTable) -> list[_Figure]:
    ages = read_regso_by_age(table.path)
    name = table.path.name
    totals = ages.groupby(["code", "year"], sort=True)["population"].sum().reset_index()
    return [
        _Figure(
            code,
            "regso",
            code,
            int(year),
            date(int(year), 12, 31),
            str(int(pop)),
            False,
            SOURCE_REGSO,
            name,
            0,
            f"sum of {code} {year}",
            f"{code},{year},{pop}",
        )
        for code, year, pop in totals.itertuples(index=False)
    ]


def _kommun_csv(table: TextTable, year: int | None) -> list[_Figure]:
    name = table.path.name
    head = [h.strip().lower() for h in table.rows[0].fields]
    if head != ["kommun_kod", "kommun_namn", "population"]:
        raise SourceError(
            f"{name}, line 1: expected the header kommun_kod,kommun_namn,population, got "
            f"{table.rows[0].raw!r} — rename the columns back"
        )
    if year is None:
        found = set(re.findall(r"(?<!\d)(20\d{2})(?!\d)", name))
        if len(found) != 1:
            raise SourceError(
                f"{name}, line 1: the kommun population file does not say its year — put it "
                "in the file name or pass year="
            )
        year = int(found.pop())
    figures = []
    for row in table.rows[1:]:
        fields = [f.strip() for f in row.fields]
        problem = None if len(fields) == 3 else f"bad line: {len(fields)} fields, not 3"
        fields = [*fields, "", "", ""][:3]
        code = fields[0].zfill(4) if fields[0].isdigit() else fields[0]
        figures.append(
            _Figure(
                fields[1],
                "kommun",
                code,
                year,
                date(year, 11, 1),
                fields[2],
                False,
                SOURCE_KOMMUN,
                name,
                row.line,
                "population",
                row.raw,
                problem,
            )
        )
    return figures


# --------------------------------------------------------------------------- assemble


def _value(value: Any, forecast: bool) -> tuple[int | None, str | None]:
    if isinstance(value, Cell):
        if value.kind == "number":
            number = float(value.value)
        elif value.kind == "empty":
            return None, "no figure: the cell is empty — population is never suppressed; fill it"
        else:
            return None, f"not a number: population {value.text()!r} — fix the cell"
    else:
        text = re.sub(r"(?<=\d)[\s\u00a0\u202f](?=\d{3}(?!\d))", "", str(value).strip())
        if not text:
            return None, "no figure: the population is empty — fill it"
        try:
            number = float(text.replace(",", "."))
        except ValueError:
            return None, f"not a number: population {value!r} — write digits"
    if number < 0:
        return None, f"negative: population {number:g} is below 0 — fix the figure"
    if not forecast and not number.is_integer():
        return None, f"not a whole number: population {number:g} — inhabitants are counted"
    return int(number + 0.5), None  # forecasts are fractional: round half up


def parse_file(path: Path | str, *, year: int | None = None) -> list[_Figure]:
    """Read one population file of any supported shape (see the module docstring)."""
    path = Path(path)
    if file_kind(path) in ("xls", "xlsx", "html"):
        return _yearbook_grid(read_grid(path))
    table = read_text_table(path)
    if not table.rows:
        raise SourceError(f"{path.name}, line 1: the file has no rows — export it again")
    head = {h.strip().lower() for h in table.rows[0].fields}
    if "regsokod" in head:
        return _regso_csv(table)
    if "kommun_kod" in head:
        return _kommun_csv(table, year)
    if "area" in head and any(h.startswith("pop_") for h in head):
        return _yearbook_csv(table)
    raise SourceError(
        f"{path.name}, line 1: the header {table.rows[0].raw[:80]!r} fits no known population "
        "table — see the module docstring of trygghetskarta.sources.population"
    )


def parse(
    paths: Path | str | Iterable[Path | str],
    *,
    include_forecast: bool = False,
    year: int | None = None,
) -> PopulationResult:
    """Parse population files into the ``population`` frame and a quarantine.

    Parameters
    ----------
    paths
        One file or many.
    include_forecast
        Keep forecast figures (flagged ``forecast``); off so that no rate is computed on a
        forecast by accident. Forecast figures left out are neither loaded nor quarantined
        and do not count as read.
    year
        The year of a kommun population file whose name has none.

    Returns
    -------
    PopulationResult
        ``population`` with :data:`POPULATION_COLUMNS`; ``read == len(population) +
        len(quarantine)``.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    figures = [f for p in paths for f in parse_file(p, year=year)]
    if not include_forecast:
        figures = [f for f in figures if not f.forecast]
    rows, quarantine = [], []
    for f in figures:
        problem = f.problem
        area, level = d.normalise_name(f.area_raw), f.level
        if f.source == SOURCE_ARSBOK:
            where = _classify(f.area_raw)
            if where is None:
                problem = problem or (
                    f"unknown area: {f.area_raw!r} is not a stadsdelsområde, region or the city"
                )
            elif f.level is not None and f.level != where[1]:
                problem = problem or (
                    f"level mismatch: {f.level!r} does not fit {f.area_raw!r}, a {where[1]} — "
                    "fix the level column"
                )
            else:
                area, level = where
        value, value_problem = _value(f.value, f.forecast)
        problem = problem or value_problem
        if problem:
            quarantine.append(
                {
                    "source": f.source,
                    "source_id": f"{f.source_file}:{f.line}:{f.field}",
                    "source_file": f.source_file,
                    "reason": problem,
                    "raw": f.raw,
                }
            )
            continue
        rows.append(
            {
                "area": area,
                "level": level,
                "code": f.code,
                "year": f.year,
                "reference_date": pd.Timestamp(f.reference_date),
                "population": value,
                "forecast": f.forecast,
                "source": f.source,
                "source_file": f.source_file,
                "_raw": f.raw,
                "_id": f"{f.source_file}:{f.line}:{f.field}",
            }
        )
    frame = pd.DataFrame(rows, columns=[*POPULATION_COLUMNS, "_raw", "_id"])
    key = ["area", "level", "reference_date"]
    dup = frame.duplicated(key, keep=False)
    if dup.any():
        for _, group in frame[dup].groupby(key, sort=False):
            same = group["population"].nunique() == 1
            for n, (idx, row) in enumerate(group.iterrows()):
                if same and n == 0:
                    continue
                reason = (
                    f"duplicate: {row['area']} {row['reference_date'].date()} given again"
                    if same
                    else f"conflicting populations: {row['area']} {row['reference_date'].date()} "
                    f"has {sorted(group['population'].tolist())} — keep one"
                )
                quarantine.append(
                    {
                        "source": row["source"],
                        "source_id": row["_id"],
                        "source_file": row["source_file"],
                        "reason": reason,
                        "raw": row["_raw"],
                    }
                )
                frame = frame.drop(index=idx)
    population = (
        frame[list(POPULATION_COLUMNS)]
        .reset_index(drop=True)
        .astype(
            {
                "area": "string",
                "level": "string",
                "code": "string",
                "year": "Int64",
                "reference_date": "datetime64[s]",
                "population": "Int64",
                "forecast": "boolean",
                "source": "string",
                "source_file": "string",
            }
        )
    )
    q = pd.DataFrame(quarantine, columns=list(QUARANTINE_COLUMNS)).astype("string")
    result = PopulationResult(population, q, len(figures))
    if result.read != len(population) + len(q):
        raise AssertionError(f"lost figures: read {result.read}, kept {len(population)}+{len(q)}")
    return result


def kommun_names(path: Path | str) -> list[str]:
    """The municipality names of SCB's kommun population file (for :func:`bra.parse`)."""
    return sorted({f.area_raw for f in _kommun_csv(read_text_table(Path(path)), 1)})


def discover(data_dir: Path | str) -> list[Path]:
    """The population files of a data directory (or of its ``population/`` folder): the
    yearbook original (or its extract when the original is absent), the RegSO table and the
    kommun table."""
    folder = Path(data_dir)
    if (folder / "population").is_dir():
        folder = folder / "population"
    found = sorted((folder / "raw").glob("1.2-*.xls*")) if (folder / "raw").is_dir() else []
    if not found:
        found = sorted(folder.glob("stockholm_population_by_sdo_*.csv"))
    found += sorted(folder.glob("regso_*population*.csv"))
    found += sorted(folder.glob("kommun_population_*.csv"))
    return found
