"""One entry point for every front end: segmenter -> classes -> hierarchy (UCM).

The GUI, the CLI and scripts all call :func:`segment`, a generator that yields
:class:`~napari_unsup_seg.core.progress.Progress` events and returns a
:class:`Segmentation`.

Without scribbles the segmenter's own segments are the result, smoothed by the dense CRF.
With scribbles every pixel's class comes from random walks seeded by them
(:mod:`core.scribble_classes`): a first mask at once (the event with ``result`` set),
then a walk whose edges also compare the features the segmenter learned on the image.
Scribbles of one class only mean "this class against everything else": the segmenter's
regions that hold no scribble seed "everything else", which comes out as 0.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from . import cluster, crf, hierarchy, wnet
from .errors import InputError
from .large import LargeParams
from .progress import Progress, ProgressGen
from .recipe import make_recipe
from .scribble_classes import (
    PropagationParams,
    final_classes,
    first_mask,
    rest_seeds_from_border,
    rest_seeds_from_regions,
    with_rest_class,
)
from .scribbles import scribble_classes, validate_scribbles
from .segment_hierarchy import cut_segments, segment_hierarchy
from .walk_input import walk_input
from .segmenters import SEGMENTERS, SegmenterOutput, segmenter

METHODS = tuple(SEGMENTERS)


@dataclass(frozen=True)
class SegmentParams:
    """Parameters of a whole run; each stage keeps its own dataclass."""

    method: str = "cluster"
    cluster: cluster.ClusterParams = field(default_factory=cluster.ClusterParams)
    wnet: wnet.WNetParams = field(default_factory=wnet.WNetParams)
    crf: crf.CRFParams = field(default_factory=crf.CRFParams)
    use_crf: bool = True
    hierarchy: hierarchy.HierarchyParams | None = None  # None: the segmenter's (Segmenter.hierarchy)
    propagation: PropagationParams = field(default_factory=PropagationParams)
    build_ucm: bool = True
    seed: int = 0
    device: str = "auto"
    large: LargeParams = field(default_factory=LargeParams)


@dataclass
class Segmentation:
    """Result of :func:`segment`.

    ``labels`` holds scribble class values in scribble mode and segment ids 1..n
    otherwise. ``hierarchy`` (when built) gives regions at any UCM threshold.
    ``uncertainty`` (scribble mode): 1 minus the margin between the two likeliest
    classes of each pixel, 0 where the class is certain.
    """

    labels: np.ndarray
    hierarchy: hierarchy.Hierarchy | None
    scribbles: np.ndarray | None
    stopped: bool
    state: dict | None
    recipe: dict
    uncertainty: np.ndarray | None = None

    @property
    def ucm(self) -> np.ndarray | None:
        return None if self.hierarchy is None else self.hierarchy.ucm

    def precompute(self) -> None:
        """Build now what is otherwise built at first use: an image's UCM and the per-leaf
        scribble votes of class cuts (so a GUI thread does not wait for them)."""
        if self.hierarchy is None:
            return
        if np.ndim(self.labels) == 2:
            self.hierarchy.ucm
        if self.scribbles is not None:
            self._votes
            self.hierarchy._pixels_by_leaf
        else:
            self._segments

    def _need_hierarchy(self) -> None:
        if self.hierarchy is None:
            why = self.recipe.get("run", {}).get("no_hierarchy")
            if why:
                raise InputError(f"this result has no hierarchy ({why}); run it again to merge regions")
            raise InputError("this result has no hierarchy: run with the UCM enabled to merge regions")

    def regions(self, threshold: float) -> np.ndarray:
        """(H, W) (volumes: (Z, H, W)) region ids at a UCM threshold.

        In scribble mode the connected regions 1..n of the hierarchy's cut; otherwise the
        result's segments joined as the hierarchy joins their regions
        (:mod:`core.segment_hierarchy`): the segments themselves at 0, fewer higher up,
        each taking the smallest segment id it holds.
        """
        self._need_hierarchy()
        if self.scribbles is not None:
            return self.hierarchy.cut(threshold)
        segments, ids = self._segments
        return cut_segments(segments, ids, threshold)

    def n_regions(self, threshold: float) -> int:
        """Number of regions of :meth:`regions` at ``threshold``."""
        self._need_hierarchy()
        return (self.hierarchy if self.scribbles is not None else self._segments[0]).n_regions(threshold)

    @cached_property
    def _segments(self):
        return segment_hierarchy(self.hierarchy, self.labels)

    def classes(self, threshold: float) -> np.ndarray:
        """(H, W) map at a threshold: scribble classes in scribble mode, region ids otherwise."""
        if self.scribbles is None:
            return self.regions(threshold)
        self._need_hierarchy()
        classes = self.hierarchy.cut_majority(threshold, self._votes)
        keep = self.scribbles > 0
        classes[keep] = self.scribbles[keep]
        return classes

    def class_changes(self, before: float, after: float) -> tuple[np.ndarray, np.ndarray]:
        """Where :meth:`classes` at ``after`` differs from it at ``before`` (scribble mode):
        flat pixel indices and their values at ``after``, found per leaf (a slider's frame)."""
        if self.scribbles is None or self.hierarchy is None:
            raise InputError("class changes need scribbles and a hierarchy")
        h = self.hierarchy
        old, new = h.leaf_majority(before, self._votes), h.leaf_majority(after, self._votes)
        pixels = h.leaf_pixels(np.flatnonzero(old != new))
        pixels = pixels[self.scribbles.ravel()[pixels] == 0]  # scribbled pixels keep their class
        return pixels, new[h.leaf_map.ravel()[pixels]].astype(np.int32)

    @cached_property
    def _votes(self) -> list:
        """Per-leaf counts of the scribble classes, then of the labels (for regions without scribbles)."""
        marked = self.scribbles > 0
        return [self.hierarchy.leaf_votes(self.scribbles, marked), self.hierarchy.leaf_votes(self.labels)]

    def classes_with_regions(self, n: int) -> np.ndarray:
        """:meth:`classes` at the coarsest cut that still has ``n`` regions."""
        self._need_hierarchy()
        if self.scribbles is None:
            return self.regions(self._segments[0].threshold_for_regions(n))
        return self.classes(self.hierarchy.threshold_for_regions(n))


def _check_image(image: np.ndarray) -> None:
    if not (isinstance(image, np.ndarray) and image.ndim in (3, 4) and image.dtype == np.float32):
        raise InputError(
            "the image must be float32 (C, H, W) or a volume (C, Z, H, W); "
            "convert it with core.image.to_chw or core.axes.read_stack"
        )
    if image.shape[0] == 0 or min(image.shape[1:]) == 0:
        raise InputError(f"the image has shape {image.shape}: no channel or no pixel")
    if not np.isfinite(image).all():
        raise InputError(
            "the image holds NaN or infinite values; core.image.to_chw and core.axes.frame_to_input "
            "replace them (with a warning)"
        )


def _crf(image: np.ndarray, soft: np.ndarray, params: crf.CRFParams) -> np.ndarray:
    """The dense CRF of an image, or of each slice of a volume."""
    if image.ndim == 3:
        return crf.refine(image, soft, params)
    return np.stack([crf.refine(image[:, z], soft[:, z], params) for z in range(image.shape[1])], axis=1)


def _enlarge_labels(labels: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Nearest-neighbour enlargement of a coarse label map to ``shape``."""
    if labels.shape == tuple(shape):
        return labels
    index = np.ix_(*[np.minimum((np.arange(n) * m) // n, m - 1) for n, m in zip(shape, labels.shape)])
    return labels[index]


def _without_rest(labels: np.ndarray, rest: int) -> np.ndarray:
    """Labels with the "everything else" class of a one-class run (value ``rest``) as 0."""
    if rest:
        labels[labels == rest] = 0
    return labels


def _class_pure_leaves(overseg: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Split the over-segmentation along the class map, so every leaf holds one class."""
    overseg = np.unique(overseg, return_inverse=True)[1].reshape(overseg.shape).astype(np.int64)
    labels = np.unique(labels, return_inverse=True)[1].reshape(labels.shape).astype(np.int64)
    return overseg * (int(labels.max()) + 1) + labels


# Share of grid edges between two different leaves above which a stopped segmenter's
# regions count as speckle: 0.26 to 0.72 for runs stopped at once (a volume, a photo, a
# MedScribble image), 0.04 to 0.10 for the same runs finished.
SPECKLE_EDGES = 0.2


def speckle(leaves: np.ndarray) -> float:
    """Share of the grid edges of a label image that join two different labels."""
    changes = sum(np.count_nonzero(np.diff(leaves, axis=a)) for a in range(leaves.ndim))
    edges = sum(leaves.size // n * (n - 1) for n in leaves.shape)
    return changes / max(edges, 1)


def _untrained(out: SegmenterOutput) -> bool:
    """Whether the segmenter was stopped before its regions took shape (they are speckle)."""
    return out.stopped and speckle(out.overseg) > SPECKLE_EDGES


def _hierarchy_leaves(overseg, labels, how: hierarchy.HierarchyParams, untrained: bool, scribbled: bool):
    """The leaves to merge and what they are ("segmenter", "class map"); None: no hierarchy.

    Merging an untrained segmenter's speckle would take minutes on a volume (126,787 leaves
    on 48x128x128 against 1,282 after a full run) and mean nothing. A scribble run then
    merges the connected regions of its class map; an unsupervised run has no hierarchy,
    nor has a run that gave no leaves (``overseg`` None: a volume stopped early).
    """
    if overseg is None:
        return None, "none"
    if not untrained or how.leaves != "segmenter":
        return overseg, "segmenter"
    return (labels, "class map") if scribbled else (None, "none")


def segment(
    image: np.ndarray,
    scribbles: np.ndarray | None = None,
    params: SegmentParams = SegmentParams(),
    *,
    stop: threading.Event | None = None,
    warm_start: dict | None = None,
    spacing: tuple[float, ...] | None = None,
) -> ProgressGen[Segmentation]:
    """Segment ``image`` (float32 (C, H, W) in [0, 1]), optionally guided by scribbles.

    A volume (C, Z, H, W) is segmented whole (scribbles (Z, H, W), on any slices): one
    network shared by all slices (:mod:`core.cluster_volume`), scribble walks and the
    hierarchy on the 3D grid. ``spacing`` is the size of a pixel (or voxel) along each
    axis, in any unit; the walks use it (voxels farther apart are less tied).
    Scribbles with no class at all count as no scribbles. The class map and the
    hierarchy also come after a stop, from what was reached so far. An image of more
    than ``params.large.work_pixels`` pixels is fitted at a working resolution and
    brought to full resolution by tiles (:mod:`core.large`).
    """
    _check_image(image)
    start = time.perf_counter()
    scribbles, spacing = _checked_inputs(image, scribbles, spacing)
    if image.ndim == 3 and image.shape[1] * image.shape[2] > params.large.work_pixels:
        from .large import segment_large

        return (yield from segment_large(image, scribbles, params, segment=segment, stop=stop, warm_start=warm_start))
    one_class = scribbles is not None and len(scribble_classes(scribbles)) == 1
    first = None
    if scribbles is not None:
        first = yield from _first_mask(image, scribbles, params, spacing, one_class)
    chosen = segmenter(params.method)
    out = yield from chosen.run(image, scribbles, params, stop, warm_start)
    labels, soft, overseg, uncertainty, info = out.labels, out.soft, out.overseg, None, dict(out.info)
    untrained = _untrained(out)
    if scribbles is not None:
        labels, soft, overseg, uncertainty, info["edges"] = yield from _walk_classes(
            image, scribbles, out, params, spacing, one_class, first, untrained
        )
    elif params.use_crf and soft.shape[0] > 1:
        yield Progress(0, 1, stage="crf", message="dense CRF")
        soft = _crf(image, soft, params.crf)
        labels = out.label_values[np.argmax(soft, axis=0)].astype(np.int32)
        overseg = labels  # the CRF's own regions: measured better leaves (docs/ucm.md)
    tree = None
    if params.build_ucm:
        yield Progress(0, 1, stage="ucm", message="ultrametric contour map")
        how = params.hierarchy or chosen.hierarchy(image, scribbles)
        info["hierarchy"] = dataclasses.asdict(how)
        overseg, info["leaves"] = _hierarchy_leaves(overseg, labels, how, untrained, scribbles is not None)
        if overseg is None:
            info["no_hierarchy"] = "stopped before the segmenter's regions took shape"
        else:
            tree = hierarchy.build_hierarchy(image, overseg, soft, how, scribbles=scribbles)
    if scribbles is not None:
        keep = scribbles > 0
        labels[keep] = scribbles[keep]
    if spacing is not None:
        info["spacing"] = list(spacing)
    info["seconds"] = round(time.perf_counter() - start, 3)
    info["stopped"] = out.stopped
    recipe = make_recipe(params, image_shape=image.shape, classes=scribble_classes(scribbles), run=info)
    yield Progress(1, 1, stage="done", n_labels=int(len(np.unique(labels))), message="done")
    return Segmentation(labels, tree, scribbles, out.stopped, out.state, recipe, uncertainty)


def _checked_inputs(image, scribbles, spacing):
    """(scribbles, spacing) checked before any work: scribbles with no class count as none."""
    if spacing is not None:
        from .edge_weights import axis_factors

        axis_factors(image.ndim - 1, spacing)  # refuses a bad spacing
        spacing = tuple(float(v) for v in spacing)
    scribbles = validate_scribbles(scribbles, image.shape[1:], require_class=False)
    if scribbles is not None and not scribbles.any():
        scribbles = None
    return scribbles, spacing


def _first_seeds(scribbles, one_class: bool):
    """The first mask's seeds and the value of "everything else" (0: none)."""
    return with_rest_class(scribbles, rest_seeds_from_border(scribbles)) if one_class else (scribbles, 0)


def _first_mask(image, scribbles, params: SegmentParams, spacing, one_class: bool):
    """Yield the first mask (a walk on the image) at once; return ``(walk, walk image)`` for the final walk."""
    yield Progress(0, 1, stage="propagate", message="first mask")
    seeds, rest = _first_seeds(scribbles, one_class)
    # a volume's first mask is its coarse walk, refined once, at the end
    base = walk_input(image, params.propagation)  # both walks compare it
    walk = first_mask(image, seeds, params.propagation, spacing, refined=image.ndim != 4, base=base)
    first = _without_rest(_enlarge_labels(walk.labels(), image.shape[1:]), rest)
    yield Progress(0, 1, stage="propagate", result=first, message="first mask", n_labels=len(np.unique(first)))
    return walk, base


def _walk_classes(
    image, scribbles, out: SegmenterOutput, params: SegmentParams, spacing, one_class: bool, first, untrained: bool
):
    """The classes of a scribble run: a walk on the features the network learned.

    Returns ``(labels, soft, leaves, uncertainty, edges)``; ``first``: the first mask's
    ``(walk, walk image)``. A network stopped ``untrained`` has nothing to add: the first
    mask is the result (an image's refined at full resolution; a volume's as it was shown,
    with no leaves for a hierarchy).
    """
    first_walk, base = first
    if untrained and image.ndim == 4 and first_walk.probs.shape[1:] != image.shape[1:]:
        # a volume stopped early: the first mask shown already, without the seconds of its
        # refinement at full resolution (nor of a hierarchy over it)
        yield Progress(0, 1, stage="propagate", message="first mask (stopped)")
        rest = _first_seeds(scribbles, one_class)[1]
        labels = _without_rest(_enlarge_labels(first_walk.labels(), image.shape[1:]), rest)
        return labels, None, None, _enlarge_labels(1.0 - first_walk.margin(), image.shape[1:]), "image"
    if untrained:  # stopped before the network learned anything: the first mask, at once
        yield Progress(0, 1, stage="propagate", message="first mask (stopped)")
        seeds, rest = _first_seeds(scribbles, one_class)
        walk, edges = final_classes(
            image,
            seeds,
            None,
            dataclasses.replace(params.propagation, texture_weights=()),
            first=first_walk,
            spacing=spacing,
            base=base,
        )
        labels = _without_rest(walk.labels(), rest)
        return labels, walk.probs, labels, 1.0 - walk.margin(), edges
    yield Progress(0, 1, stage="propagate", message="walk on learned features")
    seeds, rest = (
        with_rest_class(scribbles, rest_seeds_from_regions(scribbles, out.overseg)) if one_class else (scribbles, 0)
    )
    # one class: the final seeds differ from the first mask's, which cannot be reused
    walk, edges = final_classes(
        image,
        seeds,
        out.features,
        params.propagation,
        first=None if one_class else first_walk,
        spacing=spacing,
        base=base,
    )
    labels = _without_rest(walk.labels(), rest)
    return labels, walk.probs, _class_pure_leaves(out.overseg, labels), 1.0 - walk.margin(), edges
