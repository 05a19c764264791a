"""Tests of the population parsers: the yearbook table 1.2 (xlsx and extract), SCB's RegSO
and kommun tables, their mistakes, and the real files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from trygghetskarta import districts
from trygghetskarta.errors import SourceError
from trygghetskarta.sources import population


@pytest.fixture
def pop_dir(test_data: Path) -> Path:
    return test_data / "bra"


def parse(path: Path | list[Path], **kwargs) -> population.PopulationResult:
    result = population.parse(path, **kwargs)
    assert result.read == len(result.population) + len(result.quarantine)
    return result


def value(frame: pd.DataFrame, area: str, year: int) -> int:
    rows = frame[(frame["area"] == area) & (frame["year"] == year)]
    assert len(rows) == 1, f"expected one row for {area} {year}, got {len(rows)}"
    return int(rows["population"].iloc[0])


@pytest.mark.parametrize("name", ["folkmangd_1.2.xlsx", "population_extract.csv"])
def test_yearbook_table(pop_dir: Path, name: str) -> None:
    pop = parse(pop_dir / name).population
    assert list(pop.columns) == list(population.POPULATION_COLUMNS)
    assert len(pop) == 14 and not pop["forecast"].any()
    assert value(pop, "Järva", 2024) == 95000
    assert value(pop, "Stockholm", 2020) == 222000
    levels = dict(zip(pop["area"], pop["level"], strict=False))
    assert levels == {
        "Västerort": "region",
        "Järva": "stadsdelsomrade",
        "Bromma": "stadsdelsomrade",
        "Innerstaden": "region",
        "Kungsholmen": "stadsdelsomrade",
        "På staden skrivna": "other",
        "Stockholm": "kommun",
    }
    assert (pop["reference_date"].dt.strftime("%m-%d") == "12-31").all()


def test_yearbook_xlsx_and_extract_agree(pop_dir: Path) -> None:
    cols = ["area", "level", "reference_date", "population", "forecast"]
    a = parse(pop_dir / "folkmangd_1.2.xlsx", include_forecast=True).population[cols]
    b = parse(pop_dir / "population_extract.csv", include_forecast=True).population[cols]
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize(
    ("area", "expected"),
    [("Järva", 101001), ("Bromma", 70000), ("Västerort", 171000)],
    ids=["half-up", "up", "down"],
)
def test_forecast_rounded_half_up_and_flagged(pop_dir: Path, area: str, expected: int) -> None:
    pop = parse(pop_dir / "folkmangd_1.2.xlsx", include_forecast=True).population
    row = pop[(pop["area"] == area) & (pop["year"] == 2030)].iloc[0]
    assert row["population"] == expected and bool(row["forecast"])


def test_districts_and_unaddressed_sum_to_the_city(pop_dir: Path) -> None:
    pop = parse(pop_dir / "folkmangd_1.2.xlsx").population
    for year in (2020, 2024):
        parts = pop[(pop["year"] == year) & pop["level"].isin(["stadsdelsomrade", "other"])]
        assert parts["population"].sum() == value(pop, "Stockholm", year)


def test_regso_totals_and_ages(pop_dir: Path) -> None:
    pop = parse(pop_dir / "regso_by_age_2024.csv").population
    assert dict(zip(pop["area"], pop["population"], strict=True)) == {
        "0180R001": 200,
        "0180R002": 600,
    }
    assert set(pop["level"]) == {"regso"}
    ages = population.read_regso_by_age(pop_dir / "regso_by_age_2024.csv")
    top = ages[ages["age_group"] == "80- år"].iloc[0]
    assert top["age_from"] == 80 and pd.isna(top["age_to"]) and top["name"] == "Abrahamsberg"


def test_kommun_table_is_november(pop_dir: Path) -> None:
    pop = parse(pop_dir / "kommun_population_2024.csv").population
    sthlm = pop[pop["area"] == "Stockholm"].iloc[0]
    assert (sthlm["code"], sthlm["population"]) == ("0180", 995600)
    assert sthlm["reference_date"] == pd.Timestamp("2024-11-01")
    names = population.kommun_names(pop_dir / "kommun_population_2024.csv")
    assert names == ["Malung-Sälen", "Stockholm", "Upplands Väsby"]


def test_same_area_two_dates_are_two_rows(pop_dir: Path) -> None:
    pop = parse([pop_dir / "folkmangd_1.2.xlsx", pop_dir / "kommun_population_2024.csv"])
    sthlm = pop.population[pop.population["area"] == "Stockholm"]
    assert sorted(sthlm["reference_date"].dt.strftime("%Y-%m-%d")) == [
        "2020-12-31",
        "2024-11-01",
        "2024-12-31",
    ]


@pytest.mark.parametrize(
    ("line", "column", "fragment"),
    [
        (3, "pop_2020", "duplicate: Järva 2020-12-31"),
        (2, "pop_2024", "conflicting populations: Järva 2024-12-31 has [95000, 95001]"),
        (3, "pop_2024", "conflicting populations"),
        (4, "pop_2020", "unknown area: 'Atlantis'"),
        (5, "pop_2024", "level mismatch: 'region' does not fit 'Bromma'"),
        (6, "pop_2020", "negative: population -5"),
        (6, "pop_2024", "not a whole number: population 71000.5"),
        (7, "pop_2020", "not a number: population '..'"),
    ],
)
def test_bad_population_rows(pop_dir: Path, line: int, column: str, fragment: str) -> None:
    q = parse(pop_dir / "population_bad.csv").quarantine
    reasons = dict(zip(q["source_id"], q["reason"], strict=True))
    assert fragment in reasons[f"population_bad.csv:{line}:{column}"]


def test_bad_population_file_keeps_the_good_figures(pop_dir: Path) -> None:
    result = parse(pop_dir / "population_bad.csv")
    assert (result.read, len(result.population), len(result.quarantine)) == (12, 2, 10)
    assert value(result.population, "Farsta", 2024) == 62085


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("area,level,pop_2024,inhabitants\nJärva,x,1,2\n", "unexpected column 'inhabitants'"),
        (
            "kommun_kod,namn,population\n0180,Stockholm,1\n",
            "expected the header kommun_kod,kommun_namn,population",
        ),
        ("regsokod,regso,age,population,year\n0180R001,x,0-4 år,1,2024\n", "missing ['age_group']"),
    ],
    ids=["yearbook-extra-column", "kommun-renamed", "regso-renamed"],
)
def test_bad_population_files(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "population_2024.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SourceError) as info:
        population.parse(path)
    message = str(info.value)
    assert message.startswith(f"{path.name}, line 1: ") and " — " in message
    assert fragment in message


# --------------------------------------------------------------------------- real data


@pytest.mark.realdata
def test_real_yearbook_xlsx_equals_extract(shared_data: Path) -> None:
    folder = shared_data / "population"
    cols = ["area", "level", "reference_date", "population", "forecast"]
    xlsx = parse(folder / "raw" / "1.2-folkmangd-den-31-dec-2010-2034.xlsx", include_forecast=True)
    csv = parse(folder / "stockholm_population_by_sdo_2010-2024_arsbok.csv", include_forecast=True)
    assert len(xlsx.population) == 80
    pd.testing.assert_frame_equal(xlsx.population[cols], csv.population[cols])


@pytest.mark.realdata
def test_real_population_sums(shared_data: Path) -> None:
    pop = parse(population.discover(shared_data)).population
    assert value(pop, "Järva", 2024) == 95220
    assert (
        value(
            pop[pop["level"] == "kommun"].query("source == 'stockholm_arsbok_1.2'"),
            "Stockholm",
            2024,
        )
        == 995574
    )
    yearbook = pop[pop["source"] == population.SOURCE_ARSBOK]
    for year in (2010, 2015, 2020, 2024):
        y = yearbook[yearbook["year"] == year]
        parts = y[y["level"].isin(["stadsdelsomrade", "other"])]["population"].sum()
        assert parts == value(y, "Stockholm", year)
        for region in districts.REGIONS:
            members = [s for s, r in districts.REGION_OF_SDO_11.items() if r == region]
            assert y[y["area"].isin(members)]["population"].sum() == value(y, region, year)
    regso = pop[pop["level"] == "regso"]
    assert (len(regso), regso["population"].sum()) == (127, 995574)
    nov = pop[(pop["source"] == population.SOURCE_KOMMUN) & (pop["area"] == "Stockholm")]
    assert nov["population"].tolist() == [995600]
    assert len(pop[pop["source"] == population.SOURCE_KOMMUN]) == 290


@pytest.mark.realdata
def test_real_regso_totals_match_the_boundary_layer(shared_data: Path) -> None:
    from trygghetskarta.areas import load_areas

    pop = parse(shared_data / "population" / "regso_stockholm_population_by_age_2024.csv")
    layer = load_areas(shared_data).regso
    expected = dict(zip(layer["code"].astype(str), layer["pop_2024"].astype(int), strict=True))
    got = dict(zip(pop.population["area"], pop.population["population"].astype(int), strict=True))
    assert got == expected
