"""Soft normalized-cut loss of the W-Net paper (Xia & Kulis 2017, eq. 3).

For soft class maps ``p_k`` (a softmax over K classes) the loss is::

    J = K - sum_k  sum_{u,v} w(u,v) p_k(u) p_k(v)  /  sum_u p_k(u) sum_v w(u,v)

with ``w(u,v) = exp(-|F(u)-F(v)|**2 / sigma_i**2) * exp(-|X(u)-X(v)|**2 / sigma_x**2)``
when the pixel distance ``|X(u)-X(v)| < radius`` and 0 otherwise.

Scale of F: as in the paper, ``F`` is the brightness, here the mean of the
image channels on the 0..255 scale (images come in as [0, 1] and are multiplied
by 255), so the paper's ``sigma_i = 10`` means "about 10 grey levels".

:func:`soft_ncut_loss` is exact within the radius with memory linear in the
number of pixels: the affinity is a sum over the ~``pi * radius**2`` offsets of
shifted-window products. Because ``W`` is symmetric, the gradient of
``p^T W p`` is ``2 W p``; the neighbour sums ``W p`` are therefore computed once
without autograd and the gradient is supplied through that identity, so no
per-offset intermediate is kept for the backward pass.
:func:`dense_soft_ncut_loss` builds the full N x N matrix and is for tests only.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F


def _check(image: torch.Tensor, soft: torch.Tensor) -> None:
    if image.ndim != 4 or soft.ndim != 4:
        raise ValueError("image and soft must be (N, C, H, W) and (N, K, H, W) tensors")
    if image.shape[0] != soft.shape[0] or image.shape[-2:] != soft.shape[-2:]:
        raise ValueError(f"image {tuple(image.shape)} and soft {tuple(soft.shape)} do not match")


def brightness(image: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W) brightness on the 0..255 scale from a [0, 1] image."""
    return image.mean(dim=1, keepdim=True) * 255.0


def neighbour_offsets(radius: float) -> list[tuple[int, int]]:
    """All (dy, dx) with ``dy**2 + dx**2 < radius**2`` (the centre included)."""
    r = int(math.ceil(radius))
    return [(dy, dx) for dy in range(-r, r + 1) for dx in range(-r, r + 1) if dy * dy + dx * dx < radius * radius]


@torch.no_grad()
def _neighbour_sums(
    bright: torch.Tensor, soft: torch.Tensor, sigma_i: float, sigma_x: float, radius: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(W p, W 1)``: per-pixel weighted sums over the neighbourhood."""
    n, _, h, w = bright.shape
    pad = int(math.ceil(radius))
    # Pixels outside the image get NaN brightness and are masked to weight 0.
    bpad = F.pad(bright, (pad, pad, pad, pad), value=float("nan"))
    ppad = F.pad(soft, (pad, pad, pad, pad))
    wp = torch.zeros_like(soft)
    degree = torch.zeros_like(bright)
    for dy, dx in neighbour_offsets(radius):
        nb = bpad[:, :, pad + dy : pad + dy + h, pad + dx : pad + dx + w]
        weight = torch.exp(-((bright - nb) ** 2) / sigma_i**2) * math.exp(-(dy * dy + dx * dx) / sigma_x**2)
        weight = torch.nan_to_num(weight, nan=0.0)
        degree += weight
        wp.addcmul_(weight, ppad[:, :, pad + dy : pad + dy + h, pad + dx : pad + dx + w])
    return wp, degree


def soft_ncut_loss(
    image: torch.Tensor,
    soft: torch.Tensor,
    sigma_i: float = 10.0,
    sigma_x: float = 4.0,
    radius: float = 5,
) -> torch.Tensor:
    """Soft N-cut loss, averaged over the batch.

    Parameters
    ----------
    image : (N, C, H, W) tensor in [0, 1]
        The input; its brightness (channel mean x 255) defines the affinities.
    soft : (N, K, H, W) tensor
        Soft class maps summing to 1 over K (the encoder output).
    sigma_i, sigma_x, radius : float
        The paper's intensity and spatial scales and neighbourhood radius.

    Returns
    -------
    torch scalar in [0, K - 1]; differentiable with respect to ``soft``.
    """
    _check(image, soft)
    bright = brightness(image.detach().to(soft.dtype))
    wp, degree = _neighbour_sums(bright, soft.detach(), sigma_i, sigma_x, radius)
    # value: sum p*Wp; gradient: 2*Wp (W is symmetric), see the module docstring.
    assoc = 2.0 * (soft * wp).sum(dim=(2, 3)) - (soft.detach() * wp).sum(dim=(2, 3))
    volume = (soft * degree).sum(dim=(2, 3))
    ratio = assoc / volume.clamp_min(1e-12)
    return (soft.shape[1] - ratio.sum(dim=1)).mean()


def dense_soft_ncut_loss(
    image: torch.Tensor,
    soft: torch.Tensor,
    sigma_i: float = 10.0,
    sigma_x: float = 4.0,
    radius: float = 5,
) -> torch.Tensor:
    """Reference implementation with the full N x N affinity matrix (tiny images only)."""
    _check(image, soft)
    n, k, h, w = soft.shape
    bright = brightness(image.detach().to(soft.dtype)).reshape(n, h * w)
    yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    coords = torch.stack([yy.reshape(-1), xx.reshape(-1)], dim=1).to(soft.dtype)
    dist2 = ((coords[:, None, :] - coords[None, :, :]) ** 2).sum(-1)
    spatial = torch.exp(-dist2 / sigma_x**2) * (dist2 < radius**2)
    weights = torch.exp(-((bright[:, :, None] - bright[:, None, :]) ** 2) / sigma_i**2) * spatial
    p = soft.reshape(n, k, h * w)
    assoc = torch.einsum("nku,nuv,nkv->nk", p, weights, p)
    volume = torch.einsum("nku,nu->nk", p, weights.sum(-1))
    return (k - (assoc / volume).sum(dim=1)).mean()
