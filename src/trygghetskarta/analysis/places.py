"""The places an area's events name most often: where an orsaksanalys starts looking.

:func:`top_places` counts the ``place_name`` the geocoder gave each event. An event known
only to its district (or the kommun) carries the district's own name as its place, and
in every district that name would top the list; it says nothing about *where* in the
district things happen. So names of the district itself (``exclude``, compared without
regard to case or surrounding spaces) and events placed no finer than a district are left
out, and counted.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from trygghetskarta.analysis._frames import require
from trygghetskarta.errors import AnalysisError

__all__ = ["DISTRICT_LEVEL", "top_places"]

#: Precision classes that name no place inside a district.
DISTRICT_LEVEL = ("stadsdelsomrade", "kommun", "none")


def _key(name: object) -> str:
    return " ".join(str(name).split()).casefold()


def top_places(
    events: pd.DataFrame,
    *,
    exclude: str | Iterable[str] = (),
    n: int = 10,
    column: str = "place_name",
) -> pd.DataFrame:
    """The places named most often in the events, without the area's own name.

    Parameters
    ----------
    events
        Events with a ``place_name`` column (and, when present, ``precision``: events
        placed only to a district, the kommun or nowhere are left out; and
        ``sensitive``: sensitive events are left out).
    exclude
        Names that are not places inside the area: the district's own name (and, across
        the 2024 reform, its former names, e.g. ``["Norra innerstaden", "Norrmalm",
        "Östermalm"]``). Compared without regard to case and surrounding spaces.
    n
        How many places to return (the most frequent; ties by name).
    column
        The column holding the place names.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``place`` with ``events`` (the count) and ``share`` (of the events
        named by some place other than those excluded), most frequent first.
        ``attrs`` holds ``n_excluded`` (events whose place is an excluded name or only a
        district, or that are sensitive) and ``n_unnamed`` (events with no place name).

    Raises
    ------
    SchemaError
        ``events`` lacks the column.
    AnalysisError
        ``n`` is not a whole number ≥ 1.

    Examples
    --------
    >>> events = pd.DataFrame({
    ...     "place_name": ["Södermalm", "Slussen", "Hornstull", "Slussen", None, "SÖDERMALM"],
    ...     "precision": ["stadsdel", "place", "place", "place", "kommun", "stadsdel"],
    ... })
    >>> top = top_places(events, exclude="Södermalm")
    >>> top.to_dict("index")
    {'Slussen': {'events': 2, 'share': 0.667}, 'Hornstull': {'events': 1, 'share': 0.333}}
    >>> top.attrs
    {'n_excluded': 2, 'n_unnamed': 1}
    """
    require(events, [column], "events")
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise AnalysisError(f"n must be a whole number ≥ 1, got {n!r}")
    names = [exclude] if isinstance(exclude, str) else list(exclude)
    skip = {_key(x) for x in names}
    place = events[column]
    named = place.notna() & (place.astype(str).str.strip() != "")
    excluded = named & place.map(_key).isin(skip)
    if "precision" in events.columns:
        excluded |= named & events["precision"].isin(DISTRICT_LEVEL)
    if "sensitive" in events.columns:
        excluded |= named & events["sensitive"].fillna(False).astype(bool)
    kept = place[named & ~excluded].astype(str).str.strip()
    counts = kept.value_counts()
    frame = (
        pd.DataFrame({"place": counts.index, "events": counts.to_numpy(dtype="int64")})
        .sort_values(["events", "place"], ascending=[False, True], kind="stable")
        .head(int(n))
        .set_index("place")
    )
    total = int(counts.sum())
    frame["share"] = (frame["events"] / total).round(3) if total else 0.0
    frame.attrs = {"n_excluded": int(excluded.sum()), "n_unnamed": int((~named).sum())}
    return frame
