"""Time-lapses, channels and axes in the dock widget.

The time-lapse is a bright disk moving right over three frames, by a third of its radius
each time, with strokes on frame 0 only (they seed the other frames, so they lie where
the disk is in every frame); the two-channel volume has the object in channel 1 and only noise in channel 0.
"""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from qtpy.QtCore import Qt

from napari_unsup_seg._napari import dialogs
from napari_unsup_seg._napari import layer_axes as LA
from napari_unsup_seg._napari.merge import STEPS, VOLUME_DELAY_MS

T, H, W = 3, 40, 48


def moving_disk() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frames (T, H, W), strokes on frame 0, truth (T, H, W))."""
    yy, xx = np.mgrid[:H, :W]
    truth = np.stack([(yy - 20) ** 2 + (xx - 16 - 3 * t) ** 2 < 9**2 for t in range(T)])
    rng = np.random.default_rng(1)
    frames = (0.2 + 0.6 * truth + rng.normal(0, 0.05, truth.shape)).astype(np.float32)
    strokes = np.zeros(truth.shape, np.int32)
    strokes[0, 19:21, 14:21] = 1
    strokes[0, 2:4, 4:44] = 2
    strokes[0, 36:38, 4:44] = 2
    return frames, strokes, truth


def dice(a, b) -> float:
    return 2 * np.logical_and(a, b).sum() / (a.sum() + b.sum())


def _run(widget, qtbot):
    qtbot.mouseClick(widget.run_button, Qt.MouseButton.LeftButton)
    assert widget.running, widget.status.text()
    qtbot.waitUntil(lambda: not widget.running, timeout=90_000)


@pytest.fixture
def timelapse(plugin, qtbot):
    """(viewer, widget, image, scribbles, truth): the moving disk, its axes set to TYX in the widget."""
    viewer, widget = plugin
    frames, strokes, truth = moving_disk()
    image = viewer.add_image(frames, name="cells")
    qtbot.waitUntil(lambda: widget.scribbles_layer() is not None, timeout=5000)
    assert widget.stack.axes_edit.text() == "ZYX"  # three axes: taken as a volume at first
    widget.stack.set_axes("tyx")
    qtbot.waitUntil(lambda: widget.scribbles_layer() is not None, timeout=5000)
    scribbles = widget.scribbles_layer()
    scribbles.data = strokes
    widget.params.iterations.setValue(5)
    widget.params.use_crf.setChecked(False)
    qtbot.waitUntil(widget.core_ready.is_set, timeout=60_000)
    return viewer, widget, image, scribbles, truth


def test_all_time_points_from_strokes_on_one_frame_then_merge_and_save(timelapse, qtbot, tmp_path):
    viewer, widget, image, scribbles, truth = timelapse
    assert LA.layer_axes(image) == "TYX" and widget.stack.axes_edit.text() == "TYX"
    assert not widget.scope_combo.isEnabled() and widget.stack.time_combo.isEnabled()
    assert widget.stack.time_scope() == "all" and not widget.live_box.isEnabled()
    _run(widget, qtbot)

    result = widget.result_layer()
    assert result is not None, widget.status.text()
    labels = np.asarray(result.data)
    assert labels.shape == (T, H, W)
    for t in range(T):  # frames 1 and 2 have no strokes: classes follow the disk through time
        assert dice(labels[t] == 1, truth[t]) > 0.85, t
    assert "done" in widget.status.text()

    seg, panel = widget.merge.segmentation, widget.merge
    assert panel.slider.isEnabled()
    panel.slider.setValue(STEPS // 2)
    threshold = panel._threshold_at(STEPS // 2)
    assert f"{seg.hierarchy.n_regions(threshold)} regions" in panel.counter.text()
    qtbot.waitUntil(lambda: panel.threshold == threshold, timeout=VOLUME_DELAY_MS + 3000)
    np.testing.assert_array_equal(result.data, seg.classes(threshold))

    folder = tmp_path / "out"
    folder.mkdir()
    written = widget.save(folder)
    assert written, widget.status.text()
    with tifffile.TiffFile(folder / "cells_labels.tif") as tif:
        assert tif.series[0].axes == "TYX" and tif.series[0].shape == (T, H, W)
        np.testing.assert_array_equal(tif.asarray(), result.data)


@pytest.mark.parametrize("n_frames", [3, 4])
def test_a_time_lapse_session_reopens_with_its_result_and_merge_slider(plugin, qtbot, tmp_path, n_frames):
    # a user's failure: the reopened session's one UCM per time point was read as one image's
    # (an even T: "a UCM must be ... of odd sizes"; an odd T: "a UCM of a 1x40x48 image")
    viewer, widget = plugin
    frames, strokes, _ = moving_disk()
    frames = np.concatenate([frames, frames[-1:]])[:n_frames]
    viewer.add_image(frames, name="cells")
    qtbot.waitUntil(lambda: widget.scribbles_layer() is not None, timeout=5000)
    widget.stack.set_axes("tyx")
    qtbot.waitUntil(lambda: widget.scribbles_layer() is not None, timeout=5000)
    widget.scribbles_layer().data = np.concatenate([strokes, 0 * strokes[-1:]])[:n_frames]
    widget.params.iterations.setValue(5)
    widget.params.use_crf.setChecked(False)
    qtbot.waitUntil(widget.core_ready.is_set, timeout=60_000)
    _run(widget, qtbot)
    panel = widget.merge
    panel.slider.setValue(STEPS // 2)
    threshold = panel._threshold_at(STEPS // 2)
    qtbot.waitUntil(lambda: panel.threshold == threshold, timeout=VOLUME_DELAY_MS + 3000)
    shown, counter = np.array(widget.result_layer().data), panel.counter.text()
    path = widget.save_session(tmp_path)
    assert path is not None, widget.status.text()

    viewer.layers.clear()
    viewer.open(str(path), plugin="napari-unsup-seg")
    qtbot.waitUntil(lambda: widget.result_layer() is not None and panel.layer is widget.result_layer(), timeout=5000)
    np.testing.assert_array_equal(widget.result_layer().data, shown)
    assert widget.stack.axes_edit.text() == "TYX"
    assert panel.slider.isEnabled() and panel.threshold == threshold and panel.counter.text() == counter
    panel.slider.setValue(0)
    qtbot.waitUntil(lambda: panel.threshold == 0, timeout=VOLUME_DELAY_MS + 3000)
    assert widget.result_layer().data.shape == (n_frames, H, W)


def test_stop_halfway_through_the_time_points_gives_a_result_of_every_frame_and_says_how_far(plugin, qtbot, tmp_path):
    # a user's failure: Stop at time point 4 of 8 gave a 4-frame result that the status did not
    # explain, that a session could not save, and that the next run put beside a new layer
    viewer, widget = plugin
    frames, strokes, _ = moving_disk()
    n_t = 8
    viewer.add_image(np.concatenate([frames] * 3)[:n_t], name="movie")
    qtbot.waitUntil(lambda: widget.scribbles_layer() is not None, timeout=5000)
    widget.stack.set_axes("tyx")
    qtbot.waitUntil(lambda: widget.scribbles_layer() is not None, timeout=5000)
    widget.scribbles_layer().data = np.concatenate([strokes, np.zeros((n_t - T, H, W), np.int32)])
    widget.params.iterations.setValue(5)
    widget.params.use_crf.setChecked(False)
    qtbot.waitUntil(widget.core_ready.is_set, timeout=60_000)
    qtbot.mouseClick(widget.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "time point 3/8" in widget.status.text(), timeout=90_000)
    qtbot.mouseClick(widget.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not widget.running, timeout=90_000)

    result = widget.result_layer()
    labels = np.asarray(result.data)
    assert labels.shape == (n_t, H, W)
    done = int(widget.status.text().split(" of 8 time points")[0].split()[-1])
    assert "stopped" in widget.status.text() and 3 <= done < n_t, widget.status.text()
    assert (labels[:2] > 0).all() and not labels[done:].any()  # frames not reached stay unlabelled
    assert widget.save_session(tmp_path) is not None, widget.status.text()
    assert widget.merge.segmentation.recipe["run"]["stopped"]

    _run(widget, qtbot)  # run again: the same layer, every frame
    assert widget.result_layer() is result and "movie segmentation [1]" not in [la.name for la in viewer.layers]
    assert (np.asarray(result.data) > 0).all()


def test_this_time_point_fills_its_frame_and_is_seeded_by_other_frames_strokes(timelapse, qtbot):
    viewer, widget, image, scribbles, truth = timelapse
    widget.stack.set_time_scope("this")
    assert widget.live_box.isEnabled()
    widget.live_box.setChecked(False)
    viewer.dims.set_point(0, 2)  # the last frame, which has no strokes of its own
    _run(widget, qtbot)

    result = widget.result_layer()
    labels = np.asarray(result.data)
    assert labels.shape == (T, H, W) and "time point 2" in result.name
    assert not labels[:2].any()  # only frame 2 was segmented
    assert dice(labels[2] == 1, truth[2]) > 0.85
    assert "time point 2" in widget.status.text()


def test_bad_axes_and_channels_are_refused_and_nothing_changes(timelapse, notes):
    viewer, widget, image, scribbles, truth = timelapse
    for bad, words in [("XYT", "last two axes"), ("TYXQ", "unknown letter"), ("TY", "name 2 axes")]:
        widget.stack.set_axes(bad)
        assert words in notes[-1].message, (bad, notes[-1].message)
        assert LA.layer_axes(image) == "TYX" and widget.stack.axes_edit.text() == "TYX"
    assert widget.scribbles_layer() is scribbles
    assert not widget.stack.channels_edit.isEnabled()  # one channel: nothing to choose


def test_a_two_channel_volume_file_opens_with_its_axes_and_segments_on_the_chosen_channel(
    plugin, qtbot, tmp_path, notes
):
    viewer, widget = plugin
    zz, yy, xx = np.mgrid[:6, :32, :32]
    truth = (yy - 16) ** 2 + (xx - 16) ** 2 < 8**2
    truth = np.broadcast_to(truth, zz.shape)
    rng = np.random.default_rng(2)
    signal = 0.2 + 0.6 * truth + rng.normal(0, 0.05, truth.shape)
    noise = rng.random(truth.shape)
    data = (np.stack([noise, signal], axis=1) * 1000).astype(np.uint16)  # ZCYX
    path = tmp_path / "two.tif"
    tifffile.imwrite(path, data, imagej=True, metadata={"axes": "ZCYX", "spacing": 3.0}, resolution=(1.0, 1.0))
    image = widget.load_image(path)
    assert image is not None, [n.message for n in notes]
    assert image.data.shape == (2, 6, 32, 32) and LA.layer_axes(image) == "CZYX"
    assert tuple(image.scale[-3:]) == (3.0, 1.0, 1.0)
    qtbot.waitUntil(lambda: widget.scribbles_layer() is not None, timeout=5000)
    scribbles = widget.scribbles_layer()
    assert scribbles.data.shape == (6, 32, 32)
    assert widget.stack.channels_edit.isEnabled()

    widget.stack.set_channels("3")
    assert "channel" in notes[-1].message and widget.stack.channels_edit.text() == "all"
    widget.stack.set_channels("1")
    strokes = np.zeros((6, 32, 32), np.int32)
    strokes[2, 15:17, 10:22] = 1
    strokes[2, 1:3, 2:30] = 2
    strokes[4, 29:31, 2:30] = 2
    scribbles.data = strokes
    widget.params.iterations.setValue(5)
    widget.params.use_crf.setChecked(False)
    qtbot.waitUntil(widget.core_ready.is_set, timeout=60_000)
    _run(widget, qtbot)
    labels = np.asarray(widget.result_layer().data)
    assert labels.shape == (6, 32, 32)
    assert dice(labels == 1, truth) > 0.85
    assert image.metadata["napari_unsup_seg"]["channels"] == "1"  # belongs to the layer


def test_a_time_lapse_of_volumes_opens_as_one_layer_and_segments_one_slice_over_time(
    plugin, qtbot, tmp_path, monkeypatch
):
    viewer, widget = plugin
    disk, strokes, truth = moving_disk()
    frames = (disk * 255).astype(np.uint8)[:, None].repeat(4, axis=1)  # T, Z, Y, X
    path = tmp_path / "movie.tif"
    tifffile.imwrite(path, frames, metadata={"axes": "TZYX"})
    monkeypatch.setattr(dialogs, "open_image_file", lambda parent: str(path))
    widget.sources.load_button.click()
    qtbot.waitUntil(lambda: widget.scribbles_layer() is not None, timeout=5000)
    image = widget.image_layer()
    assert image.data.shape == (T, 4, H, W) and LA.layer_axes(image) == "TZYX"
    assert widget.stack.time_combo.isEnabled() and widget.scope_combo.isEnabled()
    scribbles = widget.scribbles_layer()
    assert scribbles.data.shape == (T, 4, H, W)
    painted = np.zeros(scribbles.data.shape, np.int32)
    painted[0, 1] = strokes[0]
    scribbles.data = painted
    widget.params.iterations.setValue(5)
    widget.params.use_crf.setChecked(False)
    widget.live_box.setChecked(False)
    widget.set_scope("slice")
    viewer.dims.set_point(1, 1)  # slice 1, where the strokes are
    qtbot.waitUntil(widget.core_ready.is_set, timeout=60_000)
    _run(widget, qtbot)  # all time points, slice 1 of each

    labels = np.asarray(widget.result_layer().data)
    assert labels.shape == (T, 4, H, W), widget.status.text()
    assert not labels[:, [0, 2, 3]].any()
    for t in range(T):
        assert dice(labels[t, 1] == 1, truth[t]) > 0.85, t
    panel = widget.merge
    panel.assign.setChecked(True)
    assert panel.assign_at(2, 0, 20, 20, value=2) == 0  # another slice: not part of this result
    assert panel.assign_at(2, 1, 20, 20, value=2) > 0
    regions = panel.segmentation.regions(panel.threshold)
    region = regions == regions[2, 20, 20]
    assert region[2].any() and not region[:2].any()  # a region never spans time points
    after = np.asarray(widget.result_layer().data)
    assert np.all(after[:, 1][region] == 2)
    np.testing.assert_array_equal(after[:, 1][~region], labels[:, 1][~region])
