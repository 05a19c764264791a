"""Reporting periods: which months a map or a lägesbild covers, and what they compare with.

A :class:`Period` is whole months. It may also know where the data end inside it
(``data_end``: the newest covered day) and from which day the data are complete
(``data_start``); :func:`like_for_like` turns that into the one comparison rule every
change figure uses (the same calendar days a year before, flagged when a gap or months
without complete data fall inside), and :func:`month_label` / :func:`block_label` label
months and quarters cut by the data's ends as partial.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import pandas as pd

from trygghetskarta.coverage import MONTH_NAMES_SV, Coverage, Gap, range_label
from trygghetskarta.errors import ConfigError
from trygghetskarta.schema import TIMEZONE

_MONTHS_SV = ("jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec")


def _day(value: date | pd.Timestamp | str) -> date:
    """A calendar day (Stockholm) from a date, a timestamp (converted) or ISO text."""
    if isinstance(value, date) and not isinstance(value, pd.Timestamp):
        return value if type(value) is date else value.date()
    ts = pd.Timestamp(value)
    if ts.tzinfo is not None:
        ts = ts.tz_convert(TIMEZONE)
    return ts.date()


def _stamp(day: date) -> pd.Timestamp:
    """Midnight at the start of ``day``, Stockholm time."""
    return pd.Timestamp(day).tz_localize(TIMEZONE)


def _month_end(day: date) -> date:
    return (pd.Timestamp(day) + pd.offsets.MonthEnd(0)).date()


def _is_month_end(day: date) -> bool:
    return (day + timedelta(days=1)).day == 1


def _year_earlier(day: date) -> date:
    """The same calendar day a year before; 29 February becomes 28 February."""
    return (pd.Timestamp(day) - pd.DateOffset(years=1)).date()


@dataclass(frozen=True)
class Period:
    """Whole months ``[start, end)`` in Europe/Stockholm time.

    Attributes
    ----------
    start, end
        The first day of the first month and the first day after the last month
        (timezone-aware).
    data_end
        The last day with data when it falls inside the period's last month or earlier
        (the period's figures then run to that day); ``None``: the data cover the period
        to its end. Set with :meth:`with_data`.
    data_start
        The first day of complete data (months before it are not compared against and are
        flagged where shown); ``None``: complete from the start.
    """

    start: pd.Timestamp
    end: pd.Timestamp
    # what is known of the data, not which months: equal periods compare equal whatever it is
    data_end: date | None = field(default=None, compare=False)
    data_start: date | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ConfigError(
                f"expected timezone-aware period bounds, got {self.start} – {self.end} — "
                "use Period.months(...)"
            )
        if self.end <= self.start:
            raise ConfigError(f"a period must end after it starts, got {self.start} – {self.end}")
        if self.data_end is not None and not (self.first_day <= self.data_end < self.last_day):
            raise ConfigError(
                f"expected data_end inside the period {self.first_day} – {self.last_day} "
                f"(before its last day), got {self.data_end} — use Period.with_data(...)"
            )

    @classmethod
    def months(cls, first: str, last: str) -> Period:
        """The period from the first day of month ``first`` to the end of month ``last``.

        >>> Period.months("2025-01", "2025-12").label
        'jan 2025 – dec 2025'
        """
        start = pd.Timestamp(first).to_period("M").to_timestamp()
        end = (pd.Timestamp(last).to_period("M") + 1).to_timestamp()
        return cls(start.tz_localize(TIMEZONE), end.tz_localize(TIMEZONE))

    def with_data(
        self,
        last: date | pd.Timestamp | str | None,
        first: date | pd.Timestamp | str | None = None,
    ) -> Period:
        """The same months, knowing the data's last day ``last`` and first complete day.

        ``last`` on or after the period's last day (or ``None``) leaves the period whole;
        ``first`` on or before the period's first day is kept too (it matters for the
        comparison a year before).

        >>> p = Period.months("2026-01", "2026-08").with_data(date(2026, 8, 22))
        >>> p.label, p.slug
        ('jan 2026 – 22 aug 2026', '2026-01_2026-08')

        Raises
        ------
        ConfigError
            The data end before the period starts (choose an earlier period).
        """
        end_day = None if last is None else _day(last)
        if end_day is not None and end_day < self.first_day:
            raise ConfigError(
                f"the data end on {end_day}, before the period {self.label} starts — choose "
                "an earlier period (period under [analysis]) or fetch newer data"
            )
        if end_day is not None and end_day >= self.last_day:
            end_day = None
        start_day = None if first is None else _day(first)
        return replace(self, data_end=end_day, data_start=start_day)

    @property
    def first_day(self) -> date:
        """The period's first day."""
        return self.start.tz_convert(TIMEZONE).date()

    @property
    def last_day(self) -> date:
        """The period's last calendar day (whatever the data)."""
        return (self.end.tz_convert(TIMEZONE) - pd.Timedelta(days=1)).date()

    @property
    def last_data_day(self) -> date:
        """The last day the period's figures count: ``data_end`` or the last day."""
        return self.data_end if self.data_end is not None else self.last_day

    @property
    def partial(self) -> bool:
        """Whether the data end before the period does."""
        return self.data_end is not None

    @property
    def last_month(self) -> pd.Timestamp:
        return (self.end.tz_localize(None) - pd.offsets.MonthBegin(1)).tz_localize(TIMEZONE)

    @property
    def label(self) -> str:
        """Swedish label, e.g. ``jan 2025 – dec 2025`` (``jan 2026 – 22 aug 2026`` when
        the data end on 22 August)."""
        a, b = self.start, self.last_month
        head = f"{_MONTHS_SV[a.month - 1]} {a.year}"
        if self.data_end is not None:
            d = self.data_end
            return f"{head} – {d.day} {_MONTHS_SV[d.month - 1]} {d.year}"
        return f"{head} – {_MONTHS_SV[b.month - 1]} {b.year}"

    @property
    def slug(self) -> str:
        """For file names, e.g. ``2025-01_2025-12`` (whole months, whatever the data)."""
        return f"{self.start:%Y-%m}_{self.last_month:%Y-%m}"

    def year_before(self) -> Period:
        """The same whole months one year earlier: the months to *read* for a comparison.

        The comparison itself (the same days, gaps, incomplete months) is
        :meth:`comparison`.
        """
        shift = pd.DateOffset(years=1)
        naive_start, naive_end = self.start.tz_localize(None), self.end.tz_localize(None)
        return Period(
            (naive_start - shift).tz_localize(TIMEZONE), (naive_end - shift).tz_localize(TIMEZONE)
        )

    def comparison(self, coverage: Coverage | None = None) -> Comparison:
        """:func:`like_for_like` of this period with its own data window."""
        return like_for_like(self, self.data_end, coverage=coverage, data_start=self.data_start)

    def contains(self, times: pd.Series) -> pd.Series:
        """Boolean mask of the times inside the period."""
        return (times >= self.start) & (times < self.end)


