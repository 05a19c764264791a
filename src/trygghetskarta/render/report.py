"""The lägesbild: one self-contained HTML page per stadsdelsområde.

:func:`lagesbild_html` returns the page of one district of a :class:`ReportScene` (what
every lägesbild of a run shows, and the export profile) as a string (the pipeline writes
it). The page is
in Swedish and needs no network and no JavaScript of its own: key figures with the change
against last year and against the city, the monthly course of all events and of each
category (inline SVG), counts per category, the district map, the hour × weekday heatmap,
the places named most often, Brå's statistics beside the city's and the hotspot map (when
given), the data quality (share of events per precision class), and sources and period.
Inline CSS includes a print layout.

Maps (``map_html``, ``hotspot_map_html``: full HTML of folium maps) are embedded in
``<iframe srcdoc="…">`` with their scripts inlined (see ``assets``), so that the report
stays one file that opens from a file share; their scripts run sandboxed inside the frame.
``map_link`` adds a link to the separate map file. Maps do not print; the page says so.

Profiles (``profile``): in ``public`` reports every count below five reads "färre än 5",
small categories are merged so that none can be worked out from the total, changes
against last year are not given when either year has fewer than five events, and places
named in sensitive events are left out. All text from sources is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from trygghetskarta.coverage import Coverage
from trygghetskarta.errors import ConfigError, SchemaError
from trygghetskarta.freshness import Freshness
from trygghetskarta.periods import Period as MonthsPeriod
from trygghetskarta.periods import block_label
from trygghetskarta.render.conclusions import POLICE_NOTICE_NOTE, Measure, summary_section
from trygghetskarta.render.coverage import (
    PARTIAL_NOTE,
    REPORT_CSS,
    month_notes,
    report_note,
    shown_gaps,
)
from trygghetskarta.render.csv_links import file_stem
from trygghetskarta.render.disclosure import DisclosureError, ledger_html
from trygghetskarta.render.format import (
    Period,
    category_color,
    category_label,
    esc,
    fmt_datetime,
    fmt_month_in,
    fmt_period,
    fmt_sources,
    is_missing,
    period_bounds,
)
from trygghetskarta.render.outlook import Outlook, outlook_sections
from trygghetskarta.render.profile import ExportProfile, drop_sensitive
from trygghetskarta.render.published import ReportCounts, SameDays, month_key, report_counts
from trygghetskarta.render.report_css import LAGESBILD_CSS
from trygghetskarta.render.report_heatmap import (
    WEEKDAY_ROWS,
    HeatmapLayout,
    grouped_counts,
    heatmap_layout,
    heatmap_layouts,
    heatmap_section,
    hour_weekday_table,
)
from trygghetskarta.render.report_parts import (
    FINE,
    _get,
    bra_section,
    category_table,
    hotspot_section,
    key_figures,
    map_section,
    places_table,
    precision_table,
)
from trygghetskarta.render.svg import line_chart_svg, small_multiples_html
from trygghetskarta.render.timeline import months_between
from trygghetskarta.schema import TIMEZONE, Category, Precision

__all__ = [
    "heatmap_layout",
    "hour_weekday_table",
    "lagesbild_html",
    "monthly_table",
    "named_places",
]

_MONTHLY_COLUMNS = ("month", "category", "count")
#: Hours per column of the public hour × weekday table.
ALL_EVENTS = "alla"
#: How Brå's figures' ``source`` values read in the source line.
_BRA_SOURCES = {
    "bra_statistikdatabas": "Brå, anmälda brott (statistikdatabasen)",
    "stockholm_arsbok": "Stockholms stads statistiska årsbok (Brås uppgifter)",
}


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


def named_places(events: pd.DataFrame, *, profile: ExportProfile, limit: int = 10) -> pd.Series:
    """The place names given most often for events placed better than their stadsdel.

    Only events of precision exact, address, street or place count (a stadsdel's own name
    tells a planner nothing new); in the public profile sensitive events are left out
    (they count only at district level).

    Returns
    -------
    pandas.Series
        Count per place name, largest first.
    """
    if "place_name" not in events.columns:
        return pd.Series(dtype="int64")
    rows = drop_sensitive(events, profile)
    if "precision" in rows.columns:
        rows = rows[rows["precision"].isin([p.value for p in FINE])]
    return rows["place_name"].dropna().value_counts().head(limit)


def _events_in(events: pd.DataFrame, period: Period) -> pd.DataFrame:
    if "occurred_at" not in events.columns:
        raise SchemaError(
            f"events need an occurred_at column, got {list(events.columns)} — pass rows of "
            "the events table"
        )
    bounds = period_bounds(period)
    if bounds is None:
        return events
    times = pd.to_datetime(events["occurred_at"])
    if times.dt.tz is not None:
        times = times.dt.tz_convert(TIMEZONE).dt.tz_localize(None)
    return events[((times >= bounds[0]) & (times <= bounds[1])).to_numpy()]


def _block_texts(
    blocks: pd.Index, months: pd.Index, anchor: pd.Timestamp | None, period: Period, step: int
) -> list[str]:
    """The label of each chart block (first month present in it, as ``published`` builds
    them): the whole block's months, and which of them it counts when not all (the table's
    first months, the data's end)."""
    if not len(months):
        return []
    anchor = pd.Timestamp(anchor if anchor is not None else months[0])

    def number(m: pd.Timestamp) -> int:
        return ((m.year - anchor.year) * 12 + m.month - anchor.month) // step

    of_block: dict[int, list[pd.Timestamp]] = {}
    for m in map(pd.Timestamp, months):
        of_block.setdefault(number(m), []).append(m)
    data_end = period.data_end if isinstance(period, MonthsPeriod) else None
    data_start = period.data_start if isinstance(period, MonthsPeriod) else None
    out = []
    for first in map(pd.Timestamp, blocks):
        b = number(first)
        start = anchor + pd.DateOffset(months=b * step)
        out.append(block_label(start, step, of_block[b], data_end=data_end, data_start=data_start))
    return out


