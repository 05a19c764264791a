"""The count tables maps and reports publish, as cells and totals for suppression.

Private helper of :mod:`trygghetskarta.render` and :mod:`trygghetskarta.report`. Each
function builds one family of linked tables, names its cells the same way in every file
(so that files written together can be audited together), and lets the
:class:`~trygghetskarta._privacy.ExportProfile` decide what to show. Counts that appear in
several files are published by the same function from the same events, so they are shown
or suppressed alike everywhere:

- ``sdo|<district>|<YYYY-MM>`` and ``sdo|<district>|hela``: a district's events per month
  of the period and in the whole period (city map, the district's map and report);
- ``sd|<stadsdel>|<YYYY-MM>`` / ``|hela``: a stadsdel's events (district map), linked to
  its district's counts through the hidden ``rest|<district>|…`` (events no stadsdel
  label counts: sensitive ones, and those placed only to the district);
- ``prev|<district>|…``: the year before the period (report);
- ``cat|…``, ``hw|…``, ``prec|…``: the report's categories, hour × weekday and precision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from trygghetskarta._format import esc
from trygghetskarta._privacy import ExportProfile
from trygghetskarta.disclosure import Constraint, Disclosure

WHOLE = "hela"


def month_key(month: object) -> str:
    """``2025-03`` for any time in March 2025."""
    return pd.Timestamp(month).strftime("%Y-%m")


def district_row(
    profile: ExportProfile, district: str, months: Sequence[object], counts: Sequence[float]
) -> Disclosure:
    """A district's events per month of the period and their sum (the whole period)."""
    district = esc(district)  # names in cell names are escaped like everywhere else
    parts = {f"sdo|{district}|{month_key(m)}": int(c) for m, c in zip(months, counts, strict=True)}
    return profile.row(f"sdo|{district}", parts, f"sdo|{district}|{WHOLE}")


def row_mask(row: Disclosure, district: str, months: Sequence[object]) -> np.ndarray:
    """Suppressed flags of :func:`district_row` as (whole period, month 1, …)."""
    district = esc(district)
    keys = [f"sdo|{district}|{WHOLE}", *(f"sdo|{district}|{month_key(m)}" for m in months)]
    return np.array([row.is_suppressed(k) for k in keys])


def city_table(
    profile: ExportProfile, names: Sequence[str], months: Sequence[object], counts: np.ndarray
) -> tuple[list[Disclosure], np.ndarray]:
    """The city map's districts × (whole period, months): one row each, no column totals
    (the map shows none). Returns the ledgers and the suppressed mask like ``counts``."""
    rows = [district_row(profile, n, months, counts[i, 1:]) for i, n in enumerate(names)]
    mask = np.array([row_mask(r, n, months) for r, n in zip(rows, names, strict=True)])
    return rows, mask.reshape(counts.shape)


def stadsdel_table(
    profile: ExportProfile,
    district: str,
    names: Sequence[str],
    months: Sequence[object],
    counts: np.ndarray,
    district_counts: Sequence[float],
    n_unplaced: int | None,
) -> tuple[list[Disclosure], np.ndarray, int | None]:
    """A district map's stadsdelar × (whole period, months), linked to the district's row.

    Parameters
    ----------
    names, counts
        The stadsdelar labelled and their counts (whole period, months …), after the
        profile's rule on sensitive events.
    district_counts
        All the district's events per month (what the city map shows for it).
    n_unplaced
        The district's events without a position (shown in the info box), or ``None``.

    Returns
    -------
    ledgers, mask, unplaced
        The district's row and the stadsdel table, the suppressed mask like ``counts``,
        and the number of unplaced events to show (``None`` where suppressed).
    """
    row = district_row(profile, district, months, district_counts)
    district, names = esc(district), [esc(n) for n in names]
    keys = [month_key(m) for m in months]
    values: dict[str, int] = {}
    parent = {f"sdo|{district}|{k}": int(c) for k, c in zip(keys, district_counts, strict=True)}
    parent[f"sdo|{district}|{WHOLE}"] = int(sum(parent.values()))
    values.update(parent)
    hidden: list[str] = []
    constraints: list[Constraint] = []
    for col, k in enumerate([WHOLE, *keys]):
        cells = [f"sd|{n}|{k}" for n in names]
        values.update({c: int(counts[i, col]) for i, c in enumerate(cells)})
        rest = f"rest|{district}|{k}"
        values[rest] = parent[f"sdo|{district}|{k}"] - sum(
            int(counts[i, col]) for i in range(len(names))
        )
        hidden.append(rest)
        constraints.append(Constraint(f"sdo|{district}|{k}", (*cells, rest)))
    for _i, n in enumerate(names):
        constraints.append(Constraint(f"sd|{n}|{WHOLE}", tuple(f"sd|{n}|{k}" for k in keys)))
    constraints.append(
        Constraint(f"rest|{district}|{WHOLE}", tuple(f"rest|{district}|{k}" for k in keys))
    )
    unplaced_key = f"unplaced|{district}"
    standalone = None
    if n_unplaced is not None and n_unplaced > values[f"rest|{district}|{WHOLE}"]:
        # Not counted from these events (more than the rest could hold): in no total.
        standalone, n_unplaced = profile.single(n_unplaced), None
    if n_unplaced is not None:
        # Unplaced events have no stadsdel: they are part of the district's rest.
        values[unplaced_key] = int(n_unplaced)
        values[f"other|{district}"] = values[f"rest|{district}|{WHOLE}"] - int(n_unplaced)
        hidden.append(f"other|{district}")
        constraints.append(
            Constraint(f"rest|{district}|{WHOLE}", (unplaced_key, f"other|{district}"))
        )
    fixed = {k: row.is_suppressed(k) for k in parent}
    table = profile.suppress(values, constraints, hidden=hidden, fixed=fixed, name=f"sd|{district}")
    mask = np.array(
        [[table.is_suppressed(f"sd|{n}|{k}") for k in [WHOLE, *keys]] for n in names], dtype=bool
    ).reshape(counts.shape)
    unplaced = standalone if n_unplaced is None else table.shown[unplaced_key]
    return [row, table], mask, unplaced


def values_of(ledgers: Sequence[Disclosure]) -> Mapping[str, int | None]:
    """Every shown cell of some ledgers, by name."""
    out: dict[str, int | None] = {}
    for d in ledgers:
        out.update(d.shown)
    return out
