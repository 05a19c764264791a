"""Static map images for the printed lägesbild: the same data as the embedded maps.

A printed page cannot run Leaflet, so the report carries each map a second time as a
PNG made at build time with matplotlib (a ``Figure`` without pyplot: no display, no
network, no tiles): the
district's boundary over its neighbours' and the water, and either the density raster
(:func:`density_png`) or the Gi* hot and cold cells (:func:`hotspot_png`). Both work in
EPSG:3006 (the store's metres) and return ``data:image/png;base64,…`` URIs that the page
embeds in ``<img>`` (shown only in print).

Density and hotspots cannot be mistaken for each other: the density is drawn in a
sequential purple scale (the water is light blue), the same scale for every district
(the city's highest cell value ends it), while hot spots are red and cold spots blue
cells with their confidence in the legend; with no significant cell the hotspot image
draws none and says so.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import geopandas as gpd
import numpy as np
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Patch

__all__ = ["HOT_COLORS", "density_png", "hotspot_png"]

#: Gi* confidence bin → fill colour (ArcGIS's bins: ±3 = 99 %, ±2 = 95 %, ±1 = 90 %).
HOT_COLORS = {
    3: "#b2182b",
    2: "#ef8a62",
    1: "#fddbc7",
    -1: "#d1e5f0",
    -2: "#67a9cf",
    -3: "#2166ac",
}
_BIN_LABELS = {
    3: "Hot spot, 99 %",
    2: "Hot spot, 95 %",
    1: "Hot spot, 90 %",
    -1: "Cold spot, 90 %",
    -2: "Cold spot, 95 %",
    -3: "Cold spot, 99 %",
}
_DENSITY_CMAP = "Purples"
_WIDTH_IN, _HEIGHT_IN, _DPI = 7.0, 5.2, 110


def _png_uri(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, bbox_inches="tight", metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _frame(
    districts: gpd.GeoDataFrame, district: str, water: gpd.GeoDataFrame | None
) -> tuple[Any, Any, gpd.GeoDataFrame]:
    """A figure with the district outlined over its neighbours, zoomed to the district."""
    mine = districts[districts["name"] == district]
    if mine.empty:
        names = sorted(map(str, districts["name"]))
        raise ValueError(f"expected a district among {names}, got {district!r}")
    fig = Figure(figsize=(_WIDTH_IN, _HEIGHT_IN))  # no pyplot: no global state, no display
    ax = fig.subplots()
    x0, y0, x1, y1 = mine.total_bounds
    pad = 0.06 * max(x1 - x0, y1 - y0)
    if water is not None and not water.empty:
        # above the density (no event lies in the water), under the boundaries and cells
        water.plot(ax=ax, color="#dbe9f6", linewidth=0, zorder=3)
    districts.boundary.plot(ax=ax, color="#9a9a9a", linewidth=0.6, zorder=4)
    ax.set_xlim(x0 - pad, x1 + pad)
    ax.set_ylim(y0 - pad, y1 + pad)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return fig, ax, mine


def _outline(ax: Any, mine: gpd.GeoDataFrame) -> None:
    mine.boundary.plot(ax=ax, color="#1f1f1f", linewidth=1.6, zorder=6)


def _scale_bar(ax: Any) -> None:
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    length = 1000.0 if (x1 - x0) > 3000 else 500.0
    x, y = x0 + 0.04 * (x1 - x0), y0 + 0.04 * (y1 - y0)
    ax.plot([x, x + length], [y, y], color="#1f1f1f", linewidth=2.5, zorder=6)
    ax.text(x + length / 2, y + 0.015 * (y1 - y0), f"{int(length)} m", ha="center", fontsize=8)


def density_png(
    districts: gpd.GeoDataFrame,
    district: str,
    values: np.ndarray,
    transform: Any,
    *,
    vmax: float | None = None,
    water: gpd.GeoDataFrame | None = None,
    units: str = "händelser per km²",
) -> str:
    """The district's density raster as a PNG data URI.

    Parameters
    ----------
    districts
        Every district (``name``, ``geometry`` in EPSG:3006); the neighbours are drawn grey.
    district
        The district shown.
    values, transform
        The raster (rows north first) and its affine transform (EPSG:3006 metres).
    vmax
        The top of the colour scale; the raster's own maximum when ``None`` (pass the
        city's, so that every district is drawn on one scale).
    water
        Water polygons drawn under the raster.
    units
        The colour bar's label.
    """
    fig, ax, mine = _frame(districts, district, water)
    grid = np.asarray(values, dtype=float)
    rows, cols = grid.shape
    left, top = transform.c, transform.f
    right, bottom = left + transform.a * cols, top + transform.e * rows
    top_value = float(np.nanmax(grid)) if vmax is None else float(vmax)
    shown = np.ma.masked_where(~(grid > 0.02 * max(top_value, 1e-12)), grid)
    image = ax.imshow(
        shown,
        extent=(left, right, bottom, top),
        cmap=_DENSITY_CMAP,
        norm=Normalize(0.0, max(top_value, 1e-12)),
        interpolation="nearest",
        alpha=0.85,
        zorder=2,
    )
    _outline(ax, mine)
    _scale_bar(ax)
    bar = fig.colorbar(image, ax=ax, shrink=0.7, pad=0.02)
    bar.set_label(f"{units[:1].upper()}{units[1:]}\n(samma skala i alla områden)", fontsize=8)
    bar.ax.tick_params(labelsize=7)
    return _png_uri(fig)


def hotspot_png(
    districts: gpd.GeoDataFrame,
    district: str,
    cells: gpd.GeoDataFrame | None,
    *,
    water: gpd.GeoDataFrame | None = None,
) -> str:
    """The district's significant Gi* cells as a PNG data URI.

    Only the district's cells (centre inside it) with a non-zero ``bin`` (significant after
    the false discovery rate correction) are drawn, red for hot and blue for cold; with
    none the image draws the district alone with the sentence "Inga statistiskt
    säkerställda hot spots".
    """
    fig, ax, mine = _frame(districts, district, water)
    drawn = gpd.GeoDataFrame()
    if cells is not None and not cells.empty and "bin" in cells.columns:
        inside = cells[cells.geometry.centroid.within(mine.union_all())]  # the district's own
        drawn = inside[inside["bin"].fillna(0).astype(int) != 0]
    handles = []
    if drawn.empty:
        x0, x1 = ax.get_xlim()
        y0, y1 = ax.get_ylim()
        ax.text(
            (x0 + x1) / 2,
            y1 - 0.06 * (y1 - y0),
            "Inga statistiskt säkerställda hot spots eller cold spots",
            ha="center",
            fontsize=10,
            color="#333333",
            bbox={"facecolor": "white", "edgecolor": "#999999", "boxstyle": "round"},
            zorder=7,
        )
    else:
        bins = drawn["bin"].astype(int)
        for b in sorted(set(bins), reverse=True):
            drawn[bins == b].plot(
                ax=ax, color=HOT_COLORS[b], edgecolor="#555555", linewidth=0.3, zorder=5
            )
            label = _BIN_LABELS[b]
            handles.append(Patch(facecolor=HOT_COLORS[b], edgecolor="#555555", label=label))
    _outline(ax, mine)
    _scale_bar(ax)
    if handles:
        ax.legend(handles=handles, loc="upper right", fontsize=7, framealpha=0.9)
    return _png_uri(fig)
