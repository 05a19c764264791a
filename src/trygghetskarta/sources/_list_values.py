"""Cell values of delivered lists as columns: the helpers of :mod:`._list_columns`.

Parsing each distinct value once (:func:`per_value`, :func:`per_combination`), writing
values as JSON tokens the way :func:`json.dumps` does (:func:`json_tokens`), and date-times
as a wall clock plus an offset (:class:`Stamps`) that localise, format and compare as
arrays. Pure functions on arrays; nothing here knows about contracts or events.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from trygghetskarta.schema import TIMEZONE
from trygghetskarta.sources._listfile import cell_json

#: Characters ``json.dumps(..., ensure_ascii=False)`` escapes in a string.
_JSON_ESCAPE = re.compile(r'["\\\x00-\x1f]')


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class Distinct:
    """A column as its distinct values: ``items`` and each row's place among them
    (``items[codes]`` gives the column back).

    Text is factorised, with None (a blank XLSX cell) as the last item; a column the file
    lacks (all None) is one None; anything else (an XLSX sheet's numbers and dates) is
    kept value by value, since ``1``, ``1.0`` and ``True`` are equal keys but not equal
    cells.
    """

    items: list[Any]
    codes: np.ndarray
    text: bool

    @classmethod
    def of(cls, values: np.ndarray) -> Distinct:
        n = len(values)
        kind = pd.api.types.infer_dtype(values, skipna=True) if n else "empty"
        if kind == "string":
            codes, uniques = pd.factorize(values, use_na_sentinel=True)
            return cls([*uniques.tolist(), None], codes, True)  # code -1: the last, None
        items = values.tolist()
        if all(v is None for v in items):
            return cls([None], np.zeros(n, dtype=np.intp), False)
        return cls(items, np.arange(n), False)


def per_value(values: np.ndarray, fn: Callable[[Any], Any]) -> np.ndarray:
    """``fn`` of each value, computed once per distinct value (see :class:`Distinct`)."""
    distinct = Distinct.of(values)
    return objects([fn(v) for v in distinct.items])[distinct.codes]


def per_value_pairs(
    values: np.ndarray, fn: Callable[[Any], tuple[Any, Any]]
) -> tuple[np.ndarray, np.ndarray]:
    """``split(per_value(values, fn))`` for a reader that returns ``(value, problem)``,
    split once per distinct value rather than once per row."""
    distinct = Distinct.of(values)
    value, problem = split(objects([fn(v) for v in distinct.items]))
    return value[distinct.codes], problem[distinct.codes]


#: Text that :func:`float` reads exactly as ``parse_number`` does: no spaces, no
#: thousands marks, no comma, no exponent.
_PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def per_number_pairs(
    values: np.ndarray, parse: Callable[[Any], tuple[Any, Any]]
) -> tuple[np.ndarray, np.ndarray]:
    """``per_value_pairs(values, parse)`` for a number column: distinct plain decimal
    texts (``6580521``, ``-12.5``) are converted as one array, the rest by ``parse`` (the
    Swedish ``6 580 521,5``, blanks, problems). Coordinates are mostly distinct, so this
    is the column's cost."""
    distinct = Distinct.of(values)
    if not distinct.text:
        return per_value_pairs(values, parse)
    texts = distinct.items[:-1]
    plain = np.fromiter(
        (_PLAIN_NUMBER.fullmatch(u) is not None for u in texts), dtype=bool, count=len(texts)
    )
    value = np.empty(len(distinct.items), dtype=object)
    problem = np.full(len(distinct.items), None, dtype=object)
    if plain.any():
        value[np.flatnonzero(plain)] = np.asarray(texts, dtype=object)[plain].astype(float).tolist()
    rest = [*np.flatnonzero(~plain).tolist(), len(texts)]  # and the blank, None
    value[rest], problem[rest] = split(objects([parse(distinct.items[i]) for i in rest]))
    return value[distinct.codes], problem[distinct.codes]


def per_combination(
    columns: Sequence[np.ndarray | pd.Series], fn: Callable[..., Any]
) -> np.ndarray:
    """``fn(a, b, …)`` of each row's values of ``columns``, once per distinct combination.

    For the contracts' ``build_frame``: a crime type and code, a kind of fire and its object
    repeat across a list, so their words are read once per combination.
    """
    items = [c.tolist() for c in columns]
    n = len(items[0]) if items else 0
    keys = np.empty(n, dtype=object)
    keys[:] = list(zip(*items, strict=True))
    codes, uniques = pd.factorize(keys)
    results = np.empty(len(uniques), dtype=object)
    results[:] = [fn(*u) for u in uniques.tolist()]
    return results[codes] if n else np.empty(0, dtype=object)


def minute_text(wall: np.ndarray) -> np.ndarray:
    """``f"{datetime:%Y-%m-%d %H:%M}"`` of wall-clock times (None where NaT)."""
    text = np.empty(len(wall), dtype=object)
    text[:] = [t.replace("T", " ") for t in np.datetime_as_string(wall, unit="m").tolist()]
    text[np.isnat(wall)] = None
    return text


def distinct_objects(values: np.ndarray) -> tuple[np.ndarray, list[Any]]:
    """The distinct objects of an object array by identity, and each row's place among them.

    ``items[codes]`` gives back ``values``. The columns :func:`per_value` returns repeat one
    object per distinct cell, so a reader of the objects (a date's wall clock, a time's
    seconds) runs once per distinct cell instead of once per row. Equal objects that are
    not the same object are kept apart, which only costs a repeated reading.
    """
    items = values.tolist()
    n = len(items)
    if not n:
        return np.empty(0, dtype=np.intp), []
    ids = np.fromiter(map(id, items), dtype=np.uint64, count=n)
    codes, _ = pd.factorize(ids)
    _, first = np.unique(codes, return_index=True)  # each distinct object's first row
    return codes, [items[i] for i in first.tolist()]


def split(pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(value, problem)`` pairs → two object arrays."""
    first = np.empty(len(pairs), dtype=object)
    second = np.empty(len(pairs), dtype=object)
    if len(pairs):
        first[:] = [p[0] for p in pairs.tolist()]
        second[:] = [p[1] for p in pairs.tolist()]
    return first, second


def json_tokens(values: np.ndarray | Sequence[Any]) -> np.ndarray:
    """Each value as ``json.dumps(value, ensure_ascii=False, default=str)`` would write it.

    Text without characters to escape, None, booleans and finite floats are written
    directly; anything else goes through :func:`json.dumps`.
    """
    items = values.tolist() if isinstance(values, np.ndarray) else list(values)
    search = _JSON_ESCAPE.search
    out = np.empty(len(items), dtype=object)
    # All text, and no value holds a character to escape: quoting is all there is.
    if (
        items
        and pd.api.types.infer_dtype(items, skipna=False) == "string"
        and not search("".join(items))
    ):
        out[:] = [f'"{v}"' for v in items]
        return out
    if items and pd.api.types.infer_dtype(items, skipna=True) == "string":
        # Text and blanks: each distinct text is written once (a column repeats its values).
        codes, uniques = pd.factorize(np.asarray(items, dtype=object), use_na_sentinel=True)
        if all(items[i] is None for i in np.flatnonzero(codes < 0).tolist()):
            written = np.empty(len(uniques) + 1, dtype=object)
            written[:-1] = [
                json.dumps(u, ensure_ascii=False) if search(u) else f'"{u}"'
                for u in uniques.tolist()
            ]
            written[-1] = "null"
            return written[codes]
    tokens = []
    for v in items:
        if type(v) is str:
            tokens.append(json.dumps(v, ensure_ascii=False) if search(v) else f'"{v}"')
        elif v is None:
            tokens.append("null")
        elif v is True or v is False:
            tokens.append("true" if v else "false")
        elif type(v) is float and math.isfinite(v):
            tokens.append(repr(v))
        elif type(v) is int:
            tokens.append(str(v))
        else:
            tokens.append(json.dumps(v, ensure_ascii=False, default=str))
    out[:] = tokens
    return out


def cell_tokens(values: np.ndarray) -> np.ndarray:
    """The cells of a column as JSON tokens of ``raw["record"]`` (see ``cell_json``)."""
    if pd.api.types.infer_dtype(values, skipna=False) == "string":
        return json_tokens(values)
    return json_tokens(np.array([cell_json(v) for v in values.tolist()], dtype=object))


def objects(items: list[Any]) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def json_members(
    names: Sequence[str], tokens: Sequence[np.ndarray], *, braces: bool = True
) -> np.ndarray:
    """Per row the JSON object ``{"name": token, …}`` from each name's column of JSON
    tokens (without ``braces``: its members alone), as :func:`json.dumps` writes it.

    One string format per row: the names are written once, into the format.
    """
    members = ", ".join(
        json.dumps(name, ensure_ascii=False).replace("%", "%%") + ": %s" for name in names
    )
    template = "{" + members + "}" if braces else members
    return objects([template % row for row in zip(*tokens, strict=True)])


# --------------------------------------------------------------------------- times


@dataclass(frozen=True)
class Stamps:
    """Date-times as given: the wall clock (naive) and, when the cell had one, its offset."""

    wall: np.ndarray  # datetime64[us], NaT when blank
    offset: np.ndarray  # seconds east of UTC, NaN for local (naive) times

    @classmethod
    def of(cls, values: np.ndarray) -> Stamps:
        """From the parsed datetimes (None where blank), each distinct object read once."""
        codes, items = distinct_objects(values)
        offset = np.full(len(items), np.nan)
        naive: list[dt.datetime | None] = []
        for i, v in enumerate(items):
            if v is not None and v.tzinfo is not None:
                offset[i] = v.utcoffset().total_seconds()
                v = v.replace(tzinfo=None)
            naive.append(v)
        wall = np.array(naive, dtype="datetime64[us]") if naive else np.array([], "M8[us]")
        return cls(wall[codes], offset[codes])

    def with_clock(self, clocks: np.ndarray) -> Stamps:
        """The date with the hour, minute and second of its own time column, where given
        (``datetime.replace``: the microseconds and the offset stay)."""
        codes, items = distinct_objects(clocks)
        has = np.array([c is not None for c in items], dtype=bool)[codes]
        if not has.any():
            return self
        per_item = [0 if c is None else c.hour * 3600 + c.minute * 60 + c.second for c in items]
        seconds = np.array(per_item, dtype="int64")[codes]
        day = self.wall.astype("datetime64[D]").astype("datetime64[us]")
        within = self.wall - self.wall.astype("datetime64[s]").astype("datetime64[us]")
        combined = day + seconds.astype("timedelta64[s]") + within
        return Stamps(np.where(has, combined, self.wall), self.offset)

    @property
    def missing(self) -> np.ndarray:
        return np.isnat(self.wall)

    def instants(self) -> pd.Series:
        """Stockholm time: local times localised (the first of a doubled autumn hour, a
        time in the spring gap moved forward), times with an offset converted."""
        aware = ~np.isnan(self.offset)
        local = np.where(aware, np.datetime64("NaT", "us"), self.wall)
        out = pd.Series(
            pd.DatetimeIndex(local).tz_localize(
                TIMEZONE, ambiguous=np.ones(len(local), dtype=bool), nonexistent="shift_forward"
            )
        )
        if aware.any():
            shift = np.nan_to_num(self.offset).astype("int64").astype("timedelta64[s]")
            utc = pd.DatetimeIndex(np.where(aware, self.wall - shift, np.datetime64("NaT", "us")))
            converted = pd.Series(utc.tz_localize("UTC").tz_convert(TIMEZONE))
            out = out.where(~aware, converted)
        return out

    def python(self, i: int) -> dt.datetime | None:
        """Row ``i`` as the datetime the scalar reader gave."""
        if np.isnat(self.wall[i]):
            return None
        value = self.wall[i].astype(dt.datetime)
        if np.isnan(self.offset[i]):
            return value
        return value.replace(tzinfo=dt.timezone(dt.timedelta(seconds=float(self.offset[i]))))

    def iso_tokens(self) -> np.ndarray:
        """JSON tokens of ``datetime.isoformat()``: ``"2024-03-05T14:30:00"``, or null."""
        text = np.datetime_as_string(self.wall, unit="s").astype(object)
        out = np.char.add('"', np.char.add(text.astype(str), '"')).astype(object)
        odd = ~np.isnan(self.offset) | (self.wall != self.wall.astype("datetime64[s]"))
        for i in np.flatnonzero(odd & ~self.missing):
            out[i] = f'"{self.python(i).isoformat()}"'
        out[self.missing] = "null"
        return out


def iso_instants(values: pd.Series) -> np.ndarray:
    """``Timestamp.isoformat()`` of tz-aware instants: ``2024-03-02T07:30:00+01:00``
    (None where NaT). The wall clock and its offset are written as arrays; only
    sub-second times take ``isoformat`` one by one."""
    wall = values.dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    utc = values.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    known = ~np.isnat(wall)
    minutes = np.zeros(len(wall), dtype="int64")
    minutes[known] = (wall[known] - utc[known]) // np.timedelta64(1, "m")
    codes, uniques = pd.factorize(minutes)
    offsets = np.array(
        [f"{'-' if m < 0 else '+'}{abs(m) // 60:02d}:{abs(m) % 60:02d}" for m in uniques.tolist()],
        dtype=object,
    )
    out = np.datetime_as_string(wall, unit="s").astype(object) + offsets[codes]
    out[~known] = None
    for i in np.flatnonzero(known & (wall != wall.astype("datetime64[s]"))):
        out[i] = values.iloc[i].isoformat()
    return out


def present(values: np.ndarray | Sequence[Any]) -> np.ndarray:
    """Where a value is not None."""
    items = values.tolist() if isinstance(values, np.ndarray) else values
    return np.array([v is not None for v in items], dtype=bool)
