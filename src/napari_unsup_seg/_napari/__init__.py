"""The napari front end: dock widget, worker adapter, layer conversions, writers, samples.

All Qt and napari code of the plugin lives in this subpackage; the computations are
in :mod:`napari_unsup_seg.core`.
"""
