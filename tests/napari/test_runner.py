"""The worker adapter without a viewer: throttling, preview resizing, errors as outcomes."""

from __future__ import annotations

import threading
import time

import numpy as np

from napari_unsup_seg._napari.runner import RunSpec, preview_shape, resize_nearest, run_segmentation
from napari_unsup_seg.core import pipeline
from napari_unsup_seg.core.progress import Progress


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
    events, outcome = _drain(run_segmentation(image, None, RunSpec(), threading.Event(), preview_size=(8, 10)))
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
    _, outcome = _drain(run_segmentation(np.zeros((8, 10)), None, RunSpec(), threading.Event()))
    assert isinstance(outcome.error, ValueError) and outcome.segmentation is None
    _, outcome = _drain(run_segmentation(np.zeros((2, 3, 8, 10)), None, RunSpec(), threading.Event()))
    assert "2D image is needed" in str(outcome.error)


def test_preview_shape_and_nearest_resize():
    assert preview_shape((48, 64)) == (48, 64)
    assert preview_shape((1000, 500)) == (256, 128)
    labels = np.array([[1, 2], [3, 4]], np.int32)
    np.testing.assert_array_equal(resize_nearest(labels, (4, 4)), np.kron(labels, np.ones((2, 2), np.int32)))
