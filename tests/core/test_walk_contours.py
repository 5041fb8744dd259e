"""The contour network's boundaries in the scribble walks: on images, found once, at full resolution."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from napari_unsup_seg.core import contour_net
from napari_unsup_seg.core.errors import InputError
from napari_unsup_seg.core.pipeline import SegmentParams, segment
from napari_unsup_seg.core.scribble_classes import PropagationParams
from napari_unsup_seg.core.walk_input import walk_input


@pytest.fixture
def calls(monkeypatch):
    """Every image the contour network is run on; it answers a ridge at 5/8 of the width."""
    seen = []

    def fake(image, weights=None):
        seen.append(np.array(image))
        prob = np.full(image.shape[1:], 0.05, np.float32)
        wall = image.shape[2] * 5 // 8
        prob[:, wall - 1 : wall + 1] = 0.95
        return prob

    monkeypatch.setattr(contour_net, "contour_probability", fake)
    monkeypatch.setattr(contour_net, "_RECENT", {})
    return seen


def _flat(h=64, w=96):
    image = np.full((1, h, w), 0.5, np.float32)
    scribbles = np.zeros((h, w), np.int32)
    scribbles[:, 2] = 1
    scribbles[:, w - 3] = 2
    return image, scribbles


def test_images_get_boundaries_and_volumes_do_not(calls):
    image = np.random.default_rng(0).random((3, 40, 50)).astype(np.float32)
    base = walk_input(image, PropagationParams())
    assert base.boundary.prob.shape == (40, 50) and base.boundary.weight == PropagationParams().contour_weight
    assert base.image.shape == (3, 40, 50)
    assert walk_input(image, PropagationParams(contour_weight=0)).boundary is None
    assert walk_input(np.zeros((1, 4, 20, 20), np.float32), PropagationParams()).boundary is None
    assert len(calls) == 1


def test_the_boundaries_of_an_image_are_found_once_as_live_mode_walks_it_again(calls):
    image, _ = _flat()
    first = walk_input(image, PropagationParams()).boundary.prob
    assert walk_input(image.copy(), PropagationParams()).boundary.prob is first
    walk_input(image + 0.1, PropagationParams())
    assert len(calls) == 2


def test_the_network_sees_the_image_shrunk_to_its_largest_side(calls):
    image = np.random.default_rng(0).random((1, 300, 500)).astype(np.float32)
    prob = walk_input(image, PropagationParams(contour_max_side=200)).boundary.prob
    assert calls[0].shape == (1, 120, 200) and prob.shape == (300, 500)


def test_the_first_and_the_final_mask_follow_the_boundaries(calls):
    image, scribbles = _flat()  # no contrast: only the boundary map places the border
    for weight, column in ((0.25, 60), (0.0, 48)):
        # the network's features on a flat image say nothing: the final walk on the image alone
        walks = PropagationParams(contour_weight=weight, feature_weights=(0.0,))
        params = dataclasses.replace(SegmentParams(build_ucm=False, seed=0), propagation=walks)
        gen = segment(image, scribbles, params)
        events = []
        try:
            while True:
                events.append(next(gen))
        except StopIteration as done:
            result = done.value
        first = next(e.result for e in events if e.result is not None)
        for labels in (first, result.labels):
            assert abs((labels == 1).sum(1).mean() - column) <= 1.5, weight


def test_bad_contour_settings_are_refused():
    for kwargs in ({"contour_weight": -1}, {"contour_weight": float("nan")}, {"contour_max_side": 8}):
        with pytest.raises(InputError):
            PropagationParams(**kwargs)


def test_the_shipped_network_gives_a_map_of_the_image_size():
    image = np.zeros((1, 48, 64), np.float32)
    image[:, :, 32:] = 1
    prob = walk_input(image, PropagationParams()).boundary.prob
    assert prob.shape == (48, 64) and prob[:, 30:34].mean() > prob[:, :16].mean()
