"""Reporting periods: which months a map or a lägesbild covers, and the year before."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from trygghetskarta.errors import ConfigError
from trygghetskarta.schema import TIMEZONE

_MONTHS_SV = ("jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec")


@dataclass(frozen=True)
class Period:
    """Whole months ``[start, end)`` in Europe/Stockholm time."""

    start: pd.Timestamp
    end: pd.Timestamp

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ConfigError(
                f"expected timezone-aware period bounds, got {self.start} – {self.end} — "
                "use Period.months(...)"
            )
        if self.end <= self.start:
            raise ConfigError(f"a period must end after it starts, got {self.start} – {self.end}")

    @classmethod
    def months(cls, first: str, last: str) -> Period:
        """The period from the first day of month ``first`` to the end of month ``last``.

        >>> Period.months("2025-01", "2025-12").label
        'jan 2025 – dec 2025'
        """
        start = pd.Timestamp(first).to_period("M").to_timestamp()
        end = (pd.Timestamp(last).to_period("M") + 1).to_timestamp()
        return cls(start.tz_localize(TIMEZONE), end.tz_localize(TIMEZONE))

    @property
    def last_month(self) -> pd.Timestamp:
        return (self.end.tz_localize(None) - pd.offsets.MonthBegin(1)).tz_localize(TIMEZONE)

    @property
    def label(self) -> str:
        """Swedish label, e.g. ``jan 2025 – dec 2025``."""
        a, b = self.start, self.last_month
        return f"{_MONTHS_SV[a.month - 1]} {a.year} – {_MONTHS_SV[b.month - 1]} {b.year}"

    @property
    def slug(self) -> str:
        """For file names, e.g. ``2025-01_2025-12``."""
        return f"{self.start:%Y-%m}_{self.last_month:%Y-%m}"

    def year_before(self) -> Period:
        """The same months one year earlier (the comparison period)."""
        shift = pd.DateOffset(years=1)
        naive_start, naive_end = self.start.tz_localize(None), self.end.tz_localize(None)
        return Period(
            (naive_start - shift).tz_localize(TIMEZONE), (naive_end - shift).tz_localize(TIMEZONE)
        )

    def contains(self, times: pd.Series) -> pd.Series:
        """Boolean mask of the times inside the period."""
        return (times >= self.start) & (times < self.end)


def default_period(occurred_at: pd.Series, months: int = 12) -> Period:
    """The last ``months`` whole months up to and including the month of the latest event."""
    times = pd.to_datetime(occurred_at.dropna())
    if times.empty:
        raise ConfigError("cannot choose a period: no event has a time — ingest events first")
    last = times.max().tz_convert(TIMEZONE).tz_localize(None).to_period("M")
    first = last - (months - 1)
    return Period.months(str(first), str(last))
