"""``napari-unsup-seg gui``: open napari with the plugin docked, on an image or a sample."""

from __future__ import annotations

from pathlib import Path

PLUGIN = "napari-unsup-seg"
WIDGET = "Scribble segmentation"


def open_viewer(image: Path | None = None, *, sample: str | None = None, show: bool = True):
    """Create a viewer with the widget docked; return ``(viewer, widget)``.

    A sample opens with its scribbles; a saved session (``<name>.unsupseg``) with its
    scribbles, result and merge slider; an image file through the widget's loader, which
    reads every format the core reads and makes a matching scribbles layer.
    """
    import napari

    from ..core.session import is_session

    viewer = napari.Viewer(title=PLUGIN, show=show)
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, WIDGET)
    if sample is not None:
        viewer.open_sample(PLUGIN, sample)
    elif image is not None and is_session(image):
        viewer.open(str(image), plugin=PLUGIN)
    elif image is not None:
        widget.load_image(Path(image))
    return viewer, widget


def check_display(environ=None, platform: str | None = None) -> None:
    """Refuse, in one line, to open a window where there is no screen (Qt would abort the process)."""
    import os
    import sys

    from ..core.errors import InputError

    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if platform.startswith("linux") and not any(
        environ.get(k) for k in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    ):
        raise InputError(
            "no display to open napari on: run it in a desktop session, over ssh -X, or under "
            "xvfb-run; batch work needs no window: use `napari-unsup-seg segment`"
        )


def launch(image: Path | None = None, *, sample: str | None = None) -> None:
    """Open napari and block until its window is closed."""
    import napari

    from ..core.image import read_array
    from ..core.session import meant_as_session, read_session

    if image is not None:  # a bad file fails here with a one-line error, before any window
        read_session(image) if meant_as_session(image) else read_array(image)
    check_display()
    open_viewer(image, sample=sample)
    napari.run()
