"""The CLI on OME-Zarr inputs (a level, a labels group beside the image) and on large images."""

from __future__ import annotations

import json

import dask
import numpy as np
import pytest
import tifffile

from napari_unsup_seg.cli import main as cli

zarr = pytest.importorskip("zarr")
from ome_zarr.writer import write_image  # noqa: E402

from napari_unsup_seg.core import zarr_io  # noqa: E402


def _scene(h: int = 96, w: int = 128):
    yy, xx = np.mgrid[:h, :w]
    truth = (yy - h / 2) ** 2 + (xx - w / 2) ** 2 < (h / 4) ** 2
    rng = np.random.default_rng(0)
    image = (0.2 + 0.6 * truth + rng.normal(0, 0.04, truth.shape)).astype(np.float32)
    strokes = np.zeros(truth.shape, np.uint8)
    strokes[h // 2, w // 2 - 8 : w // 2 + 8] = 2
    strokes[2, 2 : w - 2] = 1
    strokes[h - 3, 2 : w - 2] = 1
    return image, strokes, truth


@pytest.fixture
def image_zarr(tmp_path):
    image, strokes, truth = _scene(192, 256)
    path = tmp_path / "cells.ome.zarr"
    with dask.config.set(scheduler="synchronous"):  # as zarr_io writes: no dask thread pool over zarr's loop
        write_image(
            image, zarr.open_group(str(path), mode="w"), axes="yx", scale_factors=(2,), scale={"y": 0.5, "x": 0.5}
        )
    level1 = strokes[::2, ::2]
    np.save(tmp_path / "strokes.npy", level1)
    return path, tmp_path / "strokes.npy", truth[::2, ::2]


def test_an_ome_zarr_level_is_segmented_and_written_beside_the_image(image_zarr, tmp_path, capsys):
    path, strokes, truth = image_zarr
    out = tmp_path / "out"
    args = [
        "segment",
        str(path),
        "--level",
        "1",
        "--scribbles",
        str(strokes),
        "--zarr-labels",
        "seg",
        "--max-iter",
        "5",
        "-o",
        str(out),
    ]
    assert cli(args) == 0, capsys.readouterr().err
    labels = tifffile.imread(out / "cells_labels.tif")  # the stem drops .ome.zarr
    assert labels.shape == truth.shape
    fg = labels == 2
    assert (fg & truth).sum() / (fg | truth).sum() > 0.9
    group = path / "labels" / "seg"
    recipe = zarr_io.recipe_of(group)
    assert (
        recipe["level"] == 1
        and recipe["fingerprint"] == json.loads((out / "cells_recipe.json").read_text())["fingerprint"]
    )
    levels = [
        zarr.open_group(str(group))[d["path"]]
        for d in zarr.open_group(str(group)).attrs["ome"]["multiscales"][0]["datasets"]
    ]
    assert [a.shape for a in levels] == [(192, 256), (96, 128)]
    np.testing.assert_array_equal(levels[1][:], labels)

    assert cli(args) == 0  # a rerun skips it
    assert "1 skipped" in capsys.readouterr().err


def test_full_resolution_scribbles_are_brought_to_the_level_read(image_zarr, tmp_path, capsys):
    path, level1_strokes, truth = image_zarr
    full = np.zeros((192, 256), np.uint8)
    full[96, 120:136] = 2  # a one-pixel-wide stroke: shrunk, it is kept
    full[4, 4:252] = 1
    full[187, 4:252] = 1
    np.save(tmp_path / "full.npy", full)
    out = tmp_path / "out"
    args = [
        "segment",
        str(path),
        "--level",
        "1",
        "--scribbles",
        str(tmp_path / "full.npy"),
        "--max-iter",
        "5",
        "-o",
        str(out),
    ]
    assert cli(args) == 0, capsys.readouterr().err
    labels = tifffile.imread(out / "cells_labels.tif")
    assert labels.shape == (96, 128)
    fg = labels == 2
    assert (fg & truth).sum() / (fg | truth).sum() > 0.9


def test_a_labels_group_of_another_tool_is_kept_without_overwrite(image_zarr, tmp_path, capsys):
    path, strokes, _ = image_zarr
    zarr_io.write_labels(path, "seg", np.ones((192, 256), np.int32))
    zarr.open_group(str(path / "labels" / "seg"), mode="a").attrs.pop(zarr_io.META_KEY)  # as another tool's
    args = [
        "segment",
        str(path),
        "--level",
        "1",
        "--scribbles",
        str(strokes),
        "--zarr-labels",
        "seg",
        "--max-iter",
        "3",
        "-o",
        str(tmp_path / "out"),
    ]
    assert cli(args) == 1
    assert "not written by napari-unsup-seg" in capsys.readouterr().err
    assert zarr_io.recipe_of(path / "labels" / "seg") is None  # untouched
    assert cli(args + ["--overwrite"]) == 0
    assert zarr_io.recipe_of(path / "labels" / "seg")["level"] == 1


def test_level_and_zarr_labels_need_an_ome_zarr(tmp_path, capsys):
    image, _, _ = _scene()
    tifffile.imwrite(tmp_path / "plain.tif", (image * 255).astype(np.uint8))
    assert cli(["segment", str(tmp_path / "plain.tif"), "--level", "1", "-o", str(tmp_path / "o")]) == 2
    assert "not an OME-Zarr image" in capsys.readouterr().err
    assert (
        cli(
            [
                "segment",
                str(tmp_path / "plain.tif"),
                "--zarr-labels",
                "seg",
                "--max-iter",
                "2",
                "-o",
                str(tmp_path / "o2"),
            ]
        )
        == 1
    )
    assert "not an OME-Zarr image" in capsys.readouterr().err


def test_a_large_image_is_fitted_at_the_working_resolution(tmp_path, capsys):
    image, strokes, truth = _scene(240, 320)
    tifffile.imwrite(tmp_path / "big.tif", (image * 255).astype(np.uint8))
    np.save(tmp_path / "big_scribbles.npy", strokes)
    out = tmp_path / "out"
    assert (
        cli(
            [
                "segment",
                str(tmp_path / "big.tif"),
                "--scribbles",
                str(tmp_path / "big_scribbles.npy"),
                "--work-pixels",
                "19200",
                "--ucm",
                "--max-iter",
                "5",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    said = capsys.readouterr().out
    assert "no full-resolution UCM" in said
    labels = tifffile.imread(out / "big_labels.tif")
    assert labels.shape == (240, 320)
    fg = labels == 2
    assert (fg & truth).sum() / (fg | truth).sum() > 0.9
    recipe = json.loads((out / "big_recipe.json").read_text())
    assert recipe["large"]["working_shape"] == [120, 160] and recipe["parameters"]["large"]["work_pixels"] == 19200
    assert not (out / "big_ucm.tif").exists()
