"""A user's failure: a session opened as soon as the dock came up lost its merge slider (higra
half imported by the dock's warm-up while the reopened session built its hierarchy)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import CHILD_PREAMBLE

from napari_unsup_seg.core.pipeline import SegmentParams, segment
from napari_unsup_seg.core.progress import drain
from napari_unsup_seg.core.cluster import ClusterParams
from napari_unsup_seg.core.session import MergeRecord, write_session

# a fresh process: higra is not imported before the dock comes up
SCRIPT = (
    CHILD_PREAMBLE
    + r"""
import importlib.abc, importlib.machinery


class SlowHigra(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    # higra's first import on a cold disk: seconds, during which the user opens the session

    def find_spec(self, name, path, target=None):
        if name != "higra":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        self.real, spec.loader = spec.loader, self
        return spec

    def create_module(self, spec):
        return self.real.create_module(spec)

    def exec_module(self, module):
        time.sleep(5.0)
        self.real.exec_module(module)


sys.meta_path.insert(0, SlowHigra())
import napari_unsup_seg.core.pipeline  # torch loaded already: the warm-up goes straight to higra
viewer = napari.Viewer(show=True)
_, widget = viewer.window.add_plugin_dock_widget("napari-unsup-seg", "Scribble segmentation")
viewer.open(sys.argv[1], plugin="napari-unsup-seg")
pump(1.0)
while not widget.core_ready.is_set():
    pump(0.05)
pump(0.5)
print("merge slider:", widget.merge.isEnabled() and widget.result_layer() is not None, flush=True)
viewer.close()
"""
)


def _session(folder):
    rng = np.random.default_rng(0)
    image = np.full((3, 40, 48), 0.2, np.float32)
    image[:, :, 24:] = 0.8
    image = np.clip(image + rng.normal(0, 0.03, image.shape), 0, 1).astype(np.float32)
    scribbles = np.zeros((40, 48), np.int32)
    scribbles[20, 4:16], scribbles[20, 30:44] = 1, 2
    params = SegmentParams(cluster=ClusterParams(max_iter=5))
    seg = drain(segment(image, scribbles, params))
    record = MergeRecord(0.5, run_labels=seg.labels, run_scribbles=seg.scribbles, scope=[None, None])
    pixels = (np.moveaxis(image, 0, -1) * 255).astype(np.uint8)
    return write_session(
        folder,
        pixels,
        scribbles,
        {1: "left", 2: "right"},
        {},
        seg.labels,
        seg.ucm,
        record,
        seg.recipe,
        layers={"image": {"name": "two", "rgb": True}},
    )


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="needs xvfb-run")
def test_a_session_opened_as_the_dock_comes_up_keeps_its_merge_slider(tmp_path):
    folder = _session(tmp_path / "two.unsupseg")
    done = subprocess.run(
        ["xvfb-run", "-a", sys.executable, "-c", SCRIPT, str(folder)], capture_output=True, text=True, timeout=300
    )
    assert "No constructor defined" not in done.stderr and "has no attribute" not in done.stderr, done.stderr[-2000:]
    assert done.returncode == 0 and "merge slider: True" in done.stdout, done.stdout + done.stderr[-2000:]
