"""Commit to labels: the current result written into the user's own Labels layer, one Ctrl+Z step."""

from __future__ import annotations

import numpy as np
from conftest import mouse_stroke
from qtpy.QtCore import Qt

from napari_unsup_seg._napari.commit_panel import NEW_LAYER

H, W = 48, 64  # the fixture image's


def _ctrl_z(viewer, qtbot, redo: bool = False) -> None:
    modifiers = Qt.KeyboardModifier.ControlModifier
    if redo:
        modifiers |= Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(viewer.window._qt_viewer.canvas.native, Qt.Key.Key_Z, modifiers)


def _items(combo) -> list[str]:
    return [combo.itemText(i) for i in range(combo.count())]


def _choose(combo, text: str) -> None:
    """Open the combo (it lists what there is now) and pick ``text``."""
    combo.showPopup()
    combo.hidePopup()
    index = combo.findText(text)
    assert index >= 0, (text, _items(combo))
    combo.setCurrentIndex(index)


def test_commit_into_painted_labels_then_ctrl_z_and_redo(loaded, qtbot, run_and_wait):
    viewer, widget, image, scribbles = loaded
    panel = widget.committer
    assert not panel.isEnabled()  # no result yet
    run_and_wait(widget)
    result = widget.result_layer()
    assert panel.isEnabled()

    result.brush_size = 1
    result.paint((5, 5), 2)  # a hand correction: the commit takes the result as shown
    gt = viewer.add_labels(np.zeros((H, W), np.int32), name="GT")
    mouse_stroke(viewer, gt, 9, [(10, 2), (10, 30), (40, 50)])  # the user's own labels, across classes
    painted = np.array(gt.data, copy=True)
    assert (painted == 9).sum() > 50
    assert _items(panel.target_combo) == ["GT", NEW_LAYER]  # not the scribbles nor the result

    _choose(panel.target_combo, "GT")
    _choose(panel.class_combo, "all classes")
    _choose(panel.way_combo, "keep class numbers")
    qtbot.mouseClick(panel.commit_button, Qt.MouseButton.LeftButton)

    shown = np.asarray(result.data)
    free = painted == 0
    np.testing.assert_array_equal(gt.data[free], shown[free])
    np.testing.assert_array_equal(gt.data[~free], 9)  # labelled pixels kept
    assert gt.data[5, 5] == 2
    committed = np.array(gt.data, copy=True)
    kept = int((~free & (shown > 0)).sum())
    assert panel.status.text() == (
        f"wrote {int(free.sum()):,} px as labels 1, 2, 3 into 'GT'; kept {kept:,} px already labelled"
    )
    assert viewer.layers.selection.active is gt

    _ctrl_z(viewer, qtbot)  # the whole commit, in one step
    np.testing.assert_array_equal(gt.data, painted)
    _ctrl_z(viewer, qtbot, redo=True)
    np.testing.assert_array_equal(gt.data, committed)
    _ctrl_z(viewer, qtbot)
    _ctrl_z(viewer, qtbot)  # then the stroke painted before it
    assert not np.any(gt.data)
    np.testing.assert_array_equal(result.data, shown)  # the result is never touched


def test_one_class_as_an_object_into_a_new_layer_then_instances_and_overwrite(loaded, qtbot, run_and_wait):
    viewer, widget, image, scribbles = loaded
    run_and_wait(widget)
    panel, shown = widget.committer, np.asarray(widget.result_layer().data)
    names = len(viewer.layers)

    _choose(panel.target_combo, NEW_LAYER)
    panel.set_classes(3)
    panel.set_way("object", 7)
    qtbot.mouseClick(panel.commit_button, Qt.MouseButton.LeftButton)
    assert len(viewer.layers) == names + 1
    new = viewer.layers["tiny labels"]
    assert panel.target() is new and new.data.dtype == np.int32
    np.testing.assert_array_equal(new.data == 7, shown == 3)
    assert panel.status.text() == f"wrote {int((shown == 3).sum()):,} px as label 7 into 'tiny labels'"

    panel.set_classes(None)
    panel.set_way("instances")  # next free: 8 on
    qtbot.mouseClick(panel.commit_button, Qt.MouseButton.LeftButton)
    np.testing.assert_array_equal(new.data[shown == 3], 7)  # labelled already: kept
    others = np.asarray(new.data)[(shown > 0) & (shown != 3)]
    assert others.min() >= 8 and len(np.unique(others)) >= 2
    assert panel.status.text().endswith(f"kept {int((shown == 3).sum()):,} px already labelled")

    panel.set_classes(3)
    panel.set_way("semantic")
    panel.overwrite_box.setChecked(True)
    qtbot.mouseClick(panel.commit_button, Qt.MouseButton.LeftButton)
    np.testing.assert_array_equal(new.data[shown == 3], 3)
    assert "px relabelled" in panel.status.text()
    _ctrl_z(viewer, qtbot)
    np.testing.assert_array_equal(new.data[shown == 3], 7)


