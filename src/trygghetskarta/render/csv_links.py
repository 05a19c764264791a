"""Every table of the lägesbild as a CSV file inside the page itself.

A planner takes a table to a spreadsheet without a server: :func:`csv_link` is an
``<a download>`` whose ``href`` is a ``data:text/csv`` URI carrying the table. The CSV is
UTF-8 with a byte order mark (Excel then reads å, ä and ö), separated by semicolons (the
separator Excel expects in Swedish settings, where the comma is the decimal sign), quoted
where needed; a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is prefixed with ``'`` so that no spreadsheet runs it as a formula. Only what the
page shows goes in (suppressed cells read as on the page).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Sequence
from urllib.parse import quote

from trygghetskarta.render.format import esc

__all__ = ["csv_data_uri", "csv_link", "csv_text", "file_stem", "guard_cell"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_BOM = "\ufeff"


def guard_cell(value: object) -> str:
    """A cell as text, with ``'`` before a leading ``= + - @`` (no formula injection).

    >>> guard_cell("=HYPERLINK(1)"), guard_cell("Våld"), guard_cell(None)
    ("'=HYPERLINK(1)", 'Våld', '')
    """
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_text(header: Sequence[object], rows: Sequence[Sequence[object]]) -> str:
    """The CSV text (with a BOM): ``;``-separated, every cell through :func:`guard_cell`."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([guard_cell(h) for h in header])
    for row in rows:
        writer.writerow([guard_cell(c) for c in row])
    return _BOM + buf.getvalue()


def csv_data_uri(header: Sequence[object], rows: Sequence[Sequence[object]]) -> str:
    """``data:text/csv;charset=utf-8,…`` carrying :func:`csv_text` (percent-encoded)."""
    return "data:text/csv;charset=utf-8," + quote(csv_text(header, rows), safe="")


def csv_link(
    header: Sequence[object],
    rows: Sequence[Sequence[object]],
    filename: str,
    label: str = "Ladda ned tabellen som CSV",
) -> str:
    """A download link (``<a download>``) with the table as CSV; hidden in print."""
    return (
        f'<p class="tk-csv screen-only"><a href="{esc(csv_data_uri(header, rows))}" '
        f'download="{esc(filename)}">{esc(label)}</a></p>'
    )


def file_stem(name: str) -> str:
    """A file name stem from a district's name: ``Hägersten-Älvsjö`` → ``hagersten-alvsjo``
    (ASCII letters and digits joined by ``-``; ``omrade`` when none is left)."""
    ascii_name = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    return "-".join(re.sub(r"[^a-z0-9]+", " ", ascii_name.lower()).split()) or "omrade"
