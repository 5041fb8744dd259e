"""Commit to labels: write the current result into a Labels layer of the user's own.

Annotators build their ground truth over many runs. The panel writes the result as it is
shown (after the merge slider, click-to-assign and hand edits: the result layer's data)
into a Labels layer they choose, or a new one: every class or one, with its class
numbers, as one object of a chosen label, or one label per connected region. Only
unlabelled (0) pixels are written unless "Overwrite labelled pixels" is ticked.

A commit is one step of the target layer's undo history (``Labels.data_setitem`` inside
``block_history``), so Ctrl+Z with that layer selected takes it back whole, and
Shift+Ctrl+Z writes it again; the target becomes the selected layer after a commit.
Layers the plugin made (scribbles, results, previews) and the scribbles in use are not
offered; nor are layers of another shape than the result, nor multiscale ones.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

import numpy as np
from magicgui.widgets import CheckBox, ComboBox
from napari.layers import Labels
from qtpy.QtWidgets import (
    QComboBox,
    QGridLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..core.commit import CommitSummary, plan_commit, present_classes
from ..core.errors import InputError
from . import class_colours, notify
from . import layers as L

NEW_LAYER = "New labels layer"
LABELS_SUFFIX = " labels"
WAYS = (
    ("keep class numbers", "semantic"),
    ("as one object, label", "object"),
    ("as instances, from label", "instances"),
)
WAY_TIP = (
    "keep class numbers: class k as label k; one object: every chosen pixel as one label; instances: one new "
    "label per connected region"
)
OVERWRITE_TIP = "also write where the layer has a label already (otherwise only into unlabelled pixels, 0)"
MAX_LABEL = 2**31 - 1
NO_RESULT = "run a segmentation first"


class _FreshCombo(QComboBox):
    """A combo that fills itself again each time it opens (layers and the result change)."""

    def __init__(self, fill: Callable[[], None]):
        super().__init__()
        self._fill = fill

    def showPopup(self) -> None:
        self._fill()
        super().showPopup()


class CommitPanel(QWidget):
    """Target layer, classes, how to write them, overwrite, Commit, and a status line.

    Parameters
    ----------
    viewer : napari.Viewer
    image_layer, result_layer, scribbles_layer : callables returning a layer or None
        The widget's current image, its result layer and the scribbles in use.
    """

    def __init__(
        self,
        viewer,
        image_layer: Callable,
        result_layer: Callable,
        scribbles_layer: Callable,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.viewer = viewer
        self._image, self._result, self._scribbles = image_layer, result_layer, scribbles_layer
        self._classes_of = lambda: None  # (a weak reference to) the result layer the class list is of

        self.target_combo = _FreshCombo(self.refresh)
        self.target_combo.setToolTip("the Labels layer to write into (your ground truth), or a new one")
        self.class_combo = _FreshCombo(self._fill_classes)
        self.class_combo.setToolTip("the classes of the result to write")
        self.fields = {
            "way": ComboBox(choices=WAYS, tooltip=WAY_TIP),
            "overwrite": CheckBox(text="Overwrite labelled pixels", tooltip=OVERWRITE_TIP),
        }
        self.way_combo, self.overwrite_box = self.fields["way"].native, self.fields["overwrite"].native
        self.value_spin = QSpinBox()
        self.value_spin.setRange(0, MAX_LABEL)
        self.value_spin.setSpecialValueText("next free")  # 0: max(labels) + 1
        self.value_spin.setToolTip(
            "the label value written (instances: the first); next free: one above the largest label of the layer"
        )
        self.commit_button = QPushButton("Commit")
        self.commit_button.setToolTip("write the result into the layer; Ctrl+Z on that layer undoes it")
        self.status = QLabel(NO_RESULT)
        self.status.setWordWrap(True)
        self.status.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)  # never widens the dock

        for combo in (self.target_combo, self.class_combo):  # a long layer name must not widen the dock
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(12)
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(QLabel("Into"), 0, 0)
        grid.addWidget(self.target_combo, 0, 1, 1, 2)
        grid.addWidget(QLabel("Classes"), 1, 0)
        grid.addWidget(self.class_combo, 1, 1, 1, 2)
        grid.addWidget(QLabel("Write"), 2, 0)
        grid.addWidget(self.way_combo, 2, 1, 1, 2)
        grid.addWidget(QLabel("Label"), 3, 0)
        grid.addWidget(self.value_spin, 3, 1)
        grid.addWidget(self.overwrite_box, 4, 0, 1, 2)
        grid.addWidget(self.commit_button, 4, 2)
        grid.setColumnStretch(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(grid)
        layout.addWidget(self.status)

        self.target_combo.activated.connect(self._on_target_activated)
        self.fields["way"].changed.connect(self._update_value_spin)
        self.commit_button.clicked.connect(lambda: self.commit())
        events = viewer.layers.events
        for event in (events.inserted, events.removed, events.renamed, events.moved):
            event.connect(self.refresh)
        self._update_value_spin()
        self.refresh()

    # -- public -----------------------------------------------------------------------
    def targets(self) -> list[Labels]:
        """The Labels layers a commit may write into: the user's, of the result's shape."""
        result = self._result()
        if result is None:
            return []
        shape, scribbles = tuple(result.data.shape), self._scribbles()
        return [
            layer
            for layer in self.viewer.layers
            if isinstance(layer, Labels)
            and L.role(layer) is None
            and layer is not scribbles
            and not layer.multiscale
            and tuple(layer.data.shape) == shape
        ]

    def target(self) -> Labels | None:
        """The layer chosen (None: a new layer)."""
        layer = self.target_combo.currentData()
        return layer if layer is not None and layer in self.viewer.layers else None

    def set_target(self, layer: Labels | None) -> None:
        """Choose ``layer`` (None: a new labels layer, made at Commit)."""
        self.refresh()
        self.target_combo.setCurrentIndex(self._index(self.target_combo, layer))

    def set_classes(self, cls: int | None) -> None:
        """Commit one class (None: all)."""
        self._fill_classes()
        self.class_combo.setCurrentIndex(self._index(self.class_combo, cls))

    def set_way(self, mode: str, value: int = 0) -> None:
        """ "semantic", "object" or "instances"; ``value``: the label (0: the next free one)."""
        self.fields["way"].value = mode
        self.value_spin.setValue(int(value))

    def refresh(self, event=None) -> None:
        """List the layers and classes again; enabled only while there is a result."""
        result = self._result()
        self.setEnabled(result is not None)
        current = self.target_combo.currentData()
        self.target_combo.blockSignals(True)
        self.target_combo.clear()
        for layer in self.targets():
            self.target_combo.addItem(layer.name, layer)
        self.target_combo.addItem(NEW_LAYER, None)
        index = self._index(self.target_combo, current) if current is not None else -1
        # the chosen layer gone, or none chosen: a new layer, never another layer of the user's
        self.target_combo.setCurrentIndex(index if index >= 0 else self.target_combo.count() - 1)
        self.target_combo.blockSignals(False)
        if result is not self._classes_of():  # else when the list opens: counting the classes takes a pass
            self._fill_classes()
        if result is None:
            self.status.setText(NO_RESULT)
        elif self.status.text() == NO_RESULT:
            self.status.setText("")

    def commit(self) -> CommitSummary | None:
        """Write the result into the chosen layer (one undo step there); the counts, or None."""
        result = self._result()
        if result is None:
            notify.show("there is no result to commit yet: run a segmentation first", "error")
            return None
        target = self.target()
        if target is not None and target is self._scribbles():
            notify.show(f"'{target.name}' holds the scribbles in use: commit into another layer", "error")
            return None
        mode = self.fields["way"].value
        cls = self.class_combo.currentData()
        value = self.value_spin.value() if mode != "semantic" else 0
        data = np.asarray(target.data) if target is not None else np.zeros(result.data.shape, np.int32)
        try:
            plan = plan_commit(
                data,
                np.asarray(result.data),
                classes=None if cls is None else [cls],
                mode=mode,
                overwrite=self.fields["overwrite"].value,
                start=value or None,
            )
        except InputError as err:
            notify.show_exception(err, "committing")
            self.status.setText(str(err))
            return None
        if target is None:
            target = self._new_layer(result)
        if plan.index[0].size:
            try:
                with target.block_history():  # one Ctrl+Z step, whatever napari does inside
                    target.data_setitem(plan.index, plan.values)
            except Exception as err:  # a layer napari cannot write into (read-only, lazy): shown
                notify.show_exception(err, "committing")
                self.status.setText(notify.describe(err, "committing"))
                return None
        self.set_target(target)
        self.viewer.layers.selection.active = target  # Ctrl+Z acts on the selected layer
        self.status.setText(plan.summary.describe(f"'{target.name}'"))
        return plan.summary

    # -- internals --------------------------------------------------------------------
    @staticmethod
    def _index(combo: QComboBox, data) -> int:
        return next(
            (
                i
                for i in range(combo.count())
                if combo.itemData(i) is data or (data is not None and combo.itemData(i) == data)
            ),
            -1,
        )

    def _fill_classes(self) -> None:
        result = self._result()
        self._classes_of = weakref.ref(result) if result is not None else (lambda: None)
        current = self.class_combo.currentData()
        self.class_combo.blockSignals(True)
        self.class_combo.clear()
        self.class_combo.addItem("all classes", None)
        if result is not None:
            names = L.plugin_meta_get(result, "class_names", {}) or {}
            for k in present_classes(np.asarray(result.data)).tolist():
                name = names.get(k, names.get(str(k)))
                self.class_combo.addItem(f"{k}: {name}" if name else f"class {k}", k)
        index = self._index(self.class_combo, current)
        self.class_combo.setCurrentIndex(max(index, 0))
        self.class_combo.blockSignals(False)

    def _update_value_spin(self, *_) -> None:
        self.value_spin.setEnabled(self.fields["way"].value != "semantic")

    def _on_target_activated(self, index: int) -> None:
        """ "New labels layer" chosen from the list: add one now, so it can be looked at first."""
        result = self._result()
        if self.target_combo.itemData(index) is None and result is not None:
            self.set_target(self._new_layer(result))

    def _new_layer(self, result: Labels) -> Labels:
        """An empty int32 Labels layer over the result, named "<image> labels"."""
        image = self._image()
        base = (image.name if image is not None else result.name) + LABELS_SUFFIX
        layer = self.viewer.add_labels(
            np.zeros(result.data.shape, np.int32),
            name=L.unique_name(self.viewer, base),
            scale=tuple(result.scale),
            translate=tuple(result.translate),
        )
        scribbles = self._scribbles()
        if scribbles is not None and self.fields["way"].value == "semantic":  # class k in the legend's colour
            layer.colormap = class_colours.colormap(class_colours.colours(scribbles))
        return layer
