"""The count tables maps and reports publish, as cells and totals for suppression.

Private helper of :mod:`trygghetskarta.render` and :mod:`trygghetskarta.render.report`. Each
function builds one family of linked tables, names its cells the same way in every file
(so that files written together can be audited together), and lets the
:class:`~trygghetskarta.render.profile.ExportProfile` decide what to show. Counts that appear in
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
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trygghetskarta.render.disclosure import Constraint, Disclosure
from trygghetskarta.render.format import esc
from trygghetskarta.render.profile import ExportProfile

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


@dataclass(frozen=True)
class SameDays:
    """The year before as the key figure counts it when the data's end cuts a month.

    ``whole`` are the whole months it holds (first days), ``cut`` the month it ends inside,
    ``head`` and ``tail`` that month's events on the days compared (to day ``last_day``)
    and after them.
    """

    whole: Sequence[pd.Timestamp]
    cut: pd.Timestamp
    head: int
    tail: int
    last_day: int


@dataclass(frozen=True)
class ReportCounts:
    """What a lägesbild shows of its counts: the ledgers and each shown value by name.

    ``shown[name]`` is the count shown, ``None`` where suppressed (see :func:`report_counts`
    for the names).
    """

    district: str
    ledgers: tuple[Disclosure, ...]
    shown: Mapping[str, int | None]
    period_total: int

    def get(self, kind: str, *parts: object) -> int | None:
        """The value shown for ``<kind>|<district>|<parts…>`` (names escaped here)."""
        return self.shown["|".join([kind, esc(self.district), *(esc(p) for p in parts)])]

    def has(self, kind: str, *parts: object) -> bool:
        return "|".join([kind, esc(self.district), *(esc(p) for p in parts)]) in self.shown


def _blocks(months: Sequence[pd.Timestamp], start: pd.Timestamp | None, step: int) -> list[int]:
    """Block number of each month: ``step`` months counted from the period's first month."""
    if start is None:
        start = months[0]
    return [
        ((m.year - start.year) * 12 + m.month - start.month) // step
        for m in map(pd.Timestamp, months)
    ]


