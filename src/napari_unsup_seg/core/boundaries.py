"""Boundary strength of the pixel edges of an image, for the region hierarchy.

Every pixel edge gets the CIE Lab distance between the mean colours of small boxes on either
side of it (radii given by ``HierarchyParams.scales``, after a light Gaussian blur, gated by
the distance between the two pixels) plus, when the segmenter's soft output is given, the
difference of the two soft vectors (or, with ``soft_scales``, of the Gaussian-smoothed soft
maps at several widths) and, with ``contour_weight``, the learned contour probability of
:mod:`core.contour_net` (the larger of the two pixels'). Volumes use :mod:`core.hierarchy_volume`
instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .pixel_graph import edge_values

if TYPE_CHECKING:
    from .hierarchy_params import HierarchyParams


def colour_features(image: np.ndarray, sigma: float) -> np.ndarray:
    """(H, W, F) colour features: CIE Lab for RGB, 100 x intensity otherwise."""
    from scipy.ndimage import gaussian_filter

    chw = np.asarray(image, np.float32)
    if sigma > 0:
        chw = np.stack([gaussian_filter(c, sigma) for c in chw])
    if chw.shape[0] == 3:
        from skimage.color import rgb2lab

        return rgb2lab(np.clip(np.moveaxis(chw, 0, -1), 0.0, 1.0)).astype(np.float32)
    return np.ascontiguousarray(np.moveaxis(chw, 0, -1)) * np.float32(100.0)


def _box_contrast(feats: np.ndarray, feats_t: np.ndarray, radius: int) -> np.ndarray:
    """Colour contrast across each edge between horizontal neighbours, (H, W-1).

    ``feats`` is (H, W, F) float32 and ``feats_t`` its (W, H, F) contiguous transpose
    (every filter then runs along the contiguous axis). Radius 0: the distance between
    the two pixels. Radius r: the distance between the mean colours of the two boxes
    (r deep, 2r+1 long) on either side of the edge, gated by the pixel distance
    (geometric mean), so that it peaks on the edge itself instead of spreading r pixels
    around it, and stays low inside texture.
    """
    from scipy.ndimage import uniform_filter1d

    pixels = np.sqrt(((feats[:, :-1] - feats[:, 1:]) ** 2).sum(-1))
    if radius == 0:
        return pixels
    across = uniform_filter1d(feats_t, 2 * radius + 1, axis=1, mode="nearest")
    across = np.ascontiguousarray(across.transpose(1, 0, 2))
    near = uniform_filter1d(across, radius, axis=1, mode="nearest", origin=(radius - 1) // 2)
    far = uniform_filter1d(across, radius, axis=1, mode="nearest", origin=-(radius // 2))
    boxes = np.sqrt(((near[:, :-1] - far[:, 1:]) ** 2).sum(-1))
    return np.sqrt(boxes * pixels)


class _EdgeMaps:
    """Maps of horizontal (H, W-1) and vertical (H-1, W) edges -> the graph's edge order.

    ``graph`` None: the order of :mod:`core.pixel_graph` (that of higra's 4-adjacency graph).
    """

    def __init__(self, graph, shape: tuple[int, int]):
        self.index = None
        if graph is not None:
            height, width = shape
            src, dst = graph.edge_list()
            rows, cols = src // width, src % width
            self.index = np.where(dst == src + 1, rows * (width - 1) + cols, height * (width - 1) + rows * width + cols)

    def gather(self, horizontal: np.ndarray, vertical: np.ndarray) -> np.ndarray:
        if self.index is None:
            return edge_values(horizontal, vertical)
        return np.concatenate([horizontal.ravel(), vertical.ravel()])[self.index]


def edge_weights(
    image: np.ndarray,
    graph,
    soft: np.ndarray | None,
    params: HierarchyParams,
    feats: np.ndarray | None = None,
) -> np.ndarray:
    """Boundary weight of every edge of the 4-adjacency pixel graph (float32, >= 0).

    ``graph``: higra's pixel graph of the image, or None (the order of
    :mod:`core.pixel_graph`, the same, without making higra's graph).
    ``feats`` are the colour features of :func:`colour_features` when already computed.
    """
    shape = image.shape[1:]
    horizontal = np.zeros((shape[0], shape[1] - 1), np.float32)
    vertical = np.zeros((shape[0] - 1, shape[1]), np.float32)
    if params.color_weight > 0:
        feats = colour_features(image, params.sigma) if feats is None else feats
        factor = np.float32(params.color_weight / params.color_scale / len(params.scales))
        feats_t = np.ascontiguousarray(feats.transpose(1, 0, 2))
        for radius in params.scales:
            horizontal += factor * _box_contrast(feats, feats_t, radius)
            vertical += factor * _box_contrast(feats_t, feats, radius).T
    if soft is not None and params.soft_weight > 0:
        soft = np.asarray(soft, np.float32)
        if not params.soft_scales:
            factor = np.float32(0.5 * params.soft_weight)
            horizontal += factor * np.abs(soft[:, :, 1:] - soft[:, :, :-1]).sum(0)
            vertical += factor * np.abs(soft[:, 1:] - soft[:, :-1]).sum(0)
        for sigma in params.soft_scales:
            from scipy.ndimage import gaussian_filter

            smooth = gaussian_filter(soft, (0, sigma, sigma), mode="nearest")
            factor = np.float32(0.5 * params.soft_weight * np.sqrt(2 * np.pi) * sigma / len(params.soft_scales))
            horizontal += factor * np.abs(smooth[:, :, 1:] - smooth[:, :, :-1]).sum(0)
            vertical += factor * np.abs(smooth[:, 1:] - smooth[:, :-1]).sum(0)
    if params.contour_weight > 0:
        from .contour_net import recent_contour_probability

        pb = np.float32(params.contour_weight) * recent_contour_probability(image, params.contour_net)
        horizontal += np.maximum(pb[:, 1:], pb[:, :-1])
        vertical += np.maximum(pb[1:], pb[:-1])
    return _EdgeMaps(graph, shape).gather(horizontal, vertical)
