"""Cell suppression and its auditor: tiny tables checked by hand, and every public file of a
real run audited together (what the files show, read back from them)."""

from __future__ import annotations

import html as html_mod
import json
import math
import re
from pathlib import Path

import pytest

from html_attack import Found, attack_map, attack_report, subtract
from trygghetskarta.config import load_settings
from trygghetskarta.errors import ConfigError, SchemaError
from trygghetskarta.render.disclosure import (
    Constraint,
    Disclosure,
    DisclosureError,
    audit,
    audit_ledgers,
    ledger_html,
    protect,
    read_ledgers,
    recovered,
)
from trygghetskarta.render.marking import BAND_TEXT
from trygghetskarta.render.profile import INTERNAL, PUBLIC, ExportProfile, export_profile

C = Constraint


# --------------------------------------------------------------------------- the auditor


@pytest.mark.parametrize(
    ("cells", "constraints", "expected"),
    [
        pytest.param(
            {"a": None, "b": 10, "c": 20, "t": 33},
            [C("t", ("a", "b", "c"))],
            {"a": (3.0, 3.0)},
            id="one_suppressed_in_a_row",
        ),
        pytest.param(
            {"a": None, "b": None, "c": 20, "t": 20},
            [C("t", ("a", "b", "c"))],
            {"a": (0.0, 0.0), "b": (0.0, 0.0)},
            id="two_suppressed_summing_to_zero",
        ),
        pytest.param(
            {"a": None, "b": None, "c": 20, "t": 23},
            [C("t", ("a", "b", "c"))],
            {"a": (0.0, 3.0), "b": (0.0, 3.0)},
            id="two_suppressed_summing_to_three",
        ),
        pytest.param(
            {"a": None, "b": None, "c": None, "d": None, "r1": 11, "r2": 21, "c1": 12, "c2": 20},
            [C("r1", ("a", "b")), C("r2", ("c", "d")), C("c1", ("a", "c")), C("c2", ("b", "d"))],
            {"a": (0.0, 11.0), "b": (0.0, 11.0), "c": (1.0, 12.0), "d": (9.0, 20.0)},
            id="two_by_two_pattern",
        ),
        pytest.param(
            {"a": None, "b": 8, "c1": 12, "c": 9},
            [C("r1", ("a", "b")), C("c1", ("a", "c"))],
            {"a": (3.0, 3.0)},
            id="row_total_suppressed_but_column_total_shown",
        ),
        pytest.param(
            {"a": None, "b": 8, "t": 20},
            [C("t", ("a", "b", "rest"))],
            {"a": (0.0, 12.0)},
            id="hidden_rest_protects",
        ),
        pytest.param(
            {"a": None, "t": 3},
            [C("t", ("a",))],
            {"a": (3.0, 3.0)},
            id="a_total_of_one_part",
        ),
        pytest.param(
            {"a": None, "b": 7},
            [],
            {"a": (0.0, math.inf)},
            id="in_no_sum_unbounded",
        ),
    ],
)
def test_audit_derives_the_interval_an_attacker_can(cells, constraints, expected):
    assert audit(cells, constraints) == expected


def test_audit_uses_integers_where_the_relaxation_would_not_pin_a_cell():
    # 2a = 3 + b with b ≤ 1 (b + c = 1): integers force b = 1, a = 2; the relaxation
    # lets a range over [1.5, 2].
    cells = {"a": None, "b": None, "t": 1}
    constraints = [C("a2", ("a", "a")), C("a2", ("three", "b")), C("t", ("b", "c"))]
    cells["three"] = 3
    assert audit(cells, constraints)["a"] == (2.0, 2.0)
    lo, hi = audit(cells, constraints, integer=False)["a"]
    assert (lo, hi) == (1.5, 2.0)


def test_audit_says_when_shown_counts_contradict_their_total():
    with pytest.raises(DisclosureError, match="contradict"):
        audit({"a": None, "b": 30, "t": 20}, [C("t", ("a", "b"))])


def test_recovered_lists_single_value_intervals():
    assert recovered({"a": (3.0, 3.0), "b": (0.0, 4.0), "c": (2.0, math.inf)}) == ["a"]


# --------------------------------------------------------------------------- protection


def row(values: dict[str, int]) -> tuple[dict[str, int], list[Constraint]]:
    return {**values, "t": sum(values.values())}, [C("t", tuple(values))]


