"""The column-wise engine behind :func:`trygghetskarta.sources.event_lists.parse_list`.

A delivered list is read in chunks of rows (:func:`~trygghetskarta.sources._listfile.iter_table`)
and each chunk is checked as columns: every cell is parsed by the same scalar readers as
before (:func:`~trygghetskarta.sources._listfile.parse_datetime`, ``parse_time``,
``parse_number``, ``text``), but once per distinct value of a column, not once per row;
dates are localised, compared and checked as arrays; the rows' JSON (``raw``, the content
key that finds repeated rows and names rows without an id) is put together column by
column. Every check, its order and its reason are those of
:func:`trygghetskarta.sources._list_rows.check_row`, and the output equals the row-by-row
reader's (:mod:`trygghetskarta.sources._list_rowwise`, kept as the reference for the tests
and ``bench/bench_lists.py``).

Repeated rows and reused ids are found across every chunk and file of one parse: each
chunk is settled against the ones before it by :mod:`trygghetskarta.sources._list_repeats`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely

from trygghetskarta.config import WEB_CRS
from trygghetskarta.schema import UNCERTAINTY_M, Precision
from trygghetskarta.sources import _coords
from trygghetskarta.sources._list_rows import (
    EARLIEST,
    TEXT_FIELDS,
)
from trygghetskarta.sources._list_values import (
    Stamps,
    cell_tokens,
    iso_instants,
    json_members,
    json_tokens,
    objects,
    per_number_pairs,
    per_value,
    per_value_pairs,
    present,
)
from trygghetskarta.sources._list_values import minute_text as minute_text
from trygghetskarta.sources._list_values import per_combination as per_combination
from trygghetskarta.sources._listfile import (
    Table,
    parse_datetime,
    parse_number,
    parse_time,
    text,
)

if TYPE_CHECKING:
    from trygghetskarta.sources.event_lists import Contract, ListOptions

#: Rows read and checked at a time: bounds the memory a large list needs.
CHUNK_ROWS = 50_000
#: The content key's fields, in the sorted order of ``json.dumps(sort_keys=True)``.
_KEY_FIELDS = tuple(
    sorted(
        (
            *TEXT_FIELDS,
            "occurred_at",
            "occurred_to",
            "occurred_time",
            "occurred_to_time",
            "x",
            "y",
            "lat",
            "lon",
            "dead",
            "injured",
        )
    )
)


@dataclass(frozen=True)
class BuiltFrame:
    """What a contract's ``build_frame`` returns for a frame of checked rows.

    Attributes
    ----------
    category, source_type, title, summary
        One value per row (text; ``summary`` may be None).
    sensitive
        Booleans.
    problem
        None, or the sentence that sends the row to quarantine (without its line).
    derived
        Extra values kept in the event's ``raw`` under ``derived``, in this order: name →
        one value per row (text, number, boolean or None).
    """

    category: pd.Series
    source_type: pd.Series
    title: pd.Series
    summary: pd.Series
    sensitive: pd.Series
    problem: pd.Series
    derived: Mapping[str, pd.Series] = field(default_factory=dict)


# --------------------------------------------------------------------------- chunks


@dataclass
class Chunk:
    """One chunk's rows after the checks that need no other row.

    ``early`` holds the rows quarantined while their cells were read (too many fields,
    an unreadable value); ``rows`` every other row, with its content key, its own
    quarantine reason if any (``reason``), and its event's columns.
    """

    early: pd.DataFrame
    rows: pd.DataFrame


def read_chunk(
    table: Table,
    columns: Mapping[str, str],
    contract: Contract,
    options: ListOptions,
    *,
    source: str,
    file_no: int,
    kommun: shapely.Geometry | None,
    municipality: str,
    now: pd.Timestamp,
) -> Chunk:
    """Parse and check one chunk of a list (every check but repeated rows and ids).

    Parameters
    ----------
    table
        A chunk from :func:`~trygghetskarta.sources._listfile.iter_table`.
    columns
        Field → the file's column (``event_lists.resolve_columns``).
    file_no
        The file's place among the files of this parse (orders the quarantine).
    kommun, municipality, now
        As for :func:`~trygghetskarta.sources.event_lists.parse_list`.
    """
    n = len(table.rows)
    header = table.header
    cells = (
        [np.array(col, dtype=object) for col in zip(*table.rows, strict=True)]
        if n
        else [np.empty(0, dtype=object) for _ in header]
    )
    lines = np.asarray(table.lines, dtype="int64")
    widths = np.asarray(table.widths, dtype="int64")
    by_name = {h: i for i, h in enumerate(header)}  # a repeated name: its last column

    def cell(name: str) -> np.ndarray:
        if name not in columns:
            return np.full(n, None, dtype=object)
        return cells[by_name[columns[name]]]

    # raw["record"]: {header: cell} (a repeated name keeps its first place, last value)
    record = json_members(list(by_name), [cell_tokens(cells[i]) for i in by_name.values()])

    texts = {name: per_value(cell(name), text) for name in TEXT_FIELDS}
    problems: list[np.ndarray] = []
    dates: dict[str, np.ndarray] = {}
    for name in ("occurred_at", "occurred_to"):
        value, problem = per_value_pairs(
            cell(name), lambda v: parse_datetime(v, dayfirst=options.dayfirst)
        )
        dates[name] = value
        problems.append(_worded(problem, f"unreadable date: {columns.get(name)} "))
    clocks: dict[str, np.ndarray] = {}
    for name in ("occurred_time", "occurred_to_time"):
        value, problem = per_value_pairs(cell(name), parse_time)
        clocks[name] = value
        problems.append(_worded(problem, f"unreadable time: {columns.get(name)} "))
    numbers: dict[str, np.ndarray] = {}
    for name in ("x", "y", "lat", "lon"):
        value, problem = per_number_pairs(cell(name), parse_number)
        numbers[name] = value
        problems.append(_worded(problem, f"unreadable coordinate: {columns.get(name)} "))

    too_wide = widths > len(header)
    early_reason = np.full(n, None, dtype=object)
    for problem in reversed(problems):  # the first problem of a row wins
        has = present(problem)
        early_reason[has] = problem[has]
    for i in np.flatnonzero(present(early_reason)):
        early_reason[i] = f"{early_reason[i]} (line {lines[i]})"
    for i in np.flatnonzero(too_wide):
        early_reason[i] = (
            f"too many fields: line {lines[i]} has {widths[i]}, the header "
            f"{len(header)} (an unquoted separator inside a value?)"
        )
    early = np.flatnonzero(present(early_reason))
    early_sid = texts["source_id"].copy()
    early_sid[too_wide] = None
    early_frame = _frame(
        {
            "file_no": file_no,
            "line": lines[early],
            "source_id": early_sid[early],
            "reason": early_reason[early],
            "raw": _quarantine_raw(lines[early], record[early]),
        }
    )

    keep = np.flatnonzero(~present(early_reason))
    rows = _check(
        table,
        columns,
        contract,
        options,
        source=source,
        file_no=file_no,
        keep=keep,
        lines=lines[keep],
        record=record[keep],
        texts={k: v[keep] for k, v in texts.items()},
        dates={k: v[keep] for k, v in dates.items()},
        clocks={k: v[keep] for k, v in clocks.items()},
        numbers={k: v[keep] for k, v in numbers.items()},
        raw_counts={k: cell(k)[keep] for k in ("dead", "injured")},
        kommun=kommun,
        municipality=municipality,
        now=now,
    )
    return Chunk(early_frame, rows)


def _frame(columns: Mapping[str, Any]) -> pd.DataFrame:
    """A frame whose object arrays stay objects (pandas would turn text into Arrow
    strings, a copy that only costs time here)."""
    return pd.DataFrame(
        {
            k: pd.Series(v, dtype=object) if isinstance(v, np.ndarray) and v.dtype == object else v
            for k, v in columns.items()
        }
    )


def _worded(problems: np.ndarray, prefix: str) -> np.ndarray:
    out = problems.copy()
    for i in np.flatnonzero(present(problems)):
        out[i] = prefix + problems[i]
    return out


def _quarantine_raw(lines: np.ndarray, record: np.ndarray) -> np.ndarray:
    """``json.dumps({"line": line, "record": record})`` from the record's JSON."""
    return objects(
        [
            f'{{"line": {line}, "record": {rec}}}'
            for line, rec in zip(lines.tolist(), record, strict=True)
        ]
    )


