"""The maps and report steps' own helpers (the steps themselves run in test_pipeline)."""

from __future__ import annotations

import pytest

from trygghetskarta.publish import slug


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("Hägersten-Älvsjö", "hagersten-alvsjo", id="dash-and-umlauts"),
        pytest.param("Norra innerstaden", "norra-innerstaden", id="space"),
        pytest.param("Enskede-Årsta-Vantör", "enskede-arsta-vantor", id="ring-a"),
        pytest.param("Östermalm", "ostermalm", id="leading-umlaut"),
    ],
)
def test_district_file_names_are_plain_ascii(name, expected):
    assert slug(name) == expected
