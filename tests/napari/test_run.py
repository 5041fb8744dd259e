"""Runs through the widget: result layer, stop, responsiveness, warm start, replacing."""

from __future__ import annotations

import time

import numpy as np
from qtpy.QtCore import QTimer

from napari_unsup_seg._napari import results
from napari_unsup_seg._napari.layers import role
from napari_unsup_seg.core import pipeline


def test_end_to_end(loaded, run_and_wait):
    viewer, widget, image, scribbles = loaded
    image.scale, image.translate = (2.0, 0.5), (10.0, -3.0)
    scribbles.scale, scribbles.translate = image.scale, image.translate
    before = np.array(scribbles.data, copy=True)
    run_and_wait(widget)

    result = viewer.layers["tiny segmentation"]
    assert widget.result_layer() is result
    assert [layer.name for layer in viewer.layers] == ["tiny", "tiny scribbles", "tiny segmentation"]
    labels = np.asarray(result.data)
    assert labels.shape == (48, 64)
    assert set(np.unique(labels)) <= {1, 2, 3}
    painted = before > 0
    np.testing.assert_array_equal(labels[painted], before[painted])  # scribbled pixels keep their class
    np.testing.assert_array_equal(scribbles.data, before)  # the scribbles are never modified
    for k in (1, 2, 3):  # class k has the same colour in both layers
        np.testing.assert_allclose(result.get_color(k), scribbles.get_color(k))
    np.testing.assert_allclose(result.scale, image.scale)
    np.testing.assert_allclose(result.translate, image.translate)
    assert widget.run_button.isEnabled() and not widget.stop_button.isEnabled()
    assert "done" in widget.status.text()


def test_stop_is_quick_keeps_result_and_gui_stays_responsive(loaded, qtbot, monkeypatch, capsys):
    viewer, widget, image, scribbles = loaded
    widget.params.preset.setCurrentText("paper")  # slow on purpose: never converges here
    widget.params.iterations.setValue(100_000)

    events = []  # (time, stage, step) of every event the core yields, on the worker thread
    real_segment = pipeline.segment

    def recording_segment(*args, **kwargs):
        gen = real_segment(*args, **kwargs)
        while True:
            try:
                event = next(gen)
            except StopIteration as done:
                return done.value
            events.append((time.perf_counter(), event.stage, event.step))
            yield event

    monkeypatch.setattr(pipeline, "segment", recording_segment)
    previews = []  # GUI-side preview updates
    real_update = results.update_preview
    monkeypatch.setattr(
        results, "update_preview", lambda layer, p: previews.append(time.perf_counter()) or real_update(layer, p)
    )

    ticks = []
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    saw_preview, statuses = [], []
    clicked = time.perf_counter()
    assert widget.run()  # adds the preview layer, then starts the worker
    start = time.perf_counter()
    assert not widget.run_button.isEnabled()
    while time.perf_counter() - start < 3.0:  # a run of several seconds; the GUI keeps ticking
        qtbot.wait(50)
        saw_preview.append(bool(np.any(viewer.layers["tiny preview"].data)))
        statuses.append(widget.status.text())
        assert widget.running
    stop_at = time.perf_counter()
    widget.stop_button.click()
    qtbot.waitUntil(lambda: not widget.running, timeout=10_000)
    done_at = time.perf_counter()
    qtbot.wait(100)
    timer.stop()

    during = np.diff([t for t in ticks if start <= t <= stop_at])
    overall = np.diff([t for t in ticks if clicked <= t])
    pass
    cluster_times = [t for t, stage, _ in events if stage == "cluster"]
    per_iter = np.median(np.diff(cluster_times))
    after_stop = [t for t in cluster_times if t > stop_at]
    with capsys.disabled():
        print(
            f"\n[responsiveness] 20 ms timer during a {stop_at - start:.1f} s run: largest gap "
            f"{during.max() * 1000:.0f} ms ({len(during)} ticks); {len(cluster_times)} iterations of "
            f"{per_iter * 1000:.0f} ms; Stop -> result shown in {(done_at - stop_at) * 1000:.0f} ms with "
            f"{len(after_stop)} iteration(s) after the stop; largest gap including the Run click "
            f"and the result display: {overall.max() * 1000:.0f} ms; {len(previews)} preview updates"
        )
    assert during.max() < 0.2
    rate = (len(previews) - 1) / (previews[-1] - previews[0])
    assert rate <= 5.5, f"{rate:.1f} previews per second"  # throttled to 5 Hz
    assert any("iteration" in t and "segments" in t and "loss" in t for t in statuses)
    assert len(after_stop) <= 1  # the run ended within one iteration of the stop
    assert any(saw_preview)  # the preview layer was updated during the run...
    assert not any(role(layer) == "preview" for layer in viewer.layers)  # ...and removed after
    seg = widget.merge.segmentation
    assert seg is not None and seg.stopped
    result = viewer.layers["tiny segmentation"]
    assert result.data.shape == (48, 64) and "stopped" in widget.status.text()


