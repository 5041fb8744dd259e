"""Preview and result layers.

Adding a layer costs napari a visible moment and removing one runs a full garbage
collection, so the preview layer is added when Run is clicked (not during the run),
updated in place, and becomes the result layer itself when a new one is needed.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
from napari.layers import Image, Labels

from . import class_colours
from . import layers as L
from .merge_history import write_unrecorded


@contextmanager
def keep_active(viewer):
    """The active layer stays the active one (napari selects every layer it adds)."""
    active = viewer.layers.selection.active
    try:
        yield
    finally:
        if active is not None and active in viewer.layers:
            viewer.layers.selection.active = active


def add_preview(
    viewer,
    image: Image,
    size: tuple[int, ...],
    colours: Labels | None,
    slice_index: int | None = None,
    geometry: dict | None = None,
) -> Labels:
    """An empty preview layer laid over ``image`` (following the colours of ``colours``).

    ``size``: (h, w) of the previews of an image, or of one slice of a volume
    (``slice_index``: the layer is (1, h, w) over that slice); a volume's (Z, H, W), laid
    over it by ``geometry`` (default: the image's).
    """
    if len(size) == 3:
        shape, geometry = tuple(size), geometry or L.geometry(image)
    elif slice_index is not None:
        shape, geometry = (1, *size), L.preview_geometry(image, size, slice_index)
    else:
        shape, geometry = tuple(size), L.preview_geometry(image, size)
    with keep_active(viewer):
        layer = viewer.add_labels(
            np.zeros(shape, np.int32),
            name=f"{image.name}{L.PREVIEW_SUFFIX}",
            opacity=0.5,
            metadata={L.META_KEY: {"role": "preview", "image": image.name}},
            **geometry,
        )
        if colours is not None:
            class_colours.follow(layer, colours)
    return layer


def update_preview(layer: Labels, preview: np.ndarray) -> None:
    """Show ``preview`` in the preview layer (in place: ~3x cheaper than setting .data)."""
    if layer.data.size == preview.size:  # (h, w) into the (1, h, w) preview of a slice too
        np.copyto(layer.data, preview.reshape(layer.data.shape))
        layer.refresh()
    else:
        layer.data = preview


def show_in_place(layer: Labels, preview: np.ndarray, slice_index: int | None = None) -> None:
    """Draw a preview over a whole result layer (or one slice of it), outside its undo history.

    Only the pixels that differ are written and redrawn; a smaller preview is resized first.
    """
    from .runner import resize_nearest

    target = layer.data if slice_index is None else layer.data[slice_index]
    full = preview if preview.shape == target.shape else resize_nearest(preview, target.shape)
    _write_changes(layer, target, full, () if slice_index is None else (slice_index,))


def _write_changes(layer: Labels, target: np.ndarray, data: np.ndarray, where: tuple[int, ...] = ()) -> None:
    """Write ``data`` into ``target`` (``layer.data[where]``) where they differ, outside the undo history."""
    index = np.nonzero(target != data)
    if index[0].size:
        values = data[index]
        write_unrecorded(layer, (*(np.full(index[0].shape, w) for w in where), *index), values)


def restore(layer: Labels, data: np.ndarray) -> None:
    """Undo :func:`show_in_place`: the layer holds ``data`` again."""
    if layer.data.shape == data.shape:
        _write_changes(layer, np.asarray(layer.data), data)


def show_uncertainty(
    viewer, image: Image | None, layer: Image | None, values: np.ndarray | None, geometry: dict | None = None
) -> Image | None:
    """Show ``values`` (H, W), or (Z, H, W) for a volume, in [0, 1] in ``layer`` (made when missing); hide it when None.

    ``geometry``: that of the result the values belong to (default: the image's).
    Returns the layer (None when there is none).
    """
    layer = layer if layer is not None and layer in viewer.layers else None
    if values is None or image is None:
        if layer is not None:
            layer.visible = False
        return layer
    if layer is not None and layer.data.shape == values.shape:
        layer.data = values
        if geometry is not None:
            layer.scale, layer.translate = geometry["scale"], geometry["translate"]
    else:
        with keep_active(viewer):
            remove(viewer, layer)
            layer = viewer.add_image(
                values,
                name=f"{image.name} uncertainty",
                colormap="magma",
                opacity=0.45,
                blending="additive",
                contrast_limits=(0.0, 1.0),
                metadata={L.META_KEY: {"role": "uncertainty", "image": image.name}},
                **(geometry or L.geometry(image)),
            )
    layer.visible = True
    return layer


def remove(viewer, layer: Labels | None) -> None:
    if layer is not None and layer in viewer.layers:
        viewer.layers.remove(layer)


def _dress(viewer, layer: Labels, colours: Labels | None) -> None:
    """The scribbles' colours (napari's own without scribbles), and shown (even where the
    user hid the last result)."""
    class_colours.follow(layer, colours if colours is not None and colours in viewer.layers else None)
    if not layer.visible:
        layer.visible = True


def place_result(
    viewer,
    image: Image,
    labels: np.ndarray,
    meta: dict,
    *,
    replace: Labels | None = None,
    preview: Labels | None = None,
    colours: Labels | None = None,
    name: str | None = None,
    geometry: dict | None = None,
) -> Labels:
    """Show ``labels`` (a result for ``image``) and return its layer.

    With ``replace`` (a previous result of the same shape) its data is replaced as one
    undo step and ``preview`` is removed; otherwise ``preview`` (or a new layer) becomes
    the result layer ``name`` (default "<image> segmentation"). ``colours``: the scribbles
    layer whose colours the result takes and keeps following, so class k looks the same in
    both (None: napari's default colours, for segments). ``geometry``:
    scale and translate of the result (default: the image's; a coarser level's differ).
    """
    geometry = geometry or L.geometry(image)
    labels = np.array(labels, dtype=np.int32, copy=True)  # the layer gets edited later
    name = name or L.result_name(image)
    with keep_active(viewer):
        if replace is not None and replace in viewer.layers and replace.data.shape == labels.shape:
            remove(viewer, preview)
            layer = replace
            _dress(viewer, layer, colours)
            current = np.asarray(replace.data)
            index = np.nonzero(current != labels)
            if index[0].size:
                with replace.block_history():  # one undo step for the whole replacement
                    replace.data_setitem(index, labels[index].astype(current.dtype))
            replace.metadata[L.META_KEY] = meta
            if replace.name != name:  # another slice's result before
                replace.name = L.unique_name(viewer, name)
        elif preview is not None and preview in viewer.layers:
            layer = preview
            layer.metadata[L.META_KEY] = meta
            # everything that redraws the layer is set while it holds the small preview
            if tuple(layer.scale) != tuple(geometry["scale"]) or tuple(layer.translate) != tuple(geometry["translate"]):
                layer.scale, layer.translate = geometry["scale"], geometry["translate"]
            layer.opacity = 0.7
            layer.name = L.unique_name(viewer, name)
            _dress(viewer, layer, colours)
            layer.data = labels
        else:
            layer = viewer.add_labels(labels, name=name, metadata={L.META_KEY: meta}, **geometry)
            _dress(viewer, layer, colours)
    return layer
