"""The published maps and the index in a real browser: Debian's Chromium, network blocked.

Built from the real data by the whole pipeline with the public profile (``real_run``):
the city map, two district maps (Järva and Södermalm) and ``public/index.html``. Each
page is opened from its file with every other request aborted and recorded. Checked: no
request leaves the file; every page has a title and ``lang="sv"``; at 1280×800 and
1920×1080, with every layer on (each choice of each radio group, every checkbox on), the
one legend panel overlaps neither the layer control nor the zoom buttons; colour layers
show one at a time; hover and click on an area show its name, its figures and links; the
keyboard reaches the month slider within 15 Tab presses and moves it, and the slider
says its month in words. A screenshot of the city map goes to
``data/processed/screenshots/city-map.png`` (copied by hand to ``docs/img/``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page

import test_browser as _tb
from trygghetskarta import render

pytestmark = [pytest.mark.browser, pytest.mark.realdata]

# The browser and the offline page loader of test_browser.py, as fixtures of this module.
browser = _tb.browser
load = _tb.load
assert_clean = _tb.assert_clean
REPO = _tb.REPO

VIEWPORTS = [(1280, 800), (1920, 1080)]
MAPS = ["stockholm", "jarva", "sodermalm"]
# Saved beside the other browser screenshots (ignored by git); docs/img/city-map.png is a copy.
SCREENSHOT = REPO / "data" / "processed" / "screenshots" / "city-map.png"
MAX_TABS = 15


@pytest.fixture(scope="module")
def public(real_run) -> Path:
    """The public folder the real run wrote (maps, reports, index)."""
    settings, _ = real_run
    folder = settings.processed_dir / "public"
    assert (folder / "index.html").is_file(), "the run wrote no index page"
    return folder


def map_path(public: Path, name: str) -> Path:
    return public / "maps" / f"{name}.html"


def boxes_overlap(a: dict, b: dict) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def group_state(page: Page) -> list[dict]:
    """Per radio group of the layer control: its layers' names and which are on the map."""
    return page.evaluate(
        """() => {
          const map = Object.values(window).find(v => v && v.tkLayerControl);
          const ctl = map.tkLayerControl;
          return ctl.tkGroups.map(g => ({
            title: g.title,
            on: ctl._layers.filter(o => g.layers.indexOf(o.layer) >= 0 && map.hasLayer(o.layer))
                          .map(o => o.name),
          }));
        }"""
    )


def assert_legend_clear(page: Page, where: str) -> None:
    panel = page.locator(".tk-legend-panel")
    if panel.count() == 0 or not panel.is_visible():
        return
    legend = panel.bounding_box()
    for what, selector in (
        ("layer control", ".leaflet-control-layers"),
        ("zoom buttons", ".leaflet-control-zoom"),
    ):
        other = page.locator(selector).bounding_box()
        assert not boxes_overlap(legend, other), f"{where}: the legend covers the {what}"


@pytest.mark.parametrize("name", MAPS)
def test_map_opens_offline_with_title_and_language(public: Path, load, name: str) -> None:
    loaded = load(map_path(public, name), width=1280, height=800)
    page = loaded.page
    assert page.title().strip() != ""
    assert "jan" in page.title() or "202" in page.title()  # the period is in the title
    assert page.evaluate("document.documentElement.lang") == "sv"
    assert page.locator(".leaflet-control-layers .tk-group").count() == 2
    assert_clean(loaded)


