"""``segment``: its flags, inputs, one run per image, outputs, the batch summary."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..core import batch, batch_image, batch_input, batch_options, batch_output, export, resume
from ..core.batch_image import Outcome
from ..core.batch_options import BatchOptions
from ..core.errors import InputError, warnings_about
from ..core.progress import Progress, drain
from ..core.series import SCOPES
from .common import number, stop_on_sigint
from .settings_flags import add_settings_flags, settings_from


def add_parser(sub) -> None:
    p = sub.add_parser("segment", help="segment images; writes <stem>_labels.tif and <stem>_recipe.json")
    p.add_argument("images", nargs="*", type=Path, help="image files (PNG, JPEG, TIFF, NPY) or OME-Zarr images")
    p.add_argument("-o", "--outdir", type=Path, required=True, help="output folder")
    p.add_argument(
        "--sample",
        choices=("coffee", "ihc", "brain"),
        help="segment a bundled sample with its scribbles (brain: an MRI volume)",
    )
    p.add_argument(
        "--scribbles",
        type=Path,
        nargs="+",
        help="one scribble file per image, or one folder holding <stem>.* / <stem>_scribbles.*",
    )
    p.add_argument(
        "--png-scribbles",
        action="store_true",
        help="scribbles use the paper's PNG convention: 255 = unlabeled, 0..254 = classes",
    )
    add_settings_flags(p.add_argument_group("run settings"))
    p.add_argument("--ucm", action="store_true", help="also write <stem>_ucm.tif")
    p.add_argument(
        "--uncertainty",
        action="store_true",
        help="with scribbles: also write <stem>_uncertainty.tif, 1 minus the margin between the "
        "two likeliest classes (float32, 0 = certain): where to scribble next",
    )
    cut = p.add_mutually_exclusive_group()
    cut.add_argument(
        "--threshold",
        type=number(float, 0.0, 1.0),
        help="write the result merged at this UCM threshold, as the merge slider shows it: "
        "without scribbles the segments joined across weak boundaries, with scribbles the classes",
    )
    cut.add_argument(
        "--regions",
        type=number(int, 1),
        help="write the result merged to the coarsest cut with at least this many regions (as --threshold)",
    )
    p.add_argument("--masks", action="store_true", help="also write one binary mask per class")
    p.add_argument(
        "--coco",
        action="store_true",
        help="also write <stem>_coco_instances.json (one RLE mask per connected region of each class) "
        "and <stem>_coco_semantic.json (one per class), COCO files that CVAT, Label Studio and "
        "pycocotools import (default off)",
    )
    stacks = p.add_argument_group("stacks (volumes, time-lapses, channels)")
    stacks.add_argument(
        "--axes",
        type=_axes_flag,
        metavar="AXES",
        help="the axes of the input, in order, from T (time), Z (slices), C (channels), Y, X: "
        "for example ZYX, TYX, TZCYX (default: what a TIFF file says; otherwise a 2D image, "
        "or ZYX for a 3D array whose first axis is longer than 16)",
    )
    stacks.add_argument(
        "--channels",
        type=_channels_flag,
        metavar="LIST",
        help="channels that feed the features, numbered from 0, for example 0,2 (default: all)",
    )
    stacks.add_argument(
        "--scope",
        choices=SCOPES,
        default="volume",
        help="volume: scribbles on any slices label the whole volume (default); "
        "slice: segment one slice of each volume, as an image",
    )
    stacks.add_argument(
        "--slice", type=number(int, 0), metavar="N", help="--scope slice: the slice (default: the middle one)"
    )
    stacks.add_argument(
        "--spacing",
        type=_spacing_flag,
        metavar="Z,Y,X",
        help="voxel size along Z, Y and X in any unit, for example 2,0.5,0.5 (default: what a "
        "TIFF file says, else 1,1,1): the walks tie voxels less across larger gaps",
    )
    zarr = p.add_argument_group("OME-Zarr inputs")
    zarr.add_argument(
        "--level",
        type=number(int, 0, 64),
        default=0,
        metavar="N",
        help="the resolution level to read and segment (default 0, full resolution)",
    )
    zarr.add_argument(
        "--zarr-labels",
        metavar="NAME",
        type=_labels_name,
        help="also write the labels as the labels group NAME of each input image, at every level, "
        "with the recipe (a group of that name not written by us needs --overwrite)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    dist = p.add_argument_group(
        "batch on a dask.distributed cluster (one task per image; the workers read the "
        "inputs and write the outputs, so they must see both folders)"
    )
    where = dist.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        type=number(int, 1, 4096),
        metavar="N",
        help="run the batch on a local cluster of N worker processes",
    )
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the batch on the cluster of a running dask scheduler, e.g. tcp://10.0.0.5:8786",
    )
    dist.add_argument(
        "--threads-per-worker",
        type=number(int, 1, 1024),
        default=1,
        metavar="T",
        help="--workers: threads of each worker, and torch's threads in each task (default 1)",
    )


def _labels_name(text: str) -> str:
    if not text or "/" in text or "\\" in text or text.startswith("."):
        raise argparse.ArgumentTypeError(f"{text!r}: a plain name, for example segmentation")
    return text


def _axes_flag(text: str) -> str:
    from ..core.axes import LETTERS

    axes = text.upper().replace("S", "C")
    if not axes or set(axes) - set(LETTERS) or len(set(axes)) != len(axes) or not {"Y", "X"} <= set(axes):
        raise argparse.ArgumentTypeError(f"{text!r}: use each of T, Z, C at most once, and Y and X, for example ZYX")
    return axes


def _channels_flag(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give channel numbers separated by commas, for example 0,2")
    if any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: channel numbers start at 0")
    return values


def _spacing_flag(text: str) -> tuple[float, float, float]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give three numbers separated by commas, for example 2,0.5,0.5")
    if len(values) != 3 or not all(np.isfinite(v) and v > 0 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: give three positive numbers (Z,Y,X), for example 2,0.5,0.5")
    return values


def options_from(args) -> BatchOptions:
    """The :class:`core.batch_options.BatchOptions` of the flags."""
    return BatchOptions(
        ucm=args.ucm,
        masks=args.masks,
        uncertainty=args.uncertainty,
        coco=args.coco,
        threshold=args.threshold,
        regions=args.regions,
        axes=args.axes,
        channels=args.channels,
        scope=args.scope,
        slice=args.slice,
        spacing=args.spacing,
        png_scribbles=args.png_scribbles,
        overwrite=args.overwrite,
        level=args.level,
        zarr_labels=args.zarr_labels,
    )


def _inputs(args, options: BatchOptions) -> list[tuple[str, np.ndarray, np.ndarray | None]]:
    """(stem, raw image, raw scribbles or None) for every image, read and checked up front."""
    if args.sample:
        from ..core.samples import VOLUME_SAMPLES, load_sample, load_volume_sample

        if args.images:
            raise InputError("give either image files or --sample, not both")
        if args.sample in VOLUME_SAMPLES:
            from ..core.axes import as_stack

            volume, scribbles, spacing = load_volume_sample(args.sample)
            return [(args.sample, as_stack(volume, "ZYX", args.spacing or spacing), scribbles)]
        image, scribbles = load_sample(args.sample)
        return [(args.sample, image, scribbles)]
    _require_images(args)
    scribble_paths = batch.scribble_paths(args.images, args.scribbles)
    items = []
    for path, spath in zip(args.images, scribble_paths):
        image = batch_input.read_input(path, options)
        scribbles = (
            None if spath is None else batch_input.scribbles_for_level(path, batch_input.read_scribbles(spath), options)
        )
        items.append((batch_input.stem_of(path), image, scribbles))
    batch.unique_stems([stem for stem, _, _ in items])
    return items


def _require_images(args) -> None:
    if not args.images:
        raise InputError("no image given: name one or more image files, or use --sample coffee")


def _named(stem: str, func, *args):
    """``func(*args)``, its InputError and InputWarnings naming the image ``stem``."""
    try:
        with warnings_about(stem):
            return func(*args)
    except InputError as err:
        raise InputError(f"{stem}: {err}") from err


def _params(args):
    """The core's SegmentParams of the flags."""
    return settings_from(args).params(build_ucm=args.ucm or args.threshold is not None or args.regions is not None)


