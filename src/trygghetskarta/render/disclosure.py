"""Cell suppression of published counts, and an auditor that tries to undo it.

A published table is modelled as **cells** (named counts) and **constraints** (a shown total
equals the sum of its parts). Some cells are **hidden**: never shown, but an attacker knows
they exist and are counts (for example the events of a district that no stadsdel label
counts: sensitive events and events placed only to the district). Every cell is a
non-negative integer.

- :func:`audit` is what an attacker can do: given the shown values (a suppressed cell is
  ``None``) and the constraints, it computes for every suppressed cell the smallest and
  largest value that agrees with everything shown (integer linear programmes with
  :func:`scipy.optimize.milp`). A suppressed cell whose interval holds a single value is
  *recovered*.
- :func:`protect` is what the publisher does: primary suppression of every cell below the
  minimum count (zero included), then secondary (complementary) suppression, one cell at a
  time, until :func:`audit` recovers nothing.
- :class:`Disclosure` is the ledger of one protected family of tables: what was shown
  (values, or ``None``), the hidden cells and the constraints. Maps and reports embed their
  ledgers as JSON in an inert ``<template class="tk-ledger">`` (never shown, never run; the
  lägesbild stays free of scripts), so that the files written together can be audited as a
  whole from what they show (:func:`read_ledgers`, :func:`audit_ledgers`). Ledgers hold
  only what is shown: a suppressed cell is ``null``, never its value.

Cell names are global across the files of one run: the same name in two ledgers is the same
count (``"sdo|Farsta|2025-03"`` is Farsta's March on the city map, on Farsta's map and in
Farsta's report), so linked files are audited together.
"""

from __future__ import annotations

import html as html_mod
import itertools
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from trygghetskarta.errors import SchemaError

__all__ = [
    "Constraint",
    "Disclosure",
    "DisclosureError",
    "audit",
    "audit_ledgers",
    "ledger_html",
    "protect",
    "read_ledgers",
    "recovered",
]

#: Upper bound of any cell in the auditor's programmes (a count is never this large).
_BIG = 1.0e7
_LEDGER_CLASS = "tk-ledger"
#: Rounds of :meth:`_Auditor.certify` (each solves two programmes for many cells at once).
_CERTIFY_ROUNDS = 8


class DisclosureError(RuntimeError):
    """A table cannot be protected (every cell that could hide a small one is fixed)."""


@dataclass(frozen=True)
class Constraint:
    """``total`` equals the sum of ``parts`` (all cell names)."""

    total: str
    parts: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.parts:
            raise SchemaError(f"constraint on {self.total!r} needs at least one part, got none")


@dataclass(frozen=True)
class Disclosure:
    """The ledger of one protected family of tables.

    Attributes
    ----------
    name
        What the family is (``"city-months"``, ``"report|Farsta|categories"`` …).
    shown
        Every published cell: its value, or ``None`` where it is suppressed.
    hidden
        Cells that are never shown but take part in constraints.
    constraints
        The sums a reader can form from the page.
    """

    name: str
    shown: Mapping[str, int | None]
    hidden: tuple[str, ...] = ()
    constraints: tuple[Constraint, ...] = field(default=())

    def value(self, key: str) -> int | None:
        """The value shown for ``key`` (``None``: suppressed)."""
        return self.shown[key]

    def is_suppressed(self, key: str) -> bool:
        return self.shown[key] is None

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "shown": dict(self.shown),
            "hidden": list(self.hidden),
            "constraints": [[c.total, list(c.parts)] for c in self.constraints],
        }

    @classmethod
    def from_json(cls, data: Mapping) -> Disclosure:
        return cls(
            name=str(data["name"]),
            shown={str(k): (None if v is None else int(v)) for k, v in data["shown"].items()},
            hidden=tuple(data.get("hidden", ())),
            constraints=tuple(Constraint(t, tuple(p)) for t, p in data.get("constraints", ())),
        )


def _rows(constraints: Iterable[Constraint]) -> list[dict[str, float]]:
    rows = []
    for c in constraints:
        row: dict[str, float] = {c.total: 1.0}
        for p in c.parts:
            row[p] = row.get(p, 0.0) - 1.0
        rows.append(row)
    return rows


