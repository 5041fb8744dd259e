"""Command line: ``napari-unsup-seg segment | evaluate | train-wnet | gui``.

Bad input ends with one ``error: ...`` line on stderr and exit status 2, never a
traceback, and nothing written. A batch ends with a summary of the images done, skipped
(done already), failed (with the reason) and stopped; the exit status is 0 only when every
image is done. The first Ctrl-C stops the run and writes the result so far; a second one
aborts; both exit with 130.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import warnings
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from .core.cluster_params import SCRIBBLE_MAX_ITER
from .core.errors import InputError, InputWarning


def _number(kind, low=None, high=None):
    """An argparse type: a finite number of ``kind`` within [low, high] (None: open)."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}")
        if value != value or value in (float("inf"), float("-inf")):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f"between {low} and {high}" if low is not None and high is not None else (
                f"at least {low}" if low is not None else f"at most {high}")
            raise argparse.ArgumentTypeError(f"{text} is out of range: it must be {bounds}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


SEED_MAX = 2**32 - 1  # numpy's and torch's seeds


def _add_segment_parser(sub) -> None:
    p = sub.add_parser("segment", help="segment images; writes <stem>_labels.tif and <stem>_recipe.json")
    p.add_argument("images", nargs="*", type=Path, help="image files (PNG, JPEG, TIFF, NPY)")
    p.add_argument("-o", "--outdir", type=Path, required=True, help="output folder")
    p.add_argument("--sample", choices=("coffee", "ihc"), help="segment a bundled sample (with its scribbles)")
    p.add_argument("--scribbles", type=Path, nargs="+",
                   help="one scribble file per image, or one folder holding <stem>.* / <stem>_scribbles.*")
    p.add_argument("--png-scribbles", action="store_true",
                   help="scribbles use the paper's PNG convention: 255 = unlabeled, 0..254 = classes")
    p.add_argument("--method", choices=("cluster", "wnet"), default="cluster")
    p.add_argument("--preset", choices=("fast", "paper"), default="fast", help="clustering preset")
    p.add_argument("--max-iter", type=_number(int, 1, 1_000_000), help=f"clustering: maximum number of iterations (default: the preset's; with scribbles "
                        f"{SCRIBBLE_MAX_ITER})")
    p.add_argument("--time-budget", type=_number(float, 0.001), help="clustering: seconds per image at most")
    p.add_argument("--min-labels", type=_number(int, 1, 10_000), help="clustering without scribbles: stop at this many labels")
    p.add_argument("--weights", type=Path, help="W-Net: a weights file of your own (default: shipped)")
    p.add_argument("--adapt", type=_number(int, 0, 100_000), default=0, metavar="N", help="W-Net: N adaptation steps on each image")
    p.add_argument("--crf", action=argparse.BooleanOptionalAction, default=True, help="dense CRF refinement")
    p.add_argument("--ucm", action="store_true", help="also write <stem>_ucm.tif")
    p.add_argument("--uncertainty", action="store_true",
                   help="with scribbles: also write <stem>_uncertainty.tif, 1 minus the margin between the "
                        "two likeliest classes (float32, 0 = certain): where to scribble next")
    cut = p.add_mutually_exclusive_group()
    cut.add_argument("--threshold", type=_number(float, 0.0, 1.0), help="write the regions of the UCM cut at this threshold")
    cut.add_argument("--regions", type=_number(int, 1), help="write the UCM cut with this many regions")
    p.add_argument("--masks", action="store_true", help="also write one binary mask per class")
    p.add_argument("--seed", type=_number(int, 0, SEED_MAX), default=0, help="random seed (0 to 2**32-1; default 0)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="napari-unsup-seg", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    _add_segment_parser(sub)
    p = sub.add_parser("evaluate", help="score UCMs or label images against BSDS-style ground truth")
    p.add_argument("pred_dir", type=Path)
    p.add_argument("gt_dir", type=Path)
    p.add_argument("--thresholds", type=_number(int, 2, 1000), default=99,
                   help="thresholds scored between 0 and 1 (2 to 1000; default 99)")
    p = sub.add_parser("train-wnet", help="train a W-Net on a folder of images")
    p.add_argument("image_dir", type=Path, nargs="+")
    p.add_argument("-o", "--output", type=Path, required=True, help="weights file to write")
    p.add_argument("--resume", type=Path, help="checkpoint to resume from")
    p.add_argument("--seed", type=_number(int, 0, SEED_MAX), default=0, help="random seed (0 to 2**32-1; default 0)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--overwrite", action="store_true",
                   help="replace existing weights, checkpoint and loss log of that name")
    from ._cli_train import add_train_arguments

    add_train_arguments(p)
    p = sub.add_parser("gui", help="open napari with the plugin docked")
    p.add_argument("image", nargs="?", type=Path)
    p.add_argument("--sample", choices=("coffee", "ihc"), help="open a bundled sample with its scribbles")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; returns the exit status (0 all done, 1 some failed, 2 bad input, 130 stopped)."""
    with warnings.catch_warnings():
        warnings.simplefilter("always", InputWarning)  # the user is told every time, in one line
        warnings.showwarning = _one_line_warning
        return _main(argv)


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    if issubclass(category, InputWarning):
        print(f"warning: {message}", file=sys.stderr)
    else:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def _main(argv: Sequence[str] | None) -> int:
    try:
        args = _build_parser().parse_args(argv)
        if args.command == "segment":
            from ._cli_segment import run_segment

            return run_segment(args)
        if args.command == "evaluate":
            from .core.evaluate import evaluate_folder, format_table

            _require_dir(args.pred_dir)
            _require_dir(args.gt_dir)
            print(format_table(evaluate_folder(args.pred_dir, args.gt_dir, n_thresholds=args.thresholds)))
            return 0
        if args.command == "train-wnet":
            from ._cli_train import run_train

            return run_train(args)
        if args.command == "gui":
            from ._napari.launch import launch

            launch(args.image, sample=args.sample)
            return 0
    except (InputError, FileExistsError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # the system refused a read or a write that was not foreseen
        where = f"{err.filename}: " if err.filename else ""
        print(f"error: {where}{err.strerror or err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 1


def _require_dir(path: Path) -> None:
    if not path.is_dir():
        raise InputError(f"{path}: no such folder")


def stop_on_sigint() -> threading.Event:
    """An Event set by the first Ctrl-C; a second Ctrl-C interrupts as usual."""
    stop = threading.Event()

    def handler(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        print("\nstopping: the result so far will be written (Ctrl-C again to abort)", file=sys.stderr)

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, handler)
    return stop


def cluster_params_from(args):
    """ClusterParams from the preset and the flags that override it."""
    from .core.cluster import ClusterParams

    params = ClusterParams.preset(args.preset)
    overrides = {k: v for k, v in (("max_iter", args.max_iter), ("time_budget", args.time_budget),
                                   ("min_labels", args.min_labels)) if v is not None}
    return replace(params, **overrides)


def run() -> None:  # pragma: no cover - the console script; exits the process
    """Run :func:`main` and leave at once: tearing down torch's modules took about 1 s."""
    try:
        code = main()
    except KeyboardInterrupt:  # before main's own handler (while importing)
        print("interrupted", file=sys.stderr)
        code = 130
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
