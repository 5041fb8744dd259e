"""``python -m napari_unsup_seg``: the same command line as ``napari-unsup-seg``."""

from ._cli import run

run()
