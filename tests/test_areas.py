"""Tests of areas: schemes, CRS handling, assignment on a tiny hand-made city and on real data."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from trygghetskarta import areas as ar
from trygghetskarta.errors import ConfigError, CRSError, SourceError

TZ = "Europe/Stockholm"


def _frame(rows: list[dict], crs: str = "EPSG:3006") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(rows, geometry=[r.pop("geometry") for r in rows], crs=crs)


@pytest.fixture
def tiny() -> ar.Areas:
    """A 2 km x 1 km city: two districts (merged into one from 2024), three stadsdelar.

    West district "Väst" = x 0..1000 holds stadsdelar "Alfa" (y 0..500, incl. water) and
    "Beta" (y 500..1000); east district "Öst" = x 1000..2000 is stadsdel "Gamla stan".
    """
    sdo_13 = _frame(
        [
            dict(name="Väst", adm_id=1, name_2024="Hela", region="R", area_km2=1.0,
                 geometry=box(0, 0, 1000, 1000)),
            dict(name="Öst", adm_id=2, name_2024="Hela", region="R", area_km2=1.0,
                 geometry=box(1000, 0, 2000, 1000)),
        ]
    )  # fmt: skip
    sdo_11 = _frame([dict(name="Hela", region="R", area_km2=2.0, geometry=box(0, 0, 2000, 1000))])
    stadsdelar = _frame(
        [
            dict(name="Alfa", name_upper="ALFA", sdo_2021_2023="Väst", sdo_2024="Hela",
                 area_km2=0.5, geometry=box(0, 0, 1000, 500)),
            dict(name="Beta", name_upper="BETA", sdo_2021_2023="Väst", sdo_2024="Hela",
                 area_km2=0.5, geometry=box(0, 500, 1000, 1000)),
            dict(name="Gamla stan", name_upper="GAMLA STAN", sdo_2021_2023="Öst",
                 sdo_2024="Hela", area_km2=0.95, geometry=box(1000, 0, 2000, 990)),
        ]
    )  # fmt: skip
    regso = _frame(
        [
            dict(code="R1", name="R ett", pop_2024=10, sdo_2021_2023="Väst", sdo_2024="Hela",
                 geometry=box(0, 0, 2000, 1000)),
        ]
    )  # fmt: skip
    kommun = _frame([dict(name="Tiny", code="0000", area_km2=2.0, geometry=box(0, 0, 2000, 1000))])
    return ar.Areas(sdo_13=sdo_13, sdo_11=sdo_11, stadsdelar=stadsdelar, regso=regso, kommun=kommun)


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        (pd.Timestamp("2023-12-31 23:59:59", tz=TZ), ar.SCHEME_2021_2023),
        (pd.Timestamp("2024-01-01 00:00:00", tz=TZ), ar.SCHEME_2024),
        (pd.Timestamp("2023-12-31 23:30", tz="UTC"), ar.SCHEME_2024),  # 00:30 in Stockholm
        ("2023-06-01 12:00", ar.SCHEME_2021_2023),  # naive = Stockholm local time
        (pd.NaT, ar.SCHEME_2024),
    ],
    ids=["last-second-2023", "switch-instant", "utc-after-switch", "naive-string", "nat"],
)
def test_scheme_at(ts, expected):
    assert ar.scheme_at(ts) == expected


def test_schemes_at_matches_scalar_and_keeps_index():
    ts = pd.Series(
        pd.to_datetime(["2023-12-31 23:00", "2024-01-01 00:00", None]).tz_localize(TZ),
        index=[10, 11, 12],
    )
    out = ar.schemes_at(ts)
    assert out.tolist() == [ar.SCHEME_2021_2023, ar.SCHEME_2024, ar.SCHEME_2024]
    assert out.index.tolist() == [10, 11, 12]


def _stamps_around_the_switch() -> pd.Series:
    """Instants on both sides of the 2024 switch, a DST change and NaT, in Stockholm time."""
    rng = np.random.default_rng(16)
    base = pd.Timestamp("2023-12-31 12:00", tz=TZ).value
    offsets = rng.integers(-40 * 86_400, 40 * 86_400, size=500) * 1_000_000_000
    stamps = pd.to_datetime(base + offsets, utc=True).tz_convert(TZ)
    edges = pd.to_datetime(
        ["2023-12-31 23:59:59", "2024-01-01 00:00:00", "2023-10-29 02:30:00", "2021-01-01 00:00:00"]
    ).tz_localize(TZ, ambiguous=True)
    return pd.Series(stamps.append(edges).append(pd.DatetimeIndex([pd.NaT], tz=TZ)))


@pytest.mark.parametrize(
    "form",
    [
        pytest.param(lambda s: s, id="series-stockholm"),
        pytest.param(lambda s: s.dt.tz_convert("UTC"), id="series-utc"),
        pytest.param(lambda s: s.dt.tz_localize(None), id="series-naive-local"),
        pytest.param(lambda s: pd.DatetimeIndex(s), id="index-aware"),
        pytest.param(lambda s: s.dt.tz_localize(None).to_numpy(), id="ndarray-naive"),
        pytest.param(lambda s: s.dt.as_unit("s"), id="series-seconds"),
    ],
)
def test_schemes_at_on_datetime_columns_matches_the_object_path(form):
    stamps = _stamps_around_the_switch()
    given = form(stamps)
    # The object path (Python timestamps, parsed again) on the aware instants is the
    # reference (on naive ones it refuses the doubled autumn hour; the array path does not).
    expected = ar.schemes_at(pd.Series(list(stamps), dtype=object)).tolist()
    out = ar.schemes_at(given)
    assert out.tolist() == expected
    assert out.iloc[-2] == ar.SCHEME_2021_2023  # 2021
    assert out.iloc[-1] == ar.SCHEME_2024  # NaT: the current scheme
    assert set(out) == {ar.SCHEME_2021_2023, ar.SCHEME_2024}


@pytest.mark.parametrize(
    ("upper", "expected"),
    [
        ("GAMLA STAN", "Gamla stan"),
        ("HÄSSELBY STRAND", "Hässelby strand"),
        ("VASASTADEN", "Vasastaden"),
        ("NORRA DJURGÅRDEN", "Norra Djurgården"),
        ("SKARPNÄCKS GÅRD", "Skarpnäcks gård"),
        ("GAMLA ENSKEDE", "Gamla Enskede"),
        ("ULVSUNDA INDUSTRIOMR", "Ulvsunda industriområde"),
    ],
    ids=lambda v: v if isinstance(v, str) and v.isupper() else None,
)
def test_title_case_stadsdel(upper, expected):
    assert ar.title_case_stadsdel(upper) == expected


def test_assign_tiny(tiny):
    x = pd.Series([500.0, 500.0, 1500.0, 1500.0, np.nan, 5000.0], index=list("abcdef"))
    y = np.array([100.0, 900.0, 500.0, 995.0, 1.0, 500.0])
    when = [pd.Timestamp("2023-05-01", tz=TZ)] * 3 + [pd.Timestamp("2024-05-01", tz=TZ)] * 3
    out = ar.assign(x, y, when, tiny)
    assert out.index.tolist() == list("abcdef")
    # point d (1500, 995) lies in a 10 m sliver no stadsdel covers: nearest stadsdel
    assert out["stadsdel"].tolist() == ["Alfa", "Beta", "Gamla stan", "Gamla stan", None, None]
    assert out["stadsdelsomrade"].tolist() == ["Väst", "Väst", "Öst", "Hela", None, None]
    assert out["inside_kommun"].tolist() == [True, True, True, True, False, False]


def test_assign_border_point_is_deterministic(tiny):
    out = ar.assign([1000.0], [500.0], pd.Timestamp("2023-01-01", tz=TZ), tiny)
    assert out["stadsdelsomrade"].iloc[0] == "Väst"  # lowest index wins on a shared border


@pytest.mark.parametrize(
    ("stadsdel", "scheme", "expected"),
    [
        ("Beta", ar.SCHEME_2021_2023, "Väst"),
        ("beta", ar.SCHEME_2024, "Hela"),
        ("GAMLA STAN", ar.SCHEME_2021_2023, "Öst"),
    ],
    ids=["title", "lower-2024", "upper"],
)
def test_district_of_stadsdel(tiny, stadsdel, scheme, expected):
    assert ar.district_of_stadsdel(stadsdel, scheme, tiny) == expected


def test_district_of_unknown_stadsdel(tiny):
    with pytest.raises(ar.UnknownAreaError, match="got 'Atlantis'"):
        ar.district_of_stadsdel("Atlantis", ar.SCHEME_2024, tiny)


def test_districts_rejects_unknown_scheme(tiny):
    assert tiny.districts(ar.SCHEME_2024)["name"].tolist() == ["Hela"]
    with pytest.raises(ConfigError, match="expected a district scheme"):
        tiny.districts("2019")


@pytest.mark.parametrize("crs", ["EPSG:3006", "EPSG:3011", "EPSG:4326", "OGC:CRS84"], ids=str)
def test_to_store_crs_accepts(crs):
    pt = gpd.GeoDataFrame(geometry=gpd.points_from_xy([18.07], [59.33]), crs="EPSG:4326")
    out = ar.to_store_crs(pt.to_crs(crs))
    assert out.crs.to_epsg() == 3006
    assert out.geometry.x.iloc[0] == pytest.approx(674_640, abs=300)


def test_to_store_crs_rejects_other():
    frame = gpd.GeoDataFrame(geometry=gpd.points_from_xy([0.0], [0.0]), crs="EPSG:3857")
    with pytest.raises(CRSError, match=r"expected EPSG:3006, EPSG:3011, EPSG:4326, got .*3857"):
        ar.to_store_crs(frame, "x.geojson")
    with pytest.raises(CRSError, match="no CRS"):
        ar.to_store_crs(gpd.GeoDataFrame(geometry=gpd.points_from_xy([0.0], [0.0])))


def test_load_areas_missing_file(tmp_path: Path):
    with pytest.raises(SourceError, match=r"stadsdelsomraden_13.*missing"):
        ar.load_areas(tmp_path)


def test_load_population_tiny(tmp_path: Path):
    (tmp_path / "population").mkdir()
    (tmp_path / "population" / ar.POPULATION_FILE).write_text(
        "area,level,pop_2020,pop_2024,pop_2034_forecast,share_2024_pct\n"
        "Inre staden,region,10,11,12,50.0\n"
        "Järva,stadsdelsomrade,5,6,7,25.0\n"
        "På staden skrivna,unassigned,1,1,1,1.0\n"
        "Hela staden,city,20,22,24,100.0\n",
        encoding="utf-8",
    )
    pop = ar.load_population(tmp_path)
    assert sorted(pop["year"].unique()) == [2020, 2024]
    assert set(pop["level"]) == {"region", "stadsdelsomrade", "other", "kommun"}
    row = pop[(pop["area"] == "Innerstaden") & (pop["year"] == 2024)]
    assert row["population"].tolist() == [11]
    assert pop.loc[pop["level"] == "kommun", "area"].unique().tolist() == ["Stockholm"]
    full = ar.load_population(tmp_path, include_forecast=True)
    assert full.loc[full["year"] == 2034, "forecast"].all()


# ---------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def real_areas(request) -> ar.Areas:
    shared = request.getfixturevalue("shared_data")
    return ar.load_areas(shared)


@pytest.mark.realdata
def test_real_layers(real_areas):
    assert len(real_areas.sdo_13) == 13
    assert len(real_areas.sdo_11) == 11
    assert len(real_areas.stadsdelar) == 117
    assert len(real_areas.regso) == 127
    for layer in (real_areas.sdo_13, real_areas.sdo_11, real_areas.stadsdelar, real_areas.kommun):
        assert layer.crs.to_epsg() == 3006
        assert layer.geometry.is_valid.all()
    assert real_areas.kommun["area_km2"].iloc[0] == pytest.approx(215.8, abs=0.5)
    assert real_areas.sdo_13["area_km2"].sum() == pytest.approx(215.8, abs=0.5)
    assert {"Gamla stan", "Hässelby strand", "Vasastaden"} <= set(real_areas.stadsdelar["name"])
    merged = real_areas.sdo_13.groupby("name_2024")["name"].apply(sorted).to_dict()
    assert merged["Järva"] == ["Rinkeby-Kista", "Spånga-Tensta"]
    assert merged["Norra innerstaden"] == ["Norrmalm", "Östermalm"]
    assert set(merged) == set(real_areas.sdo_11["name"])


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("lon", "lat", "stadsdel", "d2023", "d2024"),
    [
        (18.0649, 59.3326, "Norrmalm", "Norrmalm", "Norra innerstaden"),  # Sergels torg
        (17.9449, 59.4036, "Kista", "Rinkeby-Kista", "Järva"),  # Kista Galleria
        (18.0712, 59.3250, "Gamla stan", "Södermalm", "Södermalm"),  # Stortorget
        (18.0600, 59.3200, "Södermalm", "Södermalm", "Södermalm"),  # Riddarfjärden water
        (18.0300, 59.3550, None, None, None),  # Solna, outside
    ],
    ids=["sergels-torg", "kista", "gamla-stan", "riddarfjarden-water", "solna"],
)
def test_real_assign(real_areas, lon, lat, stadsdel, d2023, d2024):
    from pyproj import Transformer

    x, y = Transformer.from_crs("EPSG:4326", "EPSG:3006", always_xy=True).transform(lon, lat)
    when = [pd.Timestamp("2023-06-01", tz=TZ), pd.Timestamp("2024-06-01", tz=TZ)]
    out = ar.assign([x, x], [y, y], when, real_areas)
    assert out["stadsdel"].tolist() == [stadsdel, stadsdel]
    assert out["stadsdelsomrade"].tolist() == [d2023, d2024]
    assert out["inside_kommun"].tolist() == [stadsdel is not None] * 2


@pytest.mark.realdata
def test_real_every_stadsdel_point_maps_to_its_own_district(real_areas):
    pts = real_areas.stadsdelar.geometry.representative_point()
    out = ar.assign(pts.x, pts.y, pd.Timestamp("2023-06-01", tz=TZ), real_areas)
    assert out["stadsdel"].tolist() == real_areas.stadsdelar["name"].tolist()
    agree = (out["stadsdelsomrade"] == real_areas.stadsdelar["sdo_2021_2023"]).mean()
    assert agree > 0.95  # the stadsdel→district table is by largest overlap


@pytest.mark.realdata
def test_real_population(shared_data):
    pop = ar.load_population(shared_data)
    p24 = pop[pop["year"] == 2024]
    districts = p24[p24["level"] == "stadsdelsomrade"]
    assert len(districts) == 11
    assert districts["population"].sum() == 991_937
    assert p24.loc[p24["level"] == "kommun", "population"].item() == 995_574
    assert 2034 not in set(pop["year"])


@pytest.mark.filterwarnings("ignore:.crs. was not provided:UserWarning")
@pytest.mark.parametrize(
    ("crs", "says"),
    [
        pytest.param(None, "has no coordinate reference system", id="no-crs"),
        pytest.param("EPSG:3857", "is in EPSG:3857", id="web-mercator"),
    ],
)
def test_a_boundary_file_in_no_accepted_crs_is_one_sentence_naming_it(tmp_path, crs, says):
    folder = tmp_path / "boundaries"
    folder.mkdir()
    path = folder / ar.BOUNDARY_FILES["sdo_13"]
    square = gpd.GeoSeries.from_wkt(["POLYGON ((0 0, 1 0, 1 1, 0 1, 0 0))"])
    gpd.GeoDataFrame({"name": ["Rinkeby-Kista"]}, geometry=square, crs=crs).to_file(path)
    with pytest.raises(CRSError) as info:
        ar.load_areas(tmp_path)
    message = str(info.value)
    assert message.startswith(f"the boundary file {path} {says}, expected EPSG:3006, EPSG:3011")
    assert "ogr2ogr" in message
    assert "\n" not in message


def test_a_geojson_without_crs_holding_metres_is_one_sentence_not_a_crash(tmp_path):
    """GeoJSON without a crs member is read as WGS84; coordinates in metres cannot be."""
    folder = tmp_path / "boundaries"
    folder.mkdir()
    path = folder / ar.BOUNDARY_FILES["land"]
    square = "[[150000, 6570000], [151000, 6570000], [151000, 6571000], [150000, 6570000]]"
    path.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, '
        f'"geometry": {{"type": "Polygon", "coordinates": [{square}]}}}}]}}',
        encoding="utf-8",
    )
    with pytest.raises(CRSError) as info:
        ar.load_land(tmp_path)
    message = str(info.value)
    assert message.startswith(f"the boundary file {path} is read as EPSG:4326")
    assert "its coordinates are not degrees (x 150000 to 151000, y 6570000 to 6571000)" in message
    assert "ogr2ogr -a_srs EPSG:3011" in message
