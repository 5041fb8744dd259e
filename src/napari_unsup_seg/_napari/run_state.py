"""What the dock remembers per image and per run, and the words its status line shows.

:class:`ImageState` is kept per image layer (in :mod:`.image_state`, so a dock closed
and opened again finds it); :class:`RunState` lives while a run goes on and says where
its result goes. The status words of a progress event and of a finished run are made
here from the core's plain values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from napari.layers import Image, Labels

from ..core.export import present_values
from ..core.large import shrink_scribbles
from ..core.progress import ITERATING, STAGES, Progress
from ..core.scribbles import validate_scribbles
from ..core.settings import RunSettings
from . import layer_axes as LA
from . import layers as L
from . import parts, results
from .runner import StackInput


@dataclass
class ImageState:
    """What the widget remembers about one image layer."""

    result: Labels | None = None  # the latest result: merged, saved
    segmentation: Any = None
    merge: Any = None  # the merge panel's MergeState of the result
    scribbles: Labels | None = None  # those of the last run, for the class names
    warm: dict = field(default_factory=dict)  # {(method, scope, time, level): Segmentation.state}
    uncertainty: Image | None = None
    where: tuple | None = None  # the latest result is of this part of the stack (an index)
    by_scope: dict = field(default_factory=dict)  # {(scope, time): its latest result layer}
    status: str = ""  # the words of its last run
    scope: tuple | None = None  # (scope, time) of the current result
    kept: dict = field(default_factory=dict)  # {(scope, time): (result, segmentation, merge, scribbles, where)}

    @classmethod
    def reopened(cls, found) -> ImageState:
        """The state of an image whose saved session was opened again (``session_layers.Reopened``)."""
        return cls(
            found.result,
            found.segmentation,
            found.merge,
            found.scribbles,
            where=found.where,
            by_scope={found.scope: found.result},
            scope=found.scope,
        )

    def set_current(self, scope: tuple, result: Labels, segmentation, scribbles, where) -> None:
        """A run's result becomes the current one (what merging and saving work on)."""
        self._keep()
        self.result, self.segmentation, self.merge, self.scribbles, self.where = (
            result,
            segmentation,
            None,
            scribbles,
            where,
        )
        self.scope, self.by_scope[scope] = scope, result

    def use_scope(self, scope: tuple, layers) -> bool:
        """Make the latest result of ``scope`` (in ``layers``) the current one again, as it was
        left (its merge state too); False when it is current already or has none."""
        record = self.kept.get(scope)
        if (
            scope == self.scope
            or record is None
            or record[0] not in layers
            or self.by_scope.get(scope) is not record[0]
        ):
            return False
        self._keep()
        self.result, self.segmentation, self.merge, self.scribbles, self.where = record
        self.scope = scope
        return True

    def _keep(self) -> None:
        if self.scope is not None and self.result is not None:
            self.kept[self.scope] = (self.result, self.segmentation, self.merge, self.scribbles, self.where)

    def show_uncertainty(self, viewer, image: Image | None, on: bool) -> None:
        """Show (``on``) or hide the uncertainty of the result as an image layer."""
        seg, result = self.segmentation, self.result
        values = seg.uncertainty if seg is not None and on else None
        if values is not None and image is not None and self.where is not None:
            values = parts.placed(values, result.data.shape, self.where)
        geometry = {"scale": tuple(result.scale), "translate": tuple(result.translate)} if result is not None else None
        self.uncertainty = results.show_uncertainty(viewer, image, self.uncertainty, values, geometry)

    def remember_warm(self, run: RunState, seg) -> None:
        """Keep the network the run learned, to warm-start the next run of its method and scope."""
        key = (run.spec.method, *run.scope, run.level)
        if seg is not None and seg.state is not None:
            self.warm[key] = seg.state
        else:
            self.warm.pop(key, None)


@dataclass
class RunState:
    """The run going on and where its result goes."""

    image: Image
    scribbles: Labels | None  # None: unsupervised run
    spec: RunSettings
    warm: bool
    scope: tuple = (None, None)  # (depth scope, time scope): see StackPanel
    slice_index: int | None = None
    shape: tuple[int, ...] = ()  # of the image or stack, without channels
    where: tuple | None = None  # the part of the stack segmented (None: all of it)
    level: int = 0  # of a multiscale layer
    geometry: dict | None = None  # scale and translate of the result layer
    preview: Labels | None = None
    in_place: tuple[Labels, np.ndarray] | None = None  # (result layer shown in, its data before)

    def restore(self) -> None:
        """Put back the data of the result layer the run drew its progress in."""
        if self.in_place is not None:
            results.restore(*self.in_place)
            self.in_place = None

    def drop_preview(self, viewer) -> None:
        self.restore()
        results.remove(viewer, self.preview)

    def place_result(self, viewer, seg, replace: Labels | None) -> tuple[Labels, str | None]:
        """Show ``seg`` in a result layer (``replace`` when given) where this run's part of the
        image lies; returns the layer and the part's name (None for the whole image)."""
        where = self.where
        part = parts.part_name(
            StackInput(slice_index=self.slice_index, time_index=parts.time_of(where, self.image)), self.scope
        )
        meta = result_meta(self, seg, class_names(self.scribbles, seg.labels))
        self.restore()
        layer = results.place_result(
            viewer,
            self.image,
            seg.labels if where is None else parts.placed(seg.labels, self.shape, where),
            meta,
            replace=replace,
            preview=self.preview,
            colours=self.scribbles,
            name=None if where is None else f"{L.result_name(self.image)} ({part})",
            geometry=self.geometry,
        )
        return layer, part if where is not None else None


