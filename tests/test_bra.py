"""Tests of the reported-crime statistics parsers: hand-made files in every real shape and
with the real mistakes (``tests/data/bra``, written by ``make_fixtures.py``), then the real
files of ``../shared/data/crime_stats``."""

from __future__ import annotations

import warnings
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from trygghetskarta import districts
from trygghetskarta.errors import SourceError, TrygghetskartaWarning
from trygghetskarta.sources import bra
from trygghetskarta.sources._bra_tables import category_key, classify_area
from trygghetskarta.sources._stats_io import Cell

AS_OF = date(2026, 6, 1)
KOMMUNER = ["Ale", "Arjeplog", "Botkyrka", "Malung-Sälen", "Stockholm"]


@pytest.fixture
def bra_dir(test_data: Path) -> Path:
    return test_data / "bra"


def parse(path: Path, **kwargs) -> bra.StatsResult:
    result = bra.parse(path, as_of=kwargs.pop("as_of", AS_OF), **kwargs)
    assert result.read == len(result.stats) + len(result.quarantine)
    return result


def one(stats: pd.DataFrame, **where: object) -> pd.Series:
    mask = pd.Series(True, index=stats.index)
    for col, value in where.items():
        mask &= stats[col] == value
    rows = stats[mask]
    assert len(rows) == 1, f"expected one row for {where}, got {len(rows)}"
    return rows.iloc[0]


def reasons_by_line(quarantine: pd.DataFrame) -> dict[int, str]:
    lines = quarantine["source_id"].str.split(":").str[1].astype(int)
    return dict(zip(lines, quarantine["reason"], strict=True))


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("label", "name", "kind", "ceased"),
    [
        pytest.param(
            "Stadsdelsområde Hässelby - Vällingby (Sthlm)",
            "Hässelby-Vällingby",
            "district",
            None,
            id="brå-sdo-spaced-dash",
        ),
        pytest.param(
            "Stadsdelsområde Norra Innerstaden (Sthlm)",
            "Norra innerstaden",
            "district",
            None,
            id="brå-case",
        ),
        pytest.param(
            "Norrmalm stadsdel (upphörde 2024-01-01)",
            "Norrmalm",
            "district",
            date(2024, 1, 1),
            id="13-area-ceased-label",
        ),
        pytest.param(
            "Maria - Gamla stan stadsdel (upphörde 2007-01-01)",
            "Maria-Gamla stan",
            "former",
            date(2007, 1, 1),
            id="former-stadsdel",
        ),
        pytest.param("Stockholm kommun", "Stockholm", "kommun", None, id="kommun"),
        pytest.param("Hela staden", "Stockholm", "kommun", None, id="yearbook-city"),
        pytest.param("Inre staden", "Innerstaden", "region", None, id="yearbook-region"),
        pytest.param("Stockholms län", "Stockholms län", "county", None, id="county"),
        pytest.param("Hela landet", "Sverige", "country", None, id="country"),
        pytest.param("Älvsjö", "Älvsjö", "former", date(2021, 1, 1), id="bare-former"),
    ],
)
def test_classify_area(label: str, name: str, kind: str, ceased: date | None) -> None:
    info = classify_area(label)
    assert (info.name, info.kind, info.ceased) == (name, kind, ceased)


@pytest.mark.parametrize(
    "label",
    ["Stadsområde Centrum (Gbg)", "Stadsdelsområde Atlantis (Sthlm)", "Ale"],
    ids=["göteborg", "unknown-district", "bare-name-without-hint"],
)
def test_classify_area_unknown(label: str) -> None:
    assert classify_area(label) is None


def test_classify_area_bare_name_is_kommun_in_the_municipal_csv() -> None:
    assert classify_area("Ale", kind_hint="kommun").kind == "kommun"
    assert classify_area("Spånga - Tensta", kind_hint="kommun").kind == "district"


