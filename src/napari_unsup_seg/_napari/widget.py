"""The dock widget: image and scribbles, classes, settings, run/stop, merge, save.

It only assembles inputs, starts :class:`~.runner.RunController` and shows results;
the work happens in ``core`` on a worker thread. Per-image state (last result, the
network to warm-start from, the merge state) lives in this widget instance.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
from napari.layers import Image, Labels
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..core.errors import InputError
from ..core.progress import Progress
from ..core.scribbles import validate_scribbles
from . import dialogs, notify, saving
from . import layers as L
from .legend import ClassLegend
from .merge import MergePanel, MergeState
from .params_form import ParamsForm
from .runner import RunController, RunOutcome, RunSpec

STAGE_NAMES = {"cluster": "clustering", "wnet": "W-Net", "adapt": "adapting", "crf": "dense CRF",
               "ucm": "hierarchy", "done": "done"}


@dataclass
class _Session:
    """What the widget remembers about one image layer."""

    result: Labels | None = None
    segmentation: Any = None
    merge: MergeState | None = None
    scribbles: Labels | None = None
    warm: tuple[str, dict] | None = None  # (method, Segmentation.state)


@dataclass
class _Run:
    """The run going on: where its result goes."""

    image: Image
    scribbles: Labels | None
    spec: RunSpec
    warm: bool
    started: float


def _index_of(combo: QComboBox, obj) -> int:
    """Row of ``obj`` in a combo box's item data (by identity), or -1."""
    return next((i for i in range(combo.count()) if combo.itemData(i) is obj), -1)


def _group(title: str, *widgets: QWidget) -> QGroupBox:
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    for w in widgets:
        layout.addWidget(w)
    return box


def _row(*widgets: QWidget, stretch_first: bool = True) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    for i, w in enumerate(widgets):
        layout.addWidget(w, 1 if (i == 0 and stretch_first) else 0)
    return row


