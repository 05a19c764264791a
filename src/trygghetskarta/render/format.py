"""Escaping, Swedish number and date formatting, and shared styling for maps and reports.

Private helpers of :mod:`trygghetskarta.render` and :mod:`trygghetskarta.render.report`.

**Text is data.** Every string that comes from a source reaches a page through one of two
doors: :func:`esc` (HTML text and attributes) or :func:`js_json` (data for a script).
Besides what HTML and ``<script>`` need, both write ``{`` and ``}`` as escapes (``&#123;``,
``\u007b``): branca compiles what a folium element renders once more as a Jinja template,
so text holding ``{{ … }}`` or ``{% … %}`` would otherwise run on the machine building the
page. The browser shows the escapes as the braces they stand for.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from trygghetskarta import periods
from trygghetskarta.schema import CATEGORY_LABELS_SV, PRECISION_LABELS_SV, TIMEZONE, Category

if TYPE_CHECKING:
    from trygghetskarta._privacy import ExportProfile

#: Counts below this are neither shown nor derivable in the public profile.
SUPPRESS_BELOW = 5
#: How every suppressed count reads, whether it is small itself (primary suppression) or
#: hides a small one (secondary), so that a reader cannot tell the two apart.
SUPPRESSED_LABEL = "dolt"
#: The footnote that explains :data:`SUPPRESSED_LABEL` wherever it can appear.
SUPPRESSED_NOTE = (
    f"”{SUPPRESSED_LABEL}” står för färre än {SUPPRESS_BELOW} händelser, eller för ett antal som "
    "döljs för att ett litet antal annars skulle gå att räkna fram ur summorna."
)

#: Shown where a figure cannot be computed (no comparison year, no population).
MISSING = "–"

_MINUS = "\u2212"
_NBSP = "\u00a0"

#: Okabe and Ito's eight colours (Color Universal Design, 2008), which stay apart under the
#: common colour-vision deficiencies, with a light and a dark grey that do too
#: (``tests/test_category_colors.py`` simulates them with Machado et al. 2009).
OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#e69f00",
    "sky blue": "#56b4e9",
    "bluish green": "#009e73",
    "yellow": "#f0e442",
    "blue": "#0072b2",
    "vermillion": "#d55e00",
    "reddish purple": "#cc79a7",
}
_LIGHT_GREY = "#bbbbbb"
_DARK_GREY = "#555555"

#: One colour per category, shared by map markers and report charts: eleven categories on
#: ten colours that a reader with deuteranopia, protanopia or tritanopia still tells apart.
#: "Övrigt" and "Sammanfattning" share the light grey: a summary has no single place, so
#: it is never drawn as a point, and both are residual classes the legend names together.
CATEGORY_COLORS: dict[str, str] = {
    Category.VIOLENCE: OKABE_ITO["vermillion"],
    Category.ROBBERY: OKABE_ITO["reddish purple"],
    Category.THEFT_BURGLARY: OKABE_ITO["blue"],
    Category.VANDALISM: OKABE_ITO["yellow"],
    Category.DRUGS: OKABE_ITO["bluish green"],
    Category.FIRE: OKABE_ITO["orange"],
    Category.SHOOTING_EXPLOSION: OKABE_ITO["black"],
    Category.TRAFFIC: OKABE_ITO["sky blue"],
    Category.DISORDER: _DARK_GREY,
    Category.OTHER: _LIGHT_GREY,
    Category.SUMMARY: _LIGHT_GREY,
}
#: An unknown category is drawn as "Övrigt".
FALLBACK_COLOR = _LIGHT_GREY

_MONTHS_SV = ("jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec")


#: Characters :func:`esc` writes as character references besides ``& < > " '``.
_HTML_EXTRA = str.maketrans(
    {"`": "&#96;", "$": "&#36;", "\\": "&#92;", "{": "&#123;", "}": "&#125;"}
)
#: A JSON string literal (as :func:`json.dumps` writes it).
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_JS_EXTRA = str.maketrans(
    {"<": "\\u003c", "{": "\\u007b", "}": "\\u007d", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def esc(value: Any) -> str:
    """Escape any value as HTML text or attribute value; no template engine can read it as code.

    Besides ``& < > " '`` this escapes the backtick, ``$`` and the backslash (folium puts
    popup and tooltip HTML inside JavaScript template literals, where those three would
    end the literal or interpolate) and the braces ``{`` ``}`` (branca compiles a folium
    element's output as a Jinja template; see the module's docstring). ``None`` and NaN
    become an empty string.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return ""
    return html.escape(str(value), quote=True).translate(_HTML_EXTRA)


