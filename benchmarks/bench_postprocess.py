"""Speed of the post-processing: dense CRF, hierarchy (UCM) build, and cuts.

    python benchmarks/bench_postprocess.py                 # 481x321, 1024x1024, 2048x2048
    python benchmarks/bench_postprocess.py --sizes 481x321 --labels 8 --cuts 200

The image is a BSDS500 photo resized to each size when the data is there (a smooth
synthetic image otherwise); the soft output has ``--labels`` channels made from smoothed
noise, and its argmax is the over-segmentation, as after the segmenter and the CRF.
Times are wall-clock on this machine, single-threaded numpy; the cut time is the median
over ``--cuts`` cuts at random thresholds (a slider needs < 16 ms).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter

from napari_unsup_seg.core.crf import CRFParams, refine
from napari_unsup_seg.core.hierarchy import HierarchyParams, build_hierarchy


def make_image(height: int, width: int) -> np.ndarray:
    from skimage.transform import resize

    env = os.environ.get("NAPARI_UNSUP_SEG_BSDS")
    root = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data" / "bsds500"
    photos = sorted((root / "val" / "images").glob("*.jpg"))
    if photos:
        from napari_unsup_seg.core.image import load_image

        image = load_image(photos[0])
    else:
        rng = np.random.default_rng(0)
        image = np.stack([gaussian_filter(rng.random((321, 481)), 8) for _ in range(3)]).astype(np.float32)
        image = (image - image.min()) / (image.max() - image.min())
    return np.clip(resize(image, (image.shape[0], height, width), order=1), 0, 1).astype(np.float32)


def make_soft(height: int, width: int, n_labels: int) -> np.ndarray:
    rng = np.random.default_rng(1)
    sigma = max(height, width) / 40
    logits = np.stack([gaussian_filter(rng.normal(size=(height, width)), sigma) for _ in range(n_labels)])
    logits *= 4.0 / logits.std()
    soft = np.exp(logits - logits.max(0))
    return (soft / soft.sum(0)).astype(np.float32)


def timed(fn, repeat: int = 1):
    best, out = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return out, best


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="481x321,1024x1024,2048x2048", help="WxH list")
    p.add_argument("--labels", type=int, default=8)
    p.add_argument("--cuts", type=int, default=200)
    p.add_argument("--repeat", type=int, default=1, help="best of N for CRF and build")
    args = p.parse_args(argv)

    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, numpy {np.__version__}")
    print(f"soft output: {args.labels} labels; CRF {CRFParams()}; hierarchy {HierarchyParams()}\n")
    header = f"{'size':>11} {'leaves':>7} {'CRF s':>7} {'build s':>8} {'UCM s':>6} {'cut ms (median)':>16} {'cut ms (p95)':>13}"
    print(header)
    rng = np.random.default_rng(2)
    for size in args.sizes.split(","):
        width, height = (int(v) for v in size.lower().split("x"))
        image = make_image(height, width)
        soft = make_soft(height, width, args.labels)
        refined, crf_s = timed(lambda: refine(image, soft), args.repeat)
        overseg = np.argmax(refined, axis=0)
        tree, build_s = timed(lambda: build_hierarchy(image, overseg, refined), args.repeat)
        _, ucm_s = timed(lambda: tree.ucm)
        cut_ms = []
        for t in rng.random(args.cuts):
            start = time.perf_counter()
            tree.cut(float(t))
            cut_ms.append(1e3 * (time.perf_counter() - start))
        print(
            f"{size:>11} {tree.num_leaves:>7} {crf_s:>7.2f} {build_s:>8.2f} {ucm_s:>6.2f}"
            f" {np.median(cut_ms):>16.2f} {np.percentile(cut_ms, 95):>13.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
