"""Fixtures for the napari tests: a viewer with the plugin docked on a tiny image.

The tests run under Xvfb (pytest-xvfb); QT_QPA_PLATFORM=offscreen must not be set,
as it breaks layer drawing.
"""

from __future__ import annotations


import numpy as np
import pytest

WIDGET = "Scribble segmentation"

# the start of a script that drives napari in a child process (a crash there is the test's
# failure, not the suite's): ``pump(seconds)`` keeps Qt's events flowing
CHILD_PREAMBLE = r"""
import sys, time
import numpy as np
import napari
from qtpy.QtWidgets import QApplication

def pump(seconds):
    end = time.time() + seconds
    while time.time() < end:
        QApplication.processEvents()
        time.sleep(0.01)
"""
H, W = 48, 64


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    # the test machine is shared: keep the worker thread's torch on one core
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(autouse=True)
def _no_unanswered_dialogs(monkeypatch):
    """A modal dialog that a test does not answer waits for a click forever, and the suite's
    timeout then ends the whole run: such a dialog fails its test at once instead. A test
    answers a dialog by monkeypatching it (after this fixture, so it wins)."""
    from qtpy.QtWidgets import QColorDialog, QFileDialog, QMessageBox

    def unanswered(*args, **kwargs):
        raise AssertionError("a modal dialog opened that this test does not answer: monkeypatch it")

    for cls, names in (
        (QColorDialog, ("getColor",)),
        (QFileDialog, ("getOpenFileName", "getOpenFileNames", "getExistingDirectory", "getSaveFileName")),
        (QMessageBox, ("question", "warning", "information", "critical")),
    ):
        for name in names:
            monkeypatch.setattr(cls, name, staticmethod(unanswered))


def make_image() -> np.ndarray:
    """(48, 64, 3) uint8: red left, blue right, a green block across the middle, noise."""
    rng = np.random.default_rng(0)
    img = np.zeros((H, W, 3), np.float32)
    img[:, :32, 0] = 0.85
    img[:, 32:, 2] = 0.85
    img[12:30, 20:44] = (0.1, 0.9, 0.2)
    img += rng.normal(0, 0.04, img.shape)
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


def make_scribbles() -> np.ndarray:
    """Strokes: class 1 in the red part, 2 in the blue part, 3 in the green block."""
    s = np.zeros((H, W), np.int32)
    s[38:41, 4:24] = 1
    s[38:41, 42:60] = 2
    s[19:22, 26:38] = 3
    return s


@pytest.fixture
def notes():
    """Notifications dispatched during the test, in order."""
    from napari.utils.notifications import notification_manager

    got = []
    notification_manager.notification_ready.connect(got.append)
    yield got
    notification_manager.notification_ready.disconnect(got.append)


@pytest.fixture
def plugin(make_napari_viewer):
    """(viewer, widget): the plugin docked through its manifest."""
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-unsup-seg", WIDGET)
    return viewer, widget


@pytest.fixture
def loaded(plugin, qtbot):
    """(viewer, widget, image layer, scribbles layer) with strokes painted, settings for speed."""
    viewer, widget = plugin
    image = viewer.add_image(make_image(), name="tiny", rgb=True)
    qtbot.waitUntil(lambda: widget.scribbles_layer() is not None, timeout=5000)
    scribbles = widget.scribbles_layer()
    scribbles.data = make_scribbles()
    widget.params.iterations.setValue(40)
    widget.params.use_crf.setChecked(False)
    qtbot.waitUntil(widget.core_ready.is_set, timeout=60_000)  # torch imported
    return viewer, widget, image, scribbles


@pytest.fixture
def tiny():
    """(image, scribbles) arrays of the tiny test scene."""
    return make_image(), make_scribbles()


@pytest.fixture
def run_and_wait(qtbot):
    """Start a run through the widget and wait for its result (or error) to arrive."""

    def run(widget, timeout: int = 60_000):
        assert widget.run(), "the run did not start"
        qtbot.waitUntil(lambda: not widget.running, timeout=timeout)

    return run


def mouse_stroke(viewer, layer, label: int, points) -> np.ndarray:
    """One brush stroke of ``label`` through ``points`` (data coordinates), as the mouse paints
    it (press, moves, release through napari's callbacks); returns the pixels it changed."""
    from napari.utils._test_utils import read_only_mouse_event
    from napari.utils.interactions import mouse_move_callbacks, mouse_press_callbacks, mouse_release_callbacks

    viewer.layers.selection.active = layer
    layer.mode, layer.selected_label, layer.brush_size = "paint", label, 3
    before = np.array(layer.data, copy=True)

    def event(kind, point):
        return read_only_mouse_event(
            type=kind,
            button=1,
            position=tuple(layer.data_to_world(point)),
            view_direction=[1, 0],
            dims_displayed=[0, 1],
        )

    mouse_press_callbacks(layer, event("mouse_press", points[0]))
    for point in points[1:]:
        mouse_move_callbacks(layer, event("mouse_move", point))
    mouse_release_callbacks(layer, event("mouse_release", points[-1]))
    layer.mode = "pan_zoom"
    return np.asarray(layer.data) != before
