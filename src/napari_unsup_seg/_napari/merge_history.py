"""The merge panel's own steps in a result layer's undo history.

napari keeps one undo history per Labels layer (Ctrl+Z, Shift+Ctrl+Z) and offers no
public way to read it, nor to write without it; this module is the one place that does. A history is two deques
(``_undo_history``, ``_redo_history``) of items, each a list of atoms undone together;
Ctrl+Z moves the last item from the first deque to the end of the second, keeping its
atoms. The panel writes each of its steps as an item of one atom, and remembers that
atom here with what the step meant:

- a slider step, with the thresholds before and after it: the threshold the layer
  shows is that of the latest slider step still applied, else the one before the
  earliest slider step undone;
- a click-to-assign, with the region it gave a class: kept whole at every threshold
  while that step is applied.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Step:
    """What one of the panel's writes meant (``region``: a click-to-assign's, bit-packed)."""

    atom: object  # napari's history atom: held, so its id stays this step's
    before: float
    after: float
    region: tuple[np.ndarray, tuple[int, ...]] | None = None  # (packed bits, shape)


def write_unrecorded(layer, index: tuple[np.ndarray, ...], values) -> None:
    """Write ``values`` at ``index`` of a Labels layer, outside its undo history (a drag's frames,
    a run's previews): the undo and redo histories stay as they were.

    ``data_setitem`` redraws only the bounding box of what changed (a full ``refresh`` of a
    1024x1024 layer re-slices and re-uploads all of it); its history atom is staged here and
    dropped. When a quarter of the layer or more changes (a run's first mask drawn over the
    last result), or where napari stages no history, the data is written and the layer
    refreshed (two thirds of a 1024x1024 layer: 29 ms by ``data_setitem``, 8 ms so).
    """
    redo = getattr(layer, "_redo_history", None)
    staged = isinstance(getattr(layer, "_staged_history", None), list) and redo is not None
    if not staged or 4 * np.size(index[0]) >= np.size(layer.data):
        layer.data[index] = values
        layer.refresh()
        return
    kept = list(redo)  # data_setitem clears it
    # blocking the layer's event group leaves its events (the canvas's labels_update) but not
    # their relay to the layer list, which would repaint the layer's row, in a repaint of the
    # window of its own, at every frame
    with layer.events.blocker(), layer.block_history():
        layer.data_setitem(index, values)
        layer._staged_history.clear()
    if not redo:  # cleared (unless nothing changed)
        redo.extend(kept)


def _histories(layer) -> tuple[list, list]:
    """(applied items, undone items; the next to redo last) of ``layer``; empty if unknown."""
    return list(getattr(layer, "_undo_history", ())), list(getattr(layer, "_redo_history", ()))


class MergeHistory:
    """The panel's steps on one result layer, read back from the layer's undo history."""

    def __init__(self):
        self._steps: dict[int, Step] = {}
        self._seen: tuple[int, ...] = ()  # the slider steps applied when last looked at

    @contextmanager
    def step(self, layer, before: float, after: float, region: np.ndarray | None = None):
        """Remember what the panel writes to ``layer`` inside the block (one atom) as one step."""
        applied = _histories(layer)[0]
        top = applied[-1] if applied else None
        yield
        applied = _histories(layer)[0]
        if applied and applied[-1] is not top and len(applied[-1]) == 1:
            atom = applied[-1][0]
            packed = None if region is None else (np.packbits(region.ravel()), region.shape)
            self._steps[id(atom)] = Step(atom, before, after, packed)
        self.prune(layer)
        self._seen = self._applied(layer)

    def _step(self, item) -> Step | None:
        step = self._steps.get(id(item[0])) if len(item) == 1 else None
        return step if step is not None and step.atom is item[0] else None

    def _applied(self, layer) -> tuple[int, ...]:
        steps = (self._step(item) for item in _histories(layer)[0])
        return tuple(id(s.atom) for s in steps if s is not None and s.region is None)

    def moved(self, layer) -> bool:
        """Whether a slider step was undone or redone since the last call (or :meth:`step`)."""
        now = self._applied(layer)
        moved, self._seen = now != self._seen, now
        return moved

    def threshold(self, layer, default: float) -> float:
        """The threshold ``layer`` shows by its history (``default``: no slider step in it)."""
        applied, undone = _histories(layer)
        for items, pick in ((applied, "after"), (undone, "before")):
            for item in reversed(items):
                step = self._step(item)
                if step is not None and step.region is None:
                    return getattr(step, pick)
        return default

    def assigned(self, layer, shape: tuple[int, ...]) -> np.ndarray:
        """Pixels of the click-to-assign steps applied on ``layer`` (bool, ``shape``)."""
        mask = np.zeros(shape, bool)
        for item in _histories(layer)[0]:
            step = self._step(item)
            if step is not None and step.region is not None and step.region[1] == tuple(shape):
                bits, _ = step.region
                mask |= np.unpackbits(bits, count=mask.size).astype(bool).reshape(shape)
        return mask

    def prune(self, layer) -> None:
        """Forget the steps that fell out of ``layer``'s history (its length is bounded)."""
        applied, undone = _histories(layer)
        alive = {id(item[0]) for item in applied + undone if len(item) == 1}
        self._steps = {k: s for k, s in self._steps.items() if k in alive}
