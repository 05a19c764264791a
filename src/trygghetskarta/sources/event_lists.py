"""Event lists delivered as CSV or XLSX, read through a documented contract.

The police (reported crimes, shootings) and the fire service deliver lists of single events
under data agreements; the columns differ between deliveries. A :class:`Contract` names the
*fields* a list must or may have (``occurred_at``, ``x``, ``address`` …) and the column
names recognised for each; a user maps any other name in ``trygghetskarta.toml``::

    [sources.brott]
    crs = "EPSG:3011"              # the x/y columns' system (default EPSG:3006)
    sheet = "Anmälningar"          # XLSX: the sheet (default the first)
    [sources.brott.columns]
    occurred_at = "Brottsdatum från"
    crime_type = "Brottsbenämning"

:func:`parse_list` reads the files into the shared event schema and a quarantine. Every row
ends up in one of them; each quarantine reason starts with its kind ("outside Stockholm
kommun", "date in the future", "duplicate row" …) followed by the line. A file that cannot
be read at all — a required column missing, a mapped column absent, one column only —
stops with one :class:`~trygghetskarta.errors.SourceError` sentence naming the file, what
was expected and how to map it.

The contracts themselves live beside their layers: ``crime_list.CONTRACT``,
``shootings.LIST_CONTRACT``, ``fires.LIST_CONTRACT``.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import shapely

from trygghetskarta.config import CITY_CRS, STORE_CRS, WEB_CRS
from trygghetskarta.errors import ConfigError, SourceError
from trygghetskarta.schema import (
    TIMEZONE,
    Category,
    Layer,
)
from trygghetskarta.sources import _list_columns, _list_repeats, _list_rows
from trygghetskarta.sources._list_columns import BuiltFrame as BuiltFrame
from trygghetskarta.sources._listfile import Table, find_column, iter_table
from trygghetskarta.sources.text_repair import NONE, Repairs

QUARANTINE_OUT = _list_rows.QUARANTINE_OUT


@dataclass(frozen=True)
class Field:
    """One logical field of a list."""

    name: str
    meaning: str
    aliases: tuple[str, ...]


FIELDS: dict[str, Field] = {
    f.name: f
    for f in (
        Field(
            "source_id",
            "the record's own id",
            (
                "id",
                "Diarienummer",
                "Diarienr",
                "Ärendenummer",
                "Ärendenr",
                "Händelsenummer",
                "Händelse-id",
                "Anmälningsnummer",
                "Insatsnummer",
                "Löpnummer",
            ),
        ),
        Field(
            "occurred_at",
            "when it happened (a date, or a date and time; the start of a time span)",
            (
                "Datum",
                "Brottsdatum",
                "Brottsdatum från",
                "Från datum",
                "Händelsedatum",
                "Tidpunkt",
                "Händelsetid",
                "Larmtid",
                "Datum och tid",
                "Starttid",
                "Inträffad",
            ),
        ),
        Field(
            "occurred_time",
            "the time of day, when in its own column",
            ("Tid", "Klockslag", "Brottstid", "Brottstid från", "Från tid", "Kl"),
        ),
        Field(
            "occurred_to",
            "the end of a time span (a date, or a date and time)",
            ("Brottsdatum till", "Till datum", "Datum till", "Sluttid"),
        ),
        Field(
            "occurred_to_time",
            "the end's time of day, when in its own column",
            ("Brottstid till", "Till tid"),
        ),
        Field("crime_code", "the crime code", ("Brottskod", "Kod")),
        Field(
            "crime_type",
            "the crime type in words",
            ("Brottstyp", "Brottsbenämning", "Brott", "Rubricering", "Brottsrubricering"),
        ),
        Field(
            "kind",
            "what kind of event (e.g. the kind of fire)",
            ("Händelsetyp", "Typ", "Brandtyp", "Kategori"),
        ),
        Field(
            "object",
            "what burned or was hit (building type, vehicle, container …)",
            ("Objekt", "Brandobjekt", "Objektstyp", "Verksamhet", "Bostadstyp"),
        ),
        Field("dead", "number of people killed", ("Döda", "Avlidna", "Antal döda", "Dödade")),
        Field("injured", "number of people injured", ("Skadade", "Antal skadade")),
        Field(
            "address",
            "the street address",
            (
                "Adress",
                "Gatuadress",
                "Brottsplatsadress",
                "Brottsplats",
                "Händelseadress",
                "Objektsadress",
            ),
        ),
        Field(
            "place",
            "a place name (square, area) when there is no address",
            ("Plats", "Platsnamn", "Område", "Platsbeskrivning"),
        ),
        Field("municipality", "the kommun", ("Kommun", "Kommunnamn")),
        Field(
            "x",
            "easting (SWEREF99 TM unless crs says otherwise)",
            ("X", "X-koordinat", "X_koord", "Koordinat X", "E", "Easting", "Öst", "Ost"),
        ),
        Field(
            "y",
            "northing (SWEREF99 TM unless crs says otherwise)",
            ("Y", "Y-koordinat", "Y_koord", "Koordinat Y", "N", "Northing", "Nord"),
        ),
        Field("lat", "latitude, WGS84 degrees", ("lat", "latitud", "latitude")),
        Field("lon", "longitude, WGS84 degrees", ("lon", "lng", "longitud", "longitude")),
        Field(
            "description",
            "free text",
            ("Beskrivning", "Händelsebeskrivning", "Kommentar", "Fritext", "Sammanfattning"),
        ),
    )
}

#: What a contract's row builder returns: the event's layer-specific values, or a problem.
Built = tuple[dict[str, Any] | None, str | None]


@dataclass(frozen=True)
class Contract:
    """The shape of one kind of list.

    Attributes
    ----------
    name
        The ``[sources.<name>]`` section of ``trygghetskarta.toml`` and the CLI word.
    source
        The events' ``source`` (their ``event_uid`` is ``<source>:<id>``).
    layer
        The events' layer.
    fields
        The fields read; see :data:`FIELDS`.
    required
        Groups of fields; at least one field of each group must be in the file.
    build
        Per row, from the parsed fields to ``category``, ``source_type``, ``title``,
        ``summary``, ``sensitive`` and ``derived`` (extra values kept in ``raw``), or a
        problem sentence that sends the row to quarantine.
    build_frame
        The same for a frame of rows at once (one column per field: text, ``occurred_at``
        and ``occurred_to`` as the dates' wall-clock times, ``occurred_time``, and the raw
        ``dead``/``injured`` cells), returning a :class:`BuiltFrame`; it must agree with
        ``build`` row for row. Without it :func:`parse_list` calls ``build`` per row.
    """

    name: str
    source: str
    layer: Layer
    fields: tuple[str, ...]
    required: tuple[tuple[str, ...], ...]
    build: Callable[[dict[str, Any], ListOptions], Built]
    build_frame: Callable[[pd.DataFrame, ListOptions], BuiltFrame] | None = None


@dataclass(frozen=True)
class ListOptions:
    """A list's settings, from ``[sources.<name>]`` in ``trygghetskarta.toml``.

    Attributes
    ----------
    columns
        Field name → the file's column name.
    crs
        The system of the ``x``/``y`` columns (``EPSG:3006``, ``EPSG:3011``, ``EPSG:4326``).
    sheet, delimiter, encoding
        How to read the file (detected when not given).
    dayfirst
        Read ``05/03/2024`` as 5 March (the Swedish order, default) or as May 3.
    sensitive_codes
        Crime codes to flag sensitive besides the built-in crime types.
    code_categories
        Crime code (or code prefix) → category, before the built-in word rules.
    source
        Overrides the contract's source name (two kinds of delivery of one contract).
    """

    columns: Mapping[str, str] = field(default_factory=dict)
    crs: str = STORE_CRS
    sheet: str | None = None
    delimiter: str | None = None
    encoding: str | None = None
    dayfirst: bool = True
    sensitive_codes: tuple[str, ...] = ()
    code_categories: Mapping[str, str] = field(default_factory=dict)
    source: str | None = None


_OPTION_KEYS = {f for f in ListOptions.__dataclass_fields__} | {"file_crs"}


def options_from_config(extra: Mapping[str, Any], contract: Contract) -> ListOptions:
    """Read ``[sources.<contract.name>]`` from the toml's extra sections.

    Parameters
    ----------
    extra
        ``Settings.extra`` (the toml's sections that are not plain settings).
    contract
        The list's contract (for its name and fields).

    Raises
    ------
    ConfigError
        An unknown key, a column mapping for a field the contract does not have, an
        unknown CRS or category.
    """
    section = (extra.get("sources") or {}).get(contract.name) or {}
    where = f"[sources.{contract.name}] in trygghetskarta.toml"
    if not isinstance(section, Mapping):
        raise ConfigError(f"{where} must be a table, got {section!r} — see the README")
    unknown = sorted(set(section) - _OPTION_KEYS)
    if unknown:
        raise ConfigError(
            f"{where} has unknown keys {unknown}; expected some of {sorted(_OPTION_KEYS)}"
        )
    columns = dict(section.get("columns") or {})
    bad = sorted(set(columns) - set(contract.fields))
    if bad:
        raise ConfigError(
            f"{where}.columns maps {bad}, which the {contract.name} contract does not have; "
            f"its fields are {list(contract.fields)}"
        )
    crs = str(section.get("crs", section.get("file_crs", STORE_CRS))).upper()
    if crs not in (STORE_CRS, CITY_CRS, WEB_CRS):
        raise ConfigError(f"{where}: crs must be EPSG:3006, EPSG:3011 or EPSG:4326, got {crs!r}")
    categories = {str(k): str(v) for k, v in (section.get("code_categories") or {}).items()}
    wrong = sorted(set(categories.values()) - {c.value for c in Category})
    if wrong:
        raise ConfigError(f"{where}: unknown categories {wrong}; use {[c.value for c in Category]}")
    return ListOptions(
        columns={k: str(v) for k, v in columns.items()},
        crs=crs,
        sheet=section.get("sheet"),
        delimiter=section.get("delimiter"),
        encoding=section.get("encoding"),
        dayfirst=bool(section.get("dayfirst", True)),
        sensitive_codes=tuple(str(c) for c in section.get("sensitive_codes", ())),
        code_categories=categories,
        source=section.get("source"),
    )


# --------------------------------------------------------------------------- columns


def resolve_columns(table: Table, contract: Contract, options: ListOptions) -> dict[str, str]:
    """Map each field of the contract to a column of the file.

    Raises
    ------
    SourceError
        A mapped column is not in the file, or no column serves a required field.
    """
    found: dict[str, str] = {}
    for name in contract.fields:
        if name in options.columns:
            column = find_column(table.header, [options.columns[name]])
            if column is None:
                raise SourceError(
                    f"{table.path}: trygghetskarta.toml maps {name} to "
                    f"{options.columns[name]!r}, but the file has no such column (it has "
                    f"{table.header}) — fix [sources.{contract.name}.columns]"
                )
            found[name] = column
            continue
        column = find_column(table.header, FIELDS[name].aliases)
        if column is not None:
            found[name] = column
    for group in contract.required:
        if any(g in found for g in group):
            continue
        if {"x", "y"} <= set(group) and ("x" in found) != ("y" in found):
            continue
        first = FIELDS[group[0]]
        expected = " or ".join(repr(a) for a in first.aliases[:3])
        unused = [h for h in table.header if h not in found.values()]
        close = difflib.get_close_matches(first.aliases[0], unused, n=1, cutoff=0.6)
        guess = close[0] if close else (unused[0] if unused else "<column>")
        alternatives = f" (or one of {list(group[1:])})" if len(group) > 1 else ""
        raise SourceError(
            f"{table.path}: no column for {first.name}{alternatives}, {first.meaning}: "
            f"expected {expected}, got {table.header} — if it is {guess!r}, add "
            f'[sources.{contract.name}.columns] {first.name} = "{guess}" to trygghetskarta.toml'
        )
    if ("x" in found) != ("y" in found):
        have, lack = ("x", "y") if "x" in found else ("y", "x")
        raise SourceError(
            f"{table.path}: has {found[have]!r} for {have} but no column for {lack} — map it "
            f'with [sources.{contract.name}.columns] {lack} = "<column>"'
        )
    return found


# --------------------------------------------------------------------------- rows


@dataclass
class ListResult:
    """What :func:`parse_list` returns.

    Attributes
    ----------
    events
        Columns :data:`schema.PARSED_COLUMNS`. Rows with coordinates have ``exact``
        precision; rows with only an address or a place have ``place_name`` set and no
        position (the geocode step places them).
    quarantine
        ``source, source_id, source_file, reason, raw``.
    read
        Data rows read (``len(events) + len(quarantine)``).
    notes
        What the readers guessed or fixed, for the ingest summary.
    repairs
        Lone surrogates replaced and NUL characters removed in the cells.
    """

    events: pd.DataFrame
    quarantine: pd.DataFrame
    read: int
    notes: list[str] = field(default_factory=list)
    repairs: Repairs = NONE


class ListReader:
    """Read list files of one contract a chunk at a time.

    Iterating gives each chunk's events (:data:`schema.PARSED_COLUMNS`, in
    ``(occurred_at, event_uid)`` order within the chunk) as soon as the chunk is checked,
    so a caller can store them before the next is read and never hold the whole list.
    Repeated rows and reused ids are still found across every chunk and file
    (:mod:`trygghetskarta.sources._list_repeats`). Once the iteration is over,
    :meth:`quarantine`, :attr:`read`, :attr:`notes` and :attr:`repairs` describe the
    whole read. :func:`parse_list` is the same read gathered into one :class:`ListResult`.

    Parameters
    ----------
    paths, contract, options, kommun, municipality, now
        As for :func:`parse_list`.
    chunk_rows
        Rows read, checked and given out at a time (default
        :data:`~trygghetskarta.sources._list_columns.CHUNK_ROWS`).

    Raises
    ------
    SourceError
        While iterating: a file cannot be read or lacks a required column (see
        :func:`resolve_columns`).
    """

    def __init__(
        self,
        paths: Sequence[Path | str],
        contract: Contract,
        options: ListOptions | None = None,
        *,
        kommun: shapely.Geometry | None = None,
        municipality: str = "Stockholm",
        now: pd.Timestamp | None = None,
        chunk_rows: int | None = None,
    ) -> None:
        self.paths = tuple(paths)
        self.contract = contract
        self.options = options or ListOptions()
        self.source = self.options.source or contract.source
        self.kommun = kommun
        self.municipality = municipality
        self.now = pd.Timestamp.now(tz=TIMEZONE) if now is None else now
        self.chunk_rows = _list_columns.CHUNK_ROWS if chunk_rows is None else chunk_rows
        if self.chunk_rows < 1:
            raise ValueError(f"chunk_rows must be at least 1, got {self.chunk_rows}")
        #: Data rows read so far.
        self.read = 0
        #: Lone surrogates replaced and NUL characters removed so far.
        self.repairs: Repairs = NONE
        self._files: list[tuple[str, str]] = []
        self._heads: list[list[str]] = []
        self._fixed: list[tuple[int, str]] = []
        self._pending: list[pd.DataFrame] = []
        self._done = False

    def __iter__(self) -> Iterator[pd.DataFrame]:
        if self._done or self._files:
            raise RuntimeError("a ListReader reads its files once; make a new one to read again")
        seen = _list_repeats.Seen()
        names: list[str] = []
        for file_no, path in enumerate(self.paths):
            columns: dict[str, str] | None = None
            tables = iter_table(
                path,
                sheet=self.options.sheet,
                delimiter=self.options.delimiter,
                encoding=self.options.encoding,
                chunk_rows=self.chunk_rows,
            )
            for table in tables:
                if columns is None:
                    head = [f"{table.path.name}: " + ", ".join(table.notes)]
                    if table.repairs:
                        head.append(f"{table.path.name}: {table.repairs.describe()}")
                        self.repairs += table.repairs
                    self._heads.append(head)
                    self._files.append((table.path.name, str(path)))
                    names.append(table.path.name)
                    columns = resolve_columns(table, self.contract, self.options)
                self.read += len(table.rows)
                chunk = _list_columns.read_chunk(
                    table,
                    columns,
                    self.contract,
                    self.options,
                    source=self.source,
                    file_no=file_no,
                    kommun=self.kommun,
                    municipality=self.municipality,
                    now=self.now,
                )
                del table
                settled = _list_repeats.settle(chunk.early, chunk.rows, seen, names)
                del chunk
                self._pending.append(settled.quarantine)
                self._fixed.extend(settled.fixed_notes)
                yield settled.events
        self._done = True

    def _finished(self) -> None:
        if not self._done:
            raise RuntimeError("read every chunk of a ListReader before asking for its totals")

    def quarantine(self) -> pd.DataFrame:
        """The refused rows (``source, source_id, source_file, reason, raw``), per file:
        rows refused while read, then rows refused by the checks."""
        self._finished()
        return _list_repeats.quarantine(self._pending, self._files, self.source)

    @property
    def notes(self) -> list[str]:
        """What the readers guessed or fixed, per file."""
        self._finished()
        fixed: list[list[str]] = [[] for _ in self._files]
        for file_no, note in self._fixed:
            fixed[file_no].append(note)
        return [n for head, more in zip(self._heads, fixed, strict=True) for n in head + more]


def parse_list(
    paths: Sequence[Path | str],
    contract: Contract,
    options: ListOptions | None = None,
    *,
    kommun: shapely.Geometry | None = None,
    municipality: str = "Stockholm",
    now: pd.Timestamp | None = None,
    chunk_rows: int = _list_columns.CHUNK_ROWS,
) -> ListResult:
    """Read list files of one contract into events and a quarantine.

    The files are read in chunks of ``chunk_rows`` rows, each checked column by column
    (see :mod:`trygghetskarta.sources._list_columns`); repeated rows and reused ids are
    found across all chunks and files. To store a large list without holding all of it,
    iterate a :class:`ListReader` instead.

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
    chunk_rows
        Rows read and checked at a time (memory grows with it; the result does not change).

    Returns
    -------
    ListResult

    Raises
    ------
    SourceError
        A file cannot be read or lacks a required column (see :func:`resolve_columns`).
    """
    reader = ListReader(
        paths,
        contract,
        options,
        kommun=kommun,
        municipality=municipality,
        now=now,
        chunk_rows=chunk_rows,
    )
    parts = [part for part in reader if len(part)]
    events = (
        _list_rows.events_frame(pd.concat(parts, ignore_index=True))
        if parts
        else _list_rows.events_frame([])
    )
    return ListResult(events, reader.quarantine(), reader.read, reader.notes, reader.repairs)


@dataclass
class IngestResult:
    """What a layer's ``parse`` returns for ``trygghetskarta ingest <layer> PATH…``.

    Attributes
    ----------
    events
        Events of the layer (:data:`schema.PARSED_COLUMNS`), from police files and lists.
    stats
        Statistics rows (the layer module's ``STAT_COLUMNS``), possibly empty.
    quarantine
        Rejected rows with reasons.
    read
        Records read: ``len(events) + len(quarantine) + len(stats)`` plus statistics rows
        quarantined; police events judged not to belong to the layer are not counted.
    notes
        What the readers guessed, fixed or classified.
    repairs
        Lone surrogates replaced and NUL characters removed in what was read.
    """

    events: pd.DataFrame
    stats: pd.DataFrame
    quarantine: pd.DataFrame
    read: int
    notes: list[str] = field(default_factory=list)
    repairs: Repairs = NONE


#: File name patterns of delivered lists.
LIST_PATTERNS = ("*.csv", "*.CSV", "*.xlsx", "*.XLSX", "*.txt")


def list_files(data_dir: Path, name: str) -> list[Path]:
    """Delivered lists of one contract: ``<data_dir>/lists/<name>/`` (CSV, XLSX), sorted.

    Files whose name starts with ``.`` or ``~$`` (Excel's lock files) are skipped.
    """
    folder = Path(data_dir) / "lists" / name
    if not folder.is_dir():
        return []
    found = {p for pattern in LIST_PATTERNS for p in folder.glob(pattern)}
    return sorted(p for p in found if not p.name.startswith((".", "~$")))


def empty_events() -> pd.DataFrame:
    """An event frame with no rows and the schema's dtypes."""
    return _list_rows.events_frame([])
