"""Batch throughput: images per minute, serial vs. a 2-worker dask LocalCluster, in one run.

One command::

    python benchmarks/bench_batch.py

100 BSDS-sized images (481x321): BSDS500 val when ``../shared/data/bsds500`` is there
(benchmarks/bsds.py), else synthetic ones of that size. Both runs go through
:func:`napari_unsup_seg.core.batch.segment_files` with the same parameters and seed into
fresh folders: serially in this process (torch on its default threads), then on
``LocalCluster(n_workers=2, threads_per_worker=1)`` (what ``segment --workers 2`` opens),
timed from the cluster's start to its close. The setting is fast (clustering without
scribbles, ``--max-iter 10``, dense CRF on, no UCM) so that the whole benchmark takes a few
minutes on 2 cores. Peak memory: the peak RSS of the process that ran each image, as its
Outcome reports it (``resource.getrusage``); the serial figure is this process's.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

SIZE = (321, 481)
SETTING = "clustering without scribbles, --max-iter 10, seed 0, CRF on, no UCM, device cpu"


def bsds_paths(n: int) -> list[Path] | None:
    """The first ``n`` BSDS500 val images, or None when the data is absent."""
    import bsds

    try:
        root = bsds.data_root()
        ids = bsds.list_images("val", root)
    except bsds.DataMissing:
        return None
    paths = [root / "val" / "images" / f"{i}.jpg" for i in ids[:n]]
    return paths if len(paths) == n else None


def synthetic_paths(n: int, folder: Path) -> list[Path]:
    """``n`` 481x321 RGB PNGs: smooth random regions plus noise, from seed 0."""
    import imageio.v3 as iio
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(0)
    paths = []
    for k in range(n):
        field = gaussian_filter(rng.normal(size=(*SIZE, 3)), sigma=(18, 18, 0))
        field = (field - field.min()) / (np.ptp(field) + 1e-9)
        image = np.clip(255 * field + rng.normal(0, 8, field.shape), 0, 255).astype(np.uint8)
        paths.append(folder / f"synthetic_{k:03d}.png")
        iio.imwrite(paths[-1], image)
    return paths


def run(paths, outdir: Path, params, client=None) -> tuple[float, list]:
    from napari_unsup_seg.core.batch import segment_files

    t0 = time.perf_counter()
    outcomes = segment_files(paths, outdir, params, client=client, progress=False)
    return time.perf_counter() - t0, outcomes


def run_on_cluster(paths, outdir: Path, params, workers: int) -> tuple[float, list]:
    from napari_unsup_seg.core.batch import open_client

    t0 = time.perf_counter()
    with open_client(workers=workers, threads_per_worker=1) as client:
        _, outcomes = run(paths, outdir, params, client)
    return time.perf_counter() - t0, outcomes


def same_labels(a: Path, b: Path, stems: list[str]) -> int:
    return sum((a / f"{s}_labels.tif").read_bytes() == (b / f"{s}_labels.tif").read_bytes() for s in stems)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--synthetic", action="store_true", help="synthetic images even when BSDS500 is there")
    args = parser.parse_args()

    import torch

    from napari_unsup_seg.core.cluster import ClusterParams
    from napari_unsup_seg.core.pipeline import SegmentParams

    params = SegmentParams(
        cluster=ClusterParams.preset("fast").replace(max_iter=10), build_ucm=False, seed=0, device="cpu"
    )
    with tempfile.TemporaryDirectory(prefix="bench_batch_") as tmp:
        tmp = Path(tmp)
        paths = None if args.synthetic else bsds_paths(args.n_images)
        source = "BSDS500 val" if paths else "synthetic"
        paths = paths or synthetic_paths(args.n_images, tmp)
        stems = [p.stem for p in paths]
        load = os.getloadavg()
        serial_s, serial = run(paths, tmp / "serial", params)
        cluster_s, dist = run_on_cluster(paths, tmp / "cluster", params, args.workers)
        load_after = os.getloadavg()
        for name, outcomes in (("serial", serial), ("cluster", dist)):
            bad = [o for o in outcomes if o.status != "done"]
            if bad:
                raise SystemExit(f"{name}: {len(bad)} images not done, e.g. {bad[0]}")
        identical = same_labels(tmp / "serial", tmp / "cluster", stems)

    n = len(paths)
    serial_rate, cluster_rate = 60 * n / serial_s, 60 * n / cluster_s
    print(f"{n} images ({source}, {SIZE[1]}x{SIZE[0]}); setting: {SETTING}")
    print(f"machine: {os.cpu_count()} CPU cores; load average {load[0]:.1f} before, {load_after[0]:.1f} after")
    print()
    print("| run | wall s | images / min | peak RSS (MiB) |")
    print("|---|---|---|---|")
    print(
        f"| serial, this process, torch threads {torch.get_num_threads()} | {serial_s:.1f} | {serial_rate:.1f} | "
        f"{max(o.peak_rss_mib for o in serial):.0f} |"
    )
    print(
        f"| --workers {args.workers} (1 thread each; cluster start and close included) | {cluster_s:.1f} | "
        f"{cluster_rate:.1f} | {max(o.peak_rss_mib for o in dist):.0f} per worker (max) |"
    )
    print()
    print(f"speed-up: {cluster_rate / serial_rate:.2f}x; identical label files: {identical}/{n}")


if __name__ == "__main__":
    main()