def test_warm_start_needs_fewer_iterations(loaded, run_and_wait, capsys):
    viewer, widget, image, scribbles = loaded
    widget.live_box.setChecked(False)
    scribbles.data = np.zeros_like(scribbles.data)  # unsupervised: the iterations run to convergence
    widget.params.iterations.setValue(0)  # the fast preset's own stopping rule
    run_and_wait(widget)
    cold = widget.merge.segmentation.recipe["run"]["n_iter"]
    assert "warm" not in widget.status.text()
    run_and_wait(widget)  # same image, same scribbles: starts from the previous network
    warm = widget.merge.segmentation.recipe["run"]["n_iter"]
    assert "warm start" in widget.status.text()
    with capsys.disabled():
        print(f"\n[warm start] cold run {cold} iterations, warm run {warm} iterations")
    assert warm < cold, (cold, warm)


def test_rerun_replaces_in_one_undo_step_or_keeps(loaded, run_and_wait):
    viewer, widget, image, scribbles = loaded
    run_and_wait(widget)
    result = viewer.layers["tiny segmentation"]
    first = np.array(result.data, copy=True)

    edited = np.array(scribbles.data)
    edited[edited == 3] = 1  # the green block's stroke now says class 1
    scribbles.data = edited
    run_and_wait(widget)
    assert viewer.layers["tiny segmentation"] is result and len(viewer.layers) == 3
    second = np.array(result.data, copy=True)
    assert not np.array_equal(first, second)
    result.undo()  # one step back: the previous result
    np.testing.assert_array_equal(result.data, first)
    result.redo()
    np.testing.assert_array_equal(result.data, second)

    widget.replace_box.setChecked(False)
    run_and_wait(widget)
    assert len(viewer.layers) == 4
    np.testing.assert_array_equal(result.data, second)  # the previous layer is kept as it was
    assert widget.result_layer() is viewer.layers[-1]


def test_wnet_with_a_user_weights_file(loaded, run_and_wait, tmp_path):
    # a small random W-Net saved as a user's weights file: the widget path, not the quality
    import torch

    from napari_unsup_seg.core.wnet import WNet, WNetConfig, save_weights

    torch.manual_seed(0)
    weights = tmp_path / "tiny_wnet.pt"
    save_weights(WNet(WNetConfig(in_channels=3, k=4, width=4, depth=2)), weights)
    viewer, widget, image, scribbles = loaded
    widget.params.set_method("wnet")
    widget.params.iterations.setValue(2)  # two adaptation steps on this image
    widget.params.weights.setText(str(weights))
    assert widget.params.spec().method == "wnet"
    run_and_wait(widget)
    labels = np.asarray(widget.result_layer().data)
    painted = scribbles.data > 0
    np.testing.assert_array_equal(labels[painted], scribbles.data[painted])
    assert set(np.unique(labels)) <= {1, 2, 3}
    assert widget.merge.slider.isEnabled()