def _components(unknown: Sequence[str], rows: list[dict[str, float]]) -> list[list[int]]:
    """Groups of constraint rows that share unknown cells (union-find over the unknowns)."""
    parent = {u: u for u in unknown}

    def find(u: str) -> str:
        while parent[u] != u:
            parent[u] = parent[parent[u]]
            u = parent[u]
        return u

    for row in rows:
        us = [k for k in row if k in parent]
        for a, b in itertools.pairwise(us):
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[ra] = rb
    groups: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        us = [k for k in row if k in parent]
        if us:
            groups.setdefault(find(us[0]), []).append(i)
    return list(groups.values())


def audit(
    cells: Mapping[str, float | None],
    constraints: Sequence[Constraint],
    *,
    hidden: Iterable[str] = (),
    integer: bool = True,
    only: Iterable[str] | None = None,
) -> dict[str, tuple[float, float]]:
    """The interval a reader can derive for every suppressed cell.

    Parameters
    ----------
    cells
        Published cells: the value shown, or ``None`` where the cell is suppressed.
    constraints
        Sums the reader knows hold (a total equals the sum of its parts).
    hidden
        Cells never shown (unknowns that are counts); names that appear only in
        ``constraints`` are hidden too.
    integer
        Cells are integers (mixed-integer programmes); ``False`` solves the linear relaxation.
    only
        Audit these suppressed cells only (default: all).

    Returns
    -------
    dict
        ``(low, high)`` per suppressed cell; ``high`` is ``inf`` when nothing bounds it.

    Raises
    ------
    DisclosureError
        The shown values contradict the constraints (no non-negative counts fit them).
    """
    auditor = _Auditor(cells, constraints, hidden, integer)
    keys = [k for k, v in cells.items() if v is None] if only is None else list(only)
    return {k: auditor.interval(k) for k in keys}


class _Auditor:
    """Intervals of suppressed cells, one small programme per group of linked unknowns."""

    def __init__(
        self,
        cells: Mapping[str, float | None],
        constraints: Sequence[Constraint],
        hidden: Iterable[str],
        integer: bool,
    ) -> None:
        self.cells = cells
        self.integer = integer
        self.rows = _rows(constraints)
        unknown = dict.fromkeys(k for k, v in cells.items() if v is None)
        unknown.update(dict.fromkeys(hidden))
        unknown.update(dict.fromkeys(k for r in self.rows for k in r if cells.get(k) is None))
        self.group_of: dict[str, int] = {}
        self.groups = _components(list(unknown), self.rows)
        for g, group in enumerate(self.groups):
            for i in group:
                for k in self.rows[i]:
                    if cells.get(k) is None:
                        self.group_of[k] = g
        self.systems: dict[int, tuple[np.ndarray, np.ndarray, dict[str, int]]] = {}

    def _system(self, g: int) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
        if g not in self.systems:
            group = self.groups[g]
            keys = dict.fromkeys(
                k for i in group for k in self.rows[i] if self.cells.get(k) is None
            )
            col = {k: j for j, k in enumerate(keys)}
            a = np.zeros((len(group), len(col)))
            b = np.zeros(len(group))
            for r, i in enumerate(group):
                for k, coef in self.rows[i].items():
                    if k in col:
                        a[r, col[k]] += coef
                    else:
                        b[r] -= coef * float(self.cells[k])
            self.systems[g] = (a, b, col)
        return self.systems[g]

    def interval(self, key: str) -> tuple[float, float]:
        if key not in self.group_of:
            return (0.0, math.inf)  # in no sum: nothing bounds it
        a, b, col = self._system(self.group_of[key])
        lo = _optimise(a, b, col[key], +1.0, self.integer)
        hi = _optimise(a, b, col[key], -1.0, self.integer)
        return (lo, math.inf if hi >= _BIG - 0.5 else hi)

    def certify(self, true: Mapping[str, float]) -> set[str]:
        """Cells of ``true`` shown not to be pinned by a few solutions at once.

        For each group, solutions that push all the given cells up, then down, are found;
        every cell whose value in a solution differs from its true value can take two
        values, so it is not recovered (an integer solution certifies exactly)."""
        safe: set[str] = set()
        by_group: dict[int, list[str]] = {}
        for k in true:
            if k in self.group_of:
                by_group.setdefault(self.group_of[k], []).append(k)
            else:
                safe.add(k)
        for g, keys in by_group.items():
            a, b, col = self._system(g)
            left = list(keys)
            rng = np.random.default_rng(0)  # the same cells certified on every run
            # Push the cells not yet certified up, then down, then in random directions,
            # while that certifies more.
            for round_ in range(_CERTIFY_ROUNDS):
                before = len(left)
                for sign in (-1.0, 1.0):
                    if not left:
                        break
                    c = np.zeros(a.shape[1])
                    signs = rng.choice([-1.0, 1.0], len(left)) if round_ else np.ones(len(left))
                    for k, r in zip(left, signs, strict=True):
                        c[col[k]] = sign * r
                    x = _solve(a, b, c, self.integer)
                    done = {k for k in left if abs(x[col[k]] - true[k]) >= 0.5}
                    safe |= done
                    left = [k for k in left if k not in done]
                if not left or len(left) == before:
                    break
        return safe

    def exposed(self, key: str, true: float) -> bool:
        """Whether ``key`` (whose true value is ``true``) is pinned to one value; a cheaper
        test than :meth:`interval`: one programme suffices when the cell can be larger."""
        if key not in self.group_of:
            return False
        a, b, col = self._system(self.group_of[key])
        if _optimise(a, b, col[key], -1.0, self.integer) >= true + 0.5:
            return False
        return _optimise(a, b, col[key], +1.0, self.integer) > true - 0.5


