"""Boundary P/R/F of contour maps: perfect, shifted within tolerance, empty, and noise."""

import numpy as np
import pytest

from napari_unsup_seg.core.contours import (
    edge_contour_map,
    evaluate_contours,
    segmentation_boundaries,
    suppress_non_maxima,
)
from napari_unsup_seg.core.errors import InputError
from napari_unsup_seg.core.ucm import grid_graph


def _squares(shape=(120, 160)):
    gt = np.zeros(shape, int)
    gt[30:90, 40:100] = 1
    gt[:, 130:] = 2
    return gt


def test_perfect_map_scores_one():
    gt = _squares()
    pb = segmentation_boundaries(gt).astype(float)
    scores = evaluate_contours([pb], [[gt, gt]])
    assert scores["F_ODS"] == pytest.approx(1.0)
    assert scores["F_OIS"] == pytest.approx(1.0)


def test_shift_within_tolerance_matches_and_beyond_does_not():
    gt = _squares()
    truth = segmentation_boundaries(gt)
    tol = 0.0075 * np.hypot(*gt.shape)  # 1.5 px here
    near = np.roll(truth, 1, axis=1).astype(float)
    far = np.roll(truth, 6, axis=1).astype(float)
    assert evaluate_contours([near], [[gt]])["F_ODS"] > 0.95
    assert evaluate_contours([far], [[gt]])["F_ODS"] < 0.5  # only the horizontal edges, shifted along themselves
    # a larger tolerance accepts a 2-pixel shift that the default one (1.5 px) refuses
    shifted = np.roll(truth, 2, axis=0).astype(float)
    assert tol < 2
    assert evaluate_contours([shifted], [[gt]], max_dist=3 / np.hypot(*gt.shape))["F_ODS"] > 0.95
    assert evaluate_contours([shifted], [[gt]])["F_ODS"] < 0.8  # the vertical edges still match


def test_bsds_sized_two_pixel_shift_matches():
    gt = np.zeros((321, 481), int)
    gt[100:200, 150:300] = 1
    pb = np.roll(segmentation_boundaries(gt), 2, axis=1).astype(float)
    assert evaluate_contours([pb], [[gt]])["F_ODS"] > 0.95


def test_empty_map_scores_zero():
    gt = _squares()
    scores = evaluate_contours([np.zeros(gt.shape)], [[gt]])
    assert scores["F_ODS"] == 0.0 and scores["F_OIS"] == 0.0


def test_thick_and_noisy_maps_score_less():
    gt = _squares()
    rng = np.random.default_rng(0)
    noise = rng.random(gt.shape)
    f_noise = evaluate_contours([noise], [[gt]])["F_ODS"]
    f_truth = evaluate_contours([segmentation_boundaries(gt).astype(float)], [[gt]])["F_ODS"]
    assert f_noise < 0.5 < f_truth


def test_precision_and_recall_of_half_the_boundary():
    gt = np.zeros((100, 100), int)
    gt[:, 50:] = 1
    gt[50:, :] += 2  # a vertical and a horizontal boundary
    pb = np.zeros(gt.shape)
    pb[:, 49] = 1.0  # only the vertical one
    scores = evaluate_contours([pb], [[gt]], n_thresholds=3)
    assert scores["P_ODS"] == pytest.approx(1.0)
    assert scores["R_ODS"] == pytest.approx(0.5, abs=0.03)


def test_edge_contour_map_equals_ucm_corners():
    from napari_unsup_seg.core.hierarchy import build_hierarchy

    rng = np.random.default_rng(1)
    image = rng.random((3, 12, 17)).astype(np.float32)
    h = build_hierarchy(image, np.arange(12 * 17).reshape(12, 17))
    graph = grid_graph((12, 17))
    src, dst = graph.edge_list()
    ucm = h.ucm
    # edge weights read back from the UCM: horizontal edge (i,j)-(i,j+1) sits at (2i+1, 2j+2)
    rows, cols = src // 17, src % 17
    horizontal = dst == src + 1
    weights = np.where(horizontal, ucm[2 * rows + 1, 2 * cols + 2], ucm[2 * rows + 2, 2 * cols + 1])
    np.testing.assert_array_equal(edge_contour_map(src, dst, weights, (12, 17)), ucm[2::2, 2::2])


def test_mismatched_inputs_raise():
    with pytest.raises(InputError):
        evaluate_contours([np.zeros((4, 4))], [[np.zeros((5, 4), int)]])
    with pytest.raises(InputError):
        evaluate_contours([np.zeros((4, 4))], [])


def test_non_maximum_suppression_keeps_one_pixel_ridges():
    from scipy.ndimage import gaussian_filter

    edge = np.zeros((40, 40), np.float32)
    edge[:, 20] = 1.0  # a vertical contour
    np.fill_diagonal(edge[:, :15], 1.0)  # and a diagonal one
    pb = gaussian_filter(edge, 2.0)
    pb /= pb.max()
    thin = suppress_non_maxima(pb)
    assert thin.shape == pb.shape and (thin <= pb).all()
    rows = thin[5:35, 17:24] > 0.3
    assert (rows.sum(1) == 1).all() and (rows[:, 3]).all()  # one pixel wide, on column 20
    assert thin[5:12, 5:12].diagonal().min() > 0.3 and (thin[5:12, 5:12] > 0.3).sum() <= 9
    with pytest.raises(InputError):
        suppress_non_maxima(np.zeros((2, 3, 4)))
