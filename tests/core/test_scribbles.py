import numpy as np
import pytest

from napari_unsup_seg.core.errors import InputError
from napari_unsup_seg.core.samples import SAMPLES, load_sample
from napari_unsup_seg.core.scribbles import from_png_convention, scribble_classes, validate_scribbles


def test_valid_scribbles_pass_through():
    s = np.zeros((4, 5), np.uint8)
    s[0, 0], s[3, 4] = 1, 3
    out = validate_scribbles(s, (4, 5))
    assert out.dtype == np.int32 and list(scribble_classes(out)) == [1, 3]


def test_none_means_no_scribbles():
    assert validate_scribbles(None, (4, 5)) is None


def test_png_convention():
    s = np.full((2, 3), 255, np.uint8)
    s[0, 0], s[1, 2] = 0, 2
    out = validate_scribbles(s, (2, 3), unlabeled_255=True)
    assert out[0, 0] == 1 and out[1, 2] == 3 and (out == 0).sum() == 4
    np.testing.assert_array_equal(from_png_convention(np.array([255, 0])), [0, 1])


def test_shape_mismatch():
    with pytest.raises(InputError, match="must match"):
        validate_scribbles(np.ones((4, 4)), (4, 5))


def test_no_class():
    with pytest.raises(InputError, match="no class"):
        validate_scribbles(np.zeros((4, 5)), (4, 5))
    assert validate_scribbles(np.zeros((4, 5)), (4, 5), require_class=False).sum() == 0


def test_bad_values():
    with pytest.raises(InputError, match="negative"):
        validate_scribbles(-np.ones((2, 2), np.int8), (2, 2))
    with pytest.raises(InputError, match="whole class"):
        validate_scribbles(np.full((2, 2), 0.5), (2, 2))
    with pytest.raises(InputError, match="2D label image"):
        validate_scribbles(np.zeros((2, 2, 3)), (2, 2))


def test_single_channel_axis_is_squeezed():
    assert validate_scribbles(np.ones((4, 5, 1)), (4, 5)).shape == (4, 5)


@pytest.mark.parametrize("name", SAMPLES)
def test_samples_have_matching_scribbles(name):
    image, scribbles = load_sample(name)
    assert scribbles.shape == image.shape[:2]
    assert len(scribble_classes(scribbles)) == 3


def test_volume_sample_is_a_real_volume_with_strokes_on_two_slices():
    from napari_unsup_seg.core.samples import load_volume_sample

    volume, scribbles, spacing = load_volume_sample("brain")
    assert volume.shape == scribbles.shape == (24, 96, 128) and spacing == (2.2, 2.0, 2.0)
    assert np.flatnonzero(scribbles.reshape(24, -1).any(1)).tolist() == [8, 16]
    assert list(scribble_classes(scribbles)) == [1, 2]
    brain, background = volume[scribbles == 1].mean(), volume[scribbles == 2].mean()
    assert brain > 5 * background  # the brain strokes are on tissue, the others off it
    with pytest.raises(InputError, match="volume"):
        load_sample("brain")


def test_unknown_sample():
    with pytest.raises(InputError, match="unknown sample"):
        load_sample("nope")


def test_a_run_checks_its_scribbles_once(monkeypatch):
    from napari_unsup_seg.core import pipeline
    from napari_unsup_seg.core import scribbles as module
    from napari_unsup_seg.core.progress import drain

    checks = []
    real = module._check_largest
    monkeypatch.setattr(module, "_check_largest", lambda array: checks.append(array.shape) or real(array))
    image = np.zeros((3, 24, 32), np.float32)
    image[:, :, 16:] = 1
    scr = np.zeros((24, 32), np.uint8)
    scr[12, 2:8], scr[12, 22:28] = 1, 2
    params = pipeline.SegmentParams(cluster=pipeline.cluster.ClusterParams(max_iter=2))
    seg = drain(pipeline.segment(image, scr, params))
    assert seg.labels.shape == (24, 32) and checks == [(24, 32)]  # three times before


def test_a_checked_array_is_returned_as_is_but_still_needs_a_class_when_asked():
    checked = validate_scribbles(np.zeros((4, 5), np.uint8), (4, 5), require_class=False)
    assert validate_scribbles(checked, (4, 5), require_class=False) is checked
    with pytest.raises(InputError, match="no class"):
        validate_scribbles(checked, (4, 5))
    with pytest.raises(InputError, match="shape"):
        validate_scribbles(checked, (5, 4))
