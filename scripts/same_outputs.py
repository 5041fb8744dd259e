"""Does a change keep the CLI's outputs? Compare this tree's with those of another commit.

    python scripts/same_outputs.py REF [--samples coffee ihc brain] [--methods cluster wnet]

The bundled samples (image and scribbles, written once as .npy) are segmented by
``napari-unsup-seg segment`` from this working tree and from ``REF`` (checked out in a
temporary git worktree), with and without scribbles, with the UCM. Every output file must
be byte-identical, except the recipe, whose timing entries (``seconds`` and
``segmenter_seconds`` of ``run`` and of each of ``frames``) and versions may differ; its
other entries must be equal.
Exit status 0 when everything is the same, 1 otherwise (the differences are listed).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMING = ("seconds", "segmenter_seconds")


def _write_samples(folder: Path, names: list[str]) -> list[tuple[str, Path, Path, list[str]]]:
    """(name, image file, scribbles file, extra flags) of each sample."""
    import numpy as np

    from napari_unsup_seg.core.samples import load_sample, load_volume_sample

    out = []
    for name in names:
        if name == "brain":
            image, scribbles, spacing = load_volume_sample(name)
            extra = ["--axes", "ZYX", "--spacing", ",".join(f"{v:g}" for v in spacing)]
        else:
            (image, scribbles), extra = load_sample(name), []
        img, scr = folder / f"{name}.npy", folder / f"{name}_scribbles.npy"
        np.save(img, image)
        np.save(scr, scribbles)
        out.append((name, img, scr, extra))
    return out


def _runs(samples, methods):
    for name, img, scr, extra in samples:
        for method in methods:
            if method == "wnet" and name == "brain":
                continue  # a volume's W-Net run takes minutes and is the 2D run per slice
            yield f"{name}-{method}-scribbles", [str(img), "--scribbles", str(scr), "--method", method, *extra]
            if name != "brain":
                yield f"{name}-{method}-unsupervised", [str(img), "--method", method, *extra]


def _segment(tree: Path, args: list[str], out: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(tree / "src"))
    cmd = [sys.executable, "-m", "napari_unsup_seg.cli", "segment", *args, "-o", str(out), "--ucm", "-q", "--seed", "0"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"same_outputs: {' '.join(cmd)} failed in {tree}:\n{done.stderr}")


def _recipe(path: Path) -> dict:
    recipe = json.loads(path.read_text())
    recipe.pop("versions", None)
    for run in [recipe.get("run", {}), *recipe.get("frames", [])]:  # a stack's recipe has one per time point
        for key in TIMING:
            run.pop(key, None)
    return recipe


def _differences(a: Path, b: Path, ref: str) -> list[str]:
    names_a = {p.relative_to(a) for p in a.rglob("*") if p.is_file()}
    names_b = {p.relative_to(b) for p in b.rglob("*") if p.is_file()}
    diffs = [f"only in {ref}: {n}" for n in sorted(names_a - names_b)]
    diffs += [f"only in this tree: {n}" for n in sorted(names_b - names_a)]
    for name in sorted(names_a & names_b):
        if name.name.endswith("_recipe.json"):
            if _recipe(a / name) != _recipe(b / name):
                diffs.append(f"recipe differs: {name}")
        elif (a / name).read_bytes() != (b / name).read_bytes():
            diffs.append(f"bytes differ: {name}")
    return diffs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ref", help="the commit to compare with (e.g. HEAD~3 or a hash)")
    parser.add_argument("--samples", nargs="+", default=["coffee", "ihc", "brain"])
    parser.add_argument("--methods", nargs="+", default=["cluster", "wnet"])
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="same-outputs-") as tmp:
        tmp = Path(tmp)
        ref_tree = tmp / "ref"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(ref_tree), args.ref], check=True
        )
        try:
            samples = _write_samples(tmp, args.samples)
            diffs = []
            for label, run_args in _runs(samples, args.methods):
                outs = [tmp / tree / label for tree in ("out-ref", "out-here")]
                _segment(ref_tree, run_args, outs[0])
                _segment(ROOT, run_args, outs[1])
                found = _differences(*outs, args.ref)
                print(f"{label}: {'same' if not found else 'DIFFERENT'}", flush=True)
                diffs += [f"{label}: {d}" for d in found]
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(ref_tree)], check=False)
    for line in diffs:
        print(line)
    print("same outputs" if not diffs else f"{len(diffs)} difference(s)")
    return 0 if not diffs else 1


if __name__ == "__main__":
    sys.exit(main())
