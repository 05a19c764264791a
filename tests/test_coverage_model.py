"""The pure coverage values: covered span, gaps and their Swedish labels."""

from __future__ import annotations

import doctest
from datetime import date

import pytest

import trygghetskarta.coverage as coverage_module
from trygghetskarta.coverage import Coverage, Gap, range_label
from trygghetskarta.errors import ConfigError


def test_doctests() -> None:
    result = doctest.testmod(coverage_module)
    assert result.attempted >= 6
    assert result.failed == 0


@pytest.mark.parametrize(
    ("first", "last", "label"),
    [
        (date(2026, 3, 3), date(2026, 3, 9), "3–9 mars 2026"),
        (date(2026, 2, 27), date(2026, 3, 2), "27 februari – 2 mars 2026"),
        (date(2025, 12, 31), date(2026, 1, 1), "31 december 2025 – 1 januari 2026"),
        (date(2026, 8, 22), date(2026, 8, 22), "22 augusti 2026"),
    ],
    ids=["same-month", "two-months", "two-years", "one-day"],
)
def test_range_label(first: date, last: date, label: str) -> None:
    assert range_label(first, last) == label


def test_from_days_finds_every_gap_and_the_span() -> None:
    days = [date(2026, 1, d) for d in range(1, 32) if d not in (5, 6, 7, 20)]
    c = Coverage.from_days("polisen", days)
    assert (c.first, c.last) == (date(2026, 1, 1), date(2026, 1, 31))
    assert c.gaps == (
        Gap(date(2026, 1, 5), date(2026, 1, 7)),
        Gap(date(2026, 1, 20), date(2026, 1, 20)),
    )
    assert [g.days for g in c.gaps] == [3, 1]
    assert c.covers(date(2026, 1, 8), date(2026, 1, 19))
    assert not c.covers(date(2026, 1, 1), date(2026, 1, 10))
    assert not c.covers(date(2025, 12, 31), date(2026, 1, 2))
    assert c.gaps_within(date(2026, 1, 7), date(2026, 1, 19)) == (c.gaps[0],)


def test_empty_coverage_covers_nothing() -> None:
    c = Coverage.from_days("lists", [])
    assert c.label == "Inga data"
    assert not c.covers(date(2026, 1, 1), date(2026, 1, 1))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"first": date(2026, 1, 2), "last": date(2026, 1, 1)},
        {"first": date(2026, 1, 1), "last": None},
        {
            "first": date(2026, 1, 1),
            "last": date(2026, 1, 9),
            "gaps": (Gap(date(2026, 1, 1), date(2026, 1, 2)),),
        },
        {
            "first": date(2026, 1, 1),
            "last": date(2026, 1, 30),
            "gaps": (
                Gap(date(2026, 1, 5), date(2026, 1, 6)),
                Gap(date(2026, 1, 7), date(2026, 1, 8)),
            ),
        },
    ],
    ids=["reversed", "one-end", "gap-at-edge", "touching-gaps"],
)
def test_inconsistent_coverage_is_refused(kwargs: dict) -> None:
    with pytest.raises(ConfigError, match="expected"):
        Coverage("polisen", **kwargs)
