"""The index page of a profile's folder: ``<processed>/<profile>/index.html``.

Part of the wiring layer (:mod:`trygghetskarta.pipeline.publish` calls it after the
``maps`` and after the ``report`` step): it lists the city map and each district's map
and lägesbild that exist in the folder, with the period they show, through
:func:`trygghetskarta.render.index_html`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from trygghetskarta import render
from trygghetskarta.pipeline import outputs
from trygghetskarta.render import ExportProfile

__all__ = ["INDEX_FILE", "index_entries", "write_index"]

#: The index page of a profile's folder.
INDEX_FILE = "index.html"
TITLE = "Trygghetskarta – kartor och lägesbilder"


def index_entries(
    folder: Path,
    *,
    districts: Sequence[str],
    period: str,
    slug: Callable[[str], str],
    city_file: str,
) -> list[render.IndexEntry]:
    """The rows: the city map, then each district's map and lägesbild, each linked where
    its file exists under ``folder`` (``maps/…``, ``reports/…``)."""

    def href(kind: str, name: str) -> str | None:
        return f"{kind}/{name}" if (folder / kind / name).is_file() else None

    rows = [render.IndexEntry("Hela Stockholm", period, href("maps", city_file), None)]
    for district in districts:
        name = f"{slug(district)}.html"
        rows.append(render.IndexEntry(district, period, href("maps", name), href("reports", name)))
    return rows


def write_index(
    folder: Path,
    *,
    districts: Sequence[str],
    period: str,
    made_at: datetime,
    profile: ExportProfile,
    slug: Callable[[str], str],
    city_file: str,
) -> Path:
    """Write ``folder/index.html`` (marked "INTERNT" in the internal profile) and return it."""
    page = render.index_html(
        index_entries(folder, districts=districts, period=period, slug=slug, city_file=city_file),
        title=TITLE,
        made_at=made_at,
        notes=[
            "Varje karta visar polisens händelsenotiser och de andra källor som finns för "
            "perioden (anmälda brott, skjutningar, bränder) som lager: täthet, hot spots "
            "och antal per område. Lägesbilden sammanfattar ett stadsdelsområde.",
            *profile.map_notes,
        ],
    )
    path = folder / INDEX_FILE
    outputs.write_text(path, profile.page(page))
    return path
