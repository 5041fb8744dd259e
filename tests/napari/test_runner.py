"""The worker adapter without a viewer: throttling, preview resizing, errors as outcomes."""

from __future__ import annotations

import threading
import time

import numpy as np

from napari_unsup_seg._napari.runner import (
    StackInput,
    prepare_input,
    preview_shape,
    resize_nearest,
    run_segmentation,
)
from napari_unsup_seg.core import pipeline
from napari_unsup_seg.core.progress import Progress
from napari_unsup_seg.core.settings import RunSettings


def _drain(gen):
    events = []
    while True:
        try:
            events.append((time.perf_counter(), next(gen)))
        except StopIteration as done:
            return events, done.value


def test_events_and_previews_are_throttled(monkeypatch):
    def chatty_segment(image, scribbles=None, params=None, **kwargs):
        for step in range(1, 301):  # ~1.5 s of 5 ms iterations, each with a preview
            time.sleep(0.005)
            yield Progress(step, 300, "cluster", 1.0, 3, np.full((4, 5), step % 3 + 1, np.int32))
        yield Progress(0, 1, "ucm")
        return "the segmentation"

    monkeypatch.setattr(pipeline, "segment", chatty_segment)
    image = np.zeros((8, 10, 3), np.uint8)
    events, outcome = _drain(run_segmentation(image, None, RunSettings(), threading.Event(), preview_size=(8, 10)))
    assert outcome.segmentation == "the segmentation" and outcome.error is None
    seconds = events[-1][0] - events[0][0]
    assert len(events) <= seconds / 0.05 + 3  # <= 20 events/s, plus stage changes
    previews = [(t, e.preview) for t, e in events if e.preview is not None]
    assert 2 <= len(previews) <= seconds / 0.2 + 1  # <= 5 previews/s
    assert all(p.shape == (8, 10) for _, p in previews)  # resized on the worker thread
    assert events[-1][1].stage == "ucm"


def test_errors_come_back_as_outcomes(monkeypatch):
    def broken_segment(*args, **kwargs):
        yield Progress(1, 10, "cluster")
        raise ValueError("boom")

    monkeypatch.setattr(pipeline, "segment", broken_segment)
    _, outcome = _drain(run_segmentation(np.zeros((8, 10)), None, RunSettings(), threading.Event()))
    assert isinstance(outcome.error, ValueError) and outcome.segmentation is None
    _, outcome = _drain(run_segmentation(np.zeros((2, 3, 8, 10)), None, RunSettings(), threading.Event()))
    assert "2D image is needed" in str(outcome.error)


def test_preview_shape_and_nearest_resize():
    assert preview_shape((48, 64)) == (48, 64)
    assert preview_shape((1000, 500)) == (256, 128)
    labels = np.array([[1, 2], [3, 4]], np.int32)
    np.testing.assert_array_equal(resize_nearest(labels, (4, 4)), np.kron(labels, np.ones((2, 2), np.int32)))


def test_a_volume_is_scaled_whole_and_a_slice_sees_the_same_values():
    rng = np.random.default_rng(0)
    volume = rng.integers(0, 4000, (5, 8, 10)).astype(np.uint16)
    volume[1] //= 4  # a dim slice: scaled on its own it would be as bright as the others
    scribbles = np.zeros(volume.shape, np.int32)
    scribbles[1, 2, 2] = 1
    data, s, spacing = prepare_input(volume, scribbles, StackInput("ZYX", (3.0, 1.0, 1.0)))
    assert data.shape == (1, 5, 8, 10) and data.dtype == np.float32 and s is scribbles
    assert spacing == (3.0, 1.0, 1.0) and data[0, 1].max() < 0.3 < data[0, 2].max()
    plane, s, spacing = prepare_input(volume, scribbles, StackInput("ZYX", (3.0, 1.0, 1.0), slice_index=1))
    np.testing.assert_array_equal(plane, data[:, 1])
    np.testing.assert_array_equal(s, scribbles[1])
    assert spacing == (1.0, 1.0)
    rgb, _, _ = prepare_input(np.zeros((5, 8, 10, 3), np.uint8), None, StackInput("ZYXC"))
    assert rgb.shape == (3, 5, 8, 10)


def test_a_whole_volume_run_shows_its_first_mask_but_no_slice_previews(monkeypatch):
    seen = {}

    def volume_segment(image, scribbles=None, params=None, **kwargs):
        seen.update(shape=image.shape, spacing=kwargs.get("spacing"))
        yield Progress(0, 1, "propagate", result=np.ones(image.shape[1:], np.int32))
        for step in range(1, 4):
            time.sleep(0.25)
            yield Progress(step, 3, "cluster", 1.0, 3, np.ones((4, 5), np.int32))  # one slice's map
        return "the segmentation"

    monkeypatch.setattr(pipeline, "segment", volume_segment)
    events, outcome = _drain(
        run_segmentation(
            np.zeros((3, 8, 10)), None, RunSettings(), threading.Event(), stack=StackInput("ZYX", (2.0, 1.0, 1.0))
        )
    )
    assert outcome.segmentation == "the segmentation" and seen == {"shape": (1, 3, 8, 10), "spacing": (2.0, 1.0, 1.0)}
    previews = [e.preview.shape for _, e in events if e.preview is not None]
    assert previews == [(3, 8, 10)]


