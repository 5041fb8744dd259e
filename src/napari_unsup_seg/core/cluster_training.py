"""What clustering an image and clustering a volume share: the result, the training loop, its steps.

:func:`core.cluster.fit` (an image) and :func:`core.cluster_volume.fit_volume` (a volume,
slices as a batch) set up their inputs and network, then train with :func:`train` and
:func:`stepper`, start the network with :func:`start_network` (from a warm start when it fits), and return a
:class:`ClusterResult` whose ``state`` (:func:`model_state`) warm-starts a later run.
"""

from __future__ import annotations

import copy
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field

import numpy as np
import torch

from .cluster_net import ClusterNet, resize_scribbles, total_loss
from .cluster_params import ClusterParams
from .errors import InputError
from .progress import Progress, is_stopped
from .scribbles import scribble_classes
from .sgd import MomentumSGD


@dataclass
class ClusterResult:
    """Outcome of :func:`fit`.

    Attributes
    ----------
    labels : ndarray
        (H, W) int32. With scribbles: scribble class values (scribbled pixels keep
        theirs). Without: consecutive cluster numbers 1..n.
    clusters : ndarray
        (H, W) int32 raw argmax cluster ids: an over-segmentation (for the UCM).
    soft : ndarray
        (L, H, W) float32 probabilities, summing to 1 per pixel; ``soft[k]`` is the
        probability of label ``label_values[k]``.
    label_values : ndarray
        (L,) int32.
    n_iter : int
        Iterations run by this call.
    stopped : bool
        True when the stop event ended the run.
    elapsed : float
        Seconds, input checks to result.
    state : dict
        CPU tensors to warm-start a later run on the same image (picklable).
    stop_reason : str
        "converged" (few enough clusters), "stable" (labels stopped changing),
        "max_iter", "time_budget" or "stopped".
    features : ndarray or None
        (q, h, w) float32 response of the network at its working scale: the features it
        learned on this image (for the scribble walk's edges).
    """

    labels: np.ndarray
    clusters: np.ndarray
    soft: np.ndarray
    label_values: np.ndarray
    n_iter: int
    stopped: bool
    elapsed: float
    state: dict = field(default_factory=dict, repr=False)
    stop_reason: str = ""
    features: np.ndarray | None = field(default=None, repr=False)


