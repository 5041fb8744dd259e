"""The parameter panel: method, preset, iterations, seed, device, W-Net weights, dense CRF.

It produces a :class:`core.settings.RunSettings`, the model behind the CLI's flags too; its
tooltips and ranges come from that model's metadata, the CRF fields from
``core.crf.CRFParams``.
"""

from __future__ import annotations

import dataclasses

from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..core.cluster_params import PRESETS, SCRIBBLE_MAX_ITER, ClusterParams
from ..core.settings import RunSettings, describe
from .runner import METHOD_LABELS

DEVICES = ("auto", "cpu", "cuda", "mps")


def _crf_defaults() -> dict:
    """Default CRF parameters as {field name: value} (numbers and booleans only)."""
    from ..core.crf import CRFParams

    defaults = CRFParams()
    return {
        f.name: getattr(defaults, f.name)
        for f in dataclasses.fields(defaults)
        if isinstance(getattr(defaults, f.name), int | float | bool)
    }


def _crf_container():
    """The CRF fields as a magicgui container: one typed widget per CRFParams number."""
    from magicgui.widgets import Container, create_widget

    widgets = []
    for name, value in _crf_defaults().items():
        options = {} if isinstance(value, bool) else {"min": 0, "max": 10_000}
        if isinstance(value, float):
            options["step"] = 0.01
        widgets.append(create_widget(value=value, annotation=type(value), name=name, label=name.replace("_", " "),
                                     options=options))
    return Container(widgets=widgets)


class ParamsForm(QWidget):
    """Run settings. ``spec()`` returns them; ``set_device`` is used by "retry on CPU"."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)

        self.method = QComboBox()
        for key, label in METHOD_LABELS.items():
            self.method.addItem(label, key)
        form.addRow("Method", self.method)

        self.preset = QComboBox()
        self.preset.addItems(list(PRESETS))
        self.preset.setToolTip(describe("preset")["help"])
        form.addRow("Preset", self.preset)

        self.iterations = QSpinBox()
        self.iterations.setRange(0, 100_000)
        form.addRow("Max iterations", self.iterations)
        self._iterations_label = form.labelForField(self.iterations)

        self.seed = QSpinBox()
        self.seed.setRange(0, min(describe("seed")["high"], 2**31 - 1))  # a QSpinBox holds a C int
        self.seed.setToolTip(describe("seed")["help"])
        form.addRow("Seed", self.seed)

        self.device = QComboBox()
        self.device.addItems(list(DEVICES))
        self.device.setToolTip(describe("device")["help"])
        form.addRow("Device", self.device)

        self.weights = QLineEdit()
        self.weights.setPlaceholderText("shipped BSDS500 weights")
        browse = QPushButton("...")
        browse.setMaximumWidth(30)
        browse.clicked.connect(self._browse_weights)
        self._weights_row = QWidget()
        row = QHBoxLayout(self._weights_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.weights)
        row.addWidget(browse)
        form.addRow("W-Net weights", self._weights_row)
        self._weights_label = form.labelForField(self._weights_row)

        self.use_crf = QCheckBox("Dense CRF refinement (without scribbles)")
        self.use_crf.setChecked(describe("use_crf")["default"])
        form.addRow(self.use_crf)
        self.crf_box = QGroupBox("CRF parameters")
        self._crf = _crf_container()
        self._crf.margins = (0, 0, 0, 0)
        QVBoxLayout(self.crf_box).addWidget(self._crf.native)
        form.addRow(self.crf_box)

        self.method.currentIndexChanged.connect(self._sync)
        self.preset.currentIndexChanged.connect(self._sync)
        self.use_crf.toggled.connect(self.crf_box.setVisible)
        self._sync()

    def _sync(self) -> None:
        wnet = self.method_key() == "wnet"
        self.preset.setEnabled(not wnet)
        self._weights_row.setVisible(wnet)
        self._weights_label.setVisible(wnet)
        if wnet:
            self._iterations_label.setText("Adaptation steps")
            self.iterations.setSpecialValueText("none")
            self.iterations.setToolTip("steps of the W-Net losses on this image before predicting")
        else:
            default = ClusterParams.preset(self.preset.currentText()).max_iter
            self._iterations_label.setText("Max iterations")
            scribbled = SCRIBBLE_MAX_ITER
            self.iterations.setSpecialValueText(f"default ({default}; {scribbled} with scribbles)")
            self.iterations.setToolTip(
                f"0 keeps the defaults: the preset's maximum, {scribbled} with scribbles (the scribbles' random "
                "walks decide the classes; the network only learns features for them)")

    def _browse_weights(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "W-Net weights", "", "Weights (*.pt *.pth);;All files (*)")
        if path:
            self.weights.setText(path)

    def method_key(self) -> str:
        return self.method.currentData()

    def set_method(self, key: str) -> None:
        self.method.setCurrentIndex(self.method.findData(key))

    def set_device(self, name: str) -> None:
        self.device.setCurrentText(name)

    def crf_values(self) -> dict:
        return {widget.name: widget.value for widget in self._crf}

    def spec(self) -> RunSettings:
        """The current settings (plain values: no torch needed)."""
        method, iterations = self.method_key(), self.iterations.value()
        return RunSettings(
            method=method,
            preset=self.preset.currentText(),
            max_iter=iterations if method == "cluster" and iterations > 0 else None,
            adapt=iterations if method == "wnet" else 0,
            seed=self.seed.value(),
            device=self.device.currentText(),
            use_crf=self.use_crf.isChecked(),
            crf=self.crf_values(),
            weights=self.weights.text().strip() or None,
        )
