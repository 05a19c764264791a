"""Sections of the lägesbild page: key figures, tables, heatmap, Brå, maps.

Private helper of :mod:`trygghetskarta.render.report`. Each function returns escaped HTML; the
public profile's rules are applied here: counts below five read "färre än 5", and a table
whose total is shown never leaves a single small count to be worked out by subtraction
(small rows are merged, with a second row when one alone would be small).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

from trygghetskarta.errors import SchemaError
from trygghetskarta.render.assets import inline_assets
from trygghetskarta.render.csv_links import csv_link
from trygghetskarta.render.format import (
    MISSING,
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
from trygghetskarta.render.profile import ExportProfile
from trygghetskarta.render.published import ReportCounts
from trygghetskarta.schema import Precision

#: What the density map and the hotspot analysis count (the analyse step's rules, said on
#: the page: every event with a position inside the kommun makes the density, each spread
#: by its position's uncertainty; only events placed within a cell make hotspots).
DENSITY_NOTE = (
    "Täthetskartan räknar alla händelser som har en position inom kommunen, även de som "
    "bara är placerade på en stadsdel eller ett stadsdelsområde: en osäker position sprids "
    "ut över ett större område i stället för att lämnas utanför, så de grova positionerna "
    "ger ett jämnt utsmetat bidrag. Hotspotanalysen (Getis-Ord Gi*) räknar bara händelser "
    "vars position är säker inom rutans storlek (250 m). Händelser som bara har kommunen som "
    "plats, och känsliga brott (som bara redovisas per stadsdelsområde), ingår i områdets "
    "antal men inte i kartorna."
)

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
    profile: ExportProfile,
    counts: ReportCounts | None = None,
) -> str:
    """The key figures; ``counts`` (public) says which counts are shown.

    ``summary_row`` holds ``count``, ``count_last_year``, ``change_pct``,
    ``rate_per_1000`` and ``population``, and optionally the comparison behind the change
    (:class:`trygghetskarta.periods.Comparison`): ``compared_with`` (the days compared
    with, e.g. "1 januari – 22 augusti 2025"), ``comparison_notes`` (sentences printed next
    to the change: a period cut by the data's end, gaps, an incomplete year before) and
    ``comparable`` (false: no change is given).
    """
    count = _get(summary_row, "count")
    last = _get(summary_row, "count_last_year")
    change = _get(summary_row, "change_pct")
    if change is None and count is not None and last:
        change = 100.0 * (float(count) - float(last)) / float(last)
    count_text = fmt_count(count, profile=profile)
    last_text = fmt_count(last, profile=profile)
    least = profile.min_count
    hidden_count = least is not None and (count is None or float(count) < least)
    hidden_last = least is not None and (last is None or float(last) < least)
    if counts is not None:
        if count is not None and round(float(count)) == counts.period_total:
            shown = counts.get("sdo", "hela")
        else:  # not the count the tables add up to: a count on its own
            shown = None if count is None else profile.single(count)
        count_text, hidden_count = profile.text(shown), shown is None
        if counts.has("sdo", "före"):
            prev = counts.get("sdo", "före")
            last_text, hidden_last = profile.text(prev), prev is None
        else:  # not the sum of the months the charts show: a count on its own
            prev = None if last is None else profile.single(last)
            last_text, hidden_last = profile.text(prev), prev is None
    compared = _get(summary_row, "compared_with")
    notes = [str(n) for n in (_get(summary_row, "comparison_notes") or ())]
    comparable = _get(summary_row, "comparable") is not False
    if not comparable:
        # The year before lies before complete data: no change is given (the notes say why).
        change_text, change_note = MISSING, ""
    elif profile.public and (hidden_count or hidden_last):
        # The change and either count would give the other away.
        change_text, change_note = MISSING, "För få händelser för en jämförelse."
    else:
        change_text = fmt_pct(change)
        if compared is not None:
            change_note = f"Samma dagar året innan ({esc(compared)}): {esc(last_text)}"
        else:
            change_note = f"Samma period året innan: {esc(last_text)}"
    if notes:
        # partial period, gaps, incomplete year before: said next to the figure
        change_note += "".join(f'<span class="tk-compare-note">{esc(n)}</span>' for n in notes)
    rate = _get(summary_row, "rate_per_1000")
    city_rate = _get(city_summary, "rate_per_1000")
    rate_note = f"Hela staden: {esc(fmt_float(city_rate))}" if city_rate is not None else ""
    if profile.public and hidden_count:
        rate = None  # the rate times the population is the count
    if rate is not None and city_rate:
        ratio = float(rate) / float(city_rate)
        rate_note += f" ({esc(fmt_float(ratio, 1))} gånger stadens nivå)"
    return (
        '<div class="cards">'
        + _card("Polisens händelsenotiser i perioden", count_text)
        + _card("Förändring mot året innan", change_text, change_note)
        + _card("Notiser per 1 000 invånare", fmt_float(rate), rate_note)
        + _card("Invånare", fmt_int(_get(summary_row, "population")))
        + "</div>"
    )


def category_table(
    table: pd.DataFrame,
    period: Period,
    profile: ExportProfile,
    counts: ReportCounts | None = None,
    filename: str = "lagesbild",
) -> str:
    """Counts and shares per category over the months of ``period``.

    In the public profile (``counts`` given) every category is listed with the count the
    suppression allows: "dolt" for a small one and for those hidden so that a small one
    cannot be worked out from the total; a hidden count hides its share too.
    """
    in_period = _months_in(table, period)
    totals = in_period.sum() if not in_period.empty else pd.Series(dtype="float64")
    if counts is None:
        totals = totals[totals > 0]
    totals = totals.sort_values(ascending=False, kind="stable")
    grand = float(totals.sum())
    if grand == 0:
        return '<p class="empty">Inga händelser i perioden.</p>'
    rows = []
    csv_rows: list[list[str]] = []
    order = list(totals.index)
    if counts is not None:
        # Shown counts first, largest first; hidden ones after, in a fixed order (their
        # place in the list must not tell their size).
        shown_first = [c for c in order if counts.get("cat", c, "period") is not None]
        order = shown_first + sorted((c for c in order if c not in shown_first), key=str)
    for category in order:
        n = float(totals[category])
        value = counts.get("cat", category, "period") if counts is not None else n
        if counts is None and profile.min_count is not None and n < profile.min_count:
            value = None
        rows.append(
            _category_row(category_label(category), category_color(category), value, grand, profile)
        )
        share = MISSING if value is None else fmt_pct(100.0 * value / grand, signed=False)
        csv_rows.append([category_label(category), profile.text(value), share])
    grand_shown = counts.get("sdo", "hela") if counts is not None else profile.single(grand)
    rows.append(
        f'<tr class="total"><td>Totalt</td><td class="num">'
        f'{esc(profile.text(grand_shown))}</td><td class="num">100&nbsp;%</td></tr>'
    )
    csv_rows.append(["Totalt", profile.text(grand_shown), "100 %"])
    return (
        '<table><thead><tr><th>Kategori</th><th class="num">Antal</th>'
        '<th class="num">Andel</th></tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table>"
        + csv_link(["Kategori", "Antal", "Andel"], csv_rows, f"{filename}-kategorier.csv")
    )


def _category_row(
    label: str, color: str, n: float | None, grand: float, profile: ExportProfile
) -> str:
    share = MISSING if n is None else fmt_pct(100.0 * n / grand, signed=False)
    return (
        f'<tr><td><span class="swatch" style="background:{esc(color)}"></span>{esc(label)}</td>'
        f'<td class="num">{esc(profile.text(n))}</td>'
        f'<td class="num">{esc(share)}</td></tr>'
    )


def _months_in(table: pd.DataFrame, period: Period) -> pd.DataFrame:
    bounds = period_bounds(period)
    if bounds is None or table.empty:
        return table
    start, end = bounds
    return table[(table.index >= start.to_period("M").to_timestamp()) & (table.index <= end)]


def precision_table(
    by_precision: pd.Series,
    profile: ExportProfile,
    shown: ReportCounts | None = None,
    filename: str = "lagesbild",
) -> str:
    """Count and share of events per precision class, best first, with bars.

    In the public profile (``shown`` given) every class is listed, and a suppressed class
    shows neither its count nor its share nor a bar (the share would give the count away);
    the share of well-placed events is left out when their sum is suppressed.
    """
    counts = pd.Series(by_precision, dtype="float64").dropna()
    if shown is None:
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
    csv_rows: list[list[str]] = []
    total_hidden = False
    if shown is not None:
        key = ("prec", "summa") if shown.has("prec", "summa") else ("sdo", "hela")
        total_hidden = shown.get(*key) is None
    for precision, n in counts.items():
        if shown is not None:
            value = shown.get("prec", precision)
        else:
            value = None if profile.min_count is not None and n < profile.min_count else n
        share = 100.0 * n / total
        hide_share = value is None or total_hidden  # count ÷ share is the total
        bar = (
            "" if hide_share else f'<div class="bar"><span style="width:{share:.1f}%"></span></div>'
        )
        rows.append(
            f"<tr><td>{esc(precision_label(precision))}</td>"
            f'<td class="num">{esc(profile.text(value))}</td>'
            f'<td class="num">{esc(MISSING if hide_share else fmt_pct(share, signed=False))}'
            "</td>"
            f"<td>{bar}</td></tr>"
        )
        csv_rows.append(
            [
                precision_label(precision),
                profile.text(value),
                MISSING if hide_share else fmt_pct(share, signed=False),
            ]
        )
    fine_hidden = total_hidden or (
        shown is not None and shown.has("prec", "fina") and shown.get("prec", "fina") is None
    )
    fine_text = "En del " if fine_hidden else esc(fmt_pct(100.0 * fine / total, signed=False)) + " "
    lead = (
        f"<p>{fine_text}av händelserna har en position "
        "som är noggrannare än stadsdel (exakt koordinat, adress, gata eller plats).</p>"
        f"<p>{esc(DENSITY_NOTE)}</p>"
    )
    return (
        lead + '<table><thead><tr><th>Positionens noggrannhet</th><th class="num">Antal</th>'
        '<th class="num">Andel</th><th></th></tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table>"
        + csv_link(
            ["Positionens noggrannhet", "Antal", "Andel"], csv_rows, f"{filename}-datakvalitet.csv"
        )
    )


def shown_places(
    top_places: pd.Series,
    profile: ExportProfile,
    *,
    exclude: tuple[str, ...] = (),
    limit: int = 10,
) -> pd.Series:
    """The places a page lists: never a name in ``exclude`` (the district's own name and
    its stadsdelar: they say nothing new), in public only places named in five events or
    more, at most ``limit``, largest first."""
    places = pd.Series(top_places, dtype="float64").dropna()
    own = {str(n).strip().casefold() for n in exclude}
    places = places[[str(p).strip().casefold() not in own for p in places.index]]
    places = places.sort_values(ascending=False, kind="stable")
    if profile.min_count is not None:
        places = places[places >= profile.min_count]
    return places.head(limit)


def places_table(
    top_places: pd.Series,
    profile: ExportProfile,
    limit: int = 10,
    *,
    exclude: tuple[str, ...] = (),
    filename: str = "lagesbild",
) -> str:
    """The places named most often (:func:`shown_places`) with a CSV link; ``""`` when
    none is left (the caller then says so in a sentence)."""
    places = shown_places(top_places, profile, exclude=exclude, limit=limit)
    if places.empty:
        return ""
    rows = "".join(
        f'<tr><td>{esc(place)}</td><td class="num">{esc(fmt_count(n, profile=profile))}</td></tr>'
        for place, n in places.items()
    )
    csv_rows = [[place, fmt_count(n, profile=profile)] for place, n in places.items()]
    return (
        '<table><thead><tr><th>Plats</th><th class="num">Antal</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
        + csv_link(["Plats", "Antal"], csv_rows, f"{filename}-platser.csv")
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


def _static(image: str | None, alt: str) -> str:
    """A static map image for print (``data:image/png`` only; anything else is dropped)."""
    if image is None or not image.startswith("data:image/png;base64,"):
        return ""
    return f'<img class="print-only tk-static" src="{esc(image)}" alt="{esc(alt)}">'


def map_section(
    district: str,
    map_html: str | None,
    map_link: str | None,
    *,
    image: str | None = None,
) -> str:
    """The district map embedded in the page (a static image of it in print) and a link.

    The embedded map can be enlarged to the whole window from the page itself (a link to
    the section's ``#karta`` anchor: CSS ``:target`` fills the window with the frame, "Stäng"
    goes back), so it works when the report travels alone; ``map_link`` is the separate map
    file beside the report's folder, and the link says that it needs that file.
    """
    if map_html is None and map_link is None:
        return ""
    parts = ['<section id="karta" class="tk-map"><h2>Karta</h2>']
    if map_html is not None:
        parts.append(
            '<p class="screen-only tk-map-tools"><a class="tk-open" href="#karta">'
            "Visa kartan i hela fönstret</a>"
            '<a class="tk-close" href="#">Stäng helfönstret</a></p>'
            + map_frame(f"Karta över {district}", map_html)
            + _static(image, f"Täthet av polisens händelsenotiser i {district}")
        )
    href = safe_href(map_link)
    if href is not None:
        parts.append(
            f'<p class="screen-only"><a href="{esc(href)}">Öppna kartan i ett eget fönster</a> '
            "(kartfilen ligger bredvid rapporterna i den publicerade mappen; den följer inte "
            "med när rapporten skickas ensam)</p>"
        )
    parts.append("</section>")
    return "".join(parts)


#: How many cells of each Gi* bin the hotspot sentence names (bin → words).
_BIN_WORDS = {3: "99 %", 2: "95 %", 1: "90 %"}


def hotspot_sentence(bins: Mapping[int, int] | None, district: str) -> str:
    """What the Gi* analysis found significant in the district, in words.

    ``bins`` counts the district's 250 m cells per confidence bin (3 = hot spot with 99 %
    confidence … −3 = cold spot with 99 %; 0 is not significant).
    """
    if bins is None:
        return "Hotspotanalysen har inte körts för perioden."
    hot = {b: int(n) for b, n in bins.items() if b > 0 and n}
    cold = {b: int(n) for b, n in bins.items() if b < 0 and n}
    if not hot and not cold:
        return (
            f"Ingen ruta i {district} är en statistiskt säkerställd hot spot eller cold spot: "
            "händelserna ligger inte tätare på någon plats än slumpen kan förklara "
            "(Getis-Ord Gi*, rutor på 250 m, korrigerat för många test)."
        )

    def say(found: dict[int, int], word: str) -> str:
        total = sum(found.values())
        detail = ", ".join(
            f"{n} med {_BIN_WORDS[abs(b)]} säkerhet"
            for b, n in sorted(found.items(), key=lambda kv: -abs(kv[0]))
        )
        cells = "ruta" if total == 1 else "rutor"
        return f"{total} {cells} är {word} ({detail})"

    parts = []
    if hot:
        parts.append(say(hot, "hot spots, där händelserna ligger tätare än slumpen förklarar"))
    if cold:
        parts.append(say(cold, "cold spots, där de ligger glesare"))
    return (
        f"I {district} " + "; ".join(parts) + " (Getis-Ord Gi*, rutor på 250 m, korrigerat för "
        "många test). Täthetskartan ovan visar hur många händelser som finns; hot spots visar "
        "var de är fler än slumpen förklarar."
    )


def hotspot_section(
    map_html: str | None,
    caption: str | None,
    *,
    bins: Mapping[int, int] | None = None,
    district: str = "området",
    image: str | None = None,
) -> str:
    """The hotspot section: a sentence on what is significant; the hotspot map (and its
    static image for print) only when a cell is, so no hot colour appears otherwise.

    Without ``bins`` (not known) the map is shown when given, as before.
    """
    if map_html is None and bins is None:
        return ""
    significant = bins is None or any(n for b, n in bins.items() if b != 0)
    sentence = hotspot_sentence(bins, district) if bins is not None else ""
    text = f'<p class="lead">{esc(sentence)}</p>' if sentence else ""
    body = ""
    if significant and map_html is not None:
        body = map_frame("Karta över hotspots", map_html) + _static(
            image, f"Hot spots och cold spots i {district}"
        )
        if caption:
            body += f'<p class="caption">{esc(caption)}</p>'
    return "<section><h2>Hotspots</h2>" + text + body + "</section>"


#: Columns of the Brå table: what each means on the page.
BRA_COLUMNS = {
    "category": "Brottskategori",
    "year": "År",
    "district": "Området",
    "city": "Hela staden",
}


_LAW_REFERENCE = re.compile(r"\s*\((?:[^()]*§[^()]*|fr\s*o\s*m[^()]*)\)")
_CHAPTER = re.compile(r"^\d+(?:-\d+)?\s*kap\.\s*")
_THEREOF = re.compile(r"^(?:därav|varav)\s+", re.IGNORECASE)


def plain_label(label: object) -> str:
    """Brå's category name in plain Swedish: no paragraph references, no chapter numbers.

    >>> plain_label("Stöld genom inbrott, inbrottsstöld i bostad, ej av skjutvapen (1, 2, 4, 4 a§)")
    'Stöld genom inbrott, inbrottsstöld i bostad, ej av skjutvapen'
    >>> plain_label("3 kap. Brott mot liv och hälsa"), plain_label("därav rån, inkl. grovt")
    ('Brott mot liv och hälsa', 'Rån, inkl. grovt')
    """
    text = _LAW_REFERENCE.sub("", str(label)).strip()
    text = _THEREOF.sub("", _CHAPTER.sub("", text)).strip()
    return text[:1].upper() + text[1:] if text else str(label)


def fmt_rate(value: Any, unit: str | None) -> str:
    """A rate as Brå prints it: per 100 000 inhabitants whole (``16 482``), per 1 000 with
    one decimal (``167,5``)."""
    if is_missing(value):
        return MISSING
    return fmt_int(value) if unit and "100 000" in unit else fmt_float(value, 1)


def bra_section(
    district: str, bra: pd.DataFrame | None, source: str | None, filename: str = "lagesbild"
) -> str:
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
    filename
        The stem of the CSV file offered for download.
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
        rows, csv_rows = [], []
        for _, row in bra.iterrows():
            d, c = row["district"], row["city"]
            ratio = (
                fmt_float(float(d) / float(c), 2)
                if not is_missing(d) and not is_missing(c) and float(c)
                else MISSING
            )
            unit = row.get("unit") if "unit" in bra.columns else None
            label = plain_label(row["category"])
            cells = [label, str(row["year"]), fmt_rate(d, unit), fmt_rate(c, unit), ratio]
            rows.append(
                f"<tr><td>{esc(cells[0])}</td><td>{esc(cells[1])}</td>"
                + "".join(f'<td class="num">{esc(v)}</td>' for v in cells[2:])
                + f"<td>{esc(unit or '')}</td></tr>"
            )
            csv_rows.append([*cells, unit or ""])
        header = ["Brottskategori", "År", district, "Hela staden", "Kvot", "Enhet"]
        body = (
            f'<table><thead><tr><th>Brottskategori</th><th>År</th><th class="num">'
            f'{esc(district)}</th><th class="num">Hela staden</th><th class="num">Kvot</th>'
            "<th>Enhet</th></tr></thead><tbody>"
            + "".join(rows)
            + "</tbody></table>"
            + csv_link(header, csv_rows, f"{filename}-bra.csv")
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
