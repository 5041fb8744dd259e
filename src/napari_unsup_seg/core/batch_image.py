"""One image of a batch: read it, check it, segment it, write its outputs atomically.

What the CLI's serial loop and a distributed task share. :func:`process_file` is the
whole work of one image from its path, the body of a task: it reads its own input,
compares the fingerprint of this run with the outputs on disk (:mod:`core.resume`),
skips an image done already, and otherwise segments and writes, marking the image
unfinished until its recipe is in place. Nothing here imports Qt, napari or dask.
"""

from __future__ import annotations

import resource
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import export, resume
from .atomic import remove_stale_parts
from .errors import InputError
from .image import read_array, to_chw
from .scribbles import validate_scribbles

SKIPPED_REASON = "done already with these settings and inputs"


@dataclass(frozen=True)
class BatchOptions:
    """What a batch writes and how it reads stacks; the CLI flags of the same names.

    Attributes
    ----------
    ucm, masks, uncertainty, coco : bool
        Also write ``<stem>_ucm.tif``, the per-class masks, ``<stem>_uncertainty.tif``,
        ``<stem>_coco_instances.json`` and ``<stem>_coco_semantic.json``.
    threshold, regions : float or int, optional
        Write the UCM cut at this threshold, or with this many regions, as the labels.
    axes, channels, scope, slice, spacing
        How an input is read as a stack (:mod:`core.axes`, :mod:`core.series`).
    png_scribbles : bool
        Scribbles use the PNG convention: 255 unlabeled, 0..254 classes.
    overwrite : bool
        Replace outputs from other settings or inputs.
    level : int
        The resolution level read from an OME-Zarr input.
    zarr_labels : str, optional
        Also write the labels as this labels group of each (OME-Zarr) input image.
    """

    ucm: bool = False
    masks: bool = False
    uncertainty: bool = False
    coco: bool = False
    threshold: float | None = None
    regions: int | None = None
    axes: str | None = None
    channels: tuple[int, ...] | None = None
    scope: str = "volume"
    slice: int | None = None
    spacing: tuple[float, float, float] | None = None
    png_scribbles: bool = False
    overwrite: bool = False
    level: int = 0
    zarr_labels: str | None = None


@dataclass
class Outcome:
    """What became of one image of a batch.

    ``status`` is one of done, skipped, failed, stopped, not started; ``peak_rss_mib``
    the peak resident memory of the process that ran it, when it ran.
    """

    stem: str
    status: str
    reason: str = ""
    peak_rss_mib: float | None = None


def settings(params, options: BatchOptions) -> dict:
    """The settings part of a run's fingerprint (:func:`core.resume.fingerprint`)."""
    from .recipe import jsonable

    outputs = {
        "ucm": options.ucm,
        "masks": options.masks,
        "threshold": options.threshold,
        "regions": options.regions,
        "uncertainty": options.uncertainty,
    }
    if options.coco:  # absent when not asked for: fingerprints of runs without it stay as they were
        outputs["coco"] = True
    stacks = {
        "axes": options.axes,
        "channels": options.channels,
        "scope": options.scope,
        "slice": options.slice,
        "spacing": options.spacing,
    }
    if options.level or options.zarr_labels:  # absent before: older fingerprints stay valid
        stacks.update(level=options.level, zarr_labels=options.zarr_labels)
    return {"parameters": jsonable(params), "outputs": outputs, "stacks": jsonable(stacks)}


def stem_of(path: Path) -> str:
    """The name of an input's outputs: its file name without the suffix (``.ome.zarr`` too)."""
    name = Path(path).name
    for suffix in (".ome.zarr", ".zarr"):
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return Path(path).stem


def read_input(path: Path, options: BatchOptions):
    """An image array, or a :class:`core.axes.Stack` for volumes, time-lapses, named axes and OME-Zarr."""
    from . import zarr_io
    from .axes import Stack, as_stack, file_axes, needs_stack

    if zarr_io.is_ome_zarr(path):
        stack = zarr_io.read_stack(path, options.level)
        if options.axes is not None and options.axes != stack.axes:
            raise InputError(f"--axes {options.axes}: the OME-Zarr image says its axes are {stack.axes}")
        return Stack(stack.data, stack.axes, options.spacing or stack.spacing)
    if options.level:
        raise InputError(f"--level {options.level}: {Path(path).name} is not an OME-Zarr image (it has one level)")
    stated, spacing = file_axes(path)
    raw = read_array(path)
    axes = options.axes or (stated if stated and len(stated) == raw.ndim else None)
    if options.axes is None and not needs_stack(raw, axes) and options.channels is None:
        return raw
    return as_stack(raw, axes, options.spacing or spacing)


def scribbles_for_level(image_path: Path, scribbles: np.ndarray | None, options: BatchOptions):
    """Scribbles drawn on the full resolution of an OME-Zarr input, brought to the level read
    (every stroke pixel kept); others as they are."""
    from . import zarr_io
    from .large import shrink_scribbles

    if scribbles is None or not options.level or not zarr_io.is_ome_zarr(image_path):
        return scribbles
    info = zarr_io.describe(image_path)
    full, shape = (tuple(n for n, a in zip(info.shapes[level], info.axes) if a != "C") for level in (0, options.level))
    return shrink_scribbles(scribbles, shape) if np.shape(scribbles) == full else scribbles


