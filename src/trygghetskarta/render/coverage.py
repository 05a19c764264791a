"""What maps and lägesbilder say about the days the data covers, and the gaps in it.

Part of :mod:`trygghetskarta.render`. Every map and every lägesbild states the covered
period of the police feed ("Data 21 mars 2023 – 2 december 2026") and every gap inside
the period shown ("Data saknas 3–9 mars 2026"), on screen and in print:

- maps: lines in the info box and, when the period holds a gap, a band along the bottom
  of the window (printed too) naming the gaps; the month slider marks each month a gap
  touches;
- lägesbilder: a note under the heading (a box when the period holds a gap), the months
  a gap touches hatched in the charts, and the gaps listed under "Källor och period".

A figure for a month a gap touches counts only the days with data: the texts say so.
Texts are built from dates only (no source text), and escaped like every other.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import folium
import pandas as pd

from trygghetskarta.coverage import Coverage, Gap, range_label
from trygghetskarta.render.format import Period, esc, period_bounds
from trygghetskarta.render.verbatim import Verbatim

#: Said of a figure for a month (or quarter) a gap touches.
PARTIAL_NOTE = (
    "Siffror för månader med saknade dagar räknar bara dagarna med data och är därför för låga."
)
_BAND_HEIGHT = "26px"
_CSS = f"""
.tk-gaps {{ position: fixed; bottom: 0; left: 0; right: 0; z-index: 2147483646;
  min-height: {_BAND_HEIGHT}; margin: 0; padding: 3px 10px; background: #fff3cd;
  color: #5c4200; border-top: 2px solid #c98a00;
  font: bold 13px/20px Arial, Helvetica, sans-serif; text-align: center;
  print-color-adjust: exact; -webkit-print-color-adjust: exact; }}
.leaflet-bottom {{ margin-bottom: {_BAND_HEIGHT}; }}
@media print {{ .tk-gaps {{ display: block !important; }} }}
"""


def _days(period: Period) -> tuple[date, date] | None:
    bounds = period_bounds(period)
    if bounds is None:
        return None
    return bounds[0].date(), bounds[1].date()


def gaps_between(coverage: Coverage | None, first: date, last: date) -> tuple[Gap, ...]:
    """The days of ``first`` … ``last`` the data does not hold, as gaps: those inside the
    covered span, and the days before its first covered day (an archive sparse before it).

    Days after the last covered day are not a gap here: they may still be to come (the
    covered period, stated beside the gaps, says where the data ends).
    """
    if coverage is None or coverage.first is None or last < first:
        return ()
    found = list(coverage.gaps_within(first, last))
    if first < coverage.first:
        found.insert(0, Gap(first, min(last, coverage.first - timedelta(days=1))))
    return tuple(found)


def shown_gaps(coverage: Coverage | None, period: Period) -> tuple[Gap, ...]:
    """The gaps with a day inside ``period`` (see :func:`gaps_between`; a free-text period:
    every gap inside the covered span)."""
    if coverage is None:
        return ()
    days = _days(period)
    return coverage.gaps if days is None else gaps_between(coverage, *days)


def coverage_lines(coverage: Coverage | None, period: Period) -> tuple[str, list[str]]:
    """``(covered period, [one line per gap in the period])``, in Swedish; ``("", [])``
    without a recorded coverage."""
    if coverage is None:
        return "", []
    gaps = [g.label for g in shown_gaps(coverage, period)]
    return f"{coverage.label} (polisens händelser).", gaps


def month_notes(coverage: Coverage | None, months: Sequence[pd.Timestamp]) -> list[str | None]:
    """For each month, the days a gap leaves out of it (``"data saknas 3–9 mars 2026"``),
    or ``None`` when it is whole."""
    if coverage is None or not months:
        return [None] * len(months)
    out: list[str | None] = []
    for month in months:
        stamp = pd.Timestamp(month)
        start = stamp.date().replace(day=1)
        end = stamp.to_period("M").end_time.date()
        gaps = gaps_between(coverage, start, end)
        if not gaps:
            out.append(None)
            continue
        parts = [range_label(max(g.first, start), min(g.last, end)) for g in gaps]
        out.append("data saknas " + ", ".join(parts))
    return out


def add_gap_band(m: folium.Map, coverage: Coverage | None, period: Period) -> folium.Map:
    """A band along the bottom of the window naming the gaps in ``period`` (none: nothing).

    The band stays in view on screen (the map's lower controls move up above it) and
    is printed with the page.
    """
    gaps = shown_gaps(coverage, period)
    if not gaps:
        return m
    text = "; ".join(g.label for g in gaps) + ". " + PARTIAL_NOTE
    root = m.get_root()
    root.header.add_child(Verbatim(f"<style>{_CSS}</style>"), name="tk_gaps_css")
    root.html.add_child(
        Verbatim(f'<div class="tk-gaps" role="note">{esc(text)}</div>'), name="tk_gaps"
    )
    return m


def context_gaps(
    coverage: Coverage | None, period: Period, shown_from: date | None
) -> tuple[Gap, ...]:
    """The gaps between ``shown_from`` (the first month a chart shows, e.g. a year before
    the period, for context and the change against last year) and the period's start."""
    days = _days(period)
    if coverage is None or days is None or shown_from is None or shown_from >= days[0]:
        return ()
    return gaps_between(coverage, shown_from, days[0] - timedelta(days=1))


def report_note(
    coverage: Coverage | None, period: Period, *, shown_from: date | None = None
) -> str:
    """The lägesbild's note under its heading: the covered period, and a box naming every
    gap in the period, and in the months before it that the charts show (``shown_from``),
    with what it means for the figures."""
    label, gaps = coverage_lines(coverage, period)
    if not label:
        return ""
    before = [g.label for g in context_gaps(coverage, period, shown_from)]
    if not gaps and not before:
        return f'<p class="meta tk-covered">{esc(label)}</p>'
    parts = [f'<p class="meta tk-covered">{esc(label)}</p><div class="tk-gaps" role="note">']
    if gaps:
        items = "".join(f"<li>{esc(g)}</li>" for g in gaps)
        parts.append(f"<strong>Luckor i data under perioden:</strong><ul>{items}</ul>")
    if before:
        items = "".join(f"<li>{esc(g)}</li>" for g in before)
        parts.append(
            "<strong>Luckor i data före perioden (i diagrammen och jämförelsen med året "
            f"innan):</strong><ul>{items}</ul>"
        )
    parts.append(f"<p>{esc(PARTIAL_NOTE)} I diagrammen är de månaderna streckade.</p></div>")
    return "".join(parts)


REPORT_CSS = """
.tk-gaps { margin: 12px 0 0; padding: 8px 12px; background: #fff3cd; color: #5c4200;
  border-left: 5px solid #c98a00; print-color-adjust: exact; -webkit-print-color-adjust: exact; }
.tk-gaps ul { margin: 4px 0; padding-left: 20px; font-weight: bold; }
.tk-gaps p { margin: 4px 0 0; font-size: 14px; }
@media print { .tk-gaps { break-inside: avoid; } }
"""
