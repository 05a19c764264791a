"""An address register (street, number, postcode, x, y) and address geocoding with it.

``trygghetskarta gazetteer load PATH`` reads a register — Lantmäteriet's open addresses or
the city's address layer, as CSV, XLSX, GeoPackage or GeoJSON — with :func:`load_register`;
:func:`geocode_addresses` then places the addresses of listed events:

1. street, number and letter found → precision ``address`` (the entrance's point; several
   points for one number, e.g. entrances A and B, give their mean and a radius covering
   them);
2. the street found but not the number → precision ``street`` at the street's middle (the
   median of its addresses) with a radius reaching its farthest address;
3. otherwise the fallback it is given — the project's text geocoder
   (:func:`trygghetskarta.geocode.geocode_text`), which knows squares, stations and places.

A street name that occurs in two parts of the kommun (more than :data:`SAME_PLACE_M` apart)
is only used when the postcode settles it; otherwise the address goes to the fallback. Names
are compared without case, dots or extra spaces; ``S:t``/``St.`` read as ``Sankt`` and
``-g.``/``-v.`` as ``-gatan``/``-vägen``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyogrio.errors import DataSourceError

from trygghetskarta.areas import to_store_crs
from trygghetskarta.config import STORE_CRS
from trygghetskarta.errors import SourceError
from trygghetskarta.schema import GEOCODED_COLUMNS, UNCERTAINTY_M, Precision
from trygghetskarta.sources import _coords
from trygghetskarta.sources._listfile import find_column, parse_number, read_table, text

#: Points of one street name further apart than this may be two different streets.
SAME_PLACE_M = 1_500.0
#: Register columns and the names recognised for them.
ALIASES: dict[str, tuple[str, ...]] = {
    "street": ("Gatunamn", "Gata", "Gatuadress", "Adressområde", "adressomrade", "Street"),
    "number": ("Gatunummer", "Adressplatsnummer", "adressplatsnummer", "Nummer", "Husnummer"),
    "letter": ("Bokstavstillägg", "bokstavstillagg", "Bokstav", "Littera"),
    "postcode": ("Postnummer", "Postnr", "postnummer"),
    "city": ("Postort", "postort", "Ort"),
    "x": ("X", "E", "Easting", "Öst", "Koordinat X", "x_koord"),
    "y": ("Y", "N", "Northing", "Nord", "Koordinat Y", "y_koord"),
}
REGISTER_COLUMNS = ("street_key", "street", "number", "letter", "postcode", "city", "x", "y")

_ADDRESS = re.compile(
    r"^(?P<street>.*?[^\d\s,])\s*(?P<number>\d{1,4})\s*(?P<letter>[a-zåäö](?![a-zåäö]))?"
    r"(?:\s*[-–]\s*\d{1,4}\s*[a-zåäö]?)?(?P<rest>.*)$",
    re.IGNORECASE,
)
_POSTCODE = re.compile(r"\b(\d{3})\s?(\d{2})\b")


def street_key(name: str | None) -> str | None:
    """The form street names are compared in.

    Examples
    --------
    >>> street_key("S:t Eriksgatan")
    'sankt eriksgatan'
    >>> street_key("Drottningg.")
    'drottninggatan'
    """
    if not name:
        return None
    key = name.casefold().strip()
    key = re.sub(r"^(?:s:t|st\.?)\s+", "sankt ", key)
    key = re.sub(r"g\.$", "gatan", key)
    key = re.sub(r"v\.$", "vägen", key)
    key = re.sub(r"[.,]", " ", key)
    key = re.sub(r"\s*-\s*", "-", key)
    key = re.sub(r"\s+", " ", key).strip()
    return key or None


@dataclass(frozen=True)
class ParsedAddress:
    """An address string split into its parts (any part may be None)."""

    street: str | None
    number: int | None
    letter: str | None
    postcode: str | None


def parse_address(value: str | None) -> ParsedAddress:
    """Split ``"Götgatan 48 B, 118 26 Stockholm"`` into street, number, letter, postcode.

    A range (``"Götgatan 48-50"``) keeps its first number; ``lgh``/``tr`` parts and the
    town are dropped; an address without a number is a street only.

    Examples
    --------
    >>> parse_address("Götgatan 48 B, 118 26 Stockholm")
    ParsedAddress(street='götgatan', number=48, letter='b', postcode='11826')
    >>> parse_address("Vällingbyplan")
    ParsedAddress(street='vällingbyplan', number=None, letter=None, postcode=None)
    """
    if not value or not value.strip():
        return ParsedAddress(None, None, None, None)
    raw = value.strip()
    postcode = None
    if m := _POSTCODE.search(raw):
        postcode = m.group(1) + m.group(2)
    head = raw.split(",")[0].strip()
    if m := _ADDRESS.match(head):
        letter = (m.group("letter") or "").casefold() or None
        return ParsedAddress(
            street_key(m.group("street")), int(m.group("number")), letter, postcode
        )
    return ParsedAddress(street_key(head), None, None, postcode)


@dataclass(frozen=True)
class AddressRegister:
    """Addresses in EPSG:3006 with lookups by street and number.

    Attributes
    ----------
    table
        :data:`REGISTER_COLUMNS`, one row per address point.
    """

    table: pd.DataFrame

    def __post_init__(self) -> None:
        by_street = {k: g.index.to_numpy() for k, g in self.table.groupby("street_key", sort=False)}
        object.__setattr__(self, "_by_street", by_street)

    def __len__(self) -> int:
        return len(self.table)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> AddressRegister:
        """Rebuild from :meth:`to_frame` (e.g. read back from the store)."""
        missing = [c for c in REGISTER_COLUMNS if c not in frame.columns]
        if missing:
            raise SourceError(f"the address register lacks {missing} — load it again")
        return cls(frame[list(REGISTER_COLUMNS)].reset_index(drop=True))

    def to_frame(self) -> pd.DataFrame:
        """The table, for ``store.replace_table(con, "address_register", …)``."""
        return self.table.copy()

    def _rows(self, street: str, postcode: str | None) -> np.ndarray | None:
        rows = self._by_street.get(street)  # type: ignore[attr-defined]
        if rows is None:
            return None
        if postcode:
            same = rows[self.table["postcode"].to_numpy()[rows] == postcode]
            if len(same):
                return same
        xs, ys = self.table["x"].to_numpy()[rows], self.table["y"].to_numpy()[rows]
        if np.hypot(xs - np.median(xs), ys - np.median(ys)).max() > SAME_PLACE_M:
            return np.array([], dtype=int)  # two streets of one name: the postcode must decide
        return rows

    def lookup(self, address: str | None) -> tuple[float, float, str, float, str] | None:
        """``(x, y, precision, uncertainty_m, matched)`` for one address, or None.

        Examples
        --------
        >>> reg = AddressRegister(pd.DataFrame({"street_key": ["götgatan"] * 2,
        ...     "street": ["Götgatan"] * 2, "number": [48, 50], "letter": [None, None],
        ...     "postcode": ["11826"] * 2, "city": ["Stockholm"] * 2,
        ...     "x": [674800.0, 674810.0], "y": [6578800.0, 6578760.0]}))
        >>> reg.lookup("Götgatan 48")[:3]
        (674800.0, 6578800.0, 'address')
        >>> reg.lookup("Götgatan 12")[2]
        'street'
        """
        parts = parse_address(address)
        if parts.street is None:
            return None
        rows = self._rows(parts.street, parts.postcode)
        if rows is None or len(rows) == 0:
            return None
        t = self.table
        xs, ys = t["x"].to_numpy()[rows], t["y"].to_numpy()[rows]
        if parts.number is not None:
            numbers = t["number"].to_numpy()[rows]
            hit = numbers == parts.number
            if parts.letter is not None:
                letters = t["letter"].to_numpy()[rows]
                exact = hit & (letters == parts.letter)
                hit = exact if exact.any() else hit
            if hit.any():
                x, y = float(xs[hit].mean()), float(ys[hit].mean())
                spread = float(np.hypot(xs[hit] - x, ys[hit] - y).max())
                unc = max(float(UNCERTAINTY_M[Precision.ADDRESS] or 25.0), spread)
                name = f"{t['street'].iloc[rows[0]]} {parts.number}{(parts.letter or '').upper()}"
                return x, y, Precision.ADDRESS.value, unc, name
        x, y = float(np.median(xs)), float(np.median(ys))
        unc = max(
            float(UNCERTAINTY_M[Precision.ADDRESS] or 25.0), float(np.hypot(xs - x, ys - y).max())
        )
        return x, y, Precision.STREET.value, unc, str(t["street"].iloc[rows[0]])


@dataclass(frozen=True)
class RegisterLoad:
    """What :func:`load_register` returns: the register, the rows left out and why."""

    register: AddressRegister
    rejected: pd.DataFrame
    read: int
    notes: list[str]


def _columns(
    header: Sequence[str],
    columns: Mapping[str, str] | None,
    path: Path,
    required: Sequence[str] = ("street", "number", "x", "y"),
) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, aliases in ALIASES.items():
        wanted = [columns[name]] if columns and name in columns else list(aliases)
        column = find_column(header, wanted)
        if column is not None:
            found[name] = column
    need = [n for n in required if n not in found]
    if need:
        first = need[0]
        raise SourceError(
            f"{path}: no column for the address register's {first} (expected "
            f"{' or '.join(repr(a) for a in ALIASES[first][:3])}, got {list(header)}) — pass "
            f"--column {first}=<column> to `trygghetskarta gazetteer load`"
        )
    return found


def _read_rows(path: Path, columns: Mapping[str, str] | None) -> tuple[pd.DataFrame, list[str]]:
    """Register rows as a frame of the alias columns, plus x/y as numbers."""
    if path.suffix.lower() in (".gpkg", ".geojson", ".json", ".shp", ".fgb"):
        try:
            layer = gpd.read_file(path)
        except (DataSourceError, OSError, ValueError) as e:
            raise SourceError(f"cannot read {path} ({e}) — export the layer again") from e
        layer = to_store_crs(layer, source=str(path))
        if not (layer.geom_type == "Point").all():
            raise SourceError(
                f"{path} must hold address points, got {sorted(set(layer.geom_type))}"
            )
        header = [c for c in layer.columns if c != "geometry"]
        found = _columns(header, columns, path, required=("street", "number"))
        frame = pd.DataFrame({k: layer[v] for k, v in found.items() if k not in ("x", "y")})
        frame["x"], frame["y"] = layer.geometry.x.to_numpy(), layer.geometry.y.to_numpy()
        return frame, [f"{path.name}: read {len(frame)} points (EPSG:3006)"]
    table = read_table(path)
    found = _columns(table.header, columns, path)
    idx = {h: i for i, h in enumerate(table.header)}
    frame = pd.DataFrame({k: [r[idx[c]] for r in table.rows] for k, c in found.items()})
    for axis in ("x", "y"):
        frame[axis] = [parse_number(v)[0] for v in frame[axis]]
    frame["line"] = table.lines
    return frame, [f"{path.name}: " + ", ".join(table.notes)]


def load_register(
    path: Path | str,
    *,
    crs: str = STORE_CRS,
    columns: Mapping[str, str] | None = None,
    kommun: shapely.Geometry | None = None,
    municipality: str = "Stockholm",
) -> RegisterLoad:
    """Read an address register file.

    Parameters
    ----------
    path
        CSV/XLSX with street, number, (letter,) (postcode, city,) x, y columns, or a GIS
        point layer (GeoPackage, GeoJSON) with those attributes.
    crs
        The CSV/XLSX coordinates' system; rows in another known system or with x and y
        swapped are fixed when unambiguous (as for event lists).
    columns
        Register column → the file's column, for names not in :data:`ALIASES`.
    kommun
        The kommun outline (EPSG:3006); addresses outside it are left out.

    Returns
    -------
    RegisterLoad
        ``rejected`` lists every row left out with its reason (no street or number,
        unreadable coordinates, outside the kommun, a duplicate).
    """
    path = Path(path)
    frame, notes = _read_rows(path, columns)
    read = len(frame)
    placed = _coords.place_points(
        frame["x"].to_numpy(dtype=float),
        frame["y"].to_numpy(dtype=float),
        declared=crs,
        kommun=kommun,
        municipality=municipality,
    )
    street = [text(v) for v in frame["street"]]
    number = [parse_number(v)[0] for v in frame["number"]]
    reasons: list[str | None] = []
    for i in range(read):
        if not street[i]:
            reasons.append("no street name")
        elif number[i] is None and text(frame["number"].iloc[i]) is None:
            reasons.append("no street number")
        elif number[i] is None or number[i] != int(number[i]):
            reasons.append(f"street number {frame['number'].iloc[i]!r} is not a number")
        elif placed.status[i] not in (_coords.OK, _coords.FIXED):
            reasons.append(f"{placed.status[i]}: {placed.note[i]}")
        else:
            reasons.append(None)

    def get(name: str) -> list[str | None]:
        return [text(v) for v in frame[name]] if name in frame else [None] * read

    table = pd.DataFrame(
        {
            "street_key": [street_key(s) for s in street],
            "street": street,
            "number": pd.array(
                [int(n) if n is not None and n == int(n) else None for n in number], dtype="Int64"
            ),
            "letter": [(v or "").casefold() or None for v in get("letter")],
            "postcode": [re.sub(r"\s", "", v) if v else None for v in get("postcode")],
            "city": get("city"),
            "x": placed.x,
            "y": placed.y,
        }
    )
    keep = pd.Series([r is None for r in reasons])
    dup = table.duplicated(["street_key", "number", "letter", "postcode"]) & keep
    reasons = ["duplicate address" if d else r for d, r in zip(dup, reasons, strict=True)]
    keep &= ~dup
    fixed = int((placed.status == _coords.FIXED).sum())
    if fixed:
        notes.append(f"{fixed} rows had swapped or mislabelled coordinates, fixed")
    rejected = frame.loc[~keep.to_numpy()].assign(reason=[r for r in reasons if r is not None])
    register = AddressRegister(table[keep.to_numpy()].reset_index(drop=True))
    return RegisterLoad(register, rejected.reset_index(drop=True), read, notes)


Fallback = Callable[[list[str | None], list[Any]], pd.DataFrame]


def geocode_addresses(
    addresses: Sequence[str | None],
    occurred_at: Sequence[Any],
    register: AddressRegister | None,
    *,
    fallback: Fallback | None = None,
    assign: Callable[[np.ndarray, np.ndarray, Sequence[Any]], pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Place addresses: register first, then the fallback geocoder.

    Parameters
    ----------
    addresses
        Address or place strings (``place_name`` of listed events).
    occurred_at
        One timestamp per address (the district scheme in force).
    register
        From :func:`load_register` or :meth:`AddressRegister.from_frame`; None when none is
        loaded (everything goes to the fallback).
    fallback
        ``fallback(texts, occurred_at) -> frame`` with :data:`schema.GEOCODED_COLUMNS`,
        e.g. ``functools.partial(geocode.geocode_text, gaz=gaz, areas=areas)``.
    assign
        ``assign(x, y, occurred_at) -> frame`` with ``stadsdel`` and ``stadsdelsomrade`` for
        register hits, e.g. ``functools.partial(areas.assign, areas=areas)``.

    Returns
    -------
    pandas.DataFrame
        :data:`schema.GEOCODED_COLUMNS`, one row per address in order. Addresses neither the
        register nor the fallback can place get precision ``none``.
    """
    n = len(addresses)
    out = pd.DataFrame(
        {
            "x": np.full(n, np.nan),
            "y": np.full(n, np.nan),
            "precision": pd.Series([Precision.NONE.value] * n, dtype=object),
            "uncertainty_m": np.full(n, np.nan),
            "place_name": pd.Series(list(addresses), dtype=object),
            "stadsdel": pd.Series([None] * n, dtype=object),
            "stadsdelsomrade": pd.Series([None] * n, dtype=object),
        }
    )
    found = np.zeros(n, dtype=bool)
    if register is not None and len(register):
        for i, address in enumerate(addresses):
            hit = register.lookup(address)
            if hit is not None:
                out.loc[i, ["x", "y"]] = hit[0], hit[1]
                out.loc[i, ["precision", "uncertainty_m", "place_name"]] = hit[2], hit[3], hit[4]
                found[i] = True
        if assign is not None and found.any():
            idx = np.flatnonzero(found)
            where = assign(
                out["x"].to_numpy()[idx], out["y"].to_numpy()[idx], [occurred_at[i] for i in idx]
            )
            out.loc[idx, "stadsdel"] = where["stadsdel"].to_numpy()
            out.loc[idx, "stadsdelsomrade"] = where["stadsdelsomrade"].to_numpy()
    rest = np.flatnonzero(~found)
    if fallback is not None and len(rest):
        placed = fallback([addresses[i] for i in rest], [occurred_at[i] for i in rest])
        for col in GEOCODED_COLUMNS:
            if col == "place_name":  # keep the address when the fallback names nothing
                named = placed[col].to_numpy(dtype=object)
                given = out.loc[rest, col].to_numpy(dtype=object)
                out.loc[rest, col] = [
                    a if isinstance(a, str) else b for a, b in zip(named, given, strict=True)
                ]
            else:
                out.loc[rest, col] = placed[col].to_numpy()
    for col in ("precision", "place_name", "stadsdel", "stadsdelsomrade"):
        out[col] = out[col].astype(object).where(out[col].notna(), None)
    return out[list(GEOCODED_COLUMNS)]
