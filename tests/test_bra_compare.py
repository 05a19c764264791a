"""Brå's statistics for a district beside the city's (the lägesbild's Brå table)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from trygghetskarta.analysis.bra_compare import bra_comparison
from trygghetskarta.errors import SchemaError
from trygghetskarta.render.profile import PUBLIC
from trygghetskarta.render.report import ReportScene, lagesbild_html


def row(area, scheme, year, key, rate, unit="per_100k", month=None, suppressed=False, **kw):
    names = {"total": "Totalt antal brott", "robbery": "Rån", "assault": "Misshandel"}
    return {
        "area": area,
        "area_scheme": scheme,
        "year": year,
        "month": month,
        "category": names.get(key, key),
        "category_key": key,
        "rate": rate,
        "rate_unit": unit,
        "suppressed": suppressed,
        "source": kw.get("source", "bra_statistikdatabas"),
    }


@pytest.fixture
def stats() -> pd.DataFrame:
    return pd.DataFrame(
        [
            row("Farsta", "sdo_13", 2023, "total", 9000.0),
            row("Farsta", "sdo_11", 2025, "total", 10_000.0),
            row(
                "Farsta", "sdo_11", 2025, "total", 95.0, unit="per_1000", source="stockholm_arsbok"
            ),
            row("Farsta", "sdo_11", 2025, "robbery", None, suppressed=True),
            row("Farsta", "sdo_11", 2025, "assault", 700.0),
            row("Farsta", "sdo_11", 2025, "assault", 80.0, month=3),  # monthly: not used
            row("Stockholm", "kommun", 2025, "total", 12_500.0),
            row("Stockholm", "kommun", 2025, "robbery", 50.0),
            row("Stockholm", "kommun", 2024, "assault", 600.0),  # another year
            row("Bromma", "sdo_11", 2025, "total", 7000.0),
        ]
    )


def test_latest_year_district_beside_city(stats):
    table = bra_comparison(stats, "Farsta")
    assert list(table["category"]) == ["Totalt antal brott", "Misshandel", "Rån"]
    assert set(table["year"]) == {2025}
    total = table.iloc[0]
    assert (total["district"], total["city"]) == (10_000.0, 12_500.0)  # same unit as the city
    assert total["unit"] == "per 100 000 invånare"
    assault, robbery = table.iloc[1], table.iloc[2]
    assert math.isnan(robbery["district"]) and robbery["city"] == 50.0  # suppressed → NaN
    assert assault["district"] == 700.0 and math.isnan(assault["city"])  # city lacks 2025


def test_unknown_district_gives_an_empty_table(stats):
    assert bra_comparison(stats, "Kungsholmen").empty


def test_missing_columns_are_a_schema_error(stats):
    with pytest.raises(SchemaError, match="rate_unit"):
        bra_comparison(stats.drop(columns="rate_unit"), "Farsta")


def test_report_shows_suppressed_as_dash_and_names_brå(stats):
    scene = ReportScene(
        period=("2025-01-01", "2025-12-31"),
        made_at=pd.Timestamp("2026-01-02 10:00").to_pydatetime(),
        sources=["Polisen", "Brå"],
        profile=PUBLIC,
        monthly=pd.DataFrame(columns=["month", "category", "count"]),
        summaries={"Farsta": {"count": 10}},
        bra={"Farsta": bra_comparison(stats, "Farsta")},
    )
    page = lagesbild_html(scene, "Farsta")
    section = page[page.index("Anmälda brott enligt Brå") :]
    section = section[: section.index("</section>")]
    assert "Källa: Brå, anmälda brott" in section
    assert "10\u00a0000<" in section and "12\u00a0500<" in section  # per 100 000: whole
    rån = section[section.index("<td>Rån</td>") :]
    assert rån.split("</tr>")[0].count("–") >= 2  # district and ratio shown as "–"