def _charts(
    table: pd.DataFrame,
    district: str,
    period: Period,
    profile: ExportProfile,
    counts: ReportCounts | None,
    blocks: pd.DataFrame | None,
    coverage: Coverage | None = None,
) -> str:
    if table.empty or float(table.to_numpy().sum()) == 0:
        return '<p class="empty">Inga händelser att visa.</p>'
    suppress = profile.min_count
    partial = month_notes(coverage, list(table.index))
    bounds = period_bounds(period)
    start = bounds[0].to_period("M").to_timestamp() if bounds is not None else None
    total = table.sum(axis=1).to_frame(ALL_EVENTS)
    first = (
        "Tiden före perioden har grå bakgrund i de små diagrammen. "
        if start is not None and table.index.min() < start
        else ""
    )
    band = (
        "Dolda värden ritas i det grå fältet längst ned. Kategorierna visas per kvartal. "
        if suppress
        else ""
    )
    gap_text = (
        "Streckade månader saknar data för några dagar (se rutan överst). " if any(partial) else ""
    )
    small = table
    small_partial = partial
    hidden_total = hidden_small = None
    totals = None
    if counts is not None and blocks is not None:
        # Public: quarters, so that fewer values fall below five and the course shows.
        small = blocks
        small_partial = _block_notes(partial, list(table.index), list(blocks.index))
        hidden_total = np.array([[counts.get("sdo", month_key(m)) is None] for m in table.index])
        hidden_small = pd.DataFrame(
            {k: [counts.get("cat", k, month_key(b)) is None for b in blocks.index] for k in blocks},
            index=blocks.index,
        )
        totals = {k: counts.get("cat", k, "diagram") for k in blocks.columns}
    drawn, grouped = _drawn_categories(small, hidden_small, suppress)
    if not profile.public and grouped:
        # internal: the small categories as one more chart, "Övriga kategorier"
        small = small[drawn].assign(**{OTHERS: small[grouped].sum(axis=1)})
        drawn = [*drawn, OTHERS]
    else:
        small = small[drawn]
        if hidden_small is not None:
            hidden_small = hidden_small[drawn]
        if totals is not None:
            totals = {k: totals[k] for k in drawn}
    others_text = ""
    if grouped:
        names = ", ".join(category_label(c) for c in grouped)
        others_text = (
            f"Kategorier med få eller inga händelser har inget eget diagram ({names}); de "
            "ingår i kurvan för alla händelser"
            + (" och i diagrammet Övriga kategorier. " if OTHERS in small.columns else ". ")
        )
    month_texts = [fmt_month_in(m, period) for m in table.index]
    step = 3 if suppress else 1
    small_texts = (
        _block_texts(small.index, table.index, start, period, step) if step > 1 else month_texts
    )
    return (
        line_chart_svg(
            total,
            labels={ALL_EVENTS: "Alla händelser"},
            colors={ALL_EVENTS: "#004b87"},
            title=f"Händelser per månad, {district}",
            plot_height=170,
            suppress_below=suppress,
            suppressed=hidden_total,
            point_labels=month_texts,
            partial=partial,
        )
        + f'<p class="caption">{esc(first + band + gap_text + others_text)}Varje kategori har '
        "sin egen skala; talet uppe till höger är summan för alla månader som visas.</p>"
        + small_multiples_html(
            small,
            labels={**{c: category_label(c) for c in table.columns}, OTHERS: "Övriga kategorier"},
            colors={**{c: category_color(c) for c in table.columns}, OTHERS: "#777777"},
            title=f"Händelser per månad och kategori, {district}",
            suppress_below=suppress,
            highlight_from=start,
            months_per_step=step,
            suppressed=hidden_small,
            totals=totals,
            point_labels=small_texts,
            partial=small_partial,
        )
    )


