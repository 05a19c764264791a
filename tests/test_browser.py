"""The maps and the lägesbild in a real browser: Debian's Chromium, headless, network blocked.

Each page is loaded from a file with every request that is not the file itself aborted and
recorded. A page passes when nothing left the file, the console shows no error, the layer
control lists the layers, the legends and the month slider are visible, moving the slider
changes what is drawn, and text injected into event summaries and place names never ran.
A screenshot of each page goes to ``data/processed/screenshots/``.

The browser is never downloaded: Playwright drives ``/usr/bin/chromium`` (Debian package
``chromium``; ``.ci/run`` installs it). Without it these tests skip, loudly.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from playwright.sync_api import Browser, Page, sync_playwright
from shapely.geometry import box

from payloads import PAYLOADS as HOSTILE
from payloads import marker_payload
from trygghetskarta import render, store
from trygghetskarta.pipeline import publish
from trygghetskarta.render.profile import INTERNAL, PUBLIC, export_profile
from trygghetskarta.render.report import ReportScene, lagesbild_html

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
SCREENSHOTS = REPO / "data" / "processed" / "screenshots"
CHROMIUM = os.environ.get("TRYGGHETSKARTA_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
PWNED = "window.__tk_pwned"
PAYLOADS = [
    "<script>window.__tk_pwned = 1</script>",
    '"><img src=x onerror="window.__tk_pwned = 2">',
    "`${window.__tk_pwned = 3}`",
    "</script><script>window.__tk_pwned = 4</script>",
]
HOSTILE_IDS = [p.id for p in HOSTILE]
INFO = {
    "period": ("2024-01-01", "2024-12-31"),
    "sources": ["Polisen", "Stockholms stad"],
    "made_at": datetime(2025, 1, 2, 3, 4),
    "n_unplaced": 2,
}


def _chromium() -> str:
    path = shutil.which(CHROMIUM) or (CHROMIUM if Path(CHROMIUM).is_file() else None)
    if path is None:
        pytest.skip(
            f"BROWSER TESTS SKIPPED: no Chromium at {CHROMIUM} — install Debian's package "
            "(apt-get install -y chromium) or set TRYGGHETSKARTA_CHROMIUM; nothing is downloaded"
        )
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """A headless Chromium; Playwright gives each launch a fresh temporary profile directory."""
    executable = _chromium()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, headless=True, args=FLAGS)
        yield b
        b.close()


@dataclass
class Loaded:
    """A page loaded from a file, with what it tried to fetch and what it logged."""

    page: Page
    url: str
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def outside_requests(self) -> list[str]:
        return [r for r in self.requests if r != self.url and not r.startswith("data:")]


@pytest.fixture
def load(browser: Browser) -> Iterator:
    """``load(path)`` opens a file with the network blocked; pages close after the test."""
    contexts = []

    def _load(path: Path, *, width: int = 1280, height: int = 860) -> Loaded:
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        loaded = Loaded(page=page, url=path.resolve().as_uri())

        def route(r) -> None:
            loaded.requests.append(r.request.url)
            if r.request.url == loaded.url:
                r.continue_()
            else:
                r.abort()

        context.route("**/*", route)
        page.on("console", lambda m: loaded.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: loaded.errors.append(str(e)))
        page.goto(loaded.url, wait_until="load")
        page.wait_for_timeout(300)
        return loaded

    yield _load
    for context in contexts:
        context.close()


# --------------------------------------------------------------------------- checks


def layer_names(frame) -> list[str]:
    return [
        t.strip() for t in frame.locator(".leaflet-control-layers-overlays label").all_inner_texts()
    ]


def count_labels(frame) -> list[str]:
    return frame.locator(".tk-count").all_inner_texts()


def step_slider(frame, steps: int) -> str:
    """Press the slider's next button ``steps`` times, as a user would; the month shown."""
    for _ in range(steps):
        frame.locator(".tk-slider .tk-step").nth(1).click()
    return frame.locator(".tk-slider-value").inner_text()


def assert_clean(loaded: Loaded) -> None:
    assert loaded.outside_requests() == [], "the page fetched something outside the file"
    assert loaded.errors == [], "the console shows errors"
    assert loaded.page.evaluate(PWNED) is None, "injected text ran as script"
    for frame in loaded.page.frames:
        assert frame.evaluate(PWNED) is None, f"injected text ran in {frame.url}"
        assert frame.locator('img[src="x"]').count() == 0


