"""Class legend of a scribbles layer: shown or not, number, colour and an editable name per class.

Selecting a row makes that class the layer's paint label (and the class used by
click-to-assign); "Add class" adds the next number and selects it. Painting can only
add the layer's selected label, which is listed as soon as it is selected. Clicking a
swatch picks that class's colour; unticking a row's box hides the class. Both apply to
the scribbles layer and to the results and previews made from it (:mod:`.class_colours`).
Names, colours and hidden classes live in the scribbles layer's metadata, so they travel
with the layer.
"""

from __future__ import annotations

import numpy as np
from napari.layers import Labels
from qtpy.QtCore import Qt, Signal
from qtpy.QtGui import QColor
from qtpy.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from . import class_colours, dialogs
from ..core.export import present_values
from .layers import DEFAULT_CLASSES, plugin_meta

_NUMBER, _COLOUR, _NAME, _SHOWN = range(4)  # _SHOWN is shown first
HIDDEN_ALPHA = 0.3  # of a hidden class's swatch


def _present_classes(layer: Labels) -> set[int]:
    values = present_values(np.asarray(layer.data))  # at each stroke: by counting, not sorting
    return {int(v) for v in values if v > 0}


def _css(rgba) -> str:
    r, g, b, a = (int(round(255 * float(c))) for c in rgba)
    return f"rgba({r}, {g}, {b}, {a})"


def _swatch(rgba, k: int) -> QPushButton:
    """A button in the class's colour (it keeps it when the row is highlighted)."""
    swatch = QPushButton()
    swatch.setStyleSheet(
        f"QPushButton {{ background-color: {_css(rgba)}; border: none; border-radius: 2px; margin: 4px; }}"
    )
    swatch.setMinimumWidth(32)
    swatch.setCursor(Qt.PointingHandCursor)
    swatch.setToolTip(f"class {k}: click to choose its colour")
    return swatch


def _centred(widget: QWidget) -> QWidget:
    box = QWidget()
    layout = QHBoxLayout(box)
    layout.setContentsMargins(4, 0, 4, 0)
    layout.addWidget(widget, 0, Qt.AlignCenter)
    return box


class ClassLegend(QWidget):
    """Legend of the classes of one scribbles layer (``set_layer``)."""

    names_changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._layer: Labels | None = None
        self._updating = False
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["#", "Colour", "Class name", "Show"])
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        for col in (_SHOWN, _NUMBER, _COLOUR):
            header.setSectionResizeMode(col, QHeaderView.ResizeToContents)
        header.setSectionResizeMode(_NAME, QHeaderView.Stretch)
        header.moveSection(_SHOWN, 0)  # the tick box comes first, as the eye of napari's layer list
        self.table.horizontalHeaderItem(_SHOWN).setToolTip("untick to hide the class in the scribbles and results")
        self.table.horizontalHeaderItem(_COLOUR).setToolTip("click a colour to change it")
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
            class_colours.ensure(layer, names)
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
        self._list({k})
        self.select_class(k)
        return k

    def class_colour(self, k: int) -> tuple[float, ...] | None:
        """RGBA of class ``k`` (None when not listed); a hidden class keeps its colour."""
        return class_colours.colours(self._layer).get(int(k)) if self._layer is not None else None

    def set_class_colour(self, k: int, rgba) -> None:
        """Show class ``k`` in ``rgba`` in the scribbles and in the results and previews made from them."""
        if self._layer is not None:
            class_colours.set_colour(self._layer, k, rgba)

    def is_class_visible(self, k: int) -> bool:
        return self._layer is None or int(k) not in class_colours.hidden(self._layer)

    def set_class_visible(self, k: int, visible: bool) -> None:
        """Show or hide class ``k`` in the scribbles and in the results made from them (data untouched)."""
        if self._layer is not None:
            class_colours.set_visible(self._layer, k, visible)

    def pick_colour(self, k: int) -> None:
        """Ask for the colour of class ``k`` (what a click on its swatch does)."""
        rgba = dialogs.pick_colour(self, self.class_colour(k), f"Colour of {self.names().get(k, f'class {k}')}")
        if rgba is not None:
            self.set_class_colour(k, rgba)

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

    def _list(self, new: set[int]) -> None:
        """List the classes ``new`` (default names, palette colours) and tell the widget."""
        for k in new:
            self._names_store()[k] = f"class {k}"
        class_colours.ensure(self._layer, new)
        self._rebuild()
        self.names_changed.emit()

    def _rebuild(self) -> None:
        self._updating = True
        try:
            names = self.names()
            self.table.setRowCount(len(names))
            for row, (k, name) in enumerate(names.items()):
                self._fill_row(row, k, name)
            self._select_row_of(self.current_class())
            rows = min(max(len(names), 2), 6)
            height = self.table.horizontalHeader().height() + rows * self.table.verticalHeader().defaultSectionSize()
            self.table.setFixedHeight(height + 2 * self.table.frameWidth())
        finally:
            self._updating = False

    def _fill_row(self, row: int, k: int, name: str) -> None:
        number = QTableWidgetItem(str(k))
        number.setFlags(Qt.ItemIsSelectable | Qt.ItemIsEnabled)
        number.setData(Qt.UserRole, k)
        label = QTableWidgetItem(name)
        label.setFlags(Qt.ItemIsSelectable | Qt.ItemIsEnabled | Qt.ItemIsEditable)
        colour, shown = QTableWidgetItem(""), QTableWidgetItem("")
        for item in (colour, shown):
            item.setFlags(Qt.ItemIsSelectable | Qt.ItemIsEnabled)
        for col, item in ((_NUMBER, number), (_COLOUR, colour), (_NAME, label), (_SHOWN, shown)):
            self.table.setItem(row, col, item)
        rgba, visible = self.class_colour(k), self.is_class_visible(k)
        if rgba is not None:
            rgba = rgba if visible else (*rgba[:3], HIDDEN_ALPHA)  # a hidden class's colour, faint
            colour.setBackground(QColor.fromRgbF(*[float(c) for c in rgba]))
            swatch = _swatch(rgba, k)
            swatch.clicked.connect(lambda _=False, k=k: self.pick_colour(k))
            self.table.setCellWidget(row, _COLOUR, swatch)
        box = QCheckBox()
        box.setChecked(visible)
        box.setToolTip(f"show class {k} in the scribbles and results")
        box.toggled.connect(lambda on, k=k: self.set_class_visible(k, on))
        self.table.setCellWidget(row, _SHOWN, _centred(box))

    def shown_box(self, row: int) -> QCheckBox:
        """The tick box of a row (shown or hidden)."""
        return self.table.cellWidget(row, _SHOWN).findChild(QCheckBox)

    def swatch(self, row: int) -> QPushButton:
        """The colour button of a row."""
        return self.table.cellWidget(row, _COLOUR)

    def _select_row_of(self, k: int) -> None:
        for row in range(self.table.rowCount()):
            if self.table.item(row, _NUMBER).data(Qt.UserRole) == k:
                self.table.setCurrentCell(row, _NAME)  # the focus frame, if any, on the editable cell
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
            self._list({k})
            return
        self._updating = True
        try:
            self._select_row_of(k)
        finally:
            self._updating = False

    def _on_colormap(self, event=None) -> None:
        # set from outside (napari's controls, a script): those colours become the classes'
        class_colours.adopt(self._layer, self.classes())
        self._rebuild()

    def _on_data(self, event=None) -> None:
        # the whole data was replaced (not a paint stroke): list the classes it holds
        new = _present_classes(self._layer) - set(self._names_store())
        if new:
            self._list(new)
