"""Tests of geocode: a tiny hand-made city with reference answers, then the real data."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer
from shapely.geometry import box

from trygghetskarta import areas as ar
from trygghetskarta import geocode as gc
from trygghetskarta import pipeline
from trygghetskarta.errors import SchemaError, SourceError
from trygghetskarta.schema import GEOCODED_COLUMNS, Precision

TZ = "Europe/Stockholm"
T2023 = pd.Timestamp("2023-06-01 12:00", tz=TZ)
T2024 = pd.Timestamp("2024-06-01 12:00", tz=TZ)
X0, Y0 = 670_000.0, 6_580_000.0  # a corner in central Stockholm, EPSG:3006
TO_WGS84 = Transformer.from_crs("EPSG:3006", "EPSG:4326", always_xy=True)


def _box(x1: float, y1: float, x2: float, y2: float):
    return box(X0 + x1, Y0 + y1, X0 + x2, Y0 + y2)


def _frame(rows: list[dict]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(rows, geometry=[r.pop("geometry") for r in rows], crs="EPSG:3006")


@pytest.fixture(scope="module")
def tiny_areas() -> ar.Areas:
    """Three districts on a 3 km x 1 km strip.

    Väst (0–1 km, stadsdelar Alfa south / Beta north) and Öst (1–2 km, stadsdel Gamla stan)
    merge into "Hela" in 2024; Norr (2–3 km, stadsdel Gamma) stays itself.
    """
    sdo_13 = _frame(
        [
            dict(name="Väst", adm_id=1, name_2024="Hela", region="R", area_km2=1.0,
                 geometry=_box(0, 0, 1000, 1000)),
            dict(name="Öst", adm_id=2, name_2024="Hela", region="R", area_km2=1.0,
                 geometry=_box(1000, 0, 2000, 1000)),
            dict(name="Norr", adm_id=3, name_2024="Norr", region="R", area_km2=1.0,
                 geometry=_box(2000, 0, 3000, 1000)),
        ]
    )  # fmt: skip
    sdo_11 = _frame(
        [
            dict(name="Hela", region="R", area_km2=2.0, geometry=_box(0, 0, 2000, 1000)),
            dict(name="Norr", region="R", area_km2=1.0, geometry=_box(2000, 0, 3000, 1000)),
        ]
    )
    stadsdelar = _frame(
        [
            dict(name="Alfa", name_upper="ALFA", sdo_2021_2023="Väst", sdo_2024="Hela",
                 area_km2=0.5, geometry=_box(0, 0, 1000, 500)),
            dict(name="Beta", name_upper="BETA", sdo_2021_2023="Väst", sdo_2024="Hela",
                 area_km2=0.5, geometry=_box(0, 500, 1000, 1000)),
            dict(name="Gamla stan", name_upper="GAMLA STAN", sdo_2021_2023="Öst",
                 sdo_2024="Hela", area_km2=1.0, geometry=_box(1000, 0, 2000, 1000)),
            dict(name="Gamma", name_upper="GAMMA", sdo_2021_2023="Norr", sdo_2024="Norr",
                 area_km2=1.0, geometry=_box(2000, 0, 3000, 1000)),
        ]
    )  # fmt: skip
    regso = _frame(
        [
            dict(code="0180R001", name="Regso Ett", pop_2024=10, sdo_2021_2023="Väst",
                 sdo_2024="Hela", geometry=_box(0, 0, 1000, 1000)),
        ]
    )  # fmt: skip
    kommun = _frame([dict(name="Tiny", code="0000", area_km2=3.0, geometry=_box(0, 0, 3000, 1000))])
    return ar.Areas(sdo_13=sdo_13, sdo_11=sdo_11, stadsdelar=stadsdelar, regso=regso, kommun=kommun)


def _lonlat(x: float, y: float) -> tuple[float, float]:
    lon, lat = TO_WGS84.transform(X0 + x, Y0 + y)
    return round(lon, 7), round(lat, 7)


GAZ_ROWS = [  # name, kind, code, local x, y (metres from the corner)
    ("Väst", "stadsdelsomrade_2021_2023", "1", 500, 500),
    ("Öst", "stadsdelsomrade_2021_2023", "2", 1500, 500),
    ("Norr", "stadsdelsomrade_2021_2023", "3", 2500, 500),
    ("Hela", "stadsdelsomrade_2024", "", 1000, 500),
    ("Alfa", "stadsdel", "", 500, 250),
    ("Beta", "stadsdel", "", 500, 750),
    ("Gamla Stan", "stadsdel", "", 1500, 500),
    ("Gamma", "stadsdel", "", 2500, 500),
    ("Regso Ett", "regso_2025", "0180R001", 500, 300),
    ("Torget", "valdistrikt_place", "01800001", 300, 200),
    ("Torget", "valdistrikt_place", "01800002", 340, 200),
    ("Långa gatan", "valdistrikt_place", "01800003", 800, 800),
    ("Dalen", "valdistrikt_place", "01800004", 600, 900),
    ("Ek", "valdistrikt_place", "01800005", 100, 100),
    ("Kv Kaninen", "valdistrikt_place", "01800006", 100, 100),
    ("Alfa mellersta", "valdistrikt_place", "01800007", 450, 250),
]


def _curated_rows() -> list[dict]:
    def pt(x: float, y: float) -> dict:
        lon, lat = _lonlat(x, y)
        return {"lon": lon, "lat": lat}

    return [
        dict(name="Slussen", kind="station", **pt(1400, 400), stadsdel="Gamla stan",
             uncertainty_m="150"),
        dict(name="Stortorget", kind="square", **pt(1600, 400), stadsdel="Gamla stan",
             uncertainty_m="80"),
        dict(name="T-Centralen", aliases="Centralen|Stockholm C", kind="station",
             **pt(500, 900), stadsdel="Beta"),
        dict(name="Söder", kind="colloquial", refers_to="Gamla stan", match="capitalised"),
        dict(name="Dalen", kind="colloquial", refers_to="Dalen", match="capitalised"),
        dict(name="Alfan", kind="colloquial", refers_to="Alfa"),
        dict(name="Solna", aliases="Råsunda", kind="outside"),
        dict(name="Alfa IF", kind="ignore"),
    ]  # fmt: skip


STREET_ROWS = [  # name, aliases, stadsdelar, local x, y, uncertainty
    ("Alfagatan", "", "Alfa", 400, 100, "200"),  # one stadsdel
    ("Västvägen", "Västv", "Alfa|Beta", 600, 300, "500"),  # two stadsdelar, one district
    ("Långa leden", "", "Beta|Gamla stan|Gamma", 1500, 900, "1500"),  # three districts
]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    (root / "gazetteer").mkdir()
    rows = []
    for name, kind, code, x, y in GAZ_ROWS:
        lon, lat = _lonlat(x, y)
        rows.append(dict(name=name, kind=kind, code=code, lat=lat, lon=lon, source="test"))
    pd.DataFrame(rows).to_csv(root / "gazetteer" / "stockholm_placenames.csv", index=False)
    cols = ["name", "aliases", "kind", "lon", "lat", "stadsdel", "refers_to"]
    cols += ["uncertainty_m", "match", "note"]
    pd.DataFrame(_curated_rows()).reindex(columns=cols).to_csv(root / "curated.csv", index=False)
    streets = []
    for name, aliases, span, x, y, unc in STREET_ROWS:
        lon, lat = _lonlat(x, y)
        streets.append(dict(name=name, aliases=aliases, stadsdelar=span, lon=lon, lat=lat,
                            uncertainty_m=unc, note=""))  # fmt: skip
    pd.DataFrame(streets).to_csv(root / "streets.csv", index=False)
    return root


@pytest.fixture(scope="module")
def tiny_gaz(tiny_dir, tiny_areas) -> gc.Gazetteer:
    return gc.load_gazetteer(
        tiny_dir,
        tiny_areas,
        curated_path=tiny_dir / "curated.csv",
        streets_path=tiny_dir / "streets.csv",
    )


def _one(text, when, gaz, areas) -> dict:
    out = gc.geocode_text([text], [when], gaz, areas)
    assert list(out.columns) == list(GEOCODED_COLUMNS)
    return out.iloc[0].to_dict()


CASES = [
    # id, text, when, precision, place_name, stadsdel, district
    ("stadsdel-2023", "Rån i Alfa.", T2023, "stadsdel", "Alfa", "Alfa", "Väst"),
    ("stadsdel-2024", "Rån i Alfa.", T2024, "stadsdel", "Alfa", "Alfa", "Hela"),
    ("genitive", "Bråk i Alfas park.", T2023, "stadsdel", "Alfa", "Alfa", "Väst"),
    ("case-insensitive", "rån i ALFA", T2023, "stadsdel", "Alfa", "Alfa", "Väst"),
    ("district", "Inbrott i Väst.", T2023, "stadsdelsomrade", "Väst", None, "Väst"),
    ("district-to-2024", "Inbrott i Väst.", T2024, "stadsdelsomrade", "Väst", None, "Hela"),
    ("2024-name-before-2024", "Brand i Hela.", T2023, "kommun",
     gc.ERA_PREFIX + "Hela (Väst eller Öst)", None, None),
    ("2024-name-and-stadsdel-before-2024", "Brand i Hela, i Gamla stan.", T2023, "stadsdel",
     "Gamla stan", "Gamla stan", "Öst"),
    ("2024-name-and-place-before-2024", "Brand i Hela vid Slussen.", T2023, "place",
     "Slussen", "Gamla stan", "Öst"),
    ("fallback-to-2024-district-before-2024", "Från Alfa till Gamla stan", T2023, "kommun",
     gc.ERA_PREFIX + "Hela (Väst eller Öst)", None, None),
    ("2024-name-in-2024", "Brand i Hela.", T2024, "stadsdelsomrade", "Hela", None, "Hela"),
    ("curated-place", "Stöld vid Slussen.", T2023, "place", "Slussen", "Gamla stan", "Öst"),
    ("place-within-stadsdel", "Slussen i Gamla stan", T2023, "place", "Slussen", "Gamla stan",
     "Öst"),
    ("multiword-whitespace", "i Gamla\n  stan", T2023, "stadsdel", "Gamla stan", "Gamla stan",
     "Öst"),
    ("en-dash-alias", "på T–centralen", T2023, "place", "T-Centralen", "Beta", "Väst"),
    ("alias", "vid Stockholm C", T2023, "place", "T-Centralen", "Beta", "Väst"),
    ("refers-to", "på Alfan", T2023, "stadsdel", "Alfa", "Alfa", "Väst"),
    ("capitalised-ok", "Bråk på Söder.", T2023, "stadsdel", "Gamla stan", "Gamla stan", "Öst"),
    ("capitalised-lower", "En butik söder om staden.", T2023, "kommun", None, None, None),
    ("ordinary-word", "dalen var djup", T2023, "kommun", None, None, None),
    ("ordinary-word-cap", "Bråk i Dalen.", T2023, "place", "Dalen", "Beta", "Väst"),
    ("valdistrikt-merged", "Polis på Torget.", T2023, "place", "Torget", "Alfa", "Väst"),
    ("valdistrikt-street", "Olycka på Långa gatan.", T2023, "street", "Långa gatan", "Beta",
     "Väst"),
    ("regso", "i Regso Ett", T2023, "place", "Regso Ett", "Alfa", "Väst"),
    ("too-short", "Ek", T2023, "kommun", None, None, None),
    ("kvarter-dropped", "Kv Kaninen", T2023, "kommun", None, None, None),
    ("no-place", "En man greps.", T2023, "kommun", None, None, None),
    ("empty", "", T2023, "kommun", None, None, None),
    ("two-stadsdelar-one-district", "Alfa och Beta", T2023, "stadsdelsomrade", "Väst", None,
     "Väst"),
    ("fallback-to-2024-district", "Från Alfa till Gamla stan", T2024, "stadsdelsomrade",
     "Hela", None, "Hela"),
    ("conflict", "Från Alfa till Gamma", T2023, "kommun",
     gc.CONFLICT_PREFIX + "Alfa, Gamma", None, None),
    ("outside", "Trafikolycka i Solna.", T2023, "kommun", gc.OUTSIDE_PREFIX + "Solna", None,
     None),
    ("outside-alias", "Bråk vid Råsunda.", T2023, "kommun", gc.OUTSIDE_PREFIX + "Solna", None,
     None),
    ("inside-beats-outside", "Man från Solna greps i Beta.", T2023, "stadsdel", "Beta", "Beta",
     "Väst"),
    ("ignore-shadows", "Matchen mot Alfa IF.", T2023, "kommun", None, None, None),
    ("not-inside-words", "Alfabetet och Betastråket", T2023, "kommun", None, None, None),
    ("street-one-stadsdel", "Rån på Alfagatan.", T2023, "street", "Alfagatan", "Alfa", "Väst"),
    ("street-genitive", "Alfagatans hörn", T2023, "street", "Alfagatan", "Alfa", "Väst"),
    ("street-one-district", "Krock på Västvägen.", T2023, "street", "Västvägen", None, "Väst"),
    ("street-alias", "Krock på Västv.", T2023, "street", "Västvägen", None, "Väst"),
    ("street-narrowed", "Krock på Västvägen i Beta.", T2023, "stadsdel", "Västvägen", "Beta",
     "Väst"),
    ("street-and-own-stadsdel", "Krock på Västvägen i Alfa.", T2023, "street", "Västvägen",
     "Alfa", "Väst"),
    ("road-many-districts", "Krock på Långa leden.", T2023, "kommun",
     gc.SPAN_PREFIX + "Långa leden", None, None),
    ("road-narrowed", "Krock på Långa leden vid Gamma.", T2023, "stadsdel", "Långa leden",
     "Gamma", "Norr"),
    ("road-2024-district", "Krock på Långa leden i Gamla stan.", T2024, "street",
     "Långa leden", "Gamla stan", "Hela"),
    ("road-and-street-share-district", "Krock på Alfagatan och Långa leden.", T2023,
     "stadsdelsomrade", "Väst", None, "Väst"),
    ("streets-not-jointly-consistent", "Krock på Långa leden och Västvägen i Alfa.", T2023,
     "stadsdelsomrade", "Väst", None, "Väst"),
    ("dash-as-space", "vid T Centralen", T2023, "place", "T-Centralen", "Beta", "Väst"),
    ("direction-only", "En bil på väg mot Alfa.", T2023, "kommun", None, None, None),
    ("direction-and-place", "Bilen i Gamma körde mot Alfa.", T2023, "stadsdel", "Gamma",
     "Gamma", "Norr"),
    ("glued-sentence", "Bråk vid en port.När polisen kom till Beta greps han.", T2023,
     "stadsdel", "Beta", "Beta", "Väst"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "when", "precision", "place", "stadsdel", "district"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_geocode_text_tiny(tiny_gaz, tiny_areas, text, when, precision, place, stadsdel, district):
    row = _one(text, when, tiny_gaz, tiny_areas)
    assert row["precision"] == precision
    assert row["place_name"] == place
    assert row["stadsdel"] == stadsdel
    assert row["stadsdelsomrade"] == district
    if precision in ("kommun", "none"):
        assert np.isnan(row["x"]) and np.isnan(row["y"])
    else:
        assert tiny_areas.kommun.geometry.iloc[0].covers(
            gpd.points_from_xy([row["x"]], [row["y"]])[0]
        )


def test_uncertainty_radii(tiny_gaz, tiny_areas):
    rows = gc.geocode_text(["Alfa", "Väst", "Slussen", "Torget", "nothing"], [T2023] * 5,
                           tiny_gaz, tiny_areas)  # fmt: skip
    unc = rows["uncertainty_m"].tolist()
    assert unc[0] == pytest.approx(np.sqrt(0.5e6 / np.pi))  # Alfa: 0.5 km²
    assert unc[1] == pytest.approx(np.sqrt(1.0e6 / np.pi))  # Väst: 1 km²
    assert unc[2] == pytest.approx(150.0)  # curated
    assert unc[3] >= 300.0  # valdistrikt: two points 40 m apart merged
    assert unc[4] == pytest.approx(np.sqrt(3.0e6 / np.pi))  # the kommun
    assert rows.loc[3, "x"] == pytest.approx(X0 + 320, abs=1)


def test_two_near_places_keep_place_precision(tiny_gaz, tiny_areas):
    row = _one("Mellan Slussen och Stortorget", T2023, tiny_gaz, tiny_areas)
    assert row["precision"] == "place"
    assert row["place_name"] == "Stortorget"  # same rank: the better known (80 m) wins
    assert row["uncertainty_m"] == pytest.approx(200.0, abs=1)  # grown to cover Slussen


def _events(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["event_uid", "summary", "body", "occurred_at", "category"])
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"]).dt.tz_localize(TZ)
    frame["title"] = "1 juni 12.00, Rån, Stockholm"
    return frame.set_index(pd.Index([10, 11, 12, 13, 14, 15]))


def test_geocode_events_summary_then_body(tiny_gaz, tiny_areas):
    events = _events(
        [
            ("p:1", "Rån i Alfa.", "Det hände vid Torget.", "2023-06-01", "robbery"),
            ("p:2", "Rån i Alfa.", "Gärningsmannen flydde mot Slussen.", "2023-06-01", "robbery"),
            ("p:3", "Rån.", "Det hände i Beta.", "2024-02-01", "robbery"),
            ("p:4", "Sammanfattning natt", "Bråk i Alfa och Gamma.", "2024-02-01", "summary"),
            ("p:5", "Bråk.", None, "2023-06-01", "violence"),
            ("p:6", "Rån.", "Bilen kom från Solna.", "2023-06-01", "robbery"),
        ]
    )  # fmt: skip
    out = gc.geocode_events(events, tiny_gaz, tiny_areas)
    assert list(out.columns) == ["event_uid", *GEOCODED_COLUMNS]
    assert out.index.tolist() == events.index.tolist()
    assert out["event_uid"].tolist() == events["event_uid"].tolist()
    assert out["place_name"].tolist() == ["Torget", "Alfa", "Beta", None, None, None]
    assert out["precision"].tolist() == [
        "place",
        "stadsdel",
        "stadsdel",
        "none",
        "kommun",
        "kommun",
    ]
    assert out["stadsdelsomrade"].tolist() == ["Väst", "Väst", "Hela", None, None, None]
    assert np.isnan(out.loc[13, "uncertainty_m"])
    assert set(out["precision"]) <= {p.value for p in Precision}


def test_geocode_events_missing_column(tiny_gaz, tiny_areas):
    with pytest.raises(SchemaError, match="missing \\['body'\\]"):
        gc.geocode_events(
            pd.DataFrame(columns=["event_uid", "summary", "occurred_at", "category"]),
            tiny_gaz,
            tiny_areas,
        )


def test_matches_reports_spans(tiny_gaz):
    text = "Bråk på Söder, sedan i Gamla  stan."
    found = tiny_gaz.matches(text)
    assert [m.text for m in found] == ["Söder", "Gamla  stan"]
    assert [text[m.start : m.start + len(m.text)] for m in found] == ["Söder", "Gamla  stan"]


@pytest.mark.parametrize(
    ("name", "key"),
    [("Gamla  Stan", "gamla stan"), ("T – Centralen", "t-centralen"), ("A. Lind", None),
     ("S:t Eriksplan", "s:t eriksplan")],
    ids=["spaces", "dash", "punctuation", "colon"],
)  # fmt: skip
def test_normalise(name, key):
    assert gc.normalise(name) == key


def test_refers_to_unknown_place(tiny_dir, tiny_areas, tmp_path):
    bad = tmp_path / "bad.csv"
    pd.DataFrame(
        [dict(name="Nowhere", aliases="", kind="colloquial", lon="", lat="", refers_to="Atlantis",
              uncertainty_m="", match="", note="")]
    ).to_csv(bad, index=False)  # fmt: skip
    with pytest.raises(SourceError, match="refers_to 'Atlantis'"):
        gc.load_gazetteer(tiny_dir, tiny_areas, curated_path=bad)


def test_missing_gazetteer(tiny_areas, tmp_path):
    with pytest.raises(SourceError, match=r"stockholm_placenames\.csv, but it is missing"):
        gc.load_gazetteer(tmp_path, tiny_areas)


# ---------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def real(request) -> tuple[ar.Areas, gc.Gazetteer]:
    shared = request.getfixturevalue("shared_data")
    areas = ar.load_areas(shared)
    return areas, gc.load_gazetteer(shared, areas)


@pytest.mark.realdata
def test_real_curated_points_fall_in_their_stadsdel(real):
    """Every curated point lies in the stadsdel it lists, as the gazetteer settles it on
    borders (the district layer decides: Nybroplan lies in Norrmalm, see test_geocode_2026)."""
    areas, gaz = real
    curated = gc.read_curated()
    points = curated[curated["lon"] != ""]
    assert len(points) > 60
    assert (points["stadsdel"] != "").all(), "every curated point names its stadsdel"
    places = gaz.places[gaz.places["source"] == "resources/places_curated.csv"]
    places = places.set_index("name").loc[points["name"]]
    got = ar.assign(places["x"].to_numpy(), places["y"].to_numpy(), T2024, areas)
    wrong = points.assign(got=got["stadsdel"].to_numpy()).query("got != stadsdel")
    assert wrong.empty, wrong[["name", "stadsdel", "got"]].to_string()


@pytest.mark.realdata
def test_real_every_stadsdel_name_resolves(real):
    areas, gaz = real
    names = areas.stadsdelar["name"].tolist()
    out = gc.geocode_text([f"Bråk i {n}." for n in names], [T2023] * len(names), gaz, areas)
    assert (out["precision"] == "stadsdel").all(), out[out["precision"] != "stadsdel"]
    assert out["stadsdel"].tolist() == names
    assert out["stadsdelsomrade"].tolist() == areas.stadsdelar["sdo_2021_2023"].tolist()


@pytest.mark.realdata
def test_real_every_district_name_resolves_in_both_schemes(real):
    areas, gaz = real
    names = areas.sdo_13["name"].tolist()
    texts = [f"Bråk i {n}." for n in names]
    before = gc.geocode_text(texts, [T2023] * len(names), gaz, areas)
    after = gc.geocode_text(texts, [T2024] * len(names), gaz, areas)
    assert before["stadsdelsomrade"].tolist() == names
    assert after["stadsdelsomrade"].tolist() == areas.sdo_13["name_2024"].tolist()


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("when", "district"),
    [("2023-12-31 23:59", "Rinkeby-Kista"), ("2024-01-01 00:01", "Järva")],
    ids=["last-minute-of-13", "first-minute-of-11"],
)
def test_real_scheme_switch(real, when, district):
    areas, gaz = real
    row = _one("Skottlossning i Kista.", pd.Timestamp(when, tz=TZ), gaz, areas)
    assert (row["stadsdel"], row["stadsdelsomrade"]) == ("Kista", district)


REAL_TEXTS = [  # real summaries from the archive, with the answer a reader would give
    ("city", "Två greps misstänkta för stöld i butik i city.", "place", "City"),
    ("vasastan", "Bråk i en lägenhet i Vasastan.", "stadsdel", "Vasastaden"),
    ("kungsholmens", "Brand i en källare på Kungsholmens norra del.", "stadsdel", "Kungsholmen"),
    ("t-centralen", "Man med knivliknande föremål, T-Centralen.", "place", "T-Centralen"),
    ("gardet", "På Gärdet är okänd gärningsperson misstänkt för inbrott.", "stadsdel",
     "Ladugårdsgärdet"),
    ("hasselby", "Bilisten i Hässelby medtogs till polisstation.", "stadsdelsomrade",
     "Hässelby-Vällingby"),
    ("football-club", "Summering fotbollsmatchen mellan Djurgårdens IF och Legia Warszawa",
     "kommun", None),
    ("soder-om", "Butikspersonalen i en butik söder om Stockholm ringde till polisen.",
     "kommun", None),
    ("handen", "En man skadade handen när han slog sönder en ruta.", "kommun", None),
    ("hospital", "Mannen fördes till Södersjukhuset med stickskador.", "kommun", None),
    ("police-unit", "Personalen kontaktade lokalpolisområde Globen.", "kommun", None),
    ("police-station", "Mannen fördes till polisstationen i Vällingby.", "kommun", None),
    ("conflict", "En man i Johanneshov uppger att han blivit misshandlad på Södermalm.",
     "kommun", gc.CONFLICT_PREFIX + "Johanneshov, Södermalm"),
    ("outside", "Polis kallas till ett flerbostadshus i Larsberg på Lidingö.", "kommun",
     gc.OUTSIDE_PREFIX + "Lidingö"),
    ("slottsbacken-gamla-stan", "En bilist har kört på flera personer vid Slottsbacken i Gamla "
     "stan.", "place", "Kungliga slottet"),
]  # fmt: skip


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("text", "precision", "place"), [c[1:] for c in REAL_TEXTS], ids=[c[0] for c in REAL_TEXTS]
)
def test_real_texts(real, text, precision, place):
    areas, gaz = real
    row = _one(text, T2024, gaz, areas)
    assert (row["precision"], row["place_name"]) == (precision, place)


@pytest.mark.realdata
def test_real_share_placed(real, shared_data):
    """3 275 Stockholm events: measured 78 % placed below kommun, 18 % at place/street."""
    areas, gaz = real
    path = shared_data / "police_events" / "stockholms_lan_events_with_text_2022-09_2025-12.json"
    records = [
        r for r in json.loads(path.read_text("utf-8")) if r["_title_location"] == "Stockholm"
    ]
    events = pd.DataFrame(
        {
            "event_uid": [f"polisen:{r['id']}" for r in records],
            "summary": [r["summary"] for r in records],
            "body": [r["_html_body"] for r in records],
            "occurred_at": pd.to_datetime([r["datetime"] for r in records], utc=True),
            "category": "other",
        }
    )
    out = gc.geocode_events(events, gaz, areas)
    assert len(out) == len(events) == 3275
    share = out["precision"].value_counts(normalize=True)
    placed = share.drop(["kommun", "none"], errors="ignore").sum()
    assert placed > 0.75
    assert share.get("place", 0) + share.get("street", 0) > 0.15
    assert out.loc[out["precision"] != "kommun", "x"].notna().all()
    inside = ar.assign(out["x"], out["y"], events["occurred_at"], areas)
    placed_rows = out["precision"] != "kommun"
    assert inside.loc[placed_rows, "inside_kommun"].all()


# ---------------------------------------------------------------- summaries cut by the API

CUT = (
    "En privatperson kontaktar polisen eftersom han har hittat en kartong med sprit i en dunge i Be"
)


@pytest.mark.parametrize(
    ("summary", "raw", "expected"),
    [
        (CUT, json.dumps({"_html_preamble": CUT + "ta."}), CUT + "ta."),
        (
            CUT,
            json.dumps(
                {"_html_preamble": "Något helt annat som är längre än sammanfattningen." + "x" * 60}
            ),
            CUT,
        ),
        (CUT, None, CUT),
        (CUT, "{not json _html_preamble", CUT),
        (
            "Kort text i Alfa.",
            json.dumps({"_html_preamble": "Kort text i Alfa. Mer."}),
            "Kort text i Alfa.",
        ),
        (None, json.dumps({"_html_preamble": "Text"}), None),
    ],
    ids=["cut-replaced", "other-preamble", "no-raw", "bad-json", "short-kept", "no-summary"],
)
def test_full_summary(summary, raw, expected):
    assert gc.full_summary(summary, raw) == expected


def test_geocode_events_uses_the_preamble(tiny_gaz, tiny_areas):
    events = _events(
        [
            ("p:1", CUT, None, "2023-06-01", "other"),
            ("p:2", CUT, None, "2023-06-01", "other"),
            ("p:3", "a", None, "2023-06-01", "other"),
            ("p:4", "b", None, "2023-06-01", "other"),
            ("p:5", "c", None, "2023-06-01", "other"),
            ("p:6", "d", None, "2023-06-01", "other"),
        ]
    )
    events["raw"] = [json.dumps({"_html_preamble": CUT + "ta."}), None, None, None, None, None]
    out = gc.geocode_events(events, tiny_gaz, tiny_areas)
    assert out["stadsdel"].tolist()[:2] == ["Beta", None]


# ---------------------------------------------------------------- files


def _api_event(eid: int, title: str, summary: str, location: str = "Stockholm", **extra) -> dict:
    return {
        "id": eid,
        "datetime": "2026-02-03 10:15:00 +01:00",
        "name": title,
        "summary": summary,
        "url": f"/aktuellt/handelser/2026/februari/3/{eid}/",
        "type": "Rån",
        "location": {"name": location, "gps": "59.329324,18.068581"},
        **extra,
    }


def test_geocode_file_api_format(tiny_gaz, tiny_areas, tmp_path):
    records = [
        _api_event(1, "3 februari 09.40, Rån, Stockholm", "Rån vid Slussen.", "Stockholms län"),
        _api_event(2, "3 februari 09.50, Rån, Solna", "Rån i Alfa.", "Stockholms län"),
        _api_event(
            3,
            "3 februari 09.55, Rån, Stockholm",
            "Rån på en gata.",
            _html_body="Det hände på Alfagatan.",
        ),
        _api_event(4, "", "Ingen titel."),
    ]
    path = tmp_path / "events.json"
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    out = pipeline.geocode_file(path, tmp_path, areas=tiny_areas, gazetteer=tiny_gaz)
    assert list(out.columns) == ["id", *GEOCODED_COLUMNS]
    assert sorted(out["id"]) == ["1", "2", "3", "4"]
    by = out.set_index("id")
    assert by.loc["1", ["precision", "stadsdel", "stadsdelsomrade"]].tolist() == [
        "place", "Gamla stan", "Hela"]  # fmt: skip
    assert by.loc["3", "place_name"] == "Alfagatan"  # from the page body
    assert by.loc["2", "precision"] == "kommun"
    assert by.loc["2", "place_name"] == gc.OUTSIDE_PREFIX + "Solna"
    assert by.loc["2", "stadsdel"] is None  # "Alfa" in another municipality is not placed
    assert by.loc["4", "precision"] == "none"
    assert "title" in by.loc["4", "place_name"]


def test_geocode_file_missing(tiny_gaz, tiny_areas, tmp_path):
    with pytest.raises(SourceError):
        pipeline.geocode_file(
            tmp_path / "nope.json", tmp_path, areas=tiny_areas, gazetteer=tiny_gaz
        )


def test_bad_street_list(tiny_dir, tiny_areas, tmp_path):
    bad = tmp_path / "streets.csv"
    pd.DataFrame([dict(name="Gata", aliases="", stadsdelar="", lon="", lat="",
                       uncertainty_m="", note="")]).to_csv(bad, index=False)  # fmt: skip
    with pytest.raises(SourceError, match="lack stadsdelar"):
        gc.load_gazetteer(tiny_dir, tiny_areas, curated_path=tiny_dir / "curated.csv",
                          streets_path=bad)  # fmt: skip
