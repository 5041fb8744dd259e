"""Closing the plugin's dock and opening it again (issue #11, item 7).

The per-image state (result, segmentation, merge slider, warm start, scribbles link)
stays with the image layer; a widget opened again picks it up, and a closed one lets
go of the viewer: no run, no live run, no click handled by it.
"""

from __future__ import annotations

import numpy as np
from conftest import WIDGET
from napari.utils._test_utils import read_only_mouse_event
from napari.utils.interactions import mouse_press_callbacks, mouse_release_callbacks
from qtpy.QtCore import QThreadPool

from napari_unsup_seg._napari.live import LIVE_DELAY_MS
from napari_unsup_seg._napari.merge import STEPS


def _close_dock(viewer, widget, qtbot) -> None:
    """A click on the x of the widget's dock."""
    dock = next(d for d in viewer.window._wrapped_dock_widgets.values() if d.widget() is widget)
    dock.title.close_button.click()
    qtbot.wait(10)
    assert widget.parent() is None and not viewer.window._wrapped_dock_widgets


def _reopen(viewer, qtbot):
    """Plugins > Scribble segmentation."""
    _, widget = viewer.window.add_plugin_dock_widget("napari-unsup-seg", WIDGET)
    qtbot.wait(10)
    return widget


def _click(layer, row, col):
    position = tuple(layer.data_to_world((row, col)))
    mouse_press_callbacks(layer, read_only_mouse_event(type="mouse_press", button=1, position=position))
    mouse_release_callbacks(layer, read_only_mouse_event(type="mouse_release", button=1, position=position))


def _cut(seg, threshold):
    return seg.labels if threshold <= 0 else seg.classes(threshold)


def test_reopened_widget_has_the_result_its_slider_and_click_to_assign(loaded, qtbot, run_and_wait):
    viewer, old, image, scribbles = loaded
    run_and_wait(old)
    result, seg = old.result_layer(), old.merge.segmentation
    old.merge.slider.setValue(STEPS // 2)
    qtbot.waitUntil(lambda: old.merge.threshold > 0, timeout=2000)
    threshold, shown = old.merge.threshold, np.array(result.data, copy=True)

    _close_dock(viewer, old, qtbot)
    widget = _reopen(viewer, qtbot)
    widget.params.iterations.setValue(40)
    widget.params.use_crf.setChecked(False)
    assert widget is not old
    assert widget.image_layer() is image and widget.scribbles_layer() is scribbles
    assert widget.result_layer() is result
    panel = widget.merge
    assert panel.layer is result and panel.isEnabled() and panel.slider.isEnabled()
    assert panel.slider.value() == STEPS // 2 and panel.threshold == threshold
    assert f"threshold {threshold:.3f}" in panel.counter.text()
    np.testing.assert_array_equal(result.data, shown)
    assert widget._save_target() is not None  # Save result... has it again

    panel.slider.setValue(STEPS // 5)  # the slider works
    qtbot.waitUntil(lambda: panel.threshold != threshold, timeout=2000)
    np.testing.assert_array_equal(result.data, _cut(seg, panel.threshold))

    widget.legend.add_button.click()  # a new class, then a click on the result assigns it
    k = widget.legend.current_class()
    panel.assign.setChecked(True)
    _click(result, 6, 6)
    regions = panel.regions()
    assert np.all(result.data[regions == regions[6, 6]] == k)
    assert panel.edited_pixels() == int((regions == regions[6, 6]).sum())
    assert old.merge.layer is None and old.merge._on_mouse not in result.mouse_drag_callbacks

    # a stroke on the scribbles starts a live run of the open widget only, warm-started
    scribbles.paint((30, 10), 1)
    qtbot.wait(LIVE_DELAY_MS + 100)
    assert not old.running
    qtbot.waitUntil(lambda: not widget.running, timeout=60_000)
    assert "warm start" in widget.status.text()
    assert widget.result_layer() is result


def test_closing_the_dock_during_a_run_ends_it_cleanly(loaded, qtbot, run_and_wait, notes, capsys):
    viewer, old, image, scribbles = loaded
    run_and_wait(old)
    result = old.result_layer()
    before = np.array(result.data, copy=True)
    old.params.preset.setCurrentText("paper")  # slow on purpose: never converges here
    old.params.iterations.setValue(100_000)
    assert old.run()
    # the run draws its progress in the result layer
    qtbot.waitUntil(lambda: not np.array_equal(result.data, before), timeout=30_000)

    _close_dock(viewer, old, qtbot)
    pool = QThreadPool.globalInstance()
    qtbot.waitUntil(lambda: pool.activeThreadCount() == 0, timeout=10_000)  # the run's thread ended
    qtbot.wait(50)
    np.testing.assert_array_equal(result.data, before)  # its progress drawn in the result is gone
    assert [layer.name for layer in viewer.layers] == ["tiny", "tiny scribbles", "tiny segmentation"]
    assert not [n for n in notes if str(n.severity) in ("warning", "error")]
    assert "Traceback" not in capsys.readouterr().err

    widget = _reopen(viewer, qtbot)
    assert widget.result_layer() is result and widget.merge.layer is result
    widget.params.iterations.setValue(40)
    widget.params.use_crf.setChecked(False)
    run_and_wait(widget)
    assert widget.result_layer() is result and "done" in widget.status.text()


def test_closing_the_dock_during_a_first_run_removes_its_preview(loaded, qtbot, notes):
    viewer, old, image, scribbles = loaded
    old.params.preset.setCurrentText("paper")
    old.params.iterations.setValue(100_000)
    assert old.run()
    qtbot.waitUntil(lambda: old.last_progress is not None and old.last_progress.stage == "cluster", timeout=30_000)
    assert "tiny preview" in viewer.layers

    _close_dock(viewer, old, qtbot)
    pool = QThreadPool.globalInstance()
    qtbot.waitUntil(lambda: pool.activeThreadCount() == 0, timeout=10_000)
    qtbot.wait(50)
    assert [layer.name for layer in viewer.layers] == ["tiny", "tiny scribbles"]
    assert not [n for n in notes if str(n.severity) in ("warning", "error")]
    assert _reopen(viewer, qtbot).result_layer() is None


def test_a_dock_opened_again_keeps_the_settings_and_boxes_the_user_chose(plugin, qtbot):
    viewer, old = plugin
    old.live_box.setChecked(False)  # the user turned live runs off
    old.uncertainty_box.setChecked(True)
    old.params.fields["seed"].value = 11
    old.params.iterations.setValue(60)
    _close_dock(viewer, old, qtbot)
    widget = _reopen(viewer, qtbot)
    assert not widget.live_box.isChecked(), "live runs came back on after the dock was reopened"
    assert widget.uncertainty_box.isChecked()
    spec = widget.params.spec()
    assert (spec.seed, spec.max_iter) == (11, 60)
