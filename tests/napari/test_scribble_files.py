"""Scribbles saved as ``<image>_scribbles.tif`` (the CLI's naming) pair with their image when opened."""

from __future__ import annotations

import numpy as np

from conftest import make_image, make_scribbles

from napari_unsup_seg._napari.saving import write_label_image


def _saved_strokes(tmp_path):
    path = tmp_path / "photo_scribbles.tif"
    write_label_image(str(path), make_scribbles(), {})  # File > Save Layers with our writer, or a CLI input
    return path


def test_scribbles_opened_before_the_image_is_chosen_are_its_scribbles(plugin, qtbot, tmp_path):
    viewer, widget = plugin
    (strokes,) = viewer.open(str(_saved_strokes(tmp_path)), plugin="napari-unsup-seg")
    image = viewer.add_image(make_image(), name="photo", rgb=True)
    qtbot.waitUntil(lambda: widget.image_layer() is image and widget.scribbles_layer() is not None, timeout=5000)
    assert widget.scribbles_layer() is strokes
    assert "photo scribbles" not in [layer.name for layer in viewer.layers], "an empty layer made beside the user's"


def test_scribbles_opened_after_the_image_replace_the_empty_layer_made_for_it(plugin, qtbot, tmp_path):
    viewer, widget = plugin
    viewer.add_image(make_image(), name="photo", rgb=True)
    qtbot.waitUntil(lambda: widget.scribbles_layer() is not None, timeout=5000)
    made = widget.scribbles_layer()
    (strokes,) = viewer.open(str(_saved_strokes(tmp_path)), plugin="napari-unsup-seg")
    qtbot.waitUntil(lambda: widget.scribbles_layer() is strokes, timeout=5000)
    assert made not in viewer.layers, "the empty layer made for the image stays beside the user's strokes"
    np.testing.assert_array_equal(strokes.data, make_scribbles())


def test_scribbles_opened_after_the_user_painted_leave_the_painted_ones_in_use(plugin, qtbot, tmp_path):
    viewer, widget = plugin
    viewer.add_image(make_image(), name="photo", rgb=True)
    qtbot.waitUntil(lambda: widget.scribbles_layer() is not None, timeout=5000)
    painted = widget.scribbles_layer()
    painted.data = make_scribbles()[::-1].copy()
    viewer.open(str(_saved_strokes(tmp_path)), plugin="napari-unsup-seg")
    qtbot.wait(200)
    assert widget.scribbles_layer() is painted and painted in viewer.layers
    np.testing.assert_array_equal(painted.data, make_scribbles()[::-1])
