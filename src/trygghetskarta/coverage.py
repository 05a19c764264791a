"""Which days a source covers: the covered span and the gaps inside it.

A day is *covered* when the store can show that every event published that day was
received (consecutive answers of the feed overlapped, a per-day backfill came back under
the API's limit, or an archive holds the day). A *gap* is a run of days inside the span
that is not covered. These objects are pure values: the store records coverage
(:mod:`trygghetskarta.store`), the pipeline builds one :class:`Coverage` per source and
passes it down, and analysis and render only read it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise

from trygghetskarta.errors import ConfigError

#: How a day's coverage was established (``how`` of a :class:`Finding` and of the store's
#: ``coverage_days``): consecutive answers overlapped, a per-day or per-hour backfill came
#: back under the API's limit, an archive holds the day densely, or a day was tried and
#: not filled (a recorded gap).
HOW = ("overlap", "backfill-day", "backfill-hours", "archive", "unfilled")

#: Swedish month names, January first (dates in maps and reports).
MONTH_NAMES_SV = (
    "januari",
    "februari",
    "mars",
    "april",
    "maj",
    "juni",
    "juli",
    "augusti",
    "september",
    "oktober",
    "november",
    "december",
)


def day_label(day: date) -> str:
    """Swedish label of one day, e.g. ``3 mars 2026``.

    >>> day_label(date(2026, 3, 3))
    '3 mars 2026'
    """
    return f"{day.day} {MONTH_NAMES_SV[day.month - 1]} {day.year}"


def range_label(first: date, last: date) -> str:
    """Swedish label of the days ``first`` … ``last`` (both included), as short as is clear.

    >>> range_label(date(2026, 3, 3), date(2026, 3, 9))
    '3–9 mars 2026'
    >>> range_label(date(2026, 3, 30), date(2026, 4, 2))
    '30 mars – 2 april 2026'
    >>> range_label(date(2025, 12, 30), date(2026, 1, 2))
    '30 december 2025 – 2 januari 2026'
    >>> range_label(date(2026, 3, 3), date(2026, 3, 3))
    '3 mars 2026'
    """
    if last < first:
        raise ConfigError(
            f"expected a range whose last day is not before its first, got {first} – {last}"
        )
    if first == last:
        return day_label(first)
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}–{last.day} {MONTH_NAMES_SV[last.month - 1]} {last.year}"
    if first.year == last.year:
        return f"{first.day} {MONTH_NAMES_SV[first.month - 1]} – {day_label(last)}"
    return f"{day_label(first)} – {day_label(last)}"


@dataclass(frozen=True, order=True)
class Gap:
    """Days ``first`` … ``last`` (both included, Europe/Stockholm dates) not covered."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ConfigError(
                f"expected a gap whose last day is not before its first, got {self.first} – "
                f"{self.last}"
            )

    @property
    def days(self) -> int:
        """Number of days in the gap."""
        return (self.last - self.first).days + 1

    @property
    def label(self) -> str:
        """Swedish text for maps and reports, e.g. ``Data saknas 3–9 mars 2026``.

        >>> Gap(date(2026, 3, 3), date(2026, 3, 9)).label
        'Data saknas 3–9 mars 2026'
        """
        return f"Data saknas {range_label(self.first, self.last)}"

    def overlaps(self, first: date, last: date) -> bool:
        """Whether any day of the gap lies in ``first`` … ``last`` (both included)."""
        return self.first <= last and first <= self.last


