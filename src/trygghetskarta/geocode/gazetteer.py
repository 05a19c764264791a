"""The compiled matcher behind :mod:`trygghetskarta.geocode`.

:func:`load_gazetteer` takes the place table of :func:`trygghetskarta.geocode.places.build_places`
and compiles every name into a dict of normalised forms; :meth:`Gazetteer.matches` finds
them in a text in one pass (see the module docstring of ``geocode`` for the rules).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import shapely

from trygghetskarta.errors import SourceError
from trygghetskarta.geocode.places import (
    KINDS,
    MIN_LETTERS,
    PLACE_COLUMNS,
    build_places,
    equal_area_radius,
    letters,
    read_curated,
    read_streets,
    stadsdel_cores,
)
from trygghetskarta.schema import Precision

if TYPE_CHECKING:
    from trygghetskarta.areas import Areas

__all__ = [
    "LEVEL",
    "Gazetteer",
    "Match",
    "equal_area_radius",
    "load_gazetteer",
    "normalise",
    "read_curated",
    "read_streets",
]

LEVEL = {Precision.STREET: 0, Precision.PLACE: 0, Precision.STADSDEL: 1}
_WORD_RE = re.compile(r"\w+(?::\w+)*")
_DASH_SEP_RE = re.compile(r"\s*[-‐‑–—]\s*")
_SPACE_SEP_RE = re.compile(r"\s+")
#: Words naming a police unit or station: a place name right after them (with or without
#: "i"/"på") names the unit, not where something happened.
_UNIT_WORDS = frozenset(
    {"lokalpolisområde", "lokalpolisområdet", "lpo", "polisområde", "polisområdet"}
    | {"polisstation", "polisstationen", "närpolisen", "arresten", "häktet"}
)
_PREPOSITIONS = frozenset({"i", "på", "vid"})
#: A place name right after these words is a direction ("på väg mot Slussen", "i riktning
#: mot city", "olyckan skedde i riktning Alvik"), not where the incident happened.
_DIRECTION_WORDS = frozenset({"mot", "riktning"})
#: A misspelt name ("Hammaryhöjden", "Hässelby villastd") matches a form one edit away when
#: both have at least this many letters, the text's word is capitalised and not the first
#: of a sentence, no other form is as near, and it spans at most two words (the second of
#: at least three letters).
FUZZY_MIN_LETTERS = 8
FUZZY_MAX_WORDS = 2


def _tokens(text: str) -> tuple[list[str], list[str | None], list[int]]:
    """Words, the separator before each (" ", "-" or None = break) and start offsets."""
    words: list[str] = []
    seps: list[str | None] = []
    starts: list[int] = []
    end = 0
    for m in _WORD_RE.finditer(text):
        gap = text[end : m.start()]
        if not words:
            seps.append(None)
        elif _SPACE_SEP_RE.fullmatch(gap):
            seps.append(" ")
        elif _DASH_SEP_RE.fullmatch(gap):
            seps.append("-")
        else:
            seps.append(None)
        words.append(m.group(0))
        starts.append(m.start())
        end = m.end()
    return words, seps, starts


def _after_unit(lowered: list[str], seps: list[str | None], i: int) -> bool:
    """Whether word ``i`` follows a police unit ("lokalpolisområde Globen",
    "polisstationen i Vällingby"): the name of an organisation, not of the incident's place."""
    k = i - 1
    if k >= 0 and seps[k + 1] == " " and lowered[k] in _PREPOSITIONS:
        k -= 1
    return k >= 0 and seps[k + 1] == " " and lowered[k] in _UNIT_WORDS


def normalise(name: str) -> str | None:
    """The lookup key of a name: lower case, one space between words, ``-`` for dashes.

    Returns ``None`` for a name that can never match (punctuation inside, e.g. ``"A. Lind"``).
    """
    words, seps, _ = _tokens(name)
    if not words or any(s is None for s in seps[1:]):
        return None
    return words[0].lower() + "".join(
        f"{s}{w.lower()}" for s, w in zip(seps[1:], words[1:], strict=True)
    )


#: Abbreviated first words of names as the police write them ("G:a stan", "S:t Eriksplan").
_ABBREVIATIONS = {"gamla": "g:a", "sankt": "s:t", "norra": "n:a", "södra": "s:a"}