@dataclass(frozen=True, order=True)
class Span:
    """Days ``first`` … ``last`` (both included, Stockholm calendar)."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ConfigError(
                f"expected a span whose last day is not before its first, got {self.first} – "
                f"{self.last}"
            )

    @property
    def start(self) -> pd.Timestamp:
        """Midnight starting the first day (timezone-aware, included)."""
        return _stamp(self.first)

    @property
    def end(self) -> pd.Timestamp:
        """Midnight after the last day (timezone-aware, excluded)."""
        return _stamp(self.last + timedelta(days=1))

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def label(self) -> str:
        """Swedish, e.g. ``1 januari – 22 augusti 2026``."""
        return range_label(self.first, self.last)

    def contains(self, times: pd.Series) -> pd.Series:
        """Boolean mask of the (timezone-aware) times inside the span."""
        return (times >= self.start) & (times < self.end)


@dataclass(frozen=True)
class Comparison:
    """A period's figures against the same days a year before (see :func:`like_for_like`).

    Attributes
    ----------
    current, previous
        The days counted now and the days compared with.
    partial
        The data end inside the period: ``current`` stops at their last day, and
        ``previous`` at the same calendar day.
    gaps
        Days without data (a recorded gap of the source) inside either span.
    incomplete_before
        The first day of complete data when ``previous`` starts before it (no change is
        given then), else ``None``.
    """

    current: Span
    previous: Span
    partial: bool = False
    gaps: tuple[Gap, ...] = ()
    incomplete_before: date | None = None

    @property
    def comparable(self) -> bool:
        """Whether a change figure may be given (the year before has complete data)."""
        return self.incomplete_before is None

    @property
    def exposure(self) -> float:
        """Days now over days then (366/365 across a leap day), for rate tests."""
        return self.current.days / self.previous.days

    @property
    def label(self) -> str:
        """Swedish, e.g. ``1 januari – 22 augusti 2026 mot 1 januari – 22 augusti 2025``."""
        return f"{self.current.label} mot {self.previous.label}"

    @property
    def notes(self) -> tuple[str, ...]:
        """Swedish sentences to print next to a change figure (empty: nothing to say)."""
        out = []
        if self.partial:
            out.append(
                f"Data finns till och med {range_label(self.current.last, self.current.last)}; "
                "året innan räknas till och med samma dag."
            )
        if self.incomplete_before is not None:
            d = self.incomplete_before
            out.append(
                f"Ingen jämförelse: data är ofullständiga före {MONTH_NAMES_SV[d.month - 1]} "
                f"{d.year}."
            )
        if self.gaps:
            shown = "; ".join(g.label for g in self.gaps)
            out.append(f"Jämförelsen omfattar dagar utan data: {shown}.")
        return tuple(out)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready: the spans as ISO dates, the flags and the notes."""
        return {
            "current": [self.current.first.isoformat(), self.current.last.isoformat()],
            "previous": [self.previous.first.isoformat(), self.previous.last.isoformat()],
            "partial": self.partial,
            "gaps": [[g.first.isoformat(), g.last.isoformat()] for g in self.gaps],
            "incomplete_before": (
                None if self.incomplete_before is None else self.incomplete_before.isoformat()
            ),
            "notes": list(self.notes),
        }


