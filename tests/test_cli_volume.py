"""The CLI on volumes and time-lapses: axes in, axes out, the same checks as for images."""

import json

import numpy as np
import pytest
import tifffile

from napari_unsup_seg.cli import main

FAST = ["--device", "cpu", "-q"]


@pytest.fixture
def volume(tmp_path):
    rng = np.random.default_rng(0)
    z, y, x = np.indices((12, 40, 40))
    truth = ((z - 6) / 5) ** 2 + ((y - 20) / 12) ** 2 + ((x - 20) / 13) ** 2 < 1
    image = (np.clip(0.3 + 0.4 * truth + rng.normal(0, 0.08, truth.shape), 0, 1) * 65535).astype(np.uint16)
    tifffile.imwrite(tmp_path / "vol.tif", image, metadata={"axes": "ZYX"})
    np.save(tmp_path / "vol.npy", image)
    scribbles = np.zeros(truth.shape, np.uint8)
    for s in (4, 8):
        scribbles[s, 20, 12:28] = 2
        scribbles[s, 1, 1:-1] = scribbles[s, -2, 1:-1] = 1
    tifffile.imwrite(tmp_path / "vol_scribbles.tif", scribbles, metadata={"axes": "ZYX"})
    np.save(tmp_path / "truth.npy", truth)
    return tmp_path


def _dice(a, b):
    return 2 * (a & b).sum() / (a.sum() + b.sum())


def test_volume_in_volume_out(volume):
    out = volume / "out"
    rc = main(
        [
            "segment",
            str(volume / "vol.tif"),
            "--scribbles",
            str(volume / "vol_scribbles.tif"),
            "-o",
            str(out),
            "--ucm",
            "--masks",
            "--uncertainty",
            *FAST,
        ]
    )
    assert rc == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "vol_labels.tif",
        "vol_masks.tif",
        "vol_recipe.json",
        "vol_ucm.tif",
        "vol_uncertainty.tif",
    ]
    with tifffile.TiffFile(out / "vol_labels.tif") as tif:
        assert tif.series[0].axes == "ZYX"
        labels = tif.asarray()
    truth = np.load(volume / "truth.npy")
    assert _dice(labels == 2, truth) > 0.9
    assert tifffile.imread(out / "vol_ucm.tif").shape == (25, 81, 81)
    recipe = json.loads((out / "vol_recipe.json").read_text())
    assert recipe["image_shape"] == [1, 12, 40, 40]
    # the same command again: done already, skipped
    assert (
        main(
            [
                "segment",
                str(volume / "vol.tif"),
                "--scribbles",
                str(volume / "vol_scribbles.tif"),
                "-o",
                str(out),
                "--ucm",
                "--masks",
                "--uncertainty",
                *FAST,
            ]
        )
        == 0
    )


def test_npy_stack_needs_its_axes_named(volume, capsys):
    args = [
        "segment",
        str(volume / "vol.npy"),
        "--scribbles",
        str(volume / "vol_scribbles.tif"),
        "-o",
        str(volume / "out"),
        *FAST,
    ]
    assert main(args) == 2
    assert "--axes ZYX" in capsys.readouterr().err
    assert main(args + ["--axes", "ZYX", "--spacing", "2,1,1"]) == 0
    recipe = json.loads((volume / "out" / "vol_recipe.json").read_text())
    assert recipe["run"]["spacing"] == [2.0, 1.0, 1.0]


def test_slice_scope_writes_one_slice(volume):
    out = volume / "out"
    assert (
        main(
            [
                "segment",
                str(volume / "vol.tif"),
                "--scribbles",
                str(volume / "vol_scribbles.tif"),
                "-o",
                str(out),
                "--scope",
                "slice",
                "--slice",
                "4",
                *FAST,
            ]
        )
        == 0
    )
    labels = tifffile.imread(out / "vol_labels.tif")
    assert labels.shape == (40, 40) and set(np.unique(labels)) == {1, 2}
    assert json.loads((out / "vol_recipe.json").read_text())["slice"] == 4


def test_time_lapse_tiff_gives_labels_per_time_point(volume):
    frames = tifffile.imread(volume / "vol.tif")[3:6]
    tifffile.imwrite(volume / "tl.tif", frames, metadata={"axes": "TYX"})
    out = volume / "out"
    assert main(["segment", str(volume / "tl.tif"), "-o", str(out), "--regions", "2", "--max-iter", "10", *FAST]) == 0
    with tifffile.TiffFile(out / "tl_labels.tif") as tif:
        assert tif.series[0].axes == "TYX" and tif.series[0].shape == (3, 40, 40)
    assert len(json.loads((out / "tl_recipe.json").read_text())["frames"]) == 3


