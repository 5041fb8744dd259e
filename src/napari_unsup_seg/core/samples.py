"""Sample images with matching scribbles, from images inside scikit-image's wheel.

Nothing is downloaded: ``coffee`` is skimage's photo of a cup of coffee and ``ihc`` its
immunohistochemistry (microscopy) image. The scribbles are hand-placed strokes, one
class per label value.
"""

from __future__ import annotations

import numpy as np
from skimage.draw import line

from .errors import InputError

# name -> (skimage.data function, class names, {class: [polyline of (row, col)]})
_STROKES = {
    "coffee": (
        "coffee",
        ("coffee", "cup and saucer", "table"),
        {
            1: [[(135, 235), (150, 290), (140, 340)]],
            2: [[(325, 140), (345, 220), (340, 300)], [(220, 440), (280, 445)], [(210, 185), (250, 190)]],
            3: [[(50, 430), (70, 560)], [(375, 20), (385, 120)], [(180, 15), (250, 30)]],
        },
    ),
    "ihc": (
        "immunohistochemistry",
        ("stained epithelium", "stroma", "lumen"),
        {
            1: [[(90, 40), (120, 190)], [(160, 320), (230, 410)], [(340, 290), (420, 350)]],
            2: [[(270, 130), (300, 240)], [(200, 460), (320, 480)], [(470, 210), (500, 250)]],
            3: [[(300, 5), (420, 25)], [(10, 60), (10, 100)]],
        },
    ),
}

SAMPLES = tuple(_STROKES)


def _draw(shape: tuple[int, int], strokes: dict[int, list], width: int) -> np.ndarray:
    scribbles = np.zeros(shape, np.int32)
    for value, polylines in strokes.items():
        for points in polylines:
            for (r0, c0), (r1, c1) in zip(points[:-1], points[1:]):
                rr, cc = line(r0, c0, r1, c1)
                half = width // 2
                for dr in range(-half, half + 1):
                    for dc in range(-half, half + 1):
                        r = np.clip(rr + dr, 0, shape[0] - 1)
                        c = np.clip(cc + dc, 0, shape[1] - 1)
                        scribbles[r, c] = value
    return scribbles


def sample_class_names(name: str) -> tuple[str, ...]:
    """Names of the scribble classes of a sample (class k is ``names[k - 1]``)."""
    return _STROKES[name][1]


def load_sample(name: str, stroke_width: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(image, scribbles)`` for a sample: (H, W, 3) uint8 and (H, W) int32."""
    if name not in _STROKES:
        raise InputError(f"unknown sample {name!r}; choose one of {', '.join(SAMPLES)}")
    import skimage.data

    func, _, strokes = _STROKES[name]
    image = getattr(skimage.data, func)()
    return image, _draw(image.shape[:2], strokes, stroke_width)
