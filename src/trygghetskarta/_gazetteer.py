"""The place table and the compiled matcher behind :mod:`trygghetskarta.geocode`.

:func:`load_gazetteer` merges the derived gazetteer (``gazetteer/stockholm_placenames.csv``)
with the curated list (``resources/places_curated.csv``) into one place table in EPSG:3006,
and compiles every name into a dict of normalised forms; :meth:`Gazetteer.matches` finds
them in a text in one pass (see the module docstring of ``geocode`` for the rules).

Curated list columns: ``name, aliases`` (``|``-separated), ``kind`` (square, station,
landmark, street, colloquial, outside, ignore), ``lon, lat`` (WGS84) with ``stadsdel`` (the
stadsdel the point must fall in: checked on load and by the tests) or ``refers_to`` (a
name in the gazetteer or the list: the row only adds forms for that place),
``uncertainty_m`` (blank → the schema default of the kind's class), ``match``
(``capitalised``: the name is also an ordinary word and matches only with a capital
initial), ``note``. ``outside`` rows name places beyond the kommun; ``ignore`` rows name
things that are not incident places (hospitals victims are taken to, sports clubs, the
region) and, being longer or curated, shadow the place names inside them.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from trygghetskarta.areas import Areas, assign
from trygghetskarta.config import STORE_CRS, WEB_CRS
from trygghetskarta.errors import SourceError
from trygghetskarta.schema import UNCERTAINTY_M, Precision

logger = logging.getLogger(__name__)

GAZETTEER_FILE = Path("gazetteer") / "stockholm_placenames.csv"
CURATED_RESOURCE = "places_curated.csv"
VALDISTRIKT_UNCERTAINTY_M = 300.0
STREET_UNCERTAINTY_M = 600.0
MIN_LETTERS = 4

# Kind → (precision, priority when two places share a form: lower wins).
_KINDS: dict[str, tuple[Precision, int]] = {
    "square": (Precision.PLACE, 0),
    "station": (Precision.PLACE, 0),
    "landmark": (Precision.PLACE, 0),
    "colloquial": (Precision.PLACE, 0),
    "street": (Precision.STREET, 0),
    "outside": (Precision.KOMMUN, 0),
    "ignore": (Precision.NONE, 0),
    "stadsdel": (Precision.STADSDEL, 1),
    "stadsdelsomrade_2021_2023": (Precision.STADSDELSOMRADE, 2),
    "stadsdelsomrade_2024": (Precision.STADSDELSOMRADE, 2),
    "regso_2025": (Precision.PLACE, 3),
    "valdistrikt_place": (Precision.PLACE, 4),
    "valdistrikt_street": (Precision.STREET, 4),
}
LEVEL = {Precision.STREET: 0, Precision.PLACE: 0, Precision.STADSDEL: 1}
_WORD_RE = re.compile(r"\w+(?::\w+)*")
_DASH_SEP_RE = re.compile(r"\s*[-‐‑–—]\s*")
_SPACE_SEP_RE = re.compile(r"\s+")
_STREET_RE = re.compile(r"(gatan|vägen|väg|gränd|allé|stråket|svängen|gången|ringen)$")
_VD_DROP = {"N", "S", "Ö", "V", "NV", "NO", "NÖ", "SV", "SO", "SÖ", "mellersta", "mellan"}
_VD_DROP |= {"inre", "yttre", "nedre", "mfl"}
#: Words naming a police unit or station: a place name right after them (with or without
#: "i"/"på") names the unit, not where something happened.
_UNIT_WORDS = frozenset(
    {"lokalpolisområde", "lokalpolisområdet", "lpo", "polisområde", "polisområdet"}
    | {"polisstation", "polisstationen", "närpolisen", "arresten", "häktet"}
)
_PREPOSITIONS = frozenset({"i", "på", "vid"})
PLACE_COLUMNS = (
    "name",
    "kind",
    "precision",
    "x",
    "y",
    "uncertainty_m",
    "stadsdel",
    "sdo_2021_2023",
    "sdo_2024",
    "source",
)


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


def _forms(name: str) -> list[tuple[str, bool]]:
    """Lookup keys of a name: itself, ``X centrum`` for ``X C``, and genitives (flagged)."""
    key = normalise(name)
    if key is None:
        return []
    bases = [key]
    if key.endswith(" c"):
        bases.append(key[:-2] + " centrum")
    out: list[tuple[str, bool]] = []
    for base in bases:
        out.append((base, False))
        if base[-1] not in "sxz":
            out.append((base + "s", True))
    return [(k, gen) for k, gen in out if " " in k or "-" in k or _letters(k) >= MIN_LETTERS]


def _letters(key: str) -> int:
    return sum(ch.isalpha() for ch in key)


def equal_area_radius(area_m2: float) -> float:
    return float(math.sqrt(area_m2 / math.pi))


@dataclass(frozen=True)
class Match:
    """One place name found in a text."""

    row: int
    text: str
    start: int


@dataclass(frozen=True, eq=False)
class Gazetteer:
    """A compiled place-name matcher and its place table.

    Attributes
    ----------
    places
        One row per place: ``name, kind, precision, x, y`` (EPSG:3006), ``uncertainty_m``,
        ``stadsdel, sdo_2021_2023, sdo_2024`` (None where unknown), ``source``. Outside
        places have precision ``kommun`` and no point; ignored words precision ``none``.
    forms
        Normalised form → (row in ``places``, capitalised-only flag).
    max_words
        The longest form in words.
    first_words
        Lower-cased first words of every form (a fast pre-filter).
    stadsdel_rows, district_rows
        Name → row of the stadsdel or district (13 and 2024 names) used when several names
        of one text fall back to a shared area.
    stadsdel_geoms
        Stadsdel name → polygon (EPSG:3006), for the consistency checks.
    """

    places: pd.DataFrame
    forms: dict[str, tuple[int, bool]]
    max_words: int
    first_words: frozenset[str]
    stadsdel_rows: dict[str, int]
    district_rows: dict[str, int]
    stadsdel_geoms: dict[str, Any] = field(repr=False)

    def __len__(self) -> int:
        return len(self.places)

    def matches(self, text: str | None) -> list[Match]:
        """Every place name in ``text``, left to right, longest form first at each word."""
        if not isinstance(text, str) or not text:
            return []
        words, seps, starts = _tokens(text)
        lowered = [w.lower() for w in words]
        out: list[Match] = []
        i, n = 0, len(words)
        while i < n:
            if lowered[i] not in self.first_words:
                i += 1
                continue
            key, keys = lowered[i], [lowered[i]]
            for j in range(i + 1, min(n, i + self.max_words)):
                if seps[j] is None:
                    break
                key = f"{key}{seps[j]}{lowered[j]}"
                keys.append(key)
            for length in range(len(keys), 0, -1):
                hit = self.forms.get(keys[length - 1])
                if hit is None or (hit[1] and not words[i][0].isupper()):
                    continue
                end = starts[i + length - 1] + len(words[i + length - 1])
                if not _after_unit(lowered, seps, i):
                    out.append(Match(hit[0], text[starts[i] : end], starts[i]))
                i += length
                break
            else:
                i += 1
        return out


def read_curated(path: Path | None = None) -> pd.DataFrame:
    """The curated place list as strings (blank cells are ``""``).

    Parameters
    ----------
    path
        Another list in the same format; default the packaged ``resources/places_curated.csv``.
    """
    if path is None:
        with (
            resources.files("trygghetskarta.resources")
            .joinpath(CURATED_RESOURCE)
            .open(encoding="utf-8") as fh
        ):
            frame = pd.read_csv(fh, dtype=str, keep_default_na=False)
        origin = f"resources/{CURATED_RESOURCE}"
    else:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        origin = str(path)
    need = ["name", "aliases", "kind", "lon", "lat", "refers_to", "uncertainty_m", "match"]
    missing = [c for c in need if c not in frame.columns]
    bad_kind = sorted(set(frame.get("kind", pd.Series(dtype=str))) - set(_KINDS))
    if missing or bad_kind:
        raise SourceError(
            f"{origin}: missing columns {missing}, unknown kinds {bad_kind}"
            f" — expected columns {need} and kinds {sorted(_KINDS)[:7]}"
        )
    frame["source"] = origin
    return frame


def _read_gazetteer(data_dir: Path) -> pd.DataFrame:
    path = Path(data_dir) / GAZETTEER_FILE
    if not path.is_file():
        raise SourceError(
            f"expected the gazetteer {path}, but it is missing — put the real data in "
            f"{data_dir} (see gazetteer/PROVENANCE.md) or pass another data_dir"
        )
    frame = pd.read_csv(path, dtype={"code": str})
    need = ["name", "kind", "code", "lat", "lon"]
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise SourceError(f"{path} lacks the columns {missing} — use the documented file")
    frame["source"] = str(GAZETTEER_FILE)
    return frame


def _valdistrikt_names(raw: str) -> list[str]:
    """Usable place names in a parsed valdistrikt name ("Spånga torg-Lunda" → both)."""
    if raw.startswith("Kv "):
        return []
    out = []
    for part in raw.split("-"):
        words = part.split()
        while words and words[-1] in _VD_DROP:
            words.pop()
        name = " ".join(words)
        if name and "." not in name and _letters(name) >= MIN_LETTERS:
            out.append(name)
    return out


def load_gazetteer(
    data_dir: Path | str, areas: Areas, *, curated_path: Path | None = None
) -> Gazetteer:
    """Build the place table and matcher.

    Parameters
    ----------
    data_dir
        The input data directory holding ``gazetteer/stockholm_placenames.csv``.
    areas
        From :func:`trygghetskarta.areas.load_areas`; gives polygons, radii and the
        stadsdel → district mapping.
    curated_path
        Another curated list instead of the packaged ``resources/places_curated.csv``.

    Returns
    -------
    Gazetteer

    Raises
    ------
    SourceError
        A file is missing or malformed, or a curated ``refers_to`` names nothing known.
    """
    to3006 = Transformer.from_crs(WEB_CRS, STORE_CRS, always_xy=True)
    gaz = _read_gazetteer(Path(data_dir))
    cur = read_curated(curated_path)
    rows: list[dict[str, Any]] = []

    def add(name: str, kind: str, x: float, y: float, unc: float, source: str, **kw: Any) -> None:
        rows.append(
            dict(
                name=name,
                kind=kind,
                precision=_KINDS[kind][0].value,
                x=x,
                y=y,
                uncertainty_m=unc,
                source=source,
                **kw,
            )
        )

    sdo13 = areas.sdo_13.set_index("name")
    sdo11 = areas.sdo_11.set_index("name")
    for name, row in sdo13.iterrows():
        pt = row.geometry.representative_point()
        add(
            str(name),
            "stadsdelsomrade_2021_2023",
            pt.x,
            pt.y,
            equal_area_radius(row.geometry.area),
            "boundaries",
            stadsdel=None,
            sdo_2021_2023=name,
            sdo_2024=row["name_2024"],
        )
    for name, row in sdo11.iterrows():
        if name in sdo13.index:
            continue
        pt = row.geometry.representative_point()
        add(
            str(name),
            "stadsdelsomrade_2024",
            pt.x,
            pt.y,
            equal_area_radius(row.geometry.area),
            "boundaries",
            stadsdel=None,
            sdo_2021_2023=None,
            sdo_2024=name,
        )
    for _, row in areas.stadsdelar.iterrows():
        pt = row.geometry.representative_point()
        add(
            row["name"],
            "stadsdel",
            pt.x,
            pt.y,
            equal_area_radius(row.geometry.area),
            "boundaries",
            stadsdel=row["name"],
            sdo_2021_2023=row["sdo_2021_2023"],
            sdo_2024=row["sdo_2024"],
        )
    n_fixed = len(rows)

    regso_area = dict(zip(areas.regso["code"], areas.regso.geometry.area, strict=True))
    gx, gy = to3006.transform(gaz["lon"].to_numpy(float), gaz["lat"].to_numpy(float))
    gaz["x"], gaz["y"] = gx, gy
    for _, row in gaz[gaz["kind"] == "regso_2025"].iterrows():
        unc = equal_area_radius(regso_area.get(row["code"], math.pi * 500.0**2))
        add(row["name"], "regso_2025", row["x"], row["y"], unc, row["source"])
    vd = gaz[gaz["kind"] == "valdistrikt_place"]
    parts = [
        (n, x, y)
        for raw, x, y in zip(vd["name"], vd["x"], vd["y"], strict=True)
        for n in _valdistrikt_names(str(raw))
    ]
    by_name: dict[str, list[tuple[str, float, float]]] = {}
    for name, x, y in parts:
        by_name.setdefault(normalise(name) or name, []).append((name, x, y))
    for group in by_name.values():
        xs, ys = np.array([g[1] for g in group]), np.array([g[2] for g in group])
        cx, cy = float(xs.mean()), float(ys.mean())
        spread = float(np.hypot(xs - cx, ys - cy).max())
        street = bool(_STREET_RE.search(group[0][0]))
        kind = "valdistrikt_street" if street else "valdistrikt_place"
        base = STREET_UNCERTAINTY_M if street else VALDISTRIKT_UNCERTAINTY_M
        add(group[0][0], kind, cx, cy, max(base, spread + base / 2), str(GAZETTEER_FILE))

    aliases: list[tuple[str, str, str, str]] = []  # (form name, refers_to, match, source)
    for _, row in cur.iterrows():
        forms = [row["name"], *[a for a in row["aliases"].split("|") if a.strip()]]
        if row["refers_to"]:
            aliases += [(f, row["refers_to"], row["match"], row["source"]) for f in forms]
            continue
        kind = row["kind"]
        if kind in ("outside", "ignore"):
            x = y = float("nan")
            unc = float("nan")
        else:
            x, y = to3006.transform(float(row["lon"]), float(row["lat"]))
            default = UNCERTAINTY_M[_KINDS[kind][0]] or 0.0
            unc = float(row["uncertainty_m"]) if row["uncertainty_m"] else default
        add(
            row["name"],
            kind,
            x,
            y,
            unc,
            row["source"],
            forms=forms,
            match=row["match"],
            expected=row.get("stadsdel") or None,
        )

    places = pd.DataFrame(rows)
    for col in ("stadsdel", "sdo_2021_2023", "sdo_2024"):
        places[col] = places[col].astype(object).where(places[col].notna(), None)
    # point-in-polygon for every point place (the fixed rows keep their own mapping)
    pointed = places.index[(places.index >= n_fixed) & places["x"].notna()]
    where = assign(
        places.loc[pointed, "x"].to_numpy(),
        places.loc[pointed, "y"].to_numpy(),
        pd.Timestamp("2023-06-01", tz="Europe/Stockholm"),
        areas,
    )
    places.loc[pointed, "stadsdel"] = where["stadsdel"].to_numpy()
    places.loc[pointed, "sdo_2021_2023"] = where["stadsdelsomrade"].to_numpy()
    d24 = dict(zip(areas.sdo_13["name"], areas.sdo_13["name_2024"], strict=True))
    places.loc[pointed, "sdo_2024"] = [d24.get(d) for d in where["stadsdelsomrade"]]
    if "expected" in places:
        wrong = places.loc[pointed, "expected"].notna() & (
            places.loc[pointed, "expected"] != places.loc[pointed, "stadsdel"]
        )
        for i in wrong[wrong].index:
            logger.warning(
                "curated place %r lies in %s, not in %s as listed — check its lon/lat",
                places.at[i, "name"],
                places.at[i, "stadsdel"],
                places.at[i, "expected"],
            )
    outside = pointed[~where["inside_kommun"].to_numpy()]
    if len(outside):
        logger.warning(
            "dropping places outside the kommun: %s", places.loc[outside, "name"].tolist()
        )
        places = places.drop(index=outside).reset_index(drop=True)

    forms: dict[str, tuple[int, bool]] = {}
    rank: dict[str, tuple[int, int]] = {}

    def register(key: str, row: int, genitive: bool, capitalised: bool, priority: int) -> None:
        order = (int(genitive), priority)
        if key not in forms or order < rank[key]:
            forms[key] = (row, capitalised)
            rank[key] = order

    for i, row in places.iterrows():
        names = row["forms"] if isinstance(row.get("forms"), list) else [row["name"]]
        cap = row.get("match") == "capitalised"
        for name in names:
            for key, gen in _forms(name):
                register(key, int(i), gen, cap, _KINDS[row["kind"]][1])
    for form, target, match, source in aliases:
        key = normalise(target)
        if key is None or key not in forms:
            raise SourceError(
                f"{source}: {form!r} refers_to {target!r}, which no place is called"
                " — use a name from the gazetteer or the curated list"
            )
        for k, gen in _forms(form):
            register(k, forms[key][0], gen, match == "capitalised", -1)
    places = places[list(PLACE_COLUMNS)]

    kind = places["kind"]
    stadsdel_rows = {n: int(i) for i, n in places.loc[kind == "stadsdel", "name"].items()}
    district_rows = {
        n: int(i) for i, n in places.loc[kind.str.startswith("stadsdelsomrade"), "name"].items()
    }
    geoms = dict(zip(areas.stadsdelar["name"], areas.stadsdelar.geometry, strict=True))
    for g in geoms.values():
        shapely.prepare(g)
    return Gazetteer(
        places=places,
        forms=forms,
        max_words=max(k.count(" ") + k.count("-") + 1 for k in forms),
        first_words=frozenset(re.split(r"[ -]", k)[0] for k in forms),
        stadsdel_rows=stadsdel_rows,
        district_rows=district_rows,
        stadsdel_geoms=geoms,
    )
