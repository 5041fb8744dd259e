"""Saving: the Save button, the overwrite confirmation, and the npe2 writers."""

from __future__ import annotations

import json

import imageio.v3 as iio
import numpy as np
import pytest
import tifffile

from napari_unsup_seg._napari import dialogs
from napari_unsup_seg._napari.saving import write_segmentation
from napari_unsup_seg.core.errors import InputWarning


@pytest.fixture
def segmented(loaded, run_and_wait):
    viewer, widget, image, scribbles = loaded
    run_and_wait(widget)
    return viewer, widget, widget.result_layer()


def test_save_reads_back_equal_and_asks_before_overwriting(segmented, tmp_path, monkeypatch):
    viewer, widget, result = segmented
    asked = []
    monkeypatch.setattr(dialogs, "choose_folder", lambda *a, **k: tmp_path)
    monkeypatch.setattr(dialogs, "confirm_overwrite", lambda parent, paths: asked.append(paths) or False)
    widget.legend.table.item(0, 2).setText("red part")
    widget.save_button.click()

    labels = np.array(result.data, copy=True)
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "tiny_labels.tif"), labels)
    np.testing.assert_array_equal(iio.imread(tmp_path / "tiny_labels.png"), labels)
    masks = tifffile.imread(tmp_path / "tiny_masks.tif")
    values = np.unique(labels)
    assert masks.shape == (len(values), 48, 64)
    for mask, value in zip(masks, values):
        np.testing.assert_array_equal(mask > 0, labels == value)
        np.testing.assert_array_equal(iio.imread(tmp_path / f"tiny_class_{value}.png") > 0, labels == value)
    ucm = tifffile.imread(tmp_path / "tiny_ucm.tif")
    assert ucm.shape == (97, 129) and ucm.dtype == np.float32
    recipe = json.loads((tmp_path / "tiny_recipe.json").read_text())
    assert recipe["parameters"]["method"] == "cluster" and recipe["napari"]["image_layer"] == "tiny"
    assert recipe["class_names"]["1"] == "red part"
    assert not asked

    # the files exist now: saving again asks, and "no" leaves them untouched
    result.paint((24, 10), 2)
    stamp = (tmp_path / "tiny_labels.tif").stat().st_mtime_ns
    widget.save_button.click()
    assert len(asked) == 1 and (tmp_path / "tiny_labels.tif") in asked[0]
    assert (tmp_path / "tiny_labels.tif").stat().st_mtime_ns == stamp
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "tiny_labels.tif"), labels)
    assert "not saved" in widget.status.text()

    monkeypatch.setattr(dialogs, "confirm_overwrite", lambda parent, paths: True)
    widget.save_button.click()
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "tiny_labels.tif"), result.data)


def test_writers_through_napari(segmented, tmp_path, monkeypatch):
    viewer, widget, result = segmented
    viewer.layers.selection = {result}
    saved = viewer.layers.save(str(tmp_path / "labels.tif"), selected=True, plugin="napari-unsup-seg")
    assert saved == [str(tmp_path / "labels.tif")]
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "labels.tif"), result.data)

    data, meta, _ = result.as_layer_data_tuple()
    written = write_segmentation(str(tmp_path / "pkg.tif"), data, meta)
    assert str(tmp_path / "pkg_recipe.json") in written and str(tmp_path / "pkg_ucm.tif") in written
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "pkg_labels.tif"), result.data)
    monkeypatch.setattr(dialogs, "confirm_overwrite", lambda parent, paths: False)
    before = (tmp_path / "pkg_labels.tif").read_bytes()
    with pytest.warns(InputWarning, match="you kept the existing files"):
        assert write_segmentation(str(tmp_path / "pkg.tif"), data, meta) == []  # declined: no traceback
    assert (tmp_path / "pkg_labels.tif").read_bytes() == before