def _check(
    table: Table,
    columns: Mapping[str, str],
    contract: Contract,
    options: ListOptions,
    *,
    source: str,
    file_no: int,
    keep: np.ndarray,
    lines: np.ndarray,
    record: np.ndarray,
    texts: dict[str, np.ndarray],
    dates: dict[str, np.ndarray],
    clocks: dict[str, np.ndarray],
    numbers: dict[str, np.ndarray],
    raw_counts: dict[str, np.ndarray],
    kommun: shapely.Geometry | None,
    municipality: str,
    now: pd.Timestamp,
) -> pd.DataFrame:
    """The checks of ``_list_rows.check_row`` but the repeats, and the events' columns."""
    n = len(keep)
    start = Stamps.of(dates["occurred_at"]).with_clock(clocks["occurred_time"])
    end = Stamps.of(dates["occurred_to"]).with_clock(clocks["occurred_to_time"])

    # The content key: sha256 of the parsed fields as sorted JSON.
    tokens = {name: json_tokens(values) for name, values in texts.items()}
    tokens["occurred_at"] = start.iso_tokens()
    tokens["occurred_to"] = end.iso_tokens()
    for name in ("occurred_time", "occurred_to_time"):
        tokens[name] = per_value(
            clocks[name], lambda c: "null" if c is None else f'"{c.isoformat()}"'
        )
    for name in ("x", "y", "lat", "lon"):
        tokens[name] = json_tokens(numbers[name])
    for name in ("dead", "injured"):
        cells = per_value(
            raw_counts[name], lambda v: v.isoformat() if hasattr(v, "isoformat") else v
        )
        tokens[name] = json_tokens(cells)
    payload = json_members(_KEY_FIELDS, [tokens[k] for k in _KEY_FIELDS])
    sha = hashlib.sha256
    key = objects([sha(p.encode("utf-8")).hexdigest() for p in payload.tolist()])
    explicit = texts["source_id"]
    has_id = present(explicit)
    sid = explicit.copy()
    for i in np.flatnonzero(~has_id):
        sid[i] = f"row-{key[i][:16]}"

    # Positions: latitude/longitude when the file has no x column.
    use_latlon = "x" not in columns and {"lat", "lon"} <= set(columns)
    xs = np.array(numbers["lon" if use_latlon else "x"], dtype=float)
    ys = np.array(numbers["lat" if use_latlon else "y"], dtype=float)
    blank = np.isnan(xs) & np.isnan(ys)
    placed = _coords.place_points(
        xs,
        ys,
        declared=WEB_CRS if use_latlon else options.crs,
        kommun=kommun,
        municipality=municipality,
    )
    status = np.asarray(placed.status, dtype=object).copy()
    notes = np.asarray(placed.note, dtype=object).copy()
    px, py = placed.x.copy(), placed.y.copy()
    status[blank], notes[blank], px[blank], py[blank] = _coords.MISSING, None, np.nan, np.nan

    begins = start.instants()
    ends = end.instants()
    names = (municipality.casefold(), f"{municipality} kommun".casefold())
    other = texts["municipality"]
    elsewhere = per_value(other, lambda o: bool(o) and o.casefold() not in names).astype(bool)
    has_point = np.isin(status, [_coords.OK, _coords.FIXED])
    place = objects(
        [a or p for a, p in zip(texts["address"].tolist(), texts["place"].tolist(), strict=True)]
    )
    coord_kinds = {
        _coords.OUTSIDE: f"outside {municipality} kommun",
        _coords.IMPLAUSIBLE: "coordinates in no known reference system",
        _coords.AMBIGUOUS: "ambiguous coordinates",
    }
    earliest = np.datetime64(EARLIEST, "us")
    no_date = start.missing
    future = ~no_date & (begins > now).to_numpy(dtype=bool, na_value=False)
    implausible = ~no_date & (start.wall < earliest)
    backwards = (~end.missing & (ends < begins)).to_numpy(dtype=bool, na_value=False)
    bad_coords = np.isin(status, list(coord_kinds))
    no_position = ~has_point & np.array([not p for p in place.tolist()], dtype=bool)
    failed = [no_date, future, implausible, backwards, elsewhere, bad_coords, no_position]
    which = np.select(failed, range(len(failed)), default=-1)

    date_column = columns.get("occurred_at", "date")
    reason = np.full(n, None, dtype=object)
    for i in np.flatnonzero(which >= 0):
        where = f"line {lines[i]}"
        kind = which[i]
        if kind == 0:
            reason[i] = f"no date: {where} has no {date_column}"
        elif kind == 1:
            reason[i] = f"date in the future: {begins.iloc[i]:%Y-%m-%d %H:%M} ({where})"
        elif kind == 2:
            reason[i] = (
                f"implausible date: {start.python(i):%Y-%m-%d} ({where}; before 2000, and an "
                "empty Excel date cell reads as 1899-12-30)"
            )
        elif kind == 3:
            reason[i] = f"time span ends before it starts: {ends.iloc[i]:%Y-%m-%d %H:%M} ({where})"
        elif kind == 4:
            reason[i] = f"outside {municipality} kommun: the row names {other[i]!r} ({where})"
        elif kind == 5:
            reason[i] = f"{coord_kinds[status[i]]}: {notes[i]} ({where})"
        else:
            reason[i] = f"no position: {where} has neither coordinates nor an address or place"

    # The contract's own values, for the rows that passed.
    passed = which < 0
    # Object columns keep None (pandas would read text as strings with NaN for None).
    values = pd.DataFrame(
        {
            **{k: pd.Series(v, dtype=object) for k, v in texts.items()},
            "occurred_at": start.wall,
            "occurred_to": end.wall,
            "occurred_time": pd.Series(clocks["occurred_time"], dtype=object),
            **{k: pd.Series(v, dtype=object) for k, v in raw_counts.items()},
        }
    )
    built = _build(contract, options, values, passed, start, end, clocks, numbers, texts)
    problem = built.problem.to_numpy(dtype=object)
    by_build = passed & present(problem)
    for i in np.flatnonzero(by_build):
        reason[i] = f"{problem[i]} (line {lines[i]})"
    event = passed & ~by_build

    # raw: {"line", "file", "record", "derived": {contract's, time_known, occurred_to, fixed}}
    # a time of day: its own column, or a date-time not at midnight
    time_known = present(clocks["occurred_time"]) | (
        ~no_date & (start.wall.astype("datetime64[s]") != start.wall.astype("datetime64[D]"))
    )
    derived_parts = [json_tokens(v.to_numpy(dtype=object)) for v in built.derived.values()]
    derived_parts.append(np.where(time_known, "true", "false").astype(object))
    derived = json_members([*built.derived, "time_known"], derived_parts, braces=False)
    has_end = ~end.missing & event
    if has_end.any():
        iso = iso_instants(ends[has_end])
        derived[has_end] = [
            f'{d}, "occurred_to": "{e}"' for d, e in zip(derived[has_end], iso, strict=True)
        ]
    fixed = (status == _coords.FIXED) & event
    if fixed.any():
        derived[fixed] = [
            f"{d}, " + '"fixed": ' + json_tokens([note])[0]
            for d, note in zip(derived[fixed], notes[fixed].tolist(), strict=True)
        ]
    name = json.dumps(table.path.name, ensure_ascii=False)
    raw = np.full(n, None, dtype=object)
    idx = np.flatnonzero(event)
    head = '{"line": '
    raw[idx] = [
        f'{head}{lines[i]}, "file": {name}, "record": {record[i]}, "derived": {{{derived[i]}}}}}'
        for i in idx.tolist()
    ]
    failed_rows = ~event
    qraw = np.full(n, None, dtype=object)
    qraw[failed_rows] = _quarantine_raw(lines[failed_rows], record[failed_rows])

    exact = has_point
    return _frame(
        {
            "file_no": file_no,
            "line": lines,
            "key": key,
            "explicit": explicit,
            "reason": reason,
            "by_build": by_build,
            "qraw": qraw,
            "fixed_note": np.where(fixed, notes, None),
            "event_uid": objects([f"{source}:{s}" for s in sid.tolist()]),
            "source": source,
            "source_id": sid,
            "layer": contract.layer.value,
            "category": built.category.to_numpy(dtype=object),
            "source_type": built.source_type.to_numpy(dtype=object),
            "occurred_at": begins.array,
            "published_at": np.full(n, pd.NaT, dtype=object),
            "title": built.title.to_numpy(dtype=object),
            "summary": built.summary.to_numpy(dtype=object),
            "body": texts["description"],
            "url": None,
            "x": px,
            "y": py,
            "precision": np.where(exact, Precision.EXACT.value, None),
            "uncertainty_m": np.where(exact, UNCERTAINTY_M[Precision.EXACT], np.nan),
            "place_name": place,
            "sensitive": built.sensitive.to_numpy(dtype=bool),
            "raw": raw,
        }
    )


