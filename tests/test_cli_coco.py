"""``segment --coco``: the two COCO JSON files beside the other outputs, and reruns that know them."""

import json

import numpy as np
import pytest
import tifffile
from pycocotools.coco import COCO

from cli_inputs import two_halves  # noqa: F401 (a fixture)

from napari_unsup_seg.cli import main

FAST = ["--max-iter", "8", "--device", "cpu", "-q"]
COCO_FILES = ("img_coco_instances.json", "img_coco_semantic.json")


def segment(folder, *extra):
    return main(
        [
            "segment",
            str(folder / "img.png"),
            "--scribbles",
            str(folder / "scr.png"),
            "-o",
            str(folder / "out"),
            "--seed",
            "3",
            *FAST,
            *extra,
        ]
    )


def rebuilt(api: COCO, shape) -> np.ndarray:
    labels = np.zeros(shape, np.uint16)
    for annotation in api.loadAnns(api.getAnnIds(imgIds=api.getImgIds())):
        assert not labels[api.annToMask(annotation) > 0].any()
        labels[api.annToMask(annotation) > 0] = annotation["category_id"]
    return labels


def test_segment_coco_writes_both_files_that_read_back_as_the_labels(two_halves):
    assert segment(two_halves, "--coco") == 0
    out = two_halves / "out"
    labels = tifffile.imread(out / "img_labels.tif")
    for name in COCO_FILES:
        api = COCO(str(out / name))
        assert api.loadImgs(api.getImgIds()) == [{"id": 1, "file_name": "img.png", "height": 24, "width": 32}]
        assert api.getCatIds() == sorted(int(v) for v in np.unique(labels) if v > 0)
        np.testing.assert_array_equal(rebuilt(api, labels.shape), labels)
    semantic = json.loads((out / "img_coco_semantic.json").read_text())
    assert len(semantic["annotations"]) == len(semantic["categories"])
    recipe = json.loads((out / "img_recipe.json").read_text())
    assert set(COCO_FILES) <= set(recipe["outputs"])
    assert recipe["fingerprint"]["settings"]["outputs"]["coco"] is True


def test_rerun_skips_and_other_settings_replace_the_coco_files_only_when_asked(two_halves, capsys):
    out = two_halves / "out"
    assert segment(two_halves, "--coco") == 0
    stamps = {name: (out / name).stat().st_mtime_ns for name in COCO_FILES}
    capsys.readouterr()
    assert (
        main(
            [
                "segment",
                str(two_halves / "img.png"),
                "--scribbles",
                str(two_halves / "scr.png"),
                "-o",
                str(out),
                "--seed",
                "3",
                "--max-iter",
                "8",
                "--device",
                "cpu",
                "--coco",
            ]
        )
        == 0
    )
    assert "1 skipped" in capsys.readouterr().err
    assert {name: (out / name).stat().st_mtime_ns for name in COCO_FILES} == stamps

    # without --coco the outputs differ: the COCO files are not left as if they were of this run
    assert segment(two_halves) == 2
    assert "img_coco_instances.json" in capsys.readouterr().err
    assert segment(two_halves, "--overwrite") == 0
    assert not any((out / name).exists() for name in COCO_FILES)  # stale: removed with the old result
    assert "coco" not in json.loads((out / "img_recipe.json").read_text())["fingerprint"]["settings"]["outputs"]

    assert segment(two_halves, "--coco") == 2  # now the run without them is on disk
    assert segment(two_halves, "--coco", "--overwrite") == 0
    assert all((out / name).exists() for name in COCO_FILES)


def test_coco_files_of_a_run_left_unfinished_are_found_and_replaced(two_halves):
    out = two_halves / "out"
    assert segment(two_halves, "--coco") == 0
    (out / "img_recipe.json").unlink()  # as after a kill before the recipe: only the marker tells
    (out / ".img.unfinished").write_text("")
    (out / "img_coco_semantic.json").write_text("{")
    assert segment(two_halves, "--coco") == 0
    COCO(str(out / "img_coco_semantic.json"))
    assert not (out / ".img.unfinished").exists()


def test_coco_flag_has_help_with_its_default(capsys):
    with pytest.raises(SystemExit):
        main(["segment", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    entry = text[text.rindex("--coco ") :][:300]
    assert entry.startswith("--coco also write <stem>_coco_instances.json") and "(default off)" in entry


def test_a_volume_is_one_coco_image_per_slice(tmp_path):
    z, y, x = np.indices((4, 20, 20))
    ball = ((z - 2) / 2) ** 2 + ((y - 10) / 6) ** 2 + ((x - 10) / 6) ** 2 < 1
    rng = np.random.default_rng(0)
    image = (np.clip(0.3 + 0.4 * ball + rng.normal(0, 0.05, ball.shape), 0, 1) * 65535).astype(np.uint16)
    tifffile.imwrite(tmp_path / "vol.tif", image, metadata={"axes": "ZYX"})
    scribbles = np.zeros(ball.shape, np.uint8)
    scribbles[2, 10, 7:13] = 2
    scribbles[2, 1, 1:-1] = 1
    tifffile.imwrite(tmp_path / "vol_scribbles.tif", scribbles, metadata={"axes": "ZYX"})
    out = tmp_path / "out"
    assert (
        main(
            [
                "segment",
                str(tmp_path / "vol.tif"),
                "--scribbles",
                str(tmp_path / "vol_scribbles.tif"),
                "-o",
                str(out),
                "--coco",
                "--device",
                "cpu",
                "-q",
                "--max-iter",
                "8",
            ]
        )
        == 0
    )
    labels = tifffile.imread(out / "vol_labels.tif")
    api = COCO(str(out / "vol_coco_instances.json"))
    images = api.loadImgs(api.getImgIds())
    assert [i["file_name"] for i in images] == [f"vol_z{k:04d}.png" for k in range(4)]
    for image_id, plane in zip(api.getImgIds(), labels):
        rebuilt_plane = np.zeros(plane.shape, np.uint16)
        for annotation in api.loadAnns(api.getAnnIds(imgIds=[image_id])):
            rebuilt_plane[api.annToMask(annotation) > 0] = annotation["category_id"]
        np.testing.assert_array_equal(rebuilt_plane, plane)