#: The key of the internal report's chart of the small categories together.
OTHERS = "ovriga_kategorier"
#: Events a category needs over the months charted for its own chart (internal profile).
MIN_CHART_TOTAL = 10


def _drawn_categories(
    blocks: pd.DataFrame, hidden: pd.DataFrame | None, least: int | None
) -> tuple[list[str], list[str]]:
    """Which categories get their own chart; the rest are grouped.

    With a minimum count (public): those with at least one block shown and of at least
    the minimum (a category whose every block sits in the "dolt" band says nothing as a
    line). Without (internal): those with at least :data:`MIN_CHART_TOTAL` events in all."""
    drawn, grouped = [], []
    for key in blocks.columns:
        values = blocks[key].to_numpy(dtype=float)
        if least is None:
            ok = float(values.sum()) >= MIN_CHART_TOTAL
        else:
            shown = values >= least
            if hidden is not None:
                shown &= ~hidden[key].to_numpy(dtype=bool)
            ok = bool(shown.any())
        (drawn if ok else grouped).append(key)
    return drawn, grouped


def _block_notes(
    notes: list[str | None], months: list[pd.Timestamp], blocks: list[pd.Timestamp]
) -> list[str | None]:
    """The notes of the months in each block (a quarter starting at each of ``blocks``)."""
    by_month = {pd.Timestamp(m).to_period("M"): n for m, n in zip(months, notes, strict=True)}
    out: list[str | None] = []
    for start in blocks:
        first = pd.Timestamp(start).to_period("M")
        found = [by_month.get(first + k) for k in range(3)]
        found = [n for n in found if n]
        out.append("; ".join(found) if found else None)
    return out


