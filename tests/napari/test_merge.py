"""The merge slider and click-to-assign on the result layer."""

from __future__ import annotations

import numpy as np
from napari.utils._test_utils import read_only_mouse_event
from napari.utils.interactions import mouse_press_callbacks, mouse_release_callbacks

from napari_unsup_seg._napari.merge import STEPS


def _click(layer, row, col):
    """A left click (press + release, no move) at a data pixel of ``layer``."""
    position = tuple(layer.data_to_world((row, col)))
    mouse_press_callbacks(layer, read_only_mouse_event(type="mouse_press", button=1, position=position))
    mouse_release_callbacks(layer, read_only_mouse_event(type="mouse_release", button=1, position=position))


def _merging_threshold(seg) -> float:
    """A threshold where clearly fewer regions remain than at 0."""
    n0 = seg.n_regions(0.0)
    for t in np.linspace(0.05, 0.95, 19):
        if 1 < seg.n_regions(float(t)) < n0:
            return float(t)
    raise AssertionError("the hierarchy never merges")


def test_slider_merges_regions_live(loaded, qtbot, run_and_wait):
    viewer, widget, image, scribbles = loaded
    scribbles.data = np.zeros_like(scribbles.data)  # unsupervised: the layer shows region ids
    run_and_wait(widget)
    result, seg, panel = widget.result_layer(), widget.merge.segmentation, widget.merge
    assert panel.isEnabled() and panel.slider.isEnabled()
    at_zero = np.array(result.data, copy=True)
    t = _merging_threshold(seg)

    panel.slider.setValue(int(round(t * STEPS)))  # as when the user drags it
    qtbot.waitUntil(lambda: not np.array_equal(result.data, at_zero), timeout=2000)
    n = seg.n_regions(panel.threshold)
    assert len(np.unique(result.data)) == n
    np.testing.assert_array_equal(result.data, seg.regions(panel.threshold))
    assert f"{n} regions" in panel.counter.text()

    panel.set_threshold(0.0)
    np.testing.assert_array_equal(result.data, at_zero)


def test_click_assigns_a_whole_region_and_edits_persist(loaded, qtbot, run_and_wait):
    viewer, widget, image, scribbles = loaded
    run_and_wait(widget)
    result, seg, panel = widget.result_layer(), widget.merge.segmentation, widget.merge
    panel.set_threshold(_merging_threshold(seg))
    before = np.array(result.data, copy=True)
    regions = seg.regions(panel.threshold)

    widget.legend.add_button.click()  # a new class 4, selected
    assert widget.legend.current_class() == 4
    panel.assign.setChecked(True)
    assert viewer.layers.selection.active is result and result.mode == "pan_zoom"
    row, col = 5, 5
    _click(result, row, col)
    region = regions == regions[row, col]
    assert np.all(result.data[region] == 4)  # the whole region, at the current threshold
    np.testing.assert_array_equal(result.data[~region], before[~region])  # nothing else

    # a correction painted by hand, then scrubbing: both edits are kept at every threshold
    result.mode = "paint"
    result.selected_label = 2
    result.brush_size = 1
    result.paint((40, 60), 2)
    for t in (0.0, 0.9, 0.3):
        panel.set_threshold(t)
        assert np.all(result.data[region] == 4)
        assert result.data[40, 60] == 2
    assert panel.edited_pixels() >= region.sum()

    _click(result, 20, 30)  # paint mode: clicks paint, they do not assign
    assert result.data[20, 30] == 2


def test_with_scribbles_the_slider_merges_evenly_and_never_joins_classes(loaded, qtbot, run_and_wait):
    viewer, widget, image, scribbles = loaded
    run_and_wait(widget)
    result, seg, panel = widget.result_layer(), widget.merge.segmentation, widget.merge
    classes = set(np.unique(scribbles.data)) - {0}
    counts, shown = [], []
    for position in np.linspace(0, 1, 11):  # the slider dragged across its whole range
        panel.slider.setValue(int(round(position * STEPS)))
        qtbot.wait(30)
        counts.append(seg.n_regions(panel.threshold))
        shown.append(np.array(result.data, copy=True))
        assert f"{counts[-1]} regions" in panel.counter.text()
        assert classes <= set(np.unique(result.data))  # every class keeps its pixels
        np.testing.assert_array_equal(result.data[scribbles.data > 0], scribbles.data[scribbles.data > 0])
    assert counts == sorted(counts, reverse=True) and counts[-1] >= len(classes)
    steps = -np.diff(counts)
    # regions go at a steady pace over the range, not all in one part of it
    assert steps[:5].sum() > 0.2 * (counts[0] - counts[-1]) and steps[5:].sum() > 0.2 * (counts[0] - counts[-1])
    assert (steps <= 0.3 * (counts[0] - counts[-1]) + 1).all()
    assert not np.array_equal(shown[0], shown[-1])  # unscribbled regions took their neighbours' class


def test_unsupervised_merging_starts_from_the_result_shown(loaded, qtbot, run_and_wait):
    """A user's report: after a W-Net (or clustering) run with no scribbles the layer showed
    a few segments, the counter at 0 said hundreds of regions, and the first move of the
    slider to the right split the result into hundreds of fragments."""
    viewer, widget, image, scribbles = loaded
    scribbles.data = np.zeros_like(scribbles.data)
    widget.params.set_method("wnet")
    widget.params.use_crf.setChecked(True)  # the defaults a user runs with
    run_and_wait(widget)
    result, seg, panel = widget.result_layer(), widget.merge.segmentation, widget.merge
    shown = len(np.unique(result.data))
    assert f"{shown} regions" in panel.counter.text()
    counts = []
    for position in np.linspace(0, 1, 21):
        panel.slider.setValue(int(round(position * STEPS)))
        panel.slider.sliderReleased.emit()
        qtbot.wait(20)
        counts.append(len(np.unique(result.data)))
        assert f"{counts[-1]} regions" in panel.counter.text()
        # every segment of the result lies whole in one region: merging only joins segments
        pairs = np.unique(np.stack([seg.labels.ravel(), np.asarray(result.data).ravel()]), axis=1)
        assert len(np.unique(pairs[0])) == pairs.shape[1]
    assert counts[0] == shown and counts == sorted(counts, reverse=True) and counts[-1] < shown
