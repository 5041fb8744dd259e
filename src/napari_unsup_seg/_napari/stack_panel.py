"""What part of a stack to segment: its axes, the channels that feed the features, time and depth scope.

Shown for stacks, multiscale layers and multi-channel images (hidden for a plain or RGB
image, which need none of it); the fields that do not apply are disabled.
The axes and channels typed here belong to the image layer (kept in its metadata), so
switching images switches them too.
"""

from __future__ import annotations

from napari.layers import Image
from qtpy.QtCore import Signal
from qtpy.QtWidgets import QGridLayout, QLabel, QWidget

from ..core.errors import InputError
from . import layer_axes as LA
from . import notify
from .layer_axes import META_KEY

SCOPES = {"volume": "Whole volume", "slice": "This slice"}
TIMES = {"all": "All time points", "this": "This time point"}
AXES_TIP = (
    "the axes of the image layer's data, one letter each: T time, C channel, Z depth, Y rows, X "
    "columns (for example TZYX or CZYX); channels first, or last for RGB"
)
CHANNELS_TIP = "the channels that feed the features: all, or their numbers (0, 2)"
SCOPE_TIP = "for a volume: segment all of it (scribbles on any slices) or only the slice shown, as an image (seconds)"
TIME_TIP = (
    "for a time-lapse: every time point in order, each starting from the network of the one before (classes "
    "keep their number), or only the one shown; strokes on any time point apply to all"
)
LEVEL_TIP = (
    "a multiscale image is segmented at this resolution level (0: full resolution) and its result "
    "shown over the image at every zoom; the default is the finest level of at most 2048x2048 pixels"
)


