"""Every source layer on the maps: density, hot spots and counts per area for police
notices, reported crimes, shootings and fires, with one colour scale per measure across
the city and district maps, radio groups, one legend panel, popups with links, the
public profile's rules for every layer, and the index page."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from datetime import datetime

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from shapely.geometry import box

from trygghetskarta import render
from trygghetskarta.errors import ConfigError
from trygghetskarta.render.basemap import GROUP_ATTR
from trygghetskarta.render.format import SUPPRESSED_LABEL
from trygghetskarta.render.legend import link_html
from trygghetskarta.render.profile import export_profile
from trygghetskarta.render.timeline import _spoken

INFO = {
    "period": ("2024-01-01", "2024-12-31"),
    "sources": ["Polisen", "Stockholms stad"],
    "made_at": datetime(2025, 1, 2, 3, 4),
}


@dataclass
class Grid:
    values: np.ndarray
    transform: Affine
    crs: str = "EPSG:3006"
    params: dict = field(default_factory=lambda: {"sensitive": "excluded"})


@pytest.fixture
def stadsdelar() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": ["Norra delen", "Södra delen", "Annat"]},
        geometry=[
            box(673_000, 6_581_000, 675_000, 6_582_000),
            box(673_000, 6_580_000, 675_000, 6_581_000),
            box(671_000, 6_578_000, 673_000, 6_582_000),
        ],
        crs="EPSG:3006",
    )


def events(n: int, district: str, stadsdel: str, *, sensitive: int = 0, month: int = 3):
    """``n`` events in one district and stadsdel in one month; the first ``sensitive``
    are sensitive."""
    return pd.DataFrame(
        {
            "occurred_at": pd.to_datetime([f"2024-{month:02d}-15 12:00"] * n).tz_localize(
                "Europe/Stockholm"
            ),
            "stadsdelsomrade": district,
            "stadsdel": stadsdel,
            "sensitive": [i < sensitive for i in range(n)],
            "x": 674_000.0,
            "y": 6_581_500.0,
            "category": "violence",
            "summary": "text",
        }
    )


def grid(hot: float, cold: float) -> Grid:
    """100 m cells over the three districts: ``hot`` in Väster, ``cold`` in Norr."""
    values = np.zeros((40, 40))
    values[5:10, 2:8] = hot  # Väster (x 671 200–671 800)
    values[5:10, 25:35] = cold  # Norr (x 673 500–674 500, y 6 581 000–6 581 500)
    return Grid(values, Affine(100.0, 0, 671_000, 0, -100.0, 6_582_000))


def gi_cells(size: float) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"bin": [3], "count": [40], "z": [3.2]},
        geometry=[box(673_500, 6_581_000, 673_500 + size, 6_581_000 + size)],
        crs="EPSG:3006",
    )


def layers(**kw) -> list[render.MapLayer]:
    police = pd.concat(
        [events(40, "Norr", "Norra delen"), events(30, "Söder", "Annat", month=5)],
        ignore_index=True,
    )
    crimes = pd.concat(
        [
            events(50, "Norr", "Norra delen", sensitive=6),
            events(20, "Norr", "Södra delen"),
            events(9, "Söder", "Annat"),
        ],
        ignore_index=True,
    )
    shootings = events(3, "Norr", "Norra delen")  # below five everywhere
    gi = render.AnalysisLayers(gi_cells=gi_cells(kw.get("cell", 250.0)))
    return [
        render.MapLayer(
            "reported_crime",
            render.map_label("reported_crime"),
            crimes,
            grid=grid(90.0, 30.0),
            analysis=gi,
        ),
        render.MapLayer(
            "police_event", render.map_label("police_event"), police, grid(10.0, 4.0), None, gi
        ),
        render.MapLayer("shooting", render.map_label("shooting"), shootings, None, None, gi),
    ]


def scene(districts, stadsdelar, profile="public", **kw) -> render.MapScene:
    return render.MapScene(
        districts=districts,
        stadsdelar=stadsdelar,
        profile=export_profile(profile),
        layers=layers(**kw),
        links={
            d: {"map": f"{s}.html", "report": f"../reports/{s}.html"}
            for d, s in (("Norr", "norr"), ("Söder", "soder"), ("Väster", "vaster"))
        },
        city_link="stockholm.html",
        index_link="../index.html",
        **INFO,
        **{k: v for k, v in kw.items() if k in ("max_markers",)},
    )


def named(m: folium.Map) -> dict[str, folium.map.Layer]:
    return {c.layer_name: c for c in m._children.values() if isinstance(c, folium.map.Layer)}


def html_of(m: folium.Map) -> str:
    """The page with JSON ``\\uXXXX`` escapes decoded: what scripts hand to ``innerHTML``."""
    html = render.to_html(m)
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda g: chr(int(g.group(1), 16)), html)


LABELS = ["Anmälda brott", "Polisens händelsenotiser", "Skjutningar"]


@pytest.mark.parametrize("kind", ["city", "district"])
def test_every_source_layer_has_its_density_hotspot_and_count_layers(
    districts, stadsdelar, kind
) -> None:
    sc = scene(districts, stadsdelar)
    m = render.city_map(sc) if kind == "city" else render.district_map(sc, "Norr")
    found = named(m)
    district = kind == "district"
    for label in LABELS:
        assert render.hotspot_name(label) in found
        assert render.count_fill_name(label, district=district) in found
        assert render.count_labels_name(label, district=district) in found
    for label in LABELS[:2]:  # the layers with a raster
        assert render.density_name(label) in found
    assert render.density_name("Skjutningar") not in found
    # Colour layers and count labels are two groups; one of each is on at start.
    groups: dict[str, list[folium.map.Layer]] = {}
    for layer in found.values():
        groups.setdefault(getattr(layer, GROUP_ATTR, None), []).append(layer)
    shown = {g: [x.layer_name for x in ls if x.show] for g, ls in groups.items() if g}
    assert shown == {
        "area": [render.density_name("Anmälda brott")],
        "labels": [render.count_labels_name("Anmälda brott", district=district)],
    }
    assert "Ingen färg" in found and "Inga siffror" in found
    html = html_of(m)
    assert "role', 'radiogroup'" in html or "radiogroup" in html
    assert "TK.exclusive" in html


def _density_top(html: str, label: str) -> str:
    """The top of a density legend (the ramp's right end) of the layer ``label``."""
    start = html.index(f"{label} per km²")
    return re.search(r'class=\\?"tk-top\\?">([^<]+)<', html[start:]).group(1)


def test_a_district_map_zooms_and_never_recolours(districts, stadsdelar) -> None:
    sc = scene(districts, stadsdelar)
    city = html_of(render.city_map(sc))
    norr = html_of(render.district_map(sc, "Norr"))
    for label in LABELS[:2]:
        assert _density_top(city, label) == _density_top(norr, label)
    # The city's top lies in Väster (90 per km²); Norr alone would top out at 30.
    assert _density_top(norr, "Anmälda brott") == "90"
    assert "Samma färgskala på stadskartan" in norr


@pytest.mark.parametrize("kind", ["city", "district"])
def test_public_rules_hold_for_every_layer(districts, stadsdelar, kind) -> None:
    sc = scene(districts, stadsdelar, cell=100.0)
    m = render.city_map(sc) if kind == "city" else render.district_map(sc, "Norr")
    found = named(m)
    html = html_of(m)
    # Gi* cells under 200 m: left out for every layer, not only the police's.
    for label in LABELS:
        assert render.hotspot_name(label) not in found
    # No points of any layer in public.
    assert not any(name.startswith("Enskilda händelser") for name in found)
    assert "L.markerClusterGroup" not in html
    # Three shootings: "dolt" wherever they are counted, in the hover and popup figures too.
    ledgers = render.read_ledgers(html)
    shooting = [d for d in ledgers if any(k.startswith("sdo|shooting/") for k in d.shown)]
    assert shooting, "the shooting counts are in the ledger under their own names"
    for d in shooting:
        assert all(v is None or v >= 5 for k, v in d.shown.items() if "|shooting/" in k)
    assert f"Skjutningar</td><td class='tk-num'>{SUPPRESSED_LABEL}" in html
    assert "Skjutningar</td><td class='tk-num'>3" not in html
    assert render.recovered(render.audit_ledgers(ledgers)) == []


def test_sensitive_reported_crimes_count_only_per_district(districts, stadsdelar) -> None:
    m = render.district_map(scene(districts, stadsdelar), "Norr")
    html = html_of(m)
    assert "räknas bara för hela stadsdelsområdet" in html
    ledgers = render.read_ledgers(html)
    cells = {k: v for d in ledgers for k, v in d.shown.items()}
    # 50 crimes in Norra delen of which 6 sensitive: the stadsdel shows 44, never 50.
    assert cells["sd|reported_crime/Norra delen|hela"] == 44
    assert cells["sdo|reported_crime/Norr|hela"] == 70
    internal = render.district_map(scene(districts, stadsdelar, "internal"), "Norr")
    assert "Anmälda brott</td><td class='tk-num'>50" in html_of(internal)


def test_areas_answer_hover_and_click_with_figures_and_links(districts, stadsdelar) -> None:
    city = html_of(render.city_map(scene(districts, stadsdelar)))
    assert "Karta över Norr" in city and 'href=\\"norr.html\\"' in city
    assert "../reports/norr.html" in city and "Lägesbild för Norr" in city
    assert "Anmälda brott</td><td class='tk-num'>70" in city  # Norr: 50 + 20
    assert "../index.html" in city and "Alla kartor och lägesbilder" in city
    norr = html_of(render.district_map(scene(districts, stadsdelar), "Norr"))
    assert "Stadskartan (hela Stockholm)" in norr and "stockholm.html" in norr
    assert "<title>Norr – händelser, 2024-01-01 – 2024-12-31</title>" in norr
    assert '<html lang="sv">' in norr


@pytest.mark.parametrize(
    "href",
    [
        "javascript:alert(1)",
        "https://example.org/x.html",
        "../../etc/passwd.html",
        "a/../../x.html",
        "//host/x.html",
        "x.html?<script>",
        "Ä.html",
    ],
    ids=[
        "javascript",
        "absolute",
        "two-up",
        "dotdot-inside",
        "protocol-relative",
        "query",
        "non-ascii",
    ],
)
def test_links_stay_inside_the_published_folder(href: str) -> None:
    with pytest.raises(ConfigError, match="relative link"):
        link_html("x", href)


def test_link_text_is_escaped() -> None:
    assert link_html("<b>Å</b>", "../reports/x.html") == (
        '<a href="../reports/x.html">&lt;b&gt;Å&lt;/b&gt;</a>'
    )


def test_internal_markers_stop_at_the_cap_and_say_so(districts, stadsdelar) -> None:
    m = render.city_map(scene(districts, stadsdelar, "internal", max_markers=75))
    found = named(m)
    assert "Enskilda händelser – Polisens händelsenotiser" in found  # 70 events, under the cap
    html = html_of(m)
    assert "Anmälda brott: 79 händelser är fler än 75 och visas inte som punkter." in html.replace(
        "\u00a0", " "
    )


@pytest.mark.parametrize(
    ("month", "text", "note", "spoken"),
    [
        ("2025-03-01", "mar 2025", None, "mars 2025"),
        ("2026-08-01", "1–22 aug 2026", None, "augusti 2026 (1–22 aug 2026)"),
        ("2026-03-01", "mar 2026", "data saknas 3–9 mars", "mars 2026 – data saknas 3–9 mars"),
    ],
    ids=["whole-month", "cut-month", "gap"],
)
def test_slider_value_text_names_the_month(month, text, note, spoken) -> None:
    assert _spoken(pd.Timestamp(month), text, note) == spoken


def test_index_lists_maps_and_reports_with_their_period() -> None:
    page = render.index_html(
        [
            render.IndexEntry("Hela Stockholm", "jan 2025 – dec 2025", "maps/stockholm.html"),
            render.IndexEntry(
                "Järva <script>", "jan 2025 – dec 2025", "maps/jarva.html", "reports/jarva.html"
            ),
            render.IndexEntry("Södermalm", "jan 2025 – dec 2025", "maps/sodermalm.html", None),
        ],
        title="Kartor och lägesbilder",
        made_at=datetime(2026, 1, 2, 3, 4),
    )
    assert page.startswith('<!DOCTYPE html>\n<html lang="sv">')
    assert "<title>Kartor och lägesbilder</title>" in page
    assert page.count("jan 2025 – dec 2025") == 3
    assert '<a href="reports/jarva.html">Lägesbild: Järva &lt;script&gt;</a>' in page
    assert "Lägesbild saknas" in page
    assert "<script" not in page and render.external_references(page) == []


def test_public_map_size_does_not_grow_with_the_events(districts, stadsdelar) -> None:
    # No per-event data in a public file: 100 times the events, the same page but for digits.
    def page(n: int) -> int:
        rng = np.random.default_rng(3)
        crimes = events(n, "Norr", "Norra delen").assign(
            occurred_at=pd.to_datetime(
                [f"2024-{m:02d}-10 12:00" for m in rng.integers(1, 13, n)]
            ).tz_localize("Europe/Stockholm")
        )
        layer = render.MapLayer("reported_crime", "Anmälda brott", crimes, grid(90.0, 30.0))
        sc = render.MapScene(
            districts=districts,
            stadsdelar=stadsdelar,
            profile=export_profile("public"),
            layers=[layer],
            **INFO,
        )
        return len(render.to_html(render.city_map(sc)))

    small, large = page(200), page(20_000)
    assert large / small < 1.01


@pytest.mark.parametrize("kind", ["city", "district"])
def test_categories_per_area_are_suppressed_with_their_total(districts, stadsdelar, kind):
    # Norr: 40 violence and 3 robbery reported crimes (in Norra delen), no theft. The three
    # robberies are "dolt", and whatever else it takes so that no reader can work them out
    # from the area's count shown beside them (the auditor of render.disclosure decides).
    crimes = pd.concat(
        [
            events(40, "Norr", "Norra delen"),
            events(3, "Norr", "Norra delen").assign(category="robbery"),
            events(30, "Söder", "Annat").assign(category="theft_burglary"),
        ],
        ignore_index=True,
    )
    layer = render.MapLayer("reported_crime", "Anmälda brott", crimes, grid(90.0, 30.0))
    sc = render.MapScene(
        districts=districts,
        stadsdelar=stadsdelar,
        profile=export_profile("public"),
        layers=[layer],
        **INFO,
    )
    m = render.city_map(sc) if kind == "city" else render.district_map(sc, "Norr")
    html = html_of(m)
    ledgers = render.read_ledgers(html)
    cells = {k: v for d in ledgers for k, v in d.shown.items()}
    area = "Norr" if kind == "city" else "Norra delen"
    level = "sdo" if kind == "city" else "sd"
    assert cells[f"{level}|reported_crime/{area}|hela"] in (43, None)
    assert cells[f"mapcat|{level}|reported_crime/{area}|robbery"] is None
    assert (
        cells.get(f"mapcat|{level}|reported_crime/{area}|theft_burglary") is None
    )  # zero or absent
    assert cells[f"mapcat|{level}|reported_crime/{area}|violence"] in (40, None)
    assert render.recovered(render.audit_ledgers(ledgers)) == []
    total = cells[f"{level}|reported_crime/{area}|hela"]
    assert f"<summary>Anmälda brott: {total or 'dolt'}</summary>" in html
    assert "<td>Rån</td><td class='tk-num'>dolt</td>" in html
    internal = render.city_map(dataclasses.replace(sc, profile=export_profile("internal")))
    assert "<td>Rån</td><td class='tk-num'>3</td>" in html_of(internal)


def test_the_lagesbild_hotspot_map_is_the_district_map_copied_with_hotspots_on(
    districts, stadsdelar
) -> None:
    from trygghetskarta.pipeline import publish

    def page(m: folium.Map) -> str:  # element ids differ between two builds
        return re.sub(r"_[0-9a-f]{32}", "_id", render.to_html(m))

    sc = scene(districts, stadsdelar)
    base = publish.district_map(sc, "Norr")
    copied = publish.hotspot_map(sc, "Norr", base=base)
    built = publish.hotspot_map(sc, "Norr")
    assert copied is not None and built is not None
    name = render.hotspot_name(LABELS[0])
    assert named(copied)[name].show and not named(base)[name].show
    assert page(copied) == page(built)
    assert page(base) == page(publish.district_map(sc, "Norr"))


def test_a_map_shown_inside_a_page_folds_its_controls_and_keeps_their_content(
    districts, stadsdelar
) -> None:
    sc = scene(districts, stadsdelar)
    plain = html_of(render.district_map(sc, "Norr"))
    m = render.district_map(sc, "Norr")
    assert render.fold_controls(m)
    folded = html_of(m)
    assert '"collapsed": true' in folded and '"collapsed": false' in plain
    summary = "<details><summary>Om kartan</summary>"
    assert summary not in plain
    # the info box (its HTML in a script string) starts inside the fold
    title = '<div class=\\"tk-title\\">Norr'
    assert title in plain
    assert summary + title in folded
