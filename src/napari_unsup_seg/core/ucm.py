"""The doubleSize UCM layout and the trees behind it.

A UCM here is a float32 (2H+1, 2W+1) map in [0, 1] in the BSDS "doubleSize" layout (see
:mod:`core.hierarchy`). This module holds what works on that layout and on region trees
alone: the canonical cut rule :func:`labels_at`, fast cuts of a tree
(:func:`tree_cut_leaves`), the consistency check of a UCM, and a UCM turned back into a
tree (:func:`ucm_to_tree`). Building a hierarchy from an image is :mod:`core.hierarchy`.
"""

from __future__ import annotations

import functools

import importlib
import threading

import numpy as np

from .errors import InputError


class _Lazy:
    """Module ``name``, imported on first attribute access, by one thread at a time.

    higra (with the scipy and matplotlib parts it pulls in) takes about a second to
    import; a CLI run that builds no hierarchy should not pay for it. importlib's
    LazyLoader let a second thread see the module half imported (the widget's warm-up
    imports it while a reopened session builds its hierarchy); the lock here makes that
    thread wait for the import to end.
    """

    def __init__(self, name: str):
        self._name, self._module, self._lock = name, None, threading.Lock()

    def __getattr__(self, attr: str):
        if self._module is None:
            with self._lock:
                if self._module is None:
                    self._module = importlib.import_module(self._name)
        return getattr(self._module, attr)


hg = _Lazy("higra")


def labels_at(ucm: np.ndarray, threshold: float) -> np.ndarray:
    """Regions of a doubleSize UCM at ``threshold`` (int32, 1..n, numbered in raster order).

    This is the BSDS rule ``label(ucm <= t, connectivity=2)[1::2, 1::2]``; the
    threshold is compared in float32 and clipped to [0, 1].
    """
    from skimage.measure import label

    ucm = np.asarray(ucm)
    if ucm.ndim == 3:
        from .hierarchy_volume import volume_labels_at

        return volume_labels_at(ucm, threshold)
    if ucm.ndim != 2 or ucm.shape[0] % 2 == 0 or ucm.shape[1] % 2 == 0 or min(ucm.shape) < 3:
        raise InputError(f"a UCM must be a 2D array of odd sizes (2H+1, 2W+1); got shape {ucm.shape}")
    t = np.float32(min(max(float(threshold), 0.0), 1.0))
    return label(ucm.astype(np.float32, copy=False) <= t, connectivity=2)[1::2, 1::2].astype(np.int32)


def monotone(tree: hg.Tree, altitudes: np.ndarray) -> np.ndarray:
    """Raise each node to at least the altitude of its children (leaves at 0)."""
    leaves = np.zeros(tree.num_leaves(), altitudes.dtype)
    return hg.accumulate_and_max_sequential(tree, altitudes, leaves, hg.Accumulators.max)


def tree_cut_leaves(tree: hg.Tree, altitudes: np.ndarray, threshold: float) -> tuple[np.ndarray, int]:
    """Cut a tree with non-decreasing float32 altitudes: leaf -> region (0..n-1), n.

    Two leaves share a region when their lowest common ancestor has altitude
    <= ``threshold`` (compared in float32). Regions are numbered in leaf order.
    """
    t = np.float32(threshold)
    parents = tree.parents()
    merge = altitudes[parents] <= t
    nodes = hg.propagate_sequential(tree, np.arange(tree.num_vertices(), dtype=np.int64), merge)
    return number_by_first(nodes[: tree.num_leaves()], tree.num_vertices())


def number_by_first(values: np.ndarray, n_values: int) -> tuple[np.ndarray, int]:
    """Renumber ``values`` 0..n-1 in order of first appearance."""
    size = len(values)
    first = np.full(n_values, size, np.int64)
    np.minimum.at(first, values, np.arange(size))
    mark = np.zeros(size + 1, np.int64)
    mark[first[first < size]] = 1
    rank = np.cumsum(mark) - 1
    return rank[first[values]], int(mark[:size].sum())


