"""Unsupervised W-Net training (Xia & Kulis 2017) on a folder of images.

Each step draws a batch of random crops (with random flips) and makes two
updates, as in the paper: the soft N-cut loss updates the encoder only, then
the reconstruction loss (mean squared error) updates encoder and decoder.
Checkpoints hold model, both optimizers, the step and the random generators,
so a run resumes exactly where it stopped. A CSV loss log is written next to
the output file.
"""

from __future__ import annotations

import csv
import io
import math
import threading
import time
from collections.abc import Generator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ..atomic import atomic_path, write_text
from ..errors import InputError
from ..image import READABLE_SUFFIXES, load_image
from ..progress import Progress, is_stopped, resolve_device, seed_everything
from .infer import FORMAT, as_model_input, config_from, save_weights
from .model import WNet, WNetConfig, alternating_step


@dataclass(frozen=True)
class TrainParams:
    """Training parameters (defaults: the run that made the shipped weights).

    Attributes
    ----------
    crop, batch : int
        Side of the random square crops and number of crops per step.
    lr : float
        Adam learning rate; cosine decay to ``lr * lr_final`` over ``steps``.
    steps : int
        Number of steps (each = one N-cut and one reconstruction update).
    k, width, depth : int
        Architecture (see :class:`WNetConfig`).
    sigma_i, sigma_x, radius : float
        N-cut affinity parameters (brightness on the 0..255 scale).
    recon_weight : float
        Multiplier of the reconstruction loss.
    checkpoint_every : int
        Steps between checkpoints (and the loss-log flush).
    time_limit : float
        Wall-clock seconds after which training stops as if asked to (0 = none).
    max_images : int
        Use at most this many images of the folder (0 = all).
    """

    crop: int = 128
    batch: int = 8
    lr: float = 1e-3
    lr_final: float = 0.05
    steps: int = 2000
    k: int = 24
    width: int = 16
    depth: int = 4
    sigma_i: float = 10.0
    sigma_x: float = 4.0
    radius: float = 5.0
    recon_weight: float = 1.0
    checkpoint_every: int = 100
    time_limit: float = 0.0
    max_images: int = 0

    def __post_init__(self):
        for name, value in asdict(self).items():
            if not math.isfinite(value) or value < 0:
                raise InputError(f"{name} must be a finite number, zero or more; got {value}")
        config_from(self.config.to_dict(), "the training parameters")  # the ranges weights files obey
        if self.k < 2 or self.width < 1 or self.depth < 1:
            raise InputError("the W-Net needs k >= 2 classes, width >= 1 and depth >= 1")
        if self.crop < 2**self.depth or self.crop % 2**self.depth:
            raise InputError(f"the crop size must be a multiple of 2**depth = {2**self.depth}")
        if self.batch < 1 or self.steps < 0 or self.checkpoint_every < 1:
            raise InputError("batch and checkpoint_every must be >= 1 and steps >= 0")
        if self.lr <= 0 or min(self.sigma_i, self.sigma_x, self.radius) <= 0:
            raise InputError("lr, sigma_i, sigma_x and radius must be positive")

    @property
    def config(self) -> WNetConfig:
        return WNetConfig(in_channels=3, k=self.k, width=self.width, depth=self.depth)


def checkpoint_path(out_path: str | Path) -> Path:
    out_path = Path(out_path)
    return out_path.with_name(out_path.stem + ".ckpt.pt")


class LossLog:
    """The CSV loss log, rewritten whole and atomically at each checkpoint (never half a line).

    ``keep``: continue the rows of an existing log (a resumed run), up to step ``upto``.
    """

    HEADER = ["step", "ncut", "recon", "lr", "seconds"]

    def __init__(self, path: Path, *, keep: bool, upto: int) -> None:
        self.path = path
        self.rows: list[list[str]] = []
        if keep and path.exists():
            with open(path, newline="") as f:
                self.rows = [r for r in list(csv.reader(f))[1:] if r and r[0].isdigit() and int(r[0]) <= upto]

    def add(self, row: list) -> None:
        self.rows.append([str(v) for v in row])

    def save(self) -> None:
        buffer = io.StringIO()
        csv.writer(buffer).writerows([self.HEADER, *self.rows])
        write_text(self.path, buffer.getvalue())