def prepare(image, scribbles, options: BatchOptions):
    """(input, scribbles) ready for a run: a float image and (H, W) scribbles, or a Stack and (T, Z, H, W) ones."""
    from .axes import Stack, channel_count_check, scribbles_tzyx
    from .scribbles import from_png_convention, warn_if_png_convention
    from .series import check_stack_scribbles

    if not isinstance(image, Stack):
        if options.slice is not None:
            raise InputError(f"--slice {options.slice}: the input is one 2D image, it has no slices")
        chw = to_chw(image)
        if scribbles is not None and np.ndim(scribbles) == 3 and np.shape(scribbles) == np.shape(image):
            raise InputError(
                f"the image {np.shape(image)} was read as one 2D image with {chw.shape[0]} channels "
                "but the scribbles have its shape: if it is a stack of slices, add --axes ZYX"
            )
        checked = validate_scribbles(scribbles, chw.shape[1:], unlabeled_255=options.png_scribbles)
        if not options.png_scribbles:
            warn_if_png_convention(checked)
        return chw, checked
    channel_count_check(image.data.shape[1], options.channels)  # before any work, as other input checks
    if image.spacing is not None:
        from .propagate import axis_factors

        axis_factors(3, image.spacing)
    n_z = image.data.shape[2]
    if options.scope == "slice" and options.slice is not None and options.slice >= n_z:
        raise InputError(f"--slice {options.slice}: the stack has slices 0 to {n_z - 1}")
    if scribbles is None:
        return image, None
    scribbles = from_png_convention(scribbles) if options.png_scribbles else scribbles
    return image, check_stack_scribbles(scribbles_tzyx(scribbles, image), image)  # refused before any work


def input_fingerprint(settings_: dict, data, scribbles) -> dict:
    """The fingerprint of a prepared input (an image array or a Stack) under ``settings_``."""
    return resume.fingerprint(settings_, image=getattr(data, "data", data), scribbles=scribbles)


def run_segmenter(data, scribbles, params, options: BatchOptions, stop: threading.Event | None = None):
    """The run of one input: :func:`core.pipeline.segment` for an image, else :func:`core.series.segment_stack`."""
    from .axes import Stack
    from .pipeline import segment
    from .series import segment_stack

    if not isinstance(data, Stack):
        return segment(data, scribbles, params, stop=stop)
    return segment_stack(
        data, scribbles, params, scope=options.scope, slice_index=options.slice, channels=options.channels, stop=stop
    )


def output_labels(result, options: BatchOptions) -> np.ndarray:
    """The labels to write: the result's, or its UCM cut asked for by ``threshold`` / ``regions``."""
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


def failure(err: BaseException) -> str:
    """The reason a summary gives for an image that failed with ``err``."""
    if isinstance(err, InputError):
        return str(err)
    if isinstance(err, OSError):
        where = f" ({err.filename})" if getattr(err, "filename", None) else ""
        return f"cannot write{where}: {err.strerror or err}"
    return f"internal error, please report it: {type(err).__name__}: {err}"


def occupied_reason(outdir: Path, stem: str) -> str:
    """Why outputs of ``stem`` are not replaced without ``overwrite``."""
    names = [p.name for p in resume.existing_outputs(outdir, stem)]
    return (
        f"outputs from other settings or inputs exist already ({', '.join(names[:5])}"
        f"{'...' if len(names) > 5 else ''}); use --overwrite to replace them"
    )


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def process_file(
    stem: str,
    image_path: Path,
    scribble_path: Path | None,
    outdir: Path,
    params,
    options: BatchOptions,
    *,
    stop: threading.Event | None = None,
) -> Outcome:
    """Read, segment and write one image from its path; never raises for a failure of that image.

    Parameters
    ----------
    stem : str
        The name of its outputs, ``<stem>_labels.tif`` and the others.
    image_path, scribble_path : Path
        Its input files (``scribble_path`` None: no scribbles).
    outdir : Path
        The output folder, which exists.
    params : core.pipeline.SegmentParams
        The run's parameters.
    options : BatchOptions
        What to write and how to read stacks.
    stop : threading.Event, optional
        Set it to end the run early; its result so far is written and reported stopped
        (any object with ``is_set()`` will do).

    Returns
    -------
    Outcome
        done, skipped (done already with this fingerprint), stopped or failed, with the reason.
    """
    from .progress import drain

    try:
        raw = read_input(Path(image_path), options)
        raw_scribbles = None if scribble_path is None else read_array(Path(scribble_path))
        raw_scribbles = scribbles_for_level(Path(image_path), raw_scribbles, options)
        data, scribbles = prepare(raw, raw_scribbles, options)
        fp = input_fingerprint(settings(params, options), data, scribbles)
        state = resume.output_state(outdir, stem, fp)
        if state == "done":
            return Outcome(stem, "skipped", SKIPPED_REASON)
        if state == "occupied" and not options.overwrite:
            return Outcome(stem, "failed", occupied_reason(outdir, stem))
        result = drain(run_segmenter(data, scribbles, params, options, stop))
        status, reason = write_result(outdir, stem, result, fp, state, options, image_path=Path(image_path))
    except Exception as err:  # one image's failure does not end the batch
        return Outcome(stem, "failed", failure(err), peak_rss_mib())
    return Outcome(stem, status, reason, peak_rss_mib())


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
