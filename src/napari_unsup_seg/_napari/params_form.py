"""The parameter panel: method, preset, iterations, seed, device, W-Net weights, dense CRF.

It produces a :class:`core.settings.RunSettings`, the model behind the CLI's flags too. Its
fields are magicgui widgets made from that model's types and metadata (ranges, choices,
tooltips; :mod:`.setting_widgets`), the CRF fields from ``core.crf.CRFParams``. Two are
Qt spin boxes: the iterations and the adaptation steps, whose 0 reads as words ("default
(...)", "none"), which magicgui's integer field (superqt's QLargeIntSpinBox) cannot show.
The weights file's "..." button opens ``dialogs.choose_weights``, as every dialog of the
dock is opened from ``dialogs`` (magicgui's FileEdit opens its own, which tests cannot answer).
"""

from __future__ import annotations

from qtpy.QtWidgets import QFormLayout, QHBoxLayout, QPushButton, QSpinBox, QWidget
from superqt import QCollapsible

from ..core.cluster_params import PRESETS, SCRIBBLE_MAX_ITER, ClusterParams
from ..core.crf import CRFParams
from ..core.segmenters import SEGMENTERS
from ..core.settings import RunSettings, applies, describe, settings_from_record
from . import dialogs, notify
from .setting_widgets import dataclass_container, setting_widget

DEVICES = ("auto", "cpu", "cuda", "mps")


class ParamsForm(QWidget):
    """Run settings. ``spec()`` returns them; ``set_device`` is used by "retry on CPU".

    ``fields`` holds the magicgui widgets by setting name; ``method``, ``preset``, ``seed``,
    ``device``, ``weights`` (the file's text field) and ``use_crf`` are their Qt widgets.
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._form = form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        self.fields = {
            "method": setting_widget("method", choices=[(s.label, key) for key, s in SEGMENTERS.items()]),
            "preset": setting_widget("preset", choices=tuple(PRESETS)),
            "seed": setting_widget("seed"),
            "device": setting_widget("device", choices=DEVICES),
            "weights": setting_widget("weights"),
            "use_crf": setting_widget("use_crf", label="Dense CRF refinement (without scribbles)"),
        }
        self.method, self.preset = self.fields["method"].native, self.fields["preset"].native
        self.seed, self.device = self.fields["seed"].native, self.fields["device"].native
        self.use_crf = self.fields["use_crf"].native

        self.iterations = QSpinBox()
        self.iterations.setRange(0, describe("max_iter")["high"])
        self.iterations.setToolTip(
            f"0 keeps the defaults: the preset's maximum, {SCRIBBLE_MAX_ITER} with scribbles (the scribbles' random "
            "walks decide the classes; the network only learns features for them)"
        )
        self.adapt = QSpinBox()
        self.adapt.setRange(0, describe("adapt")["high"])
        self.adapt.setSpecialValueText("none")
        self.adapt.setToolTip("steps of the W-Net losses on this image before predicting")

        self.weights = self.fields["weights"].native
        self.weights.setPlaceholderText("shipped BSDS500 weights")
        browse = QPushButton("...")
        browse.setMaximumWidth(30)
        browse.clicked.connect(self._browse_weights)
        self._weights_row = QWidget()
        row = QHBoxLayout(self._weights_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.weights)
        row.addWidget(browse)

        for label, widget in (
            ("Method", self.method),
            ("Preset", self.preset),
            ("Max iterations", self.iterations),
            ("Adaptation steps", self.adapt),
            ("Seed", self.seed),
            ("Device", self.device),
            ("W-Net weights", self._weights_row),
        ):
            form.addRow(label, widget)
        form.addRow(self.use_crf)
        self.crf_box = QCollapsible("CRF parameters")  # folded: the defaults serve most images
        self._crf = dataclass_container(CRFParams)
        self._crf.margins = (0, 0, 0, 0)
        self.crf_box.addWidget(self._crf.native)
        self.crf_box.collapse(animate=False)
        form.addRow(self.crf_box)

        self.fields["method"].changed.connect(self._sync)
        self.fields["preset"].changed.connect(self._sync)  # the default iterations follow the preset
        self.fields["use_crf"].changed.connect(lambda on: self.crf_box.setVisible(on))
        self._sync()

    def _rows(self) -> dict[str, QWidget]:
        """The fields of the settings that apply to some segmenters only."""
        return {"preset": self.preset, "max_iter": self.iterations, "adapt": self.adapt, "weights": self._weights_row}

    def _sync(self, *_) -> None:
        method = self.method_key()
        for name, widget in self._rows().items():
            shown = applies(name, method)
            widget.setVisible(shown)
            self._form.labelForField(widget).setVisible(shown)
        default = ClusterParams.preset(self.fields["preset"].value).max_iter
        self.iterations.setSpecialValueText(f"default ({default}; {SCRIBBLE_MAX_ITER} with scribbles)")

    def _browse_weights(self) -> None:
        path = dialogs.choose_weights(self)
        if path is not None:
            self.fields["weights"].value = str(path)

    def method_key(self) -> str:
        return self.fields["method"].value

    def set_method(self, key: str) -> None:
        self.fields["method"].value = key

    def set_device(self, name: str) -> None:
        self.fields["device"].value = name

    def crf_values(self) -> dict:
        return {widget.name: widget.value for widget in self._crf}

    def set_spec(self, settings: RunSettings) -> None:
        """Show ``settings`` in the form (those of a reopened session's run)."""
        for name, widget in self.fields.items():
            value = getattr(settings, name)
            widget.value = "" if value is None else value
        self.iterations.setValue(settings.max_iter or 0)
        self.adapt.setValue(settings.adapt)
        for widget in self._crf:
            widget.value = settings.crf.get(widget.name, getattr(CRFParams(), widget.name))

    def show_recorded(self, recorded: dict | None) -> None:
        """Show settings recorded with a result (a recipe's ``"settings"``); none recorded: the form stays."""
        if not recorded:
            return
        try:
            self.set_spec(settings_from_record(recorded))
        except (TypeError, ValueError) as err:  # written by another version: the form stays usable
            notify.show(f"the session's run settings were not shown in the form: {err}", "warning")

    def spec(self) -> RunSettings:
        """The current settings (plain values: no torch needed)."""
        values = {name: widget.value for name, widget in self.fields.items()}
        values["weights"] = values["weights"].strip() or None
        return RunSettings(
            **values,
            max_iter=self.iterations.value() or None,
            adapt=self.adapt.value(),
            crf=self.crf_values(),
        )
