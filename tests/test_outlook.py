"""The lägesbild's sections "Områden där problemen kan växa" and "Åtgärder och uppföljning"."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from trygghetskarta.render import Outlook, lagesbild_html, outlook_sections, report
from trygghetskarta.render.profile import export_profile

HOSTILE = '"><img src=x onerror=alert(1)>'

BEATS = {
    "beats": True,
    "method": "poisson_glm",
    "best_method": "poisson_glm",
    "baseline": "long_term_mean",
    "coverage": 0.023,
    "hit_rate": 0.18,
    "pai": 7.83,
    "pei": 0.8,
    "baseline_pai": 6.09,
    "ratio": 1.286,
    "ratio_low": 1.08,
    "ratio_high": 1.51,
    "interval_coverage": 0.91,
    "origins": 12,
}
LOSES = BEATS | {"beats": False, "ratio": 1.02, "ratio_low": 0.92, "ratio_high": 1.15}


def _forecast() -> pd.DataFrame:
    units = ["Södermalm", "Gamla stan", HOSTILE, "Långholmen", "Reimersholme", "Riddarholmen"]
    return pd.DataFrame(
        {
            "unit": [*units, "Farsta"],
            "period_start": "2026-01-01",
            "period_end": "2026-01-31",
            "expected": [11.2, 1.3, 0.9, 0.1, 0.05, 0.6, 9.0],
            "lower": [5, 0, 0, 0, 0, 0, 4],
            "upper": [18, 3, 3, 1, 1, 2, 15],
            "method": "poisson_glm",
            "stadsdelsomrade": ["Södermalm"] * 6 + ["Farsta"],
            "area_km2": [5.0, 0.5, 0.1, 0.3, 0.1, 0.02, 9.0],
        }
    )


def _measures() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["m1", "m2"],
            "namn": [f"Vandringar {HOSTILE}", "Belysning"],
            "omrade": ["Södermalm", "Farsta"],
            "stadsdelsomrade": ["Södermalm", "Farsta"],
            "start": ["2025-01-01", "2025-03-15"],
            "slut": ["", "2025-12-31"],
            "verdict": ["kan inte avgöras", "minskning"],
            "conclusion": [f"Kan inte avgöras: {HOSTILE}", "Händelserna minskade med 30 %."],
        }
    )


def test_a_forecast_that_beats_counting_is_shown_with_its_back_test():
    html = outlook_sections(Outlook(_forecast(), BEATS, None), "Södermalm")
    assert "<h2>Områden där problemen kan växa</h2>" in html
    # ranked by expected events per km² (the back-test's rule), five at most
    names = ("Riddarholmen", "&lt;img", "Gamla stan", "Södermalm</td>", "Reimersholme")
    order = [html.index(name) for name in names]
    assert order == sorted(order)
    assert "Långholmen" not in html  # the sixth
    assert "Farsta" not in html
    assert "1,29 gånger så många (95\u00a0% intervall 1,08–1,51)" in html
    assert "PAI 7,8" in html and "PAI 6,1" in html
    assert "snittet för hela tiden med data" in html
    assert "Efterhandstest över 12 månader" in html
    assert "<img" not in html and "&lt;img src=x" in html


def test_a_forecast_that_does_not_beat_counting_is_one_sentence_and_no_table():
    html = outlook_sections(Outlook(_forecast(), LOSES, None), "Södermalm")
    assert "Att räkna händelserna är lika bra som prognoserna" in html
    assert "fångade 1,02 gånger så många (95\u00a0% intervall 0,92–1,15)" in html
    assert "<table" not in html
    assert "11,2" not in html


def test_when_counting_came_out_best_the_best_model_is_quoted_against_it():
    # the best method is a baseline: its ratio to itself (1,00) says nothing
    counting = LOSES | {
        "method": "long_term_mean",
        "best_method": "long_term_mean",
        "ratio": 1.0,
        "ratio_low": 1.0,
        "ratio_high": 1.0,
        "challenger": {
            "method": "poisson_glm",
            "pai": 5.91,
            "ratio": 0.97,
            "ratio_low": 0.87,
            "ratio_high": 1.1,
        },
    }
    html = outlook_sections(Outlook(_forecast(), counting, None), "Södermalm")
    assert "1,00" not in html
    assert "en Poissonregression på tidigare antal, säsong och grannområden, fångade 0,97" in html
    assert "(95\u00a0% intervall 0,87–1,10)" in html


def test_the_districts_measures_are_listed_with_their_conclusions_as_text():
    html = outlook_sections(Outlook(None, None, _measures()), "Södermalm")
    assert "<h2>Åtgärder och uppföljning</h2>" in html
    assert "Vandringar &quot;&gt;&lt;img" in html
    assert "<img" not in html
    assert "från 2025-01-01" in html
    assert "Belysning" not in html  # Farsta's
    farsta = outlook_sections(Outlook(None, None, _measures()), "Farsta")
    assert "2025-03-15 – 2025-12-31" in farsta
    assert "Händelserna minskade med 30 %." in farsta


@pytest.mark.parametrize(
    ("outlook", "present", "absent"),
    [
        (None, [], ["Områden där", "Åtgärder och"]),
        (Outlook(None, None, None), [], ["Områden där", "Åtgärder och"]),
        (
            Outlook(None, None, _measures().iloc[:0]),
            ["Inga åtgärder är registrerade för Södermalm."],
            ["Områden där"],
        ),
    ],
    ids=["none", "empty", "no-measures"],
)
def test_sections_without_data(outlook, present, absent):
    html = outlook_sections(outlook, "Södermalm")
    assert all(p in html for p in present)
    assert not any(a in html for a in absent)


def test_the_lagesbild_page_carries_the_sections_before_its_sources():
    scene = report.ReportScene(
        period=("2025-01-01", "2025-12-31"),
        made_at=datetime(2026, 1, 2, 3, 4),
        sources=["Polisen"],
        profile=export_profile("public"),
        monthly=pd.DataFrame(columns=["month", "category", "count", "stadsdelsomrade"]),
        outlook=Outlook(_forecast(), BEATS, _measures()),
    )
    page = lagesbild_html(scene, "Södermalm")
    growth = page.index("Områden där problemen kan växa")
    measures = page.index("Åtgärder och uppföljning")
    assert growth < measures < page.index("Källor och period")
    plain = report.ReportScene(
        period=("2025-01-01", "2025-12-31"),
        made_at=datetime(2026, 1, 2, 3, 4),
        sources=["Polisen"],
        profile=export_profile("public"),
        monthly=pd.DataFrame(columns=["month", "category", "count", "stadsdelsomrade"]),
    )
    assert "Områden där problemen kan växa" not in lagesbild_html(plain, "Södermalm")
