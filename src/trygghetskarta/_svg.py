"""A monthly line chart as inline SVG, written in Python (no JavaScript, no network).

Private helper of :mod:`trygghetskarta.report`. The chart has exactly one ``<path>`` per
series; axes, grid lines and legend swatches use ``<line>`` and ``<rect>``. All text is
escaped, so the SVG is well-formed XML.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from trygghetskarta._format import esc, fmt_month, fmt_number

_FONT = 'font-family="Helvetica Neue, Arial, sans-serif"'


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
    vmax = float(values.max()) if values.size else 0.0
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
        out.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{base_y}" y2="{base_y + 4}" stroke="#888"/>'
            f'<text x="{x:.1f}" y="{base_y + 16}" text-anchor="middle">{esc(text)}</text>'
        )
    out.append(
        f'<line x1="{left}" x2="{left + plot_w}" y1="{base_y}" y2="{base_y}" stroke="#888"/>'
    )
    for j, key in enumerate(series):
        color = esc(colors.get(key, "#555555"))
        label = esc(labels.get(key, str(key)))
        pts = [(x_of(i), y_of(values[i, j])) for i in range(len(months))]
        d = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(pts))
        out.append(
            f'<path d="{d}" fill="none" stroke="{color}" stroke-width="2" '
            f'stroke-linejoin="round" data-series="{esc(key)}"><title>{label}</title></path>'
        )
        for i, (x, y) in enumerate(pts):
            tip = f"{labels.get(key, key)}, {fmt_month(months[i])}: {fmt_number(values[i, j])}"
            out.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{color}">'
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
