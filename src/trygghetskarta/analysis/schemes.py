"""District names across Stockholm's 2024 reform, for series that run through it.

Stockholm had 13 stadsdelsområden in 2021–2023 and has 11 from 2024: Järva =
Rinkeby-Kista + Spånga-Tensta, Norra innerstaden = Norrmalm + Östermalm, the other nine
unchanged. Each event carries the district *in force at its time*, so a series by that
column breaks at 2024-01-01. :func:`to_2024_districts` carries every event into the 11
areas (always possible); :func:`to_2021_2023_districts` carries them into the 13 areas,
splitting the merged districts by the events' stadsdel (possible for events placed at
least to a stadsdel). The mapping comes from the district layer
(:func:`scheme_mapping` of ``areas.Areas.sdo_13``), never from names typed here.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import pandas as pd

from trygghetskarta.analysis._frames import require
from trygghetskarta.analysis.trends import UNKNOWN
from trygghetskarta.errors import AnalysisError

__all__ = ["scheme_mapping", "to_2021_2023_districts", "to_2024_districts"]


def scheme_mapping(sdo_13: pd.DataFrame) -> dict[str, str]:
    """The 2021–2023 → 2024 district mapping from the 13-area layer.

    Parameters
    ----------
    sdo_13
        ``areas.Areas.sdo_13`` (columns ``name`` and ``name_2024``).

    Returns
    -------
    dict
        ``{"Rinkeby-Kista": "Järva", "Spånga-Tensta": "Järva", "Norrmalm": "Norra
        innerstaden", "Östermalm": "Norra innerstaden", "Farsta": "Farsta", …}``.

    Examples
    --------
    >>> layer = pd.DataFrame({"name": ["Norrmalm", "Östermalm", "Farsta"],
    ...                       "name_2024": ["Norra innerstaden", "Norra innerstaden", "Farsta"]})
    >>> scheme_mapping(layer)
    {'Norrmalm': 'Norra innerstaden', 'Östermalm': 'Norra innerstaden', 'Farsta': 'Farsta'}
    """
    require(sdo_13, ["name", "name_2024"], "district layer")
    return dict(zip(sdo_13["name"].astype(str), sdo_13["name_2024"].astype(str), strict=True))


def _check_names(values: pd.Series, known: set[str], mapping: Mapping[str, str]) -> None:
    present = {v for v in values.dropna().unique() if v != UNKNOWN}
    unknown = sorted(present - known, key=str)
    if unknown:
        raise AnalysisError(
            f"expected district names of either scheme ({sorted(mapping)} or "
            f"{sorted(set(mapping.values()))}), got {unknown} — check the spelling or pass "
            "the mapping of this data's district layer"
        )


def to_2024_districts(districts: pd.Series, mapping: Mapping[str, str]) -> pd.Series:
    """District names in the 11-area scheme of 2024, for series that run across the reform.

    Parameters
    ----------
    districts
        Names in the scheme in force at each event's time (the ``stadsdelsomrade``
        column): 2021–2023 names before 2024, 2024 names after.
    mapping
        2021–2023 name → 2024 name for all 13 areas (:func:`scheme_mapping`, or
        ``{n: areas.to_2024(n) for n in areas.sdo_13.name}``).

    Returns
    -------
    pandas.Series
        2024 names ("Rinkeby-Kista" and "Spånga-Tensta" → "Järva"; "Norrmalm" and
        "Östermalm" → "Norra innerstaden"); 2024 names, missing values and
        :data:`UNKNOWN` unchanged.

    Raises
    ------
    AnalysisError
        A name of neither scheme.

    Examples
    --------
    >>> m = {"Rinkeby-Kista": "Järva", "Spånga-Tensta": "Järva", "Farsta": "Farsta"}
    >>> to_2024_districts(pd.Series(["Rinkeby-Kista", "Järva", "Farsta"]), m).tolist()
    ['Järva', 'Järva', 'Farsta']
    """
    values = districts.astype(object)
    full = {v: v for v in mapping.values()} | dict(mapping)
    _check_names(values, set(full), mapping)
    out = [full.get(v, v) if isinstance(v, str) else v for v in values.to_numpy()]
    return pd.Series(out, index=values.index, dtype=object, name=districts.name)


def to_2021_2023_districts(
    districts: pd.Series,
    stadsdel: pd.Series,
    mapping: Mapping[str, str],
    stadsdel_districts: Mapping[str, str],
) -> pd.Series:
    """District names in the 13-area scheme of 2021–2023, also for events from 2024 on.

    A 2024 district that is one old district keeps that name; an event in a merged one
    (Järva, Norra innerstaden) takes the old district of its stadsdel. An event in a
    merged district without a usable stadsdel (placed only to the district) cannot be
    split and keeps the 2024 name, with a warning saying how many.

    Parameters
    ----------
    districts
        Names in the scheme in force at each event's time.
    stadsdel
        Each event's stadsdel (``areas.assign``'s names, e.g. "Rinkeby"); may be missing.
    mapping
        2021–2023 name → 2024 name (:func:`scheme_mapping`).
    stadsdel_districts
        Stadsdel name → 2021–2023 district (``zip(areas.stadsdelar.name,
        areas.stadsdelar.sdo_2021_2023)``).

    Returns
    -------
    pandas.Series
        2021–2023 names, with the index of ``districts``.

    Raises
    ------
    AnalysisError
        A name of neither scheme, or inputs of different lengths.

    Examples
    --------
    >>> m = {"Norrmalm": "Norra innerstaden", "Östermalm": "Norra innerstaden",
    ...      "Farsta": "Farsta"}
    >>> sd = {"Vasastaden": "Norrmalm", "Gärdet": "Östermalm", "Farsta": "Farsta"}
    >>> names = pd.Series(["Norra innerstaden", "Norra innerstaden", "Farsta"])
    >>> to_2021_2023_districts(names, pd.Series(["Gärdet", "Vasastaden", None]), m, sd).tolist()
    ['Östermalm', 'Norrmalm', 'Farsta']
    """
    if len(stadsdel) != len(districts):
        raise AnalysisError(
            f"expected one stadsdel per district value, got {len(stadsdel)} for {len(districts)}"
        )
    values = districts.astype(object)
    old_names = set(mapping)
    _check_names(values, old_names | set(mapping.values()), mapping)
    olds_of: dict[str, list[str]] = {}
    for old, new in mapping.items():
        olds_of.setdefault(new, []).append(old)
    back = {new: olds[0] for new, olds in olds_of.items() if len(olds) == 1}
    merged = {new: set(olds) for new, olds in olds_of.items() if len(olds) > 1}
    via = pd.Series(stadsdel.to_numpy(dtype=object), index=values.index).map(
        dict(stadsdel_districts)
    )
    out = values.copy()
    for new, old in back.items():
        if new not in old_names:
            out[values == new] = old
    unsplit = 0
    for new, olds in merged.items():
        here = (values == new).to_numpy()
        ok = here & via.isin(sorted(olds)).to_numpy()
        out[ok] = via[ok]
        unsplit += int((here & ~ok).sum())
    if unsplit:
        warnings.warn(
            f"{unsplit} events in a merged 2024 district have no stadsdel that splits it; "
            "they keep the 2024 name",
            UserWarning,
            stacklevel=2,
        )
    return out.astype(object)
