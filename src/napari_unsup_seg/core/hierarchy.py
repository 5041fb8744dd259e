"""Region hierarchies and ultrametric contour maps (UCM) over an over-segmentation.

A :class:`Hierarchy` is built once per result by :func:`build_hierarchy`; cutting it
at a threshold is then fast enough for a slider. Its UCM uses the BSDS "doubleSize"
layout: a float32 (2H+1, 2W+1) map in [0, 1] where pixel (i, j) sits at (2i+1, 2j+1),
the edge between two pixels sits between them, and every corner holds the maximum of
its incident edges (the outer ring is 0 except where an edge meets it). With that layout
the canonical rule :func:`labels_at` gives the same regions as :meth:`Hierarchy.cut`.

Boundary strength (see ``docs/ucm.md`` for the measurements behind the defaults): every
pixel edge gets the CIE Lab distance between the mean colours of small boxes on either
side of it (radii 1, 3 and 6, after a light Gaussian blur, gated by the distance between
the two pixels) plus, when the segmenter's soft output is given, the difference of the
two soft vectors (:mod:`core.boundaries`); adjacent leaves add half the distance between
their mean colours. Regions are then merged greedily by the mean of these weights along
their common boundary (:mod:`core.hierarchy_merge`). The options are
:class:`HierarchyParams` (:mod:`core.hierarchy_params`).

Scribbles constrain the hierarchy: two regions holding different scribble classes never
merge below threshold 1.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from . import pixel_graph
from .boundaries import colour_features, edge_weights
from .errors import InputError
from .hierarchy_merge import merge_tree, normalize_altitudes
from .hierarchy_params import LEARNED_CONTOURS, HierarchyParams
from .hierarchy_scribbles import keep_classes_apart, split_by_scribbles, spread_merges
from .region_classes import region_classes
from .scribbles import validate_scribbles
from .ucm import grid_graph, hg, labels_at, number_by_first, tree_cut_leaves, ucm_is_consistent, ucm_to_tree

__all__ = [
    "LEARNED_CONTOURS",
    "Hierarchy",
    "HierarchyParams",
    "build_hierarchy",
    "edge_weights",
    "labels_at",
    "region_classes",
    "tree_cut_leaves",
    "ucm_is_consistent",
    "ucm_to_tree",
]


def _n_children(tree: hg.Tree) -> np.ndarray:
    return tree.num_children(np.arange(tree.num_leaves(), tree.num_vertices()))


# ----------------------------------------------------------------------------------------
# Hierarchy


class Hierarchy:
    """A region hierarchy over an image, with fast cuts and a doubleSize UCM.

    Attributes
    ----------
    tree : higra.Tree
        Leaves are the connected regions of the over-segmentation.
    altitudes : (n_nodes,) float32
        Non-decreasing towards the root, in [0, 1]; leaves at 0.
    leaf_map : (H, W) int32
        Leaf (region) index of every pixel.
    """

    def __init__(self, tree: hg.Tree, altitudes: np.ndarray, leaf_map: np.ndarray, rag, graph=None):
        self.tree = tree
        self.altitudes = np.clip(np.asarray(altitudes, np.float32), 0.0, 1.0)
        self.altitudes[: tree.num_leaves()] = 0.0
        self.leaf_map = np.ascontiguousarray(leaf_map, np.int32)
        self.shape = self.leaf_map.shape
        self._rag = rag
        self._graph = graph
        flat = self.leaf_map.ravel()
        first = np.full(tree.num_leaves(), flat.size, np.int64)
        np.minimum.at(first, flat, np.arange(flat.size))
        self._leaf_order = np.argsort(first, kind="stable")
        internal = self.altitudes[tree.num_leaves() :]
        order = np.argsort(internal, kind="stable")
        self._sorted_alt = internal[order]
        splits = (_n_children(tree) - 1)[order]
        # _above[k] = extra regions from internal nodes at sorted positions >= k
        self._above = np.concatenate([np.cumsum(splits[::-1])[::-1], [0]])

    @property
    def num_leaves(self) -> int:
        return self.tree.num_leaves()

    @property
    def max_threshold(self) -> float:
        """Largest threshold below 1: the coarsest cut that keeps scribble classes apart."""
        return float(np.nextafter(np.float32(1.0), np.float32(0.0)))

    @cached_property
    def ucm(self) -> np.ndarray:
        """(2H+1, 2W+1) float32 UCM in [0, 1] (BSDS doubleSize); a volume's is (2Z+1, 2H+1, 2W+1).

        See :mod:`core.hierarchy_volume` for the layout of a volume's.
        """
        if self.tree.num_leaves() == 1:
            return np.zeros(tuple(2 * n + 1 for n in self.shape), np.float32)
        # the tree's leaves are the rag's vertices: saliency projects back to pixel edges
        weights = hg.saliency(self.tree, self.altitudes, self._rag).astype(np.float32)
        if len(self.shape) == 3:
            from .hierarchy_volume import saliency_volume

            graph = self._graph if self._graph is not None else grid_graph(self.shape)
            return saliency_volume(weights, graph, self.shape)
        return pixel_graph.khalimsky(weights, self.shape)

    def _cut_leaves(self, threshold: float) -> tuple[np.ndarray, int]:
        t = np.float32(min(max(float(threshold), 0.0), 1.0))
        region, n = tree_cut_leaves(self.tree, self.altitudes, t)
        # renumber in raster order of each region's first pixel
        ranked, n = number_by_first(region[self._leaf_order], n)
        lut = np.empty(self.num_leaves, np.int32)
        lut[self._leaf_order] = ranked + 1
        return lut, n

    def leaf_votes(self, values: np.ndarray, where: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Per-leaf counts of ``values`` (at pixels ``where``): (values present (U,), counts (n_leaves, U))."""
        leaves = self.leaf_map.ravel()
        values = np.asarray(values).ravel()
        if where is not None:
            keep = np.asarray(where).ravel()
            leaves, values = leaves[keep], values[keep]
        present, index = np.unique(values, return_inverse=True)
        counts = np.bincount(leaves * len(present) + index.ravel(), minlength=self.num_leaves * len(present))
        return present, counts.reshape(self.num_leaves, len(present))

    def cut_majority(self, threshold: float, votes: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """(H, W) map of each region's majority value at ``threshold``, votes tried in order.

        ``votes`` are :meth:`leaf_votes`; a region takes the majority of the first that has
        any count in it (ties: the smallest value), 0 when none has. Summing the leaves'
        counts per region equals counting over the region's pixels, at a cost per leaf.
        """
        return self.leaf_majority(threshold, votes).astype(np.int32)[self.leaf_map]

    def leaf_majority(self, threshold: float, votes: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """(n_leaves,) int64: the value :meth:`cut_majority` gives each leaf's pixels."""
        lut, n = self._cut_leaves(threshold)
        region = lut.astype(np.int64) - 1
        chosen = np.zeros(n, np.int64)
        done = np.zeros(n, bool)
        for present, counts in votes:
            if not len(present):
                continue
            totals = np.zeros((n, len(present)), np.int64)
            np.add.at(totals, region, counts)
            has = ~done & (totals.sum(1) > 0)
            chosen[has] = present[totals[has].argmax(1)]
            done |= has
        return chosen[region]

    @cached_property
    def _pixels_by_leaf(self) -> tuple[np.ndarray, np.ndarray]:
        """Flat pixel indices sorted by leaf, and where each leaf's begin (n_leaves + 1)."""
        flat = self.leaf_map.ravel()
        starts = np.zeros(self.num_leaves + 1, np.int64)
        np.cumsum(np.bincount(flat, minlength=self.num_leaves), out=starts[1:])
        return np.argsort(flat, kind="stable"), starts

    def leaf_pixels(self, leaves: np.ndarray) -> np.ndarray:
        """Flat indices of the pixels of ``leaves`` (ascending within each leaf)."""
        order, starts = self._pixels_by_leaf
        leaves = np.asarray(leaves, np.int64)
        sizes = starts[leaves + 1] - starts[leaves]
        first = np.repeat(starts[leaves] - np.concatenate([[0], np.cumsum(sizes)[:-1]]), sizes)
        return order[first + np.arange(int(sizes.sum()))]

    def cut(self, threshold: float) -> np.ndarray:
        """(H, W) int32 regions 1..n at ``threshold``; equals ``labels_at(self.ucm, threshold)``."""
        lut, _ = self._cut_leaves(threshold)
        return lut[self.leaf_map]

    def n_regions(self, threshold: float) -> int:
        """Number of regions of :meth:`cut` at ``threshold``."""
        t = np.float32(min(max(float(threshold), 0.0), 1.0))
        k = int(np.searchsorted(self._sorted_alt, t, side="right"))
        return 1 + int(self._above[k])

    def threshold_for_regions(self, n: int) -> float:
        """Largest threshold whose cut still has at least ``n`` regions (0 when none has)."""
        candidates = np.unique(np.concatenate([[0.0], self._sorted_alt]).astype(np.float32))
        ks = np.searchsorted(self._sorted_alt, candidates, side="right")
        counts = 1 + self._above[ks]
        ok = np.flatnonzero(counts >= n)
        return float(candidates[ok[-1]]) if ok.size else 0.0

    def cut_regions(self, n: int) -> np.ndarray:
        """Regions of the coarsest cut with at least ``n`` regions (fewer if impossible)."""
        return self.cut(self.threshold_for_regions(n))

    @classmethod
    def from_ucm(cls, ucm: np.ndarray) -> Hierarchy:
        """Rebuild a hierarchy from a saved doubleSize UCM (for example read from a file).

        Its cuts equal :func:`labels_at` for any UCM whose corners hold at least the
        maximum of their incident edges and whose pixel elements are 0 (all UCMs made by
        this package).
        """
        leaf_map, tree, altitudes, rag = ucm_to_tree(ucm, 0.0, check=False)
        return cls(tree, altitudes, leaf_map, rag=rag)


# ----------------------------------------------------------------------------------------
# Building


def _check_inputs(image, labels, soft):
    image = np.asarray(image, np.float32)
    labels = np.asarray(labels)
    if image.ndim == labels.ndim:
        image = image[None]
    if image.ndim not in (3, 4):
        raise InputError(f"the image must be (C, H, W) or (C, Z, H, W); got shape {image.shape}")
    if labels.shape != image.shape[1:]:
        raise InputError(
            f"the label image has shape {labels.shape} but the image is {'x'.join(map(str, image.shape[1:]))}"
        )
    if not (np.issubdtype(labels.dtype, np.integer) or labels.dtype == bool):
        raise InputError("the over-segmentation must be an integer label image")
    if soft is not None:
        soft = np.asarray(soft, np.float32)
        if soft.ndim != labels.ndim + 1 or soft.shape[1:] != labels.shape:
            raise InputError(f"the soft output must be (L, *shape) with shape {labels.shape}; got shape {soft.shape}")
    return image, labels.astype(np.int64), soft


def build_hierarchy(
    image: np.ndarray,
    labels: np.ndarray,
    soft: np.ndarray | None = None,
    params: HierarchyParams = HierarchyParams(),
    scribbles: np.ndarray | None = None,
) -> Hierarchy:
    """Build the region hierarchy of an over-segmentation.

    Parameters
    ----------
    image : (C, H, W) float32 in [0, 1], or a volume (C, Z, H, W)
    labels : (H, W) int, or (Z, H, W)
        Over-segmentation (any integers); non-connected regions are split into their
        4-connected (volumes: 6-connected) components, which are the leaves.
    soft : (L, H, W) float, optional
        The segmenter's soft output; its differences add to the boundary strength.
    params : HierarchyParams
    scribbles : (H, W) int, optional
        0 = unlabeled, 1..K = classes. Regions with different classes never merge below
        threshold 1; a leaf holding several classes is split between them first.

    Examples
    --------
    >>> img = np.zeros((1, 4, 6), np.float32); img[:, :, 3:] = 1
    >>> h = build_hierarchy(img, np.arange(24).reshape(4, 6))  # every pixel a leaf
    >>> h.cut_regions(2)[0].tolist(), h.ucm.shape
    ([1, 1, 1, 2, 2, 2], (9, 13))
    """
    image, labels, soft = _check_inputs(image, labels, soft)
    shape = labels.shape
    # higra's pixel graph and RAG (which hold the GIL) where it is needed anyway (volumes, watershed
    # leaves) or where the order of the RAG's edges decides between many equal merges (min_size's
    # single-linkage rebuild); otherwise core.pixel_graph's
    with_higra = len(shape) == 3 or params.leaves == "watershed" or params.min_size > 0
    graph = grid_graph(shape) if with_higra else None
    feats = colour_features(image, params.sigma)
    if params.method == "ward":
        pixel_weights = np.zeros(pixel_graph.num_edges(shape) if graph is None else graph.num_edges(), np.float32)
    elif len(shape) == 3:
        from .hierarchy_volume import voxel_edge_weights

        if params.contour_weight > 0:
            raise InputError("the learned contours (contour_weight) are for 2D images; set it to 0 for a volume")
        pixel_weights = voxel_edge_weights(
            feats, soft, graph, params.color_weight / params.color_scale, params.soft_weight
        )
    else:
        pixel_weights = edge_weights(image, graph, soft, params, feats)
    if params.leaves == "watershed":
        labels = np.asarray(hg.labelisation_watershed(graph, pixel_weights), np.int64).reshape(shape)
    if scribbles is not None:
        scribbles = validate_scribbles(scribbles, shape, require_class=False)
        if scribbles.any():
            labels = split_by_scribbles(labels, scribbles)
        else:
            scribbles = None
    if with_higra:
        rag = hg.make_region_adjacency_graph_from_labelisation(graph, labels)
    else:
        rag = pixel_graph.region_adjacency(labels)
    leaf_map = rag.vertex_map.reshape(shape).astype(np.int32)
    tree, raw = merge_tree(rag, pixel_weights, feats, leaf_map, params)
    if params.min_size > 0 and tree.num_leaves() > 1:
        tree, raw = hg.filter_small_nodes_from_tree(tree, raw, params.min_size * leaf_map.size, rag)
    altitudes = normalize_altitudes(raw, tree.num_leaves(), params)
    if scribbles is not None:
        leaf_class = np.zeros(tree.num_leaves(), np.int64)
        marked = scribbles > 0
        np.maximum.at(leaf_class, leaf_map[marked], scribbles[marked])
        altitudes = spread_merges(keep_classes_apart(tree, altitudes, leaf_class), tree.num_leaves())
    return Hierarchy(tree, altitudes, leaf_map, rag=rag, graph=graph)
