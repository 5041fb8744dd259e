"""The W-Net of Xia & Kulis (2017): two U-Nets, an encoder and a decoder.

The encoder maps an image to a soft K-way segmentation (softmax over K); the
decoder reconstructs the image from that segmentation. Each U-Net is built of
modules of two 3x3 convolutions, each followed by ReLU and batch normalization
(the paper's order); every module except the first and the last of a U-Net uses
depthwise-separable convolutions. There are skip connections and no fully
connected layers, so any image size works: inputs are padded (edge replication)
to a multiple of ``2**depth`` and the outputs cropped back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

from .ncut import soft_ncut_loss


@dataclass(frozen=True)
class WNetConfig:
    """Architecture of a W-Net; stored with the weights.

    Attributes
    ----------
    in_channels : int
        Image channels (3: grayscale images are replicated to RGB).
    k : int
        Number of soft classes the encoder outputs.
    width : int
        Channels of the first level; level ``l`` has ``width * 2**l``.
    depth : int
        Number of 2x down-samplings in each U-Net (the paper uses 4).
    """

    in_channels: int = 3
    k: int = 24
    width: int = 16
    depth: int = 3

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def _conv(cin: int, cout: int, separable: bool) -> nn.Module:
    if not separable:
        return nn.Conv2d(cin, cout, 3, padding=1)
    return nn.Sequential(
        nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False),
        nn.Conv2d(cin, cout, 1),
    )


def _module(cin: int, cout: int, separable: bool) -> nn.Sequential:
    return nn.Sequential(
        _conv(cin, cout, separable),
        nn.ReLU(inplace=True),
        nn.BatchNorm2d(cout),
        _conv(cout, cout, separable),
        nn.ReLU(inplace=True),
        nn.BatchNorm2d(cout),
    )


class UNet(nn.Module):
    """A U-Net of ``2 * depth + 1`` modules ending in a 1x1 convolution."""

    def __init__(self, cin: int, cout: int, width: int, depth: int):
        super().__init__()
        chans = [width * 2**level for level in range(depth + 1)]
        self.down = nn.ModuleList(
            [_module(cin, chans[0], separable=False)]
            + [_module(chans[i - 1], chans[i], separable=True) for i in range(1, depth + 1)]
        )
        self.upsample = nn.ModuleList(
            [nn.ConvTranspose2d(chans[i], chans[i - 1], 2, stride=2) for i in range(depth, 0, -1)]
        )
        self.up = nn.ModuleList([_module(2 * chans[i - 1], chans[i - 1], separable=i > 1) for i in range(depth, 0, -1)])
        self.head = nn.Conv2d(chans[0], cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, block in enumerate(self.down):
            if i:
                x = F.max_pool2d(x, 2)
            x = block(x)
            skips.append(x)
        skips.pop()
        for upsample, block in zip(self.upsample, self.up):
            x = block(torch.cat([skips.pop(), upsample(x)], dim=1))
        return self.head(x)


class WNet(nn.Module):
    """Encoder U-Net (image -> soft segmentation) and decoder U-Net (-> image).

    Examples
    --------
    >>> net = WNet(WNetConfig(k=4, width=4, depth=2)).eval()
    >>> soft, recon = net(torch.rand(1, 3, 37, 53))
    >>> tuple(soft.shape), tuple(recon.shape)
    ((1, 4, 37, 53), (1, 3, 37, 53))
    """

    def __init__(self, config: WNetConfig = WNetConfig()):
        super().__init__()
        self.config = config
        self.encoder = UNet(config.in_channels, config.k, config.width, config.depth)
        self.decoder = UNet(config.k, config.in_channels, config.width, config.depth)

    def _padded(self, net: nn.Module, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        m = 2**self.config.depth
        ph, pw = (-h) % m, (-w) % m
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), mode="replicate")
        return net(x)[..., :h, :w]

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Soft segmentation (N, K, H, W): a softmax over the K classes."""
        return torch.softmax(self._padded(self.encoder, x), dim=1)

    def decode(self, soft: torch.Tensor) -> torch.Tensor:
        """Reconstruction (N, C, H, W) in [0, 1] from a soft segmentation."""
        return torch.sigmoid(self._padded(self.decoder, soft))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        soft = self.encode(x)
        return soft, self.decode(soft)


def alternating_step(
    model: WNet,
    opt_enc,
    opt_all,
    x: torch.Tensor,
    sigma_i: float,
    sigma_x: float,
    radius: int,
    recon_weight: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of the paper's alternation: the soft N-cut on the encoder, then the
    reconstruction on the whole W-Net. Returns both losses, detached."""
    ncut = soft_ncut_loss(x, model.encode(x), sigma_i, sigma_x, radius)
    opt_enc.zero_grad(set_to_none=True)
    ncut.backward()
    opt_enc.step()
    recon = torch.mean((model(x)[1] - x) ** 2)
    opt_all.zero_grad(set_to_none=True)
    (recon_weight * recon).backward()
    opt_all.step()
    return ncut.detach(), recon.detach()
