"""Matplotlib figures of the analysis results (matplotlib is an optional dependency).

Every function takes ``ax=None`` and returns the axes it drew on. Colour bars lie under
the map, so a title never runs into them; legends of classes are in Swedish, as every
text a reader of a map sees.
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Any

import numpy as np

from trygghetskarta.errors import MissingDependencyError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from trygghetskarta.analysis.grid import Grid

#: ArcGIS Gi_Bin classes, cold to hot, with the labels the legend shows.
GI_BIN_LABELS = {
    -3: "kall 99 %",
    -2: "kall 95 %",
    -1: "kall 90 %",
    0: "ej signifikant",
    1: "het 90 %",
    2: "het 95 %",
    3: "het 99 %",
}
GI_BIN_COLOURS = ("#2166ac", "#67a9cf", "#d1e5f0", "#f0f0f0", "#fddbc7", "#ef8a62", "#b2182b")
#: Local Moran labels and their colours (as in esda/splot's LISA maps).
MORAN_LABELS = {
    "HH": ("högt bland höga", "#d7191c"),
    "LL": ("lågt bland låga", "#2c7bb6"),
    "HL": ("högt bland låga", "#fdae61"),
    "LH": ("lågt bland höga", "#abd9e9"),
    "ns": ("ej signifikant", "#eeeeee"),
    "island": ("saknar grannar", "#bbbbbb"),
    "n/a": ("ej analyserat", "#ffffff"),
}


#: Titles are wrapped at this many characters, so that they fit the map's width.
TITLE_WIDTH = 64


def wrapped(title: str) -> str:
    """The title broken into lines of at most :data:`TITLE_WIDTH` characters."""
    return "\n".join(textwrap.wrap(title, TITLE_WIDTH)) or title


def pyplot() -> Any:
    """``matplotlib.pyplot``, or a sentence saying how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise MissingDependencyError(
            "plotting needs the optional package matplotlib, which is not installed — "
            "install it with: pip install 'trygghetskarta[plot]' (or pip install matplotlib)"
        ) from e
    return plt


#: The grids' units as a reader of the figure sees them (other units are shown as they are).
UNITS_SV = {
    "events per km²": "händelser per km²",
    "events per cell": "händelser per ruta",
    "z-score": "z-värde",
    "events per period": "händelser per period",
}


def new_axes(ax: Axes | None, bounds: tuple[float, float, float, float] | None = None) -> Axes:
    """``ax``, or the axes of a new figure shaped like ``bounds`` (with room for the
    title above and the colour bar or legend below)."""
    if ax is not None:
        return ax
    aspect = 1.0
    if bounds is not None:
        xmin, ymin, xmax, ymax = bounds
        if xmax > xmin and ymax > ymin:
            aspect = min(max((ymax - ymin) / (xmax - xmin), 0.4), 1.6)
    width = 7.5
    _, ax = pyplot().subplots(figsize=(width, width * aspect + 2.2), layout="constrained")
    return ax


def _metres_axes(ax: Axes) -> None:
    ax.set_aspect("equal")
    ax.set_xlabel("x (m, SWEREF99 TM)")
    ax.set_ylabel("y (m, SWEREF99 TM)")
    ax.ticklabel_format(style="plain", useOffset=False)
    ax.tick_params(axis="x", labelrotation=30)


def plot_grid(
    grid: Grid,
    ax: Axes | None,
    *,
    title: str | None,
    cmap: str | None,
    colorbar: bool,
    **imshow_kwargs: Any,
) -> Axes:
    plt = pyplot()
    from matplotlib.colors import BoundaryNorm, ListedColormap

    ax = new_axes(ax, grid.bounds)
    xmin, ymin, xmax, ymax = grid.bounds
    values = np.asarray(grid.values, dtype=float)
    bins = grid.units == "Gi_Bin"
    kwargs: dict[str, Any] = {"interpolation": "nearest", "origin": "upper"}
    if bins:
        kwargs["cmap"] = ListedColormap(list(GI_BIN_COLOURS)) if cmap is None else cmap
        kwargs["norm"] = BoundaryNorm(np.arange(-3.5, 4.5), 7)
    else:
        kwargs["cmap"] = cmap or "magma_r"
    kwargs.update(imshow_kwargs)
    image = ax.imshow(values, extent=(xmin, xmax, ymin, ymax), **kwargs)
    _metres_axes(ax)
    if title:
        ax.set_title(wrapped(title))
    if colorbar:
        bar = plt.colorbar(
            image,
            ax=ax,
            location="bottom",
            shrink=0.8,
            pad=0.04,
            aspect=40,
            label=UNITS_SV.get(grid.units, grid.units),
        )
        if bins:
            bar.set_ticks(list(GI_BIN_LABELS))
            bar.set_ticklabels(list(GI_BIN_LABELS.values()), fontsize="small")
            bar.ax.tick_params(labelrotation=30)
            bar.set_label("Gi* (Getis-Ord), klass efter konfidens")
    return ax


def plot_areas(
    frame: Any,
    column: str,
    ax: Axes | None,
    *,
    title: str | None,
    kind: str,
) -> Axes:
    """Draw areas coloured by Gi_Bin classes (``kind="bins"``) or LISA labels."""
    pyplot()
    from matplotlib.patches import Patch

    own_figure = ax is None
    ax = new_axes(ax, tuple(frame.total_bounds))
    if kind == "bins":
        classes = {k: (GI_BIN_LABELS[k], GI_BIN_COLOURS[k + 3]) for k in GI_BIN_LABELS}
    else:
        classes = MORAN_LABELS
    colours = frame[column].map({k: c for k, (_, c) in classes.items()}).fillna("#ffffff")
    frame.plot(ax=ax, color=colours.to_numpy(), edgecolor="#555555", linewidth=0.4)
    _metres_axes(ax)
    present = [k for k in classes if (frame[column] == k).any()]
    handles = [
        Patch(facecolor=classes[k][1], edgecolor="#555555", label=classes[k][0]) for k in present
    ]
    ncol = min(4, max(1, len(handles)))
    if own_figure:  # the layout keeps a figure legend clear of the map and the title
        ax.figure.legend(
            handles=handles, loc="outside lower center", ncol=ncol, frameon=False, fontsize="small"
        )
    else:
        ax.legend(
            handles=handles,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.18),
            ncol=ncol,
            frameon=False,
            fontsize="small",
        )
    if title:
        ax.set_title(wrapped(title))
    return ax
