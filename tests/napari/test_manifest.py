"""The manifest: every python_name imports, every widget opens, samples and writers work."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest
from npe2 import PluginManifest
from qtpy.QtWidgets import QWidget

import napari_unsup_seg

MANIFEST = PluginManifest.from_file(Path(napari_unsup_seg.__file__).parent / "napari.yaml")


def test_manifest_name_and_contributions():
    assert MANIFEST.name == "napari-unsup-seg"
    assert MANIFEST.contributions.widgets and MANIFEST.contributions.writers
    assert {s.key for s in MANIFEST.contributions.sample_data} == {"coffee", "ihc", "brain"}


@pytest.mark.parametrize("command", MANIFEST.contributions.commands, ids=lambda c: c.id)
def test_every_python_name_imports(command):
    module, _, attr = command.python_name.partition(":")
    assert callable(getattr(importlib.import_module(module), attr))


def test_every_widget_opens_and_samples_load(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    widgets = []
    for contribution in MANIFEST.contributions.widgets:
        _, widget = viewer.window.add_plugin_dock_widget("napari-unsup-seg", contribution.display_name)
        assert isinstance(widget, QWidget)
        widgets.append(widget)
    widget = widgets[0]

    viewer.open_sample("napari-unsup-seg", "coffee")
    # the widget takes the sample's image and its scribbles (no extra empty layer)
    qtbot.waitUntil(lambda: widget.scribbles_layer() is not None, timeout=5000)
    assert [layer.name for layer in viewer.layers] == ["coffee", "coffee scribbles"]
    assert widget.image_layer().name == "coffee"
    assert widget.scribbles_layer().name == "coffee scribbles"
    assert widget.legend.names() == {1: "coffee", 2: "cup and saucer", 3: "table"}
    assert viewer.layers["coffee scribbles"].data.shape == viewer.layers["coffee"].data.shape[:2]

    viewer.open_sample("napari-unsup-seg", "ihc")
    qtbot.waitUntil(lambda: getattr(widget.scribbles_layer(), "name", "") == "ihc scribbles", timeout=5000)
    assert widget.image_layer().name == "ihc"
    assert np.unique(viewer.layers["ihc scribbles"].data).tolist() == [0, 1, 2, 3]


def test_the_brain_sample_opens_as_a_volume_with_its_scribbles(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-unsup-seg", "Scribble segmentation")
    viewer.open_sample("napari-unsup-seg", "brain")
    qtbot.waitUntil(lambda: widget.scribbles_layer() is not None, timeout=5000)
    image, scribbles = viewer.layers["brain"], viewer.layers["brain scribbles"]
    assert [layer.name for layer in viewer.layers] == ["brain", "brain scribbles"]
    assert widget.image_layer() is image and widget.scribbles_layer() is scribbles
    assert image.ndim == 3 and not image.rgb and scribbles.data.shape == image.data.shape == (24, 96, 128)
    np.testing.assert_allclose(image.scale, (2.2, 2.0, 2.0))
    np.testing.assert_allclose(scribbles.scale, image.scale)
    assert np.flatnonzero(scribbles.data.any(axis=(1, 2))).tolist() == [8, 16]
    assert widget.legend.names() == {1: "brain", 2: "background"}
    assert widget.scope_combo.isEnabled() and widget.scope() == "volume"
