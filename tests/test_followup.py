"""analysis.followup: the measures contract, and the follow-up's power and false positives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trygghetskarta.analysis import (
    MeasureError,
    choose_comparison,
    follow_up,
    monthly_matrix,
    parse_measures,
)
from trygghetskarta.errors import AnalysisError

MONTHS = pd.date_range("2022-01-01", periods=36, freq="MS")
START = "2024-01-01"  # 24 months before, 12 after


def _simulate(
    rng: np.random.Generator, effect: float = 1.0, level: float = 8.0, pretrend: float = 0.0
) -> tuple[pd.Series, pd.DataFrame]:
    """A measure area and 30 candidates sharing each month's shock, negative-binomial
    counts (gamma spread, shape 10); ``effect`` multiplies the area's rate after the start,
    ``pretrend`` is a log-slope a year of the area alone."""
    k = np.arange(36)
    shock = np.exp(rng.normal(0, 0.15, 36) + 0.2 * np.sin(k * 2 * np.pi / 12))
    levels = rng.uniform(2, 12, 30)
    mu = levels[:, None] * shock[None, :] * rng.gamma(10, 0.1, (30, 36))
    others = pd.DataFrame(rng.poisson(mu), index=[f"s{i:02d}" for i in range(30)], columns=MONTHS)
    own = level * shock * np.where(k >= 24, effect, 1.0) * np.exp(pretrend * (k - 24) / 12)
    area = pd.Series(rng.poisson(own * rng.gamma(10, 0.1, 36)), index=MONTHS)
    return area, others


def test_without_an_effect_the_false_positive_rate_is_near_five_percent():
    rng = np.random.default_rng(2026)
    runs = 400
    hits = sum(follow_up(*_simulate(rng), start=START).p_value < 0.05 for _ in range(runs))
    # 400 series: a rate of 5 % gives 20 ± 4.4; 2–9 % is [8, 36] hits.
    assert 8 <= hits <= 36, hits


def test_the_interval_agrees_with_the_p_value():
    rng = np.random.default_rng(9)
    for _ in range(50):
        result = follow_up(*_simulate(rng, effect=0.75), start=START)
        excludes_one = result.high < 1 or result.low > 1
        assert excludes_one == (result.p_value < 0.05)


def test_injected_effects_are_found_where_the_stated_power_says():
    """The design states the smallest change it finds four times in five (``detectable``);
    effects of that size are found about that often, larger ones nearly always."""
    rng = np.random.default_rng(77)
    stated = np.median([follow_up(*_simulate(rng), start=START).detectable for _ in range(50)])
    assert 0.5 < stated < 0.8  # with ~8 events a month: a fall of a third or so
    found = {}
    for name, effect in (("stated", stated), ("large", stated**1.6)):
        runs = [follow_up(*_simulate(rng, effect=effect), start=START) for _ in range(150)]
        found[name] = np.mean([r.p_value < 0.05 and r.ratio < 1 for r in runs])
    # 80 % power stated; with 150 runs a rate of 0.8 lies in [0.68, 0.9] 99 times in 100.
    assert 0.68 <= found["stated"] <= 0.92, found
    assert found["large"] >= 0.95, found


def test_a_decrease_gets_a_plain_swedish_conclusion():
    rng = np.random.default_rng(1)
    result = follow_up(*_simulate(rng, effect=0.4, level=15), start=START)
    assert result.verdict == "minskning"
    assert result.conclusion.startswith("Händelserna minskade med ")
    assert "jämfört med jämförelseområdena (95 % konfidensintervall: −" in result.conclusion
    assert result.ratio == pytest.approx(0.4, abs=0.15)
    assert (result.months_before, result.months_after) == (24, 12)


def test_a_diverging_trend_before_the_start_cannot_be_credited_to_the_measure():
    rng = np.random.default_rng(5)
    verdicts = [
        follow_up(*_simulate(rng, effect=1.0, level=20, pretrend=-1.0), start=START)
        for _ in range(20)
    ]
    flagged = [r for r in verdicts if r.pretrend_p < 0.05]
    assert len(flagged) >= 18
    assert all(r.verdict == "kan inte avgöras" for r in flagged)
    assert "utvecklades redan före starten" in flagged[0].conclusion


def test_too_few_events_cannot_tell():
    rng = np.random.default_rng(3)
    result = follow_up(*_simulate(rng, effect=0.5, level=0.3), start=START)
    assert result.verdict == "kan inte avgöras"
    assert result.conclusion == (
        "Kan inte avgöras: för få händelser i området (minst 10 före och 10 efter starten behövs)."
    )
    assert result.after < 10  # the counts are in the result, not in the sentence a page shows


def test_no_effect_says_what_the_data_could_have_found():
    rng = np.random.default_rng(12)
    result = next(
        r for r in (follow_up(*_simulate(rng), start=START) for _ in range(10)) if r.p_value > 0.2
    )
    assert result.verdict == "kan inte avgöras"
    assert "data räcker för att upptäcka en minskning på omkring" in result.conclusion


def test_comparison_areas_are_chosen_by_the_months_before_the_start_only():
    rng = np.random.default_rng(8)
    area, others = _simulate(rng)
    first = follow_up(area, others, start=START).comparison
    changed = others.copy()
    changed.loc[:, MONTHS >= START] = changed.loc[:, MONTHS >= START] * 5  # after the start only
    assert follow_up(area, changed, start=START).comparison == first
    assert len(first) == 10


def test_the_start_month_and_months_after_the_end_are_left_out():
    rng = np.random.default_rng(6)
    area, others = _simulate(rng)
    result = follow_up(area, others, start="2023-12-15", end="2024-06-30")
    assert result.months_before == 23  # December 2023, the start month, is left out
    assert result.months_after == 6  # January to June 2024
    assert not (result.monthly["month"] == pd.Timestamp("2023-12-01")).any()


def test_no_months_after_the_start_is_an_error_saying_what_to_do():
    rng = np.random.default_rng(6)
    with pytest.raises(AnalysisError, match="needs months before and after the start 2026-01-01"):
        follow_up(*_simulate(rng), start="2026-01-01")


def test_choose_comparison_leaves_out_areas_with_too_few_events():
    area = np.array([4, 6, 8, 6, 4, 6, 8, 6.0])
    others = pd.DataFrame([area * 2, area * 0.1], index=["busy", "quiet"])
    assert choose_comparison(area, others, k=5) == ["busy"]


def test_monthly_matrix_counts_in_stockholm_months():
    events = pd.DataFrame(
        {
            # 23:30 UTC on 31 October is 00:30 on 1 November in Stockholm
            "occurred_at": pd.to_datetime(["2024-10-31 23:30", "2024-10-15 12:00"], utc=True),
            "stadsdel": ["A", "A"],
        }
    )
    table = monthly_matrix(events, unit="stadsdel", first="2024-10-01", last="2024-11-01")
    assert table.loc["A"].tolist() == [1.0, 1.0]


def _rows(**change: str) -> pd.DataFrame:
    row = {
        "id": "m1",
        "namn": "Trygghetsvandring <b>kväll</b>",
        "omradestyp": "stadsdel",
        "omrade": "Rinkeby",
        "start": "2024-03-01",
        "slut": "",
        "kategorier": "violence;robbery",
        "lager": "",
    }
    return pd.DataFrame([row | change])


def test_a_good_row_becomes_a_measure_with_its_text_kept_as_data():
    (measure,) = parse_measures(_rows(), stadsdelar=["Rinkeby"])
    assert measure.name == "Trygghetsvandring <b>kväll</b>"
    assert measure.categories == ("violence", "robbery")
    assert measure.layer == "police_event"
    assert measure.end is None
    assert measure.line == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"omradestyp": "kvarter"},
            "column omradestyp: expected one of ['stadsdel', 'regso', 'polygon'], got 'kvarter'",
        ),
        (
            {"omrade": "Rinkby"},
            "column omrade: expected a stadsdel as in the stadsdel column (e.g. 'Rinkeby'), "
            "got 'Rinkby'",
        ),
        ({"start": "2024-02-30"}, "column start: expected a date YYYY-MM-DD, got '2024-02-30'"),
        (
            {"slut": "2024-01-01"},
            "column slut: expected a date on or after the start 2024-03-01, got '2024-01-01'",
        ),
        (
            {"kategorier": "violence;fights"},
            "column kategorier: expected categories separated by ';' from",
        ),
        ({"lager": "crimes"}, "column lager: expected one of"),
        ({"namn": " "}, "column namn: expected the measure's name, got ''"),
        ({"omradestyp": "polygon", "omrade": "area.shp"}, "expected a .geojson or .gpkg file"),
    ],
    ids=[
        "kind",
        "stadsdel",
        "date",
        "end-before-start",
        "category",
        "layer",
        "name",
        "polygon-file",
    ],
)
def test_a_bad_row_is_one_sentence_with_file_line_column_expected_and_got(change, message):
    frame = pd.concat([_rows(id="m0"), _rows(**change)], ignore_index=True)
    with pytest.raises(MeasureError) as caught:
        parse_measures(frame, source="data/raw/atgarder/åtgärder.csv", stadsdelar=["Rinkeby"])
    text = str(caught.value)
    assert text.startswith("data/raw/atgarder/åtgärder.csv, line 3, column ")
    assert message in text
    assert text.endswith("— correct the file and run again")


def test_a_repeated_id_and_a_missing_column_are_refused():
    with pytest.raises(
        MeasureError, match=r"line 3, column id: expected an id not used before \(line 2 has it\)"
    ):
        parse_measures(pd.concat([_rows(), _rows()], ignore_index=True))
    with pytest.raises(MeasureError, match=r"line 1: expected the columns .* add \['start'\]"):
        parse_measures(_rows().drop(columns=["start"]))


def test_every_bad_row_is_counted_in_the_message():
    frame = pd.concat([_rows(start="x"), _rows(id="m2", start="y")], ignore_index=True)
    with pytest.raises(MeasureError, match=r"line 2, .* \(and 1 more problems\)"):
        parse_measures(frame)
