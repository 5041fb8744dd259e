"""Large images: time and peak memory from 1024^2 to 8192^2, and what the working resolution costs.

One command::

    python benchmarks/bench_large.py [--sizes 1024 2048 4096 8192] [--plot docs/large_scaling.png]

1. **Scaling**: a BSDS val photo (``../shared/data/bsds500``; a synthetic scene when absent)
   resized to each size, RGB uint8, segmented by ``core.pipeline.segment`` with its
   defaults (clustering without scribbles, CRF, hierarchy), each size in a fresh process:
   wall time and peak resident memory (``resource``). Images above 1024x1024 pixels are
   fitted at 1024x1024 and brought to full resolution by tiles (``core.large``); with
   ``--direct N`` sizes up to N also run at full resolution (the path before), for the
   memory it needs.
2. **Quality** (``--quality``, needs ``../shared/data/medscribble-dev``): every 6th run of
   MedScribble dev (10 runs, scribble mode) segmented at its own size (direct), and as a
   large image fitted at half resolution (``work_pixels`` = 128x128) three ways: the
   working labels enlarged by nearest neighbour (the naive way), by smooth indicators (our
   default) and with the band walk at full resolution (``band=3``). Mean foreground IoU.

Timings are wall-clock on whatever machine runs this; compare rows of one run.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
PHOTO = HERE.parent.parent / "shared" / "data" / "bsds500" / "val" / "images" / "101085.jpg"


def photo(side: int) -> np.ndarray:
    """(side, side, 3) uint8: the BSDS photo resized, or a synthetic scene of discs."""
    from PIL import Image

    if PHOTO.is_file():
        return np.asarray(Image.open(PHOTO).convert("RGB").resize((side, side), Image.BILINEAR))
    rng = np.random.default_rng(0)
    small = np.zeros((256, 256, 3), np.uint8)
    yy, xx = np.mgrid[:256, :256]
    for _ in range(12):
        cy, cx, r = rng.integers(20, 236, 2).tolist() + [int(rng.integers(10, 40))]
        small[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = rng.integers(0, 255, 3)
    return np.asarray(Image.fromarray(small).resize((side, side), Image.BILINEAR))


def child(side: int, direct: bool) -> dict:
    from napari_unsup_seg.core.image import to_chw
    from napari_unsup_seg.core.large import LargeParams
    from napari_unsup_seg.core.pipeline import SegmentParams, segment
    from napari_unsup_seg.core.progress import drain

    image = to_chw(photo(side))
    params = SegmentParams(seed=0, large=LargeParams(work_pixels=10**12) if direct else LargeParams())
    start = time.perf_counter()
    result = drain(segment(image, None, params))
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB -> GiB
    return {
        "side": side,
        "direct": direct,
        "seconds": round(seconds, 1),
        "peak_gib": round(peak, 2),
        "working": (result.recipe.get("large") or {}).get("working_shape"),
        "labels": int(len(np.unique(result.labels))),
    }


def measure(side: int, direct: bool) -> dict:
    cmd = [sys.executable, __file__, "--child", str(side)] + (["--child-direct"] if direct else [])
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        return {"side": side, "direct": direct, "error": (done.stderr.strip().splitlines() or ["killed"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def scaling(sizes: list[int], direct_up_to: int) -> list[dict]:
    rows = []
    for side in sizes:
        rows.append(measure(side, False))
        print(rows[-1], flush=True)
        if side <= direct_up_to and side > 1024:
            rows.append(measure(side, True))
            print(rows[-1], flush=True)
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| size | path | time (s) | s per Mpixel | peak RSS (GiB) | working size |", "|---|---|---|---|---|---|"]
    for r in rows:
        path = "full resolution (before)" if r["direct"] else ("as is" if r["side"] <= 1024 else "working + tiles")
        if "error" in r:
            lines.append(f"| {r['side']}^2 | {path} | failed: {r['error']} | | | |")
            continue
        mpx = r["side"] ** 2 / 1e6
        working = "x".join(map(str, r["working"])) if r["working"] else "-"
        lines.append(
            f"| {r['side']}^2 | {path} | {r['seconds']} | {r['seconds'] / mpx:.2f} | {r['peak_gib']} | {working} |"
        )
    return "\n".join(lines)


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
    for direct, style, name in ((False, "o-", "working + tiles (default)"), (True, "s--", "full resolution (before)")):
        ok = [r for r in rows if r["direct"] == direct and "error" not in r]
        if not ok:
            continue
        mpx = [r["side"] ** 2 / 1e6 for r in ok]
        left.plot(mpx, [r["seconds"] for r in ok], style, label=name)
        right.plot(mpx, [r["peak_gib"] for r in ok], style, label=name)
    for ax, what in ((left, "time (s)"), (right, "peak resident memory (GiB)")):
        ax.set_xlabel("pixels (millions)")
        ax.set_ylabel(what)
        ax.grid(alpha=0.3)
    right.axhline(4, color="grey", lw=0.8, ls=":")
    left.legend(fontsize=8)
    fig.suptitle("napari-unsup-seg on large RGB images (defaults, no scribbles, 2 CPU cores)", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def quality() -> str:
    sys.path.insert(0, str(HERE))
    import medscribble as ms

    from napari_unsup_seg.core.large import LargeParams, _enlarge_rows
    from napari_unsup_seg.core.pipeline import SegmentParams, segment
    from napari_unsup_seg.core.progress import drain

    runs = [r for i, r in enumerate(ms.list_runs()) if i % 6 == 0]
    scores = {
        "direct (full resolution)": [],
        "nearest enlargement": [],
        "smooth indicators (default)": [],
        "smooth + band walk (band=3)": [],
    }
    for r in runs:
        image = r.image[None].astype(np.float32)
        h, w = r.image.shape
        work = (h // 2) * (w // 2)
        direct = drain(segment(image, r.scribbles, SegmentParams())).labels
        large = drain(segment(image, r.scribbles, SegmentParams(large=LargeParams(work_pixels=work))))
        small = large.coarse.labels
        near = small[np.ix_(_enlarge_rows(small.shape[0], h, 0, h), _enlarge_rows(small.shape[1], w, 0, w))]
        walked = drain(segment(image, r.scribbles, SegmentParams(large=LargeParams(work_pixels=work, band=3)))).labels
        for name, labels in zip(scores, (direct, near, large.labels, walked)):
            scores[name].append(ms.iou_dice(labels == ms.FOREGROUND, r.truth)[0])
    lines = [
        f"{len(runs)} MedScribble dev runs, fitted at half resolution",
        "",
        "| full resolution from | mean IoU |",
        "|---|---|",
    ]
    lines += [f"| {name} | {np.mean(v):.3f} |" for name, v in scores.items()]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048, 4096, 8192])
    parser.add_argument(
        "--direct", type=int, default=0, metavar="N", help="also run sizes up to N at full resolution (the path before)"
    )
    parser.add_argument("--plot", type=Path, help="write the scaling plot (PNG) here")
    parser.add_argument("--quality", action="store_true", help="also the MedScribble working-resolution check")
    parser.add_argument("--no-scaling", action="store_true")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-direct", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.child_direct)))
        return 0
    if not args.no_scaling:
        rows = scaling(args.sizes, args.direct)
        print(table(rows))
        if args.plot:
            plot(rows, args.plot)
            print(f"wrote {args.plot}")
    if args.quality:
        print(quality())
    return 0


if __name__ == "__main__":
    sys.exit(main())
