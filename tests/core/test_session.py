"""Sessions: one folder holding the image, scribbles, classes, result and merge state."""

from __future__ import annotations

import json

import numpy as np
import pytest

from napari_unsup_seg.core.errors import InputError
from napari_unsup_seg.core.hierarchy import build_hierarchy
from napari_unsup_seg.core.pipeline import Segmentation
from napari_unsup_seg.core.session import (
    FORMAT,
    MANIFEST,
    VERSION,
    MergeRecord,
    is_session,
    read_session,
    session_path,
    write_session,
)

H, W = 24, 32


def _scene():
    """An image (H, W, 3) uint8, scribbles of three classes, and a scribble-mode segmentation."""
    rng = np.random.default_rng(0)
    image = np.zeros((3, H, W), np.float32)
    image[0, :, : W // 2] = 0.8
    image[2, :, W // 2 :] = 0.8
    image[1, 6:16, 10:22] = 0.9
    image = np.clip(image + rng.normal(0, 0.03, image.shape), 0, 1).astype(np.float32)
    scribbles = np.zeros((H, W), np.uint16)
    scribbles[20, 2:12], scribbles[20, 20:30], scribbles[10, 12:20] = 1, 2, 3
    overseg = rng.integers(0, 6, (H, W))
    hierarchy = build_hierarchy(image, overseg, scribbles=scribbles)
    labels = np.where(image[0] > 0.5, 1, 2).astype(np.int32)
    seg = Segmentation(
        labels=labels,
        hierarchy=hierarchy,
        scribbles=scribbles.astype(np.int32),
        stopped=False,
        state=None,
        recipe={"parameters": {"method": "cluster"}, "seed": 7},
    )
    pixels = (np.moveaxis(image, 0, -1) * 255).astype(np.uint8)
    return pixels, scribbles, seg


def _write(folder, pixels, scribbles, seg, threshold=0.4, **kwargs):
    shown = seg.classes(threshold)
    shown[0, 0] = 3  # a hand edit
    assigned = np.zeros((H, W), bool)
    assigned[:4, :4] = True
    record = MergeRecord(
        threshold, run_labels=seg.labels, run_scribbles=seg.scribbles, assigned=assigned, scope=[None, None]
    )
    return (
        write_session(
            folder,
            pixels,
            scribbles,
            {1: "coffee", 2: "cup", 3: "table"},
            {1: (1.0, 0.0, 0.0, 1.0), 2: (0.0, 0.5, 1.0, 1.0)},
            shown,
            seg.ucm,
            record,
            seg.recipe,
            layers={"image": {"name": "tiny", "rgb": True, "scale": (2.0, 1.0)}},
            **kwargs,
        ),
        shown,
        assigned,
    )


def test_round_trip_is_exact(tmp_path):
    pixels, scribbles, seg = _scene()
    folder, shown, assigned = _write(tmp_path / "tiny.unsupseg", pixels, scribbles, seg)
    assert is_session(folder) and sorted(p.name for p in tmp_path.iterdir()) == ["tiny.unsupseg"]
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["format"] == FORMAT and manifest["version"] == VERSION

    got = read_session(folder)
    for array, back in (
        (pixels, got.image),
        (scribbles, got.scribbles),
        (shown, got.labels),
        (seg.ucm, got.ucm),
        (seg.labels, got.merge.run_labels),
        (seg.scribbles, got.merge.run_scribbles),
        (assigned, got.merge.assigned),
    ):
        assert back.dtype == array.dtype and back.shape == array.shape
        np.testing.assert_array_equal(back, array)
    assert got.class_names == {1: "coffee", 2: "cup", 3: "table"}
    assert got.colours == {1: (1.0, 0.0, 0.0, 1.0), 2: (0.0, 0.5, 1.0, 1.0)}
    assert got.merge.threshold == 0.4 and got.merge.scope == [None, None]
    assert got.recipe == seg.recipe and got.name == "tiny" and got.layers["image"]["scale"] == [2.0, 1.0]


def test_rebuilt_hierarchy_cuts_as_the_original(tmp_path):
    pixels, scribbles, seg = _scene()
    folder, _, _ = _write(tmp_path / "s.unsupseg", pixels, scribbles, seg)
    again = read_session(folder).segmentation()
    for t in (0.0, 0.1, 0.3, 0.5, 0.8, again.hierarchy.max_threshold):
        np.testing.assert_array_equal(again.regions(t), seg.regions(t))
        np.testing.assert_array_equal(again.classes(t), seg.classes(t))
        assert again.hierarchy.n_regions(t) == seg.hierarchy.n_regions(t)


@pytest.mark.parametrize("n_frames", [3, 4])
def test_a_time_lapse_run_comes_back_with_one_hierarchy_per_time_point(tmp_path, n_frames):
    from napari_unsup_seg.core.axes import Stack
    from napari_unsup_seg.core.cluster import ClusterParams
    from napari_unsup_seg.core.pipeline import SegmentParams
    from napari_unsup_seg.core.progress import drain
    from napari_unsup_seg.core.series import SeriesSegmentation, segment_stack

    pixels, scribbles, _ = _scene()
    frames = np.stack([np.roll(pixels, t, axis=1) for t in range(n_frames)])  # (T, H, W, 3)
    strokes = np.zeros((n_frames, H, W), np.int32)
    strokes[0] = scribbles
    stack = Stack(np.moveaxis(frames, -1, 1)[:, :, None].astype(np.float32) / 255, "TYXC")
    params = SegmentParams(cluster=ClusterParams(max_iter=3), use_crf=False)
    seg = drain(segment_stack(stack, strokes[:, None], params))
    record = MergeRecord(0.3, run_labels=seg.labels, run_scribbles=seg.scribbles, scope=[None, None])
    folder = write_session(
        tmp_path / "t.unsupseg",
        frames,
        strokes,
        {},
        {},
        seg.classes(0.3),
        seg.ucm,
        record,
        seg.recipe,
        uncertainty=seg.uncertainty,
    )
    again = read_session(folder).segmentation()
    assert isinstance(again, SeriesSegmentation) and len(again.frames) == n_frames and again.axes == seg.axes
    for t in (0.0, 0.3, again.hierarchy.max_threshold):
        np.testing.assert_array_equal(again.classes(t), seg.classes(t))
        assert again.n_regions(t) == seg.n_regions(t)
    np.testing.assert_array_equal(again.uncertainty, seg.uncertainty)


@pytest.mark.parametrize(
    "dtype, shape", [(np.float32, (2, H, W)), (np.uint16, (5, H, W)), (np.int8, (H, W)), (np.float64, (H, W, 4))]
)
def test_images_keep_their_dtype_and_shape(tmp_path, dtype, shape):
    image = np.random.default_rng(1).integers(-5, 100, shape).astype(dtype)
    scribbles = np.zeros((H, W), np.uint8)
    folder = write_session(tmp_path / "x.unsupseg", image, scribbles, {}, {}, None, None, MergeRecord(), None)
    got = read_session(folder)
    assert got.image.dtype == image.dtype and got.scribbles.dtype == np.uint8
    np.testing.assert_array_equal(got.image, image)
    assert got.labels is None and got.segmentation() is None


def test_an_existing_session_is_kept_unless_replacing_is_asked(tmp_path):
    pixels, scribbles, seg = _scene()
    folder, _, _ = _write(tmp_path / "s.unsupseg", pixels, scribbles, seg, threshold=0.4)
    with pytest.raises(InputError, match="exists already"):
        _write(folder, pixels, scribbles, seg, threshold=0.7)
    assert read_session(folder).merge.threshold == 0.4
    assert [p.name for p in tmp_path.iterdir()] == ["s.unsupseg"]  # no temporary folder left
    _write(folder, pixels, scribbles, seg, threshold=0.7, overwrite=True)
    assert read_session(folder).merge.threshold == 0.7
    assert [p.name for p in tmp_path.iterdir()] == ["s.unsupseg"]


def test_a_failed_write_leaves_nothing(tmp_path, monkeypatch):
    from napari_unsup_seg.core import session

    pixels, scribbles, seg = _scene()
    real = session._write_array

    def fail_on_ucm(path, array):
        if path.name == "ucm.npy":
            raise OSError(28, "No space left on device")
        real(path, array)

    monkeypatch.setattr(session, "_write_array", fail_on_ucm)
    with pytest.raises(InputError, match="No space left"):
        _write(tmp_path / "s.unsupseg", pixels, scribbles, seg)
    assert list(tmp_path.iterdir()) == []


def test_arrays_that_do_not_fit_are_refused(tmp_path):
    pixels, scribbles, _ = _scene()
    with pytest.raises(InputError, match="do not fit"):
        write_session(
            tmp_path / "s.unsupseg",
            pixels,
            scribbles,
            {},
            {},
            np.zeros((H, W + 1), np.int32),
            None,
            MergeRecord(),
            None,
        )
    assert list(tmp_path.iterdir()) == []


def _damage_manifest(folder):
    (folder / MANIFEST).write_text('{"format": "napari-unsup-seg session", "vers')


def _drop_ucm(folder):
    (folder / "ucm.npy").unlink()


def _truncate_result(folder):
    path = folder / "result.tif"
    path.write_bytes(path.read_bytes()[:100])


def _no_manifest(folder):
    (folder / MANIFEST).unlink()


def _newer(folder):
    manifest = json.loads((folder / MANIFEST).read_text())
    (folder / MANIFEST).write_text(json.dumps({**manifest, "version": VERSION + 1}))


def _other_shape(folder):
    np.save(folder / "assigned.npy", np.zeros((3, 3), bool))


def _lost_key(folder):
    manifest = json.loads((folder / MANIFEST).read_text())
    del manifest["files"]["result"]["dtype"]
    (folder / MANIFEST).write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    "damage, words",
    [
        (_damage_manifest, "cannot be read"),
        (_drop_ucm, "misses its file ucm.npy"),
        (_truncate_result, "result.tif cannot be read"),
        (_no_manifest, "has no session.json"),
        (_newer, "update the plugin"),
        (_other_shape, "the manifest says"),
        (_lost_key, "damaged"),
    ],
)
def test_a_partial_or_damaged_session_says_what_is_wrong(tmp_path, damage, words):
    pixels, scribbles, seg = _scene()
    folder, _, _ = _write(tmp_path / "s.unsupseg", pixels, scribbles, seg)
    damage(folder)
    with pytest.raises(InputError, match=words):
        read_session(folder)


def test_session_path():
    assert session_path("/data/day1", "tiny").as_posix() == "/data/day1/tiny.unsupseg"
    assert session_path("/data/mine.unsupseg", "tiny").as_posix() == "/data/mine.unsupseg"


def test_a_volume_session_rebuilds_its_hierarchy(tmp_path):
    rng = np.random.default_rng(3)
    volume = np.zeros((1, 6, 12, 14), np.float32)
    volume[0, :, :, 7:] = 0.8
    volume += rng.normal(0, 0.03, volume.shape).astype(np.float32)
    hierarchy = build_hierarchy(volume, rng.integers(0, 4, (6, 12, 14)))
    labels = hierarchy.cut(0.0)
    seg = Segmentation(labels, hierarchy, None, False, None, {})
    folder = write_session(
        tmp_path / "v.unsupseg",
        volume[0],
        np.zeros(labels.shape, np.uint8),
        {},
        {},
        seg.regions(0.3),
        seg.ucm,
        MergeRecord(0.3, run_labels=labels),
        {},
    )
    again = read_session(folder).segmentation()
    for t in (0.0, 0.2, 0.5, 0.9):
        np.testing.assert_array_equal(again.regions(t), seg.regions(t))
