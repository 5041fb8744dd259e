"""Class colours: distinct in CIELAB, the first ones Okabe-Ito's, the same on every call."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
from skimage.color import rgb2lab

from napari_unsup_seg.core.palette import LIGHTNESS, OKABE_ITO, class_colour, class_colours


def min_lab_distance(colours) -> float:
    """Smallest CIE76 distance (Delta E) between two of ``colours`` (RGB or RGBA in [0, 1])."""
    lab = rgb2lab(np.asarray(colours, float)[None, :, :3])[0]
    return float(min(np.linalg.norm(a - b) for a, b in combinations(lab, 2)))


def test_first_classes_are_okabe_ito_and_all_stay_apart():
    colours = class_colours(64)
    np.testing.assert_allclose(np.array(colours[:7])[:, :3], OKABE_ITO)
    assert all(c[3] == 1.0 for c in colours)
    assert min_lab_distance(colours[:16]) > 25  # Okabe-Ito's own closest pair: 26.4
    assert min_lab_distance(colours) > 15
    lightness = rgb2lab(np.array(colours[7:])[None, :, :3])[0][:, 0]
    assert lightness.min() >= LIGHTNESS[0] - 0.5 and lightness.max() <= LIGHTNESS[1] + 0.5


def test_a_class_keeps_its_colour_however_many_are_asked_for():
    assert class_colours(40)[:12] == class_colours(12)
    assert [class_colour(k) for k in range(1, 21)] == class_colours(20)
    with pytest.raises(ValueError):
        class_colour(0)
