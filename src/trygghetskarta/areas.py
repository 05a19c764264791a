"""District layers, population and point-in-area assignment.

Stockholm has two district schemes: 13 stadsdelsområden valid 2021-01-01 … 2023-12-31 and
11 from 2024-01-01 (Järva = Rinkeby-Kista + Spånga-Tensta; Norra innerstaden = Norrmalm +
Östermalm). Below them lie the 117 *stadsdelar* of Stadskartan (incl. water) and SCB's
127 RegSO. :func:`load_areas` reads them all from ``<data_dir>/boundaries`` into one frozen
:class:`Areas`, every layer in EPSG:3006; :func:`assign` places points in them, naming the
district in the scheme in force at each point's time (:func:`scheme_at`, which lives with
the other names and dates of the schemes in :mod:`trygghetskarta.districts` and is
re-exported here).

The 11-area layer is a dissolve of the 13, so a point's 2024 district is derived from its
2021–2023 district through ``sdo_13.name_2024``; both schemes agree by construction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyogrio.errors import DataSourceError
from pyproj import CRS

from trygghetskarta.config import CITY_CRS, STORE_CRS, WEB_CRS
from trygghetskarta.districts import SCHEME_2021_2023 as SCHEME_2021_2023
from trygghetskarta.districts import SCHEME_2024 as SCHEME_2024
from trygghetskarta.districts import SCHEME_SWITCH as SCHEME_SWITCH
from trygghetskarta.districts import SCHEMES as SCHEMES
from trygghetskarta.districts import scheme_at as scheme_at
from trygghetskarta.districts import schemes_at as schemes_at
from trygghetskarta.districts import title_case_stadsdel as title_case_stadsdel
from trygghetskarta.errors import ConfigError, CRSError, SourceError, TrygghetskartaError

#: Input reference systems accepted by :func:`to_store_crs`.
ACCEPTED_CRS = (STORE_CRS, CITY_CRS, WEB_CRS)

#: A point inside the kommun but in none of the 117 stadsdelar (slivers between the
#: layers, ≈ 0.04 km² in all) takes the nearest stadsdel within this distance, metres.
SLIVER_TOLERANCE_M = 250.0

BOUNDARY_FILES = {
    "sdo_13": "stadsdelsomraden_13_2021-2023_epsg3011.gpkg",
    "sdo_11": "stadsdelsomraden_11_from2024_derived.geojson",
    "stadsdelar": "stadsdelar_117.geojson",
    "regso": "regso_2025_stockholm_epsg3006.gpkg",
    "kommun": "stockholm_kommun_from_sdo_union.geojson",
    "land": "stadsdelar_117_utan_vatten_simplified.geojson",
}
POPULATION_FILE = "stockholm_population_by_sdo_2010-2024_arsbok.csv"

# The yearbook calls the inner-city region "Inre staden"; the boundary layers "Innerstaden".
_REGION_NAMES = {"Inre staden": "Innerstaden"}
_LEVELS = {
    "stadsdelsomrade": "stadsdelsomrade",
    "region": "region",
    "city": "kommun",
    "unassigned": "other",
}


class UnknownAreaError(TrygghetskartaError, ValueError):
    """An area name that none of the layers knows."""


def _check_scheme(scheme: str) -> str:
    if scheme not in SCHEMES:
        raise ConfigError(
            f"expected a district scheme {SCHEMES[0]!r} or {SCHEMES[1]!r}, got {scheme!r}"
            " — use areas.SCHEME_2021_2023 or areas.SCHEME_2024"
        )
    return scheme


def to_store_crs(frame: gpd.GeoDataFrame, source: str = "the layer") -> gpd.GeoDataFrame:
    """Reproject a layer to EPSG:3006, accepting only the reference systems we know.

    Parameters
    ----------
    frame
        A layer in EPSG:3006, EPSG:3011 or EPSG:4326 (OGC:CRS84 counts as 4326).
    source
        What to call the layer in the error message (e.g. its file name).

    Returns
    -------
    gpd.GeoDataFrame
        The layer in EPSG:3006 with valid geometries.

    Raises
    ------
    CRSError
        The layer has no CRS or another one.
    """
    crs = frame.crs
    if crs is None:
        raise CRSError(
            f"expected {', '.join(ACCEPTED_CRS)}, got no CRS in {source}"
            " — set one with GeoDataFrame.set_crs(...)"
        )
    accepted = [CRS.from_user_input(c) for c in ACCEPTED_CRS]
    if not any(crs.equals(c, ignore_axis_order=True) for c in accepted):
        raise CRSError(
            f"expected {', '.join(ACCEPTED_CRS)}, got {crs.to_string()} in {source}"
            f" — reproject it first, e.g. frame.to_crs({STORE_CRS!r})"
        )
    out = frame.to_crs(STORE_CRS)
    invalid = ~out.geometry.is_valid
    if invalid.any():
        repaired = shapely.make_valid(out.geometry[invalid].to_numpy())
        # make_valid may return a GeometryCollection with stray lines or points; an area
        # layer keeps only its polygons (folium and GeoJSON tools expect (Multi)Polygons).
        out.loc[invalid, "geometry"] = [_polygons_only(g) for g in repaired]
    return out


def _polygons_only(geometry: shapely.Geometry) -> shapely.Geometry:
    """The polygonal part of a geometry, as a Polygon or MultiPolygon."""
    if geometry.geom_type in ("Polygon", "MultiPolygon"):
        return geometry
    parts = [
        p
        for g in shapely.get_parts(geometry)
        for p in shapely.get_parts(g)
        if p.geom_type == "Polygon"
    ]
    return shapely.MultiPolygon(parts) if len(parts) > 1 else parts[0]


def _read(folder: Path, key: str) -> gpd.GeoDataFrame:
    path = folder / BOUNDARY_FILES[key]
    if not path.is_file():
        raise SourceError(
            f"expected the boundary file {path}, but it is missing — put the real data in "
            f"{folder.parent} (see boundaries/PROVENANCE.md) or pass another data_dir"
        )
    try:
        frame = gpd.read_file(path)
    except (DataSourceError, OSError, ValueError) as e:
        raise SourceError(f"cannot read {path} ({e}) — replace the file with a valid copy") from e
    if frame.crs is None:
        raise CRSError(
            f"the boundary file {path} has no coordinate reference system, expected "
            f"{', '.join(ACCEPTED_CRS)} — give it the one its coordinates are in (e.g. "
            f"`ogr2ogr -a_srs {CITY_CRS} fixed{path.suffix} {path.name}`) or replace it with "
            "the copy from the shared data"
        )
    if frame.crs.is_geographic and len(frame) and not frame.geometry.is_empty.all():
        x0, y0, x1, y1 = frame.total_bounds
        if x0 < -180 or x1 > 180 or y0 < -90 or y1 > 90:
            raise CRSError(
                f"the boundary file {path} is read as {frame.crs.to_string()} (what a GeoJSON "
                f"without a crs member is), but its coordinates are not degrees (x {x0:.0f} to "
                f"{x1:.0f}, y {y0:.0f} to {y1:.0f}); expected {', '.join(ACCEPTED_CRS)} — give "
                f"it the CRS its coordinates are in (e.g. `ogr2ogr -a_srs {CITY_CRS} "
                f"fixed{path.suffix} {path.name}`) or replace it with the copy from the shared data"
            )
    try:
        return to_store_crs(frame, source=str(path))
    except CRSError as e:
        raise CRSError(
            f"the boundary file {path} is in {frame.crs.to_string()}, expected "
            f"{', '.join(ACCEPTED_CRS)} — reproject it (e.g. `ogr2ogr -t_srs {STORE_CRS} "
            f"fixed{path.suffix} {path.name}`) or replace it with the copy from the shared data"
        ) from e


def load_land(data_dir: Path | str) -> gpd.GeoDataFrame:
    """The kommun's land: the 117 stadsdelar without water, simplified (for drawing water)."""
    return _read(Path(data_dir) / "boundaries", "land")[["geometry"]]


