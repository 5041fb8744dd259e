"""The first mask on real annotators' scribbles (MedScribble dev), against the exact random walker.

Reads ``../shared/data/medscribble-dev`` (see ``benchmarks/medscribble.py``) and skips when
it is absent. The reference figures are ``skimage.segmentation.random_walker`` solved
exactly (``mode="bf"``) at its best beta over the 60 runs (30000), measured by
``benchmarks/bench_scribbles.py`` on the same runs; the instant mask alone must beat them
on every dataset (the final mask, with the clustering's features, does too).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
ms = pytest.importorskip("medscribble")

from napari_unsup_seg.core.scribble_classes import first_mask  # noqa: E402

EXACT_WALKER_IOU = {"ACDC": 0.858, "CAMUS": 0.716, "HipXRay": 0.933, "WBC": 0.823}


@pytest.fixture(scope="module")
def runs():
    try:
        return ms.list_runs()
    except ms.DataMissing as err:
        pytest.skip(str(err))


def test_the_first_mask_beats_the_exact_random_walker_on_every_dataset(runs):
    scores: dict[str, list[float]] = {}
    for run in runs:
        labels = first_mask(run.image[None], run.scribbles).labels()
        scores.setdefault(run.dataset, []).append(ms.iou_dice(labels == ms.FOREGROUND, run.truth)[0])
    means = {dataset: float(np.mean(values)) for dataset, values in scores.items()}
    assert set(means) == set(EXACT_WALKER_IOU)
    for dataset, walker in EXACT_WALKER_IOU.items():
        assert means[dataset] > walker, (dataset, round(means[dataset], 3))
