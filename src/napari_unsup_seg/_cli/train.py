"""``train-wnet``: its flags mirror :class:`~..core.wnet.TrainParams`."""

from __future__ import annotations

import sys
from dataclasses import asdict, fields
from pathlib import Path

from tqdm import tqdm

from ..core.errors import InputError
from ..core.progress import Progress, drain
from ..core.settings import SEED_MAX
from .common import number, stop_on_sigint


def add_parser(sub) -> None:
    p = sub.add_parser("train-wnet", help="train a W-Net on a folder of images")
    p.add_argument("image_dir", type=Path, nargs="+")
    p.add_argument("-o", "--output", type=Path, required=True, help="weights file to write")
    p.add_argument("--resume", type=Path, help="checkpoint to resume from")
    p.add_argument("--seed", type=number(int, 0, SEED_MAX), default=0, help="random seed (0 to 2**32-1; default 0)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument(
        "--overwrite", action="store_true", help="replace existing weights, checkpoint and loss log of that name"
    )
    add_train_arguments(p)


def add_train_arguments(parser) -> None:
    """One ``--flag`` per TrainParams field, with the field's default."""
    from ..core.wnet import TrainParams

    defaults = asdict(TrainParams())
    for field in fields(TrainParams):
        value = defaults[field.name]
        parser.add_argument(
            "--" + field.name.replace("_", "-"), type=number(type(value), 0), default=value, help=f"(default {value})"
        )
    parser.add_argument(
        "--threads", type=number(int, 0, 1024), default=0, help="torch CPU threads (0 = torch's default)"
    )


def training_outputs(output: Path) -> list[Path]:
    """Every file a training run writes: weights, their sha256 sidecar, checkpoint, loss log."""
    from ..core.wnet.infer import sidecar_path
    from ..core.wnet.train import checkpoint_path, loss_log_path

    return [output, sidecar_path(output), checkpoint_path(output), loss_log_path(output)]


def _refuse_replacing(args) -> None:
    """A new run replaces nothing without --overwrite; a resumed run only its own files."""
    parent = args.output.parent
    if any(p.exists() and not p.is_dir() for p in (parent, *parent.parents)):
        raise InputError(f"{args.output}: cannot be written, a file stands where its folder should be")
    if args.output.is_dir():
        raise InputError(
            f"{args.output}: is a folder; name the weights file to write, such as {args.output / 'wnet.pt'}"
        )
    outputs = training_outputs(args.output)
    if args.resume is not None and args.resume.resolve() in {p.resolve() for p in outputs[:2]}:
        raise InputError(f"{args.resume} is the weights file to write, not a checkpoint; resume from {outputs[2].name}")
    resuming_own = args.resume is not None and args.resume.resolve() == outputs[2].resolve()
    existing = [p for p in outputs if p.exists()]
    if existing and not (resuming_own or args.overwrite):
        raise InputError(
            f"{', '.join(p.name for p in existing)} exist(s) already in {args.output.parent}: "
            "choose another --output, --resume its checkpoint, or use --overwrite"
        )


def run(args) -> int:
    import torch

    from ..core.progress import resolve_device
    from ..core.wnet import TrainParams, train

    for folder in args.image_dir:
        if not folder.is_dir():
            raise InputError(f"{folder}: no such folder")
    if args.resume is not None and not args.resume.is_file():
        raise InputError(f"{args.resume}: no such checkpoint")
    _refuse_replacing(args)
    resolve_device(args.device)
    params = TrainParams(**{f.name: getattr(args, f.name) for f in fields(TrainParams)})
    if args.threads:
        torch.set_num_threads(args.threads)
    stop = stop_on_sigint()
    with tqdm(total=params.steps, desc="train-wnet") as bar:

        def update(event: Progress) -> None:
            bar.n = event.step
            if event.extra:
                bar.set_postfix({k: f"{v:.4g}" for k, v in event.extra.items()}, refresh=True)

        path = drain(
            train(
                args.image_dir, args.output, params, resume=args.resume, device=args.device, seed=args.seed, stop=stop
            ),
            update,
        )
    print(f"wrote {path}")
    if stop.is_set():  # the weights so far are written, but training did not finish
        from ..core.wnet.train import checkpoint_path

        print(f"stopped before the last step: continue with --resume {checkpoint_path(args.output)}", file=sys.stderr)
        return 130
    return 0
