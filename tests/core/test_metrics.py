"""Region metrics against hand-worked cases, and the threshold sweep against brute force."""

import numpy as np
import pytest

from napari_unsup_seg.core.errors import InputError
from napari_unsup_seg.core.hierarchy import build_hierarchy, labels_at
from napari_unsup_seg.core.metrics import (
    bsds_thresholds,
    evaluate_labels,
    evaluate_ucms,
    probabilistic_rand_index,
    segmentation_covering,
    variation_of_information,
)

SEG = np.array([[1, 1], [2, 2]])
GT = np.array([[1, 2], [2, 2]])


def test_identical_segmentations_are_perfect():
    gt = np.array([[1, 1, 2], [3, 3, 2], [3, 3, 2]])
    relabelled = gt * 7 + 100  # label values do not matter
    assert segmentation_covering(relabelled, [gt, gt]) == pytest.approx(1.0)
    assert probabilistic_rand_index(relabelled, [gt]) == pytest.approx(1.0)
    assert variation_of_information(relabelled, [gt]) == pytest.approx(0.0, abs=1e-12)


def test_two_by_two_by_hand():
    # GT region {(0,0)}: best overlap 1/2 with segment 1; GT region of 3 pixels: 2/3 with segment 2
    assert segmentation_covering(SEG, [GT]) == pytest.approx((1 * 0.5 + 3 * 2 / 3) / 4)
    # 3 of the 6 pixel pairs disagree
    assert probabilistic_rand_index(SEG, [GT]) == pytest.approx(0.5)
    # H(S) = 1, H(G) = H(1/4, 3/4), H(S, G) = 1.5  ->  VI = 2 H(S, G) - H(S) - H(G)
    h_g = -(0.25 * np.log2(0.25) + 0.75 * np.log2(0.75))
    assert variation_of_information(SEG, [GT]) == pytest.approx(2 * 1.5 - 1.0 - h_g)


def test_annotators_are_averaged():
    h_g = -(0.25 * np.log2(0.25) + 0.75 * np.log2(0.75))
    assert segmentation_covering(SEG, [GT, SEG]) == pytest.approx((0.625 + 1.0) / 2)
    assert probabilistic_rand_index(SEG, np.stack([GT, SEG])) == pytest.approx(0.75)
    assert variation_of_information(SEG, [GT, SEG]) == pytest.approx((2.0 - h_g) / 2)


def test_three_by_three_single_region_against_stripes():
    seg = np.ones((3, 3), int)
    gt = np.array([[1, 2, 3]] * 3)
    assert segmentation_covering(seg, [gt]) == pytest.approx(1 / 3)
    assert probabilistic_rand_index(seg, [gt]) == pytest.approx(1 - 27 / 36)
    assert variation_of_information(seg, [gt]) == pytest.approx(np.log2(3))
    # covering is not symmetric: the stripes cover the single GT region by 1/3 each
    assert segmentation_covering(gt, [seg]) == pytest.approx(1 / 3)


def test_shape_mismatch_is_an_input_error():
    with pytest.raises(InputError):
        segmentation_covering(np.ones((2, 3), int), [np.ones((3, 2), int)])
    with pytest.raises(InputError):
        evaluate_ucms([np.zeros((5, 5), np.float32)], [[np.ones((3, 3), int)]])


def test_thresholds_follow_bsds():
    t = bsds_thresholds(99)
    assert len(t) == 99 and t[0] == pytest.approx(0.01) and t[-1] == pytest.approx(0.99)


def _case(seed):
    rng = np.random.default_rng(seed)
    image = rng.random((3, 12, 16)).astype(np.float32)
    image[:, :, 8:] += 0.8
    image /= image.max()
    over = rng.integers(0, 8, (12, 16))
    gt1 = np.ones((12, 16), int)
    gt1[:, 8:] = 2
    gt2 = rng.integers(1, 4, (12, 16))
    return build_hierarchy(image, over).ucm, [gt1, gt2]


def test_evaluate_ucms_matches_brute_force():
    cases = [_case(0), _case(1)]
    ucms, gts = [c[0] for c in cases], [c[1] for c in cases]
    scores = evaluate_ucms(ucms, gts, n_thresholds=19)
    ts = bsds_thresholds(19)
    sc = np.array([[segmentation_covering(labels_at(u, t), g) for t in ts] for u, g in zip(ucms, gts)])
    pri = np.array([[probabilistic_rand_index(labels_at(u, t), g) for t in ts] for u, g in zip(ucms, gts)])
    vi = np.array([[variation_of_information(labels_at(u, t), g) for t in ts] for u, g in zip(ucms, gts)])
    # images have the same size, so pooled covering is the mean
    assert scores["SC_ODS"] == pytest.approx(sc.mean(0).max())
    assert scores["SC_OIS"] == pytest.approx(sc.max(1).mean())
    assert scores["PRI_ODS"] == pytest.approx(pri.mean(0).max())
    assert scores["PRI_OIS"] == pytest.approx(pri.max(1).mean())
    assert scores["VI_ODS"] == pytest.approx(vi.mean(0).min())
    assert scores["VI_OIS"] == pytest.approx(vi.min(1).mean())
    assert scores["n_images"] == 2