def _forms(name: str) -> list[tuple[str, bool]]:
    """Lookup keys of a name: itself, with spaces for dashes, ``X centrum`` for ``X C``, the
    abbreviated first word (``G:a stan``), and genitives (flagged)."""
    key = normalise(name)
    if key is None:
        return []
    bases = [key]
    if "-" in key:  # "T Centralen", "Hässelby Vällingby"
        bases.append(key.replace("-", " "))
    if key.endswith(" c"):
        bases.append(key[:-2] + " centrum")
    first, _, rest = key.partition(" ")
    if rest and first in _ABBREVIATIONS:
        bases.append(f"{_ABBREVIATIONS[first]} {rest}")
    out: list[tuple[str, bool]] = []
    for base in bases:
        out.append((base, False))
        if base[-1] not in "sxz":
            out.append((base + "s", True))
    return [(k, gen) for k, gen in out if " " in k or "-" in k or letters(k) >= MIN_LETTERS]


def _one_off(key: str) -> set[str]:
    """The key and every string one deletion away from it (symmetric-delete neighbours)."""
    return {key} | {key[:j] + key[j + 1 :] for j in range(len(key))}


def fuzzy_index(forms: dict[str, tuple[int, bool]], exact: set[str]) -> dict[str, int]:
    """Deletion neighbours of the forms that may match misspelt (see :data:`FUZZY_MIN_LETTERS`).

    Parameters
    ----------
    forms
        Normalised form → (row, capitalised-only flag), as in :class:`Gazetteer`.
    exact
        The forms eligible (not genitives, not capitalised-only words).

    Returns
    -------
    dict
        Neighbour → row, or -1 where two places share a neighbour (never matched).
    """
    index: dict[str, int] = {}
    for key in sorted(exact):
        words = key.count(" ") + key.count("-") + 1
        if letters(key) < FUZZY_MIN_LETTERS or words > FUZZY_MAX_WORDS:
            continue
        row = forms[key][0]
        for near in _one_off(key):
            index[near] = row if index.get(near, row) == row else -1
    return index


@dataclass(frozen=True)
class Match:
    """One place name found in a text; ``weak`` when it follows a direction word ("mot")."""

    row: int
    text: str
    start: int
    weak: bool = False


@dataclass(frozen=True, eq=False)
class Gazetteer:
    """A compiled place-name matcher and its place table.

    Attributes
    ----------
    places
        One row per place, columns :data:`trygghetskarta.geocode.places.PLACE_COLUMNS`: ``name,
        kind, precision, x, y`` (EPSG:3006), ``uncertainty_m``, ``stadsdel, sdo_2021_2023,
        sdo_2024`` (None where not one), ``span`` and ``near`` (tuples of stadsdelar, see
        :mod:`trygghetskarta.geocode.places`), ``source``. Outside places have precision
        ``kommun`` and no point; ignored words precision ``none``.
    forms
        Normalised form → (row in ``places``, capitalised-only flag).
    max_words
        The longest form in words.
    first_words
        Lower-cased first words of every form (a fast pre-filter).
    stadsdel_rows, district_rows
        Name → row of the stadsdel or district (13 and 2024 names) used when several names
        of one text fall back to a shared area.
    cores
        Stadsdel name → its core polygon (:func:`trygghetskarta.geocode.places.stadsdel_cores`):
        where a point must lie for the stadsdel layer and the district layer to agree.
    """

    places: pd.DataFrame
    forms: dict[str, tuple[int, bool]]
    max_words: int
    first_words: frozenset[str]
    stadsdel_rows: dict[str, int]
    district_rows: dict[str, int]
    cores: dict[str, shapely.Geometry]
    fuzzy: dict[str, int]

    def __len__(self) -> int:
        return len(self.places)

    def _exact(self, words: list[str], lowered: list[str], seps: list[str | None],
               i: int) -> tuple[int, int] | None:  # fmt: skip
        """(row, length in words) of the longest form starting at word ``i``."""
        if lowered[i] not in self.first_words:
            return None
        key, keys = lowered[i], [lowered[i]]
        for j in range(i + 1, min(len(words), i + self.max_words)):
            if seps[j] is None:
                break
            key = f"{key}{seps[j]}{lowered[j]}"
            keys.append(key)
        for length in range(len(keys), 0, -1):
            hit = self.forms.get(keys[length - 1])
            if hit is not None and not (hit[1] and not words[i][0].isupper()):
                return hit[0], length
        return None

    def _fuzzy(self, words: list[str], lowered: list[str], seps: list[str | None],
               i: int, shorter_than: int) -> tuple[int, int] | None:  # fmt: skip
        """(row, length) of a misspelt form at word ``i`` longer than ``shorter_than``."""
        if not self.fuzzy or seps[i] is None or not words[i][:1].isupper():
            return None
        keys = [lowered[i]]
        if (
            i + 1 < len(words) and seps[i + 1] is not None and FUZZY_MAX_WORDS > 1
            and letters(lowered[i + 1]) >= 3  # not "Bredäng i" for "Bredäng C"
        ):  # fmt: skip
            keys.append(f"{lowered[i]}{seps[i + 1]}{lowered[i + 1]}")
        for length in range(len(keys), shorter_than, -1):
            key = keys[length - 1]
            if letters(key) < FUZZY_MIN_LETTERS or key in self.forms:
                continue
            rows = {self.fuzzy[k] for k in _one_off(key) if k in self.fuzzy}
            if len(rows) == 1 and -1 not in rows:
                return rows.pop(), length
        return None

    def matches(self, text: str | None) -> list[Match]:
        """Every place name in ``text``, left to right, longest form first at each word.

        A misspelt name one edit from a form matches when no exact form at that word is as
        long (see :data:`FUZZY_MIN_LETTERS`).
        """
        if not isinstance(text, str) or not text:
            return []
        words, seps, starts = _tokens(text)
        lowered = [w.lower() for w in words]
        out: list[Match] = []
        i, n = 0, len(words)
        first, fuzzy = self.first_words, bool(self.fuzzy)
        while i < n:
            hit = self._exact(words, lowered, seps, i) if lowered[i] in first else None
            if (
                fuzzy and seps[i] is not None and words[i][0].isupper()
                and (hit is None or hit[1] < FUZZY_MAX_WORDS)
            ):  # fmt: skip
                hit = self._fuzzy(words, lowered, seps, i, hit[1] if hit else 0) or hit
            if hit is None:
                i += 1
                continue
            row, length = hit
            end = starts[i + length - 1] + len(words[i + length - 1])
            if not _after_unit(lowered, seps, i):
                weak = i > 0 and seps[i] == " " and lowered[i - 1] in _DIRECTION_WORDS
                out.append(Match(row, text[starts[i] : end], starts[i], weak))
            i += length
        return out


