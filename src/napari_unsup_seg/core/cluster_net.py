"""Network, loss terms and input features of differentiable feature clustering.

The network follows Kanezaki's reference code: M blocks of 3x3 conv -> ReLU -> BN,
then a 1x1 conv to q channels -> BN. BatchNorm stays in training mode (batch
statistics of the one image), as in the paper.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class ClusterNet(nn.Module):
    """M x (3x3 conv, ReLU, BN) then 1x1 conv, BN; q output channels."""

    def __init__(self, in_channels: int, n_channels: int, n_blocks: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = in_channels
        for _ in range(n_blocks):
            layers += [nn.Conv2d(c_in, n_channels, 3, padding=1), nn.ReLU(inplace=True), nn.BatchNorm2d(n_channels)]
            c_in = n_channels
        layers += [nn.Conv2d(n_channels, n_channels, 1), nn.BatchNorm2d(n_channels)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def continuity_loss(response: torch.Tensor) -> torch.Tensor:
    """Mean L1 of vertical plus mean L1 of horizontal differences of a (N, q, H, W) map."""
    zero = response.new_zeros(())
    dy = (response[..., 1:, :] - response[..., :-1, :]).abs().mean() if response.shape[-2] > 1 else zero
    dx = (response[..., :, 1:] - response[..., :, :-1]).abs().mean() if response.shape[-1] > 1 else zero
    return dy + dx


def similarity_loss(response: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Cross-entropy of the (N, q, H, W) response to its own argmax (optionally on ``mask``)."""
    target = response.detach().argmax(1)
    if mask is None:
        return F.cross_entropy(response, target)
    return masked_cross_entropy(response, target, mask)


def masked_cross_entropy(response: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the pixels where ``mask`` (N, H, W bool) is set; 0 if none."""
    per_pixel = F.cross_entropy(response, target, reduction="none")
    count = mask.sum()
    return (per_pixel * mask).sum() / count.clamp(min=1)


def total_loss(
    response: torch.Tensor,
    *,
    w_similarity: float,
    w_continuity: float,
    w_scribble: float = 0.0,
    scribble_target: torch.Tensor | None = None,
    scribble_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """The paper's loss; with scribbles the similarity term covers unscribbled pixels only."""
    if scribble_mask is None:
        loss = w_similarity * similarity_loss(response)
    else:
        loss = w_similarity * similarity_loss(response, ~scribble_mask)
        loss = loss + w_scribble * masked_cross_entropy(response, scribble_target, scribble_mask)
    return loss + w_continuity * continuity_loss(response)


def build_features(image: np.ndarray, features: tuple[str, ...], xy_weight: float) -> np.ndarray:
    """Stack the network's input channels for a float32 (C, H, W) image in [0, 1]."""
    chans = [image]
    _, h, w = image.shape
    if "lab" in features and image.shape[0] == 3:
        from skimage.color import rgb2lab

        lab = rgb2lab(np.moveaxis(image, 0, -1)).astype(np.float32)
        lab = np.moveaxis(lab, -1, 0)
        lab[0] /= 100.0
        lab[1:] = lab[1:] / 256.0 + 0.5
        chans.append(lab)
    if "xy" in features:
        yy, xx = np.meshgrid(
            np.linspace(0, 1, h, dtype=np.float32), np.linspace(0, 1, w, dtype=np.float32), indexing="ij"
        )
        # keep the aspect ratio: the longer side spans [0, xy_weight]
        side = max(h, w)
        chans.append(np.stack([yy * (h / side), xx * (w / side)]) * xy_weight)
    return np.ascontiguousarray(np.concatenate(chans, axis=0), dtype=np.float32)


def resize_chw(array: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear (antialiased when shrinking) resize of a (N, C, H, W) tensor."""
    if tuple(array.shape[-2:]) == tuple(size):
        return array
    shrink = size[0] < array.shape[-2] or size[1] < array.shape[-1]
    return F.interpolate(array, size=size, mode="bilinear", align_corners=False, antialias=shrink)


def resize_scribbles(scribbles: np.ndarray, size: tuple[int, ...]) -> np.ndarray:
    """Nearest-neighbour resize of an int label map (2D or 3D) that keeps thin strokes alive.

    Each coarse pixel takes the most frequent non-zero class of the fine pixels that
    fall in it, so a 1-pixel stroke survives a 1/4 downscale.
    """
    shape = scribbles.shape
    size = tuple(size)
    if shape == size:
        return scribbles
    coords = np.nonzero(scribbles)
    out = np.zeros(size, np.int32)
    if coords[0].size == 0:
        return out
    values, cls = np.unique(scribbles[coords], return_inverse=True)  # votes per class index, not value
    small = [np.minimum((c * m) // n, m - 1) for c, n, m in zip(coords, shape, size)]
    cell = np.ravel_multi_index(small, size)
    n_cls = len(values)
    votes = np.bincount(cell * n_cls + cls.ravel(), minlength=int(np.prod(size)) * n_cls).reshape(-1, n_cls)
    has = votes.sum(1) > 0
    out.reshape(-1)[has] = values[votes[has].argmax(1)]
    return out
