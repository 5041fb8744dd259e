"""Merging the leaves of a region hierarchy: the tree and its altitudes in [0, 1].

Regions are merged greedily by the mean of the pixel-edge weights along their common
boundary (average linkage, as in the "mean boundary" UCM of Arbelaez et al.), by their
lowest boundary weight, by watershed area or volume, or by Ward's criterion on their mean
colour (``HierarchyParams.method``). Adjacent leaves add ``region_weight`` times the
distance between their mean colours. The raw altitudes are then normalized to [0, 1].
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .ucm import hg, monotone

if TYPE_CHECKING:
    from .hierarchy_params import HierarchyParams


def normalize_altitudes(altitudes: np.ndarray, n_leaves: int, params: HierarchyParams) -> np.ndarray:
    alt = np.asarray(altitudes, np.float64)
    alt[:n_leaves] = 0.0
    if params.normalize == "scale":
        out = alt / (alt + params.scale)
    elif params.normalize == "max":
        top = alt.max()
        out = alt / top if top > 0 else alt
    else:
        internal = alt[n_leaves:]
        ranks = np.searchsorted(np.sort(internal), internal, side="right")
        out = alt.copy()
        out[n_leaves:] = ranks / max(len(internal), 1)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def merge_tree(rag, pixel_weights: np.ndarray, feats: np.ndarray, leaf_map: np.ndarray, params: HierarchyParams):
    """Tree and raw (unnormalized, monotone) altitudes over the rag vertices."""
    n = rag.num_vertices()
    if n == 1:
        return hg.Tree(np.zeros(1, np.int64)), np.zeros(1, np.float64)
    if params.method == "ward" or params.region_weight > 0:
        feats = feats.reshape(-1, feats.shape[-1])
        sizes = np.bincount(leaf_map.ravel(), minlength=n).astype(np.float64)
        sums = np.stack([np.bincount(leaf_map.ravel(), weights=f, minlength=n) for f in feats.T], 1)
        means = sums / sizes[:, None]
    if params.method == "ward":
        tree, alt = hg.binary_partition_tree_ward_linkage(rag, means, sizes)
        return tree, np.sqrt(np.maximum(np.asarray(alt, np.float64), 0.0)) / params.color_scale
    mean_w = hg.rag_accumulate_on_edges(rag, hg.Accumulators.mean, pixel_weights).astype(np.float64)
    if params.region_weight > 0:
        src, dst = rag.edge_list()
        distance = np.sqrt(((means[src] - means[dst]) ** 2).sum(1)) / params.color_scale
        mean_w = mean_w + params.region_weight * distance
    if params.method == "mean":
        length = hg.rag_accumulate_on_edges(rag, hg.Accumulators.sum, np.ones_like(pixel_weights))
        tree, alt = hg.binary_partition_tree_average_linkage(rag, mean_w, length.astype(np.float64))
    elif params.method == "single":
        tree, alt = hg.bpt_canonical(rag, mean_w)
    else:
        area = np.bincount(leaf_map.ravel(), minlength=n).astype(np.float64)
        if params.method == "area":
            tree, alt = hg.watershed_hierarchy_by_area(rag, mean_w, vertex_area=area)
        else:
            tree, alt = hg.watershed_hierarchy_by_volume(rag, mean_w, vertex_area=area)
    return tree, monotone(tree, np.asarray(alt, np.float64))
