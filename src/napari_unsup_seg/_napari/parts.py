"""Parts of a stack: one time point, one slice, or both, and where their results lie.

A part is an index ``where`` into the stack's scribble/result shape (its axes without C),
one entry per axis before Y and X: an int fixes that axis, ``slice(None)`` keeps it. A
part's result is a layer of the whole stack's shape holding that part, zeros elsewhere.
"""

from __future__ import annotations

import numpy as np
from napari.layers import Image

from . import layer_axes as LA
from .runner import StackInput


def stack_input(
    viewer, image: Image, scope: str | None, time: str | None, channels: tuple[int, ...] | None, level: int = 0
) -> tuple[StackInput | None, tuple | None]:
    """How the worker reads ``image`` (None for a plain 2D image) and the part segmented.

    ``scope``: "volume" or "slice" (the slice shown); ``time``: "all" or "this" (the time
    point shown); None where the layer has no such axis. ``level``: the resolution level
    of a multiscale layer that is segmented (indices and voxel size are that level's).
    """
    if not ("Z" in LA.layer_axes(image) or "T" in LA.layer_axes(image)) and channels is None:
        return None, None
    axes, spatial = LA.layer_axes(image), LA.spatial_axes(image)
    full, shape = LA.level_shape(image, 0), LA.level_shape(image, level)

    def shown(letter: str) -> int:  # the position napari shows, at this level
        i = spatial.index(letter)
        return LA.shown_index(viewer, image, letter) * shape[i] // full[i]

    fixed = {"Z": shown("Z") if scope == "slice" else None, "T": shown("T") if time == "this" else None}
    if "T" in axes and LA.length(image, "T") == 1:
        fixed["T"] = 0
    where = tuple(slice(None) if fixed[a] is None else fixed[a] for a in spatial[:-2])
    if all(isinstance(w, slice) for w in where):
        where = None
    spacing = LA.spacing(image)
    if spacing is not None and level:
        factors = dict(zip(spatial, LA.level_factors(image, level)))
        spacing = tuple(s * factors[a] for s, a in zip(spacing, "ZYX"))
    return StackInput(axes, spacing, channels, fixed["T"], fixed["Z"]), where


def placed(values: np.ndarray, shape: tuple[int, ...], where: tuple) -> np.ndarray:
    """An array of ``shape`` holding ``values`` (a part's) at ``where``, zeros elsewhere."""
    out = np.zeros(shape, values.dtype)
    out[where] = values
    return out


def any_time(where: tuple | None, image: Image) -> tuple:
    """``where`` over every time point: strokes on any time point seed all of them."""
    if where is None:
        return ()
    axes = LA.spatial_axes(image)
    return tuple(slice(None) if axes[i] == "T" else w for i, w in enumerate(where))


def time_of(where: tuple | None, image: Image) -> int | None:
    axes = LA.spatial_axes(image)
    if where is None or "T" not in axes or isinstance(where[axes.index("T")], slice):
        return None
    return where[axes.index("T")]


def part_name(stack: StackInput | None, scope: tuple) -> str:
    """ "time point 3, slice 12", "whole volume"... for the status line and layer names."""
    if stack is None:
        return ""
    words = [] if stack.time_index is None else [f"time point {stack.time_index}"]
    if stack.slice_index is not None:
        words.append(f"slice {stack.slice_index}")
    elif scope[0] == "volume":
        words.append("whole volume")
    return ", ".join(words)


def jsonable_where(where: tuple) -> list:
    return [None if isinstance(w, slice) else int(w) for w in where]


def result_axes(image: Image, where: tuple | None) -> str | None:
    """Axes of a saved result: the stack's, less those a part fixes; None for a 2D image."""
    axes = LA.spatial_axes(image)
    if where is not None:
        axes = "".join(a for a, w in zip(axes, where) if isinstance(w, slice)) + axes[len(where) :]
    return axes if len(axes) > 2 else None
