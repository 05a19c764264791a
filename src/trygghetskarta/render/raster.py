"""A density grid as a PNG overlay: warp to Web Mercator, colour, encode.

Part of :mod:`trygghetskarta.render`, which re-exports :func:`add_density`. Leaflet
stretches an image overlay linearly in Web Mercator pixels, so the grid is warped from
EPSG:3006 to EPSG:3857 (not to a regular lat/lon grid, which would be off by up to a cell
north–south) and its corners are given to Leaflet in EPSG:4326. The PNG is written with
numpy and zlib: no image library.
"""

from __future__ import annotations

import base64
import struct
import zlib
from collections.abc import Sequence
from typing import Any, Protocol

import branca.colormap as bcm
import folium
import numpy as np
from affine import Affine
from pyproj import CRS, Transformer
from rasterio import features
from rasterio.warp import Resampling, calculate_default_transform, reproject
from shapely.geometry.base import BaseGeometry

from trygghetskarta.config import STORE_CRS, WEB_CRS
from trygghetskarta.errors import CRSError, SchemaError
from trygghetskarta.render.format import esc, fmt_number
from trygghetskarta.render.legend import (
    HtmlControl,
    _nice_round,
    gradient_legend_html,
    linear_colormap,
)
from trygghetskarta.render.profile import coarsen_grid
from trygghetskarta.render.timeline import _ensure_runtime, _Script, js_json

_MERCATOR = "EPSG:3857"
#: The density ramp (ColorBrewer YlGnBu): no red, which the maps keep for hot spots.
DENSITY_COLORMAP = "YlGnBu"
#: Largest side of the warped image, pixels; finer grids are resampled to fit.
MAX_SIDE = 2048


class DensityGrid(Protocol):
    """What :func:`trygghetskarta.render.add_density` needs from a density raster.

    Attributes
    ----------
    values
        2-D float array, events per km²; row 0 is the northern edge; NaN is nodata.
    transform
        Affine transform from (col, row) to EPSG:3006 coordinates of the cell corner.
    crs
        ``"EPSG:3006"``.
    params
        The parameters that made the grid (bandwidth, cell size, …).
    """

    values: np.ndarray
    transform: Affine
    crs: Any
    params: dict


def check_grid(grid: DensityGrid) -> np.ndarray:
    """Return the grid's values as float64 after checking shape, transform and CRS."""
    values = np.asarray(grid.values, dtype="float64")
    if values.ndim != 2 or 0 in values.shape:
        raise SchemaError(
            f"expected a non-empty 2-D density array, got shape {values.shape} — "
            "pass the grid made by analysis.density"
        )
    if not isinstance(grid.transform, Affine):
        raise SchemaError(
            f"expected grid.transform to be an affine.Affine, got {type(grid.transform).__name__}"
        )
    if CRS.from_user_input(grid.crs) != CRS.from_user_input(STORE_CRS):
        raise CRSError(f"expected a grid in {STORE_CRS}, got {grid.crs} — warp it to {STORE_CRS}")
    return values


def mask_outside(values: np.ndarray, transform: Affine, geometry: BaseGeometry) -> np.ndarray:
    """Set cells whose centre lies outside ``geometry`` (EPSG:3006) to NaN."""
    outside = features.geometry_mask(
        [geometry], out_shape=values.shape, transform=transform, invert=False
    )
    out = values.copy()
    out[outside] = np.nan
    return out


def warp_for_display(
    values: np.ndarray, transform: Affine, *, oversample: int = 2
) -> tuple[np.ndarray, list[list[float]]]:
    """Warp a EPSG:3006 grid to Web Mercator.

    The target pixels are ``oversample`` times finer than the source cells, so that
    nearest-neighbour resampling keeps every cell's square shape.

    Returns
    -------
    array, bounds
        The warped array (NaN outside the source) and ``[[south, west], [north, east]]``
        in EPSG:4326 degrees, as Leaflet's ``ImageOverlay`` wants them.
    """
    height, width = values.shape
    left, top = transform @ (0, 0)
    right, bottom = transform @ (width, height)
    west_s, east_s = sorted((left, right))
    south_s, north_s = sorted((bottom, top))
    dst_transform, dst_width, dst_height = calculate_default_transform(
        STORE_CRS, _MERCATOR, width, height, west_s, south_s, east_s, north_s
    )
    scale = max(max(dst_width, dst_height) * oversample / MAX_SIDE, 1.0) / oversample
    if scale != 1:
        dst_width = max(1, int(np.ceil(dst_width / scale)))
        dst_height = max(1, int(np.ceil(dst_height / scale)))
        dst_transform = dst_transform @ Affine.scale(scale, scale)
    out = np.full((dst_height, dst_width), np.nan, dtype="float64")
    reproject(
        source=values,
        destination=out,
        src_transform=transform,
        src_crs=STORE_CRS,
        src_nodata=np.nan,
        dst_transform=dst_transform,
        dst_crs=_MERCATOR,
        dst_nodata=np.nan,
        resampling=Resampling.nearest,
    )
    x0, y0 = dst_transform @ (0, 0)
    x1, y1 = dst_transform @ (dst_width, dst_height)
    to_wgs84 = Transformer.from_crs(_MERCATOR, WEB_CRS, always_xy=True)
    lon0, lat0 = to_wgs84.transform(x0, y0)
    lon1, lat1 = to_wgs84.transform(x1, y1)
    bounds = [[min(lat0, lat1), min(lon0, lon1)], [max(lat0, lat1), max(lon0, lon1)]]
    return out, bounds


