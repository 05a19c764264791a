"""Follow-up of a measure (uppföljning): did the events in its area change more than elsewhere?

A measure (:class:`Measure`) is an area — a stadsdel, a RegSO or a polygon — a start date,
an optional end and optional categories. Its effect is estimated by difference in
differences on monthly counts against comparison areas chosen by their pre-period only
(:func:`choose_comparison`), with a conditional Poisson model:

    y_t | y_t + c_t  ~  Binomial(y_t + c_t, p_t),   logit p_t = a + b · after_t

where ``y_t`` is the measure area's count in month ``t`` and ``c_t`` the comparison areas'
total. Conditioning on each month's total removes every month's common shock (the
citywide trend, the season, a gap in the feed) exactly, as month fixed effects would, and
``exp(b)`` is the ratio of the area's rate to the comparison's after the start against
before it — the DiD rate ratio. Over-dispersion is estimated from the Pearson residuals
(quasi-binomial, never below Poisson's), and the interval uses Student's t with the
residual degrees of freedom. The start month and months after ``end`` are left out.

A pre-trend check fits ``logit p_t = a + g · t`` on the months before the start: a
significant ``g`` (5 %) means the area already moved apart from its comparison, and the
conclusion is "kan inte avgöras". The stated power is the smallest change the design finds
four times in five at α = 0.05 (``(z₀.₉₇₅ + z₀.₈) · se`` on the log scale).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from trygghetskarta.errors import AnalysisError, SchemaError
from trygghetskarta.schema import TIMEZONE, Category, Layer

#: Kinds of measure areas.
AREA_KINDS = ("stadsdel", "regso", "polygon")
#: The columns of the measures file (``åtgärder.csv``), required first.
MEASURE_COLUMNS = ("id", "namn", "omradestyp", "omrade", "start")
OPTIONAL_COLUMNS = ("slut", "kategorier", "lager", "stadsdelsomrade", "beskrivning")

__all__ = [
    "AREA_KINDS",
    "MEASURE_COLUMNS",
    "OPTIONAL_COLUMNS",
    "FollowUp",
    "Measure",
    "MeasureError",
    "choose_comparison",
    "follow_up",
    "monthly_matrix",
    "parse_measures",
]


class MeasureError(SchemaError):
    """A row of the measures file breaks its contract."""


@dataclass(frozen=True)
class Measure:
    """One registered measure (åtgärd).

    Attributes
    ----------
    id, name
        Its short id and its name (text from the file: data, escaped where shown).
    area_kind
        ``stadsdel``, ``regso`` or ``polygon``.
    area
        The stadsdel's name, the RegSO's code, or the polygon file's path (as written).
    start, end
        First day, and last day (``None``: still running).
    categories
        Categories of :class:`~trygghetskarta.schema.Category` counted (empty: all).
    layer
        The layer counted (default police events).
    district
        The stadsdelsområde it belongs to, if given.
    description
        Free text.
    line
        The line of the file it came from.
    """

    id: str
    name: str
    area_kind: str
    area: str
    start: date
    end: date | None = None
    categories: tuple[str, ...] = ()
    layer: str = Layer.POLICE_EVENT.value
    district: str | None = None
    description: str = ""
    line: int = 0


def _date(text: str) -> date | None:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def parse_measures(
    frame: pd.DataFrame,
    *,
    source: str = "åtgärder.csv",
    stadsdelar: Sequence[str] = (),
    regso: Sequence[str] = (),
) -> list[Measure]:
    """Check the rows of a measures file and return them as :class:`Measure` values.

    Parameters
    ----------
    frame
        The file read as text (``pd.read_csv(path, dtype=str, keep_default_na=False)``).
    source
        The file's name, for messages.
    stadsdelar, regso
        The known stadsdel names and RegSO codes (empty: not checked).

    Returns
    -------
    list of Measure

    Raises
    ------
    MeasureError
        A missing column or a bad row: the message names the file, the line (the header
        is line 1), the column, what was expected and what came.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"id": ["m1"], "namn": ["Trygghetsvandring"],
    ...     "omradestyp": ["stadsdel"], "omrade": ["Rinkeby"], "start": ["2024-03-01"]})
    >>> measure = parse_measures(rows, stadsdelar=["Rinkeby", "Tensta"])[0]
    >>> measure.area, str(measure.start), measure.line
    ('Rinkeby', '2024-03-01', 2)
    >>> try:
    ...     parse_measures(rows.assign(start=["1 mars"]))
    ... except MeasureError as e:
    ...     print(str(e).replace(" — ", "\\n"))
    åtgärder.csv, line 2, column start: expected a date YYYY-MM-DD, got '1 mars'
    correct the file and run again
    """
    missing = [c for c in MEASURE_COLUMNS if c not in frame.columns]
    if missing:
        raise MeasureError(
            f"{source}, line 1: expected the columns {list(MEASURE_COLUMNS)} (and optionally "
            f"{list(OPTIONAL_COLUMNS)}), got {list(frame.columns)} — add {missing}"
        )
    known_sd, known_regso = set(stadsdelar), set(regso)
    categories = {c.value for c in Category}
    layers = {layer.value for layer in Layer}
    out: list[Measure] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for i, row in enumerate(frame.fillna("").astype(str).to_dict("records")):
        line = i + 2
        where = f"{source}, line {line}"

        def bad(column: str, expected: str, value: str, where: str = where) -> None:
            problems.append(f"{where}, column {column}: expected {expected}, got {value!r}")

        row = {k: v.strip() for k, v in row.items()}
        before = len(problems)
        if not row["id"]:
            bad("id", "a short id", row["id"])
        elif row["id"] in seen:
            bad("id", f"an id not used before (line {seen[row['id']]} has it)", row["id"])
        if not row["namn"]:
            bad("namn", "the measure's name", row["namn"])
        kind = row["omradestyp"]
        if kind not in AREA_KINDS:
            bad("omradestyp", f"one of {list(AREA_KINDS)}", kind)
        elif not row["omrade"]:
            bad("omrade", "a stadsdel name, a RegSO code or a polygon file", row["omrade"])
        elif kind == "stadsdel" and known_sd and row["omrade"] not in known_sd:
            bad("omrade", "a stadsdel as in the stadsdel column (e.g. 'Rinkeby')", row["omrade"])
        elif kind == "regso" and known_regso and row["omrade"] not in known_regso:
            bad("omrade", "a RegSO code of Stockholm (e.g. '0180R001')", row["omrade"])
        elif kind == "polygon" and not row["omrade"].lower().endswith((".geojson", ".gpkg")):
            bad("omrade", "a .geojson or .gpkg file next to the measures file", row["omrade"])
        start = _date(row["start"])
        if start is None:
            bad("start", "a date YYYY-MM-DD", row["start"])
        end = None
        if row.get("slut"):
            end = _date(row["slut"])
            if end is None:
                bad("slut", "a date YYYY-MM-DD or nothing", row["slut"])
            elif start is not None and end < start:
                bad("slut", f"a date on or after the start {start}", row["slut"])
        cats = tuple(c.strip() for c in row.get("kategorier", "").split(";") if c.strip())
        wrong = [c for c in cats if c not in categories]
        if wrong:
            bad(
                "kategorier",
                f"categories separated by ';' from {sorted(categories)}",
                ";".join(wrong),
            )
        layer = row.get("lager") or Layer.POLICE_EVENT.value
        if layer not in layers:
            bad("lager", f"one of {sorted(layers)} or nothing", layer)
        if len(problems) > before:
            continue
        seen[row["id"]] = line
        assert start is not None
        out.append(
            Measure(
                id=row["id"],
                name=row["namn"],
                area_kind=kind,
                area=row["omrade"],
                start=start,
                end=end,
                categories=cats,
                layer=layer,
                district=row.get("stadsdelsomrade") or None,
                description=row.get("beskrivning", ""),
                line=line,
            )
        )
    if problems:
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise MeasureError(f"{problems[0]}{more} — correct the file and run again")
    return out


def monthly_matrix(
    events: pd.DataFrame, *, unit: str, first: Any, last: Any, units: Sequence[str] | None = None
) -> pd.DataFrame:
    """Events per unit (rows) and month (columns, first days) from ``first`` to ``last``.

    Months are those starting on or after ``first`` and on or before ``last``; rows without
    a unit are left out.

    Examples
    --------
    >>> import pandas as pd
    >>> events = pd.DataFrame({"occurred_at": pd.to_datetime(
    ...     ["2024-10-03 12:00", "2024-10-30 23:30", "2024-11-02 01:00"]).tz_localize(
    ...     "Europe/Stockholm"), "stadsdel": ["A", "B", "A"]})
    >>> monthly_matrix(events, unit="stadsdel", first="2024-10-01", last="2024-12-01",
    ...                units=["A", "B", "C"]).to_numpy().tolist()
    [[1.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    """
    months = pd.date_range(pd.Timestamp(first), pd.Timestamp(last), freq="MS")
    times = pd.to_datetime(events["occurred_at"], utc=True).dt.tz_convert(TIMEZONE)
    month = times.dt.tz_localize(None).dt.to_period("M").dt.to_timestamp()
    frame = pd.DataFrame({"unit": events[unit].to_numpy(), "month": month.to_numpy()})
    frame = frame.dropna(subset=["unit"])
    table = frame.groupby(["unit", "month"]).size().unstack(fill_value=0)
    table = table.reindex(columns=months, fill_value=0)
    if units is not None:
        table = table.reindex(list(units), fill_value=0)
    return table.astype(float)


def choose_comparison(
    treated: np.ndarray, candidates: pd.DataFrame, k: int = 10, min_mean: float = 1.0
) -> list[str]:
    """The ``k`` candidates whose pre-period months move most like the measure area's.

    Candidates with fewer than ``min_mean`` events a month are left out; the others are
    ranked by the correlation of their 3-month sums with the area's (pre-period only),
    then by how close their level is.

    Parameters
    ----------
    treated
        The measure area's pre-period monthly counts.
    candidates
        Rows: candidate units; columns: the same pre-period months.

    Returns
    -------
    list of str

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> area = np.array([4, 6, 8, 6, 4, 6, 8, 6.0])
    >>> others = pd.DataFrame([area * 2, area[::-1], np.full(8, 0.5)], index=["a", "b", "c"])
    >>> choose_comparison(area, others, k=2)
    ['a', 'b']
    """
    pre = np.asarray(treated, dtype=float)
    rows = candidates[candidates.mean(axis=1) >= min_mean]
    if rows.empty:
        return []
    smooth = np.convolve(pre, np.ones(3), "valid")
    scores = []
    for name, values in rows.iterrows():
        other = np.convolve(values.to_numpy(float), np.ones(3), "valid")
        varied = smooth.std() > 0 and other.std() > 0
        r = float(np.corrcoef(smooth, other)[0, 1]) if varied else 0.0
        level = abs(np.log((values.mean() + 0.5) / (pre.mean() + 0.5)))
        scores.append((-r, level, str(name)))
    return [name for _, _, name in sorted(scores)[:k]]


def _binomial_fit(
    y: np.ndarray, n: np.ndarray, x: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Quasi-binomial logistic regression by IRLS: coefficients, covariance (scaled by the
    dispersion), dispersion and residual degrees of freedom."""
    beta = np.zeros(x.shape[1])
    p0 = np.clip(y.sum() / n.sum(), 1e-6, 1 - 1e-6)
    beta[0] = np.log(p0 / (1 - p0))
    for _ in range(100):
        eta = x @ beta
        p = 1 / (1 + np.exp(-eta))
        weights = n * p * (1 - p) + 1e-12
        z = eta + (y - n * p) / weights
        xtw = x.T * weights
        new = np.linalg.solve(xtw @ x + 1e-10 * np.eye(x.shape[1]), xtw @ z)
        if np.max(np.abs(new - beta)) < 1e-10:
            beta = new
            break
        beta = new
    p = 1 / (1 + np.exp(-(x @ beta)))
    weights = n * p * (1 - p) + 1e-12
    df = len(y) - x.shape[1]
    pearson = float((((y - n * p) ** 2) / weights).sum())
    phi = max(1.0, pearson / df) if df > 0 else 1.0
    cov = np.linalg.inv((x.T * weights) @ x) * phi
    return beta, cov, phi, df


@dataclass(frozen=True)
class FollowUp:
    """The follow-up of one measure.

    Attributes
    ----------
    ratio, low, high
        The DiD rate ratio (after ÷ before, area ÷ comparison) and its confidence interval.
    p_value
        Of no change (two-sided).
    pretrend_p
        Of no diverging trend before the start.
    detectable
        The smallest change (as a ratio below 1) found with 80 % power at ``alpha``.
    before, after
        The area's events in the months before and after used.
    comparison
        The comparison units.
    conclusion
        One plain Swedish sentence.
    verdict
        ``minskning``, ``ökning``, ``ingen säker förändring`` or ``kan inte avgöras``.
    monthly
        ``month, area, comparison, after`` per month used.
    """

    ratio: float
    low: float
    high: float
    p_value: float
    pretrend_p: float
    detectable: float
    before: int
    after: int
    comparison: tuple[str, ...]
    conclusion: str
    verdict: str
    alpha: float = 0.05
    months_before: int = 0
    months_after: int = 0
    monthly: pd.DataFrame = field(default_factory=pd.DataFrame)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (without the monthly table)."""
        return {
            "ratio": self.ratio,
            "low": self.low,
            "high": self.high,
            "p_value": self.p_value,
            "pretrend_p": self.pretrend_p,
            "detectable": self.detectable,
            "before": self.before,
            "after": self.after,
            "months_before": self.months_before,
            "months_after": self.months_after,
            "comparison": "; ".join(self.comparison),
            "verdict": self.verdict,
            "conclusion": self.conclusion,
        }


def _pct(ratio: float) -> str:
    return f"{abs(ratio - 1) * 100:.0f}".replace("-", "−")


def follow_up(
    treated: pd.Series,
    candidates: pd.DataFrame,
    *,
    start: Any,
    end: Any = None,
    pre_months: int = 24,
    k: int = 10,
    alpha: float = 0.05,
    min_events: int = 10,
    comparison: Sequence[str] | None = None,
) -> FollowUp:
    """Estimate a measure's effect against comparison areas (difference in differences).

    Parameters
    ----------
    treated
        The measure area's events per month (index: first days of months).
    candidates
        Events per month of the areas it may be compared with (rows: units; columns: the
        same months), without the measure area and its neighbours if spill-over is feared.
    start, end
        The measure's first and last day (``end`` ``None``: until the last month given).
    pre_months
        Months before the start used (at most).
    k
        Comparison areas chosen (by the pre-period only, :func:`choose_comparison`).
    alpha
        Significance level of the interval and the checks.
    min_events
        Fewer of the area's events than this before or after: "kan inte avgöras".
    comparison
        Use these units instead of choosing them.

    Returns
    -------
    FollowUp

    Raises
    ------
    AnalysisError
        No month before or after the start among those given, or no comparison area.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> months = pd.date_range("2022-01-01", periods=36, freq="MS")
    >>> shock = np.exp(0.3 * np.sin(np.arange(36) / 2))  # shared by every area
    >>> others = pd.DataFrame(rng.poisson(np.outer([5, 6, 8, 10, 12], shock)),
    ...                       index=list("abcde"), columns=months)
    >>> halved = np.where(months >= "2024-01-01", 0.5, 1.0)
    >>> area = pd.Series(rng.poisson(10 * shock * halved), index=months)
    >>> result = follow_up(area, others, start="2024-01-01")
    >>> result.verdict, round(result.ratio, 2)
    ('minskning', 0.39)
    >>> print(result.conclusion.replace(" (", "\\n("))
    Händelserna minskade med 61 % jämfört med jämförelseområdena
    (95 % konfidensintervall: −74 till −43 %).
    """
    start = pd.Timestamp(start)
    first_after = (start + pd.offsets.MonthBegin(1)) if start.day > 1 else start
    start_month = start.to_period("M").to_timestamp()
    months = pd.DatetimeIndex(treated.index)
    before_mask = (months < start_month) & (
        months >= start_month - pd.DateOffset(months=pre_months)
    )
    after_mask = months >= first_after
    if end is not None:
        after_mask &= months <= pd.Timestamp(end).to_period("M").to_timestamp()
    if not before_mask.any() or not after_mask.any():
        raise AnalysisError(
            f"the follow-up needs months before and after the start {start.date()}, got "
            f"{months.min():%Y-%m} to {months.max():%Y-%m} — wait for data after the start "
            "or give a measure that started later than the data begin"
        )
    y_all = treated.to_numpy(float)
    cand = candidates.reindex(columns=months, fill_value=0)
    chosen = (
        list(comparison)
        if comparison is not None
        else choose_comparison(y_all[before_mask], cand.loc[:, before_mask], k=k)
    )
    if not chosen:
        raise AnalysisError(
            "no comparison area has enough events before the start (at least one a month) — "
            "follow the measure up on a larger area or a longer period"
        )
    control = cand.loc[chosen].sum(axis=0).to_numpy(float)
    use = (before_mask | after_mask) & ((y_all + control) > 0)
    y, c, post = y_all[use], control[use], after_mask[use].astype(float)
    n = y + c
    before_n, after_n = int(y[post == 0].sum()), int(y[post == 1].sum())
    monthly = pd.DataFrame(
        {"month": months[use], "area": y, "comparison": c, "after": post.astype(bool)}
    )
    x = np.column_stack([np.ones(len(y)), post])
    beta, cov, _, df = _binomial_fit(y, n, x)
    se = float(np.sqrt(cov[1, 1]))
    df = max(df, 1)
    tq = stats.t.ppf(1 - alpha / 2, df)
    bounds = (beta[1], beta[1] - tq * se, beta[1] + tq * se)
    ratio, low, high = (float(np.exp(np.clip(v, -50, 50))) for v in bounds)
    p_value = float(2 * stats.t.sf(abs(beta[1]) / se, df)) if se > 0 else 1.0
    pre = post == 0
    trend_p = 1.0
    if pre.sum() >= 6 and (y[pre] > 0).any():
        t = np.arange(len(y))[pre] / 12.0
        tb, tcov, _, tdf = _binomial_fit(y[pre], n[pre], np.column_stack([np.ones(pre.sum()), t]))
        tse = float(np.sqrt(tcov[1, 1]))
        trend_p = float(2 * stats.t.sf(abs(tb[1]) / tse, max(tdf, 1))) if tse > 0 else 1.0
    detectable = _detectable(beta, cov, y, c, post, alpha, df)
    share = f"{(1 - alpha) * 100:.0f} % konfidensintervall"
    interval = f"{_signed(low)} till {_signed(high)}"
    if before_n < min_events or after_n < min_events:
        verdict = "kan inte avgöras"
        # No counts in the sentence: a lägesbild shows it, and a public page shows no
        # count under five (the counts are in ``before`` and ``after``).
        text = (
            f"Kan inte avgöras: för få händelser i området (minst {min_events} före och "
            f"{min_events} efter starten behövs)."
        )
    elif trend_p < alpha:
        verdict = "kan inte avgöras"
        text = (
            "Kan inte avgöras: området utvecklades redan före starten annorlunda än "
            "jämförelseområdena, så en skillnad efteråt kan inte tillskrivas åtgärden."
        )
    elif high < 1:
        verdict = "minskning"
        text = (
            f"Händelserna minskade med {_pct(ratio)} % jämfört med jämförelseområdena "
            f"({share}: {interval} %)."
        )
    elif low > 1:
        verdict = "ökning"
        text = (
            f"Händelserna ökade med {_pct(ratio)} % jämfört med jämförelseområdena "
            f"({share}: {interval} %)."
        )
    else:
        verdict = "kan inte avgöras"
        text = (
            f"Kan inte avgöras: förändringen jämfört med jämförelseområdena ({_signed(ratio)} %, "
            f"{share}: {interval} %) kan vara slumpen; data räcker för att upptäcka en "
            f"minskning på omkring {_pct(detectable)} % eller mer."
        )
    return FollowUp(
        ratio=ratio,
        low=low,
        high=high,
        p_value=p_value,
        pretrend_p=trend_p,
        detectable=detectable,
        before=before_n,
        after=after_n,
        comparison=tuple(chosen),
        conclusion=text,
        verdict=verdict,
        alpha=alpha,
        months_before=int(pre.sum()),
        months_after=int((post == 1).sum()),
        monthly=monthly,
    )


def _detectable(
    beta: np.ndarray,
    cov: np.ndarray,
    y: np.ndarray,
    c: np.ndarray,
    post: np.ndarray,
    alpha: float,
    df: int,
) -> float:
    """The smallest fall (a ratio below 1) found with 80 % power at ``alpha``.

    Solves ``log δ = −(t₁₋α/₂ + t₀.₈) · se(δ)``, where ``se(δ)`` is the estimate's
    standard error if the area's rate had fallen by ``δ`` after the start: fewer events
    after the start, so less information (the months' comparison counts ``c`` held, the
    dispersion as estimated).
    """
    n = y + c
    pre = post == 0
    p0 = 1 / (1 + np.exp(-beta[0]))
    info0 = float((n[pre] * p0 * (1 - p0)).sum())
    x = np.column_stack([np.ones(len(y)), post])
    weights = n * (1 / (1 + np.exp(-(x @ beta))))
    weights *= 1 - weights / np.maximum(n, 1e-12)
    unscaled = np.linalg.inv((x.T * weights) @ x)[1, 1]
    phi = float(cov[1, 1] / unscaled) if unscaled > 0 else 1.0
    z = stats.t.ppf(1 - alpha / 2, df) + stats.t.ppf(0.8, df)
    delta = 0.5
    for _ in range(50):
        odds1 = delta * p0 / (1 - p0)
        p1 = odds1 / (1 + odds1)
        info1 = float((c[~pre] / (1 - p1) * p1 * (1 - p1)).sum())
        if info0 <= 0 or info1 <= 0:
            return 0.0
        new = float(np.exp(-z * np.sqrt(phi * (1 / info0 + 1 / info1))))
        if abs(new - delta) < 1e-6:
            break
        delta = new
    return delta


def _signed(ratio: float) -> str:
    """A ratio as a signed percent change, Swedish style: "−12", "+8"."""
    value = (ratio - 1) * 100
    return f"{'+' if value >= 0 else '−'}{abs(value):.0f}"
