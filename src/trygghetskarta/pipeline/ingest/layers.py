"""Ingest of the sources beside the police events: population, Brå's statistics, the
event lists of the data agreements (reported crimes, shootings, fires), and the shooting
and fire layers derived from the stored police events.

Each function takes the settings, a connection and optionally the files to read (the
data directory's own files otherwise), runs one transaction, and returns the counts of
the ingest summary: ``read = loaded + updated + unchanged + quarantined``.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import sys
import uuid
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import shapely

from trygghetskarta import __version__, store
from trygghetskarta import areas as areas_mod
from trygghetskarta.config import Settings
from trygghetskarta.pipeline.ingest.ahead import (
    PROCESS_FROM_BYTES,
    ProcessReader,
    list_bytes,
    read_ahead,
)
from trygghetskarta.pipeline.steps import now
from trygghetskarta.pipeline.steps import now as _steps_now
from trygghetskarta.schema import (
    PARSED_COLUMNS,
    STATISTICS_COLUMNS,
    TIMEZONE,
    Layer,
    validate_events,
)
from trygghetskarta.sources import (
    bra,
    crime_list,
    event_lists,
    fires,
    population,
    raw_files,
    shootings,
)

Counts = dict[str, Any]


def _reason_kind(reason: str) -> str:
    """Group quarantine reasons for the summary (the part before any detail)."""
    return str(reason).split(" (")[0].split(": ")[0]


def _by_reason(quarantine: pd.DataFrame) -> dict[str, int]:
    if quarantine.empty:
        return {}
    counts = quarantine["reason"].map(_reason_kind).value_counts()
    return {str(k): int(v) for k, v in counts.items()}


def _counts(read: int, merged: store.MergeCounts, quarantine: pd.DataFrame, **more: Any) -> Counts:
    counts = {
        "read": int(read),
        "loaded": merged.loaded,
        "updated": merged.updated,
        "unchanged": merged.unchanged,
        "quarantined": len(quarantine),
        "by_reason": _by_reason(quarantine),
        **more,
    }
    accounted = counts["loaded"] + counts["updated"] + counts["unchanged"] + counts["quarantined"]
    if accounted != counts["read"]:
        raise AssertionError(f"ingest lost records: read {counts['read']}, accounted {accounted}")
    return counts


def _batch() -> tuple[str, pd.Timestamp]:
    return f"batch-{uuid.uuid4().hex[:12]}", now()


# --------------------------------------------------------------------------- population


def ingest_population(
    settings: Settings, con: duckdb.DuckDBPyConnection, paths: Sequence[Path] | None = None
) -> Counts:
    """Replace ``population`` with what the population files say (``befolkning``)."""
    files = list(paths) if paths else population.discover(settings.require_data())
    parsed = population.parse(files)
    batch_id, at = _batch()
    with store.transaction(con):
        before = len(store.read_table(con, "population"))
        store.replace_table(con, "population", parsed.population)
        store.add_quarantine(con, parsed.quarantine, batch_id=batch_id, quarantined_at=at)
    # Population is replaced whole: rows beyond those before count as loaded.
    loaded = max(len(parsed.population) - before, 0)
    merged = store.MergeCounts(loaded, 0, len(parsed.population) - loaded)
    return _counts(parsed.read, merged, parsed.quarantine, files=[str(f) for f in files])


# --------------------------------------------------------------------------- statistics


def _kommun_names(settings: Settings) -> list[str] | None:
    path = settings.require_data() / "population" / "kommun_population_2024_scb.csv"
    return population.kommun_names(path) if path.is_file() else None


def ingest_crime_statistics(
    settings: Settings, con: duckdb.DuckDBPyConnection, paths: Sequence[Path] | None = None
) -> Counts:
    """Brå's reported-crime statistics and the yearbook table into ``statistics``."""
    files = list(paths) if paths else bra.discover(settings.require_data())
    parsed = bra.parse(files, kommun_names=_kommun_names(settings))
    batch_id, at = _batch()
    with store.transaction(con):
        merged = store.merge_statistics(con, parsed.stats)
        store.add_quarantine(con, parsed.quarantine, batch_id=batch_id, quarantined_at=at)
    return _counts(parsed.read, merged, parsed.quarantine, files=[str(f) for f in files])


