"""The 4-adjacency pixel graph of an image, in numpy, for the region hierarchy.

higra's calls hold Python's GIL from start to end: at 1024x1024 making the explicit pixel
graph took 0.17 s, the region adjacency graph (RAG) 0.23 s and the doubleSize UCM 0.11 s,
and a GUI thread waited for each. Here the same arrays come from numpy operations, which
release the GIL, or last a few milliseconds each.

The pixel graph's edges are numbered as higra numbers those of ``get_4_adjacency_graph``:
pixel by pixel in raster order, its edge to the right, then its edge down. An edge is
thus a *slot* ``(row, col, 0)`` (right) or ``(row, col, 1)`` (down) of an (H, W, 2) array,
and edge ``k`` is the ``k``-th slot that exists (:func:`edge_slots`).
"""

from __future__ import annotations

import functools

import numpy as np

from .ucm import hg


@functools.lru_cache(maxsize=2)
def edge_slots(shape: tuple[int, int]) -> np.ndarray:
    """(H, W, 2) bool: which slots are edges (the last column has no right edge, the last row no down edge)."""
    height, width = shape
    slots = np.ones((height, width, 2), bool)
    slots[:, -1, 0] = False
    slots[-1, :, 1] = False
    slots.flags.writeable = False
    return slots


def num_edges(shape: tuple[int, int]) -> int:
    """Number of edges of the (H, W) pixel graph."""
    height, width = shape
    return height * (width - 1) + (height - 1) * width


def edge_values(horizontal: np.ndarray, vertical: np.ndarray) -> np.ndarray:
    """Values of every edge in the graph's order, from those of the (H, W-1) horizontal and (H-1, W) vertical edges."""
    height, width = vertical.shape[0] + 1, horizontal.shape[1] + 1
    dtype = np.result_type(horizontal, vertical)
    slots = np.zeros((height, width, 2), dtype)
    slots[:, :-1, 0] = horizontal
    slots[:-1, :, 1] = vertical
    return slots[edge_slots((height, width))]


def _pairs(regions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The regions at the two ends of every edge, in the graph's order."""
    height, width = regions.shape
    other = np.zeros((height, width, 2), regions.dtype)
    other[:, :-1, 0] = regions[:, 1:]
    other[:-1, :, 1] = regions[1:, :]
    slots = edge_slots((height, width))
    return np.broadcast_to(regions[..., None], other.shape)[slots], other[slots]


def connected_regions(labels: np.ndarray) -> tuple[np.ndarray, int]:
    """(H, W) int64 index 0..n-1 of the 4-connected region of equal labels of each pixel, and n.

    Regions are numbered in raster order of their first pixel, as higra numbers the
    vertices of a RAG.
    """
    from skimage.measure import label

    labels = np.asarray(labels)
    regions = label(labels, connectivity=1, background=int(labels.min()) - 1).astype(np.int64) - 1
    return regions, int(regions.max()) + 1


def region_adjacency(labels: np.ndarray):
    """The region adjacency graph of an (H, W) label image (higra concept ``CptRegionAdjacencyGraph``).

    Its vertices and ``vertex_map`` equal those of higra's
    ``make_region_adjacency_graph_from_labelisation``. Its edges are the same pairs of
    regions, each ``(smaller, larger)``, sorted by the larger region, then the smaller;
    higra orders those of one region by a depth-first walk of its pixels instead. The
    order matters only where two edges have exactly the same weight; on the bundled
    samples (every segmenter, with and without scribbles) the UCMs are the same bytes.
    """
    regions, n = connected_regions(labels)
    first, second = _pairs(regions)
    between = np.flatnonzero(first != second)
    low = np.minimum(first[between], second[between])
    high = np.maximum(first[between], second[between])
    keys, edge_of = np.unique(high * n + low, return_inverse=True)
    edge_map = np.full(first.size, -1, np.int64)
    edge_map[between] = edge_of
    rag = hg.UndirectedGraph(n)
    rag.add_edges(keys % n, keys // n)
    pixels = hg.get_4_adjacency_implicit_graph(regions.shape)
    hg.CptRegionAdjacencyGraph.link(rag, pixels, regions.ravel(), edge_map)
    return rag


def khalimsky(weights: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(2H+1, 2W+1) float32 doubleSize map of the edge ``weights`` (>= 0) of the (H, W) pixel graph.

    The same as higra's ``graph_4_adjacency_2_khalimsky(graph, weights, shape, True)``:
    pixels at (2i+1, 2j+1) hold 0, each edge sits between its two pixels, and every
    corner holds the maximum of the edges around it.
    """
    height, width = shape
    slots = np.zeros((height, width, 2), np.float32)
    slots[edge_slots((height, width))] = weights
    out = np.zeros((2 * height + 1, 2 * width + 1), np.float32)
    out[1:-1:2, 2:-1:2] = slots[:, :-1, 0]
    out[2:-1:2, 1:-1:2] = slots[:-1, :, 1]
    corners = out[0::2, 0::2]
    np.maximum(corners[:-1, :], out[1::2, 0::2], out=corners[:-1, :])  # the edge below a corner
    np.maximum(corners[1:, :], out[1::2, 0::2], out=corners[1:, :])  # above
    np.maximum(corners[:, :-1], out[0::2, 1::2], out=corners[:, :-1])  # right
    np.maximum(corners[:, 1:], out[0::2, 1::2], out=corners[:, 1:])  # left
    return out
