"""The row-by-row list reader that :func:`~trygghetskarta.sources.event_lists.parse_list`
replaced, kept as its reference.

The pipeline never calls it. ``tests/test_list_columns.py`` checks that the column-wise
reader gives the same events, quarantine, counts and notes on thousands of varied rows,
and ``bench/bench_lists.py`` measures both in the same run. It parses every row on its
own through :func:`~trygghetskarta.sources._list_rows.row_values` and
:func:`~trygghetskarta.sources._list_rows.check_row`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from trygghetskarta.schema import TIMEZONE, UNCERTAINTY_M, Precision
from trygghetskarta.sources import _coords
from trygghetskarta.sources._list_rows import (
    Checked,
    Seen,
    check_row,
    events_frame,
    place,
    quarantine_frame,
    quarantine_row,
    row_values,
    time_known,
)
from trygghetskarta.sources._listfile import cell_json, read_table
from trygghetskarta.sources.event_lists import Contract, ListOptions, ListResult, resolve_columns
from trygghetskarta.sources.text_repair import NONE


def parse_list_rowwise(
    paths: Sequence[Path | str],
    contract: Contract,
    options: ListOptions | None = None,
    *,
    kommun: shapely.Geometry | None = None,
    municipality: str = "Stockholm",
    now: pd.Timestamp | None = None,
) -> ListResult:
    """Read list files of one contract row by row: the reference for :func:`parse_list`.

    Parameters
    ----------
    paths
        CSV or XLSX files; rows repeated across files count as duplicates.
    contract
        E.g. :data:`trygghetskarta.sources.crime_list.CONTRACT`.
    options
        From :func:`options_from_config`; defaults recognise the built-in column names.
    kommun
        The kommun's outline in EPSG:3006; points outside it are quarantined. Without it
        only "somewhere in Sweden" is checked.
    municipality
        The kommun's name (rows whose kommun column names another are quarantined).
    now
        The run's clock: dates after it are quarantined as in the future (default: the
        current time). Dates before 2000 are quarantined as implausible.

    Returns
    -------
    ListResult

    Raises
    ------
    SourceError
        A file cannot be read or lacks a required column (see :func:`resolve_columns`).
    """
    options = options or ListOptions()
    source = options.source or contract.source
    now = pd.Timestamp.now(tz=TIMEZONE) if now is None else now
    events: list[dict[str, Any]] = []
    bad: list[dict[str, Any]] = []
    notes: list[str] = []
    seen = Seen()
    read = 0
    repairs = NONE
    for path in paths:
        table = read_table(
            path, sheet=options.sheet, delimiter=options.delimiter, encoding=options.encoding
        )
        notes.append(f"{table.path.name}: " + ", ".join(table.notes))
        if table.repairs:
            notes.append(f"{table.path.name}: {table.repairs.describe()}")
            repairs += table.repairs
        columns = resolve_columns(table, contract, options)
        parsed: list[tuple[int, dict[str, Any], dict[str, Any]]] = []
        for i, row in enumerate(table.rows):
            read += 1
            record = {h: cell_json(v) for h, v in zip(table.header, row, strict=True)}
            line = table.lines[i]
            if table.widths[i] > len(table.header):
                reason = (
                    f"too many fields: line {line} has {table.widths[i]}, the header "
                    f"{len(table.header)} (an unquoted separator inside a value?)"
                )
                bad.append(quarantine_row(source, str(path), line, reason, record, None))
                continue
            values, problem = row_values(row, columns, table.header, dayfirst=options.dayfirst)
            if problem:
                reason = f"{problem} (line {line})"
                sid = values.get("source_id")
                bad.append(quarantine_row(source, str(path), line, reason, record, sid))
                continue
            parsed.append((i, record, values))
        placements = place([v for _, _, v in parsed], columns, options.crs, kommun, municipality)
        for (i, record, values), placement in zip(parsed, placements, strict=True):
            line = table.lines[i]
            checked, reason = check_row(
                values,
                placement,
                where=f"line {line}",
                label=f"{table.path.name} line {line}",
                date_column=columns.get("occurred_at", "date"),
                municipality=municipality,
                now=now,
                seen=seen,
            )
            built = None
            if checked is not None:
                built, reason = contract.build(values, options)
                reason = f"{reason} (line {line})" if reason else None
            if checked is None or built is None or reason:
                sid = checked.source_id if checked else values["source_id"]
                bad.append(quarantine_row(source, str(path), line, str(reason), record, sid))
                continue
            derived = dict(built.get("derived", {}))
            derived["time_known"] = time_known(values)
            if checked.ends is not None:
                derived["occurred_to"] = checked.ends.isoformat()
            if placement[2] == _coords.FIXED:
                derived["fixed"] = placement[3]
                notes.append(f"{table.path.name} line {line}: {placement[3]}")
            raw = {"line": line, "file": table.path.name, "record": record, "derived": derived}
            events.append(_event(source, contract, checked, built, values, placement, raw))
    return ListResult(events_frame(events), quarantine_frame(bad), read, notes, repairs)


def _event(
    source: str,
    contract: Contract,
    checked: Checked,
    built: Mapping[str, Any],
    values: Mapping[str, Any],
    placement: tuple[float, float, str, str | None],
    raw: Mapping[str, Any],
) -> dict[str, Any]:
    exact = checked.has_point
    return {
        "event_uid": f"{source}:{checked.source_id}",
        "source": source,
        "source_id": checked.source_id,
        "layer": contract.layer.value,
        "category": built["category"],
        "source_type": built["source_type"],
        "occurred_at": checked.begins,
        "published_at": pd.NaT,
        "title": built["title"],
        "summary": built.get("summary"),
        "body": values["description"],
        "url": None,
        "x": placement[0],
        "y": placement[1],
        "precision": Precision.EXACT.value if exact else None,
        "uncertainty_m": UNCERTAINTY_M[Precision.EXACT] if exact else np.nan,
        "place_name": checked.place,
        "sensitive": bool(built.get("sensitive", False)),
        "raw": json.dumps(raw, ensure_ascii=False, default=str),
    }