@pytest.mark.parametrize(
    ("parts", "suppressed"),
    [
        pytest.param({"a": 3, "b": 10, "c": 20}, {"a", "b"}, id="one_small_hides_the_next"),
        pytest.param({"a": 0, "b": 10, "c": 20}, {"a", "b"}, id="zero_is_suppressed_too"),
        pytest.param({"a": 3, "b": 2, "c": 20}, {"a", "b"}, id="two_small_protect_each_other"),
        pytest.param({"a": 0, "b": 0, "c": 20}, {"a", "b", "c"}, id="two_zeros_hide_the_third"),
        pytest.param({"a": 6, "b": 10, "c": 20}, set(), id="nothing_small"),
        pytest.param({"a": 1, "b": 2}, {"a", "b", "t"}, id="small_total"),
    ],
)
def test_protect_suppresses_small_cells_and_their_complements(parts, suppressed):
    values, constraints = row(parts)
    shown = protect(values, constraints, min_count=5)
    assert {k for k, v in shown.shown.items() if v is None} == suppressed
    assert not recovered(audit(shown.shown, constraints))
    assert all(v is None or v >= 5 for v in shown.shown.values())


def test_protect_a_two_way_table_with_margins():
    values = {"a": 3, "b": 8, "c": 9, "d": 12, "r1": 11, "r2": 21, "c1": 12, "c2": 20, "t": 32}
    constraints = [
        C("r1", ("a", "b")),
        C("r2", ("c", "d")),
        C("c1", ("a", "c")),
        C("c2", ("b", "d")),
        C("t", ("r1", "r2")),
        C("t", ("c1", "c2")),
    ]
    shown = protect(values, constraints, min_count=5)
    assert {k for k, v in shown.shown.items() if v is None} == {"a", "b", "c", "d"}
    assert not recovered(audit(shown.shown, constraints))


def test_protect_respects_cells_fixed_by_another_table():
    values, constraints = row({"a": 3, "b": 6, "c": 7})
    shown = protect(values, constraints, min_count=5, fixed={"b": False})
    assert shown.shown["b"] == 6 and shown.shown["c"] is None


def test_protect_says_when_a_small_cell_cannot_be_hidden():
    values, constraints = row({"a": 3, "b": 6})
    with pytest.raises(DisclosureError, match="'a' can be worked out"):
        protect(values, constraints, min_count=5, fixed={"b": False, "t": False})


def test_protect_refuses_a_table_whose_parts_do_not_add_up():
    with pytest.raises(SchemaError, match="parts sum to 9"):
        protect({"a": 3, "b": 6, "t": 10}, [C("t", ("a", "b"))], min_count=5)


def test_protect_with_a_hidden_rest_and_a_linked_parent_row():
    # A district's month (9, shown by the city map) and its stadsdelar (6 and 0); three
    # sensitive events are counted in no stadsdel.
    values = {"sdo": 9, "s1": 6, "s2": 0, "rest": 3}
    constraints = [C("sdo", ("s1", "s2", "rest"))]
    shown = protect(values, constraints, min_count=5, hidden=("rest",), fixed={"sdo": False})
    assert shown.shown == {"sdo": 9, "s1": 6, "s2": None}
    assert audit(shown.shown, constraints, hidden=("rest",)) == {"s2": (0.0, 3.0)}


# --------------------------------------------------------------------------- ledgers


def test_ledger_round_trips_through_html_and_an_iframe():
    d = Disclosure("x", {"sdo|<b>|1": 7, "sdo|<b>|2": None}, ("r",), (C("t", ("a", "b")),))
    page = ledger_html([d], min_count=5)
    assert "<b>" not in page
    assert read_ledgers(page) == [d]
    framed = f'<iframe srcdoc="{html_mod.escape(page)}"></iframe>'
    assert read_ledgers(framed) == [d]


def test_audit_ledgers_refuses_files_that_disagree():
    a = Disclosure("a", {"x": 5})
    b = Disclosure("b", {"x": None})
    with pytest.raises(DisclosureError, match="'x' is shown as 5 in one file"):
        audit_ledgers([a, b])


def test_audit_ledgers_joins_files():
    # Alone each file is safe; together the city map's total and the district map's parts
    # give a away.
    city = Disclosure("city", {"t": 20})
    district = Disclosure("district", {"a": None, "b": 17}, (), (C("t", ("a", "b")),))
    assert not recovered(audit_ledgers([district]))
    assert recovered(audit_ledgers([city, district])) == ["a"]


# --------------------------------------------------------------------------- the profile


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param("public", PUBLIC, id="public_name"),
        pytest.param("internal", INTERNAL, id="internal_name"),
        pytest.param(PUBLIC, PUBLIC, id="object"),
    ],
)
def test_export_profile_normalises_names_and_objects(given, expected):
    assert export_profile(given) is expected


def test_export_profile_rejects_unknown_names():
    with pytest.raises(ConfigError, match="profile must be one of"):
        export_profile("open")


