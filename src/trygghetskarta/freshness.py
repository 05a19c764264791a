"""How fresh each source's data is: its newest event, its age in days, and its threshold.

Each run states the newest event per source (its incident and publication times). A source
with a threshold (``[freshness]`` in ``trygghetskarta.toml``, by default 3 days for the
police feed) whose newest event is older than that is *stale*: the run warns, its summary
and ``manifest.json`` say so, and maps and reports show "Senaste data: 31 december 2025
(337 dagar gammal)" prominently. These objects are pure values: the store reads the newest
times (:func:`trygghetskarta.store.newest_events`), the pipeline builds one
:class:`Freshness` per run with the run's clock and passes it down, and render only reads it.

Settings::

    [freshness]
    polisen_days = 3          # the live police feed: new events every few hours
    # polisen-brott_days = 45     a delivered list: its delivery interval and some slack
    # polisen_days = false    no threshold (the newest event is still stated)

Derived sources (shootings and fires found in police events, ``shooting:polisen``) follow
the police feed and have no threshold of their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import pandas as pd

from trygghetskarta.coverage import day_label
from trygghetskarta.errors import ConfigError
from trygghetskarta.schema import TIMEZONE

#: Days a source's newest event may be old before a run warns, by source, unless
#: ``[freshness]`` says otherwise. The police feed publishes many events a day in Stockholm.
DEFAULT_DAYS: Mapping[str, int] = MappingProxyType({"polisen": 3})
#: What a source is called on maps and reports (others by their own name).
SOURCE_NAMES_SV: Mapping[str, str] = MappingProxyType(
    {"polisen": "Polisen", "shooting:polisen": "Polisen (skjutningar)"}
)
_SUFFIX = "_days"


@dataclass(frozen=True)
class FreshnessPolicy:
    """The age in days, per source, above which a source's data is stale.

    Attributes
    ----------
    days
        Source name (as in ``events.source``, e.g. ``polisen``) → the most days its newest
        event may be old; a source not named has no threshold.
    """

    days: Mapping[str, int] = field(default_factory=lambda: DEFAULT_DAYS)

    @classmethod
    def from_table(cls, table: Any, origin: str) -> FreshnessPolicy:
        """The policy of a ``[freshness]`` table (over the defaults).

        Parameters
        ----------
        table
            ``{"<source>_days": days}``; ``days`` a whole number ≥ 0, or ``false`` for no
            threshold.
        origin
            Where the table comes from, for the error message (e.g. the toml file's path).

        Raises
        ------
        ConfigError
            The table is not a table, a key does not end in ``_days``, or a value is not
            a whole number ≥ 0 or ``false``.

        Examples
        --------
        >>> FreshnessPolicy.from_table({"polisen_days": 7}, "test").threshold("polisen")
        7
        >>> FreshnessPolicy.from_table({"polisen_days": False}, "test").threshold("polisen")
        """
        if not isinstance(table, Mapping):
            raise ConfigError(
                f"'freshness' in {origin} must be a table, got {table!r} — write "
                "`[freshness]` and e.g. `polisen_days = 3` below it"
            )
        days = dict(DEFAULT_DAYS)
        for key, value in table.items():
            if not key.endswith(_SUFFIX) or key == _SUFFIX:
                raise ConfigError(
                    f"unknown key {key!r} in [freshness] of {origin}, expected "
                    f"'<source>_days' (e.g. 'polisen_days') — fix {origin}"
                )
            source = key[: -len(_SUFFIX)]
            if value is False:
                days.pop(source, None)
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(
                    f"[freshness] {key} in {origin} must be a whole number of days ≥ 0 or "
                    f"false, got {value!r} — fix {origin}"
                )
            days[source] = value
        return cls(MappingProxyType(days))

    def threshold(self, source: str) -> int | None:
        """The most days ``source``'s newest event may be old, or ``None`` (no threshold)."""
        return self.days.get(source)

    def as_dict(self) -> dict[str, int]:
        """The thresholds, JSON-ready."""
        return dict(self.days)


def _local(value: Any) -> pd.Timestamp | None:
    if value is None or pd.isna(value):
        return None
    ts = pd.Timestamp(value)
    return ts.tz_localize(TIMEZONE) if ts.tzinfo is None else ts.tz_convert(TIMEZONE)


def age_label(days: int) -> str:
    """Swedish age in days.

    >>> [age_label(n) for n in (0, 1, 337)]
    ['från i dag', '1 dag gammal', '337 dagar gammal']
    """
    if days <= 0:
        return "från i dag"
    return "1 dag gammal" if days == 1 else f"{days} dagar gammal"


@dataclass(frozen=True)
class SourceFreshness:
    """One source's newest event, seen from a run's clock.

    Attributes
    ----------
    source
        The source's name (``events.source``).
    newest_occurred, newest_published
        The latest incident time and the latest publication time of its events (``None``
        when it has none, or none published: a delivered list).
    now
        The run's clock.
    threshold_days
        The most days the newest event may be old, or ``None``.
    """

    source: str
    newest_occurred: pd.Timestamp | None
    newest_published: pd.Timestamp | None
    now: pd.Timestamp
    threshold_days: int | None = None

    @property
    def newest(self) -> pd.Timestamp | None:
        """The latest time the source told us something: publication, else incident."""
        found = (_local(self.newest_published), _local(self.newest_occurred))
        times = [t for t in found if t is not None]
        return max(times) if times else None

    @property
    def age_days(self) -> int | None:
        """Whole calendar days (Stockholm) from the newest event's day to the run's day."""
        newest = self.newest
        if newest is None:
            return None
        now = _local(self.now)
        assert now is not None
        return max((now.date() - newest.date()).days, 0)

    @property
    def stale(self) -> bool:
        """True when the source has a threshold and its newest event is older than that.

        A source with no events at all is not stale (there is no old data to show as
        current); it is listed as having none.
        """
        age = self.age_days
        return self.threshold_days is not None and age is not None and age > self.threshold_days

    @property
    def name_sv(self) -> str:
        return SOURCE_NAMES_SV.get(self.source, self.source)

    def label(self) -> str:
        """Swedish: ``31 december 2025 (337 dagar gammal)``, or that there is no event."""
        newest, age = self.newest, self.age_days
        if newest is None or age is None:
            return f"inga händelser från {self.name_sv}"
        return f"{day_label(newest.date())} ({age_label(age)})"

    def sentence(self) -> str:
        """English, for the log and the summary: what is newest and how old it is."""
        newest, age = self.newest, self.age_days
        if newest is None or age is None:
            text = f"{self.source}: no events"
        else:
            text = (
                f"{self.source}: newest event {newest:%Y-%m-%d %H:%M}, {age} "
                f"day{'' if age == 1 else 's'} old"
            )
        if self.threshold_days is not None:
            text += f" (threshold {self.threshold_days} days)"
        return text

    def short(self) -> str:
        """English, for a summary's first line: ``polisen data is 337 days old (threshold
        3 days)``."""
        age = self.age_days
        if age is None:
            return f"no {self.source} events"
        threshold = "" if self.threshold_days is None else f" (threshold {self.threshold_days})"
        return f"{self.source} data is {age} day{'' if age == 1 else 's'} old{threshold}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, for ``manifest.json``."""

        def iso(ts: Any) -> str | None:
            local = _local(ts)
            return None if local is None else local.isoformat()

        return {
            "source": self.source,
            "newest_occurred": iso(self.newest_occurred),
            "newest_published": iso(self.newest_published),
            "age_days": self.age_days,
            "threshold_days": self.threshold_days,
            "stale": self.stale,
        }


@dataclass(frozen=True)
class Freshness:
    """Every source's freshness at a run's clock (see :func:`assess`).

    Attributes
    ----------
    now
        The run's clock.
    sources
        One :class:`SourceFreshness` per source: those with a threshold first (in the
        policy's order), then the others by name.
    """

    now: pd.Timestamp
    sources: tuple[SourceFreshness, ...] = ()

    @property
    def stale(self) -> tuple[SourceFreshness, ...]:
        """The sources older than their threshold."""
        return tuple(s for s in self.sources if s.stale)

    def shown(self) -> tuple[SourceFreshness, ...]:
        """The sources maps and reports name: those with a threshold, else the newest one."""
        with_threshold = tuple(s for s in self.sources if s.threshold_days is not None)
        if with_threshold:
            return with_threshold
        dated = [s for s in self.sources if s.newest is not None]
        return (max(dated, key=lambda s: s.newest),) if dated else ()

    def headline(self) -> str | None:
        """Swedish, for maps and reports: ``Senaste data: 31 december 2025 (337 dagar
        gammal)``; with several sources shown, each named. ``None`` without sources."""
        shown = self.shown()
        if not shown:
            return None
        if len(shown) == 1:
            return f"Senaste data: {shown[0].label()}"
        return "Senaste data: " + "; ".join(
            f"{s.name_sv} {s.label()}" if s.newest is not None else s.label() for s in shown
        )

    def note(self) -> str | None:
        """Swedish, for maps and reports when a source is stale: what that means."""
        stale = self.stale
        if not stale:
            return None
        names = ", ".join(
            f"{s.name_sv} (äldre än {s.threshold_days} "
            f"{'dag' if s.threshold_days == 1 else 'dagar'})"
            for s in stale
        )
        return f"Uppgifterna är inte aktuella: {names}. Kartor och siffror visar inte läget i dag."

    def warnings(self) -> list[str]:
        """English, one sentence per stale source, with what to do."""
        return [
            f"{s.sentence()}: older than its threshold — check that the nightly fetch runs "
            "([polisen] fetch = true in trygghetskarta.toml) and succeeds, or change "
            f"[freshness] {s.source}_days"
            for s in self.stale
        ]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, for ``manifest.json``."""
        return {
            "now": self.now.isoformat(),
            "stale": [s.source for s in self.stale],
            "sources": [s.as_dict() for s in self.sources],
        }


def assess(
    newest: Mapping[str, tuple[Any, Any]], *, now: pd.Timestamp, policy: FreshnessPolicy
) -> Freshness:
    """Each source's freshness at ``now``.

    Parameters
    ----------
    newest
        Source → ``(newest incident time, newest publication time)``, either ``None``.
    now
        The run's clock (injectable: tests do not depend on today's date).
    policy
        The thresholds. A source with a threshold but no events is listed (not stale).

    Examples
    --------
    >>> now = pd.Timestamp("2026-12-03 03:00", tz="Europe/Stockholm")
    >>> f = assess({"polisen": (pd.Timestamp("2025-12-31 15:42", tz="UTC"), None)},
    ...            now=now, policy=FreshnessPolicy())
    >>> f.headline()
    'Senaste data: 31 december 2025 (337 dagar gammal)'
    >>> [s.source for s in f.stale]
    ['polisen']
    """
    names = list(policy.days) + sorted(s for s in newest if s not in policy.days)
    sources = tuple(
        SourceFreshness(
            source=name,
            newest_occurred=_local(newest.get(name, (None, None))[0]),
            newest_published=_local(newest.get(name, (None, None))[1]),
            now=now,
            threshold_days=policy.threshold(name),
        )
        for name in names
    )
    return Freshness(now=now, sources=sources)
