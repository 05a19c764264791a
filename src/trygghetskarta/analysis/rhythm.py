"""Rhythm of the year and of the week: seasonal baseline and hour × weekday profile.

- :func:`seasonal_baseline`: each month against the same calendar month in earlier
  years, flagged when it is above that baseline by more than chance.
- :func:`hour_weekday`: the hour × weekday profile (7 × 24, Monday first, Stockholm
  local time) that an orsaksanalys starts from.

Both are pure functions on frames; monthly counts come from
:func:`~trygghetskarta.analysis.rates.monthly_series` or
:func:`~trygghetskarta.analysis.trends.monthly_counts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy.stats import binom, false_discovery_control, poisson

from trygghetskarta.analysis._frames import columns, filled_keys, local_naive, require
from trygghetskarta.errors import AnalysisError

#: Weekday names, Monday first (the order of :func:`hour_weekday`'s rows).
WEEKDAYS_SV = ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag")

BaselineTest = Literal["conditional", "poisson"]

__all__ = ["WEEKDAYS_SV", "HourWeekday", "hour_weekday", "seasonal_baseline"]


def seasonal_baseline(
    monthly: pd.DataFrame,
    *,
    by: str | Sequence[str] = ("stadsdelsomrade", "category"),
    years: int = 3,
    min_years: int = 1,
    test: BaselineTest = "conditional",
    alpha: float = 0.05,
    fdr: bool = True,
) -> pd.DataFrame:
    """Each month against the mean of the same calendar month in earlier years.

    The baseline of March 2025 is the mean count of March 2024, 2023 and 2022 (up to
    ``years`` earlier years that the frame covers). This takes out the season without a
    model: no trend, no smoothing, nothing to fit, and with three or four years of data
    it is what can be defended. A month is flagged when its count is above the baseline
    by more than chance:

    - ``test="conditional"`` (default): the exact test of equal Poisson rates, which
      allows for the baseline being itself an estimate from ``k`` months: given the
      month's count ``x`` and the ``k`` earlier months' sum ``s``, ``x ~ Binomial(x + s,
      1 / (k + 1))`` if the rate did not change; ``p = P(X >= x)``.
    - ``test="poisson"``: ``x ~ Poisson(baseline)``, the baseline taken as known
      (smaller p-values; flags more months when the baseline rests on one or two years).

    With ``fdr=True`` the p-values are corrected for testing many months and groups at
    once (Benjamini–Hochberg over all rows tested) and the flag uses the q-value.

    Parameters
    ----------
    monthly
        Columns ``month``, ``count`` and ``by`` — :func:`monthly_series` or
        :func:`~trygghetskarta.analysis.trends.monthly_counts` output, every month of
        the covered range present (a missing month counts as not covered).
    by
        The group columns.
    years
        At most this many earlier years make the baseline.
    min_years
        Months with fewer earlier years get no baseline (NaN) and no flag.
    test
        ``"conditional"`` or ``"poisson"``.
    alpha
        Significance level of the flag.
    fdr
        Control the false discovery rate over all rows tested.

    Returns
    -------
    pandas.DataFrame
        ``monthly`` with ``baseline``, ``baseline_years``, ``ratio_to_baseline``,
        ``p_value``, ``q_value`` (equal to ``p_value`` without ``fdr``) and
        ``above_baseline`` (bool).

    Examples
    --------
    >>> m = pd.DataFrame({"month": pd.to_datetime(["2023-03-01", "2024-03-01", "2025-03-01"]),
    ...                   "d": ["A"] * 3, "count": [10, 12, 40]})
    >>> out = seasonal_baseline(m, by="d", fdr=False)
    >>> out["baseline"].tolist()[1:], bool(out["above_baseline"].iloc[2])
    ([10.0, 11.0], True)
    """
    cols = columns(by)
    require(monthly, ["month", "count", *cols], "monthly")
    if int(years) != years or years < 1 or int(min_years) != min_years or min_years < 1:
        raise AnalysisError(
            f"expected whole years >= 1, got years={years!r}, min_years={min_years!r}"
        )
    if test not in ("conditional", "poisson"):
        raise AnalysisError(f"expected test 'conditional' or 'poisson', got {test!r}")
    out = monthly.reset_index(drop=True).copy()
    keyed = filled_keys(out[["month", *cols, "count"]], cols)
    total = np.zeros(len(out))
    k = np.zeros(len(out), dtype=np.int64)
    for back in range(1, int(years) + 1):
        earlier = keyed.copy()
        earlier["month"] = earlier["month"] + pd.DateOffset(years=back)
        hit = keyed[["month", *cols]].merge(earlier, on=["month", *cols], how="left")["count"]
        present = hit.notna().to_numpy()
        total[present] += hit.to_numpy(dtype=float)[present]
        k += present
    enough = k >= int(min_years)
    count = out["count"].to_numpy(dtype=float)
    baseline = np.where(enough, total / np.maximum(k, 1), np.nan)
    p = np.full(len(out), np.nan)
    if test == "conditional":
        n = count + total
        p[enough] = np.where(
            n[enough] > 0,
            binom.sf(count[enough] - 1, n[enough], 1.0 / (k[enough] + 1.0)),
            1.0,
        )
    else:
        p[enough] = poisson.sf(count[enough] - 1, baseline[enough])
    q = p.copy()
    if fdr and enough.any():
        q[enough] = false_discovery_control(p[enough], method="bh")
    out["baseline"] = baseline
    out["baseline_years"] = k
    with np.errstate(divide="ignore", invalid="ignore"):
        out["ratio_to_baseline"] = np.where(baseline > 0, count / baseline, np.nan)
    out["p_value"] = p
    out["q_value"] = q
    out["above_baseline"] = enough & (count > baseline) & (q <= alpha)
    return out


@dataclass(frozen=True)
class HourWeekday:
    """Events per weekday and hour of day (Stockholm local time).

    Attributes
    ----------
    counts
        Long frame: the ``by`` columns, ``weekday`` (0 = Monday … 6 = Sunday),
        ``hour`` (0–23) and ``count``; 168 rows per group, zeros included.
    unknown
        The ``by`` columns and ``n_unknown_time``: events left out for lack of a time
        of day, per group (groups with none included).
    by
        The grouping columns (empty for one profile).
    """

    counts: pd.DataFrame
    unknown: pd.DataFrame
    by: tuple[str, ...]

    @property
    def n_events(self) -> int:
        """Events in the profile."""
        return int(self.counts["count"].sum())

    @property
    def n_unknown_time(self) -> int:
        """Events left out for lack of a time of day."""
        return int(self.unknown["n_unknown_time"].sum())

    def matrix(self, **group: object) -> np.ndarray:
        """The 7 × 24 counts (rows Monday … Sunday, columns hours 0–23) of one group.

        Parameters
        ----------
        **group
            A value per ``by`` column (none for an ungrouped profile; a subset sums over
            the rest).
        """
        unknown = sorted(set(group) - set(self.by))
        if unknown:
            raise AnalysisError(f"expected groups among {list(self.by)}, got {unknown}")
        rows = self.counts
        for column, value in group.items():
            rows = rows[rows[column] == value]
        out = np.zeros((7, 24), dtype=np.int64)
        np.add.at(
            out, (rows["weekday"].to_numpy(), rows["hour"].to_numpy()), rows["count"].to_numpy()
        )
        return out

    def to_frame(self, **group: object) -> pd.DataFrame:
        """:meth:`matrix` as a frame with weekday names as index and hours as columns."""
        return pd.DataFrame(
            self.matrix(**group),
            index=pd.Index(WEEKDAYS_SV, name="weekday"),
            columns=pd.Index(range(24), name="hour"),
        )


def hour_weekday(
    events: pd.DataFrame,
    *,
    by: str | Sequence[str] = (),
    time_known: str | pd.Series | None = None,
    time_column: str = "occurred_at",
) -> HourWeekday:
    """The hour × weekday profile an orsaksanalys starts from.

    Parameters
    ----------
    events
        One row per event with a tz-aware ``time_column`` (converted to
        Europe/Stockholm, so summer and winter time both give local clock hours).
    by
        Optional grouping columns (e.g. ``("stadsdelsomrade", "category")``).
    time_known
        A boolean column name or Series: False for events whose time of day is not
        known (a date-only report). Events with no time at all are always left out.
    time_column
        The event time.

    Returns
    -------
    HourWeekday

    Examples
    --------
    >>> t = pd.Series(pd.to_datetime(["2024-06-03 22:30", "2024-06-09 08:00"])).dt.tz_localize(
    ...     "Europe/Stockholm")
    >>> prof = hour_weekday(pd.DataFrame({"occurred_at": t}))
    >>> int(prof.matrix()[0, 22]), int(prof.matrix()[6, 8])
    (1, 1)
    """
    cols = columns(by)
    require(events, [time_column, *cols])
    frame = filled_keys(events[[time_column, *cols]], cols)
    local = local_naive(frame[time_column], time_column)
    known = local.notna()
    if time_known is not None:
        flag = events[time_known] if isinstance(time_known, str) else time_known
        if len(flag) != len(events):
            raise AnalysisError(f"expected one time_known value per event, got {len(flag)}")
        known &= pd.Series(flag.to_numpy(), index=frame.index).fillna(False).astype(bool)
    frame["weekday"] = local.dt.day_of_week
    frame["hour"] = local.dt.hour
    levels = [sorted(frame[c].unique(), key=str) for c in cols]
    groups = pd.MultiIndex.from_product(levels, names=cols) if cols else None
    index = pd.MultiIndex.from_product(
        [*levels, range(7), range(24)], names=[*cols, "weekday", "hour"]
    )
    good = frame[known.to_numpy()]
    counts = (
        good.groupby([*cols, "weekday", "hour"]).size().reindex(index, fill_value=0)
        if len(good)
        else pd.Series(0, index=index)
    )
    counts = counts.astype("int64").rename("count").reset_index()
    missing = frame[~known.to_numpy()]
    if cols:
        unknown = missing.groupby(cols).size().reindex(groups, fill_value=0)
        unknown = unknown.astype("int64").rename("n_unknown_time").reset_index()
    else:
        unknown = pd.DataFrame({"n_unknown_time": [len(missing)]}, dtype="int64")
    return HourWeekday(counts=counts, unknown=unknown, by=tuple(cols))