def colorize(
    values: np.ndarray,
    *,
    vmin: float,
    vmax: float,
    colors: Sequence[tuple[int, int, int]],
    cutoff: float = 0.0,
    fade: float = 0.0,
) -> np.ndarray:
    """Map values to RGBA bytes with a linear ramp; NaN and values ``<= vmin`` are transparent.

    Parameters
    ----------
    values
        2-D array.
    vmin, vmax
        The ends of the ramp; values above ``vmax`` get the last colour.
    colors
        A lookup table of RGB triples (e.g. 256 entries) from ``vmin`` to ``vmax``.
    cutoff
        Share of the ramp below which values are transparent too (``0.02``: the lowest 2 %),
        so that a faint tail does not veil the whole map.
    fade
        Share of the ramp over which opacity rises from a quarter to full (``0`` = all
        visible cells opaque): low values let the water and outlines show through.
    """
    lut = np.asarray(colors, dtype="uint8")
    n = len(lut)
    finite = np.isfinite(values)
    span = vmax - vmin if vmax > vmin else 1.0
    scaled = np.where(finite, (values - vmin) / span, 0.0)
    visible = finite & (values > vmin) & (scaled > cutoff)
    idx = np.clip(np.rint(scaled * (n - 1)), 0, n - 1).astype("int64")
    alpha = np.clip(0.25 + 0.75 * scaled / fade, 0.25, 1.0) if fade > 0 else np.ones_like(scaled)
    rgba = np.zeros((*values.shape, 4), dtype="uint8")
    rgba[..., :3] = lut[idx]
    rgba[..., 3] = np.where(visible, np.rint(255 * alpha), 0).astype("uint8")
    return rgba


def encode_png(rgba: np.ndarray) -> bytes:
    """Encode an ``(height, width, 4)`` uint8 array as an RGBA PNG."""
    if rgba.ndim != 3 or rgba.shape[2] != 4 or rgba.dtype != np.uint8:
        raise ValueError(f"expected a (h, w, 4) uint8 array, got {rgba.shape} {rgba.dtype}")
    height, width, _ = rgba.shape
    raw = np.concatenate(
        [np.zeros((height, 1), dtype="uint8"), rgba.reshape(height, width * 4)], axis=1
    ).tobytes()  # filter type 0 (None) at the start of each row

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def png_data_url(rgba: np.ndarray) -> str:
    """The PNG of ``rgba`` as a ``data:`` URL."""
    return "data:image/png;base64," + base64.b64encode(encode_png(rgba)).decode("ascii")


def _prepared(
    grid: DensityGrid, min_cell: float | None, clip_to: object | None
) -> tuple[np.ndarray, Affine]:
    values = check_grid(grid)
    transform = grid.transform
    if min_cell is not None:
        values, transform = coarsen_grid(values, transform, min_cell)
    if clip_to is not None:
        values = mask_outside(values, transform, clip_to)
    return values, transform


def _top(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.max()) if finite.size else 0.0


_EMPTY_PNG = png_data_url(np.zeros((1, 1, 4), dtype="uint8"))


