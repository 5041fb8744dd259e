"""A user's crash: a whole-volume run, then every layer deleted, ended napari (segfault)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from conftest import CHILD_PREAMBLE

# the crash takes the process with it, so the user's steps run in a child process
SCRIPT = (
    CHILD_PREAMBLE
    + r"""
viewer = napari.Viewer(show=True)
_, widget = viewer.window.add_plugin_dock_widget("napari-unsup-seg", "Scribble segmentation")
viewer.add_image(np.random.default_rng(0).random((20, 64, 64)).astype(np.float32), name="vol")
while not widget.core_ready.is_set():
    pump(0.05)
scribbles = widget.scribbles_layer()
data = np.array(scribbles.data)
data[..., 10, 5:50] = 1
data[..., 40, 5:50] = 2
scribbles.data = data
widget.run()
while widget.running:
    pump(0.05)
pump(0.3)
print("result:", widget.result_layer() is not None, flush=True)
viewer.layers.select_all()
viewer.layers.remove_selected()
pump(1.0)
print("still running", flush=True)
viewer.close()
"""
)


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="needs xvfb-run")
def test_deleting_all_layers_after_a_volume_run_keeps_napari_running(tmp_path):
    # a desktop-sized screen and napari's settings as a first session leaves them: with a
    # small screen, or a window size saved, the crash did not show
    config = tmp_path / "napari.yaml"
    config.write_text("schema_version: 0.9.0\napplication:\n  first_time: false\n")
    env = dict(os.environ, NAPARI_CONFIG=str(config))
    done = subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1280x1024x24", sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert "result: True" in done.stdout, done.stdout + done.stderr[-3000:]
    assert done.returncode == 0 and "still running" in done.stdout, done.stderr[-3000:]
