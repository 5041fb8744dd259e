"""BSDS500 region benchmark: segmenter -> (dense CRF) -> UCM -> SC / PRI / VI at ODS and OIS.

Examples (from the repository root)::

    python benchmarks/bench_bsds_ucm.py --method cluster --n-images 30
    python benchmarks/bench_bsds_ucm.py --method slic --n-images 30 --set method=area --set scale=200
    python benchmarks/bench_bsds_ucm.py --method cluster --n-images 30 --candidates

Segmenters are pluggable: add a function to :data:`SEGMENTERS` that takes a float32
(C, H, W) image and the parsed arguments and returns ``(over_segmentation, soft or None)``.
``--cache DIR`` stores each segmenter output so that other hierarchy settings can be
scored without running the segmenter again. ``--candidates`` scores the boundary-strength
candidates of ``docs/ucm.md`` in one go.

The data is read from ``$NAPARI_UNSUP_SEG_BSDS`` or ``../shared/data/bsds500`` (next to
the repository); images are taken in sorted id order.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import fields, replace
from pathlib import Path

import numpy as np

from napari_unsup_seg.core.evaluate import format_table, load_bsds_gt
from napari_unsup_seg.core.hierarchy import HierarchyParams, build_hierarchy
from napari_unsup_seg.core.image import load_image
from napari_unsup_seg.core.metrics import evaluate_ucms

# gPb-owt-ucm on the BSDS500 test split (Arbelaez et al., PAMI 2011, Table 2).
GPB_REFERENCE = {"SC_ODS": 0.59, "SC_OIS": 0.65, "PRI_ODS": 0.83, "PRI_OIS": 0.86, "VI_ODS": 1.69, "VI_OIS": 1.48}


def bsds_root() -> Path:
    env = os.environ.get("NAPARI_UNSUP_SEG_BSDS")
    root = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data" / "bsds500"
    if not (root / "val" / "images").is_dir():
        sys.exit(f"BSDS500 not found at {root} (set NAPARI_UNSUP_SEG_BSDS)")
    return root


# ----------------------------------------------------------------------------------------
# Segmenters: image (C, H, W) -> (over-segmentation (H, W) int, soft (L, H, W) or None)


def _cluster(image: np.ndarray, args) -> tuple[np.ndarray, np.ndarray | None]:
    from napari_unsup_seg.core.cluster import ClusterParams, fit
    from napari_unsup_seg.core.progress import drain

    params = ClusterParams(time_budget=args.time_budget)
    result = drain(fit(image, None, params, device=args.device, seed=0))
    return result.clusters, result.soft


_WNET_MODELS: dict = {}


def _wnet(image: np.ndarray, args) -> tuple[np.ndarray, np.ndarray]:
    from napari_unsup_seg.core.wnet import WNetParams, labels_from_soft, load_model, predict_soft

    key = args.weights or "shipped"
    if key not in _WNET_MODELS:
        _WNET_MODELS[key] = load_model(args.weights, device=args.device)
    soft = predict_soft(_WNET_MODELS[key], image, WNetParams(weights=args.weights), device=args.device)
    return labels_from_soft(soft), soft


def _slic(image: np.ndarray, args) -> tuple[np.ndarray, None]:
    from skimage.segmentation import slic

    hwc = np.moveaxis(image, 0, -1)
    return slic(hwc, n_segments=args.n_segments, compactness=10, start_label=1, channel_axis=-1), None


def _felzenszwalb(image: np.ndarray, args) -> tuple[np.ndarray, None]:
    from skimage.segmentation import felzenszwalb

    return felzenszwalb(np.moveaxis(image, 0, -1), scale=100, sigma=0.8, min_size=20, channel_axis=-1), None


def _pixels(image: np.ndarray, args) -> tuple[np.ndarray, None]:
    h, w = image.shape[1:]
    return np.arange(h * w).reshape(h, w), None


SEGMENTERS: dict[str, Callable] = {
    "cluster": _cluster,
    "wnet": _wnet,
    "slic": _slic,
    "felzenszwalb": _felzenszwalb,
    "pixels": _pixels,
}

# Boundary-strength candidates compared in docs/ucm.md: overrides of the HierarchyParams defaults.
CANDIDATES: dict[str, dict] = {
    "defaults": {},
    "mean: pixel colour only": dict(scales=(0,), region_weight=0.0, soft_weight=0.0),
    "mean: pixel colour + soft": dict(scales=(0,), region_weight=0.0),
    "mean: box colour + soft": dict(region_weight=0.0),
    "mean: defaults, region_weight 1": dict(region_weight=1.0),
    "mean: defaults, no soft": dict(soft_weight=0.0),
    "mean: defaults + min_size 0.002": dict(min_size=0.002),
    "mean: defaults, normalize max": dict(normalize="max"),
    "mean: defaults, normalize rank": dict(normalize="rank"),
    "single linkage": dict(method="single"),
    "ward (region colour)": dict(method="ward", scale=50.0),
    "watershed by area": dict(method="area", scale=5000.0),
    "watershed by volume": dict(method="volume", scale=2000.0),
}


def segment_cached(image_id: str, image: np.ndarray, args) -> tuple[np.ndarray, np.ndarray | None, float]:
    """Run (or load) the segmenter, then the optional CRF; return (overseg, soft, seconds).

    The cache holds the segmenter's raw output; the CRF always runs (its time is added).
    With the CRF the over-segmentation is the argmax of the refined soft output, or the
    segmenter's own with ``--leaves segmenter``.
    """
    cache = None
    if args.cache:
        tag = args.method + (f"_{args.n_segments}" if args.method == "slic" else "")
        cache = Path(args.cache) / tag / f"{image_id}.npz"
    if cache is not None and cache.exists():
        with np.load(cache) as data:
            overseg, seconds = data["overseg"], float(data["seconds"])
            soft = data["soft"].astype(np.float32) if "soft" in data else None
    else:
        start = time.perf_counter()
        overseg, soft = SEGMENTERS[args.method](image, args)
        seconds = time.perf_counter() - start
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            extra = {} if soft is None else {"soft": soft.astype(np.float16)}
            np.savez_compressed(cache, overseg=np.asarray(overseg, np.int32), seconds=seconds, **extra)
    if args.crf and soft is not None and soft.shape[0] > 1:
        from napari_unsup_seg.core.crf import refine

        start = time.perf_counter()
        soft = refine(image, soft, args.crf_params)
        if args.leaves == "argmax":
            overseg = np.argmax(soft, axis=0)
        seconds += time.perf_counter() - start
    return overseg, soft, seconds


def parse_set(pairs: list[str], cls=HierarchyParams) -> dict:
    types = {f.name: f.type for f in fields(cls)}
    out = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        if key not in types:
            sys.exit(f"--set {pair}: unknown field; use one of {', '.join(types)}")
        kind = str(types[key])
        if "tuple" in kind:
            out[key] = tuple(int(v) for v in value.split(","))
        elif kind == "int":
            out[key] = int(value)
        else:
            out[key] = value if kind == "str" else float(value)
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--method", default="cluster", choices=sorted(SEGMENTERS))
    p.add_argument("--n-images", type=int, default=30)
    p.add_argument("--split", default="val")
    p.add_argument("--crf", action=argparse.BooleanOptionalAction, default=False)
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="HierarchyParams override")
    p.add_argument(
        "--leaves",
        default="argmax",
        choices=("argmax", "segmenter"),
        help="with --crf: over-segmentation = CRF argmax, or the segmenter's own",
    )
    p.add_argument("--crf-set", action="append", default=[], metavar="FIELD=VALUE", help="CRFParams override")
    p.add_argument("--candidates", action="store_true", help="score every boundary-strength candidate")
    p.add_argument("--cache", default=None, help="folder for segmenter outputs")
    p.add_argument("--time-budget", type=float, default=20.0, help="seconds per image for the cluster segmenter")
    p.add_argument("--weights", default=None, help="W-Net weights file (default: the shipped weights)")
    p.add_argument("--n-segments", type=int, default=600, help="SLIC superpixels")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    from napari_unsup_seg.core.crf import CRFParams

    args.crf_params = CRFParams(**parse_set(args.crf_set, CRFParams))

    import torch

    torch.set_num_threads(args.threads)
    root = bsds_root()
    ids = sorted(q.stem for q in (root / args.split / "images").glob("*.jpg"))[: args.n_images]
    if args.candidates:
        configs = {name: replace(HierarchyParams(), **kw) for name, kw in CANDIDATES.items()}
    else:
        configs = {"chosen": replace(HierarchyParams(), **parse_set(args.set))}
    ucms: dict[str, list] = {name: [] for name in configs}
    gts, seg_time, ucm_time = [], [], {name: 0.0 for name in configs}
    for i, image_id in enumerate(ids):
        image = load_image(root / args.split / "images" / f"{image_id}.jpg")
        gts.append(load_bsds_gt(root / args.split / "gt" / f"{image_id}.npz"))
        overseg, soft, seconds = segment_cached(image_id, image, args)
        seg_time.append(seconds)
        for name, params in configs.items():
            start = time.perf_counter()
            ucms[name].append(build_hierarchy(image, overseg, soft, params).ucm)
            ucm_time[name] += time.perf_counter() - start
        print(f"[{i + 1}/{len(ids)}] {image_id}: segmenter {seconds:.1f} s", file=sys.stderr, flush=True)

    print(
        f"BSDS500 {args.split}, first {len(ids)} images, segmenter {args.method}"
        f"{f' + CRF {args.crf_params}' if args.crf else ''}, mean segmenter time {np.mean(seg_time):.1f} s/image\n"
    )
    for name, params in configs.items():
        start = time.perf_counter()
        scores = evaluate_ucms(ucms[name], gts)
        eval_s = time.perf_counter() - start
        print(f"## {name}: {params}")
        print(format_table(scores, reference=GPB_REFERENCE, reference_name="gPb-owt-ucm (test)"))
        print(f"UCM {ucm_time[name] / len(ids):.2f} s/image, scoring {eval_s:.1f} s in all\n")


if __name__ == "__main__":
    main()
