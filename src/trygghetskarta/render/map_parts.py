"""The pieces of the maps: source layers, their names, counts and drawing steps.

Part of :mod:`trygghetskarta.render`, used by :mod:`trygghetskarta.render.maps` (which
builds the city and district maps from them): :class:`MapLayer` (one source layer), the
names of its layers in the layer control, its counts per area and month with the
profile's suppression, and the steps that draw its density, hot spots, counts and markers.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd

from trygghetskarta.config import STORE_CRS
from trygghetskarta.coverage import Coverage
from trygghetskarta.errors import SchemaError, TrygghetskartaWarning
from trygghetskarta.render.basemap import add_events, set_group
from trygghetskarta.render.coverage import month_notes
from trygghetskarta.render.disclosure import Constraint, Disclosure, ledger_html
from trygghetskarta.render.format import (
    SUPPRESSED_LABEL,
    Period,
    category_label,
    esc,
    fmt_count,
    fmt_int,
    fmt_month_in,
    fmt_period,
    period_bounds,
)
from trygghetskarta.render.layers import (
    CLUSTER_LAYER_NAME,
    EMERGING_LAYER_NAME,
    GI_LAYER_NAME,
    MORAN_LAYER_NAME,
    STADSDEL_GI_LAYER_NAME,
    AnalysisLayers,
    add_clusters,
    add_emerging,
    add_gi_star_cells,
    add_local_moran,
    add_no_gi_cells,
    add_stadsdel_gi,
)
from trygghetskarta.render.profile import (
    ExportProfile,
)
from trygghetskarta.render.published import WHOLE, city_table, stadsdel_table
from trygghetskarta.render.raster import DensityGrid, add_density
from trygghetskarta.render.timeline import (
    _pivot,
    add_area_counts,
    add_month_slider,
    month_of,
    months_between,
)
from trygghetskarta.render.vector import (
    area_geojson,
    label_points,
    to_web,
)
from trygghetskarta.render.verbatim import Verbatim
from trygghetskarta.schema import LAYER_LABELS_SV, Layer

if TYPE_CHECKING:
    from trygghetskarta.render.maps import MapScene

DENSITY_LAYER_NAME = "Täthet (händelser per km²)"
#: What a layer's events are called in sentences ("fler anmälda brott än omgivningen").
NOUNS_SV = {
    Layer.POLICE_EVENT.value: "händelser",
    Layer.REPORTED_CRIME.value: "anmälda brott",
    Layer.SHOOTING.value: "skjutningar",
    Layer.FIRE.value: "bränder",
}
#: Sentence under every density legend: the ramp is the same on every map of the run.
SAME_SCALE_NOTE = (
    "Samma färgskala på stadskartan och på varje stadsdelsområdes karta (en "
    "stadsdelsområdeskarta zoomar in, den färgar inte om)."
)


#: The source layers' names on the maps: the police's notices are called what they are
#: (press notices, not all crimes); the others as in the schema.
MAP_LABELS_SV = {Layer.POLICE_EVENT.value: "Polisens händelsenotiser"}


def map_label(layer: str) -> str:
    """A source layer's Swedish name on the maps: ``"police_event"`` → "Polisens
    händelsenotiser", ``"shooting"`` → "Skjutningar"."""
    return MAP_LABELS_SV.get(layer, LAYER_LABELS_SV[Layer(layer)])


def density_name(label: str) -> str:
    """The layer control's name of a source layer's density: ``Täthet per km² – Skjutningar``."""
    return f"Täthet per km² – {label}"


def hotspot_name(label: str) -> str:
    """The name of a source layer's Gi* cells (hot and cold spots)."""
    return f"{GI_LAYER_NAME} – {label}"


def count_fill_name(label: str, *, district: bool = False) -> str:
    """The name of a source layer's count choropleth (per district, or per stadsdel)."""
    return f"Antal per {'stadsdel' if district else 'stadsdelsområde'} (färg) – {label}"


def count_labels_name(label: str, *, district: bool = False) -> str:
    """The name of a source layer's count labels (per district, or per stadsdel)."""
    return f"Antal per {'stadsdel' if district else 'stadsdelsområde'} (siffror) – {label}"