@pytest.mark.parametrize(
    ("label", "key", "sensitive"),
    [
        ("Totalt antal brott", "total", False),
        ("Anmälda brott", "total", False),
        ("därav misshandel inkl. grov", "assault", False),
        ("Misshandel inkl. grov (5, 6 §)", "assault", False),
        ("6 kap. Sexualbrott", "sexual", True),
        ("Grov fridskränkning (4 a §)", "gross_violation_integrity", True),
        ("8 kap. Stöld, rån m.m.", "theft_robbery", False),
        ("därav rån, inkl. grovt", "robbery", False),
        ("därav inbrottsstöld i bostad", "residential_burglary", False),
        (
            "Stöld genom inbrott, inbrottsstöld i bostad, ej av skjutvapen (1, 2, 4, 4 a§)",
            "burglary",
            False,
        ),
        ("Våldsbrott", "violence_3_6", False),
        ("Stöld & rån", "theft_robbery_excl_receiving", False),
        ("Genom brand", "damage_arson", False),
    ],
)
def test_category_key(label: str, key: str, sensitive: bool) -> None:
    assert category_key(label) == (key, sensitive)


def test_unknown_category_gets_a_slug_and_one_warning() -> None:
    label = "Brott mot lagen om förbud beträffande knivar (testfall)"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")  # Python's standard filter: once per message
        assert category_key(label) == (
            "brott_mot_lagen_om_forbud_betraffande_knivar_testfall",
            False,
        )
        category_key(label)
    said = [str(w.message) for w in caught if issubclass(w.category, TrygghetskartaWarning)]
    assert len(said) == 1
    assert "bra_categories.csv" in said[0] and repr(label) in said[0]


# --------------------------------------------------------------------------- Brå table builder


def test_solwebb_yearly_regions_found_by_structure(bra_dir: Path) -> None:
    result = parse(bra_dir / "solwebb_yearly.xls")
    assert (result.read, len(result.stats), len(result.quarantine)) == (45, 26, 19)
    assert set(result.stats["area"]) == {"Stockholm", "Järva", "Bromma", "Norrmalm"}
    row = one(result.stats, area="Stockholm", year=2022, category_key="assault")
    assert row["category_path"] == (
        "3-7 kap. Brott mot person > 3 kap. Brott mot liv och hälsa > "
        "Misshandel inkl. grov (5, 6 §)"
    )
    assert (row["rate"], row["rate_unit"], pd.isna(row["count"])) == (900.0, "per_100k", True)
    assert row["period_start"] == pd.Timestamp("2022-01-01")
    assert row["period_end"] == pd.Timestamp("2022-12-31")


@pytest.mark.parametrize(
    ("area", "year", "key"),
    [("Stockholm", 2023, "assault"), ("Bromma", 2023, "total"), ("Bromma", 2023, "sexual")],
    ids=["dots", "dash", "blank"],
)
def test_solwebb_suppressed_is_not_zero(bra_dir: Path, area: str, year: int, key: str) -> None:
    row = one(parse(bra_dir / "solwebb_yearly.xls").stats, area=area, year=year, category_key=key)
    assert bool(row["suppressed"]) and pd.isna(row["rate"]) and pd.isna(row["count"])


@pytest.mark.parametrize(
    ("area", "year", "scheme"),
    [
        ("Bromma", 2023, "sdo_13"),
        ("Bromma", 2024, "sdo_11"),
        ("Järva", 2024, "sdo_11"),
        ("Norrmalm", 2023, "sdo_13"),
        ("Stockholm", 2024, "kommun"),
    ],
)
def test_solwebb_scheme_in_force(bra_dir: Path, area: str, year: int, scheme: str) -> None:
    stats = parse(bra_dir / "solwebb_yearly.xls").stats
    assert set(stats[(stats["area"] == area) & (stats["year"] == year)]["area_scheme"]) == {scheme}