def test_the_widget_and_the_cli_make_the_same_params_from_the_same_choices(qtbot):
    """Each front end once translated its inputs itself, and they drifted apart."""
    from napari_unsup_seg._cli import build_parser
    from napari_unsup_seg._cli.segment import _params
    from napari_unsup_seg._napari.params_form import ParamsForm
    from napari_unsup_seg._napari.runner import build_params

    form = ParamsForm()
    qtbot.addWidget(form)
    form.preset.setCurrentText("paper")
    form.iterations.setValue(7)
    form.seed.setValue(3)
    form.set_device("cpu")
    form.use_crf.setChecked(False)
    cli = _params(
        build_parser().parse_args(
            [
                "segment",
                "x.png",
                "-o",
                "out",
                "--preset",
                "paper",
                "--max-iter",
                "7",
                "--seed",
                "3",
                "--device",
                "cpu",
                "--no-crf",
                "--ucm",
            ]
        )
    )
    assert build_params(form.spec()) == cli
    assert cli.cluster.max_iter == 7 and cli.propagation.cluster_iter == 7 and not cli.use_crf

    form.set_method("wnet")
    form.adapt.setValue(2)
    wnet = _params(
        build_parser().parse_args(
            [
                "segment",
                "x.png",
                "-o",
                "out",
                "--method",
                "wnet",
                "--preset",
                "paper",
                "--adapt",
                "2",
                "--seed",
                "3",
                "--device",
                "cpu",
                "--no-crf",
                "--ucm",
            ]
        )
    )
    assert build_params(form.spec()) == wnet and wnet.wnet.adapt_steps == 2
    # the clustering's preset and iterations do not reach a W-Net run, from either front end
    assert wnet.cluster == _params(build_parser().parse_args(["segment", "x.png", "-o", "o"])).cluster


def test_the_form_shows_the_fields_of_the_chosen_segmenter_only(qtbot):
    from napari_unsup_seg._napari.params_form import ParamsForm

    form = ParamsForm()
    qtbot.addWidget(form)
    form.show()
    cluster_only, wnet_only = (form.preset, form.iterations), (form.adapt, form._weights_row)
    assert all(w.isVisible() for w in cluster_only) and not any(w.isVisible() for w in wnet_only)
    form.set_method("wnet")
    assert not any(w.isVisible() for w in cluster_only) and all(w.isVisible() for w in wnet_only)
    assert [form.method.itemText(i) for i in range(form.method.count())] == ["Clustering", "W-Net"]


def test_the_crf_fields_are_those_of_crfparams_and_reach_the_run(qtbot):
    from dataclasses import asdict

    from napari_unsup_seg._napari.params_form import ParamsForm
    from napari_unsup_seg._napari.runner import build_params
    from napari_unsup_seg.core.crf import CRFParams

    form = ParamsForm()
    qtbot.addWidget(form)
    numbers = {k: v for k, v in asdict(CRFParams()).items() if isinstance(v, int | float | bool)}
    assert form.crf_values() == numbers
    name = next(k for k, v in numbers.items() if isinstance(v, int) and not isinstance(v, bool))
    form._crf[name].value = numbers[name] + 1
    assert getattr(build_params(form.spec()).crf, name) == numbers[name] + 1


def test_the_form_fields_take_their_tips_choices_and_ranges_from_runsettings(qtbot, monkeypatch, tmp_path):
    from qtpy.QtCore import Qt
    from qtpy.QtWidgets import QPushButton

    from napari_unsup_seg._napari import dialogs
    from napari_unsup_seg._napari.params_form import ParamsForm
    from napari_unsup_seg.core.cluster_params import PRESETS
    from napari_unsup_seg.core.settings import SEED_MAX, describe

    form = ParamsForm()
    qtbot.addWidget(form)
    assert {name: widget.tooltip for name, widget in form.fields.items()} == {
        name: describe(name)["help"] for name in form.fields
    }
    assert form.fields["preset"].choices == tuple(PRESETS)
    form.seed.setValue(SEED_MAX)  # the CLI's largest seed (a QSpinBox stopped at 2**31 - 1)
    assert form.spec().seed == SEED_MAX
    weights = tmp_path / "mine.pt"
    monkeypatch.setattr(dialogs, "choose_weights", lambda parent: weights)
    form.set_method("wnet")
    form.show()
    browse = next(b for b in form.findChildren(QPushButton) if b.text() == "..." and b.isVisible())
    qtbot.mouseClick(browse, Qt.MouseButton.LeftButton)
    assert form.spec().weights == str(weights)


def test_the_worker_builds_the_ucm_and_the_class_votes_so_the_gui_thread_does_not():
    image = np.zeros((16, 20, 3), np.uint8)
    image[:, 10:] = 200
    scribbles = np.zeros((16, 20), np.uint8)
    scribbles[8, 2:6], scribbles[8, 14:18] = 1, 2
    settings = RunSettings(max_iter=3)
    _, outcome = _drain(run_segmentation(image, scribbles, settings, threading.Event()))
    seg = outcome.segmentation
    assert outcome.error is None and seg.hierarchy is not None
    # cached_property values sit in the instance dict once built
    assert "ucm" in vars(seg.hierarchy) and "_votes" in vars(seg)


def test_the_warm_up_loads_higra_before_the_first_run():
    """higra (imported lazily by the core) brings 200 modules: loaded at warm-up, not in a run."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from napari_unsup_seg._napari.runner import warm_up\n"
        "assert 'higra.higram' not in sys.modules\n"
        "assert warm_up().wait(120)\n"
        "assert 'higra.higram' in sys.modules, 'higra not loaded'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
