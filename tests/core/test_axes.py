"""Named axes, stacks over time, and their outputs."""

import threading

import numpy as np
import pytest
import tifffile

from napari_unsup_seg.core import export
from napari_unsup_seg.core.axes import as_stack, frame_to_input, read_stack, scribbles_tzyx, to_tczyx
from napari_unsup_seg.core.cluster import ClusterParams
from napari_unsup_seg.core.errors import InputError
from napari_unsup_seg.core.pipeline import SegmentParams
from napari_unsup_seg.core.progress import drain
from napari_unsup_seg.core.series import segment_stack, spread_scribbles


@pytest.mark.parametrize(
    "axes, shape",
    [
        ("ZYX", (5, 8, 9)),
        ("ZCYX", (5, 2, 8, 9)),
        ("TZYXC", (3, 5, 8, 9, 2)),
        ("YX", (8, 9)),
        ("CYX", (2, 8, 9)),
        ("TYX", (3, 8, 9)),
    ],
)
def test_any_axes_order_comes_to_tczyx(axes, shape):
    data = np.random.default_rng(0).random(shape)
    out = to_tczyx(data, axes)
    sizes = dict(zip(axes, shape))
    assert out.shape == tuple(sizes.get(a, 1) for a in "TCZYX")
    index = {a: 1 if sizes.get(a, 1) > 1 else 0 for a in "TCZYX"}
    assert out[tuple(index[a] for a in "TCZYX")] == data[tuple(index[a] for a in axes)]


def test_a_long_first_axis_is_taken_as_slices():
    assert as_stack(np.zeros((40, 20, 20))).axes == "ZYX"
    assert as_stack(np.zeros((16, 16, 3))).axes == "YXC"


@pytest.mark.parametrize(
    "axes, message", [("ZYXQ", "unknown letter"), ("ZZYX", "twice"), ("ZYX", "name 3 axes"), ("TZCY", "Y and X")]
)
def test_bad_axes_are_refused(axes, message):
    with pytest.raises(InputError, match=message):
        as_stack(np.zeros((2, 3, 8, 9)), axes)


def test_four_dimensions_without_axes_ask_for_them():
    with pytest.raises(InputError, match="--axes"):
        as_stack(np.zeros((2, 3, 8, 9)))


def test_tiff_axes_and_imagej_spacing_are_read(tmp_path):
    data = np.random.default_rng(0).integers(0, 255, (4, 2, 10, 12), np.uint8)  # Z, C, Y, X
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, data, imagej=True, resolution=(1 / 0.5, 1 / 0.5), metadata={"axes": "ZCYX", "spacing": 2.0})
    stack = read_stack(path)
    assert stack.axes == "ZCYX" and stack.data.shape == (1, 2, 4, 10, 12)
    assert stack.spacing == pytest.approx((2.0, 0.5, 0.5))
    assert frame_to_input(stack.data[0], (1,)).shape == (1, 4, 10, 12)
    with pytest.raises(InputError, match="channel"):
        frame_to_input(stack.data[0], (2,))


def test_scribbles_without_time_apply_to_every_time_point():
    stack = as_stack(np.zeros((3, 5, 8, 9)), "TZYX")
    scribbles = np.zeros((5, 8, 9), np.int32)
    scribbles[2, 3, 3] = 1
    out = scribbles_tzyx(scribbles, stack)
    assert out.shape == (3, 5, 8, 9) and all(out[t, 2, 3, 3] == 1 for t in range(3))
    with pytest.raises(InputError):
        scribbles_tzyx(np.zeros((5, 8)), stack)