def test_solwebb_quarantine_reasons(bra_dir: Path) -> None:
    q = parse(bra_dir / "solwebb_yearly.xls").quarantine
    kinds = q["reason"].str.extract(r"^(area did not exist: \w+|unknown area|Excel date)")[0]
    assert kinds.value_counts().to_dict() == {
        "unknown area": 9,
        "area did not exist: Järva": 6,
        "area did not exist: Norrmalm": 3,
        "Excel date": 1,
    }
    date_row = q[q["reason"].str.startswith("Excel date: the rate")].iloc[0]
    assert date_row["source_id"] == "solwebb_yearly.xls:23:D23"
    assert "formed 2024-01-01" in q[q["reason"].str.contains("Järva")]["reason"].iloc[0]
    assert "ceased 2024-01-01" in q[q["reason"].str.contains("Norrmalm")]["reason"].iloc[0]


def test_solwebb_monthly_pairs_count_and_rate(bra_dir: Path) -> None:
    result = parse(bra_dir / "solwebb_monthly.xls")
    assert (result.read, len(result.quarantine)) == (24, 0)
    stats = result.stats
    nov = one(stats, area="Hägersten-Älvsjö", year=2025, month=11, category_key="total")
    assert (nov["count"], nov["rate"], bool(nov["preliminary"])) == (1600, 1250.0, False)
    assert nov["period_end"] == pd.Timestamp("2025-11-30")
    jan = one(stats, area="Stockholm", year=2026, month=1, category_key="assault")
    assert (jan["count"], bool(jan["preliminary"])) == (664, True)
    assert jan["category_path"].endswith(
        "3 kap. Brott mot liv och hälsa > därav misshandel inkl. grov"
    )
    person = one(stats, area="Stockholm", year=2025, month=12, category_key="person")
    assert person["category_path"] == "3-7 kap. Brott mot person"


# --------------------------------------------------------------------------- city yearbook


def test_yearbook_xlsx(bra_dir: Path) -> None:
    result = parse(bra_dir / "1.63-anmalda-brott-2024.xlsx")
    stats = result.stats
    assert (result.read, len(result.quarantine)) == (12, 0)
    assert set(stats["category"]) == {"Anmälda brott", "Våldsbrott"}
    jarva = one(stats, area="Järva", category_key="total")
    assert jarva["area_scheme"] == "sdo_11" and jarva["count"] == 15000
    assert jarva["rate"] == pytest.approx(157.89473684210526, rel=1e-15)
    assert jarva["rate_unit"] == "per_1000"
    city = one(stats, area="Stockholm", category_key="violence_3_6")
    assert city["area_scheme"] == "kommun" and city["count"] == 2900
    assert "brottsplats saknas" in city["note"] and "3 kap." in city["note"]
    assert city["category_path"] == "Anmälda brott > Våldsbrott"
    assert one(stats, area="Innerstaden", category_key="total")["area_scheme"] == "region"
    bromma = one(stats, area="Bromma", category_key="violence_3_6")
    assert bool(bromma["suppressed"]) and pd.isna(bromma["count"])


def test_yearbook_csv_agrees_with_its_rounding(bra_dir: Path) -> None:
    csv = parse(bra_dir / "arsbok_1.63.csv").stats
    xlsx = parse(bra_dir / "1.63-anmalda-brott-2024.xlsx").stats
    both = csv.merge(xlsx, on="stat_key", suffixes=("_csv", "_xlsx"))
    assert len(both) == len(csv) == 4
    assert (both["count_csv"] == both["count_xlsx"]).all()
    assert ((both["rate_csv"] - both["rate_xlsx"]).abs() <= 5e-4).all()


# --------------------------------------------------------------------------- Brå municipal CSV


def test_kommun_csv_2024(bra_dir: Path) -> None:
    result = parse(bra_dir / "Anmälda brott kommunerna 2024.csv")
    stats = result.stats
    assert (result.read, len(result.quarantine)) == (5, 0)
    sthlm = one(stats, area="Stockholm")
    assert (sthlm["count"], sthlm["rate"], sthlm["year"]) == (203286, 20419.0, 2024)
    assert sthlm["source"] == bra.SOURCE_BRA_KOMMUN and sthlm["category_key"] == "total"
    assert one(stats, area="Sverige")["area_scheme"] == "country"
    assert bool(one(stats, area="Malung-Sälen")["suppressed"])


