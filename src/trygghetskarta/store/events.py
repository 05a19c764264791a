"""Events in the store: merging versions, quarantine, positions and reading them back.

Part of :mod:`trygghetskarta.store`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from trygghetskarta.schema import (
    EVENT_COLUMNS,
    GEOCODED_COLUMNS,
    PARSED_COLUMNS,
    TIMEZONE,
    quarantine_class,
)

#: Columns whose values make an event's content; a change in any of them is an update.
_CONTENT_COLUMNS = tuple(c for c in PARSED_COLUMNS if c not in ("raw", *GEOCODED_COLUMNS))


# --------------------------------------------------------------------------- events


def content_hash(frame: pd.DataFrame) -> pd.Series:
    """Hash the content columns of each event; equal hashes mean an unchanged event.

    The hash is the first 32 hex digits of SHA-256 over the JSON list of the content
    columns' values as text (``str(value)``, ``null`` for a missing one), the same for
    every way a value arrives. The columns are turned into JSON text as arrays; only
    values with no array form (objects that are not text, sub-second times) take
    ``str`` one by one.
    """
    cols = [c for c in _CONTENT_COLUMNS if c in frame.columns]
    if frame.empty:
        return pd.Series([], index=frame.index, dtype="object")
    tokens = [_arrow_tokens(frame[c]) for c in cols]
    joined = pc.binary_join_element_wise(*tokens, ", ").to_pylist()
    sha = hashlib.sha256
    digests = [sha(f"[{t}]".encode()).hexdigest()[:32] for t in joined]
    return pd.Series(digests, index=frame.index, dtype="object")


_QUOTE = pa.scalar('"')


def _arrow_tokens(values: pd.Series) -> pa.Array:
    """:func:`_json_tokens` as an Arrow array; text columns are quoted in Arrow, and only
    their values that JSON must escape take ``json.dumps`` one by one."""
    dtype = values.dtype
    if not isinstance(dtype, pd.StringDtype):
        return pa.array(_json_tokens(values).to_numpy(dtype=object), type=pa.string())
    text = pa.array(values, type=pa.string(), from_pandas=True)
    if isinstance(text, pa.ChunkedArray):  # an Arrow-backed column comes in chunks
        text = text.combine_chunks()
    quoted = pc.binary_join_element_wise(_QUOTE, text, _QUOTE, "")
    needs = pc.fill_null(pc.match_substring_regex(text, _JSON_ESCAPED), False)
    if pc.any(needs).as_py():
        escaped = [json.dumps(v, ensure_ascii=False) for v in pc.filter(text, needs).to_pylist()]
        quoted = pc.replace_with_mask(quoted, needs, pa.array(escaped, type=pa.string()))
    return pc.fill_null(quoted, "null")


#: Characters ``json.dumps(..., ensure_ascii=False)`` escapes in a string.
_JSON_ESCAPED = r'["\\\x00-\x1f]'


def _json_tokens(values: pd.Series) -> pd.Series:
    """Each value as the JSON token ``json.dumps(str(value))`` (``null`` when missing)."""
    missing = values.isna().to_numpy()
    dtype = values.dtype
    if isinstance(dtype, pd.DatetimeTZDtype) or dtype.kind == "M":
        text = _datetime_text(values)
    elif dtype.kind == "f":
        text = pd.Series(
            [repr(v) for v in values.to_numpy(dtype=float).tolist()], index=values.index
        )
    elif dtype.kind == "b":
        text = pd.Series(np.where(values.to_numpy(dtype=bool), "True", "False"), index=values.index)
    elif dtype.kind in "iu":
        text = values.astype(str).astype(object)
    else:
        objects = values.astype(object).to_numpy()
        text = pd.Series(
            [v if isinstance(v, str) else str(v) for v in objects.tolist()],
            index=values.index,
            dtype=object,
        )
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        needs = values.str.contains(_JSON_ESCAPED, regex=True).fillna(False).to_numpy(bool)
        text = text.astype(object).where(~missing, None)
    else:
        text = text.astype(object).where(~missing, None)
        needs = text.str.contains(_JSON_ESCAPED, regex=True, na=False).to_numpy()
    out = ('"' + text + '"').astype(object)
    if needs.any():
        out[needs] = [json.dumps(v, ensure_ascii=False) for v in text[needs].tolist()]
    out[missing] = "null"
    return out


def _datetime_text(values: pd.Series) -> pd.Series:
    """``str(Timestamp)`` of each value: ``2024-03-02 23:40:00+01:00`` (NaT: ``NaT``).

    The wall clock and the offset are computed as arrays; only sub-second values (whose
    text ``Timestamp`` pads) take ``str`` one by one.
    """
    aware = isinstance(values.dtype, pd.DatetimeTZDtype)
    wall = (values.dt.tz_localize(None) if aware else values).to_numpy(dtype="datetime64[us]")
    text = np.char.replace(np.datetime_as_string(wall, unit="s"), "T", " ").astype(object)
    if aware:
        utc = values.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
        known = ~np.isnat(wall)
        offset = np.zeros(len(wall), dtype="int64")
        offset[known] = (wall[known] - utc[known]) // np.timedelta64(1, "m")
        codes, uniques = pd.factorize(offset)
        signs = [
            f"{'-' if m < 0 else '+'}{abs(int(m)) // 60:02d}:{abs(int(m)) % 60:02d}"
            for m in uniques
        ]
        text = text + np.array(signs, dtype=object)[codes]
    fraction = ~np.isnat(wall) & (wall != wall.astype("datetime64[s]"))
    nanos = values.dt.nanosecond.to_numpy(dtype=float, na_value=0) != 0
    for i in np.flatnonzero(fraction | nanos):
        text[i] = str(values.iloc[i])
    return pd.Series(text, index=values.index, dtype=object)


@dataclass(frozen=True)
class MergeCounts:
    """What a merge did: new events, changed events and events already stored as they are."""

    loaded: int
    updated: int
    unchanged: int


def merge_events(
    con: duckdb.DuckDBPyConnection,
    events: pd.DataFrame,
    *,
    batch_id: str,
    ingested_at: pd.Timestamp,
    versions: pd.DataFrame | None = None,
    received_from: int = 0,
) -> MergeCounts:
    """Insert new events and update changed ones; leave identical ones alone.

    An incoming event replaces the stored one only when its content differs and it is
    not older (by ``published_at``) than what is stored. Every distinct version goes into
    ``event_versions`` with ``received_no``, its place in the batch: versions order by
    ``(received_at, received_no)``. Call inside :func:`transaction` so a crash leaves
    nothing behind.

    Parameters
    ----------
    events
        One row per event with the :data:`schema.PARSED_COLUMNS`: what ``events`` should
        hold after this batch.
    batch_id, ingested_at
        Recorded on inserted and updated rows.
    versions
        Every version of these events the batch received, in the order received (same
        columns; default: ``events`` itself). A version identical to one already kept is
        not stored again.
    received_from
        The ``received_no`` of the first version: a batch stored in parts (a list read a
        chunk at a time) numbers each part from where the one before ended.

    Returns
    -------
    MergeCounts
        Each version counted as if it had come in a batch of its own, in order: ``loaded``
        when its event is new, ``updated`` when it differs from the content held so far and
        is not older, ``unchanged`` otherwise (the same content again, or an older
        version). The three add up to ``len(versions)``: 500 versions of a new event in
        one batch are 1 ``loaded`` and 499 ``updated``.

    Raises
    ------
    ValueError
        ``events`` holds an event twice, or ``versions`` holds an event ``events`` does not
        (or the other way round).
    """
    if events.empty and (versions is None or versions.empty):
        return MergeCounts(0, 0, 0)
    if versions is None and len(events) > MERGE_SLICE_ROWS:
        # One version per event (a list): merged a slice at a time, so that the copies a
        # merge makes stay small; an event repeated across slices is refused first.
        uids = pa.Table.from_pandas(events[["event_uid"]], preserve_index=False).column(0)
        if pc.count_distinct(uids).as_py() != len(events):
            twice = events["event_uid"][events["event_uid"].duplicated()].iloc[0]
            raise ValueError(
                f"expected one row per event, got {twice!r} more than once — pass the "
                "other versions as versions="
            )
        total = MergeCounts(0, 0, 0)
        for start in range(0, len(events), MERGE_SLICE_ROWS):
            part = _merge(
                con,
                events.iloc[start : start + MERGE_SLICE_ROWS],
                None,
                batch_id,
                ingested_at,
                received_from + start,
            )
            total = MergeCounts(
                total.loaded + part.loaded,
                total.updated + part.updated,
                total.unchanged + part.unchanged,
            )
        return total
    return _merge(con, events, versions, batch_id, ingested_at, received_from)


#: Rows of a one-version-per-event batch merged at a time (the result does not depend on it).
MERGE_SLICE_ROWS = 250_000


def _merge(
    con: duckdb.DuckDBPyConnection,
    events: pd.DataFrame,
    versions: pd.DataFrame | None,
    batch_id: str,
    ingested_at: pd.Timestamp,
    first_no: int,
) -> MergeCounts:
    """:func:`merge_events` of one batch; its versions are numbered from ``first_no``."""
    history = events if versions is None else versions
    if versions is not None and set(history["event_uid"]) != set(events["event_uid"]):
        stray = sorted(set(history["event_uid"]) ^ set(events["event_uid"]))
        raise ValueError(
            f"versions and events name different events ({stray[:3]}); every event needs "
            "its versions and every version its event"
        )
    incoming = events.reindex(columns=list(EVENT_COLUMNS)).copy()
    for name, kind in EVENT_COLUMNS.items():
        # a text column that is empty in this batch arrives as float NaN: keep it text
        if kind == "VARCHAR" and incoming[name].dtype.kind == "f":
            incoming[name] = incoming[name].astype(object).where(incoming[name].notna(), None)
    # Text as Arrow strings: DuckDB reads those without a Python object per value.
    arrow_text = pd.StringDtype("pyarrow")
    hashes = content_hash(events)
    incoming["content_hash"] = hashes.astype(arrow_text)
    incoming["ingested_at"] = ingested_at
    incoming["batch_id"] = batch_id
    received = pd.DataFrame(
        {
            "event_uid": history["event_uid"].astype(arrow_text).array,
            "content_hash": (hashes if versions is None else content_hash(history))
            .astype(arrow_text)
            .array,
            "published_at": history["published_at"].to_numpy(),
            "raw": history["raw"].astype(arrow_text).array,
            "batch_id": batch_id,
            "received_at": ingested_at,
            "received_no": range(first_no, first_no + len(history)),
        }
    )
    # An Arrow table: DuckDB scans it without turning each text column into objects.
    con.register("incoming_df", pa.Table.from_pandas(incoming, preserve_index=False))
    try:
        # Text columns keep their type even when a batch leaves them all empty (pandas
        # then hands DuckDB a column of no type, which it would read as a number).
        text = [c for c, kind in EVENT_COLUMNS.items() if kind == "VARCHAR"]
        casts = ", ".join(f"CAST({c} AS VARCHAR) AS {c}" for c in text)
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE incoming AS SELECT * REPLACE ({casts}) FROM incoming_df"
        )
    finally:
        con.unregister("incoming_df")
    twice = con.execute(
        "SELECT event_uid FROM incoming GROUP BY event_uid HAVING count(*) > 1 LIMIT 1"
    ).fetchone()
    if twice is not None:
        con.execute("DROP TABLE incoming")
        raise ValueError(
            f"expected one row per event, got {twice[0]!r} more than once — pass the "
            "other versions as versions="
        )
    # What the statements below would change, when known beforehand (lists): a statement
    # that would change nothing is not run, for each of them scans the whole table.
    changes: _Changes | None = None
    if versions is None:  # one version per event (every list): counted by a join
        changes = _count_once(con)
        counts = changes.counts
        first = received
    else:
        held = con.execute(
            "SELECT e.event_uid, e.content_hash, e.published_at FROM events e "
            "SEMI JOIN incoming i USING (event_uid)"
        ).df()
        counts = _count_versions(received, held)
        first = received.drop_duplicates(["event_uid", "content_hash"], keep="first")
    con.register("received_df", pa.Table.from_pandas(first, preserve_index=False))
    try:
        con.execute(
            """
            INSERT INTO event_versions BY NAME
            SELECT event_uid, content_hash, published_at, raw, batch_id, received_at,
                   received_no
            FROM received_df
            ON CONFLICT DO NOTHING
            """
        )
    finally:
        con.unregister("received_df")
    content = [c for c in EVENT_COLUMNS if c not in (*GEOCODED_COLUMNS, "event_uid")]
    assignments = ", ".join(f"{c} = i.{c}" for c in content)
    if changes is None or changes.counts.updated:
        con.execute(
            f"""
            UPDATE events SET {assignments}
            FROM incoming i
            WHERE events.event_uid = i.event_uid AND events.content_hash <> i.content_hash
              AND coalesce(i.published_at >= events.published_at, true)
            """
        )
    # Why an event lacks its page text is a note, not content: it follows the latest
    # received version of the content already held.
    if changes is None or changes.notes:
        con.execute(
            """
            UPDATE events SET text_missing = i.text_missing
            FROM incoming i
            WHERE events.event_uid = i.event_uid AND events.content_hash = i.content_hash
              AND events.text_missing IS DISTINCT FROM i.text_missing
            """
        )
    if changes is not None and changes.counts.loaded == len(events):
        con.execute("INSERT INTO events SELECT * FROM incoming")  # every event is new
    elif changes is None or changes.counts.loaded:
        con.execute(
            "INSERT INTO events SELECT i.* FROM incoming i ANTI JOIN events e USING (event_uid)"
        )
    con.execute("DROP TABLE incoming")
    return counts


@dataclass(frozen=True)
class _Changes:
    """What merging ``incoming`` (one version per event) will do: the counts, and how many
    held events with the same content take a new ``text_missing`` note."""

    counts: MergeCounts
    notes: int


def _count_once(con: duckdb.DuckDBPyConnection) -> _Changes:
    """Count the rows of ``incoming`` (one version per event) as :func:`merge_events`
    describes: new, changed and not older (the ``UPDATE``'s own condition), or unchanged."""
    n, loaded, updated, notes = con.execute(
        """
        SELECT count(*),
               count(*) FILTER (WHERE e.event_uid IS NULL),
               count(*) FILTER (WHERE e.event_uid IS NOT NULL
                                  AND e.content_hash <> i.content_hash
                                  AND coalesce(i.published_at >= e.published_at, true)),
               count(*) FILTER (WHERE e.content_hash = i.content_hash
                                  AND e.text_missing IS DISTINCT FROM i.text_missing)
        FROM incoming i LEFT JOIN events e USING (event_uid)
        """
    ).fetchone()
    counts = MergeCounts(int(loaded), int(updated), int(n - loaded - updated))
    return _Changes(counts, int(notes))


def _count_versions(received: pd.DataFrame, held: pd.DataFrame) -> MergeCounts:
    """Count versions as :func:`merge_events` describes, starting from what is held.

    An event received once in the batch (every listed event, most police events) is
    counted by comparing arrays; only events received several times take the ordered
    walk of :func:`_apply_in_order`, since each of their versions is judged against the
    one before.
    """
    uid = received["event_uid"]
    repeated = uid.duplicated(keep=False).to_numpy()
    many = _apply_in_order(received[repeated], held) if repeated.any() else MergeCounts(0, 0, 0)
    once = received.loc[~repeated, ["event_uid", "content_hash", "published_at"]]
    if once.empty:
        return many
    before = held.set_index("event_uid")
    is_held = once["event_uid"].isin(before.index).to_numpy()
    stored = before.reindex(once["event_uid"])
    differs = once["content_hash"].to_numpy() != stored["content_hash"].to_numpy()
    new_at = _utc_naive(once["published_at"])
    old_at = _utc_naive(stored["published_at"])
    not_older = np.isnat(new_at) | np.isnat(old_at) | (new_at >= old_at)
    loaded = int((~is_held).sum())
    updated = int((is_held & differs & not_older).sum())
    return MergeCounts(
        many.loaded + loaded, many.updated + updated, many.unchanged + len(once) - loaded - updated
    )


def _utc_naive(values: pd.Series) -> np.ndarray:
    """Instants as naive UTC ``datetime64`` (NaT where missing), for array comparisons."""
    return pd.to_datetime(values, utc=True).dt.tz_localize(None).to_numpy()


def _apply_in_order(received: pd.DataFrame, held: pd.DataFrame) -> MergeCounts:
    """Count versions as :func:`merge_events` describes, starting from what is held."""
    state = {
        uid: (digest, None if pd.isna(at) else pd.Timestamp(at))
        for uid, digest, at in held.itertuples(index=False, name=None)
    }
    loaded = updated = unchanged = 0
    for uid, digest, at in received[["event_uid", "content_hash", "published_at"]].itertuples(
        index=False, name=None
    ):
        stamp = None if pd.isna(at) else pd.Timestamp(at)
        now_held = state.get(uid)
        if now_held is None:
            loaded += 1
        elif digest != now_held[0] and (
            stamp is None or now_held[1] is None or stamp >= now_held[1]
        ):
            updated += 1
        else:
            unchanged += 1
            continue
        state[uid] = (digest, stamp)
    return MergeCounts(loaded, updated, unchanged)


def add_quarantine(
    con: duckdb.DuckDBPyConnection,
    records: pd.DataFrame,
    *,
    batch_id: str,
    quarantined_at: pd.Timestamp,
) -> int:
    """Keep records that cannot be used, with their reasons; return how many were new.

    The same record quarantined again for the same reason is stored once, so a re-run
    of the same input changes nothing.
    """
    if records.empty:
        return 0
    frame = records.reindex(columns=["source", "source_id", "source_file", "reason", "raw"]).copy()
    # A record without an id has <NA> there; na_rep keeps the key well defined.
    parts = frame[["source", "source_id", "raw", "reason"]].astype("string")
    key_parts = parts["source"].str.cat(
        [parts["source_id"], parts["raw"], parts["reason"]], sep="\x1f", na_rep="<NA>"
    )
    frame.insert(
        0,
        "quarantine_key",
        [hashlib.sha256(k.encode("utf-8")).hexdigest()[:32] for k in key_parts],
    )
    frame["batch_id"] = batch_id
    frame["quarantined_at"] = quarantined_at
    frame["reason_class"] = [quarantine_class(r).value for r in frame["reason"]]
    frame = frame.drop_duplicates("quarantine_key")
    before = con.execute("SELECT count(*) FROM quarantine").fetchone()[0]
    con.register("quarantine_df", frame)
    try:
        con.execute(
            "INSERT INTO quarantine BY NAME SELECT * FROM quarantine_df ON CONFLICT DO NOTHING"
        )
    finally:
        con.unregister("quarantine_df")
    return int(con.execute("SELECT count(*) FROM quarantine").fetchone()[0] - before)


def retire_derived(con: duckdb.DuckDBPyConnection, source: str, keep: Sequence[str]) -> int:
    """Delete events of a *derived* source (e.g. ``shooting:polisen``) not in ``keep``.

    Derived events are recomputed from stored police events on every ingest; one that is
    no longer derived (the classifier changed its verdict) goes, and its police event
    stays. Every version stays in ``event_versions``. Returns how many were removed.
    """
    con.register("keep_df", pd.DataFrame({"event_uid": pd.Series(list(keep), dtype="object")}))
    try:
        gone = con.execute(
            "DELETE FROM events WHERE source = ? AND event_uid NOT IN "
            "(SELECT event_uid FROM keep_df) RETURNING event_uid",
            [source],
        ).fetchall()
    finally:
        con.unregister("keep_df")
    return len(gone)


def update_positions(con: duckdb.DuckDBPyConnection, positions: pd.DataFrame) -> int:
    """Write geocoding results (``event_uid`` + :data:`schema.GEOCODED_COLUMNS`).

    Only rows whose values differ are touched; returns how many changed.
    """
    if positions.empty:
        return 0
    frame = positions.reindex(columns=["event_uid", *GEOCODED_COLUMNS])
    con.register("positions_df", frame)
    try:
        differs = " OR ".join(f"events.{c} IS DISTINCT FROM p.{c}" for c in GEOCODED_COLUMNS)
        changed = con.execute(
            f"SELECT count(*) FROM events JOIN positions_df p USING (event_uid) WHERE {differs}"
        ).fetchone()[0]
        assignments = ", ".join(f"{c} = p.{c}" for c in GEOCODED_COLUMNS)
        con.execute(
            f"UPDATE events SET {assignments} FROM positions_df p "
            f"WHERE events.event_uid = p.event_uid AND ({differs})"
        )
    finally:
        con.unregister("positions_df")
    return int(changed)


def read_events(
    con: duckdb.DuckDBPyConnection,
    *,
    layers: Sequence[str] | None = None,
    sources: Sequence[str] | None = None,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Read events, optionally of some layers or sources and with ``start <= occurred_at < end``."""
    cols = list(columns) if columns else list(EVENT_COLUMNS)
    unknown = sorted(set(cols) - set(EVENT_COLUMNS))
    if unknown:
        raise ValueError(f"unknown event columns {unknown}; expected some of {list(EVENT_COLUMNS)}")
    where, params = ["true"], []
    if layers:
        where.append(f"layer IN ({', '.join('?' for _ in layers)})")
        params.extend(layers)
    if sources:
        where.append(f"source IN ({', '.join('?' for _ in sources)})")
        params.extend(sources)
    if start is not None:
        where.append("occurred_at >= ?")
        params.append(start)
    if end is not None:
        where.append("occurred_at < ?")
        params.append(end)
    query = (
        f"SELECT {', '.join(cols)} FROM events WHERE {' AND '.join(where)} "
        "ORDER BY occurred_at, event_uid"
    )
    return con.execute(query, params).df()


def text_missing(con: duckdb.DuckDBPyConnection, source: str) -> dict[str, int]:
    """Events of ``source`` without their page text, counted by why (``text_missing``)."""
    rows = con.execute(
        "SELECT text_missing, count(*) FROM events WHERE source = ? AND text_missing IS NOT NULL "
        "GROUP BY ALL ORDER BY 2 DESC, 1",
        [source],
    ).fetchall()
    return {str(reason): int(n) for reason, n in rows}


def event_period(con: duckdb.DuckDBPyConnection) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """First and last ``occurred_at`` in the store, or ``None`` when it is empty."""
    # Through a DataFrame: fetchone() of a TIMESTAMPTZ would need pytz.
    span = con.execute("SELECT min(occurred_at) AS a, max(occurred_at) AS b FROM events").df()
    first, last = span["a"].iloc[0], span["b"].iloc[0]
    if pd.isna(first):
        return None
    return pd.Timestamp(first).tz_convert(TIMEZONE), pd.Timestamp(last).tz_convert(TIMEZONE)


def newest_events(
    con: duckdb.DuckDBPyConnection,
) -> dict[str, tuple[pd.Timestamp | None, pd.Timestamp | None]]:
    """Each source's latest incident time and latest publication time (Stockholm time).

    Returns
    -------
    dict
        ``events.source`` → ``(max occurred_at, max published_at)``, either ``None`` when
        no event of the source has one; an empty dict for an empty store.
    """
    frame = con.execute(
        "SELECT source, max(occurred_at) AS occurred, max(published_at) AS published "
        "FROM events GROUP BY source ORDER BY source"
    ).df()

    def local(value: Any) -> pd.Timestamp | None:
        return None if pd.isna(value) else pd.Timestamp(value).tz_convert(TIMEZONE)

    return {
        str(row.source): (local(row.occurred), local(row.published))
        for row in frame.itertuples(index=False)
    }


def ingested_file_keys(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Keys of the input batches already ingested (see ``pipeline.ingest``)."""
    return {row[0] for row in con.execute("SELECT file_key FROM ingested_files").fetchall()}


def ingested_file_counts(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    """Each ingested batch's key → the counts recorded with it (:func:`record_ingested_files`)."""
    rows = con.execute("SELECT file_key, counts FROM ingested_files").fetchall()
    return {key: json.loads(counts) if counts else {} for key, counts in rows}


def record_ingested_files(
    con: duckdb.DuckDBPyConnection,
    key: str,
    paths: Sequence[str],
    *,
    batch_id: str,
    at: pd.Timestamp,
    counts: Mapping[str, Any],
) -> None:
    """Remember that a batch of files was ingested (call inside the batch's transaction)."""
    con.execute(
        "INSERT OR REPLACE INTO ingested_files VALUES (?, ?, ?, ?, ?)",
        [key, json.dumps(list(paths)), batch_id, at, json.dumps(dict(counts))],
    )


# --------------------------------------------------------------------------- areas, tables


# --------------------------------------------------------------------------- runs