def as_statistics(frame: pd.DataFrame) -> pd.DataFrame:
    """Shooting and fire statistics in the shape of the ``statistics`` table.

    Their ``period_end`` is the first day after the period; the table keeps the last day.
    The key is the source, area, period and category, like Brå's.
    """
    out = frame.reindex(columns=list(STATISTICS_COLUMNS)).copy()
    out["period_end"] = pd.to_datetime(frame["period_end"]) - pd.Timedelta(days=1)
    parts = frame[["source", "area_scheme", "area", "period_start", "category_key"]].astype(str)
    out["stat_key"] = [
        hashlib.sha1("\x1f".join(row).encode("utf-8")).hexdigest()[:20]
        for row in parts.itertuples(index=False, name=None)
    ]
    out["area_raw"] = frame["area"]
    out["sensitive"] = False
    return out.drop_duplicates("stat_key", keep="last")


# --------------------------------------------------------------------------- event lists


@dataclass(frozen=True)
class ListLayer:
    """One layer's delivered inputs (``trygghetskarta ingest brott|skjutningar|brander``).

    Attributes
    ----------
    parse
        Reads any mix of the layer's files into one result (police files, statistics,
        lists); :func:`ingest_list` gives it every file but the lists.
    discover
        The data directory's files of the layer.
    contract
        The layer's list contract.
    is_list
        Whether a file is a delivered list, which :func:`ingest_list` reads and stores a
        chunk at a time (:class:`~trygghetskarta.sources.event_lists.ListReader`).
    """

    parse: Callable[..., event_lists.IngestResult]
    discover: Callable[..., list[Path]]
    contract: event_lists.Contract
    is_list: Callable[[Path], bool]


#: The list layers by name. See docs/event_lists.md.
LISTS: dict[str, ListLayer] = {
    "brott": ListLayer(
        crime_list.parse, crime_list.discover, crime_list.CONTRACT, lambda path: True
    ),
    "skjutningar": ListLayer(
        shootings.parse,
        shootings.discover,
        shootings.LIST_CONTRACT,
        lambda path: shootings.file_kind(Path(path)) == "list",
    ),
    "brander": ListLayer(
        fires.parse,
        lambda data: fires.discover(data),
        fires.LIST_CONTRACT,
        lambda path: fires.file_kind(Path(path)) == "list",
    ),
}


def list_file_key(
    path: Path, name: str, options: event_lists.ListOptions, kommun: Any, municipality: str
) -> str:
    """What identifies one ingest of a list file: its content (the original bytes), the
    contract and its settings, the kommun's outline and name, and the tool's version.

    Any change to one of them reads the file again; the same key means reading it again
    would change nothing (see :func:`ingest_list`).
    """
    digest = hashlib.sha256(f"{__version__}\x1flist:{name}\x1f{options!r}\x1f".encode())
    digest.update(f"{municipality}\x1f".encode())
    digest.update(shapely.to_wkb(kommun) if kommun is not None else b"")
    digest.update(raw_files.content_digest(path))
    return digest.hexdigest()[:32]


_FUTURE = re.compile(r"^date in the future: (\d{4}-\d\d-\d\d \d\d:\d\d) ")


def _first_future_dates(quarantine: pd.DataFrame) -> dict[str, pd.Timestamp]:
    """Per file, the earliest date of its rows quarantined as in the future (from the
    reason, ``date in the future: 2031-05-01 10:00 (line 7)``)."""
    if quarantine.empty:
        return {}
    when = quarantine["reason"].astype(str).str.extract(_FUTURE)[0]
    found = quarantine.assign(when=pd.to_datetime(when, format="%Y-%m-%d %H:%M"))
    found = found.dropna(subset=["when"])
    first = found.groupby("source_file")["when"].min()
    return {str(f): t.tz_localize(TIMEZONE, ambiguous=True) for f, t in first.items()}