def events_name(label: str) -> str:
    """The name of a source layer's event markers (internal profile)."""
    return f"Enskilda händelser – {label}"


@dataclass(frozen=True)
class MapLayer:
    """One source layer of a map: police notices, reported crimes, shootings or fires.

    Attributes
    ----------
    layer
        The :class:`~trygghetskarta.schema.Layer` value (``"reported_crime"`` …).
    label
        Its Swedish name on the map ("Anmälda brott"); layer names and popups use it.
    events
        The layer's events of the period (columns as :attr:`MapScene.events`), or ``None``.
    grid, monthly_grids
        Its density raster of the period and per month (see :attr:`MapScene.grid`).
    analysis
        Its analysis tables (Gi* cells … ; see :class:`AnalysisLayers`).
    """

    layer: str
    label: str
    events: pd.DataFrame | None = None
    grid: DensityGrid | None = None
    monthly_grids: Mapping[object, DensityGrid] | None = None
    analysis: AnalysisLayers | None = None

    @property
    def noun(self) -> str:
        """What its events are called in a sentence ("anmälda brott")."""
        return NOUNS_SV.get(self.layer, "händelser")

    def key(self, name: str) -> str:
        """An area's name in this layer's disclosure cells: police notices keep the name
        (the cells the lägesbild shares), other layers prefix it (``shooting/Järva``)."""
        return name if self.layer == Layer.POLICE_EVENT.value else f"{self.layer}/{name}"


def _slider_months(period: Period, events: pd.DataFrame | None) -> list[pd.Timestamp]:
    """The months of the period, or of the events when the period is a free text."""
    bounds = period_bounds(period)
    if bounds is not None:
        return months_between(*bounds)
    if events is None or events.empty or "occurred_at" not in events.columns:
        return []
    month = month_of(events["occurred_at"].dropna())
    return months_between(month.min(), month.max()) if not month.empty else []


def _check_events(events: pd.DataFrame, area_col: str) -> None:
    missing = [c for c in ("occurred_at", area_col) if c not in events.columns]
    if missing:
        raise SchemaError(
            f"events need columns occurred_at and {area_col} for the month slider, "
            f"missing {missing} — pass the events table's rows"
        )


@dataclass(frozen=True)
class _Counts:
    """One source layer's counts per area and month, as the map publishes them."""

    months: list[pd.Timestamp]
    events: pd.DataFrame  # the rows counted (in the slider's months)
    ledgers: list[Disclosure]
    mask: np.ndarray | None  # suppressed, area × (whole period, months); None: internal
    whole: list[str]  # each area's whole-period count as shown ("dolt" where suppressed)
    unplaced: int | None
    # each area's whole-period count per category, as shown: [(label, text)]
    categories: list[list[tuple[str, str]]] = dataclasses.field(default_factory=list)


def _count_table(
    areas: gpd.GeoDataFrame,
    events: pd.DataFrame,
    months: list[pd.Timestamp],
    *,
    source: MapLayer,
    area_col: str,
    profile: ExportProfile,
    district: tuple[str, pd.DataFrame, int | None] | None = None,
) -> _Counts:
    """A layer's counts per area and month with the profile's suppression (pure).

    ``district`` is ``(name, all its events, unplaced)`` on a district map, whose stadsdel
    counts are published together with the district's own row of the city map."""
    in_months = events[month_of(events["occurred_at"]).isin(months).to_numpy()]
    names = [str(n) for n in areas["name"]]
    counts = _pivot(in_months, area_col, names, months)
    keys = [source.key(n) for n in names]
    unplaced = None
    if district is None:
        ledgers, mask = city_table(profile, keys, months, counts)
    else:
        name, everything, n_unplaced = district
        inside = everything[month_of(everything["occurred_at"]).isin(months).to_numpy()]
        row = _pivot(inside.assign(_d=name), "_d", [name], months)[0, 1:]
        ledgers, mask, unplaced = stadsdel_table(
            profile, source.key(name), keys, months, counts, row, n_unplaced
        )
    if profile.public:
        whole = [
            SUPPRESSED_LABEL if h else fmt_int(c)
            for c, h in zip(counts[:, 0], mask[:, 0], strict=True)
        ]
    else:
        whole = [fmt_count(c, profile=profile) for c in counts[:, 0]]
    level = "sd" if district is not None else "sdo"
    cats, cat_ledgers = _category_rows(
        in_months,
        area_col,
        names,
        keys,
        level,
        counts[:, 0],
        mask[:, 0] if profile.public else np.zeros(len(names), dtype=bool),
        profile,
    )
    return _Counts(
        months,
        in_months,
        ledgers + cat_ledgers,
        mask if profile.public else None,
        whole,
        unplaced,
        cats,
    )