def _optimise(a: np.ndarray, b: np.ndarray, j: int, sign: float, integer: bool) -> float:
    c = np.zeros(a.shape[1])
    c[j] = sign
    return float(round(_solve(a, b, c, integer)[j], 6))


def _solve(a: np.ndarray, b: np.ndarray, c: np.ndarray, integer: bool) -> np.ndarray:
    res = milp(
        c,
        constraints=LinearConstraint(a, b, b),
        integrality=np.ones(a.shape[1]) if integer else None,
        bounds=Bounds(0.0, _BIG),
    )
    if res.status != 0 or res.x is None:
        raise DisclosureError(
            "the shown counts contradict their totals (no non-negative counts fit them): "
            f"{res.message} — this is a bug in how the table was built"
        )
    return res.x


def recovered(intervals: Mapping[str, tuple[float, float]]) -> list[str]:
    """The suppressed cells whose interval holds one value only."""
    return [k for k, (lo, hi) in intervals.items() if hi - lo < 0.5]


def protect(
    values: Mapping[str, int],
    constraints: Sequence[Constraint] = (),
    *,
    min_count: int,
    hidden: Iterable[str] = (),
    fixed: Mapping[str, bool] | None = None,
    name: str = "",
) -> Disclosure:
    """Suppress cells so that no count below ``min_count`` is shown or can be derived.

    Parameters
    ----------
    values
        The true count of every published and hidden cell.
    constraints
        The sums a reader can form (see :class:`Constraint`).
    min_count
        Counts below this (zero included) are suppressed (primary suppression).
    hidden
        Cells never shown (their values are needed only to check the tables).
    fixed
        Cells whose fate another table has decided: ``True`` suppressed, ``False`` shown.
        They are never chosen for secondary suppression.
    name
        The ledger's name.

    Returns
    -------
    Disclosure
        The shown values (``None`` where suppressed).

    Raises
    ------
    DisclosureError
        A suppressed cell can be recovered and every cell that could hide it is fixed.
    """
    fixed = dict(fixed or {})
    hidden = tuple(hidden)
    published = [k for k in values if k not in hidden]
    missing = [k for c in constraints for k in (c.total, *c.parts) if k not in values]
    if missing:
        raise SchemaError(f"constraints name cells without a value: {sorted(set(missing))[:5]}")
    for c in constraints:
        parts = sum(values[p] for p in c.parts)
        if parts != values[c.total]:
            raise SchemaError(
                f"{c.total!r} is {values[c.total]} but its parts sum to {parts} — the table "
                "was built from different events"
            )
    order = {k: i for i, k in enumerate(published)}
    small = {k for k in published if values[k] < min_count}
    bad = [k for k in small if fixed.get(k) is False]
    if bad:
        raise DisclosureError(f"cells {bad[:5]} are below {min_count} but fixed as shown")
    suppressed = {k for k in published if fixed.get(k) is True} | (small - set(fixed))
    rows = [(c.total, *c.parts) for c in constraints]
    is_total = {c.total for c in constraints}
    # Suppressing more cells only widens intervals, so a cell found safe stays safe.
    safe: set[str] = set()
    while True:
        cells = {k: (None if k in suppressed else values[k]) for k in published}
        auditor = _Auditor(cells, constraints, hidden, True)
        safe |= auditor.certify({k: values[k] for k in suppressed - safe})
        exposed = None
        for k in sorted(suppressed - safe, key=order.get):
            if auditor.exposed(k, values[k]):
                exposed = k
                break
            safe.add(k)
        if exposed is None:
            return Disclosure(name, cells, hidden, tuple(constraints))
        pick = _complement(exposed, rows, suppressed, fixed, set(hidden), values, is_total)
        if pick is None:
            raise DisclosureError(
                f"{name}: {exposed!r} can be worked out from the totals and every cell "
                "that could hide it is fixed by another table — suppress a total there"
            )
        suppressed.add(pick)


