"""Differentiable feature clustering: loss terms, stopping, scribble classes, seeds, stop, warm start."""

import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from napari_unsup_seg.core.cluster import PRESETS, ClusterParams, ClusterResult, fit
from napari_unsup_seg.core.cluster_net import (
    ClusterNet,
    build_features,
    continuity_loss,
    masked_cross_entropy,
    resize_scribbles,
    similarity_loss,
    total_loss,
)
from napari_unsup_seg.core.errors import InputError
from napari_unsup_seg.core.progress import drain

H, W = 16, 20
TINY = ClusterParams(n_channels=8, n_blocks=1, max_iter=6, time_budget=None, scale=1.0, min_iter=0)


def _image(channels=3):
    rng = np.random.default_rng(0)
    img = np.full((channels, H, W), 0.2, np.float32)
    img[:, :, W // 2 :] = 0.8
    img += rng.normal(0, 0.02, img.shape).astype(np.float32)
    return np.clip(img, 0, 1)


def _scribbles(left=2, right=5):
    s = np.zeros((H, W), np.int32)
    s[4:12, 2:4] = left
    s[4:12, W - 4 : W - 2] = right
    return s


def _run(image=None, scribbles=None, params=TINY, **kw):
    events = []
    res = drain(fit(_image() if image is None else image, scribbles, params, device="cpu", **kw), events.append)
    return res, events


# ---- loss terms -------------------------------------------------------------------------


def test_continuity_of_constant_map_is_zero():
    assert continuity_loss(torch.full((1, 4, 5, 6), 3.0)).item() == 0.0


def test_continuity_of_a_step():
    r = torch.zeros(1, 1, 4, 4)
    r[..., 2:] = 1.0  # one vertical edge: horizontal differences 1 in one of three columns
    assert continuity_loss(r).item() == pytest.approx(1 / 3)
    assert continuity_loss(r.transpose(-1, -2)).item() == pytest.approx(1 / 3)


def test_similarity_loss_small_for_confident_map_and_masks():
    r = torch.zeros(1, 3, 2, 2)
    r[0, 1] = 20.0
    assert similarity_loss(r).item() < 1e-6
    target = torch.zeros(1, 2, 2, dtype=torch.long)  # class 0 everywhere: wrong for the map
    mask = torch.zeros(1, 2, 2, dtype=torch.bool)
    assert masked_cross_entropy(r, target, mask).item() == 0.0  # no pixel: 0, not NaN
    mask[0, 0, 0] = True
    assert masked_cross_entropy(r, target, mask).item() == pytest.approx(20.0, abs=1e-3)


def test_total_loss_similarity_ignores_scribbled_pixels():
    r = torch.zeros(1, 3, 2, 2)
    r[0, 1] = 20.0
    r[0, :, 0, 0] = 0.0  # uncertain pixel, scribbled as class 1
    target = torch.ones(1, 2, 2, dtype=torch.long)
    mask = torch.zeros(1, 2, 2, dtype=torch.bool)
    mask[0, 0, 0] = True
    no_scr = total_loss(r, w_similarity=1, w_continuity=0)
    with_scr = total_loss(r, w_similarity=1, w_continuity=0, w_scribble=0.0, scribble_target=target, scribble_mask=mask)
    assert no_scr.item() > 0.1 and with_scr.item() < 1e-6


def test_network_shape():
    net = ClusterNet(5, 7, 3)
    assert net(torch.rand(1, 5, 9, 11)).shape == (1, 7, 9, 11)


def test_features_and_scribble_resize():
    img = _image()
    assert build_features(img, ("image",), 1.0).shape == (3, H, W)
    assert build_features(img, ("image", "lab", "xy"), 1.0).shape == (8, H, W)
    assert build_features(img[:1], ("image", "lab", "xy"), 1.0).shape == (3, H, W)  # no Lab for gray
    s = np.zeros((40, 40), np.int32)
    s[5, 3:30] = 2  # a 1-pixel stroke survives a 1/4 downscale
    small = resize_scribbles(s, (10, 10))
    assert set(np.unique(small)) == {0, 2} and (small == 2).sum() >= 6


# ---- parameters ---------------------------------------------------------------------------


def test_presets():
    assert PRESETS == ("fast", "paper")
    assert ClusterParams.preset("fast") == ClusterParams()
    paper = ClusterParams.preset("paper")
    assert (paper.n_channels, paper.n_blocks, paper.lr, paper.momentum) == (100, 2, 0.1, 0.9)
    assert (paper.w_similarity, paper.w_continuity, paper.w_scribble, paper.min_labels) == (1, 1, 0.5, 3)
    assert paper.scale == 1.0 and paper.features == ("image",) and paper.max_iter == 1000
    with pytest.raises(InputError):
        ClusterParams.preset("slow")
    with pytest.raises(InputError):
        ClusterParams(n_channels=1)
    with pytest.raises(InputError):
        ClusterParams(features=("lab",))


# ---- fit ------------------------------------------------------------------------------------


def test_scribble_classes_respected():
    scr = _scribbles(2, 5)
    res, events = _run(scribbles=scr)
    assert isinstance(res, ClusterResult)
    assert res.labels.shape == (H, W) and res.labels.dtype == np.int32
    assert set(np.unique(res.labels)) <= {2, 5}
    assert np.array_equal(res.labels[scr > 0], scr[scr > 0])
    assert res.label_values.tolist() == [2, 5]
    assert res.soft.shape == (2, H, W) and res.soft.dtype == np.float32
    np.testing.assert_allclose(res.soft.sum(0), 1.0, atol=1e-5)
    assert res.clusters.shape == (H, W) and res.clusters.dtype == np.int32
    assert len(events) == res.n_iter and all(e.stage == "cluster" and e.total == TINY.max_iter for e in events)
    assert events[0].preview is not None and events[0].preview.dtype == np.int32


@pytest.mark.parametrize("assign", ["anchor", "vote", "graph"])
def test_scribbles_separate_two_halves(assign):
    params = TINY.replace(max_iter=30, n_channels=16, assign=assign, w_scribble=2.0)
    res, _ = _run(scribbles=_scribbles(1, 2), params=params)
    assert (res.labels[:, : W // 2 - 2] == 1).mean() > 0.9
    assert (res.labels[:, W // 2 + 2 :] == 2).mean() > 0.9


def test_graph_assigns_unscribbled_region_by_colour():
    img = np.full((3, H, 3 * 8), 0.2, np.float32)
    img[:, :, 8:16] = 0.25  # middle stripe: like the left one, no scribble
    img[:, :, 16:] = 0.9
    scr = np.zeros((H, 24), np.int32)
    scr[4:12, 2] = 1
    scr[4:12, 21] = 2
    params = TINY.replace(max_iter=20, n_channels=16, assign="graph", features=("image", "xy"), xy_weight=3.0)
    res, _ = _run(image=img, scribbles=scr, params=params)
    assert (res.labels[:, 9:15] == 1).mean() > 0.9 and (res.labels[:, 17:] == 2).mean() > 0.9
    np.testing.assert_allclose(res.soft.sum(0), 1.0, atol=1e-5)
    assert np.array_equal(res.label_values[res.soft.argmax(0)], res.labels)


def test_no_scribble_mode():
    res, _ = _run()
    n = len(np.unique(res.labels))
    assert np.array_equal(np.unique(res.labels), np.arange(1, n + 1))
    assert res.soft.shape == (n, H, W) and res.label_values.tolist() == list(range(1, n + 1))
    np.testing.assert_allclose(res.soft.sum(0), 1.0, atol=1e-5)
    assert len(np.unique(res.clusters)) == n


def test_stopping_rule():
    res, events = _run(params=TINY.replace(min_labels=TINY.n_channels, stable_tol=0.0))
    assert res.n_iter == 1 and events[-1].n_labels <= TINY.n_channels
    res, _ = _run(params=TINY.replace(min_labels=1, stable_tol=0.0, max_iter=3))
    assert res.n_iter == 3  # noise never falls to one cluster in 3 steps
    # label count is read only every check_every iterations
    res, events = _run(params=TINY.replace(min_labels=TINY.n_channels, stable_tol=0.0, min_iter=3, check_every=2))
    assert res.n_iter == 4 and [e.n_labels is not None for e in events] == [True] * 4
    # with scribbles the threshold is the number of classes, not min_labels
    params = TINY.replace(n_channels=2, min_labels=1, stable_tol=0.0, max_iter=40)
    res, _ = _run(scribbles=_scribbles(), params=params)
    assert res.n_iter == 1


def test_time_budget():
    params = TINY.replace(max_iter=10_000, time_budget=0.3)
    res, _ = _run(params=params)
    assert res.n_iter < 10_000 and not res.stopped


def test_coarse_to_fine_gives_full_resolution():
    for upsample in ("net", "logits"):
        params = TINY.replace(scale=0.5, refine_iter=2, upsample=upsample, features=("image", "lab", "xy"))
        res, _ = _run(scribbles=_scribbles(), params=params)
        assert res.labels.shape == (H, W) and res.soft.shape == (2, H, W)


def test_seeded_runs_are_reproducible():
    a, _ = _run(scribbles=_scribbles(), seed=3)
    b, _ = _run(scribbles=_scribbles(), seed=3)
    assert np.array_equal(a.labels, b.labels) and np.array_equal(a.clusters, b.clusters)
    np.testing.assert_array_equal(a.soft, b.soft)


def test_stop_event():
    stop = threading.Event()
    stop.set()
    res, _ = _run(scribbles=_scribbles(), stop=stop)
    assert res.stopped and res.n_iter == 0 and res.labels.shape == (H, W)


def test_stop_midway_returns_result():
    stop = threading.Event()

    def cb(event):
        if event.step == 2:
            stop.set()

    res = drain(fit(_image(), _scribbles(), TINY.replace(max_iter=100), device="cpu", stop=stop), cb)
    assert res.stopped and res.n_iter == 2 and set(np.unique(res.labels)) <= {2, 5}


def _stop_in_second_step(stop, when):
    """A global hook that sets ``stop`` in the second training step: in its forward pass, or
    as its backward pass starts (``when``)."""
    convs = []

    def hook(module, _args, output):
        if not isinstance(module, torch.nn.Conv2d) or not torch.is_grad_enabled():
            return
        convs.append(module)
        first_of_step_2 = len(convs) == 3  # TINY has two convolutions
        if when == "forward" and first_of_step_2:
            stop.set()
        if when == "backward" and len(convs) == 4:  # the last layer of step 2
            output.register_hook(lambda grad: stop.set())

    return torch.nn.modules.module.register_module_forward_hook(hook)


@pytest.mark.parametrize("when", ["forward", "backward"])
def test_a_stop_during_a_step_ends_it_there_with_the_weights_of_the_last_whole_step(when):
    # a step on a large image (the paper preset) or a batch of slices takes seconds on a CPU:
    # Stop waited for it to end, then for the result
    stop = threading.Event()
    handle = _stop_in_second_step(stop, when)
    try:
        res = drain(fit(_image(), _scribbles(), TINY.replace(max_iter=100), device="cpu", stop=stop))
    finally:
        handle.remove()
    one = drain(fit(_image(), _scribbles(), TINY.replace(max_iter=1), device="cpu"))
    assert stop.is_set() and res.stopped and res.n_iter == 1
    for name, value in one.state["model"].items():
        torch.testing.assert_close(res.state["model"][name], value, msg=name)
    assert set(np.unique(res.labels)) <= {2, 5}


def test_a_volume_stop_during_a_step_ends_it_there():
    stop = threading.Event()
    volume = np.stack([_image()] * 4, axis=1)  # (C, Z, H, W)
    handle = _stop_in_second_step(stop, "forward")
    try:
        res = drain(fit(volume, None, TINY.replace(max_iter=100), device="cpu", stop=stop))
    finally:
        handle.remove()
    assert res.stopped and res.n_iter == 1 and res.labels.shape == volume.shape[1:]


def test_warm_start():
    first, _ = _run(scribbles=_scribbles())
    assert first.state["model"] and all(v.device.type == "cpu" for v in first.state["model"].values())
    import pickle

    state = pickle.loads(pickle.dumps(first.state))
    res, events = _run(scribbles=_scribbles(), warm_start=state)
    assert "warm start: continuing" in events[0].message
    # a mismatched state (other size) is ignored with a message, not an error
    small = _image()[:, :12, :12]
    res, events = _run(image=small, warm_start=state)
    assert "ignored" in events[0].message and res.labels.shape == (12, 12)
    res, events = _run(warm_start={"junk": 1})
    assert "ignored" in events[0].message


@pytest.mark.parametrize("channels", [1, 3, 5])
def test_channel_counts(channels):
    res, _ = _run(image=_image(channels), scribbles=_scribbles(), params=TINY.replace(features=("image", "lab", "xy")))
    assert res.labels.shape == (H, W)


def test_bad_inputs():
    with pytest.raises(InputError):
        _run(scribbles=np.zeros((H + 1, W), np.int32) + 1)
    with pytest.raises(InputError):
        _run(scribbles=-_scribbles())
    with pytest.raises(InputError):
        _run(image=np.zeros((H, W), np.float32))
    many = np.arange(H * W, dtype=np.int32).reshape(H, W) % 12  # 11 classes > 8 channels
    with pytest.raises(InputError):
        _run(scribbles=many)


# ---- the benchmark's scribble synthesis (no data needed) ------------------------------------

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))


def test_bsds_scribble_synthesis_and_miou(monkeypatch, tmp_path):
    bsds = pytest.importorskip("bsds")
    gt = np.ones((60, 80), np.int32)
    gt[:, 40:] = 2
    gt[40:, :] = 3
    case = bsds.synthesize_scribbles(gt, seed=1, k_range=(3, 3))
    assert case.n_classes == 3 and set(np.unique(case.scribbles)) == {0, 1, 2, 3}
    for cls in (1, 2, 3):  # each class's strokes lie inside one GT region
        assert len(np.unique(gt[case.scribbles == cls])) == 1
    again = bsds.synthesize_scribbles(gt, seed=1, k_range=(3, 3))
    assert np.array_equal(case.scribbles, again.scribbles)
    assert bsds.scribble_miou(case.target, case) == 1.0
    monkeypatch.setenv(bsds.ROOT_ENV, str(tmp_path))
    monkeypatch.setattr(bsds.Path, "is_dir", lambda self: False)
    with pytest.raises(bsds.DataMissing):
        bsds.data_root()
