"""Which axis of an Image layer's data is time, depth, channel, rows or columns.

The letters are those of ``core.axes`` (T, C, Z, Y, X), one per axis of ``layer.data``
(an RGB layer's colour axis is its trailing C). Images the plugin opens carry their axes
in its metadata; for other layers they are read from napari's axis labels when those are
letters, else guessed from the number of axes (see :func:`guess`). The user can set them
in the widget (:func:`set_axes`).

Scribbles and results have the layer's axes without C, in the same order, so napari
draws them over the image's last axes; hence C comes first (or last, as RGB) and T
before Z.
"""

from __future__ import annotations

import numpy as np
from napari.layers import Image

from ..core.axes import check_axes
from ..core.errors import InputError

META_KEY = "napari_unsup_seg"
GUESSES = {2: "YX", 3: "ZYX", 4: "TZYX", 5: "CTZYX"}


def _meta(layer) -> dict:
    return layer.metadata.get(META_KEY, {})


def data_ndim(layer: Image) -> int:
    return layer.ndim + (1 if layer.rgb else 0)


def guess(layer: Image) -> str:
    """Axes of a layer that does not say them: its axis labels, or a guess from its shape."""
    labels = "".join(str(a) for a in getattr(layer, "axis_labels", ())).upper()
    if len(labels) == layer.ndim:
        candidate = labels + ("C" if layer.rgb else "")
        try:
            return validate(candidate, layer)
        except InputError:
            pass
    if _meta(layer).get("channels_first") and layer.ndim == 3:
        return "CYX"
    axes = GUESSES.get(layer.ndim)
    if axes is None:
        raise InputError(
            f"the image layer '{layer.name}' has {layer.ndim} axes; the plugin handles 2 to 5 "
            "(time, channel, depth, rows, columns)"
        )
    return axes + ("C" if layer.rgb else "")


def validate(axes: str, layer: Image) -> str:
    """``axes`` upper-cased and checked for ``layer`` (raises :class:`InputError`)."""
    axes = check_axes(axes.strip(), data_ndim(layer))
    if layer.rgb and not axes.endswith("YXC"):
        raise InputError(f"axes {axes!r}: the layer is RGB, so its axes end with YXC")
    if not layer.rgb and not axes.endswith("YX"):
        raise InputError(f"axes {axes!r}: the last two axes must be Y and X (rows and columns)")
    if "C" in axes[:-1] and not axes.startswith("C"):
        raise InputError(
            f"axes {axes!r}: the channel axis must come first, so that scribbles (the "
            "other axes) lie over the image in napari"
        )
    if "T" in axes and "Z" in axes and axes.index("T") > axes.index("Z"):
        raise InputError(f"axes {axes!r}: time must come before depth (T before Z)")
    return axes


def layer_axes(layer: Image) -> str:
    """The axes of ``layer.data``: the ones set for it, else :func:`guess`."""
    stored = _meta(layer).get("axes")
    if stored:
        try:
            return validate(stored, layer)
        except InputError:
            pass  # the data changed shape since: fall back to a guess
    return guess(layer)


def set_axes(layer: Image, text: str) -> str:
    """Set the axes of ``layer`` (validated); returns them."""
    axes = validate(text, layer)
    layer.metadata.setdefault(META_KEY, {})["axes"] = axes
    return axes


def spatial_axes(layer: Image) -> str:
    """The axes of the layer's scribbles and results: its axes without C."""
    return layer_axes(layer).replace("C", "")


def spatial_shape(layer: Image) -> tuple[int, ...]:
    """The shape of the layer's scribbles (those of a multiscale layer are at level 0)."""
    return level_shape(layer, 0)


def length(layer: Image, letter: str) -> int:
    """Length of the axis ``letter`` of ``layer`` (1 when it has none)."""
    shape = layer.data[0].shape if layer.multiscale else layer.data.shape
    axes = layer_axes(layer)
    return int(shape[axes.index(letter)]) if letter in axes else 1


def spacing(layer: Image) -> tuple[float, float, float] | None:
    """(z, y, x) voxel size of a layer with a Z axis (its scale), else None."""
    axes = layer_axes(layer)
    if "Z" not in axes:
        return None
    return tuple(float(layer.scale[axes.index(a)]) for a in "ZYX")


def shown_index(viewer, layer: Image, letter: str) -> int:
    """The position along axis ``letter`` that the viewer shows."""
    axes = layer_axes(layer)
    point = layer.world_to_data(viewer.dims.point)
    i = axes.index(letter)
    return int(np.clip(int(np.round(point[i])), 0, length(layer, letter) - 1))


def geometry(layer: Image) -> dict:
    """Scale and translate of the spatial axes, for scribbles and results drawn over it."""
    n = len(spatial_shape(layer))
    return {"scale": tuple(layer.scale[-n:]), "translate": tuple(layer.translate[-n:])}


def channel_count(layer: Image) -> int:
    return length(layer, "C")


def parse_channels(text: str, n_channels: int) -> tuple[int, ...] | None:
    """Channels typed by the user ("all", "" or "0, 2"); None means all."""
    from ..core.axes import channel_count_check

    text = text.strip().lower()
    if text in ("", "all"):
        return None
    try:
        chosen = tuple(int(part) for part in text.replace(";", ",").replace(" ", ",").split(",") if part)
    except ValueError:
        raise InputError(f"channels {text!r}: write channel numbers separated by commas (0, 2), or all") from None
    return channel_count_check(n_channels, chosen)


MAX_LEVEL_PIXELS = 2048 * 2048  # the default level of a multiscale layer: the finest this size at most


def levels(layer: Image) -> int:
    """Number of resolution levels of the layer (1 unless multiscale)."""
    return len(layer.data) if layer.multiscale else 1


def level_shape(layer: Image, level: int = 0) -> tuple[int, ...]:
    """The scribble/result shape (axes without C) of level ``level`` of the layer."""
    data = layer.data[level] if layer.multiscale else layer.data
    return tuple(int(n) for n, a in zip(data.shape, layer_axes(layer)) if a != "C")


def default_level(layer: Image) -> int:
    """The finest level whose planes hold at most :data:`MAX_LEVEL_PIXELS` pixels (else the coarsest)."""
    for level in range(levels(layer)):
        h, w = level_shape(layer, level)[-2:]
        if h * w <= MAX_LEVEL_PIXELS:
            return level
    return levels(layer) - 1


def level_factors(layer: Image, level: int) -> tuple[float, ...]:
    """Level-0 pixels per pixel of ``level``, per scribble/result axis."""
    return tuple(a / b for a, b in zip(level_shape(layer, 0), level_shape(layer, level)))


def level_geometry(layer: Image, level: int) -> dict:
    """Scale and translate that lay a result of ``level`` exactly over the layer.

    A level pixel covers ``f`` level-0 pixels per axis; its centre is at ``(i + 0.5) f - 0.5``.
    """
    base = geometry(layer)
    factors = level_factors(layer, level)
    scale = tuple(s * f for s, f in zip(base["scale"], factors))
    translate = tuple(t + s * (f - 1) / 2 for t, s, f in zip(base["translate"], base["scale"], factors))
    return {"scale": scale, "translate": translate}
