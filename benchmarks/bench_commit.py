"""Committing a result into a user's labels at 2048x2048 (and a 64x512x512 volume): seconds per mode.

One command::

    python benchmarks/bench_commit.py

A random result of 4 classes (the worst case for instances: many tiny regions) and a
target with its top half labelled; each mode planned 3 times, the best time printed.
"""

from __future__ import annotations

import time

import numpy as np

from napari_unsup_seg.core.commit import plan_commit


def best_of(n: int, fn) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    rng = np.random.default_rng(0)
    for shape in ((2048, 2048), (64, 512, 512)):
        result = (rng.random(shape) * 4).astype(np.int32)
        blocky = np.repeat(np.repeat(result[..., ::32, ::32], 32, -2), 32, -1)  # regions of 32x32 px
        target = np.zeros(shape, np.int32)
        target[..., : shape[-2] // 2, :] = 9
        cases = {
            "semantic, all classes": lambda: plan_commit(target, result),
            "semantic, 2 classes with values": lambda: plan_commit(target, result, classes=[1, 3], values={1: 5}),
            "object, one class, overwrite": lambda: plan_commit(
                target, result, classes=[2], mode="object", overwrite=True
            ),
            "instances, one class (32x32 regions)": lambda: plan_commit(target, blocky, classes=[2], mode="instances"),
            "instances, all classes (noise: 1-px regions)": lambda: plan_commit(target, result, mode="instances"),
        }
        for name, fn in cases.items():
            print(f"{'x'.join(map(str, shape))}  {name:46s} {best_of(3, fn):.3f} s")


if __name__ == "__main__":
    main()