def _require(frame: pd.DataFrame, columns: Sequence[str], path: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SourceError(
            f"{path} lacks the columns {missing} (has {list(frame.columns)})"
            " — use the file described in boundaries/PROVENANCE.md"
        )


def _area_km2(frame: gpd.GeoDataFrame) -> np.ndarray:
    return np.round(frame.geometry.area.to_numpy() / 1e6, 3)


@dataclass(frozen=True)
class Areas:
    """Every district layer of Stockholm kommun, in EPSG:3006.

    Attributes
    ----------
    sdo_13
        The 13 stadsdelsområden of 2021–2023: ``name, adm_id, name_2024, region, area_km2,
        geometry``; ``name_2024`` is the district's name in the 11-area scheme.
    sdo_11
        The 11 stadsdelsområden from 2024: ``name, region, area_km2, geometry``.
    stadsdelar
        The 117 stadsdelar incl. water: ``name`` (as people write it: "Gamla stan"),
        ``name_upper`` (as in the source), ``sdo_2021_2023``, ``sdo_2024``, ``area_km2``,
        ``geometry``. The district columns are the district of largest overlap.
    regso
        SCB RegSO 2025: ``code, name, pop_2024, sdo_2021_2023, sdo_2024, geometry``.
    kommun
        One row: ``name, code, area_km2, geometry`` (incl. water).
    """

    sdo_13: gpd.GeoDataFrame
    sdo_11: gpd.GeoDataFrame
    stadsdelar: gpd.GeoDataFrame
    regso: gpd.GeoDataFrame
    kommun: gpd.GeoDataFrame

    def districts(self, scheme: str) -> gpd.GeoDataFrame:
        """The districts of one scheme.

        Parameters
        ----------
        scheme
            :data:`SCHEME_2021_2023` (13 areas) or :data:`SCHEME_2024` (11 areas).

        Returns
        -------
        gpd.GeoDataFrame
            Columns ``name, geometry`` in EPSG:3006.
        """
        layer = self.sdo_13 if _check_scheme(scheme) == SCHEME_2021_2023 else self.sdo_11
        return layer[["name", "geometry"]].reset_index(drop=True)

    def district_names(self, scheme: str) -> list[str]:
        """The sorted district names of one scheme."""
        return sorted(self.districts(scheme)["name"])

    def to_2024(self, name_2021_2023: str) -> str:
        """The 2024 name of a 2021–2023 district ("Norrmalm" → "Norra innerstaden")."""
        hit = self.sdo_13.loc[self.sdo_13["name"] == name_2021_2023, "name_2024"]
        if hit.empty:
            raise UnknownAreaError(
                f"expected one of {sorted(self.sdo_13['name'])}, got {name_2021_2023!r}"
            )
        return str(hit.iloc[0])


def load_areas(data_dir: Path | str) -> Areas:
    """Read the district layers from ``<data_dir>/boundaries``.

    Parameters
    ----------
    data_dir
        The input data directory (``Settings.require_data()``).

    Returns
    -------
    Areas
        Every layer in EPSG:3006 with the documented columns.

    Raises
    ------
    SourceError
        A file is missing, unreadable or lacks a column (the message names the file).
    CRSError
        A file is in a reference system other than EPSG:3006/3011/4326.
    """
    folder = Path(data_dir) / "boundaries"
    raw13 = _read(folder, "sdo_13")
    _require(
        raw13, ["sdo_namn", "adm_id", "stadsdelsomrade_2024", "region"], BOUNDARY_FILES["sdo_13"]
    )
    sdo_13 = gpd.GeoDataFrame(
        {
            "name": raw13["sdo_namn"].astype(str),
            "adm_id": raw13["adm_id"].astype(int),
            "name_2024": raw13["stadsdelsomrade_2024"].astype(str),
            "region": raw13["region"].astype(str),
            "area_km2": _area_km2(raw13),
        },
        geometry=raw13.geometry.to_numpy(),
        crs=STORE_CRS,
    ).sort_values("adm_id", ignore_index=True)

    raw11 = _read(folder, "sdo_11")
    _require(raw11, ["sdo_namn", "region"], BOUNDARY_FILES["sdo_11"])
    sdo_11 = gpd.GeoDataFrame(
        {
            "name": raw11["sdo_namn"].astype(str),
            "region": raw11["region"].astype(str),
            "area_km2": _area_km2(raw11),
        },
        geometry=raw11.geometry.to_numpy(),
        crs=STORE_CRS,
    ).sort_values("name", ignore_index=True)

    raw_s = _read(folder, "stadsdelar")
    cols = ["stadsdel", "stadsdelsomrade_2021_2023", "stadsdelsomrade_2024"]
    _require(raw_s, cols, BOUNDARY_FILES["stadsdelar"])
    upper = raw_s["stadsdel"].astype(str).str.strip().str.upper()
    stadsdelar = gpd.GeoDataFrame(
        {
            "name": [title_case_stadsdel(u) for u in upper],
            "name_upper": upper.to_numpy(),
            "sdo_2021_2023": raw_s["stadsdelsomrade_2021_2023"].astype(str).to_numpy(),
            "sdo_2024": raw_s["stadsdelsomrade_2024"].astype(str).to_numpy(),
            "area_km2": _area_km2(raw_s),
        },
        geometry=raw_s.geometry.to_numpy(),
        crs=STORE_CRS,
    ).sort_values("name", ignore_index=True)

    raw_r = _read(folder, "regso")
    cols = [
        "regsokod",
        "regsonamn",
        "pop_2024",
        "stadsdelsomrade_2021_2023",
        "stadsdelsomrade_2024",
    ]
    _require(raw_r, cols, BOUNDARY_FILES["regso"])
    regso = gpd.GeoDataFrame(
        {
            "code": raw_r["regsokod"].astype(str).to_numpy(),
            "name": raw_r["regsonamn"].astype(str).to_numpy(),
            "pop_2024": raw_r["pop_2024"].astype(int).to_numpy(),
            "sdo_2021_2023": raw_r["stadsdelsomrade_2021_2023"].astype(str).to_numpy(),
            "sdo_2024": raw_r["stadsdelsomrade_2024"].astype(str).to_numpy(),
        },
        geometry=raw_r.geometry.to_numpy(),
        crs=STORE_CRS,
    ).sort_values("code", ignore_index=True)

    raw_k = _read(folder, "kommun")
    kommun = gpd.GeoDataFrame(
        {
            "name": [str(raw_k["kommun"].iloc[0]) if "kommun" in raw_k else "Stockholm"],
            "code": [str(raw_k["kommun_kod"].iloc[0]) if "kommun_kod" in raw_k else "0180"],
            "area_km2": _area_km2(raw_k)[:1],
        },
        geometry=[shapely.union_all(raw_k.geometry.to_numpy())],
        crs=STORE_CRS,
    )
    return Areas(sdo_13=sdo_13, sdo_11=sdo_11, stadsdelar=stadsdelar, regso=regso, kommun=kommun)


def load_population(data_dir: Path | str, *, include_forecast: bool = False) -> pd.DataFrame:
    """Population per district (11-area scheme), region and kommun, long format.

    Reads ``<data_dir>/population/stockholm_population_by_sdo_2010-2024_arsbok.csv``
    (Statistisk årsbok table 1.2: 31 December 2010, 2015, 2020, 2024, and Sweco's 2034
    forecast). Järva and Norra innerstaden are retro-computed by the city for earlier years.

    Parameters
    ----------
    data_dir
        The input data directory.
    include_forecast
        Keep the 2034 forecast rows (flagged ``forecast=True``). Off by default so that
        rates are never computed on a forecast by accident.

    Returns
    -------
    pd.DataFrame
        Columns ``area, level, year, population, forecast``. ``level`` is
        ``stadsdelsomrade``, ``region`` (named as in ``Areas.sdo_13.region``: Västerort,
        Innerstaden, Söderort), ``kommun`` (Hela staden, named "Stockholm") or ``other``
        ("På staden skrivna": registered in the city with no address).

    Raises
    ------
    SourceError
        The file is missing or lacks the expected columns.
    """
    path = Path(data_dir) / "population" / POPULATION_FILE
    if not path.is_file():
        raise SourceError(
            f"expected the population file {path}, but it is missing — put the real data in "
            f"{Path(data_dir)} (see population/PROVENANCE.md) or pass another data_dir"
        )
    wide = pd.read_csv(path)
    pop_cols = [c for c in wide.columns if c.startswith("pop_")]
    _require(wide, ["area", "level"], str(path))
    if not pop_cols:
        raise SourceError(f"{path} has no pop_<year> columns — use the yearbook extract")
    long = wide.melt(id_vars=["area", "level"], value_vars=pop_cols, value_name="population")
    long["forecast"] = long["variable"].str.contains("forecast|prognos", regex=True)
    long["year"] = long["variable"].str.extract(r"(\d{4})", expand=False).astype(int)
    unknown = sorted(set(long["level"]) - set(_LEVELS))
    if unknown:
        raise SourceError(f"{path} has unknown levels {unknown}; expected {sorted(_LEVELS)}")
    long["level"] = long["level"].map(_LEVELS)
    long["area"] = long["area"].replace(_REGION_NAMES)
    long.loc[long["level"] == "kommun", "area"] = "Stockholm"
    if not include_forecast:
        long = long[~long["forecast"]]
    long["population"] = long["population"].astype(int)
    return long[["area", "level", "year", "population", "forecast"]].reset_index(drop=True)


def _points(x: Any, y: Any) -> np.ndarray:
    xs = np.asarray(x, dtype=float).ravel()
    ys = np.asarray(y, dtype=float).ravel()
    if xs.shape != ys.shape:
        raise ValueError(f"x and y must have the same length, got {xs.size} and {ys.size}")
    return shapely.points(xs, ys)  # NaN coordinates give empty points


def _first_hit(tree: shapely.STRtree, pts: np.ndarray, predicate: str) -> np.ndarray:
    """Index of the first polygon hit per point (lowest index wins on borders), -1 if none."""
    out = np.full(len(pts), -1, dtype=np.int64)
    if len(pts) == 0:
        return out
    ipt, ipoly = tree.query(pts, predicate=predicate)
    if len(ipt):
        order = np.lexsort((ipoly, ipt))
        ipt, ipoly = ipt[order], ipoly[order]
        first = np.r_[True, ipt[1:] != ipt[:-1]]
        out[ipt[first]] = ipoly[first]
    return out


def assign(x: Any, y: Any, occurred_at: Any, areas: Areas) -> pd.DataFrame:
    """Place points (EPSG:3006) in stadsdel and district, vectorised.

    Parameters
    ----------
    x, y
        Coordinates in EPSG:3006, metres; ``NaN`` for unknown positions.
    occurred_at
        One timestamp per point (or a single one for all) choosing the district scheme.
    areas
        From :func:`load_areas`.

    Returns
    -------
    pd.DataFrame
        Columns ``stadsdel`` (title-case name), ``stadsdelsomrade`` (district in the scheme
        in force at ``occurred_at``) and ``inside_kommun`` (bool). Points outside the kommun
        or with ``NaN`` coordinates get ``None`` names and ``inside_kommun=False``. Points on
        water inside the kommun still get a stadsdel (the layer includes water); points in
        a sliver between layers take the nearest stadsdel within
        :data:`SLIVER_TOLERANCE_M`. The index is ``x``'s when ``x`` is a Series.
    """
    pts = _points(x, y)
    n = len(pts)
    if np.ndim(occurred_at) == 0 or isinstance(occurred_at, str):
        schemes = np.full(n, scheme_at(occurred_at), dtype=object)
    else:
        schemes = schemes_at(occurred_at).to_numpy()
        if len(schemes) != n:
            raise ValueError(f"occurred_at has {len(schemes)} values for {n} points")

    kommun_geom = areas.kommun.geometry.iloc[0]
    shapely.prepare(kommun_geom)
    inside = shapely.covers(kommun_geom, pts) & ~shapely.is_empty(pts)

    s_geoms = areas.stadsdelar.geometry.to_numpy()
    s_idx = _first_hit(shapely.STRtree(s_geoms), pts, "covered_by")
    s_idx[~inside] = -1
    lost = np.flatnonzero(inside & (s_idx < 0))
    if len(lost):
        tree = shapely.STRtree(s_geoms)
        ipt, ipoly = tree.query_nearest(
            pts[lost], max_distance=SLIVER_TOLERANCE_M, all_matches=False
        )
        s_idx[lost[ipt]] = ipoly

    d_geoms = areas.sdo_13.geometry.to_numpy()
    d_idx = _first_hit(shapely.STRtree(d_geoms), pts, "covered_by")
    d_idx[~inside] = -1
    lost = np.flatnonzero(inside & (d_idx < 0))
    if len(lost):
        tree = shapely.STRtree(d_geoms)
        ipt, ipoly = tree.query_nearest(
            pts[lost], max_distance=SLIVER_TOLERANCE_M, all_matches=False
        )
        d_idx[lost[ipt]] = ipoly

    s_names = np.append(areas.stadsdelar["name"].to_numpy(dtype=object), None)
    d13 = np.append(areas.sdo_13["name"].to_numpy(dtype=object), None)
    d24 = np.append(areas.sdo_13["name_2024"].to_numpy(dtype=object), None)
    district = np.where(schemes == SCHEME_2021_2023, d13[d_idx], d24[d_idx])
    index = x.index if isinstance(x, pd.Series) else None
    return pd.DataFrame(
        {
            "stadsdel": pd.Series(s_names[s_idx], index=index, dtype=object),
            "stadsdelsomrade": pd.Series(district, index=index, dtype=object),
            "inside_kommun": pd.Series(inside.astype(bool), index=index),
        },
    )


def district_of_stadsdel(stadsdel: str, scheme: str, areas: Areas) -> str:
    """The district a stadsdel belongs to in one scheme (its district of largest overlap).

    Parameters
    ----------
    stadsdel
        A stadsdel name in any case ("Vasastaden", "VASASTADEN", "gamla stan").
    scheme
        :data:`SCHEME_2021_2023` or :data:`SCHEME_2024`.
    areas
        From :func:`load_areas`.

    Returns
    -------
    str
        The district name ("Norrmalm" in 2021–2023, "Norra innerstaden" from 2024).

    Raises
    ------
    UnknownAreaError
        No stadsdel has that name.
    """
    column = "sdo_2021_2023" if _check_scheme(scheme) == SCHEME_2021_2023 else "sdo_2024"
    key = " ".join(str(stadsdel).split()).upper()
    hit = areas.stadsdelar.loc[areas.stadsdelar["name_upper"] == key, column]
    if hit.empty:
        raise UnknownAreaError(
            f"expected one of the {len(areas.stadsdelar)} stadsdelar (e.g. 'Vasastaden'),"
            f" got {stadsdel!r} — check the spelling against Areas.stadsdelar.name"
        )
    return str(hit.iloc[0])