def test_profiles_hold_their_rules():
    assert (PUBLIC.min_count, PUBLIC.min_cell_m, PUBLIC.show_points) == (5, 200.0, False)
    assert (INTERNAL.min_count, INTERNAL.show_points, INTERNAL.sensitive_detail) == (
        None,
        True,
        True,
    )
    with pytest.raises(AttributeError):
        PUBLIC.min_count = 3  # type: ignore[misc]
    assert isinstance(PUBLIC, ExportProfile)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("public", PUBLIC, id="public"),
        pytest.param("internal", INTERNAL, id="internal"),
    ],
)
def test_profile_is_built_from_the_settings(tmp_path, name, expected):
    settings = load_settings(tmp_path, env={"TRYGGHETSKARTA_PROFILE": name})
    assert ExportProfile.from_settings(settings) is expected


@pytest.mark.parametrize(
    ("profile", "cells", "clusters", "hours", "band"),
    [
        pytest.param(PUBLIC, (False, True, True), False, 3, False, id="public"),
        pytest.param(INTERNAL, (False, False, False), True, 1, True, id="internal"),
    ],
)
def test_profile_rules_for_layers_and_pages(profile, cells, clusters, hours, band):
    assert tuple(profile.cell_too_small(m) for m in (200.0, 199.0, 100.0)) == cells
    assert profile.cluster_outlines is clusters and profile.hour_step == hours
    page = "<html><head></head><body><main>x</main></body></html>"
    assert (BAND_TEXT in profile.page(page)) is band
    assert (profile.page(page) == page) is not band
    assert profile.count_text(4) == ("dolt" if profile.public else "4")
    assert profile.count_text(5) == "5"
    assert ("Inga enskilda händelser visas." in profile.map_notes) is not band
    assert ("Intern version" in profile.report_note) is band


def test_internal_profile_shows_everything():
    values, constraints = row({"a": 1, "b": 0})
    assert INTERNAL.suppress(values, constraints).shown == {"a": 1, "b": 0, "t": 1}
    assert PUBLIC.suppress(values, constraints).shown == {"a": None, "b": None, "t": None}


# --------------------------------------------------------------------------- the real files


def _public_files(processed: Path) -> list[Path]:
    base = processed / "public" if (processed / "public").is_dir() else processed
    return sorted((base / "maps").glob("*.html")) + sorted((base / "reports").glob("*.html"))


def _visible(html: str) -> str:
    """The page's text without the ledger (what a reader sees), iframes unescaped."""
    text = html_mod.unescape(html)
    return re.sub(r'<template class="tk-ledger">[^<]*</template>', "", text)


@pytest.fixture(scope="module")
def public_outputs(real_run):
    settings, _ = real_run
    assert settings.profile == "public"
    files = _public_files(settings.processed_dir)
    return {p.parent.name + "/" + p.name: p.read_text(encoding="utf-8") for p in files}


@pytest.mark.realdata
def test_every_public_file_carries_a_ledger(public_outputs):
    assert len(public_outputs) == 23  # city map, 11 district maps, 11 lägesbilder
    for name, page in public_outputs.items():
        assert read_ledgers(page), name


@pytest.mark.realdata
def test_files_written_together_give_no_suppressed_count_away(public_outputs):
    ledgers = [d for page in public_outputs.values() for d in read_ledgers(page)]
    intervals = audit_ledgers(ledgers)
    assert len(intervals) > 1000
    assert recovered(intervals) == []
    shown = [v for d in ledgers for v in d.shown.values() if v is not None]
    assert min(shown) >= 5


@pytest.mark.realdata
def test_no_number_below_five_in_public_text(public_outputs):
    for name, page in public_outputs.items():
        text = _visible(page)
        assert not re.search(r"\d+ händelser av känslig art", text), name
        assert "färre än 5</span>" not in text


def _area_data(page: str) -> dict:
    match = re.search(r', (\{"names":.*\})\);$', page, flags=re.MULTILINE)
    assert match is not None
    return json.loads(match.group(1))


@pytest.mark.realdata
def test_the_city_map_shows_what_its_ledger_says(public_outputs):
    page = public_outputs["maps/stockholm.html"]
    shown = {k: v for d in read_ledgers(page) for k, v in d.shown.items()}
    data = _area_data(page)
    names = [re.sub("<.*?>", "", n) for n in data["names"]]
    months = ["hela"] + [f"2025-{m:02d}" for m in range(1, 13)]
    checked = 0
    for i, name in enumerate(names):
        for j, month in enumerate(months):
            value = shown[f"sdo|{name}|{month}"]
            expected = "dolt" if value is None else str(value).replace("\u00a0", "")
            assert data["plain"][i][j].replace("\u00a0", "") == expected
            checked += 1
    assert checked == 11 * 13
    # December of Enskede-Årsta-Vantör: the whole period minus its months gave 4.
    row = [shown[f"sdo|Enskede-Årsta-Vantör|{m}"] for m in months]
    assert row[0] is not None and sum(v is None for v in row[1:]) != 1


