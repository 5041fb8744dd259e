"""Ctrl+Z on the result layer and the merge slider, in either order (issue #11, item 2).

Each slider release is one undo step of the result layer, and Ctrl+Z puts the slider
back with the data; hand edits are the pixels that differ from the cut at the slider's
threshold: they survive slider moves, and Ctrl+Z of an edit takes it out of them.
"""

from __future__ import annotations

import json

import numpy as np
from conftest import mouse_stroke
from napari.utils._test_utils import read_only_mouse_event
from napari.utils.interactions import mouse_press_callbacks, mouse_release_callbacks
from qtpy.QtCore import Qt

from napari_unsup_seg._napari.merge import STEPS

STROKE = [(6, 6), (6, 12), (6, 18)]  # across the red part, painted with the green block's class
GREEN = 3


def _cut(seg, threshold: float) -> np.ndarray:
    """The merged labels at ``threshold`` (what the slider alone shows)."""
    return seg.labels if threshold <= 0 else seg.classes(threshold)


def _positions(panel, seg) -> tuple[int, int]:
    """Two slider positions whose cuts differ from each other and from position 0."""
    cuts = {}
    for value in range(50, STEPS + 1, 50):
        cuts[value] = _cut(seg, panel._threshold_at(value))
    first = next(v for v, c in cuts.items() if not np.array_equal(c, seg.labels))
    second = next(v for v, c in cuts.items() if v > first and not np.array_equal(c, cuts[first]))
    return first, second


def _drag(panel, qtbot, value: int, via: int | None = None) -> None:
    """The slider dragged to ``value`` (through ``via``, default halfway), then released."""
    slider = panel.slider
    slider.setSliderDown(True)  # what a press on the handle does
    for v in (int((slider.value() + value) / 2) if via is None else via, value):
        slider.setValue(v)
        qtbot.wait(20)  # the panel draws while the slider moves
    slider.setSliderDown(False)  # the release
    qtbot.wait(20)


def _paint(viewer, layer, label: int) -> np.ndarray:
    """One brush stroke of ``label`` along :data:`STROKE`; the pixels it changed."""
    painted = mouse_stroke(viewer, layer, label, STROKE)
    assert painted.sum() > 20
    return painted


def _ctrl_z(viewer, qtbot, redo: bool = False) -> None:
    """Ctrl+Z (``redo``: Shift+Ctrl+Z) pressed on the canvas."""
    modifiers = Qt.KeyboardModifier.ControlModifier
    if redo:
        modifiers |= Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(viewer.window._qt_viewer.canvas.native, Qt.Key.Key_Z, modifiers)


def _expect(panel, result, seg, threshold: float, painted: np.ndarray | None = None) -> None:
    """The layer shows the cut at ``threshold`` with the ``painted`` pixels green; the edit count matches."""
    assert panel.threshold == threshold
    assert panel._threshold_at(panel.slider.value()) == threshold  # the slider shows it
    expected = np.array(_cut(seg, threshold), copy=True)
    if painted is not None:
        expected[painted] = GREEN
    np.testing.assert_array_equal(result.data, expected)
    assert panel.edited_pixels() == int((expected != _cut(seg, threshold)).sum())


def _recorded_edits(widget, folder) -> int:
    widget.save(folder)
    recipe = json.loads((folder / "tiny_recipe.json").read_text())
    return recipe["napari"]["pixels_edited_by_hand"]


def test_slider_then_paint_then_undo_then_slider(loaded, qtbot, run_and_wait, tmp_path):
    viewer, widget, image, scribbles = loaded
    run_and_wait(widget)
    result, seg, panel = widget.result_layer(), widget.merge.segmentation, widget.merge
    first, second = _positions(panel, seg)

    _drag(panel, qtbot, first)
    t1 = panel.threshold
    _expect(panel, result, seg, t1)
    painted = _paint(viewer, result, GREEN)
    _expect(panel, result, seg, t1, painted)
    assert _recorded_edits(widget, tmp_path / "a") == int((_cut(seg, t1)[painted] != GREEN).sum()) > 0

    _ctrl_z(viewer, qtbot)  # takes the stroke back, and out of the hand edits
    _expect(panel, result, seg, t1)
    assert _recorded_edits(widget, tmp_path / "b") == 0

    _drag(panel, qtbot, second)
    _expect(panel, result, seg, panel._threshold_at(second))  # the cut alone: no trace of the stroke
    assert _recorded_edits(widget, tmp_path / "c") == 0


