"""The lägesbilder the real run wrote (public profile), read as files: every report
concludes, leads with reported crimes, travels alone and carries its tables as CSV."""

from __future__ import annotations

import csv
import html as html_lib
import io
import re
from pathlib import Path
from urllib.parse import unquote

import pytest

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def pages(real_run) -> dict[str, str]:
    settings, _ = real_run
    folder = settings.processed_dir / "public" / "reports"
    found = {p.stem: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.html"))}
    assert len(found) == 11, sorted(found)
    return found


def _summary(page: str) -> list[str]:
    section = re.search(r'<section class="tk-conclusions">(.*?)</section>', page, re.S)
    assert section is not None, "no summary section"
    items = re.findall(r"<li>(.*?)</li>", section.group(1), re.S)
    return [html_lib.unescape(i).replace("\u00a0", " ") for i in items]


def test_every_report_has_a_title_and_swedish(pages: dict[str, str]) -> None:
    for name, page in pages.items():
        assert '<html lang="sv">' in page, name
        assert re.search(r"<title>Lägesbild [^<]+</title>", page), name


def test_every_report_concludes_with_reported_crimes_first(pages: dict[str, str]) -> None:
    for name, page in pages.items():
        items = _summary(page)
        assert items[0].startswith("Anmälda brott (Brå) 20"), (name, items[0])
        police = [i for i in items if i.startswith("Polisens händelsenotiser:")]
        assert len(police) == 1, name
        assert re.search(r"(inom|över|under) det normala|för få tidigare år", police[0])
        assert any(i.startswith(("Skjutningar:", "Bränder:")) for i in items), name
        assert "inte alla brott" in page


def test_no_raw_legal_labels_or_print_placeholders(pages: dict[str, str]) -> None:
    for name, page in pages.items():
        assert "a§)" not in page and " kap. " not in page, name
        assert "Kartan visas inte i utskrift" not in page, name
        assert re.search(r"\d,0</td>", page) is None, name  # no "16 482,0" rates


def test_places_never_name_the_district_itself(pages: dict[str, str]) -> None:
    for name, page in pages.items():
        district = re.search(r"<h1>Lägesbild ([^<]+)</h1>", page).group(1)
        section = re.search(r"<h2>Platser som nämns oftast</h2>(.*?)</section>", page, re.S)
        if section is None:
            continue
        places = re.findall(r"<tr><td>([^<]+)</td>", section.group(1))
        assert html_lib.unescape(district) not in places, name
        if not places:
            assert "nämns i minst 5" in section.group(1), name


def test_links_work_when_a_report_travels_alone(pages: dict[str, str]) -> None:
    for name, page in pages.items():
        assert 'href="#karta"' in page, name
        for href in re.findall(r'<a href="(\.\./[^"]+)"', page):
            # a link to a sibling file says that it needs that file
            tail = page[page.index(href) : page.index(href) + 600]
            assert "den följer inte med när rapporten skickas ensam" in tail, (name, href)


def test_every_table_can_be_downloaded_as_csv(pages: dict[str, str]) -> None:
    page = pages["sodermalm"]
    links = re.findall(r'<a href="(data:text/csv;charset=utf-8,[^"]+)" download="([^"]+)"', page)
    names = {n for _, n in links}
    assert {"sodermalm-kategorier.csv", "sodermalm-bra.csv", "sodermalm-datakvalitet.csv"} <= names
    tables = len(re.findall(r"<table>", page))
    assert len(links) >= tables
    for href, _ in links:
        text = unquote(html_lib.unescape(href).split(",", 1)[1])
        assert text.startswith("\ufeff")
        rows = list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
        assert len(rows) >= 2 and all(len(r) == len(rows[0]) for r in rows)
        assert not any(c.startswith(("=", "+", "-", "@")) for r in rows for c in r)


def test_static_maps_for_print(pages: dict[str, str]) -> None:
    for name, page in pages.items():
        frames = page.count("<iframe")
        images = len(
            re.findall(r'<img class="print-only tk-static" src="data:image/png;base64,', page)
        )
        assert images == frames, name  # one static image per embedded map


def test_hotspot_section_says_what_is_significant(pages: dict[str, str]) -> None:
    for name, page in pages.items():
        section = re.search(r"<h2>Hotspots</h2>(.*?)</section>", page, re.S)
        assert section is not None, name
        body = section.group(1)
        if "Ingen ruta i" in body:
            assert "<iframe" not in body and "tk-static" not in body, name  # no hot colour
        else:
            assert re.search(r"\d+ rut(a|or) är (hot|cold) spots", body), name


def test_report_manifest_lists_the_files(real_run) -> None:
    import json

    settings, _ = real_run
    folder: Path = settings.processed_dir / "public" / "reports"
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    listed = {f["name"] if isinstance(f, dict) else f for f in manifest["files"]}
    assert {"sodermalm.html", "jarva.html"} <= {Path(str(n)).name for n in listed}
