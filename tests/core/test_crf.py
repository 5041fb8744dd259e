"""Dense CRF: it sharpens a blurred two-region probability map toward the true edge."""

import numpy as np
import pytest

from napari_unsup_seg.core.crf import CRFParams, refine
from napari_unsup_seg.core.errors import InputError

H, W, EDGE = 32, 48, 20


def _image(channels):
    rng = np.random.default_rng(0)
    img = np.full((channels, H, W), 0.2, np.float32)
    img[:, :, EDGE:] = 0.8
    if channels >= 3:
        img[1, :, EDGE:] = 0.3  # a colour edge, not only a brightness one
    img += rng.normal(0, 0.03, img.shape).astype(np.float32)
    return np.clip(img, 0, 1)


def _blurred_soft(centre=27.0, width=5.0):
    """Two-label probabilities whose 0.5 crossing is 7 pixels right of the true edge."""
    p = 1.0 / (1.0 + np.exp(-(np.arange(W) - centre) / width))
    return np.stack([1 - p, p])[:, None, :].repeat(H, axis=1).astype(np.float32)


def _edge_position(soft):
    return np.argmax(np.argmax(soft, axis=0), axis=1)  # first column labelled 1, per row


@pytest.mark.parametrize("channels", [1, 3, 5])
def test_crf_moves_the_boundary_to_the_image_edge(channels):
    soft = _blurred_soft()
    out = refine(_image(channels), soft)
    assert out.shape == soft.shape and out.dtype == np.float32
    np.testing.assert_allclose(out.sum(0), 1.0, atol=1e-4)
    before = np.abs(_edge_position(soft) - EDGE).mean()
    after = np.abs(_edge_position(out) - EDGE).mean()
    assert before >= 6 and after <= 1
    # sharper: probabilities move away from 1/2
    assert np.abs(out - 0.5).mean() > np.abs(soft - 0.5).mean() + 0.05


def test_gray_image_as_2d():
    out = refine(_image(1)[0], _blurred_soft())
    assert np.abs(_edge_position(out) - EDGE).mean() <= 1


def test_single_label_is_returned_unchanged():
    soft = np.random.default_rng(0).random((1, H, W)).astype(np.float32)
    np.testing.assert_array_equal(refine(_image(3), soft), soft)


def test_zero_iterations_keep_the_normalised_input():
    soft = _blurred_soft() * 3.0  # not normalised
    out = refine(_image(3), soft, CRFParams(n_iter=0))
    np.testing.assert_allclose(out, soft / soft.sum(0), atol=1e-4)


def test_bad_inputs():
    with pytest.raises(InputError):
        refine(_image(3), np.ones((2, H, W + 1), np.float32))
    with pytest.raises(InputError):
        refine(_image(3), np.full((2, H, W), np.nan, np.float32))
    with pytest.raises(InputError):
        CRFParams(bilateral_schan=0)
