"""Colours for classes 1, 2, 3...: clearly distinct, the first ones colour-blind friendly.

Classes 1 to 7 take the Okabe-Ito palette (its black left out: it vanishes on a dark
canvas), designed to stay apart for the common kinds of colour blindness. Higher
classes continue it the way Glasbey et al. (2007) build categorical palettes: each next
colour is the one of a grid of sRGB colours farthest in CIELAB from all the colours
before it, among those neither too dark nor too light to see over an image.

>>> class_colour(1)
(0.902, 0.624, 0.0, 1.0)
>>> len(class_colours(20)), class_colours(20)[7] == class_colour(8)
(20, True)
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

OKABE_ITO = (
    (0.902, 0.624, 0.0),  # orange
    (0.337, 0.706, 0.914),  # sky blue
    (0.0, 0.620, 0.451),  # bluish green
    (0.941, 0.894, 0.259),  # yellow
    (0.0, 0.447, 0.698),  # blue
    (0.835, 0.369, 0.0),  # vermillion
    (0.800, 0.475, 0.655),  # reddish purple
)
GRID_LEVELS = 16  # per sRGB channel, for the continuation's candidates
LIGHTNESS = (35.0, 90.0)  # CIELAB L* of the continuation's colours


def class_colour(k: int) -> tuple[float, float, float, float]:
    """RGBA in [0, 1] of class ``k`` (1, 2, ...)."""
    if k < 1:
        raise ValueError(f"classes are numbered from 1, not {k}")
    return class_colours(k)[k - 1]


def class_colours(n: int) -> list[tuple[float, float, float, float]]:
    """RGBA colours of classes 1 to ``n``."""
    extra = max(0, n - len(OKABE_ITO))
    # the greedy choice does not depend on how many follow: compute a power of two, once
    rgb = list(OKABE_ITO[:n]) + [tuple(c) for c in _continuation(1 << max(0, extra - 1).bit_length())[:extra]]
    return [(*(round(float(c), 3) for c in colour), 1.0) for colour in rgb]


@lru_cache(maxsize=4)
def _continuation(n: int) -> np.ndarray:
    """(n, 3) sRGB colours after Okabe-Ito's, each farthest from all before it."""
    from skimage.color import rgb2lab

    if n == 0:
        return np.zeros((0, 3))
    levels = np.linspace(0.0, 1.0, GRID_LEVELS)
    grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(-1, 3)
    lab = rgb2lab(grid[None])[0]
    keep = (lab[:, 0] >= LIGHTNESS[0]) & (lab[:, 0] <= LIGHTNESS[1])
    grid, lab = grid[keep], lab[keep]
    taken = rgb2lab(np.asarray(OKABE_ITO, float)[None])[0]
    nearest = np.min(np.linalg.norm(lab[:, None] - taken[None], axis=-1), axis=1)
    out = []
    for _ in range(n):
        i = int(np.argmax(nearest))
        out.append(grid[i])
        nearest = np.minimum(nearest, np.linalg.norm(lab - lab[i], axis=-1))
    return np.asarray(out)
