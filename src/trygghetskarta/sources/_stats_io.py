"""Statistics tables as they really arrive: CSV text in the encodings and delimiters people
save, and spreadsheets (.xls through xlrd, .xlsx through openpyxl) as grids of typed cells.

Shared by the statistics parsers (``bra``, ``population``). Everything here either returns
what the file holds, with line numbers, or raises :class:`SourceError` with one sentence
that names the file, the line and the fix. Deciding what a value *means* (a count, a
suppressed figure, a date Excel made of a number) is left to the callers.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from trygghetskarta.errors import SourceError

_XLSX_MAGIC = b"PK\x03\x04"
_XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
#: UTF-8 text of å, ä, ö, Å, Ä, Ö decoded as cp1252 and saved as UTF-8 again.
_MOJIBAKE = re.compile("Ã[¥¤¶…„–]")
DELIMITERS = (",", ";", "\t")


def _read_bytes(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError as e:
        raise SourceError(f"{path}: no such file — check the path") from e
    except OSError as e:
        raise SourceError(f"{path}: cannot be read ({e.strerror}) — check its permissions") from e


def file_kind(path: Path) -> str:
    """Tell a file's format by its first bytes, not its name.

    Returns
    -------
    str
        ``"xlsx"``, ``"xls"``, ``"html"`` (a web page saved as .xls, as Brå's older
        "Excel" exports are) or ``"text"``.
    """
    head = _read_bytes(path)[:512]
    if head.startswith(_XLSX_MAGIC):
        return "xlsx"
    if head.startswith(_XLS_MAGIC):
        return "xls"
    start = head.removeprefix(_UTF8_BOM).lstrip().lower()
    if start.startswith((b"<html", b"<!doctype", b"<table")):
        return "html"
    return "text"


# --------------------------------------------------------------------------- text


@dataclass(frozen=True)
class TextRow:
    """One CSV record: its first physical line number, its fields and its text."""

    line: int
    fields: list[str]
    raw: str


@dataclass(frozen=True)
class TextTable:
    """A CSV file read as text rows.

    Attributes
    ----------
    path
        The file.
    encoding
        ``utf-8-sig`` (with BOM), ``utf-8``, ``utf-16`` or ``cp1252`` (what Excel and Brå's
        older exports write on Swedish Windows).
    delimiter
        The delimiter found in the first non-empty line.
    rows
        Every non-empty record, first line first.
    """

    path: Path
    encoding: str
    delimiter: str
    rows: list[TextRow]


def decode(path: Path) -> tuple[str, str]:
    """Decode a text file: UTF-8 with or without BOM, UTF-16 with BOM, else cp1252.

    Returns
    -------
    tuple of (str, str)
        The text and the encoding used.

    Raises
    ------
    SourceError
        The file is empty, binary, or double-encoded (``Ã¥`` where ``å`` belongs).
    """
    data = _read_bytes(path)
    name = Path(path).name
    if not data.strip():
        raise SourceError(f"{name}, line 1: the file is empty — export the table again")
    if data.startswith(_UTF16_BOMS):
        text, encoding = data.decode("utf-16"), "utf-16"
    elif b"\x00" in data[:4096]:
        raise SourceError(
            f"{name}, line 1: binary content, not text — if it is a spreadsheet, give it "
            "its .xls or .xlsx name"
        )
    elif data.startswith(_UTF8_BOM):
        try:
            text, encoding = data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as e:
            line = data[: 3 + e.start].count(b"\n") + 1
            raise SourceError(
                f"{name}, line {line}: the file starts with a UTF-8 mark but holds other "
                "bytes — save it again as 'CSV UTF-8'"
            ) from e
    else:
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            text, encoding = data.decode("cp1252", errors="replace"), "cp1252"
    bad = _MOJIBAKE.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        raise SourceError(
            f"{name}, line {line}: {bad.group()!r} where å, ä or ö belongs — the file was "
            "converted to UTF-8 twice; export it again from the original"
        )
    return text, encoding


def sniff_delimiter(first_line: str, preferred: str = ",") -> str:
    """The delimiter that splits a header or first record into the most fields.

    A tie keeps ``preferred``. Only ``,``, ``;`` and tab are considered.

    >>> sniff_delimiter("Kommun;Antal;Per 100 000 inv.")
    ';'
    >>> sniff_delimiter("area,count", preferred=";")
    ','
    """
    counts = {d: len(next(csv.reader([first_line], delimiter=d))) for d in DELIMITERS}
    best = max(counts.values())
    if counts.get(preferred, 0) == best:
        return preferred
    return next(d for d in DELIMITERS if counts[d] == best)


def read_text_table(path: Path, *, preferred: str = ",") -> TextTable:
    """Read a CSV file into rows with their line numbers.

    Parameters
    ----------
    path
        The file.
    preferred
        The delimiter the format documents; another one is used when the first line
        splits into more fields with it (a file saved by Excel with a Swedish locale uses
        ``;``).

    Raises
    ------
    SourceError
        As :func:`decode`, or a quote that never closes.
    """
    text, encoding = decode(path)
    lines = text.splitlines()
    first = next((ln for ln in lines if ln.strip()), "")
    delimiter = sniff_delimiter(first, preferred)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[TextRow] = []
    start = 1
    try:
        for fields in reader:
            end = reader.line_num
            if any(f.strip() for f in fields):
                rows.append(TextRow(start, fields, "\n".join(lines[start - 1 : end])))
            start = end + 1
    except csv.Error as e:
        raise SourceError(
            f"{Path(path).name}, line {start}: {e} — a quote opened in a value never closes; "
            "fix or remove that quote"
        ) from e
    return TextTable(Path(path), encoding, delimiter, rows)


# --------------------------------------------------------------------------- spreadsheets


@dataclass(frozen=True)
class Cell:
    """One spreadsheet cell: ``kind`` is number, text, empty, date, bool or error."""

    kind: str
    value: Any

    def text(self) -> str:
        """The cell as text (whole numbers without ``.0``; empty as ``""``)."""
        if self.kind == "empty":
            return ""
        if self.kind == "number" and float(self.value).is_integer():
            return str(int(self.value))
        if self.kind == "date":
            return self.value.isoformat()
        return str(self.value).strip()


EMPTY = Cell("empty", None)


@dataclass(frozen=True)
class Grid:
    """The first sheet of a workbook as rows of cells (row 0 is the sheet's row 1)."""

    path: Path
    sheet: str
    rows: list[list[Cell]]

    def cell(self, row: int, col: int) -> Cell:
        """The cell at a 0-based position, :data:`EMPTY` outside the used range."""
        if 0 <= row < len(self.rows) and col < len(self.rows[row]):
            return self.rows[row][col]
        return EMPTY

    def raw(self, row: int) -> str:
        """A row as a JSON list of its cells' texts, for quarantine."""
        return json.dumps([c.text() for c in self.rows[row]], ensure_ascii=False)


def cell_ref(row: int, col: int) -> str:
    """A 0-based position as an Excel reference.

    >>> cell_ref(7, 1), cell_ref(0, 26)
    ('B8', 'AA1')
    """
    letters = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return f"{letters}{row + 1}"


def read_grid(path: Path) -> Grid:
    """Read the first sheet of an .xls or .xlsx file, whatever its name says.

    Raises
    ------
    SourceError
        The file is no workbook (an HTML page saved as .xls, text, a corrupt file), or an
        .xlsx formula has no saved value.
    """
    path = Path(path)
    kind = file_kind(path)
    if kind == "xls":
        return _read_xls(path)
    if kind == "xlsx":
        return _read_xlsx(path)
    if kind == "html":
        raise SourceError(
            f"{path.name}, line 1: a web page saved under a spreadsheet name — open it in "
            "Excel and save it as .xlsx, or export the table as CSV"
        )
    raise SourceError(
        f"{path.name}, line 1: expected an Excel workbook (.xls or .xlsx), got text — give a "
        "CSV file a .csv name"
    )


def _read_xls(path: Path) -> Grid:
    import xlrd

    try:
        book = xlrd.open_workbook(str(path), on_demand=True)
        sheet = book.sheet_by_index(0)
    except (xlrd.XLRDError, AssertionError, IndexError, ValueError) as e:
        raise SourceError(
            f"{path.name}, line 1: not a readable Excel 97–2003 file ({e}) — open it in "
            "Excel and save it again"
        ) from e
    kinds = {
        xlrd.XL_CELL_EMPTY: "empty",
        xlrd.XL_CELL_BLANK: "empty",
        xlrd.XL_CELL_TEXT: "text",
        xlrd.XL_CELL_NUMBER: "number",
        xlrd.XL_CELL_DATE: "date",
        xlrd.XL_CELL_BOOLEAN: "bool",
        xlrd.XL_CELL_ERROR: "error",
    }
    rows: list[list[Cell]] = []
    for r in range(sheet.nrows):
        row = []
        for c in sheet.row(r):
            kind = kinds.get(c.ctype, "error")
            value: Any = c.value
            if kind == "date":
                try:
                    value = xlrd.xldate_as_datetime(c.value, book.datemode)
                except (xlrd.xldate.XLDateError, ValueError, OverflowError):
                    kind = "number"
            elif kind == "text":
                value = str(value)
                if not value.strip():
                    kind, value = "empty", None
            elif kind == "error":
                value = xlrd.error_text_from_code.get(c.value, "#ERROR")
            row.append(Cell(kind, value))
        rows.append(row)
    name = sheet.name
    book.release_resources()
    return Grid(path, name, rows)


def _xlsx_cell(value: Any) -> Cell:
    if value is None:
        return EMPTY
    if isinstance(value, bool):
        return Cell("bool", value)
    if isinstance(value, (int, float)):
        return Cell("number", float(value))
    if isinstance(value, (datetime, date)):
        return Cell("date", value)
    text = str(value)
    if re.fullmatch(r"#(N/A|DIV/0!|VALUE!|REF!|NAME\?|NUM!|NULL!)", text.strip()):
        return Cell("error", text)
    return Cell("text", text) if text.strip() else EMPTY


def _read_xlsx(path: Path) -> Grid:
    from zipfile import BadZipFile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        values = load_workbook(path, data_only=True, read_only=True)
        formulas = load_workbook(path, data_only=False, read_only=True)
    except (InvalidFileException, BadZipFile, KeyError, OSError, ValueError) as e:
        raise SourceError(
            f"{path.name}, line 1: not a readable .xlsx workbook ({e}) — open it in Excel "
            "and save it again"
        ) from e
    try:
        sheet, fsheet = values.worksheets[0], formulas.worksheets[0]
        rows: list[list[Cell]] = []
        pairs = zip(
            sheet.iter_rows(values_only=True), fsheet.iter_rows(values_only=True), strict=False
        )
        for r, (vrow, frow) in enumerate(pairs):
            for c, (v, f) in enumerate(zip(vrow, frow, strict=False)):
                if v is None and isinstance(f, str) and f.startswith("="):
                    raise SourceError(
                        f"{path.name}, line {r + 1}: cell {cell_ref(r, c)} holds the formula "
                        f"{f} without a saved value — open the file in Excel and save it"
                    )
            rows.append([_xlsx_cell(v) for v in vrow])
        return Grid(path, sheet.title, rows)
    finally:
        values.close()
        formulas.close()


def closest(name: str, choices: Sequence[str]) -> str | None:
    """The choice most like ``name`` (for "did you mean" hints), or None.

    >>> closest("antal", ["count", "area", "year"]) is None
    True
    >>> closest("categroy", ["category", "year"])
    'category'
    """
    found = difflib.get_close_matches(name.lower(), [c.lower() for c in choices], n=1, cutoff=0.6)
    if not found:
        return None
    return next(c for c in choices if c.lower() == found[0])
