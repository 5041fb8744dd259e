"""Boundary signals for the W-Net hierarchy on BSDS500: each scored as contours and as a UCM.

Example (from the repository root; the cache is shared with ``bench_bsds_quality.py``)::

    OMP_NUM_THREADS=1 python benchmarks/bench_bsds_signals.py --split val --n-images 100 \\
        --fit-n 30 --cache /tmp/bsds_quality_cache --threads 1

Signals (per pixel edge of the 4-adjacency graph, >= 0):

- ``colour``: the shipped colour term (gated box Lab contrast at radii 1, 3, 6 / 10);
- ``CRF soft``: the shipped soft term, half the L1 difference of the CRF soft vectors;
- ``W-Net multi-scale``: the W-Net's raw soft class maps smoothed by Gaussians of ``--sigmas``
  pixels, half the L1 difference across the edge scaled by sqrt(2 pi) sigma (a clean change of
  class then gives about 1 at every scale), averaged over the scales;
- ``colour + b x W-Net multi-scale``: the weight b fitted on the first ``--fit-n`` **train**
  images (best hierarchy SC ODS over ``--betas``), never on val.

Hierarchies: mean-boundary (average linkage) merging with the shipped ``HierarchyParams``
otherwise, over two kinds of leaves: the CRF argmax (as shipped), or the watershed
superpixels of the signal itself (the oriented-watershed idea of gPb-owt-ucm without the
orientations: the leaves follow the contour signal, and each arc's strength is the mean of the
signal along it rather than a pixelwise max).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_bsds_quality import WNetStages, cached_counts, contour_row, region_row  # noqa: E402
from bench_bsds_ucm import bsds_root  # noqa: E402

from napari_unsup_seg.core.boundaries import _EdgeMaps, colour_features, edge_weights  # noqa: E402
from napari_unsup_seg.core.contours import (  # noqa: E402
    boundary_counts,
    contour_thresholds,
    edge_contour_map,
    summarise_contours,
)
from napari_unsup_seg.core.evaluate import load_bsds_gt  # noqa: E402
from napari_unsup_seg.core.hierarchy import Hierarchy, HierarchyParams  # noqa: E402
from napari_unsup_seg.core.hierarchy_merge import merge_tree, normalize_altitudes  # noqa: E402
from napari_unsup_seg.core.image import load_image  # noqa: E402
from napari_unsup_seg.core.metrics import evaluate_ucms  # noqa: E402
from napari_unsup_seg.core.ucm import grid_graph, hg  # noqa: E402

PARAMS = HierarchyParams()
# signals that bench_bsds_quality.py scores as contours too: the same cache entries
SAME_AS_QUALITY = {
    "colour": "  its colour term alone",
    "CRF soft": "  its CRF-soft term alone",
    "colour + CRF soft (shipped)": "UCM boundary strength (shipped: colour + CRF soft)",
}


def soft_multiscale(soft: np.ndarray, graph, sigmas: tuple[float, ...]) -> np.ndarray:
    """Edge weights: scale-normalised half-L1 difference of the Gaussian-smoothed soft maps."""
    from scipy.ndimage import gaussian_filter

    soft = np.asarray(soft, np.float32)
    shape = soft.shape[1:]
    horizontal = np.zeros((shape[0], shape[1] - 1), np.float32)
    vertical = np.zeros((shape[0] - 1, shape[1]), np.float32)
    for sigma in sigmas:
        smooth = gaussian_filter(soft, (0, sigma, sigma), mode="nearest")
        factor = np.float32(0.5 * np.sqrt(2 * np.pi) * sigma / len(sigmas))
        horizontal += factor * np.abs(smooth[:, :, 1:] - smooth[:, :, :-1]).sum(0)
        vertical += factor * np.abs(smooth[:, 1:] - smooth[:, :-1]).sum(0)
    return _EdgeMaps(graph, shape).gather(horizontal, vertical)


def signals(image, soft, crf, graph, sigmas, beta) -> dict[str, np.ndarray]:
    colour = edge_weights(image, graph, None, PARAMS)
    multi = soft_multiscale(soft, graph, sigmas)
    return {
        "colour": colour,
        "CRF soft": edge_weights(image, graph, crf, HierarchyParams(color_weight=0.0)),
        "colour + CRF soft (shipped)": edge_weights(image, graph, crf, PARAMS),
        "W-Net multi-scale": multi,
        f"colour + {beta:g} x W-Net multi-scale": colour + np.float32(beta) * multi,
    }


def hierarchy_ucm(image, feats, leaves: np.ndarray, weights: np.ndarray, graph) -> np.ndarray:
    """UCM of mean-boundary merging of ``leaves`` on pixel-edge ``weights`` (shipped params)."""
    rag = hg.make_region_adjacency_graph_from_labelisation(graph, leaves)
    leaf_map = rag.vertex_map.reshape(leaves.shape).astype(np.int32)
    tree, raw = merge_tree(rag, weights, feats, leaf_map, PARAMS)
    altitudes = normalize_altitudes(raw, tree.num_leaves(), PARAMS)
    return Hierarchy(tree, altitudes, leaf_map, rag=rag, graph=graph).ucm


def cached_ucm(cache: str | None, key: str, image_id: str, compute) -> np.ndarray:
    """float16 UCM of one hierarchy of one image, kept in the cache folder."""
    path = None
    if cache:
        name = "".join(c if c.isalnum() else "_" for c in key)
        path = Path(cache) / "signal_ucms" / name / f"{image_id}.npz"
        if path.exists():
            with np.load(path) as data:
                return data["ucm"]
    ucm = compute().astype(np.float16)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, ucm=ucm)
    return ucm


def watershed_leaves(weights: np.ndarray, graph, shape) -> np.ndarray:
    return np.asarray(hg.labelisation_watershed(graph, weights.astype(np.float32)), np.int64).reshape(shape)


def load(root, split, image_id, stages):
    image = load_image(root / split / "images" / f"{image_id}.jpg")
    gts = load_bsds_gt(root / split / "gt" / f"{image_id}.npz")
    soft, crf = stages(image_id, image)
    return image, gts, soft, crf


def fit_beta(root, ids, stages, sigmas, betas) -> tuple[float, dict]:
    """b of colour + b x W-Net multi-scale with the best SC ODS over train images (CRF leaves)."""
    ucms = {b: [] for b in betas}
    gts_all = []
    for image_id in ids:
        image, gts, soft, crf = load(root, "train", image_id, stages)
        gts_all.append(gts)
        shape = image.shape[1:]
        graph = grid_graph(shape)
        feats = colour_features(image, PARAMS.sigma)
        colour = edge_weights(image, graph, None, PARAMS, feats)
        multi = soft_multiscale(soft, graph, sigmas)
        leaves = np.argmax(crf, 0)
        for b in betas:
            ucms[b].append(
                hierarchy_ucm(image, feats, leaves, colour + np.float32(b) * multi, graph).astype(np.float16)
            )
        print(f"fit {image_id}", file=sys.stderr, flush=True)
    scores = {b: evaluate_ucms(u, gts_all) for b, u in ucms.items()}
    best = max(betas, key=lambda b: scores[b]["SC_ODS"])
    return best, scores


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--split", default="val", choices=("train", "val"))
    p.add_argument("--n-images", type=int, default=100)
    p.add_argument("--fit-n", type=int, default=30, help="train images for fitting b (0: use --beta)")
    p.add_argument("--betas", default="0.25,0.5,1,2,4")
    p.add_argument("--beta", type=float, default=1.0, help="b when --fit-n is 0")
    p.add_argument("--sigmas", default="1,2,4")
    p.add_argument("--cache", default=None)
    p.add_argument("--contour-thresholds", type=int, default=33)
    p.add_argument("--no-contours", action="store_true", help="skip the (slow) contour scoring")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    wall = time.perf_counter()
    root = bsds_root()
    stages = WNetStages(args.cache, None)
    sigmas = tuple(float(s) for s in args.sigmas.split(","))
    beta = args.beta
    if args.fit_n:
        train_ids = sorted(q.stem for q in (root / "train" / "images").glob("*.jpg"))[: args.fit_n]
        beta, fit = fit_beta(root, train_ids, stages, sigmas, [float(b) for b in args.betas.split(",")])
        print(f"fit on the first {len(train_ids)} train images (CRF leaves), SC / PRI / VI ODS:")
        for b, s in fit.items():
            print(f"  b {b:g}: {s['SC_ODS']:.3f} / {s['PRI_ODS']:.3f} / {s['VI_ODS']:.3f}")
        print(f"chosen b = {beta:g} (fit {time.perf_counter() - wall:.0f} s)\n")
    ids = sorted(q.stem for q in (root / args.split / "images").glob("*.jpg"))[: args.n_images]
    thresholds = contour_thresholds(args.contour_thresholds)
    ucms: dict[str, list] = {}
    counts: dict[str, list] = {}
    gts_all = []
    for i, image_id in enumerate(ids):
        image, gts, soft, crf = load(root, args.split, image_id, stages)
        gts_all.append(gts)
        shape = image.shape[1:]
        graph = grid_graph(shape)
        src, dst = graph.edge_list()
        feats = colour_features(image, PARAMS.sigma)
        crf_leaves = np.argmax(crf, 0)
        for name, weights in signals(image, soft, crf, graph, sigmas, beta).items():
            for leaf_name, leaves in (("CRF argmax", crf_leaves), ("watershed", None)):
                if leaves is None and name == "CRF soft":
                    continue  # its watershed basins are the CRF regions again
                if leaves is None:
                    leaves = watershed_leaves(weights, graph, shape)
                key = f"{name} | leaves: {leaf_name}"
                ucms.setdefault(key, []).append(
                    cached_ucm(args.cache, key, image_id, lambda: hierarchy_ucm(image, feats, leaves, weights, graph))
                )
            if not args.no_contours:
                pb = edge_contour_map(src, dst, weights, shape)
                pb = pb / (pb + np.float32(1.0))
                counts.setdefault(name, []).append(
                    cached_counts(
                        args.cache,
                        SAME_AS_QUALITY.get(name, "signal " + name),
                        image_id,
                        thresholds,
                        lambda: boundary_counts(pb, gts, thresholds),
                    )
                )
        print(f"[{i + 1}/{len(ids)}] {image_id}", file=sys.stderr, flush=True)

    print(f"BSDS500 {args.split}, first {len(ids)} images; ODS / OIS; b = {beta:g}, sigmas {sigmas}\n")
    print("| hierarchy (mean-boundary merging) | SC | PRI | VI | note |\n|---|---|---|---|---|")
    for key, maps in ucms.items():
        s = evaluate_ucms(maps, gts_all)
        print(
            region_row(
                key,
                s,
                f"ODS thresholds {s['SC_ODS_threshold']:.2f} / {s['PRI_ODS_threshold']:.2f} "
                f"/ {s['VI_ODS_threshold']:.2f}",
            ),
            flush=True,
        )
    if counts:
        print(
            f"\n| signal as contours ({len(thresholds)} thresholds, w / (w + 1)) | F ODS | P | R | F OIS "
            "| ODS threshold |\n|---|---|---|---|---|---|"
        )
        for name, c in counts.items():
            print(contour_row(name, summarise_contours(np.stack(c), thresholds)))
    print(f"\nwall {time.perf_counter() - wall:.0f} s")


if __name__ == "__main__":
    main()
