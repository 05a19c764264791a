"""Per-day coverage of a feed: which days the store knows it received whole.

Part of :mod:`trygghetskarta.store`. Table ``coverage_days`` holds one row per source and
Europe/Stockholm day: ``covered`` is true when every event published that day is known to
have been received (consecutive answers overlapped, a per-day or per-hour backfill came
back under the API's limit, or an archive holds the day); false marks a day that was
tried and could not be filled (a recorded gap). ``how`` says which of these it was and
``detail`` gives the evidence (file names, counts). A covered day is never turned back
into a gap; a gap becomes covered when a later run fills it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import duckdb
import pandas as pd

from trygghetskarta.coverage import HOW, Coverage, Finding
from trygghetskarta.errors import StoreError


def record_days(
    con: duckdb.DuckDBPyConnection,
    source: str,
    days: Iterable[date],
    *,
    covered: bool,
    how: str,
    detail: str = "",
) -> int:
    """Record days of ``source`` as covered or as a gap; return how many rows changed.

    Parameters
    ----------
    con
        A writable connection (``store.connect``).
    source
        The source's name in the event schema, e.g. ``polisen``.
    days
        Europe/Stockholm dates.
    covered
        True for days known to be complete, False for days tried and not filled.
    how
        One of :data:`HOW`.
    detail
        Evidence for the record (answer files, counts), kept for the operator.
    """
    if how not in HOW:
        raise StoreError(f"expected coverage 'how' to be one of {', '.join(HOW)}, got {how!r}")
    frame = pd.DataFrame({"day": sorted(set(days))})
    if frame.empty:
        return 0
    frame["source"] = source
    frame["covered"] = covered
    frame["how"] = how
    frame["detail"] = detail
    changing = con.execute(
        """
        SELECT count(*) FROM frame f LEFT JOIN coverage_days c
            ON c.source = f.source AND c.day = f.day
        WHERE c.day IS NULL OR (NOT c.covered AND f.covered)
        """
    ).fetchone()
    # A covered day stays covered: only gaps (or new days) are overwritten.
    con.execute(
        """
        INSERT INTO coverage_days
        SELECT source, day, covered, how, detail, now() FROM frame
        ON CONFLICT (source, day) DO UPDATE SET
            covered = excluded.covered, how = excluded.how, detail = excluded.detail,
            recorded_at = excluded.recorded_at
        WHERE NOT coverage_days.covered AND excluded.covered
        """
    )
    return int(changing[0]) if changing else 0


def coverage_days(con: duckdb.DuckDBPyConnection, source: str | None = None) -> pd.DataFrame:
    """The recorded days (``source, day, covered, how, detail, recorded_at``), by day."""
    if not _exists(con):
        return pd.DataFrame(columns=["source", "day", "covered", "how", "detail", "recorded_at"])
    if source is None:
        return con.execute("SELECT * FROM coverage_days ORDER BY source, day").df()
    return con.execute("SELECT * FROM coverage_days WHERE source = ? ORDER BY day", [source]).df()


def read_coverage(con: duckdb.DuckDBPyConnection, source: str) -> Coverage:
    """The :class:`~trygghetskarta.coverage.Coverage` of ``source`` from its covered days.

    Days never recorded and days recorded as gaps both count as uncovered; a source with no
    recorded day covers nothing (``Coverage(source, None, None)``).
    """
    if not _exists(con):
        return Coverage(source, None, None)
    rows = con.execute(
        "SELECT day FROM coverage_days WHERE source = ? AND covered ORDER BY day", [source]
    ).fetchall()
    return Coverage.from_days(source, (r[0] for r in rows))


def _exists(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the table exists: a database opened read-only from before coverage was kept
    has none (and DuckDB would otherwise read a Python object of the same name)."""
    row = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'coverage_days'"
    ).fetchone()
    return bool(row and row[0])


def record_findings(
    con: duckdb.DuckDBPyConnection, source: str, findings: Iterable[Finding]
) -> dict[str, int]:
    """Record every :class:`~trygghetskarta.coverage.Finding` of ``source`` (see
    :func:`record_days`); return the rows changed per ``how``."""
    changed: dict[str, int] = {}
    for finding in findings:
        n = record_days(
            con,
            source,
            finding.days,
            covered=finding.covered,
            how=finding.how,
            detail=finding.detail,
        )
        changed[finding.how] = changed.get(finding.how, 0) + n
    return changed


def event_days(con: duckdb.DuckDBPyConnection, source: str) -> set[date]:
    """The Europe/Stockholm days on which the store holds an event of ``source`` published.

    A backfill that gets an empty answer for such a day knows the API no longer serves it.
    """
    rows = con.execute(
        "SELECT DISTINCT CAST(timezone('Europe/Stockholm', published_at) AS DATE) FROM events "
        "WHERE source = ? AND published_at IS NOT NULL",
        [source],
    ).fetchall()
    return {r[0] for r in rows}
