"""The ``segment`` command: inputs, one run per image, outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from .core import export
from .core.errors import InputError
from .core.image import READABLE_SUFFIXES, to_chw, read_array
from .core.progress import Progress, drain
from .core.scribbles import validate_scribbles


def _inputs(args) -> list[tuple[str, np.ndarray, np.ndarray | None]]:
    """(stem, raw image, raw scribbles or None) for every image, read and checked up front."""
    if args.sample:
        from .core.samples import load_sample

        if args.images:
            raise InputError("give either image files or --sample, not both")
        image, scribbles = load_sample(args.sample)
        return [(args.sample, image, scribbles)]
    if not args.images:
        raise InputError("no image given: name one or more image files, or use --sample coffee")
    scribble_paths = _scribble_paths(args.images, args.scribbles)
    items = []
    for path, spath in zip(args.images, scribble_paths):
        image = read_array(path)
        items.append((path.stem, image, None if spath is None else read_array(spath)))
    stems = [stem for stem, _, _ in items]
    if len(set(stems)) != len(stems):
        raise InputError("two input images have the same file name stem; their outputs would collide")
    return items


def _scribble_paths(images: list[Path], given: list[Path] | None) -> list[Path | None]:
    if not given:
        return [None] * len(images)
    if len(given) == 1 and given[0].is_dir():
        return [_find_in_folder(given[0], img.stem) for img in images]
    if len(given) != len(images):
        raise InputError(f"{len(given)} scribble files for {len(images)} images: give one per image, or a folder")
    return list(given)


def _find_in_folder(folder: Path, stem: str) -> Path:
    for name in (stem, f"{stem}_scribbles"):
        for suffix in READABLE_SUFFIXES:
            if (folder / f"{name}{suffix}").exists():
                return folder / f"{name}{suffix}"
    raise InputError(f"{folder}: no scribble file named {stem}.* or {stem}_scribbles.*")


def _params(args):
    from .cli import cluster_params_from
    from .core.pipeline import PropagationParams, SegmentParams
    from .core.wnet import WNetParams

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
        return result.classes(result.hierarchy.threshold_for_regions(args.regions))
    return result.labels


def run_segment(args) -> int:
    from .cli import stop_on_sigint
    from .core.pipeline import segment

    params = _params(args)
    items = _inputs(args)
    prepared = []
    for stem, image, scribbles in items:
        chw = to_chw(image)
        scr = validate_scribbles(scribbles, chw.shape[1:], unlabeled_255=args.png_scribbles)
        prepared.append((stem, chw, scr))
    export.ensure_writable_dir(args.outdir)
    if not args.overwrite:
        _refuse_existing(args, prepared)
    stop = stop_on_sigint()
    for stem, chw, scr in prepared:
        with tqdm(total=0, desc=stem, disable=args.quiet, leave=True) as bar:
            result = drain(segment(chw, scr, params, stop=stop), _bar_callback(bar))
        labels = _output_labels(result, args)
        recipe = dict(result.recipe, input=stem)
        uncertainty = result.uncertainty if args.uncertainty else None
        if args.uncertainty and uncertainty is None and not args.quiet:
            print(f"{stem}: no scribbles, so no uncertainty map")
        paths = export.write_outputs(args.outdir, stem, labels, ucm=result.ucm if args.ucm else None,
                                     uncertainty=uncertainty, recipe=recipe, masks=args.masks, overwrite=args.overwrite)
        if not args.quiet:
            print(f"{stem}: wrote {', '.join(p.name for p in paths)}")
        if stop.is_set():
            break
    return 0


def _refuse_existing(args, prepared) -> None:
    existing = []
    for stem, _, _ in prepared:
        for suffix in ("labels.tif", "labels.png", "masks.tif", "ucm.tif", "uncertainty.tif", "recipe.json"):
            path = args.outdir / f"{stem}_{suffix}"
            if path.exists():
                existing.append(path.name)
    if existing:
        raise InputError(f"outputs exist already in {args.outdir} ({', '.join(existing[:5])}"
                         f"{'...' if len(existing) > 5 else ''}); use --overwrite to replace them")
