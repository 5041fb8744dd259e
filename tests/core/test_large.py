"""Large images: fitted at a working resolution, brought to full resolution tile by tile."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from napari_unsup_seg.core.errors import InputError
from napari_unsup_seg.core.large import (
    LargeParams,
    LargeSegmentation,
    enlarge_labels,
    refine_tiled,
    shrink_scribbles,
    working_shape,
)
from napari_unsup_seg.core.pipeline import SegmentParams, segment
from napari_unsup_seg.core.progress import drain

H, W = 200, 260


def disk_scene():
    yy, xx = np.mgrid[:H, :W]
    truth = (yy - 100) ** 2 + (xx - 120) ** 2 < 60**2
    rng = np.random.default_rng(0)
    image = (0.25 + 0.5 * truth + rng.normal(0, 0.05, truth.shape)).astype(np.float32)[None]
    scribbles = np.zeros(truth.shape, np.int32)
    scribbles[98:101, 90:150] = 2  # one thin stroke inside
    scribbles[5:7, 5:250] = 1
    scribbles[190:192, 5:250] = 1
    return image, scribbles, truth


def test_working_shape_keeps_the_aspect_and_the_pixel_budget():
    assert working_shape((100, 100), 20_000) == (100, 100)
    h, w = working_shape((8192, 4096), 1024 * 1024)
    assert h * w <= 1024 * 1024 and abs(h / w - 2) < 0.01
    with pytest.raises(InputError):
        LargeParams(work_pixels=100)


def test_shrunk_scribbles_keep_every_stroke():
    scribbles = np.zeros((100, 100), np.int32)
    scribbles[50, 3:97] = 1  # one pixel wide
    scribbles[10, 10] = 2
    small = shrink_scribbles(scribbles, (25, 25))
    assert set(np.unique(small)) == {0, 1, 2} and (small == 1).sum() >= 23


def test_tiles_agree_at_their_seams():
    rng = np.random.default_rng(1)
    small = rng.integers(1, 5, (13, 17)).astype(np.int32)
    image = np.zeros((1, 130, 170), np.float32)
    whole, _ = drain(refine_tiled(image, small, None, LargeParams(tile=1024)))
    tiled, _ = drain(refine_tiled(image, small, None, LargeParams(tile=64)))
    np.testing.assert_array_equal(tiled, whole)
    assert set(np.unique(whole)) == set(np.unique(small))
    np.testing.assert_array_equal(enlarge_labels(small, (13, 17), (0, 13, 0, 17)), small)  # same size: itself


def test_a_large_image_is_fitted_small_and_labelled_at_full_resolution():
    image, scribbles, truth = disk_scene()
    params = SegmentParams(large=LargeParams(work_pixels=100 * 130, tile=96))
    events = []
    result = drain(segment(image, scribbles, params), events.append)
    assert isinstance(result, LargeSegmentation) and result.labels.shape == (H, W)
    assert result.recipe["large"]["working_shape"] == [100, 130] and result.coarse.labels.shape == (100, 130)
    painted = scribbles > 0
    np.testing.assert_array_equal(result.labels[painted], scribbles[painted])
    fg = result.labels == 2
    assert (fg & truth).sum() / (fg | truth).sum() > 0.9
    assert any(e.stage == "refine" and "tile 9/9" in (e.message or "") for e in events)
    assert result.ucm is None and result.uncertainty.shape == (H, W)
    cut = result.classes(result.hierarchy.max_threshold / 2)
    assert cut.shape == (H, W) and np.array_equal(cut[painted], scribbles[painted])


def test_a_stop_during_the_tiles_still_gives_full_labels():
    image, scribbles, _ = disk_scene()
    stop = threading.Event()
    params = LargeParams(tile=64, band=1)
    gen = refine_tiled(image, np.ones((50, 65), np.int32) + (np.arange(65) > 30), scribbles, params, stop=stop)
    next(gen)
    stop.set()
    labels, stopped = drain(gen)
    assert stopped and labels.shape == (H, W) and set(np.unique(labels)) <= {1, 2}


def test_images_within_the_budget_are_segmented_as_they_are():
    image, scribbles, _ = disk_scene()
    result = drain(segment(image, scribbles, SegmentParams(large=LargeParams(work_pixels=H * W))))
    assert not isinstance(result, LargeSegmentation) and "large" not in result.recipe
