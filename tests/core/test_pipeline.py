import json
import threading

import numpy as np
import pytest

from napari_unsup_seg.core.cluster import ClusterParams
from napari_unsup_seg.core.errors import InputError
from napari_unsup_seg.core.hierarchy import labels_at
from napari_unsup_seg.core.pipeline import SegmentParams, segment
from napari_unsup_seg.core.progress import drain


def _image_and_scribbles():
    rng = np.random.default_rng(0)
    image = np.zeros((3, 30, 40), np.float32)
    image[0, :, :20] = 0.8
    image[2, :, 20:] = 0.7
    image[1, 15:, :] += 0.3
    image += rng.normal(0, 0.03, image.shape).astype(np.float32)
    scribbles = np.zeros((30, 40), np.int32)
    scribbles[5:7, 3:15] = 1
    scribbles[5:7, 25:37] = 2
    scribbles[22:24, 5:35] = 3
    return np.clip(image, 0, 1), scribbles


FAST = SegmentParams(cluster=ClusterParams(max_iter=15), device="cpu")


@pytest.mark.parametrize("method", ["cluster", "wnet"])
def test_scribble_classes_hold_at_every_threshold(method):
    image, scribbles = _image_and_scribbles()
    params = SegmentParams(method=method, cluster=FAST.cluster, device="cpu")
    events = []
    seg = drain(segment(image, scribbles, params), events.append)
    keep = scribbles > 0
    assert set(np.unique(seg.labels)) <= {1, 2, 3}
    np.testing.assert_array_equal(seg.labels[keep], scribbles[keep])
    for t in np.linspace(0, seg.hierarchy.max_threshold, 12):
        classes = seg.classes(float(t))
        np.testing.assert_array_equal(classes[keep], scribbles[keep])
        assert set(np.unique(classes)) <= {1, 2, 3}
    assert {e.stage for e in events} >= {"propagate", "ucm", "done"}
    first = [e.result for e in events if e.result is not None]
    assert len(first) == 1 and first[0].shape == (30, 40)  # the first mask, before the segmenter runs
    assert seg.uncertainty.shape == (30, 40) and 0 <= seg.uncertainty.min() <= seg.uncertainty.max() <= 1
    json.dumps(seg.recipe)


def test_class_changes_are_the_pixels_whose_class_changes():
    """What a merge slider's frame writes, found per leaf, equals comparing the two class maps."""
    from napari_unsup_seg.core.hierarchy import build_hierarchy
    from napari_unsup_seg.core.pipeline import Segmentation

    rng = np.random.default_rng(3)
    image = rng.random((3, 30, 40)).astype(np.float32)
    scribbles = np.zeros((30, 40), np.int32)
    scribbles[3, 2:12], scribbles[25, 20:35], scribbles[12:20, 38] = 1, 2, 3
    labels = rng.integers(1, 4, size=(30, 40)).astype(np.int32)  # the fallback of unscribbled regions
    tree = build_hierarchy(image, rng.integers(0, 60, size=(30, 40)), scribbles=scribbles)
    seg = Segmentation(labels, tree, scribbles, False, None, {})
    seg.precompute()
    thresholds = np.linspace(0.01, tree.max_threshold, 9)
    changed = 0
    for before in thresholds[::2]:
        for after in thresholds:
            old, new = seg.classes(float(before)).ravel(), seg.classes(float(after)).ravel()
            flat, values = seg.class_changes(float(before), float(after))
            order = np.argsort(flat)
            np.testing.assert_array_equal(flat[order], np.flatnonzero(old != new))
            np.testing.assert_array_equal(values[order], new[old != new])
            changed += flat.size
    assert changed > 0
    with pytest.raises(InputError):
        Segmentation(labels, tree, None, False, None, {}).class_changes(0.1, 0.5)


def test_unsupervised_cuts_follow_the_ucm_rule_and_regions_join_segments():
    image, _ = _image_and_scribbles()
    seg = drain(segment(image, np.zeros((30, 40), np.int32), FAST))
    assert seg.scribbles is None
    np.testing.assert_array_equal(seg.regions(0.0), seg.labels)
    for t in (0.0, 0.2, 0.5, 0.9):
        np.testing.assert_array_equal(seg.hierarchy.cut(t), labels_at(seg.ucm, t))
        np.testing.assert_array_equal(seg.classes(t), seg.regions(t))
        pairs = np.unique(np.stack([seg.labels.ravel(), seg.regions(t).ravel()]), axis=1)
        assert len(np.unique(pairs[0])) == pairs.shape[1]  # each segment whole in one region


def test_stop_before_start_still_returns_a_result():
    image, scribbles = _image_and_scribbles()
    stop = threading.Event()
    stop.set()
    seg = drain(segment(image, scribbles, FAST, stop=stop))
    assert seg.stopped and seg.labels.shape == (30, 40)
    assert seg.recipe["run"]["stopped"] is True


def test_an_unsupervised_run_stopped_at_once_has_no_hierarchy_of_speckle():
    image, _ = _image_and_scribbles()
    stop = threading.Event()
    stop.set()
    seg = drain(segment(image, None, FAST, stop=stop))
    assert seg.stopped and seg.hierarchy is None and seg.ucm is None
    assert "stopped" in seg.recipe["run"]["no_hierarchy"]
    with pytest.raises(InputError, match="stopped before"):
        seg.regions(0.5)


def test_a_scribble_run_stopped_at_once_returns_its_first_mask():
    image, scribbles = _image_and_scribbles()
    stop = threading.Event()
    stop.set()
    events = []
    seg = drain(segment(image, scribbles, FAST, stop=stop), events.append)
    first = next(e.result for e in events if e.result is not None)
    free = scribbles == 0
    np.testing.assert_array_equal(seg.labels[free], first[free])
    assert seg.recipe["run"]["edges"] == "image" and seg.recipe["run"]["leaves"] == "class map"


def test_a_finished_run_keeps_the_segmenter_leaves():
    image, scribbles = _image_and_scribbles()
    seg = drain(segment(image, scribbles, FAST))
    assert seg.recipe["run"]["leaves"] == "segmenter"


def test_seeded_runs_are_reproducible():
    image, scribbles = _image_and_scribbles()
    a = drain(segment(image, scribbles, FAST))
    b = drain(segment(image, scribbles, FAST))
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.ucm, b.ucm)


def test_bad_inputs():
    image, scribbles = _image_and_scribbles()
    with pytest.raises(InputError, match="float32"):
        drain(segment(image.astype(np.float64), scribbles, FAST))
    with pytest.raises(InputError, match="must match"):
        drain(segment(image, scribbles[:10], FAST))
    with pytest.raises(InputError, match="unknown method"):
        drain(segment(image, scribbles, SegmentParams(method="nope")))


def test_every_stage_the_core_reports_has_the_words_a_front_end_shows():
    """The W-Net's adaptation once reported "wnet-adapt", which the widget did not know: its progress was lost."""
    import re
    from pathlib import Path

    from napari_unsup_seg.core import progress

    sources = [p.read_text() for p in Path(progress.__file__).parent.rglob("*.py")]
    named = {m for text in sources for m in re.findall(r'stage="([^"]+)"', text)}
    positional = {
        m for text in sources for m in re.findall(r'Progress\([^(),]+,[^(),]+(?:\([^()]*\))?,\s*"([^"]+)"', text)
    }
    assert "cluster" in positional and {"adapt", "ucm", "refine"} <= named
    assert named | positional <= set(progress.STAGES)
    assert set(progress.ITERATING) <= set(progress.STAGES)
