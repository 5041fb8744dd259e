"""Inputs shared by the command-line tests (a module, not a conftest: the napari tests
import their own ``conftest``)."""

import imageio.v3 as iio
import numpy as np
import pytest


@pytest.fixture
def two_halves(tmp_path):
    """img.png (24x32: blue left half, red right half) and scr.png (a stroke of class 1 and 2 in each)."""
    image = np.zeros((24, 32, 3), np.uint8)
    image[:, 16:] = (200, 40, 40)
    image[:, :16] = (30, 30, 160)
    scribbles = np.zeros((24, 32), np.uint8)
    scribbles[10:13, 3:10] = 1
    scribbles[10:13, 22:29] = 2
    iio.imwrite(tmp_path / "img.png", image)
    iio.imwrite(tmp_path / "scr.png", scribbles)
    return tmp_path
