import json
import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest
import tifffile

from cli_inputs import two_halves  # noqa: F401 (a fixture)

from napari_unsup_seg.cli import main

FAST = ["--max-iter", "8", "--device", "cpu", "-q"]


def test_segment_with_scribbles_writes_labels_and_recipe(two_halves):
    out = two_halves / "out"
    rc = main(
        [
            "segment",
            str(two_halves / "img.png"),
            "--scribbles",
            str(two_halves / "scr.png"),
            "-o",
            str(out),
            "--seed",
            "3",
            *FAST,
        ]
    )
    assert rc == 0
    labels = tifffile.imread(out / "img_labels.tif")
    assert labels.dtype == np.uint16 and labels.shape == (24, 32)
    assert set(np.unique(labels)) <= {1, 2}
    assert (labels[10:13, 3:10] == 1).all() and (labels[10:13, 22:29] == 2).all()
    recipe = json.loads((out / "img_recipe.json").read_text())
    assert recipe["parameters"]["seed"] == 3 and "versions" in recipe


def test_segment_without_scribbles_and_ucm_cut(two_halves):
    out = two_halves / "out"
    rc = main(["segment", str(two_halves / "img.png"), "-o", str(out), "--ucm", "--threshold", "0.3", *FAST])
    assert rc == 0
    ucm = tifffile.imread(out / "img_ucm.tif")
    assert ucm.shape == (49, 65) and ucm.dtype == np.float32
    merged = tifffile.imread(out / "img_labels.tif")
    rc = main(["segment", str(two_halves / "img.png"), "-o", str(two_halves / "plain"), *FAST])
    assert rc == 0
    segments = tifffile.imread(two_halves / "plain" / "img_labels.tif")
    # the result's segments joined as the merge slider joins them: each lies whole in one region
    pairs = np.unique(np.stack([segments.ravel(), merged.ravel()]), axis=1)
    assert len(np.unique(pairs[0])) == pairs.shape[1]
    assert set(np.unique(merged)) <= set(np.unique(segments))


def test_wnet_merges_on_the_learned_contours_unless_told_not_to(two_halves):
    def run(name, *extra):
        out = two_halves / name
        rc = main(["segment", str(two_halves / "img.png"), "-o", str(out), "--ucm", *extra, *FAST])
        assert rc == 0
        recipe = json.loads((out / "img_recipe.json").read_text())
        return recipe["run"]["hierarchy"]["contour_weight"], tifffile.imread(out / "img_ucm.tif")

    default, default_ucm = run("default", "--method", "wnet")
    off, off_ucm = run("off", "--method", "wnet", "--no-learned-contours")
    on, on_ucm = run("on", "--method", "wnet", "--learned-contours")
    assert (default, off, on) == (1.0, 0.0, 1.0)
    np.testing.assert_array_equal(default_ucm, on_ucm)
    assert not np.array_equal(off_ucm, on_ucm)
    assert run("cluster")[0] == 0.0  # clustering keeps its own hierarchy


