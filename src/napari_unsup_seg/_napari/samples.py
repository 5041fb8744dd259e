"""npe2 sample data: the samples of ``core.samples``, each with its scribbles."""

from __future__ import annotations

from .layers import META_KEY


def _scribbles_meta(name: str) -> dict:
    from ..core.samples import sample_class_names

    names = {k: n for k, n in enumerate(sample_class_names(name), start=1)}
    return {META_KEY: {"role": "scribbles", "image": name, "class_names": names}}


def _sample(name: str) -> list[tuple]:
    from ..core.samples import load_sample

    image, scribbles = load_sample(name)
    return [
        (image, {"name": name, "rgb": True}, "image"),
        (scribbles, {"name": f"{name} scribbles", "metadata": _scribbles_meta(name)}, "labels"),
    ]


def _volume_sample(name: str) -> list[tuple]:
    from ..core.samples import load_volume_sample

    volume, scribbles, spacing = load_volume_sample(name)
    return [
        (volume, {"name": name, "scale": spacing}, "image"),
        (scribbles, {"name": f"{name} scribbles", "metadata": _scribbles_meta(name), "scale": spacing}, "labels"),
    ]


def coffee() -> list[tuple]:
    """scikit-image's coffee photo with scribbles for coffee, cup and saucer, table."""
    return _sample("coffee")


def ihc() -> list[tuple]:
    """scikit-image's immunohistochemistry image with scribbles for three tissue classes."""
    return _sample("ihc")


def brain() -> list[tuple]:
    """nibabel's small MRI head volume (24 slices) with scribbles on two slices for brain and background."""
    return _volume_sample("brain")