def test_missing_wnet_weights_file_is_a_notification(loaded, run_and_wait, notes, tmp_path):
    viewer, widget, image, scribbles = loaded
    widget.params.set_method("wnet")
    widget.params.weights.setText(str(tmp_path / "nowhere.pt"))
    run_and_wait(widget)
    errors = [n for n in notes if str(n.severity) == "error"]
    assert errors and "nowhere.pt" in errors[-1].message
    assert widget.result_layer() is None and len(viewer.layers) == 2


def test_deleting_the_image_during_a_run_stops_it(loaded, qtbot, notes):
    viewer, widget, image, scribbles = loaded
    widget.params.iterations.setValue(100_000)
    widget.live_box.setChecked(False)
    scribbles.data = np.zeros_like(scribbles.data)  # unsupervised: no early end from the scribble cap
    assert widget.run()
    qtbot.waitUntil(
        lambda: widget.last_progress is not None and widget.last_progress.stage == "cluster", timeout=60_000
    )
    viewer.layers.remove(image)  # the trash can of the layer list
    qtbot.waitUntil(lambda: not widget.running, timeout=10_000)  # stopped at once, not after 100000 iterations
    assert widget.result_layer() is None
    assert any("stopped and its result dropped" in str(n.message) for n in notes)
    assert widget.status.text() == "stopped: the image layer was removed"


def test_a_hidden_result_is_shown_again_by_the_next_run(loaded, run_and_wait):
    viewer, widget, image, scribbles = loaded
    run_and_wait(widget)
    widget.result_layer().visible = False  # the eye icon, to look at the image
    run_and_wait(widget)
    assert widget.result_layer().visible


def test_an_image_opened_from_the_widget_is_framed(loaded, qtbot, tmp_path):
    import imageio.v3 as iio

    viewer, widget, image, scribbles = loaded
    big = np.zeros((400, 900, 3), np.uint8)
    iio.imwrite(tmp_path / "wide.png", big)
    layer = widget.load_image(tmp_path / "wide.png")
    assert layer is not None
    center = np.asarray(viewer.camera.center)[-2:]
    np.testing.assert_allclose(center, [199.5, 449.5], atol=1.0)


def test_no_hidden_time_limit_and_a_limit_that_stops_a_run_says_so(loaded, run_and_wait, monkeypatch):
    from dataclasses import replace

    from napari_unsup_seg._napari import runner

    viewer, widget, image, scribbles = loaded
    assert runner.build_params(widget.params.spec()).cluster.time_budget is None  # a seed gives one result
    real = runner.build_params
    monkeypatch.setattr(
        runner,
        "build_params",
        lambda spec: replace(real(spec), cluster=real(spec).cluster.replace(time_budget=0.001, min_iter=0)),
    )
    scribbles.data = np.zeros_like(scribbles.data)  # unsupervised: the limit applies to the clustering
    run_and_wait(widget)
    assert widget.status.text().startswith("stopped at the 0.001 s limit after 1 iterations")


def test_a_run_stopped_at_once_shows_its_regions_without_a_merge_slider(loaded, run_and_wait, monkeypatch):
    import threading

    viewer, widget, image, scribbles = loaded
    real = pipeline.segment
    pressed = threading.Event()
    pressed.set()  # Stop pressed before the network learned anything
    monkeypatch.setattr(pipeline, "segment", lambda *a, stop=None, **k: real(*a, stop=pressed, **k))
    scribbles.data = np.zeros_like(scribbles.data)
    run_and_wait(widget)
    assert widget.result_layer() is not None
    assert "stopped" in widget.status.text() and "no merge slider" in widget.status.text()
    assert not widget.merge.slider.isEnabled()


def test_scribbles_of_one_class_say_the_class_and_the_rest(loaded, run_and_wait):
    """A user's report: a run with strokes of one class only said "2 classes"."""
    viewer, widget, image, scribbles = loaded
    one = np.where(scribbles.data == 3, 3, 0).astype(scribbles.data.dtype)
    scribbles.data = one
    run_and_wait(widget)
    assert "1 class and the rest" in widget.status.text(), widget.status.text()
    assert len(np.unique(widget.result_layer().data)) == 2
