"""Live mode: run again each time a stroke on the scribbles layer ends, or is undone.

Strokes in quick succession make one run (a short pause first); a stroke made during a
run stops that run, whose result is then dropped, and starts a new one. Ctrl+Z and
Shift+Ctrl+Z of a stroke emit no paint event (napari only refreshes the layer), so a
refresh that changed the length of the layer's undo or redo history counts as a stroke.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

import numpy as np
from napari.layers import Labels
from qtpy.QtCore import QObject, QTimer
from qtpy.QtWidgets import QCheckBox

# Pause (ms) after a stroke ends before a live run starts.
LIVE_DELAY_MS = 300


LIVE_TIP = "run again each time a stroke on the scribbles layer ends"
LIVE_OFF_TIP = (
    "live mode works on one slice of one time point (Scope: This slice, Time: This time point): "
    "a whole-volume or all-time-points run takes tens of seconds, too long to follow each "
    "stroke; click Run for it"
)


class LiveMode(QObject):
    """Watches every Labels layer's strokes and asks for runs through three callbacks.

    Parameters
    ----------
    viewer : napari viewer
    box : the check box that switches live mode on and off
    scribbles : callable returning the current scribbles layer (or None)
    running, run, stop : the widget's run state and actions
    """

    def __init__(
        self,
        viewer,
        box: QCheckBox,
        scribbles: Callable,
        running: Callable[[], bool],
        run: Callable[[], bool],
        stop: Callable[[], None],
    ):
        super().__init__(box)
        self.box, self._scribbles, self._running, self._run, self._stop = box, scribbles, running, run, stop
        self.rerun = False  # a run is out of date: start again when it ends
        self._seen: tuple | None = None  # (scribbles layer, its history mark) at the last stroke or refresh
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(LIVE_DELAY_MS)
        self.timer.timeout.connect(self.trigger)
        for layer in viewer.layers:
            self.watch(layer)
        viewer.layers.events.inserted.connect(self._on_inserted)  # a method: disconnected by image_state.let_go

    def _on_inserted(self, event) -> None:
        self.watch(event.value)

    def watch(self, layer) -> None:
        if isinstance(layer, Labels):
            layer.events.paint.connect(self._on_stroke)
            layer.events.set_data.connect(self._on_refresh)

    @property
    def on(self) -> bool:
        """Checked and enabled (the widget disables it for whole-volume runs)."""
        return self.box.isChecked() and self.box.isEnabled()

    def _on_stroke(self, event) -> None:
        if event.source is self._scribbles():
            self._remember(event.source)
            if self.on:
                self.timer.start()  # restarts the pause

    def _on_refresh(self, event) -> None:
        layer = event.source
        if layer is not self._scribbles():
            return
        seen = self._seen
        undone = seen is not None and seen[0]() is layer and seen[1] != _history_mark(layer)
        self._remember(layer)
        if undone and self.on:
            self.timer.start()

    def _remember(self, layer: Labels) -> None:
        self._seen = (weakref.ref(layer), _history_mark(layer))

    def trigger(self) -> None:
        """Run now, or stop the run going on and run again once it has ended."""
        layer = self._scribbles()
        if not self.on or layer is None or not np.any(layer.data):
            return  # live runs follow scribbles; an unsupervised run is asked for with Run
        if self._running():
            self.rerun = True
            self._stop()
        else:
            self._run()

    def run_ended(self, stopped: bool) -> bool:
        """Call when a run ends; True when its result is stale (it was stopped for a rerun)."""
        if not self.rerun:
            return False
        self.rerun = False
        QTimer.singleShot(0, self.trigger)
        return stopped


def _history_mark(layer: Labels) -> tuple[int, int]:
    """Lengths of the layer's undo and redo histories (napari keeps them private)."""
    return len(getattr(layer, "_undo_history", ())), len(getattr(layer, "_redo_history", ()))
