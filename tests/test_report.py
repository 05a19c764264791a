"""Tests of the lägesbild page: figures, chart, tables, profiles and escaping."""

from __future__ import annotations

import html as html_lib
import re
import xml.etree.ElementTree as ET
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from trygghetskarta import render
from trygghetskarta.errors import ConfigError, SchemaError
from trygghetskarta.periods import Period
from trygghetskarta.render import (
    audit_ledgers,
    external_references,
    read_ledgers,
    recovered,
    report,
)
from trygghetskarta.render.format import SUPPRESSED_LABEL, esc
from trygghetskarta.render.profile import PUBLIC, export_profile
from trygghetskarta.render.svg import nice_ticks

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
    per_page = {k: args.pop(k) for k in _PER_PAGE if k in args}
    return report.lagesbild_html(scene_of(district, **args), district, **per_page)


#: Arguments of lagesbild_html that are per page, not per scene.
_PER_PAGE = ("map_html", "map_link", "hotspot_map_html", "title", "by_precision", "top_places")


def scene_of(
    district: str,
    *,
    summary_row: dict,
    bra: pd.DataFrame | None = None,
    profile: str = "public",
    **fields,
) -> report.ReportScene:
    """A ReportScene in the named profile with ``district``'s figures and Brå table."""
    return report.ReportScene(
        profile=export_profile(profile),
        summaries={district: summary_row},
        bra={} if bra is None else {district: bra},
        **fields,
    )


def svg_of(html: str) -> ET.Element:
    match = re.search(r"<svg.*?</svg>", html, flags=re.S)
    assert match is not None
    return ET.fromstring(match.group(0))


def svgs_of(html: str, css_class: str) -> list[ET.Element]:
    found = re.findall(rf'<svg[^>]*class="{css_class}".*?</svg>', html, flags=re.S)
    return [ET.fromstring(f) for f in found]


@pytest.mark.parametrize(
    "categories",
    [["violence"], ["violence", "theft_burglary", "fire"], ["drugs", "other", "traffic", "fire"]],
    ids=["one", "three", "four"],
)
@pytest.mark.parametrize("profile", ["public", "internal"])
def test_one_total_chart_and_one_small_chart_per_category(
    categories: list[str], profile: str
) -> None:
    html = page(monthly=monthly_frame(categories), profile=profile)
    (total,) = svgs_of(html, "tk-chart")
    assert [p.get("data-series") for p in total.findall(f".//{SVG}path")] == ["alla"]
    assert len(total.findall(f".//{SVG}circle")) == 14  # one per month
    minis = svgs_of(html, "tk-mini")
    series = [m.get("data-series") for m in minis]
    if profile == "internal":
        # a category with fewer than 10 events charted (2 a month: 28) still has one
        assert series == categories[::-1]  # largest first
    else:
        # public: every block of these small counts is hidden ("dolt"): no flat lines in
        # the band; every category is named as grouped, so a missing one does not say "none"
        assert series == []
        grouped = re.search(r"inget eget diagram \(([^)]*)\)", html).group(1).split(", ")
        assert len(grouped) == 11
    for mini in minis:
        assert len(mini.findall(f".//{SVG}path")) == 1
        points = 14 if profile == "internal" else 5  # public: quarters (Q4 2023 … Q4 2024)
        assert len(mini.findall(f".//{SVG}circle")) == points


def test_chart_line_heights_follow_counts() -> None:
    html = page(monthly=monthly_frame(["violence", "fire"]), profile="internal")
    (total,) = svgs_of(html, "tk-chart")
    (path,) = total.findall(f".//{SVG}path")
    ys = {float(v.split(",")[1]) for v in re.findall(r"[-\d.]+,[-\d.]+", path.get("d"))}
    assert ys == {16.0}  # 2 + 3 = 5 a month, the top tick (5) at y = 16: a flat line
    tips = [t.text for t in total.iter(f"{SVG}title")]
    assert "Alla händelser, jan 2024: 5" in tips


def test_public_charts_hide_counts_below_five() -> None:
    html = page(monthly=monthly_frame(["violence"]))  # 2 a month
    (total,) = svgs_of(html, "tk-chart")
    tips = [t.text for t in total.iter(f"{SVG}title")]
    assert f"Alla händelser, jan 2024: {SUPPRESSED_LABEL}" in tips
    assert not any(t.endswith(": 2") for t in tips)
    assert total.find(f".//{SVG}rect[@class='tk-band']") is not None
    # 6 a quarter, but the other categories are empty: the quarters would give the
    # months (2 each) away, so they are hidden as well, and a chart of hidden quarters
    # alone says nothing: Våld is named among the grouped categories, not drawn flat
    assert svgs_of(html, "tk-mini") == []
    assert re.search(r"inget eget diagram \([^)]*Våld", html)
    assert not recovered(audit_ledgers(read_ledgers(html)))