def add_density(
    m: folium.Map,
    grid: DensityGrid,
    *,
    name: str = "Täthet",
    opacity: float = 0.75,
    colormap: str | bcm.LinearColormap = DENSITY_COLORMAP,
    legend_title: str = "Händelser per km²",
    vmax: float | None = None,
    clip_to: object | None = None,
    scale_to: object | None = None,
    scale_note: str | None = None,
    show: bool = True,
    min_cell: float | None = None,
    cutoff: float = 0.02,
    fade: float = 0.3,
    monthly: Sequence[DensityGrid | None] | None = None,
) -> folium.Map:
    """Overlay a density raster (events per km²) as an image, with a colour-bar legend.

    The grid is warped from EPSG:3006 to Web Mercator for display, coloured with a linear
    ramp from 0 to ``vmax`` and embedded as a PNG; cells that are zero or NaN are
    transparent.

    Parameters
    ----------
    m
        The map to draw on.
    grid
        An object with ``values`` (row 0 north, NaN nodata), ``transform`` (EPSG:3006),
        ``crs`` and ``params`` (see :class:`DensityGrid`).
    name
        Layer name in the layer control.
    opacity
        Opacity of the image, 0–1.
    colormap
        A branca linear colormap or its name (``"YlOrRd"``, ``"Blues_09"`` …).
    legend_title
        Legend caption.
    vmax
        Value at the top of the ramp; the grid's maximum (inside ``scale_to``) when ``None``.
    clip_to
        A shapely geometry in EPSG:3006; cells outside it are not shown.
    scale_to
        A shapely geometry in EPSG:3006 whose cells set the top of the ramp (of the period
        and of the months) when ``vmax`` is ``None``; ``clip_to`` when ``None``. A district
        map passes the whole city, so that it zooms into the city map's colours and never
        recolours.
    scale_note
        A sentence under the legend saying which maps share the scale (escaped).
    show
        Whether the layer is on when the map opens.
    min_cell
        Smallest cell side to show, metres: a finer grid is block-averaged to cells at
        least this large (the public profile's rule); ``None`` shows the grid's own cells.
    cutoff, fade
        Values below ``cutoff`` × the top are not drawn, and opacity rises over the lowest
        ``fade`` of the ramp (see :func:`colorize`); the legend says where drawing starts.
    monthly
        One grid per month of the map's slider (``None`` for a month without one), on the
        same cells as ``grid``: the slider then shows each month's density (on one ramp
        for all months, so that months compare) and the whole period's at position 0.

    Returns
    -------
    folium.Map
    """
    values, transform = _prepared(grid, min_cell, clip_to)
    scale_area = clip_to if scale_to is None else scale_to
    if vmax is not None:
        top = float(vmax)
    elif scale_to is None:
        top = _top(values)
    else:
        top = _top(_prepared(grid, min_cell, scale_area)[0])
    if top <= 0 or _top(values) <= 0:
        note = f'<div class="tk-title">{esc(legend_title)}</div>Inga händelser att visa.'
        m.add_child(HtmlControl(note, position="bottomright"))
        return m
    url, bounds, legend = _image(
        values, transform, top, colormap, legend_title, cutoff, fade, scale_note
    )
    overlay = folium.raster_layers.ImageOverlay(
        image=url,
        bounds=bounds,
        opacity=opacity,
        name=name,
        overlay=True,
        show=show,
        interactive=False,
        cross_origin=False,
    )
    overlay.add_to(m)
    if monthly is None:
        m.add_child(HtmlControl(legend, position="bottomright", layer=overlay))
        return m
    month_values = []
    for g in monthly:
        if g is None:
            month_values.append(None)
            continue
        if np.shape(g.values) != np.shape(grid.values) or g.transform != grid.transform:
            raise SchemaError(
                "expected monthly grids on the cells of the period's grid, got shape "
                f"{np.shape(g.values)} and {g.transform} — make them with the same bounds and cell"
            )
        month_values.append(_prepared(g, min_cell, clip_to)[0])
    month_top = max(
        (_top(_prepared(g, min_cell, scale_area)[0]) for g in monthly if g is not None),
        default=0.0,
    )
    urls, month_legend = [url], legend
    for v in month_values:
        if v is None or month_top <= 0 or _top(v) <= 0:
            urls.append(_EMPTY_PNG)
            continue
        month_url, _, month_legend = _image(
            v,
            transform,
            month_top,
            colormap,
            f"{legend_title}, per månad",
            cutoff,
            fade,
            scale_note,
        )
        urls.append(month_url)
    _ensure_runtime(m)
    data = {"urls": urls, "legends": [legend, month_legend]}
    code = f"""
    (function (map, overlay, d) {{
      var tl = TK.timeline(map);
      var legend = TK.legend(map, overlay, d.legends[tl.index === 0 ? 0 : 1]);
      tl.on(function (i) {{
        overlay.setUrl(d.urls[i] || d.urls[0]);
        legend.set(d.legends[i === 0 ? 0 : 1]);
      }});
    }})({{map}}, {overlay.get_name()}, {js_json(data)});
    """
    m.add_child(_Script(code))
    return m


def _image(
    values: np.ndarray,
    transform: Affine,
    top: float,
    colormap: str | bcm.LinearColormap,
    legend_title: str,
    cutoff: float,
    fade: float,
    scale_note: str | None = None,
) -> tuple[str, list[list[float]], str]:
    """The PNG data URL, its bounds and the legend HTML of one density array."""
    cmap = linear_colormap(colormap).scale(0.0, top)
    lut = [cmap.rgba_bytes_tuple(top * i / 255)[:3] for i in range(256)]
    warped, bounds = warp_for_display(values, transform)
    rgba = colorize(warped, vmin=0.0, vmax=top, colors=lut, cutoff=cutoff, fade=fade)
    stops = [cmap.rgb_hex_str(top * i / 8) for i in range(9)]
    note = f"Rutor om {fmt_number(abs(transform.a))} m"
    if cutoff > 0:
        note += f"; under {fmt_number(_nice_round(cutoff * top))} per km² visas inte"
    legend = gradient_legend_html(legend_title, 0.0, top, stops)
    legend += f'<div class="tk-note">{esc(note)}.</div>'
    if scale_note:
        legend += f'<div class="tk-note">{esc(scale_note)}</div>'
    return png_data_url(rgba), bounds, legend
