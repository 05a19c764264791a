"""The lägesbild's new parts on tiny data: summary sentences, CSV links, static maps,
heatmap cells, the hotspot section in words, places, the measures of the report step and
the PDF printer's errors."""

from __future__ import annotations

import base64
import csv
import io
import re
from urllib.parse import unquote

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from shapely.geometry import box
from typer.testing import CliRunner

from trygghetskarta import analysis, render
from trygghetskarta.errors import MissingDependencyError
from trygghetskarta.periods import Period
from trygghetskarta.pipeline import lagesbild_measures as measures
from trygghetskarta.pipeline.pdf import find_chromium
from trygghetskarta.render.csv_links import csv_text, file_stem
from trygghetskarta.render.profile import PUBLIC
from trygghetskarta.render.report_parts import (
    hotspot_section,
    hotspot_sentence,
    map_section,
    shown_places,
)

NBSP = "\u00a0"


def plain(text: str) -> str:
    return text.replace(NBSP, " ").replace("\u2212", "-")


# ----------------------------------------------------------------------- summary sentences


@pytest.mark.parametrize(
    ("measure", "expected"),
    [
        (
            render.Measure(
                "Våld",
                27,
                previous=30,
                interval=analysis.count_interval([20, 24, 22]),
                months_above=3,
                months_tested=12,
            ),
            "Våld: 27 händelser, -10 % mot samma dagar året innan (30); inom det normala för "
            "årstiden (12–34, från 3 tidigare år); över det normala i 3 av 12 månader.",
        ),
        (
            render.Measure("Bränder", 40, interval=analysis.count_interval([10, 12])),
            "Bränder: 40 händelser; över det normala för årstiden (4–20, från 2 tidigare år).",
        ),
        (
            render.Measure("Skjutningar", 9, interval=analysis.count_interval([9])),
            "Skjutningar: 9 händelser; för få tidigare år för ett normalintervall (1 tidigare "
            "år, minst 2 behövs).",
        ),
        (
            render.Measure("Skjutningar", None, previous=3),
            "Skjutningar: färre än 5 händelser eller dolt; för få för att säga något om "
            "utvecklingen.",
        ),
        (
            render.Measure(
                "Anmälda brott (Brå) 2025",
                24746,
                unit="anmälda brott per 100 000 invånare",
                previous=23497,
                compared_with="2024",
                interval=analysis.rate_interval([29404, 25641, 27138, 23497]),
                season=False,
                min_years=3,
            ),
            "Anmälda brott (Brå) 2025: 24 746 anmälda brott per 100 000 invånare, +5 % mot 2024 "
            "(23 497); inom det normala jämfört med tidigare år (17 567–35 273, från 4 tidigare "
            "år).",
        ),
        (
            render.Measure("Rån", 6, interval=None, months_below=2, months_tested=12),
            "Rån: 6 händelser; för få tidigare år för ett normalintervall (inget tidigare år, "
            "minst 2 behövs); under det normala i 2 av 12 månader.",
        ),
    ],
    ids=["within-with-months", "above", "too-few-years", "hidden", "bra-rate", "below-months"],
)
def test_measure_sentence(measure: render.Measure, expected: str) -> None:
    assert plain(render.measure_sentence(measure)) == expected


def _knox(ratio: float, p: float, expected: float = 12.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "distance_from": [0.0, 0.0, 0.0],
            "distance_to": [0.0, 250.0, 250.0],
            "time_from": [0.0, 0.0, 7.0],
            "time_to": [7.0, 7.0, 14.0],
            "observed": [3, 20, 9],
            "expected": [2.0, expected, 9.0],
            "ratio": [1.5, ratio, 1.0],
            "p_value": [0.2, p, 0.5],
            "n_events": [5000] * 3,
        }
    )


