"""Every error reaches the user as a notification and leaves the layers intact."""

from __future__ import annotations

import numpy as np
import torch

from napari_unsup_seg.core import pipeline


def _errors(notes):
    return [n for n in notes if str(n.severity) == "error"]


def _snapshot(viewer):
    return [(layer.name, np.array(layer.data, copy=True)) for layer in viewer.layers]


def _assert_intact(viewer, snapshot):
    assert [layer.name for layer in viewer.layers] == [name for name, _ in snapshot]
    for layer, (_, data) in zip(viewer.layers, snapshot):
        np.testing.assert_array_equal(layer.data, data)


def test_no_image_and_6d_image(plugin, qtbot, notes):
    viewer, widget = plugin
    assert not widget.run()
    assert "image" in _errors(notes)[-1].message

    viewer.add_image(np.random.default_rng(0).random((2, 2, 2, 3, 24, 32)).astype(np.float32), name="stack")
    qtbot.wait(50)
    assert widget.image_layer().name == "stack"
    assert widget.scribbles_layer() is None  # six axes: nothing the plugin can paint on
    assert not widget.scope_combo.isEnabled()
    snapshot = _snapshot(viewer)
    assert not widget.run()
    message = _errors(notes)[-1].message
    assert "6 axes" in message and "2 to 5" in message
    _assert_intact(viewer, snapshot)


def test_wrong_shape_scribbles(loaded, notes):
    viewer, widget, image, scribbles = loaded
    wrong = viewer.add_labels(np.ones((10, 12), np.int32), name="wrong")
    widget.set_scribbles_layer(wrong)
    snapshot = _snapshot(viewer)
    assert not widget.run()
    assert "scribbles have shape 10x12 but the image is 48x64" in _errors(notes)[-1].message
    _assert_intact(viewer, snapshot)


def test_unreadable_file(plugin, notes, tmp_path):
    viewer, widget = plugin
    bad = tmp_path / "broken.png"
    bad.write_text("not an image")
    assert widget.load_image(bad) is None
    assert "cannot be read" in _errors(notes)[-1].message
    assert len(viewer.layers) == 0


def test_out_of_gpu_memory_offers_retry_on_cpu(loaded, qtbot, notes, monkeypatch):
    viewer, widget, image, scribbles = loaded
    real_segment = pipeline.segment
    devices = []

    def segment(image, scribbles=None, params=pipeline.SegmentParams(), **kwargs):
        devices.append(params.device)
        if params.device != "cpu":
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return (yield from real_segment(image, scribbles, params, **kwargs))

    monkeypatch.setattr(pipeline, "segment", segment)
    widget.params.set_device("cuda")
    snapshot = _snapshot(viewer)
    assert widget.run()
    qtbot.waitUntil(lambda: not widget.running, timeout=30_000)
    error = _errors(notes)[-1]
    assert "ran out of GPU memory" in error.message
    _assert_intact(viewer, snapshot)
    assert widget.run_button.isEnabled()

    ((label, retry),) = error.actions
    assert label == "Retry on CPU"
    retry(None)
    qtbot.waitUntil(lambda: not widget.running, timeout=60_000)
    assert devices == ["cuda", "cpu"]
    assert widget.params.spec().device == "cpu"
    assert widget.result_layer() is not None


def test_a_run_failing_midway_restores_the_result_with_the_users_edits(loaded, run_and_wait, qtbot, notes, monkeypatch):
    viewer, widget, image, scribbles = loaded
    run_and_wait(widget)
    result = widget.result_layer()
    edited = np.array(result.data, copy=True)
    edited[:5, :5] = 3  # a hand edit in the result, then a run that fails after drawing its progress
    result.data = edited
    real_segment = pipeline.segment

    def segment(*args, **kwargs):
        gen = real_segment(*args, **kwargs)
        for _ in range(4):  # previews reach the result layer
            yield next(gen)
        raise RuntimeError("a failure in the middle of the run")

    monkeypatch.setattr(pipeline, "segment", segment)
    snapshot = _snapshot(viewer)
    run_and_wait(widget)
    assert "a failure in the middle of the run" in _errors(notes)[-1].message
    _assert_intact(viewer, snapshot)
    np.testing.assert_array_equal(widget.result_layer().data, edited)
    assert widget.run_button.isEnabled()


def test_no_button_loses_what_the_user_painted(loaded, qtbot, monkeypatch, tmp_path):
    from qtpy.QtCore import Qt
    from qtpy.QtWidgets import QFileDialog, QPushButton

    from napari_unsup_seg._napari import dialogs

    viewer, widget, image, scribbles = loaded
    painted = np.array(scribbles.data, copy=True)
    # dialogs answer as a user who cancels: nothing chosen, nothing confirmed
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: ("", "")))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: ""))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: ("", "")))
    monkeypatch.setattr(dialogs, "confirm_overwrite", lambda *a, **k: False)
    monkeypatch.setattr(dialogs, "pick_colour", lambda *a, **k: None)
    buttons = [b for b in widget.findChildren(QPushButton) if not b.isHidden() and b.isEnabled()]
    assert {"Run", "Start fresh", "New", "Add class"} <= {b.text() for b in buttons}
    for button in buttons:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not widget.running, timeout=60_000)
        np.testing.assert_array_equal(scribbles.data, painted, err_msg=f"after {button.text()!r}")
        assert scribbles in viewer.layers and image in viewer.layers


def test_the_dock_scrolls_in_a_small_window_and_a_long_message_moves_no_button(plugin, qtbot):
    viewer, widget = plugin
    viewer.window._qt_window.resize(900, 480)
    viewer.window._qt_window.show()
    qtbot.waitExposed(viewer.window._qt_window)
    bar = widget.scroll.verticalScrollBar()
    assert bar.maximum() > 0  # more than fits: it scrolls, nothing is squeezed away
    widget.scroll.ensureWidgetVisible(widget.save_button)
    qtbot.wait(20)
    assert not widget.save_button.visibleRegion().isEmpty()

    def places():
        return [b.mapTo(widget.scroll.widget(), b.rect().topLeft()) for b in (widget.stop_button, widget.save_button)]

    before = places()
    widget.status.setText("clustering · iteration 12 · 7 segments · loss 0.123 · " + "a long message " * 40)
    qtbot.wait(20)
    assert places() == before


def test_nan_pixels_are_said_in_a_warning(plugin, qtbot, notes, run_and_wait):
    """A user's report: an image with NaN pixels ran with no word about them (the CLI warns)."""
    viewer, widget = plugin
    image = np.random.default_rng(0).random((40, 48)).astype(np.float32)
    image[5:15, 5:15] = np.nan
    layer = viewer.add_image(image, name="holes")
    qtbot.waitUntil(lambda: widget.scribbles_layer() is not None, timeout=5000)
    widget.params.iterations.setValue(5)
    qtbot.waitUntil(widget.core_ready.is_set, timeout=60_000)
    run_and_wait(widget)
    warned = [n.message for n in notes if str(n.severity) == "warning"]
    assert any("100 pixels are NaN" in m for m in warned), warned
    assert widget.result_layer() is not None and "done" in widget.status.text()
    assert np.isnan(layer.data).sum() == 100  # the layer's data is left as it was
