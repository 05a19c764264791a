"""The event table's columns, the shared enums and validation.

One event table holds every layer. ``schema`` owns its columns and their DuckDB types,
the layer and category enums, and the precision classes with their uncertainty radii.
:func:`validate_events` reports every problem of a frame at once.
"""

from __future__ import annotations

from enum import StrEnum

import pandas as pd

from trygghetskarta.errors import SchemaError

TIMEZONE = "Europe/Stockholm"


class Layer(StrEnum):
    """The four source layers of the map."""

    POLICE_EVENT = "police_event"
    REPORTED_CRIME = "reported_crime"
    SHOOTING = "shooting"
    FIRE = "fire"


class Category(StrEnum):
    """The category taxonomy shared by all layers.

    Every raw type of every source maps to exactly one of these (see the source modules
    for their mapping tables). ``SUMMARY`` marks police "Sammanfattning" events, which
    summarise many incidents and have no single place.
    """

    VIOLENCE = "violence"
    ROBBERY = "robbery"
    THEFT_BURGLARY = "theft_burglary"
    VANDALISM = "vandalism"
    DRUGS = "drugs"
    FIRE = "fire"
    SHOOTING_EXPLOSION = "shooting_explosion"
    TRAFFIC = "traffic"
    DISORDER = "disorder"
    OTHER = "other"
    SUMMARY = "summary"


#: Swedish labels used on maps and in reports.
CATEGORY_LABELS_SV: dict[Category, str] = {
    Category.VIOLENCE: "Våld",
    Category.ROBBERY: "Rån",
    Category.THEFT_BURGLARY: "Stöld och inbrott",
    Category.VANDALISM: "Skadegörelse",
    Category.DRUGS: "Narkotika",
    Category.FIRE: "Brand",
    Category.SHOOTING_EXPLOSION: "Skjutning och explosion",
    Category.TRAFFIC: "Trafik",
    Category.DISORDER: "Ordningsstörning",
    Category.OTHER: "Övrigt",
    Category.SUMMARY: "Sammanfattning",
}

LAYER_LABELS_SV: dict[Layer, str] = {
    Layer.POLICE_EVENT: "Polisens händelser",
    Layer.REPORTED_CRIME: "Anmälda brott",
    Layer.SHOOTING: "Skjutningar",
    Layer.FIRE: "Bränder",
}


class Precision(StrEnum):
    """How well an event's position is known, best first."""

    EXACT = "exact"
    ADDRESS = "address"
    STREET = "street"
    PLACE = "place"
    STADSDEL = "stadsdel"
    STADSDELSOMRADE = "stadsdelsomrade"
    KOMMUN = "kommun"
    NONE = "none"

    @property
    def rank(self) -> int:
        """0 for the best class, 7 for ``none``."""
        return list(Precision).index(self)


#: Default uncertainty radius per class, metres. Areal classes get the radius of the
#: circle with the area's own area where the area is known (see ``geocode``); these are
#: the fallbacks and the figures quoted in the README.
UNCERTAINTY_M: dict[Precision, float | None] = {
    Precision.EXACT: 10.0,
    Precision.ADDRESS: 25.0,
    Precision.STREET: 500.0,
    Precision.PLACE: 250.0,
    Precision.STADSDEL: 800.0,
    Precision.STADSDELSOMRADE: 2_500.0,
    Precision.KOMMUN: 8_000.0,
    Precision.NONE: None,
}

PRECISION_LABELS_SV: dict[Precision, str] = {
    Precision.EXACT: "Exakt koordinat",
    Precision.ADDRESS: "Adress",
    Precision.STREET: "Gata",
    Precision.PLACE: "Plats (torg, station, område)",
    Precision.STADSDEL: "Stadsdel",
    Precision.STADSDELSOMRADE: "Stadsdelsområde",
    Precision.KOMMUN: "Endast kommun",
    Precision.NONE: "Ingen position",
}

