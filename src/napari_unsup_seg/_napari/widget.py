"""The dock widget: what to segment, settings, run/stop with progress, merge, save.

It only assembles inputs, starts :class:`~.runner.RunController` and shows results;
the work happens in ``core`` on a worker thread. Per-image state (last result, the
network to warm-start from, the merge state) stays with the image layer
(:mod:`.image_state`): a widget closed and opened again finds it. Closing the dock
stops a run (its result is dropped) and the widget stops listening to the viewer.

Live mode (on by default) runs again each time a stroke on the scribbles layer ends,
after a short pause; a stroke made during a run stops that run and starts a new one.
The first mask of a scribble run (a random walk, well under a second) shows in the
preview layer at once; the clustering then refines it. When the run will replace a
result shown already, its progress is drawn in that result layer instead (adding a
preview layer costs the GUI thread a few hundred milliseconds); the result's previous
data comes back before the new result is written, so Ctrl+Z still steps between results.

A volume (an image layer with a depth axis) is segmented whole or one slice at a time
(Scope); a time-lapse every time point in order or only the one shown (Time); the
layer's axes and the channels that feed the features are set in :mod:`.stack_panel`.
A whole-volume or all-time-points run takes tens of seconds, so live mode works on one
slice of one time point only; such a part's result is a layer of the stack's shape
holding that part (``where``). Each scope keeps its own result layer, which the next run
of that scope replaces.
"""

from __future__ import annotations

import dataclasses
import weakref
from pathlib import Path

import numpy as np
from napari.layers import Image, Labels
from qtpy.QtCore import QEvent
from qtpy.QtWidgets import QWidget

from ..core.errors import InputError
from ..core.progress import Progress
from . import focus, image_state, notify, owners, parts, results
from .napari_workarounds import drop_brush_circle_box
from . import layer_axes as LA
from . import layers as L
from .commit_panel import CommitPanel
from .dock_layout import RunControls, group, scrolling
from .live import LIVE_OFF_TIP, LIVE_TIP, LiveMode
from .merge import MergePanel
from .params_form import ParamsForm
from .run_state import (
    ImageState,
    RunState,
    class_names,
    done_words,
    progress_words,
    read_inputs,
    show_progress,
)
from .runner import RunController, RunOutcome, preview_shape, warm_up
from .save_panel import SavePanel
from .session_layers import reopened
from .session_panel import SessionPanel
from .sources import SourcePanel
from .stack_panel import StackPanel


