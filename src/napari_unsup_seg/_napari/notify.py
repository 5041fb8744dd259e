"""Errors and messages as napari notifications: one clear sentence, never a bare traceback."""

from __future__ import annotations

import weakref

import logging
from collections.abc import Callable, Sequence

from napari.utils.notifications import Notification, NotificationSeverity, notification_manager

from ..core.errors import InputError

log = logging.getLogger(__name__)

Action = tuple[str, Callable]


def is_out_of_memory(err: BaseException) -> bool:
    """Whether ``err`` is a GPU out-of-memory error (checked without importing torch)."""
    if type(err).__name__ == "OutOfMemoryError":
        return True
    return isinstance(err, RuntimeError) and "out of memory" in str(err).lower()


def describe(err: BaseException, what: str = "the segmentation") -> str:
    """A sentence for the user that explains ``err``."""
    if isinstance(err, InputError):
        return str(err)
    if is_out_of_memory(err):
        return f"{what} ran out of GPU memory; retry on the CPU or with a smaller image"
    if isinstance(err, FileExistsError | PermissionError | FileNotFoundError):
        return str(err)
    if isinstance(err, MemoryError):
        return f"{what} ran out of memory; try a smaller image or crop it first"
    return f"{what} failed: {type(err).__name__}: {err}"


def show(message: str, severity: str = "info", actions: Sequence[Action] = ()) -> Notification:
    """Dispatch a notification (``severity``: info, warning or error) and return it."""
    note = Notification(message, severity=NotificationSeverity(severity), actions=tuple(actions))
    notification_manager.dispatch(note)
    return note


def show_exception(err: BaseException, what: str = "the segmentation", actions: Sequence[Action] = ()) -> Notification:
    """Show ``err`` as an error notification; unexpected errors also go to the log with traceback."""
    if not isinstance(err, InputError | FileExistsError):
        log.error("%s failed", what, exc_info=(type(err), err, err.__traceback__))
    return show(describe(err, what), "error", actions)


def retry_on_cpu(widget):
    """The "Retry on CPU" action of an out-of-memory notification: the widget's device set to
    cpu, then Run. It holds the widget weakly (notifications outlive viewers)."""
    ref = weakref.ref(widget)

    def retry(*_):
        w = ref()
        if w is not None:
            w.params.set_device("cpu")
            w.run()

    return retry


def no_result_words(outcome, widget) -> str:
    """Tell the user why a run left no result (an error, its image removed, or cancelled); the status words."""
    if outcome.error is not None:
        actions = [("Retry on CPU", retry_on_cpu(widget))] if is_out_of_memory(outcome.error) else []
        show_exception(outcome.error, actions=actions)
        return "failed: " + describe(outcome.error)
    if outcome.segmentation is not None:
        show("the image layer was removed during the run: the run was stopped and its result dropped", "warning")
        return "stopped: the image layer was removed"
    return "cancelled"
