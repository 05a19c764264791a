"""The place table behind :mod:`trygghetskarta.geocode`: every named place in one frame.

:func:`build_places` merges four sources into one table in EPSG:3006:

- the district layers themselves (13 districts, the two 2024-only names, 117 stadsdelar);
- the derived gazetteer ``gazetteer/stockholm_placenames.csv`` (RegSO names and the place
  part of valdistrikt names, merged per name);
- the curated place list ``resources/places_curated.csv``: squares, stations, landmarks,
  colloquial names, places just outside the kommun, and words to ignore (columns: ``name,
  aliases`` (``|``-separated), ``kind``, ``lon, lat`` (WGS84) with ``stadsdel`` (the
  stadsdel the point must fall in: checked on load and by the tests) or ``refers_to`` (a
  name in the gazetteer or the list: the row only adds forms for that place),
  ``uncertainty_m`` (blank → the schema default of the kind's class), ``match``
  (``capitalised``: the name is also an ordinary word and matches only with a capital
  initial), ``note``);
- the curated street list ``resources/streets_curated.csv``: streets, roads, bridges and
  tunnels with every stadsdel they run through (``stadsdelar``, ``|``-separated) and a
  representative point (``lon, lat``; it must lie in one of them), ``uncertainty_m`` about
  half the street's length.

Every row carries a *span*, the stadsdelar it may mean, and a *near* set, the stadsdelar
it is consistent with: a district spans its stadsdelar, a stadsdel itself, a street the
stadsdelar it runs through, a point place the stadsdel it lies in; a point place is
also near every stadsdel within :data:`NEAR_M` of it (Slussen "i Gamla stan"). A
*border* set adds, for curated streets, the stadsdelar bordering those they run through:
a stadsdel or district the text names there narrows the street ("Bergslagsvägen i
Kälvesta"), another street or place does not.

Borders
    The 117 stadsdelar and the 13 districts are separate layers whose shared borders differ
    by up to a few tens of metres. A named place's district is the district polygon its
    point lies in (the 11 districts of 2024 are unions of the 13, so one polygon decides
    both schemes), and its stadsdel is one of that district's: a point that lies a few
    metres across a stadsdel border into a stadsdel of another district (Nybroplan,
    Svedmyra tunnelbanestation) takes the nearest stadsdel of its district and is moved
    into that stadsdel's *core* (:func:`stadsdel_cores`: where both layers agree, at
    least :data:`CORE_INSET_M` inside both), so that
    :func:`trygghetskarta.areas.assign` gives every place's point the place's own
    stadsdel and district. A move longer than :data:`BORDER_M` is logged as a data error.
"""

from __future__ import annotations

import logging
import math
import re
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely
import shapely.ops
from pyproj import Transformer

from trygghetskarta.areas import assign
from trygghetskarta.config import STORE_CRS, WEB_CRS
from trygghetskarta.errors import SourceError
from trygghetskarta.schema import UNCERTAINTY_M, Precision

if TYPE_CHECKING:
    from trygghetskarta.areas import Areas

logger = logging.getLogger(__name__)

GAZETTEER_FILE = Path("gazetteer") / "stockholm_placenames.csv"
CURATED_RESOURCE = "places_curated.csv"
STREETS_RESOURCE = "streets_curated.csv"
VALDISTRIKT_UNCERTAINTY_M = 300.0
STREET_UNCERTAINTY_M = 600.0
MIN_LETTERS = 4
#: A point place within this distance of a stadsdel's polygon is consistent with it, metres.
NEAR_M = 300.0
#: A curated street is consistent with a stadsdel the text names within this distance of
#: those it runs through, metres ("Bergslagsvägen/Sörgårdsvägen i Kälvesta").
STREET_NEAR_M = 25.0
#: How far inside both layers a stadsdel's core lies, metres (see "Borders" above).
CORE_INSET_M = 1.0
#: A place's point moved farther than this to agree with the district layer is logged, metres.
BORDER_M = 50.0

# Kind → (precision, priority when two places share a form: lower wins).
KINDS: dict[str, tuple[Precision, int]] = {
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
    "span",
    "near",
    "border",
    "home",
    "source",
)
_STREET_RE = re.compile(r"(gatan|vägen|väg|gränd|allé|stråket|svängen|gången|ringen)$")
_VD_DROP = {"N", "S", "Ö", "V", "NV", "NO", "NÖ", "SV", "SO", "SÖ", "mellersta", "mellan"}
_VD_DROP |= {"inre", "yttre", "nedre", "mfl"}


