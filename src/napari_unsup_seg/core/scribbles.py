"""Scribble maps: 0 = unlabeled, 1..K = classes (napari's Labels convention).

The paper's PNG convention (255 = unlabeled, 0..254 = classes) is accepted through
``unlabeled_255=True`` and converted to the napari convention.
"""

from __future__ import annotations

import warnings
import weakref

import numpy as np

from .errors import InputError, InputWarning

MAX_CLASS = 2**31 - 1  # class values are int32 through the pipeline


# the arrays validate_scribbles returned, while they live (weakly: an id is reused only after)
_VALID: weakref.WeakValueDictionary[int, np.ndarray] = weakref.WeakValueDictionary()


def from_png_convention(array: np.ndarray) -> np.ndarray:
    """Convert 255 = unlabeled, 0..254 = classes into 0 = unlabeled, 1..255 = classes."""
    array = np.asarray(array)
    if array.size and (array.min() < 0 or array.max() > 255):
        raise InputError(
            f"scribbles in the PNG convention hold 0..255 (255 = unlabeled); these hold "
            f"{array.min()}..{array.max()}: drop --png-scribbles"
        )
    array = array.astype(np.int64)
    out = array + 1
    out[array == 255] = 0
    return out


def warn_if_png_convention(scribbles: np.ndarray | None) -> None:
    """Warn when class 255 covers most of the image: the paper's PNG convention (255 =
    unlabeled) read as classes would segment nearly everything as class 255."""
    if scribbles is None or not np.size(scribbles):
        return
    share = float(np.count_nonzero(np.asarray(scribbles) == 255)) / np.size(scribbles)
    if share > 0.5:
        warnings.warn(
            f"class 255 covers {100 * share:.0f} % of the image: if 255 means unlabeled (the paper's PNG "
            "convention), add --png-scribbles",
            InputWarning,
            stacklevel=2,
        )


def _check_largest(array: np.ndarray) -> None:
    if array.size and array.dtype != bool and float(array.max()) > MAX_CLASS:
        raise InputError(f"scribbles hold class {array.max()}; class numbers go up to {MAX_CLASS}")


def validate_scribbles(
    scribbles: np.ndarray | None,
    shape: tuple[int, int],
    *,
    unlabeled_255: bool = False,
    require_class: bool = True,
) -> np.ndarray | None:
    """Check a scribble map against an image of ``shape`` (H, W) or (Z, H, W); return it as int32.

    ``None`` means "no scribbles" and is returned unchanged. An RGB(A) scribble image
    is refused: scribbles are label values, not colours. An array this function returned
    is not checked again (the stages of a run each call it on the run's scribbles).
    """
    if scribbles is None:
        return None
    if _VALID.get(id(scribbles)) is scribbles and tuple(scribbles.shape) == tuple(shape) and not unlabeled_255:
        if require_class and not scribbles.any():
            raise InputError("the scribbles hold no class: paint at least one stroke with a label of 1 or more")
        return scribbles
    array = np.asarray(scribbles)
    shape = tuple(shape)
    if array.ndim == len(shape) + 1 and 1 in (array.shape[0], array.shape[-1]):
        array = array.reshape(array.shape[1:] if array.shape[0] == 1 else array.shape[:-1])
    if array.ndim != len(shape):
        kind = "a 2D label image (H, W)" if len(shape) == 2 else "a 3D label volume (Z, H, W)"
        raise InputError(f"scribbles must be {kind} of class numbers; got shape {array.shape}")
    if tuple(array.shape) != shape:
        size = lambda dims: "x".join(str(n) for n in dims)  # noqa: E731
        raise InputError(f"scribbles have shape {size(array.shape)} but the image is {size(shape)}; they must match")
    if np.issubdtype(array.dtype, np.floating):
        if not np.all(np.isfinite(array)) or not np.all(array == np.round(array)):
            raise InputError("scribbles must hold whole class numbers (no fractions, NaN or infinity)")
    elif not (np.issubdtype(array.dtype, np.integer) or array.dtype == bool):
        raise InputError(f"scribbles of type {array.dtype} are not supported")
    _check_largest(array)  # before any cast: values are kept exactly or refused, never wrapped
    array = array.astype(np.int64)
    if unlabeled_255:
        array = from_png_convention(array)
        _check_largest(array)
    if array.min() < 0:
        raise InputError("scribbles hold negative values; use 0 for unlabeled and 1..K for classes")
    if require_class and not array.any():
        raise InputError("the scribbles hold no class: paint at least one stroke with a label of 1 or more")
    checked = array.astype(np.int32)
    _VALID[id(checked)] = checked
    return checked


def scribble_classes(scribbles: np.ndarray | None) -> np.ndarray:
    """Sorted class values present (0 excluded)."""
    if scribbles is None:
        return np.zeros(0, np.int32)
    values = np.unique(scribbles)
    return values[values > 0].astype(np.int32)
