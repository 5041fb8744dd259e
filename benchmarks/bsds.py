"""BSDS500 for the benchmarks: listing, loading, scribble synthesis and scribble-class mIoU.

The data lives outside the repository (``../shared/data/bsds500`` next to the checkout,
or ``$BSDS500_DIR``): see shared/data/README.md. Every entry point raises
:class:`DataMissing` with a clear message when the folder is absent, so a benchmark can
print it and exit, and a test can skip.

Scribbles imitate a person: in the K largest regions of one annotator's ground truth
(K drawn between 2 and 5 per image, seeded), a few short strokes, a few pixels wide,
along the skeleton of the region shrunk away from its border. Each region is its own
class 1..K.
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT_ENV = "NAPARI_UNSUP_SEG_BSDS"  # the same variable as the other benchmarks


class DataMissing(RuntimeError):
    """The BSDS500 folder (or one of its files) is not there."""


def data_root() -> Path:
    """Return the BSDS500 folder, or raise :class:`DataMissing`."""
    candidates = [os.environ.get(ROOT_ENV)] if os.environ.get(ROOT_ENV) else []
    here = Path(__file__).resolve().parent.parent
    candidates += [here.parent / "shared" / "data" / "bsds500", here / "shared" / "data" / "bsds500"]
    for cand in candidates:
        if cand and (Path(cand) / "val" / "images").is_dir():
            return Path(cand)
    raise DataMissing(
        "BSDS500 not found: expected ../shared/data/bsds500/<split>/images next to the checkout "
        f"(or set ${ROOT_ENV}); see shared/data/README.md"
    )


def list_images(split: str = "val", root: Path | None = None) -> list[str]:
    """Sorted image ids of a split that have both a JPEG and a ground-truth file."""
    root = root or data_root()
    ids = sorted(p.stem for p in (root / split / "images").glob("*.jpg"))
    return [i for i in ids if (root / split / "gt" / f"{i}.npz").exists()]


def load_image(image_id: str, split: str = "val", root: Path | None = None) -> np.ndarray:
    """(H, W, 3) uint8 RGB."""
    import imageio.v3 as iio

    root = root or data_root()
    path = root / split / "images" / f"{image_id}.jpg"
    if not path.exists():
        raise DataMissing(f"{path}: missing")
    return np.asarray(iio.imread(path))


def load_gt(image_id: str, split: str = "val", root: Path | None = None) -> np.ndarray:
    """(A, H, W) int32: one region map (labels 1..n) per annotator."""
    root = root or data_root()
    path = root / split / "gt" / f"{image_id}.npz"
    if not path.exists():
        raise DataMissing(f"{path}: missing")
    with np.load(path) as data:
        return data["seg"].astype(np.int32)


@dataclass
class ScribbleCase:
    """Scribbles for one image and the ground truth they are scored against."""

    image_id: str
    scribbles: np.ndarray  # (H, W) int32, 0 = none, 1..K
    target: np.ndarray  # (H, W) int32: class 1..K of the scribbled GT regions, 0 = ignored
    n_classes: int


def _walk(skeleton: np.ndarray, start: tuple[int, int], length: int) -> list[tuple[int, int]]:
    """Pixels of the skeleton within ``length`` steps of ``start`` (breadth first)."""
    h, w = skeleton.shape
    seen = {start: 0}
    queue = deque([start])
    while queue:
        y, x = queue.popleft()
        d = seen[(y, x)]
        if d >= length:
            continue
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                ny, nx = y + dy, x + dx
                if 0 <= ny < h and 0 <= nx < w and skeleton[ny, nx] and (ny, nx) not in seen:
                    seen[(ny, nx)] = d + 1
                    queue.append((ny, nx))
    return list(seen)


def _strokes(region: np.ndarray, rng: np.random.Generator, n_strokes: int, width: int) -> np.ndarray:
    """A few short skeleton strokes inside a boolean region, kept away from its border."""
    from scipy import ndimage as ndi
    from skimage.morphology import skeletonize

    dist = ndi.distance_transform_edt(region)
    margin = min(8.0, 0.5 * dist.max())
    inner = dist > margin
    skeleton = skeletonize(inner) if inner.any() else region & (dist >= dist.max())
    ys, xs = np.nonzero(skeleton)
    out = np.zeros(region.shape, bool)
    length = int(np.clip(0.3 * np.sqrt(region.sum()), 8, 60))
    for _ in range(n_strokes):
        j = rng.integers(len(ys))
        for y, x in _walk(skeleton, (int(ys[j]), int(xs[j])), length):
            out[y, x] = True
    if width > 1:
        out = ndi.binary_dilation(out, iterations=width // 2)
    return out & region


def synthesize_scribbles(
    gt: np.ndarray,
    seed: int,
    *,
    k_range: tuple[int, int] = (2, 5),
    n_strokes: int = 2,
    width: int = 3,
    image_id: str = "",
) -> ScribbleCase:
    """Scribble the K largest regions of one annotator's map ``gt`` (H, W); K drawn in ``k_range``."""
    rng = np.random.default_rng(seed)
    ids, counts = np.unique(gt[gt > 0], return_counts=True)
    order = ids[np.argsort(-counts, kind="stable")]
    k = int(min(len(order), rng.integers(k_range[0], k_range[1] + 1)))
    scribbles = np.zeros(gt.shape, np.int32)
    target = np.zeros(gt.shape, np.int32)
    for cls, region_id in enumerate(order[:k], start=1):
        region = gt == region_id
        target[region] = cls
        scribbles[_strokes(region, rng, n_strokes, width)] = cls
    return ScribbleCase(image_id, scribbles, target, k)


def load_case(image_id: str, seed: int = 0, annotator: int = 0, split: str = "val", **kw) -> ScribbleCase:
    """Scribbles for an image from one annotator (index wraps around), seeded by image and seed."""
    gt = load_gt(image_id, split)
    return synthesize_scribbles(gt[annotator % len(gt)], seed=hash_seed(image_id, seed), image_id=image_id, **kw)


def hash_seed(image_id: str, seed: int) -> int:
    """A stable per-image seed (Python's hash() is salted per process)."""
    return (int("".join(c for c in image_id if c.isdigit()) or "0") * 1000003 + seed) % (2**32)


def scribble_miou(pred: np.ndarray, case: ScribbleCase) -> float:
    """Mean IoU over the scribbled classes.

    Scored pixels: those of the GT regions that received a scribble, minus the scribbled
    pixels themselves (every method gets those for free). Pixels of unscribbled GT regions
    are ignored: no class was asked for them.
    """
    valid = (case.target > 0) & (case.scribbles == 0)
    p, t = pred[valid], case.target[valid]
    ious = []
    for cls in range(1, case.n_classes + 1):
        inter = np.count_nonzero((p == cls) & (t == cls))
        union = np.count_nonzero((p == cls) | (t == cls))
        if union:
            ious.append(inter / union)
    return float(np.mean(ious)) if ious else float("nan")
