"""Category colours stay apart for readers with a colour-vision deficiency.

Each colour is simulated as seen with protanopia, deuteranopia and tritanopia (severity
1.0) by the matrices of Machado, Oliveira and Fernandes (2009), "A physiologically-based
model for simulation of color vision deficiency", IEEE TVCG 15(6), table of severity 1.0,
applied to linear RGB; the distance of every pair of distinct colours is then CIEDE2000
(Sharma, Wu and Dalal 2005) in CIELAB under D65. Categories that share a colour on purpose
("Övrigt" and "Sammanfattning") are one colour here.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from trygghetskarta.render.format import CATEGORY_COLORS, FALLBACK_COLOR, category_color
from trygghetskarta.schema import Category

#: Machado et al. (2009), severity 1.0, rows R', G', B' of linear RGB.
MACHADO = {
    "normal": np.eye(3),
    "protanopia": np.array(
        [
            [0.152286, 1.052583, -0.204868],
            [0.114503, 0.786281, 0.099216],
            [-0.003882, -0.048116, 1.051998],
        ]
    ),
    "deuteranopia": np.array(
        [
            [0.367322, 0.860646, -0.227968],
            [0.280085, 0.672501, 0.047413],
            [-0.011820, 0.042940, 0.968881],
        ]
    ),
    "tritanopia": np.array(
        [
            [1.255528, -0.076749, -0.178779],
            [-0.078411, 0.930809, 0.147602],
            [0.004733, 0.691367, 0.303900],
        ]
    ),
}
#: The smallest CIEDE2000 difference allowed between two category colours, as seen by each
#: reader. About 10 is "clearly different colours" for small marks on a map; the palette
#: reaches 10.9 (tritanopia: orange against reddish purple).
MIN_DELTA_E = 10.0

_SRGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
_D65 = np.array([0.95047, 1.0, 1.08883])


def linear_rgb(hex_color: str) -> np.ndarray:
    c = np.array([int(hex_color.lstrip("#")[i : i + 2], 16) for i in (0, 2, 4)]) / 255
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def lab(rgb_linear: np.ndarray) -> np.ndarray:
    t = _SRGB_TO_XYZ @ np.clip(rgb_linear, 0.0, 1.0) / _D65
    f = np.where(t > (6 / 29) ** 3, np.cbrt(t), t / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def ciede2000(lab1: np.ndarray, lab2: np.ndarray) -> float:
    """CIEDE2000 colour difference (kL = kC = kH = 1), after Sharma et al. (2005)."""
    (l1, a1, b1), (l2, a2, b2) = lab1, lab2
    c_bar = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_bar**7 / (c_bar**7 + 25.0**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    dl, dc = l2 - l1, c2p - c1p
    dh = 0.0
    if c1p * c2p != 0:
        dh = h2p - h1p
        dh = dh - 360 if dh > 180 else dh + 360 if dh < -180 else dh
    d_h = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh / 2))
    l_bar, cp_bar = (l1 + l2) / 2, (c1p + c2p) / 2
    if c1p * c2p == 0:
        h_bar = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        h_bar = (h1p + h2p) / 2
    else:
        h_bar = (h1p + h2p + (360 if h1p + h2p < 360 else -360)) / 2
    t = (
        1
        - 0.17 * np.cos(np.radians(h_bar - 30))
        + 0.24 * np.cos(np.radians(2 * h_bar))
        + 0.32 * np.cos(np.radians(3 * h_bar + 6))
        - 0.20 * np.cos(np.radians(4 * h_bar - 63))
    )
    d_theta = 30 * np.exp(-(((h_bar - 275) / 25) ** 2))
    r_c = 2 * np.sqrt(cp_bar**7 / (cp_bar**7 + 25.0**7))
    s_l = 1 + 0.015 * (l_bar - 50) ** 2 / np.sqrt(20 + (l_bar - 50) ** 2)
    s_c = 1 + 0.045 * cp_bar
    s_h = 1 + 0.015 * cp_bar * t
    r_t = -np.sin(np.radians(2 * d_theta)) * r_c
    return float(
        np.sqrt(
            (dl / s_l) ** 2 + (dc / s_c) ** 2 + (d_h / s_h) ** 2 + r_t * (dc / s_c) * (d_h / s_h)
        )
    )


@pytest.mark.parametrize(
    ("lab1", "lab2", "expected"),
    [
        ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
        ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
        ((2.0776, 0.0795, -1.1350), (0.9033, -0.0636, -0.5514), 0.9082),
    ],
    ids=["sharma-1", "sharma-25", "sharma-34"],
)
def test_ciede2000_matches_sharma_table(lab1, lab2, expected) -> None:
    assert ciede2000(np.array(lab1), np.array(lab2)) == pytest.approx(expected, abs=1e-4)


def test_machado_keeps_grey_grey() -> None:
    # Each matrix's rows sum to 1: white stays white, greys stay grey.
    for name, matrix in MACHADO.items():
        np.testing.assert_allclose(matrix.sum(axis=1), 1.0, atol=1e-5, err_msg=name)


@pytest.mark.parametrize("vision", list(MACHADO), ids=list(MACHADO))
def test_category_colours_stay_apart(vision: str) -> None:
    colors = sorted(set(CATEGORY_COLORS.values()))
    assert len(colors) >= 10  # eleven categories on ten colours
    seen = {c: lab(MACHADO[vision] @ linear_rgb(c)) for c in colors}
    pairs = [(ciede2000(seen[a], seen[b]), a, b) for a, b in itertools.combinations(colors, 2)]
    worst = min(pairs)
    assert worst[0] >= MIN_DELTA_E, f"{vision}: {worst[1]} and {worst[2]} are ΔE00 {worst[0]:.1f}"


def test_former_olive_four_are_apart_under_deuteranopia() -> None:
    # The issue: Våld, Rån, Ordningsstörning and Brand looked one olive under deuteranopia.
    four = [Category.VIOLENCE, Category.ROBBERY, Category.DISORDER, Category.FIRE]
    seen = [lab(MACHADO["deuteranopia"] @ linear_rgb(category_color(c))) for c in four]
    for a, b in itertools.combinations(range(4), 2):
        assert ciede2000(seen[a], seen[b]) >= MIN_DELTA_E, (four[a], four[b])


def test_every_category_has_a_colour_and_shared_ones_are_the_residual_classes() -> None:
    assert set(CATEGORY_COLORS) == {c.value for c in Category}
    by_color: dict[str, list[str]] = {}
    for category, color in CATEGORY_COLORS.items():
        by_color.setdefault(color, []).append(str(category))
    shared = [sorted(v) for v in by_color.values() if len(v) > 1]
    assert shared == [["other", "summary"]]
    assert category_color("no-such-category") == FALLBACK_COLOR == CATEGORY_COLORS["other"]
