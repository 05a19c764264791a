"""The lägesbild: one self-contained HTML page per stadsdelsområde.

:func:`lagesbild_html` returns the page as a string (the pipeline writes it). The page is
in Swedish and needs no network and no JavaScript of its own: key figures, a monthly trend
chart drawn as inline SVG, a table of counts by category, the places named most often, the
data quality (share of events per precision class), and sources and period. Inline CSS
includes a print layout.

The district map, when given as ``map_html`` (the full HTML of a folium map), is embedded
in an ``<iframe srcdoc="…">`` so that the report stays one file that opens from a file
share; the map's own scripts run sandboxed inside the frame. ``map_link`` adds a link to
the separate map file instead or as well. Maps do not print; the printed page says so.

Profiles: in ``public`` reports every count below five reads "färre än 5" and changes
against last year are not given when either year has fewer than five events. All text from
sources (place names, district names) is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import pandas as pd

from trygghetskarta._format import (
    MISSING,
    SUPPRESS_BELOW,
    SUPPRESSED_LABEL,
    Period,
    category_color,
    category_label,
    check_profile,
    esc,
    fmt_count,
    fmt_datetime,
    fmt_float,
    fmt_int,
    fmt_pct,
    fmt_period,
    fmt_sources,
    is_missing,
    period_bounds,
    precision_label,
    safe_url,
)
from trygghetskarta._svg import line_chart_svg
from trygghetskarta.errors import SchemaError
from trygghetskarta.schema import Precision

__all__ = ["lagesbild_html", "monthly_table"]

#: Precision classes that place an event better than its stadsdel.
_FINE = (Precision.EXACT, Precision.ADDRESS, Precision.STREET, Precision.PLACE)
_MONTHLY_COLUMNS = ("month", "category", "count")

_CSS = """
:root { --ink: #1f1f1f; --muted: #5c5c5c; --line: #d8d8d8; --accent: #004b87; }
* { box-sizing: border-box; }
body { margin: 0; background: #f4f4f2; color: var(--ink);
  font: 15px/1.5 "Helvetica Neue", Arial, Helvetica, sans-serif; }
main { max-width: 960px; margin: 0 auto; padding: 24px 28px 40px; background: #fff; }
h1 { font-size: 28px; margin: 0 0 4px; color: var(--accent); }
h2 { font-size: 19px; margin: 28px 0 8px; border-bottom: 2px solid var(--line);
  padding-bottom: 4px; }
.meta { color: var(--muted); margin: 0; }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; margin-top: 18px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
.card .label { color: var(--muted); font-size: 13px; }
.card .value { font-size: 26px; font-weight: bold; line-height: 1.2; margin: 2px 0; }
.card .note { color: var(--muted); font-size: 13px; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); }
th { background: #f1f3f6; }
td.num, th.num { text-align: right; white-space: nowrap; }
tr.total td { font-weight: bold; border-top: 2px solid #999; }
.swatch { display: inline-block; width: 12px; height: 12px; margin-right: 6px;
  vertical-align: -1px; }
.bar { background: #e8edf3; height: 12px; min-width: 120px; }
.bar span { display: block; height: 12px; background: var(--accent); }
.mapframe { width: 100%; height: 560px; border: 1px solid var(--line); }
.print-only { display: none; }
.empty { color: var(--muted); font-style: italic; }
.tk-chart { max-width: 100%; height: auto; }
@media (max-width: 700px) { .cards { grid-template-columns: repeat(2, 1fr); } }
@media print {
  @page { size: A4; margin: 16mm 14mm; }
  body { background: #fff; font-size: 11pt; }
  .swatch, .bar, .bar span, th { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
  main { max-width: none; padding: 0; }
  section, .cards, table, svg { break-inside: avoid; }
  .mapframe, .screen-only { display: none; }
  .print-only { display: block; }
  a { color: inherit; text-decoration: none; }
}
"""


def monthly_table(monthly: pd.DataFrame, district: str | None = None) -> pd.DataFrame:
    """Monthly counts as a month × category table with every month of the range.

    Parameters
    ----------
    monthly
        Long frame with ``month`` (first of month), ``category``, ``count`` and optionally
        ``stadsdelsomrade``.
    district
        Keep only this district's rows when the frame has a ``stadsdelsomrade`` column.

    Returns
    -------
    pandas.DataFrame
        Index: consecutive months; columns: categories ordered by total, largest first.
    """
    missing = [c for c in _MONTHLY_COLUMNS if c not in monthly.columns]
    if missing:
        raise SchemaError(
            f"monthly counts need columns {list(_MONTHLY_COLUMNS)}, missing {missing} — "
            "pass the counts from analysis.trends"
        )
    frame = monthly
    if district is not None and "stadsdelsomrade" in frame.columns:
        frame = frame[frame["stadsdelsomrade"] == district]
    if frame.empty:
        return pd.DataFrame(dtype="float64")
    months = pd.to_datetime(frame["month"])
    if months.dt.tz is not None:
        months = months.dt.tz_localize(None)
    frame = frame.assign(month=months.dt.to_period("M").dt.to_timestamp())
    table = frame.pivot_table(
        index="month", columns="category", values="count", aggfunc="sum", fill_value=0
    )
    full = pd.date_range(table.index.min(), table.index.max(), freq="MS")
    table = table.reindex(full, fill_value=0)
    order = table.sum().sort_values(ascending=False, kind="stable").index
    return table[order]


def _get(row: Mapping[str, Any] | pd.Series | None, key: str) -> Any:
    if row is None:
        return None
    value = row.get(key) if hasattr(row, "get") else None
    return None if is_missing(value) else value


def _card(label: str, value: str, note: str = "") -> str:
    note_html = f'<div class="note">{note}</div>' if note else ""
    return (
        f'<div class="card"><div class="label">{esc(label)}</div>'
        f'<div class="value">{esc(value)}</div>{note_html}</div>'
    )


def _key_figures(
    summary_row: Mapping[str, Any] | pd.Series,
    city_summary: Mapping[str, Any] | pd.Series | None,
    profile: str,
) -> str:
    count = _get(summary_row, "count")
    last = _get(summary_row, "count_last_year")
    change = _get(summary_row, "change_pct")
    if change is None and count is not None and last:
        change = 100.0 * (float(count) - float(last)) / float(last)
    too_few = profile == "public" and any(
        v is not None and float(v) < SUPPRESS_BELOW for v in (count, last)
    )
    if too_few:
        change_text, change_note = MISSING, "För få händelser för en jämförelse."
    else:
        change_text = fmt_pct(change)
        change_note = f"Samma period året innan: {esc(fmt_count(last, profile=profile))}"
    rate = _get(summary_row, "rate_per_1000")
    city_rate = _get(city_summary, "rate_per_1000")
    rate_note = f"Hela staden: {esc(fmt_float(city_rate))}" if city_rate is not None else ""
    if rate is not None and city_rate:
        ratio = float(rate) / float(city_rate)
        rate_note += f" ({esc(fmt_float(ratio, 1))} gånger stadens nivå)"
    return (
        '<div class="cards">'
        + _card("Händelser i perioden", fmt_count(count, profile=profile))
        + _card("Förändring mot året innan", change_text, change_note)
        + _card("Händelser per 1 000 invånare", fmt_float(rate), rate_note)
        + _card("Invånare", fmt_int(_get(summary_row, "population")))
        + "</div>"
    )


def _category_table(table: pd.DataFrame, period: Period, profile: str) -> str:
    bounds = period_bounds(period)
    in_period = table
    if bounds is not None and not table.empty:
        start, end = bounds
        in_period = table[
            (table.index >= start.to_period("M").to_timestamp()) & (table.index <= end)
        ]
    totals = in_period.sum() if not in_period.empty else pd.Series(dtype="float64")
    totals = totals.sort_values(ascending=False, kind="stable")
    grand = float(totals.sum())
    if grand == 0:
        return '<p class="empty">Inga händelser i perioden.</p>'
    rows = []
    for category, n in totals.items():
        share = fmt_pct(100.0 * n / grand, signed=False)
        if profile == "public" and n < SUPPRESS_BELOW:
            share = MISSING
        rows.append(
            f'<tr><td><span class="swatch" style="background:{esc(category_color(category))}">'
            f"</span>{esc(category_label(category))}</td>"
            f'<td class="num">{esc(fmt_count(n, profile=profile))}</td>'
            f'<td class="num">{esc(share)}</td></tr>'
        )
    rows.append(
        f'<tr class="total"><td>Totalt</td><td class="num">'
        f'{esc(fmt_count(grand, profile=profile))}</td><td class="num">100&nbsp;%</td></tr>'
    )
    return (
        '<table><thead><tr><th>Kategori</th><th class="num">Antal</th>'
        '<th class="num">Andel</th></tr></thead><tbody>' + "".join(rows) + "</tbody></table>"
    )


def _precision_table(by_precision: pd.Series, profile: str) -> str:
    counts = pd.Series(by_precision, dtype="float64").dropna()
    total = float(counts.sum())
    if total == 0:
        return '<p class="empty">Inga händelser att bedöma.</p>'
    order = [p.value for p in Precision] + sorted(
        str(k) for k in counts.index if str(k) not in {p.value for p in Precision}
    )
    counts.index = counts.index.map(str)
    counts = counts.reindex(order).dropna()
    fine = float(counts.reindex([p.value for p in _FINE]).fillna(0).sum())
    rows = []
    for precision, n in counts.items():
        share = 100.0 * n / total
        rows.append(
            f"<tr><td>{esc(precision_label(precision))}</td>"
            f'<td class="num">{esc(fmt_count(n, profile=profile))}</td>'
            f'<td class="num">{esc(fmt_pct(share, signed=False))}</td>'
            f'<td><div class="bar"><span style="width:{share:.1f}%"></span></div></td></tr>'
        )
    lead = (
        f"<p>{esc(fmt_pct(100.0 * fine / total, signed=False))} av händelserna har en position "
        "som är noggrannare än stadsdel (exakt koordinat, adress, gata eller plats). "
        "Händelser med sämre position räknas till sitt område men syns inte som punkter "
        "eller i täthetskartan.</p>"
    )
    return (
        lead + '<table><thead><tr><th>Positionens noggrannhet</th><th class="num">Antal</th>'
        '<th class="num">Andel</th><th></th></tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table>"
    )


def _places_table(top_places: pd.Series, profile: str, limit: int = 10) -> str:
    places = pd.Series(top_places, dtype="float64").dropna().sort_values(ascending=False)
    if profile == "public":
        places = places[places >= SUPPRESS_BELOW]
    places = places.head(limit)
    if places.empty:
        return f'<p class="empty">Ingen plats nämns i minst {SUPPRESS_BELOW} händelser.</p>'
    rows = "".join(
        f'<tr><td>{esc(place)}</td><td class="num">{esc(fmt_count(n, profile=profile))}</td></tr>'
        for place, n in places.items()
    )
    return (
        '<table><thead><tr><th>Plats</th><th class="num">Antal</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )


def _map_section(district: str, map_html: str | None, map_link: str | None) -> str:
    if map_html is None and map_link is None:
        return ""
    parts = ["<section><h2>Karta</h2>"]
    if map_html is not None:
        parts.append(
            f'<iframe class="mapframe" title="Karta över {esc(district)}" '
            'sandbox="allow-scripts allow-popups allow-popups-to-escape-sandbox" '
            f'allowfullscreen srcdoc="{esc(map_html)}"></iframe>'
            '<p class="print-only">Kartan visas inte i utskrift; öppna rapporten i en '
            "webbläsare för att se den.</p>"
        )
    href = _safe_href(map_link)
    if href is not None:
        parts.append(
            f'<p class="screen-only"><a href="{esc(href)}">Öppna kartan i ett eget fönster</a></p>'
        )
    parts.append("</section>")
    return "".join(parts)


def _safe_href(link: str | None) -> str | None:
    """An http(s) URL or a relative path; anything with another scheme is dropped."""
    if link is None:
        return None
    if safe_url(link) is not None:
        return link
    head = link.split("/", 1)[0].split("?", 1)[0]
    return None if ":" in head or link.startswith("//") else link


def lagesbild_html(
    district: str,
    *,
    period: Period,
    summary_row: Mapping[str, Any] | pd.Series,
    monthly: pd.DataFrame,
    city_summary: Mapping[str, Any] | pd.Series | None,
    by_precision: pd.Series,
    top_places: pd.Series | None = None,
    map_html: str | None = None,
    made_at: datetime,
    sources: Sequence[str] | str,
    profile: str = "public",
    map_link: str | None = None,
    title: str | None = None,
) -> str:
    """Write the lägesbild of one district as a self-contained HTML page.

    Parameters
    ----------
    district
        The district's name (shown as text, escaped).
    period
        ``(start, end)`` dates of the period reported, or a ready text.
    summary_row
        The district's figures: ``count``, ``count_last_year``, ``change_pct`` (percent),
        ``rate_per_1000`` and ``population``; missing ones are shown as "–".
    monthly
        Monthly counts with ``month``, ``category``, ``count`` (and ``stadsdelsomrade``,
        filtered to ``district`` when present). The chart shows every month given (e.g. two
        years for context); the category table counts the months inside ``period``.
    city_summary
        The whole city's figures (``rate_per_1000`` is used for comparison), or ``None``.
    by_precision
        Number of events per precision class (index: :class:`~trygghetskarta.schema.Precision`
        values).
    top_places
        Number of events per place name, or ``None`` to leave the section out.
    map_html
        The full HTML of the district map (``m.get_root().render()``), embedded in an iframe.
    made_at
        When the report was made.
    sources
        Source names, e.g. ``["Polisen", "Stockholms stad"]``.
    profile
        ``"public"`` (counts below five suppressed) or ``"internal"``.
    map_link
        Optional link (relative path or http(s) URL) to the separate map file.
    title
        Page heading; ``"Lägesbild <district>"`` when ``None``.

    Returns
    -------
    str
        A complete HTML document.
    """
    check_profile(profile)
    heading = title or f"Lägesbild {district}"
    table = monthly_table(monthly, district)
    if table.empty:
        chart = '<p class="empty">Inga händelser att visa.</p>'
    else:
        chart = line_chart_svg(
            table,
            labels={c: category_label(c) for c in table.columns},
            colors={c: category_color(c) for c in table.columns},
            title=f"Händelser per månad och kategori, {district}",
        )
    places = ""
    if top_places is not None:
        places = (
            "<section><h2>Platser som nämns oftast</h2>"
            + _places_table(top_places, profile)
            + "</section>"
        )
    profile_note = (
        f"Antal under {SUPPRESS_BELOW} visas som ”{SUPPRESSED_LABEL}” för att skydda enskilda."
        if profile == "public"
        else "Intern version: alla antal visas. Sprid inte vidare utan granskning."
    )
    source_items = [sources] if isinstance(sources, str) else list(sources)
    body = [
        "<header>",
        f"<h1>{esc(heading)}</h1>",
        f'<p class="meta">Period: {esc(fmt_period(period))} · {fmt_sources(sources)} · '
        f"Skapad {esc(fmt_datetime(made_at))}</p>",
        "</header>",
        _key_figures(summary_row, city_summary, profile),
        "<section><h2>Utveckling per månad</h2>",
        chart,
        "</section>",
        "<section><h2>Händelser per kategori</h2>",
        _category_table(table, period, profile),
        "</section>",
        _map_section(district, map_html, map_link),
        places,
        "<section><h2>Datakvalitet</h2>",
        _precision_table(by_precision, profile),
        "</section>",
        "<section><h2>Källor och period</h2><ul>",
        *(f"<li>{esc(s)}</li>" for s in source_items),
        "</ul>",
        f"<p>Period: {esc(fmt_period(period))}. Skapad {esc(fmt_datetime(made_at))}.</p>",
        f"<p>{esc(profile_note)} Polisens händelser är polisens egna notiser om händelser "
        "de har arbetat med, inte alla anmälda brott.</p>",
        "</section>",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="sv">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(heading)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(part for part in body if part)
        + "\n</main>\n</body>\n</html>\n"
    )