@pytest.mark.realdata
def test_reports_show_what_their_ledgers_say(public_outputs):
    page = public_outputs["reports/norra-innerstaden.html"]
    body = re.sub(r"<iframe.*?</iframe>", "", page, flags=re.S)
    shown = {k: v for d in read_ledgers(body) for k, v in d.shown.items()}
    d = "Norra innerstaden"
    # the category charts' totals ("N st") and their quarters
    chart = r'class="tk-mini" data-series="(\w+)">.*?class="tk-total">([^<>]+?)(?: st)?</text>'
    charts = re.findall(chart, body)
    # a chart per category with a quarter shown; the rest are named in words, never drawn
    # as flat lines inside the "dolt" band
    quarters: dict[str, list] = {}
    for k, v in shown.items():
        part = k.split("|")
        if part[0] == "cat" and part[1] == d and part[3][:2] == "20":
            quarters.setdefault(part[2], []).append(v)
    with_something = {c for c, vs in quarters.items() if any(v is not None for v in vs)}
    assert 0 < len(charts) < len(quarters)
    assert {key for key, _ in charts} == with_something
    for key, text in charts:
        value = shown[f"cat|{d}|{key}|diagram"]
        assert text.replace("\u00a0", "") == ("dolt" if value is None else str(value))
    violence = [k for k in shown if k.startswith(f"cat|{d}|violence|20")]
    assert len(violence) == 8  # quarters of the chart: the year before and the period
    assert (
        sum(shown[k] is None for k in violence) != 1 or shown[f"cat|{d}|violence|diagram"] is None
    )
    # the key figure and the category table's total are the city map's whole period
    city = {
        k: v
        for x in read_ledgers(public_outputs["maps/stockholm.html"])
        for k, v in x.shown.items()
    }
    assert shown[f"sdo|{d}|hela"] == city[f"sdo|{d}|hela"]
    total = re.search(r'<tr class="total"><td>Totalt</td><td class="num">([^<]+)<', body)
    assert total is not None and total.group(1).replace("\u00a0", "") == str(city[f"sdo|{d}|hela"])


@pytest.mark.realdata
def test_farsta_precision_table_hides_a_second_class(public_outputs):
    page = public_outputs["reports/farsta.html"]
    body = re.sub(r"<iframe.*?</iframe>", "", page, flags=re.S)
    section = body[body.index("<h2>Datakvalitet</h2>") : body.index("<h2>Källor")]
    counts = re.findall(r'<td class="num">([^<]+)</td><td class="num">', section)
    hidden = [c for c in counts if c == "dolt"]
    assert len(counts) == 8  # every precision class
    assert len(hidden) != 1  # 46 − 43 no longer gives the third class away


@pytest.mark.parametrize(
    ("total", "parts", "expected"),
    [
        pytest.param("46", ["dolt", "43"], [("t", 0, 3)], id="precision_46_minus_43"),
        pytest.param("20", ["dolt", "dolt", "20"], [("t", "all zero", 0)], id="hidden_zeros"),
        pytest.param("20", ["dolt", "dolt", "17"], [], id="two_hidden_share_three"),
        pytest.param("dolt", ["dolt", "17"], [], id="hidden_total"),
    ],
)
def test_the_html_attack_subtracts_shown_parts(total, parts, expected):
    found = Found()
    subtract(total, parts, "t", found)
    assert found.recovered == expected and found.tried == ["t"]


@pytest.mark.realdata
def test_subtracting_what_the_pages_show_recovers_nothing(public_outputs):
    # Independent of the ledgers: only the text a reader sees (labels, charts, tables).
    found = Found()
    for name, page in public_outputs.items():
        if name.startswith("maps/"):
            attack_map(name, page, found)
        else:
            attack_report(name, page, found)
    assert len(found.tried) > 400  # every map row, chart, table and hour × weekday sum
    assert found.recovered == []


@pytest.mark.realdata
def test_a_district_map_shows_what_its_ledger_says(public_outputs):
    page = public_outputs["maps/farsta.html"]
    shown = {k: v for d in read_ledgers(page) for k, v in d.shown.items()}
    data = _area_data(page)
    names = [re.sub("<.*?>", "", n) for n in data["names"]]
    months = ["hela"] + [f"2025-{m:02d}" for m in range(1, 13)]
    for i, name in enumerate(names):
        for j, month in enumerate(months):
            value = shown[f"sd|{name}|{month}"]
            assert data["plain"][i][j] == ("dolt" if value is None else str(value))
    # the district's own row is the city map's
    city = {
        k: v
        for x in read_ledgers(public_outputs["maps/stockholm.html"])
        for k, v in x.shown.items()
    }
    assert all(shown[k] == city[k] for k in shown if k.startswith("sdo|Farsta|"))
    assert sum(k.startswith("sdo|Farsta|") for k in shown) == 13
