"""Stacks: volumes, time-lapses and both, segmented with :func:`core.pipeline.segment`.

A :class:`~core.axes.Stack` holds time points of images or volumes. Each time point is
segmented in order; from the second on, the clustering network starts from the weights it
learned on the one before (a warm start), so a cluster or class keeps its number through
time. Scribbles drawn on any time point apply to all: each time point is seeded by its own
strokes and, where it has none, by those of the nearest time point that has some there
(this suits time-lapses in which objects move less than their size between scribbled
frames; scribble more frames when they move more).

``scope="slice"`` segments one slice of each volume, as an image: fast, with its own result.
"""

from __future__ import annotations

import dataclasses
import threading
import warnings
from dataclasses import dataclass

import numpy as np

from .axes import Stack, frame_to_input
from .errors import InputError, InputWarning
from .progress import ProgressGen
from .scribbles import validate_scribbles

SCOPES = ("volume", "slice")


@dataclass
class SeriesSegmentation:
    """Results of the time points of a stack, with the arrays of a single result stacked over time.

    ``labels`` and ``uncertainty`` are (T, Z, H, W) for volumes, (T, H, W) for images (T may
    be 1); :meth:`classes` and :meth:`classes_with_regions` likewise.
    """

    frames: list
    slice_index: int | None = None
    axes: str = ""
    spacing: tuple[float, float, float] | None = None
    done: int | None = None  # time points segmented before a stop (None: all of them)

    @property
    def stopped(self) -> bool:
        return any(f.stopped for f in self.frames)

    @property
    def labels(self) -> np.ndarray:
        return np.stack([f.labels for f in self.frames])

    def _stacked(self, name: str) -> np.ndarray | None:
        """The time points' ``name`` arrays stacked over T; None when one has none."""
        if any(getattr(f, "hierarchy" if name == "ucm" else name) is None for f in self.frames):
            return None
        return np.stack([getattr(f, name) for f in self.frames])

    @property
    def ucm(self) -> np.ndarray | None:
        return self._stacked("ucm")

    @property
    def uncertainty(self) -> np.ndarray | None:
        return self._stacked("uncertainty")

    @property
    def recipe(self) -> dict:
        first = dict(self.frames[0].recipe)
        first["frames"] = [f.recipe.get("run", {}) for f in self.frames]
        first["axes"], first["spacing"] = self.axes, None if self.spacing is None else list(self.spacing)
        if self.done is not None and self.done < len(self.frames):
            first["run"] = {
                **first.get("run", {}),
                "stopped": True,
                "stop_reason": "stopped",
                "time_points_done": self.done,
                "no_hierarchy": "stopped before the last time points",
            }
        if self.slice_index is not None:
            first["slice"] = self.slice_index
        return first

    @property
    def hierarchy(self) -> SeriesHierarchy | None:
        """The time points' hierarchies cut together (None when one has none)."""
        if any(f.hierarchy is None for f in self.frames):
            return None
        return SeriesHierarchy([f.hierarchy for f in self.frames])

    @property
    def scribbles(self) -> np.ndarray | None:
        """The scribbles each time point was seeded with, stacked (None without scribbles)."""
        return self._stacked("scribbles")

    @property
    def state(self) -> dict | None:
        """The network learned on the first time point: the warm start of a rerun, which begins there."""
        return self.frames[0].state

    def regions(self, threshold: float) -> np.ndarray:
        """Region ids of each time point's cut, numbered apart (a region never spans two time points)."""
        out, offset = [], 0
        for frame in self.frames:
            regions = np.asarray(frame.regions(threshold), np.int64)
            out.append(regions + offset)
            offset += int(regions.max()) + 1
        return np.stack(out)

    def n_regions(self, threshold: float) -> int:
        """Number of regions of :meth:`regions` at ``threshold``."""
        return sum(f.n_regions(threshold) for f in self.frames)

    def precompute(self) -> None:
        """Each time point's :meth:`core.pipeline.Segmentation.precompute`."""
        for frame in self.frames:
            frame.precompute()

    def classes(self, threshold: float) -> np.ndarray:
        return np.stack([f.classes(threshold) for f in self.frames])

    def classes_with_regions(self, n: int) -> np.ndarray:
        return np.stack([f.classes_with_regions(n) for f in self.frames])


@dataclass(frozen=True)
class SeriesHierarchy:
    """The hierarchies of the time points of a stack, answering like one ``core.hierarchy.Hierarchy``."""

    parts: list

    @property
    def max_threshold(self) -> float:
        """The coarsest cut that keeps scribble classes apart in every time point."""
        return min(h.max_threshold for h in self.parts)

    def n_regions(self, threshold: float) -> int:
        return sum(h.n_regions(threshold) for h in self.parts)


def spread_scribbles(scribbles: np.ndarray) -> np.ndarray:
    """(T, ...) scribbles where every unscribbled pixel takes the stroke of the nearest time point.

    >>> s = np.zeros((3, 1, 2), np.int32); s[0, 0, 0] = 1; s[2, 0, 0] = 2; s[2, 0, 1] = 3
    >>> spread_scribbles(s)[:, 0].tolist()
    [[1, 3], [1, 3], [2, 3]]
    """
    scribbles = np.asarray(scribbles)
    n_t = scribbles.shape[0]
    out = scribbles.astype(np.int32, copy=True)
    for t in range(n_t):
        for other in sorted(range(n_t), key=lambda u: (abs(u - t), u)):
            if other != t:
                empty = out[t] == 0
                out[t][empty] = scribbles[other][empty]
    return out


