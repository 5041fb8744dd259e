"""Worker adapter: runs :func:`core.pipeline.segment` on a napari generator worker.

The GUI thread only builds a :class:`RunSpec` (plain values) and, for a volume, a
:class:`VolumeInput`. Everything that needs torch — importing the pipeline, building
the parameters, normalising the image or volume, training — happens on the worker thread. Progress events are throttled there, so a
segmenter that yields very often cannot flood the GUI's event queue.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from napari.qt.threading import GeneratorWorker, create_worker

from ..core.progress import Progress

METHOD_LABELS = {"cluster": "Clustering", "wnet": "W-Net"}


@dataclass(frozen=True)
class RunSpec:
    """What the widget asks for, in plain values (no torch needed to build it).

    ``iterations`` is ``max_iter`` of the clustering, with or without scribbles (0 keeps
    the defaults: the preset's, and fewer with scribbles) or the number of W-Net
    adaptation steps (0 = none).
    """

    method: str = "cluster"
    preset: str = "fast"
    iterations: int = 0
    seed: int = 0
    device: str = "auto"
    use_crf: bool = True
    crf: dict = field(default_factory=dict)
    weights: str | None = None


@dataclass(frozen=True)
class VolumeInput:
    """How the worker reads a volume layer's data (plain values, built on the GUI thread).

    ``axes``: "ZYX", or "ZYXC" for an RGB volume; ``spacing``: the (z, y, x) voxel size;
    ``slice_index``: segment only that slice, as an image (None: the whole volume).
    """

    axes: str = "ZYX"
    spacing: tuple[float, float, float] | None = None
    slice_index: int | None = None


@dataclass
class RunOutcome:
    """What a run hands back to the GUI: a segmentation or the error that stopped it."""

    segmentation: Any = None
    error: BaseException | None = None
    seconds: float = 0.0


def build_params(spec: RunSpec):
    """Turn a :class:`RunSpec` into ``core.pipeline.SegmentParams`` (imports torch)."""
    from ..core import crf, pipeline
    from ..core.cluster_params import ClusterParams
    from ..core.wnet import WNetParams

    cluster = ClusterParams.preset(spec.preset)
    if spec.iterations > 0:
        cluster = replace(cluster, max_iter=int(spec.iterations))
    wnet = WNetParams(weights=spec.weights or None, adapt_steps=int(spec.iterations) if spec.method == "wnet" else 0)
    propagation = pipeline.PropagationParams()
    if spec.iterations > 0:  # asked for: with scribbles too
        propagation = replace(propagation, cluster_iter=int(spec.iterations))
    return pipeline.SegmentParams(
        method=spec.method,
        propagation=propagation,
        cluster=cluster,
        wnet=wnet,
        crf=crf.CRFParams(**spec.crf),
        use_crf=spec.use_crf,
        build_ucm=True,
        seed=int(spec.seed),
        device=spec.device,
    )


def warm_up() -> threading.Event:
    """Import the pipeline and torch on a background thread; the event is set when done.

    Importing torch holds Python's GIL for seconds: doing it when the widget opens keeps
    that delay away from the first run.
    """
    ready = threading.Event()

    def load():
        try:
            importlib.import_module("..core.pipeline", __package__)  # imports torch
        except Exception:  # reported by the run that needs it
            pass
        ready.set()

    threading.Thread(target=load, name="napari-unsup-seg warm-up", daemon=True).start()
    return ready


def preview_shape(shape: tuple[int, int], max_side: int = 256) -> tuple[int, int]:
    """Display size of previews for an image of ``shape`` (fixed for a whole run)."""
    f = min(1.0, max_side / max(shape))
    return max(1, round(shape[0] * f)), max(1, round(shape[1] * f))


def resize_nearest(labels: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of a label image to ``shape``."""
    rows = (np.arange(shape[0]) * labels.shape[0]) // shape[0]
    cols = (np.arange(shape[1]) * labels.shape[1]) // shape[1]
    return np.ascontiguousarray(labels[rows[:, None], cols[None, :]], dtype=np.int32)


def prepare_input(image: np.ndarray, scribbles: np.ndarray | None, volume: VolumeInput | None = None):
    """``(input, scribbles, spacing)`` for ``core.pipeline.segment`` (slow on volumes: worker thread).

    An image goes through ``core.image.to_chw``; a volume through ``core.axes``, each
    channel scaled over the whole volume, so a slice segmented alone (``volume.slice_index``)
    sees the same values as in the whole volume, as with the CLI's ``--scope slice``.
    """
    if volume is None:
        from ..core.image import to_chw

        return to_chw(image), scribbles, None
    from ..core.axes import as_stack, frame_to_input

    frame = frame_to_input(as_stack(image, volume.axes).data[0])
    if frame.ndim == 3:  # a volume of one slice
        frame = frame[:, None]
    z = volume.slice_index
    if z is None:
        return frame, scribbles, volume.spacing
    plane = None if scribbles is None else np.ascontiguousarray(scribbles[z])
    return np.ascontiguousarray(frame[:, z]), plane, None if volume.spacing is None else volume.spacing[1:]


def run_segmentation(
    image: np.ndarray,
    scribbles: np.ndarray | None,
    spec: RunSpec,
    stop: threading.Event,
    warm_start: dict | None = None,
    *,
    volume: VolumeInput | None = None,
    preview_size: tuple[int, int] | None = None,
    min_interval: float = 0.05,
    preview_interval: float = 0.2,
) -> Generator[Progress, None, RunOutcome]:
    """Segment ``image`` (any array ``core.image.to_chw`` reads, or a volume); never raises.

    Yields at most one event per ``min_interval`` seconds (plus one per stage change)
    and at most one preview per ``preview_interval`` seconds (plus the first mask of a
    scribble run, always), resized here (off the GUI thread) to ``preview_size``; returns
    a :class:`RunOutcome` holding either the segmentation or the error. A whole-volume
    run shows only its first mask, a (Z, H, W) class map: the clustering's previews
    are maps of one slice.
    """
    start = time.perf_counter()
    whole_volume = volume is not None and volume.slice_index is None
    try:
        from ..core import pipeline

        data, scribbles, spacing = prepare_input(image, scribbles, volume)
        gen = pipeline.segment(data, scribbles, build_params(spec), stop=stop, warm_start=warm_start,
                               spacing=spacing)
        last_emit = last_preview = -np.inf
        last_stage = None
        while True:
            try:
                event = next(gen)
            except StopIteration as done:
                return RunOutcome(done.value, None, time.perf_counter() - start)
            now = time.perf_counter()
            first_mask = event.result is not None
            if first_mask:  # a full-resolution class map: always shown, in the preview layer
                event = replace(event, preview=event.result, result=None)
            elif whole_volume and event.preview is not None:
                event = replace(event, preview=None)
            with_preview = event.preview is not None and (first_mask or now - last_preview >= preview_interval)
            if with_preview or event.stage != last_stage or now - last_emit >= min_interval:
                if event.preview is not None and not with_preview:
                    event = replace(event, preview=None)
                elif with_preview and preview_size is not None and event.preview.ndim == 2:
                    event = replace(event, preview=resize_nearest(event.preview, preview_size))
                last_preview = now if with_preview else last_preview
                last_emit, last_stage = now, event.stage
                yield event
    except Exception as err:  # every failure reaches the user as a notification
        return RunOutcome(None, err, time.perf_counter() - start)


class _StoppableWorker(GeneratorWorker):
    """A generator worker whose ``quit`` (napari's cancel button, closing the viewer)
    requests a cooperative stop, so the result reached so far is still returned."""

    stop_event: threading.Event | None = None

    def quit(self) -> None:
        if self.stop_event is not None:
            self.stop_event.set()
        else:
            super().quit()


class RunController:
    """Starts one run at a time and reports to two callbacks on the GUI thread.

    Parameters
    ----------
    on_progress : callable(Progress)
    on_done : callable(RunOutcome)
        Called once per run, also after a stop; ``outcome.error`` is set on failure.
    """

    def __init__(self, on_progress: Callable[[Progress], Any], on_done: Callable[[RunOutcome], Any]):
        self._on_progress = on_progress
        self._on_done = on_done
        self._worker: GeneratorWorker | None = None
        self._stop: threading.Event | None = None
        self.stop_requested_at: float | None = None

    @property
    def running(self) -> bool:
        return self._worker is not None

    def start(self, image, scribbles, spec: RunSpec, warm_start: dict | None = None,
              preview_size: tuple[int, int] | None = None, volume: VolumeInput | None = None) -> None:
        if self.running:
            raise RuntimeError("a run is already going on")
        self._stop = threading.Event()
        self.stop_requested_at = None
        worker = create_worker(
            run_segmentation, image, scribbles, spec, self._stop, warm_start, volume=volume,
            preview_size=preview_size,
            _worker_class=_StoppableWorker, _start_thread=False,
            _connect={"yielded": self._progress, "returned": self._returned,
                      "errored": self._errored, "aborted": self._aborted},
        )
        worker.stop_event = self._stop
        self._worker = worker
        worker.start()

    def stop(self) -> None:
        """Ask the run to end at its next iteration; its result still arrives via ``on_done``."""
        if self._stop is not None and not self._stop.is_set():
            self.stop_requested_at = time.perf_counter()
            self._stop.set()

    def shutdown(self) -> None:
        """Stop the run and drop the callbacks (their widget is going away)."""
        self._on_progress = self._on_done = None
        self.stop()

    def _progress(self, event: Progress) -> None:
        if self._on_progress is not None:
            self._on_progress(event)

    def _finish(self, outcome: RunOutcome) -> None:
        self._worker = None
        if self._on_done is not None:
            self._on_done(outcome)

    def _returned(self, outcome: RunOutcome) -> None:
        self._finish(outcome)

    def _errored(self, err: BaseException) -> None:
        self._finish(RunOutcome(None, err))

    def _aborted(self) -> None:
        self._finish(RunOutcome(None, None))