def test_evaluate_ucms_on_a_foreign_layout_falls_back_to_the_rule():
    ucm, gts = _case(2)
    rng = np.random.default_rng(0)
    odd = ucm.copy()
    odd[0::2, 0::2] = rng.random(odd[0::2, 0::2].shape)  # corners unrelated to their edges
    odd[1::2, 1::2] = 0.3 * rng.random(odd[1::2, 1::2].shape)  # pixel elements above 0
    scores = evaluate_ucms([odd], [gts], n_thresholds=19)
    ts = bsds_thresholds(19)
    assert scores["SC_ODS"] == pytest.approx(max(segmentation_covering(labels_at(odd, t), gts) for t in ts))
    assert scores["VI_ODS"] == pytest.approx(min(variation_of_information(labels_at(odd, t), gts) for t in ts))


def test_evaluate_labels_and_fixed_segmentations():
    scores = evaluate_labels([SEG, GT], [[GT], [GT]])
    assert scores["SC_ODS"] == pytest.approx((0.625 * 4 + 4) / 8)
    assert scores["PRI_OIS"] == pytest.approx(0.75)
    assert scores["n_images"] == 2
    # an integer (H, W) array among UCMs is a fixed segmentation
    mixed = evaluate_ucms([SEG], [[GT]], n_thresholds=5)
    assert mixed["SC_ODS"] == pytest.approx(0.625) and mixed["SC_OIS"] == pytest.approx(0.625)


def test_evaluate_folder_on_a_tiny_synthetic_folder(tmp_path):
    import imageio.v3 as iio
    import tifffile

    from napari_unsup_seg.core.evaluate import evaluate_folder, format_table, load_bsds_gt

    (ucm_a, gts_a), (_, gts_b), (ucm_c, gts_c) = _case(0), _case(1), _case(3)
    labels_b = labels_at(_case(1)[0], 0.3).astype(np.uint16)
    gt_dir, pred_dir = tmp_path / "gt", tmp_path / "pred"
    gt_dir.mkdir()
    pred_dir.mkdir()
    for name, gts in (("a", gts_a), ("b", gts_b), ("c", gts_c), ("d", gts_c)):
        np.savez(gt_dir / f"{name}.npz", seg=np.stack(gts).astype(np.uint16))
    tifffile.imwrite(pred_dir / "a_ucm.tif", ucm_a)
    tifffile.imwrite(pred_dir / "b_labels.tif", labels_b)
    ucm_c8 = np.round(ucm_c * 255).astype(np.uint8)
    iio.imwrite(pred_dir / "c.png", ucm_c8)  # 8-bit UCM, no suffix
    np.save(pred_dir / "zzz.npy", labels_b)  # no ground truth: ignored

    assert [g.shape for g in load_bsds_gt(gt_dir / "a.npz")] == [(12, 16), (12, 16)]
    scores = evaluate_folder(pred_dir, gt_dir, n_thresholds=9)
    expected = evaluate_ucms(
        [ucm_a, labels_b.astype(np.int64), ucm_c8 / np.float32(255)], [gts_a, gts_b, gts_c], n_thresholds=9
    )
    for key in ("SC_ODS", "SC_OIS", "PRI_ODS", "PRI_OIS", "VI_ODS", "VI_OIS"):
        assert scores[key] == pytest.approx(expected[key])
    assert scores["n_images"] == 3 and scores["n_missing"] == 1 and scores["kind"] == "mixed"
    table = format_table(scores)
    assert "SC" in table and "PRI" in table and "VI" in table and "3 images" in table

    with pytest.raises(InputError):
        evaluate_folder(tmp_path / "nope", gt_dir)
    with pytest.raises(InputError):
        evaluate_folder(gt_dir, gt_dir)  # no prediction matches
    tifffile.imwrite(pred_dir / "d_ucm.tif", np.zeros((5, 5), np.float32))
    with pytest.raises(InputError):
        evaluate_folder(pred_dir, gt_dir)  # wrong shape
