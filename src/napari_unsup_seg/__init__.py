"""napari-unsup-seg: scribble-guided unsupervised segmentation for napari."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("napari-unsup-seg")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