def _bar_callback(bar: tqdm):
    def update(event: Progress) -> None:
        if event.total and bar.total != event.total:
            bar.reset(total=event.total)
        bar.n = event.step
        post = {"stage": event.stage}
        if event.loss is not None:
            post["loss"] = f"{event.loss:.3f}"
        if event.n_labels is not None:
            post["labels"] = event.n_labels
        bar.set_postfix(post, refresh=True)

    return update


def _plan(args, prepared, settings) -> list[tuple[str, np.ndarray, np.ndarray | None, dict, str]]:
    """(stem, image, scribbles, fingerprint, state) per image; refuses to replace what is not ours."""
    listing = [p.name for p in args.outdir.iterdir()]
    plan = []
    for stem, chw, scr in prepared:
        fp = batch_image.input_fingerprint(settings, chw, scr)
        plan.append((stem, chw, scr, fp, resume.output_state(args.outdir, stem, fp, listing)))
    occupied = [
        name
        for stem, *_, state in plan
        if state == "occupied"
        for name in (p.name for p in resume.existing_outputs(args.outdir, stem, listing))
    ]
    if occupied and not args.overwrite:
        raise InputError(
            f"outputs from other settings or inputs exist already in {args.outdir} "
            f"({', '.join(occupied[:5])}{'...' if len(occupied) > 5 else ''}); "
            "use --overwrite to replace them"
        )
    return plan


