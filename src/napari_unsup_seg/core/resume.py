"""A batch's outputs on disk: which images are done, which to redo, which files are not ours.

An image's outputs are written one file at a time, each atomically, the recipe last,
while a hidden marker ``.<stem>.unfinished`` says that writing (or the run) has not
ended. The recipe carries a *fingerprint*: the settings and a digest of each input
array. So a rerun can tell apart:

* ``"new"``: no output of that image exists;
* ``"done"``: its recipe holds the same fingerprint: skip it;
* ``"unfinished"``: the marker is there (a crash, a kill, a stop): redo it, replacing
  those files, which are ours;
* ``"occupied"``: outputs exist from other settings or inputs, or files that carry that
  name but no recipe of ours: replaced only with ``--overwrite``.
"""

from __future__ import annotations

import hashlib
import json
import re
from contextlib import suppress
from pathlib import Path

import numpy as np

from .atomic import write_text

FIXED_OUTPUTS = (
    "labels.tif",
    "labels.png",
    "masks.tif",
    "ucm.tif",
    "uncertainty.tif",
    "coco_instances.json",
    "coco_semantic.json",
    "recipe.json",
)
OUTPUT_SUFFIX = re.compile("(" + "|".join(map(re.escape, FIXED_OUTPUTS)) + r"|class_\d+\.png)")
STATES = ("new", "done", "unfinished", "occupied")


def is_output_name(name: str, stem: str) -> bool:
    """Whether a file named ``name`` is one of the outputs of image ``stem``."""
    return name.startswith(stem + "_") and OUTPUT_SUFFIX.fullmatch(name[len(stem) + 1 :]) is not None


def array_digest(array: np.ndarray | None) -> str | None:
    """sha256 of an array's shape, dtype and values (None for None)."""
    if array is None:
        return None
    array = np.ascontiguousarray(array)
    digest = hashlib.sha256(f"{array.shape}{array.dtype.str}".encode())
    digest.update(array.tobytes())
    return digest.hexdigest()


def fingerprint(settings: dict, **inputs: np.ndarray | None) -> dict:
    """What makes two runs the same: JSON-ready settings and the digest of each input."""
    return {
        "settings": json.loads(json.dumps(settings, sort_keys=True)),
        "inputs": {name: array_digest(value) for name, value in sorted(inputs.items())},
    }


def marker_path(outdir: Path, stem: str) -> Path:
    return Path(outdir) / f".{stem}.unfinished"


def mark_unfinished(outdir: Path, stem: str) -> None:
    write_text(marker_path(outdir, stem), "napari-unsup-seg: outputs of this image are being written\n")


def mark_finished(outdir: Path, stem: str) -> None:
    with suppress(FileNotFoundError):
        marker_path(outdir, stem).unlink()


def listing(outdir: Path) -> list[str]:
    """The file names in ``outdir`` (none when it does not exist)."""
    outdir = Path(outdir)
    return [p.name for p in outdir.iterdir()] if outdir.is_dir() else []


def existing_outputs(outdir: Path, stem: str, listing: list[str] | None = None) -> list[Path]:
    """Output files of ``stem`` present in ``outdir`` (``listing``: its file names, if known).

    Without ``listing`` the folder is not listed, as that would cost each image of a batch
    time in proportion to the whole folder: the names looked for are the fixed ones and
    those that the recipe of an earlier run records under ``"outputs"``.
    """
    outdir = Path(outdir)
    if listing is None:
        names = {f"{stem}_{suffix}" for suffix in FIXED_OUTPUTS} | set(recorded_outputs(outdir, stem))
        listing = [name for name in names if (outdir / name).exists()]
    return [outdir / name for name in sorted(listing) if is_output_name(name, stem)]


def recorded_outputs(outdir: Path, stem: str) -> list[str]:
    """The file names the recipe of ``stem`` in ``outdir`` lists as written with it."""
    try:
        names = json.loads((Path(outdir) / f"{stem}_recipe.json").read_text()).get("outputs", [])
    except (OSError, ValueError, AttributeError):
        return []
    return [name for name in names if isinstance(name, str) and "/" not in name]


def _recipe_fingerprint(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text()).get("fingerprint")
    except (OSError, ValueError, AttributeError):
        return None


def output_state(outdir: Path, stem: str, expected: dict, listing: list[str] | None = None) -> str:
    """One of :data:`STATES` for image ``stem`` whose run would have fingerprint ``expected``."""
    outdir = Path(outdir)
    if marker_path(outdir, stem).exists():
        return "unfinished"
    existing = existing_outputs(outdir, stem, listing)
    if not existing:
        return "new"
    recipe, labels = outdir / f"{stem}_recipe.json", outdir / f"{stem}_labels.tif"
    if recipe in existing and labels in existing and _recipe_fingerprint(recipe) == expected:
        return "done"
    return "occupied"


def inputs_named_as_outputs(inputs: list[Path], outdir: Path, stems: list[str]) -> list[Path]:
    """Input files whose path is that of an output of one of ``stems`` in ``outdir``."""
    outdir = Path(outdir).resolve()
    names = {marker_path(outdir, s).name for s in stems}
    hits = []
    for path in inputs:
        path = Path(path)
        # the name as given (a link in the output folder) and the file it leads to
        for candidate in {path.parent.resolve() / path.name, path.resolve()}:
            if candidate.parent == outdir and (
                candidate.name in names or any(is_output_name(candidate.name, s) for s in stems)
            ):
                hits.append(path)
                break
    return hits
