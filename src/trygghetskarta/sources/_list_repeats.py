"""Repeated rows and reused ids across the chunks of one list parse.

A row whose content key an earlier row of the same parse had (in its chunk, an earlier
chunk or an earlier file) is a *duplicate row*; a row with an id of its own that an earlier
row with other content used is a *conflicting id*. :class:`Seen` keeps, per content key and
per id, the first row that had it (as 128-bit fingerprints, 24 bytes a row), not the rows,
so each chunk is settled by :func:`settle` as soon as it is read and its events can leave
(to the store) before the next chunk is read.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from trygghetskarta.schema import PARSED_COLUMNS
from trygghetskarta.sources._list_rows import events_frame, quarantine_frame, schema_column
from trygghetskarta.sources._list_values import present

#: The quarantine's columns while the chunks are read: ``phase`` (0 refused while read,
#: 1 refused by the checks) and ``order`` (the row's place in the parse) order it per file.
PENDING_COLUMNS = ("file_no", "line", "source_id", "reason", "raw", "phase", "order")


#: Two keys of pandas' SipHash: the two 64-bit hashes of a text make its 128-bit fingerprint.
_HASH_KEYS = ("trygghetskarta:a", "trygghetskarta:b")


def fingerprints(values: np.ndarray) -> np.ndarray:
    """Texts → 128-bit fingerprints (16-byte strings, comparable and sortable).

    Equal texts have equal fingerprints; two different texts share one with odds of
    about 2⁻¹²⁸ a pair (a list of a million rows has ~10¹¹ pairs: ~10⁻²⁷). Holding a
    fingerprint and a row number takes 24 bytes, a Python dict entry for a 64-character
    key about 180.
    """
    values = np.asarray(values, dtype=object)
    halves = [pd.util.hash_array(values, hash_key=k, categorize=False) for k in _HASH_KEYS]
    return np.ascontiguousarray(np.stack(halves, axis=1)).view("S16").ravel()


@dataclass
class FirstRows:
    """Per distinct value (by :func:`fingerprints`, kept sorted), the first row that had it."""

    prints: np.ndarray = field(default_factory=lambda: np.empty(0, dtype="S16"))
    rows: np.ndarray = field(default_factory=lambda: np.empty(0, dtype="int64"))

    def first(self, values: np.ndarray, numbers: np.ndarray) -> np.ndarray:
        """Per value, the number of the first row with it: an earlier row's, or among
        these rows (numbered ``numbers``, in order) the first's. The values not seen
        before are kept for the next call."""
        if not len(values):
            return np.empty(0, dtype="int64")
        distinct, first_at, inverse = np.unique(
            fingerprints(values), return_index=True, return_inverse=True
        )
        own = numbers[first_at]
        if len(self.prints):
            at = np.searchsorted(self.prints, distinct)
            near = np.minimum(at, len(self.prints) - 1)
            known = self.prints[near] == distinct
            firsts = np.where(known, self.rows[near], own)
        else:
            at = np.zeros(len(distinct), dtype="int64")
            known = np.zeros(len(distinct), dtype=bool)
            firsts = own
        new = ~known
        self.prints = np.insert(self.prints, at[new], distinct[new])
        self.rows = np.insert(self.rows, at[new], own[new])
        return firsts[inverse.ravel()]


@dataclass
class Seen:
    """The first row of each content key and of each id, over the chunks settled so far.

    Rows are numbered across the whole parse (the rows that passed the cells' checks, in
    the order read); :meth:`label` names one by its file and line.

    Attributes
    ----------
    keys
        Per content key, the number of the first row with it.
    ids
        Per id, the number of the first row (not itself a repeat) with it.
    rows, early
        Rows and early-refused rows settled so far.
    """

    keys: FirstRows = field(default_factory=FirstRows)
    ids: FirstRows = field(default_factory=FirstRows)
    rows: int = 0
    early: int = 0
    _starts: list[int] = field(default_factory=list)
    _file_no: list[np.ndarray] = field(default_factory=list)
    _lines: list[np.ndarray] = field(default_factory=list)

    def add(self, file_no: np.ndarray, lines: np.ndarray) -> None:
        """Number the next chunk's rows (their files and lines, for :meth:`label`)."""
        self._starts.append(self.rows)
        self._file_no.append(np.asarray(file_no, dtype="int32"))
        self._lines.append(np.asarray(lines, dtype="int64"))
        self.rows += len(lines)

    def label(self, row: int, file_names: Sequence[str]) -> str:
        """``"<file> line <n>"`` of row number ``row``."""
        chunk = int(np.searchsorted(self._starts, row, side="right")) - 1
        at = row - self._starts[chunk]
        return f"{file_names[self._file_no[chunk][at]]} line {self._lines[chunk][at]}"


@dataclass
class Settled:
    """One chunk after :func:`settle`.

    Attributes
    ----------
    events
        Its events (:data:`schema.PARSED_COLUMNS`), in ``(occurred_at, event_uid)`` order.
    quarantine
        Its refused rows, early and late (:data:`PENDING_COLUMNS`); :func:`quarantine`
        puts the chunks' together.
    fixed_notes
        ``(file_no, note)`` for each kept row whose value was fixed while read.
    """

    events: pd.DataFrame
    quarantine: pd.DataFrame
    fixed_notes: list[tuple[int, str]]


