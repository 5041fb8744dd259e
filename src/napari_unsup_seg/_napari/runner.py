"""Worker adapter: runs :func:`core.pipeline.segment` (or, over time points,
:func:`core.series.segment_stack`) on a napari generator worker.

The GUI thread only builds a :class:`core.settings.RunSettings` (plain values) and, for anything more than
a 2D image, a :class:`StackInput`. Everything that needs torch (importing the pipeline,
building the parameters, normalising the image or stack, training) happens on the worker
thread. Progress events are throttled there, so a segmenter that yields very often
cannot flood the GUI's event queue. A warning about the input raised there (NaN pixels)
would reach no one: it comes to the GUI as a progress event of stage "warning".
"""

from __future__ import annotations

import importlib
import threading
import time
import warnings
from collections.abc import Callable, Generator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from napari.qt.threading import GeneratorWorker, create_worker

from ..core.errors import InputWarning
from ..core.progress import Progress
from ..core.settings import RunSettings


@dataclass(frozen=True)
class StackInput:
    """How the worker reads a layer that is more than a 2D image (plain values, built on the GUI thread).

    ``axes``: of the layer's data (``layer_axes``: "ZYX", "ZYXC", "CZYX", "TYX", "CTZYX"...);
    ``spacing``: the (z, y, x) voxel size; ``channels``: those that feed the features
    (None: all); ``time_index``: segment only that time point (None: all, in order, each
    warm-started from the one before); ``slice_index``: segment only that slice (of each
    time point), as an image.
    """

    axes: str = "ZYX"
    spacing: tuple[float, float, float] | None = None
    channels: tuple[int, ...] | None = None
    time_index: int | None = None
    slice_index: int | None = None


@dataclass
class RunOutcome:
    """What a run hands back to the GUI: a segmentation or the error that stopped it."""

    segmentation: Any = None
    error: BaseException | None = None
    seconds: float = 0.0


def build_params(spec: RunSettings):
    """The core's ``SegmentParams`` of the widget's settings (imports torch: call it on the worker)."""
    return spec.params(build_ucm=True)


def warm_up() -> threading.Event:
    """Import the pipeline, torch and higra on a background thread; the event is set when done.

    Importing torch holds Python's GIL for seconds, and higra (imported by the core when a
    hierarchy is first built) brings 200 modules with it, matplotlib's among them, during
    which a first run's GUI thread waited 266 ms: doing it when the widget opens keeps those
    delays away from the first run.
    """
    ready = threading.Event()

    def load():
        try:
            importlib.import_module("..core.pipeline", __package__)  # imports torch
            importlib.import_module("..core.ucm", __package__).hg.Tree  # loads higra, imported lazily there
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


def prepare_input(image: np.ndarray, scribbles: np.ndarray | None, stack: StackInput | None = None):
    """``(input, scribbles, spacing)`` of one image or volume for ``core.pipeline.segment``.

    A 2D image goes through ``core.image.to_chw``; a stack through ``core.axes``, each
    channel scaled over its whole time point, so a slice segmented alone sees the same
    values as in the whole volume (as with the CLI's ``--scope slice``). Of a time-lapse,
    the time point ``stack.time_index`` is taken, seeded by the strokes of the nearest time
    point wherever its own have none (``core.series.spread_scribbles``). Slow on volumes:
    worker thread.
    """
    if stack is None:
        from ..core.image import to_chw

        return to_chw(image), scribbles, None
    from ..core.axes import as_stack, frame_to_input, scribbles_tzyx
    from ..core.series import spread_scribbles

    data = as_stack(image, stack.axes, stack.spacing)
    t = stack.time_index or 0
    frame = frame_to_input(data.data[t], stack.channels)
    volume = "Z" in stack.axes
    if frame.ndim == 3 and volume:  # a volume of one slice
        frame = frame[:, None]
    plane = scribbles  # without time, the layer's order is the core's: (Z,) Y, X
    if scribbles is not None and "T" in stack.axes:
        tzyx = scribbles_tzyx(scribbles, data)
        plane = (spread_scribbles(tzyx) if tzyx.shape[0] > 1 else tzyx)[t]
        plane = np.ascontiguousarray(plane if volume else plane[0])
    z = stack.slice_index
    if not volume or z is None:
        return frame, plane, stack.spacing if volume else None
    plane = None if plane is None else np.ascontiguousarray(plane[z])
    return np.ascontiguousarray(frame[:, z]), plane, None if stack.spacing is None else stack.spacing[1:]