@pytest.mark.parametrize("size", VIEWPORTS, ids=["1280x800", "1920x1080"])
@pytest.mark.parametrize("name", MAPS)
def test_one_legend_panel_never_covers_the_controls(
    public: Path, load, name: str, size: tuple[int, int]
) -> None:
    loaded = load(map_path(public, name), width=size[0], height=size[1])
    page = loaded.page
    # Every checkbox layer on (the outlines, the OSM background is left off: it needs
    # the network), then every choice of each radio group in turn.
    for box in page.locator(".leaflet-control-layers-overlays input[type=checkbox]").all():
        label = box.locator("xpath=..").inner_text()
        if "OpenStreetMap" not in label and not box.is_checked():
            box.check()
    groups = page.locator(".leaflet-control-layers .tk-group")
    assert groups.count() == 2
    radios = page.locator(".tk-group input[type=radio]")
    assert radios.count() >= 6
    seen_panels = 0
    for i in range(radios.count()):
        radio = radios.nth(i)
        radio.scroll_into_view_if_needed()
        radio.check()
        page.wait_for_timeout(50)
        state = group_state(page)
        assert all(len(g["on"]) <= 1 for g in state), f"more than one layer of a group on: {state}"
        assert page.locator(".tk-legend-panel").count() <= 1  # one panel, never a pile
        seen_panels += page.locator(".tk-legend-panel").is_visible()
        assert_legend_clear(page, f"{name} {size} choice {i}")
    assert seen_panels > 0
    assert_clean(loaded)


def test_colour_layers_show_one_at_a_time(public: Path, load) -> None:
    loaded = load(map_path(public, "stockholm"), width=1280, height=800)
    page = loaded.page
    area = page.locator('.tk-group[data-tk-group="0"] input[type=radio]')
    names = page.locator('.tk-group[data-tk-group="0"] label').all_inner_texts()
    assert any("Täthet per km²" in n for n in names) and any("Skjutningar" in n for n in names)
    on_before = group_state(page)[0]["on"]
    assert len(on_before) == 1 and on_before[0].startswith("Täthet per km²")
    for i in range(area.count()):
        area.nth(i).scroll_into_view_if_needed()
        area.nth(i).check()
        on = group_state(page)[0]["on"]
        assert on == [names[i].strip()], f"after choosing {names[i]!r}: {on}"
        assert area.nth(i).is_checked()
        assert sum(area.nth(k).is_checked() for k in range(area.count())) == 1
    # The legend panel lists the active colour layer's legend only.
    page.get_by_label("Täthet per km² – Polisens händelsenotiser").check()
    panel = page.locator(".tk-legend-panel")
    assert panel.locator(".tk-legend-section").filter(has_text="per km²").count() == 1
    assert panel.filter(has_text="Hot spot").count() == 0
    assert_clean(loaded)


def area_point(page: Page, public: Path, district: str) -> tuple[float, float]:
    """A page point inside ``district`` (its representative point), as a user would aim."""
    settings_dir = public.parent
    del settings_dir
    return page.evaluate(
        """(name) => {
          const map = Object.values(window).find(v => v && v.tkLayerControl);
          let found = null;
          map.eachLayer(l => {
            if (!found && l.feature && l.feature.properties && l.feature.properties.tk_popup
                && l.feature.properties.tk_tip.indexOf('<b>' + name + '</b>') === 0) {
              found = l;
            }
          });
          const c = found.getBounds().getCenter();
          const p = map.latLngToContainerPoint(c);
          const r = map.getContainer().getBoundingClientRect();
          return [r.left + p.x, r.top + p.y];
        }""",
        district,
    )


def test_hover_and_click_show_the_figures_and_links(public: Path, load) -> None:
    loaded = load(map_path(public, "stockholm"), width=1920, height=1080)
    page = loaded.page
    x, y = area_point(page, public, "Södermalm")
    page.mouse.move(x, y)
    tip = page.locator(".leaflet-tooltip")
    tip.first.wait_for(state="visible")
    text = tip.first.inner_text()
    assert "Södermalm" in text and "Polisens händelsenotiser" in text
    assert re.search(r"Polisens händelsenotiser\s+\d", text), text
    page.mouse.click(x, y)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(state="visible")
    assert "Södermalm" in popup.inner_text() and "Skjutningar" in popup.inner_text()
    links = {a.inner_text(): a.get_attribute("href") for a in popup.locator("a").all()}
    assert links == {
        "Karta över Södermalm": "sodermalm.html",
        "Lägesbild för Södermalm": "../reports/sodermalm.html",
    }
    for href in links.values():
        assert (public / "maps" / href).resolve().is_file(), href
    assert_clean(loaded)


