"""What the subcommands share: number checks for flags, Ctrl-C handling."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from ..core.errors import InputError


def number(kind, low=None, high=None):
    """An argparse type: a finite number of ``kind`` within [low, high] (None: open)."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}")
        if value != value or value in (float("inf"), float("-inf")):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = (
                f"between {low} and {high}"
                if low is not None and high is not None
                else (f"at least {low}" if low is not None else f"at most {high}")
            )
            raise argparse.ArgumentTypeError(f"{text} is out of range: it must be {bounds}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


def require_dir(path: Path) -> None:
    if not path.is_dir():
        raise InputError(f"{path}: no such folder")


def stop_on_sigint() -> threading.Event:
    """An Event set by the first Ctrl-C; a second Ctrl-C interrupts as usual."""
    stop = threading.Event()

    def handler(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        print("\nstopping: the result so far will be written (Ctrl-C again to abort)", file=sys.stderr)

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, handler)
    return stop
