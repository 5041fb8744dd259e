"""Dense CRF refinement of soft segmentations (Krähenbühl & Koltun, NIPS 2011).

The unary term is ``-log p`` of the segmenter's soft output; two Potts pairwise terms
smooth it: a Gaussian kernel on pixel positions (removes isolated pixels) and a
bilateral kernel on positions and intensities (snaps boundaries to image edges). Any
number of channels is supported: every channel enters the bilateral kernel.

Uses the maintained ``pydensecrf2`` fork (``import pydensecrf.densecrf``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InputError

__all__ = ["CRFParams", "refine"]

_EPS = 1e-6


@dataclass(frozen=True)
class CRFParams:
    """Dense CRF settings (measured defaults: see ``docs/benchmarks/postprocess.md``).

    Attributes
    ----------
    n_iter : int
        Mean-field iterations.
    gaussian_sxy, gaussian_compat : float
        Spatial width (pixels) and weight of the smoothness kernel.
    bilateral_sxy, bilateral_schan, bilateral_compat : float
        Spatial width (pixels), intensity width (on a 0-255 scale, for every channel)
        and weight of the appearance kernel.
    """

    n_iter: int = 5
    gaussian_sxy: float = 3.0
    gaussian_compat: float = 3.0
    bilateral_sxy: float = 50.0
    bilateral_schan: float = 10.0
    bilateral_compat: float = 5.0

    def __post_init__(self):
        if self.n_iter < 0:
            raise InputError("the CRF needs n_iter >= 0")
        if min(self.gaussian_sxy, self.bilateral_sxy, self.bilateral_schan) <= 0:
            raise InputError("CRF kernel widths (sxy, schan) must be positive")
        if min(self.gaussian_compat, self.bilateral_compat) < 0:
            raise InputError("CRF kernel weights (compat) must not be negative")


def _check(image: np.ndarray, soft: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    image = np.asarray(image, np.float32)
    if image.ndim == 2:
        image = image[None]
    soft = np.asarray(soft, np.float32)
    if image.ndim != 3:
        raise InputError(f"the image must be (C, H, W); got shape {image.shape}")
    if soft.ndim != 3 or soft.shape[1:] != image.shape[1:]:
        raise InputError(f"the soft output must be (L, H, W) with H, W = {image.shape[1:]}; got shape {soft.shape}")
    if not np.all(np.isfinite(soft)) or soft.min() < 0:
        raise InputError("the soft output must hold finite, non-negative probabilities")
    if not np.all(np.isfinite(image)):
        raise InputError("the image holds NaN or infinite values")
    return image, soft


def refine(image: np.ndarray, soft: np.ndarray, params: CRFParams = CRFParams()) -> np.ndarray:
    """Refine soft label probabilities with a fully connected CRF.

    Parameters
    ----------
    image : (C, H, W) float32 in [0, 1]
        Any number of channels (grayscale, RGB, multichannel microscopy).
    soft : (L, H, W) float
        Per-pixel probabilities of L labels (normalised here if they do not sum to 1).
    params : CRFParams

    Returns
    -------
    (L, H, W) float32
        Marginals after ``params.n_iter`` mean-field iterations; with L == 1 the input
        is returned unchanged.

    Examples
    --------
    >>> img = np.zeros((1, 8, 8), np.float32); img[:, :, 4:] = 1
    >>> p = np.full((2, 8, 8), 0.5, np.float32); p[0, :, :2] = 0.9; p[1, :, :2] = 0.1
    >>> refine(img, p).shape
    (2, 8, 8)
    """
    image, soft = _check(image, soft)
    n_labels, height, width = soft.shape
    if n_labels == 1:
        return soft
    import pydensecrf.densecrf as dcrf
    from pydensecrf.utils import create_pairwise_bilateral, create_pairwise_gaussian

    n = height * width
    prob = soft.reshape(n_labels, n)
    prob = prob / np.maximum(prob.sum(0, keepdims=True), _EPS)
    unary = np.ascontiguousarray(-np.log(np.clip(prob, _EPS, 1.0)), np.float32)

    crf = dcrf.DenseCRF(n, n_labels)
    crf.setUnaryEnergy(unary)
    if params.gaussian_compat > 0:
        feats = create_pairwise_gaussian((params.gaussian_sxy, params.gaussian_sxy), (height, width))
        crf.addPairwiseEnergy(np.ascontiguousarray(feats, np.float32), compat=float(params.gaussian_compat))
    if params.bilateral_compat > 0:
        channels = image.shape[0]
        feats = create_pairwise_bilateral(
            sdims=(params.bilateral_sxy, params.bilateral_sxy),
            schan=(params.bilateral_schan,) * channels,
            img=np.moveaxis(image, 0, -1) * np.float32(255.0),
            chdim=2,
        )
        crf.addPairwiseEnergy(np.ascontiguousarray(feats, np.float32), compat=float(params.bilateral_compat))
    marginals = np.asarray(crf.inference(int(params.n_iter)), np.float32)
    return marginals.reshape(n_labels, height, width)
