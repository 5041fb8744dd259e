"""The learned contour detector: shipped weights, output, and its use in the hierarchy."""

from pathlib import Path

import numpy as np
import pytest
import torch

from napari_unsup_seg.core.contour_net import (
    FORMAT,
    ContourNet,
    contour_probability,
    load_contour_net,
    shipped_contour_weights,
)
from napari_unsup_seg.core.errors import InputError
from napari_unsup_seg.core.hierarchy import HierarchyParams, build_hierarchy

BSDS = Path(__file__).resolve().parents[3] / "shared" / "data" / "bsds500"


def test_shipped_weights_are_small_and_load_without_pickle():
    path = shipped_contour_weights()
    assert path.stat().st_size < 25e6
    payload = torch.load(path, map_location="cpu", weights_only=True)  # refuses pickled code
    assert payload["format"] == FORMAT
    assert all(isinstance(v, torch.Tensor) for v in payload["state_dict"].values())
    assert "BSDS500 train" in payload["meta"]["data"]
    assert isinstance(load_contour_net(), ContourNet)


class Payload:  # a class that only a full unpickler would rebuild
    pass


def test_a_pickled_object_or_a_foreign_file_is_refused(tmp_path):
    bad = tmp_path / "bad.pt"
    torch.save({"format": FORMAT, "config": {"width": 4}, "state_dict": {}, "meta": Payload()}, bad)
    with pytest.raises(InputError, match="cannot be read"):
        load_contour_net(bad)
    other = tmp_path / "other.pt"
    torch.save({"format": "something else", "state_dict": {}}, other)
    with pytest.raises(InputError, match="wrong format"):
        load_contour_net(other)
    wrong = tmp_path / "wrong.pt"
    torch.save({"format": FORMAT, "config": {"width": 8}, "state_dict": ContourNet(4).state_dict()}, wrong)
    with pytest.raises(InputError, match="do not fit"):
        load_contour_net(wrong)


def test_probability_shape_range_and_a_step_edge():
    image = np.full((3, 40, 60), 0.2, np.float32)
    image[:, :, 30:] = 0.8
    pb = contour_probability(image)
    assert pb.shape == (40, 60) and pb.dtype == np.float32
    assert 0.0 <= pb.min() and pb.max() <= 1.0
    assert pb[5:-5, 28:32].mean() > 0.5 > pb[5:-5, 5:20].mean()
    gray = contour_probability(image[:1])  # one channel: repeated to RGB
    np.testing.assert_allclose(gray, pb, atol=1e-5)


@pytest.mark.skipif(not (BSDS / "val").is_dir(), reason="BSDS500 not in ../shared/data")
def test_probability_is_high_on_human_boundaries_of_a_val_image():
    from napari_unsup_seg.core.contours import segmentation_boundaries
    from napari_unsup_seg.core.evaluate import load_bsds_gt
    from napari_unsup_seg.core.image import load_image

    first = sorted((BSDS / "val" / "images").glob("*.jpg"))[0]
    pb = contour_probability(load_image(first))
    gts = load_bsds_gt(BSDS / "val" / "gt" / f"{first.stem}.npz")
    human = np.mean([segmentation_boundaries(g) for g in gts], 0)
    assert pb[human >= 0.5].mean() > 2 * pb[human == 0].mean()


def test_the_option_changes_the_hierarchy_and_follows_the_contours():
    rng = np.random.default_rng(0)
    image = np.full((3, 32, 32), 0.3, np.float32) + rng.normal(0, 0.02, (3, 32, 32)).astype(np.float32)
    image[:, 8:24, 8:24] = 0.75
    labels = np.arange(32 * 32).reshape(32, 32)
    plain = build_hierarchy(image, labels)
    learned = build_hierarchy(image, labels, params=HierarchyParams(contour_weight=1.0))
    assert not np.allclose(plain.ucm, learned.ucm)
    alone = HierarchyParams(color_weight=0.0, soft_weight=0.0, contour_weight=1.0, leaves="watershed")
    regions = build_hierarchy(image, labels, params=alone).cut_regions(2)
    inside = regions[12:20, 12:20]
    assert len(np.unique(regions)) == 2 and (inside == inside[0, 0]).all()
    assert not np.isin(regions[:4, :4], inside[0, 0]).any()


def test_bad_options_raise():
    with pytest.raises(InputError):
        HierarchyParams(contour_weight=-1.0)
    with pytest.raises(InputError, match="cannot all be zero"):
        HierarchyParams(color_weight=0.0, soft_weight=0.0)
    volume = np.zeros((1, 3, 8, 8), np.float32)
    with pytest.raises(InputError, match="2D images"):
        build_hierarchy(volume, np.zeros((3, 8, 8), int), params=HierarchyParams(contour_weight=1.0))
    with pytest.raises(InputError, match="no such"):
        contour_probability(np.zeros((3, 8, 8), np.float32), "/nonexistent/contours.pt")
