"""A monthly line chart as inline SVG, written in Python (no JavaScript, no network).

Private helper of :mod:`trygghetskarta.render.report`. The chart has exactly one ``<path>`` per
series; axes, grid lines and legend swatches use ``<line>`` and ``<rect>``. All text is
escaped, so the SVG is well-formed XML.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from trygghetskarta.render.format import (
    SUPPRESSED_LABEL,
    esc,
    fmt_month,
    fmt_number,
)
from trygghetskarta.render.legend import count_classes

if TYPE_CHECKING:
    from trygghetskarta._privacy import ExportProfile

_FONT = 'font-family="Helvetica Neue, Arial, sans-serif"'


def _hatch(
    key: str,
    notes: Sequence[str | None] | None,
    x_of: Callable[[int], float],
    n: int,
    *,
    left: float,
    right: float,
    top: float,
    height: float,
) -> str:
    """Hatched columns behind the points whose period is only partly covered by the data
    (``notes[i]`` says which days are missing), each with the note as its tooltip."""
    if not notes or not any(notes):
        return ""
    pattern = "tk-hatch-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:10]
    half = (x_of(1) - x_of(0)) / 2 if n > 1 else (right - left) / 2
    out = [
        f'<defs><pattern id="{pattern}" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff3cd"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#c98a00" stroke-width="2"/></pattern></defs>'
    ]
    for i, note in enumerate(notes):
        if not note:
            continue
        x0 = max(left, x_of(i) - half)
        x1 = min(right, x_of(i) + half)
        out.append(
            f'<rect class="tk-partial" x="{x0:.1f}" y="{top:.1f}" width="{max(x1 - x0, 1):.1f}" '
            f'height="{height:.1f}" fill="url(#{pattern})" opacity="0.6">'
            f"<title>{esc(note)}</title></rect>"
        )
    return "".join(out)


def nice_ticks(vmax: float, n: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``vmax`` (steps of 1, 2 or 5 × 10^k)."""
    if not math.isfinite(vmax) or vmax <= 0:
        return [0.0, 1.0]
    raw = vmax / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(s * mag for s in (1, 2, 5, 10) if s * mag >= raw)
    if step < 1 <= vmax:
        step = 1.0  # counts: no fractional ticks
    top = math.ceil(vmax / step) * step
    return [i * step for i in range(round(top / step) + 1)]