def test_key_figures_and_city_comparison() -> None:
    html = page()
    assert "<h1>Lägesbild Södermalm</h1>" in html
    assert ">612<" in html
    assert "Polisens händelsenotiser i perioden" in html
    assert f">+7{NBSP}%<" in html
    assert "Samma period året innan: 570" in html
    assert ">4,7<" in html and "Hela staden: 4,2" in html
    assert f">130{NBSP}402<" in html


def test_category_table_counts_only_the_period() -> None:
    html = page(monthly=monthly_frame(["violence", "fire"]), profile="internal")
    # 12 months of 2024 in the period (2023-11 and 2023-12 are only in the chart)
    assert f'<td class="num">{24}</td>' in html  # violence: 2 a month
    assert f'<td class="num">{36}</td>' in html  # fire: 3 a month
    assert '<tr class="total"><td>Totalt</td><td class="num">60</td>' in html
    public = page(monthly=monthly_frame(["violence", "fire"]))
    assert '<tr class="total"><td>Totalt</td><td class="num">60</td>' in public
    assert f'<td class="num">{36}</td>' in public  # violence hides the empty categories
    assert f'<td class="num">{24}</td>' not in public


@pytest.mark.parametrize(
    ("profile", "count_cell", "change"),
    [("public", SUPPRESSED_LABEL, "–"), ("internal", "3", f"+50{NBSP}%")],
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
    html = page(profile="internal")
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
    table = render.monthly_table(frame)
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


@pytest.mark.parametrize("profile", ["public", None], ids=["name", "none"])
def test_scene_takes_a_profile_not_its_name(profile: object) -> None:
    with pytest.raises(ConfigError, match="ExportProfile"):
        report.ReportScene(
            period=("2024-01-01", "2024-12-31"),
            made_at=datetime(2025, 1, 2),
            sources="Polisen",
            profile=profile,
            monthly=monthly_frame(["violence"]),
        )


def test_only_the_districts_own_events_count() -> None:
    mine = district_events()
    other = mine.assign(stadsdelsomrade="Farsta", place_name="Farsta centrum")
    both = pd.concat([mine, other, other], ignore_index=True)
    html = page(events=both, top_places=None, by_precision=None, profile="internal")
    assert html == page(events=mine, top_places=None, by_precision=None, profile="internal")
    assert "Farsta centrum" not in html


# --------------------------------------------------------------------------- additions


def district_events() -> pd.DataFrame:
    """Eight events: times across DST, places of several precisions, one sensitive."""
    return pd.DataFrame(
        {
            "occurred_at": pd.to_datetime(
                [
                    "2024-03-31 00:30+01:00",  # Sunday, before the spring change
                    "2024-03-31 03:30+02:00",  # Sunday, after it
                    "2024-06-03 22:10+02:00",  # Monday
                    "2024-06-03 22:50+02:00",
                    "2024-06-04 08:00+02:00",  # Tuesday
                    "2024-06-04 08:05+02:00",
                    "2024-10-27 02:30+01:00",  # Sunday, after the autumn change
                    "2023-06-01 12:00+02:00",  # before the period
                ],
                utc=True,
            ),
            "place_name": ["Medborgarplatsen"] * 5 + ["Södermalm", "Slussen", "Slussen"],
            "precision": ["place"] * 5 + ["stadsdel", "street", "street"],
            "sensitive": [False, False, False, False, True, False, False, False],
            "stadsdelsomrade": "Södermalm",
        }
    )


def test_hour_weekday_table_uses_stockholm_time() -> None:
    table = render.hour_weekday_table(district_events()["occurred_at"])
    assert table.shape == (7, 24) and int(table.to_numpy().sum()) == 8
    assert table.loc[6, 0] == 1 and table.loc[6, 3] == 1 and table.loc[6, 2] == 1  # Sundays
    assert table.loc[0, 22] == 2 and table.loc[1, 8] == 2 and table.loc[3, 12] == 1


@pytest.mark.parametrize(
    ("profile", "cells", "tip"),
    [("internal", 7 * 24, "måndag 22–23: 2"), ("public", 2, "måndag–fredag 00–24: dolt")],
    ids=["internal_hours", "public_falls_back_to_weekdays_weekend"],
)
def test_heatmap_cells_and_suppression(profile: str, cells: int, tip: str) -> None:
    html = page(events=district_events(), profile=profile)
    (heat,) = svgs_of(html, "tk-chart tk-heatmap")
    rects = heat.findall(f".//{SVG}rect[@class='tk-cell']")
    assert len(rects) == cells
    tips = [r.find(f"{SVG}title").text for r in rects]
    assert tip in tips
    if profile == "public":
        assert all(t.endswith(SUPPRESSED_LABEL) for t in tips)  # no cell holds five events


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        ("internal", {"Medborgarplatsen": 5, "Slussen": 1}),
        ("public", {"Medborgarplatsen": 4, "Slussen": 1}),
    ],
    ids=["internal", "public_without_sensitive"],
)
def test_named_places_only_fine_precision_in_the_period(profile: str, expected: dict) -> None:
    events = district_events()
    in_period = events[events["occurred_at"] >= "2024-01-01"]
    assert report.named_places(in_period, profile=export_profile(profile)).to_dict() == expected


