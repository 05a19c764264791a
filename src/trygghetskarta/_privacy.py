"""The export profiles' rules, in one place, for maps and reports.

Private helper of :mod:`trygghetskarta.render` and :mod:`trygghetskarta.report`.

``public`` (planners, and anyone they forward a file to):

- no individual events: no markers, popups, summaries or event coordinates;
- counts only per area, or per grid cell of at least :data:`MIN_PUBLIC_CELL_M` metres
  (density rasters are block-averaged to that size before display);
- counts below :data:`~trygghetskarta._format.SUPPRESS_BELOW` read "färre än 5";
- sensitive categories (sexual offences, violence in close relationships: the events'
  ``sensitive`` flag) count only at district (stadsdelsområde) level and above, never in a
  stadsdel, a place, a cell or a time-of-day table of a smaller area.

``internal`` (analysts) shows everything.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd
from affine import Affine

from trygghetskarta._format import check_profile

__all__ = [
    "MIN_PUBLIC_CELL_M",
    "coarsen_grid",
    "drop_sensitive",
    "is_public",
    "sensitive_mask",
]

#: Smallest grid cell (side, metres) a public map may show counts or densities in.
MIN_PUBLIC_CELL_M = 200.0

_log = logging.getLogger(__name__)


def is_public(profile: str) -> bool:
    """True for the public profile (after checking the name)."""
    return check_profile(profile) == "public"


def sensitive_mask(events: pd.DataFrame) -> pd.Series:
    """Boolean mask of sensitive events.

    A frame without a ``sensitive`` column has none (the police parser always sets it);
    a missing value in the column counts as sensitive, to be safe.
    """
    if "sensitive" not in events.columns:
        return pd.Series(False, index=events.index)
    flag = events["sensitive"]
    return flag.isna() | flag.fillna(False).astype(bool)


def drop_sensitive(events: pd.DataFrame, profile: str) -> pd.DataFrame:
    """The events that may be shown below district level: all, or in public the non-sensitive."""
    if not is_public(profile):
        return events
    mask = sensitive_mask(events)
    if mask.any():
        _log.debug("public profile: %d sensitive events kept at district level only", mask.sum())
    return events[~mask]


def coarsen_grid(
    values: np.ndarray, transform: Affine, min_cell: float = MIN_PUBLIC_CELL_M
) -> tuple[np.ndarray, Affine]:
    """Block-average a density grid to cells of at least ``min_cell`` metres.

    Parameters
    ----------
    values
        2-D array of a density (events per km²); NaN is nodata.
    transform
        Its affine transform (square cells, north up).
    min_cell
        Smallest cell side wanted, metres.

    Returns
    -------
    values, transform
        The grid with cells ``k`` times larger (``k = ceil(min_cell / cell)``), each the
        mean of its finite source cells (NaN where all are NaN; the edge blocks that the
        grid does not fill are averaged over the cells it has). Unchanged when the cells
        are large enough already.
    """
    cell = abs(transform.a)
    k = max(1, math.ceil(min_cell / cell - 1e-9))
    if k == 1:
        return values, transform
    h, w = values.shape
    hh, ww = math.ceil(h / k) * k, math.ceil(w / k) * k
    padded = np.full((hh, ww), np.nan)
    padded[:h, :w] = values
    blocks = padded.reshape(hh // k, k, ww // k, k)
    finite = np.isfinite(blocks)
    n = finite.sum(axis=(1, 3))
    total = np.where(finite, blocks, 0.0).sum(axis=(1, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(n > 0, total / np.maximum(n, 1), np.nan)
    return out, transform @ Affine.scale(k, k)
