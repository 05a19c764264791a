"""Source text is data: it never reaches a template engine or a script as code.

Hostile text (``payloads.py``) goes into every text field a map or a lägesbild shows —
district and stadsdel names from boundary files, an event's summary, type, category,
place name and url, titles, sources, Brå's labels — and the pages are built in both
profiles. Each test also carries a quote-free ``{{ … }}`` that would create a marker file
through ``os.system`` if any template engine evaluated it. A page passes when it was built,
the marker file does not exist, nothing evaluated or live shows, every payload is there as
escaped text, and the page still refers to nothing outside itself.
"""

from __future__ import annotations

import html
import json
import re
from datetime import datetime
from pathlib import Path

import folium
import geopandas as gpd
import jinja2
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from payloads import IDS, PAYLOADS, Payload, marker_payload
from trygghetskarta import render
from trygghetskarta.pipeline import publish
from trygghetskarta.render import report
from trygghetskarta.render.basemap import _finish
from trygghetskarta.render.format import esc, js_json
from trygghetskarta.render.profile import INTERNAL, export_profile
from trygghetskarta.render.timeline import WHOLE_PERIOD
from trygghetskarta.render.verbatim import TemplateTextError

INFO = {
    "period": ("2024-01-01", "2024-12-31"),
    "made_at": datetime(2025, 1, 2, 3, 4),
    "n_unplaced": 1,
}
TEMPLATE_SYNTAX = re.compile(r"\{[{%#]")


def js_text(page: str) -> str:
    r"""The page with JSON's ``\uXXXX`` and ``\"`` decoded: what scripts hand to ``innerHTML``."""
    decoded = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), page)
    return decoded.replace('\\"', '"')


def hostile(payload: Payload, marker: Path) -> str:
    """The payload followed by the marker expression."""
    return f"{payload.text} {marker_payload(marker)}"


def districts(name: str) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": ["Norr", name, "Väster"]},
        geometry=[
            box(673_000, 6_580_000, 675_000, 6_582_000),
            box(673_000, 6_578_000, 675_000, 6_580_000),
            box(671_000, 6_578_000, 673_000, 6_582_000),
        ],
        crs="EPSG:3006",
    )


def stadsdelar(name: str) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": [name, "Södra udden"]},
        geometry=[
            box(673_100, 6_578_100, 674_900, 6_579_000),
            box(673_100, 6_579_000, 674_900, 6_579_900),
        ],
        crs="EPSG:3006",
    )


def events(text: str, district: str) -> pd.DataFrame:
    """Events in ``district``, every text field holding ``text``."""
    n = 6
    return pd.DataFrame(
        {
            "x": [674_000.0 + 50 * i for i in range(n)],
            "y": [6_578_500.0 + 40 * i for i in range(n)],
            "occurred_at": pd.to_datetime(
                [f"2024-0{1 + i % 3}-05 13:20" for i in range(n)], utc=True
            ),
            "source_type": text,
            "category": ["violence", text, "fire", "theft_burglary", "violence", "drugs"],
            "summary": text,
            "url": [text, f"https://polisen.se/{text}", text, None, text, text],
            "precision": "street",
            "place_name": text,
            "stadsdelsomrade": district,
            "stadsdel": text,
            "sensitive": False,
        }
    )


def analysis(text: str) -> render.AnalysisLayers:
    """Analysis tables naming a stadsdel and a RegSO by ``text`` (as boundary files may)."""
    shape = [box(673_100, 6_578_100, 674_900, 6_579_900)]
    return render.AnalysisLayers(
        gi_stadsdelar=gpd.GeoDataFrame(
            {"stadsdel": [text], "bin": [2], "count": [7], "events_per_km2": [3.0]},
            geometry=shape,
            crs="EPSG:3006",
        ),
        moran=gpd.GeoDataFrame(
            {"name": [text], "label": ["HH"], "count": [7], "eb_rate_per_1000": [2.5]},
            geometry=shape,
            crs="EPSG:3006",
        ),
        clusters=gpd.GeoDataFrame(
            {"cluster": [1], "n_events": [9], "area_km2": [0.4]}, geometry=shape, crs="EPSG:3006"
        ),
    )


def ours(page: str) -> str:
    """The page without the vendored libraries' code."""
    return re.sub(r"<(script|style)>/\* [^*]+ \(vendored\) \*/.*?</\1>", "", page, flags=re.S)


def check_page(page: str, payload: Payload, text: str, marker: Path) -> None:
    """The common verdict on a built page (see the module's docstring)."""
    assert not marker.exists(), "a template engine evaluated source text"
    assert TEMPLATE_SYNTAX.search(ours(page)) is None, "unescaped template syntax in the page"
    shown = js_text(page)
    for forbidden in payload.forbidden:
        assert forbidden not in shown
    assert esc(text) in shown
    if any(c in payload.text for c in '<>"{}'):
        assert payload.text not in shown
    assert render.external_references(page) == []


