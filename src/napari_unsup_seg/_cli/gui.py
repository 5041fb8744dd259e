"""``gui``: open napari with the plugin docked."""

from __future__ import annotations

from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("gui", help="open napari with the plugin docked")
    p.add_argument(
        "image",
        nargs="?",
        type=Path,
        help="an image file or a saved session (<name>.unsupseg) to open (default: none; see --sample)",
    )
    p.add_argument(
        "--sample",
        choices=("coffee", "ihc", "brain"),
        help="open a bundled sample with its scribbles (brain: an MRI volume)",
    )


def run(args) -> int:
    from .._napari.launch import launch

    launch(args.image, sample=args.sample)
    return 0
