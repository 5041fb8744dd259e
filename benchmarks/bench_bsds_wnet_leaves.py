"""Shipped W-Net hierarchy vs. the ``leaves="watershed"`` + ``soft_scales`` option, on BSDS500.

    OMP_NUM_THREADS=1 python benchmarks/bench_bsds_wnet_leaves.py --n-images 100 --cache /tmp/bsds_quality_cache

W-Net (shipped weights) -> dense CRF as in ``bench_bsds_quality.py`` (same cache), then
``build_hierarchy`` on the CRF argmax with: the defaults and the CRF soft output (shipped);
``HierarchyParams(color_weight=0, soft_scales=(1, 2, 4), leaves="watershed")`` with the CRF soft
output (what the pipeline passes) and with the raw W-Net soft output. SC / PRI / VI, ODS / OIS.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_bsds_quality import WNetStages, region_row  # noqa: E402
from bench_bsds_ucm import bsds_root  # noqa: E402

from napari_unsup_seg.core.evaluate import load_bsds_gt  # noqa: E402
from napari_unsup_seg.core.hierarchy import HierarchyParams, build_hierarchy  # noqa: E402
from napari_unsup_seg.core.image import load_image  # noqa: E402
from napari_unsup_seg.core.metrics import evaluate_ucms  # noqa: E402

OPTION = HierarchyParams(color_weight=0.0, soft_scales=(1.0, 2.0, 4.0), leaves="watershed")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--split", default="val", choices=("train", "val"))
    p.add_argument("--n-images", type=int, default=100)
    p.add_argument("--cache", default=None)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    wall = time.perf_counter()
    root = bsds_root() / args.split
    ids = sorted(q.stem for q in (root / "images").glob("*.jpg"))[: args.n_images]
    stages = WNetStages(args.cache, None)
    rows = {"shipped (defaults, CRF soft)": [], "option, CRF soft": [], "option, raw W-Net soft": []}
    gts = []
    for image_id in ids:
        image = load_image(root / "images" / f"{image_id}.jpg")
        gts.append(load_bsds_gt(root / "gt" / f"{image_id}.npz"))
        soft, crf = stages(image_id, image)
        leaves = np.argmax(crf, 0)
        for name, (params, s) in zip(rows, ((HierarchyParams(), crf), (OPTION, crf), (OPTION, soft))):
            rows[name].append(build_hierarchy(image, leaves, s, params).ucm.astype(np.float16))
    print(f"BSDS500 {args.split}, first {len(ids)} images; ODS / OIS\n")
    print("| W-Net -> CRF -> hierarchy | SC | PRI | VI | note |\n|---|---|---|---|---|")
    for name, ucms in rows.items():
        print(region_row(name, evaluate_ucms(ucms, gts)), flush=True)
    print(f"\nwall {time.perf_counter() - wall:.0f} s")


if __name__ == "__main__":
    main()
