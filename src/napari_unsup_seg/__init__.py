"""napari-unsup-seg: scribble-guided unsupervised segmentation for napari."""

import os
from importlib.metadata import PackageNotFoundError, version

# torch's OpenMP threads otherwise spin at every barrier: when another process (or
# napari's own thread) holds one of few cores, a clustering step became 10 to 20 times
# slower (docs/benchmarks/scribbles.md). Read when torch loads; a user's setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

try:
    __version__ = version("napari-unsup-seg")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
