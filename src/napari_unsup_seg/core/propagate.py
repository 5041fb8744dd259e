"""Scribbles -> per-pixel class probabilities by a random walk on the pixel graph.

The random walker (Grady, PAMI 2006) gives every unlabeled pixel, for each class, the
probability that a walker starting there first reaches a scribble of that class. Edges of
the 4-connected pixel graph weigh ``exp(-beta * d / mean(d))``, where ``d`` is the squared
feature difference across the edge (image intensities, optionally joined by the features
the clustering network learned) and the mean makes ``beta`` independent of the image's
contrast.

Large images are solved coarse to fine: a walk on the image shrunk to ``max_side``, then,
at full resolution, a second walk restricted to a band around the coarse class borders,
with the coarse probabilities as boundary values outside the band. Both systems are solved
exactly (sparse LU); the band is a small fraction of the pixels.

Examples
--------
>>> import numpy as np
>>> img = np.zeros((1, 20, 20), np.float32); img[:, :, 10:] = 1.0
>>> scr = np.zeros((20, 20), np.int32); scr[5, 2] = 1; scr[5, 17] = 2
>>> walk = random_walk(img, scr)
>>> walk.labels()[:, [0, 9, 10, 19]][0].tolist()
[1, 1, 2, 2]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import splu

from .errors import InputError

# Floor of an edge weight: keeps every region connected so the system stays non-singular.
WEIGHT_FLOOR = 1e-6


@dataclass(frozen=True)
class WalkParams:
    """Settings of the random walk.

    Attributes
    ----------
    beta : float
        Edge sensitivity: an edge whose squared feature difference is the image's mean
        weighs ``exp(-beta)``.
    max_side : int
        Longest side of the coarse walk; larger images are refined in a band at full
        resolution. 0 solves the whole image at full resolution.
    band : int
        Half width (full-resolution pixels) of the refinement band, beyond the coarse
        pixel size.
    """

    beta: float = 5.0
    max_side: int = 256
    band: int = 3

    def __post_init__(self) -> None:
        if not (np.isfinite(self.beta) and self.beta > 0):
            raise InputError("beta must be a positive number")
        if self.max_side != 0 and self.max_side < 16:
            raise InputError("max_side must be 0 (no coarse walk) or at least 16")
        if self.band < 1:
            raise InputError("band must be at least 1 pixel")


@dataclass
class Walk:
    """Result of :func:`random_walk`: ``probs[k]`` is the probability of ``classes[k]``."""

    probs: np.ndarray  # (K, H, W) float32, sums to 1 over K
    classes: np.ndarray  # (K,) int32

    def labels(self) -> np.ndarray:
        """(H, W) int32 class of highest probability."""
        return self.classes[np.argmax(self.probs, axis=0)].astype(np.int32)

    def margin(self) -> np.ndarray:
        """(H, W) float32 difference between the two highest probabilities (1 = certain)."""
        if len(self.classes) < 2:
            return np.ones(self.probs.shape[1:], np.float32)
        top2 = np.sort(self.probs, axis=0)[-2:]
        return (top2[1] - top2[0]).astype(np.float32)


def squared_differences(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Squared feature distance across horizontal (H, W-1) and vertical (H-1, W) edges."""
    f = np.asarray(features, np.float32)
    horizontal = ((f[:, :, 1:] - f[:, :, :-1]) ** 2).sum(0)
    vertical = ((f[:, 1:, :] - f[:, :-1, :]) ** 2).sum(0)
    return horizontal, vertical


def contrast_weights(features: np.ndarray, beta: float) -> tuple[np.ndarray, np.ndarray]:
    """Edge weights ``exp(-beta * d / mean(d))`` of a (F, H, W) feature stack."""
    horizontal, vertical = squared_differences(features)
    scale = (horizontal.sum() + vertical.sum()) / max(horizontal.size + vertical.size, 1)
    scale = max(float(scale), 1e-12)
    wh = np.exp(-beta * horizontal / scale) + WEIGHT_FLOOR
    wv = np.exp(-beta * vertical / scale) + WEIGHT_FLOOR
    return wh.astype(np.float64), wv.astype(np.float64)


def _laplacian(wh: np.ndarray, wv: np.ndarray, shape: tuple[int, int]) -> sparse.csr_matrix:
    h, w = shape
    idx = np.arange(h * w).reshape(h, w)
    a = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    b = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    weights = np.concatenate([wh.ravel(), wv.ravel()])
    n = h * w
    adj = sparse.coo_matrix((weights, (a, b)), shape=(n, n)).tocsr()
    adj = adj + adj.T
    return (sparse.diags(np.asarray(adj.sum(1)).ravel()) - adj).tocsr()


def solve_walk(
    wh: np.ndarray,
    wv: np.ndarray,
    fixed: np.ndarray,
    values: np.ndarray,
) -> np.ndarray:
    """Solve the Dirichlet problem of the random walk on a 4-connected grid.

    Parameters
    ----------
    wh, wv : edge weights, (H, W-1) and (H-1, W).
    fixed : (H, W) bool, pixels whose probabilities are given.
    values : (K, H, W) probabilities at the fixed pixels (ignored elsewhere).

    Returns
    -------
    (K, H, W) float32 probabilities, summing to 1 over K.
    """
    k, h, w = values.shape
    lap = _laplacian(wh, wv, (h, w))
    flat_fixed = fixed.ravel()
    free = np.flatnonzero(~flat_fixed)
    known = np.flatnonzero(flat_fixed)
    out = values.reshape(k, -1).astype(np.float64).copy()
    if free.size:
        system = lap[free][:, free]
        coupling = lap[free][:, known]
        lu = splu(system.tocsc(), permc_spec="MMD_AT_PLUS_A", options={"SymmetricMode": True})
        for c in range(k):
            out[c, free] = lu.solve(-(coupling @ out[c, known]))
    out = np.clip(out, 0.0, None)
    total = out.sum(0, keepdims=True)
    out = np.where(total > 0, out / np.maximum(total, 1e-12), 1.0 / k)
    return out.reshape(k, h, w).astype(np.float32)


