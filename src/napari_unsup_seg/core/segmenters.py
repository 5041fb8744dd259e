"""The segmenters behind :func:`core.pipeline.segment`, each answering one interface.

A segmenter turns a float32 image (C, H, W) or volume (C, Z, H, W), with or without
scribbles, into labels, soft probabilities, leaves for the hierarchy and the features the
scribble walk compares. It runs as a generator of :class:`~.progress.Progress`.
:data:`SEGMENTERS` maps the method names of ``SegmentParams.method`` to them. A new
segmenter is a class with ``check``, ``hierarchy`` and ``run`` added there, plus its parameters in
``SegmentParams``.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

from .errors import InputError
from .hierarchy_params import LEARNED_CONTOURS, HierarchyParams
from .progress import Progress, ProgressGen, resolve_device

if TYPE_CHECKING:
    from .pipeline import SegmentParams


@dataclass(frozen=True)
class SegmenterOutput:
    """What a segmenter gives the pipeline.

    ``labels`` (H, W) or (Z, H, W) int32; ``soft`` (L, ...) float32, ``soft[k]`` the
    probability of ``label_values[k]``; ``overseg`` the regions the hierarchy starts from;
    ``state`` what warm-starts a later run on the same image (None: nothing); ``info`` goes
    into the recipe; ``features`` (F, h, w...) the response the scribble walk compares.
    """

    labels: np.ndarray
    soft: np.ndarray
    label_values: np.ndarray
    overseg: np.ndarray
    stopped: bool
    state: dict | None = None
    info: dict = field(default_factory=dict)
    features: np.ndarray | None = None


class Segmenter(Protocol):
    label: str  # what a person picks it by in the widget

    def check(self, params: SegmentParams) -> None:
        """Raise :class:`InputError` for what is wrong before any image is read (device, files)."""

    def hierarchy(self, image: np.ndarray, scribbles: np.ndarray | None) -> HierarchyParams:
        """How its output of ``image`` (C, *shape) is merged when the run's parameters do not say."""

    def run(
        self,
        image: np.ndarray,
        scribbles: np.ndarray | None,
        params: SegmentParams,
        stop: threading.Event | None,
        warm_start: dict | None,
    ) -> ProgressGen[SegmenterOutput]:
        """Yield progress; return the :class:`SegmenterOutput` of ``image``."""


class ClusterSegmenter:
    """Differentiable feature clustering (:mod:`core.cluster`), images and volumes."""

    label = "Clustering"

    def check(self, params: SegmentParams) -> None:
        resolve_device(params.device)

    def hierarchy(self, image, scribbles) -> HierarchyParams:
        return HierarchyParams()

    def run(self, image, scribbles, params, stop, warm_start):
        from . import cluster

        cparams = params.cluster
        if scribbles is not None:
            # the walk needs features at its coarse scale only: no need to train at a finer one
            coarse = params.propagation.max_side / max(image.shape[1:])
            cparams = cparams.replace(
                assign="anchor",
                max_iter=min(cparams.max_iter, params.propagation.cluster_iter),
                scale=min(cparams.scale, max(coarse, 0.05)),
            )
        res = yield from cluster.fit(
            image, scribbles, cparams, device=params.device, seed=params.seed, stop=stop, warm_start=warm_start
        )
        info = {"n_iter": res.n_iter, "segmenter_seconds": round(res.elapsed, 3), "stop_reason": res.stop_reason}
        return SegmenterOutput(
            res.labels, res.soft, res.label_values, res.clusters, res.stopped, res.state, info, res.features
        )


class WNetSegmenter:
    """The pretrained W-Net (:mod:`core.wnet`); a volume slice by slice with one model."""

    label = "W-Net"

    def check(self, params: SegmentParams) -> None:
        from .wnet import load_model

        load_model(params.wnet.weights, resolve_device(params.device))

    def hierarchy(self, image, scribbles) -> HierarchyParams:
        # measured on BSDS500 val for photos without scribbles (docs/benchmarks/bsds_quality.md)
        return LEARNED_CONTOURS if image.ndim == 3 and scribbles is None else HierarchyParams()

    def run(self, image, scribbles, params, stop, warm_start):
        from . import wnet

        if image.ndim == 4:
            labels, soft, stopped, elapsed, digest = yield from _wnet_volume(image, params, stop)
        else:
            res = yield from wnet.predict(image, params.wnet, device=params.device, seed=params.seed, stop=stop)
            labels, soft, stopped, elapsed, digest = res.labels, res.soft, res.stopped, res.elapsed, res.weights_sha256
        values = np.arange(1, soft.shape[0] + 1, dtype=np.int32)
        info = {"segmenter_seconds": round(elapsed, 3), "weights_sha256": digest}
        return SegmenterOutput(labels, soft, values, labels, stopped, None, info, soft)


def _wnet_volume(image, params: SegmentParams, stop):
    """The W-Net on every slice of a (C, Z, H, W) volume, with one model: classes agree across slices."""
    from . import wnet
    from .wnet.infer import load_model

    wparams = params.wnet
    if wparams.adapt_steps:
        yield Progress(
            0, 1, stage="wnet", message="W-Net adaptation works on single images: the volume uses the weights unchanged"
        )
        wparams = dataclasses.replace(wparams, adapt_steps=0)
    model = load_model(wparams.weights, resolve_device(params.device))
    results, n_z = [], image.shape[1]
    for z in range(n_z):
        res = yield from wnet.predict(
            image[:, z], wparams, device=params.device, seed=params.seed, stop=stop, model=model
        )
        results.append(res)
        yield Progress(z + 1, n_z, stage="wnet", message=f"slice {z + 1}/{n_z}")
        if res.stopped or (stop is not None and stop.is_set()):
            break
    soft = np.stack([r.soft for r in results], axis=1)
    if len(results) < n_z:  # stopped: the slices not reached keep a uniform soft output
        missing = np.full((soft.shape[0], n_z - len(results)) + soft.shape[2:], 1.0 / soft.shape[0], np.float32)
        soft = np.concatenate([soft, missing], axis=1)
    labels = (np.argmax(soft, axis=0) + 1).astype(np.int32)
    elapsed = sum(r.elapsed for r in results)
    return labels, soft, len(results) < n_z, elapsed, results[0].weights_sha256 if results else ""


SEGMENTERS: dict[str, Segmenter] = {"cluster": ClusterSegmenter(), "wnet": WNetSegmenter()}


def segmenter(method: str) -> Segmenter:
    """The segmenter named ``method`` (a key of :data:`SEGMENTERS`)."""
    try:
        return SEGMENTERS[method]
    except KeyError:
        raise InputError(f"unknown method {method!r}; choose one of {', '.join(SEGMENTERS)}") from None
