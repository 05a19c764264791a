"""A client for PxWeb API v1 tables (MCF's rescue statistics, SCB, …): request and response JSON.

PxWeb v1 serves a table's metadata on ``GET <table-url>`` and its data on ``POST
<table-url>`` with a query::

    {"query": [{"code": "kommun", "selection": {"filter": "item", "values": ["0180"]}},
               {"code": "ar", "selection": {"filter": "item", "values": ["2024"]}},
               {"code": "manadNummer", "selection": {"filter": "all", "values": ["*"]}}],
     "response": {"format": "json"}}

A variable left out of the query is eliminated (summed) when the table allows it.

Two answer formats are read (:func:`parse_response` detects which):

``json`` (PxWeb's own)
    ``columns`` (``code``, ``text``, ``type``: ``d`` dimension, ``t`` time, ``c`` content),
    ``comments``, ``data`` (``key``: one code per ``d``/``t`` column *in the table's variable
    order*, which need not be the query's; ``values``: one string per ``c`` column) and
    ``metadata`` (``infofile``, ``updated``, ``label``, ``source``). Keys are matched to
    columns by position in ``columns``, never by the query's order.
``json-stat2``
    ``id``, ``size``, ``dimension`` (``category.index`` and ``label`` per variable),
    ``value`` (row-major, the last dimension fastest; ``null`` where a symbol stands) and
    ``status`` (index → symbol, e.g. ``".."``), ``role`` and ``updated``.

Missing or suppressed cells (``.``, ``..``, ``...``, ``-`` …) become ``<NA>`` with the symbol
kept in ``status``, never zero. Nothing here talks to the network: :func:`fetch` calls the
``post`` callable it is given (the project's ``net`` client in production, a stub in
tests).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trygghetskarta.errors import SourceError
from trygghetskarta.sources import raw_files

#: ``post(url, body) -> response body``; body is the UTF-8 JSON query.
Post = Callable[[str, bytes], bytes]
#: ``get(url) -> response body``.
Get = Callable[[str], bytes]

FORMATS = ("json", "json-stat2")
#: PxWeb's data symbols for missing values (PX ``DATASYMBOL1``…``6`` and ``NIL`` defaults).
SYMBOLS = frozenset({".", "..", "...", "....", ".....", "......", "-", ""})


@dataclass(frozen=True)
class Selection:
    """One variable's selection in a query.

    Attributes
    ----------
    code
        The variable code, e.g. ``"kommun"``.
    values
        Value codes; ``("*",)`` with ``filter="all"`` selects every value.
    filter
        ``item`` (the listed codes), ``all`` (wildcards), ``top`` (the last N periods,
        ``values=("3",)``), or an aggregation/value set (``agg:…``, ``vs:…``).
    """

    code: str
    values: tuple[str, ...]
    filter: str = "item"

    def to_json(self) -> dict[str, Any]:
        """The selection as PxWeb wants it."""
        return {
            "code": self.code,
            "selection": {"filter": self.filter, "values": list(self.values)},
        }


def query(selections: Mapping[str, Sequence[str] | str], *, fmt: str = "json") -> dict[str, Any]:
    """Build a PxWeb v1 data query.

    Parameters
    ----------
    selections
        Variable code → value codes, or ``"*"`` for all values.
    fmt
        ``json`` or ``json-stat2``.

    Returns
    -------
    dict
        The request body (serialise with :func:`json.dumps`).

    Examples
    --------
    >>> query({"kommun": ["0180"], "ar": ["2024"], "manadNummer": "*"})["query"][2]
    {'code': 'manadNummer', 'selection': {'filter': 'all', 'values': ['*']}}
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, got {fmt!r}")
    items = []
    for code, values in selections.items():
        if isinstance(values, str):
            if values != "*":
                raise ValueError(f"{code}: give a list of codes or '*', got {values!r}")
            items.append(Selection(code, ("*",), "all"))
        else:
            items.append(Selection(code, tuple(str(v) for v in values)))
    return {"query": [s.to_json() for s in items], "response": {"format": fmt}}


def _load(answer: Mapping[str, Any] | str | bytes | Path, what: str) -> Any:
    if isinstance(answer, Mapping):
        return answer
    if isinstance(answer, Path):
        what = str(answer)
        answer = raw_files.read_bytes(answer)
    try:
        return json.loads(answer.decode("utf-8-sig") if isinstance(answer, bytes) else answer)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        head = answer[:60] if isinstance(answer, str) else answer[:60].decode("utf-8", "replace")
        raise SourceError(
            f"{what} is not JSON ({e}; it starts {head!r}) — PxWeb answers errors as text: "
            "check the table URL and the query's variable codes"
        ) from e