def test_paint_then_slider_then_undo_twice(loaded, qtbot, run_and_wait, tmp_path):
    viewer, widget, image, scribbles = loaded
    run_and_wait(widget)
    result, seg, panel = widget.result_layer(), widget.merge.segmentation, widget.merge
    first, second = _positions(panel, seg)

    painted = _paint(viewer, result, GREEN)
    _expect(panel, result, seg, 0.0, painted)

    assert not np.array_equal(_cut(seg, panel._threshold_at(second)), seg.labels)
    _drag(panel, qtbot, first, via=second)  # drawn on the way; the stroke stays on top of each cut
    t1 = panel.threshold
    _expect(panel, result, seg, t1, painted)
    assert _recorded_edits(widget, tmp_path / "a") == int((_cut(seg, t1)[painted] != GREEN).sum())

    _ctrl_z(viewer, qtbot)  # the whole drag is one step: the slider goes back to 0 with the data
    _expect(panel, result, seg, 0.0, painted)
    assert panel.counter.text().startswith("threshold 0.000")

    _ctrl_z(viewer, qtbot)  # then the stroke
    _expect(panel, result, seg, 0.0)
    assert _recorded_edits(widget, tmp_path / "b") == 0

    _ctrl_z(viewer, qtbot, redo=True)
    _expect(panel, result, seg, 0.0, painted)
    _ctrl_z(viewer, qtbot, redo=True)  # the slider comes forward with the data
    _expect(panel, result, seg, t1, painted)
    _ctrl_z(viewer, qtbot)
    _ctrl_z(viewer, qtbot)

    _drag(panel, qtbot, second)
    _expect(panel, result, seg, panel._threshold_at(second))
    assert _recorded_edits(widget, tmp_path / "c") == 0


def _click(layer, row, col):
    """A left click (press + release, no move) at a data pixel of ``layer``."""
    position = tuple(layer.data_to_world((row, col)))
    mouse_press_callbacks(layer, read_only_mouse_event(type="mouse_press", button=1, position=position))
    mouse_release_callbacks(layer, read_only_mouse_event(type="mouse_release", button=1, position=position))


def test_a_click_to_assign_is_one_step_and_its_region_stays_whole(loaded, qtbot, run_and_wait):
    viewer, widget, image, scribbles = loaded
    run_and_wait(widget)
    result, seg, panel = widget.result_layer(), widget.merge.segmentation, widget.merge
    first, second = _positions(panel, seg)
    _drag(panel, qtbot, first)
    regions = panel.regions()
    region = regions == regions[6, 6]
    widget.legend.add_button.click()  # a new class 4, selected
    panel.assign.setChecked(True)
    _click(result, 6, 6)
    assert np.all(result.data[region] == 4)
    assert panel.edited_pixels() == region.sum()

    _drag(panel, qtbot, second)
    assert np.all(result.data[region] == 4)
    _ctrl_z(viewer, qtbot)  # the slider step
    assert panel.threshold == panel._threshold_at(first) and np.all(result.data[region] == 4)
    _ctrl_z(viewer, qtbot)  # the click
    _expect(panel, result, seg, panel._threshold_at(first))
    _drag(panel, qtbot, second)
    _expect(panel, result, seg, panel._threshold_at(second))


def test_a_drag_draws_each_move_at_once_outside_the_history(loaded, qtbot, run_and_wait):
    """Each move of a drag shows its cut at once, redrawing what changed (not the whole layer),
    keeps hand edits and writes no undo step; the release writes one, and Ctrl+Z of it restores
    the data from before the drag."""
    viewer, widget, image, scribbles = loaded
    run_and_wait(widget)
    result, seg, panel = widget.result_layer(), widget.merge.segmentation, widget.merge
    painted = _paint(viewer, result, GREEN)
    before = np.array(result.data, copy=True)
    first, second = _positions(panel, seg)
    partial, history = [], len(result._undo_history)
    result.events.labels_update.connect(lambda event: partial.append(event.offset))
    slider = panel.slider
    slider.setSliderDown(True)
    for value in (first, second, first):
        slider.setValue(value)  # no event processed: drawn in the move itself
        expected = np.array(_cut(seg, panel._threshold_at(value)), copy=True)
        expected[painted] = GREEN
        np.testing.assert_array_equal(result.data, expected)
        qtbot.wait(5)
    assert len(partial) == 3  # each move redrew only what changed
    assert len(result._undo_history) == history
    slider.setValue(second)
    slider.setValue(first)  # a second move before the event loop runs waits for it
    qtbot.waitUntil(lambda: panel.threshold == panel._threshold_at(first), timeout=2000)
    slider.setSliderDown(False)
    qtbot.wait(20)
    assert len(result._undo_history) == history + 1
    _expect(panel, result, seg, panel._threshold_at(first), painted)
    _ctrl_z(viewer, qtbot)
    np.testing.assert_array_equal(result.data, before)
    _drag(panel, qtbot, panel.slider.value(), via=second)  # there and back: no step, the redo stays
    np.testing.assert_array_equal(result.data, before)
    _ctrl_z(viewer, qtbot, redo=True)
    _expect(panel, result, seg, panel._threshold_at(first), painted)
