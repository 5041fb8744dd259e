"""The numpy pixel graph gives what higra's calls give (core.pixel_graph)."""

from __future__ import annotations

import numpy as np
import pytest

hg = pytest.importorskip("higra")

from napari_unsup_seg.core import pixel_graph  # noqa: E402
from napari_unsup_seg.core.boundaries import _EdgeMaps  # noqa: E402

SHAPES = [(1, 1), (1, 7), (7, 1), (5, 6), (40, 31)]


def _labels(rng, shape, values):
    return rng.integers(0, values, size=shape)


def _pairs(rag) -> np.ndarray:
    """(smaller, larger) region pair of every pixel edge, (-1, -1) inside a region."""
    src, dst = rag.edge_list()
    ends = np.stack([np.minimum(src, dst), np.maximum(src, dst)], 1)
    out = np.full((len(rag.edge_map), 2), -1, np.int64)
    inside = rag.edge_map < 0
    out[~inside] = ends[rag.edge_map[~inside]]
    return out


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("values", [1, 2, 3, 40])
def test_region_adjacency_has_higras_regions_and_edges(shape, values):
    labels = _labels(np.random.default_rng(values), shape, values)
    ours = pixel_graph.region_adjacency(labels)
    ref = hg.make_region_adjacency_graph_from_labelisation(hg.get_4_adjacency_graph(shape), labels)
    assert ours.num_vertices() == ref.num_vertices()
    assert np.array_equal(ours.vertex_map, ref.vertex_map)
    assert np.array_equal(_pairs(ours), _pairs(ref))
    src, dst = ours.edge_list()
    assert np.all(src < dst)
    assert np.all(np.diff(dst * ours.num_vertices() + src) > 0)  # sorted by the larger region, then the smaller


def test_rag_edge_weights_and_saliency_match_higras():
    rng = np.random.default_rng(0)
    shape = (30, 40)
    labels = _labels(rng, shape, 6)
    graph = hg.get_4_adjacency_graph(shape)
    ours = pixel_graph.region_adjacency(labels)
    ref = hg.make_region_adjacency_graph_from_labelisation(graph, labels)
    weights = rng.random(graph.num_edges()).astype(np.float32)
    mean_ours = hg.rag_accumulate_on_edges(ours, hg.Accumulators.mean, weights)
    mean_ref = hg.rag_accumulate_on_edges(ref, hg.Accumulators.mean, weights)
    key = {pair: i for i, pair in enumerate(zip(*ref.edge_list()))}
    order = [key[pair] for pair in zip(*ours.edge_list())]
    assert np.array_equal(mean_ours, mean_ref[order])
    tree, alt = hg.bpt_canonical(ours, mean_ours)
    tree_ref, alt_ref = hg.bpt_canonical(ref, mean_ref)
    assert np.array_equal(hg.saliency(tree, alt, ours), hg.saliency(tree_ref, alt_ref, ref))


@pytest.mark.parametrize("shape", [s for s in SHAPES if min(s) > 1])
def test_khalimsky_is_higras(shape):
    graph = hg.get_4_adjacency_graph(shape)
    weights = np.random.default_rng(1).random(graph.num_edges()).astype(np.float32)
    ref = hg.graph_4_adjacency_2_khalimsky(graph, weights, shape, True)
    out = pixel_graph.khalimsky(weights, shape)
    assert out.dtype == np.float32 and np.array_equal(out, ref)


@pytest.mark.parametrize("shape", SHAPES)
def test_edge_values_follow_higras_edge_order(shape):
    height, width = shape
    horizontal = np.arange(height * (width - 1), dtype=float).reshape(height, width - 1)
    vertical = 1000 + np.arange((height - 1) * width, dtype=float).reshape(height - 1, width)
    values = pixel_graph.edge_values(horizontal, vertical)
    src, dst = hg.get_4_adjacency_graph(shape).edge_list()
    assert len(values) == len(src) == pixel_graph.num_edges(shape)
    right = (dst == src + 1) & (width > 1)  # one column: every edge goes down
    assert np.array_equal(values[right], horizontal.ravel()[(src // width * (width - 1) + src % width)[right]])
    assert np.array_equal(values[~right], vertical.ravel()[src[~right]])
    if width > 1:  # higra's own graph gives the same order
        gathered = _EdgeMaps(hg.get_4_adjacency_graph(shape), shape).gather(horizontal, vertical)
        assert np.array_equal(gathered, values)


def test_hierarchy_is_the_same_with_higras_rag(monkeypatch):
    """Without ties between edge weights the order of the RAG's edges changes nothing."""
    from napari_unsup_seg.core import hierarchy

    rng = np.random.default_rng(2)
    image = rng.random((3, 48, 64)).astype(np.float32)
    labels = rng.integers(0, 30, size=(48, 64))
    scribbles = np.zeros((48, 64), np.int64)
    scribbles[5, 5:20], scribbles[40, 30:60] = 1, 2
    ours = hierarchy.build_hierarchy(image, labels, scribbles=scribbles)
    monkeypatch.setattr(
        pixel_graph,
        "region_adjacency",
        lambda labels: hg.make_region_adjacency_graph_from_labelisation(hg.get_4_adjacency_graph(labels.shape), labels),
    )
    ref = hierarchy.build_hierarchy(image, labels, scribbles=scribbles)
    assert np.array_equal(ours.tree.parents(), ref.tree.parents())
    assert ours.ucm.tobytes() == ref.ucm.tobytes()