def test_kommun_csv_cp1252_and_nbsp_read_the_same(bra_dir: Path) -> None:
    cols = ["stat_key", "count", "rate", "suppressed"]
    utf8 = parse(bra_dir / "Anmälda brott kommunerna 2024.csv").stats[cols]
    cp1252 = parse(bra_dir / "kommuner_2024_cp1252.csv").stats[cols]
    pd.testing.assert_frame_equal(utf8, cp1252)


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (KOMMUNER, {"Ale", "Arjeplog", "Malung-Sälen", "Stockholm"}),
        (None, {"Ale", "Arjeplogs", "Malung-Sälens", "Stockholms"}),
    ],
    ids=["with-kommun-names", "as-printed"],
)
def test_kommun_csv_2021_genitive(
    bra_dir: Path, names: list[str] | None, expected: set[str]
) -> None:
    stats = parse(bra_dir / "anmalda_brott_kommuner_2021.csv", kommun_names=names).stats
    assert set(stats[stats["area_scheme"] == "kommun"]["area"]) == expected
    districts_2021 = stats[stats["area_scheme"] == "sdo_13"]
    assert set(districts_2021["area"]) == {"Rinkeby-Kista", "Spånga-Tensta"}
    assert (stats["year"] == 2021).all()


def test_kommun_csv_year_argument(bra_dir: Path, tmp_path: Path) -> None:
    plain = tmp_path / "kommuner.csv"
    plain.write_bytes((bra_dir / "kommuner_utan_ar.csv").read_bytes())
    assert set(parse(plain, year=2023).stats["year"]) == {2023}


# --------------------------------------------------------------------------- long CSV


@pytest.mark.parametrize(
    "name", ["per100k_bom.csv", "per100k_excel_sv.csv"], ids=["utf8-bom", "excel-sv-cp1252"]
)
def test_long_csv_encodings_and_delimiters(bra_dir: Path, name: str) -> None:
    cols = ["stat_key", "area", "rate", "suppressed"]
    expected = parse(bra_dir / "per100k.csv")
    got = parse(bra_dir / name)
    pd.testing.assert_frame_equal(expected.stats[cols], got.stats[cols])
    assert one(got.stats, area="Hässelby-Vällingby")["rate"] == 20901.5
    assert got.quarantine["reason"].str.contains("Järva in 2021").all()


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        (6, "month '2025-05-01' is a date"),
        (7, "count '2025-01-07' is a date"),
        (8, "not a whole number: the count 12.5"),
        (9, "negative: the count -3"),
        (10, "duplicate: the same statistic as long_bad_rows.csv line 2"),
        (11, "conflicting values: Hägersten-Älvsjö 2025-04"),
        (12, "conflicting values: Hägersten-Älvsjö 2025-04"),
        (13, "future period: 2099-01-01 starts after today (2026-06-01)"),
        (14, "unknown area: 'Stadsdelsområde Atlantis (Sthlm)'"),
        (15, "bad line: 10 fields where the header has 9"),
        (17, "bad flag: preliminary 'kanske'"),
    ],
)
def test_long_csv_bad_rows_are_quarantined(bra_dir: Path, line: int, fragment: str) -> None:
    reasons = reasons_by_line(parse(bra_dir / "long_bad_rows.csv").quarantine)
    assert fragment in reasons[line]


def test_long_csv_good_rows_of_the_bad_file(bra_dir: Path) -> None:
    result = parse(bra_dir / "long_bad_rows.csv")
    assert (result.read, len(result.stats), len(result.quarantine)) == (17, 6, 11)
    stats = result.stats.set_index("source_line")
    assert stats.loc[[3, 4, 5], "suppressed"].all() and stats.loc[[3, 4, 5], "count"].isna().all()
    assert stats.loc[16, "count"] == 1508  # "1 508": a space between thousands
    assert stats.loc[2, "count"] == 1311 and not stats.loc[2, "suppressed"]