def loss_log_path(out_path: str | Path) -> Path:
    out_path = Path(out_path)
    return out_path.with_name(out_path.stem + ".loss.csv")


def list_images(image_dir: str | Path | Sequence[str | Path]) -> list[Path]:
    """Image files directly inside one folder or several folders, sorted."""
    dirs = [image_dir] if isinstance(image_dir, (str, Path)) else list(image_dir)
    files: list[Path] = []
    for d in dirs:
        d = Path(d)
        if not d.is_dir():
            raise InputError(f"{d}: not a folder of training images")
        files += sorted(p for p in d.iterdir() if p.suffix.lower() in READABLE_SUFFIXES)
    if not files:
        where = ", ".join(str(d) for d in dirs)
        raise InputError(f"no images ({', '.join(READABLE_SUFFIXES)}) found in {where}")
    return files


def _load_u8(path: Path, crop: int) -> np.ndarray:
    image = as_model_input(load_image(path))
    _, h, w = image.shape
    if h < crop or w < crop:
        image = np.pad(image, ((0, 0), (0, max(crop - h, 0)), (0, max(crop - w, 0))), mode="reflect")
    return (image * 255.0 + 0.5).astype(np.uint8)


def _batch(images: list[np.ndarray], params: TrainParams, rng: np.random.Generator) -> torch.Tensor:
    out = np.empty((params.batch, 3, params.crop, params.crop), np.float32)
    for b in range(params.batch):
        img = images[int(rng.integers(len(images)))]
        _, h, w = img.shape
        y = int(rng.integers(0, h - params.crop + 1))
        x = int(rng.integers(0, w - params.crop + 1))
        patch = img[:, y : y + params.crop, x : x + params.crop]
        if rng.random() < 0.5:
            patch = patch[:, :, ::-1]
        if rng.random() < 0.5:
            patch = patch[:, ::-1, :]
        out[b] = patch / np.float32(255.0)
    return torch.from_numpy(out)


def _lr_at(step: int, params: TrainParams, seconds: float = 0.0) -> float:
    """Cosine decay over the steps, or over the time limit when that comes first."""
    frac = step / max(params.steps, 1)
    if params.time_limit:
        frac = max(frac, seconds / params.time_limit)
    frac = min(frac, 1.0)
    lo = params.lr * params.lr_final
    return lo + 0.5 * (params.lr - lo) * (1.0 + math.cos(math.pi * frac))


