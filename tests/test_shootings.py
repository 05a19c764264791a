"""Shootings: the classifier and its labelled sets, derived events, statistics and lists."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest
import shapely

from trygghetskarta.errors import SourceError
from trygghetskarta.schema import validate_events
from trygghetskarta.sources import polisen, shootings
from trygghetskarta.sources.shooting_classifier import Verdict, classify, sentences

TZ = "Europe/Stockholm"
NOW = pd.Timestamp("2025-01-01", tz=TZ)
KOMMUN = shapely.box(656000, 6569000, 683000, 6593000)

# --------------------------------------------------------------------------- rules

SHOOTING = [
    ("Skottlossning", "Polisen larmas till ett bostadsområde.", "type-only"),
    ("Mord/dråp, försök", "En man har blivit skjuten i benet vid en busshållplats.", "skjuten"),
    ("Vapenlagen", "Skott har avlossats mot en entrédörr. Ingen skadades.", "avlossats"),
    ("Misshandel, grov", "En kvinna hittades med skottskador i en trappuppgång.", "skottskador"),
    ("Mord/dråp", "Polisen får samtal om skottlossning vid ett torg.", "reported-serious"),
    ("Vapenlagen", "Vittnen ringde om smällar. Polisen hittade tomhylsor på platsen.", "hylsor"),
    ("Mord/dråp, försök", "En man skjuts på en restaurang i södra Stockholm.", "skjuts-passive"),
    ("Övrigt", "En lägenhetsdörr har beskjutits under natten.", "beskjutits"),
    (
        "Skottlossning",
        "En man har skottskadats.\nUppdatering 21.10Polisen söker.",
        "no-space-update",
    ),
]
NOT_SHOOTING = [
    ("Djur", "En skadad älg sköts av polisen vid motorvägen.", "moose"),
    ("Trafikolycka, vilt", "Polisen sköt ett påkört rådjur.", "deer"),
    ("Kontroll person/fordon", "Samtal om skott. Det visade sig vara fyrverkerier.", "fireworks"),
    ("Övrigt", "Ungdomar har skjutit raketer mot en buss.", "rockets"),
    ("Misshandel", "En man har skjutit mot förbipasserande med ett luftgevär.", "air-rifle"),
    ("Kontroll person/fordon", "Skotten kom från en softairgun.", "softair"),
    ("Övrigt", "Startskottet gick vid ett lopp på Stadion.", "starting-shot"),
    ("Olaga hot", "En man hotade att skjuta en ordningsvakt.", "threat"),
    ("Efterlyst person", "Mannen hade inte skött kontakten med frivården.", "skott-managed"),
    ("Misshandel", "Offret fick skjuts till sjukhuset av en vän.", "skjuts-ride"),
    ("Övrigt", "Kritikerna menar att beslutet är ett skott i foten.", "idiom"),
    ("Vapenlagen", "Polisen avlossade ett varningsskott vid gripandet.", "warning-shot"),
    (
        "Mord/dråp, försök",
        "En man riktade en pistol mot en taxi men inget skott gick av.",
        "no-shot",
    ),
    ("Vapenlagen", "Det finns inga uppgifter om skottlossning.", "negated"),
    ("Vapenlagen", "En skottsäker väst hittades i bilen.", "bulletproof"),
    ("Övrigt", "Polisen efterlyser iakttagelser efter skottlossningen i går.", "appeal"),
    ("Misshandel", "En pojke har besjutits med fyverkerier.", "misspelt-fireworks-no-stem"),
    ("Misshandel", "En pojke beskjuten med fyverkerier.", "misspelt-fireworks"),
    ("Övrigt", "Två personbilar kolliderade på Muskötgatan.", "street-name"),
    ("Rån", "Rånaren hotade personalen med ett vapen.", "weapon-only"),
]
SUSPECTED = [
    ("Skottlossning, misstänkt", "Samtal om smällar i ett bostadsområde.", "suspected-type"),
    ("Kontroll person/fordon", "Flera personer ringer om misstänkt skottlossning.", "misstänkt"),
    ("Skottlossning", "Det är ännu inte bekräftat att skott avlossats.", "unconfirmed"),
]


@pytest.mark.parametrize(("kind", "text", "_id"), SHOOTING, ids=[c[2] for c in SHOOTING])
def test_shootings_found(kind: str, text: str, _id: str) -> None:
    assert classify(kind, text).verdict == Verdict.SHOOTING


@pytest.mark.parametrize(("kind", "text", "_id"), NOT_SHOOTING, ids=[c[2] for c in NOT_SHOOTING])
def test_look_alikes_kept_out(kind: str, text: str, _id: str) -> None:
    assert classify(kind, text).verdict == Verdict.NOT_SHOOTING


@pytest.mark.parametrize(("kind", "text", "_id"), SUSPECTED, ids=[c[2] for c in SUSPECTED])
def test_unconfirmed_reports_are_suspected(kind: str, text: str, _id: str) -> None:
    assert classify(kind, text).verdict == Verdict.SUSPECTED


def test_stated_evidence_beats_a_suspected_type() -> None:
    result = classify("Skottlossning, misstänkt", "En man med en skottskada hittades.")
    assert result.verdict == Verdict.SHOOTING and result.evidence == "stated"
    assert result.reason == "the text states it: 'skottskada'"


def test_a_disqualified_sentence_does_not_hide_another() -> None:
    text = "Polisen avlossade ett varningsskott. Tidigare hade en man skjutit mot en port."
    assert classify("Vapenlagen", text).verdict == Verdict.SHOOTING


def test_missing_texts_and_types_are_not_errors() -> None:
    assert classify(None, None, pd.NA).verdict == Verdict.NOT_SHOOTING  # type: ignore[arg-type]


def test_sentences_split_where_pages_lack_spaces() -> None:
    assert sentences("Smällar hördes.Polisen kom. Uppdatering 20.23Polisen") == [
        "Smällar hördes.",
        "Polisen kom.",
        "Uppdatering 20.23Polisen",
    ]


# --------------------------------------------------------------------------- labelled sets


def read_labels(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("name", ["shootings_labels.csv", "shootings_labels_holdout.csv"])
def test_labelled_sets_are_well_formed(test_data: Path, name: str) -> None:
    labels = read_labels(test_data / name)
    assert list(labels[0]) == ["id", "shooting", "stratum", "note"]
    ids = [r["id"] for r in labels]
    assert len(ids) == len(set(ids)) and all(i.isdigit() for i in ids)
    assert {r["shooting"] for r in labels} <= {"yes", "no", "unclear"}
    assert all(r["note"].strip() for r in labels)


def test_development_set_is_large_enough(test_data: Path) -> None:
    labels = read_labels(test_data / "shootings_labels.csv")
    strata = {r["stratum"] for r in labels}
    assert len(labels) >= 200
    assert strata == {"type_skottlossning", "text_shot_word", "text_lookalike", "random"} | {
        "text_weapon_or_bang"
    }


def scores(pairs: list[tuple[bool, bool]]) -> tuple[float, float]:
    tp = sum(p and y for p, y in pairs)
    fp = sum(p and not y for p, y in pairs)
    fn = sum(y and not p for p, y in pairs)
    return tp / (tp + fp), tp / (tp + fn)


@pytest.mark.realdata
def test_classifier_on_the_stockholm_labelled_set(shared_data: Path, test_data: Path) -> None:
    path = shared_data / "police_events" / "stockholms_lan_events_with_text_2022-09_2025-12.json"
    events = {e["id"]: e for e in json.loads(path.read_text(encoding="utf-8"))}
    ours, baseline = [], []
    for label in read_labels(test_data / "shootings_labels.csv"):
        if label["shooting"] == "unclear":
            continue
        e = events[int(label["id"])]
        truth = label["shooting"] == "yes"
        verdict = classify(e["type"], e["summary"], e.get("_html_body")).verdict
        ours.append((verdict == Verdict.SHOOTING, truth))
        baseline.append((e["type"].startswith("Skottlossning"), truth))
    precision, recall = scores(ours)
    assert precision >= 0.97 and recall >= 0.95, (precision, recall)
    assert scores(baseline)[1] < 0.35  # the type alone misses most shootings


@pytest.mark.realdata
def test_classifier_on_the_held_out_summaries(shared_data: Path, test_data: Path) -> None:
    archive = pd.read_parquet(
        shared_data / "police_events" / "polisen_events_2022-09_2025-12.parquet",
        columns=["id", "type", "summary"],
    ).set_index("id")
    pairs = []
    for label in read_labels(test_data / "shootings_labels_holdout.csv"):
        if label["shooting"] == "unclear":
            continue
        e = archive.loc[int(label["id"])]
        verdict = classify(e["type"], e["summary"]).verdict
        pairs.append((verdict == Verdict.SHOOTING, label["shooting"] == "yes"))
    precision, recall = scores(pairs)
    assert precision >= 0.95 and recall >= 0.95, (precision, recall)


# --------------------------------------------------------------------------- derived events


@pytest.fixture
def police(test_data: Path) -> pd.DataFrame:
    return polisen.parse([test_data / "polisen_derived" / "events.json"]).events


def test_shooting_events_from_police_events(police: pd.DataFrame) -> None:
    derived = shootings.from_police_events(police)
    validate_events(derived.events)
    assert sorted(derived.events["event_uid"]) == [
        "shooting:polisen:900001",
        "shooting:polisen:900002",
    ]
    assert set(derived.events["layer"]) == {"shooting"}
    assert set(derived.events["category"]) == {"shooting_explosion"}
    raw = json.loads(derived.events.set_index("source_id").loc["900002", "raw"])
    assert raw["derived_from"] == "polisen:900002" and raw["verdict"] == "shooting"
    verdicts = derived.verdicts.set_index("event_uid")["verdict"]
    assert verdicts["polisen:900006"] == "shooting"  # a summary: classified, but not kept
    assert len(derived.verdicts) == len(police)


def test_suspected_kept_only_when_asked(police: pd.DataFrame) -> None:
    derived = shootings.from_police_events(police, include_suspected=True)
    assert "shooting:polisen:900005" in set(derived.events["event_uid"])


@pytest.mark.realdata
def test_stockholm_shootings_reconcile_with_the_candidate_csv(shared_data: Path) -> None:
    parsed = polisen.parse(
        [shared_data / "police_events" / "stockholms_lan_events_with_text_2022-09_2025-12.json"]
    )
    derived = shootings.from_police_events(parsed.events)
    validate_events(derived.events)
    ours = set(derived.events["source_id"])
    candidates = pd.read_csv(
        shared_data / "shootings" / "stockholm_shooting_candidate_events_polisen_2022-2025.csv",
        dtype={"id": str},
    )
    by_type = set(candidates.loc[candidates["type"] == "Skottlossning", "id"])
    assert by_type <= ours  # every "Skottlossning" event is kept
    assert len(ours) == 82
    assert ours - set(candidates["id"]) == {"392704", "540161"}  # "avlossat (ett) vapen"


# --------------------------------------------------------------------------- statistics


def test_monthly_figures(test_data: Path) -> None:
    stats, bad = shootings.parse_monthly(test_data / "stats" / "skjutningar_per_manad.csv")
    assert list(stats.columns) == list(shootings.STAT_COLUMNS)
    assert len(stats) == 9 and len(bad) == 2
    nov = stats[(stats["month"] == 11) & (stats["category"] == "injured")].iloc[0]
    assert pd.isna(nov["count"]) and nov["suppressed"]  # ".." is not zero
    dec = stats[stats["month"] == 12]
    assert dec["preliminary"].all() and not stats[stats["month"] == 10]["preliminary"].any()
    assert dec.set_index("category")["count"].to_dict() == {
        "shootings": 9,
        "killed": 0,
        "injured": 6,
    }
    first = stats.iloc[0]
    assert (first["source"], first["source_table"], first["area"], first["area_scheme"]) == (
        "polisen",
        "skjutningar per månad",
        "Sverige",
        "land",
    )
    assert (first["period_start"], first["period_end"]) == (
        pd.Timestamp("2021-10-01"),
        pd.Timestamp("2021-11-01"),
    )
    assert first["source_line"] == 2
    reasons = sorted(bad["reason"])
    assert reasons[0].startswith("impossible period: year '2021', month '13'")
    assert reasons[1].startswith("not a count: shootings 'tre' is not a number")


def test_monthly_needs_year_and_month(tmp_path: Path) -> None:
    path = tmp_path / "fel.csv"
    path.write_text("år,månad,skjutningar\n2021,1,3\n", encoding="utf-8")
    with pytest.raises(SourceError, match="expected the columns year and month"):
        shootings.parse_monthly(path)


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("year", "expected"),
    [
        (2017, (324, 43, 139)),
        (2018, (306, 45, 135)),
        (2019, (334, 42, 120)),
        (2020, (366, 47, 117)),
        (2021, (330, 44, 109)),
    ],
    ids=["2017", "2018", "2019", "2020", "2021-partial-december"],
)
def test_official_series_reconciles(shared_data: Path, year: int, expected: tuple) -> None:
    path = shared_data / "shootings" / "polisen_national_shootings_monthly_2017-2021.csv"
    stats, bad = shootings.parse_monthly(path)
    assert bad.empty and len(stats) == 60 * 3
    sums = stats[stats["year"] == year].groupby("category")["count"].sum()
    assert (sums["shootings"], sums["killed"], sums["injured"]) == expected


@pytest.mark.realdata
def test_period_figures_are_secondary(shared_data: Path) -> None:
    path = shared_data / "shootings" / "shootings_yearly_figures_secondary_sources.csv"
    stats, bad = shootings.parse_period_figures(path)
    assert bad.empty and set(stats["source"]) == {"press"}
    region = stats[(stats["area"] == "Polisregion Stockholm") & (stats["year"] == 2019)]
    assert region.set_index("category")["count"].to_dict() == {"shootings": 87}
    assert set(stats["area_scheme"]) == {"land", "län", "polisregion"}
    partial = stats[stats["period_end"] == pd.Timestamp("2021-10-16")]
    assert partial["year"].isna().all() and (partial["area"] == "Polisregion Stockholm").any()


# --------------------------------------------------------------------------- lists


def test_shootings_list_worked_example(test_data: Path) -> None:
    result = shootings.parse(
        [test_data / "lists" / "skjutningar_exempel.csv"], kommun=KOMMUN, now=NOW
    )
    validate_events(result.events)
    assert (result.read, len(result.events), len(result.quarantine)) == (5, 5, 0)
    events = result.events.set_index("source_id")
    assert events.loc["SK-EXEMPEL-03", "summary"] == "Döda: 1, skadade: 0."
    assert events.loc["SK-EXEMPEL-05", "summary"] == "Döda: okänt, skadade: okänt."
    derived = json.loads(events.loc["SK-EXEMPEL-01", "raw"])["derived"]
    assert (derived["dead"], derived["injured"]) == (0, 1)
    assert events.loc["SK-EXEMPEL-02", "place_name"] == "Kabelverksgatan 12"
    assert set(result.events["layer"]) == {"shooting"}


def test_shootings_list_bad_rows(test_data: Path) -> None:
    result = shootings.parse(
        [test_data / "lists" / "skjutningar_med_fel.csv"], kommun=KOMMUN, now=NOW
    )
    assert len(result.events) + len(result.quarantine) == result.read == 8
    reasons = dict(zip(result.quarantine["source_id"], result.quarantine["reason"], strict=True))
    assert reasons["SK-FEL-01"].startswith("unreadable count: dead 'två'")
    assert reasons["SK-FEL-02"].startswith("unreadable count: injured '-1'")
    assert reasons["SK-FEL-05"].startswith("date in the future")
    assert reasons["SK-FEL-06"].startswith("duplicate row")
    assert reasons["SK-FEL-08"].startswith("no position")
    swapped = result.events.set_index("source_id").loc["SK-FEL-04"]
    assert (swapped["x"], swapped["y"]) == (665637.0, 6574510.0)
    assert swapped["occurred_at"] == pd.Timestamp("2024-02-10 21:36", tz=TZ)  # Excel serial


def test_parse_mixes_police_files_statistics_and_lists(test_data: Path) -> None:
    result = shootings.parse(
        [
            test_data / "polisen_derived" / "events.json",
            test_data / "stats" / "skjutningar_per_manad.csv",
            test_data / "lists" / "skjutningar_exempel.csv",
        ],
        kommun=KOMMUN,
        now=NOW,
    )
    assert len(result.events) == 2 + 5 and len(result.stats) == 9 and len(result.quarantine) == 2
    assert result.read == len(result.events) + len(result.stats) + len(result.quarantine)
    assert any(n.startswith("police events classified") for n in result.notes)


@pytest.mark.realdata
def test_discover_in_the_shared_data(shared_data: Path) -> None:
    names = [p.name for p in shootings.discover(shared_data)]
    assert names == [
        "polisen_national_explosions_monthly_2018-2021.csv",
        "polisen_national_shootings_monthly_2017-2021.csv",
        "shootings_yearly_figures_secondary_sources.csv",
    ]
    result = shootings.parse(shootings.discover(shared_data))
    assert result.events.empty and result.quarantine.empty
    assert set(result.stats["source_table"]) == {
        "skjutningar per månad",
        "sprängningar per månad",
        "citerade siffror",
    }
