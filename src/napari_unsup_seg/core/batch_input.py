"""Reading one input of a batch: its image or stack, its scribbles, checked before any work.

:func:`read_input` reads an image file, a stack with named axes or one level of an
OME-Zarr; :func:`prepare` brings it and its scribbles to what a run takes, refusing what
does not fit before anything is segmented.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import InputError
from .image import read_array, to_chw
from .scribbles import validate_scribbles

if TYPE_CHECKING:
    from .batch_options import BatchOptions

SCRIBBLES_SUFFIX = "_scribbles"  # <stem>_scribbles.*: the scribbles of <stem>.*


def stem_of(path: Path) -> str:
    """The name of an input's outputs: its file name without the suffix (``.ome.zarr`` too)."""
    name = Path(path).name
    for suffix in (".ome.zarr", ".zarr"):
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return Path(path).stem


def read_input(path: Path, options: BatchOptions):
    """An image array, or a :class:`core.axes.Stack` for volumes, time-lapses, named axes and OME-Zarr."""
    from . import zarr_io
    from .axes import Stack, as_stack, file_axes, needs_stack

    if zarr_io.is_ome_zarr(path):
        stack = zarr_io.read_stack(path, options.level)
        if options.axes is not None and options.axes != stack.axes:
            raise InputError(f"--axes {options.axes}: the OME-Zarr image says its axes are {stack.axes}")
        return Stack(stack.data, stack.axes, options.spacing or stack.spacing)
    if options.level:
        raise InputError(f"--level {options.level}: {Path(path).name} is not an OME-Zarr image (it has one level)")
    stated, spacing = file_axes(path)
    raw = read_array(path)
    axes = options.axes or (stated if stated and len(stated) == raw.ndim else None)
    if options.axes is None and not needs_stack(raw, axes) and options.channels is None:
        return raw
    return as_stack(raw, axes, options.spacing or spacing)


# formats whose 3D arrays are colour images, never stacks
_PHOTO_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


def read_scribbles(path: Path) -> np.ndarray:
    """A scribbles file; a colour (RGB or RGBA) picture is refused, saying what to save instead."""
    raw = read_array(path)
    if Path(path).suffix.lower() in _PHOTO_SUFFIXES and raw.ndim == 3 and raw.shape[-1] in (3, 4):
        raise InputError(
            f"{Path(path).name}: the scribbles are a colour picture ({raw.shape[-1]} channels); they must be a "
            "label image: one integer per pixel, 0 unlabeled and 1, 2, ... one per class (a greyscale PNG "
            "or a TIFF, as napari saves a Labels layer)"
        )
    return raw


def scribbles_for_level(image_path: Path, scribbles: np.ndarray | None, options: BatchOptions):
    """Scribbles drawn on the full resolution of an OME-Zarr input, brought to the level read
    (every stroke pixel kept); others as they are."""
    from . import zarr_io
    from .large import shrink_scribbles

    if scribbles is None or not options.level or not zarr_io.is_ome_zarr(image_path):
        return scribbles
    info = zarr_io.describe(image_path)
    full, shape = (tuple(n for n, a in zip(info.shapes[level], info.axes) if a != "C") for level in (0, options.level))
    return shrink_scribbles(scribbles, shape) if np.shape(scribbles) == full else scribbles


def prepare(image, scribbles, options: BatchOptions):
    """(input, scribbles) ready for a run: a float image and (H, W) scribbles, or a Stack and (T, Z, H, W) ones."""
    from .axes import Stack, channel_count_check, scribbles_tzyx
    from .scribbles import from_png_convention, warn_if_png_convention
    from .series import check_stack_scribbles

    if not isinstance(image, Stack):
        if options.slice is not None:
            raise InputError(f"--slice {options.slice}: the input is one 2D image, it has no slices")
        chw = to_chw(image)
        if scribbles is not None and np.ndim(scribbles) == 3 and np.shape(scribbles) == np.shape(image):
            raise InputError(
                f"the image {np.shape(image)} was read as one 2D image with {chw.shape[0]} channels "
                "but the scribbles have its shape: if it is a stack of slices, add --axes ZYX"
            )
        checked = validate_scribbles(scribbles, chw.shape[1:], unlabeled_255=options.png_scribbles)
        if not options.png_scribbles:
            warn_if_png_convention(checked)
        return chw, checked
    channel_count_check(image.data.shape[1], options.channels)  # before any work, as other input checks
    if image.spacing is not None:
        from .edge_weights import axis_factors

        axis_factors(3, image.spacing)
    n_z = image.data.shape[2]
    if options.scope == "slice" and options.slice is not None and options.slice >= n_z:
        raise InputError(f"--slice {options.slice}: the stack has slices 0 to {n_z - 1}")
    if scribbles is None:
        return image, None
    scribbles = from_png_convention(scribbles) if options.png_scribbles else scribbles
    return image, check_stack_scribbles(scribbles_tzyx(scribbles, image), image)  # refused before any work
