"""W-Net weights files, tiled inference and per-image adaptation.

A weights file is a ``torch.save`` of a plain dict (loadable with
``weights_only=True``)::

    {"format": "napari-unsup-seg/wnet", "version": 1,
     "config": {"in_channels": 3, "k": .., "width": .., "depth": ..},
     "state_dict": {...}, "meta": {...}}

next to a ``<file>.sha256`` sidecar in ``sha256sum`` format. Training
checkpoints have the same keys (plus optimizer state) and load too.
"""

from __future__ import annotations

import copy
import hashlib
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..atomic import atomic_path, write_text
from ..errors import InputError, brief
from ..progress import Progress, is_stopped, resolve_device, seed_everything
from .model import WNet, WNetConfig, alternating_step

FORMAT = "napari-unsup-seg/wnet"
SHIPPED_NAME = "wnet_bsds500.pt"


@dataclass(frozen=True)
class WNetParams:
    """Parameters of W-Net inference.

    Attributes
    ----------
    weights : str or None
        Path of a weights file; None uses the shipped BSDS500 weights.
    tile : int
        Tile side in pixels; larger images are processed in overlapping tiles.
    overlap : int
        Overlap between neighbouring tiles; half of it is discarded on each side.
    margin : int
        Mirror padding added around the image before inference and removed after,
        so that the network's border effects fall outside the image.
    adapt_steps : int
        Steps of the paper's two losses on this image before predicting (0 = none).
    adapt_lr : float
        Learning rate of that adaptation (Adam).
    sigma_i, sigma_x, radius : float
        N-cut affinity parameters used by the adaptation.
    """

    weights: str | None = None
    tile: int = 512
    overlap: int = 64
    margin: int = 32
    adapt_steps: int = 0
    adapt_lr: float = 1e-4
    sigma_i: float = 10.0
    sigma_x: float = 4.0
    radius: float = 5.0

    def __post_init__(self):
        if self.tile < 32:
            raise InputError(f"the W-Net tile size must be at least 32 pixels, not {self.tile}")
        if self.margin < 0:
            raise InputError(f"the W-Net margin must be zero or positive, not {self.margin}")
        if not 0 <= self.overlap < self.tile:
            raise InputError(f"the tile overlap must be between 0 and the tile size, not {self.overlap}")
        if self.adapt_steps < 0 or self.adapt_lr <= 0:
            raise InputError("adaptation needs adapt_steps >= 0 and a positive adapt_lr")
        if min(self.sigma_i, self.sigma_x, self.radius) <= 0:
            raise InputError("sigma_i, sigma_x and radius must be positive")


@dataclass
class WNetResult:
    """Output of :func:`predict`."""

    soft: np.ndarray
    labels: np.ndarray
    stopped: bool = False
    elapsed: float = 0.0
    weights_sha256: str = ""
    adapt_steps_done: int = 0


# ---------------------------------------------------------------- weights files
def shipped_weights_path() -> Path:
    """Path of the weights trained on BSDS500 that ship with the package."""
    return Path(__file__).resolve().parent / "weights" / SHIPPED_NAME


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sidecar_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + ".sha256")


def write_sha256_sidecar(path: str | Path) -> str:
    """Write ``<path>.sha256`` (sha256sum format) and return the digest."""
    digest = file_sha256(path)
    write_text(sidecar_path(path), f"{digest}  {Path(path).name}\n")
    return digest


