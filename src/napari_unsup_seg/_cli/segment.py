"""``segment``: its flags, inputs, one run per image, outputs, the batch summary."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..core.cluster_params import SCRIBBLE_MAX_ITER

from ..core import export, resume
from ..core.atomic import remove_stale_parts
from ..core.errors import InputError
from ..core.image import READABLE_SUFFIXES, to_chw, read_array
from ..core.progress import Progress, drain
from ..core.scribbles import validate_scribbles
from ..core.series import SCOPES
from .common import SEED_MAX, number, stop_on_sigint


def add_parser(sub) -> None:
    p = sub.add_parser("segment", help="segment images; writes <stem>_labels.tif and <stem>_recipe.json")
    p.add_argument("images", nargs="*", type=Path, help="image files (PNG, JPEG, TIFF, NPY)")
    p.add_argument("-o", "--outdir", type=Path, required=True, help="output folder")
    p.add_argument("--sample", choices=("coffee", "ihc", "brain"),
                   help="segment a bundled sample with its scribbles (brain: an MRI volume)")
    p.add_argument("--scribbles", type=Path, nargs="+",
                   help="one scribble file per image, or one folder holding <stem>.* / <stem>_scribbles.*")
    p.add_argument("--png-scribbles", action="store_true",
                   help="scribbles use the paper's PNG convention: 255 = unlabeled, 0..254 = classes")
    p.add_argument("--method", choices=("cluster", "wnet"), default="cluster")
    p.add_argument("--preset", choices=("fast", "paper"), default="fast", help="clustering preset")
    p.add_argument("--max-iter", type=number(int, 1, 1_000_000), help=f"clustering: maximum number of iterations (default: the preset's; with scribbles "
                        f"{SCRIBBLE_MAX_ITER})")
    p.add_argument("--time-budget", type=number(float, 0.001), help="clustering: seconds per image at most (default: no limit, so that a seed gives the same result "
                        "on a busy machine; a run stopped by it says so in its recipe, stop_reason)")
    p.add_argument("--min-labels", type=number(int, 1, 10_000), help="clustering without scribbles: stop at this many labels")
    p.add_argument("--weights", type=Path, help="W-Net: a weights file of your own (default: shipped)")
    p.add_argument("--adapt", type=number(int, 0, 100_000), default=0, metavar="N", help="W-Net: N adaptation steps on each image")
    p.add_argument("--crf", action=argparse.BooleanOptionalAction, default=True, help="dense CRF refinement")
    p.add_argument("--ucm", action="store_true", help="also write <stem>_ucm.tif")
    p.add_argument("--uncertainty", action="store_true",
                   help="with scribbles: also write <stem>_uncertainty.tif, 1 minus the margin between the "
                        "two likeliest classes (float32, 0 = certain): where to scribble next")
    cut = p.add_mutually_exclusive_group()
    cut.add_argument("--threshold", type=number(float, 0.0, 1.0), help="write the regions of the UCM cut at this threshold")
    cut.add_argument("--regions", type=number(int, 1), help="write the UCM cut with this many regions")
    p.add_argument("--masks", action="store_true", help="also write one binary mask per class")
    stacks = p.add_argument_group("stacks (volumes, time-lapses, channels)")
    stacks.add_argument("--axes", type=_axes_flag, metavar="AXES",
                        help="the axes of the input, in order, from T (time), Z (slices), C (channels), Y, X: "
                             "for example ZYX, TYX, TZCYX (default: what a TIFF file says; otherwise a 2D image, "
                             "or ZYX for a 3D array whose first axis is longer than 16)")
    stacks.add_argument("--channels", type=_channels_flag, metavar="LIST",
                        help="channels that feed the features, numbered from 0, for example 0,2 (default: all)")
    stacks.add_argument("--scope", choices=SCOPES, default="volume",
                        help="volume: scribbles on any slices label the whole volume (default); "
                             "slice: segment one slice of each volume, as an image")
    stacks.add_argument("--slice", type=number(int, 0), metavar="N", help="--scope slice: the slice (default: the middle one)")
    stacks.add_argument("--spacing", type=_spacing_flag, metavar="Z,Y,X",
                        help="voxel size along Z, Y and X in any unit, for example 2,0.5,0.5 (default: what a "
                             "TIFF file says, else 1,1,1): the walks tie voxels less across larger gaps")
    p.add_argument("--seed", type=number(int, 0, SEED_MAX), default=0, help="random seed (0 to 2**32-1; default 0)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


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


def cluster_params_from(args):
    """ClusterParams from the preset and the flags that override it."""
    from ..core.cluster import ClusterParams

    params = ClusterParams.preset(args.preset)
    overrides = {k: v for k, v in (("max_iter", args.max_iter), ("time_budget", args.time_budget),
                                   ("min_labels", args.min_labels)) if v is not None}
    return dataclasses.replace(params, **overrides)


def _inputs(args) -> list[tuple[str, np.ndarray, np.ndarray | None]]:
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
    if not args.images:
        raise InputError("no image given: name one or more image files, or use --sample coffee")
    scribble_paths = _scribble_paths(args.images, args.scribbles)
    items = []
    for path, spath in zip(args.images, scribble_paths):
        image = _read_input(path, args)
        items.append((path.stem, image, None if spath is None else read_array(spath)))
    stems = [export.check_stem(stem) for stem, _, _ in items]
    if len(set(stems)) != len(stems):
        raise InputError("two input images have the same file name stem; their outputs would collide")
    return items


def _read_input(path: Path, args):
    """An image array, or a :class:`core.axes.Stack` for volumes, time-lapses and named axes."""
    from ..core.axes import as_stack, file_axes, needs_stack

    stated, spacing = file_axes(path)
    raw = read_array(path)
    axes = args.axes or (stated if stated and len(stated) == raw.ndim else None)
    if args.axes is None and not needs_stack(raw, axes) and args.channels is None:
        return raw
    stack = as_stack(raw, axes, args.spacing or spacing)
    return stack


def _prepare(image, scribbles, args):
    """(input, scribbles) ready for a run: a float image and (H, W) scribbles, or a Stack and (T, Z, H, W) ones."""
    from ..core.axes import Stack, channel_count_check, scribbles_tzyx
    from ..core.scribbles import from_png_convention
    from ..core.series import check_stack_scribbles

    if not isinstance(image, Stack):
        if args.slice is not None:
            raise InputError(f"--slice {args.slice}: the input is one 2D image, it has no slices")
        chw = to_chw(image)
        if scribbles is not None and np.ndim(scribbles) == 3 and np.shape(scribbles) == np.shape(image):
            raise InputError(f"the image {np.shape(image)} was read as one 2D image with {chw.shape[0]} channels "
                             "but the scribbles have its shape: if it is a stack of slices, add --axes ZYX")
        return chw, validate_scribbles(scribbles, chw.shape[1:], unlabeled_255=args.png_scribbles)
    channel_count_check(image.data.shape[1], args.channels)  # before any work, as other input checks
    if image.spacing is not None:
        from ..core.propagate import axis_factors

        axis_factors(3, image.spacing)
    n_z = image.data.shape[2]
    if args.scope == "slice" and args.slice is not None and args.slice >= n_z:
        raise InputError(f"--slice {args.slice}: the stack has slices 0 to {n_z - 1}")
    if scribbles is None:
        return image, None
    scribbles = from_png_convention(scribbles) if args.png_scribbles else scribbles
    return image, check_stack_scribbles(scribbles_tzyx(scribbles, image), image)  # refused before any work


def _named(stem: str, func, *args):
    """``func(*args)``, its InputError naming the image ``stem`` when there are several."""
    try:
        return func(*args)
    except InputError as err:
        raise InputError(f"{stem}: {err}") from err


def _scribble_paths(images: list[Path], given: list[Path] | None) -> list[Path | None]:
    if not given:
        return [None] * len(images)
    if len(given) == 1 and given[0].is_dir():
        return [_find_in_folder(given[0], img) for img in images]
    if len(given) != len(images):
        raise InputError(f"{len(given)} scribble files for {len(images)} images: give one per image, or a folder")
    return list(given)


def _find_in_folder(folder: Path, image: Path) -> Path:
    """``<stem>_scribbles.*``, else ``<stem>.*`` in ``folder``, never the image itself."""
    stem = image.stem
    for name in (f"{stem}_scribbles", stem):
        for suffix in READABLE_SUFFIXES:
            path = folder / f"{name}{suffix}"
            if path.exists() and not (image.exists() and path.samefile(image)):
                return path
    raise InputError(f"{folder}: no scribble file named {stem}_scribbles.* or {stem}.*")


def _params(args):
    from ..core.pipeline import PropagationParams, SegmentParams
    from ..core.wnet import WNetParams

    wnet = WNetParams(weights=str(args.weights) if args.weights else None, adapt_steps=args.adapt)
    propagation = PropagationParams() if args.max_iter is None else PropagationParams(cluster_iter=args.max_iter)
    return SegmentParams(method=args.method, cluster=cluster_params_from(args), wnet=wnet, propagation=propagation,
                         use_crf=args.crf, seed=args.seed, device=args.device,
                         build_ucm=args.ucm or args.threshold is not None or args.regions is not None)


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


def _output_labels(result, args) -> np.ndarray:
    if args.threshold is not None:
        if not 0.0 <= args.threshold <= 1.0:
            raise InputError(f"--threshold {args.threshold} is outside [0, 1]")
        return result.classes(args.threshold)
    if args.regions is not None:
        if args.regions < 1:
            raise InputError("--regions must be 1 or more")
        return result.classes_with_regions(args.regions)
    return result.labels


@dataclass
class Outcome:
    """What became of one image of the batch."""

    stem: str
    status: str  # done, skipped, failed, stopped, not started
    reason: str = ""


def summary(outcomes: list[Outcome]) -> str:
    """One line of counts, then one line per image that was not done."""
    counts = Counter(o.status for o in outcomes)
    head = "summary: " + ", ".join(f"{counts[s]} {s}" for s in ("done", "skipped", "failed", "stopped", "not started")
                                   if counts[s])
    lines = [f"  {o.stem}: {o.status}{': ' + o.reason if o.reason else ''}" for o in outcomes if o.status != "done"]
    return "\n".join([head, *lines])


def exit_code(outcomes: list[Outcome]) -> int:
    """0 when every image is done (now or before), 130 after a stop, else 1."""
    statuses = {o.status for o in outcomes}
    if statuses & {"stopped", "not started"}:
        return 130
    return 1 if "failed" in statuses else 0


def _settings(params, args) -> dict:
    from ..core.recipe import jsonable

    outputs = {"ucm": args.ucm, "masks": args.masks, "threshold": args.threshold, "regions": args.regions,
               "uncertainty": args.uncertainty}
    stacks = {"axes": args.axes, "channels": args.channels, "scope": args.scope, "slice": args.slice,
              "spacing": args.spacing}
    return {"parameters": jsonable(params), "outputs": outputs, "stacks": jsonable(stacks)}


def _plan(args, prepared, settings) -> list[tuple[str, np.ndarray, np.ndarray | None, dict, str]]:
    """(stem, image, scribbles, fingerprint, state) per image; refuses to replace what is not ours."""
    listing = [p.name for p in args.outdir.iterdir()]
    plan = []
    for stem, chw, scr in prepared:
        data = getattr(chw, "data", chw)
        fp = resume.fingerprint(settings, image=data, scribbles=scr)
        plan.append((stem, chw, scr, fp, resume.output_state(args.outdir, stem, fp, listing)))
    occupied = [name for stem, *_, state in plan if state == "occupied"
                for name in (p.name for p in resume.existing_outputs(args.outdir, stem, listing))]
    if occupied and not args.overwrite:
        raise InputError(f"outputs from other settings or inputs exist already in {args.outdir} "
                         f"({', '.join(occupied[:5])}{'...' if len(occupied) > 5 else ''}); "
                         "use --overwrite to replace them")
    return plan


def _refuse_inputs_as_outputs(args, stems: list[str]) -> None:
    inputs = list(args.images or []) + [p for p in (args.scribbles or []) if not p.is_dir()]
    if args.weights:
        inputs.append(args.weights)
    hits = resume.inputs_named_as_outputs(inputs, args.outdir, stems)
    if hits:
        raise InputError(f"{hits[0]} is an input but also the name of an output in {args.outdir}; "
                         "choose another output folder (nothing was written)")


def _write(args, stem, result, fp, state) -> tuple[str, str]:
    """Write one image's outputs; return its status and reason."""
    single = _single_time_point(result)
    labels = single(_output_labels(result, args))
    recipe = dict(result.recipe, input=stem, fingerprint=fp)
    uncertainty = single(result.uncertainty) if args.uncertainty else None
    if args.uncertainty and uncertainty is None and not args.quiet:
        print(f"{stem}: no scribbles, so no uncertainty map")
    ours = state == "unfinished" or (args.outdir / f"{stem}_recipe.json").exists()
    old = resume.existing_outputs(args.outdir, stem) if ours else []  # an earlier result of ours
    resume.mark_unfinished(args.outdir, stem)
    remove_stale_parts(args.outdir, stem)
    axes = _output_axes(result)
    paths = export.write_outputs(args.outdir, stem, labels, ucm=single(result.ucm) if args.ucm else None,
                                 uncertainty=uncertainty, recipe=recipe, masks=args.masks,
                                 overwrite=state != "new", axes=axes,
                                 spacing=getattr(result, "spacing", None) if axes and "Z" in axes else None)
    for path in set(old) - set(paths):  # not part of this result (never an input: those are refused)
        path.unlink(missing_ok=True)
    if not args.quiet:
        print(f"{stem}: wrote {', '.join(p.name for p in paths)}")
    if result.stopped:
        return "stopped", "stopped before the end: the result so far is written; a rerun redoes it"
    resume.mark_finished(args.outdir, stem)
    return "done", ""


