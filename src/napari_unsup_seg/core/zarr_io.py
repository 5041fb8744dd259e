"""OME-Zarr in and out: read an image at a chosen resolution level, write labels beside it.

Reading goes through the ``ome-zarr`` library, lazily: only the level asked for is read
(a multiscale image's coarser levels make quick work of large images). The axes come
from the image's metadata (``t``, ``c``, ``z``, ``y``, ``x``), the voxel size from the
level's scale.

Labels are written as an OME-Zarr *labels group* of the image (``<image>/labels/<name>``),
one level per level of the image, each with that level's scale, so viewers lay them over
the image at any level; the recipe goes in the group's attributes under
``"napari_unsup_seg"``. The group is written under a hidden name and renamed when
complete, so a crash never leaves a half-written labels group behind that name; an
existing group of that name is replaced only when asked.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .axes import LETTERS, Stack, to_tczyx
from .errors import InputError

META_KEY = "napari_unsup_seg"


@dataclass(frozen=True)
class ZarrImage:
    """What is known of an OME-Zarr image: its axes, its levels and their scales."""

    path: Path
    axes: str  # upper case, as in core.axes: "CZYX", "TYX"...
    shapes: tuple[tuple[int, ...], ...]  # per level
    scales: tuple[tuple[float, ...], ...]  # per level, one per axis
    translations: tuple[tuple[float, ...], ...]

    @property
    def levels(self) -> int:
        return len(self.shapes)

    def spacing(self, level: int = 0) -> tuple[float, float, float] | None:
        """(z, y, x) voxel size at ``level`` (None without a Z axis)."""
        if "Z" not in self.axes:
            return None
        scale = dict(zip(self.axes, self.scales[level]))
        return tuple(float(scale[a]) for a in "ZYX")


def is_ome_zarr(path: str | Path) -> bool:
    """Whether ``path`` is a folder holding OME-Zarr image metadata (any zarr version)."""
    path = Path(path)
    if not path.is_dir():
        return False
    for name in ("zarr.json", ".zattrs"):
        meta = path / name
        if meta.is_file():
            try:
                attrs = json.loads(meta.read_text())
            except (OSError, ValueError):
                return False
            attrs = attrs.get("attributes", attrs)
            return "multiscales" in attrs.get("ome", attrs)
    return False


def _node(path: Path):
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Multiscales, Reader

    location = parse_url(str(path))
    if location is None:
        raise InputError(f"{path}: not an OME-Zarr image (no zarr metadata found)")
    for node in Reader(location)():
        if any(isinstance(spec, Multiscales) for spec in node.specs):
            return node
    raise InputError(f"{path}: holds no multiscale image")


def _no_dask_threads():
    """Dask runs the chunk tasks in the calling thread.

    zarr 3 already reads and writes chunks concurrently on its own event-loop thread;
    dask's thread pool on top of it only adds threads that wait on that loop.
    """
    import dask

    return dask.config.set(scheduler="synchronous")


def open_image(path: str | Path) -> tuple[ZarrImage, list]:
    """The OME-Zarr image at ``path``: its description and its levels as dask arrays (no pixel read)."""
    path = Path(path)
    node = _node(path)
    return _description(node, path), list(node.data)


def describe(path: str | Path) -> ZarrImage:
    """Axes, levels and scales of the OME-Zarr image at ``path``, without reading its pixels."""
    return open_image(path)[0]


def _description(node, path: Path) -> ZarrImage:
    axes = _axes_letters(node.metadata.get("axes"), node.data[0].ndim, path)
    transforms = node.metadata.get("coordinateTransformations") or [[] for _ in node.data]
    scales, translations = [], []
    for level, data in enumerate(node.data):
        scale, translation = [1.0] * data.ndim, [0.0] * data.ndim
        for t in transforms[level] if level < len(transforms) else []:
            if t.get("type") == "scale":
                scale = [float(v) for v in t["scale"]]
            elif t.get("type") == "translation":
                translation = [float(v) for v in t["translation"]]
        scales.append(tuple(scale))
        translations.append(tuple(translation))
    return ZarrImage(
        path, axes, tuple(tuple(int(n) for n in d.shape) for d in node.data), tuple(scales), tuple(translations)
    )


def _axes_letters(axes, ndim: int, path: Path) -> str:
    """OME axes (names or dicts) as core.axes letters."""
    if axes is None:  # OME-Zarr before 0.4 had no axes: always TCZYX
        return "TCZYX"[-ndim:]
    names = [(a["name"] if isinstance(a, dict) else str(a)).upper() for a in axes]
    letters = "".join(names)
    if len(letters) != ndim or not set(letters) <= set(LETTERS) or len(set(letters)) != ndim:
        raise InputError(f"{path}: axes {names} are not among t, c, z, y, x")
    return letters


def read_level(path: str | Path, level: int = 0) -> tuple[np.ndarray, ZarrImage]:
    """The pixels of one level (only that level is read) and the image's description."""
    info, levels = open_image(path)
    if not 0 <= level < info.levels:
        raise InputError(f"{path}: level {level} does not exist; the image has levels 0 to {info.levels - 1}")
    with _no_dask_threads():
        return np.asarray(levels[level]), info