def is_series(image: np.ndarray, stack: StackInput | None) -> bool:
    """Whether the run goes over several time points (``core.series.segment_stack``)."""
    return (
        stack is not None
        and stack.time_index is None
        and "T" in stack.axes
        and np.shape(image)[stack.axes.index("T")] > 1
    )


def _segmentation(image, scribbles, stack: StackInput | None, params, stop, warm_start):
    """The core generator of a run: one image or volume, or every time point in order."""
    if is_series(image, stack):
        from ..core.axes import as_stack, scribbles_tzyx
        from ..core.series import segment_stack

        data = as_stack(image, stack.axes, stack.spacing)
        tzyx = None if scribbles is None else scribbles_tzyx(scribbles, data)
        scope = "volume" if stack.slice_index is None else "slice"
        return segment_stack(
            data,
            tzyx,
            params,
            scope=scope,
            slice_index=stack.slice_index,
            channels=stack.channels,
            stop=stop,
            warm_start=warm_start,
        )
    from ..core import pipeline

    data, scribbles, spacing = prepare_input(image, scribbles, stack)
    return pipeline.segment(data, scribbles, params, stop=stop, warm_start=warm_start, spacing=spacing)


def _warning_events(make: Callable[[], Generator]) -> Generator[Progress, None, Any]:
    """The events of the generator ``make()`` returns, and a "warning" event for each
    InputWarning raised while it is made or runs; other warnings are given again at its end."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InputWarning)
        gen = make()
        while True:
            yield from _input_warnings(caught)
            try:
                event = next(gen)
            except StopIteration as done:
                result = done.value
                break
            yield event
        yield from _input_warnings(caught)
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
    return result


def _input_warnings(caught: list) -> Generator[Progress, None, None]:
    """A "warning" event for each InputWarning of ``caught``, taken out of it."""
    mine = [w for w in caught if issubclass(w.category, InputWarning)]
    caught[:] = [w for w in caught if not issubclass(w.category, InputWarning)]
    for w in mine:
        yield Progress(0, 0, stage="warning", message=str(w.message))


def run_segmentation(
    image: np.ndarray,
    scribbles: np.ndarray | None,
    spec: RunSettings,
    stop: threading.Event,
    warm_start: dict | None = None,
    *,
    stack: StackInput | None = None,
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
    are maps of one slice. A run over time points shows none (their progress says which
    time point it is at).
    """
    start = time.perf_counter()
    whole_volume = stack is not None and "Z" in stack.axes and stack.slice_index is None
    series = is_series(image, stack)
    try:
        gen = _warning_events(lambda: _segmentation(image, scribbles, stack, build_params(spec), stop, warm_start))
        last_emit = last_preview = -np.inf
        last_stage = None
        while True:
            try:
                event = next(gen)
            except StopIteration as done:
                if hasattr(done.value, "precompute"):
                    done.value.precompute()  # here, not on the GUI thread at the first slider move
                return RunOutcome(done.value, None, time.perf_counter() - start)
            now = time.perf_counter()
            first_mask = event.result is not None
            if series:
                event, first_mask = replace(event, preview=None, result=None), False
            elif first_mask:  # a full-resolution class map: always shown, in the preview layer
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

    def start(
        self,
        image,
        scribbles,
        spec: RunSettings,
        warm_start: dict | None = None,
        preview_size: tuple[int, int] | None = None,
        stack: StackInput | None = None,
    ) -> None:
        if self.running:
            raise RuntimeError("a run is already going on")
        self._stop = threading.Event()
        self.stop_requested_at = None
        worker = create_worker(
            run_segmentation,
            image,
            scribbles,
            spec,
            self._stop,
            warm_start,
            stack=stack,
            preview_size=preview_size,
            _worker_class=_StoppableWorker,
            _start_thread=False,
            _connect={
                "yielded": self._progress,
                "returned": self._returned,
                "errored": self._errored,
                "aborted": self._aborted,
            },
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
