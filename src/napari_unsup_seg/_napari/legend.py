"""Class legend of a scribbles layer: number, colour and an editable name per class.

Selecting a row makes that class the layer's paint label (and the class used by
click-to-assign); "Add class" adds the next number and selects it. Painting can only
add the layer's selected label, which is listed as soon as it is selected. Names live in the
scribbles layer's metadata, so they travel with the layer.
"""

from __future__ import annotations

import numpy as np
from napari.layers import Labels
from qtpy.QtCore import Qt, Signal
from qtpy.QtGui import QColor
from qtpy.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .layers import DEFAULT_CLASSES, plugin_meta

_NUMBER, _COLOUR, _NAME = range(3)


def _present_classes(layer: Labels) -> set[int]:
    values = np.unique(np.asarray(layer.data))
    return {int(v) for v in values if v > 0}


def _swatch(rgba) -> QLabel:
    swatch = QLabel()
    r, g, b, a = (int(round(255 * float(c))) for c in rgba)
    swatch.setStyleSheet(f"background-color: rgba({r}, {g}, {b}, {a}); margin: 3px;")
    swatch.setMinimumWidth(24)
    return swatch


class ClassLegend(QWidget):
    """Legend of the classes of one scribbles layer (``set_layer``)."""

    names_changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._layer: Labels | None = None
        self._updating = False
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["#", "", "Class name"])
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(_NUMBER, QHeaderView.ResizeToContents)
        header.setSectionResizeMode(_COLOUR, QHeaderView.ResizeToContents)
        header.setSectionResizeMode(_NAME, QHeaderView.Stretch)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.add_button = QPushButton("Add class")
        self.add_button.setToolTip("add the next class number and paint with it")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.add_button)
        layout.addLayout(row)

        self.add_button.clicked.connect(self.add_class)
        self.table.itemSelectionChanged.connect(self._on_row_selected)
        self.table.itemChanged.connect(self._on_item_changed)
        self.setEnabled(False)

    # -- public -----------------------------------------------------------------
    @property
    def layer(self) -> Labels | None:
        return self._layer

    def set_layer(self, layer: Labels | None) -> None:
        """Show the classes of ``layer`` (None clears the legend)."""
        if self._layer is not None:
            for emitter, slot in self._connections(self._layer):
                emitter.disconnect(slot)
        self._layer = layer
        self.setEnabled(layer is not None)
        if layer is not None:
            for emitter, slot in self._connections(layer):
                emitter.connect(slot)
            names = self._names_store()
            wanted = set(names) | _present_classes(layer) | {int(layer.selected_label)}
            wanted |= set(range(1, DEFAULT_CLASSES + 1))
            for k in wanted:
                names.setdefault(k, f"class {k}")
        self._rebuild()

    def classes(self) -> list[int]:
        return sorted(self._names_store())

    def names(self) -> dict[int, str]:
        """{class number: name} for every listed class."""
        return dict(sorted(self._names_store().items()))

    def current_class(self) -> int:
        return int(self._layer.selected_label) if self._layer is not None else 1

    def select_class(self, k: int) -> None:
        if self._layer is not None:
            self._layer.selected_label = int(k)

    def add_class(self) -> int:
        """Add class max+1, select it and return its number."""
        if self._layer is None:
            return 0
        k = max(set(self.classes()) | _present_classes(self._layer), default=0) + 1
        self._names_store()[k] = f"class {k}"
        self._rebuild()
        self.select_class(k)
        self.names_changed.emit()
        return k

    # -- internals --------------------------------------------------------------
    def _connections(self, layer: Labels):
        return [
            (layer.events.selected_label, self._on_layer_selected_label),
            (layer.events.colormap, self._on_colormap),
            (layer.events.data, self._on_data),
        ]

    def _names_store(self) -> dict[int, str]:
        if self._layer is None:
            return {}
        return plugin_meta(self._layer).setdefault("class_names", {})

    def _rebuild(self) -> None:
        self._updating = True
        try:
            names = self.names()
            self.table.setRowCount(len(names))
            for row, (k, name) in enumerate(names.items()):
                number = QTableWidgetItem(str(k))
                number.setFlags(Qt.ItemIsSelectable | Qt.ItemIsEnabled)
                number.setData(Qt.UserRole, k)
                colour = QTableWidgetItem("")
                colour.setFlags(Qt.ItemIsSelectable | Qt.ItemIsEnabled)
                rgba = self._layer.get_color(k) if self._layer is not None else None
                if rgba is not None:
                    colour.setBackground(QColor.fromRgbF(*[float(c) for c in rgba]))
                    # a swatch widget keeps its colour when the row is highlighted
                    self.table.setCellWidget(row, _COLOUR, _swatch(rgba))
                label = QTableWidgetItem(name)
                label.setFlags(Qt.ItemIsSelectable | Qt.ItemIsEnabled | Qt.ItemIsEditable)
                for col, item in ((_NUMBER, number), (_COLOUR, colour), (_NAME, label)):
                    self.table.setItem(row, col, item)
            self._select_row_of(self.current_class())
            rows = min(max(len(names), 2), 6)
            height = self.table.horizontalHeader().height() + rows * self.table.verticalHeader().defaultSectionSize()
            self.table.setFixedHeight(height + 2 * self.table.frameWidth())
        finally:
            self._updating = False

    def _select_row_of(self, k: int) -> None:
        for row in range(self.table.rowCount()):
            if self.table.item(row, _NUMBER).data(Qt.UserRole) == k:
                self.table.selectRow(row)
                return
        self.table.clearSelection()

    def _on_row_selected(self) -> None:
        if self._updating:
            return
        rows = {index.row() for index in self.table.selectedIndexes()}
        if len(rows) == 1:
            self.select_class(self.table.item(rows.pop(), _NUMBER).data(Qt.UserRole))

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if self._updating or item.column() != _NAME:
            return
        k = self.table.item(item.row(), _NUMBER).data(Qt.UserRole)
        self._names_store()[k] = item.text().strip() or f"class {k}"
        self.names_changed.emit()

    def _on_layer_selected_label(self, event=None) -> None:
        k = self.current_class()
        if k > 0 and k not in self._names_store():
            self._names_store()[k] = f"class {k}"
            self._rebuild()
            self.names_changed.emit()
            return
        self._updating = True
        try:
            self._select_row_of(k)
        finally:
            self._updating = False

    def _on_colormap(self, event=None) -> None:
        self._rebuild()

    def _on_data(self, event=None) -> None:
        # the whole data was replaced (not a paint stroke): list the classes it holds
        new = _present_classes(self._layer) - set(self._names_store())
        if new:
            for k in new:
                self._names_store()[k] = f"class {k}"
            self._rebuild()
            self.names_changed.emit()
