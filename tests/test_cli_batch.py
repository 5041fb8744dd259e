"""A batch on a real dask.distributed cluster: same outputs as serial, resume, lost workers, failures."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import distributed
import imageio.v3 as iio
import numpy as np
import pytest

from napari_unsup_seg.cli import main
from napari_unsup_seg.core.batch import exit_code, segment_files, summary
from napari_unsup_seg.core.batch_options import BatchOptions

FAST = ["--max-iter", "8", "--device", "cpu", "-q"]
N_IMAGES = 4


def _write_images(folder: Path, n: int = N_IMAGES) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:48, :48]
    paths = []
    for k in range(n):
        gradient = np.stack([xx * 5, yy * 5, (xx + yy) * 2], -1)
        image = np.clip(gradient + rng.integers(0, 60, (48, 48, 3)), 0, 255).astype(np.uint8)
        paths.append(folder / f"img{k}.png")
        iio.imwrite(paths[-1], image)
    return paths


def _params():
    from napari_unsup_seg._cli.segment import _params as params_of
    from napari_unsup_seg._cli import build_parser

    return params_of(build_parser().parse_args(["segment", "x.png", "-o", "out", *FAST]))


def _labels(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if "_labels." in p.name}


def _debris(out: Path) -> list[str]:
    return [p.name for p in out.iterdir() if p.name.startswith(".")]


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return _write_images(tmp_path_factory.mktemp("in"))


@pytest.fixture(scope="module")
def serial(images, tmp_path_factory):
    """The serial run's outputs, with torch on one thread as in each task of the cluster."""
    import torch

    out = tmp_path_factory.mktemp("serial")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert main(["segment", *map(str, images), "-o", str(out), *FAST]) == 0
    finally:
        torch.set_num_threads(threads)
    return _labels(out)


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        yield cluster


@pytest.fixture
def client(cluster):
    with distributed.Client(cluster) as client:
        yield client


def test_a_run_on_a_scheduler_writes_what_a_serial_run_writes(images, serial, cluster, tmp_path, capsys):
    out = tmp_path / "out"
    assert (
        main(["segment", *map(str, images), "-o", str(out), "--scheduler", cluster.scheduler_address, *FAST[:-1]]) == 0
    )
    assert "summary: 4 done" in capsys.readouterr().err
    assert len(serial) == 2 * N_IMAGES and _labels(out) == serial  # labels.tif and labels.png, byte for byte
    assert _debris(out) == []


