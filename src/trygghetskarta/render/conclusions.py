"""The lägesbild's conclusions: one Swedish sentence per measure.

A :class:`Measure` holds what a sentence needs (built by the pipeline from the store):
the level in the period, the same days a year before, and the normal range from earlier
years (:class:`~trygghetskarta.analysis.normal_range.PredictionInterval` values, built by
:mod:`trygghetskarta.analysis`; only their fields are read here). :func:`measure_sentence`
says it in one sentence, e.g. "Våld: 27 händelser, −10 % mot samma dagar året innan; inom
det normala för årstiden; över det normala i 3 av 12 månader."; :func:`conclusions_section`
is the section that opens the page, reported crimes first. Counts the profile hides read
"färre än 5 eller dolt" and take no change with them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from trygghetskarta.render.format import esc, fmt_int, fmt_pct, is_missing

if TYPE_CHECKING:
    from trygghetskarta.render.profile import ExportProfile
    from trygghetskarta.render.published import ReportCounts

__all__ = [
    "Measure",
    "conclusions_section",
    "measure_sentence",
    "near_repeat_sentence",
    "shown_measure",
    "summary_section",
]

#: What police notices are and are not, said wherever they are counted.
POLICE_NOTICE_NOTE = (
    "Polisens händelsenotiser är pressnotiser om ett urval av de händelser polisen arbetar "
    "med, inte alla brott: de visar var och när polisen rapporterar, inte hur många brott "
    "som anmäls."
)


@dataclass(frozen=True)
class Measure:
    """One measure of the lägesbild and what its sentence says.

    Attributes
    ----------
    label
        Its Swedish name ("Anmälda brott (Brå)", "Polisens händelsenotiser", "Våld" …).
    value
        The level in the period as shown (``None``: hidden by the profile).
    key
        What it measures: a layer value, ``"bra"``, or a category value.
    unit
        What ``value`` counts ("händelser", "anmälda brott per 100 000 invånare").
    previous
        The same days a year before (or the year before), as shown; ``None``: not given.
    compared_with
        What ``previous`` is, e.g. "samma dagar året innan" or "2024".
    interval
        The normal range: an object with ``known``, ``lower``, ``upper``, ``years`` and
        ``position(value)`` (:class:`~trygghetskarta.analysis.PredictionInterval`);
        ``None``: no earlier data at all.
    months_above, months_below, months_tested
        Months of the period above and below their own normal range, of those that had one.
    season
        True when the range is of the same months of earlier years ("för årstiden").
    min_years
        Earlier years a range needs (said when there are too few).
    decimals
        Decimals of ``value`` (0 for counts and Brå's whole rates).
    say_missing_range
        False: a missing normal range goes unsaid (said once for a list instead).
    """

    label: str
    value: float | None
    key: str = ""
    unit: str = "händelser"
    previous: float | None = None
    compared_with: str = "samma dagar året innan"
    interval: Any = None
    months_above: int | None = None
    months_below: int | None = None
    months_tested: int | None = None
    season: bool = True
    min_years: int = 2
    decimals: int = 0
    say_missing_range: bool = True

    @property
    def change_pct(self) -> float | None:
        """The change against :attr:`previous` in percent (``None`` without both)."""
        if self.value is None or self.previous is None or not self.previous:
            return None
        return 100.0 * (float(self.value) - float(self.previous)) / float(self.previous)


def _number(value: float, decimals: int) -> str:
    if decimals == 0:
        return fmt_int(value)
    return f"{float(value):,.{decimals}f}".replace(",", "\u00a0").replace(".", ",")


def _range_text(m: Measure) -> str:
    iv = m.interval
    what = "för årstiden" if m.season else "jämfört med tidigare år"
    if iv is None or not iv.known:
        years = 0 if iv is None else int(iv.years)
        had = "inget tidigare år" if years == 0 else f"{years} tidigare år"
        return f"för få tidigare år för ett normalintervall ({had}, minst {m.min_years} behövs)"
    bounds = f"{_number(iv.lower, m.decimals)}–{_number(iv.upper, m.decimals)}"
    position = iv.position(float(m.value)) if m.value is not None else None
    if position is None:
        return f"det normala {what} är {bounds}"
    word = {"inom": "inom det normala", "över": "över det normala", "under": "under det normala"}
    return f"{word[position]} {what} ({bounds}, från {iv.years} tidigare år)"


def measure_sentence(m: Measure) -> str:
    """One Swedish sentence: level, change like for like, normal range, months outside it.

    Examples
    --------
    >>> from trygghetskarta.analysis import count_interval
    >>> m = Measure("Våld", 27, previous=30, interval=count_interval([20, 24, 22]),
    ...             months_above=3, months_tested=12)
    >>> measure_sentence(m).replace("\u00a0", " ").replace("\u2212", "-")
    'Våld: 27 händelser, -10 % mot samma dagar året innan (30); inom det normala för årstiden (12–34, från 3 tidigare år); över det normala i 3 av 12 månader.'
    """  # noqa: E501
    if m.value is None:
        return (
            f"{m.label}: färre än 5 {m.unit} eller dolt; för få för att säga något om utvecklingen."
        )
    parts = [f"{m.label}: {_number(m.value, m.decimals)} {m.unit}"]
    change = m.change_pct
    if change is not None and m.previous is not None and math.isfinite(change):
        parts[0] += f", {fmt_pct(change)} mot {m.compared_with} ({_number(m.previous, m.decimals)})"
    known = m.interval is not None and m.interval.known
    text = parts[0] + ("; " + _range_text(m) if known or m.say_missing_range else "")
    if m.months_tested:
        above, below = m.months_above or 0, m.months_below or 0
        month_parts = []
        if above:
            month_parts.append(f"över det normala i {above} av {m.months_tested} månader")
        if below:
            month_parts.append(f"under det normala i {below} av {m.months_tested} månader")
        if not month_parts:
            month_parts.append(f"alla {m.months_tested} månader inom det normala")
        text += "; " + " och ".join(month_parts)
    return text + "."


def conclusions_section(
    measures: Sequence[Measure],
    *,
    notes: Sequence[str] = (),
    categories: Sequence[Measure] = (),
    categories_label: str = "",
    others: str = "",
) -> str:
    """The section that opens the lägesbild: one sentence per measure, then per category.

    Parameters
    ----------
    measures
        The measures in the order shown (reported crimes first).
    notes
        Sentences after the list (what the measures are; the normal range's method).
    categories
        Sentences for the categories of one measure (``categories_label`` names it).
    others
        The sentence on the categories grouped as "Övriga kategorier".
    """
    if not measures:
        return ""
    items = "".join(f"<li>{esc(measure_sentence(m))}</li>" for m in measures)
    out = [
        '<section class="tk-conclusions"><h2>Sammanfattning</h2>',
        f'<ul class="tk-measures">{items}</ul>',
    ]
    if categories:
        cats = "".join(f"<li>{esc(measure_sentence(m))}</li>" for m in categories)
        if others:
            cats += f"<li>{esc(others)}</li>"
        out.append(f"<h3>{esc(categories_label)}</h3><ul>{cats}</ul>")
    out.extend(f'<p class="caption">{esc(n)}</p>' for n in notes if n)
    out.append("</section>")
    return "".join(out)


def near_repeat_sentence(table: Any, layer_label: str, sample_note: str | None = None) -> str:
    """One sentence on the near-repeat (Knox) result of a layer, city-wide.

    ``table`` holds the rows of the ``near_repeat`` table of one layer and category
    (``distance_from``, ``distance_to``, ``time_from``, ``time_to``, ``observed``,
    ``expected``, ``ratio``, ``p_value``, ``n_events``): the closest band (under 250 m,
    under a week, the same place excluded) is the one that says whether events follow
    each other. ``sample_note`` is said when the p-values come from a sample. Empty
    string when the table has no such band.
    """
    if table is None or len(table) == 0:
        return ""
    close = table[(table["distance_from"] > 0) | (table["distance_to"] > 0)]
    close = close[(close["time_from"] == 0) & (close["distance_from"] == 0)]
    if close.empty:
        return ""
    row = close.iloc[0]
    dist, days = int(row["distance_to"]), int(row["time_to"])
    n = int(row["n_events"])
    ratio, p = row["ratio"], row["p_value"]
    if is_missing(ratio) or is_missing(row["expected"]) or float(row["expected"]) < 1.0:
        text = (
            f"Upprepade händelser nära varandra ({layer_label.lower()}, hela staden): "
            f"för få par inom {dist} m och {days} dagar för att pröva."
        )
    else:
        significant = not is_missing(p) and float(p) <= 0.05 and float(ratio) > 1
        verdict = (
            "fler än slumpen förklarar: en händelse följs oftare än väntat av en till i närheten"
            if significant
            else "inte fler än slumpen förklarar"
        )
        p_text = "" if is_missing(p) else f", p = {float(p):.3f}".replace(".", ",")
        text = (
            f"Upprepade händelser nära varandra ({layer_label.lower()}, hela staden, "
            f"{fmt_int(n)} händelser): par inom {dist} m och {days} dagar är "
            f"{float(ratio):.2f}".replace(".", ",")
            + f" gånger så många som väntat, {verdict} (Knox-test{p_text})."
        )
    if sample_note:
        text += " " + sample_note
    return text


#: How the summary names the normal range's method.
RANGE_NOTE = (
    "Det normala är ett 95-procentigt prognosintervall från samma dagar (och samma månader) "
    "de tidigare åren som data finns för, upp till tre år; ett antal utanför det är "
    "ovanligt om inget har förändrats. Brås tal jämförs med de tidigare årens variation."
)


def shown_measure(m: Measure, profile: ExportProfile, counts: ReportCounts | None) -> Measure:
    """A measure as the profile lets the page show it: the police notices' count as the key
    figure shows it; other counts on their own (below the minimum: hidden, no change)."""
    if not profile.public or m.key == "bra":
        return m
    if counts is not None and m.key == "police_event":
        value: float | None = (
            counts.get("sdo", "hela")
            if m.value is not None and round(float(m.value)) == counts.period_total
            else (None if m.value is None else profile.single(m.value))
        )
        if counts.has("sdo", "före"):
            previous = counts.get("sdo", "före")
        else:
            previous = None if m.previous is None else profile.single(m.previous)
    else:
        value = None if m.value is None else profile.single(m.value)
        previous = None if m.previous is None else profile.single(m.previous)
    if value is None or previous is None:
        previous = None  # the change would give a hidden count away
    return dataclasses.replace(m, value=value, previous=previous)


def summary_section(
    raw_measures: Sequence[Measure],
    cats: Mapping[str, Measure],
    near_repeat: Sequence[str],
    profile: ExportProfile,
    counts: ReportCounts | None,
) -> str:
    """The section that opens the lägesbild: one sentence per measure (through the
    profile: :func:`shown_measure`), the police notices' categories (those the category
    table shows with ten events or more; the rest grouped as "Övriga kategorier") and the
    near-repeat sentences."""
    measures = [shown_measure(m, profile, counts) for m in raw_measures]
    if not measures:
        return ""
    shown_cats: list[Measure] = []
    grouped: list[str] = []
    for key, m in sorted(cats.items(), key=lambda kv: -(kv[1].value or 0)):
        if counts is not None:
            value = counts.get("cat", key, "period")
            m = dataclasses.replace(m, value=value, previous=None)  # no change: see above
        elif profile.min_count is not None and (m.value or 0) < profile.min_count:
            m = dataclasses.replace(m, value=None)
        if m.value is None or m.value < 10:
            grouped.append(m.label)
        else:
            shown_cats.append(m)
    missing = [m for m in shown_cats if m.interval is None or not m.interval.known]
    if shown_cats and len(missing) == len(shown_cats):
        # said once below, not in every sentence
        shown_cats = [dataclasses.replace(m, say_missing_range=False) for m in shown_cats]
    others = ""
    if grouped:
        others = (
            "Övriga kategorier (" + ", ".join(sorted(grouped)) + "): för få händelser för att "
            "säga något om utvecklingen var för sig."
        )
    notes = [RANGE_NOTE]
    if shown_cats and not shown_cats[0].say_missing_range:
        notes.insert(
            0,
            "Kategorierna har för få tidigare år för ett normalintervall för hela "
            "perioden; varje månad jämförs med samma månad de tidigare år (minst två) som finns.",
        )
    return conclusions_section(
        measures,
        notes=[*notes, *near_repeat],
        categories=shown_cats,
        categories_label="Polisens händelsenotiser per kategori",
        others=others,
    )
