"""The lägesbild's sections "Områden där problemen kan växa" and "Åtgärder och uppföljning".

The forecast is shown only when its back-test beats the best naive baseline (the lower end
of the paired bootstrap interval of the gain is above 1), saying by how much; otherwise one
sentence says that counting is as good. Every text from a file (a measure's name, an area)
is data: escaped here, never markup.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from trygghetskarta.render.format import esc, fmt_date, fmt_float, fmt_month

#: Swedish names of the forecast methods.
METHOD_LABELS_SV = {
    "previous_period": "förra månadens antal",
    "previous_12_months": "snittet för de senaste tolv månaderna",
    "long_term_mean": "snittet för hela tiden med data",
    "seasonal_naive": "samma månad året före",
    "near_repeat": "en yta som väger nya händelser och grannområden tyngst",
    "poisson_glm": "en Poissonregression på tidigare antal, säsong och grannområden",
}
#: Stadsdelar listed per district.
TOP_UNITS = 5

__all__ = ["METHOD_LABELS_SV", "Outlook", "outlook_sections"]


@dataclass(frozen=True)
class Outlook:
    """What the forecast and follow-up sections show (built once per run by the pipeline).

    Attributes
    ----------
    forecast
        The forecast per stadsdel: ``unit, period_start, period_end, expected, lower,
        upper, method, stadsdelsomrade, area_km2`` (``None``: none made).
    backtest
        The back-test's verdict (:meth:`trygghetskarta.analysis.Backtest.verdict` plus
        ``best_method``): ``beats``, ``hit_rate``, ``pai``, ``baseline``,
        ``baseline_pai``, ``ratio``, ``ratio_low``, ``ratio_high``, ``coverage``,
        ``interval_coverage``, ``origins``.
    measures
        The follow-up of the registered measures (``tables/uppfoljning.csv``), or ``None``
        when no measures file exists.
    """

    forecast: pd.DataFrame | None = None
    backtest: Mapping[str, Any] | None = None
    measures: pd.DataFrame | None = None


def _pct(share: float) -> str:
    return f"{fmt_float(100 * share, 0)}\u00a0%"


def _backtest_sentence(v: Mapping[str, Any]) -> str:
    area = fmt_float(100 * float(v["coverage"]), 1)
    origins = int(v.get("origins", 0))
    baseline = METHOD_LABELS_SV.get(str(v["baseline"]), str(v["baseline"]))
    ratio = fmt_float(v["ratio"], 2)
    low, high = fmt_float(v["ratio_low"], 2), fmt_float(v["ratio_high"], 2)
    baseline_hits = float(v["baseline_pai"]) * float(v["coverage"])
    return (
        f"Efterhandstest över {origins} månader: prognosen fångade {_pct(v['hit_rate'])} av "
        f"nästa månads händelser på de {area}\u00a0% av stadens yta den pekade ut (PAI "
        f"{fmt_float(v['pai'], 1)}), mot {_pct(baseline_hits)} (PAI "
        f"{fmt_float(v['baseline_pai'], 1)}) för det bästa enkla alternativet, {baseline}: "
        f"{ratio} gånger så många (95\u00a0% intervall {low}–{high}). "
        f"Prognosintervallen (90\u00a0%) rymde {_pct(v['interval_coverage'])} av utfallen."
    )


def _forecast_section(outlook: Outlook, district: str) -> str:
    head = "<section><h2>Områden där problemen kan växa</h2>"
    v = outlook.backtest
    if outlook.forecast is None or v is None:
        return ""
    if not bool(v.get("beats")):
        # when counting itself came out best, quote the best model against it
        quoted = v.get("challenger") or v
        baseline = METHOD_LABELS_SV.get(str(v["baseline"]), str(v["baseline"]))
        model = METHOD_LABELS_SV.get(str(quoted["method"]), str(quoted["method"]))
        area = fmt_float(100 * float(v["coverage"]), 1)
        return (
            head + "<p>Att räkna händelserna är lika bra som prognoserna: i efterhandstestet "
            f"över {int(v.get('origins', 0))} månader pekade ingen prognos säkert ut fler av "
            f"nästa månads händelser på {area}\u00a0% av stadens yta än {esc(baseline)}. "
            f"Den bästa prognosen, {esc(model)}, fångade {fmt_float(quoted['ratio'], 2)} "
            f"gånger så många (95\u00a0% intervall {fmt_float(quoted['ratio_low'], 2)}–"
            f"{fmt_float(quoted['ratio_high'], 2)}), så ingen prognos visas; se antalen per "
            "månad ovan.</p></section>"
        )
    rows = outlook.forecast[outlook.forecast["stadsdelsomrade"] == district].copy()
    if rows.empty:
        return ""
    rows["density"] = rows["expected"] / rows["area_km2"]
    rows = rows.sort_values(["density", "unit"], ascending=[False, True]).head(TOP_UNITS)
    month = fmt_month(pd.Timestamp(str(rows["period_start"].iloc[0])))
    method = METHOD_LABELS_SV.get(str(rows["method"].iloc[0]), str(rows["method"].iloc[0]))
    body = "".join(
        f"<tr><td>{esc(r.unit)}</td><td>{fmt_float(r.expected, 1)}</td>"
        f"<td>{esc(f'{int(r.lower)}–{int(r.upper)}')}</td><td>{fmt_float(r.density, 1)}</td></tr>"
        for r in rows.itertuples()
    )
    return (
        head + f'<p class="lead">Väntat antal polisens händelser i {esc(month)} i de '
        f"stadsdelar där de väntas tätast, med 90\u00a0% prognosintervall. Metod: "
        f"{esc(method)}, den som klarade efterhandstestet bäst.</p>"
        "<table><thead><tr><th>Stadsdel</th><th>Väntat antal</th><th>Intervall</th>"
        f"<th>Per km²</th></tr></thead><tbody>{body}</tbody></table>"
        f"<p>{esc(_backtest_sentence(v))}</p></section>"
    )


def _period(start: Any, end: Any) -> str:
    first = fmt_date(pd.Timestamp(str(start)))
    if end is None or str(end).strip() in ("", "nan", "None"):
        return f"från {first}"
    return f"{first} – {fmt_date(pd.Timestamp(str(end)))}"


def _measures_section(outlook: Outlook, district: str) -> str:
    head = "<section><h2>Åtgärder och uppföljning</h2>"
    table = outlook.measures
    if table is None:
        return ""
    mine = table[table["stadsdelsomrade"].astype(str) == district] if len(table) else table
    if mine.empty:
        return head + f"<p>Inga åtgärder är registrerade för {esc(district)}.</p></section>"
    body = "".join(
        f"<tr><td>{esc(r['namn'])}</td><td>{esc(r['omrade'])}</td>"
        f"<td>{esc(_period(r['start'], r.get('slut')))}</td><td>{esc(r['conclusion'])}</td></tr>"
        for _, r in mine.iterrows()
    )
    return (
        head + '<p class="lead">Registrerade åtgärder och hur händelserna i området har '
        "förändrats sedan starten jämfört med områden som utvecklades likadant före den "
        "(skillnad i skillnader på antal per månad).</p>"
        "<table><thead><tr><th>Åtgärd</th><th>Område</th><th>Period</th><th>Bedömning</th>"
        f"</tr></thead><tbody>{body}</tbody></table></section>"
    )


def outlook_sections(outlook: Outlook | None, district: str) -> str:
    """The two sections of one district's lägesbild as HTML (``""`` without an outlook).

    Examples
    --------
    >>> verdict = {"beats": False, "baseline": "long_term_mean", "coverage": 0.023,
    ...            "ratio": 1.02, "ratio_low": 0.92, "ratio_high": 1.15, "origins": 12}
    >>> html = outlook_sections(Outlook(pd.DataFrame(), verdict, None), "Södermalm")
    >>> "Att räkna händelserna är lika bra" in html
    True
    """
    if outlook is None:
        return ""
    return _forecast_section(outlook, district) + _measures_section(outlook, district)