def ucm_is_consistent(ucm: np.ndarray, pixel_max: float = 0.0) -> bool:
    """Whether 4-connected cuts of the UCM edges equal :func:`labels_at`.

    True when every corner holds at least the maximum of its incident interior edges and
    every pixel element is at most ``pixel_max``.
    """
    ucm = np.asarray(ucm, np.float32)
    if ucm[1::2, 1::2].max() > np.float32(pixel_max):
        return False
    padded = np.pad(ucm, 1, constant_values=-np.inf)
    # interior edge elements: odd rows at even interior columns, even interior rows at odd columns
    edges = np.full_like(padded, -np.inf)
    edges[2:-2:2, 3:-3:2] = padded[2:-2:2, 3:-3:2]
    edges[3:-3:2, 2:-2:2] = padded[3:-3:2, 2:-2:2]
    corners = padded[1:-1:2, 1:-1:2]
    up = edges[0:-2:2, 1:-1:2]
    down = edges[2::2, 1:-1:2]
    left = edges[1:-1:2, 0:-2:2]
    right = edges[1:-1:2, 2::2]
    need = np.maximum(np.maximum(up, down), np.maximum(left, right))
    return bool(np.all(corners >= need))


def _ucm_edge_weights(ucm: np.ndarray, graph) -> np.ndarray:
    from .hierarchy_volume import edge_positions

    shape = tuple((n - 1) // 2 for n in ucm.shape)
    src, dst = graph.edge_list()
    return np.ascontiguousarray(ucm[edge_positions(src, dst, shape)], np.float32)


def grid_graph(shape: tuple[int, ...]):
    """The 4-adjacency pixel graph of an image, the 6-adjacency voxel graph of a volume.

    An image's is kept for the next call with its shape (a rerun: at 1024x1024 making it
    takes 0.17 s, during which higra holds the GIL and a GUI thread waits; it holds 120 MB).
    """
    shape = tuple(int(n) for n in shape)
    return _image_graph(shape) if len(shape) == 2 else hg.get_6_adjacency_graph(shape)


@functools.lru_cache(maxsize=1)
def _image_graph(shape: tuple[int, int]):
    return hg.get_4_adjacency_graph(shape)


def ucm_to_tree(ucm: np.ndarray, base_threshold: float = 0.0, check: bool = True):
    """Single-linkage tree of a UCM's regions above ``base_threshold``.

    Returns ``(leaf_map, tree, altitudes, rag)``: ``leaf_map`` (H, W) holds the region
    index (0..n-1) of every pixel at ``base_threshold``; cutting ``(tree, altitudes)`` at
    any t >= base_threshold gives :func:`labels_at` ``(ucm, t)`` when
    :func:`ucm_is_consistent` holds. With ``check`` an inconsistent UCM raises ValueError.
    """
    ucm = np.asarray(ucm, np.float32)
    if ucm.ndim not in (2, 3) or any(n % 2 == 0 or n < 3 for n in ucm.shape):
        raise InputError(f"a UCM must be a 2D or 3D array of odd sizes (2H+1, 2W+1); got shape {ucm.shape}")
    if check and ucm.ndim == 2 and not ucm_is_consistent(ucm, base_threshold):
        raise ValueError("the UCM's corners or pixel elements do not follow the doubleSize layout")
    shape = tuple((n - 1) // 2 for n in ucm.shape)
    graph = grid_graph(shape)
    weights = _ucm_edge_weights(ucm, graph)
    base = weights <= np.float32(base_threshold)
    src, dst = graph.edge_list()
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n_pix = int(np.prod(shape))
    adjacency = coo_matrix((np.ones(int(base.sum()), np.int8), (src[base], dst[base])), shape=(n_pix, n_pix))
    _, comp = connected_components(adjacency, directed=False)
    rag = hg.make_region_adjacency_graph_from_labelisation(graph, comp.reshape(shape))
    rag_weights = hg.rag_accumulate_on_edges(rag, hg.Accumulators.min, weights).astype(np.float32)
    tree, altitudes = hg.bpt_canonical(rag, rag_weights)
    leaf_map = rag.vertex_map.reshape(shape).astype(np.int32)
    return leaf_map, tree, np.asarray(altitudes, np.float32), rag
