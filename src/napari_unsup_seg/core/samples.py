"""Samples with matching scribbles, from data inside the wheels of installed packages.

Nothing is downloaded: ``coffee`` is scikit-image's photo of a cup of coffee and ``ihc``
its immunohistochemistry (microscopy) image; ``brain`` is a real volume, the first time
point of the echo-planar MRI series ``example4d.nii.gz`` in nibabel's wheel (24 slices of
96x128 voxels, 2.2 x 2 x 2 mm), with strokes on two slices. The scribbles are hand-placed
strokes, one class per label value.
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

# volume samples: name -> (class names, {class: [(slice, polyline of (row, col))]}, voxel size (z, y, x))
_VOLUME_STROKES = {
    "brain": (
        ("brain", "background"),
        {
            1: [(z, [(30, 64), (70, 64)]) for z in (8, 16)] + [(z, [(50, 45), (50, 85)]) for z in (8, 16)],
            2: [
                (z, line_) for z in (8, 16) for line_ in ([(2, 4), (2, 124)], [(4, 4), (92, 4)], [(4, 124), (92, 124)])
            ],
        },
        (2.2, 2.0, 2.0),
    ),
}

SAMPLES = tuple(_STROKES)  # images
VOLUME_SAMPLES = tuple(_VOLUME_STROKES)


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
    return _VOLUME_STROKES[name][0] if name in _VOLUME_STROKES else _STROKES[name][1]


def load_volume_sample(name: str, stroke_width: int = 3) -> tuple[np.ndarray, np.ndarray, tuple[float, ...]]:
    """Return ``(volume, scribbles, spacing)``: (Z, H, W) float32, (Z, H, W) int32, (z, y, x) voxel size."""
    if name not in _VOLUME_STROKES:
        raise InputError(f"unknown volume sample {name!r}; choose one of {', '.join(VOLUME_SAMPLES)}")
    from pathlib import Path

    import nibabel

    _, strokes, spacing = _VOLUME_STROKES[name]
    path = Path(nibabel.__file__).parent / "tests" / "data" / "example4d.nii.gz"
    data = np.asarray(nibabel.load(path).dataobj)[..., 0]  # (X, Y, Z) of the first time point
    volume = np.ascontiguousarray(np.transpose(data, (2, 1, 0))[:, ::-1], np.float32)  # (Z, Y, X), head up
    scribbles = np.zeros(volume.shape, np.int32)
    for value, placed in strokes.items():
        for z, points in placed:
            scribbles[z] = np.where(
                scribbles[z] == 0, _draw(volume.shape[1:], {value: [points]}, stroke_width), scribbles[z]
            )
    return volume, scribbles, spacing


def load_sample(name: str, stroke_width: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(image, scribbles)`` for an image sample: (H, W, 3) uint8 and (H, W) int32."""
    if name in _VOLUME_STROKES:
        raise InputError(f"{name!r} is a volume: load it with load_volume_sample")
    if name not in _STROKES:
        raise InputError(f"unknown sample {name!r}; choose one of {', '.join(SAMPLES)}")
    import skimage.data

    func, _, strokes = _STROKES[name]
    image = getattr(skimage.data, func)()
    return image, _draw(image.shape[:2], strokes, stroke_width)
