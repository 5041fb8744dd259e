"""Image choice, the scribbles layer matched to it, and the class legend."""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np
from napari.layers import Labels

from napari_unsup_seg._napari import dialogs


def test_scribbles_layer_matches_image_and_legend(plugin, qtbot, tiny):
    viewer, widget = plugin
    image = viewer.add_image(tiny[0], name="tiny", rgb=True, scale=(2.0, 0.5), translate=(10.0, -3.0))
    qtbot.waitUntil(lambda: widget.scribbles_layer() is not None, timeout=5000)
    scribbles = widget.scribbles_layer()
    assert isinstance(scribbles, Labels) and scribbles.name == "tiny scribbles"
    assert scribbles.data.shape == (48, 64)
    np.testing.assert_allclose(scribbles.scale, image.scale)
    np.testing.assert_allclose(scribbles.translate, image.translate)
    assert scribbles.mode == "paint" and scribbles.selected_label == 1
    assert viewer.layers.selection.active is scribbles

    legend = widget.legend
    assert legend.classes() == [1, 2] and legend.table.rowCount() == 2
    legend.add_button.click()  # "Add class" is one click
    assert legend.classes() == [1, 2, 3] and scribbles.selected_label == 3
    legend.table.item(0, 2).setText("background")
    assert legend.names()[1] == "background"
    legend.table.selectRow(1)
    assert scribbles.selected_label == 2
    scribbles.selected_label = 5  # e.g. the user pressed "+" in the layer controls
    assert 5 in legend.classes()
    np.testing.assert_allclose(
        legend.table.item(1, 1).background().color().getRgbF(), scribbles.get_color(2), atol=0.01
    )


def test_load_image_from_file(plugin, qtbot, tmp_path, tiny, monkeypatch):
    viewer, widget = plugin
    path = tmp_path / "photo.png"
    iio.imwrite(path, tiny[0])
    monkeypatch.setattr(dialogs, "open_image_file", lambda *a, **k: path)
    widget.sources.load_button.click()
    qtbot.waitUntil(lambda: widget.scribbles_layer() is not None, timeout=5000)
    assert viewer.layers["photo"].rgb
    assert widget.image_layer() is viewer.layers["photo"]
    assert widget.scribbles_layer().name == "photo scribbles"


def test_a_second_image_of_the_same_size_gets_its_own_scribbles_and_names(plugin, qtbot, tiny):
    viewer, widget = plugin
    image, strokes = tiny
    a = viewer.add_image(image, name="A", rgb=True)
    qtbot.waitUntil(lambda: widget.scribbles_layer() is not None, timeout=5000)
    scr_a = widget.scribbles_layer()
    scr_a.data = strokes.copy()
    widget.legend.table.item(0, 2).setText("cell")  # the user names class 1 of image A
    b = viewer.add_image(image[::-1].copy(), name="B", rgb=True)  # same size
    qtbot.waitUntil(lambda: widget.scribbles_layer() is not scr_a, timeout=5000)
    assert widget.image_layer() is b and widget.scribbles_layer().name == "B scribbles"
    assert not widget.scribbles_layer().data.any() and widget.legend.names().get(1) != "cell"
    widget.sources.set_image_layer(a)  # back to A: its own strokes and names
    qtbot.waitUntil(lambda: widget.scribbles_layer() is scr_a, timeout=5000)
    assert widget.legend.names().get(1) == "cell"
    np.testing.assert_array_equal(scr_a.data, strokes)
