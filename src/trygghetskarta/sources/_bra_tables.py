"""What Brå's and the city's crime tables mean: area labels, category keys, and the two
spreadsheet layouts (Brå's table builder export and the city yearbook table 1.63).

The readers here turn a :class:`~trygghetskarta.sources._stats_io.Grid` into
:class:`Record` objects — one per statistic as the table presents it (area × period ×
category, with a count and/or a rate cell) — without judging the values; ``bra`` checks
and assembles them.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

import pandas as pd

from trygghetskarta import districts as d
from trygghetskarta.errors import SourceError, TrygghetskartaWarning
from trygghetskarta.sources._stats_io import Grid, cell_ref

SOURCE_BRA = "bra_statistikdatabas"
SOURCE_BRA_KOMMUN = "bra_kommuner"
SOURCE_ARSBOK = "stockholm_arsbok"

RATE_PER_100K = "per_100k"
RATE_PER_1000 = "per_1000"


@dataclass
class Record:
    """One statistic as read, before any check.

    ``count`` and ``rate`` hold the raw cell (a :class:`Cell` or a string), or None when the
    table has no such measure. ``line`` is the 1-based line or sheet row; ``field`` names
    the columns or cells the values came from.
    """

    source: str
    source_file: str
    source_table: str
    line: int
    field: str
    raw: str
    area_raw: str
    category: str
    category_path: str | None
    year: Any
    month: Any = None
    preliminary: bool = False
    count: Any = None
    rate: Any = None
    rate_unit: str | None = None
    note: str | None = None
    formed: date | None = None
    ceased: date | None = None
    kind_hint: str | None = None
    problem: str | None = None


# --------------------------------------------------------------------------- areas


@dataclass(frozen=True)
class AreaInfo:
    """A classified area label: ``kind`` is district, former, kommun, region, county,
    country; ``ceased`` comes from labels such as "Norrmalm stadsdel (upphörde 2024-01-01)"."""

    name: str
    kind: str
    ceased: date | None = None


_CEASED_LABEL = re.compile(
    r"^(?P<name>.+?)\s+stadsdel\s*\(upphörde\s+(?P<date>\d{4}-\d{2}-\d{2})\)$"
)
_SDO_PREFIX = re.compile(r"^stadsdelsområde\s+(?P<name>.+?)(?:\s*\((?:sthlm|stockholm)\))?$", re.I)
_SDO_SUFFIX = re.compile(r"^(?P<name>.+?)\s+stadsdelsområde$", re.I)
_KOMMUN = re.compile(r"^(?P<name>.+?)\s+kommun$", re.I)
_COUNTY = re.compile(r"^(?P<name>.+?\s+län)$", re.I)
_COUNTRY = {"riket", "hela landet", "sverige", "sverige totalt", "hela riket"}
_CITY = {"hela staden", "stockholms stad"}
_REGIONS = {"västerort": "Västerort", "inre staden": "Innerstaden", "innerstaden": "Innerstaden",
            "söderort": "Söderort"}  # fmt: skip


def _fix_case(name: str) -> str:
    """Brå's spelling of a district → the city's ("Norra Innerstaden" → "Norra innerstaden")."""
    for known in (*d.SDO_13, *d.SDO_11, *d.CEASED):
        if known.lower() == name.lower():
            return known
    return name


@cache
def classify_area(label: str, *, kind_hint: str | None = None) -> AreaInfo | None:
    """Classify an area label from Brå, the yearbook or Brå's municipal CSV.

    Parameters
    ----------
    label
        The label as printed ("Stadsdelsområde Hässelby - Vällingby (Sthlm)",
        "Norrmalm stadsdel (upphörde 2024-01-01)", "Stockholm kommun", "Hela staden5" with
        its footnote digit already removed, "Ale").
    kind_hint
        ``"kommun"`` when the table lists municipalities by bare name (Brå's municipal CSV);
        a bare name that is no Stockholm district is then a kommun.

    Returns
    -------
    AreaInfo or None
        None when the label is none of the known kinds.

    >>> classify_area("Stadsdelsområde Enskede - Årsta - Vantör (Sthlm)")
    AreaInfo(name='Enskede-Årsta-Vantör', kind='district', ceased=None)
    >>> classify_area("Kista stadsdel (upphörde 2007-01-01)").kind
    'former'
    """
    text = d.normalise_name(label)
    low = text.lower()
    m = _CEASED_LABEL.match(text)
    if m:
        name = _fix_case(d.normalise_name(m["name"]))
        ceased = date.fromisoformat(m["date"])
        kind = "district" if name in d.SDO_13_TO_11 or name in d.SDO_11 else "former"
        return AreaInfo(name, kind, ceased)
    m = _SDO_PREFIX.match(text) or _SDO_SUFFIX.match(text)
    if m:
        name = _fix_case(d.normalise_name(m["name"]))
        if name in d.SDO_13_TO_11 or name in d.SDO_11:
            return AreaInfo(name, "district")
        if name in d.CEASED:
            return AreaInfo(name, "former", d.CEASED[name])
        return None
    if low in _COUNTRY:
        return AreaInfo("Sverige", "country")
    if low in _CITY:
        return AreaInfo("Stockholm", "kommun")
    if low in _REGIONS:
        return AreaInfo(_REGIONS[low], "region")
    m = _KOMMUN.match(text)
    if m:
        return AreaInfo(m["name"], "kommun")
    m = _COUNTY.match(text)
    if m:
        return AreaInfo(m["name"], "county")
    fixed = _fix_case(text)
    if fixed in d.SDO_13_TO_11 or fixed in d.SDO_11:
        return AreaInfo(fixed, "district")
    if fixed in d.CEASED:
        return AreaInfo(fixed, "former", d.CEASED[fixed])
    if kind_hint == "kommun" and text:
        return AreaInfo(text, "kommun")
    return None


# --------------------------------------------------------------------------- categories


@cache
def _category_table() -> list[tuple[re.Pattern[str], str, bool]]:
    path = resources.files("trygghetskarta") / "resources" / "bra_categories.csv"
    with resources.as_file(path) as csv:
        table = pd.read_csv(csv, dtype=str, keep_default_na=False)
    return [
        (re.compile(row.pattern, re.I), row.key, row.sensitive.strip().lower() == "true")
        for row in table.itertuples(index=False)
    ]


def slug(text: str) -> str:
    """An ASCII key for a label the category table does not know.

    >>> slug("Brott mot lagen om förbud beträffande knivar")
    'brott_mot_lagen_om_forbud_betraffande_knivar'
    """
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", folded.lower()).strip("_")


@cache
def category_key(label: str) -> tuple[str, bool]:
    """Map a category label to its normalised key and the sensitive flag.

    Labels are matched against ``resources/bra_categories.csv`` (first matching pattern
    wins). A label the table does not know gets :func:`slug` of itself, not sensitive, and
    one warning.

    >>> category_key("därav misshandel inkl. grov"), category_key("Misshandel inkl. grov (5, 6 §)")
    (('assault', False), ('assault', False))
    """
    text = " ".join(str(label).split())
    for pattern, key, sensitive in _category_table():
        if pattern.search(text):
            return key, sensitive
    warnings.warn(  # once per label under the default filter
        f"unknown Brå category {text!r} stored under the key {slug(text)!r} — add it to "
        "resources/bra_categories.csv",
        TrygghetskartaWarning,
        stacklevel=1,
    )
    return slug(text), False


# --------------------------------------------------------------------------- Brå table builder


_MONTHS_SV = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "januari"),
            ("feb", "februari"),
            ("mar", "mars"),
            ("apr", "april"),
            ("maj",),
            ("jun", "juni"),
            ("jul", "juli"),
            ("aug", "augusti"),
            ("sep", "sept", "september"),
            ("okt", "oktober"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_YEAR_HEAD = re.compile(r"^(?P<year>\d{4})(?P<prel>\s*prel\.?)?$", re.I)
_FORMED = re.compile(r"bildades\s+(\d{4}-\d{2}-\d{2})")
_DIMENSION_LABELS = {"år", "månad", "kvartal", "period"}


def month_number(text: str) -> int | None:
    """A Swedish month name or abbreviation → 1–12 (``"Maj"`` → 5), else None."""
    return _MONTHS_SV.get(str(text).strip().rstrip(".").lower())


@dataclass
class _Column:
    col: int
    year: str
    month: int | None
    preliminary: bool
    unit: str


def _solwebb_columns(grid: Grid, head_rows: range) -> list[_Column]:
    name = grid.path.name
    width = max(len(grid.rows[r]) for r in head_rows)
    columns = []
    for c in range(1, width):
        texts = [grid.cell(r, c).text() for r in head_rows]
        texts = [t for t in texts if t]
        if not texts:
            continue
        year = month = unit = None
        prel = False
        for t in texts:
            m = _YEAR_HEAD.match(t)
            if m:
                year, prel = m["year"], prel or bool(m["prel"])
            elif month_number(t):
                month = month_number(t)
            elif t.lower() == "antal":
                unit = "count"
            elif re.match(r"^/\s*100 ?000 inv", t, re.I):
                unit = RATE_PER_100K
            elif t.lower() not in _DIMENSION_LABELS:
                raise SourceError(
                    f"{name}, line {head_rows.start + 1}: unexpected column heading {t!r} in "
                    f"column {cell_ref(0, c)[:-1]} — export the table with År/Månad across and "
                    "Antal or /100 000 inv as the measure"
                )
        if year is None or unit is None:
            raise SourceError(
                f"{name}, line {head_rows.start + 1}: column {cell_ref(0, c)[:-1]} has no "
                f"{'year' if year is None else 'measure (Antal or /100 000 inv)'} in its "
                "heading — export the table again with the period across the columns"
            )
        columns.append(_Column(c, year, month, prel, unit))
    if not columns:
        raise SourceError(
            f"{name}, line {head_rows.start + 1}: no period columns found — export the table "
            "with År or Månad across the columns"
        )
    return columns


def read_solwebb(grid: Grid) -> list[Record]:
    """Records of a Brå table-builder export ("Anmälda brott / Brottsförebyggande rådet").

    The layout: a title row, a blank row, heading rows (year; month; measure), then for
    each region a label row followed by the categories. Brå repeats a category's parents
    on their own rows before it ("3-7 kap. …", "3 kap. …", "Misshandel …"); a row with
    values is a category, a row without is a parent or a region. Regions are found by
    structure — each region's block starts with the same parents and first category — so
    no list of names is needed. Footnotes follow two blank rows as (region, text) pairs;
    "bildades YYYY-MM-DD" in one gives that area's formation date.

    Raises
    ------
    SourceError
        The sheet is not such an export, or its headings cannot be read.
    """
    name = grid.path.name
    title = " ".join(c.text() for c in grid.rows[0] if c.text()) if grid.rows else ""
    if "brottsförebyggande rådet" not in title.lower():
        raise SourceError(
            f"{name}, line 1: expected a Brå table-builder export (title row with "
            f"'Brottsförebyggande rådet'), got {title[:60]!r} — export the table from "
            "statistik.bra.se again"
        )
    first_label = next(
        (r for r in range(1, len(grid.rows)) if grid.cell(r, 0).kind != "empty"), None
    )
    if first_label is None:
        raise SourceError(f"{name}, line 2: the export has no rows — export it again")
    columns = _solwebb_columns(grid, range(1, first_label))
    value_cols = [c.col for c in columns]

    def has_values(r: int) -> bool:
        return any(grid.cell(r, c).kind != "empty" for c in value_cols)

    # the table ends at the first blank row after the first category
    end = len(grid.rows)
    for r in range(first_label, len(grid.rows)):
        if all(c.kind == "empty" for c in grid.rows[r]):
            end = r
            break
    body = range(first_label, end)
    leaves = [r for r in body if has_values(r)]
    if not leaves:
        raise SourceError(f"{name}, line {first_label + 1}: no row has values — export again")
    prefix = [grid.cell(r, 0).text() for r in range(first_label, leaves[0])]
    first_leaf = grid.cell(leaves[0], 0).text()
    parents0 = prefix[1:]
    footnotes = _solwebb_footnotes(grid, end)
    source_table = f"{title} ({', '.join(sorted({c.unit for c in columns}))})"
    groups: dict[tuple[str, int | None], dict[str, _Column]] = {}
    for col in columns:
        groups.setdefault((col.year, col.month), {})[col.unit] = col

    records: list[Record] = []
    region: str | None = None
    pending: list[str] = []
    for r in body:
        label = grid.cell(r, 0).text()
        if not has_values(r):
            pending.append(label)
            continue
        k = len(parents0)
        if label == first_leaf and len(pending) == k + 1 and pending[1:] == parents0:
            region, parents = pending[0], parents0
        else:
            parents = pending
        pending = []
        if region is None:
            raise SourceError(f"{name}, line {r + 1}: a category before any region — export again")
        path = " > ".join([*parents, label])
        formed_text = footnotes.get(region)
        formed = _FORMED.search(formed_text or "")
        for (year, month), units in groups.items():
            count_col = units.get("count")
            rate_col = units.get(RATE_PER_100K)
            cols = [c for c in (count_col, rate_col) if c is not None]
            records.append(
                Record(
                    source=SOURCE_BRA,
                    source_file=name,
                    source_table=source_table,
                    line=r + 1,
                    field=",".join(cell_ref(r, c.col) for c in cols),
                    raw=grid.raw(r),
                    area_raw=region,
                    category=label,
                    category_path=path,
                    year=year,
                    month=month,
                    preliminary=any(c.preliminary for c in cols),
                    count=grid.cell(r, count_col.col) if count_col else None,
                    rate=grid.cell(r, rate_col.col) if rate_col else None,
                    rate_unit=RATE_PER_100K if rate_col else None,
                    note=formed_text if formed else None,
                    formed=date.fromisoformat(formed.group(1)) if formed else None,
                )
            )
    return records


def _solwebb_footnotes(grid: Grid, end: int) -> dict[str, str]:
    texts = [grid.cell(r, 0).text() for r in range(end, len(grid.rows))]
    texts = [t for t in texts if t]
    notes: dict[str, str] = {}
    for label, text in zip(texts[::2], texts[1::2], strict=False):
        notes[label] = text
    return notes


# --------------------------------------------------------------------------- city yearbook


_YEARBOOK_TITLE = re.compile(r"^anmälda brott\s+(?P<year>\d{4})", re.I)
_FOOTNOTE_MARK = re.compile(r"^(?P<text>.*?\D)(?P<mark>\d)$")
_FOOTNOTE_LINE = re.compile(r"^(?P<mark>\d)\s+(?P<text>.+)$")


def split_footnote_mark(text: str) -> tuple[str, str | None]:
    """``"brott1"`` → ``("brott", "1")``; ``"Hela staden5"`` → ``("Hela staden", "5")``."""
    m = _FOOTNOTE_MARK.match(text.strip())
    return (m["text"].strip(), m["mark"]) if m else (text.strip(), None)


def _join_heading(pieces: list[str]) -> str:
    name = ""
    for piece in pieces:
        piece = piece.strip()
        name = name[:-1] + piece if name.endswith("-") else f"{name} {piece}".strip()
    return name


def read_yearbook(grid: Grid) -> list[Record]:
    """Records of Stockholm's statistical yearbook table "Anmälda brott YYYY" (1.63).

    Counts on the left, "Brott per 1 000 invånare" on the right, headings broken over
    several rows with hyphens ("An-", "mälda", "brott1"), footnote digits glued to the
    words ("Hela staden5"), and numbered footnotes under the table. Rates are kept as
    the workbook stores them (full precision; the printed table shows whole numbers).

    Raises
    ------
    SourceError
        The first cell is not the table title or the headings cannot be paired.
    """
    name = grid.path.name
    title = grid.cell(0, 0).text()
    m = _YEARBOOK_TITLE.match(title)
    if not m:
        raise SourceError(
            f"{name}, line 1: expected the yearbook title 'Anmälda brott YYYY' in A1, got "
            f"{title[:60]!r} — use table 1.63 of Statistisk årsbok för Stockholm"
        )
    year = m["year"]
    table_no = re.match(r"^(\d+\.\d+)", name)
    source_table = f"{table_no.group(1) + ' ' if table_no else ''}{title}"

    width = max(len(row) for row in grid.rows)

    def is_data(r: int) -> bool:
        return grid.cell(r, 0).kind == "text" and any(
            grid.cell(r, c).kind != "empty" for c in range(1, width)
        )

    first = next((r for r in range(2, len(grid.rows)) if is_data(r)), None)
    if first is None:
        raise SourceError(f"{name}, line 2: no data rows under the headings — export again")
    rate_from: int | None = None
    heads: dict[int, list[str]] = {}
    for r in range(1, first):
        for c in range(1, width):
            t = grid.cell(r, c).text()
            if not t:
                continue
            if "per 1 000" in t.lower() or "per 1000" in t.lower():
                rate_from = c if rate_from is None else min(rate_from, c)
            elif t.lower() != "därav":
                heads.setdefault(c, []).append(t)
    if rate_from is None:
        raise SourceError(
            f"{name}, line 3: no 'Brott per 1 000 invånare' heading — expected counts and "
            "rates side by side as in table 1.63"
        )
    counts: dict[str, tuple[int, str | None]] = {}
    rates: dict[str, int] = {}
    for c, pieces in sorted(heads.items()):
        label, mark = split_footnote_mark(_join_heading(pieces))
        label = label[:1].upper() + label[1:]
        if c >= rate_from:
            rates[label] = c
        else:
            counts[label] = (c, mark)
    if set(rates) != set(counts):
        raise SourceError(
            f"{name}, line 3: count columns {sorted(counts)} and rate columns {sorted(rates)} "
            "do not pair up — check the headings"
        )
    data_rows = [r for r in range(first, len(grid.rows)) if is_data(r)]
    footnotes, updated = _yearbook_footnotes(grid, data_rows[-1])
    total_label = next(iter(counts))
    records: list[Record] = []
    for r in data_rows:
        area, mark = split_footnote_mark(grid.cell(r, 0).text())
        area_note = footnotes.get(mark) if mark else None
        for label, (c, cmark) in counts.items():
            notes = [n for n in (footnotes.get(cmark) if cmark else None, area_note) if n]
            if updated:
                notes.append(f"Senast uppdaterad {updated}")
            records.append(
                Record(
                    source=SOURCE_ARSBOK,
                    source_file=name,
                    source_table=source_table,
                    line=r + 1,
                    field=f"{cell_ref(r, c)},{cell_ref(r, rates[label])}",
                    raw=grid.raw(r),
                    area_raw=area,
                    category=label,
                    category_path=label if label == total_label else f"{total_label} > {label}",
                    year=year,
                    count=grid.cell(r, c),
                    rate=grid.cell(r, rates[label]),
                    rate_unit=RATE_PER_1000,
                    note="; ".join(notes) or None,
                )
            )
    return records


def _yearbook_footnotes(grid: Grid, last_data: int) -> tuple[dict[str, str], str | None]:
    notes: dict[str, str] = {}
    updated = None
    current: str | None = None
    for r in range(last_data + 1, len(grid.rows)):
        text = grid.cell(r, 0).text()
        if not text:
            continue
        m = _FOOTNOTE_LINE.match(text)
        if m:
            current = m["mark"]
            notes[current] = m["text"].strip()
        elif text.lower().startswith("senast uppdaterad"):
            updated = text.split(":", 1)[-1].strip()
            current = None
        elif text.lower().startswith("källa"):
            current = None
        elif current is not None:
            notes[current] = f"{notes[current]} {text}".strip()
    return notes, updated
