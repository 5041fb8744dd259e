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
    rc = main(["segment", str(volume / "vol.tif"), "--scribbles", str(volume / "vol_scribbles.tif"), "-o", str(out),
               "--ucm", "--masks", "--uncertainty", *FAST])
    assert rc == 0
    assert sorted(p.name for p in out.iterdir()) == ["vol_labels.tif", "vol_masks.tif", "vol_recipe.json",
                                                     "vol_ucm.tif", "vol_uncertainty.tif"]
    with tifffile.TiffFile(out / "vol_labels.tif") as tif:
        assert tif.series[0].axes == "ZYX"
        labels = tif.asarray()
    truth = np.load(volume / "truth.npy")
    assert _dice(labels == 2, truth) > 0.9
    assert tifffile.imread(out / "vol_ucm.tif").shape == (25, 81, 81)
    recipe = json.loads((out / "vol_recipe.json").read_text())
    assert recipe["image_shape"] == [1, 12, 40, 40]
    # the same command again: done already, skipped
    assert main(["segment", str(volume / "vol.tif"), "--scribbles", str(volume / "vol_scribbles.tif"), "-o",
                 str(out), "--ucm", "--masks", "--uncertainty", *FAST]) == 0


def test_npy_stack_needs_its_axes_named(volume, capsys):
    args = ["segment", str(volume / "vol.npy"), "--scribbles", str(volume / "vol_scribbles.tif"), "-o",
            str(volume / "out"), *FAST]
    assert main(args) == 2
    assert "--axes ZYX" in capsys.readouterr().err
    assert main(args + ["--axes", "ZYX", "--spacing", "2,1,1"]) == 0
    recipe = json.loads((volume / "out" / "vol_recipe.json").read_text())
    assert recipe["run"]["spacing"] == [2.0, 1.0, 1.0]


def test_slice_scope_writes_one_slice(volume):
    out = volume / "out"
    assert main(["segment", str(volume / "vol.tif"), "--scribbles", str(volume / "vol_scribbles.tif"), "-o",
                 str(out), "--scope", "slice", "--slice", "4", *FAST]) == 0
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


@pytest.mark.parametrize("flag, value, message", [("--axes", "ZYXW", "use each of"), ("--spacing", "1,0,1", "positive"),
                                                  ("--channels", "a", "channel numbers"), ("--spacing", "1,1", "three")])
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