def read_stack(path: str | Path, level: int = 0) -> Stack:
    """An OME-Zarr image at ``level`` as a :class:`core.axes.Stack`."""
    data, info = read_level(path, level)
    return Stack(to_tczyx(data, info.axes), info.axes, info.spacing(level))


def label_axes(axes: str) -> str:
    """The axes of an image's labels: its axes without C."""
    return axes.replace("C", "")


def pyramid(labels: np.ndarray, level: int, info: ZarrImage) -> list[np.ndarray]:
    """``labels`` (computed at ``level``) brought to the shape of every level, by nearest neighbour."""
    keep = [i for i, a in enumerate(info.axes) if a != "C"]
    out = []
    for shape in info.shapes:
        target = tuple(shape[i] for i in keep)
        index = np.ix_(*[(np.arange(n) * labels.shape[d]) // n for d, n in enumerate(target)])
        out.append(np.ascontiguousarray(labels[index]))
    if out[level].shape != labels.shape:
        raise InputError(
            f"labels of shape {labels.shape} do not fit level {level} of the image "
            f"({tuple(info.shapes[level][i] for i in keep)})"
        )
    return out


def write_labels(
    path: str | Path,
    name: str,
    labels: np.ndarray,
    *,
    level: int = 0,
    recipe: dict | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``labels`` (of level ``level``) as the labels group ``name`` of the image at ``path``.

    Returns the group's path. Refuses (InputError) a name in use unless ``overwrite``.
    """
    import zarr
    from ome_zarr.writer import write_multiscale_labels

    path = Path(path)
    info = describe(path)
    if not name or "/" in name or name.startswith("."):
        raise InputError(f"labels name {name!r}: use a plain name (letters, digits, - and _)")
    target = path / "labels" / name
    if target.exists() and not overwrite:
        raise InputError(f"{target} exists already; use --overwrite to replace it")
    levels = pyramid(np.asarray(labels), level, info)
    dtype = np.uint8 if max(int(a.max(initial=0)) for a in levels) < 256 else np.uint32
    keep = [i for i, a in enumerate(info.axes) if a != "C"]
    transforms = [
        [{"type": "scale", "scale": [s[i] for i in keep]}, {"type": "translation", "translation": [t[i] for i in keep]}]
        for s, t in zip(info.scales, info.translations)
    ]
    root = zarr.open_group(str(path), mode="a")
    partial = f".{name}.partial"
    shutil.rmtree(path / "labels" / partial, ignore_errors=True)
    try:
        with _no_dask_threads():
            write_multiscale_labels(
                [a.astype(dtype) for a in levels],
                root,
                partial,
                axes=label_axes(info.axes).lower(),
                coordinate_transformations=transforms,
            )
        group = zarr.open_group(str(path / "labels" / partial), mode="a")
        group.attrs[META_KEY] = json.loads(json.dumps(recipe or {}, default=str))
    except BaseException:
        shutil.rmtree(path / "labels" / partial, ignore_errors=True)
        _set_labels_list(path / "labels", drop=partial)
        raise
    if target.exists():
        shutil.rmtree(target)
    (path / "labels" / partial).rename(target)
    _set_labels_list(path / "labels", drop=partial, add=name)
    return target


def recipe_of(group_path: str | Path) -> dict | None:
    """The recipe a labels group written by :func:`write_labels` holds; None for others'."""
    import zarr

    try:
        return dict(zarr.open_group(str(group_path), mode="r").attrs[META_KEY])
    except Exception:  # no such group, not zarr, or no recipe of ours: not ours
        return None


def _set_labels_list(labels_dir: Path, drop: str, add: str | None = None) -> None:
    """Edit the list of label names of an image's ``labels`` group (OME-Zarr 0.5 or earlier)."""
    import zarr

    if not labels_dir.is_dir():
        return
    group = zarr.open_group(str(labels_dir), mode="a")
    ome = dict(group.attrs.get("ome", {}))
    holder = ome if "labels" in ome or "version" in ome else dict(group.attrs)
    names = [n for n in holder.get("labels", []) if n not in (drop, add)] + ([add] if add else [])
    if holder is ome:
        ome["labels"] = names
        group.attrs["ome"] = ome
    else:
        group.attrs["labels"] = names
