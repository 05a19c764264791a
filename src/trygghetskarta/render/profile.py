"""The export profiles' rules, in one place, for maps and reports.

Private helper of :mod:`trygghetskarta.render` and :mod:`trygghetskarta.render.report`. The rules
are held by one frozen :class:`ExportProfile`, built once from the settings by the wiring
layer (:meth:`ExportProfile.from_settings`) and passed down inside the render and report
scenes; no other module compares a profile's name. :func:`export_profile` is the only place
that turns a name into a profile.

``public`` (planners, and anyone they forward a file to):

- no individual events: no markers, popups, summaries or event coordinates;
- counts only per area, or per grid cell of at least :data:`MIN_PUBLIC_CELL_M` metres
  (density rasters are block-averaged to that size before display);
- no count below :data:`~.format.SUPPRESS_BELOW` (zero included) is shown or can
  be worked out from what is shown: every published table goes through
  :meth:`ExportProfile.suppress` (primary and secondary suppression, see
  :mod:`trygghetskarta.render.disclosure`); a suppressed cell reads "dolt", whether it is small or
  hides a small one;
- sensitive categories (sexual offences, violence in close relationships: the events'
  ``sensitive`` flag) count only at district (stadsdelsområde) level and above, never in a
  stadsdel, a place, a cell or a time-of-day table of a smaller area.

``internal`` (analysts) shows everything.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from affine import Affine

from trygghetskarta.config import PROFILES
from trygghetskarta.errors import ConfigError
from trygghetskarta.render.disclosure import Constraint, Disclosure, protect
from trygghetskarta.render.format import SUPPRESS_BELOW, SUPPRESSED_LABEL, SUPPRESSED_NOTE, fmt_int
from trygghetskarta.render.marking import mark_internal

if TYPE_CHECKING:
    from trygghetskarta.config import Settings

__all__ = [
    "INTERNAL",
    "MIN_PUBLIC_CELL_M",
    "PUBLIC",
    "ExportProfile",
    "coarsen_grid",
    "drop_sensitive",
    "export_profile",
    "sensitive_mask",
]

#: Smallest grid cell (side, metres) a public map may show counts or densities in.
MIN_PUBLIC_CELL_M = 200.0

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportProfile:
    """Every rule of one export profile.

    Attributes
    ----------
    name
        ``"public"`` or ``"internal"`` (the name in the settings).
    min_count
        Counts below this (zero included) are neither shown nor derivable; ``None`` shows
        every count.
    min_cell_m
        Smallest grid cell (side, metres) counts or densities are shown in; ``None``: any.
    show_points
        Individual events may appear (markers, popups, coordinates).
    show_text
        Source text (summaries, titles, URLs) may appear.
    sensitive_detail
        Sensitive events may count below district level (stadsdel, place, cell, hour).
    cluster_outlines
        Cluster outlines (HDBSCAN) may be drawn: an outline drawn around a few events
        shows where they happened.
    hour_step
        Hours per column of the hour × weekday heatmap (3 gives fewer, larger counts).
    marked
        Every page carries the band "INTERNT – får inte spridas" and ``noindex``
        (:meth:`page`).
    map_notes
        The lines a map's info box adds about what the profile shows.
    report_note
        The sentence a lägesbild's source section gives about what the profile shows.
    """

    name: str
    min_count: int | None
    min_cell_m: float | None
    show_points: bool
    show_text: bool
    sensitive_detail: bool
    cluster_outlines: bool
    hour_step: int
    marked: bool
    map_notes: tuple[str, ...]
    report_note: str

    @classmethod
    def from_settings(cls, settings: Settings) -> ExportProfile:
        """The profile the settings name (``settings.profile``); built once per run.

        Raises
        ------
        trygghetskarta.errors.ConfigError
            The settings name no known profile.
        """
        return export_profile(settings.profile)

    @property
    def public(self) -> bool:
        """True when counts are suppressed (the public profile)."""
        return self.min_count is not None

    def cell_too_small(self, cell_m: float) -> bool:
        """True when cells of ``cell_m`` metres may not show counts in this profile."""
        return self.min_cell_m is not None and cell_m < self.min_cell_m - 1e-6

    def count_text(self, value: float) -> str:
        """A count shown on its own: its number, or "dolt" below the minimum count."""
        return self.text(self.single(value))

    def page(self, html: str) -> str:
        """A whole HTML page as this profile publishes it (marked when :attr:`marked`)."""
        return mark_internal(html) if self.marked else html

    def suppress(
        self,
        values: Mapping[str, int],
        constraints: Sequence[Constraint] = (),
        *,
        hidden: Iterable[str] = (),
        fixed: Mapping[str, bool] | None = None,
        name: str = "",
    ) -> Disclosure:
        """Publish a family of tables: the cells to show and those to suppress.

        Parameters
        ----------
        values
            True count of every cell (published and hidden), by a name that is the same
            in every file showing that count (e.g. ``"sdo|Farsta|2025-03"``).
        constraints
            The totals a reader can form from what is shown (see
            :class:`trygghetskarta.render.disclosure.Constraint`).
        hidden
            Cells never shown but counted in a total (e.g. events no label counts).
        fixed
            Cells another table has already published (``False``) or suppressed (``True``).
        name
            The ledger's name.

        Returns
        -------
        Disclosure
            The ledger: shown values, ``None`` where suppressed. In a profile without a
            minimum count every cell is shown.
        """
        hidden = tuple(hidden)
        if self.min_count is None:
            shown = {k: int(v) for k, v in values.items() if k not in hidden}
            return Disclosure(name, shown, hidden, tuple(constraints))
        ints = {k: round(float(v)) for k, v in values.items()}
        return protect(
            ints, constraints, min_count=self.min_count, hidden=hidden, fixed=fixed, name=name
        )

    def row(self, name: str, parts: Mapping[str, int], total: str) -> Disclosure:
        """Publish one row of counts and its total (the total is the sum of the parts)."""
        values = {**{k: int(v) for k, v in parts.items()}, total: int(sum(parts.values()))}
        return self.suppress(values, [Constraint(total, tuple(parts))], name=name)

    def text(self, value: int | float | None) -> str:
        """How a published cell reads: its count, or "dolt" when it is suppressed."""
        return SUPPRESSED_LABEL if value is None else fmt_int(value)

    def single(self, value: float) -> int | None:
        """A count shown on its own (in no total): ``None`` when it is below the minimum."""
        v = round(float(value))
        return None if self.min_count is not None and v < self.min_count else v


#: The planners' profile: areas and cells of at least 200 m, no count under 5, no text.
PUBLIC = ExportProfile(
    name="public",
    min_count=SUPPRESS_BELOW,
    min_cell_m=MIN_PUBLIC_CELL_M,
    show_points=False,
    show_text=False,
    sensitive_detail=False,
    cluster_outlines=False,
    hour_step=3,
    marked=False,
    map_notes=("Inga enskilda händelser visas.", SUPPRESSED_NOTE),
    report_note=(
        f"{SUPPRESSED_NOTE} Så skyddas enskilda; brott av känslig art räknas bara för hela "
        "stadsdelsområdet."
    ),
)
#: The analysts' profile: everything.
INTERNAL = ExportProfile(
    name="internal",
    min_count=None,
    min_cell_m=None,
    show_points=True,
    show_text=True,
    sensitive_detail=True,
    cluster_outlines=True,
    hour_step=1,
    marked=True,
    map_notes=("Intern version med enskilda händelser – sprid inte vidare utan granskning.",),
    report_note="Intern version: alla antal visas. Sprid inte vidare utan granskning.",
)


def export_profile(profile: str | ExportProfile) -> ExportProfile:
    """The :class:`ExportProfile` of a profile name (or the profile itself).

    Raises
    ------
    trygghetskarta.errors.ConfigError
        The name is not a known profile.
    """
    if isinstance(profile, ExportProfile):
        return profile
    by_name = {p.name: p for p in (PUBLIC, INTERNAL)}
    if profile not in by_name:
        raise ConfigError(f"profile must be one of {PROFILES}, got {profile!r} — use 'public'")
    return by_name[profile]


def sensitive_mask(events: pd.DataFrame) -> pd.Series:
    """Boolean mask of sensitive events.

    A frame without a ``sensitive`` column has none (the police parser always sets it);
    a missing value in the column counts as sensitive, to be safe.
    """
    if "sensitive" not in events.columns:
        return pd.Series(False, index=events.index)
    flag = events["sensitive"]
    return flag.isna() | flag.fillna(False).astype(bool)


def drop_sensitive(events: pd.DataFrame, profile: ExportProfile) -> pd.DataFrame:
    """The events that may be shown below district level: all, or in public the non-sensitive."""
    if profile.sensitive_detail:
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
