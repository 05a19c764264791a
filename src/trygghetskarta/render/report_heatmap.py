"""The lägesbild's "När händer det?": the hour × weekday heatmap and its cells.

Private helper of :mod:`trygghetskarta.render.report`. :func:`hour_weekday_table` counts
a district's events per weekday and hour (Stockholm time); :func:`heatmap_layout` picks
the finest cells in which most counts can be shown (public: at least five), falling back
from three-hour cells to six-hour cells, then to weekdays/weekend; :func:`heatmap_section`
draws the section with its CSV link.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from trygghetskarta.render.csv_links import csv_link, file_stem
from trygghetskarta.render.format import esc
from trygghetskarta.render.profile import ExportProfile
from trygghetskarta.render.published import ReportCounts
from trygghetskarta.render.svg import WEEKDAYS_SV, heatmap_svg
from trygghetskarta.schema import TIMEZONE

__all__ = ["heatmap_layout", "heatmap_layouts", "heatmap_section", "hour_weekday_table"]

_STEP_WORDS = {2: "två", 3: "tre", 4: "fyra", 6: "sex"}


def hour_weekday_table(occurred_at: pd.Series) -> pd.DataFrame:
    """Events per weekday and hour of the day, in Stockholm time.

    Parameters
    ----------
    occurred_at
        Incident times (timezone-aware; naive times are taken as Stockholm time).

    Returns
    -------
    pandas.DataFrame
        7 rows (0 = Monday … 6 = Sunday) × 24 columns (hours 0–23) of counts.
    """
    times = pd.to_datetime(occurred_at.dropna())
    if times.dt.tz is not None:
        times = times.dt.tz_convert(TIMEZONE)
    table = pd.crosstab(times.dt.day_of_week, times.dt.hour)
    return table.reindex(index=range(7), columns=range(24), fill_value=0).astype("int64")


#: The rows of the hour × weekday heatmap: one per weekday, or weekdays and weekend.
WEEKDAY_ROWS: tuple[tuple[str, tuple[int, ...]], ...] = tuple(
    (day, (d,)) for d, day in enumerate(WEEKDAYS_SV)
)
WEEK_PARTS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("måndag–fredag", (0, 1, 2, 3, 4)),
    ("lördag–söndag", (5, 6)),
)
#: The share of cells below the minimum count above which the heatmap takes coarser cells.
MOSTLY_SMALL = 0.5

HeatmapLayout = tuple[tuple[tuple[str, tuple[int, ...]], ...], int]


def heatmap_layout(
    table: pd.DataFrame | np.ndarray, *, min_count: int | None, hour_step: int
) -> HeatmapLayout:
    """The finest cells of the hour × weekday heatmap in which most cells can be shown.

    Tries, in order: each weekday × ``hour_step`` hours, each weekday × six hours,
    weekdays/weekend × six hours, weekdays/weekend × the whole day; takes the first in
    which at most half the cells fall below ``min_count`` (the last when none does).
    Without a minimum count (internal) the first.

    Parameters
    ----------
    table
        7 × 24 counts (Monday first, hours 0–23), as :func:`hour_weekday_table` makes it.
    min_count
        The profile's minimum count (``None``: nothing is suppressed).
    hour_step
        The profile's hours per column.

    Returns
    -------
    tuple
        ``(rows, step)``: rows as ``(label, weekdays)`` and hours per column.
    """
    counts = np.asarray(table, dtype=float).reshape(7, 24)
    candidates: list[HeatmapLayout] = [(WEEKDAY_ROWS, hour_step)]
    for layout in ((WEEKDAY_ROWS, 6), (WEEK_PARTS, 6), (WEEK_PARTS, 24)):
        if layout[1] >= hour_step and layout not in candidates:
            candidates.append(layout)
    if min_count is None:
        return candidates[0]
    for rows, step in candidates:
        cells = grouped_counts(counts, rows, step)
        if float((cells < min_count).mean()) <= MOSTLY_SMALL:
            return rows, step
    return candidates[-1]


def heatmap_layouts(
    table: pd.DataFrame | np.ndarray, *, min_count: int | None, hour_step: int
) -> list[HeatmapLayout]:
    """Every layout :func:`heatmap_layout` considers, its choice first, then the coarser
    ones, then the finer ones: the order in which the suppression tries them (a layout
    whose totals would give a hidden cell away, given what other tables show, is
    skipped for the next)."""
    counts = np.asarray(table, dtype=float).reshape(7, 24)
    candidates: list[HeatmapLayout] = [(WEEKDAY_ROWS, hour_step)]
    for layout in ((WEEKDAY_ROWS, 6), (WEEK_PARTS, 6), (WEEK_PARTS, 24)):
        if layout[1] >= hour_step and layout not in candidates:
            candidates.append(layout)
    chosen = heatmap_layout(counts, min_count=min_count, hour_step=hour_step)
    at = candidates.index(chosen)
    return [chosen, *candidates[at + 1 :], *reversed(candidates[:at])]


def grouped_counts(
    counts: np.ndarray, rows: Sequence[tuple[str, Sequence[int]]], step: int
) -> np.ndarray:
    """The 7 × 24 counts summed into the layout's rows and ``step``-hour columns."""
    stacked = np.stack([counts[list(days)].sum(axis=0) for _, days in rows])
    return stacked.reshape(len(rows), 24 // step, step).sum(axis=2)


def _layout_words(layout: HeatmapLayout, finest: HeatmapLayout) -> tuple[str, str]:
    """How the heatmap's cells read ("per veckodag och tretimmarsperioder"), and a
    sentence when they are coarser than the profile's finest."""
    rows, step = layout
    if step == 24:
        when = "hela dygnet"
    elif step == 6:
        when = "sextimmarsperioder (natt 00–06, förmiddag 06–12, eftermiddag 12–18, kväll 18–24)"
    elif step == 1:
        when = "timmar"
    else:
        when = f"{_STEP_WORDS.get(step, f'{step}-')}timmarsperioder"
    if rows == WEEKDAY_ROWS:
        text = f"per veckodag och {when}" if step != 24 else "per veckodag"
    else:
        text = f"för vardagar och helg per {when}" if step != 24 else "för vardagar och helg"
    note = ""
    if layout != finest:
        note = (
            "Händelserna är för få för en finare indelning: med mindre celler skulle de "
            "flesta bli ”dolt”."
        )
    return text, note


def heatmap_section(
    events: pd.DataFrame | None,
    district: str,
    profile: ExportProfile,
    counts: ReportCounts | None,
    layout: HeatmapLayout | None = None,
) -> str:
    if events is None:
        return ""
    table = hour_weekday_table(events["occurred_at"])
    finest: HeatmapLayout = (WEEKDAY_ROWS, profile.hour_step)
    rows, step = layout if layout is not None else finest
    words, note = _layout_words((rows, step), finest)
    csv = ""
    if int(table.to_numpy().sum()) == 0:
        body = '<p class="empty">Inga händelser i perioden.</p>'
    else:
        cols = 24 // step
        n_rows = len(rows)
        suppressed = None
        if counts is not None and counts.has("hw", 0, "summa"):
            suppressed = (
                np.array(
                    [[counts.get("hw", w, c) is None for c in range(cols)] for w in range(n_rows)]
                ),
                np.array([counts.get("hw", w, "summa") is None for w in range(n_rows)]),
                np.array([counts.get("hw", "summa", c) is None for c in range(cols)]),
            )
        body = heatmap_svg(
            table,
            title=f"Händelser per veckodag och timme, {district}",
            profile=profile,
            hour_step=step,
            suppressed=suppressed,
            rows=rows,
        )
        grouped = grouped_counts(table.to_numpy(dtype=float), rows, step)
        least = profile.min_count

        def cell(r: int, c: int) -> str:
            hidden = (
                suppressed[0][r, c]
                if suppressed is not None
                else least is not None and grouped[r, c] < least
            )
            return profile.text(None if hidden else grouped[r, c])

        header = ["Dag", *(f"{c * step:02d}–{(c + 1) * step:02d}" for c in range(cols))]
        csv_rows = [
            [label, *(cell(r, c) for c in range(cols))] for r, (label, _) in enumerate(rows)
        ]
        csv = csv_link(header, csv_rows, f"{file_stem(district)}-veckodag-tid.csv")
    return (
        "<section><h2>När händer det?</h2>"
        f'<p class="lead">Polisens händelsenotiser i perioden {esc(words)}, efter den tid '
        "polisen anger för händelsen (svensk tid). Summorna står till höger och under."
        f"{' ' + esc(note) if note else ''}</p>" + body + csv + "</section>"
    )
