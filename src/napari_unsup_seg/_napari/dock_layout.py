"""The dock's layout: the Run controls, titled groups, and a scroll area as wide as its content.

A small window scrolls the dock instead of squeezing it; the status line has a fixed
height and ignores its text's width, so neither a long message nor a run moves the
buttons (Stop stays where it was pressed).
"""

from __future__ import annotations

from qtpy.QtCore import QEvent, QObject, Qt
from qtpy.QtWidgets import (
    QCheckBox,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

STATUS_LINES = 3  # the status line's height, in lines of text


def group(title: str, *widgets: QWidget) -> QGroupBox:
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    for w in widgets:
        layout.addWidget(w)
    return box


def row(*widgets: QWidget) -> QWidget:
    line = QWidget()
    layout = QHBoxLayout(line)
    layout.setContentsMargins(0, 0, 0, 0)
    for w in widgets:
        layout.addWidget(w)
    return line


class RunControls:
    """Run, Stop and Start fresh; the live, replace and uncertainty boxes; progress and status."""

    def __init__(self):
        self.run_button = QPushButton("Run")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.fresh_button = QPushButton("Start fresh")
        self.fresh_button.setToolTip("forget what the network learned on this image and run from new weights")
        self.live_box = QCheckBox("Live: update the mask when a stroke ends")
        self.live_box.setChecked(True)
        self.replace_box = QCheckBox("Replace previous result")
        self.replace_box.setChecked(True)
        self.replace_box.setToolTip("put the new result in the previous result layer (Ctrl+Z there undoes it)")
        self.uncertainty_box = QCheckBox("Show uncertainty (where to scribble next)")
        self.uncertainty_box.setToolTip("1 minus the margin between the two likeliest classes: bright = unsure")
        self.progress = QProgressBar()
        self.status = QLabel("paint a few strokes per class, then Run")
        self.status.setWordWrap(True)
        self.status.setFixedHeight(self.status.fontMetrics().lineSpacing() * STATUS_LINES + 4)
        self.status.setAlignment(Qt.AlignLeft | Qt.AlignTop)
        self.status.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)

    def widgets(self, stack: QWidget) -> list[QWidget]:
        """In the order the Run group shows them, below the stack's axes and scope."""
        return [
            stack,
            row(self.run_button, self.stop_button, self.fresh_button),
            self.live_box,
            self.replace_box,
            self.uncertainty_box,
            self.progress,
            self.status,
        ]

    def set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.fresh_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        if running:
            self.progress.setRange(0, 0)  # busy until the first iteration reports
            self.progress.setFormat("starting...")
        else:
            self.progress.setRange(0, 1)
            self.progress.setValue(1)
            self.progress.setFormat("")


class _FitWidth(QObject):
    """Keeps a scroll area as wide as its content needs (it scrolls only vertically)."""

    def __init__(self, scroll: QScrollArea):
        super().__init__(scroll)
        self._scroll = scroll

    def fit(self) -> None:
        scroll = self._scroll
        width = scroll.widget().sizeHint().width() + scroll.verticalScrollBar().sizeHint().width()
        if scroll.minimumWidth() != width:
            scroll.setMinimumWidth(width)

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.LayoutRequest:
            self.fit()
        return False


def scrolling(owner: QWidget, *panels: QWidget) -> QScrollArea:
    """Lay ``panels`` out top to bottom in a vertical scroll area filling ``owner``."""
    content = QWidget()
    layout = QVBoxLayout(content)
    for panel in panels:
        layout.addWidget(panel)
    layout.addStretch(1)
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.NoFrame)
    scroll.setWidget(content)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
    fitter = _FitWidth(scroll)
    content.installEventFilter(fitter)
    fitter.fit()
    outer = QVBoxLayout(owner)
    outer.setContentsMargins(0, 0, 0, 0)
    outer.addWidget(scroll)
    return scroll