def _input_paths(args) -> list[Path]:
    """The files a batch reads: its images, scribble files and weights."""
    inputs = list(args.images or []) + [p for p in (args.scribbles or []) if not p.is_dir()]
    return inputs + ([Path(args.weights)] if args.weights else [])


def _leave_out_scribble_files(args) -> None:
    """Take inputs that are the scribbles of other inputs as scribbles, not images, and say so."""
    if args.sample or not args.images:
        return
    strokes = batch.scribble_files_among(args.images, args.scribbles)
    if strokes:
        args.images = [p for p in args.images if Path(p) not in strokes]
        names = ", ".join(p.name for p in strokes)
        if not args.quiet:
            print(f"{len(strokes)} scribble files among the images, taken as their scribbles: {names}", file=sys.stderr)


def _check_slice(args) -> None:
    if args.slice is not None and args.scope != "slice":
        raise InputError(f"--slice {args.slice} needs --scope slice (without it the whole volume is segmented)")


def run(args) -> int:
    from ..core.segmenters import segmenter

    _leave_out_scribble_files(args)
    params = _params(args)
    segmenter(params.method).check(params)  # the device and weights files, before any image is read
    options = options_from(args)
    if args.workers or args.scheduler:
        outcomes = _run_on_cluster(args, params, options)
    else:
        outcomes = _run_here(args, params, options)
    code = batch.exit_code(outcomes)
    if code or not args.quiet:
        print(batch.summary(outcomes), file=sys.stderr)
    return code


def _run_on_cluster(args, params, options: BatchOptions) -> list[Outcome]:
    """The batch as one task per image on a LocalCluster (--workers) or a running scheduler (--scheduler)."""
    if args.sample:
        raise InputError("--sample runs in this process: leave out --workers and --scheduler")
    _require_images(args)
    _check_slice(args)
    batch.refuse_inputs_as_outputs(
        _input_paths(args), args.outdir, batch.unique_stems([batch_input.stem_of(p) for p in args.images])
    )
    with batch.open_client(
        workers=args.workers, threads_per_worker=args.threads_per_worker, scheduler=args.scheduler
    ) as client:
        outcomes = batch.segment_files(
            args.images,
            args.outdir,
            params,
            scribbles=args.scribbles,
            options=options,
            client=client,
            progress=not args.quiet,
        )
    return outcomes


def _run_here(args, params, options: BatchOptions) -> list[Outcome]:
    """The batch in this process: every input read and checked before the first image runs."""
    items = _inputs(args, options)
    _check_slice(args)
    prepared = [
        (stem, *_named(stem, batch_input.prepare, image, scribbles, options)) for stem, image, scribbles in items
    ]
    export.ensure_writable_dir(args.outdir)
    batch.refuse_inputs_as_outputs(_input_paths(args), args.outdir, [stem for stem, _, _ in prepared])
    plan = _plan(args, prepared, batch_options.settings(params, options))
    say = None if args.quiet else print
    paths = {batch_input.stem_of(path): path for path in args.images or []}
    stop = stop_on_sigint()
    outcomes: list[Outcome] = []
    try:
        for stem, chw, scr, fp, state in plan:
            if state == "done":
                outcomes.append(Outcome(stem, "skipped", batch_image.SKIPPED_REASON))
            elif stop.is_set():
                outcomes.append(Outcome(stem, "not started", "the batch was stopped"))
            else:
                try:
                    with tqdm(total=0, desc=stem, disable=args.quiet, leave=True) as bar:
                        result = drain(batch_image.run_segmenter(chw, scr, params, options, stop), _bar_callback(bar))
                    outcomes.append(
                        Outcome(
                            stem,
                            *batch_output.write_result(
                                args.outdir, stem, result, fp, state, options, say, paths.get(stem)
                            ),
                        )
                    )
                except KeyboardInterrupt:
                    raise
                except Exception as err:  # one image's failure does not end the batch
                    outcomes.append(Outcome(stem, "failed", batch_image.failure(err)))
    except KeyboardInterrupt:
        done = {o.stem for o in outcomes}
        outcomes += [Outcome(stem, "not started", "interrupted") for stem, *_ in plan if stem not in done]
        print("\ninterrupted", file=sys.stderr)
    return outcomes
