import numpy as np
import pytest
import tifffile
import imageio.v3 as iio

from napari_unsup_seg.core.errors import InputError
from napari_unsup_seg.core.image import load_image, to_chw


@pytest.mark.parametrize(
    "array, channels",
    [
        (np.arange(30, dtype=np.uint8).reshape(5, 6), 1),
        (np.zeros((5, 6, 3), np.uint8), 3),
        (np.zeros((5, 6, 4), np.uint8), 3),
        (np.linspace(0, 65535, 30).astype(np.uint16).reshape(5, 6), 1),
        (np.random.default_rng(0).normal(size=(5, 6, 2)), 2),
        (np.random.default_rng(0).random((5, 40, 30)).astype(np.float32), 5),
        (np.zeros((40, 30, 7), np.float64), 7),
    ],
)
def test_to_chw_accepts_common_kinds(array, channels):
    out = to_chw(array)
    assert out.dtype == np.float32 and out.ndim == 3 and out.shape[0] == channels
    assert out.min() >= 0 and out.max() <= 1


def test_uint8_is_divided_by_255():
    out = to_chw(np.full((4, 4, 3), 51, np.uint8))
    np.testing.assert_allclose(out, 0.2)


def test_sixteen_bit_is_stretched():
    out = to_chw(np.array([[1000, 2000], [3000, 4000]], np.uint16))
    assert out.min() == 0 and out.max() == 1


def test_nan_is_tolerated_with_a_warning():
    from napari_unsup_seg.core.errors import InputWarning

    arr = np.ones((4, 4), np.float32)
    arr[0, 0] = np.nan
    with pytest.warns(InputWarning, match="1 pixels are NaN"):
        assert np.isfinite(to_chw(arr)).all()


@pytest.mark.parametrize("shape", [(20, 30, 40), (2, 3, 20, 30), (2, 3, 4, 20, 30)])
def test_stacks_are_refused(shape):
    with pytest.raises(InputError, match="2D"):
        to_chw(np.zeros(shape, np.uint8))


def test_tiny_image_is_refused():
    with pytest.raises(InputError, match="at least 2x2"):
        to_chw(np.zeros((1, 5), np.uint8))


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".tif", ".npy"])
def test_load_image_formats(tmp_path, suffix):
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 255, (12, 16, 3), dtype=np.uint8)
    path = tmp_path / f"img{suffix}"
    if suffix == ".npy":
        np.save(path, rgb)
    elif suffix == ".tif":
        tifffile.imwrite(path, rgb)
    else:
        iio.imwrite(path, rgb)
    assert load_image(path).shape == (3, 12, 16)


def test_load_sixteen_bit_tiff(tmp_path):
    tifffile.imwrite(tmp_path / "a.tif", np.arange(64, dtype=np.uint16).reshape(8, 8) * 900)
    out = load_image(tmp_path / "a.tif")
    assert out.shape == (1, 8, 8) and out.max() == 1


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_image(tmp_path / "nope.png")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image at all")
    with pytest.raises(InputError, match="cannot be read"):
        load_image(bad)
    with pytest.raises(InputError, match="folder"):
        load_image(tmp_path)
