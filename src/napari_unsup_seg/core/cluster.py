"""Differentiable feature clustering (Kanezaki, IEEE TIP 2020), with and without scribbles.

A small CNN is trained on the one image so that its argmax over q channels is both
its own target (feature similarity) and spatially smooth (continuity); scribbles
add a cross-entropy that ties cluster k to scribble class k. Training stops when
few enough clusters remain, when the labels stop changing (``stable_tol``), at
``max_iter`` or at ``time_budget``. How clusters then become scribble classes is
``ClusterParams.assign`` (see :mod:`core.cluster_assign`).

Examples
--------
>>> import numpy as np
>>> from napari_unsup_seg.core.progress import drain
>>> img = np.zeros((3, 16, 16), np.float32); img[:, :, 8:] = 1.0
>>> scr = np.zeros((16, 16), np.int32); scr[4:12, 2] = 1; scr[4:12, 13] = 2
>>> res = drain(fit(img, scr, ClusterParams(max_iter=5)))
>>> sorted(np.unique(res.labels).tolist())
[1, 2]
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Generator
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np
import torch

from .cluster_assign import Labeller
from .cluster_net import ClusterNet, build_features, resize_chw, resize_scribbles, total_loss
from .cluster_params import PRESETS, ClusterParams
from .errors import InputError
from .progress import Progress, is_stopped, resolve_device, seed_everything
from .scribbles import scribble_classes, validate_scribbles
from .sgd import MomentumSGD

__all__ = ["PRESETS", "ClusterParams", "ClusterResult", "fit"]


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


def _signature(params: ClusterParams, in_channels: int, shape: tuple[int, int]) -> dict:
    return {
        "shape": tuple(shape),
        "in_channels": in_channels,
        "n_channels": params.n_channels,
        "n_blocks": params.n_blocks,
        "features": tuple(params.features),
        "xy_weight": params.xy_weight,
    }


def _to_cpu(obj):
    if torch.is_tensor(obj):
        return obj.detach().cpu().clone()
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_to_cpu(v) for v in obj]
    return copy.deepcopy(obj)


def _check_inputs(image, scribbles, params):
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[1] < 2 or image.shape[2] < 2:
        raise InputError(f"the image must be float (C, H, W) with H, W >= 2 (see core.image.to_chw); got shape {image.shape}")
    image = np.ascontiguousarray(image, dtype=np.float32)
    scribbles = validate_scribbles(scribbles, image.shape[1:])
    return image, scribbles, checked_classes(scribbles, params)


def checked_classes(scribbles, params: ClusterParams) -> np.ndarray:
    """The scribble classes, refused when there are more than the network has clusters."""
    classes = scribble_classes(scribbles)
    if len(classes) > params.n_channels:
        raise InputError(
            f"{len(classes)} scribble classes need at least as many clusters, but n_channels is "
            f"{params.n_channels}; raise n_channels"
        )
    return classes


def _load_warm_start(warm_start, signature, model, optimizer):
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


def _train(step, stages, params: ClusterParams, k: int, preview, message: str, t0: float, stop):
    """The training loop shared by images and volumes; yields Progress.

    ``stages`` lists ``(input, shape, budget)``; ``step(x, shape)`` runs one iteration and
    returns ``(response, loss)``; ``preview(response)`` makes a small label image.
    Returns ``(n_iter, stopped, reason, response)``.
    """
    min_labels = k if k else params.min_labels
    n_iter, loss_value, n_labels, stopped, reason = 0, None, None, False, ""
    response = previous = None
    for x, shape, budget in stages:
        for i in range(budget):
            if is_stopped(stop):
                stopped = True
                break
            response, loss = step(x, shape)
            n_iter += 1
            last = i == budget - 1
            converged = False
            if n_iter % params.check_every == 0 or n_iter == 1 or last:
                loss_value = float(loss.detach())
                ids = response.detach().argmax(1)
                n_labels = int(torch.unique(ids).numel())
                current = response.detach()[:, :k].argmax(1) if k else ids
                changed = 1.0 if previous is None or previous.shape != current.shape else float((current != previous).float().mean())
                previous = current
                converged = n_iter >= params.min_iter and (
                    n_labels <= min_labels or changed < params.stable_tol
                )
            shown = None
            if n_iter == 1 or n_iter % params.preview_every == 0 or converged:
                shown = preview(response)
            yield Progress(
                n_iter, params.max_iter, "cluster", loss_value, n_labels, shown,
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
    return n_iter, stopped, reason, response


def _stepper(model, optimizer, params: ClusterParams, targets: dict, fmt):
    """One training iteration: ``step(x, shape) -> (response, loss)``."""

    def step(x, shape):
        optimizer.zero_grad(set_to_none=True)
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


def _scribble_targets(index_map: np.ndarray, shapes, dev) -> dict:
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


def _cudnn(dev):
    if dev.type == "cuda":
        return torch.backends.cudnn.flags(enabled=True, benchmark=False, deterministic=True)
    return nullcontext()


def fit(
    image: np.ndarray,
    scribbles: np.ndarray | None = None,
    params: ClusterParams = ClusterParams(),
    *,
    device: str = "auto",
    seed: int = 0,
    stop: threading.Event | None = None,
    warm_start: dict | None = None,
) -> Generator[Progress, None, ClusterResult]:
    """Cluster one image or volume; a generator that yields :class:`Progress` and returns a :class:`ClusterResult`.

    Parameters
    ----------
    image : ndarray
        float32 (C, H, W) in [0, 1], as made by :func:`core.image.to_chw`, or a volume
        (C, Z, H, W): see :func:`core.cluster_volume.fit_volume`.
    scribbles : ndarray or None
        int (H, W) (or (Z, H, W)), 0 = unlabeled, 1..K = classes. Without scribbles the
        clusters themselves are the result (labels 1..n).
    params : ClusterParams
        Settings; ``ClusterParams.preset("paper")`` for the paper's.
    device : str
        "auto", "cpu", "cuda" or "mps".
    seed : int
        Seed of the network's initialisation: same seed, same device, same result.
    stop : threading.Event, optional
        Set it to end early; the result so far is returned with ``stopped=True``.
    warm_start : dict, optional
        ``ClusterResult.state`` of an earlier run on the same image; ignored, with a
        message, when it does not fit.
    """
    if np.ndim(image) == 4:
        from .cluster_volume import fit_volume

        return (yield from fit_volume(image, scribbles, params, device=device, seed=seed, stop=stop,
                                      warm_start=warm_start))
    t0 = time.perf_counter()
    image, scribbles, classes = _check_inputs(image, scribbles, params)
    dev = resolve_device(device)
    seed_everything(seed)
    _, height, width = image.shape
    feats_np = build_features(image, params.features, params.xy_weight)
    feats = torch.from_numpy(feats_np)[None].to(dev)
    size = (max(2, round(height * params.scale)), max(2, round(width * params.scale)))
    coarse = resize_chw(feats, size)
    fmt = torch.channels_last if params.channels_last else torch.contiguous_format
    model = ClusterNet(feats.shape[1], params.n_channels, params.n_blocks).to(dev, memory_format=fmt)
    optimizer = MomentumSGD(model.parameters(), lr=params.lr, momentum=params.momentum)
    signature = _signature(params, image.shape[0], (height, width))
    message = _load_warm_start(warm_start, signature, model, optimizer)
    model.train()

    k = len(classes)
    targets = {}
    if k:
        index_map = np.where(scribbles > 0, np.searchsorted(classes, scribbles) + 1, 0).astype(np.int32)
        targets = _scribble_targets(index_map, {size, (height, width)}, dev)
    labeller = Labeller(classes, params.assign, params.graph_beta)
    refine = params.refine_iter if size != (height, width) else 0
    coarse_budget = max(1, params.max_iter - refine)
    step = _stepper(model, optimizer, params, targets, fmt)
    with _cudnn(dev):
        stages = [(coarse, size, coarse_budget)] + ([(feats, (height, width), refine)] if refine else [])
        n_iter, stopped, reason, response = yield from _train(
            step, stages, params, k, lambda r: labeller.preview(r, params.preview_size), message, t0, stop)
        with torch.no_grad():
            working = response if response is not None else model(coarse.contiguous(memory_format=fmt))
            features = working.detach()[0].float().cpu().numpy()
            if response is None:
                response = model(feats.contiguous(memory_format=fmt))
            elif tuple(response.shape[-2:]) != (height, width):
                if params.upsample == "logits":
                    response = resize_chw(response.detach(), (height, width))
                else:
                    response = model(feats.contiguous(memory_format=fmt))
            colour = feats_np[: feats_np.shape[0] - (2 if "xy" in params.features else 0)]
            labels, clusters, soft, values = labeller.final(response, scribbles if k else None, colour)
    reason = "stopped" if stopped else reason or "max_iter"
    elapsed = time.perf_counter() - t0
    return ClusterResult(labels, clusters, soft, values, n_iter, stopped, elapsed,
                         _state(signature, model, optimizer), reason, features)


def _state(signature: dict, model, optimizer) -> dict:
    return {"signature": signature, "model": _to_cpu(model.state_dict()), "optimizer": _to_cpu(optimizer.state_dict())}