def letters(key: str) -> int:
    """Number of letters in a string."""
    return sum(ch.isalpha() for ch in key)


def equal_area_radius(area_m2: float) -> float:
    """Radius of the circle with the given area, metres."""
    return float(math.sqrt(area_m2 / math.pi))


def _resource(name: str, path: Path | None) -> tuple[pd.DataFrame, str]:
    if path is None:
        with (
            resources.files("trygghetskarta.resources").joinpath(name).open(encoding="utf-8") as fh
        ):
            return pd.read_csv(fh, dtype=str, keep_default_na=False), f"resources/{name}"
    return pd.read_csv(path, dtype=str, keep_default_na=False), str(path)


def read_curated(path: Path | None = None) -> pd.DataFrame:
    """The curated place list as strings (blank cells are ``""``).

    Parameters
    ----------
    path
        Another list in the same format; default the packaged ``resources/places_curated.csv``.
    """
    frame, origin = _resource(CURATED_RESOURCE, path)
    need = ["name", "aliases", "kind", "lon", "lat", "refers_to", "uncertainty_m", "match"]
    missing = [c for c in need if c not in frame.columns]
    bad_kind = sorted(set(frame.get("kind", pd.Series(dtype=str))) - set(KINDS))
    if missing or bad_kind:
        raise SourceError(
            f"{origin}: missing columns {missing}, unknown kinds {bad_kind}"
            f" — expected columns {need} and kinds {sorted(KINDS)[:7]}"
        )
    frame["source"] = origin
    return frame


def read_streets(path: Path | None = None) -> pd.DataFrame:
    """The curated street list as strings (blank cells are ``""``).

    Parameters
    ----------
    path
        Another list in the same format; default the packaged ``resources/streets_curated.csv``.
    """
    frame, origin = _resource(STREETS_RESOURCE, path)
    need = ["name", "aliases", "stadsdelar", "lon", "lat", "uncertainty_m"]
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise SourceError(f"{origin}: missing columns {missing} — expected columns {need}")
    blank = frame.index[(frame[need[2:]] == "").any(axis=1)].tolist() if not missing else []
    if blank:
        raise SourceError(
            f"{origin}: rows {blank} lack stadsdelar, lon, lat or uncertainty_m"
            " — every street needs its stadsdelar and a point"
        )
    frame["source"] = origin
    return frame


def read_gazetteer(data_dir: Path) -> pd.DataFrame:
    """The derived gazetteer ``gazetteer/stockholm_placenames.csv`` of ``data_dir``."""
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


def valdistrikt_names(raw: str) -> list[str]:
    """Usable place names in a parsed valdistrikt name ("Spånga torg-Lunda" → both)."""
    if raw.startswith("Kv "):
        return []
    out = []
    for part in raw.split("-"):
        words = part.split()
        while words and words[-1] in _VD_DROP:
            words.pop()
        name = " ".join(words)
        if name and "." not in name and letters(name) >= MIN_LETTERS:
            out.append(name)
    return out


