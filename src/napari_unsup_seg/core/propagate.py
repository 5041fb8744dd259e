"""Scribbles -> per-pixel class probabilities by a random walk on the pixel graph.

The random walker (Grady, PAMI 2006) gives every unlabeled pixel, for each class, the
probability that a walker starting there first reaches a scribble of that class. Edges of
the 4-connected pixel graph weigh ``exp(-beta * d / mean(d))``, where ``d`` is the squared
feature difference across the edge (image intensities, optionally joined by the features
the clustering network learned) and the mean makes ``beta`` independent of the image's
contrast (:mod:`core.edge_weights`).

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

from .edge_weights import BoundaryMap, contrast_weights
from .errors import InputError

# Volumes with at least this many free voxels are solved by multigrid CG, to this relative
# residual (at 1e-3 the Dice of a test volume moved by 2e-4, at 1e-4 by 2e-5, from 1e-6).
AMG_MIN_SIZE = 2_000
AMG_TOL = 1e-4
AMG_MAX_ITER = 200


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

    probs: np.ndarray  # (K, *shape) float32, sums to 1 over K
    classes: np.ndarray  # (K,) int32

    def labels(self) -> np.ndarray:
        """(*shape) int32 class of highest probability."""
        return self.classes[np.argmax(self.probs, axis=0)].astype(np.int32)

    def margin(self) -> np.ndarray:
        """(*shape) float32 difference between the two highest probabilities (1 = certain)."""
        if len(self.classes) < 2:
            return np.ones(self.probs.shape[1:], np.float32)
        top2 = np.sort(self.probs, axis=0)[-2:]
        return (top2[1] - top2[0]).astype(np.float32)


def _edges(shape: tuple[int, ...], weights: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Both ends (flat indices) and the weight of every grid edge, last axis first."""
    idx = np.arange(int(np.prod(shape))).reshape(shape)
    ends_a, ends_b, values = [], [], []
    for axis in reversed(range(len(shape))):
        lead = [slice(None)] * len(shape)
        lead[axis] = slice(None, -1)
        trail = [slice(None)] * len(shape)
        trail[axis] = slice(1, None)
        ends_a.append(idx[tuple(lead)].ravel())
        ends_b.append(idx[tuple(trail)].ravel())
        values.append(np.asarray(weights[axis], np.float64).ravel())
    return np.concatenate(ends_a), np.concatenate(ends_b), np.concatenate(values)


def _free_system(weights: list[np.ndarray], fixed: np.ndarray):
    """Laplacian restricted to the free pixels, and the edges that tie them to fixed ones.

    Returns ``(system, free, (to_free, from_fixed, weight))``: the right-hand side of class
    ``c`` adds ``weight * value_c[from_fixed]`` at ``to_free``.
    """
    n = fixed.size
    a, b, w = _edges(fixed.shape, weights)
    flat_fixed = fixed.ravel()
    free = np.flatnonzero(~flat_fixed)
    position = np.full(n, -1, np.int64)
    position[free] = np.arange(free.size)
    degree = np.bincount(a, w, n) + np.bincount(b, w, n)
    inner = ~flat_fixed[a] & ~flat_fixed[b]
    pa, pb, wi = position[a[inner]], position[b[inner]], w[inner]
    system = sparse.coo_matrix(
        (
            np.concatenate([-wi, -wi, degree[free]]),
            (np.concatenate([pa, pb, np.arange(free.size)]), np.concatenate([pb, pa, np.arange(free.size)])),
        ),
        shape=(free.size, free.size),
    ).tocsc()
    a_free = ~flat_fixed[a] & flat_fixed[b]
    b_free = flat_fixed[a] & ~flat_fixed[b]
    to_free = np.concatenate([position[a[a_free]], position[b[b_free]]])
    from_fixed = np.concatenate([b[a_free], a[b_free]])
    return system, free, (to_free, from_fixed, np.concatenate([w[a_free], w[b_free]]))


