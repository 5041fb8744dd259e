"""Multiscale layers and OME-Zarr in the widget: compute at a chosen level, show over the image.

The scene is the tiny test image enlarged 4 times (192 x 256) with a three-level pyramid;
an OME-Zarr of it opens through the plugin's reader with its labels group.
"""

from __future__ import annotations

import numpy as np
import pytest
from qtpy.QtCore import Qt

from napari_unsup_seg._napari import dialogs
from napari_unsup_seg._napari import layer_axes as LA


def _pyramid(image: np.ndarray) -> list[np.ndarray]:
    big = np.repeat(np.repeat(image, 4, axis=0), 4, axis=1)
    return [big, big[::2, ::2], big[::4, ::4]]


def _run(widget, qtbot):
    qtbot.mouseClick(widget.run_button, Qt.MouseButton.LeftButton)
    assert widget.running, widget.status.text()
    qtbot.waitUntil(lambda: not widget.running, timeout=90_000)


@pytest.fixture
def multiscale(plugin, qtbot, monkeypatch, tiny):
    viewer, widget = plugin
    monkeypatch.setattr(LA, "MAX_LEVEL_PIXELS", 96 * 128)  # so that level 1 is the default here
    tiny_image, strokes = tiny
    levels = _pyramid(tiny_image)
    image = viewer.add_image(levels, multiscale=True, name="slide", rgb=levels[0].ndim == 3)
    qtbot.waitUntil(lambda: widget.scribbles_layer() is not None, timeout=5000)
    scribbles = widget.scribbles_layer()
    scribbles.data = np.repeat(np.repeat(strokes, 4, axis=0), 4, axis=1)
    widget.params.iterations.setValue(5)
    widget.live_box.setChecked(False)
    qtbot.waitUntil(widget.core_ready.is_set, timeout=60_000)
    return viewer, widget, image, scribbles, strokes


def test_a_multiscale_image_is_segmented_at_the_chosen_level_and_shown_over_it(multiscale, qtbot):
    viewer, widget, image, scribbles, strokes = multiscale
    assert scribbles.data.shape == (192, 256)  # painted at full resolution
    assert widget.stack.level_spin.isEnabled() and widget.stack.level() == 1
    _run(widget, qtbot)
    result = widget.result_layer()
    assert result is not None, widget.status.text()
    assert result.data.shape == (96, 128)
    np.testing.assert_allclose(result.scale, (2.0, 2.0))
    np.testing.assert_allclose(result.translate, (0.5, 0.5))  # level pixel centres over level-0 pixels
    labels = np.asarray(result.data)
    level_strokes = np.repeat(np.repeat(strokes, 2, axis=0), 2, axis=1)  # the strokes at level 1
    np.testing.assert_array_equal(labels[level_strokes > 0], level_strokes[level_strokes > 0])
    assert set(np.unique(labels)) == {1, 2, 3}

    widget.stack.level_spin.setValue(2)
    assert image.metadata["napari_unsup_seg"]["level"] == 2
    _run(widget, qtbot)
    coarse = widget.result_layer()
    assert coarse.data.shape == (48, 64)
    np.testing.assert_allclose(coarse.scale, (4.0, 4.0))
    agree = np.mean(np.asarray(coarse.data) == labels[::2, ::2])
    assert agree > 0.9, agree  # the same scene at two levels: the same classes


def test_an_ome_zarr_opens_lazily_with_its_labels_and_segments_at_a_level(plugin, qtbot, tmp_path, tiny, monkeypatch):
    zarr = pytest.importorskip("zarr")
    from ome_zarr.writer import write_image

    from napari_unsup_seg.core import zarr_io

    viewer, widget = plugin
    tiny_image, strokes = tiny
    big = np.moveaxis(_pyramid(tiny_image)[0], -1, 0).astype(np.float32) / 255  # (C, Y, X)
    path = tmp_path / "slide.ome.zarr"
    write_image(
        big,
        zarr.open_group(str(path), mode="w"),
        axes="cyx",
        scale_factors=(2, 4),
        scale={"c": 1.0, "y": 0.5, "x": 0.5},
    )
    zarr_io.write_labels(path, "earlier", (big[0] > 0.5).astype(np.int32), recipe={"seed": 7})
    layers = viewer.open(str(path), plugin="napari-unsup-seg")
    image, earlier = layers
    assert image.multiscale and len(image.data) == 3 and type(image.data[0]).__module__.startswith("dask")
    assert LA.layer_axes(image) == "CYX"
    np.testing.assert_allclose(image.scale, (1.0, 0.5, 0.5))
    assert earlier.data[0].shape == (192, 256) and earlier.metadata["napari_unsup_seg"]["recipe"] == {"seed": 7}
    widget.set_image_layer(image)
    qtbot.waitUntil(
        lambda: widget.scribbles_layer() is not None and widget.scribbles_layer() is not earlier, timeout=5000
    )
    scribbles = widget.scribbles_layer()
    assert scribbles.data.shape == (192, 256)
    scribbles.data = np.repeat(np.repeat(strokes, 4, axis=0), 4, axis=1)
    widget.stack.level_spin.setValue(1)
    widget.params.iterations.setValue(5)
    widget.live_box.setChecked(False)
    qtbot.waitUntil(widget.core_ready.is_set, timeout=60_000)
    _run(widget, qtbot)
    result = widget.result_layer()
    assert result.data.shape == (96, 128)
    np.testing.assert_allclose(result.scale, (1.0, 1.0))
    level_strokes = np.repeat(np.repeat(strokes, 2, axis=0), 2, axis=1)
    np.testing.assert_array_equal(np.asarray(result.data)[level_strokes > 0], level_strokes[level_strokes > 0])

    assert widget.save_zarr_button.isEnabled()
    target = widget.save_into_zarr()
    assert target == path / "labels" / "napari-unsup-seg", widget.status.text()
    reopened = viewer.open(str(path), plugin="napari-unsup-seg")
    saved = next(layer for layer in reopened if layer.name.endswith("napari-unsup-seg"))
    assert [d.shape for d in saved.data] == [(192, 256), (96, 128), (48, 64)]
    np.testing.assert_array_equal(np.asarray(saved.data[1]), result.data)
    recipe = saved.metadata["napari_unsup_seg"]["recipe"]
    assert recipe["napari"]["level"] == 1 and recipe["parameters"]["seed"] == 0
    widget.set_image_layer(image)  # opening the file again chose its new image layer
    asked = []
    monkeypatch.setattr(dialogs, "confirm_overwrite", lambda parent, paths: asked.append(paths) or False)
    assert widget.save_into_zarr() is None and asked == [[target]]  # exists: the user keeps it
    assert "kept" in widget.status.text()