def test_the_marker_payload_runs_in_a_plain_template(tmp_path: Path) -> None:
    """The payload is real: Jinja, as branca uses it, runs it (so the tests below can fail)."""
    marker = tmp_path / "marker"
    jinja2.Template(marker_payload(marker)).render()
    assert marker.exists()
    assert not any(c in marker_payload(marker) for c in "'\"<>")


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
def test_esc_leaves_no_template_syntax_and_reads_back(payload: Payload, tmp_path: Path) -> None:
    text = hostile(payload, tmp_path / "marker")
    out = esc(text)
    assert TEMPLATE_SYNTAX.search(out) is None and "<" not in out and '"' not in out
    assert html.unescape(out) == text


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
def test_js_json_leaves_no_template_syntax_and_reads_back(payload: Payload, tmp_path: Path) -> None:
    value = {"a": [hostile(payload, tmp_path / "marker"), 1.5, {"b": payload.text}], "c": {}}
    out = js_json(value)
    assert TEMPLATE_SYNTAX.search(out) is None and "</" not in out
    assert json.loads(out) == value


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
@pytest.mark.parametrize("profile", ["public", "internal"])
@pytest.mark.parametrize("kind", ["city", "district"])
def test_maps_show_hostile_text_as_text(
    payload: Payload, profile: str, kind: str, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    text = hostile(payload, marker)
    scene = render.MapScene(
        districts(text),
        period=INFO["period"],
        made_at=INFO["made_at"],
        profile=export_profile(profile),
        sources=[text],
        stadsdelar=stadsdelar(text),
        events=events(text, text),
        tiles="OpenStreetMap",
        analysis=analysis(text),
        rates=pd.Series({text: 2.0, "Norr": 1.0, "Väster": 3.0}),
    )
    per_map = {"title": text, "n_unplaced": INFO["n_unplaced"]}
    if kind == "city":
        m = render.city_map(scene, **per_map)
    else:
        m = render.district_map(scene, text, **per_map)
    page = render.to_html(m)
    check_page(page, payload, text, marker)
    if profile == "internal":  # the popups: summary, type, category, place, no live link
        assert 'href="https://polisen.se/' in js_text(page)
        assert js_text(page).count(f"<p>{esc(text)}</p>") >= 1
    else:
        assert f"<p>{esc(text)}</p>" not in js_text(page)


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
@pytest.mark.parametrize("profile", ["public", "internal"])
def test_lagesbild_shows_hostile_text_as_text(
    payload: Payload, profile: str, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    text = hostile(payload, marker)
    mine = events(text, text)
    maps = render.MapScene(
        districts(text),
        period=INFO["period"],
        made_at=INFO["made_at"],
        profile=export_profile(profile),
        sources=[text],
        stadsdelar=stadsdelar(text),
        events=mine,
    )
    map_html = render.to_html(render.district_map(maps, text, n_unplaced=INFO["n_unplaced"]))
    bra = pd.DataFrame(
        {
            "category": [text],
            "year": [2024],
            "district": [10.0],
            "city": [8.0],
            "unit": [text],
            "source": [text],
        }
    )
    monthly = pd.DataFrame(
        {"month": pd.date_range("2024-01-01", periods=12, freq="MS"), "category": text, "count": 7}
    )
    scene = report.ReportScene(
        period=INFO["period"],
        made_at=INFO["made_at"],
        sources=[text],
        profile=export_profile(profile),
        monthly=monthly,
        summaries={
            text: {"count": 84, "count_last_year": 70, "rate_per_1000": 2.0, "population": 4000}
        },
        city_summary={"rate_per_1000": 1.5},
        events=mine,
        bra={text: bra},
        hotspot_caption=text,
    )
    page = report.lagesbild_html(
        scene, text, map_html=map_html, hotspot_map_html=map_html, map_link=text, title=text
    )
    assert not marker.exists()
    for forbidden in payload.forbidden:
        assert forbidden not in page
    assert esc(text) in page
    assert "<script" not in page and 'href="javascript:' not in page
    frames = re.findall(r'srcdoc="([^"]*)"', page)
    assert len(frames) == 2
    check_page(html.unescape(frames[0]), payload, text, marker)


def _geojson(m: folium.Map, text: str) -> None:
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [18.06, 59.33]},
        "properties": {"tip": text},
    }
    folium.GeoJson(
        {"type": "FeatureCollection", "features": [feature]},
        tooltip=folium.GeoJsonTooltip(fields=["tip"]),
    ).add_to(m)