def _build(
    contract: Contract,
    options: ListOptions,
    values: pd.DataFrame,
    passed: np.ndarray,
    start: Stamps,
    end: Stamps,
    clocks: dict[str, np.ndarray],
    numbers: dict[str, np.ndarray],
    texts: dict[str, np.ndarray],
) -> BuiltFrame:
    """The contract's values: its ``build_frame`` on the whole frame, or else its ``build``
    row by row on the rows that passed (the others get placeholders)."""
    if contract.build_frame is not None:
        return contract.build_frame(values, options)
    n = len(values)
    cols: dict[str, list[Any]] = {
        k: [None] * n for k in ("category", "source_type", "title", "summary", "problem")
    }
    sensitive = [False] * n
    derived_rows: list[dict[str, Any]] = [{} for _ in range(n)]
    for i in np.flatnonzero(passed).tolist():
        row = {name: texts[name][i] for name in TEXT_FIELDS}
        row |= {"occurred_at": start.python(i), "occurred_to": end.python(i)}
        row |= {name: clocks[name][i] for name in clocks}
        row |= {name: numbers[name][i] for name in numbers}
        row |= {name: values[name].iat[i] for name in ("dead", "injured")}
        built, problem = contract.build(row, options)
        if built is None or problem:
            cols["problem"][i] = problem
            continue
        for k in ("category", "source_type", "title"):
            cols[k][i] = built[k]
        cols["summary"][i] = built.get("summary")
        sensitive[i] = bool(built.get("sensitive", False))
        derived_rows[i] = dict(built.get("derived", {}))
    keys = list(dict.fromkeys(k for d in derived_rows for k in d))
    kept = [d for i, d in enumerate(derived_rows) if passed[i] and not cols["problem"][i]]
    if any(list(d) != keys for d in kept):
        raise ValueError(f"{contract.name}: build must give every row the same derived keys")
    return BuiltFrame(
        **{k: pd.Series(v, dtype=object) for k, v in cols.items()},
        sensitive=pd.Series(sensitive, dtype=bool),
        derived={k: pd.Series([d.get(k) for d in derived_rows], dtype=object) for k in keys},
    )
