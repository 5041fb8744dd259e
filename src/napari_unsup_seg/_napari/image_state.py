"""What the plugin remembers about an image layer: kept with the layer, not the dock widget.

Closing the dock widget (its x, or ``viewer.window.remove_dock_widget``) and opening it
again from the Plugins menu makes a new widget; for the image it selects, that widget
finds here the latest result with its segmentation, the merge slider's state, the
networks to warm-start from, and the scribbles layer chosen for the image.

The state lives in module-level weak dictionaries keyed by the image layer, so it lasts
as long as the layer does, whichever widget made it, and ends with it. Not in the
layer's metadata: napari hands a duplicated layer the same metadata (the copy would
share the original's network and merge state), and a segmentation (torch tensors, a
hierarchy) is no plain data to keep there.

A closed widget lets go of the viewer (:func:`let_go`), so only its state stays behind:
no handler of a closed widget runs on a stroke, a layer change or a click.
"""

from __future__ import annotations

import dataclasses
import weakref
from typing import Any

from napari.layers import Image, Labels

SESSIONS: weakref.WeakKeyDictionary[Image, Any] = weakref.WeakKeyDictionary()  # the widget's session per image
SCRIBBLES: weakref.WeakKeyDictionary[Image, Labels] = weakref.WeakKeyDictionary()  # the scribbles chosen for it
# per viewer, what a closed dock's form and boxes held: a dock opened again shows them
DOCK: weakref.WeakKeyDictionary[Any, dict] = weakref.WeakKeyDictionary()


def let_go(viewer, *owners) -> None:
    """Disconnect every method of ``owners`` from the events of ``viewer``'s layer list and layers."""
    for group in [viewer.layers.events, *(layer.events for layer in viewer.layers)]:
        for emitter in group.emitters.values():
            for owner in owners:
                emitter.disconnect(owner)  # all of that object's methods


def remember_dock(viewer, form, boxes: dict) -> None:
    """Keep the run settings of ``form`` (a ParamsForm) and the ticks of ``boxes`` for the next dock."""
    DOCK[viewer] = {"settings": dataclasses.asdict(form.spec()), "boxes": {k: b.isChecked() for k, b in boxes.items()}}


def restore_dock(viewer, form, boxes: dict) -> None:
    """Show in a new dock what :func:`remember_dock` kept (nothing kept: the defaults stay)."""
    kept = DOCK.get(viewer, {})
    form.show_recorded(kept.get("settings"))
    for name, on in kept.get("boxes", {}).items():
        boxes[name].setChecked(on)
