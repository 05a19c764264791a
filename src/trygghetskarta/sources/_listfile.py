"""Reading delivered tables (CSV, XLSX) and their cell values, for the event-list contracts.

Pure helpers: :func:`read_table` turns a file into a header and rows that keep their line
numbers (so a quarantine reason can say "line 14"); the ``parse_*`` functions read one cell
each and return ``(value, problem)``: a value, or ``None`` and a sentence a person
understands. Nothing here knows about events; :mod:`trygghetskarta.sources.event_lists` does.

CSV files are decoded as UTF-8 (with or without BOM) and, when that fails, as cp1252 (what
Excel writes on Swedish Windows); the delimiter is ``;``, ``,``, tab or ``|``, detected from
the first lines unless given. XLSX files are read with openpyxl (values, not formulas); a
date cell arrives as a date, a number formatted as a number stays a number and is read as
an Excel serial date where a date is expected.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trygghetskarta.errors import SourceError
from trygghetskarta.sources.text_repair import NONE, Repairs, repair_text

#: Excel's day zero (1900 date system, with Lotus' leap-year bug folded in).
EXCEL_EPOCH = dt.datetime(1899, 12, 30)
#: Excel serial numbers accepted as dates: 1954-10-04 … 2119-01-30.
EXCEL_SERIAL_RANGE = (20_000.0, 80_000.0)
DELIMITERS = (";", ",", "\t", "|")
#: More NUL bytes than this share of a CSV's start: UTF-16 or binary, not a stray NUL.
BINARY_NUL_SHARE = 0.1
#: Control bytes that text never holds (besides tab, newline, carriage return).
_CONTROL = re.compile(rb"[\x01-\x08\x0b\x0c\x0e-\x1f]")
#: One line of text with its end, as a universal-newline reader splits it.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
MISSING = frozenset({"", "..", "...", "-", "–", ".", "NA", "N/A", "null", "NULL", "None"})


@dataclass(frozen=True)
class Table:
    """A delivered table: header, rows and where each row came from.

    Attributes
    ----------
    path
        The file.
    header
        Column names as written (stripped).
    rows
        Cell values per row, padded or cut to the header's length; strings for CSV,
        Python values (str, int, float, datetime, time, None) for XLSX.
    lines
        The line (CSV) or row number (XLSX) of each row in the file, 1-based.
    widths
        How many cells each row really had (CSV), to spot rows with too many or too few.
    notes
        What the reader had to guess (encoding, delimiter), for the ingest summary.
    repairs
        Lone surrogates replaced and NUL characters removed in the cells (see
        :mod:`trygghetskarta.sources.text_repair`).
    """

    path: Path
    header: list[str]
    rows: list[list[Any]]
    lines: list[int]
    widths: list[int]
    notes: list[str] = field(default_factory=list)
    repairs: Repairs = NONE


def _decode(path: Path, data: bytes, encoding: str | None) -> tuple[str, str | None]:
    if encoding:
        try:
            return data.decode(encoding), None
        except (UnicodeDecodeError, LookupError) as e:
            raise SourceError(
                f"{path} is not {encoding} text ({e}) — set the right encoding in "
                "trygghetskarta.toml or remove the setting to detect it"
            ) from e
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        return data.decode("cp1252"), "read as cp1252 (not UTF-8)"


def _sniff(path: Path, text: str) -> str:
    lines = [ln for ln in text.splitlines()[:20] if ln.strip()]
    if not lines:
        raise SourceError(f"{path} is empty — deliver the file again")
    best, best_score = None, 0
    for delim in DELIMITERS:
        counts = [len(next(csv.reader([ln], delimiter=delim))) for ln in lines]
        if counts[0] < 2:
            continue
        score = sum(c == counts[0] for c in counts) * counts[0]
        if score > best_score:
            best, best_score = delim, score
    if best is None:
        raise SourceError(
            f"{path} line 1 has a single column ({lines[0][:60]!r}); expected a header "
            "separated by ';', ',' or tab — save the file as CSV with a separator"
        )
    return best


def _read_csv(path: Path, delimiter: str | None, encoding: str | None) -> Table:
    return _joined(list(_csv_chunks(path, delimiter, encoding, None)))


def _joined(chunks: list[Table]) -> Table:
    """One table from the chunks of one file."""
    first = chunks[0]
    if len(chunks) == 1:
        return first
    rows = [r for c in chunks for r in c.rows]
    lines = [n for c in chunks for n in c.lines]
    widths = [w for c in chunks for w in c.widths]
    return Table(first.path, first.header, rows, lines, widths, first.notes, first.repairs)


def _csv_chunks(
    path: Path, delimiter: str | None, encoding: str | None, chunk_rows: int | None
) -> Iterator[Table]:
    """The file's rows in tables of at most ``chunk_rows`` rows (all at once for ``None``).

    Every chunk carries the header, the notes and the file's repairs; the first chunk is
    yielded even when the file has no data rows.
    """
    data = path.read_bytes()
    start = data[:4096]
    nuls = start.count(b"\x00")
    if nuls > BINARY_NUL_SHARE * len(start) or (nuls and _CONTROL.search(start)):
        raise SourceError(
            f"{path} is a binary file (or UTF-16 text), not CSV text — export it from Excel "
            "as CSV UTF-8 or XLSX"
        )
    text, note = _decode(path, data, encoding)
    del data
    text, repairs = repair_text(text)
    delim = delimiter or _sniff(path, text)
    # Lines as io.StringIO(newline="") gives them (ends kept: \n, \r\n or \r), without
    # its copy of the whole text at four bytes a character.
    reader = csv.reader((m.group() for m in _LINE.finditer(text)), delimiter=delim, strict=True)
    header: list[str] | None = None
    notes: list[str] = []
    rows, lines, widths = [], [], []
    yielded = False
    line = 0
    while True:
        start_line = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            raise SourceError(
                f"{path} line {start_line}: {e} — fix the quoting on that line and deliver again"
            ) from e
        line = start_line
        if not "".join(record).strip():  # a blank line, or only separators
            continue
        if header is None:
            header = [c.strip() for c in record]
            if len(header) < 2:
                raise SourceError(
                    f"{path} line {line} has a single column with the delimiter {delim!r} — "
                    "set delimiter in trygghetskarta.toml to the file's separator"
                )
            notes = [f"delimiter {delim!r}"] + ([note] if note else [])
            width = len(header)
            continue
        widths.append(len(record))
        rows.append(record if len(record) == width else (record + [""] * width)[:width])
        lines.append(line)
        if chunk_rows is not None and len(rows) >= chunk_rows:
            yield Table(path, header, rows, lines, widths, notes, repairs)
            yielded = True
            rows, lines, widths = [], [], []
    if header is None:
        raise SourceError(f"{path} is empty — deliver the file again")
    if rows or not yielded:
        yield Table(path, header, rows, lines, widths, notes, repairs)


def _read_xlsx(path: Path, sheet: str | None) -> Table:
    try:
        import openpyxl
        from openpyxl.utils.exceptions import InvalidFileException
    except ImportError as e:  # pragma: no cover - openpyxl is a dependency
        raise SourceError(f"reading {path} needs openpyxl — pip install openpyxl") from e
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, OSError, KeyError, ValueError) as e:
        raise SourceError(
            f"{path} is not a readable XLSX workbook ({e}) — save it again from Excel as .xlsx"
        ) from e
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise SourceError(
                f"{path} has no sheet {sheet!r} (sheets: {book.sheetnames}) — set sheet in "
                "trygghetskarta.toml to one of them"
            )
        ws = book[sheet] if sheet else book.worksheets[0]
        header: list[str] | None = None
        rows, lines, widths = [], [], []
        repairs = NONE
        for number, record in enumerate(ws.iter_rows(values_only=True), start=1):
            values = list(record)
            for k, value in enumerate(values):
                if isinstance(value, str):
                    values[k], found = repair_text(value)
                    repairs += found
            if not any(v is not None and str(v).strip() for v in values):
                continue
            if header is None:
                header = ["" if v is None else str(v).strip() for v in values]
                while header and not header[-1]:
                    header.pop()
                continue
            width = len(values)
            while width and (values[width - 1] is None or str(values[width - 1]).strip() == ""):
                width -= 1
            widths.append(width)
            rows.append((values + [None] * len(header))[: len(header)])
            lines.append(number)
    finally:
        book.close()
    if header is None:
        raise SourceError(f"{path} has an empty first sheet — deliver the file again")
    return Table(path, header, rows, lines, widths, [f"sheet {ws.title!r}"], repairs)


def read_table(
    path: Path | str,
    *,
    sheet: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
) -> Table:
    """Read a CSV or XLSX file into a :class:`Table`.

    Parameters
    ----------
    path
        ``.csv``/``.txt`` (any other suffix is read as CSV unless it is a ZIP/XLSX) or
        ``.xlsx``/``.xlsm``.
    sheet
        XLSX: the sheet to read; default the first.
    delimiter, encoding
        CSV: detected when not given (see the module docstring).

    Raises
    ------
    SourceError
        The file is missing, empty, binary, an old ``.xls``, or has a single column.
    """
    return _joined(list(iter_table(path, sheet=sheet, delimiter=delimiter, encoding=encoding)))


def iter_table(
    path: Path | str,
    *,
    sheet: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    chunk_rows: int | None = None,
) -> Iterator[Table]:
    """Read a CSV or XLSX file as :class:`Table` chunks of at most ``chunk_rows`` rows.

    The same reading as :func:`read_table` (whose tables these chunks make up, in order),
    for a reader that keeps only one chunk's cells at a time. An XLSX workbook comes in
    one chunk (a sheet holds at most 1 048 576 rows).

    Raises
    ------
    SourceError
        As :func:`read_table`; raised when the file is opened, before any chunk.
    """
    path = Path(path)
    try:
        with path.open("rb") as fh:
            magic = fh.read(8)
    except OSError as e:
        raise SourceError(f"cannot read {path} ({e.strerror}) — check the path") from e
    suffix = path.suffix.lower()
    if suffix == ".xls" or magic.startswith(b"\xd0\xcf\x11\xe0"):
        raise SourceError(
            f"{path} is an old Excel .xls file — open it in Excel and save it as .xlsx or CSV"
        )
    if suffix in (".xlsx", ".xlsm") or magic.startswith(b"PK\x03\x04"):
        return iter([_read_xlsx(path, sheet)])
    chunks = _csv_chunks(path, delimiter, encoding, chunk_rows)
    first = next(chunks)  # the file's errors surface here, before the caller reads on
    return itertools.chain([first], chunks)


# --------------------------------------------------------------------------- cells


def is_missing(value: Any) -> bool:
    """Blank, ``None`` or a suppression mark (``..``, ``-``)."""
    return value is None or (isinstance(value, str) and value.strip() in MISSING)


_NUMBER_SPACES = re.compile(r"[\s\u00a0\u202f']")


def parse_number(value: Any) -> tuple[float | None, str | None]:
    """Read a number written the Swedish or the English way.

    ``"6 580 521,5"``, ``"6580521.5"``, ``6580521.5`` → 6580521.5; blank → (None, None).
    """
    if is_missing(value):
        return None, None
    if isinstance(value, bool):
        return None, f"{value!r} is not a number"
    if isinstance(value, int | float):
        return float(value), None
    text = _NUMBER_SPACES.sub("", str(value)).replace("−", "-")
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    try:
        return float(text), None
    except ValueError:
        return None, f"{str(value)!r} is not a number"


def parse_count(value: Any) -> tuple[int | None, str | None]:
    """A whole number ≥ 0 (dead, injured); blank or ``..``/``-`` → unknown (None)."""
    number, problem = parse_number(value)
    if problem or number is None:
        return None, problem
    if number < 0 or number != int(number):
        return None, f"{value!r} is not a whole number ≥ 0"
    return int(number), None


_ISO = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[T\s]+(?:kl\.?\s*)?(\d{1,2})[:.](\d{2})(?:[:.](\d{2})(?:[.,]\d+)?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?$"
)
_DMY = re.compile(
    r"^(\d{1,2})[./](\d{1,2})[./](\d{4})"
    r"(?:[\sT]+(?:kl\.?\s*)?(\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?)?$"
)
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:\s*(\d{2})[:.]?(\d{2}))?$")
_TIME = re.compile(r"^(?:kl\.?\s*)?(\d{1,2})(?:[:.]?(\d{2}))?(?:[:.](\d{2}))?$")


def excel_serial(number: float) -> dt.datetime:
    """The datetime of an Excel serial day number (1900 system)."""
    return EXCEL_EPOCH + dt.timedelta(seconds=round(number * 86_400))


def parse_datetime(value: Any, *, dayfirst: bool = True) -> tuple[dt.datetime | None, str | None]:
    """Read a date or a date and time.

    Accepted: ``2024-03-05``, ``2024-03-05 14:30``, ``2024-03-05T14:30:00+01:00``,
    ``2024-03-05 kl. 14.30``, ``05/03/2024`` and ``5.3.2024`` (day first unless
    ``dayfirst=False``), ``20240305``, Excel date cells and Excel serial numbers
    (``45356.604`` → 2024-03-05 14:30). A value with a UTC offset comes back aware; others
    naive (local time). Returns ``(None, None)`` for a blank cell.
    """
    if is_missing(value):
        return None, None
    if isinstance(value, dt.datetime):
        return value, None
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day), None
    if isinstance(value, dt.time):  # an Excel serial below 1: day zero, 1899-12-30
        return dt.datetime.combine(EXCEL_EPOCH.date(), value), None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _serial(float(value), value)
    text = str(value).strip()
    try:
        if m := _ISO.match(text):
            y, mo, d, h, mi, s, tz = m.groups()
            stamp = dt.datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0))
            if tz:
                offset = dt.datetime.strptime(tz.replace(":", "").replace("Z", "+0000"), "%z")
                stamp = stamp.replace(tzinfo=offset.tzinfo)
            return stamp, None
        if m := _DMY.match(text):
            a, b, y, h, mi, s = m.groups()
            d, mo = (a, b) if dayfirst else (b, a)
            return dt.datetime(
                int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0)
            ), None
        if m := _COMPACT.match(text):
            y, mo, d, h, mi = m.groups()
            return dt.datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0)), None
    except ValueError:
        return None, f"{text!r} is not a real date or time"
    number, problem = parse_number(text)
    if problem is None and number is not None:
        return _serial(number, text)
    return None, f"{text!r} is not a date (expected e.g. 2024-03-05 or 2024-03-05 14:30)"


def _serial(number: float, original: Any) -> tuple[dt.datetime | None, str | None]:
    low, high = EXCEL_SERIAL_RANGE
    if low <= number <= high:
        return excel_serial(number), None
    return (
        None,
        f"{original!r} is a number, not a date (an Excel date would be {low:.0f}–{high:.0f})",
    )


def parse_time(value: Any) -> tuple[dt.time | None, str | None]:
    """Read a time of day: ``14:30``, ``14.30``, ``1430``, ``kl 14``, an Excel time cell or
    an Excel day fraction (``0.604``); blank → (None, None)."""
    if is_missing(value):
        return None, None
    if isinstance(value, dt.datetime):
        return value.time(), None
    if isinstance(value, dt.time):
        return value, None
    if isinstance(value, float) and 0 <= value < 1:
        seconds = round(value * 86_400)
        return dt.time(seconds // 3600, seconds % 3600 // 60, seconds % 60), None
    text = str(value).strip()
    if (m := _TIME.match(text)) is None:
        return None, f"{text!r} is not a time of day (expected e.g. 14:30)"
    h, mi, s = m.groups()
    if len(text) == 4 and text.isdigit():
        h, mi = text[:2], text[2:]
    try:
        return dt.time(int(h), int(mi or 0), int(s or 0)), None
    except ValueError:
        return None, f"{text!r} is not a time of day (expected e.g. 14:30)"


def text(value: Any) -> str | None:
    """A cell as trimmed text (numbers without a trailing ``.0``); blank → None."""
    if is_missing(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return re.sub(r"\s+", " ", str(value)).strip() or None


def cell_json(value: Any) -> Any:
    """A cell as a JSON-safe value for ``raw``."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return value


def normalise_header(name: str) -> str:
    """Compare column names without case, spaces, dots, dashes or underscores."""
    return re.sub(r"[\s._\-/()]+", "", name).casefold()


def find_column(header: Sequence[str], names: Sequence[str]) -> str | None:
    """The first header cell equal to one of ``names`` (see :func:`normalise_header`)."""
    wanted = {normalise_header(n) for n in names}
    return next((h for h in header if normalise_header(h) in wanted), None)
