"""A small learned contour detector (boundary probability per pixel), fitted on BSDS500 train.

The network is a four-level encoder-decoder of 3x3 convolutions (16 to 96 channels, about
0.5 M parameters) on the image's RGB and CIE Lab channels; each decoder level has a side
output and the fused 1x1 combination of all four is the prediction (deeply supervised, as in
HED). It is trained from scratch on the 200 BSDS500 train images by
``scripts/train_contours.py`` (class-balanced cross-entropy on the annotators' consensus
boundaries, flips, right-angle rotations and rescaling), then twice more from its previous
weights at lower learning rates (the lineage is in the file's ``meta``); the val images chose
the settings and the weights. No test image was used.

A weights file is a ``torch.save`` of a plain dict loaded with ``weights_only=True`` (no
pickle of code)::

    {"format": "napari-unsup-seg/contours", "version": 1, "config": {"width": 16},
     "state_dict": {...}, "meta": {...}}

next to a ``<file>.sha256`` sidecar, as for the W-Net weights.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .errors import InputError, brief

FORMAT = "napari-unsup-seg/contours"
SHIPPED_NAME = "contours_bsds500.pt"
IN_CHANNELS = 6
# channel multipliers of the encoder levels (full, 1/2, 1/4, 1/8 resolution)
LEVELS = (1, 2, 4, 6)
MARGIN = 16

__all__ = [
    "ContourNet",
    "contour_probability",
    "input_features",
    "load_contour_net",
    "recent_contour_probability",
    "shipped_contour_weights",
]


def _block(c_in: int, c_out: int, n: int = 2) -> nn.Sequential:
    layers: list[nn.Module] = []
    for k in range(n):
        layers += [nn.Conv2d(c_in if k == 0 else c_out, c_out, 3, padding=1), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


class ContourNet(nn.Module):
    """Encoder-decoder boundary network; ``forward`` returns logits (N, 5, H, W): 4 sides + fused."""

    def __init__(self, width: int = 16):
        super().__init__()
        chans = [width * m for m in LEVELS]
        self.encoder = nn.ModuleList(
            [_block(IN_CHANNELS if i == 0 else chans[i - 1], c, 2 if i < 2 else 3) for i, c in enumerate(chans)]
        )
        self.decoder = nn.ModuleList([_block(chans[i] + chans[i + 1], chans[i], 1) for i in range(len(chans) - 1)])
        self.sides = nn.ModuleList([nn.Conv2d(c, 1, 1) for c in chans])
        self.fuse = nn.Conv2d(len(chans), 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        skips = []
        for i, block in enumerate(self.encoder):
            x = block(x if i == 0 else F.max_pool2d(x, 2, ceil_mode=True))
            skips.append(x)
        sides = [None] * len(skips)
        sides[-1] = self.sides[-1](x)
        for i in range(len(skips) - 2, -1, -1):
            up = F.interpolate(x, size=skips[i].shape[-2:], mode="bilinear", align_corners=False)
            x = self.decoder[i](torch.cat([skips[i], up], 1))
            sides[i] = self.sides[i](x)
        sides = [s if s.shape[-2:] == size else F.interpolate(s, size=size, mode="bilinear") for s in sides]
        stacked = torch.cat(sides, 1)
        return torch.cat([stacked, self.fuse(stacked)], 1)


def input_features(image: np.ndarray) -> np.ndarray:
    """(6, H, W) float32 network input of a (C, H, W) image in [0, 1]: RGB and scaled CIE Lab, centred.

    A grey image is repeated into three channels; only the first three of more are used.
    """
    from skimage.color import rgb2lab

    chw = np.asarray(image, np.float32)
    if chw.ndim != 3:
        raise InputError(f"the contour network needs a (C, H, W) image; got shape {chw.shape}")
    rgb = np.repeat(chw[:1], 3, 0) if chw.shape[0] < 3 else chw[:3]
    rgb = np.clip(rgb, 0.0, 1.0)
    lab = np.moveaxis(rgb2lab(np.moveaxis(rgb, 0, -1)), -1, 0).astype(np.float32)
    lab = np.stack([lab[0] / 50.0 - 1.0, lab[1] / 50.0, lab[2] / 50.0])
    return np.concatenate([(rgb - 0.45) / 0.25, lab]).astype(np.float32)


def shipped_contour_weights() -> Path:
    return Path(__file__).resolve().parent / "weights" / SHIPPED_NAME


def _payload(path: Path) -> dict[str, Any]:
    from .wnet.infer import verify_checksum

    shipped = path == shipped_contour_weights()
    if not path.is_file():
        raise InputError(f"{path}: no such contour weights file" + ("; reinstall the package" if shipped else ""))
    verify_checksum(path, required=shipped)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a bad file
        raise InputError(f"{path}: cannot be read as a contour weights file ({brief(err)})") from err
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or "state_dict" not in payload:
        raise InputError(f"{path}: not a napari-unsup-seg contour weights file (wrong format)")
    return payload


_CACHE: dict[str, ContourNet] = {}
_LOCK = threading.Lock()


def load_contour_net(path: str | Path | None = None) -> ContourNet:
    """The contour network of a weights file (None: the shipped one), in eval mode; kept once loaded."""
    path = shipped_contour_weights() if path is None else Path(path)
    key = str(path.resolve())
    with _LOCK:
        if key not in _CACHE:
            payload = _payload(path)
            width = payload.get("config", {}).get("width")
            if isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= 64:
                raise InputError(f"{path}: config width {width!r} is not an integer from 1 to 64")
            net = ContourNet(width)
            try:
                net.load_state_dict(payload["state_dict"])
            except (RuntimeError, TypeError) as err:
                raise InputError(f"{path}: its parameters do not fit the contour network ({brief(err)})") from err
            _CACHE[key] = net.eval()
        return _CACHE[key]


def contour_probability(image: np.ndarray, weights: str | Path | None = None) -> np.ndarray:
    """(H, W) float32 boundary probability in [0, 1] of a (C, H, W) image in [0, 1].

    Examples
    --------
    >>> img = np.zeros((3, 32, 48), np.float32); img[:, :, 24:] = 1
    >>> pb = contour_probability(img)
    >>> pb.shape, bool(pb[:, 22:26].mean() > pb[:, :16].mean())
    ((32, 48), True)
    """
    net = load_contour_net(weights)
    feats = input_features(image)
    height, width = feats.shape[1:]
    # mirrored margins: the image's own border is no contour (zero padding would read as one)
    pad = [(0, 0)] + [(min(MARGIN, n - 1), min(MARGIN, n - 1)) for n in (height, width)]
    x = torch.from_numpy(np.pad(feats, pad, mode="reflect"))[None]
    with torch.inference_mode():
        logits = net(x)[0, -1, pad[1][0] : pad[1][0] + height, pad[2][0] : pad[2][0] + width]
    return torch.sigmoid(logits).numpy().astype(np.float32)


_RECENT: dict[bytes, np.ndarray] = {}
_RECENT_LOCK = threading.Lock()
KEEP_RECENT = 4


def recent_contour_probability(image: np.ndarray, weights: str | Path | None = None) -> np.ndarray:
    """:func:`contour_probability`, kept for the last few images asked for (not to be modified).

    Live mode walks the same image again after every stroke, and a run's walks and its
    hierarchy may ask for the same image: its boundaries are found once.
    """
    image = np.ascontiguousarray(image, np.float32)
    path = shipped_contour_weights() if weights is None else Path(weights)
    digest = hashlib.blake2b(f"{path.resolve()} {image.shape}".encode(), digest_size=16)
    digest.update(image.data)
    key = digest.digest()
    with _RECENT_LOCK:
        if key in _RECENT:
            return _RECENT[key]
    prob = contour_probability(image, weights)
    with _RECENT_LOCK:
        _RECENT[key] = prob
        while len(_RECENT) > KEEP_RECENT:
            _RECENT.pop(next(iter(_RECENT)))
    return prob
