"""``evaluate``: score UCMs or label images against BSDS-style ground truth."""

from __future__ import annotations

from pathlib import Path

from .common import number, require_dir


def add_parser(sub) -> None:
    p = sub.add_parser("evaluate", help="score UCMs or label images against BSDS-style ground truth")
    p.add_argument(
        "pred_dir",
        type=Path,
        help="folder of predictions: <id>_ucm.*, <id>_labels.* or <id>.* (segment -o writes them)",
    )
    p.add_argument(
        "gt_dir", type=Path, help="folder of ground truths, one per image: <id>.mat (BSDS), .npz or a label image"
    )
    p.add_argument(
        "--thresholds",
        type=number(int, 2, 1000),
        default=99,
        help="thresholds scored between 0 and 1 (2 to 1000; default 99)",
    )


def run(args) -> int:
    from ..core.evaluate import evaluate_folder, format_table

    require_dir(args.pred_dir)
    require_dir(args.gt_dir)
    print(format_table(evaluate_folder(args.pred_dir, args.gt_dir, n_thresholds=args.thresholds)))
    return 0