def _protect(
    profile: ExportProfile,
    district: str,
    table: pd.DataFrame,
    period: Period,
    in_period: pd.DataFrame | None,
    by_precision: pd.Series | None,
    last_year: Any,
    events: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, ReportCounts | None, pd.DataFrame | None, pd.Series | None, HeatmapLayout]:
    """Public: every count of the page through one suppression (see ``published``).

    Returns the month × category table (with every month of the period and, in public,
    every category), the shown counts, the category blocks the charts draw, the
    precision counts listed (every class, in public) and the heatmap's cells
    (:func:`heatmap_layout`)."""
    bounds = period_bounds(period)
    layout: HeatmapLayout = (WEEKDAY_ROWS, profile.hour_step)
    if not profile.public or bounds is None:
        return table, None, None, by_precision, layout
    months = months_between(bounds[0], bounds[1])
    index = pd.DatetimeIndex(sorted(set(table.index) | set(months)))
    cats = list(table.columns) + [c.value for c in Category if c.value not in table.columns]
    table = table.reindex(index=index, columns=cats, fill_value=0)
    layouts: list[HeatmapLayout | None] = [None]
    raw = None
    if in_period is not None:
        raw = hour_weekday_table(in_period["occurred_at"]).to_numpy()
        layouts = list(
            heatmap_layouts(raw, min_count=profile.min_count, hour_step=profile.hour_step)
        )
    if by_precision is not None:
        known = [p.value for p in Precision]
        by_precision = pd.Series(by_precision, dtype="float64").dropna()
        by_precision.index = by_precision.index.map(str)
        extra = sorted(k for k in by_precision.index if k not in known)
        by_precision = by_precision.reindex(known + extra, fill_value=0)
    for i, candidate in enumerate(layouts):
        hw = None
        if candidate is not None and raw is not None:
            hw = grouped_counts(raw.astype(float), *candidate).round().astype(np.int64)
        try:
            counts, blocks = report_counts(
                profile,
                district,
                table=table,
                period_months=months,
                last_year=None if is_missing(last_year) else float(last_year),
                hour_weekday=hw,
                by_precision=by_precision,
                step=3,
                same_days=_same_days(period, events),
            )
        except DisclosureError:
            # these cells' totals would give a hidden one away beside what the other
            # tables show: the next layout (the last one's error stands)
            if i == len(layouts) - 1:
                raise
            continue
        if candidate is not None:
            layout = candidate
        return table, counts, blocks, by_precision, layout
    raise AssertionError("unreachable: the loop returns or raises")


def _same_days(period: Period, events: pd.DataFrame | None) -> SameDays | None:
    """The year before's days as the key figure counts them, when they cut a month (the
    data end inside the period): its whole months and the cut month's counts inside and
    after the days compared (what a reader can form from the key figure and the months
    of the chart, so that suppression covers it)."""
    if not isinstance(period, MonthsPeriod) or not period.partial or events is None:
        return None
    prev = period.comparison().previous
    cut = pd.Timestamp(prev.last).to_period("M")
    if prev.last == cut.end_time.date():
        return None  # the year before ends with a whole month
    times = pd.to_datetime(events["occurred_at"])
    if times.dt.tz is None:
        times = times.dt.tz_localize(TIMEZONE)
    month_start = cut.start_time.tz_localize(TIMEZONE)
    month_end = (cut + 1).start_time.tz_localize(TIMEZONE)
    head = int(((times >= month_start) & (times < prev.end)).sum())
    tail = int(((times >= prev.end) & (times < month_end)).sum())
    first = pd.Timestamp(prev.first).to_period("M")
    whole = [m.start_time for m in pd.period_range(first, cut - 1, freq="M")] if first < cut else []
    return SameDays(whole, cut.start_time, head, tail, prev.last.day)


