"""COCO JSON of a result: every RLE decodes back to the label image, and pycocotools reads the files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from skimage.measure import label as connected

from napari_unsup_seg.core import coco, export


def scene() -> np.ndarray:
    """Classes 1..3 (and unlabeled 0): two separate blobs of class 1, a ring of class 2 around
    class 3, a diagonal chain of class 1 pixels (one 8-connected region) and a region at the border."""
    classes = np.zeros((40, 50), np.uint16)
    classes[2:8, 3:12] = 1
    classes[20:30, 30:45] = 1
    classes[10:22, 5:20] = 2
    classes[13:19, 8:16] = 3
    for k in range(6):
        classes[32 + k, 2 + k] = 1
    classes[35:, 45:] = 2
    return classes


def decoded(annotation: dict) -> np.ndarray:
    return mask_utils.decode(annotation["segmentation"]).astype(bool)


def check_semantic(data: dict, classes: np.ndarray) -> None:
    planes = classes.reshape(-1, *classes.shape[-2:])
    assert len(data["images"]) == len(planes)
    by_image = {}
    for annotation in data["annotations"]:
        by_image.setdefault(annotation["image_id"], []).append(annotation)
        assert annotation["iscrowd"] == 1
    for image in data["images"]:
        plane = planes[image["id"] - 1]
        assert (image["height"], image["width"]) == plane.shape
        annotations = by_image.get(image["id"], [])
        assert sorted(a["category_id"] for a in annotations) == [v for v in np.unique(plane) if v > 0]
        for annotation in annotations:
            mask = decoded(annotation)
            np.testing.assert_array_equal(mask, plane == annotation["category_id"])
            assert annotation["area"] == mask.sum()


def check_instances(data: dict, classes: np.ndarray) -> None:
    """The instances tile the labelled pixels exactly, each one connected region of one class."""
    planes = classes.reshape(-1, *classes.shape[-2:])
    rebuilt = np.zeros_like(planes)
    for annotation in data["annotations"]:
        assert annotation["iscrowd"] == 0
        mask = decoded(annotation)
        plane = rebuilt[annotation["image_id"] - 1]
        assert not plane[mask].any(), "two instances overlap"
        plane[mask] = annotation["category_id"]
        assert connected(mask, connectivity=2).max() == 1
        assert annotation["area"] == mask.sum()
        rows, cols = np.nonzero(mask)
        x, y, w, h = annotation["bbox"]
        assert (x, y, w, h) == (cols.min(), rows.min(), np.ptp(cols) + 1, np.ptp(rows) + 1)
    np.testing.assert_array_equal(rebuilt, planes)
    expected = sum(connected(np.asarray(p), background=0, connectivity=2).max() for p in planes)
    assert len(data["annotations"]) == expected


def test_semantic_and_instances_decode_back_to_the_labels():
    classes = scene()
    semantic = coco.semantic_coco(classes, {1: "cell", 2: "ring"}, file_name="cells.tif")
    check_semantic(semantic, classes)
    instances = coco.instances_coco(classes, {1: "cell", 2: "ring"}, file_name="cells.tif")
    check_instances(instances, classes)
    # two blobs and the diagonal chain of class 1, the ring and the corner of class 2, the core of class 3
    assert sorted(a["category_id"] for a in instances["annotations"]) == [1, 1, 1, 2, 2, 3]
    assert [i["file_name"] for i in instances["images"]] == ["cells.tif"]
    assert [(c["id"], c["name"]) for c in instances["categories"]] == [(1, "cell"), (2, "ring"), (3, "class 3")]
    assert len({a["id"] for a in instances["annotations"]}) == 6


def test_random_labels_many_small_regions_round_trip():
    rng = np.random.default_rng(4)
    classes = rng.integers(0, 5, (37, 53)).astype(np.uint32) * 70000  # values past uint16
    check_semantic(coco.semantic_coco(classes), classes)
    check_instances(coco.instances_coco(classes), classes)


def test_pycocotools_loads_the_written_files(tmp_path):
    classes = scene()
    names = {1: "cell", 2: "ring", 3: "core"}
    paths = export.write_outputs(
        tmp_path, "cells", classes, class_names=names, masks=False, coco=True, image_file="cells.png"
    )
    assert [p.name for p in paths] == [
        "cells_labels.tif",
        "cells_labels.png",
        "cells_coco_instances.json",
        "cells_coco_semantic.json",
    ]
    for kind, count in (("instances", 6), ("semantic", 3)):
        api = COCO(str(tmp_path / f"cells_coco_{kind}.json"))
        assert api.getCatIds() == [1, 2, 3]
        assert [c["name"] for c in api.loadCats(api.getCatIds())] == ["cell", "ring", "core"]
        assert api.getImgIds() == [1] and api.loadImgs(1)[0]["file_name"] == "cells.png"
        ids = api.getAnnIds(imgIds=[1])
        assert len(ids) == count
        rebuilt = np.zeros_like(classes)
        for annotation in api.loadAnns(ids):
            rebuilt[api.annToMask(annotation) > 0] = annotation["category_id"]
        np.testing.assert_array_equal(rebuilt, classes)
        one_class = api.getAnnIds(catIds=[1])
        assert len(one_class) == (3 if kind == "instances" else 1)


def test_a_stack_is_one_coco_image_per_plane():
    volume = np.stack([scene(), np.zeros((40, 50), np.uint16), scene()[::-1] * (scene()[::-1] != 3)])
    semantic = coco.semantic_coco(volume, file_name="vol.tif")
    instances = coco.instances_coco(volume, file_name="vol.tif")
    check_semantic(semantic, volume)
    check_instances(instances, volume)
    assert [i["file_name"] for i in instances["images"]] == ["vol_z0000.png", "vol_z0001.png", "vol_z0002.png"]
    assert not [a for a in instances["annotations"] if a["image_id"] == 2]  # the empty plane has none
    assert {a["category_id"] for a in semantic["annotations"] if a["image_id"] == 3} == {1, 2}

    series = np.stack([volume, volume[::-1]])  # (T, Z, H, W)
    check_instances(coco.instances_coco(series), series)
    named = coco.semantic_coco(series, file_name="cells.png", axes="TZ")
    assert named["images"][4]["file_name"] == "cells_t0001_z0001.png"
    assert len(coco.semantic_coco(volume[:2], axes="T")["images"]) == 2
    with pytest.raises(ValueError, match="axes"):
        coco.semantic_coco(volume, axes="TZ")


def test_a_named_class_without_pixels_and_an_empty_label_image():
    classes = scene()
    data = coco.semantic_coco(classes, {1: "cell", 7: "debris"})
    assert [(c["id"], c["name"]) for c in data["categories"]] == [
        (1, "cell"),
        (2, "class 2"),
        (3, "class 3"),
        (7, "debris"),
    ]
    assert 7 not in {a["category_id"] for a in data["annotations"]}
    empty = coco.instances_coco(np.zeros((5, 6), np.uint8), {1: "cell"})
    assert empty["annotations"] == [] and [c["id"] for c in empty["categories"]] == [1]
    assert len(empty["images"]) == 1
    json.dumps(empty)


def test_instances_of_a_region_image_split_by_class():
    classes = np.array([[1, 1, 2, 2], [1, 1, 2, 0], [1, 1, 0, 1]])
    regions = np.array([[5, 5, 5, 6], [5, 5, 5, 6], [0, 6, 6, 6]])
    data = coco.instances_coco(classes, regions=regions)
    masks = [(a["category_id"], decoded(a)) for a in data["annotations"]]
    expected = [
        (1, (classes == 1) & (regions == 5)),
        (2, (classes == 2) & (regions == 5)),
        (2, (classes == 2) & (regions == 6)),
        (1, (classes == 1) & (regions == 6)),
    ]
    assert len(masks) == len(expected)
    for (value, mask), (want_value, want) in zip(masks, expected):
        assert value == want_value
        np.testing.assert_array_equal(mask, want)  # region 6 of class 1 is two pieces: one instance
    with pytest.raises(ValueError, match="do not fit"):
        coco.instances_coco(classes, regions=regions[:2])


def test_refuses_what_is_not_a_label_image():
    with pytest.raises(ValueError, match="whole numbers"):
        coco.semantic_coco(np.zeros((4, 4), np.float32))
    with pytest.raises(ValueError, match="negative"):
        coco.instances_coco(-np.ones((4, 4), np.int16))
    with pytest.raises(ValueError, match="2 dimensions"):
        coco.semantic_coco(np.zeros(4, np.uint8))


def test_the_rle_of_a_crop_is_that_of_pycocotools_on_the_whole_plane():
    rng = np.random.default_rng(1)
    classes = connected(rng.random((31, 29)) > 0.6, connectivity=2)
    data = coco.instances_coco(classes)
    assert len(data["annotations"]) == classes.max()
    for annotation in data["annotations"]:
        mask = decoded(annotation)
        reference = mask_utils.encode(np.asfortranarray(mask, dtype=np.uint8))
        assert annotation["segmentation"]["counts"] == reference["counts"].decode()
        assert annotation["bbox"] == list(mask_utils.toBbox(reference))