def test_rerun_skips_done_images_and_refuses_other_settings(two_halves, capsys):
    out = two_halves / "out"
    args = ["segment", str(two_halves / "img.png"), "-o", str(out), *FAST]
    assert main(args) == 0
    before = (out / "img_labels.tif").read_bytes()
    capsys.readouterr()
    assert main(args[:-1]) == 0  # not quiet: the summary is printed
    assert "1 skipped" in capsys.readouterr().err
    assert main(args + ["--seed", "5"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (out / "img_labels.tif").read_bytes() == before
    assert main(args + ["--seed", "5", "--overwrite"]) == 0
    assert json.loads((out / "img_recipe.json").read_text())["parameters"]["seed"] == 5


def _error(args, capsys) -> str:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err and len(err.strip().splitlines()) == 1
    return err


def test_bad_inputs_get_one_line_errors(two_halves, capsys):
    d = two_halves
    out = str(d / "out")
    assert "no such file" in _error(["segment", str(d / "missing.png"), "-o", out], capsys)
    (d / "bad.tif").write_bytes(b"garbage")
    assert "cannot be read" in _error(["segment", str(d / "bad.tif"), "-o", out], capsys)
    np.save(d / "vol.npy", np.zeros((2, 3, 20, 40), np.uint8))  # 4D: which axis is which?
    assert "--axes" in _error(["segment", str(d / "vol.npy"), "-o", out], capsys)
    assert "name 3 axes" in _error(["segment", str(d / "vol.npy"), "--axes", "ZYX", "-o", out], capsys)
    iio.imwrite(d / "small.png", np.ones((5, 5), np.uint8))
    img = str(d / "img.png")
    assert "must match" in _error(["segment", img, "--scribbles", str(d / "small.png"), "-o", out], capsys)
    iio.imwrite(d / "empty.png", np.zeros((24, 32), np.uint8))
    assert "no class" in _error(["segment", img, "--scribbles", str(d / "empty.png"), "-o", out], capsys)
    (d / "afile").write_text("")
    assert "output folder" in _error(["segment", img, "-o", str(d / "afile" / "sub")], capsys)
    assert not (d / "out").exists()


def test_png_convention_scribbles(two_halves):
    scr = iio.imread(two_halves / "scr.png").astype(np.uint8)
    paper = np.where(scr == 0, 255, scr - 1).astype(np.uint8)
    iio.imwrite(two_halves / "paper.png", paper)
    out = two_halves / "out"
    assert (
        main(
            [
                "segment",
                str(two_halves / "img.png"),
                "--scribbles",
                str(two_halves / "paper.png"),
                "--png-scribbles",
                "-o",
                str(out),
                *FAST,
            ]
        )
        == 0
    )
    labels = tifffile.imread(out / "img_labels.tif")
    assert (labels[10:13, 3:10] == 1).all() and (labels[10:13, 22:29] == 2).all()


@pytest.mark.parametrize("module", ["napari_unsup_seg.cli", "napari_unsup_seg"])
def test_console_script_runs(module):
    result = subprocess.run(
        [sys.executable, "-m", module, "segment", "--help"], capture_output=True, text=True, check=True
    )
    assert "--scribbles" in result.stdout


def test_segment_with_wnet_and_scribbles(two_halves):
    out = two_halves / "out"
    rc = main(
        [
            "segment",
            str(two_halves / "img.png"),
            "--scribbles",
            str(two_halves / "scr.png"),
            "--method",
            "wnet",
            "--ucm",
            "-o",
            str(out),
            "--device",
            "cpu",
            "-q",
        ]
    )
    assert rc == 0
    labels = tifffile.imread(out / "img_labels.tif")
    assert set(np.unique(labels)) <= {1, 2}
    assert (labels[10:13, 3:10] == 1).all() and (labels[10:13, 22:29] == 2).all()
    recipe = json.loads((out / "img_recipe.json").read_text())
    assert len(recipe["run"]["weights_sha256"]) == 64


def test_train_wnet_small_run_then_resume(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        iio.imwrite(images / f"{i}.png", rng.integers(0, 255, (40, 48, 3), dtype=np.uint8))
    weights = tmp_path / "w.pt"
    tiny = [
        "--crop",
        "16",
        "--batch",
        "1",
        "--width",
        "2",
        "--depth",
        "2",
        "--k",
        "3",
        "--checkpoint-every",
        "1",
        "--device",
        "cpu",
    ]
    assert main(["train-wnet", str(images), "-o", str(weights), "--steps", "2", *tiny]) == 0
    assert weights.exists() and weights.with_suffix(".loss.csv").exists()
    ckpt = weights.with_suffix(".ckpt.pt")
    assert main(["train-wnet", str(images), "-o", str(weights), "--steps", "3", "--resume", str(ckpt), *tiny]) == 0
    rows = weights.with_suffix(".loss.csv").read_text().strip().splitlines()
    assert rows[-1].startswith("3,")
    assert (
        main(
            [
                "segment",
                str(images / "0.png"),
                "--method",
                "wnet",
                "--weights",
                str(weights),
                "-o",
                str(tmp_path / "out"),
                "--device",
                "cpu",
                "-q",
            ]
        )
        == 0
    )


def test_segment_writes_the_uncertainty_map_on_request(two_halves, capsys):
    out = two_halves / "out"
    rc = main(
        [
            "segment",
            str(two_halves / "img.png"),
            "--scribbles",
            str(two_halves / "scr.png"),
            "-o",
            str(out),
            "--uncertainty",
            *FAST,
        ]
    )
    assert rc == 0
    unc = tifffile.imread(out / "img_uncertainty.tif")
    assert unc.dtype == np.float32 and unc.shape == (24, 32)
    assert 0.0 <= unc.min() and unc.max() <= 1.0
    assert (unc[10:13, 3:10] == 0).all()  # scribbled: certain
    assert unc[:, 14:18].mean() > unc[:, :8].mean()  # least certain at the border of the two halves
    rc = main(
        [
            "segment",
            str(two_halves / "img.png"),
            "-o",
            str(two_halves / "out2"),
            "--uncertainty",
            "--max-iter",
            "8",
            "--device",
            "cpu",
        ]
    )
    assert rc == 0 and not (two_halves / "out2" / "img_uncertainty.tif").exists()
    assert "no scribbles, so no uncertainty map" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args",
    [
        ["evaluate", ".", ".", "--thresholds", "10000000"],  # hung before: millions of cuts per image
        ["segment", "x.png", "-o", "out", "--time-budget", "nan"],  # NaN went into the recipe
        ["segment", "x.png", "-o", "out", "--time-budget", "inf"],
        ["segment", "x.png", "-o", "out", "--threshold", "nan"],
        ["segment", "x.png", "-o", "out", "--seed", str(2**70)],  # a traceback in numpy before
        ["segment", "x.png", "-o", "out", "--max-iter", "0"],
    ],
)
def test_out_of_range_numbers_are_refused_before_any_work(args, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_scribbles_in_the_papers_png_convention_without_the_flag_are_pointed_out(two_halves, capsys):
    """255 = unlabeled read as a class gave class 255 over nearly the whole image, silently."""
    paper = np.full((24, 32), 255, np.uint8)
    paper[10:13, 3:10], paper[10:13, 22:29] = 0, 1
    iio.imwrite(two_halves / "paper.png", paper)
    out = two_halves / "out"
    assert (
        main(
            [
                "segment",
                str(two_halves / "img.png"),
                "--scribbles",
                str(two_halves / "paper.png"),
                "-o",
                str(out),
                *FAST,
            ]
        )
        == 0
    )
    assert "class 255 covers 95 % of the image" in capsys.readouterr().err
    assert (
        main(
            [
                "segment",
                str(two_halves / "img.png"),
                "--scribbles",
                str(two_halves / "paper.png"),
                "--png-scribbles",
                "-o",
                str(out),
                "--overwrite",
                *FAST,
            ]
        )
        == 0
    )
    assert "class 255" not in capsys.readouterr().err


def test_a_glob_over_a_folder_of_images_and_their_scribbles_takes_the_scribbles_as_scribbles(two_halves, capsys):
    # a user's failure: `segment imgs/* --scribbles imgs/` took img_scribbles.png for an image
    # and said "no scribble file named img_scribbles_scribbles.*"
    d = two_halves
    imgs = d / "imgs"
    imgs.mkdir()
    for stem in ("a", "b"):
        (imgs / f"{stem}.png").write_bytes((d / "img.png").read_bytes())
        (imgs / f"{stem}_scribbles.png").write_bytes((d / "scr.png").read_bytes())
    given = sorted(imgs.iterdir())  # what the shell makes of imgs/*
    code = main(["segment", *map(str, given), "--scribbles", str(imgs), "-o", str(d / "out"), "--max-iter", "5"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "a_scribbles.png" in err and "b_scribbles.png" in err and "scribble files" in err
    assert sorted(p.name for p in (d / "out").glob("*_labels.tif")) == ["a_labels.tif", "b_labels.tif"]


def test_a_folder_given_as_the_image_is_named_so_even_with_scribbles(two_halves, capsys):
    d = two_halves
    out = str(d / "out")
    assert "is a folder, not an image file" in _error(["segment", str(d), "--scribbles", str(d), "-o", out], capsys)
