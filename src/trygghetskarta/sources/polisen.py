"""Police events in the polisen.se API format: read, fold versions, map to the event schema.

Pure: reads files and returns frames; no database, no network. Reads every format the
events come in: the API's JSON array (live responses and the 2026 snapshot), the same with
archived page text (``_html_*`` keys), JSON lines (one API object per line), and the parquet
archive of 2022-09 … 2025-12 (the file readers are in ``_polisen_files``; this module
categorises, reads titles, checks records and folds versions).

Rules (see ``../shared/data/police_events/PROVENANCE.md`` for the API notes):

- The incident time is only in the title, ``"1 augusti 16.31, Misshandel, Stockholm"``
  (``:`` before 2023-12, ``.`` after); the year comes from the published time, and a
  month more than six months away from it belongs to the neighbouring year (published
  1 January about ``"31 december 23.50"`` is the previous year). A title with a date but no
  time of day gets 00:00 (no such title is in the archive). In the autumn hour that occurs
  twice the first (summer time) reading is used; a time in the skipped spring hour is moved
  forward.
- The municipality is the title's last comma part; ``location.name`` has been the county
  since January 2026 and is never used to filter, and ``location.gps`` (a municipality or
  county centre) is never used as a position: the geocode stage places events.
- Every record is checked on its own. One published more than a day after the run's clock
  or before 2000, or whose incident time lies more than a day after its publication, is
  quarantined like any unusable record.
- Every usable version of an id is kept (``ParseResult.versions``, in the order received);
  in ``events`` the latest published version wins, of equal times the one received last.
  ``body`` (page text) belongs to the event: every version gets it from the last record
  of the id that has one.
- A live event's page text (fetched by :mod:`~trygghetskarta.sources.polisen_pages`) is
  attached to its record as it is read, where archived records carry it; an event of the
  municipality without it gets ``text_missing``, the reason (an extra column of
  ``events`` and ``versions``, not part of the content).
- Lone surrogates (``"\\ud800"``) become U+FFFD and NUL characters are removed while
  reading, and counted (``ParseResult.repairs``).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from trygghetskarta.errors import TrygghetskartaWarning
from trygghetskarta.schema import EVENT_COLUMNS, PARSED_COLUMNS, TIMEZONE, Category, Layer
from trygghetskarta.sources._polisen_files import RECORD_COLUMNS as RECORD_COLUMNS
from trygghetskarta.sources._polisen_files import PageAttacher
from trygghetskarta.sources._polisen_files import read_all as _read_all
from trygghetskarta.sources._polisen_files import read_records as read_records
from trygghetskarta.sources.text_repair import NONE, Repairs

SOURCE = "polisen"
BASE_URL = "https://polisen.se"
QUARANTINE_OUT = ("source", "source_id", "source_file", "reason", "raw")
logger = logging.getLogger(__name__)

_MONTH_NAMES = (
    "januari februari mars april maj juni juli augusti september oktober november december"
)
#: Swedish month names and their three-letter abbreviations (plus "sept") -> month number.
MONTHS: dict[str, int] = {
    key: number
    for number, name in enumerate(_MONTH_NAMES.split(), start=1)
    for key in (name, name[:3])
} | {"sept": 9}
_TITLE_DATE = (
    r"^\s*(?P<day>\d{1,2})\s+(?P<month>[^\W\d_]+)\.?"
    r"(?:\s+(?:kl\.?\s*)?(?P<hour>\d{1,2})[:.](?P<minute>\d{2}))?(?=[\s,]|$)"
)
_API_TIME_FORMAT = "%Y-%m-%d %H:%M:%S %z"


@dataclass(frozen=True)
class ParseResult:
    """What :func:`parse` returns.

    Attributes
    ----------
    events
        One row per event (the winning version), columns :data:`schema.PARSED_COLUMNS`
        and ``text_missing`` (why a live event has no page text; None otherwise).
    quarantine
        One row per rejected record: ``source, source_id, source_file, reason, raw``.
    read
        Records read, every version of an id counted; always
        ``len(versions) + len(quarantine)``.
    versions
        Every usable record as an event row, in the order received: an event that came in
        several versions has several rows (the store keeps each in ``event_versions``).
    repairs
        Lone surrogates replaced and NUL characters removed while reading.
    """

    events: pd.DataFrame
    quarantine: pd.DataFrame
    read: int
    versions: pd.DataFrame
    repairs: Repairs = NONE


# --------------------------------------------------------------------------- categories


@cache
def _type_table() -> dict[str, tuple[Category, bool]]:
    path = resources.files("trygghetskarta") / "resources" / "police_type_categories.csv"
    with resources.as_file(path) as csv:
        table = pd.read_csv(csv, dtype=str, keep_default_na=False)
    return {
        row.source_type.strip(): (Category(row.category), row.sensitive.strip().lower() == "true")
        for row in table.itertuples(index=False)
    }


def categorise(source_type: str) -> tuple[Category, bool]:
    """Map a raw police event type to the shared category and the sensitive flag.

    Parameters
    ----------
    source_type
        The API's ``type``, e.g. ``"Misshandel, grov"``. Surrounding whitespace is ignored.

    Returns
    -------
    tuple of (Category, bool)
        The category from ``resources/police_type_categories.csv`` (every ``Sammanfattning …``
        type is ``summary``) and whether the type is sensitive (sexual offences). A type not in
        the table is ``other`` and not sensitive, with a ``TrygghetskartaWarning`` (shown once
        per type under Python's default warning filter).
    """
    key = (source_type or "").strip()
    if key.startswith("Sammanfattning"):
        return Category.SUMMARY, False
    found = _type_table().get(key)
    if found is not None:
        return found
    if key:
        warnings.warn(
            f"unknown police event type {key!r} mapped to 'other' — add it to "
            "resources/police_type_categories.csv",
            TrygghetskartaWarning,
            stacklevel=1,
        )
    return Category.OTHER, False


# --------------------------------------------------------------------------- titles


def municipality_from_title(title: str) -> str | None:
    """Return the municipality (or county) a police title names: its last comma part.

    Parameters
    ----------
    title
        ``"<day> <month> <HH.MM>, <type>, <place>"``; the type may itself contain commas.

    Returns
    -------
    str or None
        ``"Stockholm"`` for ``"1 augusti 16.31, Misshandel, Stockholm"``; None when the title
        has fewer than three comma parts or an empty last part.
    """
    if not isinstance(title, str):
        return None
    place = _municipalities(pd.Series([title], dtype=object)).iloc[0]
    return place if isinstance(place, str) else None


def _municipalities(titles: pd.Series) -> pd.Series:
    parts = titles.str.split(",")
    place = parts.str[-1].str.strip()
    return place.where((parts.str.len() >= 3) & (place.str.len() > 0))


def _incident_times(titles: pd.Series, published: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Vectorised :func:`incident_time`: (occurred_at in Stockholm time or NaT, date found)."""
    parts = titles.str.extract(_TITLE_DATE)
    month = parts["month"].str.lower().map(MONTHS)
    found = month.notna()
    pub = published.dt.tz_convert(TIMEZONE)
    shift = month - pub.dt.month
    year = pub.dt.year - (shift > 6).astype(int) + (shift < -6).astype(int)
    hour = pd.to_numeric(parts["hour"]).fillna(0)
    minute = pd.to_numeric(parts["minute"]).fillna(0)
    naive = pd.to_datetime(
        pd.DataFrame(
            {
                "year": year.where(found & (hour < 24) & (minute < 60)),
                "month": month,
                "day": pd.to_numeric(parts["day"]),
                "hour": hour,
                "minute": minute,
            }
        ),
        errors="coerce",
    )
    occurred = naive.dt.tz_localize(
        TIMEZONE, ambiguous=np.ones(len(naive), dtype=bool), nonexistent="shift_forward"
    )
    return occurred, found


def incident_time(title: str, published_at: pd.Timestamp) -> pd.Timestamp | None:
    """Read the incident time from a police title.

    Parameters
    ----------
    title
        E.g. ``"26 september 14:21, Mord/dråp, försök, Stockholm"`` or
        ``"1 augusti 16.31, Misshandel, Stockholm"``.
    published_at
        The event's published time; gives the year. A naive timestamp is read as Stockholm
        time.

    Returns
    -------
    pandas.Timestamp or None
        Timezone-aware (Europe/Stockholm). The year is the published year unless the title's
        month is more than six months away (New Year); a title without a time of day gives
        00:00. None when the title has no date or an impossible one (``"31 februari"``).
    """
    stamp = pd.Timestamp(published_at)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(TIMEZONE)
    occurred, _ = _incident_times(pd.Series([title], dtype=object), pd.Series([stamp]))
    value = occurred.iloc[0]
    return None if pd.isna(value) else value


# --------------------------------------------------------------------------- parsing


def _published(values: pd.Series) -> pd.Series:
    stamps = pd.to_datetime(values, format=_API_TIME_FORMAT, errors="coerce", utc=True)
    retry = stamps.isna() & values.notna()
    if retry.any():
        stamps[retry] = pd.to_datetime(values[retry], format="ISO8601", errors="coerce", utc=True)
    return stamps.dt.tz_convert(TIMEZONE)


#: Published before this is not an event of the API (it began in the 2010s): a bad clock
#: or a bad file.
EARLIEST_PUBLISHED = pd.Timestamp("2000-01-01", tz=TIMEZONE)
#: How far a time may lie ahead (of the run's clock, or of the publication) before it is
#: impossible rather than a clock or time-zone slip.
SLACK = pd.Timedelta(days=1)
#: What makes one version of an event: equal in all of these, two records are the same
#: version (the archive holds many events twice, once with page text).
_VERSION_KEY = ("source_id", "published", "name", "summary", "type", "url", "location_name")


def _fill_bodies(kept: pd.DataFrame) -> pd.DataFrame:
    """Page text belongs to the event, not to a version: every version of an id gets the
    page text of the last record of that id that has one."""
    with_body = kept[kept["body"].notna()].drop_duplicates("source_id", keep="last")
    body = kept["source_id"].map(with_body.set_index("source_id")["body"])
    filled = kept["body"].fillna(body)
    missing = kept["text_missing"].where(filled.isna(), None)
    return kept.assign(_had_text=kept["body"].notna(), body=filled, text_missing=missing)


def _version_keys(frame: pd.DataFrame) -> pd.Series:
    """One text per record; equal texts are copies of the same version."""
    parts = frame[list(_VERSION_KEY)].astype(object)
    parts = parts.where(parts.notna(), "\x00").astype(str)  # NUL: never in repaired text
    return parts.agg("\x1f".join, axis=1)


def _winners(kept: pd.DataFrame) -> tuple[pd.Index, pd.Series]:
    """The version of each id that ``events`` holds, and the raw record kept for it.

    The latest published version wins; of versions published at the same time, the one
    received last (so the store, applying versions in the order received, ends with the same
    content). Of identical copies of the winning version, the raw of the last one with page
    text is kept.
    """
    order = kept.assign(_order=np.arange(len(kept)))
    ranked = order.sort_values(["source_id", "published", "_order"], kind="stable")
    winners = ranked.drop_duplicates("source_id", keep="last").index
    raw = order.loc[winners, "raw"].astype(object)
    if order["_had_text"].any():
        keys = _version_keys(order)
        richer = order.loc[order["_had_text"], "raw"].groupby(keys[order["_had_text"]]).last()
        found = keys.loc[winners].map(richer)
        raw = found.where(found.notna(), raw)
    return winners, raw


def _reasons(frame: pd.DataFrame, municipality: str, now: pd.Timestamp) -> pd.Series:
    """First reason each record cannot be used, else None. Each starts with its kind."""
    reason = frame["problem"].copy()
    title = frame["name"].fillna("")
    quoted = "'" + title + "'"

    def flag(mask: pd.Series, text: pd.Series | str) -> None:
        todo = mask & reason.isna()
        reason[todo] = text[todo] if isinstance(text, pd.Series) else text

    def minutes(stamps: pd.Series) -> pd.Series:
        return stamps.dt.strftime("%Y-%m-%d %H:%M").fillna("")

    flag(title.str.strip() == "", "record has no title (name)")
    flag(frame["datetime"].isna(), "record has no published time (datetime)")
    given = frame["datetime"].fillna("").map(repr)
    example = "'2026-08-22 9:51:41 +02:00'"
    published = frame["published"]
    flag(published.isna(), "published time (datetime) " + given + " is not like " + example)
    flag(
        published > now + SLACK,
        "published in the future: "
        + minutes(published)
        + f" is more than a day after this run's clock ({now:%Y-%m-%d %H:%M})",
    )
    flag(published < EARLIEST_PUBLISHED, "published before 2000: " + minutes(published))
    place = frame["municipality"]
    flag(place.isna(), "title names no municipality: " + quoted)
    outside = place.str.casefold() != municipality.casefold()
    flag(outside, f"outside {municipality} kommun (title names " + place.fillna("") + ")")
    flag(~frame["date_found"].astype(bool), "title has no incident date: " + quoted)
    occurred = frame["occurred_at"]
    flag(occurred.isna(), "title has an impossible incident date or time: " + quoted)
    flag(
        occurred > published + SLACK,
        "incident after publication: "
        + minutes(occurred)
        + " is more than a day after the published time "
        + minutes(published)
        + ": "
        + quoted,
    )
    return reason


def _event_rows(kept: pd.DataFrame) -> pd.DataFrame:
    """Records that passed the checks → rows of :data:`schema.PARSED_COLUMNS`, same order."""
    types = kept["type"].fillna("")
    mapping = {t: categorise(t) for t in types.unique()}
    url = kept["url"]
    relative = url.fillna("").astype(str).str.startswith("/")
    nothing = pd.Series(np.nan, index=kept.index)
    rows = pd.DataFrame(
        {
            "event_uid": SOURCE + ":" + kept["source_id"],
            "source": SOURCE,
            "source_id": kept["source_id"],
            "layer": Layer.POLICE_EVENT.value,
            "category": types.map(lambda t: mapping[t][0].value),
            "source_type": kept["type"],
            "occurred_at": kept["occurred_at"],
            "published_at": kept["published"],
            "title": kept["name"],
            "summary": kept["summary"],
            "body": kept["body"],
            "url": url.where(~relative, BASE_URL + url.fillna("")),
            "x": nothing.astype(float),
            "y": nothing.astype(float),
            "precision": nothing,
            "uncertainty_m": nothing.astype(float),
            "place_name": nothing,
            "sensitive": types.map(lambda t: mapping[t][1]).astype(bool),
            "raw": kept["raw"],
        },
        columns=list(PARSED_COLUMNS),
    )
    rows["text_missing"] = kept["text_missing"]
    text = [c for c in (*PARSED_COLUMNS, "text_missing") if EVENT_COLUMNS[c] == "VARCHAR"]
    rows[text] = rows[text].astype(pd.StringDtype())
    return rows


def parse(
    paths: Sequence[Path],
    *,
    municipality: str = "Stockholm",
    now: pd.Timestamp | None = None,
    pages: PageAttacher | None = None,
) -> ParseResult:
    """Parse police event files into events of one municipality and a quarantine.

    Every record is checked on its own, as if it came alone: a record that cannot be used
    goes to the quarantine with its reason (an earlier or later version of the same id may
    still be an event).

    Parameters
    ----------
    paths
        Files for :func:`read_records`, in the order they were received; versions of one
        id across them are kept in that order.
    municipality
        Keep events whose title names this municipality (case-insensitive); others are
        quarantined as out of area.
    now
        The run's clock: a record published more than a day after it is quarantined
        ("published in the future"). Default: the current time.
    pages
        Adds each live record's page text as it is read (``_html_*`` keys, as archived
        records have them) or why it has none (``_page_missing``, which becomes the
        event's ``text_missing``): :meth:`~trygghetskarta.sources.polisen_pages.PageIndex.
        attach`. Without it, records are read as they are.

    Returns
    -------
    ParseResult
        Events (validated columns :data:`schema.PARSED_COLUMNS`; no positions: ``x``/``y``
        NaN, ``precision`` None), every usable version, and one quarantine row per rejected
        record, with a reason.

    Raises
    ------
    SourceError
        A file cannot be read (see :func:`read_records`). Bad records never raise.
    """
    clock = pd.Timestamp.now(tz=TIMEZONE) if now is None else pd.Timestamp(now)
    if clock.tzinfo is None:
        raise ValueError(f"now must be timezone-aware, got {clock}; pass e.g. now.tz_localize(…)")
    records, repairs = _read_all(paths, pages=pages)
    records["published"] = _published(records["datetime"])
    records["municipality"] = _municipalities(records["name"].fillna(""))
    occurred, found = _incident_times(records["name"].fillna(""), records["published"])
    records["occurred_at"], records["date_found"] = occurred, found
    reason = _reasons(records, municipality, clock)

    rejected = records[reason.notna()]
    quarantine = pd.DataFrame(
        {
            "source": SOURCE,
            "source_id": rejected["source_id"],
            "source_file": rejected["source_file"],
            "reason": reason[reason.notna()],
            "raw": rejected["raw"],
        },
        columns=list(QUARANTINE_OUT),
    ).reset_index(drop=True)
    quarantine = quarantine.astype(pd.StringDtype())

    kept = _fill_bodies(records[reason.isna()].reset_index(drop=True))
    versions = _event_rows(kept)
    winners, raw = _winners(kept)
    events = versions.loc[winners].copy()
    events["raw"] = raw.astype(pd.StringDtype())
    events = events.sort_values(["occurred_at", "event_uid"], ignore_index=True)
    if repairs:
        logger.warning("polisen: %s in %s", repairs.describe(), ", ".join(map(str, paths)))
    logger.info(
        "polisen: %d records read: %d versions of %d events kept, %d quarantined",
        len(records),
        len(versions),
        len(events),
        len(quarantine),
    )
    return ParseResult(events, quarantine, len(records), versions, repairs)
