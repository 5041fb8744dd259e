import json

import imageio.v3 as iio
import numpy as np
import pytest
import tifffile

from napari_unsup_seg.core.errors import InputError
from napari_unsup_seg.core.export import planned_outputs, write_outputs


def _labels():
    labels = np.zeros((6, 8), np.int32)
    labels[:, 4:] = 2
    labels[:3, :4] = 1
    return labels


def test_write_and_read_back(tmp_path):
    labels = _labels()
    ucm = np.random.default_rng(0).random((13, 17)).astype(np.float32)
    paths = write_outputs(tmp_path, "img", labels, ucm=ucm, recipe={"seed": 3}, class_names={1: "cell"})
    assert all(p.exists() for p in paths)
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "img_labels.tif"), labels)
    np.testing.assert_array_equal(iio.imread(tmp_path / "img_labels.png"), labels)
    masks = tifffile.imread(tmp_path / "img_masks.tif")
    assert masks.shape == (2, 6, 8)
    np.testing.assert_array_equal(masks[1] > 0, labels == 2)
    np.testing.assert_array_equal(iio.imread(tmp_path / "img_class_1.png") > 0, labels == 1)
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "img_ucm.tif"), ucm)
    recipe = json.loads((tmp_path / "img_recipe.json").read_text())
    assert recipe["seed"] == 3 and recipe["class_names"] == {"1": "cell"}


def test_refuses_to_overwrite_and_writes_nothing(tmp_path):
    labels = _labels()
    (tmp_path / "img_recipe.json").write_text("mine")
    with pytest.raises(FileExistsError, match="img_recipe.json"):
        write_outputs(tmp_path, "img", labels, recipe={"a": 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["img_recipe.json"]
    assert (tmp_path / "img_recipe.json").read_text() == "mine"
    write_outputs(tmp_path, "img", labels, recipe={"a": 1}, overwrite=True)
    assert json.loads((tmp_path / "img_recipe.json").read_text()) == {"a": 1}


def test_large_values_skip_png(tmp_path):
    labels = np.full((3, 3), 70000, np.int64)
    names = [p.name for p in planned_outputs(tmp_path, "x", labels, masks=False, recipe=False)]
    assert names == ["x_labels.tif"]
    write_outputs(tmp_path, "x", labels, masks=False)
    assert tifffile.imread(tmp_path / "x_labels.tif").dtype == np.uint32


def test_unwritable_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(InputError, match="cannot create|not a folder"):
        write_outputs(blocker / "sub", "x", _labels())


@pytest.mark.parametrize(
    "values",
    [
        np.array([[0, 3], [3, 7]], np.int32),
        np.array([5, 2, 2], np.uint8),
        np.array([-4, 2, 9]),
        np.array([10**9, 0], np.int64),
        np.zeros(0, np.int32),
        np.array([True, False]),
    ],
)
def test_present_values_are_those_of_np_unique(values):
    from napari_unsup_seg.core.export import present_values

    got = present_values(values)
    assert got.tolist() == np.unique(values).tolist() and got.dtype == np.unique(values).dtype
