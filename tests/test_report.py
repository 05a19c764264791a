"""Tests of the lägesbild page: figures, chart, tables, profiles and escaping."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime

import pandas as pd
import pytest

from trygghetskarta import report
from trygghetskarta._format import esc
from trygghetskarta._svg import nice_ticks
from trygghetskarta.errors import ConfigError, SchemaError

SVG = "{http://www.w3.org/2000/svg}"
NBSP = "\u00a0"
PAYLOADS = {
    "script": "<script>alert(1)</script>",
    "onerror": '"><img src=x onerror=alert(1)>',
    "iframe_breakout": '"></iframe><script>alert(1)</script>',
}


def monthly_frame(categories: list[str], months: int = 14) -> pd.DataFrame:
    """Counts for Södermalm (category i has i + 2 events a month) and one row for Farsta."""
    index = pd.date_range("2023-11-01", periods=months, freq="MS")
    rows = [
        {"month": m, "stadsdelsomrade": "Södermalm", "category": c, "count": i + 2}
        for i, c in enumerate(categories)
        for m in index
    ]
    rows.append({"month": index[0], "stadsdelsomrade": "Farsta", "category": "drugs", "count": 99})
    return pd.DataFrame(rows)


def page(**changes) -> str:
    args = {
        "period": ("2024-01-01", "2024-12-31"),
        "summary_row": {
            "district": "Södermalm",
            "count": 612,
            "count_last_year": 570,
            "change_pct": 7.37,
            "rate_per_1000": 4.69,
            "population": 130_402,
        },
        "monthly": monthly_frame(["violence", "theft_burglary", "fire"]),
        "city_summary": {"rate_per_1000": 4.2},
        "by_precision": pd.Series({"exact": 1, "street": 3, "kommun": 6}),
        "top_places": pd.Series({"Medborgarplatsen": 41, "Slussen": 4}),
        "made_at": datetime(2025, 1, 2, 3, 4),
        "sources": ["Polisen", "Stockholms stad"],
    }
    args.update(changes)
    district = args.pop("district", "Södermalm")
    return report.lagesbild_html(district, **args)


def svg_of(html: str) -> ET.Element:
    match = re.search(r"<svg.*?</svg>", html, flags=re.S)
    assert match is not None
    return ET.fromstring(match.group(0))


@pytest.mark.parametrize(
    "categories",
    [["violence"], ["violence", "theft_burglary", "fire"], ["drugs", "other", "traffic", "fire"]],
    ids=["one", "three", "four"],
)
def test_chart_has_one_path_per_category_and_is_xml(categories: list[str]) -> None:
    svg = svg_of(page(monthly=monthly_frame(categories)))
    paths = svg.findall(f".//{SVG}path")
    assert len(paths) == len(categories)
    assert {p.get("data-series") for p in paths} == set(categories)
    assert len(svg.findall(f".//{SVG}circle")) == 14 * len(categories)


def test_chart_line_heights_follow_counts() -> None:
    svg = svg_of(page(monthly=monthly_frame(["violence", "fire"])))
    heights = {}
    for p in svg.findall(f".//{SVG}path"):
        ys = [float(v.split(",")[1]) for v in re.findall(r"[-\d.]+,[-\d.]+", p.get("d"))]
        assert len(set(ys)) == 1  # constant counts draw flat lines
        heights[p.get("data-series")] = ys[0]
    assert heights["fire"] < heights["violence"]  # 3 a month is drawn above 2 (y grows down)


def test_key_figures_and_city_comparison() -> None:
    html = page()
    assert "<h1>Lägesbild Södermalm</h1>" in html
    assert ">612<" in html
    assert f">+7{NBSP}%<" in html
    assert "Samma period året innan: 570" in html
    assert ">4,7<" in html and "Hela staden: 4,2" in html
    assert f">130{NBSP}402<" in html


def test_category_table_counts_only_the_period() -> None:
    html = page(monthly=monthly_frame(["violence", "fire"]))
    # 12 months of 2024 in the period (2023-11 and 2023-12 are only in the chart)
    assert f'<td class="num">{24}</td>' in html  # violence: 2 a month
    assert f'<td class="num">{36}</td>' in html  # fire: 3 a month
    assert '<tr class="total"><td>Totalt</td><td class="num">60</td>' in html


@pytest.mark.parametrize(
    ("profile", "count_cell", "change"),
    [("public", "färre än 5", "–"), ("internal", "3", f"+50{NBSP}%")],
    ids=["public", "internal"],
)
def test_small_counts_suppressed_in_public(profile: str, count_cell: str, change: str) -> None:
    row = {"count": 3, "count_last_year": 2, "change_pct": 50.0, "rate_per_1000": 0.1}
    monthly = pd.DataFrame(
        {"month": [pd.Timestamp("2024-02-01")], "category": ["violence"], "count": [3]}
    )
    html = page(summary_row=row, monthly=monthly, profile=profile)
    cards = re.findall(r'<div class="value">(.*?)</div>', html)
    assert cards[0] == count_cell and cards[1] == change
    assert f'<td class="num">{count_cell}</td>' in html
    assert ("Slussen" in html) is (profile == "internal")  # 4 mentions: a public page omits it


def test_data_quality_shares() -> None:
    html = page()
    assert f"40{NBSP}% av händelserna har en position som är noggrannare" in html
    rows = re.findall(r"<tr><td>([^<]+)</td><td class=\"num\">([^<]+)</td>", html)
    labels = [label for label, _ in rows]
    assert labels.index("Exakt koordinat") < labels.index("Gata") < labels.index("Endast kommun")
    assert f'<td class="num">60{NBSP}%</td>' in html  # kommun 6 of 10


@pytest.mark.parametrize("payload", list(PAYLOADS.values()), ids=list(PAYLOADS))
def test_everything_is_escaped(payload: str) -> None:
    html = page(
        district=payload,
        top_places=pd.Series({payload: 12}),
        sources=[payload],
        monthly=monthly_frame(["violence"]).assign(stadsdelsomrade=payload),
        map_html=f"<html><body>{payload}</body></html>",
    )
    assert payload not in html
    assert esc(payload) in html
    assert html.count("<iframe") == 1 and html.count("</iframe>") == 1
    assert "<script" not in html
    svg_of(html)  # the chart stays well-formed XML


def test_map_is_embedded_in_a_sandboxed_srcdoc() -> None:
    map_html = '<html><body><div id="map"></div><script>var a = "x" && 1;</script></body></html>'
    html = page(map_html=map_html)
    match = re.search(r'<iframe [^>]*srcdoc="([^"]*)"', html)
    assert match is not None
    assert match.group(1) == esc(map_html)
    assert 'sandbox="allow-scripts' in html and "allow-same-origin" not in html


@pytest.mark.parametrize(
    ("link", "shown"),
    [
        ("kartor/sodermalm.html", True),
        ("https://example.org/karta.html", True),
        ("javascript:alert(1)", False),
        ("JaVaScRiPt:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
    ],
    ids=["relative", "https", "javascript", "javascript_mixed_case", "data_url"],
)
def test_map_link_only_safe_targets(link: str, shown: bool) -> None:
    html = page(map_link=link)
    assert ("Öppna kartan i ett eget fönster" in html) is shown
    assert "javascript:" not in html.lower()


def test_page_needs_no_network_or_scripts() -> None:
    html = page(map_html=None)
    assert "<script" not in html
    assert not re.search(r"(src|href)=\"https?:", html)
    assert "@media print" in html


def test_empty_district_says_so() -> None:
    html = page(district="Farsta", monthly=monthly_frame(["violence"]).iloc[:0])
    assert "Inga händelser att visa." in html and "<svg" not in html


def test_monthly_table_fills_missing_months() -> None:
    frame = pd.DataFrame(
        {
            "month": pd.to_datetime(["2024-01-01", "2024-04-01", "2024-04-01"]),
            "category": ["violence", "violence", "fire"],
            "count": [2, 5, 7],
        }
    )
    table = report.monthly_table(frame)
    assert list(table.index.month) == [1, 2, 3, 4]
    assert list(table.columns) == ["fire", "violence"]  # largest total first
    assert table.loc["2024-02-01"].tolist() == [0, 0]


@pytest.mark.parametrize(
    ("vmax", "expected"),
    [(11, [0, 5, 10, 15]), (3, [0, 1, 2, 3]), (0, [0, 1]), (480, [0, 100, 200, 300, 400, 500])],
    ids=["eleven", "three", "zero", "hundreds"],
)
def test_nice_ticks(vmax: float, expected: list[float]) -> None:
    assert nice_ticks(vmax) == expected


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"profile": "open"}, ConfigError),
        ({"monthly": pd.DataFrame({"month": [], "count": []})}, SchemaError),
    ],
    ids=["unknown_profile", "monthly_without_category"],
)
def test_bad_input_raises_domain_errors(changes: dict, error: type[Exception]) -> None:
    with pytest.raises(error):
        page(**changes)
