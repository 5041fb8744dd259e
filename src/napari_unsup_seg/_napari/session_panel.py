""" "Save session..." and "Open session...": the current image's whole session in one folder.

The session (``core.session``) is written to ``<folder>/<image>.unsupseg``, or to the
folder itself when its name ends in ``.unsupseg``; an existing session is replaced only
after the user says yes. "Open session..." reads one with the plugin's reader (as File >
Open Folder does once napari is told to use this plugin's reader: napari's own reader
takes any folder too).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from qtpy.QtWidgets import QHBoxLayout, QPushButton, QWidget

from ..core.errors import InputError
from ..core.session import session_path
from . import dialogs, notify, saving, session_layers

PLUGIN = "napari-unsup-seg"


class SessionPanel(QWidget):
    """ "Save session..." for the current image, "Open session..." for a saved one.

    Parameters
    ----------
    parent : QWidget
        Dialogs open over it.
    viewer : napari Viewer
        Where a session opens.
    image, scribbles, result : callables returning the current Image / scribbles / result layer (or None)
    state : callable returning the widget's state for the current image (or None)
    merge : MergePanel
        Its threshold is the one saved when it shows the image's result.
    say : callable(str)
        The widget's status line.
    """

    def __init__(
        self,
        parent: QWidget,
        viewer,
        image: Callable,
        scribbles: Callable,
        result: Callable,
        state: Callable,
        merge,
        say: Callable[[str], None],
    ):
        super().__init__(parent)
        self._viewer = viewer
        self._image, self._scribbles, self._result, self._state = image, scribbles, result, state
        self._merge, self._say = merge, say
        self.button = QPushButton("Save session...")
        self.button.setToolTip(
            "the image, its scribbles and class names, the result and its merge slider, "
            "in one <image>.unsupseg folder; File > Open reopens it"
        )
        self.open_button = QPushButton("Open session...")
        self.open_button.setToolTip(
            "open a saved .unsupseg folder: its image, scribbles and result, with the merge slider where it was"
        )
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.button)
        layout.addWidget(self.open_button)
        self.button.clicked.connect(lambda: self.save())
        self.open_button.clicked.connect(lambda: self.open())

    def open(self, folder=None) -> list | None:
        """Open a saved session (a folder dialog when ``folder`` is None); its layers or None."""
        if folder is None:
            folder = dialogs.choose_session(self)
            if folder is None:
                return None
        from ..core.session import SUFFIX, meant_as_session

        folder = Path(folder)
        if not meant_as_session(folder):
            notify.show(
                f"{folder} is not a saved session: choose a folder made by Save session... "
                f"(its name ends with {SUFFIX})",
                "error",
            )
            self._say(f"not a session: {folder.name}")
            return None
        try:
            added = self._viewer.open(folder, plugin=PLUGIN)
        except Exception as err:  # a damaged session: the message names what is wrong
            notify.show_exception(_cause(err), "opening the session")
            self._say(f"the session {folder.name} was not opened (see the notification)")
            return None
        self._say(f"opened the session {Path(folder).name}")
        return added

    def save(self, folder=None) -> Path | None:
        """Save the session of the current image (a folder dialog when ``folder`` is None); its path or None."""
        image = self._image()
        if image is None:
            notify.show("choose an image layer or load an image first", "error")
            return None
        if folder is None:
            folder = dialogs.choose_folder(self)
            if folder is None:
                return None
        path = session_path(folder, saving.safe_stem(image.name))
        replace = path.exists()
        if replace and not dialogs.confirm_overwrite(self, [path]):
            self._say(f"not saved: the session {path.name} was kept")
            return None
        state = self._state() if self._result() is not None else None  # its result layer was removed: none
        threshold = self._threshold(state)
        try:
            written = session_layers.save(path, image, self._scribbles(), state, threshold, overwrite=replace)
        except Exception as err:  # shown to the user; the layers and an old session are untouched
            notify.show_exception(err, "saving the session")
            return None
        self._say(f"saved the session to {written}")
        notify.show(f"saved the session to {written}", "info")
        return written

    def _threshold(self, state) -> float:
        if state is None or state.result is None:
            return 0.0
        if self._merge.layer is state.result:
            return float(self._merge.threshold)  # follows Ctrl+Z of a slider step
        return float(state.merge.threshold) if state.merge is not None else 0.0


def _cause(err: BaseException) -> BaseException:
    """The error our reader raised, out of napari's wrapping of it."""
    seen = err
    while not isinstance(seen, InputError):
        seen = getattr(seen, "original_error", None) or seen.__cause__
        if seen is None:
            return err
    return seen
