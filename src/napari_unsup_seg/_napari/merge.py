"""Merge slider over the UCM threshold and click-to-assign on the result layer.

The hierarchy is built once per result (by the core); moving the slider only cuts it.
Whatever differs on the layer from the cut at the slider's threshold is a user's edit
(a paint stroke, a fill, a click-to-assign), kept on top of every other cut, so painting
still works for corrections; a region given a class by a click stays whole. That
difference is also the count of hand-edited pixels the recipe records.

Undo: each release of the slider (a whole drag, one key press) is one step of the
result layer's history, like a stroke, and Ctrl+Z of it puts the slider back where it
was with the data (:mod:`.merge_history` reads the history); Ctrl+Z of an edit takes it
out of the edits.

Volumes work the same, in 3D: a cut and a click-to-assign region span slices. A cut of
a 256x256x64 volume takes a few hundred milliseconds, so on volumes the slider draws
when it is released or rests for :data:`VOLUME_DELAY_MS`; the region counter follows it
at once; so do images larger than :data:`SLOW_PIXELS`, whose cuts are made at a working
resolution and brought to full resolution by tiles (``core.large``). A result of a part of
a stack (``where``: one slice, one time point) lives in that part of a layer of the
stack's shape.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from napari.layers import Labels
from qtpy.QtCore import Qt, QTimer
from qtpy.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from .merge_history import MergeHistory, write_unrecorded

STEPS = 1000
VOLUME_DELAY_MS = 200
SLOW_PIXELS = 2048 * 2048  # a larger image's cut is brought to full resolution by tiles: seconds


@dataclass
class MergeState:
    """What the panel knows about one result layer; kept per image by the widget."""

    shape: tuple[int, ...]  # of the part of the layer that shows the segmentation
    threshold: float = 0.0  # of the cut the layer shows
    history: MergeHistory = field(default_factory=MergeHistory)
    kept: np.ndarray | None = None  # click-assigned pixels of a reopened session (not in the undo history)

    @classmethod
    def fresh(cls, labels: np.ndarray) -> MergeState:
        return cls(tuple(np.shape(labels)))

    def assigned(self, layer: Labels) -> np.ndarray:
        """Pixels given a class by a click (kept whole at every threshold), bool of :attr:`shape`."""
        mask = self.history.assigned(layer, self.shape)
        return mask if self.kept is None or self.kept.shape != mask.shape else mask | self.kept


class MergePanel(QWidget):
    """Slider, region counter and "click to assign" for one result layer at a time.

    Parameters
    ----------
    current_class : callable returning int
        The class that a click assigns (the legend's selected class).
    activate_layer : callable(Labels), optional
        Makes a layer the viewer's active one (mouse callbacks only reach that layer).
    """

    def __init__(
        self,
        current_class: Callable[[], int],
        activate_layer: Callable[[Labels], None] | None = None,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self._current_class = current_class
        self._activate_layer = activate_layer
        self._layer: Labels | None = None
        self._seg = None
        self._state: MergeState | None = None
        self._regions_cache: tuple[float, np.ndarray] | None = None
        self._pending: int | None = None
        self._where: tuple | None = None
        self._cuts: dict[float, np.ndarray] = {}  # the latest cuts, by threshold
        self._draft: tuple | None = None  # (data, threshold, pixels that follow the cut) of a drag
        self._slow = False  # a volume: draw on release or rest, not at every move
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._flush)

        self.slider = QSlider(Qt.Horizontal)
        self.slider.setRange(0, STEPS)
        self.slider.setToolTip("UCM threshold: move right to merge regions")
        self.counter = QLabel("no result yet")
        self.assign = QCheckBox("Click to assign")
        self.assign.setToolTip(
            "click a region of the segmentation layer (pan/zoom mode) to give the whole "
            "region, at the current threshold, the selected class"
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel("Merge"))
        row.addWidget(self.slider, 1)
        layout.addLayout(row)
        row = QHBoxLayout()
        row.addWidget(self.counter, 1)
        row.addWidget(self.assign)
        layout.addLayout(row)

        self.slider.valueChanged.connect(self._on_slider)
        self.slider.sliderReleased.connect(self._on_released)
        self.assign.toggled.connect(self._on_assign_toggled)
        self.setEnabled(False)

    # -- public -----------------------------------------------------------------
    @property
    def layer(self) -> Labels | None:
        return self._layer

    @property
    def threshold(self) -> float:
        """That of the cut the layer shows."""
        self._follow_history()
        return 0.0 if self._state is None else self._state.threshold

    @property
    def segmentation(self):
        return self._seg

    def attach(
        self, layer: Labels, segmentation, state: MergeState | None = None, where: tuple | None = None
    ) -> MergeState:
        """Work on ``layer``, showing ``segmentation``; returns the (updated in place) state.

        Without ``state`` the layer is taken to show ``segmentation.labels`` (threshold 0).
        ``where``: the segmentation is of that part of the layer (an index of ints and
        ``slice(None)``, e.g. ``(z,)`` for one slice of a volume).
        """
        self.detach()
        self._layer, self._where = layer, where
        if state is None or state.shape != self._view().shape:
            state = MergeState.fresh(self._view())
        self._seg, self._state = segmentation, state
        self._slow = np.ndim(segmentation.labels) >= 3 or np.size(segmentation.labels) > SLOW_PIXELS
        self._regions_cache = None
        layer.mouse_drag_callbacks.append(self._on_mouse)
        layer.events.set_data.connect(self._follow_history)  # also after Ctrl+Z
        self.slider.setEnabled(segmentation.hierarchy is not None)
        self.setEnabled(True)
        self._follow_history()  # it may have been undone while another image was shown
        self._show_threshold()
        return state

    def detach(self) -> None:
        if self._layer is not None:
            if self._on_mouse in self._layer.mouse_drag_callbacks:
                self._layer.mouse_drag_callbacks.remove(self._on_mouse)
            self._layer.events.set_data.disconnect(self._follow_history)
        self._timer.stop()
        self._layer = self._seg = self._state = self._pending = self._where = self._draft = None
        self._regions_cache = None
        self._cuts = {}
        self.counter.setText("no result yet")
        self.setEnabled(False)

    def set_threshold(self, threshold: float) -> None:
        """Cut the hierarchy at ``threshold`` and show it now (the slider follows; one undo step)."""
        self._set_slider(threshold)
        self._render(float(threshold))

    def regions(self) -> np.ndarray:
        """(H, W) (volumes: (Z, H, W)) region ids at the current threshold."""
        if self._seg.hierarchy is None:  # no hierarchy: the connected components of what is shown
            from skimage.measure import label

            return label(self._view(), background=-1, connectivity=1)
        t = self.threshold
        if self._regions_cache is None or self._regions_cache[0] != t:
            self._regions_cache = (t, self._seg.regions(t))
        return self._regions_cache[1]

    def assign_at(self, *position: int, value: int | None = None) -> int:
        """Give the region under ``position`` (the layer's data coordinates: (row, col), or
        (z, row, col) on a volume...) the class ``value`` (default: the selected class).

        Returns the number of pixels of that region (0 outside the result).
        """
        if self._layer is None:
            return 0
        if self._where is not None:  # a part's result: clicks on other slices or times miss it
            fixed = [(p, w) for p, w in zip(position, self._where) if not isinstance(w, slice)]
            if any(p != w for p, w in fixed):
                return 0
            position = tuple(p for p, w in zip(position, self._where) if isinstance(w, slice)) + tuple(
                position[len(self._where) :]
            )
        shape = self._state.shape
        if len(position) != len(shape) or not all(0 <= p < n for p, n in zip(position, shape)):
            return 0
        value = self._current_class() if value is None else int(value)
        regions = self.regions()
        mask = regions == regions[tuple(position)]
        index = np.nonzero(mask & (self._view() != value))
        if index[0].size:
            t = self._state.threshold
            with self._state.history.step(self._layer, t, t, region=mask):
                self._set(index, value)
        return int(mask.sum())

    def edited_pixels(self) -> int:
        """Number of pixels that differ from the cut at the current threshold (the user's edits)."""
        if self._layer is None:
            return 0
        return int(np.count_nonzero(self._view() != self._cut(self.threshold)))

    # -- internals --------------------------------------------------------------
    def _on_slider(self, value: int) -> None:
        self._pending = value
        if self._slow:
            self._update_counter(self._threshold_at(value))
            self._timer.start(VOLUME_DELAY_MS)
        elif not self._timer.isActive():
            # drawn at once, so that the slider, the counter and the layer are painted together;
            # moves that come before the event loop's next pass wait for it (only the latest is drawn)
            self._flush()
            self._timer.start(0)

    def _on_released(self) -> None:
        if self._pending is None and self._draft is not None:  # drawn already: make it one step
            self._pending = self.slider.value()
        self._flush()

    def _flush(self) -> None:
        self._timer.stop()
        value, self._pending = self._pending, None
        if value is not None and self._layer is not None:
            self._render(self._threshold_at(value))

    def _threshold_at(self, value: int) -> float:
        """The slider's end is the coarsest cut that keeps scribble classes apart, never 1."""
        top = self._seg.hierarchy.max_threshold if self._seg is not None and self._seg.hierarchy is not None else 1.0
        return min(value / STEPS, top)

    def _view(self) -> np.ndarray:
        """The part of the layer's data that shows the segmentation (a view)."""
        data = np.asarray(self._layer.data)
        return data if self._where is None else data[self._where]

    def _set(self, index: tuple[np.ndarray, ...], values, record: bool = True) -> None:
        """``data_setitem`` at ``index`` of :meth:`_view` (undoable unless not ``record``)."""
        if self._where is not None:
            free = iter(index)
            full = [next(free) if isinstance(w, slice) else np.full(index[0].shape, w) for w in self._where]
            index = (*full, *free)
        if record:
            self._layer.data_setitem(index, values)
        else:
            write_unrecorded(self._layer, index, values)

    def _cut(self, threshold: float) -> np.ndarray:
        """What the segmentation shows at ``threshold`` (scribbled pixels keep their class)."""
        if threshold not in self._cuts:
            seg = self._seg
            if threshold <= 0 or seg.hierarchy is None:
                cut = seg.labels
            elif seg.scribbles is None:
                cut = np.asarray(seg.regions(threshold), dtype=np.int32)
            else:
                cut = seg.classes(threshold)
            self._cuts = {t: c for t, c in self._cuts.items() if t == self._state.threshold}
            self._cuts[threshold] = cut
        return self._cuts[threshold]

    def _follow_history(self, event=None) -> None:
        """After Ctrl+Z (or Shift+Ctrl+Z) of a slider step: the threshold, and the slider, follow the data."""
        state = self._state
        if state is None or self._draft is not None or not state.history.moved(self._layer):
            return
        state.threshold = state.history.threshold(self._layer, state.threshold)
        self._show_threshold()

    def _render(self, threshold: float) -> None:
        layer, state = self._layer, self._state
        if layer is None:
            return
        current = self._view()
        if current.shape != state.shape:  # the data was replaced from outside
            self.detach()
            return
        self._follow_history()
        before = state.threshold
        if self.slider.isSliderDown():  # drawn now, one undo step at the release
            if self._draft is None:  # the edits cannot change during a drag: found once
                edits = (current != self._cut(before)) | state.assigned(layer)
                self._draft = (np.array(current, copy=True), before, ~edits)
            index, values = self._frame(before, threshold)
            if index[0].size:  # only what changed is redrawn
                self._set(index, values, record=False)
        else:
            drafted = self._draft is not None
            if drafted:
                np.copyto(current, self._draft[0])  # the data the step starts from
                before, self._draft = self._draft[1], None
            edits = (current != self._cut(before)) | state.assigned(layer)
            target = np.where(edits, current, self._cut(threshold)).astype(current.dtype)
            index = np.nonzero(target != current)
            if index[0].size:
                with state.history.step(layer, before, threshold):
                    self._set(index, target[index])
            if drafted:
                layer.refresh()
        state.threshold = threshold
        self._update_counter()

    def _frame(self, shown: float, threshold: float) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
        """Index into :meth:`_view` and values of the pixels of a drag's frame at ``threshold``:
        those that follow the cut (not edited) and differ from the cut at ``shown``, which they show."""
        seg, free = self._seg, self._draft[2]
        if shown > 0 and threshold > 0 and seg.scribbles is not None and hasattr(seg, "class_changes"):
            flat, values = seg.class_changes(shown, threshold)  # found per leaf of the hierarchy
            keep = free.ravel()[flat]
            return np.unravel_index(flat[keep], free.shape), values[keep]
        cut = self._cut(threshold)
        index = np.nonzero(free & (self._view() != cut))
        return index, cut[index]

    def _set_slider(self, threshold: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(int(round(threshold * STEPS)))
        self.slider.blockSignals(False)

    def _show_threshold(self) -> None:
        self._set_slider(self._state.threshold)
        self._update_counter()

    def _update_counter(self, threshold: float | None = None) -> None:
        seg = self._seg
        if seg is None:
            return
        if seg.hierarchy is None:
            self.counter.setText("no hierarchy: merging is off")
            return
        threshold = self._state.threshold if threshold is None else threshold
        n = seg.n_regions(threshold)
        self.counter.setText(f"threshold {threshold:.3f}: {n} regions")

    def _on_assign_toggled(self, on: bool) -> None:
        layer = self._layer
        if on and layer is not None:
            if self._activate_layer is not None:
                self._activate_layer(layer)
            layer.mode = "pan_zoom"

    def _on_mouse(self, layer: Labels, event):
        if not self.assign.isChecked() or layer.mode != "pan_zoom" or event.button != 1:
            return
        yield
        moved = False
        while event.type == "mouse_move":
            moved = True
            yield
        if moved:  # a drag pans the view; only a click assigns
            return
        position = np.round(layer.world_to_data(event.position)).astype(int)
        self.assign_at(*(int(p) for p in position))
