"""Qt dialogs, kept in one module so tests can replace them with ``monkeypatch``."""

from __future__ import annotations

from pathlib import Path

from qtpy.QtGui import QColor
from qtpy.QtWidgets import QColorDialog, QFileDialog, QMessageBox, QWidget

from ..core.image import READABLE_SUFFIXES


def open_image_file(parent: QWidget | None = None) -> Path | None:
    """Ask for an image file; None when cancelled."""
    patterns = " ".join(f"*{s}" for s in READABLE_SUFFIXES)
    path, _ = QFileDialog.getOpenFileName(parent, "Load image", "", f"Images ({patterns});;All files (*)")
    return Path(path) if path else None


def choose_weights(parent: QWidget | None = None) -> Path | None:
    """Ask for a W-Net weights file; None when cancelled."""
    path, _ = QFileDialog.getOpenFileName(parent, "W-Net weights", "", "Weights (*.pt *.pth);;All files (*)")
    return Path(path) if path else None


def choose_folder(parent: QWidget | None = None, start: str = "") -> Path | None:
    """Ask for an output folder; None when cancelled."""
    path = QFileDialog.getExistingDirectory(parent, "Save segmentation to folder", start)
    return Path(path) if path else None


def choose_session(parent: QWidget | None = None) -> Path | None:
    """Ask for a saved session folder (``<name>.unsupseg``); None when cancelled."""
    path = QFileDialog.getExistingDirectory(parent, "Open a session (a .unsupseg folder)", "")
    return Path(path) if path else None


def confirm_overwrite(parent: QWidget | None, paths: list[Path]) -> bool:
    """Ask before replacing existing files; True only when the user says yes."""
    names = "\n".join(p.name for p in paths[:12]) + ("\n..." if len(paths) > 12 else "")
    answer = QMessageBox.question(
        parent,
        "Overwrite files?",
        f"{len(paths)} file(s) exist already in {paths[0].parent}:\n{names}\n\nOverwrite them?",
        QMessageBox.Yes | QMessageBox.No,
        QMessageBox.No,
    )
    return answer == QMessageBox.Yes


def pick_colour(parent: QWidget | None, rgba, title: str) -> tuple[float, float, float, float] | None:
    """Ask for a colour, starting from ``rgba`` (floats in [0, 1]); None when cancelled."""
    colour = QColorDialog.getColor(QColor.fromRgbF(*(float(c) for c in rgba)), parent, title)
    return tuple(float(c) for c in colour.getRgbF()) if colour.isValid() else None