def _category_rows(
    events: pd.DataFrame,
    area_col: str,
    names: Sequence[str],
    keys: Sequence[str],
    level: str,
    whole: np.ndarray,
    whole_hidden: np.ndarray,
    profile: ExportProfile,
) -> tuple[list[list[tuple[str, str]]], list[Disclosure]]:
    """Each area's whole-period count per category, suppressed as a row whose total is
    the area's count published beside it (``fixed``: shown or suppressed as there).

    ``level`` is ``sdo`` (districts) or ``sd`` (stadsdelar): the cells are
    ``mapcat|<level>|<area>|<category>``, so that a stadsdel named like its district
    ("Farsta") never shares a cell with it.

    Every category of the layer is listed for every area (a missing one would say "0").
    Events without a category count as "other". No ``category`` column: no rows."""
    if "category" not in events.columns or events.empty:
        return [[] for _ in names], []
    category = events["category"].fillna("other").astype(str)
    table = (
        pd.DataFrame({"area": events[area_col].to_numpy(), "cat": category.to_numpy()})
        .value_counts()
        .unstack(fill_value=0)
    )
    order = list(table.sum(axis=0).sort_values(ascending=False, kind="stable").index)
    table = table.reindex(index=list(names), columns=order, fill_value=0)
    rows: list[list[tuple[str, str]]] = []
    ledgers: list[Disclosure] = []
    for i, key in enumerate(keys):
        values = {
            f"mapcat|{level}|{esc(key)}|{esc(c)}": int(table.iat[i, j]) for j, c in enumerate(order)
        }
        if sum(values.values()) != int(whole[i]):
            rows.append([])  # not a partition of the count shown (cannot happen): no rows
            continue
        total = f"{level}|{esc(key)}|{WHOLE}"
        ledger = profile.suppress(
            {**values, total: int(whole[i])},
            [Constraint(total, tuple(values))],
            fixed={total: bool(whole_hidden[i])},
            name=f"mapcat|{level}|{esc(key)}",
        )
        ledgers.append(ledger)
        rows.append(
            [
                (category_label(c), profile.text(ledger.shown[cell]))
                for c, cell in zip(order, values, strict=True)
            ]
        )
    return rows, ledgers


def _add_counts(
    m: folium.Map,
    areas: gpd.GeoDataFrame,
    table: _Counts,
    *,
    source: MapLayer,
    area_col: str,
    period: Period,
    profile: ExportProfile,
    district: bool,
    lead: bool,
) -> None:
    """Draw a layer's count labels and count choropleth (see :func:`add_area_counts`)."""
    web = to_web(areas, "areas")
    local = areas.to_crs(STORE_CRS)
    local = local[local["name"].isin(web["name"])]
    labels = count_labels_name(source.label, district=district)
    fill = count_fill_name(source.label, district=district)
    add_area_counts(
        m,
        local,
        table.events,
        area_col=area_col,
        months=table.months,
        profile=profile,
        geojson=area_geojson(web),
        label_points=label_points(local),
        name_labels=labels,
        name_fill=fill,
        show_labels=lead,
        note=None,
        suppressed=table.mask,
        month_texts=[fmt_month_in(mo, period) for mo in table.months],
    )
    set_group(m, labels, "labels")
    set_group(m, fill, "area")


def _add_slider(
    m: folium.Map, months: list[pd.Timestamp], period: Period, coverage: Coverage | None
) -> None:
    add_month_slider(
        m,
        months,
        period_label=fmt_period(period),
        month_texts=[fmt_month_in(mo, period) for mo in months],
        month_notes=month_notes(coverage, months),
    )


