"""Where the W-Net pipeline loses quality on BSDS500: each stage scored, with baselines, in one run.

Example (from the repository root; ``--cache`` keeps the W-Net and CRF outputs and the per-image
contour counts, so a second run only scores what changed; clear it after changing a map)::

    OMP_NUM_THREADS=1 python benchmarks/bench_bsds_quality.py --split val --n-images 100 \\
        --cache /tmp/bsds_quality_cache --threads 1 --plot docs/benchmarks/bsds_contours_pr.png

Regions (SC / PRI / VI at ODS and OIS, :func:`core.metrics.evaluate_ucms`):

- ``W-Net argmax``: the encoder's flat segmentation, class labels as they are (a class may
  cover several distant areas) and as 4-connected components (the hierarchy's leaves);
- ``W-Net -> CRF argmax``: after the dense CRF (defaults), likewise;
- ``W-Net -> CRF -> UCM``: the shipped hierarchy (``HierarchyParams()`` on the CRF argmax,
  with the CRF soft output in the boundary strength), as in ``bench_bsds_ucm.py --crf``;
- ``Felzenszwalb``: skimage, flat, a sweep of ``--fz-scales`` (ODS: the best scale for the set,
  OIS: the best per image);
- ``watershed by area``: higra's watershed hierarchy by area on the 4-adjacency pixel graph
  weighted by the Sobel colour gradient (CIE Lab after a Gaussian blur of 1 px, the larger
  of the two pixels' magnitudes); altitudes mapped to [0, 1] by log(1 + area) / log(1 + H W).

Contours (boundary P / R / F at ODS and OIS, :func:`core.contours.evaluate_contours`,
tolerance 0.0075 of the diagonal, distance-transform matching; see that module for how it
differs from the BSDS bipartite matching):

- ``UCM boundary strength``: the pixel-edge weights the shipped hierarchy merges on
  (:func:`core.boundaries.edge_weights` with the CRF soft output), read at pixel corners and
  mapped by w / (w + 1) (the hierarchy's own normalisation); also its colour and soft terms alone;
- ``W-Net -> CRF -> UCM`` and ``watershed by area``: the UCMs read as contours (``ucm[2::2, 2::2]``);
- ``Sobel colour gradient``: the magnitude g above, mapped by g / (g + 10).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_bsds_ucm import bsds_root  # noqa: E402

from napari_unsup_seg.core.boundaries import colour_features, edge_weights  # noqa: E402
from napari_unsup_seg.core.contours import (  # noqa: E402
    boundary_counts,
    contour_thresholds,
    edge_contour_map,
    summarise_contours,
)
from napari_unsup_seg.core.evaluate import load_bsds_gt  # noqa: E402
from napari_unsup_seg.core.hierarchy import HierarchyParams, build_hierarchy  # noqa: E402
from napari_unsup_seg.core.image import load_image  # noqa: E402
from napari_unsup_seg.core.metrics import (  # noqa: E402
    evaluate_ucms,
    probabilistic_rand_index,
    segmentation_covering,
    variation_of_information,
)
from napari_unsup_seg.core.ucm import grid_graph, hg  # noqa: E402

# ----------------------------------------------------------------------------------------
# Stage outputs


class WNetStages:
    """W-Net soft output and its CRF refinement of one image, cached as float16 npz."""

    def __init__(self, cache: str | None, weights: str | None):
        self.cache = Path(cache) if cache else None
        self.weights = weights
        self._model = None
        self.seconds = {"W-Net": 0.0, "CRF": 0.0}

    def _run_wnet(self, image):
        from napari_unsup_seg.core.wnet import WNetParams, load_model, predict_soft

        if self._model is None:
            self._model = load_model(self.weights)
        return predict_soft(self._model, image, WNetParams(weights=self.weights))

    def __call__(self, image_id: str, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from napari_unsup_seg.core.crf import refine

        path = (
            self.cache / f"wnet_{self.weights or 'shipped'}".replace("/", "_") / f"{image_id}.npz"
            if self.cache
            else None
        )
        if path is not None and path.exists():
            with np.load(path) as data:
                return data["soft"].astype(np.float32), data["crf"].astype(np.float32)
        start = time.perf_counter()
        soft = self._run_wnet(image)
        mid = time.perf_counter()
        crf = refine(image, soft)
        self.seconds["W-Net"] += mid - start
        self.seconds["CRF"] += time.perf_counter() - mid
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.savez_compressed(path, soft=soft.astype(np.float16), crf=crf.astype(np.float16))
        return soft, crf


def sobel_gradient(image: np.ndarray) -> np.ndarray:
    """(H, W) Sobel gradient magnitude of the CIE Lab image after a 1-pixel Gaussian blur."""
    from skimage.filters import sobel

    feats = colour_features(image, 1.0)
    return np.sqrt(sum(sobel(feats[..., c]) ** 2 for c in range(feats.shape[-1]))).astype(np.float32)


def watershed_area_ucm(gradient: np.ndarray) -> np.ndarray:
    """doubleSize UCM of the watershed hierarchy by area of a gradient on the 4-adjacency graph."""
    shape = gradient.shape
    graph = grid_graph(shape)
    src, dst = graph.edge_list()
    flat = gradient.ravel()
    weights = np.maximum(flat[src], flat[dst]).astype(np.float64)
    tree, altitudes = hg.watershed_hierarchy_by_area(graph, weights)
    altitudes = np.log1p(np.asarray(altitudes, np.float64)) / np.log1p(flat.size)
    saliency = hg.saliency(tree, altitudes)
    return np.ascontiguousarray(hg.graph_4_adjacency_2_khalimsky(graph, saliency.astype(np.float32), shape, True))


def boundary_strength_map(image, soft, params: HierarchyParams) -> np.ndarray:
    """Pixel-corner map of the hierarchy's edge weights, mapped by w / (w + 1)."""
    shape = image.shape[1:]
    graph = grid_graph(shape)
    src, dst = graph.edge_list()
    weights = edge_weights(image, graph, soft, params)
    pb = edge_contour_map(src, dst, weights, shape)
    return pb / (pb + np.float32(1.0))


