"""How a region hierarchy is built: :class:`HierarchyParams`, checked once when made.

The boundary strength these options shape is computed by :mod:`core.boundaries`, the
merging by :mod:`core.hierarchy_merge`; :func:`core.hierarchy.build_hierarchy` takes them.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import InputError

METHODS = ("mean", "single", "area", "volume", "ward")
LEAVES = ("segmenter", "watershed")
NORMALIZATIONS = ("max", "scale", "rank")


@dataclass(frozen=True)
class HierarchyParams:
    """How boundary strength and merging are computed.

    Attributes
    ----------
    method : str
        "mean" merges the pair of regions with the lowest mean boundary weight
        (average linkage); "single" uses the lowest boundary weight (single linkage);
        "area" / "volume" are watershed hierarchies by area / volume over the regions;
        "ward" merges by Ward's criterion on the region mean colour.
    sigma : float
        Gaussian blur (pixels) of the image before colour differences.
    color_weight, soft_weight : float
        Weights of the colour difference (CIE Lab units divided by ``color_scale``) and
        of the soft-output difference (half the L1 distance, in [0, 1]).
    color_scale : float
        Lab distance that counts as 1.
    scales : tuple of int
        Box radii (pixels) of the colour contrast: for each edge, the distance between
        the mean colours of the two boxes on either side, gated by the distance between
        the two pixels (radius 0: the pixel distance alone). Several radii are averaged;
        larger boxes see through texture.
    region_weight : float
        Weight of the distance between the mean colours of two adjacent leaves, added to
        their boundary weight ("mean" and the watershed methods).
    min_size : float
        Regions smaller than this fraction of the image are merged away at altitude 0.
    normalize : str
        How altitudes map to [0, 1]: "scale" uses ``a / (a + scale)`` so the same
        threshold means the same contrast on every image; "max" divides by the largest
        altitude; "rank" spreads altitudes evenly (each slider step merges as many
        regions).
    scale : float
        Altitude mapped to 0.5 by the "scale" normalization.
    soft_scales : tuple of float
        Empty: the soft term is the difference of the two pixels' soft vectors. Otherwise
        the soft maps are smoothed by Gaussians of these widths (pixels) first and the
        differences, scaled by sqrt(2 pi) sigma so that a clean change of class gives about
        1 at every scale, are averaged: a multi-scale boundary of the soft output (images
        only; volumes use the plain difference).
    leaves : str
        "segmenter": the leaves are the connected regions of the over-segmentation;
        "watershed": they are the watershed basins of the boundary strength itself (the
        over-segmentation is then not used; the soft output still enters the strength), so
        that every contour of the strength can appear in the UCM, as in gPb-owt-ucm. See
        ``docs/benchmarks/bsds_quality.md`` for the BSDS500 figures of both.
    contour_weight : float
        Weight of the learned contour probability (:mod:`core.contour_net`, fitted on the
        BSDS500 train boundaries) in the strength of each pixel edge: the larger of the two
        pixels' probabilities. 0 (default) leaves it out; 2D images only.
    contour_net : str or None
        Weights file of the contour network; None: the shipped one.
    """

    method: str = "mean"
    sigma: float = 1.0
    color_weight: float = 1.0
    soft_weight: float = 1.0
    color_scale: float = 10.0
    scales: tuple[int, ...] = (1, 3, 6)
    region_weight: float = 0.5
    min_size: float = 0.0
    normalize: str = "scale"
    scale: float = 1.0
    soft_scales: tuple[float, ...] = ()
    leaves: str = "segmenter"
    contour_weight: float = 0.0
    contour_net: str | None = None

    def __post_init__(self):
        if self.method not in METHODS:
            raise InputError(f"unknown hierarchy method {self.method!r}; use one of {', '.join(METHODS)}")
        if self.leaves not in LEAVES:
            raise InputError(f"unknown kind of leaves {self.leaves!r}; use one of {', '.join(LEAVES)}")
        if any(not s > 0 for s in self.soft_scales):
            raise InputError("soft_scales must be positive Gaussian widths")
        if self.leaves == "watershed" and self.method == "ward":
            raise InputError("watershed leaves need a boundary strength; the ward method has none")
        if self.normalize not in NORMALIZATIONS:
            raise InputError(f"unknown normalization {self.normalize!r}; use one of {', '.join(NORMALIZATIONS)}")
        if self.sigma < 0 or self.color_weight < 0 or self.soft_weight < 0 or self.contour_weight < 0:
            raise InputError("sigma, color_weight, soft_weight and contour_weight must be zero or positive")
        if self.color_scale <= 0 or self.scale <= 0:
            raise InputError("color_scale and scale must be positive")
        if not self.scales or any(int(r) != r or r < 0 for r in self.scales):
            raise InputError("scales must be a non-empty list of whole, non-negative radii")
        if self.region_weight < 0 or not 0 <= self.min_size < 1:
            raise InputError("region_weight must be >= 0 and min_size in [0, 1)")
        if self.color_weight == 0 and self.soft_weight == 0 and self.contour_weight == 0:
            raise InputError("color_weight, soft_weight and contour_weight cannot all be zero")


# The learned contour probability on its own watershed leaves, with a quarter of the leaves'
# colour distance (BSDS500 val figures in docs/benchmarks/bsds_quality.md). The segmenter's
# output is not used by it.
LEARNED_CONTOURS = HierarchyParams(
    color_weight=0.0, soft_weight=0.0, contour_weight=1.0, region_weight=0.25, leaves="watershed"
)