def stage_name(event: Progress) -> str:
    return STAGES.get(event.stage, event.stage or "working")


def is_iterating(event: Progress) -> bool:
    return event.stage in ITERATING and event.total > 1


def show_progress(bar, event: Progress) -> None:
    """Draw ``event`` on a QProgressBar: iterations as a fraction, other stages as busy.

    A bar repaints itself, and its window with it, as soon as its value changes (10 ms a
    value in a profile of runs at 1024x1024 under Xvfb); here it waits for the window's
    next repaint instead.
    """
    bar.setUpdatesEnabled(False)
    if is_iterating(event):
        bar.setRange(0, int(event.total))
        bar.setValue(min(int(event.step), int(event.total)))
        bar.setFormat(f"{stage_name(event)}: iteration %v / %m")
    elif event.stage != "done":
        bar.setRange(0, 0)
        bar.setFormat(stage_name(event))
    bar.setUpdatesEnabled(True)


def progress_words(event: Progress) -> str:
    """The status line during a run: stage, iteration, segments, loss, message."""
    words = [stage_name(event)]
    if is_iterating(event):
        words.append(f"iteration {event.step}")
    if event.n_labels is not None:
        words.append(f"{event.n_labels} segments")
    if event.loss is not None:
        words.append(f"loss {event.loss:.3f}")
    if event.message and event.stage not in ("crf", "ucm", "done"):
        words.append(event.message)
    return " · ".join(words)


def done_words(seg, seconds: float, warm: bool, part: str | None) -> str:
    """The status line after a run: how it ended (a time limit is said, never silent), in how
    long, after how many iterations, with how many classes or segments; ``part``: of a stack."""
    info = seg.recipe.get("run", {})
    n_iter = info.get("n_iter")
    limit = seg.recipe.get("parameters", {}).get("cluster", {}).get("time_budget")
    if info.get("stop_reason") == "time_budget":
        words = [f"stopped at the {limit:g} s limit after {n_iter} iterations", f"in {seconds:.1f} s"]
    else:
        words = ["stopped" if seg.stopped else "done", f"in {seconds:.1f} s"]
        if n_iter is not None:
            words.append(f"· {n_iter} iterations{' (warm start)' if warm else ''}")
    if info.get("time_points_done") is not None:
        words.append(f"· {info['time_points_done']} of {len(seg.recipe.get('frames', []))} time points")
    words.append(f"· {_how_many(seg)}")
    if info.get("no_hierarchy"):
        words.append("· no merge slider (stopped too early)")
    if part:
        words.insert(0, f"{part}:")
    return " ".join(words)


def _how_many(seg) -> str:
    """ "3 classes", "12 segments", or for one scribbled class "1 class and the rest"."""
    n = len(present_values(seg.labels))
    if seg.scribbles is None:
        return f"{n} segments"
    scribbled = present_values(seg.scribbles)
    if len(scribbled[scribbled > 0]) == 1 and n == 2:
        return "1 class and the rest"
    return f"{n} classes"


def read_inputs(viewer, image: Image, scribbles_layer: Labels | None, stack_panel):
    """``(array, scribbles, shape, stack, where)`` of a run of ``image`` as the stack panel
    sets it (level, scope, time, channels); raises ``InputError`` for input that cannot run.

    ``scribbles`` is None without a stroke in the part segmented; they are brought to the
    level's shape with no stroke lost.
    """
    scope, level = (stack_panel.scope(), stack_panel.time_scope()), stack_panel.level()
    shape = LA.level_shape(image, level)
    stack, where = parts.stack_input(viewer, image, *scope, stack_panel.channels(), level)
    scribbles = None
    if scribbles_layer is not None:
        scribbles = validate_scribbles(L.scribble_array(scribbles_layer), L.spatial_shape(image), require_class=False)
        scribbles = shrink_scribbles(scribbles, shape)
        if not scribbles[parts.any_time(where, image)].any():
            scribbles = None
    array = L.image_array(image, level)  # reads that level of a lazy (zarr, dask) layer
    return array, scribbles, shape, stack, where


def class_names(scribbles: Labels | None, labels: np.ndarray) -> dict[int, str]:
    """Names of the classes present in ``labels``, from the scribbles' legend."""
    if scribbles is None:
        return {}
    names = L.plugin_meta_get(scribbles, "class_names", {}) or {}
    present = set(present_values(labels).tolist())
    return {int(k): v for k, v in names.items() if int(k) in present}


def result_meta(run: RunState, seg, names: dict[int, str]) -> dict:
    """The plugin's metadata of a result layer: recipe, class names, the image's UCM, the part of a stack."""
    # a volume's UCM is a (2Z+1, 2H+1, 2W+1) saliency volume: made only when saved
    image_ucm = np.ndim(seg.labels) == 2 and run.where is None
    meta = {
        "role": "result",
        "image": run.image.name,
        "ucm": seg.ucm if image_ucm else None,
        "recipe": seg.recipe,
        "class_names": names,
    }
    if run.where is not None:
        meta["where"] = parts.jsonable_where(run.where)
    if run.level:
        meta["level"] = run.level
    return meta
