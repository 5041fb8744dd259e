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


def test_gui_opens_a_saved_session_with_its_result(qtbot, tmp_path, capsys):
    # a user's failure: `napari-unsup-seg gui photo.unsupseg` said "is a folder, not an image file"
    viewer, widget = open_viewer(sample="coffee", show=False)
    try:
        qtbot.waitUntil(lambda: widget.scribbles_layer() is not None, timeout=10000)
        widget.params.iterations.setValue(3)
        qtbot.waitUntil(widget.core_ready.is_set, timeout=60_000)
        assert widget.run()
        qtbot.waitUntil(lambda: not widget.running, timeout=120_000)
        path = widget.save_session(tmp_path)
        shown = np.array(widget.result_layer().data)
    finally:
        viewer.close()
    viewer, widget = open_viewer(path, show=False)
    try:
        qtbot.waitUntil(lambda: widget.result_layer() is not None, timeout=10000)
        np.testing.assert_array_equal(widget.result_layer().data, shown)
        assert widget.image_layer().name == "coffee"
    finally:
        viewer.close()
    (tmp_path / "broken.unsupseg").mkdir()
    assert main(["gui", str(tmp_path / "broken.unsupseg")]) == 2  # a damaged session: one line, no window
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "is a folder" not in err
