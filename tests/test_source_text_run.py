"""The whole tool on hostile source text: ``run``, then ``maps`` and ``report`` internal.

A data directory is built in a temporary folder: the real boundaries (their RegSO names
replaced by the payloads), population and gazetteer (symlinked from ``../shared/data``),
police events in the API's format and a
delivered crime list whose every text field holds a payload of ``payloads.py`` plus a
quote-free expression that would create a marker file through ``os.system``, and a Brå
CSV whose labels hold them too. The commands run as the nightly job does, in a
subprocess; each must exit 0, the marker file must not exist, the payloads must be in the
written pages as text, and nothing evaluated or live may show.
"""

from __future__ import annotations

import csv
import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest

from payloads import PAYLOADS, Payload, marker_payload
from trygghetskarta import render
from trygghetskarta.render.format import esc

pytestmark = pytest.mark.realdata

#: The RegSO boundary file, rewritten with hostile area names (the others are symlinked).
REGSO_FILE = "regso_2025_stockholm_epsg3006.gpkg"
#: Places the geocoder knows, one per event in turn (spread over several districts).
PLACES = ["Sergels torg", "Medborgarplatsen", "Slussen", "Kista centrum", "Farsta centrum"]
#: Police event types in turn; the payloads' own texts are added as types too.
TYPES = ["Misshandel", "Stöld", "Rån", "Skadegörelse", "Narkotikabrott"]
MONTHS_SV = ["januari", "februari", "mars", "april", "maj", "juni"]
#: Crime-list rows: SWEREF99 TM points inside the kommun (Sergels torg, Skärholmen, Kista).
LIST_POINTS = [(674_345, 6_581_101), (667_400, 6_571_500), (666_091, 6_589_360)]


def js_text(page: str) -> str:
    r"""The page with JSON's ``\uXXXX`` and ``\"`` decoded: what scripts hand to ``innerHTML``."""
    decoded = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), page)
    return decoded.replace('\\"', '"')


def police_events(texts: list[tuple[Payload, str]]) -> list[dict]:
    """Events in the API's format, Jan–Jun 2025, with hostile summaries, bodies, types, urls."""
    events = []
    for i in range(120):
        payload, text = texts[i % len(texts)]
        month, day = 1 + i % 6, 1 + (i * 7) % 27
        kind = payload.text if i % 4 == 0 and "," not in payload.text else TYPES[i % len(TYPES)]
        name = f"{day} {MONTHS_SV[month - 1]} 14.20, {kind}, Stockholm"
        relative = f"/aktuellt/handelser/2025/{MONTHS_SV[month - 1]}/{day}/{i}/"
        events.append(
            {
                "id": 900_000 + i,
                "datetime": f"2025-{month:02d}-{day:02d} 15:{i % 60:02d}:00 +01:00",
                "name": name,
                "summary": f"Bråk vid {PLACES[i % len(PLACES)]}. {text}",
                "url": payload.text if i % 3 == 0 else relative,
                "type": kind,
                "location": {"name": "Stockholm", "gps": "59.329324,18.068581"},
                "_html_title": name,
                "_html_preamble": text,
                "_html_body": f"Polisen är på plats vid {PLACES[i % len(PLACES)]}. {text}",
                "_html_published": None,
            }
        )
    return events


