"""Layer <-> array conversions and the naming/geometry rules of the plugin's layers.

Everything here is plain functions over napari layers; no Qt widgets and no torch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from napari.layers import Image, Labels

from ..core.batch_input import SCRIBBLES_SUFFIX as FILE_SCRIBBLES_SUFFIX
from ..core.errors import InputError
from ..core.image import channels_last, read_array
from . import layer_axes as LA
from .layer_axes import META_KEY

SCRIBBLES_SUFFIX = " scribbles"
RESULT_SUFFIX = " segmentation"
PREVIEW_SUFFIX = " preview"
DEFAULT_CLASSES = 2


def plugin_meta(layer) -> dict:
    """The plugin's entry of ``layer.metadata`` (created when missing)."""
    return layer.metadata.setdefault(META_KEY, {})


def plugin_meta_get(layer, key: str, default=None):
    """One value of the plugin's metadata entry, without creating the entry."""
    return layer.metadata.get(META_KEY, {}).get(key, default)


def role(layer) -> str | None:
    """ "scribbles", "result", "preview", "uncertainty" or None for layers the plugin did not make."""
    return plugin_meta_get(layer, "role")


def is_volume(layer: Image) -> bool:
    """Whether an Image layer holds volumes: it has a depth axis (Z), time points or not."""
    return "Z" in LA.layer_axes(layer)


def image_array(layer: Image, level: int = 0) -> np.ndarray:
    """The data of an Image layer (level ``level`` when multiscale: only that one is read)."""
    return np.asarray(layer.data[level] if layer.multiscale else layer.data)


def spatial_shape(layer: Image) -> tuple[int, ...]:
    """Shape of the layer's scribbles and results: its data's shape without the channel axis."""
    return LA.spatial_shape(layer)


def image_hw(layer: Image) -> tuple[int, int]:
    """(H, W) of an image layer, or of the slices of a volume."""
    return spatial_shape(layer)[-2:]


def geometry(layer: Image) -> dict:
    """Scale and translate of the spatial axes, for layers drawn over it."""
    return LA.geometry(layer)


def layer_data_from_file(path: str | Path) -> tuple[np.ndarray, dict]:
    """Read an image file into ``(data, add_image kwargs)`` with a 2D or 3D napari geometry.

    RGB(A) files become RGB layers, other multi-channel files a channels-first stack
    flagged in the metadata so the plugin treats it as one 2D image. A stack of slices
    (the axes a TIFF states, or a guess, see ``core.axes``) becomes a volume layer scaled
    by its voxel size.
    """
    from ..core.axes import file_axes, needs_stack

    path = Path(path)
    array = read_array(path)
    kwargs: dict = {"name": path.stem}
    if array.ndim == 2:
        return array, kwargs
    axes, voxel = file_axes(path)
    axes = axes if axes and len(axes) == array.ndim else None
    if needs_stack(array, axes):
        return _volume_from_array(array, axes, voxel, kwargs)
    hwc = channels_last(array)  # raises InputError for 3D stacks
    if hwc.shape[-1] in (3, 4):
        kwargs["rgb"] = True
        return np.ascontiguousarray(hwc), kwargs
    if hwc.shape[-1] == 1:
        return np.ascontiguousarray(hwc[..., 0]), kwargs
    kwargs["metadata"] = {META_KEY: {"channels_first": True}}
    return np.ascontiguousarray(np.moveaxis(hwc, -1, 0)), kwargs


def _volume_from_array(array: np.ndarray, axes: str | None, voxel, kwargs: dict) -> tuple[np.ndarray, dict]:
    """A stack file's data as a layer: channels first (or RGB last), then time, depth, rows, columns.

    The layer's axes go in the plugin's metadata and napari's axis labels; its scale is
    the voxel size on Z, Y and X.
    """
    from ..core.axes import as_stack

    stack = as_stack(array, axes, voxel)
    n_t, n_c = stack.data.shape[:2]
    keep = [a for a in "TZ" if a in stack.axes and (a != "T" or n_t > 1)]
    data = stack.data[(slice(None) if n_t > 1 else 0, slice(None), slice(None) if "Z" in keep else 0)]
    # data is now (T?, C, Z?, Y, X)
    c_at = 1 if n_t > 1 else 0
    rgb = n_c in (3, 4)
    if n_c == 1:
        data, letters = np.take(data, 0, axis=c_at), "".join(keep) + "YX"
    elif rgb:
        data, letters = np.moveaxis(data, c_at, -1), "".join(keep) + "YXC"
        kwargs["rgb"] = True
    else:
        data, letters = np.moveaxis(data, c_at, 0), "C" + "".join(keep) + "YX"
    dims = letters[:-1] if rgb else letters  # the layer's axes: an RGB layer's colours are not one
    spacing = dict(zip("ZYX", stack.spacing)) if stack.spacing is not None else {}
    kwargs["scale"] = tuple(float(spacing.get(a, 1.0)) for a in dims)
    kwargs["axis_labels"] = tuple(dims.lower())
    kwargs["metadata"] = {META_KEY: {"axes": letters}}
    return np.ascontiguousarray(data), kwargs