def _single_time_point(result):
    """A function dropping the time axis of a stack's arrays when it has one time point."""
    from ..core.series import SeriesSegmentation

    if isinstance(result, SeriesSegmentation) and len(result.frames) == 1:
        return lambda array: None if array is None else array[0]
    return lambda array: array


def _output_axes(result) -> str | None:
    """Axes of a stack's outputs (TZYX, ZYX, TYX); None for an image's."""
    from ..core.series import SeriesSegmentation

    if not isinstance(result, SeriesSegmentation):
        return None
    frames, first = len(result.frames), result.frames[0].labels
    if frames == 1:
        return "ZYX" if first.ndim == 3 else None
    return "TZYX" if first.ndim == 3 else "TYX"


def _failure(err: BaseException) -> str:
    if isinstance(err, InputError):
        return str(err)
    if isinstance(err, OSError):
        where = f" ({err.filename})" if getattr(err, "filename", None) else ""
        return f"cannot write{where}: {err.strerror or err}"
    return f"internal error, please report it: {type(err).__name__}: {err}"


def _segment(data, scribbles, params, args, stop):
    """The run of one input: :func:`core.pipeline.segment` for an image, else :func:`core.series.segment_stack`."""
    from ..core.axes import Stack
    from ..core.pipeline import segment
    from ..core.series import segment_stack

    if not isinstance(data, Stack):
        return segment(data, scribbles, params, stop=stop)
    return segment_stack(data, scribbles, params, scope=args.scope, slice_index=args.slice,
                         channels=args.channels, stop=stop)