def js_json(value: Any) -> str:
    """JSON for a ``<script>``: no text in it can end the element or reach a template engine.

    Inside string literals ``<`` becomes ``\\u003c`` (no ``</script>``), ``{`` and ``}``
    become ``\\u007b`` and ``\\u007d`` (no ``{{ … }}`` for Jinja), and U+2028/U+2029
    are escaped (line ends in old JavaScript). The value a script reads is unchanged.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return _JSON_STRING.sub(lambda m: m.group(0).translate(_JS_EXTRA), text)


def safe_url(url: Any) -> str | None:
    """Return ``url`` if it is an absolute http(s) link, else ``None`` (e.g. ``javascript:``)."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


def is_missing(value: Any) -> bool:
    """True for ``None``, NaN and NaT."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def fmt_int(value: Any) -> str:
    """Format an integer the Swedish way: ``12 345`` (non-breaking space)."""
    if is_missing(value):
        return MISSING
    return f"{round(float(value)):,}".replace(",", _NBSP).replace("-", _MINUS)


def fmt_float(value: Any, decimals: int = 1) -> str:
    """Format a decimal number the Swedish way: ``1 234,5``."""
    if is_missing(value) or not math.isfinite(float(value)):
        return MISSING
    text = f"{float(value):,.{decimals}f}"
    return text.replace(",", _NBSP).replace(".", ",").replace("-", _MINUS)


def fmt_number(value: Any) -> str:
    """An integer without decimals, otherwise one decimal (for class edges and ticks)."""
    if is_missing(value):
        return MISSING
    v = float(value)
    if abs(v - round(v)) < 1e-9:
        return fmt_int(v)
    return fmt_float(v, 1 if abs(v) >= 1 else 2)


def fmt_pct(value: Any, *, signed: bool = True) -> str:
    """Format a percentage: ``+12 %``, ``−5 %``, ``0 %``; missing values give ``–``."""
    if is_missing(value) or not math.isfinite(float(value)):
        return MISSING
    v = round(float(value))
    sign = "+" if signed and v > 0 else ""
    return f"{sign}{fmt_int(v)}{_NBSP}%"


def fmt_count(value: Any, *, profile: ExportProfile) -> str:
    """A count shown on its own (in no total); below the profile's minimum count (five in
    the public profile) it reads :data:`SUPPRESSED_LABEL`. Counts in tables go through
    ``ExportProfile.suppress``."""
    if is_missing(value):
        return MISSING
    if profile.min_count is not None and float(value) < profile.min_count:
        return SUPPRESSED_LABEL
    return fmt_int(value)


def _local(value: Any) -> pd.Timestamp | None:
    if is_missing(value):
        return None
    ts = pd.Timestamp(value)
    if ts.tzinfo is not None:
        ts = ts.tz_convert(TIMEZONE)
    return ts


def fmt_date(value: Any) -> str:
    """``2024-03-05``; timezone-aware values are shown in Stockholm time."""
    ts = _local(value)
    return MISSING if ts is None else ts.strftime("%Y-%m-%d")


def fmt_datetime(value: Any) -> str:
    """``2024-03-05 14:20``; timezone-aware values are shown in Stockholm time."""
    ts = _local(value)
    return MISSING if ts is None else ts.strftime("%Y-%m-%d %H:%M")


def fmt_month(value: Any, *, with_year: bool = True) -> str:
    """``mar 2024`` (Swedish month abbreviation)."""
    ts = _local(value)
    if ts is None:
        return MISSING
    name = _MONTHS_SV[ts.month - 1]
    return f"{name} {ts.year}" if with_year else name


#: A period: ``(start, end)`` with both days included, a :class:`trygghetskarta.periods.Period`
#: (whole months, end exclusive) or a ready text.
Period = (
    tuple[date | datetime | pd.Timestamp | str, date | datetime | pd.Timestamp | str]
    | periods.Period
    | str
)


def fmt_month_in(month: Any, period: Period) -> str:
    """A month's label in a period: ``1–22 aug 2026`` when the data's end cuts it,
    ``mar 2023 (ofullständiga data)`` before complete data (see
    :func:`trygghetskarta.periods.month_label`); ``mar 2024`` otherwise."""
    if not isinstance(period, periods.Period):
        return fmt_month(month)
    ts = _local(month)
    if ts is None:
        return MISSING
    return periods.month_label(
        ts.to_pydatetime().date(), data_end=period.data_end, data_start=period.data_start
    )


def fmt_period(period: Period) -> str:
    """``2024-01-01 – 2024-12-31`` from a ``(start, end)`` pair, ``jan 2025 – dec 2025`` from
    a :class:`~trygghetskarta.periods.Period`; a string is kept as given."""
    if isinstance(period, str):
        return period
    if isinstance(period, periods.Period):
        return period.label
    start, end = period
    return f"{fmt_date(start)} – {fmt_date(end)}"


def period_bounds(period: Period) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The period as naive Stockholm timestamps ``(start, end)``, both included, or ``None``
    for a free-text period."""
    if isinstance(period, str):
        return None
    if isinstance(period, periods.Period):
        start = period.start.tz_convert(TIMEZONE).tz_localize(None)
        end = period.end.tz_convert(TIMEZONE).tz_localize(None) - pd.Timedelta(seconds=1)
        return start, end
    start, end = (pd.Timestamp(p) for p in period)
    start = start.tz_convert(TIMEZONE).tz_localize(None) if start.tzinfo else start
    end = end.tz_convert(TIMEZONE).tz_localize(None) if end.tzinfo else end
    return start, end