@dataclass(frozen=True)
class ReportScene:
    """What the lägesbilder of one run show, and the rules they show it by (built once).

    Attributes
    ----------
    period
        ``(start, end)`` dates of the period reported (both included), a
        :class:`~trygghetskarta.periods.Period`, or a ready text (then the category table
        and the heatmap count every month given).
    made_at
        When the reports were made.
    sources
        Source names, e.g. ``["Polisen", "Stockholms stad"]``.
    profile
        The export profile (see :class:`~trygghetskarta._privacy.ExportProfile`): public
        reports publish every count through its suppression; internal ones show all.
    monthly
        Monthly counts with ``month``, ``category``, ``count`` and ``stadsdelsomrade``
        (a frame without ``stadsdelsomrade`` is one district's). The charts show every
        month given (e.g. two years for context); the category table counts the months
        inside ``period``.
    summaries
        Each district's figures by name: ``count``, ``count_last_year``, ``change_pct``
        (percent), ``rate_per_1000`` and ``population``; missing ones are shown as "–".
        Optionally the comparison behind the change: ``compared_with``,
        ``comparison_notes`` and ``comparable`` (see ``report_parts.key_figures``).
    city_summary
        The whole city's figures (``rate_per_1000`` is used for comparison), or ``None``.
    events
        The events (``occurred_at`` and ``stadsdelsomrade``; ``precision``,
        ``place_name`` and ``sensitive`` where known); a district's rows inside
        ``period`` give its hour × weekday heatmap, data quality and places.
    bra
        Brå's statistics for each district beside the city's, by district name (see
        :func:`trygghetskarta._report_parts.bra_section` for the columns; a ``source``
        column names where they come from); a district without a table has no section.
    hotspot_caption
        The caption under the hotspot map.
    coverage
        The days the police feed covers (``store.read_coverage``): the page states the
        covered period and every gap inside ``period`` ("Data saknas 3–9 mars 2026") under
        its heading and under "Källor och period", and hatches the months a gap touches in
        its charts. ``None``: nothing is said.
    freshness
        Each source's newest event at the run's clock: "Senaste data: …" under the
        heading, amber with what it means when a source is older than its threshold.
    version
        The version of the tool, stated where the page says when it was made.
    measures
        Each district's measures in the order the summary says them (reported crimes
        first: the crime lists' layer, Brå; then police notices, shootings, fires), with
        raw counts: the page shows them through the profile (the police notices' count as
        its key figure, other counts on their own, never below the minimum).
    categories
        Each district's police notices per category (raw), by category value: a sentence
        for each category the category table shows, the rest grouped.
    near_repeat
        Sentences on the near-repeat (Knox) results, city-wide, with their sample note.

    Raises
    ------
    trygghetskarta.errors.ConfigError
        ``profile`` is not an :class:`~trygghetskarta._privacy.ExportProfile` (e.g. a
        name: build the profile once with ``ExportProfile.from_settings``).
    """

    period: Period
    made_at: datetime
    sources: Sequence[str] | str
    profile: ExportProfile
    monthly: pd.DataFrame
    summaries: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    city_summary: Mapping[str, Any] | None = None
    events: pd.DataFrame | None = None
    bra: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    hotspot_caption: str | None = None
    coverage: Coverage | None = None
    freshness: Freshness | None = None
    version: str | None = None
    #: The forecast and the follow-up of measures (sections "Områden där problemen kan
    #: växa" and "Åtgärder och uppföljning", render/outlook.py); None leaves them out.
    outlook: Outlook | None = None
    measures: Mapping[str, Sequence[Measure]] = field(default_factory=dict)
    categories: Mapping[str, Mapping[str, Measure]] = field(default_factory=dict)
    near_repeat: Sequence[str] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.profile, ExportProfile):
            raise ConfigError(
                f"ReportScene.profile must be an ExportProfile, got {self.profile!r} — build "
                "it once with ExportProfile.from_settings(settings) or export_profile(name)"
            )

    def district_events(self, district: str) -> pd.DataFrame | None:
        """The rows of :attr:`events` of one district (``None`` without events)."""
        if self.events is None:
            return None
        if "stadsdelsomrade" not in self.events.columns:
            raise SchemaError(
                "ReportScene.events need a stadsdelsomrade column, got "
                f"{list(self.events.columns)} — pass rows of the events table"
            )
        return self.events[self.events["stadsdelsomrade"] == district]


def _first_day(table: pd.DataFrame) -> date | None:
    """The first day of the first month a chart shows."""
    return None if table.empty else pd.Timestamp(table.index.min()).date()


