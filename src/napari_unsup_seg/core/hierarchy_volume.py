"""The parts of the region hierarchy that differ on volumes (Z, H, W).

Leaves, merging, scribble constraints and cuts are those of :mod:`core.hierarchy`, on the
6-adjacency voxel graph instead of the 4-adjacency pixel graph. Two things change:

* boundary strength: the colour (or intensity) distance between the two voxels of an edge
  after a Gaussian blur, plus the difference of the segmenter's soft outputs; the box
  contrasts of images are not computed (on a 256x256x64 volume they would take most of
  the run);
* the exported hierarchy, a *saliency volume* in the doubleSize layout extended to 3D:
  float32 (2Z+1, 2H+1, 2W+1) in [0, 1]; voxel (z, y, x) sits at (2z+1, 2y+1, 2x+1) (value
  0), the face between two voxels between them (the altitude at which they merge), and
  every lower-dimensional element (edges and corners of the voxel grid) holds the maximum
  of the faces around it. Its regions at threshold t are
  ``skimage.measure.label(saliency <= t, connectivity=1)[1::2, 1::2, 1::2]``
  (:func:`volume_labels_at`), the same as :meth:`Hierarchy.cut`.
"""

from __future__ import annotations

import numpy as np

from .errors import InputError


def edge_positions(src: np.ndarray, dst: np.ndarray, shape: tuple[int, ...]) -> tuple[np.ndarray, ...]:
    """doubleSize coordinates of the element between grid neighbours ``src`` and ``dst``."""
    a = np.unravel_index(src, shape)
    b = np.unravel_index(dst, shape)
    return tuple(i + j + 1 for i, j in zip(a, b))


def voxel_edge_weights(
    feats: np.ndarray, soft: np.ndarray | None, graph, color_factor: float, soft_factor: float
) -> np.ndarray:
    """Boundary weight of every edge of a voxel graph (float32).

    ``feats`` (Z, H, W, F) are the blurred colour features; ``soft`` (L, Z, H, W) or None.
    """
    src, dst = graph.edge_list()
    flat = feats.reshape(-1, feats.shape[-1])
    weights = np.zeros(src.size, np.float32)
    if color_factor > 0:
        squared = np.zeros(src.size, np.float32)
        for f in range(flat.shape[1]):
            column = np.ascontiguousarray(flat[:, f])
            squared += (column[src] - column[dst]) ** 2
        weights += np.float32(color_factor) * np.sqrt(squared)
    if soft is not None and soft_factor > 0:
        for plane in np.asarray(soft, np.float32).reshape(soft.shape[0], -1):
            weights += np.float32(0.5 * soft_factor) * np.abs(plane[src] - plane[dst])
    return weights


def saliency_volume(edge_saliency: np.ndarray, graph, shape: tuple[int, int, int]) -> np.ndarray:
    """(2Z+1, 2H+1, 2W+1) float32 saliency volume from the saliency of every voxel edge."""
    out = np.zeros(tuple(2 * n + 1 for n in shape), np.float32)
    src, dst = graph.edge_list()
    out[edge_positions(src, dst, shape)] = edge_saliency
    even = [
        (np.arange(n) % 2 == 0).reshape([-1 if a == axis else 1 for a in range(3)]) for axis, n in enumerate(out.shape)
    ]
    n_even = sum(e.astype(np.int8) for e in even)
    # grid edges (two even coordinates) take the max of their faces, corners of their edges
    for level in (2, 3):
        best = np.zeros_like(out)
        for axis in range(3):
            on_axis = even[axis]
            for shift in (1, -1):
                neighbour = np.roll(out, shift, axis)
                edge = [slice(None)] * 3
                edge[axis] = 0 if shift == 1 else -1
                neighbour[tuple(edge)] = 0
                np.maximum(best, np.where(on_axis, neighbour, 0), out=best)
        target = n_even == level
        out[target] = best[target]
    return out


def volume_labels_at(saliency: np.ndarray, threshold: float) -> np.ndarray:
    """Regions (int32, 1..n) of a saliency volume at ``threshold`` (see the module notes)."""
    from skimage.measure import label

    saliency = np.asarray(saliency)
    if saliency.ndim != 3 or any(n % 2 == 0 or n < 3 for n in saliency.shape):
        raise InputError(f"a saliency volume must be 3D with odd sizes (2Z+1, 2H+1, 2W+1); got {saliency.shape}")
    t = np.float32(min(max(float(threshold), 0.0), 1.0))
    inside = saliency.astype(np.float32, copy=False) <= t
    return label(inside, connectivity=1)[1::2, 1::2, 1::2].astype(np.int32)
