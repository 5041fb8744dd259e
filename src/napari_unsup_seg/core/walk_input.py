"""What the scribble walks of one image compare: the image, median-filtered, and its boundaries.

The boundaries come from the contour network that ships with the plugin
(:mod:`core.contour_net`), on 2D images only; they count in the walks at full resolution
(:class:`core.edge_weights.BoundaryMap`). ``params`` is a
:class:`core.scribble_classes.PropagationParams`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from .edge_weights import BoundaryMap
from .propagate import coarse_shape, shrink

if TYPE_CHECKING:
    from .scribble_classes import PropagationParams


def walk_image(image: np.ndarray, params: PropagationParams) -> np.ndarray:
    """The image the walks compare: (C, *shape), each channel median-filtered."""
    image = np.asarray(image, np.float32)
    if params.median <= 1:
        return image
    from scipy.ndimage import median_filter

    return np.stack([median_filter(c, params.median) for c in image])


class WalkInput(NamedTuple):
    """What the walks of one image compare: the filtered image and, on 2D images, its boundaries."""

    image: np.ndarray
    boundary: BoundaryMap | None


def _contours(image: np.ndarray, max_side: int) -> np.ndarray:
    """The contour network's (H, W) boundary probability of a (C, H, W) image.

    Computed on the image shrunk to ``max_side`` and enlarged back; the network's answer is
    kept for the next walks of the same image (:func:`core.contour_net.recent_contour_probability`).
    """
    from .contour_net import recent_contour_probability

    image = np.clip(image, 0.0, 1.0)
    size = coarse_shape(image.shape[1:], max_side)
    prob = recent_contour_probability(shrink(image, size))
    if size == image.shape[1:]:
        return prob
    from skimage.transform import resize

    return resize(prob, image.shape[1:], order=1).astype(np.float32)


def walk_input(image: np.ndarray, params: PropagationParams) -> WalkInput:
    """:func:`walk_image` of a (C, *shape) image, with the boundaries of a 2D one (``params.contour_weight``)."""
    image = np.asarray(image, np.float32)
    boundary = None
    if params.contour_weight > 0 and image.ndim == 3:
        boundary = BoundaryMap(_contours(image, params.contour_max_side), params.contour_weight)
    return WalkInput(walk_image(image, params), boundary)