class _Rows:
    """Accumulates place rows."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(self, name: str, kind: str, x: float, y: float, unc: float, source: str, **kw: Any):
        self.rows.append(
            dict(
                name=name,
                kind=kind,
                precision=KINDS[kind][0].value,
                x=x,
                y=y,
                uncertainty_m=unc,
                source=source,
                **kw,
            )
        )


def _area_rows(out: _Rows, areas: Areas) -> None:
    sd = areas.stadsdelar
    by13 = {d: tuple(g["name"]) for d, g in sd.groupby("sdo_2021_2023")}
    by24 = {d: tuple(g["name"]) for d, g in sd.groupby("sdo_2024")}
    sdo13 = areas.sdo_13.set_index("name")
    for name, row in sdo13.iterrows():
        pt = row.geometry.representative_point()
        out.add(str(name), "stadsdelsomrade_2021_2023", pt.x, pt.y,
                equal_area_radius(row.geometry.area), "boundaries", stadsdel=None,
                sdo_2021_2023=name, sdo_2024=row["name_2024"], span=by13.get(name, ()))  # fmt: skip
    for name, row in areas.sdo_11.set_index("name").iterrows():
        if name in sdo13.index:
            continue
        pt = row.geometry.representative_point()
        out.add(str(name), "stadsdelsomrade_2024", pt.x, pt.y,
                equal_area_radius(row.geometry.area), "boundaries", stadsdel=None,
                sdo_2021_2023=None, sdo_2024=name, span=by24.get(name, ()))  # fmt: skip
    for _, row in sd.iterrows():
        pt = row.geometry.representative_point()
        out.add(row["name"], "stadsdel", pt.x, pt.y, equal_area_radius(row.geometry.area),
                "boundaries", stadsdel=row["name"], sdo_2021_2023=row["sdo_2021_2023"],
                sdo_2024=row["sdo_2024"], span=(row["name"],))  # fmt: skip


def _gazetteer_rows(out: _Rows, gaz: pd.DataFrame, areas: Areas, to3006: Transformer) -> None:
    regso_area = dict(zip(areas.regso["code"], areas.regso.geometry.area, strict=True))
    gx, gy = to3006.transform(gaz["lon"].to_numpy(float), gaz["lat"].to_numpy(float))
    gaz = gaz.assign(x=gx, y=gy)
    for _, row in gaz[gaz["kind"] == "regso_2025"].iterrows():
        unc = equal_area_radius(regso_area.get(row["code"], math.pi * 500.0**2))
        out.add(row["name"], "regso_2025", row["x"], row["y"], unc, row["source"])
    vd = gaz[gaz["kind"] == "valdistrikt_place"]
    by_name: dict[str, list[tuple[str, float, float]]] = {}
    for raw, x, y in zip(vd["name"], vd["x"], vd["y"], strict=True):
        for n in valdistrikt_names(str(raw)):
            by_name.setdefault(" ".join(n.lower().split()), []).append((n, x, y))
    for group in by_name.values():
        xs, ys = np.array([g[1] for g in group]), np.array([g[2] for g in group])
        cx, cy = float(xs.mean()), float(ys.mean())
        spread = float(np.hypot(xs - cx, ys - cy).max())
        street = bool(_STREET_RE.search(group[0][0]))
        kind = "valdistrikt_street" if street else "valdistrikt_place"
        base = STREET_UNCERTAINTY_M if street else VALDISTRIKT_UNCERTAINTY_M
        out.add(group[0][0], kind, cx, cy, max(base, spread + base / 2), str(GAZETTEER_FILE))


def _curated_rows(out: _Rows, cur: pd.DataFrame, to3006: Transformer) -> list[tuple[str, ...]]:
    aliases: list[tuple[str, str, str, str]] = []  # (form name, refers_to, match, source)
    for _, row in cur.iterrows():
        forms = [row["name"], *[a for a in row["aliases"].split("|") if a.strip()]]
        if row["refers_to"]:
            aliases += [(f, row["refers_to"], row["match"], row["source"]) for f in forms]
            continue
        kind = row["kind"]
        if kind in ("outside", "ignore"):
            x = y = unc = float("nan")
        else:
            x, y = to3006.transform(float(row["lon"]), float(row["lat"]))
            default = UNCERTAINTY_M[KINDS[kind][0]] or 0.0
            unc = float(row["uncertainty_m"]) if row["uncertainty_m"] else default
        out.add(row["name"], kind, x, y, unc, row["source"], forms=forms, match=row["match"],
                expected=row.get("stadsdel") or None)  # fmt: skip
    return aliases


def _street_rows(out: _Rows, streets: pd.DataFrame, to3006: Transformer) -> None:
    for _, row in streets.iterrows():
        x, y = to3006.transform(float(row["lon"]), float(row["lat"]))
        span = tuple(s.strip() for s in row["stadsdelar"].split("|") if s.strip())
        forms = [row["name"], *[a for a in row["aliases"].split("|") if a.strip()]]
        out.add(row["name"], "street", x, y, float(row["uncertainty_m"]), row["source"],
                forms=forms, match="", span=span, expected="|".join(span))  # fmt: skip


def stadsdel_cores(areas: Areas) -> dict[str, shapely.Geometry]:
    """Each stadsdel's polygon where both layers agree, :data:`CORE_INSET_M` inside both.

    Parameters
    ----------
    areas
        From :func:`trygghetskarta.areas.load_areas`.

    Returns
    -------
    dict
        Stadsdel name → the part of its polygon inside its 2021–2023 district's polygon,
        shrunk by :data:`CORE_INSET_M` (unshrunk where shrinking would empty it). A point in
        the core is given that stadsdel and its district by
        :func:`trygghetskarta.areas.assign`, in either scheme.
    """
    districts = dict(zip(areas.sdo_13["name"], areas.sdo_13.geometry, strict=True))
    cores: dict[str, shapely.Geometry] = {}
    for name, district, geom in zip(
        areas.stadsdelar["name"], areas.stadsdelar["sdo_2021_2023"], areas.stadsdelar.geometry,
        strict=True,
    ):  # fmt: skip
        core = geom.intersection(districts[district]) if district in districts else geom
        if core.is_empty:
            core = geom
        inner = core.buffer(-CORE_INSET_M)
        cores[str(name)] = inner if not inner.is_empty else core
        shapely.prepare(cores[str(name)])
    return cores


def settle(x: float, y: float, core: shapely.Geometry) -> tuple[float, float, float]:
    """A point moved onto the nearest point of ``core`` (unchanged when inside it).

    Parameters
    ----------
    x, y
        The point, EPSG:3006.
    core
        A polygon from :func:`stadsdel_cores`.

    Returns
    -------
    tuple
        ``(x, y, moved)``: the point in the core and the distance moved, metres.
    """
    point = shapely.Point(x, y)
    if core.covers(point):
        return x, y, 0.0
    near = shapely.ops.nearest_points(core, point)[0]
    return float(near.x), float(near.y), float(point.distance(near))


def _settle_on_borders(
    places: pd.DataFrame, rows: pd.Index, where: pd.DataFrame, areas: Areas,
    cores: dict[str, shapely.Geometry],
) -> pd.Series:  # fmt: skip
    """Move places whose point the two layers disagree on into a stadsdel of their district.

    Returns the stadsdel of each row in ``rows`` (the district polygon decides, see
    "Borders" in the module docstring); ``places`` gets the moved points.
    """
    d13 = dict(zip(areas.stadsdelar["name"], areas.stadsdelar["sdo_2021_2023"], strict=True))
    home = pd.Series(where["stadsdel"].to_numpy(), index=rows, dtype=object)
    district = pd.Series(where["stadsdelsomrade"].to_numpy(), index=rows, dtype=object)
    for i in rows:
        own, poly = home[i], district[i]
        if own is None or poly is None or d13.get(own) == poly:
            continue
        x, y = float(places.at[i, "x"]), float(places.at[i, "y"])
        point = shapely.Point(x, y)
        choice = min((s for s, d in d13.items() if d == poly and s in cores),
                     key=lambda s: cores[s].distance(point))  # fmt: skip
        nx, ny, moved = settle(x, y, cores[choice])
        if moved > BORDER_M:
            logger.warning(
                "place %r lies in district %s but %.0f m from its stadsdelar (in %s)"
                " — check its lon/lat", places.at[i, "name"], poly, moved, own,
            )  # fmt: skip
        places.at[i, "x"], places.at[i, "y"] = nx, ny
        home[i] = choice
    return home


def build_places(
    data_dir: Path | str,
    areas: Areas,
    *,
    curated_path: Path | None = None,
    streets_path: Path | None = None,
    cores: dict[str, shapely.Geometry] | None = None,
) -> tuple[pd.DataFrame, list[tuple[str, ...]]]:
    """The place table and the curated ``refers_to`` aliases.

    ``cores`` are the :func:`stadsdel_cores` of ``areas`` (computed when not given).

    Returns
    -------
    places
        One row per place, columns :data:`PLACE_COLUMNS` plus ``forms`` and ``match`` where
        curated. ``x, y`` in EPSG:3006 (NaN for outside and ignored names); ``stadsdel``
        only for places in one stadsdel; ``sdo_2021_2023``/``sdo_2024`` only when the place
        lies in one district of that scheme; ``span``/``near`` tuples of stadsdel names.
    aliases
        ``(form, refers_to, match, source)`` for forms that only name another place.
    """
    to3006 = Transformer.from_crs(WEB_CRS, STORE_CRS, always_xy=True)
    out = _Rows()
    _area_rows(out, areas)
    n_fixed = len(out.rows)
    _gazetteer_rows(out, read_gazetteer(Path(data_dir)), areas, to3006)
    aliases = _curated_rows(out, read_curated(curated_path), to3006)
    _street_rows(out, read_streets(streets_path), to3006)

    places = pd.DataFrame(out.rows)
    for col in ("stadsdel", "sdo_2021_2023", "sdo_2024", "span", "expected"):
        if col not in places:
            places[col] = None
        places[col] = places[col].astype(object).where(places[col].notna(), None)
    sd = areas.stadsdelar.set_index("name")
    d13, d24 = sd["sdo_2021_2023"].to_dict(), sd["sdo_2024"].to_dict()

    pointed = places.index[(places.index >= n_fixed) & places["x"].notna()]
    where = assign(places.loc[pointed, "x"].to_numpy(), places.loc[pointed, "y"].to_numpy(),
                   pd.Timestamp("2023-06-01", tz="Europe/Stockholm"), areas)  # fmt: skip
    cores = stadsdel_cores(areas) if cores is None else cores
    home = _settle_on_borders(places, pointed, where, areas, cores)
    for i in places.index[:n_fixed][places["kind"].iloc[:n_fixed] == "stadsdel"]:
        own = cores[places.at[i, "name"]]
        places.at[i, "x"], places.at[i, "y"], _ = settle(places.at[i, "x"], places.at[i, "y"], own)
    outside = pointed[~where["inside_kommun"].to_numpy()]
    spans, wrong = [], []
    for i in places.index:
        span = places.at[i, "span"]
        if i in home.index and span is None:  # a point place: the stadsdel it lies in
            span = (home[i],) if home[i] is not None else ()
        unknown = [s for s in span or () if s not in d13]
        expected = places.at[i, "expected"]
        if unknown or (expected and i in home.index and home[i] not in expected.split("|")):
            wrong.append((places.at[i, "name"], home.get(i), expected, unknown))
        spans.append(tuple(s for s in span or () if s in d13))
    for name, got, expected, unknown in wrong:
        logger.warning(
            "curated place %r lies in %s, not in %s as listed (unknown: %s) — check its lon/lat",
            name, got, expected, unknown,
        )  # fmt: skip
    places["span"] = spans
    for i in places.index[places.index >= n_fixed]:
        span = places.at[i, "span"]
        places.at[i, "stadsdel"] = span[0] if len(span) == 1 else None
        places.at[i, "sdo_2021_2023"] = _single(d13[s] for s in span)
        places.at[i, "sdo_2024"] = _single(d24[s] for s in span)
    places["near"] = _near(places, areas)
    places["border"] = _borders(places, areas)
    places["home"] = [
        home.get(i) if i >= n_fixed else (n if k == "stadsdel" else None)
        for i, k, n in zip(places.index, places["kind"], places["name"], strict=True)
    ]
    if len(outside):
        logger.warning(
            "dropping places outside the kommun: %s", places.loc[outside, "name"].tolist()
        )
        places = places.drop(index=outside).reset_index(drop=True)
    keep = [*PLACE_COLUMNS, *(c for c in ("forms", "match") if c in places)]
    return places[keep], aliases


def _single(values: Any) -> str | None:
    found = set(values)
    return found.pop() if len(found) == 1 else None


def _borders(places: pd.DataFrame, areas: Areas) -> list[tuple[str, ...]]:
    """Near, plus for curated streets every stadsdel bordering those they run through
    (within :data:`STREET_NEAR_M`: a street's list of stadsdelar is approximate at its ends)."""
    border = list(places["near"])
    names = areas.stadsdelar["name"].to_numpy(dtype=object)
    geoms = dict(zip(names, areas.stadsdelar.geometry, strict=True))
    tree = shapely.STRtree(areas.stadsdelar.geometry.to_numpy())
    for i in places.index[places["kind"] == "street"]:
        span = [s for s in places.at[i, "span"] if s in geoms]
        if not span:
            continue
        hits = tree.query([geoms[s] for s in span], predicate="dwithin", distance=STREET_NEAR_M)
        more = sorted({str(names[j]) for j in hits[1]} - set(border[i]))
        border[i] = (*border[i], *more)
    return border


def _near(places: pd.DataFrame, areas: Areas) -> list[tuple[str, ...]]:
    """Span plus, for point places in one stadsdel, every stadsdel within NEAR_M."""
    near = [tuple(s) for s in places["span"]]
    names = areas.stadsdelar["name"].to_numpy(dtype=object)
    tree = shapely.STRtree(areas.stadsdelar.geometry.to_numpy())
    point = places.index[
        places["x"].notna() & (places["kind"] != "street")
        & places["precision"].isin([Precision.PLACE.value, Precision.STREET.value])
    ]  # fmt: skip
    if len(point) == 0:
        return near
    pts = shapely.points(places.loc[point, "x"].to_numpy(), places.loc[point, "y"].to_numpy())
    ipt, ipoly = tree.query(pts, predicate="dwithin", distance=NEAR_M)
    extra: dict[int, set[str]] = {}
    for k, j in zip(ipt, ipoly, strict=True):
        extra.setdefault(int(point[k]), set()).add(str(names[j]))
    for i, more in extra.items():
        near[i] = tuple(dict.fromkeys([*near[i], *sorted(more)]))
    return near
