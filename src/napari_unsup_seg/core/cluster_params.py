"""Parameters of differentiable feature clustering (Kanezaki, IEEE TIP 2020).

Two presets: ``"paper"`` reproduces the paper's reference code (q = 100 channels,
M = 2 blocks, full resolution, SGD lr 0.1, up to 1000 iterations) and ``"fast"``
(the defaults) is tuned to run at the screen: a smaller network (q = 32) trained at
half resolution, the label count checked only every few iterations, an early stop once
the labels no longer change, and scribble classes given to the clusters by a random
walk on the graph of cluster regions (``assign="graph"``) instead of the anchors.
docs/benchmarks/clustering.md has the measurements behind these choices.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .errors import InputError

FEATURES = ("image", "lab", "xy")
ASSIGN_MODES = ("anchor", "vote", "graph")
UPSAMPLE_MODES = ("net", "logits")
PRESETS: tuple[str, ...] = ("fast", "paper")

# Iterations at most with scribbles (the scribbles' walks decide the classes; the network
# only learns features for them): core.scribble_classes.PropagationParams.cluster_iter.
SCRIBBLE_MAX_ITER = 20


@dataclass(frozen=True)
class ClusterParams:
    """Settings of one clustering run; the defaults are the ``"fast"`` preset.

    Attributes
    ----------
    n_channels : int
        q, number of feature channels = maximum number of clusters (paper: 100).
    n_blocks : int
        M, number of 3x3 conv -> ReLU -> BN blocks before the 1x1 conv (paper: 2).
    lr, momentum : float
        SGD settings (paper: 0.1, 0.9).
    w_similarity, w_continuity, w_scribble : float
        Loss weights: cross-entropy to the argmax pseudo-labels, L1 of the vertical
        and horizontal response differences, cross-entropy on the scribbled pixels.
    min_labels : int
        Without scribbles, stop once at most this many clusters remain. With
        scribbles the threshold is the number of scribble classes.
    max_iter : int
        Maximum number of iterations (coarse and full-resolution ones together).
    time_budget : float or None
        Stop after this many seconds (None: no limit).
    features : tuple of str
        Network input: ``"image"`` (the channels as given), ``"lab"`` (CIE Lab of
        3-channel images; ignored otherwise), ``"xy"`` (normalised coordinates).
    xy_weight : float
        Scale of the coordinate channels (0..xy_weight).
    scale : float
        Working scale: the network is trained on the image resized by this factor;
        the logits are then brought back to full resolution (see ``refine_iter``).
    refine_iter : int
        Full-resolution iterations run after the coarse stage (0: the trained network
        is applied once at full resolution).
    check_every : int
        Count the labels (a host synchronisation) only every this many iterations.
    stable_tol : float
        Early stop: end when, between two checks, fewer than this fraction of pixels
        changed label (scribble mode: class; otherwise: cluster). 0 disables it.
    min_iter : int
        No early stop (label count or stability) before this many iterations.
    upsample : str
        How a network trained at ``scale`` < 1 gives full-resolution output: ``"net"``
        (run it once on the full-resolution input) or ``"logits"`` (bilinear
        upsampling of the working-scale response).
    preview_every : int
        Attach a small preview label image to every this many-th progress event
        (the first iteration always carries one).
    preview_size : int
        Longest side of the previews, in pixels.
    assign : str
        Scribble mode, how clusters become classes: ``"anchor"`` (cluster k is tied to
        class k by the scribble loss; every pixel takes the class whose anchor logit is
        highest: the paper's code), ``"vote"`` (each cluster takes the majority class of
        the scribbles it holds, the others fall back to anchors) or ``"graph"`` (regions
        of one cluster that hold scribbles take their class; the others follow a random
        walk on the region adjacency graph). See :mod:`core.cluster_assign`.
    graph_beta : float
        Colour sensitivity of the ``"graph"`` edges (higher: colour edges cut harder).
    channels_last : bool
        Use torch's channels-last memory format (faster convolutions on some CPUs).
    """

    n_channels: int = 32
    n_blocks: int = 2
    lr: float = 0.1
    momentum: float = 0.9
    w_similarity: float = 1.0
    w_continuity: float = 1.0
    w_scribble: float = 0.5
    min_labels: int = 3
    max_iter: int = 150
    time_budget: float | None = None  # a limit would make results depend on the machine's load
    features: tuple[str, ...] = ("image",)
    xy_weight: float = 1.0
    scale: float = 0.5
    refine_iter: int = 0
    check_every: int = 5
    stable_tol: float = 0.002
    min_iter: int = 10
    upsample: str = "net"
    preview_every: int = 10
    preview_size: int = 128
    assign: str = "graph"
    graph_beta: float = 4.0
    channels_last: bool = False

    def __post_init__(self) -> None:
        problems = []
        if self.n_channels < 2:
            problems.append("n_channels must be at least 2")
        if self.n_blocks < 1:
            problems.append("n_blocks must be at least 1")
        if self.lr <= 0:
            problems.append("lr must be positive")
        if not 0 <= self.momentum < 1:
            problems.append("momentum must be in [0, 1)")
        if min(self.w_similarity, self.w_continuity, self.w_scribble) < 0:
            problems.append("loss weights must not be negative")
        if self.min_labels < 1:
            problems.append("min_labels must be at least 1")
        if self.max_iter < 1:
            problems.append("max_iter must be at least 1")
        if self.time_budget is not None and self.time_budget <= 0:
            problems.append("time_budget must be positive (or None for no limit)")
        unknown = [f for f in self.features if f not in FEATURES]
        if unknown or "image" not in self.features:
            problems.append(f"features must include 'image' and come from {FEATURES}")
        if not 0 < self.scale <= 1:
            problems.append("scale must be in (0, 1]")
        if self.refine_iter < 0:
            problems.append("refine_iter must not be negative")
        if self.check_every < 1 or self.preview_every < 1 or self.preview_size < 8:
            problems.append("check_every and preview_every must be >= 1, preview_size >= 8")
        if not 0 <= self.stable_tol < 1 or self.min_iter < 0:
            problems.append("stable_tol must be in [0, 1) and min_iter >= 0")
        if self.upsample not in UPSAMPLE_MODES:
            problems.append(f"upsample must be one of {UPSAMPLE_MODES}")
        if self.assign not in ASSIGN_MODES:
            problems.append(f"assign must be one of {ASSIGN_MODES}")
        if problems:
            raise InputError("invalid clustering parameters: " + "; ".join(problems))

    @classmethod
    def preset(cls, name: str) -> ClusterParams:
        """Return a named preset: ``"fast"`` (the defaults) or ``"paper"``."""
        if name == "fast":
            return cls()
        if name == "paper":
            return cls(
                n_channels=100,
                n_blocks=2,
                max_iter=1000,
                time_budget=None,
                features=("image",),
                scale=1.0,
                refine_iter=0,
                check_every=1,
                stable_tol=0.0,
                min_iter=0,
                preview_every=10,
                assign="anchor",
            )
        raise InputError(f"unknown clustering preset {name!r}; choose one of {', '.join(PRESETS)}")

    def replace(self, **changes) -> ClusterParams:
        """Return a copy with some fields changed (validated again)."""
        return replace(self, **changes)