def settle(
    early: pd.DataFrame, rows: pd.DataFrame, seen: Seen, file_names: Sequence[str]
) -> Settled:
    """Decide which of a chunk's rows repeat a row or reuse an id (this chunk's or an
    earlier one's), then split its events from its quarantine.

    Parameters
    ----------
    early, rows
        A :class:`~trygghetskarta.sources._list_columns.Chunk`'s two frames.
    seen
        The parse's :class:`Seen`; updated with this chunk's keys and ids.
    file_names
        Per ``file_no``, the file's name (in the reasons).
    """
    n = len(rows)
    start = seen.rows
    lines = rows["line"].to_numpy()
    seen.add(rows["file_no"].to_numpy(), lines)
    numbers = np.arange(start, start + n, dtype="int64")
    first_of_key = seen.keys.first(rows["key"].to_numpy(dtype=object), numbers)
    repeat = first_of_key != numbers
    # pandas may have stored a text column as strings with NaN for None: read back as None.
    reason = _column(rows, "reason")
    for i in np.flatnonzero(repeat):
        reason[i] = (
            f"duplicate row: line {lines[i]} repeats {seen.label(int(first_of_key[i]), file_names)}"
        )
    sid = _column(rows, "source_id")
    explicit = _column(rows, "explicit")
    # The first row of an id among the rows that repeat nothing: when that is another row,
    # its content differs (the same content would have made this row a repeat of it).
    first_of_id = numbers.copy()
    first_of_id[~repeat] = seen.ids.first(sid[~repeat], numbers[~repeat])
    conflict = ~repeat & present(explicit) & (first_of_id != numbers)
    for i in np.flatnonzero(conflict):
        reason[i] = (
            f"conflicting id: {sid[i]!r} on line {lines[i]} differs from "
            f"{seen.label(int(first_of_id[i]), file_names)}"
        )
    refused = present(reason)
    # The id a quarantined row keeps: its own, or the content id when only the contract
    # refused it (the checks had given it one).
    by_build = rows["by_build"].to_numpy(dtype=bool) & ~repeat & ~conflict
    q_sid = np.where(by_build, sid, explicit)
    qraw = _column(rows, "qraw")
    for i in np.flatnonzero(refused & ~present(qraw)):
        # a row that passed its own checks but repeats another: its record from its raw
        raw = json.loads(rows["raw"].iat[i])
        qraw[i] = json.dumps(
            {"line": raw["line"], "record": raw["record"]}, ensure_ascii=False, default=str
        )
    late = pd.DataFrame(
        {
            "file_no": rows["file_no"].to_numpy()[refused],
            "line": lines[refused],
            "source_id": q_sid[refused],
            "reason": reason[refused],
            "raw": qraw[refused],
            "phase": 1,
            "order": numbers[refused],
        }
    )
    early = early.assign(phase=0, order=np.arange(seen.early, seen.early + len(early)))
    seen.early += len(early)
    noted = rows[~refused & rows["fixed_note"].notna().to_numpy()]
    fixed = [
        (int(f), f"{file_names[f]} line {ln}: {note}")
        for f, ln, note in zip(noted["file_no"], noted["line"], noted["fixed_note"], strict=True)
    ]
    pending = pd.concat([early, late], ignore_index=True).reindex(columns=list(PENDING_COLUMNS))
    return Settled(_events(rows, np.flatnonzero(~refused)), pending, fixed)


def _events(rows: pd.DataFrame, kept: np.ndarray) -> pd.DataFrame:
    """The kept rows' events in ``(occurred_at, event_uid)`` order, each column in the
    schema's dtype as it is taken (so :func:`events_frame` converts and sorts nothing)."""
    if not len(kept):
        return events_frame([])
    when = pd.to_datetime(rows["occurred_at"].iloc[kept], utc=True).to_numpy("datetime64[us]")
    uid = rows["event_uid"].to_numpy(dtype=object)[kept]
    by = pa.table({"t": pa.array(when), "u": pa.array(uid, type=pa.large_string())})
    order = pc.sort_indices(by, sort_keys=[("t", "ascending"), ("u", "ascending")])
    positions = kept[order.to_numpy()]
    taken = {
        column: schema_column(column, rows[column].take(positions).reset_index(drop=True))
        for column in PARSED_COLUMNS
        if column in rows.columns
    }
    return events_frame(pd.DataFrame(taken))


def quarantine(
    pending: Sequence[pd.DataFrame], files: Sequence[tuple[str, str]], source: str
) -> pd.DataFrame:
    """The chunks' refused rows as one quarantine, ordered per file: rows refused while
    read, then rows refused by the checks, each in the order read.

    Parameters
    ----------
    pending
        :attr:`Settled.quarantine` of every chunk.
    files
        Per ``file_no``: the file's name and its path as given (``source_file``).
    source
        The rows' source.
    """
    frames = [p for p in pending if len(p)]
    if not frames:
        return quarantine_frame([])
    together = pd.concat(frames, ignore_index=True).sort_values(
        ["file_no", "phase", "order"], kind="stable", ignore_index=True
    )
    together["source"] = source
    together["source_file"] = [files[int(f)][1] for f in together["file_no"]]
    return quarantine_frame(together)


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A column as an object array with None where a value is missing."""
    values = frame[name]
    return values.astype(object).where(values.notna(), None).to_numpy(dtype=object).copy()