def scribbles_name(image: Image) -> str:
    return f"{image.name}{SCRIBBLES_SUFFIX}"


def result_name(image: Image) -> str:
    return f"{image.name}{RESULT_SUFFIX}"


def unique_name(viewer, name: str) -> str:
    """``name``, or ``name [n]`` with the first n that no layer uses yet."""
    taken = {layer.name for layer in viewer.layers}
    if name not in taken:
        return name
    n = 1
    while f"{name} [{n}]" in taken:
        n += 1
    return f"{name} [{n}]"


def fits_image(labels: Labels, image: Image) -> bool:
    """Whether a Labels layer has the image's (H, W) or the volume's (Z, H, W) shape."""
    try:
        return tuple(labels.data.shape) == spatial_shape(image)
    except InputError:
        return False


def saved_scribbles(viewer, image: Image) -> Labels | None:
    """A Labels layer named "<image>_scribbles" that fits ``image``: strokes opened from the
    file the CLI reads (napari names a layer after its file)."""
    return _fitting_labels(viewer, image, f"{image.name}{FILE_SCRIBBLES_SUFFIX}")


def _fitting_labels(viewer, image: Image, name: str) -> Labels | None:
    """The first Labels layer called ``name`` that fits ``image``."""
    for layer in viewer.layers:
        if isinstance(layer, Labels) and layer.name == name and fits_image(layer, image):
            return layer
    return None


def made_and_empty(layer: Labels, image: Image) -> bool:
    """Whether ``layer`` is the scribbles layer the plugin made for ``image``, still unpainted."""
    return (
        role(layer) == "scribbles"
        and plugin_meta_get(layer, "image") == image.name
        and plugin_meta_get(layer, "session") is None
        and not np.any(np.asarray(layer.data))
    )


def find_scribbles(viewer, image: Image) -> Labels | None:
    """The scribbles layer of ``image``: the one of its saved session, else the one named
    "<image> scribbles" that fits it, else "<image>_scribbles" (:func:`saved_scribbles`)."""
    name, session = scribbles_name(image), plugin_meta_get(image, "session")
    for layer in viewer.layers if session else ():
        if (
            isinstance(layer, Labels)
            and role(layer) == "scribbles"
            and plugin_meta_get(layer, "session") == session
            and fits_image(layer, image)
        ):
            return layer
    named = _fitting_labels(viewer, image, name)
    return named if named is not None else saved_scribbles(viewer, image)


def candidate_scribbles(viewer, image: Image | None) -> list[Labels]:
    """Labels layers usable as scribbles for ``image`` (results and previews excluded)."""
    out = []
    for layer in viewer.layers:
        if not isinstance(layer, Labels) or role(layer) in ("result", "preview"):
            continue
        if image is None or fits_image(layer, image):
            out.append(layer)
    return out


def new_scribbles(viewer, image: Image) -> Labels:
    """Add an empty scribbles layer matched to ``image`` and ready to paint label 1."""
    layer = viewer.add_labels(
        np.zeros(spatial_shape(image), np.int32),
        name=scribbles_name(image),
        metadata={META_KEY: {"role": "scribbles", "image": image.name}},
        **geometry(image),
    )
    prepare_for_painting(viewer, layer)
    return layer


def prepare_for_painting(viewer, layer: Labels) -> None:
    """Select ``layer``, switch it to paint mode with label 1 and a brush that fits the image."""
    h, w = layer.data.shape[-2:]
    viewer.layers.selection.active = layer
    layer.brush_size = int(max(3, min(40, round(min(h, w) / 60))))
    layer.selected_label = 1
    layer.mode = "paint"


def scribble_array(layer: Labels) -> np.ndarray:
    """A private copy of the scribbles (painting may go on while a run reads it)."""
    return np.array(layer.data, copy=True)


def preview_geometry(image: Image, preview_shape: tuple[int, int], slice_index: int | None = None) -> dict:
    """Scale/translate that lay a small (h, w) preview exactly over the image's pixels.

    With ``slice_index`` (a volume) the preview is a (1, h, w) layer over that slice.
    """
    h, w = image_hw(image)
    scale = np.asarray(image.scale[-2:], float)
    translate = np.asarray(image.translate[-2:], float)
    factor = np.array([h / preview_shape[0], w / preview_shape[1]])
    # pixel i of the preview covers image pixels [i*f, (i+1)*f): its centre is at (i+0.5)*f-0.5
    out = {"scale": tuple(scale * factor), "translate": tuple(translate + scale * (factor - 1) / 2)}
    if slice_index is not None:
        sz, tz = float(image.scale[-3]), float(image.translate[-3])
        out = {"scale": (sz, *out["scale"]), "translate": (tz + sz * slice_index, *out["translate"])}
    return out