def _figures(
    names: Sequence[str], sources: Sequence[MapLayer], tables: Sequence[_Counts]
) -> dict[str, list[tuple[str, str, list[tuple[str, str]]]]]:
    """Each area's whole-period count per source layer, as shown, with its categories:
    ``[(label, text, [(category, text)])]``."""
    return {
        n: [
            (src.label, t.whole[i], t.categories[i] if t.categories else [])
            for src, t in zip(sources, tables, strict=True)
        ]
        for i, n in enumerate(names)
    }


def _add_ledger(m: folium.Map, profile: ExportProfile, ledgers: Sequence[Disclosure]) -> None:
    """Embed what the map's counts show, for audits (see :mod:`.disclosure`)."""
    if profile.public and ledgers:
        m.get_root().html.add_child(
            Verbatim(ledger_html(ledgers, min_count=profile.min_count)), name="tk_ledger"
        )


def _monthly_grids(
    monthly_grids: Mapping[object, DensityGrid] | None, months: Sequence[pd.Timestamp]
) -> list[DensityGrid | None] | None:
    """The grids in the slider's month order (``None`` where a month has none)."""
    if not monthly_grids or not months:
        return None
    by_month = {pd.Timestamp(str(k)).to_period("M"): g for k, g in monthly_grids.items()}
    return [by_month.get(pd.Timestamp(mo).to_period("M")) for mo in months]


def _density(
    m: folium.Map,
    source: MapLayer,
    clip_to: object,
    profile: ExportProfile,
    *,
    scale_to: object,
    show: bool,
    monthly: list[DensityGrid | None] | None = None,
) -> None:
    grid = source.grid
    marked = str(grid.params.get("sensitive", "")).lower() == "excluded"
    if profile.public and not marked:
        # one warning per message under the default filter, not one per map
        warnings.warn(
            "public map: the density raster does not say it leaves sensitive events out "
            "(params['sensitive'] != 'excluded'); compute it without them for public maps",
            TrygghetskartaWarning,
            stacklevel=1,
        )
    name = density_name(source.label)
    add_density(
        m,
        grid,
        name=name,
        legend_title=f"{source.label} per km²",
        clip_to=clip_to,
        scale_to=scale_to,
        scale_note=SAME_SCALE_NOTE,
        min_cell=profile.min_cell_m,
        show=show,
        monthly=monthly,
    )
    set_group(m, name, "area")


def _analysis(
    m: folium.Map, source: MapLayer, layers: AnalysisLayers, profile: ExportProfile, lead: bool
) -> None:
    """The layer's Gi* cells; for the lead layer also its other analysis layers."""
    label = source.label
    drawn = [(hotspot_name(label), add_gi_star_cells, layers.gi_cells)]
    if lead:
        drawn += [
            (f"{STADSDEL_GI_LAYER_NAME} – {label}", add_stadsdel_gi, layers.gi_stadsdelar),
            (f"{MORAN_LAYER_NAME} – {label}", add_local_moran, layers.moran),
            (f"{EMERGING_LAYER_NAME} – {label}", add_emerging, layers.emerging),
            (f"{CLUSTER_LAYER_NAME} – {label}", add_clusters, layers.clusters),
        ]
    for name, add, table in drawn:
        if add is add_gi_star_cells and (table is None or table.empty):
            add_no_gi_cells(m, name=name, what=source.noun)
        elif add is add_gi_star_cells:
            add(m, table, profile=profile, name=name, what=source.noun)
        else:
            add(m, table, profile=profile, name=name)
        set_group(m, name, "area")


def _markers(
    m: folium.Map,
    scene: MapScene,
    source: MapLayer,
    events: pd.DataFrame,
    months: list,
    *,
    show: bool,
) -> str | None:
    """Internal profile: the layer's events as markers (on at start for the lead layer),
    or a note why not (too many)."""
    if not scene.profile.show_points or events.empty:
        return None
    if len(events) > scene.max_markers:
        return (
            f"{source.label}: {fmt_int(len(events))} händelser är fler än "
            f"{fmt_int(scene.max_markers)} och visas inte som punkter."
        )
    add_events(m, events, name=events_name(source.label), months=months or None, show=show)
    return None