POLICE = render.map_label("police_event")
ANALYSIS_LAYERS = {
    f"Hot spots och cold spots (Gi*, 250 m-rutor) – {POLICE}": "Hot spot 99 %",
    f"Framväxande hot spots (trend över månader) – {POLICE}": "Framväxande hot spots",
    f"Hot spots per stadsdel (Gi*) – {POLICE}": "Gi* per stadsdel",
    f"Lokala kluster per RegSO (Moran, händelser per 1 000 inv.) – {POLICE}": (
        "Lokala kluster (Moran)"
    ),
}
CLUSTER_LAYER = (f"Täta kluster av händelser (HDBSCAN, intern) – {POLICE}", "Kluster (HDBSCAN)")
#: The radio button that switches every colour layer off.
NO_COLOUR = "Ingen färg"
#: A district map's density and count layers of the police notices.
DISTRICT_LAYERS = [
    render.density_name(POLICE),
    render.count_labels_name(POLICE, district=True),
    render.count_fill_name(POLICE, district=True),
]


def assert_analysis_layers(frame, profile: str) -> None:
    """The analysis layers are listed, off at start, and show their legend when chosen (they
    are radio buttons of the colour group: "Ingen färg" switches them off)."""
    layers = dict(ANALYSIS_LAYERS)
    if profile == "internal":
        layers[CLUSTER_LAYER[0]] = CLUSTER_LAYER[1]
    else:
        assert CLUSTER_LAYER[0] not in layer_names(frame)
    names = layer_names(frame)
    boxes = frame.locator(".tk-box")
    for layer, legend in layers.items():
        assert layer in names, f"{layer!r} not in the layer control {names}"
        assert boxes.filter(has_text=legend).count() == 0, f"{legend!r} shown at start"
        frame.get_by_text(layer, exact=True).click()
        assert boxes.filter(has_text=legend).first.is_visible(), f"legend {legend!r}"
        frame.get_by_text(NO_COLOUR, exact=True).click()
        assert boxes.filter(has_text=legend).count() == 0


def assert_map_works(frame, layers: list[str], legends: list[str]) -> None:
    """Layer control, legends, slider, and a slider move that changes what is drawn."""
    names = layer_names(frame)
    for layer in layers:
        assert layer in names, f"{layer!r} not in the layer control {names}"
    boxes = frame.locator(".tk-box")
    for legend in legends:
        assert boxes.filter(has_text=legend).first.is_visible(), f"legend {legend!r}"
    slider = frame.locator(".tk-slider")
    assert slider.is_visible()
    assert frame.locator(".tk-slider-value").inner_text().startswith("Hela perioden")
    before_labels = count_labels(frame)
    before_pixels = frame.locator(".leaflet-container").screenshot()
    shown = step_slider(frame, 3)
    assert shown != "" and not shown.startswith("Hela perioden")
    after_labels = count_labels(frame)
    after_pixels = frame.locator(".leaflet-container").screenshot()
    assert after_labels != before_labels, "the count labels did not follow the slider"
    assert after_pixels != before_pixels, "nothing drawn changed with the slider"


def screenshot(page: Page, name: str, *, full_page: bool = False) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


# --------------------------------------------------------------------------- hand-made maps


@dataclass
class Grid:
    values: np.ndarray
    transform: Affine
    crs: str = "EPSG:3006"
    params: dict = field(default_factory=lambda: {"sensitive": "excluded"})