def report_counts(
    profile: ExportProfile,
    district: str,
    *,
    table: pd.DataFrame,
    period_months: Sequence[pd.Timestamp],
    last_year: float | None,
    hour_weekday: np.ndarray | None,
    by_precision: pd.Series | None,
    step: int,
    same_days: SameDays | None = None,
) -> tuple[ReportCounts, pd.DataFrame]:
    """Protect every count of a lägesbild together.

    Parameters
    ----------
    table
        Month × category counts of the district (every month the charts show, the
        period's included; all categories to list).
    period_months
        The period's months (first days); their counts are the city map's row.
    last_year
        The key figure "Samma period året innan"; linked to the months before the period
        when it is their sum, otherwise shown on its own.
    hour_weekday
        The hour × weekday counts as drawn (7 × columns), or ``None``.
    by_precision
        Events per precision class (all classes listed), or ``None``.
    step
        Months per point of the category charts (3: quarters counted from the period's
        first month).
    same_days
        When the key figure counts the same days a year before and those end inside a
        month: the key figure is linked to those whole months and to the part of the cut
        month (``sdo|<d>|<YYYY-MM>|1-<day>``, with the rest ``…|<day+1>-``), which a reader
        can form from it and the months shown, so they are suppressed as any count.

    Returns
    -------
    counts, blocks
        The ledgers and shown values, and the category × block table the charts draw
        (index: first month of each block).

    Names (``<d>`` the escaped district): ``sdo|<d>|<YYYY-MM>`` and ``sdo|<d>|hela`` (the
    period, as on the maps), ``sdo|<d>|före`` (the months before the period), ``cat|<d>|<k>
    |<YYYY-MM>`` (category ``k`` in the block starting that month), ``cat|<d>|<k>|diagram``
    (its chart total), ``cat|<d>|<k>|period`` (the category table), ``hw|<d>|<w>|<c>``,
    ``hw|<d>|<w>|summa``, ``hw|<d>|summa|<c>``, ``prec|<d>|<class>`` and ``prec|<d>|fina``.
    """
    d = esc(district)
    months = [pd.Timestamp(m) for m in table.index]
    period_keys = [month_key(m) for m in period_months]
    period_set = set(period_keys)
    before = [m for m in months if m < pd.Timestamp(period_months[0])] if period_months else []
    values: dict[str, int] = {}
    constraints: list[Constraint] = []
    hidden: list[str] = []
    ledgers: list[Disclosure] = []
    fixed: dict[str, bool] = {}
    month_total = table.sum(axis=1)
    # 1. The period's row (the city map's) and the months before, each with its total.
    row = district_row(
        profile, district, period_months, [month_total.get(m, 0) for m in period_months]
    )
    ledgers.append(row)
    values.update({k: int(v) for k, v in _row_values(row, table, district, period_months).items()})
    fixed.update({k: row.is_suppressed(k) for k in row.shown})
    split = same_days is not None and set(
        map(pd.Timestamp, [*same_days.whole, same_days.cut])
    ) <= set(before)
    if before and split and same_days is not None:
        month = month_key(same_days.cut)
        head, tail = (
            f"sdo|{d}|{month}|1-{same_days.last_day}",
            f"sdo|{d}|{month}|{same_days.last_day + 1}-",
        )
        parts = {f"sdo|{d}|{month_key(m)}": int(month_total[m]) for m in same_days.whole}
        parts[head] = same_days.head
        total = f"sdo|{d}|före"
        linked = last_year is not None and round(float(last_year)) == sum(parts.values())
        cut_cell = f"sdo|{d}|{month}"
        values_b = {
            **{f"sdo|{d}|{month_key(m)}": int(month_total[m]) for m in before},
            **parts,
            tail: same_days.tail,
            total: sum(parts.values()),
        }
        prev = profile.suppress(
            values_b,
            [Constraint(total, tuple(parts)), Constraint(cut_cell, (head, tail))],
            hidden=() if linked else (total,),
            name=f"sdo-före|{d}",
        )
    elif before:
        parts = {f"sdo|{d}|{month_key(m)}": int(month_total[m]) for m in before}
        total = f"sdo|{d}|före"
        linked = last_year is not None and round(float(last_year)) == sum(parts.values())
        values_b = {**parts, total: sum(parts.values())}
        prev = profile.suppress(
            values_b,
            [Constraint(total, tuple(parts))],
            hidden=() if linked else (total,),
            name=f"sdo-före|{d}",
        )
    if before:
        ledgers.append(prev)
        # the cut month's parts stay in this ledger: the charts' totals hold whole months
        values.update({k: v for k, v in values_b.items() if k.count("|") == 2})
        fixed.update({k: prev.is_suppressed(k) for k in prev.shown if k.count("|") == 2})
        if not linked:
            hidden.append(total)
    # 2. Categories per block, their chart totals, the category table and the block totals.
    start = pd.Timestamp(period_months[0]) if period_months else None
    block_of = _blocks(months, start, step) if months else []
    firsts: dict[int, pd.Timestamp] = {}
    for m, b in zip(months, block_of, strict=True):
        firsts.setdefault(b, m)
    blocks = table.groupby(block_of).sum() if months else table
    blocks.index = [firsts[b] for b in blocks.index] if months else blocks.index
    for b, first in firsts.items():
        members = [
            f"sdo|{d}|{month_key(m)}" for m, mb in zip(months, block_of, strict=True) if mb == b
        ]
        tot = f"blk|{d}|{month_key(first)}"
        cells = [f"cat|{d}|{esc(k)}|{month_key(first)}" for k in table.columns]
        values[tot] = int(blocks.loc[first].sum())
        values.update(
            {c: int(blocks.loc[first, k]) for c, k in zip(cells, table.columns, strict=True)}
        )
        hidden.append(tot)
        constraints += [Constraint(tot, tuple(members)), Constraint(tot, tuple(cells))]
    in_period = [first for b, first in firsts.items() if month_key(first) in period_set]
    for k in table.columns:
        ek = esc(k)
        cells = [f"cat|{d}|{ek}|{month_key(f)}" for f in firsts.values()]
        values[f"cat|{d}|{ek}|diagram"] = sum(values[c] for c in cells)
        constraints.append(Constraint(f"cat|{d}|{ek}|diagram", tuple(cells)))
        if in_period:
            per = [f"cat|{d}|{ek}|{month_key(f)}" for f in in_period]
            values[f"cat|{d}|{ek}|period"] = sum(values[c] for c in per)
            constraints.append(Constraint(f"cat|{d}|{ek}|period", tuple(per)))
    if in_period and len(table.columns):
        constraints.append(
            Constraint(f"sdo|{d}|{WHOLE}", tuple(f"cat|{d}|{esc(k)}|period" for k in table.columns))
        )
    ledgers.append(
        profile.suppress(values, constraints, hidden=hidden, fixed=fixed, name=f"cat|{d}")
    )
    # 3. Hour × weekday and precision: partitions of the period's events (total known).
    whole = f"sdo|{d}|{WHOLE}"
    t = values[whole]
    if hour_weekday is not None:
        hv: dict[str, int] = {}
        hc: list[Constraint] = []
        rows_, cols_ = hour_weekday.shape
        for w in range(rows_):
            cells = [f"hw|{d}|{w}|{c}" for c in range(cols_)]
            hv.update({cell: int(hour_weekday[w, c]) for c, cell in enumerate(cells)})
            hv[f"hw|{d}|{w}|summa"] = int(hour_weekday[w].sum())
            hc.append(Constraint(f"hw|{d}|{w}|summa", tuple(cells)))
        for c in range(cols_):
            cells = [f"hw|{d}|{w}|{c}" for w in range(rows_)]
            hv[f"hw|{d}|summa|{c}"] = int(hour_weekday[:, c].sum())
            hc.append(Constraint(f"hw|{d}|summa|{c}", tuple(cells)))
        top, extra = _partition_total(hv, f"hw|{d}", whole, t)
        hc.append(Constraint(top, tuple(f"hw|{d}|{w}|summa" for w in range(rows_)) + extra))
        hc.append(Constraint(top, tuple(f"hw|{d}|summa|{c}" for c in range(cols_)) + extra))
        ledgers.append(
            profile.suppress(hv, hc, hidden=extra, fixed=_fixed(top, whole, row), name=f"hw|{d}")
        )
    if by_precision is not None:
        pv: dict[str, int] = {}
        cells = [f"prec|{d}|{esc(p)}" for p in by_precision.index]
        pv.update({c: int(v) for c, v in zip(cells, by_precision.to_numpy(), strict=True)})
        fine = [f"prec|{d}|{esc(p)}" for p in by_precision.index if p in _FINE]
        top, extra = _partition_total(pv, f"prec|{d}", whole, t)
        pc = [Constraint(top, tuple(cells) + extra)]
        if fine:
            pv[f"prec|{d}|fina"] = sum(pv[c] for c in fine)
            pc.append(Constraint(f"prec|{d}|fina", tuple(fine)))
        ledgers.append(
            profile.suppress(pv, pc, hidden=extra, fixed=_fixed(top, whole, row), name=f"prec|{d}")
        )
    shown: dict[str, int | None] = {}
    for led in ledgers:
        shown.update(led.shown)
    return ReportCounts(district, tuple(ledgers), shown, t), blocks