def to_cpu(obj):
    if torch.is_tensor(obj):
        return obj.detach().cpu().clone()
    if isinstance(obj, dict):
        return {k: to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [to_cpu(v) for v in obj]
    return copy.deepcopy(obj)


def checked_classes(scribbles, params: ClusterParams) -> np.ndarray:
    """The scribble classes, refused when there are more than the network has clusters."""
    classes = scribble_classes(scribbles)
    if len(classes) > params.n_channels:
        raise InputError(
            f"{len(classes)} scribble classes need at least as many clusters, but n_channels is "
            f"{params.n_channels}; raise n_channels"
        )
    return classes


def network_signature(params: ClusterParams, in_channels: int, shape: tuple[int, ...]) -> dict:
    """What a warm start must match: the input's shape and channel count, the network's settings."""
    return {
        "shape": tuple(shape),
        "in_channels": in_channels,
        "n_channels": params.n_channels,
        "n_blocks": params.n_blocks,
        "features": tuple(params.features),
        "xy_weight": params.xy_weight,
    }


def working_size(height: int, width: int, scale: float) -> tuple[int, int]:
    """The shape the network trains at: ``scale`` times the image's, 2 pixels at least."""
    return max(2, round(height * scale)), max(2, round(width * scale))


def start_network(params: ClusterParams, n_features: int, signature: dict, dev, warm_start):
    """A clustering network and its optimizer on ``dev``, ready to train.

    Returns ``(model, optimizer, fmt, message)``: ``fmt`` is the memory format of its
    inputs; the weights and optimizer state are ``warm_start``'s when it was made with
    ``signature``, and ``message`` says what became of it (empty without one).
    """
    fmt = torch.channels_last if params.channels_last else torch.contiguous_format
    model = ClusterNet(n_features, params.n_channels, params.n_blocks).to(dev, memory_format=fmt)
    optimizer = MomentumSGD(model.parameters(), lr=params.lr, momentum=params.momentum)
    message = load_warm_start(warm_start, signature, model, optimizer)
    model.train()
    return model, optimizer, fmt, message


def class_indices(scribbles: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """int32 map of each scribbled pixel's class index 1..k (its place in ``classes``, plus one), 0 elsewhere."""
    return np.where(scribbles > 0, np.searchsorted(classes, scribbles) + 1, 0).astype(np.int32)


def load_warm_start(warm_start, signature, model, optimizer):
    """Load a previous state if it fits; return a message saying what happened."""
    if warm_start is None:
        return ""
    if not isinstance(warm_start, dict) or warm_start.get("signature") != signature:
        return "warm start ignored: it was made for another image size, channel count or network"
    try:
        model.load_state_dict(warm_start["model"])
        optimizer.load_state_dict(warm_start["optimizer"])
    except (KeyError, RuntimeError, ValueError) as err:
        return f"warm start ignored: it does not fit this network ({err})"
    return "warm start: continuing from the previous weights"


def train(step, stages, params: ClusterParams, k: int, preview, message: str, t0: float, stop):
    """The training loop shared by images and volumes; yields Progress.

    ``stages`` lists ``(input, shape, budget)``; ``step(x, shape)`` runs one iteration and
    returns ``(response, loss)``; ``preview(response)`` makes a small label image.
    Returns ``(n_iter, stopped, reason, response)``; ``reason`` is one of
    :attr:`ClusterResult.stop_reason`.
    """
    min_labels = k if k else params.min_labels
    n_iter, loss_value, n_labels, stopped, reason = 0, None, None, False, ""
    response = previous = None
    for x, shape, budget in stages:
        for i in range(budget):
            if is_stopped(stop):
                stopped = True
                break
            try:
                response, loss = step(x, shape)
            except StepInterrupted:  # the weights and the response stay those of the last whole step
                stopped = True
                break
            n_iter += 1
            last = i == budget - 1
            converged = False
            if n_iter % params.check_every == 0 or n_iter == 1 or last:
                loss_value = float(loss.detach())
                ids = response.detach().argmax(1)
                n_labels = int(torch.unique(ids).numel())
                current = response.detach()[:, :k].argmax(1) if k else ids
                changed = (
                    1.0
                    if previous is None or previous.shape != current.shape
                    else float((current != previous).float().mean())
                )
                previous = current
                converged = n_iter >= params.min_iter and (n_labels <= min_labels or changed < params.stable_tol)
            shown = None
            if n_iter == 1 or n_iter % params.preview_every == 0 or converged:
                shown = preview(response)
            yield Progress(
                n_iter,
                params.max_iter,
                "cluster",
                loss_value,
                n_labels,
                shown,
                message if n_iter == 1 else "",
            )
            over_time = params.time_budget is not None and time.perf_counter() - t0 > params.time_budget
            if converged or over_time:
                reason = ("converged" if n_labels <= min_labels else "stable") if converged else "time_budget"
                break
        if stopped or reason == "time_budget":
            break  # a converged coarse stage still gets its full-resolution iterations
    if message and n_iter == 0:
        yield Progress(0, params.max_iter, "cluster", message=message)
    return n_iter, stopped, "stopped" if stopped else reason or "max_iter", response


class StepInterrupted(Exception):
    """A stop was requested in the middle of a training step (see :func:`interruptible`)."""


@contextmanager
def interruptible(model: torch.nn.Module, stop):
    """Let ``stop`` end a step of ``model`` midway, in its forward or its backward pass.

    One step of a large image or a batch of slices takes seconds on a CPU; every layer
    then checks the stop as its output is made and as its gradient comes back, and raises
    :class:`StepInterrupted` before the optimizer has changed anything. The buffers the
    forward pass moved (batch-norm statistics) are put back.
    """
    if stop is None:
        yield
        return

    def check(*_):
        if stop.is_set():
            raise StepInterrupted

    def on_output(_module, _args, output):
        check()
        if isinstance(output, torch.Tensor) and output.requires_grad:
            output.register_hook(check)

    buffers = [(b, b.clone()) for b in model.buffers()]
    handles = [m.register_forward_hook(on_output) for m in model.modules() if next(m.children(), None) is None]
    try:
        yield
    except StepInterrupted:
        with torch.no_grad():
            for buffer, before in buffers:
                buffer.copy_(before)
        raise
    finally:
        for handle in handles:
            handle.remove()


def stepper(model, optimizer, params: ClusterParams, targets: dict, fmt, stop=None):
    """One training iteration: ``step(x, shape) -> (response, loss)``.

    A stop set during the step raises :class:`StepInterrupted`, the weights untouched.
    """

    def step(x, shape):
        optimizer.zero_grad(set_to_none=True)
        with interruptible(model, stop):
            response = model(x.contiguous(memory_format=fmt))
            tgt, mask = targets.get(shape, (None, None))
            loss = total_loss(
                response,
                w_similarity=params.w_similarity,
                w_continuity=params.w_continuity,
                w_scribble=params.w_scribble,
                scribble_target=tgt,
                scribble_mask=mask,
            )
            loss.backward()
        optimizer.step()
        return response, loss

    return step


def scribble_targets(index_map: np.ndarray, shapes, dev) -> dict:
    """(target, mask) tensors of the scribbles (class indices 1..k, 0 = none) at each 2D shape.

    ``index_map`` is (H, W) or a stack (N, H, W) of slices; the tensors are (N, h, w).
    """
    stack = index_map[None] if index_map.ndim == 2 else index_map
    targets = {}
    for shape in shapes:
        small = np.stack([resize_scribbles(plane, shape) for plane in stack])
        mask = torch.from_numpy(small > 0).to(dev)
        targets[shape] = (torch.from_numpy(np.maximum(small - 1, 0).astype(np.int64)).to(dev), mask)
    return targets


def cudnn_for(dev):
    if dev.type == "cuda":
        return torch.backends.cudnn.flags(enabled=True, benchmark=False, deterministic=True)
    return nullcontext()


def model_state(signature: dict, model, optimizer) -> dict:
    return {"signature": signature, "model": to_cpu(model.state_dict()), "optimizer": to_cpu(optimizer.state_dict())}
