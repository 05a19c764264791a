"""Tests of the polisen.se event parser: tiny hand-written fixtures, then the real archive."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest

from trygghetskarta.errors import SourceError, TrygghetskartaWarning
from trygghetskarta.schema import PARSED_COLUMNS, Category, validate_events
from trygghetskarta.sources import polisen
from trygghetskarta.sources.text_repair import Repairs

TZ = "Europe/Stockholm"
FIXTURES = ["api_events.json", "events_with_text.json", "versions.jsonl"]


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text).tz_convert(TZ)


@pytest.fixture
def paths(test_data: Path) -> list[Path]:
    return [test_data / "polisen" / name for name in FIXTURES]


#: The clock of the runs in these tests (the newest fixture is published 2026-08-22).
NOW = pd.Timestamp("2026-09-01 12:00", tz=TZ)


@pytest.fixture
def result(paths: list[Path]) -> polisen.ParseResult:
    return polisen.parse(paths, now=NOW)


def by_id(events: pd.DataFrame, source_id: str) -> pd.Series:
    rows = events[events["source_id"] == source_id]
    assert len(rows) == 1, f"expected one event {source_id}, got {len(rows)}"
    return rows.iloc[0]


# --------------------------------------------------------------------------- titles


@pytest.mark.parametrize(
    ("title", "published", "expected"),
    [
        pytest.param(
            "26 september 14:21, Mord/dråp, försök, Stockholm",
            "2022-09-26 15:55:23+02:00",
            "2022-09-26 14:21:00+02:00",
            id="colon-2022",
        ),
        pytest.param(
            "1 augusti 16.31, Misshandel, Stockholm",
            "2026-08-01 17:28:38+02:00",
            "2026-08-01 16:31:00+02:00",
            id="dot-2026",
        ),
        pytest.param(
            "31 december 23.50, Brand, Stockholm",
            "2024-01-01 00:40:16+01:00",
            "2023-12-31 23:50:00+01:00",
            id="new-year-previous-year",
        ),
        pytest.param(
            "1 januari 00.30, Polisinsats/kommendering, Stockholm",
            "2025-12-30 10:00:00+01:00",
            "2026-01-01 00:30:00+01:00",
            id="announced-across-new-year",
        ),
        pytest.param(
            "01 maj 08:00, Övrigt, Stockholm",
            "2023-04-28 07:30:18+02:00",
            "2023-05-01 08:00:00+02:00",
            id="zero-padded-day-next-month",
        ),
        pytest.param(
            "3 maj, Stöld, Stockholm",
            "2025-05-03 12:00:00+02:00",
            "2025-05-03 00:00:00+02:00",
            id="no-time-gives-midnight",
        ),
        pytest.param(
            "3 Maj 7.05, Stöld, Stockholm",
            "2025-05-03 12:00:00+02:00",
            "2025-05-03 07:05:00+02:00",
            id="capitalised-month-one-digit-hour",
        ),
        pytest.param(
            "29 oktober 02:33, Våldtäkt, försök, Helsingborg",
            "2023-10-29 07:15:46+01:00",
            "2023-10-29 02:33:00+02:00",
            id="dst-ambiguous-summer-time",
        ),
        pytest.param(
            "31 mars 02.30, Brand, Stockholm",
            "2024-03-31 09:00:00+02:00",
            "2024-03-31 03:00:00+02:00",
            id="dst-skipped-hour-forward",
        ),
        pytest.param(
            "29 februari 10.00, Stöld, Stockholm",
            "2024-02-29 12:00:00+01:00",
            "2024-02-29 10:00:00+01:00",
            id="leap-day",
        ),
        pytest.param(
            "14 oktober 22.40, Rån, Stockholm",
            "2025-10-14 21:05:00+00:00",
            "2025-10-14 22:40:00+02:00",
            id="published-in-utc",
        ),
    ],
)
def test_incident_time(title: str, published: str, expected: str) -> None:
    got = polisen.incident_time(title, pd.Timestamp(published))
    assert got == pd.Timestamp(expected)
    assert str(got.tz) == TZ


@pytest.mark.parametrize(
    ("title", "published"),
    [
        pytest.param("Under natten, Rån, Stockholm", "2025-05-04 12:00+02:00", id="no-date"),
        pytest.param("31 februari 10.00, Rån, Stockholm", "2025-03-01 12:00+01:00", id="31-feb"),
        pytest.param("29 februari 10.00, Rån, Stockholm", "2025-03-01 12:00+01:00", id="no-leap"),
        pytest.param("4 maj 25.10, Rån, Stockholm", "2025-05-04 12:00+02:00", id="hour-25"),
        pytest.param("4 smaj 10.10, Rån, Stockholm", "2025-05-04 12:00+02:00", id="no-month"),
    ],
)
def test_incident_time_none(title: str, published: str) -> None:
    assert polisen.incident_time(title, pd.Timestamp(published)) is None


def test_incident_time_naive_published_is_stockholm_time() -> None:
    got = polisen.incident_time("31 december 23.50, Brand, Stockholm", pd.Timestamp("2024-01-01"))
    assert got == pd.Timestamp("2023-12-31 23:50", tz=TZ)


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        pytest.param("1 augusti 16.31, Misshandel, Stockholm", "Stockholm", id="simple"),
        pytest.param(
            "26 september 14:21, Mord/dråp, försök, Stockholm", "Stockholm", id="comma-type"
        ),
        pytest.param(
            "22 augusti 06.00, Sammanfattning natt, Stockholms län", "Stockholms län", id="län"
        ),
        pytest.param("  1 maj 10.00, Rån, Solna  ", "Solna", id="whitespace"),
        pytest.param("20 maj 13.09, Trafikkontroll, ", None, id="empty-last-part"),
        pytest.param("Misshandel, Stockholm", None, id="two-parts"),
        pytest.param("", None, id="empty"),
    ],
)
def test_municipality_from_title(title: str, expected: str | None) -> None:
    assert polisen.municipality_from_title(title) == expected


# --------------------------------------------------------------------------- categories


@pytest.mark.parametrize(
    ("source_type", "category", "sensitive"),
    [
        pytest.param("Misshandel", Category.VIOLENCE, False, id="assault"),
        pytest.param("Våldtäkt, försök", Category.VIOLENCE, True, id="attempted-rape"),
        pytest.param("Sedlighetsbrott", Category.VIOLENCE, True, id="indecency"),
        pytest.param("Sammanfattning natt", Category.SUMMARY, False, id="summary"),
        pytest.param("Sammanfattning morgon", Category.SUMMARY, False, id="future-summary"),
        pytest.param("Lagen om hundar och katter ", Category.OTHER, False, id="trailing-space"),
        pytest.param("Skottlossning, misstänkt", Category.SHOOTING_EXPLOSION, False, id="shot"),
        pytest.param("Mordbrand", Category.FIRE, False, id="arson"),
        pytest.param("Stöld/inbrott", Category.THEFT_BURGLARY, False, id="burglary"),
        pytest.param("Rån väpnat", Category.ROBBERY, False, id="armed-robbery"),
        pytest.param("Trafikolycka, vilt", Category.TRAFFIC, False, id="wildlife"),
    ],
)
def test_categorise(source_type: str, category: Category, sensitive: bool) -> None:
    assert polisen.categorise(source_type) == (category, sensitive)


def test_unknown_type_is_other_and_warned_once() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")  # Python's standard filter: once per message
        assert polisen.categorise("Drönarlarm") == (Category.OTHER, False)
        assert polisen.categorise("Drönarlarm") == (Category.OTHER, False)
        assert polisen.categorise("Ballongfärd") == (Category.OTHER, False)
    messages = [str(w.message) for w in caught if issubclass(w.category, TrygghetskartaWarning)]
    assert len(messages) == 2
    assert "'Drönarlarm'" in messages[0] and "police_type_categories.csv" in messages[0]
    assert "'Ballongfärd'" in messages[1]


def test_category_table_is_valid() -> None:
    table = pd.read_csv(
        Path(polisen.__file__).parents[1] / "resources" / "police_type_categories.csv",
        dtype=str,
        keep_default_na=False,
    )
    assert list(table.columns) == ["source_type", "category", "sensitive", "note"]
    assert not table["source_type"].duplicated().any()
    assert set(table["category"]) <= {c.value for c in Category}
    assert set(table["sensitive"]) == {"true", "false"}
    assert (table["note"].str.len() > 0).all()
    sensitive = set(table.loc[table["sensitive"] == "true", "source_type"])
    assert sensitive == {"Våldtäkt", "Våldtäkt, försök", "Sexualbrott", "Sedlighetsbrott"}
    summary = table.loc[table["source_type"].str.startswith("Sammanfattning"), "category"]
    assert set(summary) == {"summary"}


# --------------------------------------------------------------------------- parse fixtures


def test_parse_counts_and_invariant(result: polisen.ParseResult) -> None:
    assert result.read == 23  # every record, each version of an id counted
    assert len(result.versions) == 12  # usable records: 9 events, 500001 ×3, 410698 ×2
    assert len(result.events) == 9
    assert len(result.quarantine) == 11
    assert result.read == len(result.versions) + len(result.quarantine)
    assert not result.repairs
    validate_events(result.events)
    assert list(result.events.columns) == [*PARSED_COLUMNS, "text_missing"]
    assert list(result.quarantine.columns) == [
        "source",
        "source_id",
        "source_file",
        "reason",
        "raw",
    ]


@pytest.mark.parametrize(
    ("source_id", "reason"),
    [
        pytest.param("650201", "outside Stockholm kommun (title names Stockholms län)", id="län"),
        pytest.param("650297", "outside Stockholm kommun (title names Solna)", id="solna"),
        pytest.param("612350", "record has no title (name)", id="no-name"),
        pytest.param(
            "612351",
            "published time (datetime) 'igår kväll' is not like '2026-08-22 9:51:41 +02:00'",
            id="bad-datetime",
        ),
        pytest.param(
            "612352", "title has no incident date: 'Under natten, Rån, Stockholm'", id="no-date"
        ),
        pytest.param(
            "612353",
            "title has an impossible incident date or time: '31 februari 10.00, Rån, Stockholm'",
            id="impossible-date",
        ),
        pytest.param("612355", "record has no published time (datetime)", id="no-datetime"),
        pytest.param(
            "612354",
            "title names no municipality: '20 maj 13.09, Trafikkontroll, '",
            id="no-municipality",
        ),
    ],
)
def test_quarantine_reasons(result: polisen.ParseResult, source_id: str, reason: str) -> None:
    rows = result.quarantine[result.quarantine["source_id"] == source_id]
    assert rows["reason"].tolist() == [reason]
    assert json.loads(rows["raw"].iloc[0])["id"] == int(source_id)
    assert rows["source_file"].iloc[0].endswith("api_events.json")


def test_quarantine_without_usable_id(result: polisen.ParseResult) -> None:
    q = result.quarantine[result.quarantine["source_id"].isna()]
    assert sorted(q["reason"]) == [
        "id 'abc' is not a number",
        "line 5 of the JSON-lines file is not valid JSON",
        "record has no id",
    ]
    line = q[q["reason"].str.startswith("line")].iloc[0]
    assert line["source_file"].endswith("versions.jsonl")
    assert json.loads(line["raw"]).startswith('{"id": 500004')


@pytest.mark.parametrize(
    ("source_id", "occurred", "published", "category", "sensitive"),
    [
        pytest.param(
            "410698",
            "2023-03-21 05:02+01:00",
            "2023-03-21 07:49:57+01:00",
            "vandalism",
            False,
            id="colon",
        ),
        pytest.param(
            "480012",
            "2023-12-31 23:50+01:00",
            "2024-01-01 00:40:16+01:00",
            "fire",
            False,
            id="new-year",
        ),
        pytest.param(
            "648400",
            "2026-08-01 16:31+02:00",
            "2026-08-01 17:28:38+02:00",
            "violence",
            False,
            id="county-location-2026",
        ),
        pytest.param(
            "612345",
            "2025-10-14 22:40+02:00",
            "2025-10-14 23:05+02:00",
            "violence",
            True,
            id="sensitive",
        ),
        pytest.param(
            "612346", "2025-10-15 08:55+02:00", "2025-10-15 09:12+02:00", "other", False, id="new"
        ),
        pytest.param(
            "612347",
            "2025-05-03 00:00+02:00",
            "2025-05-03 12:00+02:00",
            "theft_burglary",
            False,
            id="no-time",
        ),
    ],
)
def test_event_values(
    result: polisen.ParseResult,
    source_id: str,
    occurred: str,
    published: str,
    category: str,
    sensitive: bool,
) -> None:
    event = by_id(result.events, source_id)
    assert event["event_uid"] == f"polisen:{source_id}"
    assert event["occurred_at"] == ts(occurred)
    assert event["published_at"] == ts(published)
    assert event["category"] == category
    assert bool(event["sensitive"]) is sensitive
    assert event["layer"] == "police_event"
    assert event["url"].startswith("https://polisen.se/aktuellt/handelser/")


def test_no_positions_from_gps(result: polisen.ParseResult) -> None:
    events = result.events
    assert events[["x", "y", "uncertainty_m"]].isna().all().all()
    assert events[["precision", "place_name"]].isna().all().all()


def test_versions_folded(result: polisen.ParseResult) -> None:
    fire = by_id(result.events, "500001")
    assert fire["summary"] == "Brand i lägenhet på Södermalm. En person förs till sjukhus."
    assert fire["published_at"] == ts("2024-03-02 12:30+01:00")
    assert fire["body"] == "Räddningstjänsten släcker en brand i en lägenhet på Hornsgatan."
    assert "_html_body" not in json.loads(fire["raw"])  # raw is the chosen (latest) version


@pytest.mark.parametrize("reverse", [False, True], ids=["files-in-order", "files-reversed"])
def test_tie_keeps_version_with_page_text(paths: list[Path], reverse: bool) -> None:
    result = polisen.parse(paths[::-1] if reverse else paths)
    event = by_id(result.events, "410698")
    assert event["body"].startswith("Ett långvarigt bankande")
    raw = json.loads(event["raw"])
    assert raw["_html_title"] == "21 mars 05:02, Skadegörelse, Stockholm"
    assert raw["location"] == {"name": "Stockholm", "gps": "59.329324,18.068581"}


def test_blank_body_is_none(result: polisen.ParseResult) -> None:
    assert pd.isna(by_id(result.events, "500002")["body"])
    assert pd.isna(by_id(result.events, "480012")["body"])


def test_fold_is_order_independent(paths: list[Path]) -> None:
    forward = polisen.parse(paths).events.drop(columns="raw")
    backward = polisen.parse(paths[::-1]).events.drop(columns="raw")
    pd.testing.assert_frame_equal(forward, backward)


def test_other_municipality(paths: list[Path]) -> None:
    result = polisen.parse(paths, municipality="Stockholms län")
    assert result.events["source_id"].tolist() == ["650201"]
    assert result.events["category"].tolist() == ["summary"]
    assert result.read == len(result.versions) + len(result.quarantine) == 23


def test_read_records(paths: list[Path]) -> None:
    records = polisen.read_records(paths)
    assert list(records.columns) == list(polisen.RECORD_COLUMNS)
    assert len(records) == 23
    assert records.groupby("source_file").size().to_dict() == {
        str(p): n for p, n in zip(paths, (16, 3, 4), strict=True)
    }
    assert records["source_id"].value_counts()["500001"] == 3


def test_parquet_archive(tmp_path: Path, test_data: Path) -> None:
    archive = pd.DataFrame(
        {
            "id": [500001, 500005],
            "datetime": ["2024-03-02 11:00:00 +01:00", "2024-03-05 9:41:00 +01:00"],
            "datetime_iso": ["2024-03-02T11:00:00+01:00", "2024-03-05T09:41:00+01:00"],
            "name": ["2 mars 09.15, Brand, Stockholm", "5 mars 09.10, Rån, Huddinge"],
            "summary": ["Brand i lägenhet, uppdaterad.", "Rån mot en butik."],
            "url": ["/aktuellt/handelser/2024/mars/2/a/", "/aktuellt/handelser/2024/mars/5/b/"],
            "type": ["Brand", "Rån"],
            "location_name": ["Stockholm", "Huddinge"],
            "location_gps": ["59.329324,18.068581", "59.23631,17.98164"],
            "lat": [59.329324, 59.23631],
            "lon": [18.068581, 17.98164],
            "first_seen_commit": ["a" * 40, "b" * 40],
            "first_seen_utc": ["2024-03-02T10:00:00+00:00", "2024-03-05T08:41:00+00:00"],
        }
    )
    path = tmp_path / "archive.parquet"
    archive.to_parquet(path)
    result = polisen.parse([path, test_data / "polisen" / "events_with_text.json"])
    assert result.read == 5
    assert result.versions["source_id"].tolist() == ["500001", "410698", "500001", "500002"]
    fire = by_id(result.events, "500001")
    assert fire["summary"] == "Brand i lägenhet, uppdaterad."
    assert fire["body"].startswith("Räddningstjänsten")
    assert json.loads(fire["raw"])["lat"] == pytest.approx(59.329324)
    assert result.quarantine["reason"].tolist() == [
        "outside Stockholm kommun (title names Huddinge)"
    ]


def test_parquet_without_suffix_detected_by_content(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"id": [1], "datetime": ["2024-03-05 9:41:00 +01:00"], "name": ["5 mars 09.10, Rån, X"]}
    )
    path = tmp_path / "download.bin"
    frame.to_parquet(path)
    assert polisen.read_records([path])["source_id"].tolist() == ["1"]


# --------------------------------------------------------------------------- broken files


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param("<!DOCTYPE html><html><body>503</body></html>", "HTML", id="html"),
        pytest.param('[{"id": 1, "datetime": "2024-', "not valid JSON", id="truncated-array"),
        pytest.param('{\n  "id": 1,\n  "name": "x"', "not valid JSON", id="truncated-object"),
        pytest.param("   \n", "empty", id="empty"),
        pytest.param('{"error": "rate limited"}', "expected an array", id="json-object"),
        pytest.param("id;datetime\n1;2024", "not valid JSON", id="csv"),
        pytest.param("null", "expected an array", id="json-null"),
    ],
)
def test_unreadable_file_raises(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "events.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SourceError, match=message) as info:
        polisen.parse([path])
    assert str(path) in str(info.value)
    assert "—" in str(info.value)  # says what to do


def test_json_lines_keep_unicode_line_separators(tmp_path: Path) -> None:
    record = {
        "id": 7,
        "datetime": "2024-03-05 9:41:00 +01:00",
        "name": "5 mars 09.10, Rån, Stockholm",
        "summary": "Två rader\u2028i en sammanfattning.",
        "type": "Rån",
    }
    path = tmp_path / "events.jsonl"
    line = json.dumps(record, ensure_ascii=False)
    path.write_text(line + "\n" + line.replace('"id": 7', '"id": 8.0') + "\n", encoding="utf-8")
    result = polisen.parse([path])
    assert result.events["source_id"].tolist() == ["7", "8"]
    assert result.events["summary"].iloc[0] == "Två rader\u2028i en sammanfattning."


def test_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="cannot read police events file"):
        polisen.parse([tmp_path / "nope.json"])


def test_bad_parquet_raises(tmp_path: Path) -> None:
    path = tmp_path / "events.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(SourceError, match="not a readable parquet file"):
        polisen.parse([path])


def test_not_utf8_raises(tmp_path: Path) -> None:
    path = tmp_path / "events.json"
    path.write_bytes('[{"name": "Rån, Malmö"}]'.encode("latin-1"))
    with pytest.raises(SourceError, match="not UTF-8"):
        polisen.parse([path])


def test_empty_input() -> None:
    result = polisen.parse([])
    assert (len(result.events), len(result.quarantine), result.read, len(result.versions)) == (
        0,
        0,
        0,
        0,
    )
    validate_events(result.events)


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def archive_result(request: pytest.FixtureRequest) -> tuple[polisen.ParseResult, Path]:
    data: Path = request.getfixturevalue("shared_data")
    folder = data / "police_events"
    paths = [
        folder / "polisen_events_2022-09_2025-12.parquet",
        folder / "stockholms_lan_events_with_text_2022-09_2025-12.json",
    ]
    return polisen.parse(paths), folder


@pytest.mark.realdata
def test_real_archive_counts(archive_result: tuple[polisen.ParseResult, Path]) -> None:
    result, folder = archive_result
    archive = pd.read_parquet(folder / "polisen_events_2022-09_2025-12.parquet")
    with_text = json.loads(
        (folder / "stockholms_lan_events_with_text_2022-09_2025-12.json").read_text("utf-8")
    )
    extra_ids = {r["id"] for r in with_text} - set(archive["id"])
    stockholm = {
        str(i)
        for i, n in zip(archive["id"], archive["name"], strict=True)
        if n.rsplit(",", 1)[-1].strip() == "Stockholm"
    }
    late = result.quarantine.loc[
        result.quarantine["reason"].str.startswith("incident after publication"), "source_id"
    ]
    # "01 maj 08:00, Övrigt, Stockholm" was published on 28 April (an announcement), and is
    # in both files.
    assert late.tolist() == ["421538", "421538"]
    assert len(result.events) == 3274
    assert set(result.events["source_id"]) == stockholm - set(late)
    assert result.read == 70_289 + len(with_text)
    assert result.read == len(result.versions) + len(result.quarantine)
    assert set(result.versions["source_id"]) == set(result.events["source_id"])
    assert len(extra_ids) == len(set(result.versions["source_id"]) - set(archive["id"].astype(str)))
    validate_events(result.events)


@pytest.mark.realdata
def test_real_archive_times_and_text(archive_result: tuple[polisen.ParseResult, Path]) -> None:
    result, folder = archive_result
    events = result.events
    assert events["occurred_at"].notna().all()
    lag = events["published_at"] - events["occurred_at"]
    assert lag.median() < pd.Timedelta(hours=3)
    assert (lag >= pd.Timedelta(days=-1)).all()  # later incidents are quarantined
    with_text = json.loads(
        (folder / "stockholms_lan_events_with_text_2022-09_2025-12.json").read_text("utf-8")
    )
    text_ids = {
        str(r["id"])
        for r in with_text
        if r["_title_location"] == "Stockholm" and (r["_html_body"] or "").strip()
    }
    has_body = set(events.loc[events["body"].notna(), "source_id"])
    assert has_body == text_ids - {"421538"}  # the announcement in the quarantine
    assert len(has_body) == 3025
    assert events["x"].isna().all()
    kinds = set(result.quarantine["reason"].str.extract(r"^(\w+)")[0])
    assert kinds == {"outside", "title", "incident"}


@pytest.mark.realdata
def test_real_types_all_in_table(shared_data: Path) -> None:
    counts = pd.read_csv(shared_data / "police_events" / "event_types_counts.csv")
    assert len(counts) == 97
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        categories = [polisen.categorise(t)[0] for t in counts["type"]]
    assert not [w for w in caught if issubclass(w.category, TrygghetskartaWarning)]
    assert categories.count(Category.SUMMARY) == 8


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("name", "events", "quarantined"),
    [
        pytest.param("fixture_stockholm_100_api_format.json", 100, 0, id="fixture-100"),
        pytest.param("api_snapshot_2026-08-22T1754Z_all.json", 15, 485, id="snapshot-2026"),
    ],
)
def test_real_api_files(shared_data: Path, name: str, events: int, quarantined: int) -> None:
    result = polisen.parse([shared_data / "police_events" / name])
    assert (len(result.events), len(result.quarantine)) == (events, quarantined)
    assert result.events["occurred_at"].notna().all()
    assert result.events["title"].str.endswith(", Stockholm").all()
    assert result.quarantine["reason"].str.startswith("outside Stockholm kommun").all()


def test_non_object_records_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "events.json"
    path.write_text('[1, null, ["a"]]', encoding="utf-8")
    result = polisen.parse([path])
    assert result.quarantine["reason"].tolist() == [
        "record is a JSON number, not an event object",
        "record is a JSON null, not an event object",
        "record is a JSON array, not an event object",
    ]
    assert result.read == 3


# --------------------------------------------------------------------------- impossible dates


def _answer(tmp_path: Path, published: str, title: str, event_id: int = 7) -> Path:
    record = {"id": event_id, "datetime": published, "name": title, "summary": "x", "type": "Rån"}
    path = tmp_path / f"answer_{event_id}.json"
    path.write_text(json.dumps([record], ensure_ascii=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("published", "title", "reason"),
    [
        pytest.param(
            "2026-09-02 12:01:00 +02:00",
            "2 september 12.00, Rån, Stockholm",
            "published in the future: 2026-09-02 12:01 is more than a day after this run's "
            "clock (2026-09-01 12:00)",
            id="a-day-and-a-minute-ahead",
        ),
        pytest.param(
            "2099-01-01 10:00:00 +01:00",
            "1 januari 09.00, Rån, Stockholm",
            "published in the future: 2099-01-01 10:00 is more than a day after this run's "
            "clock (2026-09-01 12:00)",
            id="published-2099",
        ),
        pytest.param(
            "1999-12-31 23:00:00 +01:00",
            "31 december 22.00, Rån, Stockholm",
            "published before 2000: 1999-12-31 23:00",
            id="published-1999",
        ),
        pytest.param(
            "2026-04-28 07:30:00 +02:00",
            "1 maj 08.00, Rån, Stockholm",
            "incident after publication: 2026-05-01 08:00 is more than a day after the "
            "published time 2026-04-28 07:30: '1 maj 08.00, Rån, Stockholm'",
            id="incident-days-after-publication",
        ),
    ],
)
def test_impossible_dates_are_quarantined(
    tmp_path: Path, published: str, title: str, reason: str
) -> None:
    result = polisen.parse([_answer(tmp_path, published, title)], now=NOW)
    assert result.events.empty
    assert result.quarantine["reason"].tolist() == [reason]
    assert result.read == 1


@pytest.mark.parametrize(
    ("published", "title"),
    [
        pytest.param(
            "2026-09-02 11:59:00 +02:00", "2 september 11.00, Rån, Stockholm", id="23h59-ahead"
        ),
        pytest.param("2000-01-01 00:30:00 +01:00", "1 januari 00.10, Rån, Stockholm", id="in-2000"),
        pytest.param(
            "2026-08-20 10:00:00 +02:00", "21 augusti 09.59, Rån, Stockholm", id="23h59-later"
        ),
    ],
)
def test_times_within_a_day_are_kept(tmp_path: Path, published: str, title: str) -> None:
    result = polisen.parse([_answer(tmp_path, published, title)], now=NOW)
    assert result.quarantine.empty
    assert len(result.events) == 1


def test_the_clock_is_a_parameter(tmp_path: Path) -> None:
    path = _answer(tmp_path, "2026-09-02 12:01:00 +02:00", "2 september 12.00, Rån, Stockholm")
    assert polisen.parse([path], now=NOW).events.empty
    assert len(polisen.parse([path], now=NOW + pd.Timedelta(hours=1)).events) == 1
    with pytest.raises(ValueError, match="timezone-aware"):
        polisen.parse([path], now=pd.Timestamp("2026-09-01 12:00"))


def test_a_bad_version_is_quarantined_and_the_good_ones_kept(tmp_path: Path) -> None:
    """Each record is judged alone, as if it came in a batch of its own."""
    good = {"id": 7, "datetime": "2026-08-22 8:00:00 +02:00", "summary": "Rån.", "type": "Rån"}
    records = [
        dict(good, name="22 augusti 07.50, Rån, Stockholm"),
        dict(good, name="22 augusti 07.50, Rån, Stockholm", datetime="2099-08-22 8:00:00 +02:00"),
        dict(good, name="22 augusti 07.50, Rån, Stockholm", summary="Rån, två gripna."),
    ]
    path = tmp_path / "answer.json"
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    result = polisen.parse([path], now=NOW)
    assert result.read == 3
    assert result.versions["summary"].tolist() == ["Rån.", "Rån, två gripna."]
    assert result.events["summary"].tolist() == ["Rån, två gripna."]  # same time: the last
    assert result.quarantine["reason"].str.startswith("published in the future").tolist() == [True]


# --------------------------------------------------------------------------- broken text

RECORD_WITH_BROKEN_TEXT = (
    '{"id": 7, "datetime": "2024-03-05 9:41:00 +01:00", "name": "5 mars 09.10, R\\u00e5n, '
    'Stockholm", "summary": "Halv \\ud800 och \\udfff, hel \\ud83d\\ude00, nul \\u0000 och '
    'r\x00\u00e5", "type": "R\\u00e5n", "url": "/a/\\ud800/"}'
)


@pytest.mark.parametrize("layout", ["json-array", "json-lines"])
def test_lone_surrogates_and_nuls_are_repaired_and_counted(tmp_path: Path, layout: str) -> None:
    text = RECORD_WITH_BROKEN_TEXT
    path = tmp_path / ("events.json" if layout == "json-array" else "events.jsonl")
    path.write_bytes((f"[{text}]" if layout == "json-array" else f"{text}\n{text}\n").encode())
    result = polisen.parse([path], now=NOW)
    (summary,) = set(result.events["summary"])
    assert summary == "Halv \ufffd och \ufffd, hel \U0001f600, nul  och rå"
    assert result.events["url"].tolist() == ["https://polisen.se/a/\ufffd/"]
    copies = 1 if layout == "json-array" else 2
    assert result.repairs == Repairs(surrogates=3 * copies, nuls=2 * copies)
    raw = result.events["raw"].iloc[0]
    assert json.loads(raw)["summary"] == summary  # raw is valid JSON and UTF-8 again
    raw.encode("utf-8")
    validate_events(result.events)


def test_nuls_in_the_parquet_archive_are_removed_and_counted(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "id": [1],
            "datetime": ["2024-03-05 9:41:00 +01:00"],
            "name": ["5 mars 09.10, Rån, Stock\x00holm"],
            "summary": ["nul\x00\x00"],
        }
    )
    path = tmp_path / "archive.parquet"
    frame.to_parquet(path)
    result = polisen.parse([path], now=NOW)
    assert result.events[["title", "summary"]].values.tolist() == [
        ["5 mars 09.10, Rån, Stockholm", "nul"]
    ]
    assert result.repairs == Repairs(surrogates=0, nuls=3)
