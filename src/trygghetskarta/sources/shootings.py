"""Shootings (``layer = shooting``): from police events, official monthly figures, and lists.

Three inputs, one module:

Police events
    :func:`from_police_events` runs the classifier
    (:mod:`trygghetskarta.sources.shooting_classifier`) over parsed police events and returns
    one shooting event per police event judged a shooting. Its ``event_uid`` is
    ``shooting:polisen:<police id>`` (source ``shooting:polisen``), so it lives beside the
    police event it comes from; ``raw`` names that event and why it was judged a shooting.
Official figures
    :func:`parse_monthly` reads the police's monthly series (``year, month`` and one column
    per measure: ``shootings, killed, injured`` or ``detonations, attempts, preparations``)
    and :func:`parse_period_figures` the yearly figures quoted in the press, into one
    long statistics frame (:data:`STAT_COLUMNS`).
Lists
    :data:`LIST_CONTRACT` is the contract for the shootings lists the police share with the
    city (date, place or coordinates, dead, injured); read them with :func:`parse`.

:func:`parse` takes any mix of these files (``trygghetskarta ingest skjutningar PATH…``):
police event files (JSON, JSON lines, parquet), monthly or period figure CSVs, and lists.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import shapely

from trygghetskarta.errors import SourceError
from trygghetskarta.schema import PARSED_COLUMNS, Category, Layer
from trygghetskarta.sources import polisen
from trygghetskarta.sources._collect import Collector
from trygghetskarta.sources._list_columns import per_value
from trygghetskarta.sources._list_rows import quarantine_frame
from trygghetskarta.sources._listfile import is_missing, parse_count, read_table
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
from trygghetskarta.sources.shooting_classifier import Verdict, classify_events

#: ``source`` of shooting events derived from police events.
SOURCE = "shooting:polisen"
MONTHLY_TABLES = {
    "shootings": "skjutningar per månad",
    "detonations": "sprängningar per månad",
}
_POLICE_SUFFIXES = (".json", ".jsonl", ".ndjson", ".parquet")


# --------------------------------------------------------------------------- police events


@dataclass(frozen=True)
class Derived:
    """What :func:`from_police_events` returns.

    Attributes
    ----------
    events
        Shooting events (:data:`schema.PARSED_COLUMNS`), one per police event kept.
    verdicts
        Every police event looked at: ``event_uid, verdict, evidence, reason`` (the police
        event's uid), for the ingest summary and for review.
    """

    events: pd.DataFrame
    verdicts: pd.DataFrame


def from_police_events(police: pd.DataFrame, *, include_suspected: bool = False) -> Derived:
    """Shooting events from parsed police events.

    Parameters
    ----------
    police
        Police events as from :func:`trygghetskarta.sources.polisen.parse` (or read back from
        the store): ``event_uid, source_id, source_type, summary, body, category`` and the
        other :data:`schema.PARSED_COLUMNS`.
    include_suspected
        Also keep events judged ``suspected`` (calls about shots, "misstänkt
        skottlossning" with nothing confirmed). Off by default.

    Returns
    -------
    Derived
        Summary events ("Sammanfattning …", many incidents, no place) are never kept.
    """
    verdicts = classify_events(police)
    keep = verdicts["verdict"] == Verdict.SHOOTING.value
    if include_suspected:
        keep |= verdicts["verdict"] == Verdict.SUSPECTED.value
    keep &= police["category"].astype(object) != Category.SUMMARY.value
    chosen = police[keep.to_numpy()].copy()
    why = verdicts[keep.to_numpy()]
    raw = [
        json.dumps(
            {"derived_from": uid, "verdict": v, "evidence": e, "reason": r},
            ensure_ascii=False,
        )
        for uid, v, e, r in zip(
            why["event_uid"], why["verdict"], why["evidence"], why["reason"], strict=True
        )
    ]
    chosen["event_uid"] = SOURCE + ":" + chosen["source_id"].astype(str)
    chosen["source"] = SOURCE
    chosen["layer"] = Layer.SHOOTING.value
    chosen["category"] = Category.SHOOTING_EXPLOSION.value
    chosen["sensitive"] = False
    chosen["raw"] = raw
    events = chosen.reindex(columns=list(PARSED_COLUMNS)).reset_index(drop=True)
    for col in ("event_uid", "source", "layer", "category", "raw"):
        events[col] = events[col].astype(pd.StringDtype())
    return Derived(events, verdicts.reset_index(drop=True))


# --------------------------------------------------------------------------- statistics


def _preliminary(note: str | None) -> bool:
    low = (note or "").casefold()
    return any(w in low for w in ("partial", "delvis", "prelim"))


def parse_monthly(
    path: Path | str,
    *,
    area: str = "Sverige",
    area_scheme: str = "land",
    source: str = "polisen",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read a monthly police series into the statistics frame.

    Parameters
    ----------
    path
        A CSV with ``year, month``, one column per measure (``shootings, killed, injured``;
        ``detonations, attempts, preparations``) and optionally ``note`` and ``area`` (or
        ``region``: the police region of each row, overriding ``area``).
    area, area_scheme
        The area the figures describe when the file has no area column.
    source
        Recorded on every row.

    Returns
    -------
    (stats, quarantine)
        ``stats`` has :data:`STAT_COLUMNS`, one row per month and measure (``category``:
        ``shootings``, ``killed``, ``injured`` …). ``count`` is ``<NA>`` with ``suppressed``
        for ``..``/``-``/blank, never zero; ``preliminary`` where the note says the month is
        partial or preliminary. Rows with an impossible year or month or a value that is not
        a count are quarantined with a reason.

    Raises
    ------
    SourceError
        The file has no ``year``/``month`` columns or no measure column.
    """
    table = read_table(path)
    header = [h.strip().casefold() for h in table.header]
    if not {"year", "month"} <= set(header):
        raise SourceError(
            f"{table.path}: expected the columns year and month, got {table.header} — "
            "use the monthly series layout (year, month, shootings, killed, injured, note)"
        )
    area_col = next((c for c in ("area", "region", "polisregion") if c in header), None)
    measures = [h for h in header if h not in ("year", "month", "note", area_col)]
    if not measures:
        raise SourceError(f"{table.path}: no measure columns besides year and month")
    rows: list[dict[str, Any]] = []
    bad: list[dict[str, Any]] = []
    for values, line in zip(table.rows, table.lines, strict=True):
        cell = dict(zip(header, values, strict=True))
        note = (cell.get("note") or "").strip() or None
        year, month = parse_count(cell["year"])[0], parse_count(cell["month"])[0]
        record = json.dumps({"line": line, "record": cell}, ensure_ascii=False)
        if year is None or month is None or not (1 <= month <= 12 and 1990 <= year <= 2100):
            reason = (
                f"impossible period: year {cell['year']!r}, month {cell['month']!r} (line {line})"
            )
            bad.append(_bad(table.path, line, reason, record))
            continue
        start = pd.Timestamp(year=year, month=month, day=1)
        where = (cell.get(area_col) or "").strip() if area_col else ""
        counts = {m: parse_count(cell[m]) for m in measures}
        wrong = next(((m, p) for m, (_, p) in counts.items() if p), None)
        if wrong:
            reason = f"not a count: {wrong[0]} {wrong[1]} (line {line})"
            bad.append(_bad(table.path, line, reason, record))
            continue
        for measure, (value, _) in counts.items():
            rows.append(
                {
                    "source": source,
                    "source_table": next(
                        (t for m, t in MONTHLY_TABLES.items() if m in measures), "per månad"
                    ),
                    "source_file": str(table.path),
                    "source_line": line,
                    "area": where or area,
                    "area_scheme": "polisregion" if where else area_scheme,
                    "year": year,
                    "month": month,
                    "period_start": start,
                    "period_end": start + pd.offsets.MonthBegin(1),
                    "category": measure,
                    "category_key": measure,
                    "count": value,
                    "suppressed": is_missing(cell[measure]),
                    "preliminary": _preliminary(note),
                    "note": note,
                }
            )
    return stats_frame(rows), quarantine_frame(bad)


def _bad(path: Path, line: int, reason: str, record: str) -> dict[str, Any]:
    return {
        "source": "polisen-statistik",
        "source_id": None,
        "source_file": str(path),
        "reason": reason,
        "raw": record,
    }


def parse_period_figures(path: Path | str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read figures for arbitrary periods quoted in the press (``scope, period_start,
    period_end, shootings, killed, injured, figure_status, source_url, source_note``).

    Every row has ``source`` ``press``: context for the official series, never a
    replacement (``note`` keeps the figure's status and URL). Returns ``(stats,
    quarantine)`` like :func:`parse_monthly`; ``year``/``month`` are blank for periods that
    are not one calendar year or month.
    """
    table = read_table(path)
    header = [h.strip().casefold() for h in table.header]
    need = {"scope", "period_start", "period_end"}
    if not need <= set(header):
        raise SourceError(
            f"{table.path}: expected the columns {sorted(need)}, got {table.header} — use the "
            "layout of shootings_yearly_figures_secondary_sources.csv"
        )
    measures = [m for m in ("shootings", "killed", "injured") if m in header]
    rows, bad = [], []
    for values, line in zip(table.rows, table.lines, strict=True):
        cell = dict(zip(header, values, strict=True))
        record = json.dumps({"line": line, "record": cell}, ensure_ascii=False)
        start = pd.to_datetime(cell["period_start"], errors="coerce", format="%Y-%m-%d")
        end = pd.to_datetime(cell["period_end"], errors="coerce", format="%Y-%m-%d")
        if pd.isna(start) or pd.isna(end) or end < start:
            bad.append(
                _bad(
                    table.path,
                    line,
                    f"impossible period: {cell['period_start']!r}–"
                    f"{cell['period_end']!r} (line {line})",
                    record,
                )
            )
            continue
        scope = cell["scope"].strip()
        level = (
            "land" if scope == "Sverige" else ("län" if scope.endswith("län") else "polisregion")
        )
        parts = (cell.get("source_note"), cell.get("figure_status"), cell.get("source_url"))
        note = "; ".join(p for p in parts if p)
        counts = {m: parse_count(cell[m]) for m in measures}
        wrong = next(((m, p) for m, (_, p) in counts.items() if p), None)
        if wrong:
            reason = f"not a count: {wrong[0]} {wrong[1]} (line {line})"
            bad.append(_bad(table.path, line, reason, record))
            continue
        for measure, (value, _) in counts.items():
            if value is None:
                continue  # the press quote did not give this measure
            after = end + pd.Timedelta(days=1)
            whole_year = start.month == start.day == 1 and after == start + pd.DateOffset(years=1)
            rows.append(
                {
                    "source": "press",
                    "source_table": "citerade siffror",
                    "source_file": str(table.path),
                    "source_line": line,
                    "area": scope,
                    "area_scheme": level,
                    "year": start.year if whole_year else None,
                    "month": None,
                    "period_start": start,
                    "period_end": after,
                    "category": measure,
                    "category_key": measure,
                    "count": value,
                    "suppressed": False,
                    "preliminary": _preliminary(cell.get("figure_status")),
                    "note": note or None,
                }
            )
    return stats_frame(rows), quarantine_frame(bad)


# --------------------------------------------------------------------------- lists


def _build(values: dict[str, Any], options: ListOptions) -> Built:
    dead, problem = parse_count(values.get("dead"))
    if problem:
        return None, f"unreadable count: dead {problem}"
    injured, problem = parse_count(values.get("injured"))
    if problem:
        return None, f"unreadable count: injured {problem}"

    def word(n: int | None) -> str:
        return "okänt" if n is None else str(n)

    kind = values.get("kind")
    return (
        {
            "category": Category.SHOOTING_EXPLOSION.value,
            "source_type": kind or "Skjutning",
            "title": kind or "Skjutning",
            "summary": f"Döda: {word(dead)}, skadade: {word(injured)}.",
            "sensitive": False,
            "derived": {"dead": dead, "injured": injured},
        },
        None,
    )


def _build_frame(values: pd.DataFrame, options: ListOptions) -> BuiltFrame:
    """:func:`_build` for a frame of rows."""
    dead = per_value(values["dead"].to_numpy(dtype=object), parse_count)
    injured = per_value(values["injured"].to_numpy(dtype=object), parse_count)
    problem = [
        f"unreadable count: dead {d[1]}"
        if d[1]
        else (f"unreadable count: injured {i[1]}" if i[1] else None)
        for d, i in zip(dead, injured, strict=True)
    ]
    dead_n = [d[0] for d in dead]
    injured_n = [i[0] for i in injured]

    def word(n: int | None) -> str:
        return "okänt" if n is None else str(n)

    kind = [k or "Skjutning" for k in values["kind"].tolist()]
    n = len(values)
    return BuiltFrame(
        category=pd.Series([Category.SHOOTING_EXPLOSION.value] * n, dtype=object),
        source_type=pd.Series(kind, dtype=object),
        title=pd.Series(kind, dtype=object),
        summary=pd.Series(
            [
                f"Döda: {word(d)}, skadade: {word(i)}."
                for d, i in zip(dead_n, injured_n, strict=True)
            ],
            dtype=object,
        ),
        sensitive=pd.Series([False] * n, dtype=bool),
        problem=pd.Series(problem, dtype=object),
        derived={
            "dead": pd.Series(dead_n, dtype=object),
            "injured": pd.Series(injured_n, dtype=object),
        },
    )


#: The shootings list the police share with the city: ``trygghetskarta ingest skjutningar``.
LIST_CONTRACT = Contract(
    name="skjutningar",
    source="polisen-skjutningar",
    layer=Layer.SHOOTING,
    fields=(
        "source_id",
        "occurred_at",
        "occurred_time",
        "kind",
        "dead",
        "injured",
        "address",
        "place",
        "municipality",
        "x",
        "y",
        "lat",
        "lon",
        "description",
    ),
    required=(("occurred_at",), ("address", "x", "lat", "place")),
    build=_build,
    build_frame=_build_frame,
)


# --------------------------------------------------------------------------- dispatch


def file_kind(path: Path) -> str:
    """``police``, ``monthly``, ``periods`` or ``list``, from the suffix and the header."""
    if path.suffix.lower() in _POLICE_SUFFIXES:
        return "police"
    if path.suffix.lower() in (".csv", ".txt"):
        head = path.read_bytes()[:2048].decode("utf-8-sig", "replace").splitlines()[:1]
        cols = {c.strip().casefold() for c in re.split(r"[;,\t]", head[0])} if head else set()
        if {"year", "month"} <= cols:
            return "monthly"
        if {"scope", "period_start", "period_end"} <= cols:
            return "periods"
    return "list"


def parse(
    paths: Sequence[Path | str],
    options: ListOptions | None = None,
    *,
    kommun: shapely.Geometry | None = None,
    municipality: str = "Stockholm",
    include_suspected: bool = False,
    now: pd.Timestamp | None = None,
) -> IngestResult:
    """Read any mix of shooting inputs (see the module docstring).

    Parameters
    ----------
    paths
        Police event files, monthly or period figure CSVs, and shootings lists.
    options
        The lists' options (``[sources.skjutningar]``).
    kommun, municipality, now
        As for :func:`trygghetskarta.sources.event_lists.parse_list`.
    include_suspected
        As for :func:`from_police_events`.
    """
    groups: dict[str, list[Path]] = {"police": [], "monthly": [], "periods": [], "list": []}
    for path in map(Path, paths):
        groups[file_kind(path)].append(path)
    out = Collector()
    if groups["police"]:
        police = polisen.parse(groups["police"], municipality=municipality, now=now)
        out.repairs += police.repairs
        derived = from_police_events(police.events, include_suspected=include_suspected)
        out.events.append(derived.events)
        counts = derived.verdicts["verdict"].value_counts().to_dict()
        out.notes.append(f"police events classified: {counts}")
        out.read += len(derived.events)
    for path in groups["monthly"]:
        s, q = parse_monthly(path)
        out.stats.append(s)
        out.quarantine.append(q)
        out.read += len(s) + len(q)
    for path in groups["periods"]:
        s, q = parse_period_figures(path)
        out.stats.append(s)
        out.quarantine.append(q)
        out.read += len(s) + len(q)
    out.add_lists(
        groups["list"], LIST_CONTRACT, options, kommun=kommun, municipality=municipality, now=now
    )
    return out.result(stats_frame([]))


def discover(data_dir: Path | str) -> list[Path]:
    """What ``make maps`` reads for this layer besides the police events.

    ``<data_dir>/shootings/*_monthly_*.csv`` (the police's monthly series),
    ``shootings_yearly_figures_*.csv`` (press figures) and the delivered lists under
    ``<data_dir>/lists/skjutningar/``. The derived candidate CSVs in ``shootings/`` are
    not inputs: shooting events come from the police events through
    :func:`from_police_events`.
    """
    folder = Path(data_dir) / "shootings"
    found: list[Path] = []
    if folder.is_dir():
        found += sorted(folder.glob("*_monthly_*.csv"))
        found += sorted(folder.glob("shootings_yearly_figures_*.csv"))
    return found + list_files(Path(data_dir), LIST_CONTRACT.name)
