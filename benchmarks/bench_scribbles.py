"""Scribble mode on real annotators' scribbles (MedScribble dev) against classical baselines.

One command::

    python benchmarks/bench_scribbles.py

runs, on the same 60 runs (20 images x 3 annotators, see benchmarks/medscribble.py):

* ours: ``core.pipeline.segment`` with its defaults (the CLI's), timed to the first mask
  (the event carrying ``result``) and to the final mask;
* ``skimage.segmentation.random_walker`` seeded by the same scribbles, beta swept over
  10..30000, solved exactly (``mode="bf"``, sparse LU: at 256x256 four to sixteen times
  faster than its iterative default, which needs 3 to 14 s a call here); the best beta
  over all runs is the baseline, the best beta per dataset is shown too (an oracle);
* OpenCV GrabCut in mask mode (scribbles as sure background / foreground, the rest
  probable background, 5 iterations), when ``opencv-python-headless`` is installed.

Then, unless switched off: ours with the strokes of one class only, the photo case (BSDS500 val 12084, coral and two tube worms,
three classes of scribbles synthesised as in bench_cluster.py), speed at 512x512 (the
dev images enlarged), and the whole CLI process per 256x256 image. Timings are
wall-clock on whatever machine runs this; compare rows of one run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import medscribble as ms  # noqa: E402

BETAS = (10, 30, 100, 300, 1000, 3000, 10000, 30000)


def run_ours(image: np.ndarray, scribbles: np.ndarray, params) -> tuple[np.ndarray, float, float]:
    """(labels, seconds to the first mask, seconds to the final mask)."""
    from napari_unsup_seg.core.pipeline import segment

    t0 = time.perf_counter()
    first = None
    gen = segment(image, scribbles, params)
    while True:
        try:
            event = next(gen)
        except StopIteration as done:
            result = done.value
            break
        if first is None and event.result is not None:
            first = time.perf_counter() - t0
    total = time.perf_counter() - t0
    return result.labels, first if first is not None else total, total


WALKER_MODE = {"mode": "bf"}


def run_walker(image: np.ndarray, scribbles: np.ndarray, beta: float) -> tuple[np.ndarray, float]:
    """``image`` (H, W) grey or (H, W, C) channels-last; solved in ``WALKER_MODE["mode"]``."""
    from skimage.segmentation import random_walker

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "probability outside [0, 1]" at its default tolerance
        labels = random_walker(
            image, scribbles, beta=beta, mode=WALKER_MODE["mode"], channel_axis=-1 if image.ndim == 3 else None
        )
    return labels, time.perf_counter() - t0


def run_grabcut(image: np.ndarray, scribbles: np.ndarray) -> tuple[np.ndarray, float]:
    import cv2

    t0 = time.perf_counter()
    rgb = np.ascontiguousarray((np.stack([image] * 3, -1) * 255).astype(np.uint8))
    mask = np.full(image.shape, cv2.GC_PR_BGD, np.uint8)
    mask[scribbles == ms.BACKGROUND] = cv2.GC_BGD
    mask[scribbles == ms.FOREGROUND] = cv2.GC_FGD
    bgd, fgd = np.zeros((1, 65)), np.zeros((1, 65))
    cv2.grabCut(rgb, mask, None, bgd, fgd, 5, cv2.GC_INIT_WITH_MASK)
    fg = (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)
    return np.where(fg, ms.FOREGROUND, ms.BACKGROUND), time.perf_counter() - t0


class Scores:
    """IoU / Dice per run, grouped by dataset, plus timings."""

    def __init__(self, name: str):
        self.name = name
        self.rows: list[tuple[str, float, float]] = []
        self.first: list[float] = []
        self.final: list[float] = []

    def add(self, run: ms.Run, labels: np.ndarray | None, first: float = float("nan"), final: float = float("nan")):
        fg = None if labels is None else labels == ms.FOREGROUND
        self.rows.append((run.dataset, *ms.iou_dice(fg, run.truth)))
        self.first.append(first)
        self.final.append(final)

    def iou(self, dataset: str | None = None) -> float:
        return float(np.mean([r[1] for r in self.rows if dataset in (None, r[0])]))

    def dice(self) -> float:
        return float(np.mean([r[2] for r in self.rows]))

    def line(self, datasets: list[str]) -> str:
        med = lambda x: f"{np.nanmedian(x):.2f}" if np.isfinite(x).any() else "–"  # noqa: E731
        per = " | ".join(f"{self.iou(d):.3f}" for d in datasets)
        return (
            f"| {self.name} | **{self.iou():.3f}** | {self.dice():.3f} | {per} | {med(self.first)} | "
            f"{med(self.final)} |"
        )


def header(datasets: list[str]) -> str:
    cols = " | ".join(f"{d} IoU" for d in datasets)
    return (
        f"| method | IoU | Dice | {cols} | first mask, s (median) | final mask, s (median) |\n"
        f"|---|---|---|{'---|' * len(datasets)}---|---|"
    )


def medscribble_table(runs: list[ms.Run], params, grabcut: bool) -> str:
    datasets = sorted({r.dataset for r in runs})
    ours = Scores("ours (defaults)")
    walkers = {b: Scores(f"random_walker beta {b}") for b in BETAS}
    grab = Scores("GrabCut (OpenCV, mask mode)")
    for n, run in enumerate(runs, 1):
        labels, first, final = run_ours(run.image[None], run.scribbles, params)
        ours.add(run, labels, first, final)
        for beta, scores in walkers.items():
            labels, seconds = run_walker(run.image, run.scribbles, beta)
            scores.add(run, labels, seconds, seconds)
        if grabcut:
            labels, seconds = run_grabcut(run.image, run.scribbles)
            grab.add(run, labels, seconds, seconds)
        print(
            f"[{n}/{len(runs)}] {run.name}: ours {ours.rows[-1][1]:.3f}, walker(3000) {walkers[3000].rows[-1][1]:.3f}",
            file=sys.stderr,
            flush=True,
        )
    best = max(walkers.values(), key=lambda s: s.iou())
    best.name = f"random_walker, best beta ({best.name.split()[-1]})"
    lines = [header(datasets), ours.line(datasets), best.line(datasets)]
    if grabcut:
        lines.append(grab.line(datasets))
    oracle = " | ".join(f"{max(s.iou(d) for s in walkers.values()):.3f}" for d in datasets)
    lines.append(f"| random_walker, best beta per dataset (oracle) | – | – | {oracle} | – | – |")
    sweep = ", ".join(f"{b}: {s.iou():.3f}" for b, s in walkers.items())
    return "\n".join(lines) + f"\n\nrandom_walker IoU by beta: {sweep}"


def one_class_table(runs: list[ms.Run], params, every: int) -> str:
    """Ours with the strokes of one class only (every ``every``-th run): that class against
    everything else (0)."""
    fg_only, bg_only = Scores("foreground strokes only"), Scores("background strokes only")
    for run in runs[::every]:
        for scores, keep in ((fg_only, ms.FOREGROUND), (bg_only, ms.BACKGROUND)):
            strokes = np.where(run.scribbles == keep, keep, 0)
            labels, first, final = run_ours(run.image[None], strokes, params)
            if keep == ms.BACKGROUND:  # the object is "everything else"
                labels = np.where(labels == 0, ms.FOREGROUND, ms.BACKGROUND)
            scores.add(run, labels, first, final)
    datasets = sorted({r.dataset for r in runs})
    return f"{len(fg_only.rows)} runs\n\n" + "\n".join(
        [header(datasets), fg_only.line(datasets), bg_only.line(datasets)]
    )


def photo_case(params) -> str:
    import bsds

    from napari_unsup_seg.core.image import to_chw

    try:
        case = bsds.load_case("12084")
        image = to_chw(bsds.load_image("12084"))
    except bsds.DataMissing as err:
        return f"photo case skipped: {err}"
    labels, first, final = run_ours(image, case.scribbles, params)
    walker, seconds = run_walker(np.moveaxis(image, 0, -1), case.scribbles, 3000)
    return (
        f"BSDS val 12084 (coral, two tube worms; 3 classes): ours mIoU {bsds.scribble_miou(labels, case):.3f} "
        f"(first mask {first:.2f} s, final {final:.2f} s); random_walker (beta 3000) "
        f"{bsds.scribble_miou(walker, case):.3f} ({seconds:.2f} s)"
    )


def photos(params, n: int) -> str:
    """BSDS val every 10th image, synthetic strokes (as bench_cluster.py): ours, the clustering's
    own class assignment (the previous scribble mode), random_walker."""
    import bsds

    from napari_unsup_seg.core import cluster
    from napari_unsup_seg.core.image import to_chw
    from napari_unsup_seg.core.progress import drain

    try:
        ids = bsds.list_images("val")
    except bsds.DataMissing as err:
        return f"photos skipped: {err}"
    ids = ids[:: max(1, len(ids) // n)][:n]
    ours, fit, walker = [], [], []
    for image_id in ids:
        case, image = bsds.load_case(image_id), to_chw(bsds.load_image(image_id))
        ours.append(bsds.scribble_miou(run_ours(image, case.scribbles, params)[0], case))
        res = drain(cluster.fit(image, case.scribbles, params.cluster, device="cpu", seed=params.seed))
        fit.append(bsds.scribble_miou(res.labels, case))
        walker.append(bsds.scribble_miou(run_walker(np.moveaxis(image, 0, -1), case.scribbles, 3000)[0], case))
    return (
        f"BSDS500 val, {len(ids)} photos, synthetic strokes (mIoU): ours {np.mean(ours):.3f}, "
        f"clustering with its own class assignment {np.mean(fit):.3f}, random_walker (beta 3000) "
        f"{np.mean(walker):.3f}"
    )


def speed_512(runs: list[ms.Run], params, n: int) -> str:
    from skimage.transform import resize

    firsts, finals, walkers = [], [], []
    for run in runs[:: max(1, len(runs) // n)][:n]:
        image = resize(run.image, (512, 512), order=1).astype(np.float32)
        scr = resize(run.scribbles, (512, 512), order=0, preserve_range=True, anti_aliasing=False).astype(np.int32)
        _, first, final = run_ours(image[None], scr, params)
        firsts.append(first)
        finals.append(final)
        walkers.append(run_walker(image, scr, 3000)[1])
    return (
        f"512x512 ({len(firsts)} images): ours first mask {np.median(firsts):.2f} s (max {np.max(firsts):.2f}), "
        f"final {np.median(finals):.2f} s (max {np.max(finals):.2f}); random_walker {np.median(walkers):.2f} s"
    )


def cli_seconds(runs: list[ms.Run], n: int) -> str:
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for k, run in enumerate(runs[:: max(1, len(runs) // n)][:n]):
            img, scr = Path(tmp) / f"img{k}.npy", Path(tmp) / f"scr{k}.npy"
            np.save(img, run.image)
            np.save(scr, run.scribbles)
            t0 = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "napari_unsup_seg.cli",
                    "segment",
                    str(img),
                    "--scribbles",
                    str(scr),
                    "-o",
                    str(Path(tmp) / f"out{k}"),
                    "-q",
                ],
                check=True,
            )
            times.append(time.perf_counter() - t0)
    return (
        f"CLI, whole process per 256x256 image ({len(times)} images): median {np.median(times):.2f} s, "
        f"max {np.max(times):.2f} s"
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=0, help="use every k-th run so that about this many remain (0: all)")
    ap.add_argument("--no-photo", action="store_true", help="skip the BSDS photo case")
    ap.add_argument("--no-one-class", action="store_true", help="skip the runs with one class of strokes only")
    ap.add_argument("--one-class-every", type=int, default=3, help="one-class runs on every k-th run")
    ap.add_argument("--speed", type=int, default=5, help="images timed at 512x512 (0: skip)")
    ap.add_argument("--cli", type=int, default=5, help="images timed through the CLI (0: skip)")
    ap.add_argument(
        "--walker-mode",
        choices=("bf", "cg_j", "cg", "cg_mg"),
        default="bf",
        help="random_walker's solver: bf (exact; default here) or its own default cg_j (about an hour)",
    )
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 is steadier on a shared machine)")
    args = ap.parse_args(argv)
    try:
        runs = ms.list_runs()
    except ms.DataMissing as err:
        print(f"skipped: {err}")
        return 0
    if args.runs:
        runs = runs[:: max(1, len(runs) // args.runs)]
    import torch

    from napari_unsup_seg.core.pipeline import SegmentParams

    torch.set_num_threads(args.threads)
    WALKER_MODE["mode"] = args.walker_mode
    try:
        import cv2  # noqa: F401

        grabcut = True
    except ImportError:
        grabcut = False
        print("GrabCut skipped: pip install opencv-python-headless", file=sys.stderr)
    params = SegmentParams(build_ucm=False)  # the CLI's defaults
    run_ours(runs[0].image[None], runs[0].scribbles, params)  # warm-up: torch's one-time start
    load0 = os.getloadavg()[0]
    table = medscribble_table(runs, params, grabcut)
    extra = []
    if not args.no_one_class:
        extra.append("Scribbles of one class only, " + one_class_table(runs, params, args.one_class_every))
    if not args.no_photo:
        extra.append(photo_case(params))
        extra.append(photos(params, 10))
    if args.speed:
        extra.append(speed_512(runs, params, args.speed))
    if args.cli:
        extra.append(cli_seconds(runs, args.cli))
    print(
        f"\nMedScribble dev, {len(runs)} runs, random_walker mode {args.walker_mode}; load average {load0:.1f} -> {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}\n"
    )
    print(table)
    for line in extra:
        print("\n" + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
