"""Clustering with scribbles on BSDS500 val: fast preset vs paper preset vs random walker.

One command::

    python benchmarks/bench_cluster.py --n-images 10 --paper-images 3 --paper-max-iter 50 --threads 1

For each image, scribbles are synthesised from annotator 0 (benchmarks/bsds.py: 2 to 5
classes, the largest GT regions, two short 3-pixel-wide strokes each, seeded). Reported
per method: mIoU over the scribbled classes (pixels of unscribbled GT regions and the
scribbled pixels themselves are not scored), seconds per iteration (median gap between
progress events), iterations, time to the result, time to the first preview, CPU seconds,
and why the run ended. The paper preset is slow (about 1.7 s/iteration on 2 cores), so
it runs on the first ``--paper-images`` images only, capped at ``--paper-max-iter``
iterations; the "same images" rows compare all methods on that subset.

Timings are wall-clock on whatever machine runs this, after one warm-up fit in the
process (torch's one-time start-up is not counted); the load average is printed with
the table because a shared machine slows everything.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bsds  # noqa: E402


def run_cluster(img, case, params, seed=0):
    from napari_unsup_seg.core.cluster import fit

    t0, c0 = time.perf_counter(), time.process_time()
    stamps, first = [], None
    gen = fit(img, case.scribbles, params, device="cpu", seed=seed)
    while True:
        try:
            event = next(gen)
        except StopIteration as done:
            res = done.value
            break
        now = time.perf_counter() - t0
        stamps.append(now)
        if first is None and event.preview is not None:
            first = now
    gaps = np.diff([0.0] + stamps)
    return {
        "miou": bsds.scribble_miou(res.labels, case),
        "s_iter": float(np.median(gaps)) if len(gaps) else float("nan"),
        "iters": res.n_iter,
        "time": res.elapsed,
        "first": first if first is not None else float("nan"),
        "cpu": time.process_time() - c0,
        "reason": res.stop_reason,
    }


def run_random_walker(img, case, beta):
    from skimage.segmentation import random_walker

    t0, c0 = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "probability range outside [0, 1]" at default tolerance
        labels = random_walker(np.moveaxis(img, 0, -1), case.scribbles, beta=beta, channel_axis=-1)
    t = time.perf_counter() - t0
    return {
        "miou": bsds.scribble_miou(labels, case),
        "s_iter": float("nan"),
        "iters": 0,
        "time": t,
        "first": t,
        "cpu": time.process_time() - c0,
        "reason": "-",
    }


def summarize(name, rows, n_total):
    if not rows:
        return None
    a = {k: np.array([r[k] for r in rows], float) for k in ("miou", "s_iter", "iters", "time", "first", "cpu")}
    reasons = {}
    for r in rows:
        reasons[r["reason"]] = reasons.get(r["reason"], 0) + 1
    nan_mean = lambda x: float(np.nanmean(x)) if np.isfinite(x).any() else float("nan")  # noqa: E731
    return (
        f"| {name} | {len(rows)}/{n_total} | {a['miou'].mean():.3f} | {nan_mean(a['s_iter']):.3f} | "
        f"{a['iters'].mean():.0f} | {a['time'].mean():.1f} (max {a['time'].max():.1f}) | "
        f"{nan_mean(a['first']):.2f} | {a['cpu'].mean():.1f} | "
        + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items()))
        + " |"
    )


HEADER = (
    "| method | images | mIoU | s/iter | iterations | time to result, s | first preview, s | CPU s | ended by |\n"
    "|---|---|---|---|---|---|---|---|---|"
)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n-images", type=int, default=10, help="images for the fast preset and random walker")
    ap.add_argument(
        "--paper-images", type=int, default=4, help="the first this many also run the paper preset (0: skip)"
    )
    ap.add_argument("--paper-max-iter", type=int, default=60, help="iteration cap of the paper preset")
    ap.add_argument("--paper-time-budget", type=float, default=None, help="seconds cap of the paper preset")
    ap.add_argument("--rw-beta", type=float, default=130.0, help="random_walker beta (scikit-image default 130)")
    ap.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch CPU threads (0: torch's default). On a machine shared with other jobs, 1 is "
        "several times faster than 2: waiting OpenMP threads get descheduled",
    )
    ap.add_argument("--seed", type=int, default=0, help="seed of the scribbles and the networks")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a field of the fast preset (repeatable), e.g. --set w_scribble=1",
    )
    args = ap.parse_args(argv)

    try:
        ids = bsds.list_images("val")
    except bsds.DataMissing as err:
        print(f"skipped: {err}")
        return 0
    import torch

    from napari_unsup_seg.core.cluster import ClusterParams, fit

    if args.threads:
        torch.set_num_threads(args.threads)
    from napari_unsup_seg.core.image import to_chw
    from napari_unsup_seg.core.progress import drain

    fast = ClusterParams.preset("fast")
    for item in args.set:
        key, _, value = item.partition("=")
        current = getattr(fast, key)
        if isinstance(current, tuple):
            value = tuple(v for v in value.split(",") if v)
        elif isinstance(current, bool):
            value = value.lower() in ("1", "true", "yes")
        else:
            value = type(current)(value) if current is not None else float(value)
        fast = fast.replace(**{key: value})
    paper = ClusterParams.preset("paper").replace(max_iter=args.paper_max_iter, time_budget=args.paper_time_budget)

    step = max(1, len(ids) // max(1, args.n_images))
    ids = ids[::step][: args.n_images]
    drain(fit(np.random.default_rng(0).random((3, 48, 48), dtype=np.float32), None, ClusterParams(max_iter=3)))
    load0 = os.getloadavg()[0]
    results = {"fast": [], "paper": [], "random_walker": []}
    for n, image_id in enumerate(ids):
        case = bsds.load_case(image_id, seed=args.seed)
        img = to_chw(bsds.load_image(image_id))
        results["random_walker"].append(run_random_walker(img, case, args.rw_beta))
        results["fast"].append(run_cluster(img, case, fast, args.seed))
        line = f"{image_id}: K={case.n_classes} rw {results['random_walker'][-1]['miou']:.3f} fast {results['fast'][-1]['miou']:.3f}"
        if n < args.paper_images:
            results["paper"].append(run_cluster(img, case, paper, args.seed))
            line += f" paper {results['paper'][-1]['miou']:.3f} ({results['paper'][-1]['time']:.0f} s)"
        print(line, flush=True)
    load1 = os.getloadavg()[0]

    n_paper = len(results["paper"])
    print(
        f"\nBSDS500 val, {len(ids)} images, seed {args.seed}; load average {load0:.1f} -> {load1:.1f} "
        f"on {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}; paper preset capped at {args.paper_max_iter} iterations"
        + (f" / {args.paper_time_budget:.0f} s" if args.paper_time_budget else "")
        + "\n"
    )
    print(HEADER)
    print(summarize("fast (default)", results["fast"], len(ids)))
    print(summarize(f"random_walker (beta {args.rw_beta:g})", results["random_walker"], len(ids)))
    if n_paper:
        print(summarize("paper (capped)", results["paper"], n_paper))
        print(summarize("fast, same images as paper", results["fast"][:n_paper], n_paper))
        print(summarize("random_walker, same images as paper", results["random_walker"][:n_paper], n_paper))
    return 0


if __name__ == "__main__":
    sys.exit(main())