@pytest.mark.parametrize(
    ("table", "note", "expected"),
    [
        (_knox(1.6, 0.01), None, "1,60 gånger så många som väntat, fler än slumpen förklarar"),
        (_knox(1.05, 0.4), None, "inte fler än slumpen förklarar (Knox-test, p = 0,400)"),
        (_knox(0.0, 1.0, expected=0.05), None, "för få par inom 250 m och 7 dagar"),
        (
            _knox(1.6, 0.01),
            "Beräknat på ett slumpmässigt urval av 5 000 av 9 000 händelser.",
            "urval av 5 000 av 9 000",
        ),
    ],
    ids=["significant", "not-significant", "too-few-pairs", "sampled"],
)
def test_near_repeat_sentence(table: pd.DataFrame, note: str | None, expected: str) -> None:
    text = plain(render.near_repeat_sentence(table, "Polisens händelsenotiser", note))
    assert text.startswith("Upprepade händelser nära varandra (polisens händelsenotiser")
    assert expected in text


def test_near_repeat_sentence_without_rows_is_empty() -> None:
    assert render.near_repeat_sentence(_knox(1, 1).iloc[:0], "Bränder") == ""


# ----------------------------------------------------------------------------------- CSV


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+46 8", "'+46 8"),
        ("-1", "'-1"),
        ("@cmd", "'@cmd"),
        ("Hägersten-Älvsjö", "Hägersten-Älvsjö"),
        ("\u221212 %", "\u221212 %"),
        (None, ""),
    ],
    ids=["equals", "plus", "minus", "at", "text", "unicode-minus", "none"],
)
def test_guard_cell(cell: object, written: str) -> None:
    assert render.guard_cell(cell) == written


def test_csv_round_trips_through_the_data_uri() -> None:
    rows = [["Våld", "35", "23 %"], ['Citat "x"; semikolon', "dolt", "–"], ["=1+1", "5", "1 %"]]
    uri = render.csv_data_uri(["Kategori", "Antal", "Andel"], rows)
    assert uri.startswith("data:text/csv;charset=utf-8,")
    text = unquote(uri.split(",", 1)[1])
    assert text.startswith("\ufeff")
    parsed = list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
    assert parsed == [["Kategori", "Antal", "Andel"], rows[0], rows[1], ["'=1+1", "5", "1 %"]]
    assert csv_text(["a"], [["b"]]) == "\ufeffa\r\nb\r\n"


def test_csv_link_is_escaped_and_hidden_in_print() -> None:
    link = render.csv_link(["x"], [['"><script>alert(1)</script>']], 'a"b.csv')
    assert "<script>" not in link and 'class="tk-csv screen-only"' in link
    assert 'download="a&quot;b.csv"' in link


@pytest.mark.parametrize(
    ("name", "stem"),
    [("Hägersten-Älvsjö", "hagersten-alvsjo"), ("../x", "x"), ("Åå", "aa"), ("§", "omrade")],
    ids=["swedish", "path", "ring", "nothing"],
)
def test_file_stem(name: str, stem: str) -> None:
    assert file_stem(name) == stem


# --------------------------------------------------------------------------- static maps


@pytest.fixture
def tiny_districts() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": ["Söder", "Väster"]},
        geometry=[box(0, 0, 2000, 2000), box(2000, 0, 4000, 2000)],
        crs="EPSG:3006",
    )


def _pixels(uri: str) -> np.ndarray:
    import matplotlib.image as mpimg

    assert uri.startswith("data:image/png;base64,")
    data = base64.b64decode(uri.split(",", 1)[1])
    assert data.startswith(b"\x89PNG")
    return (mpimg.imread(io.BytesIO(data), format="png")[..., :3] * 255).round().astype(int)


def _has_colour(pixels: np.ndarray, hex_colour: str) -> bool:
    rgb = [int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]
    return bool((np.abs(pixels - rgb).sum(axis=2) <= 6).any())


def test_density_png_draws_the_raster(tiny_districts: gpd.GeoDataFrame) -> None:
    values = np.zeros((8, 16))
    values[2:5, 2:5] = 10.0
    uri = render.density_png(
        tiny_districts, "Söder", values, Affine(250, 0, 0, 0, -250, 2000), vmax=10.0
    )
    pixels = _pixels(uri)
    assert pixels.shape[0] > 300 and pixels.shape[1] > 400
    # Purples' darkest (#3f007d) at 85 % over white: the densest cells
    dark = np.array([0x3F, 0x00, 0x7D]) * 0.85 + 255 * 0.15
    assert bool((np.abs(pixels - dark).sum(axis=2) <= 9).any())
    assert not _has_colour(pixels, "#b2182b")  # no hot colour on a density map


