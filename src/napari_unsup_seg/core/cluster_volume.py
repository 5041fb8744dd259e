"""Differentiable feature clustering of a volume (C, Z, H, W) with one 2D network.

Design (issue #13): the network stays the paper's 2D CNN and is shared by every slice,
so one cluster or class means the same on all of them: slices are a batch, and the
network's BatchNorm normalises over the whole batch. It is trained on a few slices (the
scribbled ones first, then evenly spaced others, ``train_slices`` in all): a 256x256x64
volume then trains as fast as a few images. It is then applied once to every slice at its
working scale; those responses are the learned features the scribble walks compare on the
3D grid (:mod:`core.scribble_classes`), and brought to full resolution slice by slice,
their argmax is the volume's clusters.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Generator

import numpy as np
import torch

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
from .cluster_assign import Labeller
from .cluster_net import build_features, resize_chw
from .cluster_params import ClusterParams
from .errors import InputError
from .progress import Progress, resolve_device, seed_everything
from .scribbles import validate_scribbles

# Slices the network is trained on at most (each iteration costs about as many images).
TRAIN_SLICES = 8


def training_slices(n_slices: int, scribbles: np.ndarray | None, count: int = TRAIN_SLICES) -> np.ndarray:
    """Sorted indices of the slices to train on: scribbled slices first, then evenly spaced.

    >>> training_slices(64, None, 4).tolist()
    [0, 21, 42, 63]
    """
    count = min(count, n_slices)
    scribbled = np.flatnonzero(scribbles.reshape(n_slices, -1).any(1)) if scribbles is not None else np.zeros(0, int)
    if scribbled.size >= count:
        return np.unique(scribbled[np.round(np.linspace(0, scribbled.size - 1, count)).astype(int)])
    others = np.setdiff1d(np.arange(n_slices), scribbled)
    fill = others[np.round(np.linspace(0, others.size - 1, count - scribbled.size)).astype(int)]
    return np.unique(np.concatenate([scribbled, fill]))


def _check_volume(image, scribbles, params: ClusterParams):
    image = np.asarray(image)
    if image.ndim != 4 or min(image.shape[1:]) < 1 or min(image.shape[2:]) < 2:
        raise InputError(f"a volume must be float (C, Z, H, W) with H, W >= 2; got shape {image.shape}")
    image = np.ascontiguousarray(image, dtype=np.float32)
    scribbles = validate_scribbles(scribbles, image.shape[1:])
    return image, scribbles, checked_classes(scribbles, params)


def _slice_features(image: np.ndarray, params: ClusterParams) -> np.ndarray:
    """(Z, F, H, W) network input of every slice."""
    return np.stack([build_features(image[:, z], params.features, params.xy_weight) for z in range(image.shape[1])])


def _full_resolution(response: torch.Tensor, shape: tuple[int, int], k: int, classes: np.ndarray):
    """Clusters, labels, soft and label values of every slice from the working-scale response.

    The logits are enlarged one slice at a time, so memory holds one full-size slice of
    them, not the volume's.
    """
    n_z = response.shape[0]
    clusters = np.empty((n_z,) + shape, np.int32)
    anchor = np.empty((k, n_z) + shape, np.float32) if k else None
    for z in range(n_z):
        big = resize_chw(response[z : z + 1], shape)[0]
        clusters[z] = big.argmax(0).cpu().numpy()
        if k:
            anchor[:, z] = torch.softmax(big[:k], 0).cpu().numpy()
    if k:
        return clusters, classes[anchor.argmax(0)].astype(np.int32), anchor, classes.copy()
    used, inverse = np.unique(clusters, return_inverse=True)
    labels = (inverse.reshape(clusters.shape) + 1).astype(np.int32)
    soft = np.empty((len(used), n_z) + shape, np.float32)
    index = torch.as_tensor(used, device=response.device)
    for z in range(n_z):
        big = resize_chw(response[z : z + 1], shape)[0]
        soft[:, z] = torch.softmax(big[index], 0).cpu().numpy()
    return clusters, labels, soft, np.arange(1, len(used) + 1, dtype=np.int32)


def fit_volume(
    image: np.ndarray,
    scribbles: np.ndarray | None = None,
    params: ClusterParams = ClusterParams(),
    *,
    device: str = "auto",
    seed: int = 0,
    stop: threading.Event | None = None,
    warm_start: dict | None = None,
    train_slices: int = TRAIN_SLICES,
) -> Generator[Progress, None, ClusterResult]:
    """Cluster a volume (C, Z, H, W); the arguments are those of :func:`core.cluster.fit`.

    Scribbles are (Z, H, W). The result's arrays are volumes: labels and clusters
    (Z, H, W), soft (L, Z, H, W), features (q, Z, h, w). ``refine_iter``, ``upsample`` and
    ``assign`` do not apply: the logits are enlarged and scribble classes are the anchors
    (scribble runs decide classes by the walks anyway).
    """
    t0 = time.perf_counter()
    image, scribbles, classes = _check_volume(image, scribbles, params)
    dev = resolve_device(device)
    seed_everything(seed)
    _, n_z, height, width = image.shape
    feats = torch.from_numpy(_slice_features(image, params)).to(dev)
    size = working_size(height, width, params.scale)
    chosen = training_slices(n_z, scribbles, train_slices)
    signature = network_signature(params, image.shape[0], (n_z, height, width))
    model, optimizer, fmt, message = start_network(params, feats.shape[1], signature, dev, warm_start)
    k = len(classes)
    targets = scribble_targets(class_indices(scribbles, classes)[chosen], {size}, dev) if k else {}
    labeller = Labeller(classes, "anchor")
    middle = len(chosen) // 2
    with cudnn_for(dev):
        train_input = resize_chw(feats[torch.as_tensor(chosen, device=dev)], size)
        n_iter, stopped, reason, _ = yield from train(
            stepper(model, optimizer, params, targets, fmt, stop),
            [(train_input, size, params.max_iter)],
            params,
            k,
            lambda r: labeller.preview(r[middle : middle + 1], params.preview_size),
            message,
            t0,
            stop,
        )
        with torch.no_grad():
            response = model(resize_chw(feats, size).contiguous(memory_format=fmt)).detach().float()
            features = np.ascontiguousarray(response.cpu().numpy().transpose(1, 0, 2, 3))
            clusters, labels, soft, values = _full_resolution(response, (height, width), k, classes)
    if k:
        keep = scribbles > 0
        labels[keep] = scribbles[keep]
    state, elapsed = model_state(signature, model, optimizer), time.perf_counter() - t0
    return ClusterResult(labels, clusters, soft, values, n_iter, stopped, elapsed, state, reason, features)
