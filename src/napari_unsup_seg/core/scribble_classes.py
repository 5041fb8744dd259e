"""Scribbles -> a class for every pixel, decided at the pixel level by random walks.

Two walks answer a scribble run (``docs/benchmarks/scribbles.md`` has the measurements):

* :func:`first_mask`, at once: a random walk on the image alone (median-filtered so that
  noise and speckle do not make edges), solved coarse to fine (:mod:`core.propagate`); on
  2D images, at full resolution (the band where the coarse borders are refined), its
  edges also cost where the shipped contour network (:mod:`core.contour_net`) sees a
  boundary, which holds the border at faint walls whose contrast alone lets it through;
* :func:`final_classes`, once the clustering network has learned features on this image:
  the same walk, its edges comparing the image *and* those features (texture and colour
  the network groups), each normalised by its mean so a feature weight is their ratio.
  How much the features count is decided per image by cross-validation on the
  scribbles themselves: the weight whose walk best predicts held-out scribbles wins
  (on smooth X-rays the image alone wins; on textured cells and photos the features do).
  On volumes the texture energy of the image (local standard deviation) is a candidate too:
  it lets the walk cross a textured object whose mean intensity is the background's.

Every connected region of the result touches a scribble of its class (a property of the
walk), a region of the clustering that holds scribbles of two classes is split where the
walk says, and unscribbled regions take the class they are best connected to.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .cluster_params import SCRIBBLE_MAX_ITER
from .errors import InputError
from .propagate import Walk, WalkParams, coarse_shape, coarse_spacing, random_walk, refine, shrink, walk_probs
from .walk_input import WalkInput, walk_input


@dataclass(frozen=True)
class PropagationParams:
    """How scribbles become classes.

    Attributes
    ----------
    beta : float
        Edge sensitivity of the walks (see :class:`core.propagate.WalkParams`).
    max_side : int
        Longest side of the coarse walk; the result is refined at full resolution near
        class borders.
    band : int
        Half width (pixels) of that refinement band.
    median : int
        Size of the median filter applied to the image before the walks (1: none).
    contour_weight : float
        How much the contour network's boundaries count in the edges of the walks at full
        resolution, against the image's contrast (see :class:`core.edge_weights.BoundaryMap`);
        0: not at all. Used on 2D images (and each frame of a time-lapse), not on volumes.
        Not in the coarse walks: on textured photos the network fires everywhere, and there
        it swayed which object a region joins.
    contour_max_side : int
        The contour network runs on the image shrunk to at most this many pixels on its
        longest side (its map is then enlarged): it is the slowest part of a first mask.
    feature_weights : tuple of float
        Candidate weights of the clustering network's features against the image in the
        final walk's edges (0: the image alone). With more than one, each image gets the
        candidate that best predicts held-out scribbles (:func:`choose_edges`);
        0 is always a candidate.
    cv_blocks : int
        The held-out scribbles are those in every other block of a ``cv_blocks`` x
        ``cv_blocks`` checkerboard (two folds).
    cv_margin : float
        How much better (in mean log probability of the held-out scribbles, summed over
        the folds) a walk with features must be than the image alone to be chosen.
    texture_weights : tuple of float
        Candidate weights of the image's texture energy (:func:`texture_energy`) in the
        final walk's edges, chosen the same way (empty: never).
    texture_radius : int
        Half width of the box of the texture energy.
    texture_min_ndim : int
        The texture candidates are tried on inputs of at least this many spatial
        dimensions: 3, volumes only (on MedScribble dev images it was never chosen and
        added 0.3 to 0.5 s to a 256x256 run); 2 for images too.
    cv_max_size : int
        The cross-validation walks run on the coarse grid shrunk to at most about this
        many pixels or voxels (an image's coarse grid is far smaller; a volume's is not).
    cluster_iter : int
        Clustering iterations at most with scribbles: the walks decide the classes, the
        network only has to learn features, which takes far fewer iterations than
        converging to a segmentation.
    """

    beta: float = 5.0
    max_side: int = 128
    band: int = 3
    median: int = 3
    contour_weight: float = 0.3
    contour_max_side: int = 384
    feature_weights: tuple[float, ...] = (0.0, 2.0, 8.0)
    cv_blocks: int = 6
    cv_margin: float = 0.1
    cv_max_size: int = 16384
    texture_weights: tuple[float, ...] = (2.0, 8.0)
    texture_radius: int = 2
    texture_min_ndim: int = 3
    cluster_iter: int = SCRIBBLE_MAX_ITER

    def __post_init__(self) -> None:
        WalkParams(self.beta, self.max_side, self.band)  # same checks
        if self.median < 1 or self.median > 15:
            raise InputError("median must be a filter size between 1 (none) and 15 pixels")
        if not (np.isfinite(self.contour_weight) and self.contour_weight >= 0):
            raise InputError("contour_weight must be zero or a positive number")
        if self.contour_max_side < 32:
            raise InputError("contour_max_side must be at least 32 pixels")
        weights = tuple(self.feature_weights)
        if not weights or not all(np.isfinite(w) and w >= 0 for w in weights):
            raise InputError("feature_weights must be one or more numbers, zero or positive")
        if not (np.isfinite(self.cv_margin) and self.cv_margin >= 0):
            raise InputError("cv_margin must be zero or a positive number")
        if not 2 <= self.cv_blocks <= 64:
            raise InputError("cv_blocks must be between 2 and 64")
        if not all(np.isfinite(w) and w >= 0 for w in self.texture_weights) or not 1 <= self.texture_radius <= 10:
            raise InputError("texture_weights must be zero or positive numbers, texture_radius 1 to 10")
        if self.texture_min_ndim not in (2, 3, 4):
            raise InputError("texture_min_ndim must be 2 (images and volumes), 3 (volumes) or 4 (never)")
        if self.cv_max_size < 256:
            raise InputError("cv_max_size must be at least 256")
        if self.cluster_iter < 1:
            raise InputError("cluster_iter must be at least 1")

    @property
    def walk(self) -> WalkParams:
        return WalkParams(beta=self.beta, max_side=self.max_side, band=self.band)


def first_mask(
    image: np.ndarray,
    scribbles: np.ndarray,
    params: PropagationParams = PropagationParams(),
    spacing: tuple[float, ...] | None = None,
    *,
    refined: bool = True,
    base: WalkInput | None = None,
) -> Walk:
    """The instant answer: a coarse-to-fine walk on the (filtered) image.

    ``refined=False`` stops at the coarse walk (its probabilities at the coarse size): on
    volumes the refinement at full resolution takes as long again, and is done once, on
    the final walk (:func:`final_classes` with ``first``). ``base`` is
    :func:`walk_input` of ``image`` when already computed.
    """
    base = walk_input(image, params) if base is None else base
    if refined:
        return random_walk(base.image, scribbles, params.walk, spacing, base.boundary)
    from .cluster_net import resize_scribbles

    shape = scribbles.shape
    size = coarse_shape(shape, params.max_side)
    small = resize_scribbles(np.asarray(scribbles, np.int32), size)
    classes = np.unique(scribbles[scribbles > 0]).astype(np.int32)
    probs = walk_probs(shrink(base.image, size), small, classes, params.beta, coarse_spacing(spacing, shape, size))
    return Walk(probs, classes)


def _normalised(features: np.ndarray) -> np.ndarray:
    """Scale a (F, *shape) stack so its mean squared difference across edges is 1."""
    diffs = [np.diff(features, axis=axis) for axis in range(1, features.ndim)]
    mean = sum(float((d**2).sum()) for d in diffs) / max(sum(d[0].size for d in diffs), 1)
    return features / np.float32(np.sqrt(max(float(mean), 1e-12)))


def _stack(image: np.ndarray, features: np.ndarray, weight: float) -> np.ndarray:
    return np.concatenate([image, np.float32(np.sqrt(weight)) * features]) if weight else image


def texture_energy(image: np.ndarray, radius: int) -> np.ndarray:
    """(C, *shape) local standard deviation of each channel in a (2r+1)-wide box.

    High inside texture and flat across its interior, so a walk comparing it crosses a
    textured object freely and stops at its border (where intensities alone stop everywhere).
    """
    from scipy.ndimage import uniform_filter

    out = []
    for channel in np.asarray(image, np.float32):
        mean = uniform_filter(channel, 2 * radius + 1)
        square = uniform_filter(channel * channel, 2 * radius + 1)
        out.append(np.sqrt(np.maximum(square - mean * mean, 0.0)))
    return np.stack(out).astype(np.float32)


def _candidates(params: PropagationParams, extras: dict) -> list[tuple[str, float]]:
    """(name of the extra edge features, weight) pairs; ("image", 0) is the image alone."""
    weights = {"features": params.feature_weights, "texture": params.texture_weights}
    pairs = [("image", 0.0)]
    for name in extras:
        pairs += [(name, float(w)) for w in sorted(set(weights[name])) if w > 0]
    return pairs


def choose_edges(
    image: np.ndarray,
    extras: dict[str, np.ndarray],
    scribbles: np.ndarray,
    params: PropagationParams = PropagationParams(),
    spacing: tuple[float, ...] | None = None,
) -> tuple[str, float]:
    """What the final walk's edges compare besides the image: the candidate that best predicts held-out scribbles.

    ``extras`` maps a name ("features": the network's, "texture": :func:`texture_energy`)
    to a stack; each is tried at each of its weights (``params.feature_weights``,
    ``params.texture_weights``). Two folds: the scribbled pixels in the black, then the
    white blocks of a checkerboard are held out and the walk is seeded by the others; a
    candidate scores the mean log probability its walk gives held-out pixels of their own
    class (averaged over classes). A candidate must beat the image alone by
    ``params.cv_margin``. Everything is at the cross-validation scale, normalised.
    Returns ``(name, weight)``; ``("image", 0.0)`` for the image alone.
    """
    candidates = _candidates(params, extras)
    if len(candidates) == 1:
        return candidates[0]
    block = max(1, -(-max(scribbles.shape) // params.cv_blocks))
    fold = sum(np.indices(scribbles.shape) // block) % 2
    classes = np.unique(scribbles[scribbles > 0])
    folds = []
    for k in (0, 1):
        held = (scribbles > 0) & (fold == k)
        seeds = np.where(held, 0, scribbles)
        if held.any() and len(np.unique(seeds[seeds > 0])) == len(classes):
            folds.append((held, seeds))  # else a class would lose all its seeds: the fold says nothing

    def score(job: tuple[int, int]) -> float:
        (held, seeds), (name, weight) = folds[job[0]], candidates[job[1]]
        stack = _stack(image, extras.get(name), weight)
        probs = walk_probs(stack, seeds, classes, params.beta, spacing)
        return float(
            np.mean(
                [
                    np.log(probs[j][held & (scribbles == c)] + 1e-3).mean()
                    for j, c in enumerate(classes)
                    if (held & (scribbles == c)).any()
                ]
            )
        )

    jobs = [(f, i) for f in range(len(folds)) for i in range(len(candidates))]
    # the sparse LU releases the GIL: the walks run side by side on two cores
    with ThreadPoolExecutor(max_workers=min(len(jobs), os.cpu_count() or 1, 4) or 1) as pool:
        fold_scores = list(pool.map(score, jobs))
    scores = np.zeros(len(candidates))
    for (_, i), value in zip(jobs, fold_scores):
        scores[i] += value
    best = int(np.argmax(scores))
    return candidates[best] if scores[best] - scores[0] >= params.cv_margin else candidates[0]


def _cv_shape(size: tuple[int, ...], max_size: int) -> tuple[int, ...]:
    """``size`` shrunk (same factor on every axis) to at most about ``max_size`` elements."""
    total = int(np.prod(size))
    if total <= max_size:
        return tuple(size)
    side = max(16, round(max(size) * (max_size / total) ** (1 / len(size))))
    return coarse_shape(size, side)


def final_classes(
    image: np.ndarray,
    scribbles: np.ndarray,
    features: np.ndarray | None,
    params: PropagationParams = PropagationParams(),
    *,
    first: Walk | None = None,
    spacing: tuple[float, ...] | None = None,
    base: WalkInput | None = None,
) -> tuple[Walk, str]:
    """The walk whose coarse stage may also compare learned ``features`` (F, *shape) of any size
    or the texture energy of the image.

    Returns the walk and what its edges compared besides the image ("image" for the image
    alone, else for example "features x8" or "texture x2"), chosen per image by
    :func:`choose_edges`. When the image alone wins, this is
    :func:`first_mask`: ``first``, when given (the first mask of the same scribbles,
    refined or not), is used then instead of being solved again.
    """
    from .cluster_net import resize_scribbles

    shape = scribbles.shape
    base = walk_input(image, params) if base is None else base  # as in first_mask

    def image_alone() -> tuple[Walk, str]:
        if first is None:
            return random_walk(base.image, scribbles, params.walk, spacing, base.boundary), "image"
        if first.probs.shape[1:] == shape:
            return first, "image"
        return refine(base.image, scribbles, first, params.walk, spacing, base.boundary), "image"

    extras = {}
    if features is not None and max(params.feature_weights) > 0:
        extras["features"] = np.asarray(features, np.float32)
    if params.texture_weights and max(params.texture_weights) > 0 and scribbles.ndim >= params.texture_min_ndim:
        extras["texture"] = texture_energy(image, params.texture_radius)
    if not extras:
        return image_alone()
    size = coarse_shape(shape, params.max_side)
    small_image = _normalised(shrink(base.image, size))
    small = {name: _normalised(shrink(stack, size)) for name, stack in extras.items()}
    small_scr = resize_scribbles(scribbles, size)
    small_spacing = coarse_spacing(spacing, shape, size)
    classes = np.unique(scribbles[scribbles > 0]).astype(np.int32)
    if not small_scr.any():
        raise InputError("the scribbles vanish at the walk's coarse scale; raise max_side")
    cv = _cv_shape(size, params.cv_max_size)
    name, weight = choose_edges(
        shrink(small_image, cv),
        {k: shrink(v, cv) for k, v in small.items()},
        resize_scribbles(small_scr, cv),
        params,
        coarse_spacing(small_spacing, size, cv),
    )
    if weight == 0:
        return image_alone()
    full = size == shape  # no coarse stage: this walk is at full resolution
    stack = _stack(small_image, small[name], weight)
    coarse = walk_probs(stack, small_scr, classes, params.beta, small_spacing, base.boundary if full else None)
    chosen = f"{name} x{weight:g}"
    if full:
        return Walk(coarse, classes), chosen
    return refine(base.image, scribbles, Walk(coarse, classes), params.walk, spacing, base.boundary), chosen


def rest_seeds_from_border(scribbles: np.ndarray, clearance: float = 0.1) -> np.ndarray:
    """Border pixels (or voxels) far from every scribble: the guess for "everything else".

    Used for the instant mask when only one class is scribbled; ``clearance`` is the
    distance to keep from the scribbles, as a fraction of the image's longest side.
    """
    from scipy.ndimage import distance_transform_edt

    border = np.zeros(scribbles.shape, bool)
    for axis in range(scribbles.ndim):
        index = [slice(None)] * scribbles.ndim
        index[axis] = [0, -1]
        border[tuple(index)] = True
    far = distance_transform_edt(scribbles == 0) > clearance * max(scribbles.shape)
    return border & far


def _region_edges(components: np.ndarray) -> np.ndarray:
    """Pixels whose label differs from the next one along some axis."""
    edges = np.zeros(components.shape, bool)
    for axis in range(components.ndim):
        change = np.diff(components, axis=axis) != 0
        index = [slice(None)] * components.ndim
        index[axis] = slice(1, None)
        edges[tuple(index)] |= change
    return edges


def rest_seeds_from_regions(scribbles: np.ndarray, regions: np.ndarray, erode: int = 2) -> np.ndarray:
    """Pixels of the segmenter's connected regions that hold no scribble, shrunk by ``erode``.

    With one class scribbled, these regions are what the unsupervised segmentation found
    to differ from it; their cores seed "everything else".
    """
    from scipy.ndimage import binary_erosion
    from skimage.measure import label as connected

    components = connected(np.asarray(regions), background=-1, connectivity=1)
    touched = np.unique(components[scribbles > 0])
    rest = ~np.isin(components, touched)
    if erode:
        # Erode each region on its own so that neighbouring rest regions keep their border.
        rest &= binary_erosion(~_region_edges(components), iterations=erode, border_value=1)
    return rest


def with_rest_class(scribbles: np.ndarray, rest: np.ndarray) -> tuple[np.ndarray, int]:
    """Scribbles with ``rest`` pixels (not scribbled) given a new class value, and that value."""
    value = int(scribbles.max()) + 1
    out = scribbles.astype(np.int32, copy=True)
    out[rest & (scribbles == 0)] = value
    return out, value