def fmt_sources(sources: Sequence[str] | str) -> str:
    """``Källa: Polisen, Stockholms stad`` (escaped)."""
    items = [sources] if isinstance(sources, str) else list(sources)
    label = "Källa" if len(items) == 1 else "Källor"
    return f"{label}: " + ", ".join(esc(s) for s in items) if items else f"{label}: {MISSING}"


def category_label(category: Any) -> str:
    """The Swedish label of a category value; unknown values are shown as given."""
    try:
        return CATEGORY_LABELS_SV[Category(category)]
    except ValueError:
        return str(category)


def category_color(category: Any) -> str:
    """The display colour of a category."""
    return CATEGORY_COLORS.get(str(category), FALLBACK_COLOR)


def precision_label(precision: Any) -> str:
    """The Swedish label of a precision class; unknown values are shown as given."""
    for key, label in PRECISION_LABELS_SV.items():
        if key == precision:
            return label
    return MISSING if is_missing(precision) else str(precision)


def event_popup_html(row: pd.Series) -> str:
    """The popup of one event: category, type, time, summary, position, source link."""
    parts = [
        f'<div class="tk-popup"><b>{esc(category_label(row.get("category")))}</b>',
        f' <span class="tk-meta">· {esc(row.get("source_type"))}</span>'
        if not pd.isna(row.get("source_type"))
        else "",
        f'<div class="tk-meta">{esc(fmt_datetime(row.get("occurred_at")))}</div>',
    ]
    if not pd.isna(row.get("summary")) and row.get("summary"):
        parts.append(f"<p>{esc(row.get('summary'))}</p>")
    place = row.get("place_name")
    where = f"{esc(place)} – " if not pd.isna(place) and place else ""
    parts.append(f"<div>Position: {where}{esc(precision_label(row.get('precision')))}</div>")
    url = safe_url(row.get("url"))
    if url is not None:
        parts.append(f'<a href="{esc(url)}" target="_blank" rel="noopener noreferrer">Källa</a>')
    parts.append("</div>")
    return "".join(parts)


def fmt_cell(value: object) -> str:
    """A table or tooltip cell: numbers the Swedish way, anything else as text."""
    if isinstance(value, int | float | np.integer | np.floating):
        return fmt_number(value)
    return "" if value is None else str(value)
