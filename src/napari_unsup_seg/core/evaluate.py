"""Score a folder of predictions against a folder of ground truths (BSDS500 region benchmark).

Ground truth: ``<id>.npz`` with key ``seg`` (K, H, W), one plane per annotator (the layout
of ``shared/data/bsds500/*/gt``); the original BSDS ``<id>.mat`` files; or a single label
image ``<id>.png`` / ``.tif`` / ``.npy``.

Predictions, for each ground-truth id (first match wins): ``<id>_ucm.{tif,tiff,png,npy}``,
``<id>_labels.{tif,tiff,png,npy}``, ``<id>.{tif,tiff,png,npy}``. A (2H+1, 2W+1) array is a
doubleSize UCM scored at every threshold (integer UCMs are divided by their type's maximum);
a (H, W) integer array is a fixed segmentation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import InputError, brief
from .image import read_array
from .metrics import evaluate_ucms

__all__ = ["evaluate_folder", "find_prediction", "format_table", "load_bsds_gt"]

GT_SUFFIXES = (".npz", ".mat", ".png", ".tif", ".tiff", ".npy")
PRED_SUFFIXES = (".tif", ".tiff", ".png", ".npy")
PRED_STEMS = ("{id}_ucm", "{id}_labels", "{id}")


def load_bsds_gt(path: str | Path) -> list[np.ndarray]:
    """Annotators' segmentations of one image as a list of (H, W) int32 arrays."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such ground-truth file")
    try:
        segs = _read_gt(path)
    except InputError:
        raise
    except Exception as err:  # readers raise many types for a damaged file
        raise InputError(f"{path}: cannot be read as ground truth ({brief(err)})") from err
    for seg in segs:
        if seg.ndim != 2 or seg.size == 0 or not np.issubdtype(seg.dtype, np.number):
            raise InputError(
                f"{path}: each ground-truth segmentation must be a non-empty 2D array of labels; "
                f"got shape {seg.shape}, type {seg.dtype}"
            )
    if not segs:
        raise InputError(f"{path}: holds no ground-truth segmentation")
    return [seg.astype(np.int32) for seg in segs]


def _read_gt(path: Path) -> list[np.ndarray]:
    suffix = path.suffix.lower()
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as data:
            if "seg" not in data:
                raise InputError(f"{path}: the ground-truth file has no 'seg' array")
            seg = np.asarray(data["seg"])
        if seg.ndim == 2:
            seg = seg[None]
        if seg.ndim != 3:
            raise InputError(f"{path}: 'seg' must be (K, H, W); got shape {seg.shape}")
        return list(seg)
    if suffix == ".mat":
        from scipy.io import loadmat

        mat = loadmat(path)
        if "groundTruth" not in mat:
            raise InputError(f"{path}: a BSDS .mat file holds 'groundTruth'; this one does not")
        return [np.asarray(cell["Segmentation"][0, 0]) for cell in mat["groundTruth"].ravel()]
    return [read_array(path)]


def find_prediction(pred_dir: Path, image_id: str) -> Path | None:
    """The prediction file of ``image_id`` in ``pred_dir`` (see the module docs), or None."""
    for stem in PRED_STEMS:
        for suffix in PRED_SUFFIXES:
            candidate = pred_dir / (stem.format(id=image_id) + suffix)
            if candidate.is_file():
                return candidate
    return None


def _load_prediction(path: Path, shape: tuple[int, int]) -> tuple[np.ndarray, str]:
    array = np.asarray(read_array(path))
    if array.ndim == 3 and 1 in (array.shape[0], array.shape[-1]):
        array = array.reshape(array.shape[1:] if array.shape[0] == 1 else array.shape[:-1])
    h, w = shape
    if array.shape == (2 * h + 1, 2 * w + 1):
        if np.issubdtype(array.dtype, np.integer):
            array = array.astype(np.float32) / np.float32(np.iinfo(array.dtype).max)
        array = array.astype(np.float32)
        if not np.all(np.isfinite(array)) or array.min() < 0 or array.max() > 1:
            raise InputError(f"{path}: a UCM must hold values in [0, 1]")
        return array, "ucm"
    if array.shape == (h, w):
        if np.issubdtype(array.dtype, np.floating):
            if not np.all(array == np.round(array)):
                raise InputError(f"{path}: a label image must hold whole numbers")
            array = array.astype(np.int64)
        return array, "labels"
    raise InputError(
        f"{path}: shape {array.shape} fits neither the ground truth ({h}x{w}) "
        f"nor a doubleSize UCM ({2 * h + 1}x{2 * w + 1})"
    )