def check_stack_scribbles(scribbles: np.ndarray, stack: Stack) -> np.ndarray:
    """(T, Z, H, W) int32 scribbles checked against ``stack`` (see :func:`core.axes.scribbles_tzyx`)."""
    shape = (stack.data.shape[0],) + stack.data.shape[2:]
    if np.ndim(scribbles) != 4:
        raise InputError(
            f"scribbles for a stack must be (T, Z, H, W) = {shape}; got shape {np.shape(scribbles)} "
            "(core.axes.scribbles_tzyx arranges them)"
        )
    out = np.stack([validate_scribbles(frame, shape[1:], require_class=False) for frame in scribbles])
    if out.shape != shape:
        raise InputError(f"scribbles have shape {out.shape}, the stack {shape}; they must match")
    return out


def _warn_unscribbled_slice(scribbles: np.ndarray, slice_index: int) -> None:
    """Say so when the slice to segment has no strokes while others have."""
    marked = np.flatnonzero(scribbles.any(axis=(0, 2, 3)))
    if marked.size and slice_index not in marked:
        where = ", ".join(str(z) for z in marked[:8]) + ("..." if marked.size > 8 else "")
        warnings.warn(
            f"slice {slice_index} has no strokes (strokes on slices {where}): it is segmented "
            "without scribbles; draw on it, or segment the whole volume",
            InputWarning,
            stacklevel=3,
        )


def _frame_scribbles(scribbles, t, slice_index):
    if scribbles is None:
        return None
    frame = scribbles[t]
    return frame[slice_index] if slice_index is not None else frame


def segment_stack(
    stack: Stack,
    scribbles: np.ndarray | None = None,
    params=None,
    *,
    scope: str = "volume",
    slice_index: int | None = None,
    channels: tuple[int, ...] | None = None,
    stop: threading.Event | None = None,
    warm_start: dict | None = None,
) -> ProgressGen[SeriesSegmentation]:
    """Segment every time point of ``stack``; yields Progress, returns a :class:`SeriesSegmentation`.

    Parameters
    ----------
    stack : Stack
    scribbles : (T, Z, H, W) int or None
        As made by :func:`core.axes.scribbles_tzyx`.
    params : SegmentParams
    scope : "volume" or "slice"
        Whole volumes, or the slice ``slice_index`` (default: the middle one) of each.
    channels : tuple of int, optional
        The channels that feed the features (default: all).
    warm_start : dict, optional
        ``state`` of an earlier result on data of the same shape, for the first time point.
    """
    from .pipeline import SegmentParams, segment

    params = params or SegmentParams()
    if not isinstance(stack, Stack):
        raise InputError(
            "segment_stack needs a core.axes.Stack: make one with as_stack(array, axes) or read_stack(path)"
        )
    if scope not in SCOPES:
        raise InputError(f"unknown scope {scope!r}; use one of {', '.join(SCOPES)}")
    n_t, _, n_z = stack.data.shape[:3]
    if scope == "slice" or n_z == 1:
        slice_index = n_z // 2 if slice_index is None else int(slice_index)
        if not 0 <= slice_index < n_z:
            raise InputError(f"slice {slice_index} does not exist: the stack has slices 0 to {n_z - 1}")
    else:
        slice_index = None
    if scribbles is not None:
        scribbles = check_stack_scribbles(scribbles, stack)
        scribbles = spread_scribbles(scribbles) if n_t > 1 else scribbles
        if slice_index is not None and n_z > 1:
            _warn_unscribbled_slice(scribbles, slice_index)
    spacing = stack.spacing
    frames, state = [], warm_start
    for t in range(n_t):
        frame = frame_to_input(stack.data[t], channels)
        if slice_index is not None and frame.ndim == 4:
            frame = np.ascontiguousarray(frame[:, slice_index])
        gen = segment(
            frame,
            _frame_scribbles(scribbles, t, slice_index),
            params,
            stop=stop,
            warm_start=state,
            spacing=spacing if frame.ndim == 4 else _plane(spacing),
        )
        result = yield from _relabel_progress(gen, t, n_t)
        frames.append(result)
        state = result.state
        if result.stopped:
            break
    done = len(frames)
    frames += [_not_reached(frames[-1], _frame_scribbles(scribbles, t, slice_index)) for t in range(done, n_t)]
    return SeriesSegmentation(
        frames, slice_index if n_z > 1 else None, stack.axes, stack.spacing, done if done < n_t else None
    )


def _not_reached(last, scribbles):
    """A time point a stop came before: unlabelled (0), wholly uncertain, no hierarchy; ``last``
    is the result of the time point before it."""
    from .pipeline import Segmentation

    run = {"stopped": True, "stop_reason": "stopped", "n_iter": 0, "no_hierarchy": "stopped before this time point"}
    uncertain = None if last.uncertainty is None else np.ones_like(last.uncertainty)
    return Segmentation(np.zeros_like(last.labels), None, scribbles, True, None, {**last.recipe, "run": run}, uncertain)


def _plane(spacing):
    return None if spacing is None else tuple(spacing[1:])


def _relabel_progress(gen, t: int, n_t: int):
    """Forward a frame's progress, saying which time point it is when there are several."""
    while True:
        try:
            event = next(gen)
        except StopIteration as done:
            return done.value
        if n_t > 1:
            event = dataclasses.replace(
                event, message=f"time point {t + 1}/{n_t}" + (f": {event.message}" if event.message else "")
            )
        yield event
