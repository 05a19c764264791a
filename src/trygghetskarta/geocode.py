"""Text → point, offline: place names in police event texts, with a precision class.

A police event's only sub-municipal location signal is its text; the API's ``gps`` is a
municipality centre, never the incident. :func:`load_gazetteer` builds one place table from
the derived gazetteer (``gazetteer/stockholm_placenames.csv``: districts, stadsdelar, RegSO,
valdistrikt place names) and the project's curated list
(``resources/places_curated.csv``: squares, stations, landmarks, streets, colloquial names,
places just outside the kommun, and words to ignore). :func:`geocode_text` and
:func:`geocode_events` then find names in texts and place each text.

Matching
    Texts are split into words once with one compiled regex; every run of up to
    ``max_words`` words is looked up in a dict of normalised name forms (lower case, any
    whitespace → one space, any dash → ``-``), longest first. Linear in the text length,
    independent of the gazetteer's size. Forms are whole words, case-insensitive, plus the
    genitive (``Kungsholmens``) and ``X centrum`` for ``X C``. Single-word forms under four
    letters never match; names that are also ordinary words match only when capitalised
    (curated ``match=capitalised``: "Söder" but not "söder om").
Precision
    ``stadsdelsomrade`` (x, y a point in the district, stadsdel None, uncertainty the radius
    of the circle with the district's area), ``stadsdel`` (likewise for the stadsdel, the
    district from the stadsdel's mapping), ``place``/``street`` (point-in-polygon for
    stadsdel and district). No inside match → ``kommun`` with x, y NaN and the kommun's
    equal-area radius; the place name then says why (see :data:`OUTSIDE_PREFIX`,
    :data:`CONFLICT_PREFIX`). Summary events (category ``summary``, many incidents) →
    ``none``: no position at all, not even the kommun, so they are never counted as a
    kommun-level incident.
Choice
    The summary is searched first, then the page body; the title only names the
    municipality and is ignored. Among the names of one text the most specific that is
    consistent with all the others wins (same district, same stadsdel, or places within a
    few hundred metres); when they disagree the result falls back to the finest level they
    share — stadsdel, district in either scheme — or to ``kommun``: lower the precision
    rather than guess. Body names refine the summary's result only when consistent with it.
    An event is "outside" only when its summary names nothing inside the kommun and some
    place outside it; bodies name directions and origins ("från Nacka mot Essingeleden"),
    so outside names there are not trusted.
    Districts are named in the scheme in force at ``occurred_at``; a 2024-only name
    (Järva, Norra innerstaden) in an earlier event keeps its point but gets no district.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely

from trygghetskarta._gazetteer import (
    LEVEL,
    Gazetteer,
    Match,
    equal_area_radius,
    load_gazetteer,
    normalise,
    read_curated,
)
from trygghetskarta.areas import SCHEME_2021_2023, Areas, schemes_at
from trygghetskarta.errors import SchemaError
from trygghetskarta.schema import GEOCODED_COLUMNS, Category, Precision

__all__ = [
    "CONFLICT_PREFIX",
    "OUTSIDE_PREFIX",
    "Gazetteer",
    "Match",
    "geocode_events",
    "geocode_text",
    "load_gazetteer",
    "normalise",
    "read_curated",
]

#: ``place_name`` of an event that names only places outside the kommun.
OUTSIDE_PREFIX = "utanför kommunen: "
#: ``place_name`` of an event whose place names point to different districts.
CONFLICT_PREFIX = "motstridiga platser: "
#: A place within this distance of a stadsdel's polygon is consistent with it, metres.
NEAR_M = 300.0
#: Two places are consistent when their distance is at most their uncertainties plus this.
PLACE_SLACK_M = 500.0


@dataclass(frozen=True)
class _Table:
    """The place table as plain lists, for the per-event loop."""

    name: list[str]
    kind: list[str]
    level: list[int]
    x: list[float]
    y: list[float]
    unc: list[float]
    stadsdel: list[str | None]
    sdo13: list[str | None]
    sdo24: list[str | None]

    @classmethod
    def of(cls, places: pd.DataFrame) -> _Table:
        prec = [Precision(p) for p in places["precision"]]
        return cls(
            name=places["name"].tolist(),
            kind=places["kind"].tolist(),
            level=[LEVEL.get(p, 2) for p in prec],
            x=places["x"].tolist(),
            y=places["y"].tolist(),
            unc=places["uncertainty_m"].tolist(),
            stadsdel=places["stadsdel"].tolist(),
            sdo13=places["sdo_2021_2023"].tolist(),
            sdo24=places["sdo_2024"].tolist(),
        )


def _consistent(t: _Table, gaz: Gazetteer, a: int, b: int) -> bool:
    """Whether two named places can describe the same incident."""
    la, lb = t.level[a], t.level[b]
    if a == b:
        return True
    if max(la, lb) == 2:
        if t.sdo13[a] is not None and t.sdo13[b] is not None:
            return t.sdo13[a] == t.sdo13[b]
        return t.sdo24[a] is not None and t.sdo24[a] == t.sdo24[b]
    if max(la, lb) == 1:
        s, o = (a, b) if la == 1 else (b, a)
        if t.stadsdel[o] == t.stadsdel[s]:
            return True
        if t.level[o] == 1:
            return False
        geom = gaz.stadsdel_geoms.get(t.stadsdel[s] or "")
        return geom is not None and geom.distance(shapely.Point(t.x[o], t.y[o])) <= NEAR_M
    dist = math.hypot(t.x[a] - t.x[b], t.y[a] - t.y[b])
    return dist <= t.unc[a] + t.unc[b] + PLACE_SLACK_M


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


def _resolve(t: _Table, gaz: Gazetteer, rows: list[int]) -> tuple[int, float] | None:
    """The most specific row consistent with every row given, with its uncertainty."""
    rows = list(dict.fromkeys(rows))
    order = sorted(range(len(rows)), key=lambda k: (t.level[rows[k]], t.unc[rows[k]], k))
    best = rows[order[0]]
    for pivot in _pivots(t, gaz, best):
        if all(_consistent(t, gaz, pivot, r) for r in rows):
            unc = t.unc[pivot]
            if t.level[pivot] == 0:
                for r in rows:
                    if t.level[r] == 0:
                        unc = max(unc, math.hypot(t.x[pivot] - t.x[r], t.y[pivot] - t.y[r]))
            return pivot, unc
    return None


_Result = tuple[int, float] | str | None  # (row, uncertainty) | place_name of a kommun result


def _place_one(t: _Table, gaz: Gazetteer, summary: str | None, body: str | None) -> _Result:
    found = []
    for text in (summary, body):
        hits = [m.row for m in gaz.matches(text)]
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
    row = result[0]
    finer = [r for r in b_in if t.level[r] < t.level[row] and _consistent(t, gaz, row, r)]
    if finer:
        refined = _resolve(t, gaz, [*finer, row])
        if refined is not None and t.level[refined[0]] < t.level[row]:
            return refined
    return result


def _geocode(
    summaries: Iterable[Any],
    bodies: Iterable[Any],
    occurred_at: Sequence[Any],
    is_summary: Iterable[bool],
    gaz: Gazetteer,
    areas: Areas,
) -> pd.DataFrame:
    t = _Table.of(gaz.places)
    kommun_unc = equal_area_radius(float(areas.kommun.geometry.iloc[0].area))
    schemes = schemes_at(pd.Series(list(occurred_at), dtype=object)).to_numpy()
    records = []
    for summary, body, scheme, skip in zip(summaries, bodies, schemes, is_summary, strict=True):
        if skip:
            records.append((np.nan, np.nan, Precision.NONE.value, np.nan, None, None, None))
            continue
        res = _place_one(t, gaz, _text(summary), _text(body))
        if res is None or isinstance(res, str):
            records.append((np.nan, np.nan, Precision.KOMMUN.value, kommun_unc, res, None, None))
            continue
        row, unc = res
        district = t.sdo13[row] if scheme == SCHEME_2021_2023 else t.sdo24[row]
        level = t.level[row]
        precision = gaz.places.at[row, "precision"]
        records.append(
            (
                t.x[row],
                t.y[row],
                precision,
                unc,
                t.name[row],
                t.stadsdel[row] if level < 2 else None,
                district,
            )
        )
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
        used: it names only the municipality).
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
    out = _geocode(
        events["summary"],
        events["body"],
        events["occurred_at"].tolist(),
        (events["category"] == Category.SUMMARY.value).tolist(),
        gaz,
        areas,
    )
    out.insert(0, "event_uid", events["event_uid"].to_numpy())
    out.index = events.index
    return out
