"""The ``train-wnet`` command."""

from __future__ import annotations

from dataclasses import replace

from tqdm import tqdm

from .core.errors import InputError
from .core.progress import Progress, drain


def run_train(args) -> int:
    from .cli import stop_on_sigint
    from .core.wnet import TrainParams, train

    for folder in args.image_dir:
        if not folder.is_dir():
            raise InputError(f"{folder}: no such folder")
    if args.output.exists() and not args.resume:
        raise InputError(f"{args.output}: exists already; choose another name or --resume a checkpoint")
    params = TrainParams() if args.steps is None else replace(TrainParams(), steps=args.steps)
    stop = stop_on_sigint()
    with tqdm(total=params.steps, desc="train-wnet") as bar:
        def update(event: Progress) -> None:
            bar.n = event.step
            if event.extra:
                bar.set_postfix({k: f"{v:.4f}" for k, v in event.extra.items()}, refresh=True)

        path = drain(train(args.image_dir, args.output, params, resume=args.resume, device=args.device,
                           seed=args.seed, stop=stop), update)
    print(f"wrote {path}")
    return 0
