"""Random walk from scribbles: exact on simple scenes, coarse-to-fine close to full resolution."""

from __future__ import annotations

import numpy as np
import pytest

from napari_unsup_seg.core.errors import InputError
from napari_unsup_seg.core.edge_weights import BoundaryMap, contrast_weights
from napari_unsup_seg.core.propagate import WalkParams, random_walk, solve_walk


def two_halves(h=40, w=60, noise=0.02, seed=0):
    rng = np.random.default_rng(seed)
    img = np.zeros((1, h, w), np.float32)
    img[:, :, w // 2 :] = 1.0
    img += rng.normal(0, noise, img.shape).astype(np.float32)
    scr = np.zeros((h, w), np.int32)
    scr[h // 2, 3:8] = 1
    scr[h // 2, w - 8 : w - 3] = 2
    return img, scr


def test_walk_follows_the_edge_not_the_distance():
    img, scr = two_halves()
    scr[:, :] = 0
    scr[20, 2] = 1  # class 1 seed far from the edge, class 2 seed right beside it
    scr[20, 31] = 2
    labels = random_walk(img, scr, WalkParams(max_side=0)).labels()
    assert (labels[:, :30] == 1).mean() > 0.98
    assert (labels[:, 30:] == 2).mean() > 0.98


def test_probabilities_sum_to_one_and_seeds_are_certain():
    img, scr = two_halves()
    walk = random_walk(img, scr, WalkParams(max_side=0))
    np.testing.assert_allclose(walk.probs.sum(0), 1.0, atol=1e-5)
    assert walk.probs.shape == (2, 40, 60) and walk.classes.tolist() == [1, 2]
    np.testing.assert_array_equal(walk.labels()[scr > 0], scr[scr > 0])
    margin = walk.margin()
    assert margin.min() >= 0 and margin.max() <= 1
    assert margin[scr > 0].min() == pytest.approx(1.0)
    assert margin[:, 29:31].mean() < margin[:, :10].mean()  # least certain at the border


def test_three_classes_and_class_values_kept():
    img = np.zeros((1, 30, 90), np.float32)
    img[:, :, 30:60] = 0.5
    img[:, :, 60:] = 1.0
    scr = np.zeros((30, 90), np.int32)
    scr[15, 10], scr[15, 45], scr[15, 80] = 7, 3, 12
    labels = random_walk(img, scr, WalkParams(max_side=0)).labels()
    assert np.all(labels[:, :28] == 7) and np.all(labels[:, 32:58] == 3) and np.all(labels[:, 62:] == 12)


def test_coarse_to_fine_matches_full_resolution():
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[:300, :300]
    img = ((yy - 150) ** 2 + (xx - 140) ** 2 < 80**2).astype(np.float32)[None]
    img += rng.normal(0, 0.05, img.shape).astype(np.float32)
    scr = np.zeros((300, 300), np.int32)
    scr[150, 100:180] = 2
    scr[10, 10:290] = 1
    full = random_walk(img, scr, WalkParams(max_side=0)).labels()
    fast = random_walk(img, scr, WalkParams(max_side=96)).labels()
    assert (full == fast).mean() > 0.995


def test_solve_walk_with_soft_boundary_values():
    wh = np.ones((5, 9))
    wv = np.ones((4, 10))
    fixed = np.zeros((5, 10), bool)
    fixed[:, 0] = fixed[:, -1] = True
    values = np.zeros((2, 5, 10), np.float32)
    values[0, :, 0], values[1, :, 0] = 0.8, 0.2
    values[0, :, -1], values[1, :, -1] = 0.2, 0.8
    probs = solve_walk([wv, wh], fixed, values)
    np.testing.assert_allclose(probs[0, 2], np.linspace(0.8, 0.2, 10), atol=1e-5)  # harmonic: linear


def test_weights_do_not_depend_on_contrast_scale():
    img, _ = two_halves()
    a = contrast_weights(img, 5.0)
    b = contrast_weights(img * 40.0, 5.0)
    np.testing.assert_allclose(a[0], b[0], rtol=1e-4)


@pytest.mark.parametrize("bad", [np.zeros((3, 3), np.int32), np.zeros((4, 5), np.int32)])
def test_bad_scribbles_are_refused(bad):
    img = np.zeros((1, 4, 4), np.float32)
    with pytest.raises(InputError):
        random_walk(img, bad)


def test_bad_parameters_are_refused():
    for kwargs in ({"beta": 0}, {"beta": float("nan")}, {"max_side": 8}, {"band": 0}):
        with pytest.raises(InputError):
            WalkParams(**kwargs)


def _flat_with_a_wall(h=40, w=60, wall=40):
    """A flat image (no contrast anywhere) and a boundary map with a ridge at column ``wall``."""
    img = np.full((1, h, w), 0.5, np.float32)
    prob = np.full((h, w), 0.05, np.float32)
    prob[:, wall - 1 : wall + 1] = 0.95
    scr = np.zeros((h, w), np.int32)
    scr[:, 2] = 1
    scr[:, w - 3] = 2
    return img, prob, scr


def test_a_boundary_map_holds_the_border_where_the_image_has_no_contrast():
    img, prob, scr = _flat_with_a_wall()
    plain = random_walk(img, scr, WalkParams(max_side=0)).labels()
    walled = random_walk(img, scr, WalkParams(max_side=0), boundary=BoundaryMap(prob, 1.0)).labels()
    assert abs(int((plain == 1).sum(1).mean()) - 30) <= 2  # no contrast: halfway between the seeds
    assert (walled[:, :39] == 1).all() and (walled[:, 41:] == 2).all()
    none = random_walk(img, scr, WalkParams(max_side=0), boundary=BoundaryMap(prob, 0.0)).labels()
    np.testing.assert_array_equal(none, plain)


def test_a_boundary_map_refines_borders_but_does_not_move_them_far():
    # the coarse walk ignores the map; it only counts in the band around the coarse border
    img, prob, scr = _flat_with_a_wall(h=200, w=200, wall=60)
    coarse_to_fine = random_walk(img, scr, WalkParams(max_side=50), boundary=BoundaryMap(prob, 1.0)).labels()
    assert abs(int((coarse_to_fine == 1).sum(1).mean()) - 100) <= 8
    near = _flat_with_a_wall(h=200, w=200, wall=104)[1]  # a wall inside the band takes the border
    moved = random_walk(img, scr, WalkParams(max_side=50), boundary=BoundaryMap(near, 1.0)).labels()
    assert (moved[:, :103] == 1).all() and (moved[:, 105:] == 2).all()


def test_boundary_costs_are_relative_to_their_mean():
    _, prob, _ = _flat_with_a_wall()
    for scale in (1.0, 0.1):
        costs = BoundaryMap(prob * scale, 1.0).costs()
        assert [c.shape for c in costs] == [(39, 60), (40, 59)]
        mean = sum(float(c.sum()) for c in costs) / sum(c.size for c in costs)
        assert mean == pytest.approx(1.0, rel=1e-5)


def test_a_boundary_map_of_another_size_is_refused():
    img, prob, scr = _flat_with_a_wall()
    with pytest.raises(InputError, match="boundary map"):
        random_walk(img, scr, WalkParams(max_side=0), boundary=BoundaryMap(prob[:, :-1], 1.0))
