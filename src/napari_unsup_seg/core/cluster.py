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

import threading
import time
from collections.abc import Generator

import numpy as np
import torch

from .cluster_assign import Labeller
from .cluster_net import build_features, resize_chw
from .cluster_params import PRESETS, ClusterParams
from .cluster_training import (
    ClusterResult,
    checked_classes,
    class_indices,
    cudnn_for,
    model_state,
    network_signature,
    scribble_targets,
    start_network,
    stepper,
    train,
    working_size,
)
from .errors import InputError
from .progress import Progress, resolve_device, seed_everything
from .scribbles import validate_scribbles

__all__ = ["PRESETS", "ClusterParams", "ClusterResult", "fit"]


def _check_inputs(image, scribbles, params):
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[1] < 2 or image.shape[2] < 2:
        raise InputError(
            f"the image must be float (C, H, W) with H, W >= 2 (see core.image.to_chw); got shape {image.shape}"
        )
    image = np.ascontiguousarray(image, dtype=np.float32)
    scribbles = validate_scribbles(scribbles, image.shape[1:])
    return image, scribbles, checked_classes(scribbles, params)


def _final_response(model, response, coarse, feats, fmt, params: ClusterParams):
    """``(response at full resolution, features at the working one)`` after training.

    ``response``: the last training step's (None when no step ran). Under ``torch.no_grad``.
    """
    full = tuple(feats.shape[-2:])
    working = response if response is not None else model(coarse.contiguous(memory_format=fmt))
    features = working.detach()[0].float().cpu().numpy()
    if response is None:
        response = model(feats.contiguous(memory_format=fmt))
    elif tuple(response.shape[-2:]) != full:
        if params.upsample == "logits":
            response = resize_chw(response.detach(), full)
        else:
            response = model(feats.contiguous(memory_format=fmt))
    return response, features


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

        return (
            yield from fit_volume(image, scribbles, params, device=device, seed=seed, stop=stop, warm_start=warm_start)
        )
    t0 = time.perf_counter()
    image, scribbles, classes = _check_inputs(image, scribbles, params)
    dev = resolve_device(device)
    seed_everything(seed)
    _, height, width = image.shape
    feats_np = build_features(image, params.features, params.xy_weight)
    feats = torch.from_numpy(feats_np)[None].to(dev)
    size = working_size(height, width, params.scale)
    coarse = resize_chw(feats, size)
    signature = network_signature(params, image.shape[0], (height, width))
    model, optimizer, fmt, message = start_network(params, feats.shape[1], signature, dev, warm_start)
    k = len(classes)
    targets = scribble_targets(class_indices(scribbles, classes), {size, (height, width)}, dev) if k else {}
    labeller = Labeller(classes, params.assign, params.graph_beta)
    refine = params.refine_iter if size != (height, width) else 0
    coarse_budget = max(1, params.max_iter - refine)
    step = stepper(model, optimizer, params, targets, fmt, stop)
    with cudnn_for(dev):
        stages = [(coarse, size, coarse_budget)] + ([(feats, (height, width), refine)] if refine else [])
        n_iter, stopped, reason, response = yield from train(
            step, stages, params, k, lambda r: labeller.preview(r, params.preview_size), message, t0, stop
        )
        with torch.no_grad():
            response, features = _final_response(model, response, coarse, feats, fmt, params)
            colour = feats_np[: feats_np.shape[0] - (2 if "xy" in params.features else 0)]
            labels, clusters, soft, values = labeller.final(response, scribbles if k else None, colour)
    state = model_state(signature, model, optimizer)
    elapsed = time.perf_counter() - t0
    return ClusterResult(labels, clusters, soft, values, n_iter, stopped, elapsed, state, reason, features)
