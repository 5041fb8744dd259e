"""COCO JSON of a result, for labeling tools (CVAT, Label Studio, Roboflow, pycocotools).

Two files describe one class label image (0 = unlabeled):

* *semantic*: one annotation per class present in each plane, its pixels as one RLE
  (``iscrowd`` 1, as COCO's stuff annotations);
* *instances*: one annotation per connected region of each class (8-connected in a
  plane), or per region of a given instance label image within each class, its pixels
  as an RLE (``iscrowd`` 0).

Category ids are the class values, so a category means the same in both files and in
the label image. A stack (Z, H, W), (T, H, W) or (T, Z, H, W) is one COCO image per
plane, named after the plane's index. Masks are run-length encoded in COCO's own
compressed form (``pycocotools.mask``), their counts as text so that the dict is JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils
from scipy import ndimage
from skimage.measure import label as connected

from .atomic import write_text


def semantic_coco(
    classes: np.ndarray,
    class_names: dict[int, str] | None = None,
    *,
    file_name: str = "image.png",
    axes: str | None = None,
) -> dict:
    """A COCO dict with one annotation per class present in each plane of ``classes``.

    Parameters
    ----------
    classes : (H, W) or (..., H, W) array of whole numbers
        Class values, 0 unlabeled; leading axes are planes (one COCO image each).
    class_names : dict, optional
        ``{value: name}``; a named class appears among the categories even without pixels.
    file_name : str
        The image's file name; a plane's adds its index (:func:`plane_file_name`).
    axes : str, optional
        Letters of the leading axes for the planes' names (default Z, or TZ for 4D).

    Examples
    --------
    >>> coco = semantic_coco(np.array([[0, 1], [2, 2]]), {1: "cell"})
    >>> [(c["id"], c["name"]) for c in coco["categories"]]
    [(1, 'cell'), (2, 'class 2')]
    >>> [(a["category_id"], a["area"], a["bbox"]) for a in coco["annotations"]]
    [(1, 1, [1.0, 0.0, 1.0, 1.0]), (2, 2, [0.0, 1.0, 2.0, 1.0])]
    """
    classes = _check(classes)
    annotations = []
    for image_id, plane in _planes(classes):
        for value in _class_values(plane):
            rle = mask_utils.encode(np.asfortranarray(plane == value, dtype=np.uint8))
            annotations.append(_annotation(len(annotations) + 1, image_id, int(value), rle, iscrowd=1))
    return _document(classes, class_names, annotations, file_name, axes, "semantic classes")


def instances_coco(
    classes: np.ndarray,
    class_names: dict[int, str] | None = None,
    *,
    file_name: str = "image.png",
    regions: np.ndarray | None = None,
    axes: str | None = None,
) -> dict:
    """A COCO dict with one annotation per region of each class in each plane of ``classes``.

    Without ``regions`` an instance is a connected region of one class (8-connected);
    with ``regions``, a label image of the same shape, it is the pixels of one region
    value within one class (a region over two classes makes two instances). Pixels of
    class 0, or of region 0, belong to no instance. Other parameters as in
    :func:`semantic_coco`.

    Examples
    --------
    >>> classes = np.array([[1, 0, 1], [1, 0, 2]])
    >>> coco = instances_coco(classes)
    >>> [(a["category_id"], a["area"], a["bbox"]) for a in coco["annotations"]]
    [(1, 2, [0.0, 0.0, 1.0, 2.0]), (1, 1, [2.0, 0.0, 1.0, 1.0]), (2, 1, [2.0, 1.0, 1.0, 1.0])]
    """
    classes = _check(classes)
    if regions is not None:
        regions = _check(regions, "regions")
        if regions.shape != classes.shape:
            raise ValueError(f"regions of shape {regions.shape} do not fit classes of shape {classes.shape}")
    region_planes = None if regions is None else _flat_planes(regions)
    annotations = []
    for image_id, plane in _planes(classes):
        for value, rle in _instances(plane, None if region_planes is None else region_planes[image_id - 1]):
            annotations.append(_annotation(len(annotations) + 1, image_id, value, rle, iscrowd=0))
    return _document(classes, class_names, annotations, file_name, axes, "instances")


def to_json(coco: dict) -> str:
    """A COCO dict as compact JSON text (a file of thousands of annotations stays small)."""
    return json.dumps(coco, separators=(",", ":"))


def write_coco(path: str | Path, coco: dict) -> Path:
    """Write a COCO dict as JSON, atomically (:func:`core.atomic.write_text`)."""
    return write_text(path, to_json(coco))


def plane_file_name(file_name: str, index: tuple[int, ...], axes: str) -> str:
    """The file name of one plane of a stack: ``cells.tif``, (3,), ``Z`` -> ``cells_z0003.png``.

    A plane is one 2D image that a labeling tool shows; its files are PNG unless the
    stack's name says another 2D format.
    """
    path = Path(file_name)
    suffix = path.suffix if path.suffix.lower() in (".png", ".jpg", ".jpeg", ".bmp") else ".png"
    tags = "_".join(f"{a.lower()}{i:04d}" for a, i in zip(axes, index))
    return f"{path.stem}_{tags}{suffix}"


def _check(labels: np.ndarray, what: str = "classes") -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim < 2:
        raise ValueError(f"{what} must have 2 dimensions or more (planes, H, W); these have shape {labels.shape}")
    if not (np.issubdtype(labels.dtype, np.integer) or labels.dtype == bool):
        raise ValueError(f"{what} must be whole numbers; these are {labels.dtype}")
    if labels.size and labels.min() < 0:
        raise ValueError(f"{what} hold negative values")
    return labels


def _planes(labels: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """(image id from 1, 2D plane) over the leading axes, in C order."""
    for index, plane in enumerate(_flat_planes(labels)):
        yield index + 1, plane


def _flat_planes(labels: np.ndarray) -> np.ndarray:
    """(N, H, W): the planes of (..., H, W) labels in C order."""
    return labels.reshape(int(np.prod(labels.shape[:-2])), *labels.shape[-2:])


def _class_values(plane: np.ndarray) -> np.ndarray:
    values = np.unique(plane)
    return values[values > 0]


def _instances(plane: np.ndarray, regions: np.ndarray | None) -> Iterator[tuple[int, dict]]:
    """(class value, RLE) of each instance of a plane, in the order of their first pixel (row-major)."""
    if not plane.size:
        return
    if regions is None:
        pieces = connected(plane, background=0, connectivity=2)  # numbered in raster order
    else:  # one id per (class, region) pair present, both non-zero
        keys, ids = np.unique(np.stack([plane.ravel(), regions.ravel()], axis=1), axis=0, return_inverse=True)
        kept = (keys[:, 0] > 0) & (keys[:, 1] > 0)
        renumber = np.zeros(len(keys), np.int64)
        renumber[kept] = np.arange(1, int(kept.sum()) + 1)
        pieces = _first_pixel_order(renumber[ids.reshape(-1)].reshape(plane.shape))
    value_of = np.zeros(int(pieces.max()) + 1, np.int64)
    value_of[pieces.ravel()] = plane.ravel()
    for index, box in enumerate(ndimage.find_objects(pieces)):
        if box is not None:
            yield int(value_of[index + 1]), _rle_in_box(pieces[box] == index + 1, box, plane.shape)


def _first_pixel_order(pieces: np.ndarray) -> np.ndarray:
    """``pieces`` renumbered 1..n in the order of each piece's first pixel (row-major), 0 kept."""
    flat = pieces.ravel()
    ids, first = np.unique(flat, return_index=True)
    order = np.argsort(first[ids > 0])
    new = np.zeros(int(flat.max()) + 1, np.int64)
    new[ids[ids > 0][order]] = np.arange(1, len(order) + 1)
    return new[pieces]


