"""Errors that carry a sentence meant for the user."""

import warnings
from contextlib import contextmanager


class InputError(ValueError):
    """Bad user input: the message is one sentence naming the problem.

    The CLI prints it without a traceback and the napari layer shows it as a
    notification.
    """


class InputWarning(UserWarning):
    """Input that was used but not as given (for example NaN pixels); the CLI prints one line."""


def brief(err: BaseException, limit: int = 120) -> str:
    """``Type: first line of the message``: a library's error, fit for a one-line message."""
    first = (str(err).strip().splitlines() or [""])[0].rstrip(".")
    return f"{type(err).__name__}: {first[:limit]}"


@contextmanager
def warnings_about(name: str):
    """Within: each :class:`InputWarning` begins with ``name`` (which of a batch's inputs it is
    about). Warnings are held until the block ends, then given again under the caller's filters."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        if issubclass(w.category, InputWarning):
            warnings.warn(InputWarning(f"{name}: {w.message}"), stacklevel=3)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