def write_data(folder: Path, shared: Path, texts: list[tuple[Payload, str]]) -> Path:
    """The data directory (see the module's docstring)."""
    data = folder / "data"
    data.mkdir()
    for name in ("population", "gazetteer"):
        (data / name).symlink_to(shared / name, target_is_directory=True)
    (data / "boundaries").mkdir()
    for path in (shared / "boundaries").iterdir():
        if path.name != REGSO_FILE:
            (data / "boundaries" / path.name).symlink_to(path)
    regso = gpd.read_file(shared / "boundaries" / REGSO_FILE)
    regso.loc[: len(texts) - 1, "regsonamn"] = [f"RegSO {text}" for _, text in texts]
    regso.to_file(data / "boundaries" / REGSO_FILE, driver="GPKG")
    (data / "police_events").mkdir()
    path = data / "police_events" / "hostile_events_with_text_2025.json"
    path.write_text(json.dumps(police_events(texts), ensure_ascii=False), encoding="utf-8")

    (data / "lists" / "brott").mkdir(parents=True)
    header = ["Diarienummer", "Brottsbenämning", "Brottsdatum", "Brottstid", "Brottsplats"]
    header += ["Kommun", "X", "Y", "Beskrivning"]
    crimes = ["Misshandel", "Stöld av cykel", "Skadegörelse"]
    with (data / "lists" / "brott" / "brott_hostile.csv").open("w", encoding="utf-8") as f:
        out = csv.writer(f, delimiter=";", quoting=csv.QUOTE_ALL)
        out.writerow(header)
        for i, (_, text) in enumerate(texts * 2):
            x, y = LIST_POINTS[i % len(LIST_POINTS)]
            day = f"2025-0{1 + i % 6}-1{i % 9}"
            out.writerow(
                [
                    f"H-{i:03d}",
                    f"{crimes[i % 3]} {text}",
                    day,
                    "21:30",
                    text,
                    "Stockholm",
                    x,
                    y,
                    text,
                ]
            )

    (data / "crime_stats").mkdir()
    with (data / "crime_stats" / "bra_hostile_long.csv").open("w", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(
            ["region_raw", "area", "category", "category_path", "year", "unit", "per_100k", "note"]
        )
        for area in ("Stockholm kommun", "Södermalm", "Rinkeby-Kista"):
            for _, text in texts[:3]:
                out.writerow([area, area, text, text, 2024, "per_100000_inv", 1234.5, text])
            total = "Totalt antal brott"
            out.writerow([area, area, total, total, 2024, "per_100000_inv", 20_000.0, texts[3][1]])
    return data


def cli(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """``trygghetskarta ARGS`` in its own process, as the nightly job runs it."""
    return subprocess.run(
        [sys.executable, "-m", "trygghetskarta", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def pages(processed: Path) -> dict[Path, str]:
    """Every HTML page written, reports with their embedded maps appended as they load."""
    found = {}
    for path in sorted(processed.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        frames = [html.unescape(f) for f in re.findall(r'srcdoc="([^"]*)"', text)]
        found[path] = "\n".join([text, *frames])
    return found


def test_run_maps_and_report_on_hostile_text(shared_data: Path, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    texts = [(p, f"{p.text} {marker_payload(marker)}") for p in PAYLOADS]
    data = write_data(tmp_path, shared_data, texts)
    processed = tmp_path / "processed"
    project = tmp_path / "project"
    project.mkdir()
    env = dict(os.environ)
    env |= {"TRYGGHETSKARTA_DATA": str(data), "TRYGGHETSKARTA_PROCESSED": str(processed)}
    env.pop("TRYGGHETSKARTA_DB", None)

    for args in (["run"], ["maps", "--profile", "internal"], ["report", "--profile", "internal"]):
        done = cli(project, env, *args)
        assert done.returncode == 0, f"{args}: {done.stdout[-2000:]}{done.stderr[-4000:]}"
        assert "Traceback" not in done.stderr
        assert not marker.exists(), f"{args} evaluated source text"

    written = pages(processed)
    assert len(written) >= 4
    everything = "\n".join(js_text(t) for t in written.values())
    for payload, text in texts:
        for forbidden in payload.forbidden:
            assert forbidden not in everything, (payload.id, forbidden)
        assert esc(text) in everything, payload.id  # shown, as text
        assert esc(f"RegSO {text}") in everything, payload.id  # an area name, as text
    for path, text in written.items():
        assert render.external_references(text.split("\n<!DOCTYPE")[0]) == [], path
    status = cli(project, env, "status")
    assert status.returncode == 0
    assert not marker.exists()