def run(args) -> int:
    from ..core.progress import resolve_device

    resolve_device(args.device)
    params = _params(args)
    if args.method == "wnet":  # the weights file is checked once, before any image is read
        from ..core.wnet import load_model

        load_model(args.weights)
    items = _inputs(args)
    if args.slice is not None and args.scope != "slice":
        raise InputError(f"--slice {args.slice} needs --scope slice (without it the whole volume is segmented)")
    prepared = [(stem, *_named(stem, _prepare, image, scribbles, args)) for stem, image, scribbles in items]
    export.ensure_writable_dir(args.outdir)
    _refuse_inputs_as_outputs(args, [stem for stem, _, _ in prepared])
    plan = _plan(args, prepared, _settings(params, args))
    stop = stop_on_sigint()
    outcomes: list[Outcome] = []
    try:
        for stem, chw, scr, fp, state in plan:
            if state == "done":
                outcomes.append(Outcome(stem, "skipped", "done already with these settings and inputs"))
            elif stop.is_set():
                outcomes.append(Outcome(stem, "not started", "the batch was stopped"))
            else:
                try:
                    with tqdm(total=0, desc=stem, disable=args.quiet, leave=True) as bar:
                        result = drain(_segment(chw, scr, params, args, stop), _bar_callback(bar))
                    outcomes.append(Outcome(stem, *_write(args, stem, result, fp, state)))
                except KeyboardInterrupt:
                    raise
                except Exception as err:  # one image's failure does not end the batch
                    outcomes.append(Outcome(stem, "failed", _failure(err)))
    except KeyboardInterrupt:
        done = {o.stem for o in outcomes}
        outcomes += [Outcome(stem, "not started", "interrupted") for stem, *_ in plan if stem not in done]
        print("\ninterrupted", file=sys.stderr)
    code = exit_code(outcomes)
    if code or not args.quiet:
        print(summary(outcomes), file=sys.stderr)
    return code