def _coverage_sources(coverage: Coverage | None, period: Period) -> str:
    """The coverage under "Källor och period": the covered days and each gap in the period."""
    if coverage is None:
        return ""
    gaps = shown_gaps(coverage, period)
    text = f"Polisens händelser: {coverage.label.lower()}."
    if not gaps:
        return f"<p>{esc(text)} Inga luckor under perioden.</p>"
    items = "".join(
        f"<li>{esc(g.label)} ({g.days} {'dag' if g.days == 1 else 'dagar'})</li>" for g in gaps
    )
    return f"<p>{esc(text)} Luckor under perioden:</p><ul>{items}</ul><p>{esc(PARTIAL_NOTE)}</p>"


def freshness_note(freshness: Freshness | None) -> str:
    """``<p class="tk-fresh">Senaste data: …</p>`` for a page's header (``""`` without one);
    amber with what it means when a source is older than its threshold.

    >>> import pandas as pd
    >>> from trygghetskarta.freshness import FreshnessPolicy, assess
    >>> now = pd.Timestamp("2026-01-02 06:00", tz="Europe/Stockholm")
    >>> fresh = assess({"polisen": (None, pd.Timestamp("2026-01-01 22:10", tz="UTC"))},
    ...                now=now, policy=FreshnessPolicy())
    >>> freshness_note(fresh)
    '<p class="tk-fresh" role="status">Senaste data: 1 januari 2026 (1 dag gammal)</p>'
    """
    headline = None if freshness is None else freshness.headline()
    if freshness is None or headline is None:
        return ""
    note = freshness.note()
    css = "tk-fresh tk-stale" if note else "tk-fresh"
    more = f' <span class="tk-note">{esc(note)}</span>' if note else ""
    return f'<p class="{css}" role="status">{esc(headline)}{more}</p>'


def bra_source(table: pd.DataFrame | None) -> str:
    """The source line of Brå's figures: the names of the table's ``source`` values."""
    found = [] if table is None or "source" not in table else list(table["source"].dropna())
    names = dict.fromkeys(_BRA_SOURCES.get(s, s) for s in found)
    return "; ".join(names) or "Brå, anmälda brott"