@pytest.mark.parametrize(("bins", "red"), [([0, 0], False), ([3, 0], True)], ids=["none", "hot"])
def test_hotspot_png_has_no_hot_colour_without_a_hot_spot(
    tiny_districts: gpd.GeoDataFrame, bins: list[int], red: bool
) -> None:
    cells = gpd.GeoDataFrame(
        {"bin": bins}, geometry=[box(0, 0, 250, 250), box(250, 0, 500, 250)], crs="EPSG:3006"
    )
    pixels = _pixels(render.hotspot_png(tiny_districts, "Söder", cells))
    assert _has_colour(pixels, "#b2182b") is red


def test_static_map_refuses_an_unknown_district(tiny_districts: gpd.GeoDataFrame) -> None:
    with pytest.raises(ValueError, match="expected a district among"):
        render.hotspot_png(tiny_districts, "Norr", None)


# ------------------------------------------------------------------------ heatmap layout


def _hw(total_per_cell: float) -> np.ndarray:
    return np.full((7, 24), total_per_cell)


@pytest.mark.parametrize(
    ("table", "layout"),
    [
        (_hw(2.0), ("veckodag", 3)),  # 6 a three-hour cell: shown
        (_hw(0.5), ("veckodag", 6)),  # 1.5 a 3-hour cell, 3 a 6-hour one: … 6-hour 3 < 5
        (_hw(0.3), ("helg", 6)),
        (_hw(0.05), ("helg", 24)),
    ],
    ids=["three-hours", "six-hours", "weekend-six", "weekend-day"],
)
def test_heatmap_layout_takes_the_finest_readable_cells(
    table: np.ndarray, layout: tuple[str, int]
) -> None:
    rows, step = render.heatmap_layout(table, min_count=5, hour_step=3)
    kind = "veckodag" if len(rows) == 7 else "helg"
    if layout == ("veckodag", 6):
        # 3 events a six-hour weekday cell is below five: the weekdays/weekend rows follow
        assert (kind, step) == ("helg", 6)
    else:
        assert (kind, step) == layout


def test_heatmap_layout_is_the_finest_without_a_minimum() -> None:
    rows, step = render.heatmap_layout(_hw(0.01), min_count=None, hour_step=1)
    assert len(rows) == 7 and step == 1


# ------------------------------------------------------------------ sections of the page


@pytest.mark.parametrize(
    ("bins", "words", "iframe"),
    [
        ({0: 40}, "Ingen ruta i Söder är en statistiskt säkerställd hot spot", False),
        ({0: 30, 3: 2, 1: 1}, "3 rutor är hot spots", True),
        ({0: 30, -2: 1}, "1 ruta är cold spots", True),
    ],
    ids=["nothing-significant", "hot", "cold"],
)
def test_hotspot_section_says_what_is_significant(
    bins: dict[int, int], words: str, iframe: bool
) -> None:
    html = hotspot_section("<html><body>hot</body></html>", "Gi*", bins=bins, district="Söder")
    assert words in html
    assert ("<iframe" in html) is iframe


def test_hotspot_sentence_names_each_confidence() -> None:
    text = hotspot_sentence({3: 2, 1: 1}, "Söder")
    assert "(2 med 99 % säkerhet, 1 med 90 % säkerhet)" in text


def test_map_section_prints_an_image_and_enlarges_in_the_page() -> None:
    html = map_section(
        "Söder", "<html></html>", "../maps/soder.html", image="data:image/png;base64,AA"
    )
    assert '<a class="tk-open" href="#karta">' in html
    assert '<img class="print-only tk-static" src="data:image/png;base64,AA"' in html
    assert "visas inte i utskrift" not in html
    assert "den följer inte med när rapporten skickas ensam" in html
    assert "tk-static" not in map_section("Söder", "<html></html>", None, image="javascript:x")


@pytest.mark.parametrize(
    ("exclude", "listed"),
    [((), ["Södermalm", "Hornstull"]), (("södermalm ",), ["Hornstull"])],
    ids=["as-is", "own-name-dropped"],
)
def test_shown_places_never_lists_the_districts_own_name(
    exclude: tuple[str, ...], listed: list[str]
) -> None:
    places = pd.Series({"Södermalm": 30, "Hornstull": 7, "Slussen": 3})
    assert list(shown_places(places, PUBLIC, exclude=exclude).index) == listed