def test_district_map_answers_per_stadsdel(public: Path, load) -> None:
    loaded = load(map_path(public, "sodermalm"), width=1280, height=800)
    page = loaded.page
    x, y = page.evaluate(
        """() => {
          const map = Object.values(window).find(v => v && v.tkLayerControl);
          let found = null;
          map.eachLayer(l => {
            if (!found && l.feature && l.feature.properties.tk_popup) { found = l; }
          });
          const p = map.latLngToContainerPoint(found.getBounds().getCenter());
          const r = map.getContainer().getBoundingClientRect();
          return [r.left + p.x, r.top + p.y, found.feature.properties.tk_tip];
        }"""
    )[:2]
    page.mouse.click(x, y)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(state="visible")
    hrefs = [a.get_attribute("href") for a in popup.locator("a").all()]
    assert hrefs == ["../reports/sodermalm.html", "stockholm.html"]
    assert "Polisens händelsenotiser" in popup.inner_text()
    assert_clean(loaded)


@pytest.mark.parametrize("name", MAPS)
def test_keyboard_reaches_and_moves_the_slider(public: Path, load, name: str) -> None:
    loaded = load(map_path(public, name), width=1280, height=800)
    page = loaded.page
    slider = page.locator("input.tk-range")
    assert slider.get_attribute("aria-label")
    assert slider.get_attribute("aria-valuetext").startswith("Hela perioden")
    for presses in range(1, MAX_TABS + 1):
        page.keyboard.press("Tab")
        inside_areas = page.evaluate("!!document.activeElement.closest('.leaflet-map-pane')")
        assert not inside_areas, f"Tab {presses} reached an area before the controls"
        if page.evaluate("document.activeElement.classList.contains('tk-range')"):
            break
    else:
        pytest.fail(f"the month slider is not reached within {MAX_TABS} Tab presses")
    page.keyboard.press("ArrowRight")
    value = slider.get_attribute("aria-valuetext")
    assert re.fullmatch(
        r"(januari|februari|mars|april|maj|juni|juli|augusti|september|oktober|november|"
        r"december) \d{4}.*",
        value,
    ), value
    assert not page.locator(".tk-slider-value").inner_text().startswith("Hela perioden")
    assert_clean(loaded)


def test_index_lists_every_map_and_report(public: Path, load, real_run) -> None:
    settings, _ = real_run
    loaded = load(public / "index.html", width=1280, height=800)
    page = loaded.page
    assert page.title().strip() != ""
    assert page.evaluate("document.documentElement.lang") == "sv"
    hrefs = [a.get_attribute("href") for a in page.locator("a").all()]
    n_districts = len(list((public / "reports").glob("*.html")))
    assert n_districts >= 11
    assert "maps/stockholm.html" in hrefs
    assert len(hrefs) == 1 + 2 * n_districts  # the city map, then a map and a report each
    for href in hrefs:
        assert (public / href).is_file(), href
    period = re.search(r"Period: ([^<\\]+)[<\\]", (public / "maps" / "stockholm.html").read_text())
    rows = page.locator("tbody tr")
    assert rows.count() == 1 + n_districts
    for i in range(rows.count()):
        assert rows.nth(i).locator("td").last.inner_text() == period.group(1).strip()
    assert render.external_references(page.content()) == []
    del settings
    assert_clean(loaded)


def test_city_map_screenshot(public: Path, load) -> None:
    loaded = load(map_path(public, "stockholm"), width=1280, height=800)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    loaded.page.screenshot(path=str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 50_000  # a drawn map, not a blank page
    assert_clean(loaded)
