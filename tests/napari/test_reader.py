"""The plugin's reader: label TIFFs written by the plugin reopen as Labels layers; other TIFFs are not claimed."""

from __future__ import annotations

import numpy as np
import tifffile
from napari.layers import Labels

from napari_unsup_seg._napari.reader import get_reader
from napari_unsup_seg._napari.saving import write_label_image
from napari_unsup_seg.core.export import write_outputs


def test_saved_scribbles_reopen_as_labels(plugin, tmp_path):
    viewer, _ = plugin
    strokes = np.zeros((40, 50), np.int32)
    strokes[10, 5:40] = 1
    strokes[30, 5:40] = 3
    path = tmp_path / "strokes.tif"
    write_label_image(str(path), strokes, {})  # what File > Save Layers does with our writer
    layers = viewer.open(str(path), plugin="napari-unsup-seg")
    assert len(layers) == 1 and isinstance(layers[0], Labels)
    np.testing.assert_array_equal(layers[0].data, strokes)


def test_a_volume_result_reopens_as_labels_with_its_voxel_size(plugin, tmp_path):
    viewer, _ = plugin
    labels = np.ones((4, 20, 30), np.int32)
    labels[:, 5:15, 5:25] = 2
    write_outputs(tmp_path, "vol", labels, axes="ZYX", spacing=(3.0, 0.5, 0.5))
    (layer,) = viewer.open(str(tmp_path / "vol_labels.tif"), plugin="napari-unsup-seg")
    assert isinstance(layer, Labels)
    np.testing.assert_array_equal(layer.data, labels)
    np.testing.assert_allclose(layer.scale, (3.0, 0.5, 0.5))


def test_other_tiffs_are_left_to_other_readers(tmp_path):
    tifffile.imwrite(tmp_path / "photo.tif", np.zeros((20, 30), np.uint8))
    (tmp_path / "broken.tif").write_bytes(b"not a tiff")
    assert get_reader(str(tmp_path / "photo.tif")) is None
    assert get_reader(str(tmp_path / "broken.tif")) is None
    assert get_reader(str(tmp_path)) is None