def cached_counts(cache: str | None, name: str, image_id: str, thresholds: np.ndarray, compute: Callable) -> np.ndarray:
    """Boundary counts of one contour map of one image, kept in the cache folder (the slow part)."""
    if not cache:
        return compute()
    key = "".join(c if c.isalnum() else "_" for c in name.strip())
    path = Path(cache) / f"contours_{len(thresholds)}" / key / f"{image_id}.npy"
    if path.exists():
        return np.load(path)
    counts = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, counts)
    return counts


def felzenszwalb(image: np.ndarray, scale: float) -> np.ndarray:
    from skimage.segmentation import felzenszwalb as fz

    return fz(np.moveaxis(image, 0, -1), scale=scale, sigma=0.8, min_size=20, channel_axis=-1)


def components(labels: np.ndarray) -> np.ndarray:
    from skimage.measure import label

    return label(labels + 1, connectivity=1, background=0)


# ----------------------------------------------------------------------------------------
# Scoring


class FlatScores:
    """Per-image SC counts, PRI and VI of flat segmentations, for several settings (ODS/OIS)."""

    def __init__(self):
        self.rows: dict[str, list[tuple[float, float, float, float]]] = {}

    def add(self, name: str, setting, seg: np.ndarray, gts: list[np.ndarray]) -> None:
        total = float(sum(g.size for g in gts))
        row = (
            segmentation_covering(seg, gts) * total,
            total,
            probabilistic_rand_index(seg, gts),
            variation_of_information(seg, gts),
        )
        self.rows.setdefault((name, setting), []).append(row)

    def summary(self, name: str) -> dict:
        settings = [s for (n, s) in self.rows if n == name]
        arr = np.array([self.rows[(name, s)] for s in settings])  # (S, N, 4)
        cov, total, ri, vi = arr[..., 0], arr[..., 1], arr[..., 2], arr[..., 3]
        sc = cov.sum(1) / total[0].sum()
        k_sc, k_pri, k_vi = int(np.argmax(sc)), int(np.argmax(ri.mean(1))), int(np.argmin(vi.mean(1)))
        return {
            "SC_ODS": float(sc[k_sc]),
            "SC_OIS": float(cov.max(0).sum() / total[0].sum()),
            "PRI_ODS": float(ri.mean(1)[k_pri]),
            "PRI_OIS": float(ri.max(0).mean()),
            "VI_ODS": float(vi.mean(1)[k_vi]),
            "VI_OIS": float(vi.min(0).mean()),
            "best": f"{settings[k_sc]} / {settings[k_pri]} / {settings[k_vi]}" if len(settings) > 1 else "",
            "n_images": arr.shape[1],
        }