def _complement(
    cell: str,
    rows: list[tuple[str, ...]],
    suppressed: set[str],
    fixed: Mapping[str, bool],
    hidden: set[str],
    values: Mapping[str, int],
    is_total: set[str],
) -> str | None:
    """The cell to suppress next, among the free cells linked to ``cell`` by sums (through
    suppressed and hidden cells): an inner cell before a total, then the nearest, then the
    smallest."""
    seen_cells, frontier = {cell}, {cell}
    seen_rows: set[int] = set()
    found: dict[str, int] = {}
    depth = 0
    while frontier:
        nxt: set[str] = set()
        for i, row in enumerate(rows):
            if i in seen_rows or frontier.isdisjoint(row):
                continue
            seen_rows.add(i)
            for k in row:
                if k in suppressed or k in hidden:
                    if k not in seen_cells:
                        seen_cells.add(k)
                        nxt.add(k)
                elif k not in fixed:
                    found.setdefault(k, depth)
        frontier = nxt
        depth += 1
    if not found:
        return None
    return min(found, key=lambda k: (k in is_total, found[k], values[k], k))


_LEDGER_RE = re.compile(r'<template class="' + _LEDGER_CLASS + r'">([^<]*)</template>')
_SRCDOC_RE = re.compile(r'srcdoc="([^"]*)"')


def ledger_html(ledgers: Sequence[Disclosure], *, min_count: int) -> str:
    """The ledgers as an inert ``<template class="tk-ledger">`` holding escaped JSON."""
    data = {"min_count": min_count, "tables": [d.to_json() for d in ledgers]}
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    # No "<" at all, however often the page is unescaped (e.g. inside an iframe's srcdoc).
    text = html_mod.escape(text.replace("<", "\\u003c"), quote=True)
    # No braces either: a map page passes through a template engine, and text is data.
    text = text.replace("{", "&#123;").replace("}", "&#125;")
    return f'<template class="{_LEDGER_CLASS}">{text}</template>'


def read_ledgers(page: str) -> list[Disclosure]:
    """Every ledger embedded in a page, and in the pages of its ``<iframe srcdoc>``."""
    out: dict[str, Disclosure] = {}
    for match in _LEDGER_RE.finditer(page):
        data = json.loads(html_mod.unescape(match.group(1)))
        for table in data["tables"]:
            d = Disclosure.from_json(table)
            out.setdefault(json.dumps(d.to_json(), sort_keys=True), d)
    for match in _SRCDOC_RE.finditer(page):
        for d in read_ledgers(html_mod.unescape(match.group(1))):
            out.setdefault(json.dumps(d.to_json(), sort_keys=True), d)
    return list(out.values())


def audit_ledgers(ledgers: Iterable[Disclosure]) -> dict[str, tuple[float, float]]:
    """Audit many ledgers together (files written together): intervals of suppressed cells.

    Raises
    ------
    DisclosureError
        Two ledgers show different values for the same cell.
    """
    cells: dict[str, int | None] = {}
    hidden: set[str] = set()
    constraints: dict[tuple, Constraint] = {}
    for d in ledgers:
        for k, v in d.shown.items():
            if k in cells and cells[k] != v:
                raise DisclosureError(
                    f"{k!r} is shown as {cells[k]} in one file and {v} in another"
                )
            cells[k] = v
        hidden.update(d.hidden)
        for c in d.constraints:
            constraints[(c.total, c.parts)] = c
    return audit(cells, list(constraints.values()), hidden=hidden - set(cells))
