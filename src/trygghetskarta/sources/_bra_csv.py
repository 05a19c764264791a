"""The CSV shapes of reported-crime statistics, read into :class:`Record` objects.

Three shapes:

``long``
    One statistic per line: an area column (``region_raw`` or ``area``), a category column
    (``category`` or ``crime``), ``year``, optional ``month``, and ``count`` and/or
    ``per_100k`` or ``per_1000``; optional ``category_path``, ``preliminary``, ``unit``,
    ``note``, ``ceased``, ``scheme``, ``level``, ``source_file``. The per-district yearly
    and monthly extracts in ``crime_stats/`` have this shape, and so can a user's own file.
``yearbook``
    The city yearbook table 1.63 as CSV: ``area, level, year`` and one count column per
    category with its ``<column>_per_1000`` rate beside it.
``kommun``
    Brå's yearly municipal CSV from bra.se: ``;``, UTF-8 with BOM, thousands separated by
    a space; ``Kommun;Antal;Per 100 000 inv.`` as header from 2023, no header and
    "<name> kommun" (genitive: "Stockholms kommun") in 2021. The year is in the file name.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from trygghetskarta.errors import SourceError
from trygghetskarta.sources._bra_tables import (
    RATE_PER_100K,
    RATE_PER_1000,
    SOURCE_ARSBOK,
    SOURCE_BRA,
    SOURCE_BRA_KOMMUN,
    Record,
)
from trygghetskarta.sources._stats_io import TextRow, TextTable, closest

LONG_COLUMNS = (
    "region_raw",
    "area",
    "scheme",
    "ceased",
    "category",
    "crime",
    "category_path",
    "year",
    "month",
    "unit",
    "count",
    "per_100k",
    "per_1000",
    "preliminary",
    "note",
    "source_file",
    "level",
)
#: Yearbook CSV count columns → the category as the yearbook prints it.
YEARBOOK_LABELS = {
    "anmalda_brott": "Anmälda brott",
    "valdsbrott": "Våldsbrott",
    "stold_ran": "Stöld & rån",
    "skadegorelse": "Skadegörelse",
    "narkotikabrott": "Narkotikabrott",
}
_TRUE = {"true", "1", "ja", "yes", "prel", "prel.", "t"}
_FALSE = {"false", "0", "nej", "no", "", "f"}
_NUMBERISH = re.compile(r"^[\d\s\u00a0\u202f.,]+$")
_YEAR_IN_NAME = re.compile(r"(?<!\d)(20\d{2})(?!\d)")


def _header(table: TextTable) -> list[str]:
    return [h.strip().lower() for h in table.rows[0].fields]


def shape(table: TextTable) -> str:
    """Which CSV shape a table has: ``long``, ``yearbook`` or ``kommun``.

    Raises
    ------
    SourceError
        The first line fits none of them.
    """
    head = _header(table)
    cols = set(head)
    first = table.rows[0].fields
    if head and head[0] == "kommun":
        return "kommun"
    if len(first) == 3 and _NUMBERISH.match(first[1].strip() or "x"):
        return "kommun"
    if (
        {"area", "year"} <= cols
        and any(c.endswith("_per_1000") for c in cols)
        and not (cols & {"category", "crime"})
    ):
        return "yearbook"
    if cols & {"region_raw", "area"} and "year" in cols:
        return "long"
    raise SourceError(
        f"{table.path.name}, line {table.rows[0].line}: the header {table.rows[0].raw[:80]!r} "
        "fits no known crime-statistics table — use one of the shapes in the README section "
        "'Reported-crime statistics'"
    )


def _require(table: TextTable, head: list[str], alternatives: list[tuple[str, ...]]) -> None:
    name = table.path.name
    unknown = [h for h in head if h not in LONG_COLUMNS]
    for col in unknown:
        hint = closest(col, LONG_COLUMNS)
        if col.startswith("per"):
            hint = "'per_100k' or 'per_1000'"
        elif hint:
            hint = repr(hint)
        raise SourceError(
            f"{name}, line {table.rows[0].line}: unexpected column {col!r}"
            + (f" — did you mean {hint}? rename it" if hint else " — remove or rename it")
        )
    for options in alternatives:
        if not set(options) & set(head):
            wanted = " or ".join(repr(o) for o in options)
            raise SourceError(
                f"{name}, line {table.rows[0].line}: expected a column {wanted}, got "
                f"{', '.join(head)} — rename the column back"
            )
    if {"per_100k", "per_1000"} <= set(head):
        raise SourceError(
            f"{name}, line {table.rows[0].line}: both per_100k and per_1000 columns — keep one "
            "rate column per file"
        )


def _field_count_problem(row: TextRow, width: int) -> str | None:
    if len(row.fields) == width:
        return None
    return (
        f"bad line: {len(row.fields)} fields where the header has {width} — a delimiter inside "
        "a value or a missing value; quote the value or fill the gap"
    )


def _bool(text: str) -> bool | None:
    low = text.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    return None


def read_long(table: TextTable, *, source: str = SOURCE_BRA) -> list[Record]:
    """Records of a ``long`` CSV (see the module docstring)."""
    head = _header(table)
    _require(
        table,
        head,
        [
            ("region_raw", "area"),
            ("category", "crime"),
            ("year",),
            ("count", "per_100k", "per_1000"),
        ],
    )
    at = {h: i for i, h in enumerate(head)}
    rate_col = "per_100k" if "per_100k" in at else "per_1000" if "per_1000" in at else None
    unit = RATE_PER_100K if rate_col == "per_100k" else RATE_PER_1000 if rate_col else None
    records = []
    for row in table.rows[1:]:
        problem = _field_count_problem(row, len(head))
        values = dict(zip(head, (f.strip() for f in row.fields), strict=False))

        def get(key: str, values: dict[str, str] = values, bad: str | None = problem) -> str | None:
            if key not in at:
                return None
            return "" if bad else values.get(key, "")

        area = get("region_raw") or get("area") or (row.fields[0].strip() if problem else "")
        prel_text = get("preliminary")
        prel = _bool(prel_text) if prel_text is not None else False
        if prel is None and problem is None:
            problem = (
                f"bad flag: preliminary {prel_text!r} is not true or false — write True or False"
            )
        ceased_text = get("ceased") or ""
        ceased = None
        if ceased_text:
            try:
                ceased = date.fromisoformat(ceased_text)
            except ValueError:
                problem = (
                    problem or f"bad date: ceased {ceased_text!r} is not a date like 2024-01-01"
                )
        records.append(
            Record(
                source=source,
                source_file=table.path.name,
                source_table=table.path.stem,
                line=row.line,
                field=",".join(c for c in ("count", rate_col) if c in at and c),
                raw=row.raw,
                area_raw=area,
                category=get("category") or get("crime") or "",
                category_path=get("category_path") or None,
                year=get("year") or "",
                month=get("month") if "month" in at else None,
                preliminary=bool(prel),
                count=get("count") if "count" in at else None,
                rate=get(rate_col) if rate_col else None,
                rate_unit=unit,
                note=get("note") or None,
                ceased=ceased,
                problem=problem,
            )
        )
    return records


def read_yearbook_csv(table: TextTable) -> list[Record]:
    """Records of the yearbook table 1.63 saved as CSV (``area, level, year, <count>,
    <count>_per_1000 …``)."""
    head = _header(table)
    name = table.path.name
    at = {h: i for i, h in enumerate(head)}
    measures = [
        h for h in head if h not in ("area", "level", "year") and not h.endswith("_per_1000")
    ]
    for h in head:
        if h.endswith("_per_1000") and h.removesuffix("_per_1000") not in measures:
            raise SourceError(
                f"{name}, line 1: rate column {h!r} has no count column beside it — rename it "
                f"or add {h.removesuffix('_per_1000')!r}"
            )
    for m in measures:
        if f"{m}_per_1000" not in at:
            hint = closest(m, list(YEARBOOK_LABELS))
            raise SourceError(
                f"{name}, line 1: column {m!r} has no {m}_per_1000 beside it"
                + (f" — did you mean {hint!r}? rename it" if hint and hint != m else "")
            )
    total = measures[0]
    records = []
    for row in table.rows[1:]:
        problem = _field_count_problem(row, len(head))
        for m in measures:
            label = YEARBOOK_LABELS.get(m, m)
            total_label = YEARBOOK_LABELS.get(total, total)

            def get(key: str, row: TextRow = row, bad: str | None = problem) -> str:
                return "" if bad else row.fields[at[key]].strip()

            records.append(
                Record(
                    source=SOURCE_ARSBOK,
                    source_file=name,
                    source_table=table.path.stem,
                    line=row.line,
                    field=f"{m},{m}_per_1000",
                    raw=row.raw,
                    area_raw=get("area"),
                    category=label,
                    category_path=label if m == total else f"{total_label} > {label}",
                    year=get("year"),
                    count=get(m),
                    rate=get(f"{m}_per_1000"),
                    rate_unit=RATE_PER_1000,
                    problem=problem,
                )
            )
    return records


def kommun_csv_year(path: Path, year: int | None) -> int:
    """The year of a municipal CSV: ``year`` if given, else the one year in the file name."""
    if year is not None:
        return int(year)
    found = set(_YEAR_IN_NAME.findall(Path(path).name))
    if len(found) == 1:
        return int(found.pop())
    raise SourceError(
        f"{Path(path).name}, line 1: Brå's municipal CSV does not say its year — put the year "
        "in the file name ('Anmälda brott kommunerna 2024.csv') or pass year="
    )


def read_kommun(table: TextTable, *, year: int) -> list[Record]:
    """Records of Brå's municipal CSV (with or without its header)."""
    name = table.path.name
    rows = table.rows
    first = [f.strip().lower() for f in rows[0].fields]
    if first and first[0] == "kommun":
        expected = ("kommun", "antal", "per 100 000 inv.")
        if len(first) != 3 or not (
            first[1] == "antal" and first[2].rstrip(".") == "per 100 000 inv"
        ):
            raise SourceError(
                f"{name}, line {rows[0].line}: expected the header "
                f"'Kommun;Antal;Per 100 000 inv.', got {rows[0].raw!r} — rename the columns "
                f"back to {';'.join(expected)}"
            )
        rows = rows[1:]
    records = []
    for row in rows:
        problem = _field_count_problem(row, 3)
        fields = row.fields if problem is None else ["", "", ""]
        records.append(
            Record(
                source=SOURCE_BRA_KOMMUN,
                source_file=name,
                source_table=f"Anmälda brott i kommunerna {year}",
                line=row.line,
                field="Antal,Per 100 000 inv.",
                raw=row.raw,
                area_raw=fields[0].strip() if problem is None else row.fields[0].strip(),
                category="Totalt antal brott",
                category_path="Totalt antal brott",
                year=str(year),
                count=fields[1],
                rate=fields[2],
                rate_unit=RATE_PER_100K,
                kind_hint="kommun",
                problem=problem,
            )
        )
    return records
