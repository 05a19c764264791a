"""The index page of a published folder: every map and lägesbild with its period.

Part of :mod:`trygghetskarta.render` (re-exported as :func:`index_html`). A plain,
self-contained HTML page (no script, no network, one inline style sheet) in Swedish, with
relative links, so that the folder can be copied to a file share or zipped and still
opened from its ``index.html``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from trygghetskarta.render.format import esc, fmt_datetime
from trygghetskarta.render.legend import link_html

__all__ = ["IndexEntry", "index_html"]

_CSS = """
body { font: 15px/1.45 "Helvetica Neue", Arial, Helvetica, sans-serif; color: #222;
  max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
.tk-meta { color: #555; margin-top: 0; }
table { border-collapse: collapse; width: 100%; margin-top: 1rem; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #ddd; }
th { background: #f3f3f3; }
td.tk-missing { color: #666; }
a { color: #0b4f9c; }
a:focus { outline: 3px solid #e69f00; outline-offset: 1px; }
"""


@dataclass(frozen=True)
class IndexEntry:
    """One row of the index: an area with its map and its lägesbild.

    Attributes
    ----------
    area
        "Hela Stockholm" or a district's name (text, escaped).
    period
        The period the files show, as their pages state it ("jan 2025 – dec 2025").
    map_href, report_href
        Relative links to the files within the folder (``maps/jarva.html``), or ``None``
        when that file was not written (the row says so).
    """

    area: str
    period: str
    map_href: str | None = None
    report_href: str | None = None


def index_html(
    entries: Sequence[IndexEntry],
    *,
    title: str,
    made_at: datetime,
    notes: Sequence[str] = (),
) -> str:
    """The index page listing every map and lägesbild with its period.

    Parameters
    ----------
    entries
        One row per area, in the order shown (the city first).
    title
        The page's title and heading.
    made_at
        When the files were made.
    notes
        Further paragraphs (plain text, escaped), e.g. what the profile leaves out.

    Returns
    -------
    str
        A complete page: ``<html lang="sv">``, a ``<title>``, one table.
    """
    rows = []
    for e in entries:
        cells = [f'<th scope="row">{esc(e.area)}</th>']
        for href, text in ((e.map_href, "Karta"), (e.report_href, "Lägesbild")):
            if href is None:
                cells.append(f'<td class="tk-missing">{esc(text)} saknas</td>')
            else:
                cells.append(f"<td>{link_html(f'{text}: {e.area}', href)}</td>")
        cells.append(f"<td>{esc(e.period)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    paragraphs = "".join(f"<p>{esc(n)}</p>" for n in notes)
    return (
        '<!DOCTYPE html>\n<html lang="sv">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<h1>{esc(title)}</h1>\n"
        f'<p class="tk-meta">Skapad {esc(fmt_datetime(made_at))}</p>\n{paragraphs}'
        '<table>\n<caption class="tk-meta">Kartor och lägesbilder per område, med den '
        "period de visar</caption>\n"
        '<thead><tr><th scope="col">Område</th><th scope="col">Karta</th>'
        '<th scope="col">Lägesbild</th><th scope="col">Period</th></tr></thead>\n'
        "<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>\n</body>\n</html>\n"
    )
