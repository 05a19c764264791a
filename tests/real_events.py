"""Real police events, parsed and placed the way the pipeline does it, for realdata tests.

Built once per data directory and test session (parsing and geocoding the archive takes a
few seconds) and shared by the analysis tests; never written anywhere.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd

from trygghetskarta import areas as areas_mod
from trygghetskarta import geocode
from trygghetskarta.schema import GEOCODED_COLUMNS
from trygghetskarta.sources import polisen

#: The archive files the pipeline reads (pipeline.POLICE_ARCHIVE_GLOBS).
ARCHIVE_GLOBS = ("polisen_events_*.parquet", "*events_with_text*.json")


@functools.lru_cache(maxsize=2)
def placed_police_events(data_dir: Path) -> pd.DataFrame:
    """Stockholm's police events with the geocoder's positions and districts."""
    files = [f for g in ARCHIVE_GLOBS for f in sorted((data_dir / "police_events").glob(g))]
    parsed = polisen.parse(files)
    areas = areas_mod.load_areas(data_dir)
    gazetteer = geocode.load_gazetteer(data_dir, areas)
    positions = geocode.geocode_events(parsed.events, gazetteer, areas)
    kept = parsed.events.drop(columns=[c for c in GEOCODED_COLUMNS if c in parsed.events])
    return kept.join(positions[list(GEOCODED_COLUMNS)])


@functools.lru_cache(maxsize=2)
def real_areas(data_dir: Path) -> areas_mod.Areas:
    """The district layers (cached)."""
    return areas_mod.load_areas(data_dir)
