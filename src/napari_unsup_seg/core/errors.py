"""Errors that carry a sentence meant for the user."""


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