def ingest_list(
    settings: Settings,
    con: duckdb.DuckDBPyConnection,
    name: str,
    paths: Sequence[Path] | None = None,
    *,
    now: pd.Timestamp | None = None,
    chunk_rows: int | None = None,
    process: bool | None = None,
) -> Counts:
    """One layer's delivered lists and statistics files (``brott|skjutningar|brander``).

    ``now`` is the run's clock (rows dated after it are quarantined); default the current
    time. Characters repaired in the text read are counted in ``repaired``.

    The lists are read ``chunk_rows`` rows at a time (default
    :data:`~trygghetskarta.sources._list_columns.CHUNK_ROWS`) and each chunk's events are
    merged while the next is read (:func:`~.ahead.read_ahead`), all in one transaction:
    a list that fails half-way (a second file without a required column) stores nothing.
    Lists of :data:`~.ahead.PROCESS_FROM_BYTES` or more are read in a process of their
    own (:class:`~.ahead.ProcessReader`), smaller ones in a thread (and every list when
    Python has no executable to start, as when embedded); ``process`` forces one or the
    other.

    A file already ingested as it is (same content, settings, kommun and version: its key
    is in ``ingested_files``) is skipped and listed in ``files_skipped``, so a night with
    the lists unchanged reads nothing; ``ingest --all`` (``Settings.reingest``) reads
    every file again. A changed file is read whole and merged: its rows count as
    ``loaded`` (new), ``updated`` (changed) or ``unchanged``; a new file is read alone, so
    a row it repeats from a file read on an earlier night counts as ``unchanged`` rather
    than as a duplicate row. A file with rows dated after the run's clock is not recorded
    as read until its earliest such date has come (``recheck_from``), so those rows are
    judged again once they may have become valid.
    """
    layer = LISTS[name]
    data = settings.require_data()
    files = list(paths) if paths else layer.discover(data)
    if not files:
        return _counts(0, store.MergeCounts(0, 0, 0), pd.DataFrame(), files=[])
    options = event_lists.options_from_config(settings.extra, layer.contract)
    kommun = areas_mod.load_areas(data).kommun.geometry.iloc[0]
    clock = _steps_now() if now is None else now
    held = store.ingested_file_counts(con)
    keys = {f: list_file_key(f, name, options, kommun, settings.municipality) for f in files}

    def skip(f: Path) -> bool:
        recheck = (held.get(keys[f]) or {}).get("recheck_from")
        return keys[f] in held and (recheck is None or clock < pd.Timestamp(recheck))

    todo = [f for f in files if settings.reingest or not skip(f)]
    skipped = [str(f) for f in files if f not in todo]
    if not todo:
        return _counts(
            0, store.MergeCounts(0, 0, 0), pd.DataFrame(), files=[], files_skipped=skipped
        )
    lists = [f for f in todo if layer.is_list(f)]
    where = {"kommun": kommun, "municipality": settings.municipality, "now": clock}
    reading = _reading(con, lists, layer.contract, options, chunk_rows, process, where)
    with reading as (reader, chunks):
        others = layer.parse([f for f in todo if f not in lists], options, **where)
        stats = as_statistics(others.stats) if len(others.stats) else others.stats
        batch_id, at = _batch()
        with store.transaction(con):
            merged = _merge_events(con, others.events, store.MergeCounts(0, 0, 0), batch_id, at)
            # The lists a chunk at a time: each chunk's events are stored while the next is
            # read, so a million-row list is never held whole.
            for part in chunks:
                merged = _merge_events(con, part, merged, batch_id, at)
            refused = [q for q in (others.quarantine, reader.quarantine()) if len(q)]
            quarantine = pd.concat(refused, ignore_index=True) if refused else others.quarantine
            merged_stats = (
                store.merge_statistics(con, stats) if len(stats) else store.MergeCounts(0, 0, 0)
            )
            store.add_quarantine(con, quarantine, batch_id=batch_id, quarantined_at=at)
            future = _first_future_dates(quarantine)
            for f in todo:
                recheck = future.get(str(f))
                store.record_ingested_files(
                    con,
                    keys[f],
                    [str(f)],
                    batch_id=batch_id,
                    at=at,
                    counts={"list": name, "recheck_from": recheck and recheck.isoformat()},
                )
    total = store.MergeCounts(
        merged.loaded + merged_stats.loaded,
        merged.updated + merged_stats.updated,
        merged.unchanged + merged_stats.unchanged,
    )
    events_read = merged.loaded + merged.updated + merged.unchanged
    read = events_read + len(stats) + len(quarantine)
    more: dict[str, Any] = {
        "files": [str(f) for f in todo],
        "files_skipped": skipped,
        "notes": others.notes + reader.notes,
    }
    repairs = others.repairs + reader.repairs
    if repairs:
        more["repaired"] = repairs.as_counts()
    return _counts(read, total, quarantine, **more)


