"""The lägesbild in a real browser: the reports the real run wrote (public profile).

Debian's Chromium through Playwright (never downloaded), the network blocked: two
reports open with no request leaving the file; the mouse wheel over the embedded map
scrolls the page; print emulation shows every map as an image and hides the controls;
a CSV link downloads a CSV that parses back to its table; ``report --pdf``'s printer
writes A4 pages. Screenshots of one report on screen and in print go
to ``data/processed/screenshots/`` (copied by hand to ``docs/img/``).
"""

from __future__ import annotations

import csv
import io
import re
import shutil
from pathlib import Path

import pytest

pytest.importorskip("playwright")
from playwright.sync_api import Browser

import test_browser as _tb

pytestmark = [pytest.mark.browser, pytest.mark.realdata]

REPO = Path(__file__).resolve().parents[1]
# Saved beside the other browser screenshots (ignored by git); docs/img/ holds copies.
DOCS_IMG = REPO / "data" / "processed" / "screenshots"
#: A4 in PostScript points, and how far Chromium's page box may be from it.
A4_PT = (595.28, 841.89)
A4_TOLERANCE_PT = 1.0
REPORTS = ("sodermalm", "jarva")
#: The map's pan and zoom as Leaflet keeps them in the page (map pane and zoom proxy).
_ZOOM_STATE = (
    "el => [el.querySelector('.leaflet-map-pane')?.style.transform, "
    "el.querySelector('.leaflet-proxy')?.style.transform]"
)


# The browser of test_browser.py (Debian's Chromium, headless), as a fixture of this module.
browser = _tb.browser


@pytest.fixture(scope="module")
def reports(real_run) -> Path:
    """The public reports folder the real run wrote."""
    settings, _ = real_run
    folder = settings.processed_dir / "public" / "reports"
    for name in REPORTS:
        assert (folder / f"{name}.html").is_file(), f"the run wrote no {name}.html"
    return folder


def _open(browser: Browser, path: Path, requests: list[str], **context_args):
    """A page with ``path`` loaded, every request but the file's own aborted and noted."""
    url = path.resolve().as_uri()
    context_args.setdefault("viewport", {"width": 1100, "height": 900})
    context = browser.new_context(**context_args)

    def route(r) -> None:
        requests.append(r.request.url)
        if r.request.url == url:
            r.continue_()
        else:
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url, wait_until="load")
    page.wait_for_timeout(500)
    return context, page, errors


@pytest.mark.parametrize("name", REPORTS, ids=REPORTS)
def test_report_opens_alone_with_no_request_leaving_the_file(
    browser: Browser, reports: Path, name: str
) -> None:
    requests: list[str] = []
    context, page, errors = _open(browser, reports / f"{name}.html", requests)
    try:
        url = (reports / f"{name}.html").resolve().as_uri()
        outside = [r for r in requests if r != url and not r.startswith(("data:", "about:"))]
        assert outside == [], f"requests left the file: {outside[:3]}"
        assert errors == []
        assert page.locator("html").get_attribute("lang") == "sv"
        assert page.title().startswith("Lägesbild ")
        summary = page.locator("section.tk-conclusions li").all_inner_texts()
        assert summary[0].startswith("Anmälda brott (Brå)"), summary  # reported crimes lead
        assert any(s.startswith("Polisens händelsenotiser:") for s in summary)
        assert any(("normal" in s) for s in summary)
        assert "inte alla brott" in page.locator("main").inner_text()
        # the map link that needs a sibling file says so; the enlarge link stays in the file
        assert page.locator('a[href="#karta"]').count() == 1
        assert "bredvid rapporterna" in page.locator("#karta").inner_text()
    finally:
        context.close()


def test_wheel_over_the_embedded_map_scrolls_the_page(browser: Browser, reports: Path) -> None:
    requests: list[str] = []
    context, page, _ = _open(browser, reports / "sodermalm.html", requests)
    try:
        frame_el = page.locator("iframe.mapframe").first
        frame_el.scroll_into_view_if_needed()
        page.wait_for_timeout(800)
        frame = page.frame_locator("iframe.mapframe").first
        zoom_before = frame.locator(".leaflet-container").evaluate(_ZOOM_STATE)
        box = frame_el.bounding_box()
        assert box is not None
        before = page.evaluate("window.scrollY")
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        for _ in range(3):
            page.mouse.wheel(0, 300)
            page.wait_for_timeout(150)
        page.wait_for_timeout(500)
        after = page.evaluate("window.scrollY")
        assert after > before + 300, f"the page did not scroll ({before} → {after})"
        zoom_after = frame.locator(".leaflet-container").evaluate(_ZOOM_STATE)
        assert zoom_after == zoom_before  # the map neither zoomed nor panned
    finally:
        context.close()


_MAP_ZOOM = "() => window[Object.keys(window).find(k => k.startsWith('map_'))].getZoom()"


