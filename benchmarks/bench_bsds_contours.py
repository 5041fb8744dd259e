"""Learned contours (``core.contour_net``) in the W-Net hierarchy on BSDS500, with baselines, in one run.

    OMP_NUM_THREADS=1 python benchmarks/bench_bsds_contours.py --n-images 100 \\
        --cache /tmp/bsds_quality_cache --plot docs/benchmarks/bsds_learned_contours_pr.png

W-Net (shipped weights) -> dense CRF as in ``bench_bsds_quality.py`` (same cache). Regions,
SC / PRI / VI at ODS / OIS:

- ``Felzenszwalb`` (flat, a sweep of scales) and ``watershed by area`` on the Sobel colour
  gradient (the naive colour-gradient hierarchy), as in ``bench_bsds_quality.py``;
- ``W-Net: shipped hierarchy``: ``HierarchyParams()`` on the CRF argmax (the previous default);
- ``W-Net alone``: the step-1 option, multi-scale CRF-soft boundaries on watershed leaves
  (``HierarchyParams(color_weight=0, soft_scales=(1, 2, 4), leaves="watershed")``);
- ``learned contours alone``: ``hierarchy.LEARNED_CONTOURS``, the contour probability on its
  own watershed leaves (the W-Net's output is then not used at all);
- ``W-Net + learned contours``: the same plus the W-Net's multi-scale soft boundaries with
  weight ``--wnet-weight`` (and the weights of ``--sweep``, when given).

Contours (boundary P / R / F, ODS / OIS, as in ``bench_bsds_quality.py``): the contour
probability and the Sobel gradient, both thinned by :func:`core.contours.suppress_non_maxima`
(as edge detectors are before the BSDS benchmark; it also makes the scoring 20 times faster),
and every hierarchy's UCM read as contours. The
contour network was fitted on the 200 train images only (``scripts/train_contours.py``).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_bsds_quality import (  # noqa: E402
    FlatScores,
    WNetStages,
    cached_counts,
    contour_row,
    felzenszwalb,
    plot_pr,
    print_region_table,
    sobel_gradient,
    watershed_area_ucm,
)
from bench_bsds_ucm import bsds_root  # noqa: E402

from napari_unsup_seg.core.contour_net import contour_probability, shipped_contour_weights  # noqa: E402
from napari_unsup_seg.core.contours import (  # noqa: E402
    boundary_counts,
    contour_thresholds,
    summarise_contours,
    suppress_non_maxima,
)
from napari_unsup_seg.core.evaluate import load_bsds_gt  # noqa: E402
from napari_unsup_seg.core.hierarchy import LEARNED_CONTOURS, HierarchyParams, build_hierarchy  # noqa: E402
from napari_unsup_seg.core.image import load_image  # noqa: E402
from napari_unsup_seg.core.metrics import evaluate_ucms  # noqa: E402

WNET_OPTION = HierarchyParams(color_weight=0.0, soft_scales=(1.0, 2.0, 4.0), leaves="watershed")


def variants(args) -> dict[str, HierarchyParams]:
    """Name -> hierarchy parameters of the rows (the CRF soft output is passed to all)."""
    contours = dataclasses.replace(LEARNED_CONTOURS, contour_net=args.contour_net)
    out = {
        "W-Net: shipped hierarchy": HierarchyParams(),
        "W-Net alone (soft scales, watershed leaves)": WNET_OPTION,
        "learned contours alone": contours,
    }
    for w in [args.wnet_weight, *args.sweep]:
        name = f"W-Net + learned contours (W-Net soft weight {w:g})"
        out[name] = dataclasses.replace(contours, soft_weight=w, soft_scales=WNET_OPTION.soft_scales)
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--split", default="val", choices=("train", "val"))
    p.add_argument("--n-images", type=int, default=100)
    p.add_argument("--cache", default=None, help="folder for the W-Net and CRF outputs and contour counts")
    p.add_argument("--contour-net", default=None, help="contour weights file (default: the shipped one)")
    p.add_argument("--wnet-weight", type=float, default=0.1, help="weight of the W-Net soft term with the contours")
    p.add_argument("--sweep", default="", help="more W-Net soft weights to score, comma-separated")
    p.add_argument("--fz-scales", default="100,300,500,1000,2000,4000")
    p.add_argument("--contour-thresholds", type=int, default=33)
    p.add_argument("--no-contours", action="store_true", help="score the regions only")
    p.add_argument("--plot", default=None)
    p.add_argument("--json", default=None)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    args.sweep = [float(w) for w in args.sweep.split(",") if w]
    import torch

    torch.set_num_threads(args.threads)
    wall = time.perf_counter()
    root = bsds_root() / args.split
    ids = sorted(q.stem for q in (root / "images").glob("*.jpg"))[: args.n_images]
    stages = WNetStages(args.cache, None)
    hierarchies = variants(args)
    thresholds = contour_thresholds(args.contour_thresholds)
    flat = FlatScores()
    ucms: dict[str, list] = {"watershed by area (Sobel colour gradient)": []} | {k: [] for k in hierarchies}
    contours: dict[str, list] = {}
    seconds: dict[str, float] = {}
    gts_all = []
    net_key = hashlib.sha256(Path(args.contour_net or shipped_contour_weights()).read_bytes()).hexdigest()[:10]
    for i, image_id in enumerate(ids):
        image = load_image(root / "images" / f"{image_id}.jpg")
        gts = load_bsds_gt(root / "gt" / f"{image_id}.npz")
        gts_all.append(gts)
        _, crf = stages(image_id, image)
        leaves = np.argmax(crf, 0)
        for scale in args.fz_scales.split(","):
            flat.add("Felzenszwalb", f"scale {scale}", felzenszwalb(image, float(scale)), gts)
        gradient = sobel_gradient(image)
        ucms["watershed by area (Sobel colour gradient)"].append(watershed_area_ucm(gradient).astype(np.float16))
        for name, params in hierarchies.items():
            start = time.perf_counter()
            ucms[name].append(build_hierarchy(image, leaves, crf, params).ucm.astype(np.float16))
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - start
        if not args.no_contours:
            start = time.perf_counter()
            pb = contour_probability(image, args.contour_net)
            seconds["contour network"] = seconds.get("contour network", 0.0) + time.perf_counter() - start
            maps = {
                "learned contour probability, NMS": suppress_non_maxima(pb),
                "Sobel colour gradient, NMS": suppress_non_maxima(gradient / (gradient + 10)),
            }
            maps |= {f"{name}, UCM read as contours": u[-1][2::2, 2::2].astype(np.float32) for name, u in ucms.items()}
            for name, pb in maps.items():
                key = name if "learned" not in name and "contours (" not in name else f"{name} {net_key}"
                contours.setdefault(name, []).append(
                    cached_counts(args.cache, key, image_id, thresholds, lambda: boundary_counts(pb, gts, thresholds))
                )
        print(f"[{i + 1}/{len(ids)}] {image_id}", file=sys.stderr, flush=True)

    region = {"Felzenszwalb": flat.summary("Felzenszwalb")}
    region |= {name: evaluate_ucms(maps, gts_all) for name, maps in ucms.items()}
    print(f"BSDS500 {args.split}, first {len(ids)} images; ODS / OIS; contours: {args.contour_net or 'shipped'}\n")
    print_region_table(region)
    contour = {name: summarise_contours(np.stack(c), thresholds) for name, c in contours.items()}
    if contour:
        print(f"\n| contours ({args.contour_thresholds} thresholds) | F ODS | P | R | F OIS | ODS threshold |")
        print("|---|---|---|---|---|---|")
        for name, s in contour.items():
            print(contour_row(name, s))
    seconds["wall"] = time.perf_counter() - wall
    print("\nseconds in all: " + ", ".join(f"{k} {v:.1f}" for k, v in seconds.items()))
    if args.json:
        out = {"split": args.split, "n_images": len(ids), "regions": region, "seconds": seconds}
        out["contours"] = {
            k: {m: (v.tolist() if isinstance(v, np.ndarray) else v) for m, v in s.items()} for k, s in contour.items()
        }
        Path(args.json).write_text(json.dumps(out, indent=1))
    if args.plot and contour:
        plot_pr(contour, args.plot, f"BSDS500 {args.split} ({len(ids)} images): boundaries")


if __name__ == "__main__":
    main()
