"""The reported-crimes list (``layer = reported_crime``): the police's records of single crimes.

Delivered under a data agreement as CSV or XLSX. Each row: a crime code or type, a date (and
time, or a time span), and an address or SWEREF99 coordinates. Read with
:func:`trygghetskarta.sources.event_lists.parse_list` and :data:`CONTRACT`; the column
mapping is ``[sources.brott.columns]`` in ``trygghetskarta.toml``.

Categories come from ``code_categories`` in the toml (a crime code or code prefix →
category) and otherwise from the words of the crime type (:func:`categorise`). Sexual
offences and violence in close relationships are flagged ``sensitive``
(:func:`is_sensitive`): the public export profile never shows them below district level.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from trygghetskarta.schema import Category, Layer
from trygghetskarta.sources._list_columns import minute_text, per_combination
from trygghetskarta.sources._stats_frame import stats_frame
from trygghetskarta.sources.event_lists import (
    Built,
    BuiltFrame,
    Contract,
    IngestResult,
    ListOptions,
    list_files,
    parse_list,
)

#: Crime types that are sensitive: sexual offences (BrB 6 kap) and violence in close
#: relationships (grov fridskränkning, grov kvinnofridskränkning, barnfridsbrott, …).
SENSITIVE_TYPES = re.compile(
    r"sexu|våldtäkt|sedlighet|koppleri|blottning|barnpornografi|"
    r"fridskränkning|nära\s+relation|relationsvåld|barnfridsbrott|olaga\s+förföljelse|"
    r"hedersrelaterad|könsstympning|äktenskapstvång|barnäktenskap",
    re.IGNORECASE,
)

#: Word rules, first match wins: (pattern, category).
_RULES: tuple[tuple[re.Pattern[str], Category], ...] = tuple(
    (re.compile(p, re.IGNORECASE), c)
    for p, c in (
        (
            r"skottlossning|skjutning|allmänfarlig\s+ödeläggelse|sprängning|explosion|"
            r"detonation|bombhot",
            Category.SHOOTING_EXPLOSION,
        ),
        (r"mordbrand|\bbrand|anlagd", Category.FIRE),
        (r"\b(?:person|butiks|bank|bostads|värdetransport)?rån\w*|väskryckning", Category.ROBBERY),
        (
            r"sexu|våldtäkt|sedlighet|misshandel|\bmord|dråp|\bvåld|olaga\s+hot|\bhot\b|"
            r"fridskränkning|barnfridsbrott|olaga\s+tvång|frihetsberövande|människorov|"
            r"olaga\s+förföljelse",
            Category.VIOLENCE,
        ),
        (r"stöld|inbrott|snatteri|tillgrepp|häleri", Category.THEFT_BURGLARY),
        (r"skadegörelse|klotter|åverkan", Category.VANDALISM),
        (r"narkotika|dopning", Category.DRUGS),
        (r"rattfylleri|trafik|olovlig\s+körning|smitning", Category.TRAFFIC),
        (
            r"ordningslagen|förargelse|ofredande|fylleri|\bbråk|alkohollagen|hemfrid|"
            r"olaga\s+intrång",
            Category.DISORDER,
        ),
    )
)


def categorise(
    crime_type: str | None, crime_code: str | None = None, options: ListOptions | None = None
) -> Category:
    """The shared category of a reported crime.

    Parameters
    ----------
    crime_type
        E.g. ``"Misshandel, grov, utomhus, bekant med offret"``.
    crime_code
        The crime code; looked up in ``options.code_categories`` first (exact code, then
        the longest configured prefix).
    options
        The list's options.

    Examples
    --------
    >>> categorise("Stöld ur/från motorfordon").value
    'theft_burglary'
    >>> categorise("Rån mot person, utomhus").value
    'robbery'
    >>> categorise("Grov kvinnofridskränkning").value
    'violence'
    """
    mapping = options.code_categories if options else {}
    if crime_code and mapping:
        code = crime_code.strip()
        prefixes = sorted((k for k in mapping if code.startswith(k)), key=len, reverse=True)
        if prefixes:
            return Category(mapping[prefixes[0]])
    for pattern, category in _RULES:
        if pattern.search(crime_type or ""):
            return category
    return Category.OTHER


def is_sensitive(
    crime_type: str | None, crime_code: str | None = None, options: ListOptions | None = None
) -> bool:
    """Whether a crime is a sexual offence or violence in a close relationship.

    Examples
    --------
    >>> is_sensitive("Grov fridskränkning")
    True
    >>> is_sensitive("Misshandel, utomhus, obekant med offret")
    False
    """
    codes = options.sensitive_codes if options else ()
    if crime_code and crime_code.strip() in codes:
        return True
    return bool(SENSITIVE_TYPES.search(crime_type or ""))


def _build(values: dict[str, Any], options: ListOptions) -> Built:
    crime_type, code = values["crime_type"], values["crime_code"]
    if not crime_type and not code:
        return None, "no crime: neither a crime code nor a crime type"
    summary = None
    if values.get("occurred_to") is not None:
        summary = (
            f"Brottet skedde någon gång mellan {values['occurred_at']:%Y-%m-%d %H:%M} och "
            f"{values['occurred_to']:%Y-%m-%d %H:%M}."
        )
    return (
        {
            "category": categorise(crime_type, code, options).value,
            "source_type": " ".join(p for p in (code, crime_type) if p),
            "title": crime_type or f"Brottskod {code}",
            "summary": summary,
            "sensitive": is_sensitive(crime_type, code, options),
            "derived": {"crime_code": code, "crime_type": crime_type},
        },
        None,
    )


def _build_frame(values: pd.DataFrame, options: ListOptions) -> BuiltFrame:
    """:func:`_build` for a frame of rows; the words are read once per type and code."""
    crime_type = values["crime_type"].to_numpy(dtype=object)
    code = values["crime_code"].to_numpy(dtype=object)
    judged = per_combination(
        [crime_type, code],
        lambda t, c: (categorise(t, c, options).value, is_sensitive(t, c, options)),
    )
    neither = np.array([not t and not c for t, c in zip(crime_type, code, strict=True)], bool)
    problem = np.where(neither, "no crime: neither a crime code nor a crime type", None)
    # a span's summary, for the rows with an end (the others have none)
    ending = values["occurred_to"].to_numpy()
    has_end = ~np.isnat(ending)
    begins = minute_text(values["occurred_at"].to_numpy()[has_end])
    summary = np.full(len(values), None, dtype=object)
    summary[has_end] = [
        f"Brottet skedde någon gång mellan {b} och {e}."
        for b, e in zip(begins, minute_text(ending[has_end]), strict=True)
    ]
    return BuiltFrame(
        category=pd.Series([j[0] for j in judged], dtype=object),
        source_type=pd.Series(
            [" ".join(p for p in (c, t) if p) for c, t in zip(code, crime_type, strict=True)],
            dtype=object,
        ),
        title=pd.Series(
            [t or f"Brottskod {c}" for t, c in zip(crime_type, code, strict=True)], dtype=object
        ),
        summary=pd.Series(summary, dtype=object),
        sensitive=pd.Series([bool(j[1]) for j in judged], dtype=bool),
        problem=pd.Series(problem, dtype=object),
        derived={
            "crime_code": pd.Series(code, dtype=object),
            "crime_type": pd.Series(crime_type, dtype=object),
        },
    )


#: The reported-crimes list: ``trygghetskarta ingest brott PATH…``.
CONTRACT = Contract(
    name="brott",
    source="polisen-brott",
    layer=Layer.REPORTED_CRIME,
    fields=(
        "source_id",
        "occurred_at",
        "occurred_time",
        "occurred_to",
        "occurred_to_time",
        "crime_code",
        "crime_type",
        "address",
        "place",
        "municipality",
        "x",
        "y",
        "lat",
        "lon",
        "description",
    ),
    required=(("occurred_at",), ("crime_type", "crime_code"), ("address", "x", "lat", "place")),
    build=_build,
    build_frame=_build_frame,
)


def parse(
    paths: Sequence[Path | str],
    options: ListOptions | None = None,
    *,
    kommun: shapely.Geometry | None = None,
    municipality: str = "Stockholm",
    now: pd.Timestamp | None = None,
) -> IngestResult:
    """Read reported-crime lists (``trygghetskarta ingest brott PATH…``).

    Parameters are those of :func:`trygghetskarta.sources.event_lists.parse_list`; the
    result has no statistics (Brå's figures are :mod:`trygghetskarta.sources.bra`'s).
    """
    listed = parse_list(paths, CONTRACT, options, kommun=kommun, municipality=municipality, now=now)
    return IngestResult(
        events=listed.events,
        stats=stats_frame([]),
        quarantine=listed.quarantine,
        read=listed.read,
        notes=listed.notes,
        repairs=listed.repairs,
    )


def discover(data_dir: Path | str) -> list[Path]:
    """The delivered lists under ``<data_dir>/lists/brott/`` (CSV and XLSX), sorted."""
    return list_files(Path(data_dir), CONTRACT.name)