def load_gazetteer(
    data_dir: Path | str,
    areas: Areas,
    *,
    curated_path: Path | None = None,
    streets_path: Path | None = None,
) -> Gazetteer:
    """Build the place table and matcher.

    Parameters
    ----------
    data_dir
        The input data directory holding ``gazetteer/stockholm_placenames.csv``.
    areas
        From :func:`trygghetskarta.areas.load_areas`; gives polygons, radii and the
        stadsdel → district mapping.
    curated_path, streets_path
        Other lists instead of the packaged ``resources/places_curated.csv`` and
        ``resources/streets_curated.csv``.

    Returns
    -------
    Gazetteer

    Raises
    ------
    SourceError
        A file is missing or malformed, or a curated ``refers_to`` names nothing known.
    """
    cores = stadsdel_cores(areas)
    places, aliases = build_places(
        data_dir, areas, curated_path=curated_path, streets_path=streets_path, cores=cores
    )
    forms: dict[str, tuple[int, bool]] = {}
    rank: dict[str, tuple[int, int]] = {}

    def register(key: str, row: int, genitive: bool, capitalised: bool, priority: int) -> None:
        order = (int(genitive), priority)
        if key not in forms or order < rank[key]:
            forms[key] = (row, capitalised)
            rank[key] = order

    has_forms = "forms" in places
    for i, row in places.iterrows():
        names = row["forms"] if has_forms and isinstance(row["forms"], list) else [row["name"]]
        cap = has_forms and row.get("match") == "capitalised"
        for name in names:
            for key, gen in _forms(name):
                register(key, int(i), gen, cap, KINDS[row["kind"]][1])
    for form, target, match, source in aliases:
        key = normalise(target)
        if key is None or key not in forms:
            raise SourceError(
                f"{source}: {form!r} refers_to {target!r}, which no place is called"
                " — use a name from the gazetteer or the curated list"
            )
        for k, gen in _forms(form):
            register(k, forms[key][0], gen, match == "capitalised", -1)
    exact = {k for k, (gen, _) in rank.items() if not gen and not forms[k][1]}
    places = places[list(PLACE_COLUMNS)]
    kind = places["kind"]
    stadsdel_rows = {n: int(i) for i, n in places.loc[kind == "stadsdel", "name"].items()}
    district_rows = {
        n: int(i) for i, n in places.loc[kind.str.startswith("stadsdelsomrade"), "name"].items()
    }
    return Gazetteer(
        places=places,
        forms=forms,
        max_words=max(k.count(" ") + k.count("-") + 1 for k in forms),
        first_words=frozenset(re.split(r"[ -]", k)[0] for k in forms),
        stadsdel_rows=stadsdel_rows,
        district_rows=district_rows,
        cores=cores,
        fuzzy=fuzzy_index(forms, exact),
    )
