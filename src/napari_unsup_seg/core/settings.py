"""The settings a person chooses for a run: one model behind the CLI's flags and the widget's fields.

:class:`RunSettings` holds them as plain values, so the GUI thread can build one without
importing torch. Each field carries its help text, its range or choices, and its flag in
the field's metadata (:func:`setting`). The CLI makes one flag per field from them
(``_cli.settings_flags``); the widget's form returns a ``RunSettings`` and takes its ranges
and tooltips from the same metadata. :meth:`RunSettings.params` is the one translation into
the core's :class:`~.pipeline.SegmentParams`, whose serialisation is the recipe.

Adding a user-facing option is a field here plus its use in :meth:`RunSettings.params`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .cluster_params import PRESETS, SCRIBBLE_MAX_ITER
from .segmenters import SEGMENTERS

SEED_MAX = 2**32 - 1  # numpy's and torch's seeds


def setting(
    default: Any,
    help: str,
    *,
    low: float | None = None,
    high: float | None = None,
    choices: tuple | None = None,
    flag: str | None = None,
    metavar: str | None = None,
    path: bool = False,
    methods: tuple[str, ...] | None = None,
):
    """A :class:`RunSettings` field: its default and what the front ends show of it.

    ``flag`` is the CLI's name of it (default: the field's name with dashes); ``path``: the
    value names a file; ``methods``: the segmenters it applies to (default: all).
    """
    meta = {
        "help": help,
        "low": low,
        "high": high,
        "choices": choices,
        "flag": flag,
        "metavar": metavar,
        "path": path,
        "methods": methods,
    }
    if isinstance(default, dict):
        return field(default_factory=lambda: dict(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class RunSettings:
    """What a person sets for a run, in the CLI or the widget."""

    method: str = setting("cluster", "the segmenter", choices=tuple(SEGMENTERS))
    preset: str = setting(
        "fast",
        "clustering preset: fast is tuned to run at the screen, paper is Kanezaki's settings (slow)",
        choices=tuple(PRESETS),
        methods=("cluster",),
    )
    max_iter: int | None = setting(
        None,
        f"clustering: maximum number of iterations (default: the preset's; with scribbles {SCRIBBLE_MAX_ITER})",
        low=1,
        high=1_000_000,
        methods=("cluster",),
    )
    time_budget: float | None = setting(
        None,
        "clustering: seconds per image at most (default: no limit, so "
        "that a seed gives the same result on a busy machine; a run "
        "stopped by it says so in its recipe, stop_reason)",
        low=0.001,
        methods=("cluster",),
    )
    min_labels: int | None = setting(
        None, "clustering without scribbles: stop at this many labels", low=1, high=10_000, methods=("cluster",)
    )
    weights: str | None = setting(
        None, "W-Net: a weights file of your own (default: shipped)", path=True, methods=("wnet",)
    )
    adapt: int = setting(
        0, "W-Net: N adaptation steps on each image", low=0, high=100_000, metavar="N", methods=("wnet",)
    )
    use_crf: bool = setting(True, "dense CRF refinement of a run without scribbles", flag="crf")
    crf: dict = setting({}, "dense CRF parameters that differ from core.crf.CRFParams' defaults")
    seed: int = setting(0, "random seed, 0 to 2**32-1", low=0, high=SEED_MAX)
    device: str = setting("auto", "auto, cpu, cuda, cuda:N or mps")
    work_pixels: int = setting(
        1024 * 1024,
        "images of more pixels are fitted at a working resolution of at "
        "most N pixels and brought to full resolution by tiles",
        low=4096,
        metavar="N",
    )
    learned_contours: bool | None = setting(
        None,
        "build the hierarchy (UCM) on the learned contour detector fitted on BSDS500 train "
        "(core.hierarchy.LEARNED_CONTOURS) instead of colour and the segmenter's output "
        "(default: on for W-Net on 2D images without scribbles, where it was measured better; off otherwise)",
    )

    def for_method(self) -> RunSettings:
        """These settings with those that do not apply to :attr:`method` at their defaults."""
        unused = {
            f.name: describe(f.name)["default"] for f in dataclasses.fields(self) if not applies(f.name, self.method)
        }
        return dataclasses.replace(self, **unused)

    def params(self, *, build_ucm: bool = True):
        """The core's :class:`~.pipeline.SegmentParams` for these settings (imports torch);
        settings that do not apply to the chosen segmenter are left at their defaults."""
        from .cluster_params import ClusterParams
        from .crf import CRFParams
        from .hierarchy import LEARNED_CONTOURS, HierarchyParams
        from .large import LargeParams
        from .pipeline import SegmentParams
        from .scribble_classes import PropagationParams
        from .wnet import WNetParams

        chosen = self.for_method()
        overrides = {
            name: getattr(chosen, name)
            for name in ("max_iter", "time_budget", "min_labels")
            if getattr(chosen, name) is not None
        }
        cluster = dataclasses.replace(ClusterParams.preset(chosen.preset), **overrides)
        # asked for, the iterations hold with scribbles too
        propagation = (
            PropagationParams() if chosen.max_iter is None else PropagationParams(cluster_iter=chosen.max_iter)
        )
        return SegmentParams(
            method=chosen.method,
            cluster=cluster,
            propagation=propagation,
            wnet=WNetParams(weights=chosen.weights or None, adapt_steps=chosen.adapt),
            crf=CRFParams(**chosen.crf),
            use_crf=chosen.use_crf,
            build_ucm=build_ucm,
            seed=chosen.seed,
            device=chosen.device,
            large=LargeParams(work_pixels=chosen.work_pixels),
            hierarchy=None
            if chosen.learned_contours is None
            else (LEARNED_CONTOURS if chosen.learned_contours else HierarchyParams()),
        )


def applies(name: str, method: str) -> bool:
    """Whether the setting ``name`` of :class:`RunSettings` matters to the segmenter ``method``."""
    methods = describe(name)["methods"]
    return methods is None or method in methods


def describe(name: str) -> dict:
    """The metadata of the field ``name`` of :class:`RunSettings`, with its ``default``."""
    f = next(f for f in dataclasses.fields(RunSettings) if f.name == name)
    default = f.default_factory() if f.default is dataclasses.MISSING else f.default
    return dict(f.metadata, default=default)


def settings_from_record(values: dict) -> RunSettings:
    """The :class:`RunSettings` recorded as a dict (``dataclasses.asdict``, as in a recipe's
    ``"settings"``); keys this version does not know (a newer one's) are left out."""
    known = {f.name for f in dataclasses.fields(RunSettings)}
    return RunSettings(**{k: v for k, v in values.items() if k in known})
