"""The ``train-wnet`` command; its flags mirror :class:`~.core.wnet.TrainParams`."""

from __future__ import annotations

from dataclasses import asdict, fields

from tqdm import tqdm

from .core.errors import InputError
from .core.progress import Progress, drain


def add_train_arguments(parser) -> None:
    """One ``--flag`` per TrainParams field, with the field's default."""
    from .core.wnet import TrainParams

    defaults = asdict(TrainParams())
    for field in fields(TrainParams):
        value = defaults[field.name]
        parser.add_argument("--" + field.name.replace("_", "-"), type=type(value), default=value,
                            help=f"(default {value})")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")


def run_train(args) -> int:
    import torch

    from .cli import stop_on_sigint
    from .core.wnet import TrainParams, train

    for folder in args.image_dir:
        if not folder.is_dir():
            raise InputError(f"{folder}: no such folder")
    if args.resume is not None and not args.resume.is_file():
        raise InputError(f"{args.resume}: no such checkpoint")
    if args.output.exists() and not args.resume:
        raise InputError(f"{args.output}: exists already; choose another name or --resume a checkpoint")
    params = TrainParams(**{f.name: getattr(args, f.name) for f in fields(TrainParams)})
    if args.threads:
        torch.set_num_threads(args.threads)
    stop = stop_on_sigint()
    with tqdm(total=params.steps, desc="train-wnet") as bar:
        def update(event: Progress) -> None:
            bar.n = event.step
            if event.extra:
                bar.set_postfix({k: f"{v:.4g}" for k, v in event.extra.items()}, refresh=True)

        path = drain(train(args.image_dir, args.output, params, resume=args.resume, device=args.device,
                           seed=args.seed, stop=stop), update)
    print(f"wrote {path}")
    return 0
