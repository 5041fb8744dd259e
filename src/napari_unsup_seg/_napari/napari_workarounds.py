"""Work-arounds for napari bugs that the plugin's use of the viewer runs into.

Brush circle box (napari 0.9): a Labels layer added while another is in paint mode
(the plugin adds result layers while the scribbles layer is in paint mode) parents the
brush circle's background box to the canvas, and the brush circle never takes it away
again. Once every layer is removed that box is all the canvas draws, and after a
whole-volume run that draw crashes the process in Mesa's ``glDrawArrays``. The brush
circle needs no box, so the plugin turns the box off.
"""

from __future__ import annotations


def drop_brush_circle_box(viewer) -> None:
    """Turn off the brush circle's background box, where this napari has one."""
    overlays = getattr(getattr(viewer, "canvas", None), "overlays", None)
    brush = getattr(overlays, "_brush_circle", None)
    if brush is not None and getattr(brush, "box", False):
        brush.box = False
