"""Which image each of the plugin's layers belongs to, kept right as napari renames layers.

A layer the plugin makes (scribbles, result, preview, uncertainty) names its image in the
plugin's metadata (``"image"``). Two things make that name go stale: the user renames the
image layer, and napari renames the layers of a session opened while layers of the same
names are in the viewer ("coffee" becomes "coffee [1]"). :func:`keep_owners` follows both:
a renamed image takes its layers' tags along, and a session's layers (tagged with the
session's id, one per opening) take the name their image was given.
"""

from __future__ import annotations

import weakref

from napari.layers import Image

from . import layers as L

_WATCHED: weakref.WeakSet = weakref.WeakSet()  # viewers whose layer list is followed
_NAMES: weakref.WeakKeyDictionary[Image, str] = weakref.WeakKeyDictionary()  # image -> its last known name


def belongs_to(layer, image: Image) -> bool | None:
    """Whether the plugin's ``layer`` was made for ``image``; None for a layer without an owner."""
    owner = L.plugin_meta_get(layer, "image") if L.role(layer) is not None else None
    if owner is None:
        return None
    mine, theirs = L.plugin_meta_get(layer, "session"), L.plugin_meta_get(image, "session")
    if mine is not None and theirs is not None:
        return mine == theirs
    return owner == image.name


def keep_owners(viewer) -> None:
    """Follow renames in ``viewer`` from now on (once per viewer, whichever dock asks)."""
    if viewer in _WATCHED:
        return
    _WATCHED.add(viewer)
    viewer.layers.events.inserted.connect(lambda event: _inserted(viewer, event.value))
    for layer in list(viewer.layers):
        _inserted(viewer, layer)


def _inserted(viewer, layer) -> None:
    if isinstance(layer, Image) and L.role(layer) is None:
        _NAMES[layer] = layer.name
        layer.events.name.connect(lambda event: _renamed(viewer, event.source))
        return
    tag = L.plugin_meta_get(layer, "session")
    if tag is None or L.role(layer) is None:
        return
    for image in viewer.layers:
        if isinstance(image, Image) and L.role(image) is None and L.plugin_meta_get(image, "session") == tag:
            L.plugin_meta(layer)["image"] = image.name  # the name napari gave the session's image
            return


def _renamed(viewer, image: Image) -> None:
    old, _NAMES[image] = _NAMES.get(image), image.name
    if old is None or old == image.name:
        return
    for layer in viewer.layers:
        if layer is not image and L.role(layer) is not None and L.plugin_meta_get(layer, "image") == old:
            mine, theirs = L.plugin_meta_get(layer, "session"), L.plugin_meta_get(image, "session")
            if mine is None or theirs is None or mine == theirs:
                L.plugin_meta(layer)["image"] = image.name
