"""Size of the city map with a SYNTHETIC reported-crime layer of 50k, 200k and 1M events.

Run with ``.venv/bin/python bench/bench_map_size.py`` (needs ``../shared/data`` for the
boundaries; nothing is written to the repository). The events are synthetic: seeded
points clustered around the stadsdelar's centres (more where more people live, as crime
is), times spread over 2025, Brå-like categories, a share flagged sensitive. Each size is
drawn as a reported-crime layer (density, counts per district and month) beside
a small police layer, in the public and the internal profile, and the HTML file's size is
printed with its ratio to the same map without the crime layer. The public map holds no
points, so its size must not grow with the number of events; the internal one shows
points only up to ``MapScene.max_markers`` (20 000) and says so above it.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from trygghetskarta import areas as areas_mod
from trygghetskarta import render
from trygghetskarta.analysis.density import kde
from trygghetskarta.render.profile import export_profile

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
SIZES = (15_000, 200_000, 1_000_000)
SEED = 20261203
CATEGORIES = ["theft_burglary", "violence", "vandalism", "drugs", "other", "robbery", "traffic"]
SHARES = [0.45, 0.15, 0.12, 0.1, 0.1, 0.03, 0.05]


def synthetic_events(n: int, areas: areas_mod.Areas, rng: np.random.Generator) -> pd.DataFrame:
    """``n`` SYNTHETIC events clustered around the stadsdelar (never shipped as data)."""
    sd = areas.stadsdelar.to_crs(3006)
    centres = sd.geometry.representative_point()
    weights = np.sqrt(sd.geometry.area.to_numpy())
    pick = rng.choice(len(sd), size=n, p=weights / weights.sum())
    x = centres.x.to_numpy()[pick] + rng.normal(0, 350, n)
    y = centres.y.to_numpy()[pick] + rng.normal(0, 350, n)
    start = pd.Timestamp("2025-01-01", tz="Europe/Stockholm")
    when = start + pd.to_timedelta(rng.uniform(0, 365 * 86_400, n), unit="s")
    placed = areas_mod.assign(pd.Series(x), pd.Series(y), when, areas)
    return pd.DataFrame(
        {
            "occurred_at": when,
            "x": x,
            "y": y,
            "stadsdel": placed["stadsdel"].to_numpy(),
            "stadsdelsomrade": placed["stadsdelsomrade"].to_numpy(),
            "category": rng.choice(CATEGORIES, size=n, p=SHARES),
            "sensitive": rng.random(n) < 0.02,
            "summary": None,
        }
    ).dropna(subset=["stadsdelsomrade"])


def layer(events: pd.DataFrame, kind: str, districts: gpd.GeoDataFrame) -> render.MapLayer:
    shown = events[~events["sensitive"]]
    grid = kde(
        shown["x"].to_numpy(),
        shown["y"].to_numpy(),
        cell_size=100.0,
        bandwidth=300.0,
        mask=districts.geometry.union_all(),
    )
    grid.params["sensitive"] = "excluded"
    return render.MapLayer(kind, render.map_label(kind), events, grid=grid)


def html_size(districts, stadsdelar, layers, profile: str) -> tuple[int, float]:
    scene = render.MapScene(
        districts=districts,
        stadsdelar=stadsdelar,
        period=("2025-01-01", "2025-12-31"),
        sources=["SYNTETISKA data"],
        made_at=pd.Timestamp("2026-01-01").to_pydatetime(),
        profile=export_profile(profile),
        layers=layers,
    )
    t0 = time.perf_counter()
    html = render.to_html(render.city_map(scene))
    return len(html.encode("utf-8")), time.perf_counter() - t0


def main() -> int:
    if not DATA.is_dir():
        print(f"skipped: no real boundaries at {DATA}", file=sys.stderr)
        return 0
    areas = areas_mod.load_areas(DATA)
    districts = areas.districts(areas_mod.SCHEME_2024)
    stadsdelar = areas.stadsdelar[["name", "geometry"]]
    rng = np.random.default_rng(SEED)
    police = layer(synthetic_events(1_200, areas, rng), "police_event", districts)
    for profile in ("public", "internal"):
        base, base_s = html_size(districts, stadsdelar, [police], profile)
        print(f"{profile}: police layer only (1 200 events): {base / 1e6:.2f} MB, {base_s:.1f} s")
        for n in SIZES:
            crimes = layer(synthetic_events(n, areas, rng), "reported_crime", districts)
            size, secs = html_size(districts, stadsdelar, [crimes, police], profile)
            print(
                f"{profile}: + {n:>9,} SYNTHETIC reported crimes: {size / 1e6:.2f} MB "
                f"({size / base:.2f}× the police-only map), {secs:.1f} s to render"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
