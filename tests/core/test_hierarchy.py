"""Hierarchy, UCM layout, cuts, scribble constraints and region classes."""

import numpy as np
import pytest

from napari_unsup_seg.core.errors import InputError
from napari_unsup_seg.core.hierarchy import (
    Hierarchy,
    HierarchyParams,
    build_hierarchy,
    labels_at,
    region_classes,
    ucm_is_consistent,
)

H, W = 24, 32
THRESHOLDS = np.concatenate([np.linspace(0.0, 1.0, 101), [0.999999, 1e-7]])


def _image(seed=0, channels=3):
    """Four quadrants of different brightness plus noise."""
    rng = np.random.default_rng(seed)
    base = np.zeros((H, W), np.float32)
    base[: H // 2, W // 2 :] = 0.35
    base[H // 2 :, : W // 2] = 0.65
    base[H // 2 :, W // 2 :] = 0.95
    img = np.stack([base] * channels) + rng.normal(0, 0.03, (channels, H, W)).astype(np.float32)
    return np.clip(img, 0, 1).astype(np.float32)


def _overseg(seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 5, (H, W))  # random labels: many small, non-connected regions


def _cuts_equal_rule(h):
    ucm = h.ucm
    for t in THRESHOLDS:
        cut = h.cut(t)
        assert cut.dtype == np.int32
        np.testing.assert_array_equal(cut, labels_at(ucm, t), err_msg=f"threshold {t}")
        assert cut.max() == h.n_regions(t)


@pytest.mark.parametrize("method", ["mean", "single", "area", "volume", "ward"])
def test_ucm_layout_and_cut_equals_rule(method):
    h = build_hierarchy(_image(), _overseg(), params=HierarchyParams(method=method))
    ucm = h.ucm
    assert ucm.shape == (2 * H + 1, 2 * W + 1) and ucm.dtype == np.float32
    assert ucm.min() >= 0.0 and ucm.max() <= 1.0
    assert np.all(ucm[1::2, 1::2] == 0)  # pixel elements
    assert ucm_is_consistent(ucm)
    _cuts_equal_rule(h)


@pytest.mark.parametrize("normalize", ["scale", "max", "rank"])
def test_normalizations_with_soft_and_gray(normalize):
    soft = np.random.default_rng(1).random((3, H, W)).astype(np.float32)
    soft /= soft.sum(0)
    h = build_hierarchy(_image(channels=1), _overseg(1), soft, HierarchyParams(normalize=normalize))
    _cuts_equal_rule(h)


@pytest.mark.parametrize("method", ["mean", "single", "area", "volume", "ward"])
def test_quadrants_are_found(method):
    params = HierarchyParams(method=method, sigma=0.0)  # no blur: no ramp of mixed pixels
    h = build_hierarchy(_image(), np.arange(H * W).reshape(H, W), params=params)
    four = h.cut_regions(4)
    assert four.max() == 4
    quadrants = np.zeros((H, W), int)
    quadrants[:, W // 2 :] += 1
    quadrants[H // 2 :] += 2
    for q in range(4):  # every quadrant is one region
        assert len(np.unique(four[quadrants == q])) == 1


def test_cut_regions_and_thresholds():
    h = build_hierarchy(_image(), _overseg())
    n_leaves = h.num_leaves
    for n in (1, 2, 3, 7, 20, n_leaves):
        t = h.threshold_for_regions(n)
        assert h.n_regions(t) >= n
        assert h.cut_regions(n).max() == h.n_regions(t)
        assert h.cut(t).max() >= n
    assert h.cut_regions(1).max() == 1
    assert h.cut(0.0).max() == n_leaves  # leaves: the connected components of the labels
    assert h.cut_regions(10 * n_leaves).max() == n_leaves


def test_non_connected_labels_are_split():
    labels = np.zeros((H, W), int)
    labels[:, W // 2 :] = 1
    labels[:4, :4] = 1  # a second, disconnected piece of label 1
    h = build_hierarchy(_image(), labels)
    assert h.num_leaves == 3
    assert h.cut(0.0).max() == 3


def test_constant_labels_give_one_region():
    h = build_hierarchy(_image(), np.zeros((H, W), int))
    assert h.cut(0.0).max() == 1 and h.n_regions(0.5) == 1
    assert h.ucm.max() == 0.0


def test_from_ucm_round_trip():
    h = build_hierarchy(_image(), _overseg())
    again = Hierarchy.from_ucm(h.ucm)
    np.testing.assert_array_equal(again.ucm, h.ucm)
    for t in (0.0, 0.2, 0.5, 0.9):
        np.testing.assert_array_equal(again.cut(t), h.cut(t))


def _scribbles():
    s = np.zeros((H, W), np.int32)
    s[2:10, 3] = 1  # top-left quadrant
    s[2:10, W - 4] = 2  # top-right
    s[H - 8 : H - 2, 4] = 3  # bottom-left
    s[H - 3, W - 10 : W - 2] = 1  # bottom-right: class 1 again
    return s


@pytest.mark.parametrize("method", ["mean", "area", "ward"])
def test_scribble_classes_never_merge_below_one(method):
    scribbles = _scribbles()
    h = build_hierarchy(_image(), _overseg(), params=HierarchyParams(method=method), scribbles=scribbles)
    _cuts_equal_rule(h)
    for t in THRESHOLDS[THRESHOLDS < 1.0]:
        regions = h.cut(t)
        for r in np.unique(regions[scribbles > 0]):
            assert len(np.unique(scribbles[(regions == r) & (scribbles > 0)])) == 1, f"t={t}"
    assert h.cut(1.0).max() == 1
    coarse = h.cut(h.max_threshold)
    assert len(np.unique(coarse[scribbles > 0])) >= 3
    classes = region_classes(coarse, scribbles)
    keep = scribbles > 0
    np.testing.assert_array_equal(classes[keep], scribbles[keep])


def test_a_leaf_with_two_classes_is_split():
    labels = np.zeros((H, W), int)  # one leaf holding two classes
    scribbles = np.zeros((H, W), np.int32)
    scribbles[5, 2:6] = 1
    scribbles[5, W - 6 : W - 2] = 2
    h = build_hierarchy(_image(), labels, scribbles=scribbles)
    cut = h.cut(0.99)
    assert cut[5, 3] != cut[5, W - 3]
    _cuts_equal_rule(h)


def test_region_classes_majority_and_fallback():
    regions = np.array([[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4]])
    scribbles = np.array([[1, 2, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]])
    fallback = np.array([[9, 9, 5, 5], [9, 9, 5, 6], [7, 7, 8, 8]])
    out = region_classes(regions, scribbles, fallback)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, [[1, 1, 5, 5], [1, 1, 5, 5], [7, 7, 8, 8]])
    no_fallback = region_classes(regions, scribbles)
    np.testing.assert_array_equal(no_fallback, [[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0]])
    # a tie between classes goes to the smaller class value
    tie = region_classes(np.ones((1, 2), int), np.array([[2, 1]]))
    np.testing.assert_array_equal(tie, [[1, 1]])


def test_bad_inputs():
    with pytest.raises(InputError):
        build_hierarchy(_image(), np.zeros((H, W + 1), int))
    with pytest.raises(InputError):
        build_hierarchy(_image(), _overseg(), soft=np.ones((2, H, W + 1), np.float32))
    with pytest.raises(InputError):
        HierarchyParams(method="nope")
    with pytest.raises(InputError):
        labels_at(np.zeros((4, 5), np.float32), 0.5)


def test_watershed_leaves_follow_the_image_not_the_segmenter():
    from napari_unsup_seg.core.hierarchy import HierarchyParams

    rng = np.random.default_rng(3)
    img = np.zeros((3, 20, 30), np.float32)
    img[:, :, 15:] = 1.0
    img += 0.02 * rng.standard_normal(img.shape).astype(np.float32)
    one_region = np.zeros((20, 30), int)
    shipped = build_hierarchy(img, one_region)
    assert shipped.num_leaves == 1
    h = build_hierarchy(img, one_region, params=HierarchyParams(leaves="watershed"))
    assert h.num_leaves > 1
    two = h.cut_regions(2)
    assert len(np.unique(two[:, :15])) == 1 and len(np.unique(two[:, 15:])) == 1
    assert two[0, 0] != two[0, -1]
    np.testing.assert_array_equal(h.cut(0.3), labels_at(h.ucm, 0.3))


def test_watershed_leaves_keep_scribble_classes_apart():
    from napari_unsup_seg.core.hierarchy import HierarchyParams

    img = np.full((1, 10, 10), 0.5, np.float32)
    scribbles = np.zeros((10, 10), int)
    scribbles[2, 2], scribbles[7, 7] = 1, 2
    h = build_hierarchy(img, np.zeros((10, 10), int), params=HierarchyParams(leaves="watershed"), scribbles=scribbles)
    top = h.cut(h.max_threshold)
    assert top[2, 2] != top[7, 7]


def test_unknown_leaves_raise():
    from napari_unsup_seg.core.hierarchy import HierarchyParams

    with pytest.raises(InputError):
        HierarchyParams(leaves="superpixels")
    with pytest.raises(InputError):
        HierarchyParams(leaves="watershed", method="ward")


def test_multiscale_soft_boundaries_keep_edges_and_damp_speckle():
    from napari_unsup_seg.core.boundaries import edge_weights
    from napari_unsup_seg.core.hierarchy import HierarchyParams
    from napari_unsup_seg.core.ucm import grid_graph

    soft = np.zeros((2, 30, 40), np.float32)
    soft[0, :, :20] = 1.0
    soft[1, :, 20:] = 1.0
    soft[:, 10, 8] = soft[::-1, 10, 8]  # one speckle pixel of the other class
    image = np.zeros((1, 30, 40), np.float32)
    graph = grid_graph((30, 40))
    src, dst = graph.edge_list()
    step = (src % 40 == 19) & (dst == src + 1)
    speckle = (src == 10 * 40 + 8) | (dst == 10 * 40 + 8)
    plain = edge_weights(image, graph, soft, HierarchyParams(color_weight=0.0))
    multi = edge_weights(image, graph, soft, HierarchyParams(color_weight=0.0, soft_scales=(2.0, 4.0)))
    assert plain[speckle].min() == pytest.approx(1.0) and plain[step].min() == pytest.approx(1.0)
    assert multi[step].min() > 0.8  # a clean change of class stays about 1 at every scale
    assert multi[speckle].max() < 0.35
    with pytest.raises(InputError):
        HierarchyParams(soft_scales=(0.0,))


def test_an_image_graph_is_made_once_per_shape():
    """Making it holds the GIL for 0.17 s at 1024x1024: a rerun (live mode) reuses it."""
    from napari_unsup_seg.core.ucm import grid_graph

    first = grid_graph((40, 50))
    assert grid_graph((40, 50)) is first and first.num_vertices() == 2000
    assert grid_graph((30, 50)).num_vertices() == 1500
    assert grid_graph((4, 5, 6)).num_vertices() == 120  # a volume's is not kept: it is several times larger