#: A list's events, a chunk at a time.
_Chunks = Generator[pd.DataFrame, None, None]


@contextlib.contextmanager
def _reading(
    con: duckdb.DuckDBPyConnection,
    lists: list[Path],
    contract: event_lists.Contract,
    options: event_lists.ListOptions,
    chunk_rows: int | None,
    process: bool | None,
    where: dict[str, Any],
) -> Iterator[tuple[event_lists.ListReader | ProcessReader, _Chunks]]:
    """The lists' reader and its chunks, read ahead: in a process of its own for large
    lists (started here, so it reads while the caller does the rest; DuckDB leaves it a
    core meanwhile), else in a thread."""
    if process is None:  # (an embedded interpreter may have no executable to start)
        process = bool(sys.executable) and list_bytes(lists) >= PROCESS_FROM_BYTES
    if not process:
        reader = event_lists.ListReader(lists, contract, options, chunk_rows=chunk_rows, **where)
        with contextlib.closing(read_ahead(reader)) as chunks:
            yield reader, chunks
        return
    # closed on the way out even when the merge fails: the process ends, DuckDB has its
    # threads back
    with (
        ProcessReader(lists, contract, options, chunk_rows=chunk_rows, **where) as apart,
        contextlib.closing(_leaving_a_core(con, apart)) as chunks,
    ):
        yield apart, chunks


def _leaving_a_core(con: duckdb.DuckDBPyConnection, parts: Iterable[pd.DataFrame]) -> _Chunks:
    """``parts`` with DuckDB a thread short while they come (the commit after has all)."""
    with store.fewer_threads(con):
        yield from parts


def _merge_events(
    con: duckdb.DuckDBPyConnection,
    events: pd.DataFrame,
    before: store.MergeCounts,
    batch_id: str,
    at: pd.Timestamp,
) -> store.MergeCounts:
    """Store one part of a batch's events; the batch's counts so far plus this part's."""
    if events.empty:
        return before
    events = events.reindex(columns=list(PARSED_COLUMNS))
    validate_events(events)
    so_far = before.loaded + before.updated + before.unchanged
    part = store.merge_events(con, events, batch_id=batch_id, ingested_at=at, received_from=so_far)
    return store.MergeCounts(
        before.loaded + part.loaded,
        before.updated + part.updated,
        before.unchanged + part.unchanged,
    )


# --------------------------------------------------------------------------- derived layers


def derive_from_police(settings: Settings, con: duckdb.DuckDBPyConnection) -> Counts:
    """The shooting and fire layers, re-derived from every stored police event.

    The police events are the records read here (each becomes zero, one or two derived
    events); a derived event no longer derived is retired.
    """
    police = store.read_events(con, layers=[Layer.POLICE_EVENT.value], columns=PARSED_COLUMNS)
    shots = shootings.from_police_events(police).events
    burning = fires.from_police_events(police)
    derived = pd.concat([shots, burning], ignore_index=True).reindex(columns=list(PARSED_COLUMNS))
    validate_events(derived)
    batch_id, at = _batch()
    with store.transaction(con):
        merged = store.merge_events(con, derived, batch_id=batch_id, ingested_at=at)
        retired = store.retire_derived(con, shootings.SOURCE, list(shots["event_uid"]))
        retired += store.retire_derived(con, fires.SOURCE, list(burning["event_uid"]))
    return {
        "police_events": len(police),
        "shootings": len(shots),
        "fires": len(burning),
        "loaded": merged.loaded,
        "updated": merged.updated,
        "unchanged": merged.unchanged,
        "retired": retired,
    }
