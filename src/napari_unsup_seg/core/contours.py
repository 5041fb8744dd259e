"""Boundary precision / recall / F of contour maps against human segmentations (BSDS500).

A contour map is an (H, W) float array in [0, 1] (higher = more likely a boundary). At each
threshold ``t`` the map is binarised (``pb >= t``) and thinned to one pixel
(:func:`skimage.morphology.thin`, as ``bwmorph(.., 'thin', inf)`` in the BSDS code); the
boundaries of each annotator's segmentation are those of :func:`segmentation_boundaries`.

Correspondence, as in the BSDS benchmark but by distance transform: a detected pixel is matched
to an annotator when a boundary pixel of that annotator lies within ``max_dist`` times the
image diagonal (0.0075: 4.3 pixels on a 481x321 photo), and an annotator's boundary pixel is
matched when a detected pixel lies that close. As in the BSDS code, recall pools the
annotators (matched / total human boundary pixels over all of them) and a detected pixel counts
as correct when it matches any annotator. The BSDS benchmark (``correspondPixels``) finds a
minimum-cost *one-to-one* bipartite matching instead: there a detected pixel can account for at
most one human pixel and vice versa, so a double (parallel) detection of one edge, or one
detection of two nearby human edges, counts once. Tolerance matching counts both, so its
precision and recall are upper bounds of the bipartite ones (the gap is not measured here; it
grows with thick or doubled responses). ODS also takes the best of the sampled thresholds, where
the BSDS code interpolates between them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .errors import InputError

__all__ = [
    "BSDS_MAX_DIST",
    "boundary_counts",
    "contour_thresholds",
    "edge_contour_map",
    "evaluate_contours",
    "segmentation_boundaries",
    "suppress_non_maxima",
    "summarise_contours",
]

BSDS_MAX_DIST = 0.0075


def segmentation_boundaries(seg: np.ndarray) -> np.ndarray:
    """(H, W) bool boundary pixels of a label image: a pixel differs from its east, south or
    south-east neighbour (one pixel thick, on one side of each boundary, as BSDS ``seg2bmap``).
    """
    seg = np.asarray(seg)
    if seg.ndim != 2:
        raise InputError(f"a segmentation must be 2D; got shape {seg.shape}")
    out = np.zeros(seg.shape, bool)
    out[:, :-1] |= seg[:, :-1] != seg[:, 1:]
    out[:-1] |= seg[:-1] != seg[1:]
    out[:-1, :-1] |= seg[:-1, :-1] != seg[1:, 1:]
    return out


def edge_contour_map(src: np.ndarray, dst: np.ndarray, weights: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(H, W) contour map of the 4-adjacency edge weights of a (H, W) pixel grid.

    Pixel (i, j) takes the largest weight of the edges meeting its bottom-right corner: the
    corners ``ucm[2::2, 2::2]`` of a BSDS doubleSize UCM, which is how the BSDS benchmark
    reads a UCM as contours. ``src``/``dst`` are flat pixel indices of each edge.
    """
    height, width = shape
    src, dst = np.asarray(src, np.int64), np.asarray(dst, np.int64)
    lo, hi = np.minimum(src, dst), np.maximum(src, dst)
    weights = np.asarray(weights, np.float32)
    horizontal = np.zeros((height + 1, width), np.float32)  # edge (i, j)-(i, j+1) at [i, j]
    vertical = np.zeros((height, width + 1), np.float32)  # edge (i, j)-(i+1, j) at [i, j]
    is_h = hi == lo + 1
    horizontal[lo[is_h] // width, lo[is_h] % width] = weights[is_h]
    vertical[lo[~is_h] // width, lo[~is_h] % width] = weights[~is_h]
    return np.maximum.reduce([horizontal[:-1], horizontal[1:], vertical[:, :-1], vertical[:, 1:]])


def suppress_non_maxima(pb: np.ndarray, sigma: float = 2.0) -> np.ndarray:
    """Thin a contour map to its ridges: a pixel is kept where it is not below its two
    neighbours across the contour, and set to 0 elsewhere (as edge detectors are thinned
    before the BSDS benchmark).

    The direction across the contour is that of the strongest curvature of the map smoothed
    by a Gaussian of ``sigma`` pixels (the Hessian's eigenvector of the largest |eigenvalue|);
    the neighbours are read one pixel away along it, bilinearly.

    Examples
    --------
    >>> pb = np.exp(-((np.arange(15) - 7.0) ** 2) / 8)[None].repeat(9, 0)
    >>> np.flatnonzero(suppress_non_maxima(pb)[4]).tolist()
    [7]
    """
    from scipy.ndimage import gaussian_filter, map_coordinates

    pb = np.asarray(pb, np.float32)
    if pb.ndim != 2:
        raise InputError(f"a contour map must be 2D; got shape {pb.shape}")
    smooth = gaussian_filter(pb, sigma, mode="nearest")
    dy, dx = np.gradient(smooth)
    dyy, dyx = np.gradient(dy)
    _, dxx = np.gradient(dx)
    # the Hessian's eigenvector of the largest |eigenvalue|: across the ridge, on it and on its flanks
    angle = 0.5 * np.arctan2(2 * dyx, dxx - dyy) + np.where(dxx + dyy < 0, np.pi / 2, 0.0)
    grid = np.indices(pb.shape, dtype=np.float32)
    step = np.stack([np.sin(angle), np.cos(angle)]).astype(np.float32)
    keep = np.ones(pb.shape, bool)
    for sign in (1.0, -1.0):
        neighbour = map_coordinates(pb, grid + sign * step, order=1, mode="nearest")
        keep &= pb >= neighbour
    return np.where(keep, pb, np.float32(0.0))


def contour_thresholds(n_thresholds: int = 33) -> np.ndarray:
    """``n`` thresholds evenly spaced strictly inside (0, 1)."""
    if n_thresholds < 1:
        raise InputError("the number of thresholds must be at least 1")
    return np.linspace(1.0 / (n_thresholds + 1), 1.0 - 1.0 / (n_thresholds + 1), n_thresholds)


def boundary_counts(
    pb: np.ndarray,
    gts: Sequence[np.ndarray],
    thresholds: np.ndarray,
    max_dist: float = BSDS_MAX_DIST,
) -> np.ndarray:
    """Per-threshold counts of one image: (T, 4) array of matched human boundary pixels,
    human boundary pixels (over all annotators), matched detected pixels, detected pixels.

    ``gts`` are the annotators' label images; see the module docstring for the matching.
    """
    from scipy.ndimage import distance_transform_edt
    from skimage.morphology import thin

    pb = np.asarray(pb, np.float32)
    if pb.ndim != 2:
        raise InputError(f"a contour map must be 2D; got shape {pb.shape}")
    tol = max_dist * float(np.hypot(*pb.shape))
    human = [segmentation_boundaries(g) for g in gts]
    for g in human:
        if g.shape != pb.shape:
            raise InputError(f"the contour map has shape {pb.shape} but the ground truth has shape {g.shape}")
    near_human = [distance_transform_edt(~g) <= tol if g.any() else np.zeros(g.shape, bool) for g in human]
    total_human = sum(int(g.sum()) for g in human)
    counts = np.zeros((len(thresholds), 4))
    counts[:, 1] = total_human
    for k, t in enumerate(thresholds):
        detected = pb >= t
        if not detected.any():
            continue  # every higher threshold is empty too, but thresholds need not be sorted
        detected = thin(detected)
        near_detected = distance_transform_edt(~detected) <= tol
        counts[k, 0] = sum(int((g & near_detected).sum()) for g in human)
        counts[k, 2] = int((detected & np.logical_or.reduce(near_human)).sum())
        counts[k, 3] = int(detected.sum())
    return counts


def _prf(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    recall = np.divide(counts[..., 0], counts[..., 1], out=np.zeros(counts.shape[:-1]), where=counts[..., 1] > 0)
    precision = np.divide(counts[..., 2], counts[..., 3], out=np.zeros(counts.shape[:-1]), where=counts[..., 3] > 0)
    total = precision + recall
    f = np.divide(2 * precision * recall, total, out=np.zeros_like(total), where=total > 0)
    return precision, recall, f


def evaluate_contours(
    pbs: Sequence[np.ndarray],
    gts: Sequence[Sequence[np.ndarray]],
    n_thresholds: int = 33,
    max_dist: float = BSDS_MAX_DIST,
) -> dict:
    """Score contour maps in [0, 1] against human segmentations: boundary P, R and F.

    Returns ``F_ODS, P_ODS, R_ODS`` (one threshold for the data set), ``F_OIS`` (best
    threshold per image, counts pooled as in BSDS), ``ODS_threshold``, ``n_images`` and the
    pooled curve ``thresholds, precision, recall`` (arrays) for a precision-recall plot.
    An empty map scores 0.

    Examples
    --------
    >>> gt = np.zeros((20, 20), int); gt[:, 10:] = 1
    >>> pb = np.zeros((20, 20)); pb[:, 9] = 1.0
    >>> evaluate_contours([pb], [[gt]])["F_ODS"]
    1.0
    """
    if len(pbs) != len(gts):
        raise InputError(f"{len(pbs)} contour maps but {len(gts)} ground truths; one per image is needed")
    if not len(pbs):
        raise InputError("there is no image to score")
    thresholds = contour_thresholds(n_thresholds)
    per_image = np.stack([boundary_counts(pb, g, thresholds, max_dist) for pb, g in zip(pbs, gts)])
    return summarise_contours(per_image, thresholds)


def summarise_contours(per_image: np.ndarray, thresholds: np.ndarray) -> dict:
    """The scores of :func:`evaluate_contours` from (N, T, 4) :func:`boundary_counts`."""
    per_image = np.asarray(per_image, np.float64)
    pooled = per_image.sum(0)
    precision, recall, f = _prf(pooled)
    best = int(np.argmax(f))
    _, _, f_image = _prf(per_image)
    chosen = per_image[np.arange(len(per_image)), np.argmax(f_image, axis=1)].sum(0)
    return {
        "F_ODS": float(f[best]),
        "P_ODS": float(precision[best]),
        "R_ODS": float(recall[best]),
        "F_OIS": float(_prf(chosen)[2]),
        "ODS_threshold": float(thresholds[best]),
        "n_images": len(per_image),
        "thresholds": np.asarray(thresholds),
        "precision": precision,
        "recall": recall,
    }
