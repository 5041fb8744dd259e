"""Class colours and visibility from the legend: scribbles, previews and results alike."""

from __future__ import annotations

from itertools import combinations

import numpy as np
from napari.layers import Labels
from napari.utils.colormaps import CyclicLabelColormap, DirectLabelColormap
from qtpy.QtCore import Qt
from qtpy.QtGui import QColor
from qtpy.QtWidgets import QColorDialog
from skimage.color import rgb2lab

from napari_unsup_seg._napari.layers import META_KEY
from napari_unsup_seg.core.palette import class_colour

MIN_DELTA_E = 20.0  # CIE76 distance in CIELAB: napari's own colours for 1..8 come within 12.1
MAGENTA = (1.0, 0.0, 1.0, 1.0)


def _min_lab_distance(colours) -> float:
    lab = rgb2lab(np.asarray(colours, float)[None, :, :3])[0]
    return float(min(np.linalg.norm(a - b) for a, b in combinations(lab, 2)))


def _row(legend, k: int) -> int:
    return legend.classes().index(k)


def _choose_in_dialog(monkeypatch, rgba) -> list:
    """The colour dialog answers ``rgba``; returns the initial colours it was opened with."""
    asked = []

    def get_color(initial, *args, **kwargs):
        asked.append(initial.getRgbF())
        return QColor.fromRgbF(*rgba)

    monkeypatch.setattr(QColorDialog, "getColor", staticmethod(get_color))
    return asked


def test_new_scribbles_get_distinct_class_colours(plugin, qtbot, tiny):
    viewer, widget = plugin
    viewer.add_image(tiny[0], name="tiny", rgb=True)
    qtbot.waitUntil(lambda: widget.scribbles_layer() is not None, timeout=5000)
    scribbles = widget.scribbles_layer()
    assert isinstance(scribbles.colormap, DirectLabelColormap)
    assert _min_lab_distance([scribbles.get_color(k) for k in range(1, 9)]) > MIN_DELTA_E
    napari_default = Labels(np.zeros((4, 4), np.int32))
    assert _min_lab_distance([napari_default.get_color(k) for k in range(1, 9)]) < MIN_DELTA_E
    for row, k in enumerate(widget.legend.classes()):  # the swatches show the layer's colours
        np.testing.assert_allclose(
            widget.legend.table.item(row, 1).background().color().getRgbF(), scribbles.get_color(k), atol=0.01
        )
    assert scribbles.metadata[META_KEY]["class_colours"][1] == list(scribbles.get_color(1))


