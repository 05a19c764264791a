"""Event-list contracts: the worked example, every bad input, XLSX, the toml mapping, CRS fixes."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
import shapely

from trygghetskarta.errors import ConfigError, SourceError
from trygghetskarta.schema import validate_events
from trygghetskarta.sources import _coords, crime_list
from trygghetskarta.sources import event_lists as el
from trygghetskarta.sources._listfile import parse_datetime, parse_number, parse_time, read_table
from trygghetskarta.sources.text_repair import Repairs

TZ = "Europe/Stockholm"
NOW = pd.Timestamp("2025-01-01", tz=TZ)
#: A stand-in for Stockholm kommun in EPSG:3006: the city's extent with Solna cut out.
KOMMUN = shapely.box(656000, 6569000, 683000, 6593000).difference(
    shapely.box(668500, 6582500, 672000, 6587500)
)
CRIME_OPTIONS = el.ListOptions(columns={"x": "X_SWEREF99TM", "y": "Y_SWEREF99TM"})
HEADER = (
    "Diarienummer;Brottsbenämning;Brottsdatum från;Brottstid från;Brottsdatum till;"
    "Brottstid till;Brottsplats;Kommun;X_SWEREF99TM;Y_SWEREF99TM"
)


@pytest.fixture
def lists(test_data: Path) -> Path:
    return test_data / "lists"


def crimes(paths: list[Path], options: el.ListOptions | None = None) -> el.ListResult:
    return el.parse_list(paths, crime_list.CONTRACT, options, kommun=KOMMUN, now=NOW)


def write(tmp_path: Path, body: str, name: str = "lista.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(body.encode(encoding))
    return path


def row(events: pd.DataFrame, sid: str) -> pd.Series:
    hit = events[events["source_id"] == sid]
    assert len(hit) == 1, f"expected one event {sid}, got {len(hit)}"
    return hit.iloc[0]


# --------------------------------------------------------------------------- worked example


def test_worked_example_loads_every_row(lists: Path) -> None:
    result = crimes([lists / "brott_exempel.csv"], CRIME_OPTIONS)
    validate_events(result.events)
    assert (result.read, len(result.events), len(result.quarantine)) == (9, 9, 0)
    assert set(result.events["layer"]) == {"reported_crime"}
    assert result.events["event_uid"].str.startswith("polisen-brott:EXEMPEL-").all()


@pytest.mark.parametrize(
    ("sid", "category", "sensitive"),
    [
        ("EXEMPEL-0001", "violence", False),
        ("EXEMPEL-0002", "theft_burglary", False),
        ("EXEMPEL-0003", "robbery", False),
        ("EXEMPEL-0004", "vandalism", False),
        ("EXEMPEL-0005", "violence", True),
        ("EXEMPEL-0006", "violence", True),
        ("EXEMPEL-0007", "drugs", False),
    ],
    ids=["assault", "bicycle-theft", "robbery", "graffiti", "kvinnofrid", "sexual", "drugs"],
)
def test_worked_example_categories_and_sensitivity(
    lists: Path, sid: str, category: str, sensitive: bool
) -> None:
    event = row(crimes([lists / "brott_exempel.csv"], CRIME_OPTIONS).events, sid)
    assert (event["category"], bool(event["sensitive"])) == (category, sensitive)


def test_worked_example_positions_times_and_spans(lists: Path) -> None:
    events = crimes([lists / "brott_exempel.csv"], CRIME_OPTIONS).events
    assault = row(events, "EXEMPEL-0001")
    assert (assault["x"], assault["y"], assault["precision"]) == (674345.0, 6581101.0, "exact")
    assert assault["uncertainty_m"] == pytest.approx(10.0)
    assert assault["occurred_at"] == pd.Timestamp("2024-03-02 23:40", tz=TZ)
    theft = row(events, "EXEMPEL-0002")  # address only: the geocode step places it
    assert np.isnan(theft["x"]) and pd.isna(theft["precision"])
    assert theft["place_name"] == "Götgatan 48"
    assert theft["occurred_at"] == pd.Timestamp("2024-03-01 18:00", tz=TZ)
    derived = json.loads(theft["raw"])["derived"]
    assert derived["occurred_to"] == "2024-03-02T07:30:00+01:00"
    assert "2024-03-02 07:30" in theft["summary"]
    graffiti = json.loads(row(events, "EXEMPEL-0004")["raw"])
    assert graffiti["derived"]["time_known"] is False
    assert graffiti["line"] == 5 and graffiti["record"]["Brottsplats"] == "Medborgarplatsen"


def test_reingest_gives_identical_events(lists: Path) -> None:
    first = crimes([lists / "brott_exempel.csv"], CRIME_OPTIONS).events
    second = crimes([lists / "brott_exempel.csv"], CRIME_OPTIONS).events
    pd.testing.assert_frame_equal(first, second)


# --------------------------------------------------------------------------- bad rows


BAD_REASONS = {
    "EXEMPEL-0104": "outside Stockholm kommun: (670523, 6583982)",
    "EXEMPEL-0105": "coordinates in no known reference system",
    "EXEMPEL-0106": "date in the future: 2031-05-01",
    "EXEMPEL-0107": "duplicate row: line 9 repeats brott_med_fel.csv line 8",
    "EXEMPEL-0109": "unreadable date: Brottsdatum från '31/02/2024'",
    "EXEMPEL-0110": "no position",
    "EXEMPEL-0112": "outside Stockholm kommun: the row names 'Solna'",
    "EXEMPEL-0113": "time span ends before it starts",
    "EXEMPEL-0114": "implausible date: 1899-12-30",
    "EXEMPEL-0101": "conflicting id: 'EXEMPEL-0101' on line 18",
}


@pytest.fixture
def bad(lists: Path) -> el.ListResult:
    return crimes([lists / "brott_med_fel.csv"], CRIME_OPTIONS)


def test_bad_file_accounts_for_every_row(bad: el.ListResult) -> None:
    assert bad.read == 17
    assert len(bad.events) + len(bad.quarantine) == bad.read
    assert sorted(bad.events["source_id"]) == [
        "EXEMPEL-0101",
        "EXEMPEL-0102",
        "EXEMPEL-0103",
        "EXEMPEL-0107",
        "EXEMPEL-0111",
        "EXEMPEL-0115",
    ]
    assert "read as cp1252 (not UTF-8)" in bad.notes[0]


@pytest.mark.parametrize(("sid", "reason"), sorted(BAD_REASONS.items()), ids=sorted(BAD_REASONS))
def test_bad_rows_quarantined_with_reason(bad: el.ListResult, sid: str, reason: str) -> None:
    reasons = bad.quarantine.loc[bad.quarantine["source_id"] == sid, "reason"].tolist()
    assert any(r.startswith(reason) for r in reasons), reasons


def test_row_with_an_unquoted_separator_is_quarantined(bad: el.ListResult) -> None:
    reasons = bad.quarantine["reason"].tolist()
    assert any(r.startswith("too many fields: line 17 has 11, the header 10") for r in reasons)
    raw = json.loads(bad.quarantine["raw"].iloc[0])
    assert set(raw) == {"line", "record"}


@pytest.mark.parametrize(
    ("sid", "fix"),
    [
        ("EXEMPEL-0101", "the coordinates are in SWEREF99 18 00 (EPSG:3011)"),
        ("EXEMPEL-0102", "x and y were swapped"),
        ("EXEMPEL-0103", "the coordinates are in WGS84 degrees (EPSG:4326)"),
    ],
    ids=["epsg3011", "swapped", "wgs84-decimal-comma"],
)
def test_wrong_crs_and_swapped_axes_fixed(bad: el.ListResult, sid: str, fix: str) -> None:
    event = row(bad.events, sid)
    assert event["x"] == pytest.approx(674345, abs=2)
    assert event["y"] == pytest.approx(6581101, abs=2)
    assert json.loads(event["raw"])["derived"]["fixed"].startswith(fix)


def test_excel_serial_and_suppressed_coordinates(bad: el.ListResult) -> None:
    excel = row(bad.events, "EXEMPEL-0107")
    assert excel["occurred_at"] == pd.Timestamp("2024-03-05 14:30", tz=TZ)
    dots = row(bad.events, "EXEMPEL-0111")  # ".." coordinates: no point, the address remains
    assert np.isnan(dots["x"]) and dots["place_name"] == "Hötorget"


# --------------------------------------------------------------------------- bad files


def test_renamed_column_stops_with_one_sentence(tmp_path: Path) -> None:
    body = (
        HEADER.replace("Brottsdatum från", "Brottsdag") + "\nA;Stöld;2024-01-01;;;;Götgatan 1;;;\n"
    )
    with pytest.raises(SourceError) as err:
        crimes([write(tmp_path, body)], CRIME_OPTIONS)
    message = str(err.value)
    assert "lista.csv: no column for occurred_at" in message
    assert "'Datum' or 'Brottsdatum'" in message
    assert '[sources.brott.columns] occurred_at = "Brottsdag"' in message
    assert message.count("\n") == 0


def test_mapped_column_missing_from_file(tmp_path: Path, lists: Path) -> None:
    options = el.ListOptions(columns={"x": "Öst", "y": "Y_SWEREF99TM"})
    with pytest.raises(SourceError, match=r"maps x to 'Öst', but the file has no such column"):
        crimes([lists / "brott_exempel.csv"], options)


def test_x_without_y_stops(tmp_path: Path) -> None:
    body = "Datum;Brott;X\n2024-01-01;Stöld;674345\n"
    with pytest.raises(SourceError, match="has 'X' for x but no column for y"):
        crimes([write(tmp_path, body)], el.ListOptions())


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "is empty"),
        ("Datum Brott Adress\n2024-01-01 Stöld Götgatan\n", "line 1 has a single column"),
        ('Datum;Brott;Adress\n"2024-01-01;Stöld;Götgatan 1\n', "line 2: unexpected end of data"),
    ],
    ids=["empty", "no-separator", "unclosed-quote"],
)
def test_unreadable_files(tmp_path: Path, body: str, message: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(SourceError, match=message):
        crimes([path])


def test_old_xls_and_binary_files_refused(tmp_path: Path) -> None:
    xls = tmp_path / "lista.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    with pytest.raises(SourceError, match=r"old Excel \.xls file"):
        crimes([xls])
    binary = tmp_path / "lista.csv"
    binary.write_bytes(b"Datum;Brott\x00\x00\x01")
    with pytest.raises(SourceError, match="binary file"):
        crimes([binary])


def test_wrong_delimiter_in_toml_is_a_file_error(lists: Path) -> None:
    options = el.ListOptions(columns=CRIME_OPTIONS.columns, delimiter=",")
    with pytest.raises(SourceError, match="single column with the delimiter ','"):
        crimes([lists / "brott_exempel.csv"], options)


def test_bom_comma_and_crlf_are_read(tmp_path: Path) -> None:
    body = "\ufeffDatum,Brott,Adress\r\n2024-01-01 12:00,Stöld,Götgatan 1\r\n"
    result = crimes([write(tmp_path, body)])
    assert len(result.events) == 1 and result.events["title"].iloc[0] == "Stöld"


# --------------------------------------------------------------------------- xlsx


def test_xlsx_with_date_cells_serials_and_a_named_sheet(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.title = "Info"
    book.active["A1"] = "Leverans mars 2024"
    sheet = book.create_sheet("Anmälningar")
    sheet.append(["Diarienummer", "Brottsbenämning", "Brottsdatum", "Tid", "Adress", "X", "Y"])
    sheet.append(["X-1", "Stöld", dt.datetime(2024, 3, 5, 14, 30), None, "Götgatan 1", None, None])
    sheet.append(["X-2", "Rån", 45356.25, None, None, 674345, 6581101])  # an unformatted date
    sheet.append(["X-3", "Klotter", dt.date(2024, 3, 6), dt.time(21, 15), "Odenplan", None, None])
    sheet.append(["X-4", "Klotter", dt.datetime(1899, 12, 30), None, "Odenplan", None, None])
    sheet.append(["X-5", "Stöld", None, None, "Götgatan 2", None, None])
    path = tmp_path / "lista.xlsx"
    book.save(path)
    result = crimes([path], el.ListOptions(sheet="Anmälningar"))
    times = dict(zip(result.events["source_id"], result.events["occurred_at"], strict=True))
    assert times == {
        "X-1": pd.Timestamp("2024-03-05 14:30", tz=TZ),
        "X-2": pd.Timestamp("2024-03-05 06:00", tz=TZ),
        "X-3": pd.Timestamp("2024-03-06 21:15", tz=TZ),
    }
    reasons = dict(zip(result.quarantine["source_id"], result.quarantine["reason"], strict=True))
    assert reasons["X-4"].startswith("implausible date: 1899-12-30")
    assert reasons["X-5"].startswith("no date: line 6 has no Brottsdatum")
    assert json.loads(row(result.events, "X-1")["raw"])["line"] == 2


def test_xlsx_missing_sheet(tmp_path: Path) -> None:
    path = tmp_path / "lista.xlsx"
    openpyxl.Workbook().save(path)
    with pytest.raises(SourceError, match=r"has no sheet 'Brott' \(sheets: \['Sheet'\]\)"):
        crimes([path], el.ListOptions(sheet="Brott"))


# --------------------------------------------------------------------------- toml


def test_options_from_config_reads_the_section() -> None:
    extra = {
        "sources": {
            "brott": {
                "crs": "epsg:3011",
                "sheet": "Blad1",
                "dayfirst": False,
                "sensitive_codes": ["0001"],
                "code_categories": {"98": "other"},
                "columns": {"occurred_at": "Brottsdag", "x": "Öst", "y": "Nord"},
            }
        }
    }
    options = el.options_from_config(extra, crime_list.CONTRACT)
    assert options.crs == "EPSG:3011" and options.sheet == "Blad1" and not options.dayfirst
    assert options.columns["occurred_at"] == "Brottsdag"
    assert options.sensitive_codes == ("0001",) and options.code_categories == {"98": "other"}
    assert el.options_from_config({}, crime_list.CONTRACT) == el.ListOptions()


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"colums": {}}, r"unknown keys \['colums'\]"),
        ({"columns": {"dead": "Döda"}}, r"maps \['dead'\], which the brott contract does not have"),
        ({"crs": "EPSG:3857"}, "crs must be EPSG:3006, EPSG:3011 or EPSG:4326"),
        ({"code_categories": {"1": "murder"}}, r"unknown categories \['murder'\]"),
    ],
    ids=["typo", "foreign-field", "crs", "category"],
)
def test_bad_config_sections(section: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        el.options_from_config({"sources": {"brott": section}}, crime_list.CONTRACT)


def test_code_categories_and_sensitive_codes_apply(tmp_path: Path) -> None:
    body = "Id;Brottskod;Datum;Adress\nA;1234;2024-01-01;Götgatan 1\nB;5678;2024-01-01;Götgatan 2\n"
    options = el.ListOptions(code_categories={"12": "violence"}, sensitive_codes=("5678",))
    events = crimes([write(tmp_path, body)], options).events
    assert dict(zip(events["source_id"], events["category"], strict=True)) == {
        "A": "violence",
        "B": "other",
    }
    assert dict(zip(events["source_id"], events["sensitive"], strict=True)) == {
        "A": False,
        "B": True,
    }
    assert set(events["title"]) == {"Brottskod 1234", "Brottskod 5678"}


def test_rows_without_id_get_a_stable_content_id(tmp_path: Path) -> None:
    body = (
        "Datum;Brott;Adress\n2024-01-01 10:00;Stöld;Götgatan 1\n2024-01-01 11:00;Stöld;Götgatan 1\n"
    )
    first = crimes([write(tmp_path, body)]).events["source_id"].tolist()
    again = crimes([write(tmp_path, body, name="kopia.csv")]).events["source_id"].tolist()
    assert first == again and all(s.startswith("row-") for s in first) and len(set(first)) == 2


@pytest.mark.parametrize(
    ("day", "reason"),
    [
        pytest.param("1999-12-31", "implausible date: 1999-12-31 (line 2; before 2000", id="1999"),
        pytest.param("1970-01-01", "implausible date: 1970-01-01 (line 2; before 2000", id="1970"),
        pytest.param(
            "2025-01-01 00:01", "date in the future: 2025-01-01 00:01 (line 2)", id="future"
        ),
        pytest.param("2000-01-01", None, id="2000-kept"),
        pytest.param("2024-12-31 23:59", None, id="before-the-clock-kept"),
    ],
)
def test_dates_before_2000_or_after_the_clock_are_quarantined(
    tmp_path: Path, day: str, reason: str | None
) -> None:
    body = f"Id;Brott;Datum;Adress\nA;Stöld;{day};Götgatan 1\n"
    result = crimes([write(tmp_path, body)])  # the clock: NOW
    if reason is None:
        assert result.events["source_id"].tolist() == ["A"]
    else:
        assert result.events.empty
        (got,) = result.quarantine["reason"]
        assert got.startswith(reason)


def test_nul_characters_in_a_list_are_removed_and_counted(tmp_path: Path) -> None:
    body = "Id;Brott;Datum;Adress;Beskrivning\nA\x00;Stöld;2024-01-01;Göt\x00gatan 1;text\x00\x00\n"
    result = crimes([write(tmp_path, body)])
    events = result.events
    assert events[["source_id", "place_name", "body"]].values.tolist() == [
        ["A", "Götgatan 1", "text"]
    ]
    assert result.repairs == Repairs(surrogates=0, nuls=4)
    assert "lista.csv: 4 NUL characters removed" in result.notes
    assert "\x00" not in result.events["raw"].iloc[0]


def test_a_csv_of_mostly_nul_bytes_is_refused_as_utf16(tmp_path: Path) -> None:
    path = write(
        tmp_path, "Id;Brott;Datum;Adress\nA;Stöld;2024-01-01;Götgatan 1\n", encoding="utf-16"
    )
    with pytest.raises(SourceError, match="UTF-16"):
        crimes([path])


# --------------------------------------------------------------------------- cells and coordinates


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-05", dt.datetime(2024, 3, 5)),
        ("2024-03-05 14:30", dt.datetime(2024, 3, 5, 14, 30)),
        ("2024-03-05 kl. 14.30", dt.datetime(2024, 3, 5, 14, 30)),
        ("05/03/2024", dt.datetime(2024, 3, 5)),
        ("5.3.2024 09:05", dt.datetime(2024, 3, 5, 9, 5)),
        ("20240305", dt.datetime(2024, 3, 5)),
        ("45356.604166667", dt.datetime(2024, 3, 5, 14, 30)),
        (45356, dt.datetime(2024, 3, 5)),
    ],
    ids=["iso", "iso-time", "kl", "dmy", "dotted", "compact", "excel-text", "excel-int"],
)
def test_parse_datetime(value: object, expected: dt.datetime) -> None:
    assert parse_datetime(value) == (expected, None)


def test_parse_datetime_offsets_and_month_first() -> None:
    stamp, _ = parse_datetime("2024-03-05T14:30:00+01:00")
    assert stamp.utcoffset() == dt.timedelta(hours=1)
    assert parse_datetime("03/05/2024", dayfirst=False)[0] == dt.datetime(2024, 3, 5)
    assert parse_datetime("..") == (None, None)
    assert (
        parse_datetime("12")[1]
        == "'12' is a number, not a date (an Excel date would be 20000–80000)"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("14:30", dt.time(14, 30)),
        ("1430", dt.time(14, 30)),
        ("kl 9", dt.time(9)),
        (0.5, dt.time(12)),
    ],
    ids=["colon", "compact", "hour", "excel-fraction"],
)
def test_parse_time(value: object, expected: dt.time) -> None:
    assert parse_time(value) == (expected, None)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("6 580 521,5", 6580521.5), ("6580521.5", 6580521.5), ("−12", -12.0), ("", None), ("-", None)],
    ids=["swedish", "english", "unicode-minus", "blank", "dash"],
)
def test_parse_number(value: str, expected: float | None) -> None:
    assert parse_number(value) == (expected, None)


def square(cx: float, cy: float, r: float = 500.0) -> shapely.Polygon:
    return shapely.box(cx - r, cy - r, cx + r, cy + r)


def test_ambiguous_coordinates_are_not_guessed() -> None:
    # Sergels torg in EPSG:3011 with x and y swapped, declared as EPSG:3006. Two readings are
    # real points: swapped-as-3011 (Sergels torg, 674345/6581101 in EPSG:3006) and
    # swapped-as-3006 (153694/6579722, off the Norwegian coast).
    x, y = np.array([6579722.0]), np.array([153694.0])
    sergel, coast = square(674345, 6581101), square(153694, 6579722)
    fixed = _coords.place_points(x, y, kommun=sergel)
    assert fixed.status[0] == _coords.FIXED
    assert (fixed.x[0], fixed.y[0]) == pytest.approx((674345, 6581101), abs=2)
    assert fixed.note[0] == (
        "x and y were swapped and the coordinates are in SWEREF99 18 00 (EPSG:3011), "
        "not SWEREF99 TM (EPSG:3006)"
    )
    both = _coords.place_points(x, y, kommun=sergel.union(coast))
    assert both.status[0] == _coords.AMBIGUOUS and np.isnan(both.x[0])
    assert both.note[0].startswith("more than one reading lands inside Stockholm kommun")
    declared = _coords.place_points(
        np.array([153694.0]), np.array([6579722.0]), kommun=sergel.union(coast)
    )
    assert declared.status[0] == _coords.OK  # the declared reading wins when it is inside


def test_place_points_without_kommun_checks_sweden() -> None:
    placed = _coords.place_points(np.array([674345.0, 5.0]), np.array([6581101.0, 5.0]))
    assert list(placed.status) == [_coords.OK, _coords.IMPLAUSIBLE]


def test_read_table_keeps_line_numbers_across_blank_and_quoted_lines(tmp_path: Path) -> None:
    body = 'A;B\n\n1;"två\nrader"\n3;4\n'
    table = read_table(write(tmp_path, body))
    assert table.lines == [3, 5] and table.rows[0][1] == "två\nrader"


def test_discover_lists_and_parse_through_the_layer_entry(tmp_path: Path, lists: Path) -> None:
    folder = tmp_path / "lists" / "brott"
    folder.mkdir(parents=True)
    (folder / "mars.csv").write_bytes((lists / "brott_exempel.csv").read_bytes())
    (folder / "~$mars.xlsx").write_bytes(b"lock")
    (folder / "notes.md").write_text("not a list", encoding="utf-8")
    found = crime_list.discover(tmp_path)
    assert found == [folder / "mars.csv"]
    result = crime_list.parse(found, CRIME_OPTIONS, kommun=KOMMUN, now=NOW)
    assert len(result.events) == 9 and result.stats.empty and result.read == 9
    assert crime_list.discover(tmp_path / "nowhere") == []
