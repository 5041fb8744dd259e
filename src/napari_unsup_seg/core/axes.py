"""Named axes: stacks of slices, time points and channels brought to one layout.

Axes are letters: ``T`` time, ``Z`` depth (slices), ``C`` channel (``S``, TIFF's samples
such as RGB, counts as a channel), ``Y`` and ``X``. Every stack is brought to the layout
``TCZYX`` (:func:`to_tczyx`); each time point is then a float32 image (C, H, W) or volume
(C, Z, H, W) in [0, 1] (:func:`frame_to_input`).

Where the axes come from: TIFF files carry them (tifffile's series axes, ImageJ
hyperstacks included); NPY files and arrays do not, and an ``axes`` string says them
(``--axes`` on the command line). Without one, a 2D image is guessed as before
(:func:`core.image.channels_last`) and a 3D array whose first axis is longer than
:data:`core.image.MAX_CHANNELS` is taken as a stack of slices (ZYX).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import InputError
from .image import MAX_CHANNELS, _scale_channel, channels_last, read_array

LETTERS = "TCZYX"


@dataclass(frozen=True)
class Stack:
    """An array in ``TCZYX`` layout and what is known about it.

    ``axes`` are the letters the data had (``"ZYX"``, ``"YXC"``...); ``spacing`` the (z, y, x)
    voxel size when known, else None.
    """

    data: np.ndarray
    axes: str
    spacing: tuple[float, float, float] | None = None

    @property
    def has_time(self) -> bool:
        return "T" in self.axes

    @property
    def is_volume(self) -> bool:
        return "Z" in self.axes and self.data.shape[2] > 1


def check_axes(axes: str, ndim: int) -> str:
    """Upper-case, validated axes letters for an array of ``ndim`` dimensions."""
    axes = axes.upper().replace("S", "C")
    unknown = sorted(set(axes) - set(LETTERS))
    if unknown:
        raise InputError(f"axes {axes!r}: unknown letter(s) {', '.join(unknown)}; use T, Z, C, Y and X")
    if len(set(axes)) != len(axes):
        raise InputError(f"axes {axes!r}: a letter appears twice")
    if len(axes) != ndim:
        raise InputError(f"axes {axes!r} name {len(axes)} axes but the data has {ndim}")
    if "Y" not in axes or "X" not in axes:
        raise InputError(f"axes {axes!r}: Y and X are needed")
    return axes


def guess_axes(array: np.ndarray) -> str:
    """Axes of an array that came without them (see the module notes)."""
    if array.ndim == 2:
        return "YX"
    if array.ndim == 3:
        if array.shape[-1] <= MAX_CHANNELS:
            return "YXC"
        if array.shape[0] <= MAX_CHANNELS:
            return "CYX"
        return "ZYX"
    raise InputError(
        f"the data has {array.ndim} dimensions {array.shape}: say which is which with "
        "axes (for example --axes TZYX or ZCYX)"
    )


def to_tczyx(array: np.ndarray, axes: str | None = None) -> np.ndarray:
    """``array`` transposed to ``TCZYX``, missing axes added with length 1."""
    array = np.asarray(array)
    if array.dtype == bool:
        array = array.astype(np.uint8)
    if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise InputError(f"image data of type {array.dtype} is not supported; use integers or floats")
    axes = check_axes(axes, array.ndim) if axes else guess_axes(array)
    if axes == "YXC" or axes == "CYX" or axes == "YX":
        channels_last(array)  # the 2D checks and messages
    present = [a for a in LETTERS if a in axes]
    data = np.transpose(array, [axes.index(a) for a in present])
    for position, letter in enumerate(LETTERS):
        if letter not in axes:
            data = np.expand_dims(data, position)
    return data


def channel_count_check(n_channels: int, channels: tuple[int, ...] | None) -> tuple[int, ...]:
    """The channels to use (all when None), checked against the count."""
    if channels is None:
        return tuple(range(n_channels))
    channels = tuple(int(c) for c in channels)
    if not channels or any(c < 0 or c >= n_channels for c in channels):
        raise InputError(
            f"channels {list(channels)}: the data has {n_channels} channel(s), numbered 0 to {n_channels - 1}"
        )
    if len(set(channels)) != len(channels):
        raise InputError(f"channels {list(channels)}: a channel is listed twice")
    return channels


def frame_to_input(frame: np.ndarray, channels: tuple[int, ...] | None = None) -> np.ndarray:
    """One time point ``CZYX`` as float32 (C, H, W) when Z is 1, else (C, Z, H, W), in [0, 1].

    Each chosen channel is scaled over the whole frame (all its slices), like
    :func:`core.image.to_chw` scales an image's: slices stay comparable.
    """
    chosen = channel_count_check(frame.shape[0], channels)
    if frame.shape[2] < 2 or frame.shape[3] < 2:
        raise InputError(f"the slices are only {frame.shape[2]}x{frame.shape[3]} pixels; at least 2x2 is needed")
    if frame.shape[0] == 4 and channels is None:
        chosen = (0, 1, 2)  # RGBA: the alpha channel is dropped, as for images
    data = np.stack([_scale_channel(frame[c]) for c in chosen])
    data = np.ascontiguousarray(data, np.float32)
    return data[:, 0] if data.shape[1] == 1 else data


def file_axes(path: str | Path) -> tuple[str | None, tuple[float, float, float] | None]:
    """The axes and (z, y, x) voxel size a TIFF file states (None for other files, or unknown).

    TIFF's ``S`` (samples) counts as ``C``, its generic ``I`` (image sequence) and ``Q`` as ``Z``.
    """
    path = Path(path)
    if path.suffix.lower() not in (".tif", ".tiff") or not path.is_file():
        return None, None
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            axes = series.axes.replace("S", "C").replace("I", "Z").replace("Q", "Z")
            spacing = _tiff_spacing(tif, series)
    except Exception:  # unreadable: read_array says so in one line
        return None, None
    if not set(axes) <= set(LETTERS) or len(set(axes)) != len(axes):
        return None, spacing
    return axes, spacing


def _tiff_spacing(tif, series) -> tuple[float, float, float] | None:
    """(z, y, x) voxel size from the resolution tags and the ``spacing`` of ImageJ's or tifffile's metadata."""
    try:
        page = series.pages[0]
        x_res = page.tags.get("XResolution")
        y_res = page.tags.get("YResolution")
        shaped = tif.shaped_metadata[0] if tif.shaped_metadata else {}
        z = (tif.imagej_metadata or {}).get("spacing", shaped.get("spacing"))
        if x_res is None or y_res is None or z is None:
            return None
        x = x_res.value[1] / x_res.value[0]
        y = y_res.value[1] / y_res.value[0]
        values = (float(z), float(y), float(x))
        return values if all(np.isfinite(v) and v > 0 for v in values) else None
    except (AttributeError, TypeError, ZeroDivisionError, IndexError):
        return None


def needs_stack(array: np.ndarray, axes: str | None) -> bool:
    """Whether data with these axes (or none given) is more than one 2D image."""
    used = axes.upper().replace("S", "C") if axes else guess_axes(array) if array.ndim <= 3 else "TZYX"
    return bool(set(used) & {"T", "Z"})


def read_stack(path: str | Path, axes: str | None = None) -> Stack:
    """Read an image or stack file; ``axes`` overrides what the file says (or the guess)."""
    stated, spacing = file_axes(path)
    data = read_array(path)
    return as_stack(data, axes or (stated if stated and len(stated) == np.ndim(data) else None), spacing)


def as_stack(array: np.ndarray, axes: str | None = None, spacing=None) -> Stack:
    """An in-memory array (a napari layer's data, a script's) as a :class:`Stack`."""
    array = np.asarray(array)
    used = check_axes(axes, array.ndim) if axes else guess_axes(array)
    return Stack(to_tczyx(array, used), used, None if spacing is None else tuple(float(s) for s in spacing))


def scribbles_tzyx(scribbles: np.ndarray, stack: Stack) -> np.ndarray:
    """Scribbles for a stack, as (T, Z, Y, X): the stack's axes without C, or a single 2D map
    for a stack of one image. A scribble volume without T applies to every time point."""
    scribbles = np.asarray(scribbles)
    n_t, _, n_z, n_y, n_x = stack.data.shape
    spatial = [a for a in stack.axes if a != "C"]
    if scribbles.ndim == len(spatial):
        order = [spatial.index(a) for a in "TZYX" if a in spatial]
        scribbles = np.transpose(scribbles, order)
        for position, letter in enumerate("TZYX"):
            if letter not in spatial:
                scribbles = np.expand_dims(scribbles, position)
    elif scribbles.ndim == len(spatial) - 1 and "T" in spatial:
        no_time = [a for a in spatial if a != "T"]
        order = [no_time.index(a) for a in "ZYX" if a in no_time]
        scribbles = np.transpose(scribbles, order)
        if "Z" not in no_time:
            scribbles = scribbles[None]
        scribbles = np.broadcast_to(scribbles[None], (n_t,) + scribbles.shape)
    else:
        raise InputError(
            f"scribbles of shape {scribbles.shape} do not fit data with axes {stack.axes} "
            f"(axes without C: {''.join(spatial)})"
        )
    if scribbles.shape != (n_t, n_z, n_y, n_x):
        raise InputError(
            f"scribbles have shape {scribbles.shape} after arranging as TZYX, the data "
            f"{(n_t, n_z, n_y, n_x)}; they must match"
        )
    return scribbles
