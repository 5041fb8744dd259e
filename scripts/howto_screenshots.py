"""Make the screenshots of docs/how_to_annotate.md: a two-image session, step by step.

    python scripts/howto_screenshots.py [--out docs/howto] [--size 1400 1000]

napari opens the coffee photo and the IHC microscopy sample (each with its scribbles), the
plugin segments both, merges regions with the slider, switches back to the first image
(whose scribbles, legend, result and slider come back with it), commits the result into a
new labels layer of the annotator's own and saves it. One PNG per step goes to ``--out``.

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
    wait(app, condition, timeout, what, "howto_screenshots")


def _settle(app) -> None:
    for _ in range(20):
        app.processEvents()
        time.sleep(0.02)


def _open_sample(app, viewer, widget, name: str):
    viewer.open_sample("napari-unsup-seg", name)
    image = viewer.layers[name]
    widget.set_image_layer(image)
    _wait(
        app,
        lambda: widget.scribbles_layer() is not None and widget.image_layer() is image,
        30,
        f"the scribbles of {name}",
    )
    return image


def _segment(app, widget, threshold: float) -> None:
    if not widget.run():
        raise SystemExit(f"howto_screenshots: the run did not start ({widget.status.text()})")
    _wait(app, lambda: not widget.running, 600, "the segmentation")
    if widget.result_layer() is None:
        raise SystemExit(f"howto_screenshots: no result ({widget.status.text()})")
    widget.merge.set_threshold(threshold)
    print(f"howto_screenshots: {widget.image_layer().name}: {widget.status.text()}; {widget.merge.counter.text()}")


def _show(viewer, widget, image) -> None:
    """Only ``image`` and its layers visible, strokes on top, the scribbles layer selected."""
    scribbles, result = widget.scribbles_layer(), widget.result_layer()
    mine = {image.name, *(layer.name for layer in (scribbles, result) if layer is not None)}
    for layer in viewer.layers:
        layer.visible = layer.name in mine or layer.metadata.get("howto_keep", False)
    if result is not None:
        result.opacity = 0.55
    if scribbles is not None:
        viewer.layers.move(viewer.layers.index(scribbles), len(viewer.layers))
        viewer.layers.selection.active = scribbles
    viewer.reset_view()


def _shot(app, viewer, out: Path, name: str, widget=None, panel=None) -> None:
    """Screenshot of the window; the dock scrolled to show ``panel`` (default: its top)."""
    _settle(app)
    if widget is not None:
        bar = widget.scroll.verticalScrollBar()
        bar.setValue(0)
        if panel is not None:
            widget.scroll.ensureWidgetVisible(panel, 0, 10)
        _settle(app)
    path = out / name
    pixels = viewer.screenshot(canvas_only=False, flash=False)
    from PIL import Image

    # 256 colours: a tenth of the bytes of the full-colour screenshot, no visible difference
    Image.fromarray(pixels[..., :3]).quantize(256, dither=Image.Dither.NONE).save(path, optimize=True)
    print(f"howto_screenshots: wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "howto")
    parser.add_argument("--size", type=int, nargs=2, default=(1400, 1000), metavar=("W", "H"))
    args = parser.parse_args(argv)
    status = on_a_display(__file__, argv, tuple(args.size))
    if status is not None:
        return status

    import napari
    import torch

    quiet_napari()
    from qtpy.QtWidgets import QApplication

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    args.out.mkdir(parents=True, exist_ok=True)
    viewer = napari.Viewer(title="napari-unsup-seg: how to annotate")
    viewer.window.resize(*args.size)
    _, widget = viewer.window.add_plugin_dock_widget("napari-unsup-seg", "Scribble segmentation")
    app = QApplication.instance()
    _wait(app, widget.core_ready.is_set, 180, "torch to load")
    widget.live_box.setChecked(False)  # each run here is started by the Run button

    coffee = _open_sample(app, viewer, widget, "coffee")
    _show(viewer, widget, coffee)
    _shot(app, viewer, args.out, "1_scribbles.png", widget)

    _segment(app, widget, threshold=0.0)
    _show(viewer, widget, coffee)
    _shot(app, viewer, args.out, "2_result.png", widget, widget.merge)

    widget.merge.set_threshold(0.5)
    _shot(app, viewer, args.out, "3_merged.png", widget, widget.merge)
    coffee_threshold = widget.merge.threshold

    ihc = _open_sample(app, viewer, widget, "ihc")
    _segment(app, widget, threshold=0.3)
    _show(viewer, widget, ihc)
    _shot(app, viewer, args.out, "4_second_image.png", widget, widget.merge)

    widget.set_image_layer(coffee)
    _wait(
        app,
        lambda: widget.result_layer() is not None and widget.merge.layer is widget.result_layer(),
        10,
        "the first image's result in the merge panel",
    )
    if abs(widget.merge.threshold - coffee_threshold) > 1e-6:
        raise SystemExit(
            f"howto_screenshots: the first image's slider did not come back ({widget.merge.threshold} != {coffee_threshold}, {widget.merge.layer}, {widget.result_layer()})"
        )
    _show(viewer, widget, coffee)
    _shot(app, viewer, args.out, "5_back_to_first.png", widget, widget.merge)

    committer = widget.committer
    committer.set_target(None)  # "New labels layer"
    summary = committer.commit()
    if summary is None:
        raise SystemExit(f"howto_screenshots: the commit failed ({committer.status.text()})")
    target = committer.target()
    if target is not None:
        target.metadata["howto_keep"] = True
    _show(viewer, widget, coffee)
    if target is not None:
        viewer.layers.selection.active = target
    _shot(app, viewer, args.out, "6_committed.png", widget, committer)
    viewer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
