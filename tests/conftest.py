"""Shared fixtures: paths to the real data and tiny hand-written inputs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TEST_DATA = Path(__file__).resolve().parent / "data"


def _shared_data() -> Path | None:
    explicit = os.environ.get("TRYGGHETSKARTA_DATA")
    candidate = Path(explicit) if explicit else REPO.parent / "shared" / "data"
    return candidate if (candidate / "police_events").is_dir() else None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real public data beside the checkout; skips the test when it is absent."""
    path = _shared_data()
    if path is None:
        pytest.skip("../shared/data is not beside the checkout (set TRYGGHETSKARTA_DATA to run)")
    return path


@pytest.fixture
def test_data() -> Path:
    """Tiny hand-written fixtures in the real formats."""
    return TEST_DATA


@pytest.fixture(scope="session")
def real_run(shared_data, tmp_path_factory):
    """The whole pipeline once over the real data, into a temporary output directory.

    Returns ``(settings, report)``; tests read the database and files it wrote.
    """
    from trygghetskarta import pipeline
    from trygghetskarta.config import load_settings

    out = tmp_path_factory.mktemp("processed")
    env = {"TRYGGHETSKARTA_DATA": str(shared_data), "TRYGGHETSKARTA_PROCESSED": str(out)}
    settings = load_settings(REPO, env=env)
    return settings, pipeline.run(settings)


@pytest.fixture
def districts():
    """Three districts of a tiny town in EPSG:3006: Norr north of Söder (2 × 2 km
    each), Väster west of both (2 × 4 km)."""
    import geopandas as gpd
    from shapely.geometry import box

    return gpd.GeoDataFrame(
        {"name": ["Norr", "Söder", "Väster"]},
        geometry=[
            box(673_000, 6_580_000, 675_000, 6_582_000),
            box(673_000, 6_578_000, 675_000, 6_580_000),
            box(671_000, 6_578_000, 673_000, 6_582_000),
        ],
        crs="EPSG:3006",
    )