#: The event table: column name -> DuckDB type. Order is the table's column order.
EVENT_COLUMNS: dict[str, str] = {
    "event_uid": "VARCHAR",  # "<source>:<source_id>", the primary key
    "source": "VARCHAR",
    "source_id": "VARCHAR",
    "layer": "VARCHAR",
    "category": "VARCHAR",
    "source_type": "VARCHAR",
    "occurred_at": "TIMESTAMPTZ",
    "published_at": "TIMESTAMPTZ",
    "title": "VARCHAR",
    "summary": "VARCHAR",
    "body": "VARCHAR",
    "url": "VARCHAR",
    "x": "DOUBLE",
    "y": "DOUBLE",
    "precision": "VARCHAR",
    "uncertainty_m": "DOUBLE",
    "place_name": "VARCHAR",
    "stadsdel": "VARCHAR",
    "stadsdelsomrade": "VARCHAR",
    "sensitive": "BOOLEAN",
    "raw": "VARCHAR",  # the record as received, JSON
    "content_hash": "VARCHAR",  # hash of the parsed content: tells updated from unchanged
    "ingested_at": "TIMESTAMPTZ",
    "batch_id": "VARCHAR",
    # why a live police event has no page text (the fetch failed, waits, or is switched
    # off); NULL when it has it or none is expected. Not part of the content hash.
    "text_missing": "VARCHAR",
}

#: Columns a source parser must fill; the store adds the rest.
PARSED_COLUMNS: tuple[str, ...] = (
    "event_uid",
    "source",
    "source_id",
    "layer",
    "category",
    "source_type",
    "occurred_at",
    "published_at",
    "title",
    "summary",
    "body",
    "url",
    "x",
    "y",
    "precision",
    "uncertainty_m",
    "place_name",
    "sensitive",
    "raw",
)

#: Columns that the geocode stage fills (a parser may fill them when the source gives positions).
GEOCODED_COLUMNS: tuple[str, ...] = (
    "x",
    "y",
    "precision",
    "uncertainty_m",
    "place_name",
    "stadsdel",
    "stadsdelsomrade",
)

#: The quarantine table: every input record that cannot be used, with the reason.
QUARANTINE_COLUMNS: dict[str, str] = {
    "source": "VARCHAR",
    "source_id": "VARCHAR",
    "source_file": "VARCHAR",
    "reason": "VARCHAR",
    "raw": "VARCHAR",
    "batch_id": "VARCHAR",
    "quarantined_at": "TIMESTAMPTZ",
}


class QuarantineClass(StrEnum):
    """Why a quarantined record is not used, in three classes an operator can read.

    ``outside_area``: a good record of another municipality (most of the national police
    feed): expected, nothing to do. ``not_data``: a repeat of what was already read (the
    same statistic in two files, a list's duplicate row) or a table's placeholder cell for
    an area that did not exist then: expected, nothing to do. ``invalid``: a record that
    is wrong (no date, an impossible time, unreadable coordinates …): worth a look.
    """

    OUTSIDE_AREA = "outside_area"
    NOT_DATA = "not_data"
    INVALID = "invalid"


#: The start of a quarantine reason (its kind) that puts it in a class; any other is
#: ``invalid``. Every source's reasons start with their kind (``outside Stockholm kommun
#: (title names Malmö)``, ``duplicate row: …``, ``area did not exist: …``).
QUARANTINE_CLASS_PREFIXES: dict[QuarantineClass, tuple[str, ...]] = {
    QuarantineClass.OUTSIDE_AREA: ("outside ",),
    QuarantineClass.NOT_DATA: ("duplicate", "area did not exist"),
}


def quarantine_class(reason: str) -> QuarantineClass:
    """The class of a quarantine reason (see :class:`QuarantineClass`).

    >>> quarantine_class("outside Stockholm kommun (title names Malmö)").value
    'outside_area'
    >>> quarantine_class("duplicate row: line 4 repeats line 2").value
    'not_data'
    >>> quarantine_class("title has no incident date: 'x'").value
    'invalid'
    """
    for kind, prefixes in QUARANTINE_CLASS_PREFIXES.items():
        if str(reason).startswith(prefixes):
            return kind
    return QuarantineClass.INVALID


