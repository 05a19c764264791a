"""The column-wise list reader gives what the row-by-row reader gave, row for row.

The reference is :func:`trygghetskarta.sources._list_rowwise.parse_list_rowwise` (the reader
:func:`~trygghetskarta.sources.event_lists.parse_list` replaced). Each test writes a few
thousand varied rows — every date, time, number and coordinate form the contract accepts,
and every mistake it quarantines — and compares events, quarantine, counts, notes and
repairs, read in small chunks so that repeats span chunk and file boundaries.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
import shapely

from trygghetskarta.sources import crime_list, fires, shootings
from trygghetskarta.sources import event_lists as el
from trygghetskarta.sources._list_rowwise import parse_list_rowwise

TZ = "Europe/Stockholm"
NOW = pd.Timestamp("2026-06-01 12:00", tz=TZ)
#: A square "kommun" around central Stockholm (EPSG:3006).
KOMMUN = shapely.box(660_000, 6_570_000, 685_000, 6_595_000)

DATES = [
    "2024-03-05",
    "2024-03-05 14:30",
    "2024-03-05T14:30:00",
    "2024-03-05 kl. 14.30",
    "5/3/2024",
    "05.03.2024 14:30",
    "20240305",
    "20240305 1430",
    "2024-03-05T14:30:00+01:00",
    "2024-07-01 09:00Z",
    "45356.604",
    "2024-10-27 02:30",  # the doubled autumn hour
    "2024-03-31 02:30",  # the spring gap
    "2023-12-31 23:59",
    "  2025-01-15 08:05  ",
    "31/02/2024",  # not a real date
    "2024-13-01",
    "1899-12-30",  # an empty Excel date cell
    "1999-12-31 23:00",
    "2031-05-01 10:00",  # in the future
    "2026-06-01 12:30",  # just after the clock
    "gårdagen",
    "12345",  # a number, not a date
    "",
    "..",
]
TIMES = ["", "", "14:30", "0815", "kl 9", "23.59", "25:00", "0.5", "abc", "7"]
ENDS = ["", "", "", "2024-03-06 07:30", "2024-03-01", "2024-03-05", "slutet"]
TYPES = [
    ("", "Misshandel, utomhus, obekant med offret"),
    ("0398", "Stöld av cykel"),
    ("", "Grov kvinnofridskränkning"),
    ("0857", "Skadegörelse genom klotter"),
    ("", "Rån mot person, utomhus"),
    ("", "Våldtäkt mot kvinna"),
    ("1234", ""),
    ("", ""),
    ("", 'Olaga hot "via telefon"'),
    ("", "Narkotikabrott, innehav"),
]
#: (x, y) as a list may give them: SWEREF99 TM, swapped, SWEREF99 18 00, WGS84 with a
#: decimal comma, Swedish thousands, outside, meaningless, blank and suppressed.
POINTS = [
    ("674345", "6581101"),
    ("6581101", "674345"),
    ("154186", "6577684"),
    ("18,0686", "59,3293"),
    ("674 345,5", "6 581 101,25"),
    ("670523", "6583982"),
    ("700000", "6600000"),
    ("123", "456"),
    ("", ""),
    ("..", ".."),
    ("674345", ""),
    ("x12", "6581101"),
    ("1e3", "5"),
]
PLACES = ["Sergels torg", "", "Götgatan 48", "", "Rinkeby torg", ""]
KOMMUNER = ["Stockholm", "", "Stockholms kommun", "Stockholm kommun", "Solna", "stockholm"]


def _crime_rows(n: int, seed: int) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    rows: list[list[str]] = []
    for i in range(n):
        code, crime = TYPES[rng.integers(len(TYPES))]
        x, y = POINTS[rng.integers(len(POINTS))]
        sid = "" if rng.random() < 0.15 else f"K-{seed}-{i:05d}"
        description = rng.choice(
            [
                "",
                "Bråk\nvid entrén",
                'Sa "stopp"',
                "Tab\there",
                "Nul\x00tecken",
                "Rad; med semikolon",
            ]
        )
        rows.append(
            [
                sid,
                crime,
                code,
                DATES[rng.integers(len(DATES))],
                TIMES[rng.integers(len(TIMES))],
                ENDS[rng.integers(len(ENDS))],
                PLACES[rng.integers(len(PLACES))],
                KOMMUNER[rng.integers(len(KOMMUNER))],
                x,
                y,
                str(description),
            ]
        )
    for k in range(0, n, 37):  # exact repeats, some far from their first
        rows.append(list(rows[k]))
    for k in range(5, n, 53):  # an id reused with other content
        if rows[k][0]:
            other = list(rows[k + 1])
            other[0] = rows[k][0]
            rows.append(other)
    order = rng.permutation(len(rows))
    return [rows[k] for k in order]


CRIME_HEADER = [
    "Diarienummer",
    "Brottsbenämning",
    "Brottskod",
    "Brottsdatum från",
    "Brottstid från",
    "Brottsdatum till",
    "Brottsplats",
    "Kommun",
    "X",
    "Y",
    "Beskrivning",
]


def _quote(cell: str, sep: str) -> str:
    if any(c in cell for c in (sep, '"', "\n")):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def _write_csv(path: Path, header: list[str], rows: list[list[str]], *, sep: str = ";") -> Path:
    lines = [sep.join(header)]
    for k, row in enumerate(rows):
        line = sep.join(_quote(c, sep) for c in row)
        if k % 97 == 3:
            line += sep + "extra"  # an unquoted separator: too many fields
        if k % 211 == 7:
            lines.append("")  # a blank line keeps the line numbers honest
        lines.append(line)
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


def _same(paths: list[Path], contract: el.Contract, options: el.ListOptions) -> el.ListResult:
    reference = parse_list_rowwise(paths, contract, options, kommun=KOMMUN, now=NOW)
    columns = el.parse_list(paths, contract, options, kommun=KOMMUN, now=NOW, chunk_rows=257)
    pd.testing.assert_frame_equal(columns.events, reference.events)
    pd.testing.assert_frame_equal(columns.quarantine, reference.quarantine)
    assert (columns.read, columns.notes, columns.repairs) == (
        reference.read,
        reference.notes,
        reference.repairs,
    )
    return columns


@pytest.mark.parametrize(
    ("crs", "dayfirst"),
    [
        pytest.param("EPSG:3006", True, id="sweref-dayfirst"),
        pytest.param("EPSG:3011", False, id="city-crs-monthfirst"),
        pytest.param("EPSG:4326", True, id="wgs84"),
    ],
)
def test_crime_lists_read_column_wise_equal_the_row_by_row_reader(tmp_path, crs, dayfirst):
    first = _write_csv(tmp_path / "brott_2024.csv", CRIME_HEADER, _crime_rows(1800, 1))
    again = _crime_rows(900, 1)[:400] + _crime_rows(700, 2)  # repeats across the two files
    second = _write_csv(tmp_path / "brott_2025.csv", CRIME_HEADER, again, sep=",")
    options = el.ListOptions(crs=crs, dayfirst=dayfirst, code_categories={"08": "vandalism"})
    got = _same([first, second], crime_list.CONTRACT, options)
    # The rows really are varied: events, and every kind of reason, are there.
    kinds = set(got.quarantine["reason"].str.split(":").str[0])
    assert len(got.events) > 150
    assert {
        "duplicate row",
        "conflicting id",
        "unreadable date",
        "unreadable time",
        "unreadable coordinate",
        "no date",
        "date in the future",
        "implausible date",
        "time span ends before it starts",
        "outside Stockholm kommun",
        "no position",
        "too many fields",
        "no crime",
    } <= kinds
    assert got.repairs.nuls > 0
    assert got.events["sensitive"].any() and got.events["event_uid"].str.contains(":row-").any()


def test_shooting_and_fire_lists_equal_the_row_by_row_reader(tmp_path):
    rng = np.random.default_rng(3)
    counts = ["0", "1", "", "..", "två", "-1", "2,0", "1.5"]
    shots = [
        [
            f"SK-{i}",
            DATES[rng.integers(len(DATES))],
            TIMES[rng.integers(len(TIMES))],
            PLACES[rng.integers(len(PLACES))],
            *POINTS[rng.integers(len(POINTS))],
            counts[rng.integers(len(counts))],
            counts[rng.integers(len(counts))],
            ["", "Skjutning mot person", "Skjutning mot byggnad"][rng.integers(3)],
        ]
        for i in range(1500)
    ]
    header = ["Händelsenummer", "Datum", "Tid", "Plats", "X", "Y", "Döda", "Skadade", "Typ"]
    path = _write_csv(tmp_path / "skjutningar.csv", header, shots)
    got = _same([path], shootings.LIST_CONTRACT, el.ListOptions())
    assert "unreadable count" in set(got.quarantine["reason"].str.split(":").str[0])

    kinds = ["Brand i byggnad", "Brand i annat än byggnad", "", "Brand ej i byggnad"]
    objects = ["Lägenhet", "Personbil", "Container", "", "Skog"]
    fire_rows = [
        [
            f"BR-{i}",
            DATES[rng.integers(len(DATES))],
            kinds[rng.integers(len(kinds))],
            objects[rng.integers(len(objects))],
            PLACES[rng.integers(len(PLACES))],
            *POINTS[rng.integers(len(POINTS))],
            ["", "Brand i soprum", "Bilbrand i garage"][rng.integers(3)],
        ]
        for i in range(1500)
    ]
    header = ["Insatsnummer", "Larmtid", "Händelsetyp", "Objekt", "Adress", "E", "N", "Kommentar"]
    path = _write_csv(tmp_path / "brander.csv", header, fire_rows)
    got = _same([path], fires.LIST_CONTRACT, el.ListOptions(crs="EPSG:3011"))
    assert "no kind of fire" in set(got.quarantine["reason"].str.split(":").str[0])


def test_an_xlsx_sheet_of_typed_cells_equals_the_row_by_row_reader(tmp_path):
    """Date cells, Excel serials as numbers, times, numbers and blanks, as openpyxl gives
    them; an offset-aware span end; a cell that is a number where text is expected."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Diarienummer", "Brottsbenämning", "Datum", "Tid", "Sluttid", "X", "Y"])
    rng = np.random.default_rng(5)
    starts = [
        dt.datetime(2024, 3, 5, 14, 30),
        dt.datetime(2024, 3, 5),
        dt.datetime(2024, 3, 5, 14, 30, 15, 250_000),
        45356.604,
        45356,
        "2024-03-05 14:30",
        None,
        dt.date(2023, 1, 2),
        dt.time(13, 0),
    ]
    clocks = [None, dt.time(8, 15), 0.5, "14:30", None]
    ends = [None, dt.datetime(2024, 3, 6, 7, 30), "2024-03-06T07:30:00+01:00", None]
    for i in range(600):
        sheet.append(
            [
                [f"X-{i}", i, float(i) + 0.5, None][i % 4],
                ["Stöld", 1234, None, "Rån"][rng.integers(4)],
                starts[rng.integers(len(starts))],
                clocks[rng.integers(len(clocks))],
                ends[rng.integers(len(ends))],
                [674345, 674345.5, "674 345", None][rng.integers(4)],
                [6581101, 6581101.0, "6581101", None][rng.integers(4)],
            ]
        )
    path = tmp_path / "brott.xlsx"
    book.save(path)
    got = _same([path], crime_list.CONTRACT, el.ListOptions())
    assert len(got.events) > 50


def test_an_empty_list_and_a_header_only_list(tmp_path):
    path = _write_csv(tmp_path / "tom.csv", CRIME_HEADER, [])
    got = _same([path], crime_list.CONTRACT, el.ListOptions())
    assert (got.read, len(got.events), len(got.quarantine)) == (0, 0, 0)


def test_a_contract_without_build_frame_is_built_row_by_row(tmp_path):
    """A contract of one's own (only ``build``) reads the same as through the reference."""
    calls: list[str] = []

    def build(values, options):
        calls.append(values["crime_type"] or "")
        if values["crime_type"] is None:
            return None, "no crime: no type"
        return {
            "category": "other",
            "source_type": values["crime_type"],
            "title": values["crime_type"],
            "summary": None,
            "derived": {"at": values["occurred_at"]},
        }, None

    contract = el.Contract(
        name="egen",
        source="egen",
        layer=crime_list.CONTRACT.layer,
        fields=crime_list.CONTRACT.fields,
        required=crime_list.CONTRACT.required,
        build=build,
    )
    path = _write_csv(tmp_path / "egen.csv", CRIME_HEADER, _crime_rows(400, 9))
    got = _same([path], contract, el.ListOptions())
    assert len(got.events) > 0 and calls
