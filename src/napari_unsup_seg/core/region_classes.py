"""Classes of regions: each region of a cut takes the majority class of its scribbles."""

from __future__ import annotations

import numpy as np

from .errors import InputError
from .scribbles import validate_scribbles


def _majority(regions: np.ndarray, values: np.ndarray, n_regions: int) -> tuple[np.ndarray, np.ndarray]:
    """Most frequent value per region (ties: smallest value) and whether it had any pixel."""
    if regions.size == 0:
        return np.zeros(n_regions, np.int64), np.zeros(n_regions, bool)
    values = np.asarray(values).astype(np.int64, copy=False)
    lo, hi = int(values.min()), int(values.max())
    if n_regions * (hi - lo + 1) <= 2**24:  # small table: count every (region, value) pair
        counts = np.bincount(regions * (hi - lo + 1) + (values - lo), minlength=n_regions * (hi - lo + 1))
        counts = counts.reshape(n_regions, hi - lo + 1)
        has = counts.any(1)
        return np.where(has, counts.argmax(1) + lo, 0), has
    uniq, inverse = np.unique(values, return_inverse=True)
    key = regions.astype(np.int64) * len(uniq) + inverse.ravel()
    keys, counts = np.unique(key, return_counts=True)
    reg, val = keys // len(uniq), keys % len(uniq)
    # sort by region, then count descending, then value ascending: first of each region wins
    order = np.lexsort((val, -counts, reg))
    reg, val = reg[order], val[order]
    first = np.ones(len(reg), bool)
    first[1:] = reg[1:] != reg[:-1]
    out = np.zeros(n_regions, np.int64)
    out[reg[first]] = uniq[val[first]]
    has = np.zeros(n_regions, bool)
    has[reg[first]] = True
    return out, has


def _region_ids(regions: np.ndarray) -> tuple[np.ndarray, int]:
    """Non-negative region ids (the labels themselves when they are small) and their count."""
    if np.issubdtype(regions.dtype, np.integer) and regions.size:
        lo, hi = int(regions.min()), int(regions.max())
        if lo >= 0 and hi < 4 * regions.size + 16:
            return regions.astype(np.int64, copy=False), hi + 1
    _, ids = np.unique(regions, return_inverse=True)
    ids = ids.reshape(regions.shape)
    return ids, int(ids.max()) + 1 if ids.size else 0


def region_classes(regions: np.ndarray, scribbles: np.ndarray | None, fallback: np.ndarray | None = None) -> np.ndarray:
    """(H, W) int32 class map: each region takes the majority class of its scribbled pixels.

    Regions without scribbles take the majority of ``fallback`` (for example the
    segmenter's class labels), or 0 when ``fallback`` is None. Ties go to the smaller
    class value.
    """
    regions = np.asarray(regions)
    ids, n = _region_ids(regions)
    cls = np.zeros(n, np.int64)
    has = np.zeros(n, bool)
    if scribbles is not None:
        scribbles = validate_scribbles(scribbles, regions.shape, require_class=False)
        marked = scribbles > 0
        cls, has = _majority(ids[marked], scribbles[marked], n)
    if fallback is not None:
        fallback = np.asarray(fallback)
        if fallback.shape != regions.shape:
            raise InputError(f"the fallback labels have shape {fallback.shape}, not {regions.shape}")
        todo = ~has[ids]
        if todo.any():
            fb, fb_has = _majority(ids[todo], fallback[todo], n)
            cls = np.where(has, cls, np.where(fb_has, fb, 0))
    return cls[ids].astype(np.int32)