def _number(value: Any) -> tuple[float | None, str | None]:
    if value is None:
        return None, ".."
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value), None
    text = str(value).strip()
    if text in SYMBOLS:
        return None, text or ".."
    try:
        return float(text.replace(" ", "").replace(",", ".")), None
    except ValueError:
        return None, text


def _frame(
    records: dict[str, list[Any]], values: list[float | None], status: list[Any]
) -> pd.DataFrame:
    frame = pd.DataFrame(records)
    frame["value"] = pd.array(values, dtype="Float64")
    frame["status"] = pd.array(status, dtype=pd.StringDtype())
    return frame


@dataclass(frozen=True)
class Dataset:
    """A parsed PxWeb answer.

    Attributes
    ----------
    data
        One row per cell: one column per dimension with the value *code*, ``content`` (the
        content variable's code, or the table's contents), ``value`` (Float64, ``<NA>`` when
        missing) and ``status`` (the symbol of a missing or noted cell, else ``<NA>``).
    labels
        Dimension code → {value code → label}, where the answer gives labels.
    dimension_labels
        Dimension code → its label.
    time
        The time dimensions' codes.
    updated, source, title
        From the answer's metadata.
    """

    data: pd.DataFrame
    labels: dict[str, dict[str, str]]
    dimension_labels: dict[str, str]
    time: tuple[str, ...]
    updated: str | None
    source: str | None
    title: str | None


def _parse_json(doc: Mapping[str, Any], what: str) -> Dataset:
    columns = doc.get("columns")
    rows = doc.get("data")
    if not isinstance(columns, list) or not isinstance(rows, list):
        raise SourceError(f"{what} has no 'columns' and 'data' — expected PxWeb's json format")
    keys = [c for c in columns if c.get("type", "d") in ("d", "t")]
    contents = [c for c in columns if c.get("type") == "c"]
    if not contents:
        raise SourceError(f"{what} has no content column (type 'c') — not a PxWeb data answer")
    records: dict[str, list[Any]] = {c["code"]: [] for c in keys}
    records["content"] = []
    values: list[float | None] = []
    status: list[str | None] = []
    for n, row in enumerate(rows):
        key, cells = row.get("key", []), row.get("values", [])
        if len(key) != len(keys) or len(cells) != len(contents):
            raise SourceError(
                f"{what}: data row {n} has {len(key)} key codes and {len(cells)} values, "
                f"expected {len(keys)} and {len(contents)} — the answer is cut or not PxWeb json"
            )
        for content, cell in zip(contents, cells, strict=True):
            for column, code in zip(keys, key, strict=True):
                records[column["code"]].append(code)
            records["content"].append(content["code"])
            number, symbol = _number(cell)
            values.append(number)
            status.append(symbol)
    meta = (doc.get("metadata") or [{}])[0]
    return Dataset(
        data=_frame(records, values, status),
        labels={},
        dimension_labels={c["code"]: c.get("text", c["code"]) for c in columns},
        time=tuple(c["code"] for c in keys if c.get("type") == "t"),
        updated=meta.get("updated"),
        source=meta.get("source"),
        title=meta.get("label"),
    )


def _categories(dimension: Mapping[str, Any]) -> list[str]:
    index = dimension.get("category", {}).get("index")
    if isinstance(index, list):
        return [str(i) for i in index]
    if isinstance(index, Mapping):
        return [code for code, _ in sorted(index.items(), key=lambda kv: kv[1])]
    labels = dimension.get("category", {}).get("label", {})
    return list(labels)


