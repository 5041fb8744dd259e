"""Two images in one viewer: the dock's image is the one in view, with its own layers."""

from __future__ import annotations

import numpy as np

from conftest import mouse_stroke

from napari_unsup_seg._napari.layers import result_name


def _painted(viewer, widget, qtbot, image_layer):
    name = f"{image_layer.name} scribbles"
    qtbot.waitUntil(lambda: getattr(widget.scribbles_layer(), "name", None) == name, timeout=5000)
    scribbles = widget.scribbles_layer()
    mouse_stroke(viewer, scribbles, 1, [(10, 5), (10, 25)])
    return scribbles


def test_choosing_another_image_shows_it_and_hides_the_first_ones_layers(plugin, qtbot, tiny):
    viewer, widget = plugin
    image, _ = tiny
    a = viewer.add_image(image, name="A", rgb=True)
    scr_a = _painted(viewer, widget, qtbot, a)
    b = viewer.add_image(image[::-1].copy(), name="B", rgb=True)  # same size, on top of A
    scr_b = _painted(viewer, widget, qtbot, b)
    assert scr_b is not scr_a
    assert not scr_a.visible, "A's strokes stay drawn over image B"
    assert b.visible and scr_b.visible

    widget.sources.image_combo.setCurrentIndex(widget.sources.image_combo.findText("A"))
    qtbot.waitUntil(lambda: widget.scribbles_layer() is scr_a, timeout=5000)
    assert a.visible and scr_a.visible
    assert not b.visible, "image B, above A, hides the image the user is painting on"
    assert not scr_b.visible

    widget.sources.image_combo.setCurrentIndex(widget.sources.image_combo.findText("B"))
    qtbot.waitUntil(lambda: widget.scribbles_layer() is scr_b, timeout=5000)
    assert b.visible and scr_b.visible and not scr_a.visible
    np.testing.assert_array_equal(scr_a.data[10, 5:26], 1)  # nothing of A's work is lost


def test_a_layer_the_user_hid_stays_hidden_and_channels_stay_shown(plugin, qtbot, tiny):
    viewer, widget = plugin
    image, _ = tiny
    a = viewer.add_image(image, name="A", rgb=True)
    scr_a = _painted(viewer, widget, qtbot, a)
    scr_a.visible = False  # the user's choice
    gfp = viewer.add_image(image[..., 1], name="GFP", blending="additive")  # seen together with A
    qtbot.waitUntil(lambda: widget.image_layer() is gfp, timeout=5000)
    widget.sources.image_combo.setCurrentIndex(widget.sources.image_combo.findText("A"))
    qtbot.waitUntil(lambda: widget.scribbles_layer() is scr_a, timeout=5000)
    assert gfp.visible, "an additive channel above A is meant to be seen with it"
    assert not scr_a.visible, "the strokes the user hid came back on their own"


def test_a_result_that_arrives_for_another_image_is_kept_out_of_view(loaded, qtbot):
    viewer, widget, image, _ = loaded
    assert widget.run()
    other = viewer.add_image(image.data[::-1].copy(), name="B", rgb=True)  # the user opens the next image
    qtbot.waitUntil(lambda: widget.image_layer() is other, timeout=5000)
    qtbot.waitUntil(lambda: not widget.running, timeout=60_000)
    result = viewer.layers[result_name(image)]
    assert widget.scribbles_layer() is not None and widget.scribbles_layer().name == "B scribbles"
    assert not result.visible, "the first image's result is drawn over the image being worked on"
    widget.sources.image_combo.setCurrentIndex(widget.sources.image_combo.findText("tiny"))
    qtbot.waitUntil(lambda: widget.merge.layer is result, timeout=5000)  # the slider is the first image's again
    assert result.visible and not viewer.layers["B scribbles"].visible
