"""W-Net speed (and optionally quality) on BSDS500-sized images.

    python benchmarks/bench_wnet.py                       # timings on one 481x321 image
    python benchmarks/bench_wnet.py --quality 20          # + SC/PRI/VI on 20 val images
    python benchmarks/bench_wnet.py --weights runs/x.pt   # another weights file

Timings: the median of ``--repeat`` runs of ``predict_soft`` (the encoder only,
tiled), ``crf.refine`` and ``hierarchy.build_hierarchy`` (when those modules
exist), with ``--threads`` torch threads. Without BSDS500 a random image of the
same size is used for the timings and ``--quality`` is skipped.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from napari_unsup_seg.core.image import load_image
from napari_unsup_seg.core.wnet import WNetParams, labels_from_soft, load_model, predict_soft


def bsds_root() -> Path | None:
    env = os.environ.get("NAPARI_UNSUP_SEG_BSDS")
    root = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data" / "bsds500"
    return root if (root / "val" / "images").is_dir() else None


def timed(fn, repeat: int):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def optional_postprocess():
    try:
        from napari_unsup_seg.core import crf, hierarchy
    except ImportError:
        return None, None
    return crf, hierarchy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", default=None, help="weights file (default: the shipped one)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--image", default="", help="BSDS val image id (default: the first one)")
    parser.add_argument("--quality", type=int, default=0, help="score this many BSDS val images")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    model = load_model(args.weights)
    cfg = model.config
    n_params = sum(p.numel() for p in model.encoder.parameters())
    print(
        f"weights {args.weights or 'shipped'} sha256 {model.weights_sha256[:12]}  config {cfg}  "
        f"encoder params {n_params}"
    )
    root = bsds_root()
    if root is not None:
        ids = sorted(p.stem for p in (root / "val" / "images").glob("*.jpg"))
        image_id = args.image or ids[0]
        image = load_image(root / "val" / "images" / f"{image_id}.jpg")
    else:
        image_id = "random"
        image = np.random.default_rng(0).random((3, 321, 481), dtype=np.float32)
    params = WNetParams(weights=args.weights)
    predict_soft(model, image, params)  # warm-up
    t_net, soft = timed(lambda: predict_soft(model, image, params), args.repeat)
    print(f"image {image_id} {image.shape[2]}x{image.shape[1]}, torch threads {args.threads}, median of {args.repeat}")
    print(f"  predict_soft          {t_net:7.3f} s")
    crf, hierarchy = optional_postprocess()
    if crf is not None:
        t_crf, refined = timed(lambda: crf.refine(image, soft), args.repeat)
        labels = labels_from_soft(refined)
        t_ucm, tree = timed(lambda: hierarchy.build_hierarchy(image, labels, refined), args.repeat)
        print(f"  crf.refine            {t_crf:7.3f} s")
        print(f"  build_hierarchy       {t_ucm:7.3f} s   ({int(labels.max())} labels before merging)")
        print(f"  total                 {t_net + t_crf + t_ucm:7.3f} s")

    if args.quality and root is not None and crf is not None:
        from napari_unsup_seg.core.metrics import evaluate_labels, evaluate_ucms

        raw, ucms, gts = [], [], []
        for image_id in ids[: args.quality]:
            image = load_image(root / "val" / "images" / f"{image_id}.jpg")
            gts.append(list(np.load(root / "val" / "gt" / f"{image_id}.npz")["seg"]))
            soft = predict_soft(model, image, params)
            raw.append(labels_from_soft(soft))
            refined = crf.refine(image, soft)
            ucms.append(hierarchy.build_hierarchy(image, labels_from_soft(refined), refined).ucm)
        for name, scores in (("argmax", evaluate_labels(raw, gts)), ("crf+ucm", evaluate_ucms(ucms, gts))):
            keys = [k for k in ("SC_ODS", "SC_OIS", "PRI_ODS", "PRI_OIS", "VI_ODS", "VI_OIS") if k in scores]
            print(f"  {name:8s} " + "  ".join(f"{k} {scores[k]:.3f}" for k in keys) + f"  ({len(gts)} val images)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
