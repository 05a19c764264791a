"""Sections of the lägesbild page: key figures, tables, heatmap, Brå, maps.

Private helper of :mod:`trygghetskarta.report`. Each function returns escaped HTML; the
public profile's rules are applied here: counts below five read "färre än 5", and a table
whose total is shown never leaves a single small count to be worked out by subtraction
(small rows are merged, with a second row when one alone would be small).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from trygghetskarta._assets import inline_assets
from trygghetskarta._format import (
    MISSING,
    SUPPRESS_BELOW,
    Period,
    category_color,
    category_label,
    esc,
    fmt_count,
    fmt_float,
    fmt_int,
    fmt_pct,
    is_missing,
    period_bounds,
    precision_label,
    safe_url,
)
from trygghetskarta.errors import SchemaError
from trygghetskarta.schema import Precision

#: Precision classes that place an event better than its stadsdel.
FINE = (Precision.EXACT, Precision.ADDRESS, Precision.STREET, Precision.PLACE)


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


def key_figures(
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


def category_table(table: pd.DataFrame, period: Period, profile: str) -> str:
    """Counts and shares per category over the months of ``period``.

    In the public profile the categories with fewer than five events are merged into one
    row "Övriga kategorier", together with the next smallest category when only one is
    small (its count could otherwise be worked out from the total).
    """
    in_period = _months_in(table, period)
    totals = in_period.sum() if not in_period.empty else pd.Series(dtype="float64")
    totals = totals[totals > 0].sort_values(ascending=False, kind="stable")
    grand = float(totals.sum())
    if grand == 0:
        return '<p class="empty">Inga händelser i perioden.</p>'
    merged: list[str] = []
    if profile == "public":
        merged = list(totals.index[totals < SUPPRESS_BELOW]) if len(totals) > 1 else []
        if len(merged) == 1:
            merged = list(totals.index[-2:])
    rows = []
    for category, n in totals.items():
        if category in merged:
            continue
        rows.append(
            _category_row(category_label(category), category_color(category), n, grand, profile)
        )
    if merged:
        n = float(totals[merged].sum())
        names = ", ".join(category_label(c).lower() for c in merged)
        text = f"Övriga kategorier ({names})"
        rows.append(_category_row(text, "#dddddd", n, grand, profile))
    rows.append(
        f'<tr class="total"><td>Totalt</td><td class="num">'
        f'{esc(fmt_count(grand, profile=profile))}</td><td class="num">100&nbsp;%</td></tr>'
    )
    return (
        '<table><thead><tr><th>Kategori</th><th class="num">Antal</th>'
        '<th class="num">Andel</th></tr></thead><tbody>' + "".join(rows) + "</tbody></table>"
    )


def _category_row(label: str, color: str, n: float, grand: float, profile: str) -> str:
    small = profile == "public" and n < SUPPRESS_BELOW
    share = MISSING if small else fmt_pct(100.0 * n / grand, signed=False)
    return (
        f'<tr><td><span class="swatch" style="background:{esc(color)}"></span>{esc(label)}</td>'
        f'<td class="num">{esc(fmt_count(n, profile=profile))}</td>'
        f'<td class="num">{esc(share)}</td></tr>'
    )


def _months_in(table: pd.DataFrame, period: Period) -> pd.DataFrame:
    bounds = period_bounds(period)
    if bounds is None or table.empty:
        return table
    start, end = bounds
    return table[(table.index >= start.to_period("M").to_timestamp()) & (table.index <= end)]


def precision_table(by_precision: pd.Series, profile: str) -> str:
    """Count and share of events per precision class, best first, with bars.

    In the public profile a class with fewer than five events shows neither its count nor
    its share (the share would give the count away).
    """
    counts = pd.Series(by_precision, dtype="float64").dropna()
    counts = counts[counts > 0]
    total = float(counts.sum())
    if total == 0:
        return '<p class="empty">Inga händelser att bedöma.</p>'
    known = [p.value for p in Precision]
    counts.index = counts.index.map(str)
    order = known + sorted(k for k in counts.index if k not in known)
    counts = counts.reindex(order).dropna()
    fine = float(counts.reindex([p.value for p in FINE]).fillna(0).sum())
    rows = []
    for precision, n in counts.items():
        small = profile == "public" and n < SUPPRESS_BELOW
        share = 100.0 * n / total
        bar = "" if small else f'<div class="bar"><span style="width:{share:.1f}%"></span></div>'
        rows.append(
            f"<tr><td>{esc(precision_label(precision))}</td>"
            f'<td class="num">{esc(fmt_count(n, profile=profile))}</td>'
            f'<td class="num">{esc(MISSING if small else fmt_pct(share, signed=False))}</td>'
            f"<td>{bar}</td></tr>"
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


def places_table(top_places: pd.Series, profile: str, limit: int = 10) -> str:
    """The places named most often; in public only places named in five events or more."""
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


def map_frame(title: str, map_html: str, *, css_class: str = "mapframe") -> str:
    """A map page in a sandboxed ``<iframe srcdoc>``; its scripts and styles are inlined first.

    The page's CDN references (if it was rendered with ``get_root().render()``) are
    replaced by the vendored libraries, so the report stays one self-contained file.
    """
    page = inline_assets(map_html)
    return (
        f'<iframe class="{esc(css_class)}" title="{esc(title)}" '
        'sandbox="allow-scripts allow-popups allow-popups-to-escape-sandbox" '
        f'allowfullscreen srcdoc="{esc(page)}"></iframe>'
    )


def map_section(district: str, map_html: str | None, map_link: str | None) -> str:
    """The district map embedded in the page and/or a link to the map file."""
    if map_html is None and map_link is None:
        return ""
    parts = ["<section><h2>Karta</h2>"]
    if map_html is not None:
        parts.append(
            map_frame(f"Karta över {district}", map_html)
            + '<p class="print-only">Kartan visas inte i utskrift; öppna rapporten i en '
            "webbläsare för att se den.</p>"
        )
    href = safe_href(map_link)
    if href is not None:
        parts.append(
            f'<p class="screen-only"><a href="{esc(href)}">Öppna kartan i ett eget fönster</a></p>'
        )
    parts.append("</section>")
    return "".join(parts)


def hotspot_section(map_html: str | None, caption: str | None) -> str:
    """The hotspot map (Gi* hot and cold cells, emerging hotspots), when one is given."""
    if map_html is None:
        return ""
    note = f'<p class="caption">{esc(caption)}</p>' if caption else ""
    return (
        "<section><h2>Hotspots</h2>"
        + map_frame("Karta över hotspots", map_html)
        + note
        + '<p class="print-only">Kartan visas inte i utskrift.</p></section>'
    )


#: Columns of the Brå table: what each means on the page.
BRA_COLUMNS = {
    "category": "Brottskategori",
    "year": "År",
    "district": "Området",
    "city": "Hela staden",
}


def bra_section(district: str, bra: pd.DataFrame | None, source: str | None) -> str:
    """Brå's reported-crime statistics for the district beside the city's.

    Parameters
    ----------
    district
        The district's name (column heading).
    bra
        One row per crime category and year with ``category``, ``year``, ``district``
        and ``city`` (the same measure for the district and for the whole city) and
        optionally ``unit`` (e.g. "per 100 000 invånare"); ``None`` leaves the section out.
    source
        The source line (e.g. "Brå, anmälda brott, preliminär statistik").
    """
    if bra is None:
        return ""
    missing = [c for c in BRA_COLUMNS if c not in bra.columns]
    if missing:
        raise SchemaError(
            f"Brå statistics need columns {list(BRA_COLUMNS)}, missing {missing} — "
            "pass the table from the Brå source"
        )
    if bra.empty:
        body = '<p class="empty">Brå har ingen statistik för området.</p>'
    else:
        rows = []
        for _, row in bra.iterrows():
            d, c = row["district"], row["city"]
            ratio = (
                fmt_float(float(d) / float(c), 2)
                if not is_missing(d) and not is_missing(c) and float(c)
                else MISSING
            )
            unit = row.get("unit") if "unit" in bra.columns else None
            rows.append(
                f"<tr><td>{esc(row['category'])}</td><td>{esc(row['year'])}</td>"
                f'<td class="num">{esc(fmt_float(d) if not is_missing(d) else MISSING)}</td>'
                f'<td class="num">{esc(fmt_float(c) if not is_missing(c) else MISSING)}</td>'
                f'<td class="num">{esc(ratio)}</td><td>{esc(unit or "")}</td></tr>'
            )
        body = (
            f'<table><thead><tr><th>Brottskategori</th><th>År</th><th class="num">'
            f'{esc(district)}</th><th class="num">Hela staden</th><th class="num">Kvot</th>'
            "<th>Enhet</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
        )
    note = f'<p class="caption">Källa: {esc(source)}</p>' if source else ""
    return (
        "<section><h2>Anmälda brott enligt Brå</h2>"
        "<p>Brås statistik över anmälda brott i området bredvid hela stadens. Kvoten är "
        "områdets värde delat med stadens: över 1 betyder mer än i staden som helhet.</p>"
        + body
        + note
        + "</section>"
    )


def safe_href(link: str | None) -> str | None:
    """An http(s) URL or a relative path; anything with another scheme is dropped."""
    if link is None:
        return None
    if safe_url(link) is not None:
        return link
    head = link.split("/", 1)[0].split("?", 1)[0]
    return None if ":" in head or link.startswith("//") else link
