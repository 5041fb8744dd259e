"""Edge weights of the random walks' pixel (or voxel) graph: image contrast, voxel size, boundaries.

An edge weighs ``exp(-beta * cost)``, where the cost is the squared feature difference
across it divided by its mean over the image (so that ``beta`` does not depend on the
image's contrast), plus, where a :class:`BoundaryMap` is given, a cost for crossing a
boundary. Edges along coarser axes of anisotropic voxels weigh less (:func:`axis_factors`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import InputError

# Floor of an edge weight: keeps every region connected so the system stays non-singular.
WEIGHT_FLOOR = 1e-6
# Largest ratio of voxel sizes: beyond it edge weights fall to the floor along the coarse axes.
MAX_SPACING_RATIO = 100.0


def squared_differences(features: np.ndarray) -> list[np.ndarray]:
    """Squared feature distance across the edges along each spatial axis of a (F, *shape) stack.

    Item ``a`` has the stack's spatial shape, one shorter along axis ``a``: in 2D the
    vertical (H-1, W) then the horizontal (H, W-1) edges.
    """
    f = np.asarray(features, np.float32)
    return [(np.diff(f, axis=axis + 1) ** 2).sum(0) for axis in range(f.ndim - 1)]


def axis_factors(ndim: int, spacing: tuple[float, ...] | None) -> list[float]:
    """Weight factor of the edges along each axis: ``(finest spacing / spacing) ** 2``.

    A walk on a grid of anisotropic voxels (slices farther apart than pixels) then
    approximates diffusion in physical space. No spacing: every axis 1.
    """
    if spacing is None:
        return [1.0] * ndim
    spacing = tuple(float(s) for s in spacing)
    if len(spacing) != ndim or not all(np.isfinite(s) and s > 0 for s in spacing):
        raise InputError(f"the spacing must be {ndim} positive numbers, one per axis; got {spacing}")
    if max(spacing) > MAX_SPACING_RATIO * min(spacing):
        raise InputError(
            f"the voxel sizes {spacing} differ by more than {MAX_SPACING_RATIO:g} times: the walks "
            "would tie voxels along one axis only (or not at all); check the spacing and its units"
        )
    return [(min(spacing) / s) ** 2 for s in spacing]


@dataclass
class BoundaryMap:
    """Where objects meet, as a (*shape) probability map, and how much it counts in a walk.

    An edge between two pixels costs the square of their mean boundary probability,
    divided by its mean over the image, times ``weight``; that cost adds to the contrast
    term of :func:`contrast_weights`. Only walks at the map's own resolution use it.
    """

    prob: np.ndarray
    weight: float
    _costs: list = field(default_factory=list, repr=False)

    def costs(self) -> list[np.ndarray]:
        """Normalised edge costs, one array per axis (as :func:`squared_differences`)."""
        if not self._costs:
            prob = np.asarray(self.prob, np.float32)
            ends = [np.moveaxis(prob, axis, 0) for axis in range(prob.ndim)]
            costs = [np.moveaxis(((p[1:] + p[:-1]) / 2) ** 2, 0, axis) for axis, p in enumerate(ends)]
            mean = sum(float(c.sum(dtype=np.float64)) for c in costs) / max(sum(c.size for c in costs), 1)
            self._costs.extend(c / np.float32(max(mean, 1e-12)) for c in costs)
        return self._costs


def contrast_weights(
    features: np.ndarray,
    beta: float,
    spacing: tuple[float, ...] | None = None,
    boundary: BoundaryMap | None = None,
) -> list[np.ndarray]:
    """Edge weights ``exp(-beta * (d / mean(d) + boundary cost))`` of a (F, *shape) stack, one array per axis."""
    differences = squared_differences(features)
    total = sum(float(d.sum(dtype=np.float64)) for d in differences)
    scale = max(total / max(sum(d.size for d in differences), 1), 1e-12)
    costs = [d / scale for d in differences]
    if boundary is not None and boundary.weight > 0:
        if boundary.prob.shape != features.shape[1:]:
            raise InputError(f"a boundary map of shape {boundary.prob.shape} for a grid of {features.shape[1:]}")
        costs = [c + boundary.weight * b for c, b in zip(costs, boundary.costs())]
    factors = axis_factors(len(differences), spacing)
    return [(factor * (np.exp(-beta * cost) + WEIGHT_FLOOR)).astype(np.float64) for cost, factor in zip(costs, factors)]