@pytest.mark.parametrize(
    ("add", "where"),
    [
        (lambda m, t: folium.Marker([59.33, 18.06], tooltip=t).add_to(m), r"Tooltip\.text"),
        (lambda m, t: folium.Marker([59.33, 18.06], popup=t).add_to(m), r"Html\.data"),
        (_geojson, r"GeoJson\.data"),
        (
            lambda m, t: folium.Marker([59.33, 18.06], icon=folium.DivIcon(html=t)).add_to(m),
            r"DivIcon\.options",
        ),
    ],
    ids=["tooltip", "popup", "geojson_property", "div_icon"],
)
def test_a_folium_element_holding_template_text_is_refused(add, where: str, tmp_path: Path) -> None:
    """The safeguard: text that skipped ``esc`` stops the page before branca runs it."""
    marker = tmp_path / "marker"
    m = render.base_map((671_000, 6_578_000, 675_000, 6_582_000))
    add(m, marker_payload(marker))
    with pytest.raises(TemplateTextError, match=rf"expected no template syntax .* {where}"):
        render.to_html(m)
    assert not marker.exists()


def test_layer_names_are_text(tmp_path: Path) -> None:
    """Leaflet writes layer names with innerHTML; a name from a boundary file is escaped."""
    name = '<img src=x onerror="alert(1)"> {{ 7*7 }}'
    m = render.base_map((671_000, 6_578_000, 675_000, 6_582_000))
    render.add_districts(m, districts(name), name=name)
    page = js_text(_finish(m).get_root().render())
    assert "<img src=x" not in page and "{{ 7*7 }}" not in page
    assert f'"{esc(name)}"' in page


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        (
            '<script>var d = {"s": "url(https://x/a.png) @import url(https://x/b.css);"};</script>',
            [],
        ),
        ("<p>url(https://x/a.png) @import &quot;https://x/b.css&quot;</p>", []),
        ('<div style="background: url(https://x/a.png)">x</div>', ["https://x/a.png"]),
        ('<style>@import "https://x/b.css";</style>', ["https://x/b.css"]),
    ],
    ids=["script_data", "escaped_text", "style_attribute", "style_block"],
)
def test_only_real_css_is_scanned_for_references(page: str, expected: list[str]) -> None:
    assert render.external_references(page) == expected


@pytest.mark.parametrize(
    "text", ["L.AwesomeMarkers.icon", "fa-rocket glyphicon-star"], ids=["code_name", "class_names"]
)
def test_text_naming_awesome_markers_is_not_taken_for_the_plugin(text: str) -> None:
    m = render.base_map((671_000, 6_578_000, 675_000, 6_582_000))
    ev = events(text, "Norr").assign(x=np.linspace(673_500, 674_500, 6))
    page = render.to_html(render.add_events(m, ev))
    assert esc(text) in js_text(page)


@pytest.mark.realdata
def test_cli_messages_show_source_text_as_text(shared_data: Path, tmp_path: Path) -> None:
    """A column name from a delivered list is printed as written, not read as rich markup
    (``[/]`` used to crash the summary with a MarkupError traceback)."""
    from typer.testing import CliRunner

    from trygghetskarta.cli import app

    listed = tmp_path / "brott.csv"
    listed.write_text(
        "Diarienummer;[/]Brottsdag[bold];Brottsbenämning;X;Y\n"
        "A-1;2025-01-01;Misshandel;674345;6581101\n",
        encoding="utf-8",
    )
    env = {"TRYGGHETSKARTA_DATA": str(shared_data), "TRYGGHETSKARTA_PROCESSED": str(tmp_path)}
    result = CliRunner().invoke(app, ["ingest", "brott", str(listed)], env=env)
    assert result.exit_code == 1
    assert "[/]Brottsdag[bold]" in result.output
    assert "[sources.brott.columns]" in result.output  # the fix it names, whole
    assert "MarkupError" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "etc-passwd"),
        ("/tmp/x", "tmp-x"),
        ("{{ 7*7 }}", "7-7"),
        ("..", "omrade"),
        ("Hägersten-Älvsjö", "hagersten-alvsjo"),
    ],
    ids=["traversal", "absolute", "template", "nothing_left", "real_name"],
)
def test_a_district_name_is_never_a_path(name: str, expected: str) -> None:
    assert publish.slug(name) == expected


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
def test_a_free_text_period_is_a_plain_slider_label(payload: Payload, tmp_path: Path) -> None:
    """The slider shows its labels with ``textContent``: the period's text goes in as JSON."""
    marker = tmp_path / "marker"
    text = hostile(payload, marker)
    m = render.city_map(
        render.MapScene(
            districts("Söder"),
            period=text,
            sources=["Polisen"],
            made_at=INFO["made_at"],
            events=events("x", "Söder"),
            profile=INTERNAL,
        )
    )
    page = render.to_html(m)
    assert not marker.exists()
    assert js_json(f"{WHOLE_PERIOD} ({text})") in page  # the label, as data
    assert f"Period: {esc(text)}" in page  # the info box, as HTML text
    assert TEMPLATE_SYNTAX.search(ours(page)) is None
