"""Train the shipped contour network (``core.contour_net``) on the BSDS500 train boundaries, on CPU.

    nice -n 15 python scripts/train_contours.py --out /tmp/contours_run --seed 0

Data: the 200 BSDS500 train images and their human segmentations only (val chooses the
checkpoint with ``--val-images``; no test image is read). Each step draws ``--batch`` crops of
``--crop`` pixels: a random image, a random scale in [``--scale-min``, ``--scale-max``] (the crop
is cut at size crop / scale and resized; the annotators' segmentations by nearest neighbour, so
their boundaries stay one pixel thick), a random flip and right-angle rotation. The target is the
annotators' consensus: a pixel is a boundary when at least ``--eta`` of them mark it, background
when none does, and ignored in between (as in RCF, Liu et al. 2017). Loss: class-balanced binary
cross-entropy (HED's weighting, negatives weighted 1.1) on the four side outputs and the fused
one. Adam with a cosine learning-rate decay over ``--steps``, from scratch or from the weights
of ``--init``; a checkpoint every ``--every``
steps (``step_<n>.pt``, loadable by ``load_contour_net``) and ``final.pt``. One torch thread.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from napari_unsup_seg.core.contour_net import FORMAT, ContourNet, input_features, load_contour_net  # noqa: E402
from napari_unsup_seg.core.contours import segmentation_boundaries  # noqa: E402
from napari_unsup_seg.core.evaluate import load_bsds_gt  # noqa: E402
from napari_unsup_seg.core.image import load_image  # noqa: E402


def bsds_root() -> Path:
    return ROOT.parent / "shared" / "data" / "bsds500"


def load_split(split: str, n: int | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """(image (3, H, W) float32, segmentations (K, H, W) int32) of the first n images of a split."""
    root = bsds_root() / split
    ids = sorted(p.stem for p in (root / "images").glob("*.jpg"))[:n]
    return [
        (load_image(root / "images" / f"{i}.jpg"), np.stack(load_bsds_gt(root / "gt" / f"{i}.npz")).astype(np.int32))
        for i in ids
    ]


def consensus(segs: np.ndarray) -> np.ndarray:
    return np.mean([segmentation_boundaries(s) for s in segs], 0).astype(np.float32)


def sample_crop(rng: np.random.Generator, image: np.ndarray, segs: np.ndarray, args) -> tuple[np.ndarray, np.ndarray]:
    """One augmented crop: (6, crop, crop) input features and (crop, crop) consensus in [0, 1]."""
    from skimage.transform import resize

    height, width = image.shape[1:]
    scale = float(np.exp(rng.uniform(np.log(args.scale_min), np.log(args.scale_max))))
    side = min(int(round(args.crop / scale)), height, width)
    y, x = int(rng.integers(0, height - side + 1)), int(rng.integers(0, width - side + 1))
    img = image[:, y : y + side, x : x + side]
    seg = segs[:, y : y + side, x : x + side]
    if side != args.crop:
        shape = (args.crop, args.crop)
        img = np.stack([resize(c, shape, order=1, anti_aliasing=side > args.crop) for c in img]).astype(np.float32)
        seg = np.stack([resize(s, shape, order=0, preserve_range=True, anti_aliasing=False) for s in seg])
    target = consensus(seg.astype(np.int32))
    feats = input_features(img)
    if rng.random() < 0.5:
        feats, target = feats[:, :, ::-1], target[:, ::-1]
    k = int(rng.integers(0, 4))
    feats, target = np.rot90(feats, k, (1, 2)), np.rot90(target, k)
    return np.ascontiguousarray(feats), np.ascontiguousarray(target)


def balanced_bce(logits: torch.Tensor, target: torch.Tensor, eta: float) -> torch.Tensor:
    """HED / RCF class-balanced cross-entropy of (N, S, H, W) logits against (N, H, W) consensus."""
    pos = (target >= eta).float()
    neg = (target == 0).float()
    n_pos, n_neg = pos.sum(), neg.sum()
    total = n_pos + n_neg
    weight = (pos * n_neg / total + neg * 1.1 * n_pos / total)[:, None].expand_as(logits)
    labels = pos[:, None].expand_as(logits)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels, weight=weight, reduction="sum")
    return loss / target.numel()


def save(net: ContourNet, path: Path, args, step: int, seconds: float) -> None:
    payload = {
        "format": FORMAT,
        "version": 1,
        "config": {"width": args.width},
        "state_dict": {k: v.detach().clone() for k, v in net.state_dict().items()},
        "meta": {
            "data": "BSDS500 train (200 images), human boundaries",
            "step": step,
            "seconds": round(seconds, 1),
            "args": {k: v for k, v in vars(args).items() if k != "out"},
        },
    }
    tmp = path.with_suffix(".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    path.with_name(path.name + ".sha256").write_text(f"{digest}  {path.name}\n")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--crop", type=int, default=224)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--eta", type=float, default=0.3)
    p.add_argument("--scale-min", type=float, default=0.7)
    p.add_argument("--scale-max", type=float, default=1.4)
    p.add_argument("--every", type=int, default=250)
    p.add_argument("--n-train", type=int, default=None, help="first n train images (default all 200)")
    p.add_argument("--init", default=None, help="contour weights file to start from (its width is kept)")
    args = p.parse_args(argv)

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = load_split("train", args.n_train)
    if args.init:
        net = load_contour_net(args.init).train()
        args.width = net.sides[0].in_channels
    else:
        net = ContourNet(args.width)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.steps, eta_min=args.lr * 0.01)
    start, log = time.perf_counter(), []
    for step in range(1, args.steps + 1):
        crops = [sample_crop(rng, *data[int(rng.integers(len(data)))], args) for _ in range(args.batch)]
        x = torch.from_numpy(np.stack([c[0] for c in crops]))
        y = torch.from_numpy(np.stack([c[1] for c in crops]))
        loss = balanced_bce(net(x), y, args.eta)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        log.append(loss.item())
        if step % 25 == 0:
            elapsed = time.perf_counter() - start
            print(f"step {step} loss {np.mean(log[-25:]):.4f} {elapsed:.0f} s", flush=True)
        if step % args.every == 0 or step == args.steps:
            save(
                net,
                out / (f"step_{step}.pt" if step < args.steps else "final.pt"),
                args,
                step,
                time.perf_counter() - start,
            )
    (out / "log.json").write_text(json.dumps({"loss": log, "seconds": time.perf_counter() - start}))


if __name__ == "__main__":
    main()