def test_a_bad_input_fails_alone(images, serial, client, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    out = tmp_path / "out"
    outcomes = segment_files([*images, bad], out, _params(), client=client, progress=False)
    assert [o.status for o in outcomes] == ["done"] * N_IMAGES + ["failed"]
    assert "cannot be read" in outcomes[-1].reason and exit_code(outcomes) == 1
    assert all(o.peak_rss_mib > 50 for o in outcomes[:-1])  # a worker's, with torch loaded
    assert "  bad: failed: " in summary(outcomes)
    assert _labels(out) == serial and not (out / "bad_recipe.json").exists()


def _die_once_while_writing(flag: str, stem: str) -> None:
    """In a worker: the first time ``stem``'s second output file is written, end the process at once."""
    import napari_unsup_seg.core.export as export

    real = export._write_one

    def write_one(tmp, suffix, *args, **kwargs):
        if tmp.name.startswith(f".{stem}_") and suffix == "labels.png" and not os.path.exists(flag):
            Path(flag).write_text("killed once")
            os._exit(1)
        return real(tmp, suffix, *args, **kwargs)

    write_one.real = real
    export._write_one = write_one


def _undo_hooks() -> None:
    import napari_unsup_seg.core.export as export

    export._write_one = getattr(export._write_one, "real", export._write_one)


def _wait_for_replacement(client, before: set[str], timeout: float = 60) -> None:
    """Until the nanny has restarted the worker that died: two workers, not those of ``before``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = set(client.scheduler_info()["workers"])
        if len(now) == len(before) and now != before:
            return
        time.sleep(0.1)
    raise AssertionError(f"no worker replaced the one that died: {sorted(now)}")


def test_a_worker_killed_mid_batch_has_its_image_redone(images, serial, client, tmp_path):
    flag = tmp_path / "killed"
    out = tmp_path / "out"
    before = set(client.run(_die_once_while_writing, str(flag), "img1"))
    try:
        outcomes = segment_files(images, out, _params(), client=client, progress=False)
    finally:
        client.run(_undo_hooks)
    _wait_for_replacement(client, before)  # the tests after this one run on two workers again
    assert flag.exists()  # a worker did die, with img1's labels.tif written and its marker in place
    assert [(o.stem, o.status) for o in outcomes] == [(f"img{k}", "done") for k in range(N_IMAGES)]
    assert _labels(out) == serial and _debris(out) == []


def _hold_until_stopped(first: str, started: str, limit: float = 60) -> None:
    """In a worker: every image but ``first`` writes ``started/<stem>`` and waits for the stop at its first step."""
    import napari_unsup_seg.core.batch as batch

    real = batch.process_file

    class Held:
        def __init__(self, stop):
            self.stop = stop

        def is_set(self):
            deadline = time.monotonic() + limit
            while not self.stop.is_set() and time.monotonic() < deadline:
                time.sleep(0.05)
            return self.stop.is_set()

    def process_file(stem, *args, stop=None, **kwargs):
        if stem == first:
            return real(stem, *args, stop=stop, **kwargs)
        (Path(started) / stem).write_text("")
        return real(stem, *args, stop=Held(stop), **kwargs)

    process_file.real = real
    batch.process_file = process_file


def _undo_slow() -> None:
    import napari_unsup_seg.core.batch as batch

    batch.process_file = getattr(batch.process_file, "real", batch.process_file)


def test_ctrl_c_stops_the_batch_and_a_rerun_finishes_it(images, serial, cluster, client, tmp_path):
    out, started = tmp_path / "out", tmp_path / "started"
    started.mkdir()
    assert len(client.run(_hold_until_stopped, "img0", str(started))) == 2
    try:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "napari_unsup_seg.cli",
                "segment",
                *map(str, images),
                "-o",
                str(out),
                "--scheduler",
                cluster.scheduler_address,
                *FAST[:-1],
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 120
        while not any(started.iterdir()) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        running = {p.name for p in started.iterdir()}
        proc.send_signal(signal.SIGINT)  # Ctrl-C while an image runs (it waits for the stop)
        _, err = proc.communicate(timeout=120)
    finally:
        client.run(_undo_slow)
    assert proc.returncode == 130 and "Traceback" not in err, err
    report = err.split("summary:")[1]
    statuses = {f"img{k}": "done" for k in range(N_IMAGES)}
    statuses.update(line.strip().split(": ")[:2] for line in report.splitlines()[1:])
    stopped = {stem for stem, status in statuses.items() if status == "stopped"}
    # what ran at the Ctrl-C stops (two workers: two images at most), what had not begun never does
    assert running and running <= stopped and len(stopped) <= 2, report
    assert "not started" in statuses.values() and set(statuses.values()) <= {"done", "stopped", "not started"}
    for stem, status in statuses.items():  # a stopped image's result so far is written, and marked unfinished
        assert (out / f"{stem}_labels.tif").exists() == (status != "not started")
        assert (out / f".{stem}.unfinished").exists() == (status == "stopped")
    outcomes = segment_files(images, out, _params(), client=client, progress=False)
    assert [o.status for o in outcomes] == ["skipped" if statuses[o.stem] == "done" else "done" for o in outcomes]
    assert _labels(out) == serial and _debris(out) == []


def _sigint_handler() -> str:
    return repr(signal.getsignal(signal.SIGINT))


def test_the_workers_flag_runs_on_a_local_cluster(images, serial, tmp_path, capsys, monkeypatch):
    import napari_unsup_seg.core.batch as batch

    real, handlers = batch.segment_files, []

    def segment_files(*args, client=None, **kwargs):
        handlers.extend(client.run(_sigint_handler).values())
        return real(*args, client=client, **kwargs)

    monkeypatch.setattr(batch, "segment_files", segment_files)
    out = tmp_path / "out"
    assert main(["segment", *map(str, images[:2]), "-o", str(out), "--workers", "2", *FAST[:-1]]) == 0
    # a terminal's Ctrl-C reaches the local workers too: they leave it to the client
    assert handlers == [repr(signal.SIG_IGN)] * 2
    assert "summary: 2 done" in capsys.readouterr().err
    assert _labels(out) == {k: v for k, v in serial.items() if k.startswith(("img0_", "img1_"))}
    assert _debris(out) == []


def test_other_settings_are_not_replaced_without_overwrite(images, client, tmp_path):
    out = tmp_path / "out"
    first = segment_files(images[:2], out, _params(), client=client, progress=False)
    assert [o.status for o in first] == ["done", "done"]
    labels = _labels(out)
    other = BatchOptions(ucm=True)
    again = segment_files(images[:2], out, _params(), options=other, client=client, progress=False)
    assert [o.status for o in again] == ["failed", "failed"] and "--overwrite" in again[0].reason
    assert _labels(out) == labels and not list(out.glob("*_ucm.tif"))
    replaced = segment_files(
        images[:2], out, _params(), options=BatchOptions(ucm=True, overwrite=True), client=client, progress=False
    )
    assert [o.status for o in replaced] == ["done", "done"] and len(list(out.glob("*_ucm.tif"))) == 2


@pytest.mark.parametrize(
    "args,message",
    [
        (["--sample", "coffee", "--workers", "2"], "--workers"),
        (["x.png", "--scheduler", "not an address"], "cannot reach"),
    ],
)
def test_cluster_flags_that_cannot_work_get_one_line(tmp_path, capsys, args, message):
    rc = main(["segment", *args, "-o", str(tmp_path / "out"), *FAST])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_a_scheduler_without_workers_is_refused():
    from napari_unsup_seg.core.batch import open_client
    from napari_unsup_seg.core.errors import InputError

    with distributed.LocalCluster(n_workers=0, processes=False, dashboard_address=":0") as empty:
        with pytest.raises(InputError, match="has no worker"):
            with open_client(scheduler=empty.scheduler_address, wait_s=0.5):
                pass


def test_a_batch_without_cluster_flags_does_not_import_dask(images, tmp_path):
    script = (
        "import sys; from napari_unsup_seg.cli import main; "
        f"rc = main(['segment', {str(images[0])!r}, '-o', {str(tmp_path / 'out')!r}, *{FAST!r}]); "
        "print(rc, 'distributed' in sys.modules, 'dask' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.stdout.split() == ["0", "False", "False"], result.stderr


def test_workers_that_cannot_run_the_batch_are_found_before_any_image(images, client, tmp_path):
    """The client checked the device and weights of itself only: a worker without them failed every image."""
    import dataclasses

    from napari_unsup_seg.core.errors import InputError

    out = tmp_path / "out"
    params = dataclasses.replace(_params(), device="cuda")
    with pytest.raises(
        InputError,
        match=r"worker tcp://\S+ \(and 1 other worker\(s\)\) cannot run this batch: "
        r"device 'cuda' was asked for",
    ):
        segment_files(images, out, params, client=client, progress=False)
    wnet = dataclasses.replace(
        _params(), method="wnet", wnet=dataclasses.replace(_params().wnet, weights=str(tmp_path / "missing.pt"))
    )
    with pytest.raises(InputError, match="cannot run this batch: .*missing.pt"):
        segment_files(images, out, wnet, client=client, progress=False)
    assert list(out.iterdir()) == []
