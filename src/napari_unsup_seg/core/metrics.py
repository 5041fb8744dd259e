"""Region benchmark metrics of BSDS500: segmentation covering, PRI, VI, and mean IoU.

The definitions follow the BSDS500 benchmark code (Arbelaez et al., PAMI 2011):

- segmentation covering (SC) of the ground truth by the segmentation: every ground-truth
  region takes its best Jaccard overlap with a segment, weighted by its size; annotators
  are pooled (equivalently, averaged, since each one covers the whole image);
- probabilistic Rand index (PRI): the Rand index against each annotator, averaged;
- variation of information (VI, in bits): averaged over annotators; lower is better.

Every label value is a region, 0 included (the BSDS ground truth has no "ignore" value).
:func:`evaluate_ucms` scores ultrametric contour maps at ``n_thresholds`` thresholds
evenly spaced in (0, 1) and reports the scores at the best threshold for the data set
(ODS) and the best threshold per image (OIS).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from .errors import InputError

__all__ = [
    "bsds_thresholds",
    "evaluate_labels",
    "evaluate_ucms",
    "probabilistic_rand_index",
    "segmentation_covering",
    "variation_of_information",
]


def bsds_thresholds(n_thresholds: int = 99) -> np.ndarray:
    """Thresholds of the BSDS benchmark: ``n`` values evenly spaced strictly inside (0, 1)."""
    if n_thresholds < 1:
        raise InputError("the number of thresholds must be at least 1")
    return np.linspace(1.0 / (n_thresholds + 1), 1.0 - 1.0 / (n_thresholds + 1), n_thresholds)


def _dense_ids(labels: np.ndarray) -> tuple[np.ndarray, int]:
    """Map any integer labels to 0..n-1 (flat int64) and return n."""
    flat = np.asarray(labels).ravel()
    if not np.issubdtype(flat.dtype, np.integer):
        if np.issubdtype(flat.dtype, np.floating) and np.all(flat == np.round(flat)):
            flat = flat.astype(np.int64)
        else:
            raise InputError("label images must hold whole numbers")
    lo, hi = int(flat.min()), int(flat.max())
    if hi - lo < 4 * flat.size:
        ids = flat.astype(np.int64) - lo
        present = np.zeros(hi - lo + 1, bool)
        present[ids] = True
        remap = np.cumsum(present) - 1
        return remap[ids], int(present.sum())
    uniq, inverse = np.unique(flat, return_inverse=True)
    return inverse.ravel().astype(np.int64), len(uniq)


_DENSE_LIMIT = 2**25  # largest (segments x ground-truth regions) table counted densely


class _Table:
    """Sparse contingency table between a segmentation and one ground truth."""

    __slots__ = ("rows", "cols", "counts", "seg_sizes", "gt_sizes", "n")

    def __init__(self, rows, cols, counts, n_seg, gt_sizes):
        self.rows, self.cols, self.counts = rows, cols, counts.astype(np.float64)
        self.seg_sizes = np.bincount(rows, weights=self.counts, minlength=n_seg)
        self.gt_sizes = gt_sizes.astype(np.float64)
        self.n = float(self.gt_sizes.sum())

    @classmethod
    def from_ids(cls, seg_ids, n_seg, gt_ids, n_gt) -> _Table:
        key = seg_ids * n_gt + gt_ids
        if n_seg * n_gt <= _DENSE_LIMIT:
            joint = np.bincount(key, minlength=n_seg * n_gt)
            nz = np.flatnonzero(joint)
            counts = joint[nz]
        else:
            nz, counts = np.unique(key, return_counts=True)
        return cls(nz // n_gt, nz % n_gt, counts, n_seg, np.bincount(gt_ids, minlength=n_gt))

    def merged(self, unit_to_seg: np.ndarray, n_seg: int) -> _Table:
        """The table after relabelling the segmentation's units with ``unit_to_seg``."""
        n_gt = len(self.gt_sizes)
        key = unit_to_seg[self.rows].astype(np.int64) * n_gt + self.cols
        joint = np.bincount(key, weights=self.counts, minlength=n_seg * n_gt)
        nz = np.flatnonzero(joint)
        return _Table(nz // n_gt, nz % n_gt, joint[nz], n_seg, self.gt_sizes)

    def covering_count(self) -> float:
        """Sum over ground-truth regions of size x best overlap (BSDS ``cntR``)."""
        union = self.seg_sizes[self.rows] + self.gt_sizes[self.cols] - self.counts
        overlap = self.counts / union
        best = np.zeros(len(self.gt_sizes))
        np.maximum.at(best, self.cols, overlap)
        return float(np.dot(best, self.gt_sizes))

    def rand_index(self) -> float:
        n = self.n
        if n < 2:
            return 1.0
        disagree = (
            np.dot(self.seg_sizes, self.seg_sizes)
            + np.dot(self.gt_sizes, self.gt_sizes)
            - 2.0 * np.dot(self.counts, self.counts)
        )
        return float(1.0 - disagree / (n * (n - 1.0)))

    def variation_of_information(self) -> float:
        n = self.n
        joint = self.counts / n
        p_seg = self.seg_sizes / n
        p_gt = self.gt_sizes / n
        mutual = np.dot(joint, np.log2(joint / (p_seg[self.rows] * p_gt[self.cols])))
        return float(max(_entropy(p_seg) + _entropy(p_gt) - 2.0 * mutual, 0.0))


def _entropy(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-np.dot(p, np.log2(p)))


def _check_pair(seg: np.ndarray, gt: np.ndarray) -> None:
    if np.shape(seg) != np.shape(gt):
        raise InputError(f"the segmentation has shape {np.shape(seg)} but the ground truth has shape {np.shape(gt)}")


def _tables(seg: np.ndarray, gts: Sequence[np.ndarray] | np.ndarray) -> list[_Table]:
    gts = _as_gt_list(gts)
    seg_ids, n_seg = _dense_ids(seg)
    tables = []
    for gt in gts:
        _check_pair(seg, gt)
        gt_ids, n_gt = _dense_ids(gt)
        tables.append(_Table.from_ids(seg_ids, n_seg, gt_ids, n_gt))
    return tables


def _as_gt_list(gts) -> list[np.ndarray]:
    if isinstance(gts, np.ndarray):
        gts = [gts] if gts.ndim == 2 else list(gts)
    gts = list(gts)
    if not gts:
        raise InputError("at least one ground-truth segmentation is needed")
    return gts


def segmentation_covering(seg: np.ndarray, gts) -> float:
    """Covering of the ground truths by ``seg`` (BSDS "SC"), in [0, 1].

    Parameters
    ----------
    seg : (H, W) int array
        Segmentation to score.
    gts : (H, W) array, list of (H, W) arrays, or (K, H, W) array
        One ground truth per annotator.

    Examples
    --------
    >>> a = np.array([[1, 1], [2, 2]])
    >>> segmentation_covering(a, [a])
    1.0
    """
    tables = _tables(seg, gts)
    return sum(t.covering_count() for t in tables) / sum(t.n for t in tables)


def probabilistic_rand_index(seg: np.ndarray, gts) -> float:
    """Rand index of ``seg`` against each ground truth, averaged (BSDS "PRI"), in [0, 1]."""
    tables = _tables(seg, gts)
    return float(np.mean([t.rand_index() for t in tables]))


def variation_of_information(seg: np.ndarray, gts) -> float:
    """Variation of information in bits against each ground truth, averaged (BSDS "VI")."""
    tables = _tables(seg, gts)
    return float(np.mean([t.variation_of_information() for t in tables]))


# ----------------------------------------------------------------------------------------
# Scoring many thresholds


class _ImageScores:
    """Per-threshold sums for one image: covering count, pixel count, RI and VI."""

    def __init__(self, n_thresholds: int):
        self.cov = np.zeros(n_thresholds)
        self.ri = np.zeros(n_thresholds)
        self.vi = np.zeros(n_thresholds)
        self.total = 0.0

    def add(self, k: int, tables: Sequence[_Table]) -> None:
        self.cov[k] = sum(t.covering_count() for t in tables)
        self.total = sum(t.n for t in tables)
        self.ri[k] = np.mean([t.rand_index() for t in tables])
        self.vi[k] = np.mean([t.variation_of_information() for t in tables])


def _summarise(images: list[_ImageScores], thresholds: np.ndarray) -> dict:
    if not images:
        raise InputError("there is no image to score")
    cov = np.stack([s.cov for s in images])
    total = np.array([s.total for s in images])
    ri = np.stack([s.ri for s in images])
    vi = np.stack([s.vi for s in images])
    sc_curve = cov.sum(0) / total.sum()
    pri_curve, vi_curve = ri.mean(0), vi.mean(0)
    k_sc, k_pri, k_vi = int(np.argmax(sc_curve)), int(np.argmax(pri_curve)), int(np.argmin(vi_curve))
    best_cov = cov[np.arange(len(images)), np.argmax(cov / total[:, None], axis=1)]
    return {
        "SC_ODS": float(sc_curve[k_sc]),
        "SC_OIS": float(best_cov.sum() / total.sum()),
        "PRI_ODS": float(pri_curve[k_pri]),
        "PRI_OIS": float(ri.max(1).mean()),
        "VI_ODS": float(vi_curve[k_vi]),
        "VI_OIS": float(vi.min(1).mean()),
        "SC_ODS_threshold": float(thresholds[k_sc]),
        "PRI_ODS_threshold": float(thresholds[k_pri]),
        "VI_ODS_threshold": float(thresholds[k_vi]),
        "n_images": len(images),
    }


def _partitions_from_ucm(ucm: np.ndarray, thresholds: np.ndarray) -> tuple[np.ndarray, Iterator]:
    """Base units of a UCM and, per threshold, the map unit -> region (0..n-1), n.

    For a UCM in the doubleSize layout of this package the units are the regions at the
    lowest threshold and each threshold is a cut of their single-linkage tree; any other
    UCM is labelled pixel by pixel with :func:`~napari_unsup_seg.core.hierarchy.labels_at`.
    """
    from .ucm import labels_at, tree_cut_leaves, ucm_is_consistent, ucm_to_tree

    ucm = np.asarray(ucm, np.float32)
    if ucm_is_consistent(ucm, float(thresholds[0])):
        base, tree, altitudes, _ = ucm_to_tree(ucm, float(thresholds[0]), check=False)
        return base, (tree_cut_leaves(tree, altitudes, t) for t in thresholds)
    # Components only grow with t, so each region at the lowest threshold stays whole;
    # pixels outside every region there (pixel elements above it) are units of their own.
    base = labels_at(ucm, thresholds[0]).ravel().astype(np.int64)
    loose = np.flatnonzero(base == 0)
    base[loose] = base.max() + 1 + np.arange(len(loose))
    base_ids, n_units = _dense_ids(base)
    first = np.full(n_units, base.size, np.int64)
    np.minimum.at(first, base_ids, np.arange(base.size))
    shape = ((ucm.shape[0] - 1) // 2, (ucm.shape[1] - 1) // 2)
    return base_ids.reshape(shape), (_dense_ids(labels_at(ucm, t).ravel()[first]) for t in thresholds)


def _score_image(
    base: np.ndarray,
    maps: Iterator,
    gts: list[np.ndarray],
    n_thresholds: int,
) -> _ImageScores:
    tables = _tables(base, gts)
    scores = _ImageScores(n_thresholds)
    for k, (unit_map, n_seg) in enumerate(maps):
        scores.add(k, [t.merged(unit_map, n_seg) for t in tables])
    return scores


def evaluate_ucms(ucms: Sequence[np.ndarray], gts: Sequence[Sequence[np.ndarray]], n_thresholds: int = 99) -> dict:
    """Score ultrametric contour maps with SC, PRI and VI at ODS and OIS.

    Parameters
    ----------
    ucms : list of (2H+1, 2W+1) float arrays in [0, 1]
        One BSDS "doubleSize" UCM per image; regions at threshold ``t`` are
        :func:`~napari_unsup_seg.core.hierarchy.labels_at` ``(ucm, t)``.
        A (H, W) integer array is accepted too and scored as a fixed segmentation.
    gts : list of lists of (H, W) label arrays
        The annotators' segmentations of each image.
    n_thresholds : int
        Number of thresholds evenly spaced in (0, 1) (99 in the BSDS benchmark).

    Returns
    -------
    dict
        ``SC_ODS, SC_OIS, PRI_ODS, PRI_OIS, VI_ODS, VI_OIS`` (VI: lower is better), the
        ODS thresholds ``SC_ODS_threshold, ...`` and ``n_images``.
    """
    if len(ucms) != len(gts):
        raise InputError(f"{len(ucms)} UCMs but {len(gts)} ground truths; one per image is needed")
    thresholds = bsds_thresholds(n_thresholds)
    images = []
    for ucm, image_gts in zip(ucms, gts):
        image_gts = _as_gt_list(image_gts)
        ucm = np.asarray(ucm)
        h, w = np.shape(image_gts[0])
        if ucm.shape == (h, w) and (np.issubdtype(ucm.dtype, np.integer) or ucm.dtype == bool):
            base, n = _dense_ids(ucm)
            same = np.arange(n)
            maps = ((same, n) for _ in thresholds)
            images.append(_score_image(base.reshape(h, w), maps, image_gts, n_thresholds))
            continue
        if ucm.shape != (2 * h + 1, 2 * w + 1):
            raise InputError(
                f"a UCM of shape {ucm.shape} does not match a ground truth of {h}x{w}: "
                f"a BSDS doubleSize UCM has shape ({2 * h + 1}, {2 * w + 1})"
            )
        base, maps = _partitions_from_ucm(ucm, thresholds)
        images.append(_score_image(base, maps, image_gts, n_thresholds))
    return _summarise(images, thresholds)


def evaluate_labels(labels: Sequence[np.ndarray], gts: Sequence[Sequence[np.ndarray]]) -> dict:
    """Score one segmentation per image: SC, PRI and VI (ODS and OIS coincide)."""
    if len(labels) != len(gts):
        raise InputError(f"{len(labels)} segmentations but {len(gts)} ground truths; one per image is needed")
    images = []
    for seg, image_gts in zip(labels, gts):
        image_gts = _as_gt_list(image_gts)
        base, n = _dense_ids(seg)
        images.append(_score_image(np.reshape(base, np.shape(seg)), [(np.arange(n), n)], image_gts, 1))
    scores = _summarise(images, np.array([np.nan]))
    for key in ("SC_ODS_threshold", "PRI_ODS_threshold", "VI_ODS_threshold"):
        scores.pop(key)
    return scores