def like_for_like(
    period: Period,
    data_end: date | pd.Timestamp | str | None = None,
    *,
    coverage: Coverage | None = None,
    data_start: date | pd.Timestamp | str | None = None,
) -> Comparison:
    """The one rule for every change against last year: the same calendar days.

    The period's figures run from its first day to its last day or to ``data_end``,
    whichever comes first; the year before runs over the same calendar days. When the
    current span ends on a month's last day the previous one ends on that month's last day
    (whole months against whole months: data ending 28 February 2025 compare with all of
    February 2024, 29th included, and data ending 29 February 2024 with all of February
    2023); otherwise on the same date (data ending 22 August 2026 compare with 1 January –
    22 August 2025; data ending 28 February 2024, a leap year's, with 1 January –
    28 February 2023).

    Parameters
    ----------
    period
        Whole months.
    data_end
        The last day with data (e.g. the newest event's day, or the source's last covered
        day); ``None``: the period is whole.
    coverage
        The source's coverage: its gaps inside either span are named in the result.
    data_start
        The first day of complete data: a previous span starting before it is flagged
        (:attr:`Comparison.comparable` is false).

    Examples
    --------
    >>> c = like_for_like(Period.months("2026-01", "2026-08"), date(2026, 8, 22))
    >>> c.label
    '1 januari – 22 augusti 2026 mot 1 januari – 22 augusti 2025'
    >>> like_for_like(Period.months("2024-01", "2024-02")).previous.last
    datetime.date(2023, 2, 28)
    """
    first = period.first_day
    last = period.last_day
    end_day = None if data_end is None else _day(data_end)
    partial = end_day is not None and end_day < last
    if end_day is not None and end_day < first:
        raise ConfigError(
            f"the data end on {end_day}, before the period {period.label} starts — choose an "
            "earlier period or fetch newer data"
        )
    if partial and end_day is not None:
        last = end_day
    prev_first = _year_earlier(first)
    prev_last = _month_end(_year_earlier(last)) if _is_month_end(last) else _year_earlier(last)
    current, previous = Span(first, last), Span(prev_first, prev_last)
    gaps: tuple[Gap, ...] = ()
    if coverage is not None:
        found = {*coverage.gaps_within(previous.first, previous.last)}
        found |= {*coverage.gaps_within(current.first, current.last)}
        gaps = tuple(sorted(found))
    start_day = None if data_start is None else _day(data_start)
    incomplete = start_day if start_day is not None and previous.first < start_day else None
    return Comparison(current, previous, partial, gaps, incomplete)