@pytest.fixture
def small_city(districts) -> dict:
    """Three districts (conftest's) and four stadsdelar around Sergels torg, a grid, and
    60 events."""
    stadsdelar = gpd.GeoDataFrame(
        {"name": ["Norra delen", "Södra delen", "Mitten", "Annat"]},
        geometry=[
            box(673_000, 6_581_000, 675_000, 6_582_000),
            box(673_000, 6_580_000, 674_000, 6_581_000),
            box(674_000, 6_580_000, 675_000, 6_581_000),
            box(671_000, 6_578_000, 673_000, 6_582_000),
        ],
        crs="EPSG:3006",
    )
    rng = np.random.default_rng(7)
    n = 60
    months = rng.integers(1, 13, n)
    xs = rng.uniform(673_100, 674_900, n)
    ys = rng.uniform(6_580_100, 6_581_900, n)
    events = pd.DataFrame(
        {
            "occurred_at": pd.to_datetime(
                [
                    f"2024-{m:02d}-{d:02d} {h:02d}:15"
                    for m, d, h in zip(
                        months, rng.integers(1, 28, n), rng.integers(0, 24, n), strict=True
                    )
                ]
            ).tz_localize("Europe/Stockholm"),
            "x": xs,
            "y": ys,
            "stadsdelsomrade": "Norr",
            "stadsdel": np.where(
                ys > 6_581_000, "Norra delen", np.where(xs < 674_000, "Södra delen", "Mitten")
            ),
            "category": rng.choice(["violence", "theft_burglary", "traffic"], n),
            "source_type": "Misshandel",
            "summary": [PAYLOADS[i % len(PAYLOADS)] for i in range(n)],
            "place_name": [PAYLOADS[(i + 1) % len(PAYLOADS)] for i in range(n)],
            "url": ["javascript:window.__tk_pwned = 5"] * (n // 2)
            + ["https://polisen.se/x"] * (n - n // 2),
            "precision": "place",
            "sensitive": [i % 10 == 0 for i in range(n)],
        }
    )
    values = np.zeros((40, 40))
    values[8:16, 20:32] = 40.0
    grid = Grid(values, Affine(100.0, 0, 671_000, 0, -100.0, 6_582_000))
    return {"districts": districts, "stadsdelar": stadsdelar, "events": events, "grid": grid}


def open_every_popup(page: Page) -> list[str]:
    """Open each marker's popup content in turn (as a click would) and return their texts."""
    return page.evaluate(
        """() => {
          const map = Object.keys(window).filter(k => k.startsWith('map_')).map(k => window[k])
            .find(v => v && v.eachLayer);
          const texts = [];
          map.eachLayer(l => {
            if (!l.getLayers || !l.options.maxClusterRadius) return;
            l.getLayers().forEach(mk => {
              const p = L.popup().setLatLng(mk.getLatLng()).setContent(mk.getPopup().getContent());
              p.openOn(map);
              texts.push(p.getElement().querySelector('.leaflet-popup-content').textContent);
            });
          });
          return texts;
        }"""
    )


@pytest.mark.parametrize("profile", ["public", "internal"])
def test_small_district_map(small_city: dict, load, tmp_path: Path, profile: str) -> None:
    scene = render.MapScene(
        small_city["districts"],
        period=INFO["period"],
        sources=INFO["sources"],
        made_at=INFO["made_at"],
        profile=export_profile(profile),
        stadsdelar=small_city["stadsdelar"],
        grid=small_city["grid"],
        events=small_city["events"],
        tiles="OpenStreetMap",
    )
    m = render.district_map(scene, "Norr", n_unplaced=INFO["n_unplaced"])
    path = tmp_path / "norr.html"
    path.write_text(render.to_html(m), encoding="utf-8")
    loaded = load(path)
    layers = ["Stadsdelar", *DISTRICT_LAYERS]
    if profile == "internal":
        layers.append(f"Enskilda händelser – {POLICE}")
    assert_map_works(loaded.page, layers, [f"{POLICE} per km²", "Norr – händelser"])
    if profile == "internal":
        for _ in range(3):
            loaded.page.locator(".tk-slider .tk-step").nth(0).click()  # back to the whole period
        texts = open_every_popup(loaded.page)
        assert len(texts) == 60
        assert any("<script>window.__tk_pwned = 1</script>" in t for t in texts)  # as text
        assert loaded.page.locator(".leaflet-popup-content a[href^='javascript']").count() == 0
    else:
        assert loaded.page.evaluate("typeof L.MarkerClusterGroup") == "undefined"
    assert_clean(loaded)
    # The OSM layer is offered but off; only switching it on asks the network for tiles.
    osm = "Bakgrundskarta (OpenStreetMap, kräver internet)"
    assert osm in layer_names(loaded.page)
    loaded.page.get_by_text(osm).click()
    loaded.page.wait_for_timeout(300)
    outside = loaded.outside_requests()
    assert outside and all(r.startswith("https://tile.openstreetmap.org/") for r in outside)
    assert all("Failed to load resource" in e for e in loaded.errors)  # the aborted tiles
    loaded.page.get_by_text(osm).click()
    loaded.requests.clear()
    loaded.errors.clear()
    assert_clean(loaded)
    screenshot(loaded.page, f"fixture_norr_{profile}")


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def scene(real_run):
    """The scene of the real run (water, analysis tables, Brå) and an injected event in
    Södermalm; the tests render it with publish's own functions, as `make maps` does."""
    settings, _ = real_run
    con = store.connect(settings.db_path, read_only=True)
    try:
        sc = publish.build_scene(settings, con)
    finally:
        con.close()
    last = sc.in_period.sort_values("occurred_at").iloc[-1]
    evil = sc.events[sc.events["stadsdelsomrade"] == "Södermalm"].iloc[:1].copy()
    evil["event_uid"] = "test:evil"
    evil["sensitive"] = False
    evil["occurred_at"] = last["occurred_at"]
    evil["summary"] = " ".join(PAYLOADS)
    evil["place_name"] = PAYLOADS[1]
    evil["url"] = "javascript:window.__tk_pwned = 5"
    return replace(sc, events=pd.concat([sc.events, evil], ignore_index=True))


@pytest.mark.realdata
@pytest.mark.parametrize("profile", ["public", "internal"])
def test_city_map(scene, load, tmp_path: Path, profile: str) -> None:
    sc = scene
    path = tmp_path / "stockholm.html"
    maps = publish.map_scene(sc, export_profile(profile))
    path.write_text(render.to_html(publish.city_map(maps)), encoding="utf-8")
    loaded = load(path)
    layers = [
        "Stadsdelsområden",
        "Stadsdelar",
        publish.RATES_TITLE,
        render.density_name(POLICE),
        render.count_labels_name(POLICE),
        render.count_fill_name(POLICE),
    ]
    screenshot(loaded.page, f"stockholm_{profile}")  # as it opens
    assert_map_works(loaded.page, layers, [f"{POLICE} per km²", "Period:"])
    assert loaded.page.locator(".tk-count").count() == len(sc.districts)
    assert_analysis_layers(loaded.page, profile)
    assert_clean(loaded)


@pytest.mark.realdata
@pytest.mark.parametrize("profile", ["public", "internal"])
def test_district_map(scene, load, tmp_path: Path, profile: str) -> None:
    sc = scene
    path = tmp_path / "sodermalm.html"
    maps = publish.map_scene(sc, export_profile(profile), months=False)
    html = render.to_html(publish.district_map(maps, "Södermalm"))
    path.write_text(html, "utf-8")
    loaded = load(path)
    screenshot(loaded.page, f"sodermalm_{profile}")  # as it opens
    layers = ["Stadsdelar", *DISTRICT_LAYERS]
    if profile == "internal":
        layers.append(f"Enskilda händelser – {POLICE}")
        texts = open_every_popup(loaded.page)
        assert any(PAYLOADS[0] in t for t in texts)  # the injected summary, as text
    assert_map_works(loaded.page, layers, [f"{POLICE} per km²", "Södermalm"])
    assert_analysis_layers(loaded.page, profile)
    assert_clean(loaded)


@pytest.mark.realdata
def test_report(scene, load, tmp_path: Path) -> None:
    sc = scene
    path = tmp_path / "lagesbild.html"
    maps = publish.map_scene(sc, PUBLIC, months=False)
    assert publish.hotspot_map(maps, "Södermalm") is not None  # the page has its hotspot map
    page_html = publish.lagesbild(publish.report_scene(sc, PUBLIC), maps, "Södermalm")
    path.write_text(page_html, encoding="utf-8")
    loaded = load(path, width=1100, height=900)
    page = loaded.page
    assert page.locator("h1").inner_text() == "Lägesbild Södermalm"
    headings = ("Utveckling per månad", "Karta", "När händer det?", "Datakvalitet", "Hotspots")
    for heading in headings:
        assert page.locator("h2", has_text=heading).is_visible()
    # 149 notices: most three-hour cells would be below five, so six-hour cells (7 × 4)
    assert page.locator("svg.tk-heatmap .tk-cell").count() == 7 * 4
    # categories whose every quarter is hidden get no flat chart: they are named instead
    minis = page.locator("svg.tk-mini").count()
    assert minis >= 1 or page.get_by_text("inget eget diagram", exact=False).is_visible()
    frame_el = page.locator("iframe.mapframe").first
    frame_el.scroll_into_view_if_needed()
    frame = page.frame_locator("iframe.mapframe").first
    hot_el = page.locator('iframe[title="Karta över hotspots"]')
    hot_el.scroll_into_view_if_needed()
    hot = page.frame_locator('iframe[title="Karta över hotspots"]')
    assert hot.locator(".tk-box").filter(has_text="Hot spot 99 %").first.is_visible()
    layers = ["Stadsdelar", *DISTRICT_LAYERS]
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": 1100, "height": height})  # the whole page, map included
    page.wait_for_timeout(500)
    screenshot(page, "lagesbild_sodermalm_public")
    page.set_viewport_size({"width": 1100, "height": 900})
    frame_el.scroll_into_view_if_needed()
    assert_map_works(frame, layers, [f"{POLICE} per km²"])
    assert_clean(loaded)


# --------------------------------------------------------------------------- hostile text


def hostile_district(small_city: dict, text: str) -> dict:
    """The small city with one district, one stadsdel and every event text field hostile."""
    districts = small_city["districts"].assign(name=[text, "Söder", "Väster"])
    stadsdelar = small_city["stadsdelar"].assign(name=[text, "Södra delen", "Mitten", "Annat"])
    events = small_city["events"].assign(
        stadsdelsomrade=text,
        stadsdel=small_city["events"]["stadsdel"].replace("Norra delen", text),
        summary=text,
        place_name=text,
        source_type=text,
        url=[text, f"https://polisen.se/{text}"] * (len(small_city["events"]) // 2),
    )
    return {"districts": districts, "stadsdelar": stadsdelar, "events": events}


@pytest.mark.parametrize("payload", HOSTILE, ids=HOSTILE_IDS)
def test_hostile_text_stays_text_in_map_and_report(
    small_city: dict, browser: Browser, tmp_path: Path, payload
) -> None:
    """Internal map and lägesbild with hostile text everywhere: built without running it,
    and in the browser no dialog, no error, no marker, and the text shown as it was."""
    marker = tmp_path / "marker"
    text = f"{payload.text} {marker_payload(marker)}"
    city = hostile_district(small_city, text)
    scene = render.MapScene(
        city["districts"],
        period=INFO["period"],
        made_at=INFO["made_at"],
        sources=[text],
        profile=INTERNAL,
        stadsdelar=city["stadsdelar"],
        events=city["events"],
    )
    m = render.district_map(scene, text, title=text, n_unplaced=INFO["n_unplaced"])
    map_html = render.to_html(m)
    map_path = tmp_path / "map.html"
    map_path.write_text(map_html, encoding="utf-8")
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
    reports = ReportScene(
        period=INFO["period"],
        made_at=INFO["made_at"],
        sources=[text],
        profile=INTERNAL,
        monthly=city["events"].assign(month=city["events"]["occurred_at"], count=1),
        summaries={text: {"count": 60, "count_last_year": 50, "rate_per_1000": 2.0}},
        city_summary={"rate_per_1000": 1.5},
        events=city["events"],
        bra={text: bra},
    )
    report_html = lagesbild_html(reports, text, map_html=map_html, title=text)
    report_path = tmp_path / "lagesbild.html"
    report_path.write_text(report_html, encoding="utf-8")
    assert not marker.exists(), "building the pages ran source text"

    context = browser.new_context(viewport={"width": 1280, "height": 860})
    try:
        dialogs: list[str] = []
        errors: list[str] = []
        outside: list[str] = []
        page = context.new_page()

        def route(r) -> None:
            if r.request.url.startswith("file://"):
                r.continue_()
            else:
                outside.append(r.request.url)
                r.abort()

        context.route("**/*", route)
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))

        page.goto(map_path.resolve().as_uri(), wait_until="load")
        page.wait_for_timeout(300)
        assert text in layer_names(page)  # the district's layer, named as written
        texts = open_every_popup(page)
        assert texts and all(text in t for t in texts)  # summary, type and place, as text
        assert page.locator(".leaflet-popup-content a[href^='javascript']").count() == 0
        page.locator(".leaflet-container").hover()
        assert page.evaluate(PWNED) is None and page.locator('img[src="x"]').count() == 0

        page.goto(report_path.resolve().as_uri(), wait_until="load")
        page.wait_for_timeout(500)
        assert page.locator("h1").inner_text() == text
        assert page.locator("table td", has_text=text).count() >= 1  # Brå's category
        for frame in page.frames:
            assert frame.evaluate(PWNED) is None, frame.url
            assert frame.locator('img[src="x"]').count() == 0
        assert dialogs == [], "injected text opened a dialog"
        assert errors == [], "the console shows errors"
        assert outside == [], "the page fetched something outside the file"
        assert not marker.exists()
    finally:
        context.close()
