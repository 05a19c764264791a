"""Brå's reported crimes for one district beside the whole city's, for the lägesbild.

:func:`bra_comparison` turns the store's ``crime_stats`` rows (see
:mod:`trygghetskarta.sources.bra`) into the table that
:func:`trygghetskarta.render.report_parts.bra_section` shows: the latest year the district has
yearly figures for, the total and a few categories, each as the rate the source gives
(per 100 000 or per 1 000 inhabitants), with the city's rate in the same unit beside it.
Suppressed figures become missing values (shown as "–").
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from trygghetskarta.errors import SchemaError

__all__ = ["DEFAULT_CATEGORIES", "UNIT_LABELS", "bra_comparison"]

#: Category keys shown, in this order (those present in the year chosen).
DEFAULT_CATEGORIES = (
    "total",
    "violence_3_6",
    "assault",
    "unlawful_threat",
    "robbery",
    "burglary",
    "theft_robbery_excl_receiving",
    "bicycle_theft",
    "motor_vehicle_theft",
    "damage",
    "damage_vehicle",
    "graffiti",
    "drugs",
)
UNIT_LABELS = {
    "per_100k": "per 100 000 invånare",
    "per_1000": "per 1 000 invånare",
}
_NEEDED = ("area", "area_scheme", "year", "month", "category", "category_key", "rate", "rate_unit")
_DISTRICT_SCHEMES = ("sdo_11", "sdo_13")


def _yearly(stats: pd.DataFrame) -> pd.DataFrame:
    rows = stats[stats["month"].isna()].copy()
    rows["value"] = pd.to_numeric(rows["rate"], errors="coerce").astype("float64")
    rows.loc[rows["suppressed"].fillna(False).astype(bool), "value"] = float("nan")
    return rows


def bra_comparison(
    stats: pd.DataFrame,
    district: str,
    *,
    city: str = "Stockholm",
    categories: Sequence[str] = DEFAULT_CATEGORIES,
    limit: int = 8,
) -> pd.DataFrame:
    """The district's Brå figures beside the city's, for the latest year of the district.

    Parameters
    ----------
    stats
        ``crime_stats`` rows with ``area``, ``area_scheme``, ``year``, ``month``,
        ``category``, ``category_key``, ``rate``, ``rate_unit`` and ``suppressed``. Only
        yearly rows (``month`` missing) are used.
    district
        The stadsdelsområde (``area`` in scheme ``sdo_11`` or ``sdo_13``).
    city
        The kommun row to compare with (``area_scheme == "kommun"``).
    categories
        Category keys to show, in order; at most ``limit`` of those present.

    Returns
    -------
    pandas.DataFrame
        ``category`` (the source's Swedish name), ``year``, ``district``, ``city``
        (rates; NaN when suppressed or missing), ``unit`` (e.g. "per 100 000
        invånare") and ``source`` (the row's source, when given); empty when the district
        has no yearly figures.
    """
    missing = [c for c in _NEEDED if c not in stats.columns]
    if missing:
        raise SchemaError(
            f"Brå statistics need columns {list(_NEEDED)}, missing {missing} — "
            "pass the store's crime_stats rows"
        )
    if "suppressed" not in stats.columns:
        stats = stats.assign(suppressed=False)
    yearly = _yearly(stats)
    mine = yearly[(yearly["area"] == district) & yearly["area_scheme"].isin(_DISTRICT_SCHEMES)]
    out_cols = ["category", "year", "district", "city", "unit", "source"]
    if mine.empty:
        return pd.DataFrame(columns=out_cols)
    year = int(mine["year"].max())
    mine = mine[mine["year"] == year]
    town = yearly[
        (yearly["area"] == city) & (yearly["area_scheme"] == "kommun") & (yearly["year"] == year)
    ]
    town_value = {
        (k, u): v
        for k, u, v in zip(town["category_key"], town["rate_unit"], town["value"], strict=True)
    }
    rows = []
    for key in categories:
        part = mine[mine["category_key"] == key]
        if part.empty:
            continue
        # Prefer the unit the city has too (the yearbook and Brå may both give a key).
        part = part.assign(match=[(key, u) in town_value for u in part["rate_unit"]])
        row = part.sort_values("match", ascending=False).iloc[0]
        unit = row["rate_unit"]
        rows.append(
            {
                "category": row["category"],
                "year": year,
                "district": row["value"],
                "city": town_value.get((key, unit), float("nan")),
                "unit": UNIT_LABELS.get(unit, unit),
                "source": row.get("source"),
            }
        )
        if len(rows) >= limit:
            break
    return pd.DataFrame(rows, columns=out_cols)
