"""Fires (``layer = fire``): police fire events, MCF's rescue statistics, and fire-service lists.

Police events
    :func:`from_police_events` keeps police events of type ``Brand`` and ``Mordbrand`` as fire
    events (``event_uid`` ``fire:polisen:<id>``) with the kind of fire read from the text
    (:func:`fire_kind`). ``Brand automatlarm`` (an automatic alarm) is not a fire. These are
    only the fires the police chose to publish — a small, biased share of all fires.
    :func:`cross_check` compares them with the derived CSV in ``fires/``.
MCF statistics (table B11)
    The rescue services' operations per kommun, year, month and event type, from MCF's
    (formerly MSB's) open PxWeb API: :func:`b11_query` builds the request, :func:`fetch_b11`
    posts it through an injected ``post`` and saves the answer under ``data/raw/mcf/``,
    :func:`parse_b11` turns an answer (``json`` or ``json-stat2``) into the statistics frame.
Fire-service lists
    :data:`LIST_CONTRACT` reads the fire service's own events (time, kind of fire,
    coordinates or address) through :mod:`trygghetskarta.sources.event_lists`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from trygghetskarta.errors import SourceError
from trygghetskarta.net import write_atomic
from trygghetskarta.schema import PARSED_COLUMNS, Category, Layer
from trygghetskarta.sources import polisen, pxweb, raw_files
from trygghetskarta.sources._collect import Collector
from trygghetskarta.sources._list_columns import per_combination
from trygghetskarta.sources._stats_frame import STAT_COLUMNS as STAT_COLUMNS
from trygghetskarta.sources._stats_frame import stats_frame
from trygghetskarta.sources.event_lists import (
    Built,
    BuiltFrame,
    Contract,
    IngestResult,
    ListOptions,
    list_files,
)

#: ``source`` of fire events derived from police events.
SOURCE = "fire:polisen"
#: Police types that are fires (an automatic alarm is not).
POLICE_FIRE_TYPES = frozenset({"Brand", "Mordbrand"})
B11_URL = "https://statistik.mcf.se/PxWeb/api/v1/sv/PxData/B/B1/B11"
B11_SOURCE = "MCF (tidigare MSB), räddningstjänstens insatser, tabell B11"
#: MCF's overarching event types (``konvHandelsetypId``).
EVENT_TYPES: dict[str, str] = {
    "1": "Brand i byggnad",
    "2": "Trafikolycka",
    "3": "Brand i annat än byggnad",
    "4": "Utsläpp av farligt ämne",
    "5": "Drunkning/-tillbud",
    "6": "Nödställd person",
    "7": "Nödställt djur",
    "8": "Stormskada",
    "9": "Ras/skred",
    "11": "Översvämning av vattendrag",
    "12": "Annan vattenskada",
    "13": "Annan olycka/tillbud",
    "14": "Automatlarm utan brandtillbud",
    "15": "Annan händelse utan risk för skada",
}
#: The B11 event types that are fires.
FIRE_EVENT_TYPES = ("1", "3")

# --------------------------------------------------------------------------- kind of fire

BUILDING, OUTDOORS, VEHICLE, OTHER = "building", "outdoors", "vehicle", "other"
KIND_LABELS_SV = {
    BUILDING: "Brand i byggnad",
    OUTDOORS: "Brand utomhus",
    VEHICLE: "Brand i fordon",
    OTHER: "Annan brand",
}
_EXPLICIT = (
    (re.compile(r"brand\s+i\s+byggnad|byggnadsbrand", re.I), BUILDING),
    (re.compile(r"brand\s+i\s+(?:fordon|bil)|fordonsbrand|bilbrand", re.I), VEHICLE),
    (
        re.compile(
            r"brand\s+(?:i\s+skog|i\s+mark|utomhus|i\s+det\s+fria)|skogsbrand|gräsbrand", re.I
        ),
        OUTDOORS,
    ),
)
#: MCF's "Brand i annat än byggnad" (and older wordings): a vehicle or an outdoor fire.
_NOT_BUILDING = re.compile(r"brand\s+(?:i\s+annat\s+än|ej\s+i|inte\s+i|utanför)\s+byggnad", re.I)
_VEHICLE = re.compile(
    r"\b(?:bil(?:en|ar|arna)?|\w*bilbrand\w*|personbil\w*|lastbil\w*|fordon\w*|buss(?:en|ar)?|"
    r"moped\w*|motorcykel\w*|mc|båt(?:en|ar)?|\w*båtbrand\w*|tåg(?:et|vagn\w*)?|husbil\w*|"
    r"husvagn\w*|"
    r"släpvagn\w*|elsparkcykel\w*|skoter\w*)\b",
    re.I,
)
_BUILDING = re.compile(
    r"\w*(?:byggnad|lägenhe|villa|radhus|bostad|bostäder|flerbostadshus|flerfamiljshus|trapphus|"
    r"källar|balkong|garage|förråd|restaurang|butik|industri|kontor|hotell|fastighet|köksbrand|"
    r"tvättstug|soprum|ödehus|kyrk|sjukhus|sängbrand|toalett|friggebod|koloni|bastu|salong|"
    r"kafé|café|opera|teater|flerfa)\w*"
    r"|\b(?:hus(?:et)?|vind(?:en)?|skol\w*|förskol\w*|lokal(?:en|er)?|kök(?:et)?|boende\w*|"
    r"bod(?:en)?|stug(?:a|an|or)|säng(?:en)?|hiss(?:en)?)\b",
    re.I,
)
_OUTDOORS = re.compile(
    r"\b(?:skog\w*|mark(?:en)?|\w*markbrand\w*|gräs\w*|terräng\w*|utomhus|\w*container\w*|"
    r"sopkärl\w*|soptunn\w*|\w*papperskorg\w*|avfall\w*|buskage\w*|buskar|träd(?:et)?|"
    r"park(?:en)?|strand\w*|brasa\w*|bål\w*|halmbal\w*|sly|kompost\w*|dike\w*|"
    r"återvinning\w*|grönområde\w*|grönska\w*)\b",
    re.I,
)


def fire_kind(*texts: str | None) -> str:
    """The kind of fire: ``building``, ``outdoors``, ``vehicle`` or ``other``.

    MCF's "brand i annat än byggnad" is a vehicle fire when a vehicle is named, else an
    outdoor fire. Otherwise an explicit phrase ("brand i byggnad", "bilbrand", "skogsbrand")
    decides first; then a
    vehicle word, a building word, an outdoor word, in that order ("bilbrand i garage" is a
    vehicle fire; "brand i soprum" a building fire; "brand i container" outdoors).

    Examples
    --------
    >>> fire_kind("Brand i annat än byggnad", "Personbil")
    'vehicle'
    >>> fire_kind("Misstänkt anlagd brand i lägenhet i Råcksta.")
    'building'
    >>> fire_kind("Brand i container vid tågstationen.")
    'outdoors'
    """
    joined = " ".join(t for t in texts if t)
    if _NOT_BUILDING.search(joined):
        rest = _NOT_BUILDING.sub(" ", joined)
        return VEHICLE if _VEHICLE.search(rest) else OUTDOORS
    for pattern, kind in _EXPLICIT:
        if pattern.search(joined):
            return kind
    for pattern, kind in ((_VEHICLE, VEHICLE), (_BUILDING, BUILDING), (_OUTDOORS, OUTDOORS)):
        if pattern.search(joined):
            return kind
    return OTHER


# --------------------------------------------------------------------------- police events


def from_police_events(police: pd.DataFrame) -> pd.DataFrame:
    """Fire events from parsed police events of type ``Brand`` or ``Mordbrand``.

    Parameters
    ----------
    police
        As from :func:`trygghetskarta.sources.polisen.parse`.

    Returns
    -------
    pandas.DataFrame
        :data:`schema.PARSED_COLUMNS`; ``raw`` holds the police event's uid and the kind of
        fire read from its text; positions as in the input.
    """
    types = police["source_type"].astype(object).fillna("").str.strip()
    chosen = police[types.isin(POLICE_FIRE_TYPES).to_numpy()].copy()
    kinds = [
        fire_kind(s if isinstance(s, str) else None, b if isinstance(b, str) else None)
        for s, b in zip(
            chosen["summary"].astype(object), chosen["body"].astype(object), strict=True
        )
    ]
    chosen["raw"] = [
        json.dumps({"derived_from": uid, "fire_kind": k}, ensure_ascii=False)
        for uid, k in zip(chosen["event_uid"], kinds, strict=True)
    ]
    chosen["event_uid"] = SOURCE + ":" + chosen["source_id"].astype(str)
    chosen["source"] = SOURCE
    chosen["layer"] = Layer.FIRE.value
    chosen["category"] = Category.FIRE.value
    chosen["sensitive"] = False
    events = chosen.reindex(columns=list(PARSED_COLUMNS)).reset_index(drop=True)
    for col in ("event_uid", "source", "layer", "category", "raw"):
        events[col] = events[col].astype(pd.StringDtype())
    return events


def cross_check(fires: pd.DataFrame, csv_path: Path | str) -> dict[str, Any]:
    """Compare fire events derived here with the derived CSV in ``fires/``.

    Returns
    -------
    dict
        ``in_both``, ``only_here``, ``only_csv`` (id lists), and ``csv_types`` (counts per
        police type in the CSV), so an ingest can say why the two differ.
    """
    try:
        csv = pd.read_csv(csv_path, dtype={"id": str})
    except (OSError, ValueError) as e:
        raise SourceError(
            f"cannot read {csv_path} ({e}) — use fires/stockholm_fire_events_polisen_*.csv"
        ) from e
    if not {"id", "type"} <= set(csv.columns):
        raise SourceError(f"{csv_path} lacks the columns id and type — not the derived fire CSV")
    here = set(fires["source_id"].astype(str))
    there = set(csv["id"].astype(str))
    return {
        "in_both": sorted(here & there),
        "only_here": sorted(here - there),
        "only_csv": sorted(there - here),
        "csv_types": csv["type"].value_counts().to_dict(),
    }


# --------------------------------------------------------------------------- MCF B11


def b11_query(
    *,
    kommun: Sequence[str] | str = ("0180",),
    years: Sequence[int | str] | str = "*",
    event_types: Sequence[str] | str = "*",
    months: Sequence[int | str] | str = "*",
    fmt: str = "json",
) -> dict[str, Any]:
    """The PxWeb query for B11: operations per kommun, year, month and event type.

    Variables not named (weekday, hour, building type, place) are eliminated, i.e. summed.

    Examples
    --------
    >>> q = b11_query(years=[2024], event_types=["1", "3"])
    >>> [s["code"] for s in q["query"]]
    ['kommun', 'ar', 'konvHandelsetypId', 'manadNummer']
    """

    def codes(v: Sequence[Any] | str) -> Sequence[str] | str:
        return v if isinstance(v, str) else [str(x) for x in v]

    return pxweb.query(
        {
            "kommun": codes(kommun),
            "ar": codes(years),
            "konvHandelsetypId": codes(event_types),
            "manadNummer": codes(months),
        },
        fmt=fmt,
    )


def fetch_b11(
    raw_dir: Path | str,
    *,
    post: pxweb.Post,
    kommun: str = "0180",
    years: Sequence[int],
    fmt: str = "json",
    url: str = B11_URL,
) -> list[Path]:
    """Fetch B11 per year for one kommun and save each answer under ``<raw_dir>/mcf/``.

    One request per year keeps each answer small (14 types × 12 months). The answer is
    parsed before it is saved, so a broken answer never lands under a name the ingest
    reads. Returns the files written (``b11_<kommun>_<year>.json``).
    """
    out = []
    for year in years:
        body = pxweb.fetch(url, b11_query(kommun=[kommun], years=[year], fmt=fmt), post=post)
        pxweb.parse_response(body, what=f"{url} ({year})")
        path = Path(raw_dir) / "mcf" / f"b11_{kommun}_{year}.json"
        write_atomic(path, body)
        out.append(path)
    return out


def parse_b11(
    answer: Any, *, kommun_names: dict[str, str] | None = None, what: str = "the B11 answer"
) -> pd.DataFrame:
    """B11 answer → statistics frame (:data:`STAT_COLUMNS`).

    Parameters
    ----------
    answer
        A PxWeb answer (``json`` or ``json-stat2``; dict, text, bytes or file).
    kommun_names
        Kommun code → name (json-stat2 answers carry the labels themselves).

    Returns
    -------
    pandas.DataFrame
        :data:`STAT_COLUMNS`: one row per kommun, month (or year, when months were
        eliminated) and event type — ``category`` the type's name, ``category_key`` its code,
        ``count`` the rescue operations, ``<NA>`` with ``suppressed`` (and MCF's symbol in
        ``note``) where MCF publishes no number.
    """
    data = pxweb.parse_response(answer, what=what)
    frame = data.data
    need = {"kommun", "ar", "konvHandelsetypId"}
    missing = need - set(frame.columns)
    if missing:
        raise SourceError(
            f"{what} lacks the variables {sorted(missing)} (has {list(frame.columns)}) — "
            "query kommun, ar and konvHandelsetypId (see b11_query)"
        )
    names = {**(kommun_names or {}), **data.labels.get("kommun", {})}
    types = {**EVENT_TYPES, **data.labels.get("konvHandelsetypId", {})}
    value = frame["value"]
    whole = value.isna() | (value == value.round())
    if not whole.all():
        raise SourceError(f"{what}: non-integer counts {value[~whole].head(3).tolist()} — not B11")
    year = frame["ar"].astype(int)
    monthly = "manadNummer" in frame.columns
    month = frame["manadNummer"].astype(int) if monthly else pd.Series([1] * len(frame))
    start = pd.to_datetime(pd.DataFrame({"year": year, "month": month, "day": 1}))
    end = start + (pd.offsets.MonthBegin(1) if monthly else pd.offsets.YearBegin(1))
    status = frame["status"].astype(object)
    notes = [
        f"MCF:s tecken {s!r}" + (f"; uppdaterad {data.updated}" if data.updated else "")
        if isinstance(s, str)
        else (f"uppdaterad {data.updated}" if data.updated else None)
        for s in status
    ]
    return stats_frame(
        pd.DataFrame(
            {
                "source": "MCF",
                "source_table": "B11",
                "source_file": str(answer) if isinstance(answer, Path) else what,
                "source_line": None,
                "area": frame["kommun"].map(lambda c: names.get(c, c)),
                "area_scheme": "kommun",
                "year": year,
                "month": month if monthly else None,
                "period_start": start,
                "period_end": end,
                "category": frame["konvHandelsetypId"].map(lambda c: types.get(c, f"typ {c}")),
                "category_key": frame["konvHandelsetypId"],
                "count": value.round().astype("Int64"),
                "suppressed": value.isna().to_numpy(),
                "preliminary": False,
                "note": notes,
            }
        )
    )


# --------------------------------------------------------------------------- lists


def _build(values: dict[str, Any], options: ListOptions) -> Built:
    kind_text, what = values.get("kind"), values.get("object")
    if not kind_text and not what:
        return None, "no kind of fire: neither an event type nor an object"
    kind = fire_kind(kind_text, what, values.get("description"))
    raw_type = " / ".join(p for p in (kind_text, what) if p)
    return (
        {
            "category": Category.FIRE.value,
            "source_type": raw_type,
            "title": KIND_LABELS_SV[kind],
            "summary": raw_type,
            "sensitive": False,
            "derived": {"fire_kind": kind},
        },
        None,
    )


def _build_frame(values: pd.DataFrame, options: ListOptions) -> BuiltFrame:
    """:func:`_build` for a frame of rows; the kind is read once per distinct text."""
    kind_text = values["kind"].to_numpy(dtype=object)
    what = values["object"].to_numpy(dtype=object)
    kinds = per_combination(
        [kind_text, what, values["description"].to_numpy(dtype=object)], fire_kind
    )
    raw_type = [" / ".join(p for p in (k, w) if p) for k, w in zip(kind_text, what, strict=True)]
    problem = [
        None if k or w else "no kind of fire: neither an event type nor an object"
        for k, w in zip(kind_text, what, strict=True)
    ]
    n = len(values)
    return BuiltFrame(
        category=pd.Series([Category.FIRE.value] * n, dtype=object),
        source_type=pd.Series(raw_type, dtype=object),
        title=pd.Series([KIND_LABELS_SV[k] for k in kinds], dtype=object),
        summary=pd.Series(raw_type, dtype=object),
        sensitive=pd.Series([False] * n, dtype=bool),
        problem=pd.Series(problem, dtype=object),
        derived={"fire_kind": pd.Series(kinds, dtype=object)},
    )


#: The fire service's own list: ``trygghetskarta ingest brander PATH…``.
LIST_CONTRACT = Contract(
    name="brander",
    source="brandforsvaret",
    layer=Layer.FIRE,
    fields=(
        "source_id",
        "occurred_at",
        "occurred_time",
        "kind",
        "object",
        "address",
        "place",
        "municipality",
        "x",
        "y",
        "lat",
        "lon",
        "description",
    ),
    required=(("occurred_at",), ("kind", "object"), ("address", "x", "lat", "place")),
    build=_build,
    build_frame=_build_frame,
)


# --------------------------------------------------------------------------- dispatch


def file_kind(path: Path) -> str:
    """``police``, ``b11``, ``police_csv`` (the derived cross-check CSV) or ``list``."""
    suffix = raw_files.logical_suffix(path)
    if suffix == ".parquet":
        return "police"
    with raw_files.open_binary(path) as fh:
        head = fh.read(4096).decode("utf-8-sig", "replace").lstrip()
    if suffix in (".json", ".jsonl", ".ndjson"):
        if head.startswith("{") and ('"columns"' in head or '"dimension"' in head):
            return "b11"
        return "police"
    first = head.splitlines()[0].casefold() if head else ""
    if suffix == ".csv" and {"id", "datetime", "name", "type"} <= set(re.split(r"[;,]", first)):
        return "police_csv"
    return "list"


def parse(
    paths: Sequence[Path | str],
    options: ListOptions | None = None,
    *,
    kommun: Any = None,
    municipality: str = "Stockholm",
    now: pd.Timestamp | None = None,
) -> IngestResult:
    """Read any mix of fire inputs: police event files, saved B11 answers and fire-service lists.

    Returns
    -------
    IngestResult
        ``events`` (police-derived and listed fires), ``stats`` (B11, :data:`STAT_COLUMNS`),
        ``quarantine``, ``read`` and ``notes``.

    Raises
    ------
    SourceError
        A file cannot be read; the police-derived CSV in ``fires/`` is refused with a
        pointer to :func:`cross_check` (it repeats police events already ingested).
    """

    groups: dict[str, list[Path]] = {"police": [], "b11": [], "police_csv": [], "list": []}
    for path in map(Path, paths):
        groups[file_kind(path)].append(path)
    if groups["police_csv"]:
        raise SourceError(
            f"{groups['police_csv'][0]} is the fire CSV derived from police events — it is a "
            "cross-check (fires.cross_check), not an input: ingest the police events instead"
        )
    out = Collector()
    if groups["police"]:
        police = polisen.parse(groups["police"], municipality=municipality, now=now)
        out.repairs += police.repairs
        derived = from_police_events(police.events)
        out.events.append(derived)
        out.notes.append(f"police fire events: {len(derived)}")
        out.read += len(derived)
    for path in groups["b11"]:
        frame = parse_b11(path, what=str(path))
        out.stats.append(frame)
        out.read += len(frame)
    out.add_lists(
        groups["list"], LIST_CONTRACT, options, kommun=kommun, municipality=municipality, now=now
    )
    return out.result(_empty_stats())


def _empty_stats() -> pd.DataFrame:
    return stats_frame([])


def discover(data_dir: Path | str, raw_dir: Path | str | None = None) -> list[Path]:
    """What ``make maps`` reads for this layer besides the police events.

    Saved B11 answers (``<data_dir>/fires/b11_*.json`` and ``<raw_dir>/mcf/b11_*.json``, as
    :func:`fetch_b11` writes them, plain or compressed by housekeeping) and the delivered
    lists under ``<data_dir>/lists/brander/``. The police-derived CSV in ``fires/`` is a cross-check
    (:func:`cross_check`), not an input.
    """
    found = raw_files.find(Path(data_dir) / "fires", "b11_*.json")
    if raw_dir is not None:
        found += raw_files.find(Path(raw_dir) / "mcf", "b11_*.json")
    return found + list_files(Path(data_dir), LIST_CONTRACT.name)