def save_weights(model: WNet, path: str | Path, meta: dict[str, Any] | None = None) -> str:
    """Save a model as a weights file with its sha256 sidecar; return the digest."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "version": 1,
        "config": model.config.to_dict(),
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "meta": dict(meta or {}),
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return write_sha256_sidecar(path)


def verify_checksum(path: Path, required: bool) -> str:
    """Check ``path`` against its sidecar; return the actual digest."""
    digest = file_sha256(path)
    side = sidecar_path(path)
    if side.exists():
        fields = side.read_text().split()
        expected = fields[0].lower() if fields else ""
        if digest != expected:
            raise InputError(
                f"{path}: sha256 checksum mismatch (file {digest[:12]}..., expected {expected[:12]}...); "
                "the weights file is corrupted or was changed"
            )
    elif required:
        raise InputError(f"{path}: its checksum file {side.name} is missing; reinstall the package")
    return digest


def read_weights(path: str | Path | None = None) -> tuple[dict[str, Any], str]:
    """Read and verify a weights file; return (payload dict, sha256)."""
    shipped = path is None
    path = shipped_weights_path() if shipped else Path(path)
    if not path.is_file():
        if shipped:
            raise InputError(f"the shipped W-Net weights are missing ({path}); reinstall the package")
        raise InputError(f"{path}: no such weights file")
    digest = verify_checksum(path, required=shipped)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a bad file
        raise InputError(
            f"{path}: cannot be read as a W-Net weights file; is it damaged or of another type? ({brief(err)})"
        ) from err
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or "state_dict" not in payload:
        raise InputError(f"{path}: not a napari-unsup-seg W-Net weights file (wrong format)")
    return payload, digest


# What a weights file may ask for, checked before any model is built (a huge "width"
# would otherwise allocate until the machine runs out of memory).
CONFIG_RANGES = {"in_channels": (1, 16), "k": (2, 256), "width": (1, 256), "depth": (1, 6)}


def config_from(raw: Any, source: str = "weights") -> WNetConfig:
    """A :class:`WNetConfig` from a weights file's ``config``, or :class:`InputError`."""
    if not isinstance(raw, dict) or set(raw) != set(CONFIG_RANGES):
        keys = sorted(raw) if isinstance(raw, dict) else type(raw).__name__
        raise InputError(f"{source}: the config must hold {', '.join(CONFIG_RANGES)}; it holds {keys}")
    for key, (low, high) in CONFIG_RANGES.items():
        value = raw[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InputError(f"{source}: config {key} = {value!r} is not an integer from {low} to {high}")
    return WNetConfig(**raw)


def model_from_payload(payload: dict[str, Any], source: str = "weights") -> WNet:
    config = config_from(payload.get("config"), source)
    state = payload.get("state_dict")
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise InputError(f"{source}: the state_dict must map parameter names to tensors")
    bad = next(
        (k for k, v in state.items() if v.is_complex() or (v.is_floating_point() and not torch.isfinite(v).all())), None
    )
    if bad is not None:
        raise InputError(f"{source}: tensor {bad} holds complex, NaN or infinite values")
    model = WNet(config)
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    given = {k: tuple(v.shape) for k, v in state.items()}
    wrong = sorted(set(expected) ^ set(given)) + sorted(
        k for k in set(expected) & set(given) if expected[k] != given[k]
    )
    if wrong:
        raise InputError(
            f"{source}: the weights do not match the W-Net its config describes "
            f"({len(wrong)} tensor(s) missing, extra or of another shape, first {wrong[0]})"
        )
    try:
        model.load_state_dict(state)
    except (TypeError, RuntimeError) as err:
        raise InputError(f"{source}: the weights cannot be loaded ({type(err).__name__})") from err
    return model


def load_model(weights: str | Path | None = None, device: Any = "cpu") -> WNet:
    """Load a W-Net in eval mode; None loads the shipped weights.

    The sha256 sidecar is checked when present (always for the shipped file);
    a mismatch, an unreadable file or a wrong format raises :class:`InputError`.
    """
    payload, digest = read_weights(weights)
    model = model_from_payload(payload, str(weights or shipped_weights_path()))
    model.weights_sha256 = digest
    device = resolve_device(device) if isinstance(device, str) else device
    return model.to(device).eval()


# ---------------------------------------------------------------- inference
def as_model_input(image_chw: np.ndarray) -> np.ndarray:
    """Bring a float (C, H, W) image to the model's 3 channels.

    Grayscale is replicated, 2 channels get their first channel appended,
    more than 3 keep the first 3 (RGBA is reduced upstream by ``to_chw``).
    """
    image = np.asarray(image_chw, dtype=np.float32)
    if image.ndim == 2:
        image = image[None]
    if image.ndim != 3:
        raise InputError(f"the W-Net needs a (C, H, W) image, got shape {image.shape}")
    c = image.shape[0]
    if c == 1:
        image = np.repeat(image, 3, axis=0)
    elif c == 2:
        image = np.concatenate([image, image[:1]], axis=0)
    elif c > 3:
        image = image[:3]
    return np.ascontiguousarray(image)


def _tile_starts(size: int, tile: int, step: int) -> list[int]:
    """Tile origins ``0, step, 2*step, ...`` until a tile reaches the end.

    ``tile`` and ``step`` are multiples of ``2**depth`` so every tile sits on the
    pooling grid of the whole image; the last tile may be cut short by the image
    end and is then padded exactly like the whole image would be.
    """
    starts = [0]
    while starts[-1] + tile < size:
        starts.append(starts[-1] + step)
    return starts


def _spans(starts: list[int], tile: int, size: int) -> list[tuple[int, int]]:
    """Output span of each tile: overlaps are split in their middle."""
    spans = []
    for i, s in enumerate(starts):
        lo = 0 if i == 0 else (s + starts[i - 1] + tile) // 2
        hi = size if i == len(starts) - 1 else (starts[i + 1] + s + tile) // 2
        spans.append((lo, min(hi, size)))
    return spans


@torch.no_grad()
def predict_soft(
    model: WNet,
    image_chw: np.ndarray,
    params: WNetParams = WNetParams(),
    device: Any = "cpu",
) -> np.ndarray:
    """Soft segmentation (K, H, W) float32 of a (C, H, W) image in [0, 1], by tiles.

    Tiles of ``params.tile`` pixels overlap by ``params.overlap``; each output
    pixel comes from the tile in which it is most central, so memory stays
    bounded and results equal untiled inference away from tile borders.
    """
    image = as_model_input(image_chw)
    device = resolve_device(device) if isinstance(device, str) else device
    model = model.to(device).eval()
    m = int(params.margin)
    if m:
        image = np.pad(image, ((0, 0), (m, m), (m, m)), mode="symmetric")
    _, h, w = image.shape
    align = 2**model.config.depth
    tile = max(int(params.tile), 2 * align)
    tile = (tile // align) * align
    step = max(((tile - max(int(params.overlap), 0)) // align) * align, align)
    out = np.empty((model.config.k, h, w), np.float32)
    ys = _tile_starts(h, tile, step)
    xs = _tile_starts(w, tile, step)
    for y0, (ylo, yhi) in zip(ys, _spans(ys, tile, h)):
        for x0, (xlo, xhi) in zip(xs, _spans(xs, tile, w)):
            patch = torch.from_numpy(image[:, y0 : y0 + tile, x0 : x0 + tile]).to(device)
            soft = model.encode(patch[None])[0].float().cpu().numpy()
            out[:, ylo:yhi, xlo:xhi] = soft[:, ylo - y0 : yhi - y0, xlo - x0 : xhi - x0]
    return np.ascontiguousarray(out[:, m : h - m, m : w - m]) if m else out


def labels_from_soft(soft: np.ndarray) -> np.ndarray:
    """Hard labels 1..K (int32) from a (K, H, W) soft map."""
    return (np.argmax(soft, axis=0) + 1).astype(np.int32)


def _adapt_crops(image: torch.Tensor, size: int, rng: np.random.Generator) -> torch.Tensor:
    _, h, w = image.shape
    if h <= size and w <= size:
        return image[None]
    ch, cw = min(h, size), min(w, size)
    y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    return image[None, :, y : y + ch, x : x + cw]


def predict(
    image_chw: np.ndarray,
    params: WNetParams = WNetParams(),
    *,
    device: str = "auto",
    seed: int = 0,
    stop: threading.Event | None = None,
    model: WNet | None = None,
) -> Generator[Progress, None, WNetResult]:
    """Segment one image with the W-Net; a generator returning :class:`WNetResult`.

    Loads the weights (unless ``model`` is given), optionally adapts a copy of
    the model to this image for ``params.adapt_steps`` steps of the paper's
    alternating N-cut / reconstruction losses (batch norm kept in eval mode,
    crops of at most 256 pixels), then predicts by tiles. Setting ``stop``
    ends the adaptation early and predicts with what it has.
    """
    t0 = time.perf_counter()
    dev = resolve_device(device)
    if model is None:
        yield Progress(0, max(params.adapt_steps, 0) + 1, stage="wnet", message="loading W-Net weights")
        model = load_model(params.weights, dev)
    digest = getattr(model, "weights_sha256", "")
    image = as_model_input(image_chw)
    stopped = False
    done = 0
    total = max(int(params.adapt_steps), 0) + 1
    if params.adapt_steps > 0:
        seed_everything(seed)
        rng = np.random.default_rng(seed)
        model = copy.deepcopy(model).to(dev).eval()
        opt_enc = torch.optim.Adam(model.encoder.parameters(), lr=params.adapt_lr)
        opt_all = torch.optim.Adam(model.parameters(), lr=params.adapt_lr)
        timage = torch.from_numpy(image).to(dev)
        for step in range(params.adapt_steps):
            if is_stopped(stop):
                stopped = True
                break
            with torch.enable_grad():
                ncut, recon = alternating_step(
                    model,
                    opt_enc,
                    opt_all,
                    _adapt_crops(timage, 256, rng),
                    params.sigma_i,
                    params.sigma_x,
                    params.radius,
                )
            done = step + 1
            yield Progress(
                done,
                total,
                stage="adapt",
                loss=ncut.item() + recon.item(),
                extra={"ncut": ncut.item(), "recon": recon.item()},
                message=f"adapting to the image: step {done}/{params.adapt_steps}",
            )
    if is_stopped(stop):
        stopped = True
    yield Progress(done, total, stage="wnet", message="predicting")
    soft = predict_soft(model, image, params, device=dev)
    labels = labels_from_soft(soft)
    yield Progress(total, total, stage="wnet", n_labels=int(len(np.unique(labels))), message="done")
    return WNetResult(
        soft=soft,
        labels=labels,
        stopped=stopped,
        elapsed=time.perf_counter() - t0,
        weights_sha256=digest,
        adapt_steps_done=done,
    )
