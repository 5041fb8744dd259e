"""Volumes (Z, H, W): 3D walks, one network for all slices, the hierarchy on the voxel grid."""

import threading

import numpy as np
import pytest

from napari_unsup_seg.core import propagate
from napari_unsup_seg.core.cluster import ClusterParams, fit
from napari_unsup_seg.core.cluster_volume import training_slices
from napari_unsup_seg.core.errors import InputError
from napari_unsup_seg.core.hierarchy import Hierarchy, build_hierarchy, labels_at
from napari_unsup_seg.core.pipeline import SegmentParams, segment
from napari_unsup_seg.core.progress import drain
from napari_unsup_seg.core.edge_weights import axis_factors
from napari_unsup_seg.core.propagate import WalkParams, random_walk
from napari_unsup_seg.core.scribble_classes import PropagationParams, final_classes


def ellipsoid(shape=(12, 40, 40), noise=0.1, seed=0):
    """A bright ellipsoid in a darker noisy volume, scribbled on two slices only."""
    rng = np.random.default_rng(seed)
    z, y, x = np.indices(shape)
    cz, cy, cx = (n / 2 for n in shape)
    truth = ((z - cz) / (0.4 * shape[0])) ** 2 + ((y - cy) / (0.3 * shape[1])) ** 2 + (
        (x - cx) / (0.32 * shape[2])
    ) ** 2 < 1
    image = (0.3 + 0.4 * truth + rng.normal(0, noise, shape)).astype(np.float32)[None]
    scribbles = np.zeros(shape, np.int32)
    for s in (shape[0] // 3, 2 * shape[0] // 3):
        scribbles[s, shape[1] // 2, shape[2] // 3 : 2 * shape[2] // 3] = 2
        scribbles[s, 1, 1:-1] = 1
        scribbles[s, -2, 1:-1] = 1
    return np.clip(image, 0, 1), scribbles, truth


def dice(mask, truth):
    return 2 * (mask & truth).sum() / (mask.sum() + truth.sum())


def unscribbled(scribbles):
    return ~scribbles.reshape(scribbles.shape[0], -1).any(1)


def test_3d_walk_labels_slices_without_scribbles():
    image, scribbles, truth = ellipsoid()
    labels = random_walk(image, scribbles, WalkParams(max_side=0)).labels()
    empty = unscribbled(scribbles)
    assert dice(labels[empty] == 2, truth[empty]) > 0.9


def test_multigrid_matches_the_exact_solve(monkeypatch):
    image, scribbles, _ = ellipsoid((10, 30, 30))
    exact = random_walk(image, scribbles, WalkParams(max_side=0)).probs
    monkeypatch.setattr(propagate, "AMG_MIN_SIZE", 100)
    iterative = random_walk(image, scribbles, WalkParams(max_side=0)).probs
    assert np.abs(exact - iterative).max() < 0.01


def test_coarse_to_fine_volume_agrees_with_full_resolution():
    image, scribbles, _ = ellipsoid((16, 64, 64), noise=0.05)
    full = random_walk(image, scribbles, WalkParams(max_side=0)).labels()
    fast = random_walk(image, scribbles, WalkParams(max_side=32)).labels()
    assert (full == fast).mean() > 0.99


def test_spacing_weakens_ties_across_slices():
    shape = (9, 9, 9)
    image = np.zeros((1,) + shape, np.float32)
    scribbles = np.zeros(shape, np.int32)
    scribbles[0] = 1  # a whole first slice
    scribbles[:, :, -1] = 2  # a whole last column, on every slice
    near = random_walk(image, scribbles, WalkParams(max_side=0)).probs[0, 4, 4, 4]
    far = random_walk(image, scribbles, WalkParams(max_side=0), spacing=(3.0, 1.0, 1.0)).probs[0, 4, 4, 4]
    assert far < near - 0.1
    assert axis_factors(3, (3.0, 1.0, 1.0)) == [1 / 9, 1.0, 1.0]
    with pytest.raises(InputError):
        axis_factors(3, (0.0, 1.0, 1.0))


def test_training_slices_put_scribbled_slices_first():
    scribbles = np.zeros((30, 4, 4), np.int32)
    scribbles[[3, 17]] = 1
    chosen = training_slices(30, scribbles, 5)
    assert {3, 17} <= set(chosen.tolist()) and len(chosen) == 5
    assert training_slices(3, None, 8).tolist() == [0, 1, 2]


def test_one_network_gives_identical_slices_identical_clusters():
    plane = np.random.default_rng(0).random((1, 1, 24, 24)).astype(np.float32)
    volume = np.repeat(plane, 6, axis=1)
    res = drain(fit(volume, None, ClusterParams(max_iter=8)))
    assert res.labels.shape == (6, 24, 24) and res.features.shape[:2] == (32, 6)
    assert all((res.labels[z] == res.labels[0]).all() for z in range(6))
    assert res.soft.shape[1:] == (6, 24, 24)
    np.testing.assert_allclose(res.soft.sum(0), 1.0, atol=1e-4)


def test_volume_scribble_run_labels_the_whole_volume():
    image, scribbles, truth = ellipsoid()
    seg = drain(segment(image, scribbles, SegmentParams()))
    empty = unscribbled(scribbles)
    assert seg.labels.shape == truth.shape
    assert dice(seg.labels[empty] == 2, truth[empty]) > 0.9
    assert seg.uncertainty.shape == truth.shape
    top = seg.classes(seg.hierarchy.max_threshold)
    assert set(np.unique(top)) == {1, 2}
    again = drain(segment(image, scribbles, SegmentParams()))
    np.testing.assert_array_equal(seg.labels, again.labels)


def test_volume_run_shows_a_first_mask_of_the_whole_volume():
    image, scribbles, _ = ellipsoid((8, 24, 24))
    first = [e.result for e in segment(image, scribbles, SegmentParams(build_ucm=False)) if e.result is not None]
    assert first and first[0].shape == (8, 24, 24)


def test_a_volume_stopped_at_once_merges_its_class_map_not_the_untrained_speckle():
    # Stop pressed at once on a 64x256x256 volume: the untrained network's regions were the
    # hierarchy's leaves (126,787 on 48x128x128), whose merging then ran for many minutes in 10 GB.
    image, scribbles, truth = ellipsoid((12, 48, 48), noise=0.15)
    stop = threading.Event()
    stop.set()
    seg = drain(segment(image, scribbles, SegmentParams(), stop=stop))
    assert seg.stopped
    assert seg.hierarchy.num_leaves < 50
    assert seg.recipe["run"]["leaves"] == "class map"
    np.testing.assert_array_equal(seg.classes(0.0), seg.labels)
    assert dice(seg.labels == 2, truth) > 0.9


def test_a_large_volume_stopped_at_the_first_mask_ends_with_that_mask_at_once():
    # Stop pressed when the first mask showed, on 64x256x256: 15 s more went to refining that
    # mask at full resolution and building a hierarchy over it, for a result the user had seen
    image, scribbles, truth = ellipsoid((12, 48, 48), noise=0.15)
    params = SegmentParams(propagation=PropagationParams(max_side=24))  # a coarse first mask, as on large volumes
    stop = threading.Event()
    shown = None
    gen = segment(image, scribbles, params, stop=stop)
    while True:
        try:
            event = next(gen)
        except StopIteration as done:
            seg = done.value
            break
        if event.result is not None:
            shown = event.result.copy()
            stop.set()
    assert seg.stopped and shown is not None
    free = scribbles == 0
    np.testing.assert_array_equal(seg.labels[free], shown[free])
    np.testing.assert_array_equal(seg.labels[~free], scribbles[~free])
    assert seg.hierarchy is None and "stopped" in seg.recipe["run"]["no_hierarchy"]
    assert seg.uncertainty.shape == truth.shape and dice(seg.labels == 2, truth) > 0.9


def test_unsupervised_volume_run_and_crf_per_slice():
    image, _, truth = ellipsoid((8, 32, 32))
    seg = drain(segment(image, None, SegmentParams(cluster=ClusterParams(max_iter=15))))
    assert seg.labels.shape == truth.shape and seg.labels.min() >= 1
    assert seg.regions(0.5).shape == truth.shape


def test_volume_saliency_cuts_equal_the_hierarchy_cuts():
    rng = np.random.default_rng(1)
    image = rng.random((1, 5, 8, 9)).astype(np.float32)
    leaves = rng.integers(0, 4, (5, 8, 9))
    tree = build_hierarchy(image, leaves)
    saliency = tree.ucm
    assert saliency.shape == (11, 17, 19)
    rebuilt = Hierarchy.from_ucm(saliency)
    for t in np.linspace(0, 1, 13):
        cut = tree.cut(t)
        by_rule = labels_at(saliency, t)
        pairs = np.unique(cut * 10_000 + by_rule)
        assert len(pairs) == len(np.unique(cut)) == len(np.unique(by_rule))
        np.testing.assert_array_equal(rebuilt.cut(t), cut)


def test_volume_hierarchy_keeps_scribble_classes_apart():
    rng = np.random.default_rng(2)
    image = rng.random((1, 4, 10, 10)).astype(np.float32)
    scribbles = np.zeros((4, 10, 10), np.int32)
    scribbles[0, 1, 1] = 1
    scribbles[3, 8, 8] = 2
    tree = build_hierarchy(image, np.zeros((4, 10, 10), int), scribbles=scribbles)  # one leaf, split by class
    cut = tree.cut(tree.max_threshold)
    assert cut[0, 1, 1] != cut[3, 8, 8]


def test_bad_volume_scribbles_are_refused():
    image, scribbles, _ = ellipsoid((6, 16, 16))
    with pytest.raises(InputError, match="3D label volume"):
        drain(segment(image, scribbles[0], SegmentParams()))
    with pytest.raises(InputError, match="must match"):
        drain(segment(image, scribbles[:, :8], SegmentParams()))
    with pytest.raises(InputError, match="spacing"):
        drain(segment(image, scribbles, SegmentParams(), spacing=(1.0, -1.0, 1.0)))


def test_textured_object_is_found_through_its_texture_energy():
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(0)
    z, y, x = np.indices((16, 48, 48))
    truth = ((z - 8) / 6) ** 2 + ((y - 24) / 15) ** 2 + ((x - 24) / 15) ** 2 < 1
    texture = gaussian_filter(rng.normal(0, 1, truth.shape), 1.0)
    image = np.clip(0.5 + np.where(truth, 0.25 * texture / texture.std(), 0) + rng.normal(0, 0.04, truth.shape), 0, 1)
    image = image.astype(np.float32)[None]  # same mean inside and out: intensities alone cannot tell
    scribbles = np.zeros(truth.shape, np.int32)
    for s in (5, 11):
        scribbles[s, 24, 16:32] = 2
        scribbles[s, 1, 1:-1] = scribbles[s, -2, 1:-1] = 1
    walk, edges = final_classes(image, scribbles, None, PropagationParams())  # no learned features
    assert edges.startswith("texture")
    assert dice(walk.labels() == 2, truth) > 0.75
    plain = random_walk(image, scribbles, WalkParams(max_side=0)).labels()
    assert dice(plain == 2, truth) < 0.5  # what the texture energy is for


@pytest.mark.parametrize("shape", [(40, 48), (6, 24, 24)])
def test_fast_class_cuts_equal_majorities_over_pixels(shape):
    from napari_unsup_seg.core.hierarchy import region_classes

    rng = np.random.default_rng(3)
    image = rng.random((1,) + shape).astype(np.float32)
    scribbles = np.zeros(shape, np.int32)
    flat = scribbles.reshape(-1)
    flat[rng.choice(flat.size, 30, replace=False)] = rng.integers(1, 4, 30)
    seg = drain(segment(image, scribbles, SegmentParams()))
    for t in np.linspace(0, seg.hierarchy.max_threshold, 9):
        slow = region_classes(seg.regions(t), seg.scribbles, fallback=seg.labels)
        slow[scribbles > 0] = scribbles[scribbles > 0]
        np.testing.assert_array_equal(seg.classes(t), slow)


def test_api_refuses_what_the_cli_refuses():
    image, scribbles, _ = ellipsoid((6, 16, 16))
    bad = image.copy()
    bad[0, 2, 3, 3] = np.nan
    with pytest.raises(InputError, match="NaN"):
        drain(segment(bad, scribbles, SegmentParams()))
    with pytest.raises(InputError, match="no channel"):
        drain(segment(np.zeros((0, 6, 16, 16), np.float32), None, SegmentParams()))
    from napari_unsup_seg.core.axes import as_stack
    from napari_unsup_seg.core.series import segment_stack

    with pytest.raises(InputError, match="needs a core.axes.Stack"):
        drain(segment_stack(image[0], None))
    with pytest.raises(InputError, match=r"\(T, Z, H, W\)"):
        drain(segment_stack(as_stack(image[0], "ZYX"), scribbles))
    with pytest.raises(InputError, match="not supported"):
        as_stack(np.zeros((20, 16, 16), np.complex64))