# ------------------------------------------------------------------- the report step


def _times(stamps: list[str]) -> pd.Series:
    return pd.Series(pd.to_datetime(stamps)).dt.tz_localize("Europe/Stockholm")


def test_event_measure_counts_like_for_like_and_earlier_years() -> None:
    period = Period.months("2025-01", "2025-12")
    stamps = (
        ["2022-03-10"] * 10
        + ["2023-03-10"] * 12
        + ["2024-03-10"] * 11
        + ["2025-03-10"] * 30
        + ["2025-06-01"] * 2
    )
    m = measures.event_measure(
        "Våld", _times(stamps), period.comparison(), period, covered_from=None
    )
    assert (m.value, m.previous) == (32.0, 11.0)
    expected = analysis.count_interval([11, 12, 10])
    assert (m.interval.lower, m.interval.upper) == (expected.lower, expected.upper)
    assert m.interval.position(32) == "över"
    # March 2025 (30 against 11, 12, 10) is above; June's 2 against 0, 0, 0 is within
    # (the upper end of count_interval([0, 0, 0]) is 2); Jan and Feb have two earlier years
    assert (m.months_above, m.months_below, m.months_tested) == (1, 0, 12)


def test_earlier_years_before_the_data_are_left_out() -> None:
    period = Period.months("2025-01", "2025-12")
    times = _times(["2023-05-01", "2024-05-01"])
    covered = pd.Timestamp("2023-03-21", tz="Europe/Stockholm")
    assert measures.earlier_counts(times, period.comparison(), covered) == [1.0]


def test_bra_measure_reads_brås_own_series() -> None:
    rows = [
        (year, rate, "per_100k", "total")
        for year, rate in [(2021, 29404.0), (2022, 25641.0), (2023, 27138.0), (2024, 23497.0)]
    ] + [(2025, 24746.4, "per_100k", "total"), (2025, 235.3, "per_1000", "total")]
    stats = pd.DataFrame(
        {
            "area": "Södermalm",
            "area_scheme": "sdo_11",
            "month": pd.NA,
            "year": [r[0] for r in rows],
            "rate": [r[1] for r in rows],
            "rate_unit": [r[2] for r in rows],
            "category_key": [r[3] for r in rows],
            "suppressed": False,
        }
    )
    m = measures.bra_measure(stats, "Södermalm")
    assert m is not None
    assert (m.label, m.value, m.previous, m.compared_with) == (
        "Anmälda brott (Brå) 2025",
        24746.0,
        23497.0,
        "2024",
    )
    assert m.interval.years == 4 and m.interval.position(24746) == "inom"
    assert measures.bra_measure(stats, "Farsta") is None


# ------------------------------------------------------------------------------- PDF


def test_a_named_chromium_that_is_missing_says_what_to_install() -> None:
    with pytest.raises(MissingDependencyError, match="apt-get install chromium"):
        find_chromium(None, "/nonexistent/chromium")


def test_report_pdf_without_chromium_exits_1_with_one_sentence(tmp_path, monkeypatch) -> None:
    from trygghetskarta.cli import app

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        app, ["report", "--pdf", "--chromium", str(tmp_path / "no-chromium")]
    )
    assert result.exit_code == 1
    message = re.sub(r"\s+", " ", result.output + (result.stderr or ""))
    assert "apt-get install chromium" in message


@pytest.mark.parametrize(
    ("per_cell", "order"),
    [
        (2.0, [(7, 3), (7, 6), (2, 6), (2, 24)]),
        (0.3, [(2, 6), (2, 24), (7, 6), (7, 3)]),
        (0.05, [(2, 24), (2, 6), (7, 6), (7, 3)]),
    ],
    ids=["fine-first", "weekend-then-coarser-then-finer", "coarsest-then-finer"],
)
def test_heatmap_layouts_try_the_choice_then_coarser_then_finer(
    per_cell: float, order: list[tuple[int, int]]
) -> None:
    from trygghetskarta.render.report_heatmap import heatmap_layouts

    layouts = heatmap_layouts(_hw(per_cell), min_count=5, hour_step=3)
    assert [(len(rows), step) for rows, step in layouts] == order