_FINE = ("exact", "address", "street", "place")


def _partition_total(
    values: dict[str, int], prefix: str, whole: str, t: int
) -> tuple[str, tuple[str, ...]]:
    """The total a partition of the period's events sums to, added to ``values``.

    Its cells already in ``values`` (``<prefix>|…``); when they add up to the period's
    count ``t`` (or to less: events the partition leaves out are a hidden rest) the total is
    the period's cell ``whole``; when they add up to more (counted from other events) the
    partition gets a total of its own, ``<prefix>|summa``, taken as shown (a reader can
    form it from the shares). Returns the total's name and the hidden rest, if any."""
    parts = sum(v for k, v in values.items() if k.startswith(prefix + "|") and k.count("|") == 2)
    if "hw|" in prefix:
        parts = sum(v for k, v in values.items() if k.endswith("|summa") and "|summa|" not in k)
    if parts <= t:
        values[whole] = t
        if parts == t:
            return whole, ()
        values[f"{prefix}|utan"] = t - parts
        return whole, (f"{prefix}|utan",)
    values[f"{prefix}|summa"] = parts
    return f"{prefix}|summa", ()


def _fixed(top: str, whole: str, row: Disclosure) -> dict[str, bool]:
    return {whole: row.is_suppressed(whole)} if top == whole else {}


def _row_values(
    row: Disclosure, table: pd.DataFrame, district: str, months: Sequence[pd.Timestamp]
) -> dict[str, int]:
    """The true values behind :func:`district_row` (its ledger holds only what is shown)."""
    d = esc(district)
    total = table.sum(axis=1)
    out = {f"sdo|{d}|{month_key(m)}": int(total.get(pd.Timestamp(m), 0)) for m in months}
    out[f"sdo|{d}|{WHOLE}"] = sum(out.values())
    return out