def test_embedded_maps_open_fitted_to_the_district_every_time(
    browser: Browser, reports: Path
) -> None:
    # A fit made before the frame had a size, or swallowed by an animated one, left one
    # load in three at the minimum zoom (8: the whole county); five loads × two maps.
    zooms = []
    for _ in range(5):
        requests: list[str] = []
        context, page, _ = _open(browser, reports / "sodermalm.html", requests)
        try:
            page.wait_for_timeout(1000)
            frames = [f for f in page.frames if f != page.main_frame]
            assert len(frames) == 2  # the map and the hotspot map
            zooms.append([f.evaluate(_MAP_ZOOM) for f in frames])
        finally:
            context.close()
    assert all(z >= 12 for load in zooms for z in load), zooms


@pytest.mark.parametrize("name", REPORTS, ids=REPORTS)
def test_print_shows_every_map_as_an_image_and_hides_controls(
    browser: Browser, reports: Path, name: str
) -> None:
    requests: list[str] = []
    context, page, _ = _open(browser, reports / f"{name}.html", requests)
    try:
        frames = page.locator("iframe").count()
        assert frames >= 1
        page.emulate_media(media="print")
        page.wait_for_timeout(300)
        assert all(not f.is_visible() for f in page.locator("iframe").all())
        images = page.locator("img.tk-static")
        visible = [i for i in images.all() if i.is_visible()]
        assert len(visible) == frames, "every embedded map has its static image in print"
        for img in visible:
            assert img.evaluate("i => i.complete && i.naturalWidth > 300")
            assert img.get_attribute("src").startswith("data:image/png;base64,")
        assert all(not a.is_visible() for a in page.locator(".tk-csv a, .tk-map-tools a").all())
        assert "Kartan visas inte i utskrift" not in page.content()
        if name == "sodermalm":
            DOCS_IMG.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(DOCS_IMG / "report-print.png"), full_page=True)
    finally:
        context.close()
    if name == "sodermalm":
        _screenshot_on_screen(browser, reports / "sodermalm.html", DOCS_IMG / "report-screen.png")


def _screenshot_on_screen(browser: Browser, path: Path, out: Path) -> None:
    """The whole page on screen, maps drawn: a viewport as tall as the page, since a
    full-page capture leaves the embedded maps' frames (sandboxed, painted apart) blank."""
    requests: list[str] = []
    context, page, _ = _open(browser, path, requests)
    height = page.evaluate("document.documentElement.scrollHeight")
    context.close()
    context, page, _ = _open(browser, path, requests, viewport={"width": 1100, "height": height})
    try:
        page.wait_for_timeout(1500)
        page.screenshot(path=str(out))
    finally:
        context.close()


def test_csv_link_downloads_the_table(browser: Browser, reports: Path, tmp_path: Path) -> None:
    requests: list[str] = []
    context, page, _ = _open(browser, reports / "sodermalm.html", requests, accept_downloads=True)
    try:
        section = page.locator(
            "section", has=page.locator("h2", has_text="Anmälda brott enligt Brå")
        )
        rows = section.locator("table tbody tr")
        table = [[c.strip() for c in r.locator("td").all_inner_texts()] for r in rows.all()]
        link = section.locator(".tk-csv a")
        with page.expect_download() as info:
            link.click()
        download = info.value
        assert download.suggested_filename == "sodermalm-bra.csv"
        target = tmp_path / download.suggested_filename
        download.save_as(target)
        raw = target.read_bytes()
        assert raw.startswith("\ufeff".encode())  # Excel reads å ä ö
        parsed = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
        assert parsed[0][:3] == ["Brottskategori", "År", "Södermalm"]
        normalise = [[re.sub(r"\s+", " ", c) for c in row] for row in parsed[1:]]
        assert normalise == [[re.sub(r"\s+", " ", c) for c in row] for row in table]
        assert len(table) >= 3
    finally:
        context.close()


def test_pdf_has_a4_pages(reports: Path, tmp_path: Path) -> None:
    from trygghetskarta.pipeline import find_chromium, print_pdf

    if not Path("/usr/bin/chromium").exists() and shutil.which("chromium") is None:
        pytest.skip("no /usr/bin/chromium: report --pdf cannot print here")
    pdf = print_pdf(find_chromium(), reports / "sodermalm.html", tmp_path / "sodermalm.pdf")
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-")
    boxes = re.findall(rb"/MediaBox\s*\[\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*\]", data)
    pages = len(re.findall(rb"/Type\s*/Page(?![s\w])", data))
    assert pages >= 3 and len(boxes) >= pages
    for box in boxes:
        x0, y0, x1, y1 = (float(v) for v in box)
        assert abs((x1 - x0) - A4_PT[0]) <= A4_TOLERANCE_PT
        assert abs((y1 - y0) - A4_PT[1]) <= A4_TOLERANCE_PT
    print(f"sodermalm.pdf: {pages} A4 pages, {len(data) / 1024:.0f} KiB")
