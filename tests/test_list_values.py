"""The array helpers of the column-wise list reader (``sources/_list_values.py``)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from trygghetskarta.sources._list_values import (
    Stamps,
    distinct_objects,
    iso_instants,
    per_number_pairs,
    per_value,
    per_value_pairs,
)
from trygghetskarta.sources._listfile import parse_number

EAST2 = dt.timezone(dt.timedelta(hours=2))


def _objects(items: list) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def test_distinct_objects_by_identity_in_order_of_first_row():
    a, b = dt.datetime(2024, 1, 1, 5), dt.datetime(2024, 1, 2)
    values = _objects([b, None, a, b, None, a, a])
    codes, items = distinct_objects(values)
    assert items == [b, None, a]
    assert codes.tolist() == [0, 1, 2, 0, 1, 2, 2]
    rebuilt = _objects(items)[codes]
    assert all(x is y for x, y in zip(rebuilt, values, strict=True))


def test_distinct_objects_keeps_equal_but_separate_objects_apart():
    # equal values that are different objects are read twice; the result is the same
    values = _objects([dt.time(1, 2), dt.time(1, 2)])
    codes, items = distinct_objects(values)
    assert codes.tolist() == [0, 1] and items == [dt.time(1, 2), dt.time(1, 2)]


def test_distinct_objects_of_nothing():
    codes, items = distinct_objects(np.empty(0, dtype=object))
    assert codes.tolist() == [] and items == []


@pytest.mark.parametrize(
    ("values", "clocks", "wall", "offset"),
    [
        pytest.param(
            [dt.datetime(2024, 3, 5), None, dt.datetime(2024, 3, 5)],
            [dt.time(14, 30, 15), dt.time(1, 0), None],
            ["2024-03-05T14:30:15", "NaT", "2024-03-05T00:00:00"],
            [np.nan, np.nan, np.nan],
            id="local-dates-with-own-clock",
        ),
        pytest.param(
            [dt.datetime(2024, 7, 1, 23, 59, 1, 500, tzinfo=EAST2), dt.datetime(2021, 1, 1, 8)],
            [dt.time(6, 7, 8), None],
            ["2024-07-01T06:07:08.000500", "2021-01-01T08:00:00"],
            [7200.0, np.nan],
            id="offset-and-microseconds-stay",
        ),
    ],
)
def test_stamps_match_datetime_replace_row_by_row(values, clocks, wall, offset):
    stamps = Stamps.of(_objects(values)).with_clock(_objects(clocks))
    assert np.datetime_as_string(stamps.wall, unit="us").tolist() == [
        w if w == "NaT" else np.datetime_as_string(np.datetime64(w, "us"), unit="us") for w in wall
    ]
    np.testing.assert_array_equal(stamps.offset, np.array(offset))
    # the reference: the scalar datetime.replace the row-by-row reader does
    for i, (v, c) in enumerate(zip(values, clocks, strict=True)):
        expected = (
            None
            if v is None
            else v.replace(hour=c.hour, minute=c.minute, second=c.second)
            if c
            else v
        )
        assert stamps.python(i) == expected


@pytest.mark.parametrize("dtype", [object, "string"], ids=["objects", "arrow-strings"])
def test_validate_events_names_unknown_values_of_either_text_dtype(dtype):
    from trygghetskarta.errors import SchemaError
    from trygghetskarta.schema import PARSED_COLUMNS, validate_events
    from trygghetskarta.sources.event_lists import empty_events

    frame = empty_events().reindex(range(3))
    frame["event_uid"] = ["a:1", "a:2", "a:3"]
    for name in ("source", "source_id", "raw"):
        frame[name] = "x"
    frame["layer"] = "reported_crime"
    frame["category"] = pd.Series(["violence", "gnomes", "drugs"], dtype=dtype)
    frame["precision"] = pd.Series([None, None, None], dtype=dtype)
    with pytest.raises(SchemaError, match=r"unknown category values \['gnomes'\]"):
        validate_events(frame[list(PARSED_COLUMNS)])


@pytest.mark.parametrize(
    "values",
    [
        ["6580521", "-12.5", "6 580 521,5", "6580521", None, "", "..", "x12", "1e5", "nan"],
        ["674345", "0.5", "−12,5", "12.", ".5", "١٢", "1_000", "+3", " 7 ", "007"],
        [None, None],
        [6580521.5, "6580521", 1],  # an XLSX column: numbers and text
        [],
    ],
)
def test_per_number_reads_each_value_as_parse_number_does(values):
    cells = np.empty(len(values), dtype=object)
    cells[:] = values
    number, problem = per_number_pairs(cells, parse_number)
    fast = list(zip(number.tolist(), problem.tolist(), strict=True))
    slow = [parse_number(v) for v in values]
    assert [repr(p) for p in fast] == [repr(p) for p in slow]  # nan == nan
    assert [type(v) for v, _ in fast] == [type(v) for v, _ in slow]
    value, problem = per_value_pairs(cells, parse_number)
    assert [repr(p) for p in zip(value, problem, strict=True)] == [repr(p) for p in slow]


def test_per_value_of_a_column_the_file_lacks_calls_once():
    calls = []
    out = per_value(np.full(4, None, dtype=object), lambda v: calls.append(v) or (None, None))
    assert out.tolist() == [(None, None)] * 4
    assert calls == [None]


def test_iso_instants_write_what_isoformat_writes():
    wall = ["2024-03-02 07:30:00", "2024-07-02 07:30:00.25", "2024-10-27 02:30", "2030-01-01"]
    stockholm = pd.Series(
        pd.to_datetime(wall, format="ISO8601").tz_localize("Europe/Stockholm", ambiguous=True)
    )
    newfoundland = pd.Series(pd.to_datetime(wall[:1]).tz_localize("America/St_Johns"))
    for values in (stockholm, newfoundland):
        assert iso_instants(values).tolist() == [t.isoformat() for t in values]
    with_nat = pd.Series(pd.to_datetime([wall[0], None]).tz_localize("Europe/Stockholm"))
    assert iso_instants(with_nat).tolist() == ["2024-03-02T07:30:00+01:00", None]