def moving_disk(n_frames=3, shape=(40, 40), step=3, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.indices(shape)
    frames, truths = [], []
    for t in range(n_frames):
        truth = (yy - 20) ** 2 + (xx - 14 - step * t) ** 2 < 9**2
        frames.append(0.2 + 0.6 * truth + rng.normal(0, 0.05, shape))
        truths.append(truth)
    return np.clip(np.stack(frames), 0, 1).astype(np.float32), np.stack(truths)


def test_time_lapse_scribbled_on_one_frame_labels_all_in_order():
    frames, truths = moving_disk()
    stack = as_stack(frames, "TYX")
    scribbles = np.zeros(frames.shape, np.int32)
    scribbles[0, 20, 12:18] = 2
    scribbles[0, 2, 2:38] = 1
    scribbles[0, 37, 2:38] = 1
    messages = []
    result = drain(
        segment_stack(stack, scribbles_tzyx(scribbles, stack), SegmentParams()), lambda e: messages.append(e.message)
    )
    labels = result.labels
    assert labels.shape == (3, 40, 40)
    for t in range(3):
        iou = ((labels[t] == 2) & truths[t]).sum() / ((labels[t] == 2) | truths[t]).sum()
        assert iou > 0.8
    assert any("time point 2/3" in m and "warm start: continuing" in m for m in messages)

    # the series answers like one segmentation: one hierarchy, regions numbered apart per time point
    hierarchy = result.hierarchy
    t = hierarchy.max_threshold / 2
    assert hierarchy.max_threshold == min(f.hierarchy.max_threshold for f in result.frames)
    assert hierarchy.n_regions(t) == sum(f.hierarchy.n_regions(t) for f in result.frames)
    regions = result.regions(t)
    assert regions.shape == labels.shape and len(np.unique(regions)) == hierarchy.n_regions(t)
    for a in range(3):
        for b in range(a + 1, 3):
            assert not set(np.unique(regions[a])) & set(np.unique(regions[b]))
    np.testing.assert_array_equal(result.classes(t), np.stack([f.classes(t) for f in result.frames]))
    assert result.scribbles.shape == labels.shape and result.state is result.frames[0].state


def test_a_stop_during_a_time_point_gives_every_time_point_those_not_reached_unlabelled():
    frames, truths = moving_disk(n_frames=5)
    stack = as_stack(frames, "TYX")
    scribbles = np.zeros(frames.shape, np.int32)
    scribbles[0, 20, 12:18], scribbles[0, 2, 2:38], scribbles[0, 37, 2:38] = 2, 1, 1
    stop = threading.Event()

    def stop_in_the_second(event):
        if "time point 2/5" in event.message:
            stop.set()

    params = SegmentParams(cluster=ClusterParams(max_iter=5))
    result = drain(segment_stack(stack, scribbles_tzyx(scribbles, stack), params, stop=stop), stop_in_the_second)
    assert result.stopped and result.labels.shape == (5, 40, 40) and result.done == 2
    assert (result.labels[:2] > 0).all() and not result.labels[2:].any()
    assert result.uncertainty.shape == (5, 40, 40) and (result.uncertainty[2:] == 1).all()
    run = result.recipe["run"]
    assert run["stopped"] and run["time_points_done"] == 2 and len(result.recipe["frames"]) == 5
    assert result.hierarchy is None and "stopped" in run["no_hierarchy"]


def test_nearest_time_point_lends_its_strokes():
    s = np.zeros((4, 2, 2), np.int32)
    s[0, 0, 0] = 1
    s[3, 0, 0] = 2
    s[2, 1, 1] = 3
    out = spread_scribbles(s)
    assert out[:, 0, 0].tolist() == [1, 1, 2, 2] and out[:, 1, 1].tolist() == [3, 3, 3, 3]


def test_slice_scope_segments_one_slice_as_an_image():
    volume = np.random.default_rng(0).random((6, 20, 20)).astype(np.float32)
    stack = as_stack(volume, "ZYX")
    result = drain(
        segment_stack(stack, None, SegmentParams(cluster=ClusterParams(max_iter=5)), scope="slice", slice_index=4)
    )
    assert result.labels.shape == (1, 20, 20) and result.recipe["slice"] == 4
    with pytest.raises(InputError, match="slice 9"):
        drain(segment_stack(stack, None, SegmentParams(), scope="slice", slice_index=9))


def test_stack_outputs_are_tiff_with_axes(tmp_path):
    labels = np.zeros((4, 6, 7), np.uint16)
    labels[1:3, 2:4, 2:5] = 2
    labels[0] = 1
    paths = export.write_outputs(tmp_path, "vol", labels, recipe={"a": 1}, masks=True, axes="ZYX")
    assert sorted(p.name for p in paths) == ["vol_labels.tif", "vol_masks.tif", "vol_recipe.json"]
    with tifffile.TiffFile(tmp_path / "vol_labels.tif") as tif:
        assert tif.series[0].axes == "ZYX"
        np.testing.assert_array_equal(tif.asarray(), labels)
    with tifffile.TiffFile(tmp_path / "vol_masks.tif") as tif:
        assert tif.series[0].axes == "CZYX" and tif.series[0].shape == (2, 4, 6, 7)


def test_a_stack_run_can_start_from_an_earlier_one():
    frames, _ = moving_disk(n_frames=1)
    stack = as_stack(frames, "TYX")
    params = SegmentParams(cluster=ClusterParams(max_iter=5))
    first = drain(segment_stack(stack, None, params))
    messages = []
    drain(segment_stack(stack, None, params, warm_start=first.frames[0].state), lambda e: messages.append(e.message))
    assert any("warm start: continuing" in m for m in messages)
