"""The console script ``napari-unsup-seg``, also ``python -m napari_unsup_seg(.cli)``: see :mod:`._cli`."""

from ._cli import main, run

__all__ = ["main", "run"]

if __name__ == "__main__":  # pragma: no cover
    run()
