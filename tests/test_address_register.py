"""The address register: loading (CSV, GIS layers), address parsing, lookups and geocoding."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from trygghetskarta.errors import SourceError
from trygghetskarta.geocode import addresses as ar
from trygghetskarta.schema import GEOCODED_COLUMNS

TZ = "Europe/Stockholm"
KOMMUN = shapely.box(656000, 6569000, 683000, 6593000).difference(
    shapely.box(668500, 6582500, 672000, 6587500)
)
WHEN = pd.Timestamp("2024-03-01", tz=TZ)


@pytest.fixture
def loaded(test_data: Path) -> ar.RegisterLoad:
    return ar.load_register(test_data / "lists" / "adresser_exempel.csv", kommun=KOMMUN)


@pytest.fixture
def register(loaded: ar.RegisterLoad) -> ar.AddressRegister:
    return loaded.register


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Götgatan 48", ("götgatan", 48, None, None)),
        ("Götgatan 48 B", ("götgatan", 48, "b", None)),
        ("Götgatan 48b, 118 26 Stockholm", ("götgatan", 48, "b", "11826")),
        ("GÖTGATAN 48-50", ("götgatan", 48, None, None)),
        ("Götgatan 48 lgh 1102", ("götgatan", 48, None, None)),
        ("S:t Eriksgatan 10", ("sankt eriksgatan", 10, None, None)),
        ("St. Eriksgatan 10", ("sankt eriksgatan", 10, None, None)),
        ("Drottningg. 53", ("drottninggatan", 53, None, None)),
        ("Vällingbyplan", ("vällingbyplan", None, None, None)),
        ("Sergels torg", ("sergels torg", None, None, None)),
        ("", (None, None, None, None)),
    ],
    ids=[
        "plain",
        "letter",
        "postcode",
        "range",
        "flat",
        "sankt",
        "st-dot",
        "abbrev",
        "street-only",
        "square",
        "blank",
    ],
)
def test_parse_address(text: str, expected: tuple) -> None:
    p = ar.parse_address(text)
    assert (p.street, p.number, p.letter, p.postcode) == expected


# --------------------------------------------------------------------------- loading


def test_load_register_keeps_good_rows_and_says_why_others_left(loaded: ar.RegisterLoad) -> None:
    assert loaded.read == 13 and len(loaded.register) == 10
    reasons = loaded.rejected["reason"].tolist()
    assert reasons[0] == "no street number"
    assert reasons[1] == "duplicate address"
    assert reasons[2].startswith("outside: (670523, 6583982)")
    table = loaded.register.table
    assert list(table.columns) == list(ar.REGISTER_COLUMNS)
    assert table.loc[table["letter"] == "b", "postcode"].tolist() == ["11826"]


def test_load_register_fixes_swapped_city_coordinates(tmp_path: Path) -> None:
    path = tmp_path / "adresser.csv"  # the city's layer: X is the northing, in EPSG:3011
    path.write_text(
        "Gatunamn;Gatunummer;Postnummer;X;Y\nGötgatan;48;11826;6577684;154186\n", encoding="utf-8"
    )
    loaded = ar.load_register(path, crs="EPSG:3011", kommun=KOMMUN)
    assert loaded.register.table[["x", "y"]].iloc[0].tolist() == pytest.approx(
        [674928, 6579087], abs=2
    )
    assert loaded.notes[-1] == "1 rows had swapped or mislabelled coordinates, fixed"


def test_load_register_from_a_gis_layer(tmp_path: Path) -> None:
    layer = gpd.GeoDataFrame(
        {"Gatunamn": ["Götgatan", "Götgatan"], "Gatunummer": [48, 50], "Postnummer": ["11826"] * 2},
        geometry=gpd.points_from_xy([154186, 154180], [6577684, 6577640]),
        crs="EPSG:3011",
    )
    path = tmp_path / "adresser.gpkg"
    layer.to_file(path)
    register = ar.load_register(path, kommun=KOMMUN).register
    assert len(register) == 2
    assert register.lookup("Götgatan 48")[:2] == pytest.approx((674928, 6579087), abs=2)


def test_load_register_without_a_street_column(tmp_path: Path) -> None:
    path = tmp_path / "adresser.csv"
    path.write_text("Väg;Nummer;X;Y\nGötgatan;48;674876;6578998\n", encoding="utf-8")
    with pytest.raises(SourceError, match="no column for the address register's street"):
        ar.load_register(path)
    loaded = ar.load_register(path, columns={"street": "Väg"})
    assert len(loaded.register) == 1


def test_register_round_trips_through_a_frame(register: ar.AddressRegister) -> None:
    again = ar.AddressRegister.from_frame(register.to_frame())
    assert again.lookup("Götgatan 50") == register.lookup("Götgatan 50")
    with pytest.raises(SourceError, match="lacks"):
        ar.AddressRegister.from_frame(pd.DataFrame({"street": []}))


# --------------------------------------------------------------------------- lookups


def test_exact_address_and_entrances(register: ar.AddressRegister) -> None:
    x, y, precision, unc, name = register.lookup("Götgatan 48 B")
    assert (x, y, precision, name) == (674884.0, 6579006.0, "address", "Götgatan 48B")
    assert unc == pytest.approx(25.0)
    x, y, precision, unc, _ = register.lookup("Götgatan 48")  # both entrances: their mean
    assert (x, y, precision) == (674880.0, 6579002.0, "address")
    assert unc == pytest.approx(25.0)


def test_unknown_number_falls_back_to_the_street(register: ar.AddressRegister) -> None:
    x, y, precision, unc, name = register.lookup("Götgatan 120")
    assert precision == "street" and name == "Götgatan"
    assert (x, y) == (674880.0, 6579002.0)  # the median of the street's points
    assert unc == pytest.approx(np.hypot(10, 42), abs=0.5)  # to its farthest address


def test_street_names_in_two_places_need_the_postcode(register: ar.AddressRegister) -> None:
    assert register.lookup("Exempelvägen 1") is None
    assert register.lookup("Exempelvägen 1, 167 89 Bromma")[:3] == (664000.0, 6583000.0, "address")


def test_unknown_streets_and_abbreviations(register: ar.AddressRegister) -> None:
    assert register.lookup("Okändagatan 3") is None
    assert register.lookup("S:t Eriksgatan 10")[2] == "address"
    assert register.lookup(None) is None


# --------------------------------------------------------------------------- geocoding


def test_geocode_addresses_register_then_fallback(register: ar.AddressRegister) -> None:
    asked: list[list] = []

    def fallback(texts: list, when: list) -> pd.DataFrame:
        asked.append(texts)
        return pd.DataFrame(
            {
                "x": [674345.0, np.nan],
                "y": [6581101.0, np.nan],
                "precision": ["place", "kommun"],
                "uncertainty_m": [250.0, 8000.0],
                "place_name": ["Sergels torg", None],
                "stadsdel": ["Norrmalm", None],
                "stadsdelsomrade": ["Norra innerstaden", None],
            }
        )

    def assign(x: np.ndarray, y: np.ndarray, when: list) -> pd.DataFrame:
        return pd.DataFrame(
            {"stadsdel": ["Södermalm"] * len(x), "stadsdelsomrade": ["Södermalm"] * len(x)}
        )

    addresses = ["Götgatan 48 A", "Sergels torg", "Okändagatan 3", "Götgatan 99"]
    out = ar.geocode_addresses(addresses, [WHEN] * 4, register, fallback=fallback, assign=assign)
    assert list(out.columns) == list(GEOCODED_COLUMNS)
    assert out["precision"].tolist() == ["address", "place", "kommun", "street"]
    assert asked == [["Sergels torg", "Okändagatan 3"]]
    assert out["place_name"].tolist() == [
        "Götgatan 48A",
        "Sergels torg",
        "Okändagatan 3",
        "Götgatan",
    ]
    assert out["stadsdel"].tolist() == ["Södermalm", "Norrmalm", None, "Södermalm"]


def test_geocode_addresses_without_register_or_fallback() -> None:
    out = ar.geocode_addresses(["Götgatan 48"], [WHEN], None)
    assert out["precision"].tolist() == ["none"] and np.isnan(out["x"].iloc[0])
    assert out["place_name"].tolist() == ["Götgatan 48"]


@pytest.mark.realdata
def test_geocode_addresses_with_the_project_geocoder(
    shared_data: Path, register: ar.AddressRegister
) -> None:
    from functools import partial

    from trygghetskarta import areas, geocode

    districts = areas.load_areas(shared_data)
    gaz = geocode.load_gazetteer(shared_data, districts)
    out = ar.geocode_addresses(
        ["Götgatan 48 B", "Rinkeby torg", "Medborgarplatsen"],
        [WHEN] * 3,
        register,
        fallback=partial(geocode.geocode_text, gaz=gaz, areas=districts),
        assign=lambda x, y, when: areas.assign(x, y, when, districts),
    )
    assert out["precision"].tolist() == ["address", "place", "place"]
    assert out["stadsdelsomrade"].tolist() == ["Södermalm", "Järva", "Södermalm"]
    assert out["stadsdel"].iloc[0] == "Södermalm"
