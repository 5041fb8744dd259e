"""Class colours and visibility of a scribbles layer, and the layers that show them.

A scribbles layer keeps, in the plugin's metadata, a colour per listed class
(``class_colours``: {k: [r, g, b, a]}) and the classes hidden (``hidden_classes``), so
they travel with the layer; its colormap is made from them (a napari
``DirectLabelColormap``: a hidden class has alpha 0, its data untouched). A class
without a colour takes that of :mod:`..core.palette`.

Result and preview layers *follow* the scribbles they were made from (:func:`follow`):
they take its colormap then and again each time it changes, whoever changes it (the
legend, napari's layer controls, a script). Who follows whom is kept here, weakly,
like :mod:`.image_state`: not in a layer's metadata, which holds plain data only.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable

import numpy as np
from napari.layers import Labels
from napari.utils.colormaps import DirectLabelColormap, label_colormap

from ..core.palette import class_colour
from .layers import plugin_meta, plugin_meta_get

COLOURS_KEY = "class_colours"
HIDDEN_KEY = "hidden_classes"
PALETTE_SPAN = 32  # classes 1..32 have their palette colour even when not listed
UNLISTED = (0.6, 0.6, 0.6, 1.0)  # colour of a higher class nobody listed
NAPARI_SEED = 0.5  # of a new Labels layer's colours

_SOURCE: weakref.WeakKeyDictionary[Labels, weakref.ref] = weakref.WeakKeyDictionary()  # follower -> scribbles


def colours(layer: Labels) -> dict[int, tuple[float, ...]]:
    """{class: RGBA} stored with ``layer`` (keys made ints: a session file may hold strings)."""
    stored = plugin_meta_get(layer, COLOURS_KEY) or {}
    return {int(k): tuple(float(c) for c in v) for k, v in stored.items()}


def hidden(layer: Labels) -> set[int]:
    """Classes of ``layer`` that are not shown."""
    return {int(k) for k in plugin_meta_get(layer, HIDDEN_KEY) or ()}


def colormap(stored: dict[int, tuple[float, ...]], hide: Iterable[int] = ()) -> DirectLabelColormap:
    """Colormap showing class k in ``stored[k]`` (else its palette colour), ``hide`` transparent."""
    hide = set(hide)
    span = max([PALETTE_SPAN, *stored])
    table: dict = {None: UNLISTED, 0: (0.0, 0.0, 0.0, 0.0)}
    for k in range(1, span + 1):
        rgba = stored.get(k) or class_colour(k)
        table[k] = (*rgba[:3], 0.0) if k in hide else rgba
    return DirectLabelColormap(color_dict=table)


def ensure(layer: Labels, classes: Iterable[int]) -> None:
    """Give every class of ``classes`` a stored colour and show the layer in its colours.

    A layer that has no colours stored yet keeps those it shows in a direct colormap of
    its own (a layer made elsewhere), else takes the palette's.
    """
    stored = colours(layer)
    own = isinstance(layer.colormap, DirectLabelColormap) and not stored
    for k in classes:
        if k > 0 and k not in stored:
            rgba = layer.get_color(k) if own else None
            keep = rgba is not None and rgba[3] > 0
            stored[k] = tuple(float(c) for c in rgba) if keep else class_colour(k)
    _store(layer, stored, hidden(layer))


def set_colour(layer: Labels, k: int, rgba) -> None:
    """Show class ``k`` of ``layer``, and of the layers that follow it, in ``rgba``."""
    stored = colours(layer)
    stored[int(k)] = tuple(float(c) for c in rgba)
    _store(layer, stored, hidden(layer))


def set_visible(layer: Labels, k: int, visible: bool) -> None:
    """Show or hide class ``k`` of ``layer`` and of the layers that follow it (data untouched)."""
    hide = hidden(layer)
    hide = hide - {int(k)} if visible else hide | {int(k)}
    _store(layer, colours(layer), hide)


def adopt(layer: Labels, classes: Iterable[int]) -> bool:
    """Take as stored colours those ``layer`` shows for ``classes`` (its colormap was set from outside).

    Hidden classes, and classes shown transparent, keep their stored colour. Returns
    whether a colour changed; the layer is then shown in its colours again (hidden
    classes hidden, whatever the new colormap was).
    """
    stored, hide = colours(layer), hidden(layer)
    changed = False
    for k in classes:
        rgba = layer.get_color(k)
        if k in hide or rgba is None or rgba[3] == 0:
            continue
        rgba = tuple(float(c) for c in rgba)
        if k not in stored or not np.allclose(stored[k], rgba, atol=1e-3):
            stored[k], changed = rgba, True
    if changed:
        _store(layer, stored, hide)
    return changed


def _store(layer: Labels, stored: dict, hide: set[int]) -> None:
    meta = plugin_meta(layer)
    meta[COLOURS_KEY] = {k: [float(c) for c in v] for k, v in sorted(stored.items())}
    meta[HIDDEN_KEY] = sorted(hide)
    cmap = colormap(stored, hide)
    if not _same(layer.colormap, cmap):
        _assign(layer, cmap)


def _same(a, b: DirectLabelColormap) -> bool:
    if not isinstance(a, DirectLabelColormap) or set(a.color_dict) != set(b.color_dict):
        return False
    return all(np.allclose(a.color_dict[k], b.color_dict[k]) for k in b.color_dict)


def _assign(layer: Labels, cmap) -> None:
    """Set ``layer``'s colormap, keeping its own "show selected label" state."""
    cmap = cmap.model_copy(deep=True)
    cmap.use_selection, cmap.selection = layer.show_selected_label, int(layer.selected_label)
    layer.colormap = cmap


def follow(target: Labels, source: Labels | None) -> None:
    """``target`` shows ``source``'s colours, now and whenever they change.

    ``source`` None: ``target`` follows nothing and shows napari's default colours
    (an unsupervised result has segments, not classes).
    """
    before = _SOURCE.pop(target, None)
    if source is None:
        if before is not None and before() is not None:
            _assign(target, label_colormap(49, NAPARI_SEED, background_value=0))
        return
    _SOURCE[target] = weakref.ref(source)
    source.events.colormap.connect(_push)  # one connection per source: napari skips a repeat
    _assign(target, source.colormap)


def followers(source: Labels) -> list[Labels]:
    return [t for t, s in list(_SOURCE.items()) if s() is source]


def _push(event) -> None:
    source = event.source
    for target in followers(source):
        _assign(target, source.colormap)