class SegmentationWidget(QWidget):
    """Scribble-guided unsupervised segmentation of the chosen image layer."""

    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self._sessions: weakref.WeakKeyDictionary[Image, _Session] = weakref.WeakKeyDictionary()
        self._run: _Run | None = None
        self._preview: Labels | None = None
        self._syncing = False
        self._sync_pending = False
        self._controller = RunController(self._on_progress, self._on_done)
        self.last_progress: Progress | None = None

        self.image_combo = QComboBox()
        self.load_button = QPushButton("Load image...")
        self.scribbles_combo = QComboBox()
        self.new_scribbles_button = QPushButton("New")
        self.new_scribbles_button.setToolTip("add an empty scribbles layer for this image")
        self.legend = ClassLegend()
        self.params = ParamsForm()
        self.replace_box = QCheckBox("Replace previous result")
        self.replace_box.setChecked(True)
        self.run_button = QPushButton("Run")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.status = QLabel("paint a few strokes per class, then Run")
        self.status.setWordWrap(True)
        self.merge = MergePanel(self.legend.current_class, self._activate)
        self.save_button = QPushButton("Save result...")
        self.save_button.setToolTip(
            "label image (TIFF, PNG), one mask per class, mask stack, UCM and recipe"
        )

        layout = QVBoxLayout(self)
        layout.addWidget(_group("Image", _row(self.image_combo, self.load_button)))
        layout.addWidget(_group("Scribbles and classes",
                                _row(self.scribbles_combo, self.new_scribbles_button), self.legend))
        layout.addWidget(_group("Method", self.params))
        layout.addWidget(_group("Run", _row(self.run_button, self.stop_button, stretch_first=False),
                                self.replace_box, self.progress, self.status))
        layout.addWidget(_group("Merge regions", self.merge))
        layout.addWidget(self.save_button)
        layout.addStretch(1)

        self.load_button.clicked.connect(lambda: self.load_image())
        self.new_scribbles_button.clicked.connect(self._new_scribbles_clicked)
        self.image_combo.currentIndexChanged.connect(self._on_image_chosen)
        self.scribbles_combo.currentIndexChanged.connect(self._on_scribbles_chosen)
        self.run_button.clicked.connect(lambda: self.run())
        self.stop_button.clicked.connect(lambda: self.stop())
        self.save_button.clicked.connect(lambda: self.save())
        self.legend.names_changed.connect(self._on_names_changed)

        events = self.viewer.layers.events
        events.inserted.connect(self._on_layer_inserted)
        events.removed.connect(self._on_layer_removed)
        events.renamed.connect(self._refresh_combos)
        events.moved.connect(self._refresh_combos)
        self.destroyed.connect(self._controller.stop)
        self._refresh_combos()
        self._sync_scribbles()

    # -- current layers ---------------------------------------------------------------
    def image_layer(self) -> Image | None:
        layer = self.image_combo.currentData()
        return layer if layer is not None and layer in self.viewer.layers else None

    def scribbles_layer(self) -> Labels | None:
        layer = self.scribbles_combo.currentData()
        return layer if layer is not None and layer in self.viewer.layers else None

    def result_layer(self) -> Labels | None:
        image = self.image_layer()
        session = self._sessions.get(image) if image is not None else None
        if session is None or session.result is None or session.result not in self.viewer.layers:
            return None
        return session.result

    def set_image_layer(self, layer: Image) -> None:
        """Segment ``layer`` (an Image layer in the viewer)."""
        self._refresh_combos()
        self.image_combo.setCurrentIndex(_index_of(self.image_combo, layer))

    def set_scribbles_layer(self, layer: Labels) -> None:
        """Use ``layer`` as scribbles (any Labels layer; its shape is checked at Run)."""
        if _index_of(self.scribbles_combo, layer) < 0:
            self.scribbles_combo.addItem(layer.name, layer)
        self.scribbles_combo.setCurrentIndex(_index_of(self.scribbles_combo, layer))

    def _session(self, image: Image) -> _Session:
        return self._sessions.setdefault(image, _Session())

    def _activate(self, layer) -> None:
        self.viewer.layers.selection.active = layer

    # -- combos -----------------------------------------------------------------------
    def _refresh_combos(self, event=None) -> None:
        self._syncing = True
        try:
            image = self.image_combo.currentData()
            self.image_combo.clear()
            for layer in self.viewer.layers:
                if isinstance(layer, Image):
                    self.image_combo.addItem(layer.name, layer)
            index = _index_of(self.image_combo, image) if image is not None else -1
            self.image_combo.setCurrentIndex(index if index >= 0 else self.image_combo.count() - 1)
            self._fill_scribbles_combo()
        finally:
            self._syncing = False

    def _fill_scribbles_combo(self) -> None:
        image = self.image_layer()
        current = self.scribbles_combo.currentData()
        self.scribbles_combo.blockSignals(True)
        self.scribbles_combo.clear()
        for layer in L.candidate_scribbles(self.viewer, image) if image is not None else []:
            self.scribbles_combo.addItem(layer.name, layer)
        index = _index_of(self.scribbles_combo, current) if current is not None else -1
        self.scribbles_combo.setCurrentIndex(index)
        self.scribbles_combo.blockSignals(False)
        if self.scribbles_layer() is not self.legend.layer:
            self.legend.set_layer(self.scribbles_layer())

    def _on_layer_inserted(self, event) -> None:
        layer = event.value
        self._refresh_combos()
        if isinstance(layer, Image):
            self.image_combo.setCurrentIndex(_index_of(self.image_combo, layer))
        self._schedule_sync()

    def _on_layer_removed(self, event) -> None:
        layer = event.value
        if layer is self.merge.layer:
            self.merge.detach()
        if layer is self._preview:
            self._preview = None
        self._refresh_combos()
        self._schedule_sync()

    def _schedule_sync(self) -> None:
        # a sample adds its image and then its scribbles: decide once both are in
        if not self._sync_pending:
            self._sync_pending = True
            QTimer.singleShot(0, self._sync_scribbles)

    def _on_image_chosen(self, index: int) -> None:
        if not self._syncing:
            self._fill_scribbles_combo()
            self._schedule_sync()

    def _sync_scribbles(self) -> None:
        """Give the current image its scribbles layer (found or new) and its last result."""
        self._sync_pending = False
        image = self.image_layer()
        if image is None:
            return
        self._fill_scribbles_combo()
        session = self._session(image)
        current = self.scribbles_layer()
        if current is None or not L.fits_image(current, image):
            wanted = session.scribbles if session.scribbles in self.viewer.layers else None
            wanted = wanted or L.find_scribbles(self.viewer, image)
            if wanted is None and not self._controller.running:
                try:
                    wanted = L.new_scribbles(self.viewer, image)
                except InputError as err:  # a 3D image: nothing to paint on
                    self.status.setText(str(err))
                    return
            if wanted is not None:
                self.set_scribbles_layer(wanted)
                L.prepare_for_painting(self.viewer, wanted)
        self._attach_session_result(image)

    def _on_scribbles_chosen(self, index: int) -> None:
        layer = self.scribbles_layer()
        image = self.image_layer()
        if layer is not None and image is not None:
            self._session(image).scribbles = layer
        self.legend.set_layer(layer)

    def _new_scribbles_clicked(self) -> None:
        image = self.image_layer()
        if image is None:
            notify.show("choose or load an image first", "warning")
            return
        try:
            layer = L.new_scribbles(self.viewer, image)
        except InputError as err:
            notify.show_exception(err)
            return
        self.set_scribbles_layer(layer)

    def _attach_session_result(self, image: Image) -> None:
        session = self._sessions.get(image)
        if session is None or session.result is None or session.result not in self.viewer.layers:
            self.merge.detach()
        elif self.merge.layer is not session.result:
            session.merge = self.merge.attach(session.result, session.segmentation, session.merge)

    # -- loading ----------------------------------------------------------------------
    def load_image(self, path=None) -> Image | None:
        """Open an image file (a dialog when ``path`` is None) as a layer and select it."""
        if path is None:
            path = dialogs.open_image_file(self)
            if path is None:
                return None
        try:
            data, kwargs = L.layer_data_from_file(path)
        except InputError as err:
            notify.show_exception(err, "loading the image")
            return None
        layer = self.viewer.add_image(data, **kwargs)
        self.set_image_layer(layer)
        return layer

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
        try:
            array = L.image_array(image)
            scribbles = None
            if scribbles_layer is not None:
                scribbles = validate_scribbles(
                    L.scribble_array(scribbles_layer), L.image_hw(image), require_class=False
                )
                if not scribbles.any():
                    scribbles = None
        except InputError as err:
            notify.show_exception(err)
            return False
        spec = self.params.spec()
        session = self._session(image)
        warm = session.warm[1] if session.warm is not None and session.warm[0] == spec.method else None
        self._run = _Run(image, scribbles_layer if scribbles is not None else None, spec,
                         warm is not None, time.perf_counter())
        self.last_progress = None
        self._set_running(True)
        mode = "scribbles" if scribbles is not None else "no scribbles (unsupervised)"
        self.status.setText(f"starting ({mode}{', warm start' if warm is not None else ''})...")
        self._controller.start(array, scribbles, spec, warm)
        return True

    def stop(self) -> None:
        """End the run at its next iteration, keeping the result reached so far."""
        if self.running:
            self._controller.stop()
            self.stop_button.setEnabled(False)
            self.status.setText("stopping: finishing the current iteration...")

    def _set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.progress.setRange(0, 0 if running else 1)
        self.progress.setValue(0)

    def _on_progress(self, event: Progress) -> None:
        self.last_progress = event
        if event.total:
            self.progress.setRange(0, int(event.total))
            self.progress.setValue(min(int(event.step), int(event.total)))
        parts = [STAGE_NAMES.get(event.stage, event.stage or "working")]
        if event.stage in ("cluster", "adapt", "wnet") and event.total:
            parts.append(f"iteration {event.step}/{event.total}")
        if event.n_labels is not None:
            parts.append(f"{event.n_labels} segments")
        if event.loss is not None:
            parts.append(f"loss {event.loss:.3f}")
        if event.message and event.stage not in ("crf", "ucm", "done"):
            parts.append(event.message)
        self.status.setText(" · ".join(parts))
        if event.preview is not None and self._run is not None:
            self._show_preview(self._run.image, event.preview)

    def _show_preview(self, image: Image, preview: np.ndarray) -> None:
        if image not in self.viewer.layers:
            return
        geometry = L.preview_geometry(image, preview.shape)
        layer = self._preview
        if layer is None or layer not in self.viewer.layers:
            active = self.viewer.layers.selection.active
            self._preview = self.viewer.add_labels(
                np.asarray(preview, np.int32), name=f"{image.name}{L.PREVIEW_SUFFIX}", opacity=0.5,
                metadata={L.META_KEY: {"role": "preview", "image": image.name}}, **geometry,
            )
            self._restore_active(active)
        else:
            layer.data = np.asarray(preview, np.int32)
            layer.scale, layer.translate = geometry["scale"], geometry["translate"]

    def _restore_active(self, layer) -> None:
        if layer is not None and layer in self.viewer.layers:
            self.viewer.layers.selection.active = layer

    def _remove_preview(self) -> None:
        if self._preview is not None and self._preview in self.viewer.layers:
            self.viewer.layers.remove(self._preview)
        self._preview = None

    def _on_done(self, outcome: RunOutcome) -> None:
        run, self._run = self._run, None
        self._remove_preview()
        self._set_running(False)
        if outcome.error is not None:
            actions = []
            if notify.is_out_of_memory(outcome.error):
                actions.append(("Retry on CPU", _retry_on_cpu(self)))
            notify.show_exception(outcome.error, actions=actions)
            self.status.setText("failed: " + notify.describe(outcome.error))
            return
        seg = outcome.segmentation
        if seg is None or run is None:
            self.status.setText("cancelled")
            return
        if run.image not in self.viewer.layers:
            notify.show("the image layer was removed during the run; its result was dropped", "warning")
            return
        session = self._session(run.image)
        session.warm = (run.spec.method, seg.state) if seg.state is not None else None
        layer = self._show_result(run, seg, session)
        session.result, session.segmentation = layer, seg
        session.merge = self.merge.attach(layer, seg)
        info = seg.recipe.get("run", {})
        n_iter = info.get("n_iter")
        words = ["stopped" if seg.stopped else "done", f"in {outcome.seconds:.1f} s"]
        if n_iter is not None:
            words.append(f"· {n_iter} iterations{' (warm start)' if run.warm else ''}")
        words.append(f"· {len(np.unique(seg.labels))} {'classes' if seg.scribbles is not None else 'segments'}")
        self.status.setText(" ".join(words))

    def _show_result(self, run: _Run, seg, session: _Session) -> Labels:
        labels = np.asarray(seg.labels, np.int32)
        image = run.image
        meta = {"role": "result", "image": image.name, "ucm": seg.ucm, "recipe": seg.recipe,
                "class_names": self._class_names(run.scribbles, labels)}
        old = session.result
        active = self.viewer.layers.selection.active
        if (self.replace_box.isChecked() and old is not None and old in self.viewer.layers
                and old.data.shape == labels.shape):
            current = np.asarray(old.data)
            index = np.nonzero(current != labels)
            if index[0].size:
                with old.block_history():  # one undo step for the whole replacement
                    old.data_setitem(index, labels[index].astype(current.dtype))
            old.metadata[L.META_KEY] = meta
            layer = old
        else:
            layer = self.viewer.add_labels(labels, name=L.result_name(image),
                                           metadata={L.META_KEY: meta}, **L.geometry(image))
        if run.scribbles is not None and run.scribbles in self.viewer.layers:
            L.copy_colormap(run.scribbles, layer)
        self._restore_active(active)
        return layer

    def _class_names(self, scribbles: Labels | None, labels: np.ndarray) -> dict[int, str]:
        if scribbles is None:
            return {}
        names = L.plugin_meta_get(scribbles, "class_names", {}) or {}
        present = set(np.unique(labels).tolist())
        return {int(k): v for k, v in names.items() if int(k) in present}

    def _on_names_changed(self) -> None:
        layer = self.result_layer()
        image = self.image_layer()
        session = self._sessions.get(image) if image is not None else None
        if layer is not None and session is not None and session.scribbles is self.legend.layer:
            L.plugin_meta(layer)["class_names"] = self._class_names(session.scribbles, np.asarray(layer.data))

    # -- saving -----------------------------------------------------------------------
    def save(self, folder=None) -> list | None:
        """Save the current image's result (a folder dialog when ``folder`` is None)."""
        image = self.image_layer()
        layer = self.result_layer()
        if image is None or layer is None:
            notify.show("there is no segmentation to save yet: run one first", "error")
            return None
        if folder is None:
            folder = dialogs.choose_folder(self)
            if folder is None:
                return None
        session = self._sessions[image]
        seg = session.segmentation
        labels = np.asarray(layer.data)
        recipe = dict(seg.recipe)
        recipe["napari"] = {
            "image_layer": image.name,
            "merge_threshold": round(self.merge.threshold, 4) if self.merge.layer is layer else None,
            "pixels_edited_by_hand": self.merge.edited_pixels() if self.merge.layer is layer else None,
        }
        try:
            written = saving.export_result(
                folder, saving.safe_stem(image.name), labels, ucm=seg.ucm, recipe=recipe,
                class_names=self._class_names(session.scribbles, labels) or None, parent=self,
            )
        except Exception as err:  # shown to the user, layers untouched
            notify.show_exception(err, "saving")
            return None
        if written is None:
            self.status.setText("not saved: the existing files were kept")
            return None
        notify.show(f"saved {len(written)} files to {folder}", "info")
        self.status.setText(f"saved {len(written)} files to {folder}")
        return written


def _retry_on_cpu(widget: SegmentationWidget):
    """A notification action that holds the widget weakly (notifications outlive viewers)."""
    ref = weakref.ref(widget)

    def retry(*_):
        w = ref()
        if w is not None:
            w.params.set_device("cpu")
            w.run()

    return retry