def _save_checkpoint(path: Path, model, opt_enc, opt_all, step, rng, params, seed, seconds) -> None:
    payload = {
        "format": FORMAT,
        "version": 1,
        "config": model.config.to_dict(),
        "state_dict": model.state_dict(),
        "opt_enc": opt_enc.state_dict(),
        "opt_all": opt_all.state_dict(),
        "step": step,
        "rng_numpy": rng.bit_generator.state,
        "rng_torch": torch.get_rng_state(),
        "params": asdict(params),
        "seed": seed,
        "seconds": float(seconds),
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def _resume(resume, model, opt_enc, opt_all, rng, params: TrainParams, dev) -> tuple[int, float]:
    """Load a checkpoint into the model, optimisers and random generators; ``(step, seconds so far)``."""
    try:
        ckpt = torch.load(resume, map_location=dev, weights_only=True)
    except Exception as err:
        raise InputError(f"{resume}: cannot be read as a training checkpoint ({type(err).__name__})") from err
    if not isinstance(ckpt, dict) or "opt_all" not in ckpt:
        raise InputError(f"{resume}: not a W-Net training checkpoint")
    if ckpt.get("config") != params.config.to_dict():
        raise InputError(f"{resume}: checkpoint architecture {ckpt.get('config')} differs from the parameters")
    try:
        model.load_state_dict(ckpt["state_dict"])
        opt_enc.load_state_dict(ckpt["opt_enc"])
        opt_all.load_state_dict(ckpt["opt_all"])
        step, before = int(ckpt["step"]), float(ckpt.get("seconds", 0.0))
        rng.bit_generator.state = ckpt["rng_numpy"]
        torch.set_rng_state(ckpt["rng_torch"].cpu())
    except (KeyError, TypeError, ValueError, AttributeError, RuntimeError) as err:
        raise InputError(f"{resume}: a damaged training checkpoint ({type(err).__name__}: {err})") from err
    return step, before


def _stop_reason(stop, params: TrainParams, seconds: float) -> str | None:
    if is_stopped(stop):
        return "stopped"
    if params.time_limit and seconds > params.time_limit:
        return "time limit"
    return None


def _step(model, opt_enc, opt_all, x, params: TrainParams, lr: float) -> tuple[float, float]:
    """One training step at learning rate ``lr``; returns the N-cut and reconstruction losses."""
    for opt in (opt_enc, opt_all):
        for group in opt.param_groups:
            group["lr"] = lr
    ncut, recon = alternating_step(
        model, opt_enc, opt_all, x, params.sigma_i, params.sigma_x, params.radius, params.recon_weight
    )
    return ncut.item(), recon.item()


def train(
    image_dir: str | Path | Sequence[str | Path],
    out_path: str | Path,
    params: TrainParams = TrainParams(),
    *,
    resume: str | Path | None = None,
    device: str = "auto",
    seed: int = 0,
    stop: threading.Event | None = None,
) -> Generator[Progress, None, Path]:
    """Train a W-Net; a generator yielding one :class:`Progress` per step.

    Returns the path of the final weights file (``out_path``, with a
    ``.sha256`` sidecar). Checkpoints go to ``<stem>.ckpt.pt`` and the loss
    log to ``<stem>.loss.csv`` next to ``out_path``. Setting ``stop`` (or
    reaching ``params.time_limit``) saves a checkpoint and the weights of the
    current step and returns. ``resume`` is a checkpoint path to continue from.
    """
    t_start = time.perf_counter()
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    dev = resolve_device(device)
    seed_everything(seed)
    rng = np.random.default_rng(seed)

    files = list_images(image_dir)
    if params.max_images > 0:
        files = files[: params.max_images]
    yield Progress(0, params.steps, stage="train", message=f"loading {len(files)} images")
    images = [_load_u8(f, params.crop) for f in files]

    model = WNet(params.config).to(dev)
    opt_enc = torch.optim.Adam(model.encoder.parameters(), lr=params.lr)
    opt_all = torch.optim.Adam(model.parameters(), lr=params.lr)
    step, before = (0, 0.0) if resume is None else _resume(resume, model, opt_enc, opt_all, rng, params, dev)
    ckpt_path = checkpoint_path(out_path)
    log_path = loss_log_path(out_path)
    log = LossLog(log_path, keep=resume is not None, upto=step)

    def seconds() -> float:  # of this run, earlier sessions of a resumed one included
        return before + time.perf_counter() - t_start

    model.train()
    reason = None
    try:
        while step < params.steps:
            reason = _stop_reason(stop, params, seconds())
            if reason is not None:
                break
            lr = _lr_at(step, params, seconds())
            ncut_v, recon_v = _step(model, opt_enc, opt_all, _batch(images, params, rng).to(dev), params, lr)
            step += 1
            log.add([step, f"{ncut_v:.6f}", f"{recon_v:.6f}", f"{lr:.3g}", f"{seconds():.1f}"])
            if step % params.checkpoint_every == 0:
                log.save()
                _save_checkpoint(ckpt_path, model, opt_enc, opt_all, step, rng, params, seed, seconds())
            yield Progress(
                step,
                params.steps,
                stage="train",
                loss=ncut_v + params.recon_weight * recon_v,
                extra={"ncut": ncut_v, "recon": recon_v, "lr": lr},
                message=f"step {step}/{params.steps}: ncut {ncut_v:.4f} recon {recon_v:.5f}",
            )
    finally:
        log.save()
    reason = reason or "finished"
    _save_checkpoint(ckpt_path, model, opt_enc, opt_all, step, rng, params, seed, seconds())
    model.eval()
    save_weights(
        model,
        out_path,
        meta={
            "steps_done": step,
            "seed": seed,
            "images": len(files),
            "reason": reason,
            "seconds": round(seconds(), 1),
            "params": asdict(params),
        },
    )
    yield Progress(step, params.steps, stage="train", message=f"{reason} at step {step}; saved {out_path.name}")
    return out_path