def evaluate_folder(pred_dir: str | Path, gt_dir: str | Path, n_thresholds: int = 99) -> dict:
    """Score every prediction in ``pred_dir`` that has a ground truth in ``gt_dir``.

    Returns the dict of :func:`~napari_unsup_seg.core.metrics.evaluate_ucms` (SC, PRI, VI
    at ODS and OIS, ``n_images``) plus ``n_missing`` (ground truths without a
    prediction) and ``kind`` ("ucm", "labels" or "mixed").
    """
    pred_dir, gt_dir = Path(pred_dir), Path(gt_dir)
    for folder, what in ((pred_dir, "prediction"), (gt_dir, "ground-truth")):
        if not folder.is_dir():
            raise InputError(f"{folder}: the {what} folder does not exist")
    gt_files: dict[str, Path] = {}
    for path in sorted(gt_dir.iterdir()):
        if path.suffix.lower() in GT_SUFFIXES and path.is_file():
            gt_files.setdefault(path.stem, path)
    if not gt_files:
        raise InputError(f"{gt_dir}: no ground-truth files (.npz, .mat or label images)")
    preds, gts, kinds, missing = [], [], set(), 0
    for image_id, gt_path in gt_files.items():
        pred_path = find_prediction(pred_dir, image_id)
        if pred_path is None:
            missing += 1
            continue
        image_gts = load_bsds_gt(gt_path)
        pred, kind = _load_prediction(pred_path, image_gts[0].shape)
        preds.append(pred)
        gts.append(image_gts)
        kinds.add(kind)
    if not preds:
        raise InputError(
            f"{pred_dir}: no prediction matches a ground truth of {gt_dir} "
            "(expected files like <id>_ucm.tif or <id>_labels.tif)"
        )
    scores = evaluate_ucms(preds, gts, n_thresholds)
    scores["n_missing"] = missing
    scores["kind"] = kinds.pop() if len(kinds) == 1 else "mixed"
    if scores["kind"] == "labels":
        for key in ("SC_ODS_threshold", "PRI_ODS_threshold", "VI_ODS_threshold"):
            scores.pop(key, None)
    return scores


def format_table(scores: dict, reference: dict | None = None, reference_name: str = "reference") -> str:
    """A plain-text table of SC, PRI and VI at ODS and OIS (optionally beside a reference)."""
    head = f"{'metric':<8}{'ODS':>8}{'OIS':>8}"
    if reference:
        head += f"   {reference_name}: ODS / OIS"
    lines = [head]
    for metric, better in (("SC", "higher"), ("PRI", "higher"), ("VI", "lower")):
        line = f"{metric:<8}{scores[metric + '_ODS']:>8.3f}{scores[metric + '_OIS']:>8.3f}"
        if reference:
            line += f"   {reference[metric + '_ODS']:.2f} / {reference[metric + '_OIS']:.2f}"
        lines.append(line + f"   ({better} is better)")
    tail = f"{scores.get('n_images', '?')} images"
    if scores.get("n_missing"):
        tail += f", {scores['n_missing']} without a prediction"
    if "SC_ODS_threshold" in scores:
        tail += (
            f"; ODS thresholds SC {scores['SC_ODS_threshold']:.2f}, PRI {scores['PRI_ODS_threshold']:.2f},"
            f" VI {scores['VI_ODS_threshold']:.2f}"
        )
    lines.append(tail)
    return "\n".join(lines)
