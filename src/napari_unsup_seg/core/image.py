"""Reading images and bringing any 2D image to float32 (C, H, W) in [0, 1].

Accepted: grayscale (H, W); channels-last (H, W, C) with C <= 16 such as RGB and RGBA;
channels-first (C, H, W) with C <= 16 when the last axis is clearly spatial; 8-bit,
16-bit, other integer and float data. Anything else raises :class:`InputError`.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from .errors import InputError, InputWarning, brief

MAX_CHANNELS = 16
READABLE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".npy")


def read_array(path: str | Path) -> np.ndarray:
    """Read an image file (PNG, JPEG, TIFF incl. 16-bit, BMP, NPY) into an array."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not an image file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            return _read_npy(path)
        if suffix == ".gif":
            import imageio.v3 as iio

            frames = iio.imread(path)
            return frames[0] if frames.ndim == 4 and frames.shape[0] == 1 else frames  # one frame: an image
        if suffix in (".tif", ".tiff"):
            import tifffile

            return tifffile.imread(path)
        import imageio.v3 as iio

        return iio.imread(path)
    except InputError:
        raise
    except Exception as err:  # any reader failure is a user-facing "cannot read"
        # one line: readers' messages run over several, with advice that does not apply
        raise InputError(
            f"{path}: cannot be read as a {suffix.lstrip('.').upper() or 'image'} file; "
            f"is it damaged or of another type? ({brief(err)})"
        ) from err


def _read_npy(path: Path) -> np.ndarray:
    with open(path, "rb") as f:
        magic = f.read(6)
    if magic != b"\x93NUMPY":
        raise InputError(f"{path}: not an NPY file (it does not start like one); check its type and extension")
    array = np.load(path, allow_pickle=False)
    if not isinstance(array, np.ndarray):
        raise InputError(f"{path}: not a single NPY array")
    return array


def channels_last(array: np.ndarray) -> np.ndarray:
    """Return a 2D image as (H, W, C), guessing where the channel axis is."""
    array = np.asarray(array)
    if array.size == 0:
        raise InputError(f"the image is empty (shape {array.shape})")
    if array.dtype == bool:
        array = array.astype(np.uint8)
    if not (np.issubdtype(array.dtype, np.number)) or np.iscomplexobj(array):
        raise InputError(f"image data of type {array.dtype} is not supported; use integers or floats")
    if array.ndim == 2:
        return array[..., None]
    if array.ndim != 3:
        raise InputError(
            f"the image has {array.ndim} dimensions {array.shape}; a 2D image is needed "
            "(H, W) or (H, W, channels): pick one plane or time point first"
        )
    if array.shape[-1] <= MAX_CHANNELS:
        return array
    if array.shape[0] <= MAX_CHANNELS:
        return np.moveaxis(array, 0, -1)
    raise InputError(f"the image has shape {array.shape}: it looks like a 3D stack, but a 2D image is needed")


def _scale_channel(channel: np.ndarray) -> np.ndarray:
    """Map one channel to [0, 1] according to its data type."""
    if channel.dtype == np.uint8:
        return channel.astype(np.float32) / 255.0
    channel = channel.astype(np.float32)
    finite = np.isfinite(channel)
    if not finite.all():
        if not finite.any():
            raise InputError("the image holds no finite value (only NaN or infinity)")
        warnings.warn(
            f"{int((~finite).sum())} pixels are NaN or infinite; they are treated as the darkest value",
            InputWarning,
            stacklevel=3,
        )
        channel = np.where(finite, channel, channel[finite].min())
    lo, hi = np.percentile(channel, (0.1, 99.9)) if channel.size > 1000 else (channel.min(), channel.max())
    if hi <= lo:
        lo, hi = float(channel.min()), float(channel.max())
    if hi <= lo:
        return np.zeros_like(channel)
    return np.clip((channel - lo) / (hi - lo), 0.0, 1.0)


def to_chw(array: np.ndarray) -> np.ndarray:
    """Return any supported 2D image as C-contiguous float32 (C, H, W) in [0, 1].

    8-bit data is divided by 255; other data (16-bit microscopy, floats) is
    stretched per channel between its 0.1 and 99.9 percentiles. An alpha channel
    (the fourth of four) is dropped.

    Examples
    --------
    >>> to_chw(np.zeros((5, 7, 3), np.uint8)).shape
    (3, 5, 7)
    """
    hwc = channels_last(array)
    if hwc.shape[0] < 2 or hwc.shape[1] < 2:
        raise InputError(f"the image is only {hwc.shape[0]}x{hwc.shape[1]} pixels; at least 2x2 is needed")
    if hwc.shape[-1] == 4:
        hwc = hwc[..., :3]
    chans = [_scale_channel(hwc[..., c]) for c in range(hwc.shape[-1])]
    return np.ascontiguousarray(np.stack(chans, axis=0), dtype=np.float32)


def load_image(path: str | Path) -> np.ndarray:
    """Read an image file and return it as float32 (C, H, W) in [0, 1]."""
    return to_chw(read_array(path))