def print_region_table(region: dict) -> None:
    """Print the SC / PRI / VI table of ``{name: evaluate_ucms summary}``."""
    print("| regions | SC | PRI | VI | note |\n|---|---|---|---|---|")
    for name, s in region.items():
        note = f"best scale (SC / PRI / VI): {s['best']}" if s.get("best") else ""
        if "SC_ODS_threshold" in s:
            note = f"ODS thresholds {s['SC_ODS_threshold']:.2f} / {s['PRI_ODS_threshold']:.2f} / {s['VI_ODS_threshold']:.2f}"
        print(region_row(name, s, note))


def region_row(name: str, s: dict, note: str = "") -> str:
    return (
        f"| {name} | {s['SC_ODS']:.3f} / {s['SC_OIS']:.3f} | {s['PRI_ODS']:.3f} / {s['PRI_OIS']:.3f} "
        f"| {s['VI_ODS']:.3f} / {s['VI_OIS']:.3f} | {note} |"
    )


def contour_row(name: str, s: dict) -> str:
    return (
        f"| {name} | {s['F_ODS']:.3f} | {s['P_ODS']:.3f} | {s['R_ODS']:.3f} | {s['F_OIS']:.3f} "
        f"| {s['ODS_threshold']:.2f} |"
    )


def plot_pr(curves: dict[str, dict], path: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 5))
    for name, s in curves.items():
        keep = s["precision"] > 0
        ax.plot(s["recall"][keep], s["precision"][keep], label=f"{name} (F {s['F_ODS']:.3f})")
        ax.plot([s["R_ODS"]], [s["P_ODS"]], "o", color=ax.lines[-1].get_color())
    for f in (0.3, 0.5, 0.7):
        r = np.linspace(f / 2 + 1e-3, 1, 100)
        ax.plot(r, f * r / (2 * r - f), color="0.85", lw=0.8, zorder=0)
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="recall", ylabel="precision", title=title)
    ax.legend(loc="lower left", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


# ----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--split", default="val", choices=("train", "val"))
    p.add_argument("--n-images", type=int, default=100)
    p.add_argument("--cache", default=None, help="folder for the W-Net and CRF outputs")
    p.add_argument("--weights", default=None, help="W-Net weights file (default: the shipped weights)")
    p.add_argument("--fz-scales", default="100,300,500,1000,2000,4000", help="Felzenszwalb scale sweep")
    p.add_argument("--contour-thresholds", type=int, default=33)
    p.add_argument("--plot", default=None, help="write the precision-recall plot of the contours here")
    p.add_argument("--json", default=None, help="write all scores here")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    wall = time.perf_counter()
    root = bsds_root()
    ids = sorted(q.stem for q in (root / args.split / "images").glob("*.jpg"))[: args.n_images]
    stages = WNetStages(args.cache, args.weights)
    params = HierarchyParams()
    thresholds = contour_thresholds(args.contour_thresholds)
    flat = FlatScores()
    ucms: dict[str, list] = {"W-Net -> CRF -> UCM": [], "watershed by area": []}
    contours: dict[str, list] = {}
    seconds: dict[str, float] = {}

    def timed(key: str, fn: Callable, *a):
        start = time.perf_counter()
        out = fn(*a)
        seconds[key] = seconds.get(key, 0.0) + time.perf_counter() - start
        return out

    gts_all = []
    for i, image_id in enumerate(ids):
        image = load_image(root / args.split / "images" / f"{image_id}.jpg")
        gts = load_bsds_gt(root / args.split / "gt" / f"{image_id}.npz")
        gts_all.append(gts)
        soft, crf = stages(image_id, image)
        wnet_labels, crf_labels = np.argmax(soft, 0), np.argmax(crf, 0)
        flat.add("W-Net argmax (classes)", "", wnet_labels, gts)
        flat.add("W-Net argmax (connected components)", "", components(wnet_labels), gts)
        flat.add("W-Net -> CRF argmax (classes)", "", crf_labels, gts)
        flat.add("W-Net -> CRF argmax (connected components)", "", components(crf_labels), gts)
        for scale in args.fz_scales.split(","):
            flat.add("Felzenszwalb", f"scale {scale}", timed("Felzenszwalb", felzenszwalb, image, float(scale)), gts)
        ucm = timed("UCM (shipped)", lambda: build_hierarchy(image, crf_labels, crf, params).ucm)
        gradient = timed("Sobel", sobel_gradient, image)
        ws_ucm = timed("watershed by area", watershed_area_ucm, gradient)
        ucms["W-Net -> CRF -> UCM"].append(ucm.astype(np.float16))
        ucms["watershed by area"].append(ws_ucm.astype(np.float16))
        maps = {
            "UCM boundary strength (shipped: colour + CRF soft)": boundary_strength_map(image, crf, params),
            "  its colour term alone": boundary_strength_map(image, None, params),
            "  its CRF-soft term alone": boundary_strength_map(image, crf, HierarchyParams(color_weight=0.0)),
            "W-Net -> CRF -> UCM, read as contours": ucm[2::2, 2::2],
            "watershed by area UCM, read as contours": ws_ucm[2::2, 2::2],
            "Sobel colour gradient": gradient / (gradient + np.float32(10.0)),
        }
        for name, pb in maps.items():
            contours.setdefault(name, []).append(
                cached_counts(
                    args.cache,
                    name,
                    image_id,
                    thresholds,
                    lambda: timed("contour scoring", boundary_counts, pb, gts, thresholds),
                )
            )
        print(f"[{i + 1}/{len(ids)}] {image_id}", file=sys.stderr, flush=True)

    region = {name: flat.summary(name) for name in dict.fromkeys(n for n, _ in flat.rows)}
    start = time.perf_counter()
    for name, maps in ucms.items():
        region[name] = evaluate_ucms(maps, gts_all)
    seconds["UCM scoring"] = time.perf_counter() - start
    contour = {name: summarise_contours(np.stack(c), thresholds) for name, c in contours.items()}
    seconds["W-Net"], seconds["CRF"] = stages.seconds["W-Net"], stages.seconds["CRF"]

    print(f"BSDS500 {args.split}, first {len(ids)} images; ODS / OIS\n")
    print_region_table(region)
    print(f"\n| contours ({args.contour_thresholds} thresholds) | F ODS | P | R | F OIS | ODS threshold |")
    print("|---|---|---|---|---|---|")
    for name, s in contour.items():
        print(contour_row(name, s))
    seconds["wall"] = time.perf_counter() - wall
    print(
        "\nseconds in all: "
        + ", ".join(f"{k} {v:.1f}" for k, v in seconds.items())
        + ("  (W-Net and CRF 0: read from the cache)" if stages.seconds["W-Net"] == 0 else "")
    )
    if args.plot:
        plot_pr(
            {k.strip(): v for k, v in contour.items()},
            args.plot,
            f"BSDS500 {args.split} ({len(ids)} images): boundaries",
        )
    if args.json:
        out = {
            "split": args.split,
            "n_images": len(ids),
            "regions": region,
            "seconds": seconds,
            "contours": {
                k: {m: (v.tolist() if isinstance(v, np.ndarray) else v) for m, v in s.items()}
                for k, s in contour.items()
            },
        }
        Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
