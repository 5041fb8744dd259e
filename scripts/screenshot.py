"""Make docs/screenshot.png: napari with the plugin docked on the coffee sample, segmented.

    python scripts/screenshot.py [--out docs/screenshot.png] [--threshold 0.0]
    python scripts/screenshot.py --live --out docs/screenshot_live.png
    python scripts/screenshot.py --volume --out docs/screenshot_volume.png

``--live``: after the first run, one more stroke is painted on the scribbles layer as the
mouse paints one; live mode runs again on its own (a warm start) and the uncertainty
layer is shown.

``--volume``: the brain MRI sample, segmented whole ("Whole volume") from strokes on two
slices, shown on a slice between them (``--slice``), which has no stroke.

Without a display it re-runs itself under ``xvfb-run`` (Debian package ``xvfb``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from gui_script import on_a_display, quiet_napari, wait

ROOT = Path(__file__).resolve().parents[1]


def _wait(app, condition, timeout: float, what: str) -> None:
    wait(app, condition, timeout, what, "screenshot")


def _live_stroke(app, widget, scribbles) -> None:
    """Paint one stroke of class 3 near the bottom-right corner and wait for the live run it starts."""
    import numpy as np

    widget.uncertainty_box.setChecked(True)
    h, w = scribbles.data.shape[-2:]
    scribbles._begin_stroke()
    for col in np.linspace(0.75 * w, 0.95 * w, 40).astype(int):
        scribbles.paint((int(0.92 * h), int(col)), 3, refresh=False)
    scribbles._commit_stroke()
    scribbles.refresh()
    _wait(app, lambda: widget.running, 10, "the live run to start")
    _wait(app, lambda: not widget.running, 300, "the live run")
    print(f"screenshot: live run {widget.status.text()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshot.png")
    parser.add_argument("--threshold", type=float, default=0.0, help="merge slider position (UCM threshold)")
    parser.add_argument("--size", type=int, nargs=2, default=(1500, 1000), metavar=("W", "H"))
    parser.add_argument("--live", action="store_true", help="a live stroke after the run, uncertainty shown")
    parser.add_argument("--volume", action="store_true", help="the brain volume sample, segmented whole")
    parser.add_argument("--slice", type=int, default=12, help="--volume: the slice shown")
    args = parser.parse_args(argv)
    if args.live and args.volume:
        parser.error("--live works on the 2D sample; choose one of --live and --volume")

    status = on_a_display(__file__, argv, tuple(args.size))
    if status is not None:
        return status

    import napari
    import torch

    quiet_napari()
    from qtpy.QtWidgets import QApplication

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    viewer = napari.Viewer(title="napari-unsup-seg")
    viewer.window.resize(*args.size)
    _, widget = viewer.window.add_plugin_dock_widget("napari-unsup-seg", "Scribble segmentation")
    app = QApplication.instance()
    viewer.open_sample("napari-unsup-seg", "brain" if args.volume else "coffee")
    _wait(app, lambda: widget.scribbles_layer() is not None, 30, "the scribbles layer")
    _wait(app, widget.core_ready.is_set, 120, "torch to load")

    start = time.perf_counter()
    if not widget.run():
        raise SystemExit("screenshot: the run did not start")
    _wait(app, lambda: not widget.running, 300, "the segmentation")
    result = widget.result_layer()
    if result is None:
        raise SystemExit(f"screenshot: no result ({widget.status.text()})")
    print(f"screenshot: {widget.status.text()} (wall {time.perf_counter() - start:.1f} s)")
    scribbles = widget.scribbles_layer()
    if args.live:
        _live_stroke(app, widget, scribbles)
    if args.threshold > 0:
        widget.merge.set_threshold(args.threshold)

    result.opacity = 0.55
    viewer.layers.move(viewer.layers.index(scribbles), len(viewer.layers))  # strokes on top
    viewer.layers.selection.active = scribbles
    viewer.reset_view()
    if args.volume:
        image = widget.image_layer()
        viewer.dims.set_point(0, image.data_to_world((args.slice, 0, 0))[0])
    for _ in range(20):
        app.processEvents()
        time.sleep(0.02)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    viewer.screenshot(str(args.out), canvas_only=False, flash=False)
    print(f"screenshot: wrote {args.out}")
    viewer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
