"""MedScribble (dev split) for the benchmarks: listing, loading, scoring.

The data lives outside the repository (``../shared/data/medscribble-dev`` next to the
checkout, or ``$NAPARI_UNSUP_SEG_MEDSCRIBBLE``); see shared/data/README.md. Each case is
one image, its mask and the scribbles of up to three annotators; a *run* is one image
with one annotator's scribbles. Scribbles become a label image with 1 = background and
2 = foreground; a pixel marked in both channels counts as unlabeled.

Scoring follows the data's README: foreground IoU and Dice against ``seg > 0.5`` per run
(both 1 when the prediction and the truth are empty), averaged over runs; a failed run
scores 0.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT_ENV = "NAPARI_UNSUP_SEG_MEDSCRIBBLE"
BACKGROUND, FOREGROUND = 1, 2


class DataMissing(RuntimeError):
    """The MedScribble folder (or one of its files) is not there."""


def data_root() -> Path:
    """Return the medscribble-dev folder, or raise :class:`DataMissing`."""
    candidates = [os.environ.get(ROOT_ENV)] if os.environ.get(ROOT_ENV) else []
    here = Path(__file__).resolve().parent.parent
    candidates += [here.parent / "shared" / "data" / "medscribble-dev", here / "shared" / "data" / "medscribble-dev"]
    for cand in candidates:
        if cand and Path(cand).is_dir() and any(Path(cand).glob("*/*/*/img.npy")):
            return Path(cand)
    raise DataMissing(
        "MedScribble not found: expected ../shared/data/medscribble-dev/<dataset>/<subset>/<case>/img.npy "
        f"next to the checkout (or set ${ROOT_ENV}); see shared/data/README.md"
    )


@dataclass(frozen=True)
class Run:
    """One image with one annotator's scribbles."""

    dataset: str
    case: str
    annotator: int
    image: np.ndarray  # (H, W) float32 in [0, 1]
    truth: np.ndarray  # (H, W) bool
    scribbles: np.ndarray  # (H, W) int32: 0 unlabeled, 1 background, 2 foreground

    @property
    def name(self) -> str:
        return f"{self.dataset}/{self.case}#{self.annotator}"


def scribble_labels(channels: np.ndarray) -> np.ndarray:
    """(2, H, W) foreground/background marks -> (H, W) int32 labels (1 bg, 2 fg, 0 none)."""
    fg, bg = channels[0] > 0, channels[1] > 0
    out = np.zeros(fg.shape, np.int32)
    out[bg & ~fg] = BACKGROUND
    out[fg & ~bg] = FOREGROUND
    return out


def list_runs(root: Path | None = None, datasets: list[str] | None = None) -> list[Run]:
    """Every (case, annotator) run, sorted by dataset, case and annotator."""
    root = root or data_root()
    runs = []
    for img_path in sorted(root.glob("*/*/*/img.npy")):
        folder = img_path.parent
        dataset = folder.parent.parent.name
        if datasets and dataset not in datasets:
            continue
        image = np.load(img_path).astype(np.float32)
        truth = np.load(folder / "seg.npy") > 0.5
        for spath in sorted(folder.glob("scribble_*.npy")):
            annotator = int(spath.stem.split("_")[1])
            scr = scribble_labels(np.load(spath))
            runs.append(Run(dataset, f"{folder.parent.name}/{folder.name}", annotator, image, truth, scr))
    if not runs:
        raise DataMissing(f"{root}: no runs found")
    return runs


def iou_dice(pred_fg: np.ndarray | None, truth: np.ndarray) -> tuple[float, float]:
    """Foreground IoU and Dice; (1, 1) when both are empty, (0, 0) for a failed run (None)."""
    if pred_fg is None:
        return 0.0, 0.0
    pred_fg = np.asarray(pred_fg, bool)
    inter = np.count_nonzero(pred_fg & truth)
    union = np.count_nonzero(pred_fg | truth)
    total = np.count_nonzero(pred_fg) + np.count_nonzero(truth)
    if union == 0:
        return 1.0, 1.0
    return inter / union, 2 * inter / total
