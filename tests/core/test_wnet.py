"""W-Net: model shapes, soft N-cut loss, training, weights files, tiled inference."""

from __future__ import annotations

import threading

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from napari_unsup_seg.core.errors import InputError
from napari_unsup_seg.core.progress import drain
from napari_unsup_seg.core.wnet import (
    TrainParams,
    WNet,
    WNetConfig,
    WNetParams,
    as_model_input,
    dense_soft_ncut_loss,
    load_model,
    predict,
    predict_soft,
    save_weights,
    shipped_weights_path,
    soft_ncut_loss,
    train,
)
from napari_unsup_seg.core.wnet.train import checkpoint_path, loss_log_path

TINY = WNetConfig(in_channels=3, k=4, width=4, depth=2)
TINY_TRAIN = dict(crop=32, batch=2, k=4, width=4, depth=2, lr=1e-2, checkpoint_every=2)


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_model(seed: int = 0) -> WNet:
    """A random tiny W-Net in eval mode with non-trivial batch-norm statistics."""
    torch.manual_seed(seed)
    net = WNet(TINY)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(0.0, 0.5)
                m.running_var.uniform_(0.5, 1.5)
    return net.eval()


def two_region_image(h: int = 32, w: int = 48) -> np.ndarray:
    """(3, h, w) image: a dark disc on a bright textured background."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:h, :w]
    disc = (yy - h / 2) ** 2 + (xx - w / 2) ** 2 < (min(h, w) / 3) ** 2
    gray = np.where(disc, 0.2, 0.8) + 0.03 * rng.standard_normal((h, w))
    return np.clip(np.stack([gray, gray * 0.9, gray * 1.1]), 0, 1).astype(np.float32)


@pytest.fixture()
def image_dir(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    img = two_region_image()
    iio.imwrite(folder / "a.png", (np.moveaxis(img, 0, -1) * 255).astype(np.uint8))
    iio.imwrite(folder / "b.png", (np.moveaxis(img[:, ::-1], 0, -1) * 255).astype(np.uint8))
    return folder


# ---------------------------------------------------------------- model
@pytest.mark.parametrize("shape", [(37, 53), (16, 16), (5, 70)])
def test_shapes_any_size(shape):
    net = tiny_model()
    with torch.no_grad():
        soft, recon = net(torch.rand(2, 3, *shape))
    assert soft.shape == (2, 4, *shape) and recon.shape == (2, 3, *shape)
    assert torch.allclose(soft.sum(1), torch.ones(2, *shape), atol=1e-5)
    assert recon.min() >= 0 and recon.max() <= 1


def test_separable_convs_except_first_and_last_module():
    net = WNet(WNetConfig(k=4, width=4, depth=3))
    for unet in (net.encoder, net.decoder):
        modules = list(unet.down) + list(unet.up)
        grouped = [any(isinstance(c, torch.nn.Conv2d) and c.groups > 1 for c in m.modules()) for m in modules]
        assert not grouped[0] and not grouped[-1]
        assert all(grouped[1:-1])
    assert not any(isinstance(m, torch.nn.Linear) for m in net.modules())


# ---------------------------------------------------------------- N-cut
@pytest.mark.parametrize("n,k,h,w,radius", [(1, 2, 6, 7, 5), (2, 3, 9, 5, 5), (3, 5, 8, 8, 3), (1, 4, 11, 13, 2.5)])
def test_ncut_matches_dense_reference(n, k, h, w, radius):
    torch.manual_seed(h * w + k)
    image = torch.rand(n, 3, h, w, dtype=torch.float64)
    logits = torch.randn(n, k, h, w, dtype=torch.float64)
    soft_a = torch.softmax(logits, 1).requires_grad_()
    soft_b = soft_a.detach().clone().requires_grad_()
    fast = soft_ncut_loss(image, soft_a, sigma_i=10.0, sigma_x=4.0, radius=radius)
    dense = dense_soft_ncut_loss(image, soft_b, sigma_i=10.0, sigma_x=4.0, radius=radius)
    fast.backward()
    dense.backward()
    assert torch.allclose(fast, dense, rtol=1e-10, atol=1e-12)
    assert torch.allclose(soft_a.grad, soft_b.grad, rtol=1e-8, atol=1e-12)


def test_ncut_prefers_the_right_cut():
    image = torch.from_numpy(two_region_image(16, 16))[None]
    dark = (image.mean(1, keepdim=True) < 0.5).double()
    good = torch.cat([dark, 1 - dark], 1)
    bad = torch.cat([torch.ones_like(dark), torch.zeros_like(dark)], 1) * 0.5 + 0.25
    assert soft_ncut_loss(image.double(), good) < soft_ncut_loss(image.double(), bad)


# ---------------------------------------------------------------- training
def test_training_lowers_both_losses(image_dir, tmp_path):
    params = TrainParams(steps=20, lr_final=1.0, **TINY_TRAIN)
    events = []
    drain(train(image_dir, tmp_path / "w.pt", params, device="cpu", seed=0), events.append)
    ncut = [e.extra["ncut"] for e in events if e.extra]
    recon = [e.extra["recon"] for e in events if e.extra]
    assert len(ncut) == 20
    assert np.mean(ncut[-5:]) < np.mean(ncut[:5])
    assert np.mean(recon[-5:]) < 0.5 * np.mean(recon[:5])
    rows = loss_log_path(tmp_path / "w.pt").read_text().splitlines()
    assert rows[0].startswith("step,ncut,recon") and len(rows) == 21


def test_train_stop_and_resume_match_an_uninterrupted_run(image_dir, tmp_path):
    params = TrainParams(steps=4, **TINY_TRAIN)
    full = drain(train(image_dir, tmp_path / "full.pt", params, device="cpu", seed=3))

    stop = threading.Event()
    gen = train(image_dir, tmp_path / "part.pt", params, device="cpu", seed=3, stop=stop)
    for event in gen:
        if event.step == 2 and event.extra:
            stop.set()
    part = tmp_path / "part.pt"
    assert load_model(part)  # a stopped run still leaves usable weights
    ckpt = torch.load(checkpoint_path(part), weights_only=True)
    assert ckpt["step"] == 2

    resumed = drain(train(image_dir, part, params, device="cpu", seed=3, resume=checkpoint_path(part)))
    a, b = load_model(full).state_dict(), load_model(resumed).state_dict()
    for key in a:
        assert torch.allclose(a[key].float(), b[key].float(), atol=1e-6), key
    assert len(loss_log_path(part).read_text().splitlines()) == 5


def test_resume_with_other_architecture_is_refused(image_dir, tmp_path):
    params = TrainParams(steps=1, **TINY_TRAIN)
    drain(train(image_dir, tmp_path / "w.pt", params, device="cpu"))
    other = TrainParams(steps=2, **{**TINY_TRAIN, "k": 5})
    with pytest.raises(InputError, match="architecture"):
        drain(train(image_dir, tmp_path / "w.pt", other, device="cpu", resume=checkpoint_path(tmp_path / "w.pt")))


def test_train_needs_images(tmp_path):
    with pytest.raises(InputError, match="no images"):
        drain(train(tmp_path, tmp_path / "w.pt", TrainParams(steps=1, **TINY_TRAIN)))


# ---------------------------------------------------------------- weights files
def test_weights_roundtrip_and_checksum(tmp_path):
    net = tiny_model()
    path = tmp_path / "w.pt"
    digest = save_weights(net, path, meta={"note": "test"})
    loaded = load_model(path)
    assert loaded.config == TINY and loaded.weights_sha256 == digest
    x = torch.rand(1, 3, 20, 24)
    with torch.no_grad():
        assert torch.equal(net.encode(x), loaded.encode(x))

    corrupted = bytearray(path.read_bytes())
    corrupted[len(corrupted) // 2] ^= 0xFF
    path.write_bytes(bytes(corrupted))
    with pytest.raises(InputError, match="checksum"):
        load_model(path)


def test_user_weights_without_sidecar_load(tmp_path):
    path = tmp_path / "w.pt"
    save_weights(tiny_model(), path)
    path.with_name("w.pt.sha256").unlink()
    assert load_model(path).config == TINY


@pytest.mark.parametrize("content", [b"not a torch file", None])
def test_bad_weights_files_are_refused(tmp_path, content):
    path = tmp_path / "bad.pt"
    if content is None:
        torch.save({"something": torch.zeros(2)}, path)
    else:
        path.write_bytes(content)
    with pytest.raises(InputError):
        load_model(path)
    with pytest.raises(InputError, match="no such"):
        load_model(tmp_path / "missing.pt")


def test_shipped_weights_load_and_are_verified():
    path = shipped_weights_path()
    assert path.is_file() and path.with_name(path.name + ".sha256").is_file()
    assert path.stat().st_size < 25e6
    model = load_model(None)
    assert len(model.weights_sha256) == 64 and not model.training


# ---------------------------------------------------------------- inference
def test_as_model_input():
    assert as_model_input(np.zeros((1, 4, 5))).shape == (3, 4, 5)
    assert as_model_input(np.zeros((4, 5))).shape == (3, 4, 5)
    assert as_model_input(np.zeros((2, 4, 5))).shape == (3, 4, 5)
    assert as_model_input(np.zeros((7, 4, 5))).shape == (3, 4, 5)


def test_tiled_equals_untiled():
    net = tiny_model()
    image = np.random.default_rng(1).random((3, 75, 101), dtype=np.float32)
    whole = predict_soft(net, image, WNetParams(tile=1024))
    # The tiny net's receptive field has a radius below 24 px; with 48 px of
    # overlap every kept pixel is 24 px away from any inner tile edge.
    tiled = predict_soft(net, image, WNetParams(tile=64, overlap=48))
    assert tiled.shape == whole.shape == (4, 75, 101)
    np.testing.assert_allclose(tiled, whole, atol=1e-5)
    # With a thin overlap only pixels near tile seams may differ.
    seams = predict_soft(net, image, WNetParams(tile=32, overlap=8))
    assert np.mean(np.abs(seams - whole) < 1e-5) > 0.5


def test_predict_with_weights_file(tmp_path):
    path = tmp_path / "w.pt"
    save_weights(tiny_model(), path)
    events = []
    result = drain(predict(two_region_image(), WNetParams(weights=str(path)), device="cpu"), events.append)
    assert result.soft.shape == (4, 32, 48) and result.soft.dtype == np.float32
    assert result.labels.shape == (32, 48) and result.labels.dtype == np.int32
    assert result.labels.min() >= 1 and result.labels.max() <= 4
    assert not result.stopped and len(result.weights_sha256) == 64
    assert events and events[-1].step == events[-1].total


def test_adaptation_lowers_ncut_and_stops(tmp_path):
    image = two_region_image()
    net = tiny_model()
    events = []
    params = WNetParams(adapt_steps=6, adapt_lr=1e-2)
    result = drain(predict(image, params, device="cpu", model=net), events.append)
    adapt = [e.extra["ncut"] for e in events if e.extra]
    assert len(adapt) == 6 and adapt[-1] < adapt[0]
    assert result.adapt_steps_done == 6
    # the caller's model is left unchanged
    with torch.no_grad():
        fresh = tiny_model()
        x = torch.from_numpy(image)[None]
        assert torch.equal(fresh.encode(x), net.encode(x))

    stop = threading.Event()
    gen = predict(image, WNetParams(adapt_steps=100), device="cpu", model=net, stop=stop)
    try:
        while True:
            event = next(gen)
            if event.stage == "adapt" and event.step == 2:
                stop.set()
    except StopIteration as done:
        result = done.value
    assert result.stopped and result.adapt_steps_done == 2
    assert result.soft.shape == (4, 32, 48)


@pytest.mark.parametrize(
    "make",
    [
        lambda: WNetParams(tile=8),
        lambda: WNetParams(overlap=512),
        lambda: WNetParams(adapt_steps=-1),
        lambda: TrainParams(crop=30, depth=4),
        lambda: TrainParams(k=1),
    ],
)
def test_bad_parameters_are_refused(make):
    with pytest.raises(InputError):
        make()