@dataclass(frozen=True)
class Coverage:
    """The days one source covers.

    Attributes
    ----------
    source
        The source's name in the event schema (``polisen``, ``lists`` …).
    first, last
        The first and the last covered day, or None when nothing is covered.
    gaps
        The runs of uncovered days between ``first`` and ``last``, in order, not touching.
    """

    source: str
    first: date | None
    last: date | None
    gaps: tuple[Gap, ...] = ()

    def __post_init__(self) -> None:
        if (self.first is None) != (self.last is None):
            raise ConfigError(
                f"expected both ends of a coverage or neither, got {self.first} – {self.last}"
            )
        if self.first is not None and self.last is not None and self.last < self.first:
            raise ConfigError(
                f"expected coverage to end after it starts, got {self.first} – {self.last}"
            )
        ordered = sorted(self.gaps)
        if list(self.gaps) != ordered:
            raise ConfigError("expected the gaps in order of their first day — sort them first")
        for a, b in pairwise(ordered):
            if b.first <= a.last + timedelta(days=1):
                raise ConfigError(f"expected separate gaps, got {a} and {b} — merge them")
        if self.gaps and (self.first is None or self.last is None):
            raise ConfigError("expected no gaps in a coverage that covers nothing")
        if (
            self.gaps
            and self.first is not None
            and self.last is not None
            and (self.gaps[0].first <= self.first or self.gaps[-1].last >= self.last)
        ):
            raise ConfigError(
                f"expected gaps strictly inside the covered span {self.first} – {self.last}, "
                f"got {self.gaps[0]} … {self.gaps[-1]}"
            )

    @classmethod
    def from_days(cls, source: str, covered: Iterable[date]) -> Coverage:
        """The coverage of a set of covered days: their span and the runs missing inside it.

        >>> c = Coverage.from_days("polisen", [date(2026, 3, d) for d in (1, 2, 5, 6, 9)])
        >>> [g.label for g in c.gaps]
        ['Data saknas 3–4 mars 2026', 'Data saknas 7–8 mars 2026']
        """
        days = sorted(set(covered))
        if not days:
            return cls(source, None, None)
        gaps = [
            Gap(a + timedelta(days=1), b - timedelta(days=1))
            for a, b in pairwise(days)
            if (b - a).days > 1
        ]
        return cls(source, days[0], days[-1], tuple(gaps))

    def gaps_within(self, first: date, last: date) -> tuple[Gap, ...]:
        """The gaps with a day in ``first`` … ``last`` (both included)."""
        return tuple(g for g in self.gaps if g.overlaps(first, last))

    def covers(self, first: date, last: date) -> bool:
        """Whether every day of ``first`` … ``last`` is covered (inside the span, in no gap)."""
        if self.first is None or self.last is None:
            return False
        return self.first <= first and last <= self.last and not self.gaps_within(first, last)

    @property
    def label(self) -> str:
        """Swedish text of the covered span, e.g. ``Data 1 januari – 22 augusti 2026``."""
        if self.first is None or self.last is None:
            return "Inga data"
        return f"Data {range_label(self.first, self.last)}"


@dataclass(frozen=True)
class Finding:
    """What a fetch or an ingest learned about some days of one source (a pure value).

    Sources return findings; the pipeline records them in the store
    (``store.record_days(con, source, finding.days, covered=…, how=…, detail=…)``).

    Attributes
    ----------
    days
        Europe/Stockholm dates, in any order.
    covered
        True: every event published those days was received; False: tried, not filled.
    how
        One of :data:`HOW` (``unfilled`` exactly when not ``covered``).
    detail
        The evidence or the reason, for the operator (file names, counts, an error).
    """

    days: tuple[date, ...]
    covered: bool
    how: str
    detail: str = ""

    def __post_init__(self) -> None:
        if self.how not in HOW:
            raise ConfigError(f"expected 'how' to be one of {', '.join(HOW)}, got {self.how!r}")
        if self.covered == (self.how == "unfilled"):
            raise ConfigError(
                f"expected how='unfilled' exactly for days not covered, got covered="
                f"{self.covered} with how={self.how!r}"
            )


def gap_months(coverage: Coverage | None, first: date, last: date) -> dict[str, tuple[Gap, ...]]:
    """The months of ``first`` … ``last`` touched by a gap, ``{"YYYY-MM": gaps}``.

    A figure for such a month counts only the days that were covered, so charts and
    sliders mark it (see :mod:`trygghetskarta.render`).

    >>> c = Coverage.from_days("polisen", [date(2026, 2, 27), date(2026, 4, 2)])
    >>> sorted(gap_months(c, date(2026, 1, 1), date(2026, 12, 31)))
    ['2026-02', '2026-03', '2026-04']
    """
    out: dict[str, tuple[Gap, ...]] = {}
    if coverage is None:
        return out
    for gap in coverage.gaps_within(first, last):
        month = date(max(gap.first, first).year, max(gap.first, first).month, 1)
        end = min(gap.last, last)
        while month <= end:
            key = f"{month:%Y-%m}"
            out[key] = (*out.get(key, ()), gap)
            month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return out
