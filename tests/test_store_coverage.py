"""Recording per-day coverage in the store and reading it back as a Coverage."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from trygghetskarta import store
from trygghetskarta.coverage import Gap
from trygghetskarta.errors import StoreError


def _days(month: int, *numbers: int) -> list[date]:
    return [date(2026, month, d) for d in numbers]


def test_covered_days_become_a_coverage_with_its_gaps(tmp_path: Path) -> None:
    con = store.connect(tmp_path / "t.duckdb")
    assert store.record_days(con, "polisen", _days(3, 1, 2, 3), covered=True, how="overlap") == 3
    assert store.record_days(con, "polisen", _days(3, 4, 5), covered=False, how="unfilled") == 2
    assert store.record_days(con, "polisen", _days(3, 6, 7), covered=True, how="backfill-day") == 2
    c = store.read_coverage(con, "polisen")
    assert (c.first, c.last) == (date(2026, 3, 1), date(2026, 3, 7))
    assert c.gaps == (Gap(date(2026, 3, 4), date(2026, 3, 5)),)
    assert store.read_coverage(con, "lists").first is None


def test_a_gap_is_filled_later_but_a_covered_day_never_becomes_a_gap(tmp_path: Path) -> None:
    con = store.connect(tmp_path / "t.duckdb")
    store.record_days(con, "polisen", _days(3, 1, 3), covered=True, how="overlap")
    store.record_days(con, "polisen", _days(3, 2), covered=False, how="unfilled")
    assert store.read_coverage(con, "polisen").gaps == (Gap(date(2026, 3, 2), date(2026, 3, 2)),)
    # the covered first day is not downgraded; the gap is filled
    assert store.record_days(con, "polisen", _days(3, 1), covered=False, how="unfilled") == 0
    assert store.record_days(con, "polisen", _days(3, 2), covered=True, how="backfill-hours") == 1
    assert store.read_coverage(con, "polisen").gaps == ()
    rows = store.coverage_days(con, "polisen")
    assert list(rows["how"]) == ["overlap", "backfill-hours", "overlap"]


def test_unknown_how_is_refused(tmp_path: Path) -> None:
    con = store.connect(tmp_path / "t.duckdb")
    with pytest.raises(StoreError, match="expected coverage 'how'"):
        store.record_days(con, "polisen", _days(3, 1), covered=True, how="guess")


def test_a_read_only_database_from_before_coverage_reads_as_uncovered(tmp_path: Path) -> None:
    import duckdb

    path = tmp_path / "old.duckdb"
    duckdb.connect(str(path)).execute("CREATE TABLE events (event_uid VARCHAR)").close()
    con = store.connect(path, read_only=True)
    assert store.read_coverage(con, "polisen").first is None
    assert store.coverage_days(con, "polisen").empty