@pytest.mark.parametrize(
    ("encoding", "delimiter", "newline"),
    [("utf-16", "\t", "\r\n"), ("utf-8", "\t", "\n"), ("cp1252", ";", "\r\n")],
    ids=["excel-unicode-text", "tab", "semicolon-cp1252"],
)
def test_long_csv_as_excel_saves_it(
    bra_dir: Path, tmp_path: Path, encoding: str, delimiter: str, newline: str
) -> None:
    import csv
    import io

    rows = list(csv.reader(io.StringIO((bra_dir / "per100k.csv").read_text("utf-8"))))
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator=newline).writerows(rows)
    path = tmp_path / "per100k_saved.csv"
    path.write_bytes(buffer.getvalue().encode(encoding))
    cols = ["stat_key", "rate"]
    expected = parse(bra_dir / "per100k.csv").stats[cols]
    pd.testing.assert_frame_equal(parse(path).stats[cols], expected)


def test_kommun_csv_with_commas(bra_dir: Path, tmp_path: Path) -> None:
    text = (bra_dir / "Anmälda brott kommunerna 2024.csv").read_text("utf-8-sig")
    path = tmp_path / "kommuner 2024.csv"
    path.write_text(text.replace(";", ","), encoding="utf-8")
    got = parse(path).stats
    assert one(got, area="Stockholm")["count"] == 203286 and len(got) == 5


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2 731", (2731.0, False, None)),
        ("2\u00a0731", (2731.0, False, None)),
        ("21308,0", (21308.0, False, None)),
        ("1,234.5", (1234.5, False, None)),
        ("..", (None, True, None)),
        ("–", (None, True, None)),
        ("", (None, True, None)),
        (Cell("empty", None), (None, True, None)),
        (Cell("number", 12.0), (12.0, False, None)),
        (Cell("text", ".."), (None, True, None)),
    ],
    ids=[
        "space",
        "nbsp",
        "decimal-comma",
        "comma-thousands",
        "dots",
        "en-dash",
        "blank",
        "empty-cell",
        "number-cell",
        "text-cell-dots",
    ],
)
def test_number_values(raw: object, expected: tuple) -> None:
    assert bra._number(raw, "count") == expected


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("3-maj", "is a date"),
        ("2024-03-05", "is a date"),
        ("05/03/2024", "is a date"),
        ("abc", "not a number"),
        ("-1", "negative"),
        (Cell("date", date(2024, 3, 5)), "is a date"),
        (Cell("error", "#DIV/0!"), "not a number"),
        (Cell("bool", True), "not a number"),
    ],
    ids=[
        "excel-day-month",
        "iso-date",
        "slash-date",
        "text",
        "negative",
        "date-cell",
        "error-cell",
        "bool-cell",
    ],
)
def test_number_problems(raw: object, fragment: str) -> None:
    value, suppressed, problem = bra._number(raw, "count")
    assert value is None and not suppressed and fragment in problem


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024", (2024, False, None)),
        ("2026 prel.", (2026, True, None)),
        ("2024.0", (2024, False, None)),
        (Cell("number", 2024.0), (2024, False, None)),
    ],
)
def test_year_values(raw: object, expected: tuple) -> None:
    assert bra._year(raw) == expected


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("44197", "date serial"),
        ("2021-01-01", "is a date"),
        ("tjugo", "not a year"),
        (Cell("date", date(2021, 1, 1)), "is a date"),
    ],
    ids=["serial", "date-text", "word", "date-cell"],
)
def test_year_problems(raw: object, fragment: str) -> None:
    assert fragment in bra._year(raw)[2]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, (None, None)),
        ("", (None, None)),
        ("3", (3, None)),
        ("Maj", (5, None)),
        ("okt.", (10, None)),
        (Cell("number", 12.0), (12, None)),
    ],
)
def test_month_values(raw: object, expected: tuple) -> None:
    assert bra._month(raw) == expected