def quarantine_classes(by_reason: dict[str, int]) -> dict[str, int]:
    """Counts per reason → counts per :class:`QuarantineClass` (every class, zeros too).

    >>> quarantine_classes({"outside Stockholm kommun": 5, "duplicate": 2, "no date": 1})
    {'outside_area': 5, 'not_data': 2, 'invalid': 1}
    """
    out = dict.fromkeys((c.value for c in QuarantineClass), 0)
    for reason, n in by_reason.items():
        out[quarantine_class(reason).value] += int(n)
    return out


#: The ``statistics`` table (Brå's reported crimes, the police's shooting figures, MCF's
#: rescue operations): one row per source × area × period × category; ``stat_key`` is the
#: primary key. ``period_end`` is the period's last day (inclusive); a suppressed figure has
#: ``count`` NULL and ``suppressed`` true, never 0.
STATISTICS_COLUMNS: dict[str, str] = {
    "stat_key": "VARCHAR",
    "source": "VARCHAR",
    "source_table": "VARCHAR",
    "source_file": "VARCHAR",
    "source_line": "INTEGER",
    "area": "VARCHAR",
    "area_raw": "VARCHAR",
    "area_scheme": "VARCHAR",
    "year": "INTEGER",
    "month": "INTEGER",
    "period_start": "DATE",
    "period_end": "DATE",
    "category": "VARCHAR",
    "category_path": "VARCHAR",
    "category_key": "VARCHAR",
    "count": "BIGINT",
    "rate": "DOUBLE",
    "rate_unit": "VARCHAR",
    "suppressed": "BOOLEAN",
    "preliminary": "BOOLEAN",
    "sensitive": "BOOLEAN",
    "note": "VARCHAR",
}

#: The ``population`` table: inhabitants per area at a reference date (primary key
#: ``area, level, reference_date``; SCB's 1 November and the yearbook's 31 December differ).
POPULATION_COLUMNS: dict[str, str] = {
    "area": "VARCHAR",
    "level": "VARCHAR",
    "code": "VARCHAR",
    "year": "INTEGER",
    "reference_date": "DATE",
    "population": "BIGINT",
    "forecast": "BOOLEAN",
    "source": "VARCHAR",
    "source_file": "VARCHAR",
}

_REQUIRED_NOT_NULL = ("event_uid", "source", "source_id", "layer", "category", "raw")


def validate_events(frame: pd.DataFrame) -> None:
    """Check a parsed event frame against the schema and report every problem at once.

    Parameters
    ----------
    frame
        Parsed events with at least the :data:`PARSED_COLUMNS`.

    Raises
    ------
    SchemaError
        Listing every missing column, null key, unknown enum value, duplicated
        ``event_uid`` and naive timestamp found.
    """
    problems: list[str] = []
    missing = [c for c in PARSED_COLUMNS if c not in frame.columns]
    if missing:
        problems.append(f"missing columns {missing}")
    present = [c for c in _REQUIRED_NOT_NULL if c in frame.columns]
    for col in present:
        n = int(frame[col].isna().sum())
        if n:
            problems.append(f"{n} rows with null {col}")
    for col, enum in (("layer", Layer), ("category", Category), ("precision", Precision)):
        if col in frame.columns:
            allowed = {m.value for m in enum}
            bad = sorted(set(frame[col].dropna().unique()) - allowed)
            if bad:
                problems.append(f"unknown {col} values {bad[:5]} (allowed: {sorted(allowed)})")
    if "event_uid" in frame.columns:
        dup = int(frame["event_uid"].duplicated().sum())
        if dup:
            problems.append(f"{dup} duplicated event_uid values")
    for col in ("occurred_at", "published_at"):
        if col in frame.columns and len(frame):
            dtype = frame[col].dtype
            if not isinstance(dtype, pd.DatetimeTZDtype) and not frame[col].isna().all():
                problems.append(f"{col} must be timezone-aware datetimes, got dtype {dtype}")
    if problems:
        raise SchemaError(
            "event frame does not match the schema: "
            + "; ".join(problems)
            + " — fix the parser that produced it"
        )
