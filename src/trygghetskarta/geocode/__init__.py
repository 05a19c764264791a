"""Text → point, offline: place names in police event texts, with a precision class.

A police event's only sub-municipal location signal is its text; the API's ``gps`` is a
municipality centre, never the incident. :func:`load_gazetteer` builds one place table from
the district layers, the derived gazetteer (``gazetteer/stockholm_placenames.csv``: RegSO
and valdistrikt place names), the curated place list (``resources/places_curated.csv``:
squares, stations, landmarks, colloquial names, places just outside the kommun, words to
ignore) and the curated street list (``resources/streets_curated.csv``: streets, roads,
bridges and tunnels with the stadsdelar they run through), see
:mod:`trygghetskarta.geocode.places`. :func:`geocode_text`, :func:`geocode_events` and
:func:`geocode_file` then find names in texts and place each text.

Matching
    Texts are split into words once with one compiled regex; every run of up to
    ``max_words`` words is looked up in a dict of normalised name forms (lower case, any
    whitespace → one space, any dash → ``-``), longest first. Linear in the text length,
    independent of the gazetteer's size. Forms are whole words, case-insensitive, plus the
    genitive (``Kungsholmens``) and ``X centrum`` for ``X C``; punctuation between words
    breaks a name, so glued sentences ("…port.När polisen…") split correctly. Single-word
    forms under four letters never match; names that are also ordinary words match only
    when capitalised (curated ``match=capitalised``: "Söder" but not "söder om"). A name
    right after a police unit word ("lokalpolisområde Globen") names the unit, and a name
    right after "mot" a direction ("på väg mot city"): neither places the incident.
Precision
    ``stadsdelsomrade`` (x, y a point in the district, stadsdel None, uncertainty the radius
    of the circle with the district's area), ``stadsdel`` (likewise for the stadsdel),
    ``place`` (a square, station, landmark, neighbourhood) and ``street``. A street in one
    stadsdel gives that stadsdel; a street through several stadsdelar of one district gives
    the district only; a road through several districts gives none on its own (precision
    ``kommun``, place name :data:`SPAN_PREFIX` + the road) but narrows the other names
    ("Essingeleden vid Stora Essingen" → Stora Essingen). No inside match → ``kommun`` with
    x, y NaN and the kommun's equal-area radius; the place name then says why (see
    :data:`OUTSIDE_PREFIX`, :data:`CONFLICT_PREFIX`). Summary events (category ``summary``,
    many incidents) → ``none``: no position at all.
Choice
    The summary is searched first (the page preamble when the API cut the summary short),
    then the page body; the title only names the municipality and is ignored. Among the
    names of one text the most specific that is consistent with all the others wins (the
    stadsdelar they may mean overlap, or two places lie within a few hundred metres); when
    they disagree the result falls back to the finest level they share — stadsdel,
    district in either scheme — or to ``kommun``: lower the precision rather than guess.
    Body names refine the summary's result only when consistent with it. An event is
    "outside" only when its summary names nothing inside the kommun and some place outside
    it; bodies name directions and origins ("från Nacka mot Essingeleden"), so outside
    names there are not trusted.
Districts and borders
    Districts are named in the scheme in force at ``occurred_at``, whatever the scheme of
    the name in the text: a 2021–2023 name in a 2024 event becomes its 2024 district
    ("Rinkeby-Kista" → Järva), and a 2024-only name in an earlier event becomes a
    2021–2023 district through a stadsdel or place the text also names ("Järva, Husby" →
    Rinkeby-Kista); alone it gives only the kommun, with the ambiguity in ``place_name``
    (:data:`ERA_PREFIX`): never a point without a district, never a guess. A named
    place's district is the district its point lies in (see "Borders" in
    :mod:`trygghetskarta.geocode.places`); when the text also names a stadsdel or
    district that the place lies just outside of (within
    :data:`~trygghetskarta.geocode.places.NEAR_M`: "Nybroplan på Östermalm"), the named
    area wins and the point is moved just inside it, so that a point a few metres across
    a border never overrides what the text says.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely

from trygghetskarta.districts import SCHEME_2021_2023, schemes_at
from trygghetskarta.errors import SchemaError
from trygghetskarta.geocode.addresses import (
    AddressRegister,
    RegisterLoad,
    geocode_addresses,
    load_register,
)
from trygghetskarta.geocode.evaluation import (
    LABEL_COLUMNS,
    Scores,
    label_confusions,
    read_labels,
    score_labels,
)
from trygghetskarta.geocode.gazetteer import (
    LEVEL,
    Gazetteer,
    Match,
    equal_area_radius,
    load_gazetteer,
    normalise,
    read_curated,
    read_streets,
)
from trygghetskarta.geocode.places import settle
from trygghetskarta.schema import GEOCODED_COLUMNS, Category, Precision

if TYPE_CHECKING:
    from trygghetskarta.areas import Areas

__all__ = [
    "CONFLICT_PREFIX",
    "ERA_PREFIX",
    "LABEL_COLUMNS",
    "OUTSIDE_PREFIX",
    "SPAN_PREFIX",
    "AddressRegister",
    "Gazetteer",
    "Match",
    "RegisterLoad",
    "Scores",
    "geocode_addresses",
    "geocode_events",
    "geocode_text",
    "label_confusions",
    "load_gazetteer",
    "load_register",
    "normalise",
    "read_curated",
    "read_labels",
    "read_streets",
    "score_labels",
]

#: ``place_name`` of an event that names only places outside the kommun.
OUTSIDE_PREFIX = "utanför kommunen: "
#: ``place_name`` of an event whose place names point to different districts.
CONFLICT_PREFIX = "motstridiga platser: "
#: ``place_name`` of an event that names only a road through several districts.
SPAN_PREFIX = "genom flera stadsdelsområden: "
#: ``place_name`` of an event that names only a district of a scheme not yet in force,
#: which the scheme in force splits ("Järva" in 2023: Rinkeby-Kista or Spånga-Tensta).
ERA_PREFIX = "stadsdelsområde som inte fanns vid händelsen: "
#: Two places are consistent when their distance is at most their uncertainties plus this.
PLACE_SLACK_M = 500.0
#: An API summary this long may have been cut; the page preamble then replaces it.
CUT_SUMMARY_CHARS = 90


@dataclass(frozen=True)
class _Table:
    """The place table as plain lists, for the per-event loop."""

    name: list[str]
    kind: list[str]
    precision: list[str]
    level: list[int]
    multi: list[bool]
    x: list[float]
    y: list[float]
    unc: list[float]
    stadsdel: list[str | None]
    sdo13: list[str | None]
    sdo24: list[str | None]
    span: list[frozenset[str]]
    near: list[frozenset[str]]
    border: list[frozenset[str]]
    home: list[str | None]

    @classmethod
    def of(cls, places: pd.DataFrame) -> _Table:
        prec = [Precision(p) for p in places["precision"]]
        return cls(
            name=places["name"].tolist(),
            kind=places["kind"].tolist(),
            precision=places["precision"].tolist(),
            level=[LEVEL.get(p, 2) for p in prec],
            multi=[
                k == "street" and len(s) > 1
                for k, s in zip(places["kind"], places["span"], strict=True)
            ],
            x=places["x"].tolist(),
            y=places["y"].tolist(),
            unc=places["uncertainty_m"].tolist(),
            stadsdel=places["stadsdel"].tolist(),
            sdo13=places["sdo_2021_2023"].tolist(),
            sdo24=places["sdo_2024"].tolist(),
            span=[frozenset(s) for s in places["span"]],
            near=[frozenset(s) for s in places["near"]],
            border=[frozenset(s) for s in places["border"]],
            home=places["home"].tolist(),
        )


@dataclass(frozen=True)
class _Answer:
    """A resolved place: the row, its uncertainty, and the stadsdelar it narrows to.

    ``within`` narrows a street through several stadsdelar; ``inside`` moves a point place
    into a stadsdel that the text names and the place lies just outside of.
    """

    row: int
    unc: float
    within: frozenset[str] | None = None
    inside: frozenset[str] | None = None


def _point(t: _Table, r: int) -> bool:
    return t.level[r] == 0 and not t.multi[r]


def _consistent(t: _Table, a: int, b: int, named: Collection[int] = ()) -> bool:
    """Whether two named places can describe the same incident.

    A stadsdel or district among ``named`` (the rows the text names) is also consistent
    with a street that runs along its border.
    """
    if a == b:
        return True
    if _point(t, a) and _point(t, b):
        dist = math.hypot(t.x[a] - t.x[b], t.y[a] - t.y[b])
        return dist <= t.unc[a] + t.unc[b] + PLACE_SLACK_M
    if (t.level[a] >= 1 and a in named) or (t.level[b] >= 1 and b in named):
        return bool(t.border[a] & t.border[b])
    return bool(t.near[a] & t.near[b])


def _pivots(t: _Table, gaz: Gazetteer, best: int) -> list[int]:
    """The place itself, then its stadsdel, then its district in each scheme."""
    out = [best]
    for lookup, value in (
        (gaz.stadsdel_rows, t.stadsdel[best]),
        (gaz.district_rows, t.sdo13[best]),
        (gaz.district_rows, t.sdo24[best]),
    ):
        row = lookup.get(value or "")
        if row is not None and row not in out and t.level[row] >= t.level[best]:
            out.append(row)
    return out


def _resolve(t: _Table, gaz: Gazetteer, rows: list[int]) -> _Answer | None:
    """The most specific row consistent with every row given, with its uncertainty."""
    rows = list(dict.fromkeys(rows))
    order = sorted(
        range(len(rows)), key=lambda k: (t.level[rows[k]], t.multi[rows[k]], t.unc[rows[k]], k)
    )
    best = rows[order[0]]
    for pivot in _pivots(t, gaz, best):
        if not all(_consistent(t, pivot, r, rows) for r in rows):
            continue
        unc = t.unc[pivot]
        if _point(t, pivot):
            for r in rows:
                if _point(t, r):
                    unc = max(unc, math.hypot(t.x[pivot] - t.x[r], t.y[pivot] - t.y[r]))
        within = None
        if t.multi[pivot]:
            within = _narrowed(t, pivot, rows, t.span[pivot])
            if not within and all(t.level[r] >= 1 for r in rows if r != pivot):
                # only areas besides the street: one it borders (its span is approximate)
                within = _narrowed(t, pivot, rows, t.border[pivot])
            if not within:  # consistent two by two, but no stadsdel has them all
                continue
        return _Answer(pivot, unc, within, _named_area(t, pivot, rows))
    return None


def _narrowed(t: _Table, pivot: int, rows: list[int], start: frozenset[str]) -> frozenset[str]:
    """The stadsdelar of ``start`` consistent with every other row."""
    within = start
    for r in rows:
        if r != pivot:
            within = within & t.near[r]
    return within


def _named_area(t: _Table, pivot: int, rows: list[int]) -> frozenset[str] | None:
    """The stadsdelar of named areas that a point place lies just outside of, if any.

    "Nybroplan på Östermalm": the square's point lies a few metres inside Norrmalm, but
    the text names Östermalm; the named area wins over the point.
    """
    if not _point(t, pivot) or t.stadsdel[pivot] is None:
        return None
    named = [r for r in rows if r != pivot and t.level[r] >= 1]
    if not any(t.stadsdel[pivot] not in t.span[r] for r in named):
        return None
    inside = t.border[pivot]
    for r in named:
        inside = inside & t.span[r]
    return inside or None


_Result = _Answer | str | None  # an answer | place_name of a kommun result | nothing found


def _place_one(t: _Table, gaz: Gazetteer, summary: str | None, body: str | None) -> _Result:
    found = []
    for text in (summary, body):
        hits = [m.row for m in gaz.matches(text) if not m.weak]
        found.append(
            (
                [r for r in hits if t.kind[r] not in ("outside", "ignore")],
                [r for r in hits if t.kind[r] == "outside"],
            )
        )
    (s_in, s_out), (b_in, _) = found
    if not s_in:
        if s_out:  # only the summary says "outside": bodies name directions and origins
            return OUTSIDE_PREFIX + t.name[s_out[0]]
        s_in, b_in = b_in, []
    if not s_in:
        return None
    result = _resolve(t, gaz, s_in)
    if result is None:
        names = list(dict.fromkeys(t.name[r] for r in s_in))
        return CONFLICT_PREFIX + ", ".join(names[:4])
    row = result.row
    finer = [
        r
        for r in b_in
        if (t.level[r] < t.level[row] or (t.multi[row] and not t.multi[r]))
        and _consistent(t, row, r)
    ]
    if finer:
        refined = _resolve(t, gaz, [*finer, row])
        if refined is not None and (
            t.level[refined.row] < t.level[row]
            or (refined.within or set()) != (result.within or set())
        ):
            return refined
    return result


def _one(values: Iterable[str | None]) -> str | None:
    found = set(values)
    return found.pop() if len(found) == 1 else None


def _record(
    t: _Table, gaz: Gazetteer, districts: dict[str, tuple[str, str]], ans: _Answer, scheme: str
) -> tuple[Any, ...] | str | None:
    """(x, y, precision, uncertainty, place_name, stadsdel, district) of an answer.

    Returns the ``place_name`` of a kommun result instead when the answer names a district
    that the scheme in force splits (:data:`ERA_PREFIX`), and None for a road through
    several districts.
    """
    row = ans.row
    pick = 0 if scheme == SCHEME_2021_2023 else 1
    if ans.inside:
        return _moved_inside(t, gaz, districts, ans, pick)
    if not t.multi[row]:
        district = t.sdo13[row] if pick == 0 else t.sdo24[row]
        if district is None:  # a 2024-only district before 2024: split in two
            split = sorted({districts[s][pick] for s in t.span[row]})
            return f"{ERA_PREFIX}{t.name[row]} ({' eller '.join(split)})" if split else None
        stadsdel = t.stadsdel[row] if t.level[row] < 2 else None
        return (t.x[row], t.y[row], t.precision[row], ans.unc, t.name[row], stadsdel, district)
    within = ans.within or t.span[row]
    district = _one(districts[s][pick] for s in within)
    if district is None:
        return None  # the caller makes it a kommun result
    stadsdel = _one(within)
    if stadsdel is not None and stadsdel != t.home[row]:  # the point lies elsewhere on the street
        at = gaz.stadsdel_rows[stadsdel]
        return (t.x[at], t.y[at], Precision.STADSDEL.value, t.unc[at], t.name[row], stadsdel,
                district)  # fmt: skip
    return (t.x[row], t.y[row], t.precision[row], ans.unc, t.name[row], stadsdel, district)


def _moved_inside(
    t: _Table, gaz: Gazetteer, districts: dict[str, tuple[str, str]], ans: _Answer, pick: int
) -> tuple[Any, ...]:
    """A point place moved into the nearest stadsdel of the named area it lies just outside."""
    row = ans.row
    point = shapely.Point(t.x[row], t.y[row])
    stadsdel = min(sorted(ans.inside or ()), key=lambda s: gaz.cores[s].distance(point))
    x, y, moved = settle(t.x[row], t.y[row], gaz.cores[stadsdel])
    district = districts[stadsdel][pick]
    return (x, y, t.precision[row], max(ans.unc, moved), t.name[row], stadsdel, district)


def _geocode(
    summaries: Iterable[Any],
    bodies: Iterable[Any],
    occurred_at: Sequence[Any],
    is_summary: Iterable[bool],
    gaz: Gazetteer,
    areas: Areas,
) -> pd.DataFrame:
    t = _Table.of(gaz.places)
    districts = {
        s: (d13, d24)
        for s, d13, d24 in zip(
            areas.stadsdelar["name"],
            areas.stadsdelar["sdo_2021_2023"],
            areas.stadsdelar["sdo_2024"],
            strict=False,
        )
    }
    kommun_unc = equal_area_radius(float(areas.kommun.geometry.iloc[0].area))
    schemes = schemes_at(pd.Series(list(occurred_at), dtype=object)).to_numpy()
    kommun = (np.nan, np.nan, Precision.KOMMUN.value, kommun_unc)
    records = []
    for summary, body, scheme, skip in zip(summaries, bodies, schemes, is_summary, strict=True):
        if skip:
            records.append((np.nan, np.nan, Precision.NONE.value, np.nan, None, None, None))
            continue
        res = _place_one(t, gaz, _text(summary), _text(body))
        if res is None or isinstance(res, str):
            records.append((*kommun, res, None, None))
            continue
        rec = _record(t, gaz, districts, res, scheme)
        if rec is None:
            rec = (*kommun, SPAN_PREFIX + t.name[res.row], None, None)
        elif isinstance(rec, str):
            rec = (*kommun, rec, None, None)
        records.append(rec)
    columns = list(zip(*records, strict=True)) if records else [()] * len(GEOCODED_COLUMNS)
    floats = ("x", "y", "uncertainty_m")
    return pd.DataFrame(
        {
            col: pd.Series(values, dtype=float if col in floats else object)
            for col, values in zip(GEOCODED_COLUMNS, columns, strict=True)
        }
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def full_summary(summary: Any, raw: Any) -> str | None:
    """The summary, or the page preamble from the raw record when the API cut it short.

    The API's ``summary`` stops at about 100 characters ("…i en skogsdunge på Kungsho");
    archived records keep the page's ``_html_preamble``, which is the whole sentence.
    """
    summary = _text(summary)
    if summary is None or len(summary) < CUT_SUMMARY_CHARS or not isinstance(raw, str):
        return summary
    if "_html_preamble" not in raw:
        return summary
    try:
        record = json.loads(raw)
    except json.JSONDecodeError:
        return summary
    pre = _text(record.get("_html_preamble")) if isinstance(record, dict) else None
    if pre and len(pre) > len(summary) and pre.startswith(summary[:40].rstrip()):
        return pre
    return summary


def geocode_text(
    texts: Sequence[str | None],
    occurred_at: Sequence[pd.Timestamp],
    gaz: Gazetteer,
    areas: Areas,
) -> pd.DataFrame:
    """Place texts by the place names they mention.

    Parameters
    ----------
    texts
        One text per item (``None`` allowed).
    occurred_at
        One timestamp per text; chooses the district scheme of ``stadsdelsomrade``.
    gaz
        From :func:`load_gazetteer`.
    areas
        From :func:`trygghetskarta.areas.load_areas`.

    Returns
    -------
    pd.DataFrame
        One row per text, columns exactly :data:`trygghetskarta.schema.GEOCODED_COLUMNS`:
        ``x, y`` (EPSG:3006; NaN below ``stadsdelsomrade``), ``precision``,
        ``uncertainty_m``, ``place_name``, ``stadsdel``, ``stadsdelsomrade``.
    """
    if len(texts) != len(occurred_at):
        raise ValueError(f"got {len(texts)} texts but {len(occurred_at)} timestamps")
    return _geocode(texts, [None] * len(texts), occurred_at, [False] * len(texts), gaz, areas)


def geocode_events(events: pd.DataFrame, gaz: Gazetteer, areas: Areas) -> pd.DataFrame:
    """Place events by their summary, then their page body; never drops a row.

    Parameters
    ----------
    events
        With columns ``event_uid, summary, body, occurred_at, category`` (``title`` is not
        used: it names only the municipality); with a ``raw`` column (the record as
        received) a summary cut short by the API is replaced by the archived page preamble.
    gaz, areas
        From :func:`load_gazetteer` and :func:`trygghetskarta.areas.load_areas`.

    Returns
    -------
    pd.DataFrame
        ``event_uid`` and the :data:`~trygghetskarta.schema.GEOCODED_COLUMNS`, one row per
        event in the input's order and index. Summary events get precision ``none``.

    Raises
    ------
    SchemaError
        A required column is missing.
    """
    need = ["event_uid", "summary", "body", "occurred_at", "category"]
    missing = [c for c in need if c not in events.columns]
    if missing:
        raise SchemaError(
            f"geocode_events needs the columns {need}, missing {missing} — pass parsed events"
        )
    summaries = events["summary"]
    if "raw" in events.columns:
        summaries = [full_summary(s, r) for s, r in zip(summaries, events["raw"], strict=True)]
    out = _geocode(
        summaries,
        events["body"],
        events["occurred_at"].tolist(),
        (events["category"] == Category.SUMMARY.value).tolist(),
        gaz,
        areas,
    )
    out.insert(0, "event_uid", events["event_uid"].to_numpy())
    out.index = events.index
    return out
