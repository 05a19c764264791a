"""Coordinates in a delivered list: which reference system, swapped or not, inside the kommun?

Lists come with SWEREF99 TM (EPSG:3006), Stockholm's SWEREF99 18 00 (EPSG:3011) or WGS84
degrees, and often with the columns the wrong way round (Swedish surveying calls the
northing X). :func:`place_points` reads every row in each plausible way — the declared
system as given, then swapped, then the other systems as given and swapped — and keeps:

- the declared reading when it falls inside the kommun (``ok``);
- otherwise the only other reading that does (``fixed``, with a note saying what was wrong);
- nothing when two or more other readings fall inside (``ambiguous``), when the declared
  reading is a real place outside the kommun (``outside``), or when no reading lands
  anywhere near (``implausible``).

Nothing is guessed: a fix needs exactly one reading inside the kommun.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import shapely
from pyproj import Transformer

from trygghetskarta.config import CITY_CRS, STORE_CRS, WEB_CRS

#: The systems a list may use, in the order they are tried after the declared one.
KNOWN_CRS = (STORE_CRS, CITY_CRS, WEB_CRS)
#: A generous box around Sweden in EPSG:3006, used when no kommun outline is given.
SWEDEN_3006 = (200_000.0, 6_100_000.0, 1_000_000.0, 7_700_000.0)

OK, FIXED, OUTSIDE, IMPLAUSIBLE, AMBIGUOUS, MISSING = (
    "ok",
    "fixed",
    "outside",
    "implausible",
    "ambiguous",
    "missing",
)
_NAMES = {STORE_CRS: "SWEREF99 TM (EPSG:3006)", CITY_CRS: "SWEREF99 18 00 (EPSG:3011)"}
_NAMES[WEB_CRS] = "WGS84 degrees (EPSG:4326)"


@cache
def _to_store(crs: str) -> Transformer:
    return Transformer.from_crs(crs, STORE_CRS, always_xy=True)


@dataclass(frozen=True)
class Placement:
    """Where each row's coordinates put it.

    Attributes
    ----------
    x, y
        EPSG:3006 metres; NaN unless the status is ``ok`` or ``fixed``.
    status
        ``ok``, ``fixed``, ``outside``, ``implausible``, ``ambiguous`` or ``missing``.
    note
        Per row: what was fixed, or why the row cannot be placed; None for ``ok``.
    """

    x: np.ndarray
    y: np.ndarray
    status: np.ndarray
    note: list[str | None]


def _reading(crs: str, swapped: bool, declared: str) -> str:
    parts = []
    if swapped:
        parts.append("x and y were swapped")
    if crs != declared:
        parts.append(f"the coordinates are in {_NAMES[crs]}, not {_NAMES[declared]}")
    return " and ".join(parts)


def _project(crs: str, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if crs == WEB_CRS:
        good = (np.abs(a) <= 180) & (np.abs(b) <= 90)
    else:
        good = (np.abs(a) < 5e6) & (b > 4e6) & (b < 9e6)
    xs = np.full(a.shape, np.nan)
    ys = np.full(a.shape, np.nan)
    if good.any():
        xs[good], ys[good] = _to_store(crs).transform(a[good], b[good])
    bad = ~(np.isfinite(xs) & np.isfinite(ys))
    xs[bad] = ys[bad] = np.nan
    return xs, ys


def _inside(xs: np.ndarray, ys: np.ndarray, area: shapely.Geometry | None) -> np.ndarray:
    finite = np.isfinite(xs) & np.isfinite(ys)
    if area is None:
        x0, y0, x1, y1 = SWEDEN_3006
        return finite & (xs >= x0) & (xs <= x1) & (ys >= y0) & (ys <= y1)
    out = np.zeros(xs.shape, dtype=bool)
    out[finite] = shapely.contains_xy(area, xs[finite], ys[finite])
    return out


def place_points(
    x: np.ndarray,
    y: np.ndarray,
    *,
    declared: str = STORE_CRS,
    kommun: shapely.Geometry | None = None,
    municipality: str = "Stockholm",
) -> Placement:
    """Read list coordinates into EPSG:3006, fixing only what is unambiguous.

    Parameters
    ----------
    x, y
        The values of the list's x (easting) and y (northing) columns; NaN when blank.
    declared
        The system the list says it uses: ``EPSG:3006``, ``EPSG:3011`` or ``EPSG:4326``
        (x = longitude, y = latitude).
    kommun
        The kommun's outline in EPSG:3006; without it "inside" means "in Sweden".
    municipality
        The kommun's name, for the notes.

    Returns
    -------
    Placement
        See the module docstring for the statuses.
    """
    if declared not in KNOWN_CRS:
        raise ValueError(f"declared CRS must be one of {KNOWN_CRS}, got {declared!r}")
    a = np.asarray(x, dtype=float)
    b = np.asarray(y, dtype=float)
    shapely.prepare(kommun) if kommun is not None else None
    readings = [(declared, False), (declared, True)]
    readings += [(c, s) for c in KNOWN_CRS if c != declared for s in (False, True)]
    projected = [_project(c, b, a) if s else _project(c, a, b) for c, s in readings]
    inside = np.array([_inside(px, py, kommun) for px, py in projected])
    plausible = _inside(*projected[0], None)

    n = len(a)
    out_x = np.full(n, np.nan)
    out_y = np.full(n, np.nan)
    status = np.full(n, IMPLAUSIBLE, dtype=object)
    notes = np.full(n, None, dtype=object)
    missing = ~(np.isfinite(a) & np.isfinite(b))
    where = "inside " + (f"{municipality} kommun" if kommun is not None else "Sweden")
    hits = inside.sum(axis=0)
    first = np.argmax(inside, axis=0)  # the first reading inside (0 when none is)
    declared_ok = ~missing & inside[0]
    fixed = ~missing & ~declared_ok & (hits == 1)
    ambiguous = ~missing & ~declared_ok & (hits > 1)
    outside = ~missing & (hits == 0) & plausible
    implausible = ~missing & (hits == 0) & ~plausible
    px = np.array([p[0] for p in projected])
    py = np.array([p[1] for p in projected])
    take = declared_ok | fixed
    cols = np.flatnonzero(take)
    out_x[take] = px[first[take], cols]
    out_y[take] = py[first[take], cols]
    status[missing] = MISSING
    notes[missing] = "x or y is blank"
    status[declared_ok] = OK
    status[fixed] = FIXED
    ways = np.array([_reading(c, sw, declared) for c, sw in readings], dtype=object)
    notes[fixed] = ways[first[fixed]]
    status[ambiguous] = AMBIGUOUS
    for i in np.flatnonzero(ambiguous):
        joined = "; ".join(ways[k] for k in np.flatnonzero(inside[:, i]))
        notes[i] = f"more than one reading lands {where} ({joined})"
    status[outside] = OUTSIDE
    for i in np.flatnonzero(outside):
        notes[i] = f"({a[i]:.0f}, {b[i]:.0f}) read as {_NAMES[declared]}"
    systems = ", ".join(_NAMES[c] for c in KNOWN_CRS)
    for i in np.flatnonzero(implausible):
        notes[i] = (
            f"({a[i]:g}, {b[i]:g}) read as {systems}, as given or swapped, never lands {where}"
        )
    return Placement(out_x, out_y, status, notes.tolist())
