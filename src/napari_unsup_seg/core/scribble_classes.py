"""Scribbles -> a class for every pixel, decided at the pixel level by random walks.

Two walks answer a scribble run (``docs/benchmarks/scribbles.md`` has the measurements):

* :func:`first_mask`, at once: a random walk on the image alone (median-filtered so that
  noise and speckle do not make edges), solved coarse to fine (:mod:`core.propagate`);
* :func:`final_classes`, once the clustering network has learned features on this image:
  the same walk, its edges comparing the image *and* those features (texture and colour
  the network groups), each normalised by its mean so ``feature_weight`` is their ratio.

Every connected region of the result touches a scribble of its class (a property of the
walk), a region of the clustering that holds scribbles of two classes is split where the
walk says, and unscribbled regions take the class they are best connected to.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InputError
from .propagate import Walk, WalkParams, coarse_shape, contrast_weights, random_walk, refine, shrink, solve_walk


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
    feature_weight : float
        Weight of the clustering network's features against the image in the final
        walk's edges (0: the image alone).
    """

    beta: float = 5.0
    max_side: int = 128
    band: int = 3
    median: int = 3
    feature_weight: float = 1.0

    def __post_init__(self) -> None:
        WalkParams(self.beta, self.max_side, self.band)  # same checks
        if self.median < 1 or self.median > 15:
            raise InputError("median must be a filter size between 1 (none) and 15 pixels")
        if not (np.isfinite(self.feature_weight) and self.feature_weight >= 0):
            raise InputError("feature_weight must be zero or a positive number")

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


def final_classes(
    image: np.ndarray,
    scribbles: np.ndarray,
    features: np.ndarray | None,
    params: PropagationParams = PropagationParams(),
) -> Walk:
    """The walk whose coarse stage also compares learned ``features`` (F, h, w) of any size.

    Without features (or with ``feature_weight`` 0) this is :func:`first_mask`.
    """
    base = walk_image(image, params)
    if features is None or params.feature_weight == 0:
        return random_walk(base, scribbles, params.walk)
    from .cluster_net import resize_scribbles

    shape = scribbles.shape
    size = coarse_shape(shape, params.max_side)
    small_image = _normalised(shrink(base, size))
    small_feats = _normalised(shrink(np.asarray(features, np.float32), size))
    stack = np.concatenate([small_image, np.float32(np.sqrt(params.feature_weight)) * small_feats])
    small_scr = resize_scribbles(scribbles, size)
    classes = np.unique(scribbles[scribbles > 0]).astype(np.int32)
    present = np.unique(small_scr[small_scr > 0])
    if present.size == 0:
        raise InputError("the scribbles vanish at the walk's coarse scale; raise max_side")
    seeds = small_scr > 0
    values = (small_scr[None] == present[:, None, None]).astype(np.float32)
    coarse = np.zeros((len(classes),) + size, np.float32)
    coarse[np.searchsorted(classes, present)] = solve_walk(*contrast_weights(stack, params.beta), seeds, values)
    if size == shape:
        return Walk(coarse, classes)
    return refine(base, scribbles, Walk(coarse, classes), params.walk)


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
