"""COCO export speed and size: a 1024x1024 class image with thousands of regions.

One command::

    python benchmarks/bench_coco.py --seeds 20000

A Voronoi tessellation of ``--seeds`` random points, each cell given one of 4 classes
at random and a fifth of them left unlabeled (neighbouring cells of one class join, so
there are fewer instances than cells). Times :func:`core.coco.instances_coco`,
:func:`core.coco.semantic_coco` and the writing of both files, checks that the instances
decode back to the image exactly, and prints the file sizes. For comparison it also
times pycocotools' ``encode`` of whole-image masks for the first 500 instances (what the
export would cost without cropping each region to its box).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils
from scipy import ndimage

from napari_unsup_seg.core import coco


def voronoi_classes(size: int, seeds: int, rng: np.random.Generator) -> np.ndarray:
    points = np.zeros((size, size), np.int32)
    points[rng.integers(0, size, seeds), rng.integers(0, size, seeds)] = np.arange(1, seeds + 1)
    _, (rows, cols) = ndimage.distance_transform_edt(points == 0, return_indices=True)
    cells = points[rows, cols]
    classes = rng.integers(1, 5, seeds + 1)[cells].astype(np.uint16)
    classes[rng.random(seeds + 1)[cells] < 0.2] = 0
    return classes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--seeds", type=int, default=20000)
    args = parser.parse_args()
    classes = voronoi_classes(args.size, args.seeds, np.random.default_rng(0))

    start = time.perf_counter()
    instances = coco.instances_coco(classes, file_name="bench.png")
    t_instances = time.perf_counter() - start
    start = time.perf_counter()
    semantic = coco.semantic_coco(classes, file_name="bench.png")
    t_semantic = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as folder:
        paths = [Path(folder) / f"bench_coco_{kind}.json" for kind in ("instances", "semantic")]
        start = time.perf_counter()
        for path, data in zip(paths, (instances, semantic)):
            coco.write_coco(path, data)
        t_write = time.perf_counter() - start
        sizes = [path.stat().st_size / 1e6 for path in paths]

    rebuilt = np.zeros_like(classes)
    for annotation in instances["annotations"]:
        rebuilt[mask_utils.decode(annotation["segmentation"]) > 0] = annotation["category_id"]
    assert np.array_equal(rebuilt, classes), "the instances do not decode back to the image"

    n = len(instances["annotations"])
    some = instances["annotations"][:500]
    start = time.perf_counter()
    for annotation in some:
        mask_utils.encode(np.asfortranarray(mask_utils.decode(annotation["segmentation"])))
    t_whole = (time.perf_counter() - start) / len(some) * n

    print(
        f"{args.size}x{args.size}, {n} instances in {len(semantic['annotations'])} classes: "
        f"instances {t_instances:.2f} s, semantic {t_semantic:.2f} s, writing both {t_write:.2f} s; "
        f"instances.json {sizes[0]:.2f} MB, semantic.json {sizes[1]:.2f} MB; "
        f"whole-image encode (and decode) of every instance would take about {t_whole:.1f} s"
    )


if __name__ == "__main__":
    main()
