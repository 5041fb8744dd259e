"""The hierarchy of an unsupervised result's segments, for merging what the user sees.

An unsupervised result is a map of segment ids; a segment need not be connected (a
cluster or a CRF label spread over the image), and the hierarchy's leaves are connected
regions that need not follow the segments (watershed leaves of the learned contours).
A cut of that hierarchy is finer than the result at low thresholds: hundreds of regions
where the result shows twenty, and not the same ones. Merging starts from the result
instead: two segments that touch are as far apart as the hierarchy's boundary between
them, the mean, over their common pixel edges that also separate two leaves, of the
altitude at which the hierarchy joins the two sides; segments are joined in that order
(higra's canonical binary partition tree over the segments' adjacency). Its cut at 0 is
the result; a higher threshold only ever joins segments.
"""

from __future__ import annotations

import numpy as np

from .hierarchy import Hierarchy
from .ucm import hg

# segments whose whole common boundary lies inside leaves still stay apart at threshold 0
_LEAST = np.float32(1e-6)


def _boundary_pairs(h: Hierarchy, index: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(segment a, segment b, altitude) of the pixel edges between two segments, a < b; the
    altitude is NaN where the edge lies inside one leaf."""
    a_all, b_all, alt_all = [], [], []
    for axis in range(index.ndim):
        before = [slice(None)] * index.ndim
        after = [slice(None)] * index.ndim
        before[axis], after[axis] = slice(None, -1), slice(1, None)
        sa, sb = index[tuple(before)], index[tuple(after)]
        cross = sa != sb
        la, lb = h.leaf_map[tuple(before)][cross], h.leaf_map[tuple(after)][cross]
        meet = h.tree.lowest_common_ancestor(la.astype(np.int64), lb.astype(np.int64))
        sa, sb = sa[cross], sb[cross]
        a_all.append(np.minimum(sa, sb))
        b_all.append(np.maximum(sa, sb))
        alt_all.append(np.where(la != lb, h.altitudes[meet], np.nan))  # inside a leaf: nothing known
    return np.concatenate(a_all), np.concatenate(b_all), np.concatenate(alt_all)


def segment_hierarchy(h: Hierarchy, labels: np.ndarray) -> tuple[Hierarchy, np.ndarray]:
    """(hierarchy whose leaves are the segments of ``labels``, the id of each of its leaves)."""
    ids, index = np.unique(np.asarray(labels), return_inverse=True)
    index = index.reshape(np.shape(labels))
    graph = hg.UndirectedGraph(len(ids))
    a, b, alt = _boundary_pairs(h, index)
    if a.size:
        pair = a.astype(np.int64) * len(ids) + b
        pairs, which = np.unique(pair, return_inverse=True)
        known = ~np.isnan(alt)
        total = np.bincount(which[known], alt[known], minlength=len(pairs))
        count = np.bincount(which[known], minlength=len(pairs))
        # two segments that meet only inside leaves: joined last, keeping the graph connected
        mean = np.where(count > 0, total / np.maximum(count, 1), float(h.altitudes.max()))
        graph.add_edges(pairs // len(ids), pairs % len(ids))
        weights = np.maximum(mean.astype(np.float32), _LEAST)
    else:
        weights = np.zeros(0, np.float32)
    tree, altitudes = hg.bpt_canonical(graph, weights)
    return Hierarchy(tree, altitudes, index.astype(np.int32), rag=graph), ids


def cut_segments(segments: Hierarchy, ids: np.ndarray, threshold: float) -> np.ndarray:
    """Map of the joined segments at ``threshold``: each takes the smallest id it holds,
    so a segment keeps its id (and colour) until it joins one with a smaller id."""
    lut, n = segments._cut_leaves(threshold)
    value = np.full(n + 1, np.iinfo(np.int64).max, np.int64)
    np.minimum.at(value, lut, ids.astype(np.int64))
    return value[lut].astype(np.int32)[segments.leaf_map]