def test_only_labels_of_the_results_shape_are_offered_and_overflow_is_refused(loaded, qtbot, run_and_wait, notes):
    viewer, widget, image, scribbles = loaded
    run_and_wait(widget)
    panel = widget.committer
    other = viewer.add_image(np.zeros((30, 40), np.uint8), name="other")
    viewer.add_labels(np.zeros((30, 40), np.int32), name="other labels")
    full = np.zeros((H, W), np.uint8)
    full[0, 0] = 255
    small = viewer.add_labels(full, name="8-bit GT")
    assert not panel.isEnabled()  # adding "other" chose it: it has no result
    widget.set_image_layer(image)  # back to the image with the result
    qtbot.waitUntil(panel.isEnabled, timeout=5000)
    assert widget.scribbles_layer() is scribbles
    assert _items(panel.target_combo) == ["8-bit GT", NEW_LAYER]
    widget.set_scribbles_layer(small)  # a layer of the user's chosen as scribbles is not offered
    _choose(panel.target_combo, NEW_LAYER)
    assert _items(panel.target_combo) == [NEW_LAYER]
    widget.set_scribbles_layer(scribbles)

    _choose(panel.target_combo, "8-bit GT")
    panel.set_way("object")  # next free would be 256
    qtbot.mouseClick(panel.commit_button, Qt.MouseButton.LeftButton)
    assert "256 does not fit the labels layer's uint8" in panel.status.text()
    assert any("does not fit" in str(n.message) for n in notes)
    np.testing.assert_array_equal(small.data, full)

    widget.set_image_layer(other)  # no result there: nothing to commit
    qtbot.waitUntil(lambda: not panel.isEnabled(), timeout=5000)


def test_a_volume_result_is_committed_in_3d(plugin, qtbot, run_and_wait):
    viewer, widget = plugin
    zz, yy, xx = np.mgrid[:8, :32, :32]
    inside = ((zz - 3.5) / 3.2) ** 2 + ((yy - 16) / 10.5) ** 2 + ((xx - 16) / 9) ** 2 < 1
    rng = np.random.default_rng(0)
    volume = (0.25 + 0.5 * inside + rng.normal(0, 0.06, inside.shape)).astype(np.float32)
    viewer.add_image(volume, name="vol", scale=(2.0, 1.0, 1.0))
    qtbot.waitUntil(lambda: widget.scribbles_layer() is not None, timeout=5000)
    strokes = np.zeros(inside.shape, np.int32)
    strokes[2, 15:17, 10:22] = strokes[5, 15:17, 10:22] = 1  # inside
    strokes[2, 2:4, 4:28] = strokes[5, 2:4, 4:28] = 2  # outside
    widget.scribbles_layer().data = strokes
    widget.params.iterations.setValue(5)
    widget.params.use_crf.setChecked(False)
    qtbot.waitUntil(widget.core_ready.is_set, timeout=60_000)
    assert widget.scope() == "volume"
    run_and_wait(widget)
    shown = np.asarray(widget.result_layer().data)
    assert shown.shape == (8, 32, 32)

    panel = widget.committer
    _choose(panel.target_combo, NEW_LAYER)
    panel.set_classes(1)
    panel.set_way("instances")
    qtbot.mouseClick(panel.commit_button, Qt.MouseButton.LeftButton)
    new = viewer.layers["vol labels"]
    assert new.data.shape == (8, 32, 32) and tuple(new.scale) == (2.0, 1.0, 1.0)
    np.testing.assert_array_equal(new.data > 0, shown == 1)
    ellipsoid = new.data[4, 16, 16]
    assert ellipsoid > 0 and (new.data[2:6] == ellipsoid).any(axis=(1, 2)).all()  # one object over slices
    _ctrl_z(viewer, qtbot)
    assert not np.any(new.data)


def test_a_deleted_target_is_never_replaced_by_another_of_the_users_layers(loaded, qtbot, run_and_wait):
    """The chosen layer deleted, Commit wrote into the next layer of the list (someone else's work)."""
    viewer, widget, image, scribbles = loaded
    run_and_wait(widget)
    panel = widget.committer
    others = viewer.add_labels(np.zeros((H, W), np.int32), name="colleague's labels")
    mine = viewer.add_labels(np.zeros((H, W), np.int32), name="my labels")
    _choose(panel.target_combo, "my labels")
    viewer.layers.remove(mine)
    assert panel.target_combo.currentText() == NEW_LAYER and panel.target() is None
    qtbot.mouseClick(panel.commit_button, Qt.MouseButton.LeftButton)
    assert not np.asarray(others.data).any()  # untouched
    new = panel.target()
    assert new is not None and new is not others and np.asarray(new.data).any()
    for k in (1, 2, 3):  # a new layer of class numbers shows them in the legend's colours
        np.testing.assert_allclose(new.get_color(k), scribbles.get_color(k))
