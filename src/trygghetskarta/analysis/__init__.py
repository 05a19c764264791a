"""Analyses: pure functions on arrays and frames, no file or database access.

- :mod:`~trygghetskarta.analysis.grid`: the :class:`Grid` raster type and its geometry.
- :mod:`~trygghetskarta.analysis.density`: kernel density (:func:`kde`).
- :mod:`~trygghetskarta.analysis.bandwidth`: bandwidth rules (Scott, Silverman, CV).
- :mod:`~trygghetskarta.analysis.trends`: monthly counts and period summaries.
"""

from __future__ import annotations

from trygghetskarta.analysis.bandwidth import (
    DensityWarning,
    bandwidth_cv,
    bandwidth_scott,
    bandwidth_silverman,
)
from trygghetskarta.analysis.density import kde
from trygghetskarta.analysis.grid import Grid, cell_centres, grid_from_bounds
from trygghetskarta.analysis.trends import monthly_counts, period_summary

__all__ = [
    "DensityWarning",
    "Grid",
    "bandwidth_cv",
    "bandwidth_scott",
    "bandwidth_silverman",
    "cell_centres",
    "grid_from_bounds",
    "kde",
    "monthly_counts",
    "period_summary",
]