class SegmentationWidget(QWidget):
    """Scribble-guided unsupervised segmentation of the chosen image layer."""

    def __init__(self, napari_viewer):
        super().__init__()
        # napari hands plugins a PublicOnlyProxy whose every attribute access makes a new
        # proxy; layers are compared by identity and kept as weak keys here, so unwrap it
        self.viewer = getattr(napari_viewer, "__wrapped__", napari_viewer)
        self._sessions: weakref.WeakKeyDictionary[Image, ImageState] = image_state.SESSIONS
        self._run: RunState | None = None
        self._controller = RunController(self._on_progress, self._on_done)
        self.core_ready = warm_up()  # set once torch and the pipeline are imported
        self.last_progress: Progress | None = None

        self.sources = SourcePanel(self.viewer)
        self.legend = self.sources.legend
        self.params = ParamsForm()
        self.controls = controls = RunControls()
        self.run_button, self.stop_button, self.fresh_button = (
            controls.run_button,
            controls.stop_button,
            controls.fresh_button,
        )
        self.live_box, self.replace_box = controls.live_box, controls.replace_box
        self.uncertainty_box, self.progress, self.status = controls.uncertainty_box, controls.progress, controls.status
        self.stack = StackPanel()
        self.scope_combo = self.stack.scope_combo
        self.live = LiveMode(
            self.viewer, self.live_box, self.scribbles_layer, lambda: self.running, self.run, self.stop
        )
        self.merge = MergePanel(self.legend.current_class, self._activate)
        self.saver = SavePanel(self, self._save_target, self.merge, class_names, self.status.setText)
        self.save_button, self.save_ucm_box = self.saver.save_button, self.saver.ucm_box
        self.save_zarr_button = self.saver.zarr_button
        self.committer = CommitPanel(self.viewer, self.image_layer, self.result_layer, self.scribbles_layer)
        self.session_saver = SessionPanel(
            self,
            self.viewer,
            self.image_layer,
            self.scribbles_layer,
            self.result_layer,
            self._current_session,
            self.merge,
            self.status.setText,
        )

        self.scroll = scrolling(
            self,
            group("Image, scribbles and classes", self.sources),
            group("Method", self.params),
            group("Run", *controls.widgets(self.stack)),
            group("Merge regions", self.merge),
            group("Save", self.saver, self.session_saver),
            group("Commit to labels", self.committer),
        )

        self.run_button.clicked.connect(lambda: self.run())
        self.stop_button.clicked.connect(lambda: self.stop())
        self.fresh_button.clicked.connect(lambda: self.start_fresh())
        self.uncertainty_box.toggled.connect(lambda _: self._show_uncertainty(self._current_session()))
        self.stack.scope_changed.connect(self._on_scope_changed)
        self.stack.axes_changed.connect(self._on_axes_changed)
        self.legend.names_changed.connect(self._on_names_changed)
        self.sources.image_changed.connect(self._on_image_changed)
        owners.keep_owners(self.viewer)
        drop_brush_circle_box(self.viewer)
        self._shown = None  # a weak reference to the image whose status is shown
        self.sources.message.connect(self.status.setText)
        self.viewer.layers.events.removed.connect(self._on_layer_removed)
        self.destroyed.connect(self._controller.shutdown)
        self._on_image_changed(self.image_layer())  # its result, if a widget closed before made one
        image_state.restore_dock(self.viewer, self.params, self._boxes())  # as a dock closed before left them

    def _boxes(self) -> dict:
        return {"live": self.live_box, "replace": self.replace_box, "uncertainty": self.uncertainty_box}

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.ParentChange and self.parent() is None:  # its dock was closed
            self._close_down()

    def _close_down(self) -> None:
        """End the run (dropping its result) and let go of the viewer; the per-image state stays."""
        self._controller.shutdown()
        if self._run is not None:
            self._run.drop_preview(self.viewer)
            self._run = None
        self.merge.detach()
        self.live.timer.stop()
        image_state.remember_dock(self.viewer, self.params, self._boxes())
        image_state.let_go(self.viewer, self, self.sources, self.legend, self.live, self.merge, self.committer)

    # -- layers -----------------------------------------------------------------------
    def image_layer(self) -> Image | None:
        return self.sources.image_layer()

    def scribbles_layer(self) -> Labels | None:
        return self.sources.scribbles_layer()

    def result_layer(self) -> Labels | None:
        """The latest result layer of the current image (None when there is none)."""
        session = self._current_session()
        if session is None or session.result is None or session.result not in self.viewer.layers:
            return None
        return session.result

    def set_image_layer(self, layer: Image) -> None:
        self.sources.set_image_layer(layer)

    def set_scribbles_layer(self, layer: Labels) -> None:
        self.sources.set_scribbles_layer(layer)

    def load_image(self, path=None) -> Image | None:
        return self.sources.load_image(path)

    def _current_session(self) -> ImageState | None:
        image = self.image_layer()
        return self._sessions.get(image) if image is not None else None

    def _activate(self, layer) -> None:
        self.viewer.layers.selection.active = layer

    def scope(self) -> str | None:
        """ "volume" or "slice" when the image has depth, None for one without (or none)."""
        return self.stack.scope()

    def set_scope(self, scope: str) -> None:
        self.stack.set_scope(scope)

    def _on_scope_changed(self) -> None:
        """The scope's own latest result becomes the one merged and saved."""
        session = self._current_session()
        scope = (self.stack.scope(), self.stack.time_scope())
        if session is not None and not self.running and session.use_scope(scope, self.viewer.layers):
            session.merge = self.merge.attach(session.result, session.segmentation, session.merge, session.where)
            self._show_uncertainty(session)
        self._update_scope_controls()

    def _update_scope_controls(self) -> None:
        whole = self.stack.scope() == "volume" or self.stack.time_scope() == "all"
        self.live_box.setEnabled(not whole)
        self.live_box.setToolTip(LIVE_OFF_TIP if whole else LIVE_TIP)
        session = self._current_session()
        seg = session.segmentation if session is not None and self.result_layer() is not None else None
        self.saver.update_enabled(seg, self.image_layer())
        self.committer.refresh()

    def _on_image_changed(self, image) -> None:
        focus.focus(self.viewer, image)
        self.stack.set_image(image)
        session = self._sessions.get(image) if image is not None else None
        if image is not (self._shown() if self._shown else None) and not self.running:
            self.status.setText(session.status if session is not None else "")  # the words of its own last run
        self._shown = weakref.ref(image) if image is not None else None
        found = (
            None
            if image is None or session is not None
            else reopened(self.viewer, image, [s.result for s in self._sessions.values()])
        )
        if found is not None:  # a saved session opened again: its result, merge slider and run settings
            self.params.show_recorded(found.segmentation.recipe.get("settings"))
            session = self._sessions[image] = ImageState.reopened(found)
        if session is None or session.result is None or session.result not in self.viewer.layers:
            self.merge.detach()
        elif self.merge.layer is not session.result:
            session.merge = self.merge.attach(session.result, session.segmentation, session.merge, session.where)
        self._update_scope_controls()

    def _on_axes_changed(self, image) -> None:
        """New axes: the scribbles and results of the old shape no longer fit."""
        if self.merge.layer is not None and self.merge.layer.data.shape != L.spatial_shape(image):
            self.merge.detach()
        self.sources.resync()

    def _on_layer_removed(self, event) -> None:
        if event.value is self.merge.layer:
            self.merge.detach()
        if self._run is not None and event.value is self._run.image:
            self.stop()  # nothing left to show its result on: end it now

    # -- running ----------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._controller.running

    def run(self) -> bool:
        """Start a segmentation of the current image; False (with a notification) if it cannot."""
        if self.running:
            return False
        image = self.image_layer()
        if image is None:
            notify.show("choose an image layer or load an image first", "error")
            return False
        scribbles_layer = self.scribbles_layer()
        scope, level = (self.stack.scope(), self.stack.time_scope()), self.stack.level()
        try:
            array, scribbles, shape, stack, where = read_inputs(self.viewer, image, scribbles_layer, self.stack)
        except InputError as err:
            notify.show_exception(err)
            return False
        z = None if stack is None else stack.slice_index
        spec = self.params.spec()
        session = self._sessions.setdefault(image, ImageState())
        warm = session.warm.get((spec.method, *scope, level))
        colours = scribbles_layer if scribbles is not None else None
        size = shape if scope[0] == "volume" else preview_shape(L.image_hw(image))
        run = RunState(
            image,
            colours,
            spec,
            warm is not None,
            scope,
            z,
            shape,
            where=where,
            level=level,
            geometry=LA.level_geometry(image, level),
        )
        shown = session.by_scope.get(scope) if self.replace_box.isChecked() else None
        no_preview = "T" in LA.layer_axes(image) or (level > 0 and L.is_volume(image))
        if no_preview:
            pass  # over time (or a coarser level of a volume): the progress line says how far it is
        elif shown is not None and shown in self.viewer.layers and shown.data.shape == shape:
            run.in_place = (shown, np.array(shown.data, copy=True))
            size = np.shape(shown.data if z is None else shown.data[z])  # previews at its size, made by the worker
        else:  # before the run: slow
            run.preview = results.add_preview(self.viewer, image, size, colours, slice_index=z, geometry=run.geometry)
        self._run = run
        self.last_progress = None
        self._set_running(True)
        mode = "scribbles" if scribbles is not None else "unsupervised: no scribbles"
        part = parts.part_name(stack, scope)
        self.status.setText(
            f"starting ({part + ', ' if part else ''}{mode}{', warm start' if warm is not None else ''})..."
        )
        self._controller.start(
            array, scribbles, spec, warm, stack=stack, preview_size=None if scope[0] == "volume" or no_preview else size
        )
        return True

    def start_fresh(self) -> bool:
        """Run again from new network weights, forgetting the warm start of this image."""
        if self.running:
            return False
        session = self._current_session()
        if session is not None:
            session.warm.clear()
        return self.run()

    def stop(self) -> None:
        """End the run at its next iteration, keeping the result reached so far."""
        if self.running:
            self._controller.stop()
            self.stop_button.setEnabled(False)
            self.status.setText("stopping...")

    def _set_running(self, running: bool) -> None:
        self.controls.set_running(running)
        self.sources.allow_new_scribbles = not running
        if not running:
            self.sources.ensure_scribbles()

    def _on_progress(self, event: Progress) -> None:
        if event.stage == "warning":
            notify.show(event.message, "warning")
            return
        self.last_progress = event
        show_progress(self.progress, event)
        self.status.setText(progress_words(event))
        run = self._run
        if event.preview is None or run is None:
            return
        if run.in_place is not None and run.in_place[0] in self.viewer.layers:
            results.show_in_place(run.in_place[0], event.preview, run.slice_index)
        elif run.preview in self.viewer.layers:
            results.update_preview(run.preview, event.preview)

    def _on_done(self, outcome: RunOutcome) -> None:
        run, self._run = self._run, None
        self._set_running(False)
        stale = outcome.segmentation is not None and outcome.segmentation.stopped
        if self.live.run_ended(stale) and run is not None:  # scribbles changed: not worth showing
            self._sessions.setdefault(run.image, ImageState()).remember_warm(run, outcome.segmentation)
            run.drop_preview(self.viewer)
            self.status.setText("scribbles changed: running again...")
            return
        seg = outcome.segmentation
        if outcome.error is not None or seg is None or run is None or run.image not in self.viewer.layers:
            if run is not None:
                run.drop_preview(self.viewer)
            self.status.setText(notify.no_result_words(outcome, self))
            return
        session = self._sessions.setdefault(run.image, ImageState())
        session.remember_warm(run, seg)
        seg.recipe["settings"] = dataclasses.asdict(run.spec)  # the form's, shown again when a session reopens
        replace = session.by_scope.get(run.scope) if self.replace_box.isChecked() else None
        layer, part = run.place_result(self.viewer, seg, replace)
        session.set_current(run.scope, layer, seg, run.scribbles, run.where)
        self._show_uncertainty(session, run.image)
        if run.image is self.image_layer():
            session.merge = self.merge.attach(layer, seg, where=run.where)
        else:  # the user chose another image during the run
            session.merge = None
            focus.tuck_away(layer, session.uncertainty)
        self._update_scope_controls()
        session.status = done_words(seg, outcome.seconds, run.warm, part)
        if run.image is self.image_layer():
            self.status.setText(session.status)

    def _show_uncertainty(self, session: ImageState | None, image: Image | None = None) -> None:
        if session is not None:
            session.show_uncertainty(self.viewer, image or self.image_layer(), self.uncertainty_box.isChecked())

    def _save_target(self):
        """(image, result layer, session) of the current image, or None without a result."""
        image, layer = self.image_layer(), self.result_layer()
        return None if layer is None else (image, layer, self._sessions[image])

    def save(self, folder=None) -> list | None:
        """Save the current image's result (a folder dialog when ``folder`` is None)."""
        return self.saver.save(folder)

    def save_session(self, folder=None) -> Path | None:
        """Save the current image's session (a folder dialog when ``folder`` is None); its path or None."""
        return self.session_saver.save(folder)

    def save_into_zarr(self, name: str | None = None) -> Path | None:
        """Write the current result into the image's OME-Zarr as a labels group."""
        return self.saver.save_into_zarr(name)

    def _on_names_changed(self) -> None:
        layer, session = self.result_layer(), self._current_session()
        if layer is not None and session.scribbles is self.legend.layer:
            L.plugin_meta(layer)["class_names"] = class_names(session.scribbles, np.asarray(layer.data))
