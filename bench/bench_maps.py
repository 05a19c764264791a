"""Size and speed of the maps and lägesbild reports, against the targets of issue 6.

Run with ``.venv/bin/python bench/bench_maps.py`` (needs ``../shared/data``; Chromium at
``/usr/bin/chromium`` for the load times, which are skipped with a message without it).

The real data is ingested, geocoded and analysed into a temporary directory, for the whole
span of the archive (2022-09 … 2025-12, the issue's "all of 2022–2025") and, for
comparison, for the default period (the last 12 months). Then, in the public profile
(and the internal one for comparison):

- **sizes** of the city map, the district maps and the reports, in MB, against the targets
  (city < 10 MB, district < 5 MB), with the share of the file that is vendored library
  code and the ratio to the same page with CDN links (``get_root().render()``, which does
  not open offline: the price of working offline);
- **load time** in headless Chromium: the page's load event (Navigation Timing
  ``loadEventEnd``), median of 5 loads, against the 3 s target, with the ratio to the
  floor: an empty map with the same libraries;
- **time to make and write** all maps and reports (target < 60 s), with the ratio of
  inlining (``to_html``) to folium's own rendering.

Each is measured without and with a density grid per month (the month slider then switches
the density layer too; the grids are computed by ``publish.map_scene`` with
``analysis.density.kde``, as the maps step does, and their time is counted with the maps).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import geopandas as gpd

from trygghetskarta import areas as areas_mod
from trygghetskarta import pipeline, render, store
from trygghetskarta.config import load_settings
from trygghetskarta.periods import Period
from trygghetskarta.pipeline import outputs, publish
from trygghetskarta.pipeline import scene as scene_mod
from trygghetskarta.render import report
from trygghetskarta.render.basemap import _finish
from trygghetskarta.render.profile import export_profile
from trygghetskarta.schema import Layer

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
CHROMIUM = Path("/usr/bin/chromium")
MB = 1e6
TARGETS = {"city": 10 * MB, "district": 5 * MB}
EVENT_COLUMNS = [*scene_mod._EVENT_COLUMNS, "sensitive"]


def prepare(out: Path, period: Period | None) -> tuple:
    """Run ingest, geocode, analyse; return (settings, scene) for ``period`` (default: last 12
    months), with every event of the period and the year before, and water."""
    env = {"TRYGGHETSKARTA_DATA": str(DATA), "TRYGGHETSKARTA_PROCESSED": str(out)}
    settings = load_settings(REPO, env=env)
    pipeline.run(settings, steps=("ingest", "geocode"))
    con = store.connect(settings.db_path)
    try:
        pipeline.analyse(settings, con, period=period)
        scene = publish.build_scene(settings, con)
        period = period or scene.period
        events = store.read_events(
            con,
            layers=[Layer.POLICE_EVENT.value],
            start=period.year_before().start,
            end=period.end,
            columns=EVENT_COLUMNS,
        )
    finally:
        con.close()
    known = set(areas_mod.load_areas(DATA).sdo_13["name"])
    areas = areas_mod.load_areas(DATA)
    events["stadsdelsomrade"] = events["stadsdelsomrade"].map(
        lambda n: areas.to_2024(n) if n in known else n
    )
    raster = out / "rasters" / f"density_{Layer.POLICE_EVENT}_{period.slug}.tif"
    scene = replace(scene, period=period, events=events, grid=outputs.read_geotiff(raster))
    land = gpd.read_file(DATA / "boundaries" / "stadsdelar_117_utan_vatten_simplified.geojson")
    water = render.water_polygons(areas.kommun, land)
    return settings, scene, water


def make_city(maps: render.MapScene):
    return publish.city_map(maps)


def make_district(maps: render.MapScene, district: str):
    return publish.district_map(maps, district)


def make_report(reports: report.ReportScene, district: str, map_html: str) -> str:
    return report.lagesbild_html(
        reports, district, map_html=map_html, map_link=f"../maps/{publish.slug(district)}.html"
    )


def write_all(scene, water, out: Path, profile: str, monthly: bool) -> dict:
    """Make and write every map and report (with a density grid per month when
    ``monthly``: made here, timed with the maps); sizes and times."""
    sizes: dict[str, float] = {}
    t_render = t_inline = 0.0
    t0 = time.perf_counter()
    # The monthly grids are made with the scene (publish.monthly_grids), timed with the maps.
    scene_maps = publish.map_scene(
        replace(scene, water=water), export_profile(profile), months=monthly
    )
    maps = [("stockholm", "city", make_city(scene_maps))]
    district_html = {}
    for name in scene.districts["name"]:
        district = make_district(scene_maps, name)
        maps.append((publish.slug(name), "district", district))
    for slug, kind, m in maps:
        t = time.perf_counter()
        cdn = m.get_root().render()
        t_render += time.perf_counter() - t
        t = time.perf_counter()
        html = render.to_html(m)
        t_inline += time.perf_counter() - t
        path = out / "maps" / f"{slug}.html"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html, encoding="utf-8")
        sizes[f"{kind}:{slug}"] = len(html.encode())
        sizes[f"cdn:{slug}"] = len(cdn.encode())
        if kind == "district":
            district_html[slug] = html
    t_maps = time.perf_counter() - t0
    t1 = time.perf_counter()
    reports = publish.report_scene(scene, export_profile(profile))
    for name in scene.districts["name"]:
        slug = publish.slug(name)
        page = make_report(reports, name, district_html[slug])
        path = out / "reports" / f"{slug}.html"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(page, encoding="utf-8")
        sizes[f"report:{slug}"] = len(page.encode())
    t_reports = time.perf_counter() - t1
    return {
        "sizes": sizes,
        "t_maps": t_maps,
        "t_reports": t_reports,
        "t_render": t_render,
        "t_inline": t_inline,
    }


def _only(url: str):
    """A route handler that lets the page's own file through and aborts everything else."""

    def handler(route) -> None:
        if route.request.url == url:
            route.continue_()
        else:
            route.abort()

    return handler