@pytest.mark.parametrize("raw", ["13", "2021-03", "mar-21", Cell("date", date(2021, 3, 1))])
def test_month_problems(raw: object) -> None:
    assert bra._month(raw)[0] is None and bra._month(raw)[1]


# --------------------------------------------------------------------------- bad files


@pytest.mark.parametrize(
    ("name", "fragments"),
    [
        ("empty.csv", ["empty.csv, line 1", "export the table again"]),
        ("not_really.xls", ["not_really.xls, line 1", "web page", "save it as .xlsx"]),
        ("per100k_mojibake.csv", ["line 3", "converted to UTF-8 twice"]),
        ("per100k_renamed.csv", ["line 1", "'per_100000'", "'per_100k' or 'per_1000'"]),
        ("per100k_unclosed_quote.csv", ["line 5", "quote"]),
        ("kommuner_2024_renamed.csv", ["line 1", "Kommun;Antal;Per 100 000 inv."]),
        ("kommuner_utan_ar.csv", ["line 1", "year", "file name"]),
        ("arsbok_renamed.csv", ["line 1", "valdsbrott_per_1000"]),
        ("solwebb_bad_heading.xls", ["line 2", "'Procent'", "column C"]),
        ("yearbook_formula.xlsx", ["line 7", "cell F7", "save it"]),
    ],
)
def test_bad_file_raises_one_sentence(bra_dir: Path, name: str, fragments: list[str]) -> None:
    with pytest.raises(SourceError) as info:
        bra.parse(bra_dir / name, as_of=AS_OF)
    message = str(info.value)
    assert message.startswith(name) and " — " in message and "\n" not in message
    for fragment in fragments:
        assert fragment in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        bra.parse(tmp_path / "nothing.csv")


# --------------------------------------------------------------------------- invariants


def test_keys_are_stable_and_unique(bra_dir: Path) -> None:
    files = [
        "solwebb_yearly.xls",
        "solwebb_monthly.xls",
        "1.63-anmalda-brott-2024.xlsx",
        "Anmälda brott kommunerna 2024.csv",
        "long_bad_rows.csv",
        "per100k.csv",
    ]
    first = parse([bra_dir / f for f in files])
    again = parse([bra_dir / f for f in files])
    assert first.stats["stat_key"].is_unique
    assert first.stats["stat_key"].tolist() == again.stats["stat_key"].tolist()
    assert list(first.stats.columns) == list(bra.STATS_COLUMNS)
    assert list(first.quarantine.columns) == list(bra.QUARANTINE_COLUMNS)


def test_the_same_file_twice_quarantines_the_copies(bra_dir: Path) -> None:
    path = bra_dir / "solwebb_monthly.xls"
    result = parse([path, path])
    assert (result.read, len(result.stats), len(result.quarantine)) == (48, 24, 24)
    assert result.quarantine["reason"].str.startswith("duplicate").all()


def test_discover_prefers_the_originals(tmp_path: Path) -> None:
    folder = tmp_path / "crime_stats"
    (folder / "raw").mkdir(parents=True)
    for name in (
        "raw/bra_alla_kommuner_2021_2025.xls",
        "bra_anmalda_brott_per100k_stockholm_sdo_2021-2025.csv",
        "bra_monthly_person_crimes_stockholms_lan_2020-2023.csv",
        "Anmälda brott kommunerna 2024.csv",
    ):
        (folder / name).write_text("x")
    found = [p.relative_to(folder).as_posix() for p in bra.discover(tmp_path)]
    assert found == [p.relative_to(folder).as_posix() for p in bra.discover(folder)]
    assert found == [
        "raw/bra_alla_kommuner_2021_2025.xls",
        "Anmälda brott kommunerna 2024.csv",
        "bra_monthly_person_crimes_stockholms_lan_2020-2023.csv",
    ]