def test_a_swatch_click_recolours_scribbles_preview_and_result(loaded, qtbot, run_and_wait, monkeypatch):
    viewer, widget, image, scribbles = loaded
    legend = widget.legend
    run_and_wait(widget)
    result = widget.result_layer()
    for k in (1, 2, 3):
        np.testing.assert_allclose(result.get_color(k), scribbles.get_color(k))

    asked = _choose_in_dialog(monkeypatch, MAGENTA)
    before = scribbles.get_color(2)
    qtbot.mouseClick(legend.swatch(_row(legend, 2)), Qt.LeftButton)
    np.testing.assert_allclose(asked, [before], atol=0.01)  # the dialog opens on the class's colour
    np.testing.assert_allclose(scribbles.get_color(2), MAGENTA)
    np.testing.assert_allclose(result.get_color(2), MAGENTA)
    np.testing.assert_allclose(legend.table.item(_row(legend, 2), 1).background().color().getRgbF(), MAGENTA)
    assert scribbles.metadata[META_KEY]["class_colours"][2] == list(MAGENTA)  # travels with the layer
    np.testing.assert_allclose(result.get_color(1), scribbles.get_color(1))  # the others stay

    widget.merge.slider.setValue(widget.merge.slider.maximum() // 2)  # the merge slider moves
    qtbot.waitUntil(lambda: widget.merge.threshold > 0, timeout=2000)
    np.testing.assert_allclose(result.get_color(2), MAGENTA)

    run_and_wait(widget)  # a rerun into the same layer
    assert widget.result_layer() is result
    np.testing.assert_allclose(result.get_color(2), MAGENTA)

    widget.replace_box.setChecked(False)  # a rerun into a new preview, then a new result layer
    assert widget.run()
    preview = viewer.layers["tiny preview"]
    np.testing.assert_allclose(preview.get_color(2), MAGENTA)
    legend.set_class_colour(1, (0.0, 1.0, 0.0, 1.0))  # changed during the run: the preview follows
    np.testing.assert_allclose(preview.get_color(1), (0.0, 1.0, 0.0, 1.0))
    qtbot.waitUntil(lambda: not widget.running, timeout=60_000)
    second = widget.result_layer()
    assert second is not result
    for layer in (result, second):
        np.testing.assert_allclose(layer.get_color(1), (0.0, 1.0, 0.0, 1.0))
        np.testing.assert_allclose(layer.get_color(2), MAGENTA)


def test_cancelled_colour_dialog_changes_nothing(loaded, qtbot, monkeypatch):
    viewer, widget, image, scribbles = loaded
    before = scribbles.get_color(1)
    monkeypatch.setattr(QColorDialog, "getColor", staticmethod(lambda *a, **k: QColor()))  # invalid: cancelled
    qtbot.mouseClick(widget.legend.swatch(0), Qt.LeftButton)
    np.testing.assert_allclose(scribbles.get_color(1), before)


def test_unticking_classes_hides_them_in_scribbles_and_result_without_touching_data(loaded, qtbot, run_and_wait):
    viewer, widget, image, scribbles = loaded
    legend = widget.legend
    run_and_wait(widget)
    result = widget.result_layer()
    data = {layer.name: np.array(layer.data, copy=True) for layer in (scribbles, result)}
    colour_3 = scribbles.get_color(3)

    for k in (3, 1):  # several classes hidden at once
        box = legend.shown_box(_row(legend, k))
        assert box.isChecked()
        qtbot.mouseClick(box, Qt.LeftButton)
    for layer in (scribbles, result):
        assert layer.get_color(1)[3] == 0 and layer.get_color(3)[3] == 0
        assert layer.get_color(2)[3] == 1
        alphas = layer.colormap.map(np.array([1, 2, 3]))[:, 3]  # what the layer draws
        np.testing.assert_array_equal(alphas, [0, 1, 0])
        np.testing.assert_array_equal(layer.data, data[layer.name])
    assert not legend.shown_box(_row(legend, 3)).isChecked() and not legend.is_class_visible(1)
    assert scribbles.metadata[META_KEY]["hidden_classes"] == [1, 3]
    np.testing.assert_allclose(legend.class_colour(3), colour_3)  # its colour is kept

    run_and_wait(widget)  # still hidden after a rerun
    assert result.get_color(3)[3] == 0

    qtbot.mouseClick(legend.shown_box(_row(legend, 3)), Qt.LeftButton)  # ticked again
    np.testing.assert_allclose(result.get_color(3), colour_3)
    np.testing.assert_allclose(scribbles.get_color(3), colour_3)
    assert result.get_color(1)[3] == 0


def test_colours_stored_with_a_layer_come_back(plugin, qtbot, tiny):
    """A scribbles layer whose metadata holds colours (a saved session, JSON keys) shows them."""
    viewer, widget = plugin
    image, strokes = tiny
    viewer.add_image(image, name="tiny", rgb=True)
    meta = {
        "role": "scribbles",
        "image": "tiny",
        "class_names": {1: "cell", 2: "dish", 3: "debris"},
        "class_colours": {"1": [0.2, 0.4, 0.6, 1.0], "3": [0.9, 0.1, 0.1, 1.0]},
        "hidden_classes": [3],
    }
    scribbles = viewer.add_labels(strokes.copy(), name="tiny scribbles", metadata={META_KEY: meta})
    qtbot.waitUntil(lambda: widget.legend.layer is scribbles, timeout=5000)
    np.testing.assert_allclose(scribbles.get_color(1), (0.2, 0.4, 0.6, 1.0))
    assert scribbles.get_color(3)[3] == 0 and not widget.legend.is_class_visible(3)
    np.testing.assert_allclose(widget.legend.class_colour(3), (0.9, 0.1, 0.1, 1.0))
    np.testing.assert_allclose(scribbles.get_color(2), class_colour(2), atol=1e-3)  # none stored: the palette's


def test_colours_set_outside_the_legend_reach_legend_and_result(loaded, run_and_wait):
    viewer, widget, image, scribbles = loaded
    run_and_wait(widget)
    result = widget.result_layer()
    red = (1.0, 0.0, 0.0, 1.0)
    scribbles.colormap = DirectLabelColormap(  # e.g. from the console
        color_dict={None: (1, 1, 1, 1), 0: (0, 0, 0, 0), 1: red, 2: (0, 0, 1, 1), 3: (0, 1, 0, 1)}
    )
    np.testing.assert_allclose(widget.legend.table.item(0, 1).background().color().getRgbF(), red)
    np.testing.assert_allclose(result.get_color(1), red)
    assert widget.legend.class_colour(1) == red

    scribbles.data = np.zeros_like(scribbles.data)  # an unsupervised rerun: segments, not classes
    run_and_wait(widget)
    assert isinstance(result.colormap, CyclicLabelColormap)
    widget.legend.set_class_colour(1, MAGENTA)
    assert not np.allclose(result.get_color(1), MAGENTA)
