"""OME-Zarr: reading a chosen level with its axes and scale, writing labels beside the image."""

from __future__ import annotations

import numpy as np
import pytest

zarr = pytest.importorskip("zarr")
from ome_zarr.io import parse_url  # noqa: E402
from ome_zarr.reader import Label, Reader  # noqa: E402
from ome_zarr.writer import write_image  # noqa: E402

from napari_unsup_seg.core import zarr_io  # noqa: E402
from napari_unsup_seg.core.errors import InputError  # noqa: E402


@pytest.fixture
def image_zarr(tmp_path):
    """A two-channel volume (C, Z, Y, X) = (2, 5, 64, 80) at three levels, voxel 3 x 0.5 x 0.5."""
    data = np.random.default_rng(0).random((2, 5, 64, 80)).astype(np.float32)
    path = tmp_path / "cells.ome.zarr"
    write_image(
        data,
        zarr.open_group(str(path), mode="w"),
        axes="czyx",
        scale_factors=(2, 4),
        scale={"c": 1.0, "z": 3.0, "y": 0.5, "x": 0.5},
    )
    return path, data


def _level0(path, name: str) -> np.ndarray:
    group = zarr.open_group(str(path / "labels" / name), mode="r")
    return group[group.attrs["ome"]["multiscales"][0]["datasets"][0]["path"]][:]


def test_reads_the_level_asked_with_its_axes_and_voxel_size(image_zarr):
    path, data = image_zarr
    assert zarr_io.is_ome_zarr(path) and not zarr_io.is_ome_zarr(path.parent)
    info = zarr_io.describe(path)
    assert info.axes == "CZYX" and info.levels == 3
    assert (
        info.shapes[1] == (2, 5, 32, 40) and info.spacing(0) == (3.0, 0.5, 0.5) and info.spacing(1) == (3.0, 1.0, 1.0)
    )
    stack = zarr_io.read_stack(path, 0)
    assert stack.data.shape == (1, 2, 5, 64, 80) and stack.axes == "CZYX"
    np.testing.assert_array_equal(stack.data[0], data)
    assert zarr_io.read_stack(path, 2).data.shape == (1, 2, 5, 16, 20)
    with pytest.raises(InputError, match="levels 0 to 2"):
        zarr_io.read_stack(path, 3)


def test_labels_are_written_at_every_level_beside_the_image_with_the_recipe(image_zarr):
    path, _ = image_zarr
    labels = np.zeros((5, 32, 40), np.int32)  # computed at level 1
    labels[:, 8:24, 10:30] = 2
    labels[labels == 0] = 1
    target = zarr_io.write_labels(path, "segmentation", labels, level=1, recipe={"seed": 3})
    assert target == path / "labels" / "segmentation"
    nodes = [n for n in Reader(parse_url(str(path)))() if any(isinstance(s, Label) for s in n.specs)]
    assert len(nodes) == 1
    shapes = [d.shape for d in nodes[0].data]
    assert shapes == [(5, 64, 80), (5, 32, 40), (5, 16, 20)]
    np.testing.assert_array_equal(np.asarray(nodes[0].data[1]), labels)
    np.testing.assert_array_equal(np.asarray(nodes[0].data[0])[:, ::2, ::2], labels)
    group = zarr.open_group(str(target))
    assert group.attrs[zarr_io.META_KEY] == {"seed": 3}
    assert zarr.open_group(str(path / "labels")).attrs["ome"]["labels"] == ["segmentation"]
    scale = group.attrs["ome"]["multiscales"][0]["datasets"][0]["coordinateTransformations"][0]["scale"]
    assert scale == [3.0, 0.5, 0.5]


def test_an_existing_labels_group_is_kept_unless_asked_and_a_failed_write_leaves_nothing(image_zarr, monkeypatch):
    path, _ = image_zarr
    first = np.ones((5, 64, 80), np.int32)
    zarr_io.write_labels(path, "seg", first)
    with pytest.raises(InputError, match="exists already"):
        zarr_io.write_labels(path, "seg", first * 2)
    np.testing.assert_array_equal(_level0(path, "seg"), first)

    import ome_zarr.writer

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(ome_zarr.writer, "write_multiscale_labels", broken)
    with pytest.raises(OSError):
        zarr_io.write_labels(path, "seg", first * 2, overwrite=True)
    monkeypatch.undo()
    np.testing.assert_array_equal(_level0(path, "seg"), first)
    assert sorted(p.name for p in (path / "labels").iterdir()) == ["seg", "zarr.json"]
    assert zarr.open_group(str(path / "labels")).attrs["ome"]["labels"] == ["seg"]

    zarr_io.write_labels(path, "seg", first * 2, overwrite=True)
    np.testing.assert_array_equal(_level0(path, "seg"), first * 2)
    assert zarr.open_group(str(path / "labels")).attrs["ome"]["labels"] == ["seg"]


def test_labels_of_the_wrong_shape_and_bad_names_are_refused(image_zarr):
    path, _ = image_zarr
    with pytest.raises(InputError, match="do not fit level 0"):
        zarr_io.write_labels(path, "seg", np.ones((5, 30, 30), np.int32))
    with pytest.raises(InputError, match="plain name"):
        zarr_io.write_labels(path, "../x", np.ones((5, 64, 80), np.int32))
    assert not (path / "labels" / "seg").exists()
