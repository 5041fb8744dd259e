"""Volumes in the dock widget: whole-volume and one-slice runs, merging, click-to-assign, saving.

The scene is a small noisy ellipsoid (8 x 32 x 32 voxels, slices twice as far apart as
pixels) with strokes on slices 2 and 5 only; its truth is known on every slice.
"""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from napari.utils._test_utils import read_only_mouse_event
from napari.utils.interactions import mouse_press_callbacks, mouse_release_callbacks
from qtpy.QtCore import Qt

from napari_unsup_seg._napari import dialogs
from napari_unsup_seg._napari.live import LIVE_DELAY_MS
from napari_unsup_seg._napari.merge import STEPS, VOLUME_DELAY_MS
from napari_unsup_seg.core import pipeline

Z, H, W = 8, 32, 32
SPACING = (2.0, 1.0, 1.0)
STROKE_SLICES = (2, 5)


def make_volume() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(volume, scribbles, truth): a bright ellipsoid in noise, strokes on two slices."""
    zz, yy, xx = np.mgrid[:Z, :H, :W]
    truth = ((zz - 3.5) / 3.2) ** 2 + ((yy - 16) / 10.5) ** 2 + ((xx - 16) / 9) ** 2 < 1
    rng = np.random.default_rng(0)
    volume = (0.25 + 0.5 * truth + rng.normal(0, 0.06, truth.shape)).astype(np.float32)
    scribbles = np.zeros(truth.shape, np.int32)
    for z in STROKE_SLICES:
        scribbles[z, 15:17, 10:22] = 1  # inside
        scribbles[z, 2:4, 4:28] = 2  # outside
    return volume, scribbles, truth


def dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2 * np.logical_and(a, b).sum() / (a.sum() + b.sum())


def _click(layer, *position):
    """A left click (press + release, no move) at a data position of ``layer``."""
    world = tuple(layer.data_to_world(position))
    mouse_press_callbacks(layer, read_only_mouse_event(type="mouse_press", button=1, position=world))
    mouse_release_callbacks(layer, read_only_mouse_event(type="mouse_release", button=1, position=world))


def _stroke(layer, position_list, value) -> None:
    layer._begin_stroke()
    for position in position_list:
        layer.paint(position, value, refresh=False)
    layer._commit_stroke()
    layer.refresh()


@pytest.fixture
def volume_loaded(plugin, qtbot, monkeypatch):
    """(viewer, widget, image, scribbles, truth, calls): the volume with its strokes; ``calls``
    records the input shape and spacing of every ``pipeline.segment`` call."""
    viewer, widget = plugin
    volume, strokes, truth = make_volume()
    image = viewer.add_image(volume, name="vol", scale=SPACING)
    qtbot.waitUntil(lambda: widget.scribbles_layer() is not None, timeout=5000)
    scribbles = widget.scribbles_layer()
    scribbles.data = strokes
    widget.params.iterations.setValue(5)
    widget.params.use_crf.setChecked(False)
    calls = []
    real = pipeline.segment

    def recording(image, scribbles=None, params=pipeline.SegmentParams(), **kwargs):
        calls.append((image.shape, kwargs.get("spacing"), None if scribbles is None else scribbles.shape))
        return (yield from real(image, scribbles, params, **kwargs))

    monkeypatch.setattr(pipeline, "segment", recording)
    qtbot.waitUntil(widget.core_ready.is_set, timeout=60_000)
    return viewer, widget, image, scribbles, truth, calls


def _run(widget, qtbot):
    qtbot.mouseClick(widget.run_button, Qt.MouseButton.LeftButton)
    assert widget.running, widget.status.text()
    qtbot.waitUntil(lambda: not widget.running, timeout=60_000)


def test_whole_volume_labels_unscribbled_slices_and_merges_in_3d(volume_loaded, qtbot):
    viewer, widget, image, scribbles, truth, calls = volume_loaded
    assert scribbles.data.shape == (Z, H, W) and tuple(scribbles.scale) == SPACING
    assert widget.scope_combo.isEnabled() and widget.scope() == "volume"
    assert not widget.live_box.isEnabled() and "whole-volume" in widget.live_box.toolTip()
    strokes = np.array(scribbles.data, copy=True)
    _run(widget, qtbot)

    assert calls == [((1, Z, H, W), SPACING, (Z, H, W))]  # the whole volume, its voxel size
    result = widget.result_layer()
    assert result.name == "vol segmentation" and result.data.shape == (Z, H, W)
    np.testing.assert_allclose(result.scale, SPACING)
    labels = np.asarray(result.data)
    painted = strokes > 0
    np.testing.assert_array_equal(labels[painted], strokes[painted])
    for z in (3, 4):  # slices without a stroke
        assert dice(labels[z] == 1, truth[z]) > 0.8, z
    assert result.metadata["napari_unsup_seg"]["ucm"] is None  # no saliency volume in the layer
    assert "done" in widget.status.text()
    widget.uncertainty_box.setChecked(True)
    uncertainty = viewer.layers["vol uncertainty"]
    assert uncertainty.data.shape == (Z, H, W) and tuple(uncertainty.scale) == SPACING

    # the slider: the counter follows at once, the volume is drawn once the slider rests
    seg, panel = widget.merge.segmentation, widget.merge
    at_zero = np.array(result.data, copy=True)
    panel.slider.setValue(STEPS)
    threshold = panel._threshold_at(STEPS)
    assert f"{seg.hierarchy.n_regions(threshold)} regions" in panel.counter.text()
    qtbot.wait(VOLUME_DELAY_MS // 4)  # an image's slider would have drawn by now
    np.testing.assert_array_equal(result.data, at_zero)  # a volume's waits for the slider to rest
    qtbot.waitUntil(lambda: not np.array_equal(result.data, at_zero), timeout=VOLUME_DELAY_MS + 2000)
    assert result.data.shape == (Z, H, W) and panel.threshold == threshold
    np.testing.assert_array_equal(result.data, seg.classes(threshold))
    np.testing.assert_array_equal(result.data[painted], strokes[painted])

    # click-to-assign takes a whole 3D region at the current threshold
    panel.set_threshold(0.0)
    widget.legend.add_button.click()  # class 3, selected
    panel.assign.setChecked(True)
    _click(result, 4, 16, 16)  # the middle of the ellipsoid, on a slice without strokes
    region = seg.regions(0.0) == seg.regions(0.0)[4, 16, 16]
    assert np.all(result.data[region] == 3) and not np.any(result.data[~region] == 3)
    assert region.any(axis=(1, 2)).sum() > 1  # the region spans slices

    # live mode does not start whole-volume runs
    _stroke(scribbles, [(4, 5, c) for c in range(5, 12)], 2)
    qtbot.wait(LIVE_DELAY_MS + 300)
    assert not widget.running and len(calls) == 1


def test_this_slice_segments_the_slice_shown_and_live_follows_strokes(volume_loaded, qtbot, tmp_path, monkeypatch):
    viewer, widget, image, scribbles, truth, calls = volume_loaded
    widget.set_scope("slice")
    assert widget.live_box.isEnabled()
    viewer.dims.set_point(0, 5 * SPACING[0])  # the user moves the slice slider to slice 5
    _run(widget, qtbot)

    assert calls[-1] == ((1, H, W), SPACING[1:], (H, W))  # one slice, as an image
    result = widget.result_layer()
    assert result.name == "vol segmentation (slice 5)" and result.data.shape == (Z, H, W)
    assert np.flatnonzero(np.asarray(result.data).any(axis=(1, 2))).tolist() == [5]
    assert dice(result.data[5] == 1, truth[5]) > 0.8
    assert widget.status.text().startswith("slice 5: done")

    # the merge slider works on that slice, the others stay empty
    widget.merge.set_threshold(widget.merge._threshold_at(STEPS))
    np.testing.assert_array_equal(result.data[5], widget.merge.segmentation.classes(widget.merge.threshold))
    assert np.flatnonzero(np.asarray(result.data).any(axis=(1, 2))).tolist() == [5]

    # saved as what it is: an image of that slice
    monkeypatch.setattr(dialogs, "choose_folder", lambda *a, **k: tmp_path)
    widget.save_button.click()
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "vol_labels.tif"), result.data[5])
    assert (tmp_path / "vol_labels.png").exists() and (tmp_path / "vol_ucm.tif").exists()

    # live: a stroke on slice 3 runs slice 3, in the same layer (the slice layer is replaced)
    viewer.dims.set_point(0, 3 * SPACING[0])
    _stroke(scribbles, [(3, 16, c) for c in range(12, 20)], 1)
    qtbot.waitUntil(lambda: widget.running, timeout=5000)
    qtbot.waitUntil(lambda: not widget.running, timeout=60_000)
    assert calls[-1][0] == (1, H, W) and widget.result_layer() is result
    assert result.name == "vol segmentation (slice 3)"
    assert np.flatnonzero(np.asarray(result.data).any(axis=(1, 2))).tolist() == [3]

    # a whole-volume run gets its own layer; the slice's stays
    widget.set_scope("volume")
    _run(widget, qtbot)
    assert widget.result_layer().name == "vol segmentation" and result in viewer.layers


def test_saving_a_volume_writes_zyx_tiffs_and_the_ucm_only_when_asked(volume_loaded, qtbot, tmp_path, monkeypatch):
    viewer, widget, image, scribbles, truth, calls = volume_loaded
    _run(widget, qtbot)
    result = widget.result_layer()
    monkeypatch.setattr(dialogs, "choose_folder", lambda *a, **k: tmp_path)
    monkeypatch.setattr(dialogs, "confirm_overwrite", lambda parent, paths: True)
    assert widget.save_ucm_box.isEnabled() and not widget.save_ucm_box.isChecked()
    widget.save_button.click()

    with tifffile.TiffFile(tmp_path / "vol_labels.tif") as tif:
        assert tif.series[0].axes == "ZYX"
        np.testing.assert_array_equal(tif.asarray(), result.data)
    from napari_unsup_seg.core.axes import read_stack

    assert read_stack(tmp_path / "vol_labels.tif").spacing == pytest.approx(SPACING)  # the layer's scale, kept
    with tifffile.TiffFile(tmp_path / "vol_masks.tif") as tif:
        assert tif.series[0].axes in ("CZYX", "QZYX") and tif.series[0].shape == (2, Z, H, W)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["vol_labels.tif", "vol_masks.tif", "vol_recipe.json"]  # no PNG, no UCM

    widget.save_ucm_box.setChecked(True)
    widget.save_button.click()
    assert tifffile.imread(tmp_path / "vol_ucm.tif").shape == (2 * Z + 1, 2 * H + 1, 2 * W + 1)

    viewer.layers.selection = {result}  # File > Save Selected Layers, through the plugin's writer
    saved = viewer.layers.save(str(tmp_path / "layer.tif"), selected=True, plugin="napari-unsup-seg")
    assert saved == [str(tmp_path / "layer.tif")]
    with tifffile.TiffFile(tmp_path / "layer.tif") as tif:
        assert tif.series[0].axes == "ZYX"
        np.testing.assert_array_equal(tif.asarray(), result.data)


def test_load_image_opens_a_volume_tiff_with_its_voxel_size(plugin, qtbot, tmp_path):
    viewer, widget = plugin
    volume, _, _ = make_volume()
    tifffile.imwrite(
        tmp_path / "stack.tif",
        (volume * 1000).astype(np.uint16),
        imagej=True,
        resolution=(1 / 0.5, 1 / 0.5),
        metadata={"spacing": 2.0, "axes": "ZYX"},
    )
    layer = widget.load_image(tmp_path / "stack.tif")
    assert layer is not None and layer.data.shape == (Z, H, W) and not layer.rgb
    np.testing.assert_allclose(layer.scale, (2.0, 0.5, 0.5))
    qtbot.waitUntil(lambda: widget.scribbles_layer() is not None, timeout=5000)
    assert widget.scribbles_layer().data.shape == (Z, H, W) and widget.scope() == "volume"


def test_switching_scope_back_merges_and_saves_that_scopes_result(volume_loaded, qtbot, tmp_path, monkeypatch):
    """A user's report: Whole volume, then This slice, then the scope set back to Whole volume:
    Save wrote the slice's result under the volume's name, the slider stayed on the slice's layer."""
    viewer, widget, image, scribbles, truth, calls = volume_loaded
    _run(widget, qtbot)
    whole = widget.result_layer()
    widget.set_scope("slice")
    viewer.dims.set_point(0, 5 * SPACING[0])
    _run(widget, qtbot)
    part = widget.result_layer()
    assert part is not whole and widget.merge.layer is part

    widget.set_scope("volume")
    assert widget.result_layer() is whole and widget.merge.layer is whole
    monkeypatch.setattr(dialogs, "choose_folder", lambda *a, **k: tmp_path)
    widget.save_button.click()
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "vol_labels.tif"), whole.data)
    assert tifffile.imread(tmp_path / "vol_masks.tif").shape == (2, Z, H, W)

    widget.merge.set_threshold(widget.merge._threshold_at(STEPS))  # merges the volume's result
    np.testing.assert_array_equal(whole.data, widget.merge.segmentation.classes(widget.merge.threshold))
    assert np.flatnonzero(np.asarray(part.data).any(axis=(1, 2))).tolist() == [5]  # the slice's untouched

    widget.set_scope("slice")  # and back: the slice's result, with its own merge state
    assert widget.result_layer() is part and widget.merge.layer is part and widget.merge.threshold == 0.0
