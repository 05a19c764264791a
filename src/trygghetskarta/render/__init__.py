"""Maps: functions that take data and return or extend a :class:`folium.Map`.

Every function takes the map to draw on (``m``) and returns it, like geopandas'
``explore``. Inputs are in SWEREF99 TM (EPSG:3006); this package
is the only place that reprojects to EPSG:4326 (with ``always_xy=True``). Nothing here
writes files: the pipeline writes ``to_html(m)``.

**Self-contained.** :func:`to_html` renders a map with every script, style sheet and icon
inside the page (Leaflet and its plugins are vendored, see ``resources/vendor``); the
file opens from a file share with no network. Maps need no online tiles: the background
is plain, water is drawn from the city's own boundaries (:func:`add_water`), and an
OpenStreetMap layer can be offered as an overlay that is off until the user switches it on.

**Time.** A map made with ``events`` gets one month slider (position 0 is the whole
period); the count labels, the count choropleth and, in the internal profile, the event
markers follow it.

**Profiles** (rules in :mod:`.profile`): ``public`` maps show areas, density surfaces on cells
of at least 200 m and counts (below five shown as "färre än 5"), never individual events or
their text, and count sensitive events only per district; ``internal`` maps may add
clustered event markers with popups. Text from sources is data: it is escaped everywhere
(see :func:`trygghetskarta.render.format.esc` and :func:`~trygghetskarta.render.format.js_json`) and
never compiled as a template (see :mod:`trygghetskarta.render.verbatim`; :func:`to_html`
checks the map before rendering it).

This package's public API is what it imports here; its modules are private to it: ``maps``
(city and district maps), ``basemap`` (base map, events, :func:`to_html`), ``raster``,
``vector``, ``timeline``, ``legend``, ``layers`` (the analyse step's layers), ``report`` and
``report_parts`` (the lägesbild page), ``conclusions`` (its summary sentences),
``static_map`` (its maps as images for print), ``csv_links`` (its tables as CSV),
``svg`` (its charts), ``profile`` (the export
profiles), ``published`` and ``disclosure`` (suppression and ledgers), ``format``,
``verbatim``, ``assets`` and ``marking``.
"""

from __future__ import annotations

from trygghetskarta.render.assets import external_references
from trygghetskarta.render.basemap import (
    OSM_LAYER_NAME,
    add_events,
    base_map,
    fold_controls,
    show_only,
    to_html,
    to_wgs84,
)
from trygghetskarta.render.conclusions import Measure, measure_sentence, near_repeat_sentence
from trygghetskarta.render.coverage import gaps_between
from trygghetskarta.render.csv_links import csv_data_uri, csv_link, guard_cell
from trygghetskarta.render.disclosure import (
    Disclosure,
    audit_ledgers,
    ledger_html,
    read_ledgers,
    recovered,
)
from trygghetskarta.render.index import IndexEntry, index_html
from trygghetskarta.render.layers import (
    GI_LAYER_NAME,
    AnalysisLayers,
    add_analysis_layers,
    sample_note,
)
from trygghetskarta.render.legend import add_info_box, quantile_edges
from trygghetskarta.render.map_parts import (
    DENSITY_LAYER_NAME,
    MapLayer,
    count_fill_name,
    count_labels_name,
    density_name,
    hotspot_name,
    map_label,
)
from trygghetskarta.render.maps import MapScene, city_map, district_map
from trygghetskarta.render.marking import mark_internal
from trygghetskarta.render.outlook import Outlook, outlook_sections
from trygghetskarta.render.profile import INTERNAL, PUBLIC, ExportProfile, export_profile
from trygghetskarta.render.raster import DensityGrid, add_density
from trygghetskarta.render.report import (
    ReportScene,
    bra_source,
    heatmap_layout,
    hour_weekday_table,
    lagesbild_html,
    monthly_table,
    named_places,
)
from trygghetskarta.render.static_map import density_png, hotspot_png
from trygghetskarta.render.vector import (
    MISSING_COLOR,
    add_count_labels,
    add_districts,
    add_water,
    water_polygons,
)

__all__ = [
    "DENSITY_LAYER_NAME",
    "GI_LAYER_NAME",
    "INTERNAL",
    "MISSING_COLOR",
    "OSM_LAYER_NAME",
    "PUBLIC",
    "AnalysisLayers",
    "DensityGrid",
    "Disclosure",
    "ExportProfile",
    "IndexEntry",
    "MapLayer",
    "MapScene",
    "Measure",
    "Outlook",
    "ReportScene",
    "add_analysis_layers",
    "add_count_labels",
    "add_density",
    "add_districts",
    "add_events",
    "add_info_box",
    "add_water",
    "audit_ledgers",
    "base_map",
    "bra_source",
    "city_map",
    "count_fill_name",
    "count_labels_name",
    "csv_data_uri",
    "csv_link",
    "density_name",
    "density_png",
    "district_map",
    "export_profile",
    "external_references",
    "fold_controls",
    "gaps_between",
    "guard_cell",
    "heatmap_layout",
    "hotspot_name",
    "hotspot_png",
    "hour_weekday_table",
    "index_html",
    "lagesbild_html",
    "ledger_html",
    "map_label",
    "mark_internal",
    "measure_sentence",
    "monthly_table",
    "named_places",
    "near_repeat_sentence",
    "outlook_sections",
    "quantile_edges",
    "read_ledgers",
    "recovered",
    "sample_note",
    "show_only",
    "to_html",
    "to_wgs84",
    "water_polygons",
]