def lagesbild_html(
    scene: ReportScene,
    district: str,
    *,
    map_html: str | None = None,
    map_link: str | None = None,
    hotspot_map_html: str | None = None,
    title: str | None = None,
    by_precision: pd.Series | None = None,
    top_places: pd.Series | None = None,
    map_image: str | None = None,
    hotspot_image: str | None = None,
    hotspot_bins: Mapping[int, int] | None = None,
) -> str:
    """Write the lägesbild of one district as a self-contained HTML page.

    Parameters
    ----------
    scene
        What the lägesbilder show and the profile they follow (see :class:`ReportScene`).
    district
        The district's name (shown as text, escaped).
    map_html
        The full HTML of the district map (``render.to_html(m)``), embedded in an iframe.
    map_link
        Optional link (relative path or http(s) URL) to the separate map file.
    hotspot_map_html
        The full HTML of a hotspot map (captioned ``scene.hotspot_caption``); ``None``
        leaves it out.
    title
        Page heading; ``"Lägesbild <district>"`` when ``None``.
    by_precision
        Number of events per precision class (index: :class:`~trygghetskarta.schema.Precision`
        values); counted from the district's events when ``None``.
    top_places
        Number of events per place name; when ``None`` it is found from the district's
        events with :func:`named_places` (which applies the profile's rules: prefer that).
        Without both the section is left out. The district's own name and its
        stadsdelar's are never listed.
    map_image, hotspot_image
        Static images (``data:image/png`` URIs, see :mod:`.static_map`) of the district
        map and the hotspot map, shown in print in place of the embedded maps.
    hotspot_bins
        The district's Gi* cells per confidence bin: the hotspot section says what is
        significant, and shows its map only when some cell is.

    Returns
    -------
    str
        A complete HTML document.
    """
    profile, period, made_at, sources = scene.profile, scene.period, scene.made_at, scene.sources
    summary_row = scene.summaries.get(district, {})
    city_summary = scene.city_summary
    monthly = scene.monthly
    events = scene.district_events(district)
    bra = scene.bra.get(district)
    heading = title or f"Lägesbild {district}"
    table = monthly_table(monthly, district)
    in_period = _events_in(events, period) if events is not None else None
    if by_precision is None:
        by_precision = (
            in_period["precision"].value_counts()
            if in_period is not None and "precision" in in_period.columns
            else None
        )
    table, counts, blocks, by_precision, layout = _protect(
        profile,
        district,
        table,
        period,
        in_period,
        by_precision,
        _get(summary_row, "count_last_year"),
        events,
    )
    if top_places is None and in_period is not None:
        top_places = named_places(in_period, profile=profile)
    stem = file_stem(district)
    places = ""
    if top_places is not None:
        own = [district]
        if events is not None and "stadsdel" in events.columns:
            own += [str(n) for n in events["stadsdel"].dropna().unique()]
        listed = places_table(top_places, profile, exclude=tuple(own), filename=stem)
        least = profile.min_count or 1
        places = (
            "<section><h2>Platser som nämns oftast</h2>"
            + (
                '<p class="lead">Torg, stationer, gator och adresser som polisen anger för '
                "händelser i perioden (områdets och stadsdelarnas egna namn räknas inte).</p>"
                + listed
                if listed
                else '<p class="empty">Ingen enskild plats i området (torg, station, gata '
                f"eller adress) nämns i minst {least} av polisens notiser i perioden.</p>"
            )
            + "</section>"
        )
    quality = ""
    if by_precision is not None:
        quality = (
            "<section><h2>Datakvalitet</h2>"
            + precision_table(by_precision, profile, counts, filename=stem)
            + "</section>"
        )
    profile_note = profile.report_note
    source_items = [sources] if isinstance(sources, str) else list(sources)
    made = f"Skapad {fmt_datetime(made_at)}" + (
        f" med trygghetskarta {scene.version}" if scene.version else ""
    )
    body = [
        "<header>",
        f"<h1>{esc(heading)}</h1>",
        f'<p class="meta">Period: {esc(fmt_period(period))} · {fmt_sources(sources)} · '
        f"{esc(made)}</p>",
        freshness_note(scene.freshness),
        report_note(scene.coverage, period, shown_from=_first_day(table)),
        "</header>",
        summary_section(
            scene.measures.get(district, ()),
            scene.categories.get(district, {}),
            scene.near_repeat,
            profile,
            counts,
        ),
        "<section><h2>Polisens händelsenotiser</h2>",
        f'<p class="lead">{esc(POLICE_NOTICE_NOTE)}</p>',
        key_figures(summary_row, city_summary, profile, counts),
        "</section>",
        "<section><h2>Utveckling per månad</h2>",
        _charts(table, district, period, profile, counts, blocks, scene.coverage),
        "</section>",
        "<section><h2>Händelser per kategori</h2>",
        category_table(table, period, profile, counts, filename=stem),
        "</section>",
        map_section(district, map_html, map_link, image=map_image),
        heatmap_section(in_period, district, profile, counts, layout),
        places,
        hotspot_section(
            hotspot_map_html,
            scene.hotspot_caption,
            bins=hotspot_bins,
            district=district,
            image=hotspot_image,
        ),
        bra_section(district, bra, bra_source(bra), filename=stem),
        quality,
        outlook_sections(scene.outlook, district),
        "<section><h2>Källor och period</h2><ul>",
        *(f"<li>{esc(s)}</li>" for s in source_items),
        "</ul>",
        f"<p>Period: {esc(fmt_period(period))}. {esc(made)}.</p>",
        _coverage_sources(scene.coverage, period),
        f"<p>{esc(profile_note)} {esc(POLICE_NOTICE_NOTE)}</p>",
        "</section>",
        ledger_html(counts.ledgers, min_count=profile.min_count) if counts is not None else "",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="sv">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(heading)}</title>\n<style>{LAGESBILD_CSS}{REPORT_CSS}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(part for part in body if part)
        + "\n</main>\n</body>\n</html>\n"
    )
