"""Scribble mode as annotators use it: a background loop around an object, a short stroke inside.

The first two tests reproduce what a user saw before classes were decided by random walks:
the foreground shrank to the stroke when one cluster region held scribbles of both
classes, and an unscribbled look-alike far away took the foreground.
"""

from __future__ import annotations

import numpy as np
import pytest

from napari_unsup_seg.core.pipeline import SegmentParams, segment
from napari_unsup_seg.core.progress import drain

FAST = SegmentParams(build_ucm=False, seed=0)
H = W = 96


def _disk(cy: float, cx: float, r: float) -> np.ndarray:
    yy, xx = np.mgrid[:H, :W]
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r**2


def _loop(cy: float, cx: float, r: float, width: float = 1.5) -> np.ndarray:
    yy, xx = np.mgrid[:H, :W]
    d = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2)
    return np.abs(d - r) <= width


def _image(*objects: np.ndarray, contrast: float = 0.12, noise: float = 0.03) -> np.ndarray:
    rng = np.random.default_rng(1)
    img = np.full((H, W), 0.45, np.float32)
    for obj in objects:
        img[obj] += contrast
    img += rng.normal(0, noise, img.shape).astype(np.float32)
    return np.clip(img, 0, 1)[None]


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def test_object_with_loop_and_stroke_is_found_not_only_the_stroke():
    # a faint object: one cluster region may hold the loop and the stroke together
    obj = _disk(48, 48, 20)
    scribbles = np.zeros((H, W), np.int32)
    scribbles[_loop(48, 48, 30)] = 1
    scribbles[46:50, 40:56] = 2
    result = drain(segment(_image(obj, contrast=0.04), scribbles, FAST))
    fg = result.labels == 2
    assert fg.sum() > 5 * (scribbles == 2).sum()  # more than the stroke
    assert _iou(fg, obj) > 0.88  # region assignment: 0.77 here


def test_unscribbled_look_alike_far_away_stays_background():
    target, twin = _disk(30, 30, 12), _disk(70, 72, 12)
    scribbles = np.zeros((H, W), np.int32)
    scribbles[_loop(30, 30, 19)] = 1
    scribbles[29:32, 25:36] = 2
    result = drain(segment(_image(target, twin, noise=0.08), scribbles, FAST))
    fg = result.labels == 2
    assert fg[twin].mean() < 0.1  # the twin is outside the background loop: not foreground
    assert _iou(fg, target) > 0.75  # region assignment: 0.53 here, the rest went to the background


def test_scribbles_of_one_class_give_that_class_against_everything_else():
    obj = _disk(48, 48, 20)
    scribbles = np.zeros((H, W), np.int32)
    scribbles[44:52, 38:58] = 3  # only the object is scribbled, with class 3
    result = drain(segment(_image(obj, contrast=0.35), scribbles, FAST))
    assert set(np.unique(result.labels)) == {0, 3}  # 0: everything else
    assert _iou(result.labels == 3, obj) > 0.8
    assert result.uncertainty is not None and result.uncertainty.shape == (H, W)


def test_first_mask_comes_before_the_clustering_and_matches_the_scribbles():
    obj = _disk(48, 48, 20)
    scribbles = np.zeros((H, W), np.int32)
    scribbles[_loop(48, 48, 30)] = 1
    scribbles[46:50, 40:56] = 2
    gen = segment(_image(obj), scribbles, FAST)
    stages = []
    while True:
        try:
            event = next(gen)
        except StopIteration:
            break
        stages.append(event.stage)
        if event.result is not None:
            assert "cluster" not in stages  # before any clustering iteration
            first = event.result
    assert first.shape == (H, W)
    painted = scribbles > 0
    np.testing.assert_array_equal(first[painted], scribbles[painted])
    assert _iou(first == 2, obj) > 0.8


@pytest.mark.parametrize("value", [258, 70000])
def test_large_class_values_are_kept(value):
    obj = _disk(48, 48, 20)
    scribbles = np.zeros((H, W), np.int64)
    scribbles[_loop(48, 48, 30)] = 1
    scribbles[46:50, 40:56] = value
    result = drain(segment(_image(obj), scribbles, FAST))
    assert set(np.unique(result.labels)) == {1, value}