@pytest.mark.parametrize(
    "flag, value, message",
    [
        ("--axes", "ZYXW", "use each of"),
        ("--spacing", "1,0,1", "positive"),
        ("--channels", "a", "channel numbers"),
        ("--spacing", "1,1", "three"),
    ],
)
def test_bad_stack_flags_get_one_line(volume, capsys, flag, value, message):
    with pytest.raises(SystemExit):
        main(["segment", str(volume / "vol.tif"), "-o", str(volume / "out"), flag, value, *FAST])
    assert message in capsys.readouterr().err


def test_channel_out_of_range_is_refused(volume, capsys):
    assert main(["segment", str(volume / "vol.tif"), "-o", str(volume / "out"), "--channels", "1", *FAST]) == 2
    assert "numbered 0 to 0" in capsys.readouterr().err


def test_brain_sample_labels_the_brain(tmp_path):
    out = tmp_path / "out"
    assert main(["segment", "--sample", "brain", "-o", str(out), *FAST]) == 0
    labels = tifffile.imread(out / "brain_labels.tif")
    assert labels.shape == (24, 96, 128)
    brain = (labels == 1).mean(axis=(1, 2))
    assert brain[12] > 0.2 and brain[0] < brain[12]  # mid slices are mostly brain, the first one far less


# What a new user met (probe of the first volume step); each failed before its fix.


def _run(volume, capsys, *extra, scribbles="vol_scribbles.tif"):
    args = ["segment", str(volume / "vol.tif"), "-o", str(volume / "out"), "--max-iter", "5", *FAST, *extra]
    if scribbles:
        args[2:2] = ["--scribbles", str(volume / scribbles)]
    code = main(args)
    return code, capsys.readouterr().err


@pytest.mark.parametrize("spacing", ["1e-9,1,1", "1e9,1,1"])
def test_extreme_spacing_is_refused_before_any_work(volume, capsys, spacing):
    code, err = _run(volume, capsys, "--spacing", spacing)
    assert code == 2 and "differ by more than 100 times" in err
    assert not (volume / "out").exists() or not any((volume / "out").iterdir())


def test_slice_without_strokes_says_so(volume, capsys):
    code, err = _run(volume, capsys, "--scope", "slice", "--slice", "0")
    assert code == 0 and "slice 0 has no strokes (strokes on slices 4, 8)" in err


@pytest.mark.parametrize("bad", ["negative", "fraction", "nan"])
def test_bad_volume_scribbles_are_bad_input(volume, capsys, bad):
    scribbles = tifffile.imread(volume / "vol_scribbles.tif").astype(np.float32)
    scribbles[4, 5, 5] = {"negative": -1, "fraction": 0.5, "nan": np.nan}[bad]
    tifffile.imwrite(volume / "bad.tif", scribbles, metadata={"axes": "ZYX"})
    code, err = _run(volume, capsys, scribbles="bad.tif")
    assert code == 2 and err.startswith("error: vol: ")


def test_png_convention_refuses_values_it_cannot_hold(volume, capsys):
    scribbles = tifffile.imread(volume / "vol_scribbles.tif").astype(np.uint32)
    scribbles[4, 5, 5] = 70000
    tifffile.imwrite(volume / "big.tif", scribbles, metadata={"axes": "ZYX"})
    code, err = _run(volume, capsys, "--png-scribbles", scribbles="big.tif")
    assert code == 2 and "PNG convention" in err


def test_slice_flag_needs_slice_scope_and_slices(volume, capsys, tmp_path):
    code, err = _run(volume, capsys, "--slice", "3")
    assert code == 2 and "needs --scope slice" in err
    tifffile.imwrite(tmp_path / "flat.tif", np.zeros((20, 20), np.uint8))
    assert (
        main(
            [
                "segment",
                str(tmp_path / "flat.tif"),
                "-o",
                str(tmp_path / "o"),
                "--scope",
                "slice",
                "--slice",
                "1",
                *FAST,
            ]
        )
        == 2
    )
    assert "has no slices" in capsys.readouterr().err


def test_axes_and_spacing_from_the_file_go_into_the_recipe(volume, capsys):
    data = tifffile.imread(volume / "vol.tif")
    tifffile.imwrite(
        volume / "vol.tif", data, imagej=True, resolution=(2.0, 2.0), metadata={"axes": "ZYX", "spacing": 1.5}
    )
    code, _ = _run(volume, capsys)
    assert code == 0
    recipe = json.loads((volume / "out" / "vol_recipe.json").read_text())
    assert recipe["axes"] == "ZYX" and recipe["spacing"] == pytest.approx([1.5, 0.5, 0.5])
    from napari_unsup_seg.core.axes import read_stack

    assert read_stack(volume / "out" / "vol_labels.tif").spacing == pytest.approx((1.5, 0.5, 0.5))  # kept downstream