def test_named_places_without_sensitive_column() -> None:
    events = district_events().drop(columns="sensitive")
    assert report.named_places(events, profile=PUBLIC)["Medborgarplatsen"] == 5


def test_events_give_places_and_data_quality() -> None:
    html = page(events=district_events(), top_places=None, by_precision=None, profile="internal")
    assert (
        "<td>Medborgarplatsen</td>" in html
        and "Södermalm</td>" not in html.split("Platser")[1][:400]
    )
    assert "När händer det?" in html
    assert "Plats (torg, station, område)" in html  # precision from the events in the period


def test_small_categories_hidden_so_none_can_be_worked_out() -> None:
    monthly = pd.DataFrame(
        {
            "month": pd.to_datetime(["2024-01-01"] * 3),
            "category": ["violence", "theft_burglary", "drugs"],
            "count": [30, 8, 2],
        }
    )
    public = page(monthly=monthly)
    rows = dict(re.findall(r'</span>([^<]+)</td><td class="num">([^<]+)</td>', public))
    assert rows["Våld"] == "30" and rows["Stöld och inbrott"] == "8"
    assert rows["Narkotika"] == SUPPRESSED_LABEL and len(rows) == 11
    assert '<td class="num">2</td>' not in public
    # 40 − 30 − 8 = 2 is shared by ten hidden categories: none is pinned
    intervals = audit_ledgers(read_ledgers(public))
    assert not recovered(intervals)
    assert intervals["cat|Södermalm|drugs|period"] == (0.0, 2.0)
    internal = page(monthly=monthly, profile="internal")
    assert '<td class="num">2</td>' in internal


def test_precision_shares_of_small_classes_hidden_in_public() -> None:
    html = page(by_precision=pd.Series({"street": 3, "stadsdel": 97}))
    row = re.search(r"<tr><td>Gata</td>(.*?)</tr>", html).group(1)
    assert SUPPRESSED_LABEL in row and "%" not in row and "bar" not in row


def test_bra_statistics_beside_the_city() -> None:
    bra = pd.DataFrame(
        {
            "category": ["Totalt antal brott", "Våldsbrott"],
            "year": [2024, 2024],
            "district": [25_000.0, 1_500.0],
            "city": [20_000.0, np.nan],
            "unit": ["per 100 000 invånare"] * 2,
            "source": ["Brå, anmälda brott 2024"] * 2,
        }
    )
    html = page(bra=bra)
    assert "Anmälda brott enligt Brå" in html and "Källa: Brå, anmälda brott 2024" in html
    assert f'<td class="num">25{NBSP}000</td>' in html  # per 100 000: whole, as Brå prints
    assert '<td class="num">1,25</td>' in html  # 25 000 / 20 000
    assert "Anmälda brott enligt Brå" not in page()
    with pytest.raises(SchemaError, match="category"):
        page(bra=bra.drop(columns="category"))


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        (
            "Stöld genom inbrott, inbrottsstöld i bostad, ej av skjutvapen (1, 2, 4, 4 a§)",
            "Stöld genom inbrott, inbrottsstöld i bostad, ej av skjutvapen",
        ),
        ("Olaga frihetsberövande (2§) (fr o m 2020)", "Olaga frihetsberövande"),
        ("3-7 kap. Brott mot person", "Brott mot person"),
        ("därav misshandel inkl. grov", "Misshandel inkl. grov"),
        ("Totalt antal brott", "Totalt antal brott"),
    ],
    ids=["paragraphs", "from-year", "chapters", "thereof", "plain"],
)
def test_bra_labels_in_plain_swedish(raw: str, plain: str) -> None:
    from trygghetskarta.render.report_parts import plain_label

    assert plain_label(raw) == plain


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (16482.0, "per 100 000 invånare", f"16{NBSP}482"),
        (167.5068, "per 1 000 invånare", "167,5"),
        (np.nan, "per 100 000 invånare", "–"),
    ],
    ids=["per-100k-whole", "per-1000-decimal-comma", "missing"],
)
def test_rates_print_as_bra_prints_them(value: float, unit: str, text: str) -> None:
    from trygghetskarta.render.report_parts import fmt_rate

    assert fmt_rate(value, unit) == text


