"""What the scripts that drive napari share: a display (Xvfb when there is none), waiting.

from gui_script import on_a_display, quiet_napari, wait
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

_FLAG = "_NAPARI_UNSUP_SEG_XVFB"


def on_a_display(script: str, argv: list[str] | None, size: tuple[int, int]) -> int | None:
    """None when there is a display; else run ``script`` again under ``xvfb-run`` with a
    screen a little larger than ``size`` and return its exit status."""
    if os.environ.get("DISPLAY") or os.environ.get(_FLAG) == "1":
        return None
    xvfb = shutil.which("xvfb-run")
    name = os.path.basename(script)
    if xvfb is None:
        raise SystemExit(f"{name}: no display and no xvfb-run; install the Debian package xvfb")
    screen = f"-screen 0 {size[0] + 100}x{size[1] + 100}x24"
    cmd = [xvfb, "-a", "-s", screen, sys.executable, script, *(argv if argv is not None else sys.argv[1:])]
    return subprocess.call(cmd, env=dict(os.environ, **{_FLAG: "1"}))


def quiet_napari() -> None:
    """No start-up notice about PyQt5 over part of the canvas."""
    try:
        from napari._qt import qt_main_window

        qt_main_window.SHOW_QT_WARNING = False
    except (ImportError, AttributeError):
        pass


def wait(app, condition, timeout: float, what: str, who: str = "script") -> None:
    """Process Qt events until ``condition()`` holds; exit with a message after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise SystemExit(f"{who}: timed out waiting for {what}")
        app.processEvents()
        time.sleep(0.01)
