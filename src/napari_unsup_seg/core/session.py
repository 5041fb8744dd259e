"""A saved session: one image with its scribbles, classes, result and merge state, in one folder.

An annotator who stops for the day saves the session and opens it again later. The
folder (``<name>.unsupseg/`` by convention) holds::

    session.json       the manifest: {"format": "napari-unsup-seg session", "version": 1, ...}
    image.tif          the image, its dtype and shape as they were
    scribbles.tif      the scribbles (0 = none, 1..K = classes), their dtype as they were
    result.tif         the result as shown (the merge cut plus the hand edits)
    run_labels.npy     the run's own labels (the cut at threshold 0)
    run_scribbles.npy  the scribbles the run was made with (the hierarchy's class votes)
    ucm.npy            the hierarchy as a doubleSize UCM (float32), rebuilt by Hierarchy.from_ucm
    assigned.npy       bool: the pixels given a class by a click (kept whole at every threshold)
    uncertainty.npy    float32: where the run was unsure

Every file but the manifest is optional (listed in it when present). The manifest also
holds the class names and colours, the merge threshold, the part of a stack the result
covers (``where``), the layers' names and geometry, and the run's recipe. A session
is written to a hidden temporary folder and renamed into place in one step
(:func:`core.atomic.atomic_folder`), so a folder is a whole session or absent; an
existing one is never replaced unless asked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .atomic import atomic_folder
from .errors import InputError
from .recipe import jsonable

FORMAT = "napari-unsup-seg session"
VERSION = 1
SUFFIX = ".unsupseg"
MANIFEST = "session.json"
_TIFF = ("image", "scribbles", "result")  # opened by people in other tools
_NPY = ("run_labels", "run_scribbles", "ucm", "assigned", "uncertainty")


@dataclass(frozen=True)
class MergeRecord:
    """The merge slider's state: the threshold shown and what rebuilds the cuts.

    Attributes
    ----------
    threshold : float
        Of the cut the result shows.
    run_labels : array, optional
        The run's own labels (the cut at threshold 0), of the part ``where`` covers.
    run_scribbles : array, optional
        The scribbles the run used (scribble mode: the cuts' class votes).
    assigned : bool array, optional
        Pixels given a class by a click, kept whole at every threshold.
    where : list, optional
        The part of the result's stack the run covers: an int per fixed axis, None for a
        whole one (None: all of it).
    scope : list, optional
        The widget's (depth scope, time scope) of the run.
    """

    threshold: float = 0.0
    run_labels: np.ndarray | None = None
    run_scribbles: np.ndarray | None = None
    assigned: np.ndarray | None = None
    where: list | None = None
    scope: list | None = None


@dataclass(frozen=True)
class Session:
    """What :func:`read_session` reads back (the arguments of :func:`write_session`)."""

    folder: Path
    image: np.ndarray
    scribbles: np.ndarray | None
    class_names: dict[int, str]
    colours: dict[int, tuple[float, ...]]
    labels: np.ndarray | None
    ucm: np.ndarray | None
    merge: MergeRecord
    recipe: dict
    layers: dict = field(default_factory=dict)  # {"image"|"scribbles"|"result": that layer's name, geometry...}
    uncertainty: np.ndarray | None = None

    @property
    def name(self) -> str:
        """The image's name."""
        return self.layers.get("image", {}).get("name") or self.folder.name.removesuffix(SUFFIX)

    def segmentation(self):
        """The run's :class:`core.pipeline.Segmentation` again (None without a run)."""
        return rebuild_segmentation(
            self.merge.run_labels, self.merge.run_scribbles, self.ucm, self.recipe, self.uncertainty
        )


def rebuild_segmentation(labels, scribbles, ucm, recipe, uncertainty=None):
    """A :class:`core.pipeline.Segmentation` from saved arrays, its hierarchy rebuilt from the UCM.

    Its cuts are those of the run's hierarchy: both equal the UCM's (``Hierarchy.from_ucm``).
    No network state: the next run on the reopened image starts from new weights. A stack's
    run (its recipe lists ``frames``) comes back as a :class:`core.series.SeriesSegmentation`
    of one result per time point, the arrays split along T.
    """
    if labels is None:
        return None
    frames = recipe.get("frames")
    if not frames:
        return _rebuild_one(labels, scribbles, ucm, recipe, uncertainty)
    from .series import SeriesSegmentation

    if len(frames) != np.shape(labels)[0]:
        raise InputError(f"the session's result has {np.shape(labels)[0]} time points but its recipe {len(frames)}")
    common = {k: v for k, v in recipe.items() if k not in ("frames", "axes", "spacing", "slice")}
    parts = [
        _rebuild_one(
            labels[t],
            None if scribbles is None else scribbles[t],
            None if ucm is None else ucm[t],
            {**common, "run": run},
            None if uncertainty is None else uncertainty[t],
        )
        for t, run in enumerate(frames)
    ]
    spacing = recipe.get("spacing")
    return SeriesSegmentation(
        parts,
        recipe.get("slice"),
        recipe.get("axes", ""),
        None if spacing is None else tuple(spacing),
        recipe.get("run", {}).get("time_points_done"),
    )


def _rebuild_one(labels, scribbles, ucm, recipe, uncertainty):
    from .hierarchy import Hierarchy
    from .pipeline import Segmentation

    hierarchy = Hierarchy.from_ucm(ucm) if ucm is not None else None
    if hierarchy is not None and hierarchy.shape != np.shape(labels):
        raise InputError(
            f"the session's UCM is of a {'x'.join(map(str, hierarchy.shape))} image but its "
            f"labels are {'x'.join(map(str, np.shape(labels)))}"
        )
    return Segmentation(
        labels=labels,
        hierarchy=hierarchy,
        scribbles=scribbles,
        stopped=bool(recipe.get("run", {}).get("stopped", False)),
        state=None,
        recipe=recipe,
        uncertainty=uncertainty,
    )


def session_path(folder: str | Path, name: str) -> Path:
    """``folder`` itself when it ends in ``.unsupseg``, else ``folder/<name>.unsupseg``."""
    folder = Path(folder)
    return folder if folder.name.endswith(SUFFIX) else folder / f"{name}{SUFFIX}"


def is_session(path: str | Path) -> bool:
    """Whether ``path`` is a folder with a session manifest (readable or not)."""
    return Path(path).is_dir() and (Path(path) / MANIFEST).is_file()


def meant_as_session(path: str | Path) -> bool:
    """Whether ``path`` is a session or is named like one (``<name>.unsupseg``, damaged or not):
    opened as a session, so that what is wrong with it is said."""
    return is_session(path) or Path(path).name.endswith(SUFFIX)


def write_session(
    folder: str | Path,
    image: np.ndarray,
    scribbles: np.ndarray | None,
    class_names: dict[int, str],
    colours: dict[int, tuple[float, ...]],
    labels: np.ndarray | None,
    ucm: np.ndarray | None,
    merge_state: MergeRecord,
    recipe: dict | None,
    *,
    layers: dict | None = None,
    uncertainty: np.ndarray | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a session to the folder ``folder`` (made here) and return its path.

    Raises
    ------
    InputError
        ``folder`` exists and ``overwrite`` is False (the old session is kept), or the
        arrays do not fit together.
    """
    folder = Path(folder)
    if folder.exists() and not overwrite:
        raise InputError(
            f"{folder} exists already: the session there was kept; choose another name or allow replacing it"
        )
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder} is a file, not a session folder")
    image = np.asarray(image)
    arrays = {
        "image": image,
        "scribbles": scribbles,
        "result": labels,
        "run_labels": merge_state.run_labels,
        "run_scribbles": merge_state.run_scribbles,
        "ucm": ucm,
        "assigned": merge_state.assigned,
        "uncertainty": uncertainty,
    }
    arrays = {k: np.asarray(v) for k, v in arrays.items() if v is not None}
    _check_fit(arrays)
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "layers": jsonable(layers or {}),
        "classes": [
            {
                "value": int(k),
                "name": str(class_names.get(k, f"class {k}")),
                "colour": [float(c) for c in colours[k]] if k in colours else None,
            }
            for k in sorted({*map(int, class_names), *map(int, colours)})
        ],
        "merge": {"threshold": float(merge_state.threshold), "where": merge_state.where, "scope": merge_state.scope},
        "recipe": jsonable(recipe or {}),
        "files": {k: {"file": _file_name(k), "shape": list(a.shape), "dtype": a.dtype.str} for k, a in arrays.items()},
    }
    text = json.dumps(manifest, indent=2)
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_folder(folder, replace=overwrite) as tmp:
            for key, array in arrays.items():
                _write_array(tmp / _file_name(key), array)
            (tmp / MANIFEST).write_text(text)
    except FileExistsError:
        raise InputError(f"{folder} exists already: the session there was kept") from None
    except OSError as err:
        raise InputError(f"could not write the session to {folder}: {err.strerror or err}") from err
    return folder


def read_session(folder: str | Path) -> Session:
    """Read a session written by :func:`write_session`.

    Raises
    ------
    InputError
        Not a session folder, a manifest of another format or a newer version, or a file
        missing, unreadable or not what the manifest says.
    """
    folder = Path(folder)
    manifest = _read_manifest(folder)
    try:
        files = dict(manifest.get("files", {}))
        if "image" not in files:
            raise InputError(f"the session {folder.name} has no image")
        arrays = {key: _read_listed(folder, key, entry) for key, entry in files.items() if key in _TIFF + _NPY}
        classes = manifest.get("classes", [])
        merge = manifest.get("merge", {})
        record = MergeRecord(
            threshold=float(merge.get("threshold", 0.0)),
            run_labels=arrays.get("run_labels"),
            run_scribbles=arrays.get("run_scribbles"),
            assigned=arrays.get("assigned"),
            where=merge.get("where"),
            scope=merge.get("scope"),
        )
        session = Session(
            folder=folder,
            image=arrays["image"],
            scribbles=arrays.get("scribbles"),
            class_names={int(c["value"]): str(c["name"]) for c in classes},
            colours={int(c["value"]): tuple(float(v) for v in c["colour"]) for c in classes if c.get("colour")},
            labels=arrays.get("result"),
            ucm=arrays.get("ucm"),
            merge=record,
            recipe=dict(manifest.get("recipe", {})),
            layers=dict(manifest.get("layers", {})),
            uncertainty=arrays.get("uncertainty"),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        if isinstance(err, InputError):
            raise
        raise InputError(f"the session manifest {folder / MANIFEST} is damaged ({type(err).__name__}: {err})") from err
    _check_fit({k: v for k, v in arrays.items()})
    return session


def _file_name(key: str) -> str:
    return f"{key}.tif" if key in _TIFF else f"{key}.npy"


def _write_array(path: Path, array: np.ndarray) -> None:
    if path.suffix == ".npy":
        np.save(path, array, allow_pickle=False)
        return
    import tifffile

    # minisblack: the samples stay as they are (no RGB guess); tifffile keeps the shape in its metadata
    tifffile.imwrite(path, array, photometric="minisblack", compression="zlib")


def _read_manifest(folder: Path) -> dict:
    if not folder.is_dir():
        raise InputError(f"{folder} is not a session folder")
    path = folder / MANIFEST
    if not path.is_file():
        raise InputError(f"{folder} is not a session: it has no {MANIFEST} (an unfinished or foreign folder)")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"the session manifest {path} cannot be read ({type(err).__name__}: {err})") from err
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InputError(f"{path} is not a napari-unsup-seg session manifest")
    version = manifest.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise InputError(
            f"the session {folder.name} is of version {version}; this napari-unsup-seg reads "
            f"version {VERSION} and older: update the plugin"
        )
    return manifest


def _read_listed(folder: Path, key: str, entry: dict) -> np.ndarray:
    name = entry["file"]
    path = folder / name
    if Path(name).name != name or not path.is_file():
        raise InputError(f"the session {folder.name} misses its file {name}")
    try:
        if path.suffix == ".npy":
            array = np.load(path, allow_pickle=False)
        else:
            import tifffile

            array = tifffile.imread(path)
    except Exception as err:  # a truncated or foreign file: said in one sentence
        raise InputError(f"the session file {path} cannot be read ({type(err).__name__}: {err})") from err
    if list(array.shape) != list(entry["shape"]) or array.dtype.str != entry["dtype"]:
        raise InputError(
            f"the session file {path} holds a {array.dtype} array of shape {array.shape}; "
            f"the manifest says {np.dtype(entry['dtype'])} {tuple(entry['shape'])}"
        )
    return array


def _check_fit(arrays: dict[str, np.ndarray]) -> None:
    """The result, scribbles and assigned pixels share a shape; the run's labels and scribbles too."""
    for group in (("scribbles", "result"), ("run_labels", "run_scribbles", "assigned")):
        shapes = {k: arrays[k].shape for k in group if k in arrays}
        if len(set(shapes.values())) > 1:
            words = ", ".join(f"{k} {'x'.join(map(str, s))}" for k, s in shapes.items())
            raise InputError(f"the session's arrays do not fit together: {words}")
    for key in ("scribbles", "result", "run_labels", "run_scribbles"):
        if key in arrays and not np.issubdtype(arrays[key].dtype, np.integer):
            raise InputError(f"the session's {key} must be integers; got {arrays[key].dtype}")
