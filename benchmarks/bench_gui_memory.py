"""Resident memory over many runs in one napari session: does anything pile up?

    python benchmarks/bench_gui_memory.py [--runs 50] [--warmup 5]

napari (under ``xvfb-run`` when there is no display) opens the coffee sample with its
scribbles, docks the plugin, then presses Run ``--runs`` times, moving the merge slider
after each. Resident memory (RSS) is read after every run; the lowest and highest
values of the first runs after the warm-up are compared with those of the last runs
(target: growth under 10 %).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time


def _rss_mib() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _wait(app, condition, timeout: float) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise SystemExit("bench_gui_memory: timed out")
        app.processEvents()
        time.sleep(0.01)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5, help="runs before the baseline is taken")
    args = parser.parse_args(argv)
    if not os.environ.get("DISPLAY") and os.environ.get("_BENCH_XVFB") != "1":
        if shutil.which("xvfb-run") is None:
            raise SystemExit("bench_gui_memory: no display and no xvfb-run (Debian package xvfb)")
        return subprocess.call(
            ["xvfb-run", "-a", sys.executable, __file__, *(argv or sys.argv[1:])], env=dict(os.environ, _BENCH_XVFB="1")
        )

    import gc

    import napari
    from qtpy.QtWidgets import QApplication

    viewer = napari.Viewer(show=True)
    _, widget = viewer.window.add_plugin_dock_widget("napari-unsup-seg", "Scribble segmentation")
    app = QApplication.instance()
    viewer.open_sample("napari-unsup-seg", "coffee")
    _wait(app, lambda: widget.scribbles_layer() is not None, 60)
    _wait(app, widget.core_ready.is_set, 180)
    widget.live_box.setChecked(False)  # runs are started by the button here
    rss, seconds = [], []
    for k in range(args.runs):
        start = time.perf_counter()
        if not widget.run():
            raise SystemExit(f"bench_gui_memory: run {k + 1} did not start ({widget.status.text()})")
        _wait(app, lambda: not widget.running, 600)
        widget.merge.set_threshold(0.1 + 0.8 * (k % 5) / 4)
        app.processEvents()
        gc.collect()
        seconds.append(time.perf_counter() - start)
        rss.append(_rss_mib())
        print(f"run {k + 1:3d}: {seconds[-1]:5.2f} s, RSS {rss[-1]:7.1f} MiB", flush=True)
    # RSS swings by the size of one run's temporaries (the allocator keeps freed memory a
    # while), so the lowest and highest values of a window are compared, not two single runs
    window = max(1, min(10, (len(rss) - args.warmup) // 2))
    early, late = rss[args.warmup : args.warmup + window], rss[-window:]
    floor = 100 * (min(late) - min(early)) / min(early)
    ceiling = 100 * (max(late) - max(early)) / max(early)
    print(
        f"\nRSS, runs {args.warmup + 1}-{args.warmup + window}: {min(early):.1f} to {max(early):.1f} MiB; "
        f"last {window} runs: {min(late):.1f} to {max(late):.1f} MiB; growth of the floor {floor:+.1f} %, "
        f"of the ceiling {ceiling:+.1f} % (target < 10 %); median run {sorted(seconds)[len(seconds) // 2]:.2f} s"
    )
    growth = max(floor, ceiling)
    viewer.close()
    return 0 if growth < 10 else 1


if __name__ == "__main__":
    sys.exit(main())
