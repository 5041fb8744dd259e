"""Choosing what to segment: the image layer (or a file), its scribbles layer, the legend.

An image gets a scribbles layer matched to it: the one it used before, else one named
"<image> scribbles" of the same shape (sample data comes with one), else a new empty
one ready to paint label 1. A volume's scribbles are a volume of its shape, painted on
any slices.
"""

from __future__ import annotations

import weakref

from napari.layers import Image, Labels
from qtpy.QtCore import QTimer, Signal
from qtpy.QtWidgets import QComboBox, QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ..core.errors import InputError
from . import dialogs, image_state, notify
from . import layers as L
from .legend import ClassLegend


def _index_of(combo: QComboBox, obj) -> int:
    """Row of ``obj`` in a combo box's item data (by identity), or -1."""
    return next((i for i in range(combo.count()) if combo.itemData(i) is obj), -1)


class SourcePanel(QWidget):
    """Image and scribbles choice, plus the class legend of the scribbles.

    Signals
    -------
    image_changed(object)
        The image layer (or None) once it and its scribbles are settled.
    message(str)
        A status line for the user.
    """

    image_changed = Signal(object)
    message = Signal(str)

    def __init__(self, viewer, parent: QWidget | None = None):
        super().__init__(parent)
        self.viewer = viewer
        self.allow_new_scribbles = True  # the widget turns it off while a run goes on
        self._scribbles_of: weakref.WeakKeyDictionary[Image, Labels] = image_state.SCRIBBLES
        self._syncing = False
        self._sync_pending = False

        self.image_combo = QComboBox()
        self.load_button = QPushButton("Load image...")
        self.scribbles_combo = QComboBox()
        self.new_scribbles_button = QPushButton("New")
        self.new_scribbles_button.setToolTip("add an empty scribbles layer for this image")
        self.legend = ClassLegend()

        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(QLabel("Image"), 0, 0)
        grid.addWidget(self.image_combo, 0, 1)
        grid.addWidget(self.load_button, 0, 2)
        grid.addWidget(QLabel("Scribbles"), 1, 0)
        grid.addWidget(self.scribbles_combo, 1, 1)
        grid.addWidget(self.new_scribbles_button, 1, 2)
        grid.setColumnStretch(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(grid)
        layout.addWidget(self.legend)

        self.load_button.clicked.connect(lambda: self.load_image())
        self.new_scribbles_button.clicked.connect(self._new_scribbles_clicked)
        self.image_combo.currentIndexChanged.connect(self._on_image_chosen)
        self.scribbles_combo.currentIndexChanged.connect(self._on_scribbles_chosen)
        events = viewer.layers.events
        events.inserted.connect(self._on_layer_inserted)
        events.removed.connect(self._on_layer_removed)
        events.renamed.connect(self._refresh)
        events.moved.connect(self._refresh)
        self._refresh()
        self._sync()

    # -- public -----------------------------------------------------------------------
    def image_layer(self) -> Image | None:
        layer = self.image_combo.currentData()
        return layer if layer is not None and layer in self.viewer.layers else None

    def scribbles_layer(self) -> Labels | None:
        layer = self.scribbles_combo.currentData()
        return layer if layer is not None and layer in self.viewer.layers else None

    def set_image_layer(self, layer: Image) -> None:
        """Segment ``layer`` (an Image layer in the viewer)."""
        self._refresh()
        self.image_combo.setCurrentIndex(_index_of(self.image_combo, layer))

    def set_scribbles_layer(self, layer: Labels) -> None:
        """Use ``layer`` as scribbles (any Labels layer; its shape is checked at Run)."""
        if _index_of(self.scribbles_combo, layer) < 0:
            self.scribbles_combo.addItem(layer.name, layer)
        self.scribbles_combo.setCurrentIndex(_index_of(self.scribbles_combo, layer))

    def resync(self) -> None:
        """Match the scribbles to the current image again (its shape may have changed)."""
        self._refresh()
        self._sync()

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
        self.viewer.reset_view()  # frame the image just opened, whatever was shown before
        return layer

    # -- internals --------------------------------------------------------------------
    def _refresh(self, event=None) -> None:
        self._syncing = True
        try:
            image = self.image_combo.currentData()
            self.image_combo.clear()
            for layer in self.viewer.layers:
                if isinstance(layer, Image) and L.role(layer) is None:  # not our uncertainty layers
                    self.image_combo.addItem(layer.name, layer)
            index = _index_of(self.image_combo, image) if image is not None else -1
            self.image_combo.setCurrentIndex(index if index >= 0 else self.image_combo.count() - 1)
            self._fill_scribbles()
        finally:
            self._syncing = False

    def _fill_scribbles(self) -> None:
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
        self._refresh()
        if isinstance(event.value, Image) and L.role(event.value) is None:
            self.image_combo.setCurrentIndex(_index_of(self.image_combo, event.value))
        self._schedule_sync()

    def _on_layer_removed(self, event) -> None:
        self._refresh()
        self._schedule_sync()

    def _schedule_sync(self) -> None:
        # a sample adds its image and then its scribbles: decide once both are in
        if not self._sync_pending:
            self._sync_pending = True
            QTimer.singleShot(0, self._sync)

    def _on_image_chosen(self, index: int) -> None:
        if not self._syncing:
            self._fill_scribbles()
            self._schedule_sync()

    def _sync(self) -> None:
        """Give the current image its scribbles layer (found or new)."""
        self._sync_pending = False
        image = self.image_layer()
        if image is not None:
            self._fill_scribbles()
            current = self._give_way_to_saved_scribbles(image, self.scribbles_layer())
            if current is None or not self._may_serve(current, image):
                wanted = self._scribbles_of.get(image)
                wanted = wanted if wanted in self.viewer.layers else L.find_scribbles(self.viewer, image)
                if wanted is None and self.allow_new_scribbles:
                    try:
                        wanted = L.new_scribbles(self.viewer, image)
                    except InputError as err:  # a time-lapse: nothing to paint on
                        QTimer.singleShot(0, lambda text=str(err): self.message.emit(text))  # after the image's status
                if wanted is not None:
                    self.set_scribbles_layer(wanted)
                    L.prepare_for_painting(self.viewer, wanted)
                elif current is not None:  # never another image's strokes: none until some can be made
                    self.scribbles_combo.setCurrentIndex(-1)
                    self.legend.set_layer(None)
        self.image_changed.emit(image)

    def _give_way_to_saved_scribbles(self, image: Image, current: Labels | None) -> Labels | None:
        """Strokes opened from "<image>_scribbles" replace the empty layer made for ``image``
        (nothing painted is lost); returns the scribbles layer now in use."""
        saved = L.saved_scribbles(self.viewer, image)
        if saved is None or current is None or saved is current or not L.made_and_empty(current, image):
            return current
        self._scribbles_of[image] = saved
        self.set_scribbles_layer(saved)
        L.prepare_for_painting(self.viewer, saved)
        self.viewer.layers.remove(current)
        return saved

    def ensure_scribbles(self) -> None:
        """Give the current image its own scribbles if it has none that may serve it (an image
        opened during a run, when no layer could be made for it)."""
        image, current = self.image_layer(), self.scribbles_layer()
        if image is not None and (current is None or not self._may_serve(current, image)):
            self._sync()

    def _may_serve(self, scribbles: Labels, image: Image) -> bool:
        """Whether ``scribbles`` can stay on when ``image`` is chosen: it fits and is not another image's.

        Scribbles belong to the image they were made for (their metadata) or chosen for;
        a second image of the same size gets its own, never the first one's.
        """
        if not L.fits_image(scribbles, image):
            return False
        chosen = self._scribbles_of.get(image)
        if chosen is not None and chosen in self.viewer.layers:
            return chosen is scribbles
        if L.plugin_meta_get(scribbles, "session") not in (None, L.plugin_meta_get(image, "session")):
            return False  # another saved session's
        owner = L.plugin_meta_get(scribbles, "image")
        others = [im for im, layer in self._scribbles_of.items() if layer is scribbles and im is not image]
        return (owner is None or owner == image.name) and not others

    def _on_scribbles_chosen(self, index: int) -> None:
        layer, image = self.scribbles_layer(), self.image_layer()
        if layer is not None and image is not None:
            self._scribbles_of[image] = layer
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
        L.prepare_for_painting(self.viewer, layer)