def _rle_in_box(crop: np.ndarray, box: tuple[slice, slice], shape: tuple[int, int]) -> dict:
    """The compressed COCO RLE, over a whole (H, W) plane, of a mask given as its crop to ``box``.

    COCO runs go down the columns (Fortran order) and start with a run of zeros; they
    are counted from the crop alone, in time proportional to its pixels, not the plane's.
    """
    height, width = shape
    cols, rows = np.nonzero(crop.T)  # sorted by column, then row: the crop in Fortran order
    flat = (cols + box[1].start) * height + (rows + box[0].start)
    breaks = np.flatnonzero(np.diff(flat) != 1) + 1
    starts = flat[np.r_[0, breaks]]
    ends = flat[np.r_[breaks - 1, len(flat) - 1]] + 1
    counts = np.empty(2 * len(starts) + 1, np.int64)
    counts[0::2] = np.r_[starts, height * width] - np.r_[0, ends]  # zeros before each run, and after the last
    counts[1::2] = ends - starts
    return mask_utils.frPyObjects([{"counts": counts.tolist(), "size": [height, width]}], height, width)[0]


def _annotation(ann_id: int, image_id: int, value: int, rle: dict, *, iscrowd: int) -> dict:
    return {
        "id": ann_id,
        "image_id": image_id,
        "category_id": value,
        "iscrowd": iscrowd,
        "area": int(mask_utils.area(rle)),
        "bbox": [float(v) for v in mask_utils.toBbox(rle)],
        "segmentation": {"size": [int(n) for n in rle["size"]], "counts": rle["counts"].decode("ascii")},
    }


def _document(
    classes: np.ndarray,
    class_names: dict[int, str] | None,
    annotations: list[dict],
    file_name: str,
    axes: str | None,
    what: str,
) -> dict:
    height, width = classes.shape[-2:]
    lead = classes.shape[:-2]
    axes = axes or {0: "", 1: "Z", 2: "TZ"}.get(len(lead), "")
    if len(axes) != len(lead):
        raise ValueError(f"axes {axes!r} do not name the {len(lead)} leading axes of shape {classes.shape}")
    images = [
        {
            "id": k + 1,
            "file_name": plane_file_name(file_name, index, axes) if lead else file_name,
            "height": int(height),
            "width": int(width),
        }
        for k, index in enumerate(np.ndindex(*lead))
    ]
    names = {int(k): str(v) for k, v in (class_names or {}).items() if int(k) > 0}
    values = sorted(set(int(v) for v in _class_values(classes)) | set(names))
    categories = [{"id": v, "name": names.get(v) or f"class {v}", "supercategory": ""} for v in values]
    return {
        "info": {"description": f"napari-unsup-seg {what}", "version": "1.0"},
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": categories,
    }
