"""One image in view at a time: the dock's image and the layers the plugin made for it.

Choosing another image in the dock hides what the plugin made for the other images (their
scribbles, results, previews and uncertainty; :mod:`.owners` knows whose each is) and every
other image that overlaps the chosen one, and frames the view on the chosen image when its
extent differs from the one before; choosing an image again shows what was hidden of it
and its layers. Only what was hidden here is shown again: a layer the user hid stays
hidden, and a layer the user shows again is theirs to keep. Images meant to be seen
together (additive blending, as napari opens the channels of one image) are left alone,
and so are layers the plugin did not make.
"""

from __future__ import annotations

import weakref

import numpy as np
from napari.layers import Image, Layer

from . import layers as L
from . import owners

# layers hidden here, shown again when their image is chosen
_HIDDEN: weakref.WeakSet[Layer] = weakref.WeakSet()
# a weak reference to the image each viewer showed last
_FRAMED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _overlaps(a: Layer, b: Layer) -> bool:
    """Whether the world extents of ``a`` and ``b`` overlap on their last two axes (what a 2D view shows)."""
    ea, eb = np.asarray(a.extent.world)[:, -2:], np.asarray(b.extent.world)[:, -2:]
    return bool(np.all(ea[0] < eb[1]) and np.all(eb[0] < ea[1]))


def _covers(layer: Layer, image: Image) -> bool:
    return isinstance(layer, Image) and layer.blending != "additive" and _overlaps(layer, image)


def _hide(layer: Layer) -> None:
    if layer.visible:
        layer.visible = False
        _HIDDEN.add(layer)


def _show(layer: Layer) -> None:
    if layer in _HIDDEN:
        _HIDDEN.discard(layer)
        layer.visible = True


def focus(viewer, image: Image | None) -> None:
    """Show ``image`` with the plugin's layers for it; hide the plugin's layers of other images
    and the images that overlap it; frame it if its extent is not the previous image's."""
    if image is None or image not in viewer.layers:
        return
    _show(image)
    for layer in list(viewer.layers):
        if layer is image:
            continue
        mine = owners.belongs_to(layer, image)
        if mine:
            _show(layer)
        elif mine is False or (L.role(layer) is None and _covers(layer, image)):
            _hide(layer)
    extent = np.asarray(image.extent.world)[:, -2:]
    before = _FRAMED[viewer]() if viewer in _FRAMED else None
    if before is not None and before is not image and before in viewer.layers:
        if not np.allclose(np.asarray(before.extent.world)[:, -2:], extent):
            viewer.reset_view()
    _FRAMED[viewer] = weakref.ref(image)


def tuck_away(*layers: Layer | None) -> None:
    """Hide layers made for an image that is not the chosen one (a run that ended after the
    user chose another image); :func:`focus` on that image shows them again."""
    for layer in layers:
        if layer is not None:  # made by the plugin just now: hidden here, whatever it inherited
            layer.visible = False
            _HIDDEN.add(layer)
