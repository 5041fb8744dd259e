"""Save session... and File > Open of a saved session (issue #11).

The annotator's image, scribbles with their class names, result and merge slider come
back from one ``<image>.unsupseg`` folder, with the dock open or opened later.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import WIDGET, make_image, make_scribbles
from napari.layers import Image, Labels

from napari_unsup_seg._napari import dialogs
from napari_unsup_seg._napari.layers import META_KEY, role
from napari_unsup_seg._napari.merge import STEPS
from napari_unsup_seg.core.hierarchy import build_hierarchy
from napari_unsup_seg.core.palette import class_colour
from napari_unsup_seg.core.pipeline import Segmentation
from napari_unsup_seg.core.session import MergeRecord, read_session, write_session

PLUGIN = "napari-unsup-seg"


def _layers(viewer, name):
    image = viewer.layers[name]
    scribbles = viewer.layers[f"{name} scribbles"]
    result = viewer.layers[f"{name} segmentation"]
    return image, scribbles, result


def test_a_session_saved_with_the_button_reopens_with_its_names_result_and_slider(
    loaded, qtbot, run_and_wait, tmp_path, monkeypatch
):
    viewer, widget, image, scribbles = loaded
    run_and_wait(widget)
    result, seg, panel = widget.result_layer(), widget.merge.segmentation, widget.merge
    panel.slider.setValue(STEPS // 2)
    qtbot.waitUntil(lambda: panel.threshold > 0, timeout=2000)
    threshold = panel.threshold
    widget.legend.table.item(0, 2).setText("red part")  # rename class 1
    magenta = (1.0, 0.0, 1.0, 1.0)
    widget.legend.set_class_colour(2, magenta)
    widget.legend.set_class_visible(3, False)
    k = widget.legend.add_class()
    assert panel.assign_at(6, 6, value=k) > 0  # a click-to-assign with a new class
    assigned = panel._state.assigned(result).copy()
    shown, painted = np.array(result.data, copy=True), np.array(scribbles.data, copy=True)

    monkeypatch.setattr(dialogs, "choose_folder", lambda *a, **k: tmp_path)
    widget.session_saver.button.click()
    path = tmp_path / "tiny.unsupseg"
    assert (path / "session.json").is_file()
    assert f"saved the session to {path}" in widget.status.text()

    viewer.layers.clear()
    assert widget.merge.layer is None
    viewer.open(path, plugin=PLUGIN)
    assert [layer.name for layer in viewer.layers] == ["tiny", "tiny scribbles", "tiny segmentation"]
    image, scribbles, result = _layers(viewer, "tiny")
    assert isinstance(image, Image) and image.rgb
    np.testing.assert_array_equal(image.data, make_image())
    assert isinstance(scribbles, Labels) and role(scribbles) == "scribbles"
    np.testing.assert_array_equal(scribbles.data, painted)
    names = {1: "red part", 2: "class 2", 3: "class 3", k: f"class {k}"}
    assert scribbles.metadata[META_KEY]["class_names"] == names
    assert role(result) == "result"
    np.testing.assert_array_equal(result.data, shown)

    qtbot.waitUntil(lambda: panel.layer is result, timeout=5000)
    assert widget.image_layer() is image and widget.scribbles_layer() is scribbles
    assert widget.legend.names() == names
    assert panel.slider.isEnabled() and panel.slider.value() == STEPS // 2 and panel.threshold == threshold
    assert f"threshold {threshold:.3f}" in panel.counter.text()
    np.testing.assert_array_equal(panel._state.assigned(result), assigned)
    for c in (1, 2, 3):  # the classes keep their colours
        np.testing.assert_allclose(result.get_color(c), scribbles.get_color(c))
    np.testing.assert_allclose(scribbles.get_color(2), magenta)
    assert scribbles.get_color(3)[3] == 0 and not widget.legend.is_class_visible(3)  # still hidden
    widget.legend.set_class_visible(3, True)
    assert scribbles.get_color(3)[3] == 1 and result.get_color(3)[3] == 1  # the result follows its scribbles

    panel.slider.setValue(STEPS // 5)  # the slider works: the cut of the run's hierarchy, the click kept
    qtbot.waitUntil(lambda: panel.threshold != threshold, timeout=2000)
    np.testing.assert_array_equal(result.data, np.where(assigned, k, seg.classes(panel.threshold)))
    assert widget._save_target() is not None  # Save result... has it too


def _synthetic_session(folder, name, seed, threshold=0.3, colours=None):
    """Write a session of the tiny image with a hierarchy built here (no run: fast)."""
    pixels, scribbles = make_image(), make_scribbles()
    rng = np.random.default_rng(seed)
    scribbles = np.where(rng.random(scribbles.shape) < 0.5, scribbles, 0).astype(np.uint8)
    chw = np.moveaxis(pixels, -1, 0).astype(np.float32) / 255
    hierarchy = build_hierarchy(chw, rng.integers(0, 8, scribbles.shape), scribbles=scribbles)
    labels = np.where(chw[0] > 0.5, 1, 2).astype(np.int32)
    seg = Segmentation(labels, hierarchy, scribbles.astype(np.int32), False, None, {"seed": seed})
    names = {1: f"{name} one", 2: f"{name} two", 3: f"{name} three"}
    write_session(
        folder,
        pixels,
        scribbles,
        names,
        colours or {},
        seg.classes(threshold),
        seg.ucm,
        MergeRecord(threshold, seg.labels, seg.scribbles, scope=[None, None]),
        seg.recipe,
        layers={"image": {"name": name, "rgb": True}},
    )
    return seg, scribbles, names


def test_a_session_opened_without_the_dock_is_picked_up_when_it_opens(make_napari_viewer, qtbot, tmp_path):
    seg, painted, names = _synthetic_session(tmp_path / "a.unsupseg", "tiny", seed=1, threshold=0.3)
    viewer = make_napari_viewer()
    viewer.open(tmp_path / "a.unsupseg", plugin=PLUGIN)
    image, scribbles, result = _layers(viewer, "tiny")
    np.testing.assert_array_equal(scribbles.data, painted)
    assert scribbles.data.dtype == np.uint8

    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, WIDGET)
    panel = widget.merge
    qtbot.waitUntil(lambda: panel.layer is result, timeout=5000)
    assert widget.scribbles_layer() is scribbles and widget.legend.names() == names
    assert panel.threshold == 0.3 and panel.slider.value() == round(0.3 * STEPS)
    panel.set_threshold(0.6)
    np.testing.assert_array_equal(result.data, seg.classes(0.6))


@pytest.mark.parametrize("second", ["right", "left", None], ids=["two names", "one name twice", "one session twice"])
def test_two_images_sessions_reopen_each_with_its_own_scribbles(plugin, qtbot, tmp_path, second):
    viewer, widget = plugin
    left = _synthetic_session(tmp_path / "left.unsupseg", "left", seed=1)
    right = left if second is None else _synthetic_session(tmp_path / "right.unsupseg", second, seed=2)
    viewer.open(tmp_path / "left.unsupseg", plugin=PLUGIN)
    viewer.open(tmp_path / ("left.unsupseg" if second is None else "right.unsupseg"), plugin=PLUGIN)
    assert len(viewer.layers) == 6  # nothing added: each image has its scribbles
    for first, (seg, painted, names) in zip((0, 3), (left, right)):
        image, scribbles, result = viewer.layers[first : first + 3]
        widget.set_image_layer(image)
        qtbot.waitUntil(lambda: widget.merge.layer is result and widget.scribbles_layer() is scribbles, timeout=5000)
        np.testing.assert_array_equal(scribbles.data, painted)
        assert widget.legend.names() == names
        np.testing.assert_array_equal(result.data, seg.classes(0.3))
        assert widget.merge.segmentation.recipe == seg.recipe
        assert widget.result_layer() is result
    assert len(viewer.layers) == 6
    scribbles = viewer.layers[1]
    scribbles.data_setitem((np.array([0]), np.array([0])), 2)  # a stroke on the first image's scribbles
    assert viewer.layers[4].data[0, 0] == right[1][0, 0]  # not on the second's


def test_an_existing_session_is_replaced_only_when_the_user_says_yes(
    loaded, qtbot, run_and_wait, tmp_path, monkeypatch
):
    viewer, widget, image, scribbles = loaded
    path = widget.save_session(tmp_path)  # before any run: the image and its scribbles
    assert path == tmp_path / "tiny.unsupseg" and read_session(path).labels is None
    run_and_wait(widget)
    monkeypatch.setattr(dialogs, "confirm_overwrite", lambda *a: False)
    assert widget.save_session(tmp_path) is None
    assert read_session(path).labels is None and "was kept" in widget.status.text()
    monkeypatch.setattr(dialogs, "confirm_overwrite", lambda *a: True)
    assert widget.save_session(tmp_path) == path
    np.testing.assert_array_equal(read_session(path).labels, widget.result_layer().data)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.unsupseg"]


def test_a_damaged_session_says_what_is_missing(make_napari_viewer, tmp_path):
    _synthetic_session(tmp_path / "a.unsupseg", "tiny", seed=1)
    (tmp_path / "a.unsupseg" / "ucm.npy").unlink()
    viewer = make_napari_viewer()
    with pytest.raises(Exception, match="misses its file ucm.npy"):
        viewer.open(tmp_path / "a.unsupseg", plugin=PLUGIN)
    assert len(viewer.layers) == 0


def test_class_colours_come_back(make_napari_viewer, tmp_path):
    red = (1.0, 0.0, 0.0, 1.0)
    _synthetic_session(tmp_path / "a.unsupseg", "tiny", seed=1, colours={2: red})
    viewer = make_napari_viewer()
    viewer.open(tmp_path / "a.unsupseg", plugin=PLUGIN)
    assert [layer.name for layer in viewer.layers] == ["tiny", "tiny scribbles", "tiny segmentation"]
    for layer in viewer.layers[1:]:
        np.testing.assert_allclose(layer.get_color(2), red)
        for k in (1, 3, 7):  # the other classes, and those added later, take the legend's distinct colours
            np.testing.assert_allclose(layer.get_color(k), class_colour(k))


def test_open_session_button_opens_it_and_names_what_is_wrong_with_a_damaged_one(
    plugin, qtbot, tmp_path, notes, monkeypatch
):
    viewer, widget = plugin
    seg, painted, names = _synthetic_session(tmp_path / "a.unsupseg", "tiny", seed=1)
    _synthetic_session(tmp_path / "b.unsupseg", "other", seed=2)
    (tmp_path / "b.unsupseg" / "result.tif").unlink()
    monkeypatch.setattr(dialogs, "choose_session", lambda *a: tmp_path / "a.unsupseg")
    widget.session_saver.open_button.click()
    image, scribbles, result = _layers(viewer, "tiny")
    qtbot.waitUntil(lambda: widget.merge.layer is result, timeout=5000)
    assert widget.legend.names() == names and "opened the session a.unsupseg" in widget.status.text()

    monkeypatch.setattr(dialogs, "choose_session", lambda *a: tmp_path / "b.unsupseg")
    widget.session_saver.open_button.click()
    assert len(viewer.layers) == 3
    assert "misses its file result.tif" in notes[-1].message
    assert "not opened" in widget.status.text()  # no longer says the last session opened

    plain = tmp_path / "holiday photos"  # a folder that is no session: said in words, nothing opened
    plain.mkdir()
    monkeypatch.setattr(dialogs, "choose_session", lambda *a: plain)
    widget.session_saver.open_button.click()
    assert len(viewer.layers) == 3
    assert "is not a saved session" in notes[-1].message and "Reader" not in notes[-1].message


def test_a_reopened_session_shows_the_settings_its_result_was_made_with(
    loaded, qtbot, run_and_wait, tmp_path, monkeypatch
):
    viewer, widget, image, scribbles = loaded  # 40 iterations, no CRF
    widget.params.fields["seed"].value = 7
    run_and_wait(widget)
    monkeypatch.setattr(dialogs, "choose_folder", lambda *a, **k: tmp_path)
    widget.session_saver.button.click()
    assert (tmp_path / "tiny.unsupseg" / "session.json").is_file()

    widget.params.fields["seed"].value = 0  # the user goes on with other settings
    widget.params.iterations.setValue(0)
    widget.params.use_crf.setChecked(True)
    viewer.layers.clear()
    viewer.open(tmp_path / "tiny.unsupseg", plugin=PLUGIN)
    qtbot.waitUntil(lambda: widget.merge.layer is not None, timeout=5000)
    spec = widget.params.spec()
    assert (spec.seed, spec.max_iter, spec.use_crf) == (7, 40, False)


def test_settings_recorded_by_a_newer_version_are_read_for_what_this_one_knows():
    from dataclasses import asdict

    from napari_unsup_seg.core.settings import RunSettings, settings_from_record

    recorded = {**asdict(RunSettings(seed=3, method="wnet", adapt=5)), "a_setting_from_the_future": 1}
    assert settings_from_record(recorded) == RunSettings(seed=3, method="wnet", adapt=5)