def _one_hot(scribbles: np.ndarray, classes: np.ndarray) -> np.ndarray:
    return (scribbles[None] == classes[:, None, None]).astype(np.float32)


def _check(features: np.ndarray, scribbles: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    features = np.asarray(features, np.float32)
    if features.ndim == 2:
        features = features[None]
    if features.ndim != 3 or not np.all(np.isfinite(features)):
        raise InputError(f"features must be a finite (F, H, W) array; got shape {features.shape}")
    scribbles = np.asarray(scribbles)
    if scribbles.shape != features.shape[1:]:
        raise InputError(f"scribbles have shape {scribbles.shape}, the features {features.shape[1:]}")
    classes = np.unique(scribbles[scribbles > 0]).astype(np.int32)
    if classes.size == 0:
        raise InputError("a random walk needs at least one scribbled pixel")
    return features, scribbles.astype(np.int32), classes


def coarse_shape(shape: tuple[int, int], max_side: int) -> tuple[int, int]:
    """``shape`` scaled so that its longest side is ``max_side`` (never enlarged; 0: as is)."""
    if not max_side or max(shape) <= max_side:
        return tuple(shape)
    scale = max(shape) / max_side
    return max(2, round(shape[0] / scale)), max(2, round(shape[1] / scale))


def shrink(stack: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A (F, H, W) stack resized (anti-aliased, linear) to (F, *size)."""
    from skimage.transform import resize

    if stack.shape[1:] == tuple(size):
        return np.asarray(stack, np.float32)
    small = resize(np.moveaxis(stack, 0, -1), size, order=1, anti_aliasing=True, preserve_range=True)
    return np.ascontiguousarray(np.moveaxis(small, -1, 0), np.float32)


def _shrink(features: np.ndarray, scribbles: np.ndarray, size: tuple[int, int]):
    from .cluster_net import resize_scribbles

    return shrink(features, size), resize_scribbles(scribbles, size)


def _enlarge(probs: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    from skimage.transform import resize

    big = resize(np.moveaxis(probs, 0, -1), size, order=1, preserve_range=True)
    return np.moveaxis(big, -1, 0).astype(np.float32)


def _band(labels: np.ndarray, radius: int) -> np.ndarray:
    """Pixels within ``radius`` of a change of label."""
    from scipy.ndimage import maximum_filter, minimum_filter

    size = 2 * radius + 1
    return maximum_filter(labels, size) != minimum_filter(labels, size)


def walk_probs(features: np.ndarray, scribbles: np.ndarray, classes: np.ndarray, beta: float) -> np.ndarray:
    """(len(classes), H, W) probabilities of one walk on ``features``' contrast weights.

    Classes absent from ``scribbles`` (lost when they were shrunk) get probability 0.
    """
    present = np.unique(scribbles[scribbles > 0])
    probs = np.zeros((len(classes),) + scribbles.shape, np.float32)
    probs[np.searchsorted(classes, present)] = solve_walk(
        *contrast_weights(features, beta), scribbles > 0, _one_hot(scribbles, present))
    return probs


def random_walk(features: np.ndarray, scribbles: np.ndarray, params: WalkParams = WalkParams()) -> Walk:
    """Class probabilities of every pixel from the scribbles.

    Parameters
    ----------
    features : (F, H, W) float
        What edges compare: the image, possibly stacked with learned features.
    scribbles : (H, W) int
        0 = unlabeled, 1..K = classes; at least one class.
    params : WalkParams
    """
    features, scribbles, classes = _check(features, scribbles)
    shape = scribbles.shape
    size = coarse_shape(shape, params.max_side)
    if size == shape:
        wh, wv = contrast_weights(features, params.beta)
        return Walk(solve_walk(wh, wv, scribbles > 0, _one_hot(scribbles, classes)), classes)
    small_feats, small_scr = _shrink(features, scribbles, size)
    coarse = walk_probs(small_feats, small_scr, classes, params.beta)
    return refine(features, scribbles, Walk(coarse, classes), params)


def refine(features: np.ndarray, scribbles: np.ndarray, coarse: Walk, params: WalkParams = WalkParams()) -> Walk:
    """Bring a coarse result to full resolution, re-solving the walk near its class borders.

    ``coarse.probs`` may have any smaller size; outside a band around the borders of its
    classes the enlarged probabilities are kept, inside the band the walk on the
    full-resolution image decides. Scribbled pixels keep their class.
    """
    features, scribbles, _ = _check(features, scribbles)
    shape = scribbles.shape
    classes = coarse.classes
    values = _enlarge(coarse.probs, shape) if coarse.probs.shape[1:] != shape else coarse.probs.copy()
    scale = max(shape[0] / coarse.probs.shape[1], shape[1] / coarse.probs.shape[2])
    band = _band(np.argmax(values, 0), params.band + int(np.ceil(scale)))
    hard = np.isin(scribbles, classes)
    fixed = ~band | hard
    values[:, hard] = _one_hot(scribbles, classes)[:, hard]
    wh, wv = contrast_weights(features, params.beta)
    return Walk(solve_walk(wh, wv, fixed, values), classes)
