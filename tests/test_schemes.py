"""District names across the 2024 reform, both directions."""

from __future__ import annotations

import pandas as pd
import pytest

from real_events import placed_police_events, real_areas
from trygghetskarta.analysis.schemes import (
    scheme_mapping,
    to_2021_2023_districts,
    to_2024_districts,
)
from trygghetskarta.analysis.trends import UNKNOWN
from trygghetskarta.errors import AnalysisError

SDO_13 = pd.DataFrame(
    {
        "name": ["Rinkeby-Kista", "Spånga-Tensta", "Norrmalm", "Östermalm", "Farsta"],
        "name_2024": ["Järva", "Järva", "Norra innerstaden", "Norra innerstaden", "Farsta"],
    }
)
MAPPING = scheme_mapping(SDO_13)
STADSDELAR = {
    "Rinkeby": "Rinkeby-Kista",
    "Kista": "Rinkeby-Kista",
    "Tensta": "Spånga-Tensta",
    "Vasastaden": "Norrmalm",
    "Lärkstaden": "Östermalm",
    "Farsta": "Farsta",
}


def test_scheme_mapping_reads_the_layer() -> None:
    assert MAPPING["Spånga-Tensta"] == "Järva"
    assert MAPPING["Farsta"] == "Farsta"
    assert len(MAPPING) == 5


def test_to_2024_merges_and_keeps_2024_names_and_unknowns() -> None:
    values = pd.Series(
        ["Rinkeby-Kista", "Spånga-Tensta", "Järva", "Östermalm", "Farsta", UNKNOWN, None],
        index=list("abcdefg"),
    )
    got = to_2024_districts(values, MAPPING)
    assert got.iloc[:6].tolist() == [
        "Järva",
        "Järva",
        "Järva",
        "Norra innerstaden",
        "Farsta",
        UNKNOWN,
    ]
    assert pd.isna(got.iloc[6])  # a missing value stays missing
    assert list(got.index) == list("abcdefg")


@pytest.mark.parametrize(
    "convert",
    [
        lambda v: to_2024_districts(v, MAPPING),
        lambda v: to_2021_2023_districts(v, pd.Series([None] * len(v)), MAPPING, STADSDELAR),
    ],
    ids=["to-2024", "to-2021-2023"],
)
def test_a_name_of_neither_scheme_is_refused(convert) -> None:
    with pytest.raises(AnalysisError, match=r"got \['Rinkby-Kista'\]"):
        convert(pd.Series(["Farsta", "Rinkby-Kista"]))


def test_to_2021_2023_splits_merged_districts_by_stadsdel() -> None:
    districts = pd.Series(["Järva", "Järva", "Norra innerstaden", "Farsta", "Norrmalm", UNKNOWN])
    stadsdel = pd.Series(["Kista", "Tensta", "Lärkstaden", "Farsta", "Vasastaden", None])
    got = to_2021_2023_districts(districts, stadsdel, MAPPING, STADSDELAR)
    assert got.tolist() == [
        "Rinkeby-Kista",
        "Spånga-Tensta",
        "Östermalm",
        "Farsta",
        "Norrmalm",
        UNKNOWN,
    ]


def test_unsplittable_events_keep_the_2024_name_with_a_warning() -> None:
    districts = pd.Series(["Järva", "Järva", "Järva"])
    stadsdel = pd.Series([None, "Vasastaden", "Rinkeby"])  # none; wrong district; good
    with pytest.warns(UserWarning, match="2 events in a merged 2024 district"):
        got = to_2021_2023_districts(districts, stadsdel, MAPPING, STADSDELAR)
    assert got.tolist() == ["Järva", "Järva", "Rinkeby-Kista"]


def test_lengths_must_agree() -> None:
    with pytest.raises(AnalysisError, match="one stadsdel per district"):
        to_2021_2023_districts(pd.Series(["Farsta"]), pd.Series([]), MAPPING, STADSDELAR)


def test_docstring_examples_run() -> None:
    import doctest

    from trygghetskarta.analysis import schemes

    assert doctest.testmod(schemes).failed == 0


@pytest.mark.realdata
def test_real_events_in_both_schemes(shared_data) -> None:
    areas = real_areas(shared_data)
    mapping = scheme_mapping(areas.sdo_13)
    assert len(mapping) == 13 and len(set(mapping.values())) == 11
    ev = placed_police_events(shared_data)
    new = to_2024_districts(ev["stadsdelsomrade"], mapping)
    assert set(new.dropna()) <= set(areas.sdo_11["name"])
    via = dict(zip(areas.stadsdelar["name"], areas.stadsdelar["sdo_2021_2023"], strict=True))
    with pytest.warns(UserWarning, match="keep the 2024 name") as caught:
        old = to_2021_2023_districts(ev["stadsdelsomrade"], ev["stadsdel"], mapping, via)
    unsplit = int(str(caught[0].message).split()[0])
    assert unsplit < 0.1 * len(ev)  # almost every event has a stadsdel
    assert set(old.dropna()) <= set(areas.sdo_13["name"]) | {"Järva", "Norra innerstaden"}
    # both directions agree wherever the event could be split
    back = to_2024_districts(old, mapping)
    pd.testing.assert_series_equal(back, new, check_names=False)
