"""Errors that carry a sentence meant for the user."""


class InputError(ValueError):
    """Bad user input: the message is one sentence naming the problem.

    The CLI prints it without a traceback and the napari layer shows it as a
    notification.
    """


class InputWarning(UserWarning):
    """Input that was used but not as given (for example NaN pixels); the CLI prints one line."""
