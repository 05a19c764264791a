"""The statistics frame shared by the shootings and fires sources.

Its columns follow the ``crime_stats`` table of :mod:`trygghetskarta.sources.bra` where the
meaning is the same (``source``, ``source_table``, ``source_file``, ``source_line``,
``area``, ``area_scheme``, ``year``, ``month``, ``period_start``, ``period_end``,
``category``, ``category_key``, ``count``, ``suppressed``, ``preliminary``, ``note``), so the
three kinds of statistics can be stored side by side and compared per area and period.

``count`` is ``<NA>`` (and ``suppressed`` true) where the source prints ``..``, ``-`` or
nothing: a suppressed or missing figure is never zero. ``period_start`` is the first day of
the period, ``period_end`` the first day after it (dates, no time zone). ``area_scheme`` says
what kind of area ``area`` is: ``land``, ``län``, ``polisregion`` or ``kommun``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

STAT_COLUMNS = (
    "source",
    "source_table",
    "source_file",
    "source_line",
    "area",
    "area_scheme",
    "year",
    "month",
    "period_start",
    "period_end",
    "category",
    "category_key",
    "count",
    "suppressed",
    "preliminary",
    "note",
)
_TEXT = (
    "source",
    "source_table",
    "source_file",
    "area",
    "area_scheme",
    "category",
    "category_key",
    "note",
)


def stats_frame(rows: Sequence[dict[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """Rows (dicts or a frame with :data:`STAT_COLUMNS`) → the statistics frame's dtypes."""
    frame = pd.DataFrame(rows, columns=list(STAT_COLUMNS))
    for col in ("source_line", "year", "month", "count"):
        frame[col] = pd.array(
            [None if pd.isna(v) else int(v) for v in frame[col].tolist()], dtype="Int64"
        )
    for col in ("suppressed", "preliminary"):
        frame[col] = frame[col].fillna(False).astype(bool)
    for col in ("period_start", "period_end"):
        frame[col] = pd.to_datetime(frame[col]).dt.normalize()
    frame[list(_TEXT)] = frame[list(_TEXT)].astype(pd.StringDtype())
    return frame