class StackPanel(QWidget):
    """Axes, channels, depth scope and time scope of the current image layer.

    Signals
    -------
    axes_changed(object)
        The image layer whose axes the user changed (its scribbles may no longer fit).
    scope_changed()
        The depth or time scope changed.
    """

    axes_changed = Signal(object)
    scope_changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        from magicgui.widgets import ComboBox, LineEdit, SpinBox

        super().__init__(parent)
        self._image: Image | None = None
        self.fields = {
            "axes": LineEdit(tooltip=AXES_TIP),
            "channels": LineEdit(value="all", tooltip=CHANNELS_TIP),
            "scope": ComboBox(choices=[(label, key) for key, label in SCOPES.items()], tooltip=SCOPE_TIP),
            "time": ComboBox(choices=[(label, key) for key, label in TIMES.items()], tooltip=TIME_TIP),
            "level": SpinBox(tooltip=LEVEL_TIP),
        }
        self.axes_edit, self.channels_edit = self.fields["axes"].native, self.fields["channels"].native
        self.scope_combo, self.time_combo = self.fields["scope"].native, self.fields["time"].native
        self.level_spin = self.fields["level"].native
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(QLabel("Axes"), 0, 0)
        grid.addWidget(self.axes_edit, 0, 1)
        grid.addWidget(QLabel("Channels"), 0, 2)
        grid.addWidget(self.channels_edit, 0, 3)
        grid.addWidget(QLabel("Scope"), 1, 0)
        grid.addWidget(self.scope_combo, 1, 1)
        grid.addWidget(QLabel("Time"), 1, 2)
        grid.addWidget(self.time_combo, 1, 3)
        grid.addWidget(QLabel("Level"), 2, 0)
        grid.addWidget(self.level_spin, 2, 1)
        self.axes_edit.editingFinished.connect(self._on_axes_edited)
        self.channels_edit.editingFinished.connect(self._on_channels_edited)
        self.fields["level"].changed.connect(self._on_level_changed)
        self.fields["scope"].changed.connect(lambda _: self.scope_changed.emit())
        self.fields["time"].changed.connect(lambda _: self.scope_changed.emit())
        self.set_image(None)

    # -- public -----------------------------------------------------------------------
    def set_image(self, image: Image | None) -> None:
        """Show (and edit) the axes and channels of ``image``."""
        self._image = image
        try:
            axes = LA.layer_axes(image) if image is not None else ""
        except InputError:
            axes = ""
        self.axes_edit.setText(axes)
        self.axes_edit.setEnabled(image is not None and LA.data_ndim(image) > 2)
        stored = image.metadata.get(META_KEY, {}).get("channels") if image is not None else None
        self.channels_edit.setText(stored or "all")
        self.level_spin.blockSignals(True)
        n_levels = LA.levels(image) if image is not None else 1
        self.level_spin.setRange(0, n_levels - 1)
        stored = image.metadata.get(META_KEY, {}).get("level") if image is not None else None
        self.level_spin.setValue(
            int(stored)
            if stored is not None and stored < n_levels
            else LA.default_level(image)
            if image is not None and n_levels > 1
            else 0
        )
        self.level_spin.blockSignals(False)
        self._update_enabled()
        self.setVisible(self._relevant(image))

    def scope(self) -> str | None:
        """ "volume" or "slice" for a layer with depth, None for one without."""
        image = self._image
        if image is None or not self._has(image, "Z"):
            return None
        return self.scope_combo.currentData() if LA.length(image, "Z") > 1 else "slice"

    def time_scope(self) -> str | None:
        """ "all" or "this" for a layer with several time points, None otherwise."""
        image = self._image
        if image is None or not self._has(image, "T") or LA.length(image, "T") < 2:
            return None
        return self.time_combo.currentData()

    def channels(self) -> tuple[int, ...] | None:
        """The channels typed (None: all); raises :class:`InputError` for bad ones."""
        if self._image is None:
            return None
        return LA.parse_channels(self.channels_edit.text(), self._channel_count())

    def level(self) -> int:
        """The resolution level to segment (0 unless the layer is multiscale)."""
        return self.level_spin.value() if self._image is not None and self._image.multiscale else 0

    def set_scope(self, scope: str) -> None:
        self.scope_combo.setCurrentIndex(self.scope_combo.findData(scope))

    def set_time_scope(self, key: str) -> None:
        self.time_combo.setCurrentIndex(self.time_combo.findData(key))

    def set_axes(self, text: str) -> None:
        """Type ``text`` into the axes field, as the user would."""
        self.axes_edit.setText(text)
        self._on_axes_edited()

    def set_channels(self, text: str) -> None:
        self.channels_edit.setText(text)
        self._on_channels_edited()

    # -- internals --------------------------------------------------------------------
    @staticmethod
    def _has(image: Image, letter: str) -> bool:
        try:
            return letter in LA.layer_axes(image)
        except InputError:
            return False

    def _relevant(self, image: Image | None) -> bool:
        """Shown for stacks, multiscale layers and multi-channel images; a plain or RGB image needs none of it."""
        if image is None:
            return False
        stack = self._has(image, "Z") or self._has(image, "T")
        return image.multiscale or stack or (not image.rgb and LA.data_ndim(image) > 2)

    def _channel_count(self) -> int:
        image = self._image
        if image is None:
            return 1
        try:
            return LA.channel_count(image)
        except InputError:
            return 1

    def _update_enabled(self) -> None:
        image = self._image
        self.channels_edit.setEnabled(self._channel_count() > 1)
        self.scope_combo.setEnabled(image is not None and self._has(image, "Z") and LA.length(image, "Z") > 1)
        self.time_combo.setEnabled(self.time_scope() is not None)
        self.level_spin.setEnabled(image is not None and LA.levels(image) > 1)

    def _on_axes_edited(self) -> None:
        image = self._image
        if image is None or self.axes_edit.text().strip().upper() == LA.layer_axes(image):
            return
        try:
            LA.set_axes(image, self.axes_edit.text())
        except InputError as err:
            notify.show_exception(err)
            self.axes_edit.setText(LA.layer_axes(image))
            return
        self.axes_edit.setText(LA.layer_axes(image))
        self._update_enabled()
        self.axes_changed.emit(image)
        self.scope_changed.emit()

    def _on_channels_edited(self) -> None:
        image = self._image
        if image is None:
            return
        try:
            self.channels()
        except InputError as err:
            notify.show_exception(err)
            self.channels_edit.setText(image.metadata.get(META_KEY, {}).get("channels") or "all")
            return
        image.metadata.setdefault(META_KEY, {})["channels"] = self.channels_edit.text().strip() or "all"

    def _on_level_changed(self, value: int) -> None:
        if self._image is not None:
            self._image.metadata.setdefault(META_KEY, {})["level"] = int(value)
            self.scope_changed.emit()