def test_bra_source_names_the_tables_sources() -> None:
    ids = ["bra_statistikdatabas", "stockholm_arsbok", "bra_statistikdatabas", None]
    assert report.bra_source(pd.DataFrame({"source": ids})) == (
        "Brå, anmälda brott (statistikdatabasen); "
        "Stockholms stads statistiska årsbok (Brås uppgifter)"
    )
    assert report.bra_source(None) == "Brå, anmälda brott"


def test_hotspot_map_slot() -> None:
    html = page(hotspot_map_html="<html><body>hot</body></html>", hotspot_caption="Gi* 95 %")
    assert "<h2>Hotspots</h2>" in html and "Gi* 95 %" in html
    assert html.count("<iframe") == 1
    assert "<h2>Hotspots</h2>" not in page()


def test_embedded_map_is_made_self_contained() -> None:
    cdn_map = (
        '<html><head><script src="https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js">'
        "</script></head><body></body></html>"
    )
    html = page(map_html=cdn_map)
    srcdoc = html_lib.unescape(re.search(r'srcdoc="([^"]*)"', html).group(1))
    assert "/* leaflet 1.9.4 (vendored) */" in srcdoc
    assert external_references(srcdoc) == []


def test_period_object_counts_only_its_months() -> None:
    html = page(period=Period.months("2024-01", "2024-06"), profile="internal")
    assert "Period: jan 2024 – jun 2024" in html
    # violence 2, theft 3, fire 4 a month for six months
    assert '<tr class="total"><td>Totalt</td><td class="num">54</td>' in html


def _summary_items(html: str) -> list[str]:
    section = re.search(r'<section class="tk-conclusions">(.*?)</section>', html, re.S)
    assert section is not None
    return [
        html_lib.unescape(i).replace(NBSP, " ")
        for i in re.findall(r"<li>(.*?)</li>", section.group(1))
    ]


@pytest.mark.parametrize(
    ("profile", "shooting", "police_count"),
    [("public", "färre än 5 händelser eller dolt", "612"), ("internal", "3 händelser", "612")],
    ids=["public", "internal"],
)
def test_summary_leads_with_reported_crimes_and_follows_the_profile(
    profile: str, shooting: str, police_count: str
) -> None:
    from trygghetskarta.analysis import count_interval

    measures = {
        "Södermalm": [
            render.Measure("Anmälda brott (Brå) 2024", 25000, key="bra", unit="brott"),
            render.Measure(
                "Polisens händelsenotiser",
                612,
                key="police_event",
                previous=570,
                interval=count_interval([560, 600, 580]),
            ),
            render.Measure("Skjutningar", 3, key="shooting", previous=1),
        ]
    }
    categories = {
        "Södermalm": {
            "violence": render.Measure("Våld", 24, key="violence", previous=30),
            "fire": render.Measure("Brand", 36, key="fire"),
        }
    }
    html = page(
        profile=profile, measures=measures, categories=categories, near_repeat=("Knox: inget.",)
    )
    items = _summary_items(html)
    assert items[0].startswith("Anmälda brott (Brå) 2024: 25 000 brott")
    assert items[1].startswith(f"Polisens händelsenotiser: {police_count} händelser")
    assert "inom det normala för årstiden (" in items[1]
    assert items[2].startswith(f"Skjutningar: {shooting}")
    if profile == "public":
        assert "+200 %" not in items[2]  # 1 → 3 would give the small counts away
    assert "Knox: inget." in html and "inte alla brott" in html
