"""Faults a user meets with the CLI: kills, full disks, Ctrl-C, inputs in the output folder."""

import errno
import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap

import imageio.v3 as iio
import numpy as np
import pytest
import tifffile

from napari_unsup_seg.cli import main

FAST = ["--max-iter", "4", "--device", "cpu", "-q"]


@pytest.fixture
def batch(tmp_path):
    """Three small images with scribbles, in tmp_path/in."""
    folder = tmp_path / "in"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for k in range(3):
        image = np.zeros((24, 32, 3), np.uint8)
        image[:, 16:] = (200, 40, 40)
        image[:, :16] = (30, 30, 160)
        image = np.clip(image + rng.integers(0, 20, image.shape), 0, 255).astype(np.uint8)
        scribbles = np.zeros((24, 32), np.uint8)
        scribbles[10:13, 3:10] = 1
        scribbles[10:13, 22:29] = 2
        iio.imwrite(folder / f"img{k}.png", image)
        iio.imwrite(folder / f"img{k}_scribbles.png", scribbles)
    return tmp_path


def _images(batch):
    return [str(batch / "in" / f"img{k}.png") for k in range(3)]


def _digests(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def _no_debris(out):
    return [p.name for p in out.iterdir() if p.name.startswith(".")]


def test_an_input_in_the_output_folder_with_an_output_name_is_never_replaced(batch, capsys):
    out = batch / "out"
    out.mkdir()
    scr = out / "img0_labels.png"  # the user's scribbles, named like one of our outputs
    scr.write_bytes((batch / "in" / "img0_scribbles.png").read_bytes())
    before = scr.read_bytes()
    for extra in ([], ["--overwrite"]):
        assert main(["segment", _images(batch)[0], "--scribbles", str(scr), "-o", str(out), *FAST, *extra]) == 2
        err = capsys.readouterr().err
        assert "is an input" in err and "Traceback" not in err
        assert scr.read_bytes() == before
        assert sorted(p.name for p in out.iterdir()) == ["img0_labels.png"]


def test_a_run_killed_while_writing_leaves_no_partial_file_and_a_rerun_finishes(batch):
    out = batch / "out"
    # the process is killed (SIGKILL) just before the third output file is put in place
    script = textwrap.dedent(f"""
        import os, signal
        import napari_unsup_seg.core.atomic as atomic
        calls = []
        real = os.replace
        def replace(src, dst):
            calls.append(dst)
            if len(calls) == 3:
                os.kill(os.getpid(), signal.SIGKILL)
            real(src, dst)
        atomic.os.replace = replace
        from napari_unsup_seg.cli import main
        main({["segment", *_images(batch)[:1], "--scribbles", str(batch / "in"), "-o", str(out), "--masks", *FAST]!r})
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL
    names = sorted(p.name for p in out.iterdir())
    assert "img0_recipe.json" not in names  # the image is not marked as done
    for name in names:
        if name.endswith(".tif"):
            tifffile.imread(out / name)  # every file in place is complete
    rc = main(["segment", *_images(batch)[:1], "--scribbles", str(batch / "in"), "-o", str(out), "--masks", *FAST])
    assert rc == 0  # no --overwrite needed: the files left are ours
    assert _no_debris(out) == []
    recipe = json.loads((out / "img0_recipe.json").read_text())
    assert recipe["run"]["stopped"] is False


def test_a_full_disk_fails_that_image_cleanly_and_the_batch_reports_it(batch, capsys, monkeypatch):
    import napari_unsup_seg.core.export as export

    real = export._write_one
    state = {"n": 0}

    def full_disk(tmp, suffix, *args, **kwargs):
        state["n"] += 1
        if state["n"] == 2:  # the second file of the first image
            tmp.write_bytes(b"half a file")
            raise OSError(errno.ENOSPC, "No space left on device", str(tmp))
        return real(tmp, suffix, *args, **kwargs)

    monkeypatch.setattr(export, "_write_one", full_disk)
    out = batch / "out"
    inputs = _digests(batch / "in")
    rc = main(["segment", *_images(batch), "--scribbles", str(batch / "in"), "-o", str(out), *FAST])
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" not in err
    assert "summary: 2 done, 1 failed" in err and "img0: failed: cannot write" in err and "No space left" in err
    assert not (out / "img0_labels.png").exists() and not (out / "img0_recipe.json").exists()
    assert [n for n in _no_debris(out) if ".part" in n] == []
    assert (out / "img1_recipe.json").exists() and (out / "img2_recipe.json").exists()
    assert _digests(batch / "in") == inputs
    monkeypatch.setattr(export, "_write_one", real)
    rc = main(
        [
            "segment",
            *_images(batch),
            "--scribbles",
            str(batch / "in"),
            "-o",
            str(out),
            "-q",
            "--max-iter",
            "4",
            "--device",
            "cpu",
        ]
    )
    assert rc == 0 and (out / "img0_recipe.json").exists()  # redone; img1, img2 skipped


def _run_and_interrupt(batch, out, signals: int):
    """Run a batch in a process that gets ``signals`` SIGINTs while it segments the second image.

    The signals are real (the process sends them to itself from its progress callback), so
    the Ctrl-C handling is the user's, at a moment that does not depend on the machine's speed.
    """
    script = textwrap.dedent(f"""
        import os, signal
        import napari_unsup_seg._cli.segment as cs
        real = cs._bar_callback
        sent = []
        def callback(bar):
            update = real(bar)
            def wrapped(event):
                if bar.desc.startswith("img1") and event.stage == "cluster" and not sent:
                    for _ in range({signals}):
                        sent.append(1)
                        os.kill(os.getpid(), signal.SIGINT)
                update(event)
            return wrapped
        cs._bar_callback = callback
        from napari_unsup_seg.cli import run
        run()
    """)
    args = [
        "segment",
        *_images(batch),
        "--scribbles",
        str(batch / "in"),
        "-o",
        str(out),
        "--max-iter",
        "100000",
        "--device",
        "cpu",
    ]
    proc = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stderr


@pytest.mark.parametrize("signals", [1, 2])
def test_ctrl_c_in_a_batch_exits_130_with_a_summary(batch, signals):
    out = batch / "out"
    rc, err = _run_and_interrupt(batch, out, signals)
    assert rc == 130 and "Traceback" not in err, err
    report = err.split("summary:")[1]
    assert report.splitlines()[0].strip() == (
        "1 done, 1 stopped, 1 not started" if signals == 1 else "1 done, 2 not started"
    )
    assert (out / "img0_recipe.json").exists() and not (out / ".img0.unfinished").exists()
    if signals == 1:  # the image in progress stops; its result so far is written and redone by a rerun
        assert "img1: stopped" in report and (out / "img1_labels.tif").exists()
        assert (out / ".img1.unfinished").exists()
    else:  # the second Ctrl-C aborts at once: nothing of img1 is in place
        assert "img1: not started" in report and not (out / "img1_labels.tif").exists()
    assert "img2: not started" in report and not (out / "img2_labels.tif").exists()
    rc = main(
        [
            "segment",
            *_images(batch),
            "--scribbles",
            str(batch / "in"),
            "-o",
            str(out),
            "--max-iter",
            "100000",
            "--device",
            "cpu",
            "-q",
        ]
    )  # the same command again finishes the batch
    assert rc == 0 and not (out / ".img1.unfinished").exists() and (out / "img2_recipe.json").exists()


@pytest.mark.parametrize("device", ["meta", "xpu", "cuda:7", "cpu:3", "tpu"])
def test_devices_this_machine_lacks_get_one_line(batch, capsys, device):
    rc = main(["segment", _images(batch)[0], "-o", str(batch / "out"), "--device", device, "-q"])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert not (batch / "out").exists()


def test_train_wnet_replaces_no_checkpoint_or_loss_log_without_asking(batch, capsys):
    out = batch / "w"
    out.mkdir()
    for name in ("net.ckpt.pt", "net.loss.csv"):
        (out / name).write_text("earlier run")
    args = ["train-wnet", str(batch / "in"), "-o", str(out / "net.pt"), "--steps", "1", "--device", "cpu"]
    assert main(args) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert all((out / n).read_text() == "earlier run" for n in ("net.ckpt.pt", "net.loss.csv"))
    assert main(args + ["--resume", str(out / "net.pt")]) == 2  # not a checkpoint: the file to write


def test_the_exit_status_is_not_0_when_an_image_failed(batch, capsys, monkeypatch):
    import napari_unsup_seg.core.pipeline as pipeline

    real = pipeline.segment

    def broken(image, *args, **kwargs):
        if image.shape[-1] == 32 and broken.calls == 0:
            broken.calls += 1
            raise RuntimeError("out of memory")
        return (yield from real(image, *args, **kwargs))

    broken.calls = 0
    monkeypatch.setattr(pipeline, "segment", broken)
    rc = main(["segment", *_images(batch)[:2], "-o", str(batch / "out"), *FAST])
    err = capsys.readouterr().err
    assert rc == 1 and "1 done, 1 failed" in err and "out of memory" in err and "Traceback" not in err
    assert os.path.exists(batch / "out" / "img1_recipe.json")


@pytest.mark.parametrize(
    "dtype,value,ok",
    [(np.uint16, 258, True), (np.int32, 70000, True), (np.int64, 2**40, False), (np.uint64, 2**63, False)],
)
def test_scribble_classes_are_kept_exactly_or_refused(tmp_path, capsys, dtype, value, ok):
    image = np.zeros((24, 32, 3), np.uint8)
    image[:, 16:] = (200, 40, 40)
    scr = np.zeros((24, 32), dtype)
    scr[10:13, 3:10] = value
    scr[10:13, 22:29] = 2
    np.save(tmp_path / "img.npy", image)
    np.save(tmp_path / "scr.npy", scr)
    rc = main(
        [
            "segment",
            str(tmp_path / "img.npy"),
            "--scribbles",
            str(tmp_path / "scr.npy"),
            "-o",
            str(tmp_path / "out"),
            *FAST,
        ]
    )
    if ok:
        labels = tifffile.imread(tmp_path / "out" / "img_labels.tif")
        assert rc == 0 and set(np.unique(labels)) == {2, value}
        assert (labels[10:13, 3:10] == value).all()
    else:
        assert rc == 2 and "class numbers go up to" in capsys.readouterr().err


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_resume_never_lets_output_replace_another_file(batch, capsys):
    out = batch / "w"
    out.mkdir()
    args = [
        "train-wnet",
        str(batch / "in"),
        "-o",
        str(out / "net.pt"),
        "--steps",
        "1",
        "--batch",
        "1",
        "--crop",
        "16",
        "--width",
        "2",
        "--depth",
        "1",
        "--k",
        "3",
        "--device",
        "cpu",
    ]
    assert main(args) == 0
    capsys.readouterr()  # the first run's progress bar
    precious = out / "precious.png"
    precious.write_bytes(b"the user's file")
    resume = ["--resume", str(out / "net.ckpt.pt")]
    assert main(args[:3] + [str(precious)] + args[4:] + resume) == 2
    assert "--overwrite" in _one_line_error(capsys) and precious.read_bytes() == b"the user's file"
    ckpt = (out / "net.ckpt.pt").read_bytes()
    assert main(args[:3] + [str(out / "net.ckpt.pt")] + args[4:] + resume) == 2  # -o is the checkpoint itself
    _one_line_error(capsys)
    assert (out / "net.ckpt.pt").read_bytes() == ckpt


def test_a_scribble_folder_that_holds_the_images_never_takes_an_image_as_its_scribbles(batch, capsys):
    (batch / "in" / "img0_scribbles.png").unlink()
    rc = main(["segment", _images(batch)[0], "--scribbles", str(batch / "in"), "-o", str(batch / "out"), *FAST])
    assert rc == 2 and "no scribble file" in _one_line_error(capsys)


def test_overwriting_an_earlier_result_leaves_none_of_its_files_behind(batch):
    out = batch / "out"
    image = _images(batch)[0]
    scr = np.zeros((24, 32), np.int32)
    scr[10:13, 3:10] = 1
    scr[10:13, 22:29] = 2
    np.save(batch / "small.npy", scr)
    scr[10:13, 3:10] = 70000  # needs uint32 labels: no PNG copy this time
    np.save(batch / "big.npy", scr)
    assert main(["segment", image, "--scribbles", str(batch / "small.npy"), "-o", str(out), *FAST]) == 0
    assert (out / "img0_labels.png").exists()
    assert main(["segment", image, "--scribbles", str(batch / "big.npy"), "-o", str(out), "--overwrite", *FAST]) == 0
    assert not (out / "img0_labels.png").exists()  # the earlier result's PNG would contradict the TIFF
    assert 70000 in tifffile.imread(out / "img0_labels.tif")


def test_nan_pixels_are_reported_and_an_all_nan_image_refused(tmp_path, capsys):
    image = np.random.default_rng(0).random((20, 24)) * 1000
    image[:3] = np.nan
    np.save(tmp_path / "some.npy", image)
    np.save(tmp_path / "none.npy", np.full((20, 24), np.nan))
    assert main(["segment", str(tmp_path / "some.npy"), "-o", str(tmp_path / "out"), *FAST]) == 0
    assert "warning: some: 72 pixels are NaN or infinite" in capsys.readouterr().err
    assert main(["segment", str(tmp_path / "none.npy"), "-o", str(tmp_path / "out"), *FAST]) == 2
    assert "no finite value" in _one_line_error(capsys)


@pytest.mark.parametrize(
    "flag,value",
    [("--lr", "nan"), ("--time-limit", "-1"), ("--threads", "-1"), ("--sigma-x", "inf"), ("--depth", "40")],
)
def test_train_wnet_refuses_numbers_out_of_range(batch, capsys, flag, value):
    with pytest.raises(SystemExit) as exit_:
        code = main(["train-wnet", str(batch / "in"), "-o", str(batch / "w.pt"), "--steps", "1", flag, value])
        raise SystemExit(code)
    assert exit_.value.code == 2 and not (batch / "w.pt").exists()
    assert "Traceback" not in capsys.readouterr().err


def test_weights_with_nan_values_are_refused(batch, capsys):
    import torch

    from napari_unsup_seg.core.wnet.infer import FORMAT
    from napari_unsup_seg.core.wnet.model import WNet, WNetConfig

    config = {"in_channels": 3, "k": 4, "width": 2, "depth": 1}
    state = WNet(WNetConfig(**config)).state_dict()
    first = next(k for k, v in state.items() if v.is_floating_point())
    state[first] = torch.full_like(state[first], float("nan"))
    torch.save({"format": FORMAT, "config": config, "state_dict": state}, batch / "nan.pt")
    rc = main(
        [
            "segment",
            _images(batch)[0],
            "--method",
            "wnet",
            "--weights",
            str(batch / "nan.pt"),
            "-o",
            str(batch / "out"),
            *FAST,
        ]
    )
    assert rc == 2 and "NaN" in _one_line_error(capsys)


@pytest.mark.parametrize("content", [b"not a zip", None])
def test_evaluate_reports_damaged_ground_truth_in_one_line(tmp_path, capsys, content):
    from scipy.io import savemat

    pred, gt = tmp_path / "pred", tmp_path / "gt"
    pred.mkdir()
    gt.mkdir()
    tifffile.imwrite(pred / "1.tif", np.zeros((8, 8), np.uint16))
    if content is None:
        savemat(gt / "1.mat", {"somethingElse": np.zeros(3)})
    else:
        (gt / "1.npz").write_bytes(content)
    assert main(["evaluate", str(pred), str(gt)]) == 2
    _one_line_error(capsys)


def test_gui_without_a_display_says_so_instead_of_aborting(capsys, monkeypatch):
    for key in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert main(["gui"]) == 2
    assert "xvfb-run" in _one_line_error(capsys)


def test_names_too_long_for_the_file_system_get_one_line(batch, capsys):
    long_image = batch / ("a" * 240 + ".png")
    long_image.write_bytes((batch / "in" / "img0.png").read_bytes())
    assert main(["segment", str(long_image), "-o", str(batch / "out"), *FAST]) == 2
    assert "too long" in _one_line_error(capsys)
    assert main(["segment", _images(batch)[0], "-o", str(batch / ("o" * 300)), *FAST]) == 2
    _one_line_error(capsys)


def test_an_output_name_taken_by_a_folder_fails_that_image_cleanly(batch, capsys):
    out = batch / "out"
    (out / "img0_labels.tif").mkdir(parents=True)
    rc = main(["segment", _images(batch)[0], "-o", str(out), "--overwrite", *FAST])
    err = capsys.readouterr().err
    assert rc == 1 and "img0: failed: cannot write" in err and "Traceback" not in err


def test_files_of_another_type_than_their_extension_are_named_as_such(batch, capsys):
    fake = batch / "photo.npy"
    fake.write_bytes((batch / "in" / "img0.png").read_bytes())
    assert main(["segment", str(fake), "-o", str(batch / "out"), *FAST]) == 2
    assert "not an NPY file" in _one_line_error(capsys)


def test_a_one_frame_gif_is_an_image(batch):
    gif = batch / "one.gif"
    iio.imwrite(gif, iio.imread(batch / "in" / "img0.png")[None], extension=".gif")
    assert main(["segment", str(gif), "-o", str(batch / "out"), *FAST]) == 0


def test_train_wnet_output_under_a_file_or_naming_a_folder_gets_one_line(batch, capsys):
    for output in (batch / "in" / "img0.png" / "net.pt", batch / "in"):
        assert main(["train-wnet", str(batch / "in"), "-o", str(output), "--steps", "1", "--device", "cpu"]) == 2
        _one_line_error(capsys)


def test_train_wnet_stopped_by_ctrl_c_exits_130_and_can_resume(batch):
    script = textwrap.dedent("""
        import os, signal
        import napari_unsup_seg.core.progress as progress
        real = progress.is_stopped
        calls = []
        def is_stopped(stop):
            calls.append(1)
            if len(calls) == 2:
                os.kill(os.getpid(), signal.SIGINT)  # a Ctrl-C after the first step
            return real(stop)
        import sys
        import napari_unsup_seg.core.wnet.train
        sys.modules["napari_unsup_seg.core.wnet.train"].is_stopped = is_stopped  # the module, not the function
        from napari_unsup_seg.cli import run
        run()
    """)
    out = batch / "w"
    args = [
        "train-wnet",
        str(batch / "in"),
        "-o",
        str(out / "net.pt"),
        "--steps",
        "50",
        "--batch",
        "1",
        "--crop",
        "16",
        "--width",
        "2",
        "--depth",
        "1",
        "--k",
        "3",
        "--device",
        "cpu",
    ]
    proc = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 130 and "--resume" in proc.stderr and "Traceback" not in proc.stderr
    assert (out / "net.pt").exists() and (out / "net.ckpt.pt").exists()


def test_a_batch_does_not_list_its_output_folder_once_per_image(batch, monkeypatch):
    """Each image listing the output folder made a batch of n images cost O(n^2) file names."""
    from napari_unsup_seg.core.batch import segment_files
    from napari_unsup_seg._cli import build_parser
    from napari_unsup_seg._cli.segment import _params

    out = batch / "out"
    out.mkdir()
    for k in range(50):  # another tool's files share the folder
        (out / f"other{k}.txt").write_text("x")
    listed = []
    for name in ("listdir", "scandir"):
        real = getattr(os, name)

        def counting(path=".", _real=real):
            if os.path.abspath(path) == str(out):
                listed.append(path)
            return _real(path)

        monkeypatch.setattr(os, name, counting)
    params = _params(build_parser().parse_args(["segment", "x.png", "-o", "o", *FAST]))
    for run in ("first", "rerun"):
        listed.clear()
        outcomes = segment_files(_images(batch), out, params, progress=False)
        assert [o.status for o in outcomes] == ["done" if run == "first" else "skipped"] * 3
        assert len(listed) <= 1, (run, len(listed))
    recipe = json.loads((out / "img0_recipe.json").read_text())
    assert set(recipe["outputs"]) == {p.name for p in out.iterdir() if p.name.startswith("img0_")}


def test_a_batch_names_the_image_its_warning_is_about(batch, capsys):
    """A user's report: in a batch, the NaN warning did not say which image it was about."""
    image = np.random.default_rng(0).random((24, 32)).astype(np.float32)
    image[:2, :5] = np.nan
    tifffile.imwrite(batch / "in" / "holes.tif", image)
    images = [str(batch / "in" / "img0.png"), str(batch / "in" / "holes.tif")]
    assert main(["segment", *images, "-o", str(batch / "out"), *FAST]) == 0
    err = capsys.readouterr().err
    assert "warning: holes: 10 pixels are NaN or infinite" in err and "img0:" not in err


@pytest.mark.parametrize("axes", [[], ["--axes", "ZYX"]])
def test_colour_scribbles_are_refused_saying_what_to_save(batch, capsys, axes):
    """A user's report: scribbles painted in colour (an RGB PNG) got advice to add --axes ZYX,
    which then ran the photo as a stack of 100 slices of 150 x 3 pixels."""
    grey = iio.imread(batch / "in" / "img0_scribbles.png")
    colour = np.zeros((*grey.shape, 3), np.uint8)
    colour[grey == 1] = (255, 0, 0)
    colour[grey == 2] = (0, 0, 255)
    iio.imwrite(batch / "colour.png", colour)
    out = batch / "out"
    rc = main(
        [
            "segment",
            str(batch / "in" / "img0.png"),
            "--scribbles",
            str(batch / "colour.png"),
            "-o",
            str(out),
            *axes,
            *FAST,
        ]
    )
    assert rc == 2
    message = _one_line_error(capsys)
    assert "colour.png" in message and "label image" in message and "--axes" not in message
    assert not out.exists() or not any(out.iterdir())