def _solver(system: sparse.csc_matrix, ndim: int):
    """A function ``(rhs, guess) -> x`` solving ``system @ x = rhs``.

    Sparse LU on images; on volumes, whose LU fills in far more (a 3D grid has no small
    separators), conjugate gradients preconditioned by classical (Ruge-Stuben) algebraic
    multigrid, which copes with the walk's edge weights spanning six orders of magnitude
    (smoothed aggregation needed four times the iterations on a noisy volume).
    """
    if ndim < 3 or system.shape[0] < AMG_MIN_SIZE:
        lu = splu(system, permc_spec="MMD_AT_PLUS_A", options={"SymmetricMode": True})
        return lambda rhs, guess: lu.solve(rhs)
    import pyamg

    multigrid = pyamg.ruge_stuben_solver(system.tocsr())

    def solve(rhs: np.ndarray, guess: np.ndarray) -> np.ndarray:
        return multigrid.solve(rhs, x0=guess, tol=AMG_TOL, accel="cg", maxiter=AMG_MAX_ITER)

    return solve


def solve_walk(weights: list[np.ndarray], fixed: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Solve the Dirichlet problem of the random walk on a 2D or 3D grid.

    Parameters
    ----------
    weights : edge weights along each axis (see :func:`contrast_weights`).
    fixed : (*shape) bool, pixels whose probabilities are given.
    values : (K, *shape) probabilities at the fixed pixels (ignored elsewhere).

    Returns
    -------
    (K, *shape) float32 probabilities, summing to 1 over K.
    """
    k = values.shape[0]
    out = values.reshape(k, -1).astype(np.float64).copy()
    if not fixed.all():
        system, free, (to_free, from_fixed, coupling) = _free_system(weights, fixed)
        solve = _solver(system, fixed.ndim)
        # an iterative solve starts from the values given at free pixels (a coarse result)
        for c in range(k):
            if c == k - 1 and k > 1 and fixed.ndim > 2:
                # the values sum to 1 at fixed pixels, so the solutions do everywhere
                out[c, free] = 1.0 - out[:c, free].sum(0)
                break
            rhs = np.bincount(to_free, coupling * out[c, from_fixed], free.size)
            out[c, free] = solve(rhs, out[c, free])
    out = np.clip(out, 0.0, None)
    total = out.sum(0, keepdims=True)
    out = np.where(total > 0, out / np.maximum(total, 1e-12), 1.0 / k)
    return out.reshape(values.shape).astype(np.float32)


def _one_hot(scribbles: np.ndarray, classes: np.ndarray) -> np.ndarray:
    return (scribbles[None] == np.reshape(classes, (-1,) + (1,) * scribbles.ndim)).astype(np.float32)


def _check(features: np.ndarray, scribbles: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    features = np.asarray(features, np.float32)
    scribbles = np.asarray(scribbles)
    if features.ndim == scribbles.ndim:
        features = features[None]
    if features.ndim not in (3, 4) or not np.all(np.isfinite(features)):
        raise InputError(f"features must be a finite (F, H, W) or (F, Z, H, W) array; got shape {features.shape}")
    if scribbles.shape != features.shape[1:]:
        raise InputError(f"scribbles have shape {scribbles.shape}, the features {features.shape[1:]}")
    classes = np.unique(scribbles[scribbles > 0]).astype(np.int32)
    if classes.size == 0:
        raise InputError("a random walk needs at least one scribbled pixel")
    return features, scribbles.astype(np.int32), classes


def coarse_shape(shape: tuple[int, ...], max_side: int) -> tuple[int, ...]:
    """``shape`` scaled so that its longest side is ``max_side`` (never enlarged; 0: as is)."""
    if not max_side or max(shape) <= max_side:
        return tuple(shape)
    scale = max(shape) / max_side
    return tuple(max(2, round(n / scale)) for n in shape)


def coarse_spacing(spacing: tuple[float, ...] | None, shape: tuple[int, ...], size: tuple[int, ...]):
    """The voxel size of a grid of ``shape`` resized to ``size``."""
    if spacing is None:
        return None
    return tuple(float(s) * n / m for s, n, m in zip(spacing, shape, size))


def shrink(stack: np.ndarray, size: tuple[int, ...]) -> np.ndarray:
    """A (F, *shape) stack resized (anti-aliased, linear) to (F, *size)."""
    from skimage.transform import resize

    if stack.shape[1:] == tuple(size):
        return np.asarray(stack, np.float32)
    small = resize(np.moveaxis(stack, 0, -1), tuple(size), order=1, anti_aliasing=True, preserve_range=True)
    return np.ascontiguousarray(np.moveaxis(small, -1, 0), np.float32)


def _shrink(features: np.ndarray, scribbles: np.ndarray, size: tuple[int, ...]):
    from .cluster_net import resize_scribbles

    return shrink(features, size), resize_scribbles(scribbles, size)


def _enlarge(probs: np.ndarray, size: tuple[int, ...]) -> np.ndarray:
    from skimage.transform import resize

    big = resize(np.moveaxis(probs, 0, -1), tuple(size), order=1, preserve_range=True)
    return np.moveaxis(big, -1, 0).astype(np.float32)


def _band(labels: np.ndarray, radius: int) -> np.ndarray:
    """Pixels within ``radius`` of a change of label."""
    from scipy.ndimage import maximum_filter, minimum_filter

    size = 2 * radius + 1
    return maximum_filter(labels, size) != minimum_filter(labels, size)


def walk_probs(
    features: np.ndarray,
    scribbles: np.ndarray,
    classes: np.ndarray,
    beta: float,
    spacing: tuple[float, ...] | None = None,
    boundary: BoundaryMap | None = None,
) -> np.ndarray:
    """(len(classes), *shape) probabilities of one walk on ``features``' contrast weights.

    Classes absent from ``scribbles`` (lost when they were shrunk) get probability 0.
    """
    present = np.unique(scribbles[scribbles > 0])
    probs = np.zeros((len(classes),) + scribbles.shape, np.float32)
    probs[np.searchsorted(classes, present)] = solve_walk(
        contrast_weights(features, beta, spacing, boundary), scribbles > 0, _one_hot(scribbles, present)
    )
    return probs


def random_walk(
    features: np.ndarray,
    scribbles: np.ndarray,
    params: WalkParams = WalkParams(),
    spacing: tuple[float, ...] | None = None,
    boundary: BoundaryMap | None = None,
) -> Walk:
    """Class probabilities of every pixel (or voxel) from the scribbles.

    Parameters
    ----------
    features : (F, H, W) or (F, Z, H, W) float
        What edges compare: the image, possibly stacked with learned features.
    scribbles : (H, W) or (Z, H, W) int
        0 = unlabeled, 1..K = classes; at least one class.
    params : WalkParams
    spacing : tuple of float, optional
        Pixel or voxel size along each axis (see :func:`core.edge_weights.axis_factors`).
    boundary : BoundaryMap, optional
        Boundary probabilities that make edges across them cost more, at full resolution:
        in the refinement band, not in the coarse walk (which decides what joins what).
    """
    features, scribbles, classes = _check(features, scribbles)
    shape = scribbles.shape
    size = coarse_shape(shape, params.max_side)
    if size == shape:
        weights = contrast_weights(features, params.beta, spacing, boundary)
        return Walk(solve_walk(weights, scribbles > 0, _one_hot(scribbles, classes)), classes)
    small_feats, small_scr = _shrink(features, scribbles, size)
    coarse = walk_probs(small_feats, small_scr, classes, params.beta, coarse_spacing(spacing, shape, size))
    return refine(features, scribbles, Walk(coarse, classes), params, spacing, boundary)


def refine(
    features: np.ndarray,
    scribbles: np.ndarray,
    coarse: Walk,
    params: WalkParams = WalkParams(),
    spacing: tuple[float, ...] | None = None,
    boundary: BoundaryMap | None = None,
) -> Walk:
    """Bring a coarse result to full resolution, re-solving the walk near its class borders.

    ``coarse.probs`` may have any smaller size; outside a band around the borders of its
    classes the enlarged probabilities are kept, inside the band the walk on the
    full-resolution image decides. Scribbled pixels keep their class.
    """
    features, scribbles, _ = _check(features, scribbles)
    shape = scribbles.shape
    classes = coarse.classes
    values = _enlarge(coarse.probs, shape) if coarse.probs.shape[1:] != shape else coarse.probs.copy()
    scale = max(n / m for n, m in zip(shape, coarse.probs.shape[1:]))
    band = _band(np.argmax(values, 0), params.band + int(np.ceil(scale)))
    hard = np.isin(scribbles, classes)
    fixed = ~band | hard
    values[:, hard] = _one_hot(scribbles, classes)[:, hard]
    return Walk(solve_walk(contrast_weights(features, params.beta, spacing, boundary), fixed, values), classes)
