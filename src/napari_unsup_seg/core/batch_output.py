"""Writing one result of a batch: its labels, UCM, masks, COCO files and recipe, atomically.

:func:`write_result` marks the image unfinished until its recipe is in place, so a crash
at any point leaves an image that a rerun redoes; :func:`write_zarr_labels` writes the
result as a labels group of its OME-Zarr input.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import export, resume
from .atomic import remove_stale_parts
from .errors import InputError

if TYPE_CHECKING:
    from .batch_options import BatchOptions


def output_labels(result, options: BatchOptions) -> np.ndarray:
    """The labels to write: the result's, or the result merged as asked by ``threshold`` / ``regions``."""
    if options.threshold is not None:
        if not 0.0 <= options.threshold <= 1.0:
            raise InputError(f"--threshold {options.threshold} is outside [0, 1]")
        return result.classes(options.threshold)
    if options.regions is not None:
        if options.regions < 1:
            raise InputError("--regions must be 1 or more")
        return result.classes_with_regions(options.regions)
    return result.labels


def write_result(
    outdir: Path,
    stem: str,
    result,
    fp: dict,
    state: str,
    options: BatchOptions,
    say: Callable[[str], None] | None = None,
    image_path: Path | None = None,
) -> tuple[str, str]:
    """Write one image's outputs; return its status and reason.

    The marker ``.<stem>.unfinished`` is in place from before the first file until the
    recipe is (and stays after a stop), so that a crash at any point leaves an image
    that a rerun redoes. ``say`` gets the lines a person reads (none when None).
    ``image_path``: the input, for ``options.zarr_labels`` (written last, before the
    image counts as done).
    """
    outdir = Path(outdir)
    single = _single_time_point(result)
    labels = single(output_labels(result, options))
    uncertainty = single(result.uncertainty) if options.uncertainty else None
    if options.uncertainty and uncertainty is None and say:
        say(f"{stem}: no scribbles, so no uncertainty map")
    if options.ucm and result.ucm is None and "large" in result.recipe and say:
        say(
            f"{stem}: a large image has no full-resolution UCM (its hierarchy is at the working resolution "
            f"{'x'.join(map(str, result.recipe['large']['working_shape']))}); --threshold and --regions still cut it"
        )
    ucm = single(result.ucm) if options.ucm else None
    planned = export.planned_outputs(
        outdir,
        stem,
        labels,
        ucm=ucm is not None,
        masks=options.masks,
        uncertainty=uncertainty is not None,
        coco=options.coco,
    )
    recipe = dict(result.recipe, input=stem, fingerprint=fp, outputs=[p.name for p in planned])
    old = _earlier_outputs(outdir, stem, state)
    resume.mark_unfinished(outdir, stem)
    axes = _output_axes(result)
    paths = export.write_outputs(
        outdir,
        stem,
        labels,
        ucm=ucm,
        uncertainty=uncertainty,
        recipe=recipe,
        masks=options.masks,
        overwrite=state != "new",
        axes=axes,
        spacing=getattr(result, "spacing", None) if axes and "Z" in axes else None,
        coco=options.coco,
        image_file=_image_file(image_path),
    )
    for path in set(old) - set(paths):  # not part of this result (never an input: those are refused)
        path.unlink(missing_ok=True)
    if say:
        say(f"{stem}: wrote {', '.join(p.name for p in paths)}")
    if result.stopped:
        return "stopped", "stopped before the end: the result so far is written; a rerun redoes it"
    if options.zarr_labels:
        target = write_zarr_labels(image_path, result, fp, options)
        if say:
            say(f"{stem}: wrote the labels group {target}")
    resume.mark_finished(outdir, stem)
    return "done", ""


def _image_file(image_path: Path | None) -> str | None:
    """The file name the COCO files give the image: the input's, when it is one file."""
    return Path(image_path).name if image_path is not None and Path(image_path).is_file() else None


def _earlier_outputs(outdir: Path, stem: str, state: str) -> list[Path]:
    """The outputs of an earlier result of ours, which this one replaces.

    Only after a run that did not end is the folder listed: to find what it had written
    before its recipe, and the temporary files of a write it left (removed here).
    """
    if state == "unfinished":
        remove_stale_parts(outdir, stem)
        return resume.existing_outputs(outdir, stem, resume.listing(outdir))
    if (outdir / f"{stem}_recipe.json").exists():
        return resume.existing_outputs(outdir, stem)
    return []


def _single_time_point(result):
    """A function dropping the time axis of a stack's arrays when it has one time point."""
    from .series import SeriesSegmentation

    if isinstance(result, SeriesSegmentation) and len(result.frames) == 1:
        return lambda array: None if array is None else array[0]
    return lambda array: array


def _output_axes(result) -> str | None:
    """Axes of a stack's outputs (TZYX, ZYX, TYX); None for an image's."""
    from .series import SeriesSegmentation

    if not isinstance(result, SeriesSegmentation):
        return None
    frames, first = len(result.frames), result.frames[0].labels
    if frames == 1:
        return "ZYX" if first.ndim == 3 else None
    return "TZYX" if first.ndim == 3 else "TYX"


def write_zarr_labels(image_path: Path, result, fp: dict, options: BatchOptions) -> Path:
    """Write a result as the labels group ``options.zarr_labels`` of its OME-Zarr input."""
    from . import zarr_io

    if image_path is None or not zarr_io.is_ome_zarr(image_path):
        raise InputError(f"--zarr-labels: {getattr(image_path, 'name', 'a sample')} is not an OME-Zarr image")
    info = zarr_io.describe(image_path)
    labels = np.asarray(output_labels(result, options))
    shape = tuple(n for n, a in zip(info.shapes[options.level], info.axes) if a != "C")
    if labels.size != int(np.prod(shape)):
        raise InputError(
            f"--zarr-labels: labels of shape {labels.shape} do not fit the image's {shape} "
            "(a slice's result does not make a labels group)"
        )
    target = image_path / "labels" / options.zarr_labels
    if target.exists() and not options.overwrite and zarr_io.recipe_of(target) is None:
        raise InputError(
            f"--zarr-labels: {target} exists and was not written by napari-unsup-seg; use --overwrite to replace it"
        )
    recipe = dict(result.recipe, fingerprint=fp, level=options.level)
    return zarr_io.write_labels(
        image_path, options.zarr_labels, labels.reshape(shape), level=options.level, recipe=recipe, overwrite=True
    )
