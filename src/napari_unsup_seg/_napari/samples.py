"""npe2 sample data: the two samples of ``core.samples``, each with its scribbles."""

from __future__ import annotations

from .layers import META_KEY


def _sample(name: str) -> list[tuple]:
    from ..core.samples import load_sample, sample_class_names

    image, scribbles = load_sample(name)
    names = {k: n for k, n in enumerate(sample_class_names(name), start=1)}
    meta = {META_KEY: {"role": "scribbles", "image": name, "class_names": names}}
    return [
        (image, {"name": name, "rgb": True}, "image"),
        (scribbles, {"name": f"{name} scribbles", "metadata": meta}, "labels"),
    ]


def coffee() -> list[tuple]:
    """scikit-image's coffee photo with scribbles for coffee, cup and saucer, table."""
    return _sample("coffee")


def ihc() -> list[tuple]:
    """scikit-image's immunohistochemistry image with scribbles for three tissue classes."""
    return _sample("ihc")
