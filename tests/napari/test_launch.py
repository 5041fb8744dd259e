import numpy as np

from napari_unsup_seg._napari.launch import open_viewer
from napari_unsup_seg.cli import main


def test_gui_opens_sample_with_widget_and_scribbles(qtbot):
    viewer, widget = open_viewer(sample="coffee", show=False)
    try:
        qtbot.waitUntil(lambda: widget.scribbles_layer() is not None, timeout=10000)
        assert widget.image_layer().name == "coffee"
        assert widget.scribbles_layer().data.shape == (400, 600)
        assert np.unique(widget.scribbles_layer().data).tolist() == [0, 1, 2, 3]
    finally:
        viewer.close()


def test_gui_with_a_bad_file_is_a_one_line_error(tmp_path, capsys):
    assert main(["gui", str(tmp_path / "missing.png")]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_gui_flag_opens_the_volume_sample(qtbot):
    from napari_unsup_seg._cli import build_parser

    assert build_parser().parse_args(["gui", "--sample", "brain"]).sample == "brain"  # was refused
    viewer, widget = open_viewer(sample="brain", show=False)
    try:
        qtbot.waitUntil(lambda: widget.scribbles_layer() is not None, timeout=10000)
        assert widget.scribbles_layer().data.shape == (24, 96, 128)
        assert widget.scope_combo.isEnabled()
    finally:
        viewer.close()