def line_chart_svg(
    table: pd.DataFrame,
    *,
    labels: Mapping[str, str],
    colors: Mapping[str, str],
    title: str,
    y_label: str = "Antal händelser",
    width: int = 760,
    plot_height: int = 200,
    suppress_below: float | None = None,
    suppressed: np.ndarray | None = None,
    point_labels: Sequence[str] | None = None,
    partial: Sequence[str | None] | None = None,
) -> str:
    """Draw one line per column of a month × series table.

    Parameters
    ----------
    table
        Index: months (Timestamps, sorted); columns: series keys (e.g. categories); values:
        counts. Missing values are drawn as 0.
    labels, colors
        Legend label and line colour per column.
    title
        Accessible title of the chart (``<title>`` and ``aria-label``).
    y_label
        Caption of the vertical axis.
    width
        Width of the drawing in pixels (the SVG scales to its container).
    plot_height
        Height of the plotting area in pixels; the legend is added below it.
    suppress_below
        Counts below this are drawn in a grey band at the bottom (hollow points) and read
        "dolt" (public profile); ``None`` draws every count as it is.
    suppressed
        Which values (months × series) the profile suppressed, drawn in the band whatever
        their size; overrides the rule of ``suppress_below`` (which then only sets the
        band's height).
    point_labels
        The text of each month (e.g. ``1–22 aug 2026`` for a month the data's end cuts);
        ``mar 2024`` … when ``None``.
    partial
        Per month, what a gap in the data leaves out of it (``None``: the month is
        whole); such months are hatched, with the text as their tooltip.

    Returns
    -------
    str
        An ``<svg>`` element.
    """
    months = list(table.index)
    series = list(table.columns)
    values = table.fillna(0).to_numpy(dtype="float64") if len(series) else np.zeros((0, 0))
    legend_rows = math.ceil(len(series) / 3) if series else 0
    left, right, top = 56, 16, 16
    plot_w, plot_h = width - left - right, plot_height
    height = top + plot_h + 30 + 20 * legend_rows + 6
    if suppressed is not None:
        hidden_all = np.asarray(suppressed, dtype=bool).reshape(values.shape)
    elif suppress_below is not None:
        hidden_all = values < suppress_below
    else:
        hidden_all = np.zeros(values.shape, dtype=bool)
    # The scale comes from the values shown only (a hidden maximum would show in the ticks).
    shown_values = values[~hidden_all]
    vmax = max(float(shown_values.max()) if shown_values.size else 0.0, suppress_below or 0.0)
    ticks = nice_ticks(vmax)
    ymax = ticks[-1]

    def x_of(i: int) -> float:
        return left + (plot_w / 2 if len(months) < 2 else plot_w * i / (len(months) - 1))

    def y_of(v: float) -> float:
        return top + plot_h * (1 - v / ymax)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{esc(title)}" class="tk-chart">',
        f"<title>{esc(title)}</title>",
        f'<g {_FONT} font-size="11" fill="#333">',
    ]
    for t in ticks:
        y = y_of(t)
        out.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#ddd" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{esc(fmt_number(t))}</text>'
        )
    out.append(
        f'<text transform="translate(14 {top + plot_h / 2:.1f}) rotate(-90)" '
        f'text-anchor="middle">{esc(y_label)}</text>'
    )
    step = max(1, math.ceil(len(months) / 12))
    base_y = top + plot_h
    for i, month in enumerate(months):
        if i % step and i != len(months) - 1:
            continue
        x = x_of(i)
        first = i == 0 or pd.Timestamp(month).month == 1
        text = fmt_month(month, with_year=first)
        if point_labels is not None and point_labels[i] != fmt_month(month):
            text = point_labels[i]  # a month cut by the data's end says so
        out.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{base_y}" y2="{base_y + 4}" stroke="#888"/>'
            f'<text x="{x:.1f}" y="{base_y + 16}" text-anchor="middle">{esc(text)}</text>'
        )
    out.append(
        f'<line x1="{left}" x2="{left + plot_w}" y1="{base_y}" y2="{base_y}" stroke="#888"/>'
    )
    if suppress_below is not None:
        band_top = y_of(suppress_below)
        out.append(
            f'<rect x="{left}" y="{band_top:.1f}" width="{plot_w}" '
            f'height="{base_y - band_top:.1f}" fill="#e4e4ec" class="tk-band">'
            f"<title>{esc(SUPPRESSED_LABEL)}</title></rect>"
        )
    out.append(
        _hatch(
            title,
            partial,
            x_of,
            len(months),
            left=left,
            right=left + plot_w,
            top=top,
            height=plot_h,
        )
    )
    for j, key in enumerate(series):
        color = esc(colors.get(key, "#555555"))
        label = esc(labels.get(key, str(key)))
        hidden = list(hidden_all[:, j])
        band = (suppress_below or 0.0) / 2
        shown = [band if h else v for h, v in zip(hidden, values[:, j], strict=True)]
        pts = [(x_of(i), y_of(shown[i])) for i in range(len(months))]
        d = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(pts))
        out.append(
            f'<path d="{d}" fill="none" stroke="{color}" stroke-width="2" '
            f'stroke-linejoin="round" data-series="{esc(key)}"><title>{label}</title></path>'
        )
        for i, (x, y) in enumerate(pts):
            text = SUPPRESSED_LABEL if hidden[i] else fmt_number(values[i, j])
            when = point_labels[i] if point_labels is not None else fmt_month(months[i])
            tip = f"{labels.get(key, key)}, {when}: {text}"
            fill = "#ffffff" if hidden[i] else color
            out.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{fill}" stroke="{color}">'
                f"<title>{esc(tip)}</title></circle>"
            )
    legend_top = base_y + 36
    col_w = plot_w / 3
    for j, key in enumerate(series):
        lx = left + col_w * (j % 3)
        ly = legend_top + 20 * (j // 3)
        out.append(
            f'<rect x="{lx:.1f}" y="{ly - 9}" width="14" height="10" '
            f'fill="{esc(colors.get(key, "#555555"))}"/>'
            f'<text x="{lx + 20:.1f}" y="{ly}">{esc(labels.get(key, str(key)))}</text>'
        )
    out.append("</g></svg>")
    return "".join(out)


WEEKDAYS_SV = ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag")


def small_multiples_html(
    table: pd.DataFrame,
    *,
    labels: Mapping[str, str],
    colors: Mapping[str, str],
    title: str,
    suppress_below: float | None = None,
    highlight_from: pd.Timestamp | None = None,
    width: int = 300,
    plot_height: int = 84,
    months_per_step: int = 1,
    suppressed: pd.DataFrame | None = None,
    totals: Mapping[str, float | None] | None = None,
    point_labels: Sequence[str] | None = None,
    partial: Sequence[str | None] | None = None,
) -> str:
    """One small line chart per column of a month × series table, in a grid.

    Each chart has its own vertical scale (its maximum is written at the top), so that a
    small category's course is as readable as a large one's. Months before
    ``highlight_from`` (e.g. the year before the period) sit on a grey background.

    Parameters
    ----------
    table
        Index: consecutive months; columns: series keys; values: counts.
    labels, colors
        Title and line colour per column.
    title
        Accessible name of the group.
    suppress_below
        Counts below this are drawn in a grey band at the bottom and read "färre än 5"
        (public profile); ``None`` draws every count as it is.
    highlight_from
        First month of the period; earlier months are shaded.
    width, plot_height
        Size of each chart, pixels.
    months_per_step
        Months per row of ``table`` (3 for quarters: labels read "jan–mar 2024").
    suppressed
        Which values the profile suppressed (like ``table``): drawn in the band, "dolt".
    totals
        The total written on each chart, per column (``None``: "dolt"); the column's sum
        when not given.
    point_labels
        The text of each row (e.g. ``jul–sep 2024 (endast sep)`` for a quarter the months
        shown cut, see :func:`trygghetskarta.periods.block_label`); built from the months
        and ``months_per_step`` when ``None``.
    partial
        Per row of ``table``, what a gap in the data leaves out of it, or ``None``:
        hatched, as in :func:`line_chart_svg`.

    Returns
    -------
    str
        A ``<div class="tk-multiples">`` holding one ``<svg>`` per column.
    """
    charts = []
    for key in table.columns:
        charts.append(
            _mini_chart(
                table[key],
                label=labels.get(key, str(key)),
                color=colors.get(key, "#555555"),
                suppress_below=suppress_below,
                highlight_from=highlight_from,
                width=width,
                plot_height=plot_height,
                key=str(key),
                step=months_per_step,
                hidden=None if suppressed is None else suppressed[key].to_numpy(dtype=bool),
                total=(totals[key], True) if totals is not None else None,
                point_labels=point_labels,
                partial=partial,
            )
        )
    return (
        f'<div class="tk-multiples" role="group" aria-label="{esc(title)}">'
        + "".join(charts)
        + "</div>"
    )


def _mini_chart(
    series: pd.Series,
    *,
    label: str,
    color: str,
    suppress_below: float | None,
    highlight_from: pd.Timestamp | None,
    width: int,
    plot_height: int,
    key: str,
    step: int,
    hidden: np.ndarray | None = None,
    total: tuple[float | None, bool] | None = None,
    point_labels: Sequence[str] | None = None,
    partial: Sequence[str | None] | None = None,
) -> str:
    months = list(series.index)
    given = dict(zip(months, point_labels, strict=True)) if point_labels is not None else {}

    def when(month: pd.Timestamp) -> str:
        if month in given:
            return given[month]
        if step == 1:
            return fmt_month(month)
        last = pd.Timestamp(month) + pd.DateOffset(months=step - 1)
        return f"{fmt_month(month, with_year=False)}–{fmt_month(last)}"

    values = series.fillna(0).to_numpy(dtype="float64")
    left, right, top = 30, 8, 24
    plot_w = width - left - right
    height = top + plot_height + 20
    if hidden is None:
        hidden = values < suppress_below if suppress_below is not None else values < -1
    shown_values = values[~hidden]
    vmax = float(shown_values.max()) if shown_values.size else 0.0
    ymax = max(nice_ticks(max(vmax, suppress_below or 0.0), 2)[-1], 1.0)

    def x_of(i: int) -> float:
        return left + (plot_w / 2 if len(months) < 2 else plot_w * i / (len(months) - 1))

    def y_of(v: float) -> float:
        return top + plot_height * (1 - v / ymax)

    def shown(v: float, h: bool) -> tuple[float, str, bool]:
        if h:
            return (suppress_below or 0.0) / 2, SUPPRESSED_LABEL, True
        return v, fmt_number(v), False

    color = esc(color)
    if total is not None:
        total_text = SUPPRESSED_LABEL if total[0] is None else fmt_number(total[0])
    else:
        whole = float(values.sum())
        small = suppress_below is not None and whole < suppress_below
        total_text = SUPPRESSED_LABEL if small else fmt_number(whole)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{esc(label)}" class="tk-mini" data-series="{esc(key)}">',
        f"<title>{esc(label)}: {esc(total_text)} händelser</title>",
        f'<g {_FONT} font-size="11" fill="#333">',
        f'<text x="{left}" y="13" font-weight="bold" font-size="12">{esc(label)}</text>',
        f'<text x="{width - right}" y="13" text-anchor="end" fill="#555" class="tk-total">'
        f"{esc(total_text)}{'' if total_text == SUPPRESSED_LABEL else ' st'}</text>",
    ]
    if highlight_from is not None and months:
        before = [i for i, mo in enumerate(months) if pd.Timestamp(mo) < highlight_from]
        if before:
            x1 = (x_of(before[-1]) + x_of(min(before[-1] + 1, len(months) - 1))) / 2
            out.append(
                f'<rect x="{left}" y="{top}" width="{max(x1 - left, 0):.1f}" '
                f'height="{plot_height}" fill="#f3f3f3"/>'
            )
    if suppress_below is not None:
        band_top = y_of(suppress_below)
        out.append(
            f'<rect x="{left}" y="{band_top:.1f}" width="{plot_w}" '
            f'height="{top + plot_height - band_top:.1f}" fill="#e4e4ec" class="tk-band">'
            f"<title>{esc(SUPPRESSED_LABEL)}</title></rect>"
        )
    out.append(
        _hatch(
            f"{label}|{key}",
            partial,
            x_of,
            len(months),
            left=left,
            right=left + plot_w,
            top=top,
            height=plot_height,
        )
    )
    for t in (0.0, ymax):
        y = y_of(t)
        out.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{esc(fmt_number(t))}</text>'
        )
    pts = []
    for i, v in enumerate(values):
        yv, text, h = shown(float(v), bool(hidden[i]))
        pts.append((x_of(i), y_of(yv), text, h))
    d = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y, _, _) in enumerate(pts))
    out.append(
        f'<path d="{d}" fill="none" stroke="{color}" stroke-width="1.8" '
        f'stroke-linejoin="round" data-series="{esc(key)}"/>'
    )
    for i, (x, y, text, h) in enumerate(pts):
        fill = "#ffffff" if h else color
        out.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2" fill="{fill}" stroke="{color}">'
            f"<title>{esc(when(months[i]))}: {esc(text)}</title></circle>"
        )
    if months:
        base = top + plot_height + 14
        out.append(
            f'<text x="{left}" y="{base}">{esc(when(months[0]))}</text>'
            f'<text x="{left + plot_w}" y="{base}" text-anchor="end">'
            f"{esc(when(months[-1]))}</text>"
        )
    out.append("</g></svg>")
    return "".join(out)


