"""Writing a result into a user's own label image (their ground truth), a few classes at a time.

An annotator builds a label image over many runs: each run's result, or part of it, is
committed into it. Three ways to write the chosen classes of ``result``:

- ``"semantic"``: class k is written as ``values[k]`` (default: k itself);
- ``"object"``: every chosen pixel as one label value (``start``, default: the next free
  label, ``max(target) + 1``): one class as one object;
- ``"instances"``: each connected region of a chosen class as its own label, numbered
  from ``start`` (default: the next free label) in raster order.

Only unlabelled pixels (0) of the target are written unless ``overwrite``; 0 in the result
(a part of a stack not segmented) is never a class. The plan holds the changed pixels
only, so a front end can apply it as one undoable edit.

>>> target = np.array([[0, 0, 5], [0, 0, 0]], np.uint8)
>>> result = np.array([[1, 1, 2], [1, 2, 2]])
>>> new, summary = commit_labels(target, result, classes=[2], values={2: 9})
>>> new.tolist()
[[0, 0, 5], [0, 9, 9]]
>>> summary.written, summary.kept
({9: 2}, 1)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from .errors import InputError
from .export import class_values

MODES = ("semantic", "object", "instances")
_LUT_LIMIT = 1 << 24  # results with larger values are looked at with np.unique, not a table


@dataclass(frozen=True)
class CommitSummary:
    """What a commit writes.

    ``written``: changed pixels per label value; ``kept``: pixels of the chosen classes
    left as they were because the target had a label there already; ``replaced``: pixels
    of ``written`` that had another label (only with ``overwrite``).
    """

    written: dict[int, int]
    kept: int
    replaced: int = 0

    @property
    def total(self) -> int:
        return sum(self.written.values())

    def describe(self, into: str | None = None) -> str:
        """One line for a status bar: "wrote 1,234 px as label 7; kept 56 px already labelled"."""
        if not self.written:
            if self.kept:
                return (
                    f"nothing written: the {self.kept:,} px of the chosen classes are labelled already "
                    "(tick Overwrite to replace them)"
                )
            return "nothing written: the chosen classes have no pixels"
        labels = sorted(self.written)
        if len(labels) == 1:
            as_what = f"as label {labels[0]}"
        elif len(labels) <= 4:
            as_what = f"as labels {', '.join(map(str, labels))}"
        else:
            as_what = f"as {len(labels):,} labels ({labels[0]}-{labels[-1]})"
        words = f"wrote {self.total:,} px {as_what}" + (f" into {into}" if into else "")
        if self.replaced:
            words += f" ({self.replaced:,} px relabelled)"
        if self.kept:
            words += f"; kept {self.kept:,} px already labelled"
        return words


@dataclass(frozen=True)
class CommitPlan:
    """The pixels a commit changes (``index``, as from ``np.nonzero``) and their new ``values``."""

    index: tuple[np.ndarray, ...]
    values: np.ndarray
    summary: CommitSummary

    def apply(self, target: np.ndarray) -> np.ndarray:
        """A copy of ``target`` with the plan written."""
        out = np.array(target, copy=True)
        out[self.index] = self.values
        return out


def present_classes(result: np.ndarray) -> np.ndarray:
    """The values above 0 in ``result``, sorted."""
    return class_values(np.asarray(result)).astype(np.int64)


def commit_labels(
    target,
    result,
    *,
    classes: Iterable[int] | None = None,
    values=None,
    mode: str = "semantic",
    overwrite: bool = False,
    start: int | None = None,
    connectivity: int = 1,
) -> tuple[np.ndarray, CommitSummary]:
    """``target`` with the chosen classes of ``result`` written into it (a new array), and the counts.

    See :func:`plan_commit` for the parameters.
    """
    plan = plan_commit(
        target,
        result,
        classes=classes,
        values=values,
        mode=mode,
        overwrite=overwrite,
        start=start,
        connectivity=connectivity,
    )
    return plan.apply(target), plan.summary


def plan_commit(
    target,
    result,
    *,
    classes: Iterable[int] | None = None,
    values: Mapping[int, int] | None = None,
    mode: str = "semantic",
    overwrite: bool = False,
    start: int | None = None,
    connectivity: int = 1,
) -> CommitPlan:
    """The pixels of ``target`` that committing ``result`` changes, and their new values.

    Parameters
    ----------
    target : (H, W) or (Z, H, W) integer array
        The user's labels; 0 = unlabelled. Not modified.
    result : integer array of the same shape
        Classes (or segments) 1..K; 0 is no class.
    classes : iterable of int, optional
        The classes to write (default: every class in ``result``).
    values : mapping {class: label value}, optional
        ``"semantic"`` only: the value class k is written as (default: k).
    mode : {"semantic", "object", "instances"}
    overwrite : bool
        Also write over pixels the target has labelled already.
    start : int, optional
        ``"object"``: the label value; ``"instances"``: the first one. Default: ``max(target) + 1``.
    connectivity : int
        Of the regions in ``"instances"`` mode (1: faces only; ``ndim``: also corners).

    Raises
    ------
    InputError
        Shapes differ, an array is not of integers, a class is not in ``result``, a
        value is below 1 or does not fit the target's dtype, or ``mode`` is unknown.
    """
    target, result = np.asarray(target), np.asarray(result)
    _check_arrays(target, result)
    if mode not in MODES:
        raise InputError(f"unknown commit mode {mode!r}: use one of {', '.join(MODES)}")
    if mode != "semantic" and values:
        raise InputError(f"label values per class are for the semantic mode; the {mode} mode takes start")
    present = present_classes(result)
    chosen = _chosen_classes(classes, present)
    if values:
        _chosen_classes(values.keys(), present)  # every class named has to exist
    picked = _mask_of(result, chosen, present)
    free = picked if overwrite else picked & (target == 0)
    first = _next_free(target) if start is None else int(start)
    if mode == "semantic":
        new_values = _semantic_values(result, free, chosen, values or {}, target.dtype)
    elif mode == "object":
        _check_fits([first], target.dtype)
        new_values = np.full(int(np.count_nonzero(free)), first, target.dtype)
    else:
        new_values = _instance_values(result, picked, free, first, connectivity, target.dtype)
    index = np.nonzero(free)
    replaced = 0
    if overwrite:  # keep only the pixels that change (without overwrite, 0 -> a label >= 1: all do)
        before = target[free]
        change = before != new_values
        index, new_values = tuple(i[change] for i in index), new_values[change]
        replaced = int(np.count_nonzero(before[change]))
    kept = int(np.count_nonzero(picked)) - new_values.size
    return CommitPlan(index, new_values, CommitSummary(_counts(new_values), kept, replaced))


def _counts(values: np.ndarray) -> dict[int, int]:
    """{value: how many times}, by a count table when the values span a small range."""
    if values.size == 0:
        return {}
    low, high = int(values.min()), int(values.max())
    if high - low < _LUT_LIMIT:
        counts = np.bincount((values - low).astype(np.intp, copy=False))
        present = np.flatnonzero(counts)
        return {int(v) + low: int(n) for v, n in zip(present, counts[present])}
    labels, counts = np.unique(values, return_counts=True)
    return {int(v): int(n) for v, n in zip(labels, counts)}


def _check_arrays(target: np.ndarray, result: np.ndarray) -> None:
    if target.shape != result.shape:
        raise InputError(
            f"the labels layer has shape {target.shape} but the result {result.shape}: "
            "commit into labels of the result's shape"
        )
    if target.ndim not in (2, 3):
        raise InputError(f"labels to commit into are 2D (H, W) or 3D (Z, H, W), not {target.ndim}D")
    for name, array in (("labels layer", target), ("result", result)):
        if not np.issubdtype(array.dtype, np.integer):
            raise InputError(f"the {name} holds {array.dtype} values, not integer labels")


def _chosen_classes(classes, present: np.ndarray) -> np.ndarray:
    if classes is None:
        return present
    chosen = np.unique(np.fromiter((int(k) for k in classes), np.int64))
    unknown = np.setdiff1d(chosen, present)
    if unknown.size:
        shown = ", ".join(str(k) for k in present[:20]) + (", ..." if present.size > 20 else "")
        raise InputError(f"class {int(unknown[0])} is not in the result (its classes: {shown or 'none'})")
    return chosen


def _mask_of(result: np.ndarray, chosen: np.ndarray, present: np.ndarray) -> np.ndarray:
    if chosen.size == present.size:  # every class: any pixel above 0
        return result > 0
    if chosen.size == 1:
        return result == chosen[0]
    if present[-1] < _LUT_LIMIT:  # a table lookup: several times faster than isin
        table = np.zeros(int(present[-1]) + 1, bool)
        table[chosen] = True
        return table[result if result.min() >= 0 else np.clip(result, 0, None)]
    return np.isin(result, chosen)


def _next_free(target: np.ndarray) -> int:
    return int(target.max(initial=0)) + 1 if target.size else 1


def _check_fits(labels, dtype: np.dtype) -> None:
    """Refuse label values below 1 or outside the range of ``dtype``."""
    labels = [int(v) for v in labels]
    if not labels:
        return
    low, high = min(labels), max(labels)
    if low < 1:
        raise InputError(f"label value {low} cannot be written: 0 means unlabelled, labels start at 1")
    top = int(np.iinfo(dtype).max)
    if high > top:
        raise InputError(
            f"label value {high} does not fit the labels layer's {np.dtype(dtype).name} values (at most {top})"
        )


def _semantic_values(result, free, chosen, values: Mapping[int, int], dtype) -> np.ndarray:
    """The value each ``free`` pixel gets: its class, or the value given for it."""
    wanted = {int(k): int(values.get(int(k), k)) for k in chosen}
    _check_fits(wanted.values(), dtype)
    classes = result[free]
    if all(k == v for k, v in wanted.items()):
        return classes.astype(dtype)
    keys = np.fromiter(wanted, np.int64)
    out = np.fromiter(wanted.values(), np.int64)
    return out[np.searchsorted(keys, classes)].astype(dtype)  # keys are sorted: chosen is


def _instance_values(result, picked, free, first: int, connectivity: int, dtype) -> np.ndarray:
    """Values of the ``free`` pixels: one per connected region of a class, consecutive from ``first``.

    Regions whose pixels are all kept (labelled already) take no number.
    """
    from skimage.measure import label

    regions = label(np.where(picked, result, 0), background=0, connectivity=connectivity)
    ids = regions[free]
    used, order = np.unique(ids, return_inverse=True)
    if used.size:
        _check_fits([first, first + used.size - 1], dtype)
    return (first + order).astype(dtype)