def month_label(
    month: date | pd.Timestamp | str,
    *,
    data_end: date | None = None,
    data_start: date | None = None,
    with_year: bool = True,
) -> str:
    """A month's Swedish label, saying when the data's ends cut it.

    >>> month_label("2026-08-01", data_end=date(2026, 8, 22))
    '1–22 aug 2026'
    >>> month_label("2023-03-01", data_start=date(2023, 4, 1))
    'mar 2023 (ofullständiga data)'
    """
    m = pd.Timestamp(_day(month)).to_period("M")
    first, last = m.start_time.date(), m.end_time.date()
    name = _MONTHS_SV[m.month - 1]
    year = f" {m.year}" if with_year else ""
    lo = first if data_start is None else max(first, data_start)
    hi = last if data_end is None else min(last, data_end)
    if data_start is not None and data_start > last:
        return f"{name}{year} (ofullständiga data)"
    if hi < first:
        return f"{name}{year} (inga data)"
    if lo == first and hi == last:
        return f"{name}{year}"
    return f"{lo.day}–{hi.day} {name}{year}"


def block_label(
    first_month: date | pd.Timestamp | str,
    step: int,
    present: Sequence[date | pd.Timestamp | str] | None = None,
    *,
    data_end: date | None = None,
    data_start: date | None = None,
) -> str:
    """The label of ``step`` months from ``first_month`` (a quarter when ``step`` is 3),
    saying which part a chart's point counts when it is not all of them.

    Parameters
    ----------
    first_month
        Any day of the block's first month.
    step
        Months in the block.
    present
        The months of the block the point counts (default: all); the others lie outside
        the months shown.
    data_end
        The data's last day: a block it cuts counts only up to it.
    data_start
        The first day of complete data: a block with a month before it says
        ``(ofullständiga data)``.

    Examples
    --------
    >>> block_label("2024-07-01", 3)
    'jul–sep 2024'
    >>> block_label("2024-07-01", 3, ["2024-09-01"])
    'jul–sep 2024 (endast sep)'
    >>> block_label("2026-07-01", 3, data_end=date(2026, 8, 22))
    'jul–sep 2026 (endast 1 jul–22 aug)'
    """
    start = pd.Timestamp(_day(first_month)).to_period("M")
    months = [start + i for i in range(int(step))]
    a, b = months[0], months[-1]
    head = _MONTHS_SV[a.month - 1]
    if a.year != b.year:
        head += f" {a.year}"
    label = (
        f"{head}–{_MONTHS_SV[b.month - 1]} {b.year}"
        if step > 1
        else f"{_MONTHS_SV[a.month - 1]} {a.year}"
    )
    keep = (
        months
        if present is None
        else sorted({pd.Timestamp(_day(m)).to_period("M") for m in present} & set(months))
    )
    if data_end is not None:
        keep = [m for m in keep if m.start_time.date() <= data_end]
    if not keep:
        return f"{label} (inga data)"
    if data_start is not None and keep[0].start_time.date() < data_start:
        label += " (ofullständiga data)"
    lo, hi = keep[0].start_time.date(), keep[-1].end_time.date()
    cut = data_end is not None and lo <= data_end < hi
    whole = len(keep) == len(months) and not cut
    if whole:
        return label
    if cut and data_end is not None:
        part = (
            f"{lo.day} {_MONTHS_SV[lo.month - 1]}–{data_end.day} {_MONTHS_SV[data_end.month - 1]}"
        )
    elif len(keep) == 1:
        part = _MONTHS_SV[keep[0].month - 1]
    else:
        part = f"{_MONTHS_SV[keep[0].month - 1]}–{_MONTHS_SV[keep[-1].month - 1]}"
    return f"{label} (endast {part})"


def default_period(occurred_at: pd.Series, months: int = 12) -> Period:
    """The last ``months`` whole months up to and including the month of the latest event."""
    times = pd.to_datetime(occurred_at.dropna())
    if times.empty:
        raise ConfigError("cannot choose a period: no event has a time — ingest events first")
    last = times.max().tz_convert(TIMEZONE).tz_localize(None).to_period("M")
    first = last - (months - 1)
    return Period.months(str(first), str(last))