def _parse_jsonstat2(doc: Mapping[str, Any], what: str) -> Dataset:
    ids = list(doc.get("id") or [])
    sizes = list(doc.get("size") or [])
    dims = doc.get("dimension") or {}
    if not ids or len(ids) != len(sizes) or any(i not in dims for i in ids):
        raise SourceError(f"{what}: 'id', 'size' and 'dimension' do not agree — not json-stat2")
    codes = [_categories(dims[i]) for i in ids]
    if [len(c) for c in codes] != sizes:
        raise SourceError(
            f"{what}: the category counts {[len(c) for c in codes]} differ from size {sizes}"
        )
    total = int(np.prod(sizes))
    raw = doc.get("value")
    if isinstance(raw, Mapping):
        cells: list[Any] = [raw.get(str(k)) for k in range(total)]
    elif isinstance(raw, list):
        cells = raw
    else:
        raise SourceError(f"{what} has no 'value' — not a json-stat2 dataset")
    if len(cells) != total:
        raise SourceError(f"{what}: {len(cells)} values for {total} cells — the answer is cut")
    marks = doc.get("status") or {}
    if isinstance(marks, list):
        marks = dict(enumerate(marks))
    elif isinstance(marks, str):
        marks = dict.fromkeys(range(total), marks)
    else:
        marks = {int(k): v for k, v in marks.items()}
    role = doc.get("role") or {}
    metric = set(role.get("metric") or [])
    content_id = next((i for i in ids if i in metric), None)
    records: dict[str, list[Any]] = {i: [] for i in ids if i != content_id}
    records["content"] = []
    values, status = [], []
    for k, combo in enumerate(product(*codes)):
        for dim, code in zip(ids, combo, strict=True):
            if dim == content_id:
                records["content"].append(code)
            else:
                records[dim].append(code)
        if content_id is None:
            records["content"].append(doc.get("label") or "value")
        number, symbol = _number(cells[k])
        values.append(number)
        status.append(marks.get(k, symbol if number is None else None))
    labels = {i: dict(dims[i].get("category", {}).get("label") or {}) for i in ids}
    return Dataset(
        data=_frame(records, values, status),
        labels=labels,
        dimension_labels={i: dims[i].get("label", i) for i in ids},
        time=tuple(role.get("time") or ()),
        updated=doc.get("updated"),
        source=doc.get("source"),
        title=doc.get("label"),
    )


def parse_response(
    answer: Mapping[str, Any] | str | bytes | Path, *, what: str = "the PxWeb answer"
) -> Dataset:
    """Parse a PxWeb v1 data answer in the ``json`` or the ``json-stat2`` format.

    Parameters
    ----------
    answer
        The decoded JSON, its text or bytes, or a file holding it.
    what
        How to name the answer in an error message (a URL or a file name).

    Raises
    ------
    SourceError
        The answer is not JSON, or not in either format.
    """
    doc = _load(answer, what)
    if isinstance(doc, Mapping) and "columns" in doc and "data" in doc:
        return _parse_json(doc, what)
    if isinstance(doc, Mapping) and (doc.get("class") == "dataset" or "dimension" in doc):
        return _parse_jsonstat2(doc, what)
    if isinstance(doc, Mapping) and "dataset" in doc:  # json-stat 1: {"dataset": {...}}
        raise SourceError(f"{what} is json-stat version 1 — ask for json-stat2 or json")
    raise SourceError(f"{what} is neither PxWeb json nor json-stat2 (keys {sorted(doc)[:6]})")


@dataclass(frozen=True)
class Variable:
    """A table variable from the metadata answer."""

    code: str
    text: str
    values: tuple[str, ...]
    value_texts: tuple[str, ...]
    elimination: bool
    time: bool


def parse_metadata(
    answer: Mapping[str, Any] | str | bytes | Path, *, what: str = "the PxWeb metadata"
) -> tuple[str, list[Variable]]:
    """Parse the metadata answer of ``GET <table-url>``: the title and the variables."""
    doc = _load(answer, what)
    variables = doc.get("variables") if isinstance(doc, Mapping) else None
    if not isinstance(variables, list):
        raise SourceError(f"{what} has no 'variables' — expected a PxWeb v1 table URL")
    out = [
        Variable(
            code=v["code"],
            text=v.get("text", v["code"]),
            values=tuple(v.get("values", ())),
            value_texts=tuple(v.get("valueTexts", v.get("values", ()))),
            elimination=bool(v.get("elimination", False)),
            time=bool(v.get("time", False)),
        )
        for v in variables
    ]
    return str(doc.get("title", "")), out


def fetch(url: str, body: Mapping[str, Any], *, post: Post) -> bytes:
    """POST a query and return the answer's bytes (save them, then :func:`parse_response`).

    Parameters
    ----------
    url
        The table URL, e.g. ``https://statistik.mcf.se/PxWeb/api/v1/sv/PxData/B/B1/B11``.
    body
        From :func:`query`.
    post
        ``post(url, body_bytes) -> bytes``; in production the project's HTTP client.
    """
    return post(url, json.dumps(body, ensure_ascii=False).encode("utf-8"))
