"""Saving results: the widget's Save button and the npe2 writers of File > Save Layers.

No file is ever replaced without the user's confirmation (``dialogs.confirm_overwrite``);
without a Qt application (headless saving) existing files are refused.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np

from ..core.atomic import atomic_path
from ..core.errors import InputError, InputWarning
from ..core.export import LABELS_TAG, label_dtype, planned_outputs, write_outputs
from .layers import META_KEY


def safe_stem(name: str) -> str:
    """A file-name stem from a layer name."""
    stem = re.sub(r"[^\w.-]+", "_", name.strip()).strip("._")
    return stem or "segmentation"


def _confirm(parent, existing: list[Path]) -> bool:
    from qtpy.QtWidgets import QApplication

    if QApplication.instance() is None:
        return False
    from . import dialogs

    return dialogs.confirm_overwrite(parent, existing)


def export_result(
    outdir: str | Path,
    stem: str,
    labels: np.ndarray,
    *,
    ucm: np.ndarray | None = None,
    recipe: dict | None = None,
    class_names: dict[int, str] | None = None,
    parent=None,
    axes: str | None = None,
    coco: bool = False,
    image_file: str | None = None,
) -> list[Path] | None:
    """Write a result with ``core.export.write_outputs``; None when the user keeps old files.

    A stack's labels go to TIFFs with their ``axes`` (default: ZYX for a (Z, H, W)
    volume) and its voxel size (no PNG). ``coco``: also the two COCO JSON files, whose
    image is named ``image_file`` (default ``<stem>.png``).
    """
    labels = np.asarray(labels)
    axes = axes or ("ZYX" if labels.ndim == 3 else None)
    if axes is not None and len(axes) != labels.ndim:
        raise InputError(f"labels of shape {labels.shape} do not have the axes {axes}")
    planned = planned_outputs(outdir, stem, labels, ucm=ucm is not None, recipe=recipe is not None, coco=coco)
    existing = [p for p in planned if p.exists()]
    if existing and not _confirm(parent, existing):
        return None
    return write_outputs(
        outdir,
        stem,
        labels,
        ucm=ucm,
        recipe=recipe,
        class_names=class_names,
        overwrite=bool(existing),
        axes=axes,
        spacing=_spacing(recipe) if axes and "Z" in axes else None,
        coco=coco,
        image_file=image_file,
    )


def _spacing(recipe: dict | None):
    """The voxel size a volume run used (in its recipe), for the TIFFs."""
    spacing = ((recipe or {}).get("run") or {}).get("spacing")
    return tuple(spacing) if spacing and len(spacing) == 3 else None


def _labels_2d_or_3d(data) -> np.ndarray:
    labels = np.asarray(data)
    if labels.ndim not in (2, 3):
        raise InputError(
            f"only 2D label images and 3D volumes can be saved this way; this one has shape {labels.shape}"
        )
    return labels


def write_label_image(path: str, data, meta: dict) -> list[str]:
    """npe2 writer: one Labels layer as a label image (TIFF, or 16-bit PNG when values fit);
    a volume as a TIFF with axes ZYX."""
    import imageio.v3 as iio
    import tifffile

    labels = _labels_2d_or_3d(data)
    dtype = label_dtype(labels)
    target = Path(path)
    png = target.suffix.lower() == ".png"
    if png and labels.ndim == 3:
        raise InputError("a volume does not fit a PNG; save it as TIFF instead")
    if png and dtype != np.uint16:
        raise InputError("label values above 65535 do not fit a PNG; save as TIFF instead")
    meta = {"axes": "ZYX", **LABELS_TAG} if labels.ndim == 3 else dict(LABELS_TAG)
    with atomic_path(target) as tmp:
        if png:
            iio.imwrite(tmp, labels.astype(np.uint16), extension=".png")
        else:
            tifffile.imwrite(tmp, labels.astype(dtype), compression="zlib", metadata=meta)
    return [str(target)]


def write_segmentation(path: str, data, meta: dict) -> list[str]:
    """npe2 writer: label image + per-class masks + UCM + recipe, named after ``path``.

    Writes ``<stem>_labels.tif``, ``<stem>_masks.tif``, ``<stem>_class_<k>.png`` ... next to
    ``path`` (see ``core.export.write_outputs``); the UCM and recipe come from the layer's
    metadata when the plugin made the layer (a volume's layer holds no UCM: too large).
    """
    labels = _labels_2d_or_3d(data)
    target = Path(path)
    stem = target.stem[: -len("_labels")] if target.stem.endswith("_labels") else target.stem
    info = (meta.get("metadata") or {}).get(META_KEY, {})
    recipe = info.get("recipe") or {"source": f"napari layer '{meta.get('name', '')}'"}
    ucm = info.get("ucm")
    ucm = ucm if ucm is not None and np.ndim(ucm) == labels.ndim else None
    written = export_result(
        target.parent,
        safe_stem(stem),
        labels,
        ucm=ucm,
        recipe=recipe,
        class_names=info.get("class_names") or None,
    )
    if written is None:  # the user chose to keep the existing files: not an error of theirs
        warnings.warn(
            f"you kept the existing files {safe_stem(stem)}_* in {target.parent}: nothing was saved",
            InputWarning,
            stacklevel=2,
        )
        return []
    return [str(p) for p in written]


def save_into_zarr(
    source: str | Path, name: str, labels: np.ndarray, *, level: int = 0, recipe: dict | None = None, parent=None
) -> Path | None:
    """Write a result as the labels group ``name`` of the OME-Zarr image ``source``
    (``core.zarr_io.write_labels``); None when the user keeps an existing group of that name."""
    from ..core import zarr_io

    target = Path(source) / "labels" / name
    if target.exists() and not _confirm(parent, [target]):
        return None
    return zarr_io.write_labels(source, name, np.asarray(labels), level=level, recipe=recipe, overwrite=target.exists())
