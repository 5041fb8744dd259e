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
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)
from superqt import QCollapsible

from ..core.cluster_params import PRESETS, SCRIBBLE_MAX_ITER, ClusterParams
from ..core.segmenters import SEGMENTERS
from ..core.settings import RunSettings, applies, describe

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
        widgets.append(
            create_widget(value=value, annotation=type(value), name=name, label=name.replace("_", " "), options=options)
        )
    return Container(widgets=widgets)


class ParamsForm(QWidget):
    """Run settings. ``spec()`` returns them; ``set_device`` is used by "retry on CPU"."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._form = form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)

        self.method = QComboBox()
        for key, segmenter in SEGMENTERS.items():
            self.method.addItem(segmenter.label, key)
        form.addRow("Method", self.method)

        self.preset = QComboBox()
        self.preset.addItems(list(PRESETS))
        self.preset.setToolTip(describe("preset")["help"])
        form.addRow("Preset", self.preset)

        self.iterations = QSpinBox()
        self.iterations.setRange(0, describe("max_iter")["high"])
        self.iterations.setToolTip(
            f"0 keeps the defaults: the preset's maximum, {SCRIBBLE_MAX_ITER} with scribbles (the scribbles' random "
            "walks decide the classes; the network only learns features for them)"
        )
        form.addRow("Max iterations", self.iterations)

        self.adapt = QSpinBox()
        self.adapt.setRange(0, describe("adapt")["high"])
        self.adapt.setSpecialValueText("none")
        self.adapt.setToolTip("steps of the W-Net losses on this image before predicting")
        form.addRow("Adaptation steps", self.adapt)

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

        self.use_crf = QCheckBox("Dense CRF refinement (without scribbles)")
        self.use_crf.setChecked(describe("use_crf")["default"])
        form.addRow(self.use_crf)
        self.crf_box = QCollapsible("CRF parameters")  # folded: the defaults serve most images
        self._crf = _crf_container()
        self._crf.margins = (0, 0, 0, 0)
        self.crf_box.addWidget(self._crf.native)
        self.crf_box.collapse(animate=False)
        form.addRow(self.crf_box)

        self.method.currentIndexChanged.connect(self._sync)
        self.preset.currentIndexChanged.connect(self._sync)  # the default iterations follow the preset
        self.use_crf.toggled.connect(self.crf_box.setVisible)
        self._sync()

    def _rows(self) -> dict[str, QWidget]:
        """The fields of the settings that apply to some segmenters only."""
        return {"preset": self.preset, "max_iter": self.iterations, "adapt": self.adapt, "weights": self._weights_row}

    def _sync(self) -> None:
        method = self.method_key()
        for name, widget in self._rows().items():
            shown = applies(name, method)
            widget.setVisible(shown)
            self._form.labelForField(widget).setVisible(shown)
        default = ClusterParams.preset(self.preset.currentText()).max_iter
        self.iterations.setSpecialValueText(f"default ({default}; {SCRIBBLE_MAX_ITER} with scribbles)")

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
        return RunSettings(
            method=self.method_key(),
            preset=self.preset.currentText(),
            max_iter=self.iterations.value() or None,
            adapt=self.adapt.value(),
            seed=self.seed.value(),
            device=self.device.currentText(),
            use_crf=self.use_crf.isChecked(),
            crf=self.crf_values(),
            weights=self.weights.text().strip() or None,
        )
