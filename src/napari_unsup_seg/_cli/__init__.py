"""Command line: ``napari-unsup-seg segment | evaluate | train-wnet | gui``, one module each.

Bad input ends with one ``error: ...`` line on stderr and exit status 2, never a
traceback, and nothing written. A batch ends with a summary of the images done, skipped
(done already), failed (with the reason) and stopped; the exit status is 0 only when every
image is done. The first Ctrl-C stops the run and writes the result so far; a second one
aborts; both exit with 130.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence

from ..core.errors import InputError, InputWarning
from . import evaluate, gui, segment, train

COMMANDS = {"segment": segment, "evaluate": evaluate, "train-wnet": train, "gui": gui}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="napari-unsup-seg",
        description="Scribble-guided unsupervised segmentation: segment images, score them, train a W-Net, "
        "or open napari with the plugin.",
        epilog="Exit status: 0 every image done, 1 some failed, 2 bad input, 130 stopped (Ctrl-C).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS.values():
        module.add_parser(sub)
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
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command].run(args)
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
