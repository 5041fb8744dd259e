"""Scribbles -> a class for every pixel, decided at the pixel level by random walks.

Two walks answer a scribble run (``docs/benchmarks/scribbles.md`` has the measurements):

* :func:`first_mask`, at once: a random walk on the image alone (median-filtered so that
  noise and speckle do not make edges), solved coarse to fine (:mod:`core.propagate`);
* :func:`final_classes`, once the clustering network has learned features on this image:
  the same walk, its edges comparing the image *and* those features (texture and colour
  the network groups), each normalised by its mean so a feature weight is their ratio.
  How much the features count is decided per image by cross-validation on the
  scribbles themselves: the weight whose walk best predicts held-out scribbles wins
  (on smooth X-rays the image alone wins; on textured cells and photos the features do).

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
from .propagate import Walk, WalkParams, coarse_shape, random_walk, refine, shrink, walk_probs


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
    feature_weights : tuple of float
        Candidate weights of the clustering network's features against the image in the
        final walk's edges (0: the image alone). With more than one, each image gets the
        candidate that best predicts held-out scribbles (:func:`choose_feature_weight`);
        0 is always a candidate.
    cv_blocks : int
        The held-out scribbles are those in every other block of a ``cv_blocks`` x
        ``cv_blocks`` checkerboard (two folds).
    cv_margin : float
        How much better (in mean log probability of the held-out scribbles, summed over
        the folds) a walk with features must be than the image alone to be chosen.
    cluster_iter : int
        Clustering iterations at most with scribbles: the walks decide the classes, the
        network only has to learn features, which takes far fewer iterations than
        converging to a segmentation.
    """

    beta: float = 5.0
    max_side: int = 128
    band: int = 3
    median: int = 3
    feature_weights: tuple[float, ...] = (0.0, 2.0, 8.0)
    cv_blocks: int = 6
    cv_margin: float = 0.1
    cluster_iter: int = SCRIBBLE_MAX_ITER

    def __post_init__(self) -> None:
        WalkParams(self.beta, self.max_side, self.band)  # same checks
        if self.median < 1 or self.median > 15:
            raise InputError("median must be a filter size between 1 (none) and 15 pixels")
        weights = tuple(self.feature_weights)
        if not weights or not all(np.isfinite(w) and w >= 0 for w in weights):
            raise InputError("feature_weights must be one or more numbers, zero or positive")
        if not (np.isfinite(self.cv_margin) and self.cv_margin >= 0):
            raise InputError("cv_margin must be zero or a positive number")
        if not 2 <= self.cv_blocks <= 64:
            raise InputError("cv_blocks must be between 2 and 64")
        if self.cluster_iter < 1:
            raise InputError("cluster_iter must be at least 1")

    @property
    def walk(self) -> WalkParams:
        return WalkParams(beta=self.beta, max_side=self.max_side, band=self.band)


def walk_image(image: np.ndarray, params: PropagationParams) -> np.ndarray:
    """The image the walks compare: (C, H, W), each channel median-filtered."""
    image = np.asarray(image, np.float32)
    if params.median <= 1:
        return image
    from scipy.ndimage import median_filter

    return np.stack([median_filter(c, params.median) for c in image])


def first_mask(image: np.ndarray, scribbles: np.ndarray, params: PropagationParams = PropagationParams()) -> Walk:
    """The instant answer: a coarse-to-fine walk on the (filtered) image."""
    return random_walk(walk_image(image, params), scribbles, params.walk)


def _normalised(features: np.ndarray) -> np.ndarray:
    """Scale a (F, h, w) stack so its mean squared difference across edges is 1."""
    dh = np.diff(features, axis=2)
    dv = np.diff(features, axis=1)
    mean = ((dh**2).sum() + (dv**2).sum()) / max(dh[0].size + dv[0].size, 1)
    return features / np.float32(np.sqrt(max(float(mean), 1e-12)))


def _stack(image: np.ndarray, features: np.ndarray, weight: float) -> np.ndarray:
    return np.concatenate([image, np.float32(np.sqrt(weight)) * features]) if weight else image


