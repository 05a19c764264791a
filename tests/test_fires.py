"""Fires: police fire events, the kind of fire, MCF's B11 through PxWeb, the fire-service list."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import shapely

from trygghetskarta.errors import SourceError
from trygghetskarta.schema import validate_events
from trygghetskarta.sources import event_lists as el
from trygghetskarta.sources import fires, polisen, pxweb

TZ = "Europe/Stockholm"
NOW = pd.Timestamp("2025-01-01", tz=TZ)
KOMMUN = shapely.box(656000, 6569000, 683000, 6593000)
FIRE_OPTIONS = el.ListOptions(columns={"x": "Koordinat E", "y": "Koordinat N"}, crs="EPSG:3011")


@pytest.fixture
def pxdir(test_data: Path) -> Path:
    return test_data / "pxweb"


# --------------------------------------------------------------------------- kind of fire


@pytest.mark.parametrize(
    ("texts", "kind"),
    [
        (("Brand i byggnad", "Skola"), "building"),
        (("Brand i annat än byggnad", "Personbil"), "vehicle"),
        (("Brand i annat än byggnad", "Container"), "outdoors"),
        (("Brand i annat än byggnad", "Skog och mark"), "outdoors"),
        (("Misstänkt anlagd brand i lägenhet.",), "building"),
        (("Räddningstjänsten släckte en köksbrand i Husby.",), "building"),
        (("Bilbrand i ett garage.",), "vehicle"),
        (("Brand i soprummet.",), "building"),
        (("Brand i en papperskorg spred sig till grönskan.",), "outdoors"),
        (("Påfarten till Essingeleden är avstängd.",), "other"),
    ],
    ids=[
        "mcf-building",
        "mcf-vehicle",
        "mcf-container",
        "mcf-forest",
        "flat",
        "kitchen",
        "car-in-garage",
        "refuse-room",
        "bin",
        "unknown",
    ],
)
def test_fire_kind(texts: tuple[str, ...], kind: str) -> None:
    assert fires.fire_kind(*texts) == kind


# --------------------------------------------------------------------------- police events


def test_fires_from_police_events(test_data: Path) -> None:
    police = polisen.parse([test_data / "polisen_derived" / "events.json"]).events
    events = fires.from_police_events(police)
    validate_events(events)
    assert sorted(events["event_uid"]) == ["fire:polisen:900007", "fire:polisen:900008"]
    kinds = {json.loads(r)["derived_from"]: json.loads(r)["fire_kind"] for r in events["raw"]}
    assert kinds == {"polisen:900007": "building", "polisen:900008": "vehicle"}
    assert set(events["layer"]) == {"fire"} and set(events["category"]) == {"fire"}


@pytest.mark.realdata
def test_police_fires_reconcile_with_the_derived_csv(shared_data: Path) -> None:
    parsed = polisen.parse(
        [shared_data / "police_events" / "stockholms_lan_events_with_text_2022-09_2025-12.json"]
    )
    events = fires.from_police_events(parsed.events)
    check = fires.cross_check(
        events, shared_data / "fires" / "stockholm_fire_events_polisen_2022-2025.csv"
    )
    assert len(check["in_both"]) == len(events) == 218 and check["only_here"] == []
    assert check["csv_types"] == {"Brand": 217, "Brand automatlarm": 4, "Mordbrand": 1}
    assert len(check["only_csv"]) == 4  # the automatic alarms, which are not fires
    alarms = parsed.events[parsed.events["source_type"] == "Brand automatlarm"]
    assert set(check["only_csv"]) == set(alarms["source_id"])


# --------------------------------------------------------------------------- PxWeb requests


def test_b11_query_is_the_documented_request() -> None:
    body = fires.b11_query(kommun=["0180"], years=[2024])
    assert body == {
        "query": [
            {"code": "kommun", "selection": {"filter": "item", "values": ["0180"]}},
            {"code": "ar", "selection": {"filter": "item", "values": ["2024"]}},
            {"code": "konvHandelsetypId", "selection": {"filter": "all", "values": ["*"]}},
            {"code": "manadNummer", "selection": {"filter": "all", "values": ["*"]}},
        ],
        "response": {"format": "json"},
    }
    assert fires.b11_query(fmt="json-stat2")["response"] == {"format": "json-stat2"}


def test_query_rejects_bad_selections() -> None:
    with pytest.raises(ValueError, match="give a list of codes or '\\*'"):
        pxweb.query({"ar": "2024"})
    with pytest.raises(ValueError, match="fmt must be one of"):
        pxweb.query({"ar": ["2024"]}, fmt="csv")


# --------------------------------------------------------------------------- PxWeb answers


EXPECTED = {
    ("1", "2024-01"): 92,
    ("1", "2024-02"): 81,
    ("1", "2024-03"): 77,
    ("3", "2024-01"): 58,
    ("3", "2024-02"): 49,
    ("3", "2024-03"): None,
    ("14", "2024-01"): 301,
    ("14", "2024-02"): 276,
    ("14", "2024-03"): 288,
}


@pytest.mark.parametrize("name", ["b11_0180_2024_json.json", "b11_0180_2024_jsonstat2.json"])
def test_parse_b11_both_formats(pxdir: Path, name: str) -> None:
    stats = fires.parse_b11(pxdir / name, kommun_names={"0180": "Stockholm"})
    assert list(stats.columns) == list(fires.STAT_COLUMNS)
    got = {
        (r["category_key"], f"{r['year']}-{r['month']:02d}"): None
        if pd.isna(r["count"])
        else int(r["count"])
        for _, r in stats.iterrows()
    }
    assert got == EXPECTED
    assert set(stats["area"]) == {"Stockholm"} and set(stats["source_table"]) == {"B11"}
    march = stats[(stats["month"] == 3) & (stats["category"] == "Brand i annat än byggnad")]
    assert march["suppressed"].iloc[0]  # missing, not zero
    assert march["note"].iloc[0].startswith("MCF:s tecken '..'")
    assert stats["period_start"].min() == pd.Timestamp("2024-01-01")
    assert stats["period_end"].max() == pd.Timestamp("2024-04-01")


def test_json_keys_follow_the_columns_not_the_query(pxdir: Path) -> None:
    doc = json.loads((pxdir / "b11_0180_2024_json.json").read_text(encoding="utf-8"))
    order = [1, 3, 0, 2]  # the columns in another order, keys permuted the same way
    doc["columns"] = [doc["columns"][i] for i in order] + [doc["columns"][4]]
    for row in doc["data"]:
        row["key"] = [row["key"][i] for i in order]
    data = pxweb.parse_response(doc).data
    first = data[(data["konvHandelsetypId"] == "14") & (data["manadNummer"] == "2")]
    assert first["value"].tolist() == [276]


def test_jsonstat2_labels_roles_and_metadata(pxdir: Path) -> None:
    data = pxweb.parse_response(pxdir / "b11_0180_2024_jsonstat2.json")
    assert data.labels["konvHandelsetypId"]["14"] == "Automatlarm utan brandtillbud"
    assert data.time == ("ar",) and data.updated == "2025-03-14T08:00:00Z"
    assert set(data.data["content"]) == {"EliminatedValue"}
    title, variables = pxweb.parse_metadata(pxdir / "b11_metadata.json")
    assert title.startswith("Antal inträffade")
    by_code = {v.code: v for v in variables}
    assert by_code["ar"].time and by_code["kommun"].value_texts[4] == "Stockholm"
    assert (
        dict(
            zip(
                *[by_code["konvHandelsetypId"].values, by_code["konvHandelsetypId"].value_texts],
                strict=True,
            )
        )
        == fires.EVENT_TYPES
    )


def test_jsonstat2_status_as_a_list_and_value_as_an_object() -> None:
    doc = {
        "class": "dataset",
        "id": ["ar"],
        "size": [2],
        "dimension": {"ar": {"category": {"index": ["2023", "2024"]}}},
        "value": {"0": 5},
        "status": [None, "-"],
        "role": {"time": ["ar"]},
    }
    data = pxweb.parse_response(doc).data
    assert data["value"].tolist()[0] == 5 and pd.isna(data["value"].iloc[1])
    assert data["status"].tolist()[1] == "-"


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (b"<html>Bad Request</html>", "is not JSON"),
        (b'{"columns": [{"code": "ar", "type": "t"}], "data": []}', "no content column"),
        (
            b'{"columns":[{"code":"ar","type":"t"},{"code":"A","type":"c"}],'
            b'"data":[{"key":["2024","x"],"values":["1"]}]}',
            "has 2 key codes and 1 values, expected 1 and 1",
        ),
        (
            b'{"id":["ar"],"size":[2],"dimension":{"ar":{"category":{"index":{"2024":0}}}},"value":[1]}',
            "category counts",
        ),
        (b'{"dataset": {}}', "json-stat version 1"),
        (b'{"hello": 1}', "neither PxWeb json nor json-stat2"),
    ],
    ids=["html", "no-content", "short-key", "jsonstat-size", "jsonstat1", "other"],
)
def test_broken_answers(answer: bytes, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        pxweb.parse_response(answer)


def test_b11_needs_its_variables() -> None:
    doc = {
        "columns": [{"code": "ar", "type": "t"}, {"code": "A", "type": "c"}],
        "data": [{"key": ["2024"], "values": ["4698"]}],
    }
    with pytest.raises(SourceError, match=r"lacks the variables \['kommun', 'konvHandelsetypId'\]"):
        fires.parse_b11(doc)


def test_b11_without_months_is_yearly(pxdir: Path) -> None:
    doc = {
        "columns": [
            {"code": "konvHandelsetypId", "type": "d"},
            {"code": "kommun", "type": "d"},
            {"code": "ar", "type": "t"},
            {"code": "B11", "type": "c"},
        ],
        "data": [{"key": ["1", "0180", "2024"], "values": ["950"]}],
    }
    stats = fires.parse_b11(doc)
    assert stats["year"].tolist() == [2024] and stats["month"].isna().all()
    assert stats["area"].tolist() == ["0180"]
    assert stats["period_end"].iloc[0] == pd.Timestamp("2025-01-01")


# --------------------------------------------------------------------------- fetching


def test_fetch_b11_posts_one_query_per_year_and_saves_answers(tmp_path: Path, pxdir: Path) -> None:
    sent: list[tuple[str, dict]] = []
    answer = (pxdir / "b11_0180_2024_json.json").read_bytes()

    def post(url: str, body: bytes) -> bytes:
        sent.append((url, json.loads(body)))
        return answer

    paths = fires.fetch_b11(tmp_path, post=post, years=[2023, 2024])
    assert [p.name for p in paths] == ["b11_0180_2023.json", "b11_0180_2024.json"]
    assert paths[0].read_bytes() == answer
    assert [u for u, _ in sent] == [fires.B11_URL] * 2
    assert sent[1][1]["query"][1]["selection"]["values"] == ["2024"]


def test_fetch_b11_saves_nothing_when_the_answer_is_broken(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="is not JSON"):
        fires.fetch_b11(tmp_path, post=lambda url, body: b"Too many requests", years=[2024])
    assert not list(tmp_path.rglob("*.json"))


# --------------------------------------------------------------------------- lists


def test_fire_service_worked_example(test_data: Path) -> None:
    result = fires.parse(
        [test_data / "lists" / "brander_exempel.csv"], FIRE_OPTIONS, kommun=KOMMUN, now=NOW
    )
    validate_events(result.events)
    assert (result.read, len(result.events), len(result.quarantine)) == (6, 6, 0)
    events = result.events.set_index("source_id")
    assert events["title"].to_dict() == {
        "BR-EXEMPEL-001": "Brand i byggnad",
        "BR-EXEMPEL-002": "Brand i fordon",
        "BR-EXEMPEL-003": "Brand utomhus",
        "BR-EXEMPEL-004": "Brand utomhus",
        "BR-EXEMPEL-005": "Brand i byggnad",
        "BR-EXEMPEL-006": "Brand i fordon",
    }
    first = events.loc["BR-EXEMPEL-001"]  # EPSG:3011 read into EPSG:3006
    assert (first["x"], first["y"]) == pytest.approx((674928, 6579087), abs=2)
    assert first["occurred_at"] == pd.Timestamp("2024-01-15 03:12", tz=TZ)
    assert first["source_type"] == "Brand i byggnad / Lägenhet"
    assert set(result.events["event_uid"].str.split(":").str[0]) == {"brandforsvaret"}


def test_fire_service_xlsx_with_real_mistakes(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(
        ["Insatsnummer", "Larmtid", "Händelsetyp", "Objekt", "Adress", "Koordinat E", "Koordinat N"]
    )
    sheet.append(
        ["B1", dt.datetime(2024, 1, 15, 3, 12), "Brand i byggnad", "Villa", None, 154186, 6577684]
    )
    sheet.append(["B2", 45310.5, "Brand i annat än byggnad", "Bil", None, 674345, 6581101])
    sheet.append(
        ["B3", "2024-01-21 10:00", "Brand i annat än byggnad", "Gräs", None, 6577684, 154186]
    )
    sheet.append(["B4", "2024-01-22 10:00", None, None, "Götgatan 48", None, None])
    sheet.append(["B5", "2024-01-23 10:00", "Brand i byggnad", "Radhus", None, 129765, 6638374])
    sheet.append(
        ["B6", dt.datetime(2026, 1, 1), "Brand i byggnad", "Villa", "Götgatan 1", None, None]
    )
    path = tmp_path / "brander.xlsx"
    book.save(path)
    result = fires.parse([path], FIRE_OPTIONS, kommun=KOMMUN, now=NOW)
    assert len(result.events) + len(result.quarantine) == result.read == 6
    events = result.events.set_index("source_id")
    fixed = {
        sid: json.loads(events.loc[sid, "raw"])["derived"].get("fixed") for sid in events.index
    }
    assert fixed["B1"] is None
    assert fixed["B2"] == (
        "the coordinates are in SWEREF99 TM (EPSG:3006), not SWEREF99 18 00 (EPSG:3011)"
    )
    assert fixed["B3"] == "x and y were swapped"
    assert events.loc["B2", "occurred_at"] == pd.Timestamp("2024-01-19 12:00", tz=TZ)
    reasons = dict(zip(result.quarantine["source_id"], result.quarantine["reason"], strict=True))
    assert reasons["B4"].startswith("no kind of fire")
    assert reasons["B5"].startswith("outside Stockholm kommun")
    assert reasons["B6"].startswith("date in the future")


def test_the_police_derived_csv_is_refused_as_input(tmp_path: Path) -> None:
    path = tmp_path / "stockholm_fire_events_polisen.csv"
    path.write_text("id,datetime,type,name,summary\n1,2024-01-01,Brand,x,y\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"derived from police events .* cross-check"):
        fires.parse([path])


def test_parse_reads_saved_b11_answers(pxdir: Path) -> None:
    result = fires.parse([pxdir / "b11_0180_2024_jsonstat2.json"])
    assert len(result.stats) == 9 and result.events.empty and result.read == 9


def test_discover_finds_saved_answers_and_lists(tmp_path: Path, pxdir: Path) -> None:
    (tmp_path / "raw" / "mcf").mkdir(parents=True)
    saved = tmp_path / "raw" / "mcf" / "b11_0180_2024.json"
    saved.write_bytes((pxdir / "b11_0180_2024_json.json").read_bytes())
    (tmp_path / "data" / "fires").mkdir(parents=True)
    (tmp_path / "data" / "fires" / "stockholm_fire_events_polisen_2022-2025.csv").write_text(
        "id\n", encoding="utf-8"
    )
    (tmp_path / "data" / "lists" / "brander").mkdir(parents=True)
    listed = tmp_path / "data" / "lists" / "brander" / "jan.xlsx"
    listed.write_bytes(b"")
    assert fires.discover(tmp_path / "data", tmp_path / "raw") == [saved, listed]
