"""Rates per 1 000 inhabitants for crime statistics, in the district scheme in force, and
the checks that reconcile the statistics with each other.

Pure functions on the ``crime_stats`` frame (``sources.bra``) and a ``population`` frame
(``sources.population`` or ``areas.load_population``: ``area, level, year, population``
and optionally ``reference_date``, ``forecast``).

Conventions, both measured on the real data (see ``tests/test_crime_rates.py``):

- **The city yearbook** divides a year's count by the population on 31 December of the
  *same* year (``convention="year_end"``): Järva 2024, 15 950 / 95 220 × 1 000 =
  167.5068…, printed 168 (one decimal: 167.5).
- **Brå**, for stadsdelsområden, divides by the population on 31 December of the
  *previous* year (``convention="previous_year_end"``), monthly and yearly alike: Bromma
  2025, 10 989 / 83 118 × 100 000 = 13 221 as printed; every monthly 2021 rate of the nine
  unchanged districts is reproduced from the yearbook's 2020 population. For the kommun
  its 2021 rates imply 977 142–977 279 inhabitants (:func:`implied_population_bounds`),
  above 31 December 2020 (975 551): a mean population of the year, as Brå's tables have
  long said ("per 100 000 av medelfolkmängden") — not in the data here to reproduce.

Districts: a figure for 2021–2023 belongs to the 13-area scheme and one from 2024 to the
11-area scheme (:mod:`trygghetskarta.districts`). :func:`to_scheme_11` sums 13-area counts
into the 11 areas (Järva = Rinkeby-Kista + Spånga-Tensta, Norra innerstaden = Norrmalm +
Östermalm) for series across 2024.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

import numpy as np
import pandas as pd

from trygghetskarta import districts as d
from trygghetskarta.errors import AnalysisError, SchemaError

Convention = Literal["year_end", "previous_year_end"]
#: The population level that holds each area scheme's inhabitants.
POPULATION_LEVEL = {
    d.SCHEME_SDO_13: "stadsdelsomrade",
    d.SCHEME_SDO_11: "stadsdelsomrade",
    d.SCHEME_KOMMUN: "kommun",
    d.SCHEME_REGION: "region",
    d.SCHEME_COUNTY: "county",
    d.SCHEME_COUNTRY: "country",
}
RATE_UNITS = {1000: "per_1000", 100_000: "per_100k"}
_KEY = ["source", "area_scheme", "area", "period_start", "period_end", "category_key"]


def _require(frame: pd.DataFrame, needed: Sequence[str], what: str) -> None:
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"the {what} frame lacks the columns {missing} (it has {list(frame.columns)}) — "
            f"pass the frame from sources.{'bra' if what == 'crime_stats' else 'population'}"
        )


def round_half_up(values: float | Sequence[float] | np.ndarray, decimals: int = 1) -> np.ndarray:
    """Round as Excel's ROUND and the printed yearbook do: halves away from zero.

    Python's :func:`round` rounds halves to even (``round(0.125, 2) == 0.12``); Excel
    rounds the shortest decimal form of the number, halves up (``0.13``).

    >>> round_half_up([167.50682629699642, 203.5117429744047, 0.125, 2.5], 1).tolist()
    [167.5, 203.5, 0.1, 2.5]
    >>> round_half_up([0.125, 2.5, -2.5], [2, 0, 0]).tolist()
    [0.13, 3.0, -3.0]
    """
    arr = np.atleast_1d(np.asarray(values, dtype=float))
    dec = np.broadcast_to(np.asarray(decimals), arr.shape)
    out = np.full(arr.shape, np.nan)
    for i, (x, n) in enumerate(zip(arr.ravel(), dec.ravel(), strict=True)):
        if np.isfinite(x):
            q = Decimal(1).scaleb(-int(n))
            out.flat[i] = float(Decimal(repr(float(x))).quantize(q, rounding=ROUND_HALF_UP))
    return out


def rate(count: object, population: object, per: float = 1000) -> np.ndarray:
    """``count / population × per`` at full precision; NaN where either is missing or the
    population is not positive.

    >>> rate([15950, 202611], [95220, 995574]).round(4).tolist()
    [167.5068, 203.5117]
    """
    c = pd.to_numeric(pd.Series(np.atleast_1d(count), dtype=object), errors="coerce").astype(float)
    p = pd.to_numeric(pd.Series(np.atleast_1d(population), dtype=object), errors="coerce")
    p = p.astype(float).where(lambda s: s > 0)
    return (c.to_numpy() / p.to_numpy()) * per


def implied_population(count: object, rate_value: object, per: float = 100_000) -> np.ndarray:
    """The population a published rate was computed with: ``count × per / rate``.

    A rate printed as a whole number carries ± 0.5 of rounding, so the answer is good to
    about ``0.5 / rate`` relative; sum counts and rates over months before dividing.

    >>> implied_population(10989, 13221).round().tolist()
    [83118.0]
    """
    c = np.atleast_1d(np.asarray(count, dtype=float))
    r = np.atleast_1d(np.asarray(rate_value, dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(r > 0, c * per / r, np.nan)


def implied_population_bounds(
    count: object, rate_value: object, per: float = 100_000, *, decimals: int = 0
) -> tuple[float, float]:
    """The population interval consistent with many published (rounded) rates at once.

    Each pair says ``rate − h ≤ count × per / population < rate + h`` with ``h`` half a unit
    of the last printed decimal; the answer is the intersection over all pairs with a
    positive rate. Twelve monthly rates of a district pin its population to a few dozen.

    Returns
    -------
    tuple of float
        ``(low, high)``; ``low > high`` when no single population fits every rate.

    >>> low, high = implied_population_bounds([10989, 210], [13221, 253])
    >>> round(low), round(high)
    (83115, 83121)
    """
    c = np.atleast_1d(np.asarray(count, dtype=float))
    r = np.atleast_1d(np.asarray(rate_value, dtype=float))
    h = 0.5 * 10.0**-decimals
    ok = np.isfinite(c) & np.isfinite(r) & (r > h)
    if not ok.any():
        return float("nan"), float("nan")
    low = np.max(c[ok] * per / (r[ok] + h))
    high = np.min(c[ok] * per / (r[ok] - h))
    return float(low), float(high)


# --------------------------------------------------------------------------- schemes


def to_scheme_11(stats: pd.DataFrame) -> pd.DataFrame:
    """Carry 13-area figures into the 11 areas; other rows are returned unchanged.

    The nine unchanged districts are renamed in place (their rates kept). Järva and Norra
    innerstaden get the sum of their two parts' counts per source, period and category;
    their rates cannot be summed and are left empty (compute them with :func:`add_rates`).
    A sum is ``suppressed`` when a part is, ``preliminary`` when a part is, and only formed
    when both parts are present (``note`` says which part is missing otherwise).

    Parameters
    ----------
    stats
        A ``crime_stats`` frame.

    Returns
    -------
    pd.DataFrame
        The same columns; former 13-area rows now have ``area_scheme == "sdo_11"`` and
        ``area_raw`` naming their parts.
    """
    _require(stats, [*_KEY, "count", "rate", "suppressed", "preliminary"], "crime_stats")
    is13 = stats["area_scheme"] == d.SCHEME_SDO_13
    rest = stats[~is13]
    old = stats[is13].copy()
    old["_target"] = old["area"].map(d.SDO_13_TO_11)
    merged_names = {
        t for t in d.SDO_13_TO_11.values() if list(d.SDO_13_TO_11.values()).count(t) > 1
    }
    same = old[~old["_target"].isin(merged_names)].copy()
    same["area_scheme"] = d.SCHEME_SDO_11
    parts = old[old["_target"].isin(merged_names)]
    rows = []
    keys = ["source", "_target", "period_start", "period_end", "category_key"]
    for key, group in parts.groupby(keys, sort=True, dropna=False):
        target = key[1]
        wanted = sorted(a for a, t in d.SDO_13_TO_11.items() if t == target)
        have = sorted(group["area"].unique())
        first = group.iloc[0].to_dict()
        complete = have == wanted
        suppressed = bool(group["suppressed"].any())
        total = group["count"].sum() if complete and not suppressed else pd.NA
        if complete and group["count"].isna().any():
            total = pd.NA
        first.update(
            area=target,
            area_scheme=d.SCHEME_SDO_11,
            area_raw=" + ".join(have),
            count=total,
            rate=pd.NA,
            rate_unit=pd.NA,
            suppressed=suppressed,
            preliminary=bool(group["preliminary"].any()),
            source_line=pd.NA,
            note=(
                f"sum of {' + '.join(wanted)}"
                if complete
                else f"incomplete: {', '.join(sorted(set(wanted) - set(have)))} missing"
            ),
        )
        rows.append(first)
    summed = pd.DataFrame(rows, columns=[*stats.columns, "_target"])
    out = pd.concat([rest, same, summed], ignore_index=True)
    mask = out["_target"].notna() if "_target" in out else pd.Series(False, index=out.index)
    out.loc[mask, "area"] = out.loc[mask, "_target"]
    out = out.drop(columns="_target", errors="ignore")
    return out.astype(stats.dtypes.to_dict(), errors="ignore")[list(stats.columns)]


def compare_schemes(stats: pd.DataFrame) -> pd.DataFrame:
    """13-area counts summed into the 11 areas beside the 11-area figure a source gives for
    the same period and category (Brå's "framtagen i efterhand"), where both exist.

    Returns
    -------
    pd.DataFrame
        ``source, area, period_start, period_end, category_key, summed_13, given_11,
        difference`` (given − summed); empty when no period has both.
    """
    carried = to_scheme_11(stats[stats["area_scheme"] == d.SCHEME_SDO_13])
    given = stats[stats["area_scheme"] == d.SCHEME_SDO_11]
    keys = ["source", "area", "period_start", "period_end", "category_key"]
    both = carried[[*keys, "count"]].merge(
        given[[*keys, "count"]], on=keys, suffixes=("_13", "_11")
    )
    both = both.rename(columns={"count_13": "summed_13", "count_11": "given_11"})
    both["difference"] = both["given_11"] - both["summed_13"]
    return both.dropna(subset=["summed_13", "given_11"]).reset_index(drop=True)


# --------------------------------------------------------------------------- population


def _population_table(population: pd.DataFrame) -> pd.DataFrame:
    _require(population, ["area", "level", "year", "population"], "population")
    pop = population.copy()
    if "forecast" in pop:
        pop = pop[~pop["forecast"].fillna(False).astype(bool)]
    if "reference_date" in pop:
        pop["reference_date"] = pd.to_datetime(pop["reference_date"])
    else:
        pop["reference_date"] = pd.to_datetime(pop["year"].astype(int).astype(str) + "-12-31")
    pop["_year"] = pop["reference_date"].dt.year
    pop["_year_end"] = (pop["reference_date"].dt.month == 12) & (pop["reference_date"].dt.day == 31)
    # within a year, 31 December first
    pop = pop.sort_values(
        ["area", "level", "_year", "_year_end"], ascending=[True, True, True, False]
    )
    return pop.drop_duplicates(["area", "level", "_year"])


def attach_population(
    stats: pd.DataFrame,
    population: pd.DataFrame,
    *,
    convention: Convention = "year_end",
    max_year_gap: int = 0,
) -> pd.DataFrame:
    """Add ``population``, ``population_date`` and ``population_level`` to each statistic.

    Parameters
    ----------
    stats
        A ``crime_stats`` frame.
    population
        Population per area, level and year (31 December unless ``reference_date`` says
        otherwise; forecasts are ignored).
    convention
        ``"year_end"``: 31 December of the statistic's year (the city yearbook);
        ``"previous_year_end"``: 31 December of the year before (Brå).
    max_year_gap
        Use the nearest year within this many years when the wanted year has no figure
        (earlier years first); 0 (default) never substitutes. ``population_date`` always
        shows the figure used.

    Returns
    -------
    pd.DataFrame
        ``stats`` with the three columns; population is NA where none qualifies (former
        stadsdelar, years without a figure).
    """
    _require(stats, ["area", "area_scheme", "year"], "crime_stats")
    if convention not in ("year_end", "previous_year_end"):
        raise AnalysisError(
            f"expected convention 'year_end' or 'previous_year_end', got {convention!r}"
        )
    pop = _population_table(population)
    out = stats.copy()
    out["population_level"] = out["area_scheme"].map(POPULATION_LEVEL).astype("string")
    wanted = out["year"].astype("Int64") - (1 if convention == "previous_year_end" else 0)
    out["population"] = pd.array([pd.NA] * len(out), dtype="Int64")
    out["population_date"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[s]")
    lookup = {
        (a, lv, y): (p, dt)
        for a, lv, y, p, dt in pop[
            ["area", "level", "_year", "population", "reference_date"]
        ].itertuples(index=False)
    }
    years_of: dict[tuple[str, str], list[int]] = {}
    for a, lv, y in lookup:
        years_of.setdefault((a, lv), []).append(y)
    for idx, area, level, year in zip(
        out.index, out["area"], out["population_level"], wanted, strict=True
    ):
        if pd.isna(level) or pd.isna(year):
            continue
        hit = lookup.get((area, level, int(year)))
        if hit is None and max_year_gap > 0:
            near = sorted(
                (abs(y - int(year)), y)
                for y in years_of.get((area, level), [])
                if abs(y - int(year)) <= max_year_gap
            )
            hit = lookup[(area, level, near[0][1])] if near else None
        if hit is not None:
            out.at[idx, "population"] = int(hit[0])
            out.at[idx, "population_date"] = hit[1]
    return out


def add_rates(
    stats: pd.DataFrame,
    population: pd.DataFrame,
    *,
    per: int = 1000,
    convention: Convention = "year_end",
    scheme: Literal["in_force", "sdo_11"] = "in_force",
    max_year_gap: int = 0,
) -> pd.DataFrame:
    """Rates per ``per`` inhabitants computed from counts and population.

    Parameters
    ----------
    stats
        A ``crime_stats`` frame; rows without a count get no rate.
    population
        See :func:`attach_population`.
    per
        1 000 (default, the yearbook) or 100 000 (Brå).
    convention, max_year_gap
        See :func:`attach_population`.
    scheme
        ``"in_force"`` keeps each district figure in the scheme in force in its period
        (13 areas before 2024, 11 from 2024) and leaves out figures a source computed
        afterwards for a scheme not yet in force; ``"sdo_11"`` carries 2021–2023 figures
        into the 11 areas first (:func:`to_scheme_11`), for series across 2024.

    Returns
    -------
    pd.DataFrame
        ``stats`` with ``population_level``, ``population``, ``population_date``,
        ``computed_rate`` (full precision; round with :func:`round_half_up`) and
        ``computed_rate_unit``.
    """
    _require(stats, [*_KEY, "year", "count"], "crime_stats")
    if per not in RATE_UNITS:
        raise AnalysisError(f"expected per=1000 or per=100000, got {per}")
    if scheme == "sdo_11":
        frame = to_scheme_11(stats)
    elif scheme == "in_force":
        district = stats["area_scheme"].isin([d.SCHEME_SDO_13, d.SCHEME_SDO_11])
        in_force = stats["period_start"].map(lambda t: d.scheme_in_force(pd.Timestamp(t).date()))
        frame = stats[~district | (stats["area_scheme"] == in_force)]
    else:
        raise AnalysisError(f"expected scheme 'in_force' or 'sdo_11', got {scheme!r}")
    out = attach_population(frame, population, convention=convention, max_year_gap=max_year_gap)
    out["computed_rate"] = pd.array(rate(out["count"], out["population"], per), dtype="Float64")
    out["computed_rate_unit"] = RATE_UNITS[per]
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------- reconciliation


def district_sum_vs_city(stats: pd.DataFrame, *, city: str = "Stockholm") -> pd.DataFrame:
    """The city's count against the sum of its districts, per source, period and category.

    The difference is what has no known district (the yearbook's footnote: "inklusive
    anmälda brott vars uppgift om brottsplats saknas"). Only periods where every district
    of the scheme in force has a count are compared.

    Returns
    -------
    pd.DataFrame
        ``source, period_start, period_end, category_key, scheme, districts, city,
        district_sum, without_district, share_without``.
    """
    _require(stats, [*_KEY, "count"], "crime_stats")
    keys = ["source", "period_start", "period_end", "category_key"]
    city_rows = stats[(stats["area_scheme"] == d.SCHEME_KOMMUN) & (stats["area"] == city)]
    rows = []
    for scheme, names in ((d.SCHEME_SDO_13, d.SDO_13), (d.SCHEME_SDO_11, d.SDO_11)):
        part = stats[(stats["area_scheme"] == scheme) & stats["count"].notna()]
        grouped = part.groupby(keys, dropna=False).agg(
            districts=("area", "nunique"), district_sum=("count", "sum")
        )
        grouped = grouped[grouped["districts"] == len(names)].reset_index()
        grouped["scheme"] = scheme
        rows.append(grouped)
    sums = pd.concat(rows, ignore_index=True)
    both = sums.merge(city_rows[[*keys, "count"]].rename(columns={"count": "city"}), on=keys)
    both["without_district"] = both["city"] - both["district_sum"]
    both["share_without"] = both["without_district"] / both["city"]
    cols = [*keys, "scheme", "districts", "city", "district_sum", "without_district"]
    return both[[*cols, "share_without"]].reset_index(drop=True)


def monthly_vs_yearly(
    stats: pd.DataFrame,
    population: pd.DataFrame | None = None,
    *,
    convention: Convention = "previous_year_end",
) -> pd.DataFrame:
    """Twelve monthly counts summed against the yearly figure for the same area, year and
    category, from any source.

    A yearly count is compared with the sum; a yearly rate only (Brå's per-100k tables) is
    compared with the rate recomputed from the monthly sum and ``population`` under
    ``convention``, rounded half up to the yearly rate's decimals.

    Returns
    -------
    pd.DataFrame
        ``area, area_scheme, year, category_key, months, monthly_sum, yearly_count,
        yearly_rate, rate_unit, recomputed_rate, match``.
    """
    _require(stats, [*_KEY, "year", "month", "count", "rate", "rate_unit"], "crime_stats")
    keys = ["area", "area_scheme", "year", "category_key"]
    monthly = stats[stats["month"].notna() & stats["count"].notna()]
    sums = monthly.groupby(keys).agg(months=("month", "nunique"), monthly_sum=("count", "sum"))
    sums = sums[sums["months"] == 12].reset_index()
    yearly = stats[stats["month"].isna()][[*keys, "count", "rate", "rate_unit"]]
    yearly = yearly.rename(columns={"count": "yearly_count", "rate": "yearly_rate"})
    both = sums.merge(yearly, on=keys)
    both["recomputed_rate"] = pd.array([pd.NA] * len(both), dtype="Float64")
    if population is not None and len(both):
        per = both["rate_unit"].map({v: k for k, v in RATE_UNITS.items()})
        with_pop = attach_population(both, population, convention=convention)
        raw = rate(both["monthly_sum"], with_pop["population"], 1) * per.astype(float).to_numpy()
        decimals = both["yearly_rate"].map(
            lambda v: 0 if pd.notna(v) and float(v).is_integer() else 3
        )
        both["recomputed_rate"] = pd.array(round_half_up(raw, decimals.to_numpy()), dtype="Float64")
        both["population"] = with_pop["population"].to_numpy()
    count_ok = both["yearly_count"].astype("Int64") == both["monthly_sum"].astype("Int64")
    rate_ok = both["recomputed_rate"] == both["yearly_rate"].astype("Float64")
    # NA where there is nothing to compare (a rate without the population to recompute it)
    both["match"] = count_ok.where(both["yearly_count"].notna(), rate_ok).astype("boolean")
    return both.reset_index(drop=True)
