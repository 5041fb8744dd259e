"""Progress events, cooperative stopping, device choice and seeding.

Every long computation in the core is a generator that yields :class:`Progress`
events and *returns* its result. :func:`drain` runs such a generator to the end.
Stopping is cooperative: pass a :class:`threading.Event` as ``stop`` and set it;
the generator notices at its next iteration and returns the best result so far.
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

R = TypeVar("R")


# every stage a run reports, with the words a front end shows for it
STAGES = {
    "propagate": "scribble propagation",
    "cluster": "clustering",
    "adapt": "adapting the W-Net",
    "wnet": "W-Net",
    "crf": "dense CRF",
    "ucm": "hierarchy",
    "shrink": "working resolution",
    "refine": "full resolution",
    "train": "training",
    "done": "done",
    "warning": "warning",  # the message says what about the input was not used as given
}
ITERATING = ("cluster", "adapt", "wnet", "train")  # stages whose steps are iterations


@dataclass(frozen=True)
class Progress:
    """One progress event.

    Attributes
    ----------
    step, total : int
        Current step and the maximum number of steps (``total`` may be 0 when unknown).
    stage : str
        What is running: a key of :data:`STAGES`.
    loss : float or None
        Current loss, when the stage has one.
    n_labels : int or None
        Current number of segments.
    preview : ndarray or None
        Now and then, a small (h, w) int32 label image of the current result.
    message : str
        Free text for a status line.
    extra : dict or None
        Named numbers of the stage (for example the losses of a training step).
    result : ndarray or None
        An intermediate full-resolution class map worth showing at once (the first mask
        of a scribble run, before the refinement ends).
    """

    step: int
    total: int
    stage: str = ""
    loss: float | None = None
    n_labels: int | None = None
    preview: np.ndarray | None = None
    message: str = ""
    extra: dict[str, float] | None = None
    result: np.ndarray | None = None


ProgressGen = Generator[Progress, None, R]


def drain(gen: Generator[Progress, None, R], callback: Callable[[Progress], Any] | None = None) -> R:
    """Run a progress generator to the end and return its result."""
    while True:
        try:
            event = next(gen)
        except StopIteration as done:
            return done.value
        if callback is not None:
            callback(event)


def is_stopped(stop: threading.Event | None) -> bool:
    """Whether a stop was requested through ``stop``."""
    return stop is not None and stop.is_set()


def resolve_device(name: str = "auto"):
    """Return a ``torch.device``: auto picks CUDA, then Apple MPS, then the CPU."""
    import torch

    from .errors import InputError

    name = (name or "auto").strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    match = re.fullmatch(r"(cpu|cuda|mps)(?::(\d{1,4}))?", name)
    if match is None:
        raise InputError(f"unknown device {name!r}: use auto, cpu, cuda, cuda:N or mps")
    kind, index = match.group(1), match.group(2)
    if kind == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise InputError("device 'cuda' was asked for but no CUDA GPU is available; use --device cpu")
        if index is not None and int(index) >= count:
            raise InputError(
                f"device {name!r} does not exist: this machine has {count} CUDA GPU(s), cuda:0 to cuda:{count - 1}"
            )
    elif index not in (None, "0"):
        raise InputError(f"device {name!r} does not exist: use {kind}")
    if kind == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise InputError("device 'mps' was asked for but Apple MPS is not available; use --device cpu")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch so that runs on one device are reproducible."""
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
