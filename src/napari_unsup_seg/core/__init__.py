"""Compute core: numpy, torch, scikit-image and higra only (never Qt or napari)."""
