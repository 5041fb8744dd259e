"""Save with "with COCO JSON" ticked: the two COCO files beside the label image, read back by pycocotools."""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pytest
import tifffile
from pycocotools.coco import COCO
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QStyle, QStyleOptionButton

from napari_unsup_seg._napari import dialogs

from conftest import make_image, make_scribbles

COCO_FILES = ("coco_instances.json", "coco_semantic.json")


@pytest.fixture
def segmented(loaded, run_and_wait):
    viewer, widget, image, scribbles = loaded
    run_and_wait(widget)
    return viewer, widget, widget.result_layer()


def indicator(box):
    """The centre of a check box's square, where a user clicks."""
    option = QStyleOptionButton()
    box.initStyleOption(option)
    return box.style().subElementRect(QStyle.SubElement.SE_CheckBoxIndicator, option, box).center()


def rebuilt(api: COCO, shape) -> np.ndarray:
    labels = np.zeros(shape, np.int64)
    for annotation in api.loadAnns(api.getAnnIds()):
        mask = api.annToMask(annotation) > 0
        assert not labels[mask].any()
        labels[mask] = annotation["category_id"]
    return labels


def test_save_with_coco_box_writes_both_files_that_read_back(segmented, tmp_path, qtbot, monkeypatch):
    viewer, widget, result = segmented
    asked = []
    folder = tmp_path / "saved"
    monkeypatch.setattr(dialogs, "choose_folder", lambda *a, **k: folder)
    monkeypatch.setattr(dialogs, "confirm_overwrite", lambda parent, paths: asked.append(paths) or True)
    widget.legend.table.item(0, 2).setText("red part")
    box = widget.saver.coco_box
    assert box.isEnabled() and not box.isChecked()
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=indicator(box))
    assert box.isChecked()
    qtbot.mouseClick(widget.save_button, Qt.MouseButton.LeftButton)

    labels = np.asarray(result.data)
    np.testing.assert_array_equal(tifffile.imread(folder / "tiny_labels.tif"), labels)
    values = [int(v) for v in np.unique(labels) if v > 0]
    for name in COCO_FILES:
        api = COCO(str(folder / f"tiny_{name}"))
        assert api.loadImgs(api.getImgIds()) == [{"id": 1, "file_name": "tiny.png", "height": 48, "width": 64}]
        assert api.getCatIds() == values
        assert api.loadCats(1)[0]["name"] == "red part"
        np.testing.assert_array_equal(rebuilt(api, labels.shape), labels)
    assert len(COCO(str(folder / "tiny_coco_semantic.json")).getAnnIds()) == len(values)
    assert not asked

    # saving again asks about the COCO files too
    qtbot.mouseClick(widget.save_button, Qt.MouseButton.LeftButton)
    assert {folder / f"tiny_{name}" for name in COCO_FILES} <= set(asked[0])


def test_without_the_box_no_coco_file(segmented, tmp_path, qtbot, monkeypatch):
    viewer, widget, result = segmented
    monkeypatch.setattr(dialogs, "choose_folder", lambda *a, **k: tmp_path)
    qtbot.mouseClick(widget.save_button, Qt.MouseButton.LeftButton)
    assert (tmp_path / "tiny_labels.tif").exists()
    assert not list(tmp_path.glob("*coco*"))


def test_an_image_opened_from_a_file_is_named_by_it(plugin, qtbot, run_and_wait, tmp_path, monkeypatch):
    viewer, widget = plugin
    iio.imwrite(tmp_path / "cells.png", make_image())
    [image] = viewer.open(str(tmp_path / "cells.png"))
    qtbot.waitUntil(lambda: widget.scribbles_layer() is not None, timeout=5000)
    widget.scribbles_layer().data = make_scribbles()
    widget.params.iterations.setValue(20)
    widget.params.use_crf.setChecked(False)
    qtbot.waitUntil(widget.core_ready.is_set, timeout=60_000)
    run_and_wait(widget)
    monkeypatch.setattr(dialogs, "choose_folder", lambda *a, **k: tmp_path / "out")
    widget.saver.coco_box.setChecked(True)
    qtbot.mouseClick(widget.save_button, Qt.MouseButton.LeftButton)
    api = COCO(str(tmp_path / "out" / f"{image.name}_coco_instances.json"))
    assert api.loadImgs(1)[0]["file_name"] == "cells.png"
    np.testing.assert_array_equal(rebuilt(api, (48, 64)), np.asarray(widget.result_layer().data))
