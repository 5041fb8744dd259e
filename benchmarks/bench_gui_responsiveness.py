"""Is the widget responsive? GUI-thread blocks during a run, and merge-slider steps per second.

    python benchmarks/bench_gui_responsiveness.py [--size 1024] [--steps 60] [--runs 2]

napari (under ``xvfb-run`` when there is no display) docks the plugin on the coffee sample
scaled to ``--size`` x ``--size`` pixels, with its scribbles scaled alike, and:

1. presses Run ``--runs`` times while a 10 ms heartbeat timer ticks on the GUI thread; a gap
   between two ticks longer than the interval is time the GUI thread could not answer
   (target: no block over 100 ms);
2. drags the merge slider over ``--steps`` positions as a user's drag does (slider held
   down), each step timed from the move to the end of the canvas's next draw (forced when
   the step asked for none) and of the events the step left (the region counter, the layer
   list), layer refresh included (target: 30 steps per second or more, i.e. under 33 ms a
   step). Each step is drawn once; the median of 30 draws with nothing changed is
   printed as the floor of a step. Earlier figures (``--old-timing``) ended each step
   with ``canvas.repaint()``, which only asks for a draw: the next step paid for it, so every
   step was timed with two draws.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time

HEARTBEAT_MS = 10


def _wait(app, condition, timeout: float) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise SystemExit("bench_gui_responsiveness: timed out")
        app.processEvents()
        time.sleep(0.002)


def _scaled_sample(size: int):
    import numpy as np
    from skimage.transform import resize

    from napari_unsup_seg._napari.samples import coffee

    (image, image_kw, _), (scribbles, scribbles_kw, _) = coffee()
    image = (resize(image, (size, size), order=1, preserve_range=True)).astype(np.uint8)
    scribbles = resize(scribbles, (size, size), order=0, preserve_range=True, anti_aliasing=False)
    return image, image_kw, scribbles.astype(np.uint8), scribbles_kw


def _percentile(values, q: float) -> float:
    import numpy as np

    return float(np.percentile(values, q)) if len(values) else 0.0


def _heartbeat(app):
    from qtpy.QtCore import QTimer

    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(HEARTBEAT_MS)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    return timer, ticks


def _run_blocks(app, widget, runs: int) -> list[float]:
    """Longest GUI-thread blocks (ms beyond the heartbeat interval) over ``runs`` runs."""
    import numpy as np

    gaps: list[float] = []
    for k in range(runs):
        timer, ticks = _heartbeat(app)
        timer.start()
        start = time.perf_counter()
        if not widget.run():
            raise SystemExit(f"bench_gui_responsiveness: run {k + 1} did not start ({widget.status.text()})")
        _wait(app, lambda: not widget.running, 900)
        timer.stop()
        seconds = time.perf_counter() - start
        run_gaps = np.diff(ticks) * 1000 - HEARTBEAT_MS
        gaps.extend(run_gaps.tolist())
        print(
            f"run {k + 1}: {seconds:.1f} s, {len(ticks)} ticks, longest GUI block {run_gaps.max():.0f} ms, "
            f"blocks over 100 ms: {int((run_gaps > 100).sum())}",
            flush=True,
        )
    return gaps


def _drawn(app, draws: list[float], before: int, timeout: float = 5.0) -> None:
    """Process events until the canvas has drawn once more than ``before`` draws."""
    end = time.monotonic() + timeout
    while len(draws) <= before:
        if time.monotonic() > end:
            raise SystemExit("bench_gui_responsiveness: the canvas did not draw")
        app.processEvents()


def _slider_steps(app, widget, viewer, steps: int, paints: list[int] | None = None) -> list[float]:
    """Seconds per slider step of a drag, from the move to the end of one draw of the canvas.

    A step that asked for no draw (nothing changed on screen) is drawn all the same;
    ``paints`` gets the number of draws of each step.
    """
    import numpy as np

    slider = widget.merge.slider
    canvas = viewer.window._qt_viewer.canvas
    draws: list[float] = []

    def drew(event) -> None:
        draws.append(time.perf_counter())

    canvas._scene_canvas.events.draw.connect(drew)
    top = int(slider.maximum() * min(1.0, widget.merge.segmentation.hierarchy.max_threshold))
    values = np.linspace(1, max(2, top), steps).astype(int)
    slider.setSliderDown(True)
    canvas.native.update()
    _drawn(app, draws, len(draws))  # nothing left to draw from before
    app.processEvents()
    times = []
    for value in values:
        before = len(draws)
        start = time.perf_counter()
        slider.setValue(int(value))
        app.processEvents()  # the panel coalesces moves with a 0 ms timer: it renders here
        if len(draws) == before:
            canvas.native.update()
        _drawn(app, draws, before)
        app.processEvents()  # whatever else the step changed (the counter, the layer list)
        times.append(time.perf_counter() - start)
        if paints is not None:
            paints.append(len(draws) - before)
    slider.setSliderDown(False)
    slider.sliderReleased.emit()
    app.processEvents()
    canvas._scene_canvas.events.draw.disconnect(drew)
    return times


def _draws_alone(app, viewer, count: int = 30) -> list[float]:
    """Seconds per draw of the canvas when nothing changed: the floor of a step."""
    canvas = viewer.window._qt_viewer.canvas
    draws: list[float] = []

    def drew(event) -> None:
        draws.append(time.perf_counter())

    canvas._scene_canvas.events.draw.connect(drew)
    times = []
    for _ in range(count):
        before = len(draws)
        start = time.perf_counter()
        canvas.native.update()
        _drawn(app, draws, before)
        app.processEvents()
        times.append(time.perf_counter() - start)
    canvas._scene_canvas.events.draw.disconnect(drew)
    return times


def _slider_steps_old(app, widget, viewer, steps: int, paints: list[int] | None = None) -> list[float]:
    """The earlier timing of :func:`_slider_steps`: two draws a step (see the module's docstring)."""
    import numpy as np

    slider = widget.merge.slider
    canvas = viewer.window._qt_viewer.canvas.native
    top = int(slider.maximum() * min(1.0, widget.merge.segmentation.hierarchy.max_threshold))
    values = np.linspace(1, max(2, top), steps).astype(int)
    slider.setSliderDown(True)
    times = []
    for value in values:
        start = time.perf_counter()
        slider.setValue(int(value))
        app.processEvents()
        app.processEvents()
        canvas.repaint()
        times.append(time.perf_counter() - start)
    slider.setSliderDown(False)
    slider.sliderReleased.emit()
    app.processEvents()
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024, help="image side in pixels (default 1024)")
    parser.add_argument("--steps", type=int, default=60, help="slider positions of the drag (default 60)")
    parser.add_argument("--runs", type=int, default=2, help="runs timed with the heartbeat (default 2)")
    parser.add_argument("--old-timing", action="store_true", help="time slider steps as earlier figures did")
    args = parser.parse_args(argv)
    if not os.environ.get("DISPLAY") and os.environ.get("_BENCH_XVFB") != "1":
        if shutil.which("xvfb-run") is None:
            raise SystemExit("bench_gui_responsiveness: no display and no xvfb-run (Debian package xvfb)")
        return subprocess.call(
            [
                "xvfb-run",
                "-a",
                "-s",
                "-screen 0 1600x1000x24",
                sys.executable,
                __file__,
                *(argv if argv is not None else sys.argv[1:]),
            ],
            env=dict(os.environ, _BENCH_XVFB="1"),
        )

    import napari
    from qtpy.QtWidgets import QApplication

    viewer = napari.Viewer(show=True)
    _, widget = viewer.window.add_plugin_dock_widget("napari-unsup-seg", "Scribble segmentation")
    app = QApplication.instance()
    image, image_kw, scribbles, scribbles_kw = _scaled_sample(args.size)
    viewer.add_image(image, **image_kw)
    viewer.add_labels(scribbles, **scribbles_kw)
    _wait(app, lambda: widget.scribbles_layer() is not None, 60)
    _wait(app, widget.core_ready.is_set, 300)
    widget.live_box.setChecked(False)  # runs are started by the button here
    gaps = _run_blocks(app, widget, args.runs)
    if widget.merge.segmentation is None or widget.merge.segmentation.hierarchy is None:
        raise SystemExit("bench_gui_responsiveness: the run gave no hierarchy to merge")
    drag = _slider_steps_old if args.old_timing else _slider_steps
    drag(app, widget, viewer, 5)  # first cuts fill caches; not timed
    paints: list[int] = []
    steps = drag(app, widget, viewer, args.steps, paints)
    ms = [1000 * s for s in steps]
    floor = [1000 * s for s in _draws_alone(app, viewer)]
    print(
        f"\n{args.size}x{args.size}, {args.runs} runs: longest GUI-thread block {max(gaps):.0f} ms, "
        f"99th percentile {_percentile(gaps, 99):.0f} ms, blocks over 100 ms: {sum(g > 100 for g in gaps)} "
        f"(target: none)"
    )
    print(
        f"slider drag, {args.steps} steps with repaint: median {_percentile(ms, 50):.1f} ms, "
        f"90th percentile {_percentile(ms, 90):.1f} ms, {1000 / _percentile(ms, 50):.0f} steps/s "
        f"(target: 30/s or more){'' if args.old_timing else f', draws a step: {sorted(set(paints))}'}"
    )
    print(f"a draw of the canvas with nothing changed: median {_percentile(floor, 50):.1f} ms (the floor of a step)")
    print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    viewer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