def load_times(paths: list[Path], repeat: int = 5) -> dict[Path, float] | str:
    """Median load-event time (s) of each file in headless Chromium, network blocked."""
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (apt-get install -y chromium): load times skipped"
    from playwright.sync_api import sync_playwright

    out: dict[Path, float] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        for path in paths:
            runs = []
            for _ in range(repeat):
                page = browser.new_page(viewport={"width": 1280, "height": 860})
                url = path.resolve().as_uri()
                page.route("**/*", _only(url))
                page.goto(url, wait_until="load")
                runs.append(
                    page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
                    / 1000
                )
                page.close()
            out[path] = statistics.median(runs)
        browser.close()
    return out


def floor_page(out: Path) -> Path:
    """An empty map with the same libraries: what any offline Leaflet page costs to open."""
    m = render.base_map((660_000, 6_570_000, 690_000, 6_600_000))
    _finish(m)
    path = out / "floor.html"
    path.write_text(render.to_html(m), encoding="utf-8")
    return path


def main() -> int:
    if not (DATA / "police_events").is_dir():
        print(f"no real data at {DATA}: nothing to measure")
        return 0
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        for label, period in (
            ("2022-09 – 2025-12", Period.months("2022-09", "2025-12")),
            ("last 12 months", None),
        ):
            work = tmp_path / label.replace(" ", "_")
            t = time.perf_counter()
            _, scene, water = prepare(work / "processed", period)
            t_prepare = time.perf_counter() - t
            for profile, monthly in (("public", True), ("public", False), ("internal", True)):
                out = work / f"{profile}{'_monthly' if monthly else ''}"
                result = write_all(scene, water, out, profile, monthly)
                name = profile + (" + monthly density" if monthly else "")
                rows.append((label, name, scene, result, out, t_prepare))
        floor = floor_page(tmp_path)
        targets = [floor]
        for _label, profile, _scene, _result, out, _ in rows:
            if profile.startswith("public"):
                targets += [
                    out / "maps" / "stockholm.html",
                    out / "maps" / "sodermalm.html",
                    out / "reports" / "sodermalm.html",
                ]
        times = load_times(targets)

    print("\n== Sizes (MB)")
    print(
        f"{'period':<19} {'profile':<26} {'file':<40} {'MB':>7} {'target':>7} {'ok':>3} "
        f"{'vs CDN page':>11}"
    )
    for label, profile, _scene, result, _, _ in rows:
        sizes = result["sizes"]
        city = sizes["city:stockholm"]
        districts = {k: v for k, v in sizes.items() if k.startswith("district:")}
        reports = {k: v for k, v in sizes.items() if k.startswith("report:")}
        largest = max(districts, key=districts.get)
        lines = [
            ("city map", city, TARGETS["city"], city / sizes["cdn:stockholm"]),
            (
                f"largest district ({largest.split(':')[1]})",
                districts[largest],
                TARGETS["district"],
                districts[largest] / sizes[f"cdn:{largest.split(':')[1]}"],
            ),
            ("median district", statistics.median(districts.values()), TARGETS["district"], None),
            ("largest report", max(reports.values()), None, None),
        ]
        for name, size, target, ratio in lines:
            ok = "" if target is None else ("yes" if size < target else "NO")
            tgt = "" if target is None else f"{target / MB:.0f}"
            rat = "" if ratio is None else f"{ratio:.2f}×"
            print(
                f"{label:<19} {profile:<26} {name:<40} {size / MB:>7.2f} {tgt:>7} {ok:>3} {rat:>11}"
            )

    print("\n== Time to make and write every map and report (s)")
    print(
        f"{'period':<19} {'profile':<26} {'events':>7} {'maps':>6} {'reports':>8} {'total':>6} "
        f"{'target':>6} {'ok':>3} {'inline/render':>13} {'prepare':>8}"
    )
    for label, profile, scene, result, _, t_prepare in rows:
        total = result["t_maps"] + result["t_reports"]
        print(
            f"{label:<19} {profile:<26} {len(scene.in_period):>7} {result['t_maps']:>6.1f} "
            f"{result['t_reports']:>8.1f} {total:>6.1f} {60:>6} {'yes' if total < 60 else 'NO':>3} "
            f"{result['t_inline'] / result['t_render']:>12.2f}× {t_prepare:>8.1f}"
        )

    print("\n== Load event in headless Chromium, network blocked (s, median of 5)")
    if isinstance(times, str):
        print(times)
    else:
        base = times[floor]
        print(f"{'file':<58} {'s':>6} {'target':>6} {'ok':>3} {'vs empty map':>12}")
        for path, t in times.items():
            name = "empty map (floor)" if path == floor else "/".join(path.parts[-4:])
            ok = "yes" if t < 3 else "NO"
            print(f"{name:<58} {t:>6.2f} {3:>6} {ok:>3} {t / base:>11.1f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