def choose_feature_weight(image: np.ndarray, features: np.ndarray, scribbles: np.ndarray,
                          params: PropagationParams = PropagationParams()) -> float:
    """The candidate feature weight whose walk best predicts held-out scribbles.

    Two folds: the scribbled pixels in the black, then the white blocks of a checkerboard
    are held out and the walk is seeded by the others; a candidate scores the mean log
    probability its walk gives held-out pixels of their own class (averaged over
    classes). A weight above 0 must beat the image alone by ``params.cv_margin``.
    ``image``, ``features`` and ``scribbles`` are at the coarse walk's scale, normalised.
    """
    candidates = sorted(set(float(w) for w in params.feature_weights) | {0.0})
    if len(candidates) == 1:
        return 0.0
    h, w = scribbles.shape
    block = max(1, -(-max(h, w) // params.cv_blocks))
    rows, cols = np.mgrid[:h, :w]
    fold = (rows // block + cols // block) % 2
    classes = np.unique(scribbles[scribbles > 0])
    folds = []
    for k in (0, 1):
        held = (scribbles > 0) & (fold == k)
        seeds = np.where(held, 0, scribbles)
        if held.any() and len(np.unique(seeds[seeds > 0])) == len(classes):
            folds.append((held, seeds))  # else a class would lose all its seeds: the fold says nothing

    def score(job: tuple[int, int]) -> float:
        (held, seeds), weight = folds[job[0]], candidates[job[1]]
        probs = walk_probs(_stack(image, features, weight), seeds, classes, params.beta)
        return float(np.mean([np.log(probs[j][held & (scribbles == c)] + 1e-3).mean()
                              for j, c in enumerate(classes) if (held & (scribbles == c)).any()]))

    jobs = [(f, i) for f in range(len(folds)) for i in range(len(candidates))]
    # the sparse LU releases the GIL: the walks run side by side on two cores
    with ThreadPoolExecutor(max_workers=min(len(jobs), os.cpu_count() or 1, 4) or 1) as pool:
        fold_scores = list(pool.map(score, jobs))
    scores = np.zeros(len(candidates))
    for (_, i), value in zip(jobs, fold_scores):
        scores[i] += value
    best = int(np.argmax(scores))
    return candidates[best] if scores[best] - scores[0] >= params.cv_margin else 0.0


def final_classes(
    image: np.ndarray,
    scribbles: np.ndarray,
    features: np.ndarray | None,
    params: PropagationParams = PropagationParams(),
    *,
    first: Walk | None = None,
) -> tuple[Walk, float]:
    """The walk whose coarse stage also compares learned ``features`` (F, h, w) of any size.

    Returns the walk and the feature weight it used (chosen per image among
    ``params.feature_weights``). Without features, or when 0 wins, this is
    :func:`first_mask`: ``first``, when given (the first mask of the same scribbles), is
    returned then instead of being solved again.
    """
    from .cluster_net import resize_scribbles

    def image_alone() -> tuple[Walk, float]:
        return (first if first is not None else random_walk(walk_image(image, params), scribbles, params.walk)), 0.0

    if features is None or max(params.feature_weights) == 0:
        return image_alone()
    base = walk_image(image, params)
    shape = scribbles.shape
    size = coarse_shape(shape, params.max_side)
    small_image = _normalised(shrink(base, size))
    small_feats = _normalised(shrink(np.asarray(features, np.float32), size))
    small_scr = resize_scribbles(scribbles, size)
    classes = np.unique(scribbles[scribbles > 0]).astype(np.int32)
    if not small_scr.any():
        raise InputError("the scribbles vanish at the walk's coarse scale; raise max_side")
    weight = choose_feature_weight(small_image, small_feats, small_scr, params)
    if weight == 0:
        return image_alone()
    coarse = walk_probs(_stack(small_image, small_feats, weight), small_scr, classes, params.beta)
    if size == shape:
        return Walk(coarse, classes), weight
    return refine(base, scribbles, Walk(coarse, classes), params.walk), weight


def rest_seeds_from_border(scribbles: np.ndarray, clearance: float = 0.1) -> np.ndarray:
    """Image-border pixels far from every scribble: the guess for "everything else".

    Used for the instant mask when only one class is scribbled; ``clearance`` is the
    distance to keep from the scribbles, as a fraction of the image's longest side.
    """
    from scipy.ndimage import distance_transform_edt

    border = np.zeros(scribbles.shape, bool)
    border[[0, -1], :] = True
    border[:, [0, -1]] = True
    far = distance_transform_edt(scribbles == 0) > clearance * max(scribbles.shape)
    return border & far


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
        edges = np.zeros(components.shape, bool)
        edges[:, 1:] |= components[:, 1:] != components[:, :-1]
        edges[1:, :] |= components[1:, :] != components[:-1, :]
        rest &= binary_erosion(~edges, iterations=erode, border_value=1)
    return rest


def with_rest_class(scribbles: np.ndarray, rest: np.ndarray) -> tuple[np.ndarray, int]:
    """Scribbles with ``rest`` pixels (not scribbled) given a new class value, and that value."""
    value = int(scribbles.max()) + 1
    out = scribbles.astype(np.int32, copy=True)
    out[rest & (scribbles == 0)] = value
    return out, value