# --------------------------------------------------------------------------- real data

REAL_COUNTS = {
    # file: (read, loaded, quarantined)
    "bra_anmalda_brott_per100k_stockholm_sdo_2021-2025.csv": (1260, 1134, 126),
    "bra_monthly_person_crimes_stockholms_lan_2020-2023.csv": (16560, 12300, 4260),
    "bra_anmalda_brott_monthly_bromma_hagersten-alvsjo_2025-2026.csv": (420, 420, 0),
    "stockholm_arsbok_anmalda_brott_2024_per_sdo.csv": (75, 75, 0),
    "raw/bra_alla_kommuner_2021_2025.xls": (1260, 1134, 126),
    "raw/1.63-anmalda-brott-2024.xlsx": (75, 75, 0),
    "raw/Brott_2025_raw.xls": (336, 336, 0),
    "raw/Brott_2026_raw.xls": (84, 84, 0),
}


@pytest.mark.realdata
@pytest.mark.parametrize("name", list(REAL_COUNTS))
def test_real_files_load(shared_data: Path, name: str) -> None:
    result = parse(shared_data / "crime_stats" / name, as_of=date(2026, 11, 22))
    assert (result.read, len(result.stats), len(result.quarantine)) == REAL_COUNTS[name]


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("csv", "originals", "rate_tolerance"),
    [
        (
            "bra_anmalda_brott_per100k_stockholm_sdo_2021-2025.csv",
            ["raw/bra_alla_kommuner_2021_2025.xls"],
            0.0,
        ),
        (
            "stockholm_arsbok_anmalda_brott_2024_per_sdo.csv",
            ["raw/1.63-anmalda-brott-2024.xlsx"],
            5e-4,
        ),
        (
            "bra_anmalda_brott_monthly_bromma_hagersten-alvsjo_2025-2026.csv",
            ["raw/Brott_2025_raw.xls", "raw/Brott_2026_raw.xls"],
            0.0,
        ),
    ],
    ids=["per100k", "yearbook", "monthly-bromma"],
)
def test_real_extracts_match_their_originals(
    shared_data: Path, csv: str, originals: list[str], rate_tolerance: float
) -> None:
    folder = shared_data / "crime_stats"
    a = parse(folder / csv, as_of=date(2026, 11, 22)).stats
    b = parse([folder / o for o in originals], as_of=date(2026, 11, 22)).stats
    both = a.merge(b, on="stat_key", suffixes=("_csv", "_raw"))
    assert len(both) == len(a) == len(b)
    assert (both["count_csv"].fillna(-1) == both["count_raw"].fillna(-1)).all()
    assert (both["rate_csv"] - both["rate_raw"]).abs().fillna(0).max() <= rate_tolerance
    assert (both["preliminary_csv"] == both["preliminary_raw"]).all()


@pytest.mark.realdata
def test_real_monthly_brå_lists_13_areas_under_two_names(shared_data: Path) -> None:
    """Norrmalm, Rinkeby-Kista and Spånga-Tensta appear as "Stadsdelsområde X" and as
    "X stadsdel (upphörde 2024-01-01)" with identical figures: 3 × 288 copies."""
    path = shared_data / "crime_stats" / "bra_monthly_person_crimes_stockholms_lan_2020-2023.csv"
    result = parse(path, as_of=date(2026, 11, 22))
    q, stats = result.quarantine, result.stats
    dup = q[q["reason"].str.startswith("duplicate")]
    conflicts = q[q["reason"].str.startswith("conflicting")]
    assert (len(dup), len(conflicts)) == (864, 0)
    assert set(stats[stats["area_scheme"] == "sdo_13"]["area"]) == set(districts.SDO_13)
    assert set(stats[stats["area_scheme"] == "former_stadsdel"]["area"]) == {
        "Hägersten-Liljeholmen",
        "Älvsjö",
    }
    assert not (stats["area_scheme"] == "sdo_11").any()  # Brå prints 0 for Järva before 2024
