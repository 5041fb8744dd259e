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


def _choose(widget, qtbot, name):
    combo = widget.sources.image_combo
    combo.setCurrentIndex(combo.findText(name))
    qtbot.waitUntil(lambda: widget.image_layer() is not None and widget.image_layer().name == name, timeout=5000)
    qtbot.wait(50)  # the dock's image change is handled on the next turn of the event loop


def test_a_renamed_image_keeps_its_layers(plugin, qtbot, tiny):
    viewer, widget = plugin
    image, _ = tiny
    a = viewer.add_image(image, name="A", rgb=True)
    scr_a = _painted(viewer, widget, qtbot, a)
    b = viewer.add_image(image[::-1].copy(), name="B", rgb=True)
    _painted(viewer, widget, qtbot, b)
    a.name = "photo of day 1"  # the user renames the first image in the layer list
    _choose(widget, qtbot, "photo of day 1")
    assert widget.scribbles_layer() is scr_a
    assert scr_a.visible, "the renamed image's strokes stay hidden: the user paints blind"


def test_a_session_opened_twice_shows_the_copy_chosen(make_napari_viewer, qtbot, tmp_path):
    from test_session_reopen import PLUGIN, WIDGET, _synthetic_session

    _synthetic_session(tmp_path / "a.unsupseg", "tiny", seed=1, threshold=0.3)
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, WIDGET)
    viewer.open(tmp_path / "a.unsupseg", plugin=PLUGIN)
    viewer.open(tmp_path / "a.unsupseg", plugin=PLUGIN)  # napari names the copy's layers "... [1]"
    _choose(widget, qtbot, "tiny [1]")
    copy = [layer for layer in viewer.layers if layer.name.endswith("[1]")]
    assert len(copy) == 3 and all(layer.visible for layer in copy), [(x.name, x.visible) for x in viewer.layers]
    assert not viewer.layers["tiny scribbles"].visible and not viewer.layers["tiny segmentation"].visible
    qtbot.waitUntil(lambda: widget.merge.layer is viewer.layers["tiny segmentation [1]"], timeout=5000)


def test_each_image_shows_its_own_status_and_a_smaller_one_is_framed(loaded, qtbot, run_and_wait):
    viewer, widget, image, _ = loaded
    assert not widget.save_button.isEnabled(), "Save result... before there is a result"
    run_and_wait(widget)
    assert widget.status.text().startswith("done") and widget.save_button.isEnabled()
    small = viewer.add_image(np.zeros((12, 16), np.float32), name="small")
    qtbot.waitUntil(lambda: widget.image_layer() is small, timeout=5000)
    qtbot.waitUntil(lambda: not widget.status.text().startswith("done"), timeout=5000)
    assert not widget.save_button.isEnabled()
    assert not image.visible, "the larger image around the chosen one is still in view"
    assert viewer.camera.zoom > 5, "the view is not framed on the small image"
    _choose(widget, qtbot, "tiny")
    assert widget.status.text().startswith("done") and image.visible and not small.visible
