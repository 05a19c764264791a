"""Stockholm's district schemes as names and dates: no geometry, no I/O.

Stockholm had 13 stadsdelsområden from 2021-01-01 to 2023-12-31 and has 11 from
2024-01-01. Two of the 11 are unions of two of the 13; the other nine are the same areas
under the same names::

    Järva             = Rinkeby-Kista + Spånga-Tensta
    Norra innerstaden = Norrmalm + Östermalm

Before 2021 Hägersten-Liljeholmen and Älvsjö were separate (merged into Hägersten-Älvsjö).
Brå and the city name the same areas with small variations ("Hässelby - Vällingby",
"Stadsdelsområde Järva (Sthlm)", "Norrmalm stadsdel (upphörde 2024-01-01)");
:func:`normalise_name` folds those spellings. The geometric layers live in ``areas``;
this module holds what statistics tables need to line up with them, and the dates and
names the layers are read by (:func:`scheme_at`, :func:`title_case_stadsdel`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from trygghetskarta.schema import TIMEZONE

#: Area scheme values used by statistics tables (``crime_stats.area_scheme``).
SCHEME_KOMMUN = "kommun"
SCHEME_SDO_13 = "sdo_13"
SCHEME_SDO_11 = "sdo_11"
SCHEME_FORMER = "former_stadsdel"
SCHEME_REGION = "region"
SCHEME_COUNTY = "county"
SCHEME_COUNTRY = "country"
AREA_SCHEMES = (
    SCHEME_KOMMUN,
    SCHEME_SDO_13,
    SCHEME_SDO_11,
    SCHEME_FORMER,
    SCHEME_REGION,
    SCHEME_COUNTY,
    SCHEME_COUNTRY,
)

#: The first day of the 11-area scheme.
SWITCH_2024 = date(2024, 1, 1)
#: The first day of the 13-area scheme (Hägersten-Älvsjö formed).
SWITCH_2021 = date(2021, 1, 1)

#: The 13 stadsdelsområden of 2021–2023 → their name in the 11-area scheme.
SDO_13_TO_11: dict[str, str] = {
    "Rinkeby-Kista": "Järva",
    "Spånga-Tensta": "Järva",
    "Hässelby-Vällingby": "Hässelby-Vällingby",
    "Bromma": "Bromma",
    "Kungsholmen": "Kungsholmen",
    "Norrmalm": "Norra innerstaden",
    "Östermalm": "Norra innerstaden",
    "Södermalm": "Södermalm",
    "Enskede-Årsta-Vantör": "Enskede-Årsta-Vantör",
    "Skarpnäck": "Skarpnäck",
    "Farsta": "Farsta",
    "Hägersten-Älvsjö": "Hägersten-Älvsjö",
    "Skärholmen": "Skärholmen",
}
SDO_13: tuple[str, ...] = tuple(SDO_13_TO_11)
SDO_11: tuple[str, ...] = tuple(dict.fromkeys(SDO_13_TO_11.values()))
#: Names that exist only in the 13-area scheme, or only in the 11-area scheme.
ONLY_13 = frozenset(SDO_13) - frozenset(SDO_11)
ONLY_11 = frozenset(SDO_11) - frozenset(SDO_13)

#: The city's three regions (yearbook spelling "Inre staden" is folded to "Innerstaden",
#: the name used by the boundary layers).
REGION_OF_SDO_11: dict[str, str] = {
    "Järva": "Västerort",
    "Hässelby-Vällingby": "Västerort",
    "Bromma": "Västerort",
    "Kungsholmen": "Innerstaden",
    "Norra innerstaden": "Innerstaden",
    "Södermalm": "Innerstaden",
    "Enskede-Årsta-Vantör": "Söderort",
    "Skarpnäck": "Söderort",
    "Farsta": "Söderort",
    "Hägersten-Älvsjö": "Söderort",
    "Skärholmen": "Söderort",
}
REGIONS: tuple[str, ...] = ("Västerort", "Innerstaden", "Söderort")
REGION_ALIASES = {"Inre staden": "Innerstaden"}

#: When an area came into being; before that a table's values for it are either
#: computed afterwards (Brå: "framtagen i efterhand") or printed as 0 (not a count).
FORMED: dict[str, date] = {
    "Hägersten-Älvsjö": SWITCH_2021,
    "Järva": SWITCH_2024,
    "Norra innerstaden": SWITCH_2024,
}
#: When an area stopped existing (Brå's "upphörde" dates).
CEASED: dict[str, date] = {
    "Rinkeby-Kista": SWITCH_2024,
    "Spånga-Tensta": SWITCH_2024,
    "Norrmalm": SWITCH_2024,
    "Östermalm": SWITCH_2024,
    "Hägersten-Liljeholmen": SWITCH_2021,
    "Älvsjö": SWITCH_2021,
}

_DASHES = re.compile(r"\s*[-\u2010\u2011\u2012\u2013\u2014\u2212]\s*")
_SPACES = re.compile(r"\s+")


def normalise_name(name: str) -> str:
    """Fold the spellings of one area name: dashes, spaces around them, repeated spaces.

    >>> normalise_name("Enskede - Årsta - Vantör")
    'Enskede-Årsta-Vantör'
    >>> normalise_name("Malung\u2013Sälen")
    'Malung-Sälen'
    """
    text = _SPACES.sub(" ", str(name).replace("\u00a0", " ")).strip()
    return _DASHES.sub("-", text)


def scheme_for(name: str, period_start: date) -> str | None:
    """The district scheme a stadsdelsområde name belongs to for a period.

    Parameters
    ----------
    name
        A normalised district name.
    period_start
        The first day of the period the figure covers.

    Returns
    -------
    str or None
        :data:`SCHEME_SDO_11` for names only in the 11-area scheme and for shared names
        from 2024, :data:`SCHEME_SDO_13` for names only in the 13-area scheme and for
        shared names before 2024; None when the name is no stadsdelsområde.

    >>> scheme_for("Bromma", date(2023, 5, 1)), scheme_for("Bromma", date(2024, 1, 1))
    ('sdo_13', 'sdo_11')
    >>> scheme_for("Järva", date(2022, 1, 1))
    'sdo_11'
    """
    if name in ONLY_11:
        return SCHEME_SDO_11
    if name in ONLY_13:
        return SCHEME_SDO_13
    if name in SDO_11:
        return SCHEME_SDO_11 if period_start >= SWITCH_2024 else SCHEME_SDO_13
    return None


def scheme_in_force(period_start: date) -> str:
    """The district scheme in force on a day: ``sdo_13`` before 2024, ``sdo_11`` from 2024."""
    return SCHEME_SDO_11 if period_start >= SWITCH_2024 else SCHEME_SDO_13


# --------------------------------------------------------------------------- the map's two schemes

#: The schemes of the boundary layers (:mod:`trygghetskarta.areas`, which re-exports these):
#: what :func:`trygghetskarta.areas.assign` chooses a point's district by, keyed by the
#: point's time; the statistics tables' scheme values are the ``SCHEME_SDO_*`` above.
SCHEME_2021_2023 = "2021_2023"
SCHEME_2024 = "2024"
SCHEMES = (SCHEME_2021_2023, SCHEME_2024)
#: The 11-area scheme is in force from this instant on.
SCHEME_SWITCH = pd.Timestamp("2024-01-01", tz=TIMEZONE)

# Words of a stadsdel name kept capitalised after a leading Norra/Södra/Stora/Lilla/Gamla;
# every other word after the first is lower case ("Hässelby strand", "Bromma kyrka").
_PREFIXES = {"NORRA", "SÖDRA", "STORA", "LILLA", "GAMLA", "ÖSTRA", "VÄSTRA"}
_NAME_EXCEPTIONS = {
    "GAMLA STAN": "Gamla stan",
    "ULVSUNDA INDUSTRIOMR": "Ulvsunda industriområde",
}


def title_case_stadsdel(upper: str) -> str:
    """Write a Stadskartan stadsdel name (``"HÄSSELBY STRAND"``) the way people do.

    Parameters
    ----------
    upper
        The name in upper case, as in the source file.

    Returns
    -------
    str
        ``"Hässelby strand"``, ``"Gamla stan"``, ``"Norra Djurgården"``, ``"Vasastaden"``.
    """
    key = " ".join(upper.split()).upper()
    if key in _NAME_EXCEPTIONS:
        return _NAME_EXCEPTIONS[key]
    words = key.split(" ")
    out = [words[0].capitalize()]
    for i, word in enumerate(words[1:], start=1):
        keep = i == 1 and words[0] in _PREFIXES
        out.append(word.capitalize() if keep else word.lower())
    return " ".join(out)


def scheme_at(ts: Any) -> str:
    """The district scheme in force at one instant.

    Parameters
    ----------
    ts
        A timestamp (``pd.Timestamp``, ``datetime`` or ISO string). Naive values are read as
        Europe/Stockholm local time. ``NaT``/``None`` gives the current scheme.

    Returns
    -------
    str
        :data:`SCHEME_2021_2023` before 2024-01-01 00:00 Stockholm time, else :data:`SCHEME_2024`.
    """
    if ts is None or (not isinstance(ts, str) and pd.isna(ts)):
        return SCHEME_2024
    stamp = pd.Timestamp(ts)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(TIMEZONE)
    return SCHEME_2021_2023 if stamp < SCHEME_SWITCH else SCHEME_2024


def schemes_at(ts: pd.Series | pd.Index | Sequence[Any] | np.ndarray) -> pd.Series:
    """Vectorised :func:`scheme_at`.

    Datetime columns (tz-aware or naive ``datetime64``, as a Series, Index or array) are
    compared as arrays; only other inputs (objects, strings, mixed offsets) are parsed.

    Parameters
    ----------
    ts
        Timestamps; naive ones are read as Europe/Stockholm local time, ``NaT`` gives the
        current scheme.

    Returns
    -------
    pd.Series
        One scheme string per input, with the input's index when ``ts`` is a Series.
    """
    index = ts.index if isinstance(ts, pd.Series) else None
    dtype = getattr(ts, "dtype", None)
    if isinstance(dtype, pd.DatetimeTZDtype):
        # Already instants: compare as they are (NaT compares False: the current scheme).
        before = np.asarray(ts < SCHEME_SWITCH, dtype=bool)
    elif dtype is not None and dtype.kind == "M":
        # Naive datetimes are Stockholm local time; no clock change lies near New Year,
        # so comparing with the local switch instant is the same as localising first.
        before = np.asarray(ts < np.datetime64(SCHEME_SWITCH.tz_localize(None)), dtype=bool)
    else:
        stamps = pd.to_datetime(pd.Series(np.asarray(ts, dtype=object)), utc=False)
        if not isinstance(stamps.dtype, pd.DatetimeTZDtype):
            try:
                stamps = stamps.dt.tz_localize(TIMEZONE)
            except (TypeError, AttributeError):  # mixed offsets come back as objects
                stamps = pd.to_datetime(stamps, utc=True)
        before = (stamps < SCHEME_SWITCH).fillna(False).to_numpy(dtype=bool)
    out = pd.Series(np.where(before, SCHEME_2021_2023, SCHEME_2024), dtype=object)
    if index is not None:
        out.index = index
    return out
