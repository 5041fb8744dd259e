"""Merging an unsupervised result: the slider starts from the segments shown and only joins them."""

from __future__ import annotations

import numpy as np
import pytest

from napari_unsup_seg.core.hierarchy import HierarchyParams, build_hierarchy
from napari_unsup_seg.core.pipeline import Segmentation


def _scene(shape=(40, 48)):
    """Four colour blocks; the segments are the blocks, block 1 and 4 sharing id 3 (not connected)."""
    h, w = shape
    rng = np.random.default_rng(0)
    image = np.zeros((3, h, w), np.float32)
    labels = np.zeros(shape, np.int32)
    for k, (rows, cols, colour, value) in enumerate(
        [
            ((0, h // 2), (0, w // 2), (0.9, 0.1, 0.1), 3),
            ((0, h // 2), (w // 2, w), (0.1, 0.8, 0.1), 7),
            ((h // 2, h), (0, w // 2), (0.1, 0.1, 0.9), 5),
            ((h // 2, h), (w // 2, w), (0.8, 0.2, 0.1), 3),
        ]
    ):
        image[:, rows[0] : rows[1], cols[0] : cols[1]] = np.asarray(colour, np.float32)[:, None, None]
        labels[rows[0] : rows[1], cols[0] : cols[1]] = value
    image = np.clip(image + rng.normal(0, 0.05, image.shape).astype(np.float32), 0, 1)
    return image, labels


def _result(image, labels, leaves: np.ndarray) -> Segmentation:
    tree = build_hierarchy(image, leaves, params=HierarchyParams(contour_weight=0.0))
    return Segmentation(labels, tree, None, False, None, {})


def _check_joins_only(seg: Segmentation, thresholds) -> list[int]:
    counts, before = [], None
    for t in thresholds:
        regions = seg.regions(float(t))
        pairs = np.unique(np.stack([seg.labels.ravel(), regions.ravel()]), axis=1)
        assert len(np.unique(pairs[0])) == pairs.shape[1]  # a segment lies whole in one region
        if before is not None:  # and a region whole in one region of any higher threshold
            later = np.unique(np.stack([before.ravel(), regions.ravel()]), axis=1)
            assert len(np.unique(later[0])) == later.shape[1]
        counts.append(seg.n_regions(float(t)))
        assert counts[-1] == len(np.unique(regions))
        before = regions
    assert counts == sorted(counts, reverse=True)
    return counts


@pytest.mark.parametrize("leaves", ["pixels", "across segments"])
def test_the_cut_at_zero_is_the_result_and_higher_ones_only_join_segments(leaves):
    image, labels = _scene()
    n = labels.size
    if leaves == "pixels":
        over = np.arange(n).reshape(labels.shape)
    else:  # leaves that do not follow the segments (as watershed leaves of learned contours)
        rows, cols = np.indices(labels.shape)
        over = (rows // 7) * 100 + (cols + 3) // 9
    seg = _result(image, labels, over)
    np.testing.assert_array_equal(seg.regions(0.0), labels)  # the disconnected segment stays one
    assert seg.n_regions(0.0) == 3
    counts = _check_joins_only(seg, np.linspace(0, 1, 41))
    assert counts[-1] == 1
    assert len(np.unique(seg.classes_with_regions(2))) >= 2  # the coarsest cut with at least 2


def test_a_joined_region_keeps_the_smallest_id_so_colours_stay():
    image, labels = _scene()
    seg = _result(image, labels, np.arange(labels.size).reshape(labels.shape))
    regions = seg.classes_with_regions(2)
    assert len(np.unique(regions)) == 2 and set(np.unique(regions)) <= {3, 5, 7}
    for value in np.unique(regions):
        assert value == labels[regions == value].min()


def test_volume_segments_join_the_same_way():
    image, labels = _scene((24, 20))
    volume = np.repeat(image[:, None], 6, axis=1)
    seg_labels = np.repeat(labels[None], 6, axis=0)
    seg_labels[3:] = np.where(seg_labels[3:] == 7, 9, seg_labels[3:])  # a segment in depth
    rows = np.indices(seg_labels.shape)
    over = (rows[0] // 2) * 10_000 + (rows[1] // 5) * 100 + rows[2] // 4
    seg = Segmentation(seg_labels, build_hierarchy(volume, over), None, False, None, {})
    np.testing.assert_array_equal(seg.regions(0.0), seg_labels)
    _check_joins_only(seg, np.linspace(0, 1, 21))


def test_scribble_mode_still_cuts_connected_regions():
    image, labels = _scene()
    scribbles = np.zeros_like(labels)
    scribbles[2, 2], scribbles[30, 2] = 1, 2
    tree = build_hierarchy(
        image, np.arange(labels.size).reshape(labels.shape), params=HierarchyParams(contour_weight=0.0)
    )
    seg = Segmentation(labels, tree, scribbles, False, None, {})
    assert seg.n_regions(0.0) == tree.n_regions(0.0) == labels.size
    np.testing.assert_array_equal(seg.regions(0.3), tree.cut(0.3))
