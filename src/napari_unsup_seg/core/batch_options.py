"""What a batch writes and how it reads its inputs: :class:`BatchOptions`, one per batch.

The CLI's output and stack flags fill one; :func:`settings` is the part of a run's
fingerprint (:mod:`core.resume`) that they and the parameters make.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BatchOptions:
    """What a batch writes and how it reads stacks; the CLI flags of the same names.

    Attributes
    ----------
    ucm, masks, uncertainty, coco : bool
        Also write ``<stem>_ucm.tif``, the per-class masks, ``<stem>_uncertainty.tif``,
        ``<stem>_coco_instances.json`` and ``<stem>_coco_semantic.json``.
    threshold, regions : float or int, optional
        Write the UCM cut at this threshold, or with this many regions, as the labels.
    axes, channels, scope, slice, spacing
        How an input is read as a stack (:mod:`core.axes`, :mod:`core.series`).
    png_scribbles : bool
        Scribbles use the PNG convention: 255 unlabeled, 0..254 classes.
    overwrite : bool
        Replace outputs from other settings or inputs.
    level : int
        The resolution level read from an OME-Zarr input.
    zarr_labels : str, optional
        Also write the labels as this labels group of each (OME-Zarr) input image.
    """

    ucm: bool = False
    masks: bool = False
    uncertainty: bool = False
    coco: bool = False
    threshold: float | None = None
    regions: int | None = None
    axes: str | None = None
    channels: tuple[int, ...] | None = None
    scope: str = "volume"
    slice: int | None = None
    spacing: tuple[float, float, float] | None = None
    png_scribbles: bool = False
    overwrite: bool = False
    level: int = 0
    zarr_labels: str | None = None


def settings(params, options: BatchOptions) -> dict:
    """The settings part of a run's fingerprint (:func:`core.resume.fingerprint`)."""
    from .recipe import jsonable

    outputs = {
        "ucm": options.ucm,
        "masks": options.masks,
        "threshold": options.threshold,
        "regions": options.regions,
        "uncertainty": options.uncertainty,
    }
    if options.coco:  # absent when not asked for: fingerprints of runs without it stay as they were
        outputs["coco"] = True
    stacks = {
        "axes": options.axes,
        "channels": options.channels,
        "scope": options.scope,
        "slice": options.slice,
        "spacing": options.spacing,
    }
    if options.level or options.zarr_labels:  # absent before: older fingerprints stay valid
        stacks.update(level=options.level, zarr_labels=options.zarr_labels)
    return {"parameters": jsonable(params), "outputs": outputs, "stacks": jsonable(stacks)}