def heatmap_svg(
    table: pd.DataFrame,
    *,
    title: str,
    profile: ExportProfile,
    hour_step: int = 1,
    width: int = 760,
    suppressed: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    rows: Sequence[tuple[str, Sequence[int]]] | None = None,
) -> str:
    """An hour × weekday heatmap with the totals per weekday and per hour beside it.

    Parameters
    ----------
    table
        7 rows (Monday first) × 24 columns (hours 0–23) of counts, as
        :func:`trygghetskarta.render.report.hour_weekday_table` makes it.
    title
        Accessible title.
    profile
        Its minimum count (public: five): cells, totals and legend below it read "dolt".
    hour_step
        Hours per column (1, 2, 3, 4, 6 …): coarser columns hold larger counts.
    width
        Width of the drawing, pixels.
    suppressed
        What the profile suppressed: cells (rows × columns), row sums and column
        sums; ``None`` suppresses the counts below five (public).
    rows
        The rows as ``(label, weekdays)``, each the sum of its weekdays (0 = Monday), e.g.
        ``[("måndag–fredag", range(5)), ("lördag–söndag", (5, 6))]``; one row per weekday
        when ``None``.

    Returns
    -------
    str
        An ``<svg>`` element with one ``<rect class="tk-cell">`` per cell.
    """
    counts = table.reindex(index=range(7), columns=range(24), fill_value=0).to_numpy("float64")
    if 24 % hour_step:
        raise ValueError(f"hour_step must divide 24, got {hour_step}")
    row_groups = [(day, (d,)) for d, day in enumerate(WEEKDAYS_SV)] if rows is None else list(rows)
    grouped = np.stack([counts[list(days)].sum(axis=0) for _, days in row_groups])
    binned = grouped.reshape(len(row_groups), 24 // hour_step, hour_step).sum(axis=2)
    n_cols = binned.shape[1]
    if suppressed is not None:
        cell_h_, row_h_, col_h_ = (np.asarray(a, dtype=bool) for a in suppressed)
    else:
        least = -np.inf if profile.min_count is None else profile.min_count
        cell_h_ = binned < least
        row_h_ = binned.sum(axis=1) < least
        col_h_ = binned.sum(axis=0) < least
    classes, colors, class_labels = count_classes(binned, profile=profile, suppressed=cell_h_)

    def text_of(v: float, hide: bool) -> str:
        return SUPPRESSED_LABEL if hide else fmt_number(v)

    longest = max(len(label) for label, _ in row_groups)
    left, top, right = (70 if longest <= 8 else 16 + 7 * longest), 22, 70
    cell_w = (width - left - right) / n_cols
    cell_h = 24
    grid_h = len(row_groups) * cell_h
    legend_y = top + grid_h + 44
    height = legend_y + 26
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{esc(title)}" class="tk-chart tk-heatmap">',
        f"<title>{esc(title)}</title>",
        f'<g {_FONT} font-size="11" fill="#333">',
        f'<text x="{width - right + 8}" y="{top - 8}" fill="#555">Summa</text>',
    ]
    for r, (day, _) in enumerate(row_groups):
        y = top + r * cell_h
        out.append(f'<text x="{left - 6}" y="{y + 16}" text-anchor="end">{esc(day)}</text>')
        for c in range(n_cols):
            x = left + c * cell_w
            cls = classes[r, c]
            fill = colors[cls] if cls >= 0 else "#ffffff"
            h0, h1 = c * hour_step, (c + 1) * hour_step
            hours = f"{h0:02d}–{h1:02d}"
            tip = f"{day} {hours}: {text_of(binned[r, c], cell_h_[r, c])}"
            out.append(
                f'<rect class="tk-cell" x="{x:.1f}" y="{y}" width="{cell_w - 1:.1f}" '
                f'height="{cell_h - 1}" fill="{esc(fill)}"><title>{esc(tip)}</title></rect>'
            )
        day_sum = text_of(binned[r].sum(), row_h_[r])
        out.append(f'<text x="{width - right + 8}" y="{y + 16}">{esc(day_sum)}</text>')
    label_every = max(1, round(3 / hour_step)) if hour_step < 3 else 1
    for c in range(n_cols):
        x = left + c * cell_w
        if c % label_every == 0:
            out.append(f'<text x="{x:.1f}" y="{top - 6}" font-size="10">{c * hour_step:02d}</text>')
        out.append(
            f'<text x="{x + cell_w / 2:.1f}" y="{top + grid_h + 14}" text-anchor="middle" '
            f'font-size="10" fill="#555">{esc(text_of(binned[:, c].sum(), col_h_[c]))}</text>'
        )
    out.append(
        f'<text x="{left - 6}" y="{top + grid_h + 14}" text-anchor="end" fill="#555">Summa</text>'
    )
    x = left
    out.append(f'<text x="{left - 6}" y="{legend_y + 11}" text-anchor="end">Antal</text>')
    for color, text in zip(colors, class_labels, strict=True):
        out.append(
            f'<rect x="{x}" y="{legend_y}" width="14" height="12" fill="{esc(color)}" '
            f'stroke="#999"/><text x="{x + 18}" y="{legend_y + 11}">{esc(text)}</text>'
        )
        x += 28 + 7 * len(text)
    out.append("</g></svg>")
    return "".join(out)
