"""Saving the current result: files in a folder (Save result...), or a labels group of its OME-Zarr.

The panel asks the widget for what to save through ``target()``: (image layer, result
layer, session) or None. Nothing of the user's is replaced without their confirmation
(``saving``); a failure is shown and leaves the layers and files as they were.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from magicgui.widgets import CheckBox
from qtpy.QtWidgets import QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from . import dialogs, notify, parts, saving
from . import layers as L

ZARR_LABELS = "napari-unsup-seg"
UCM_TIP = (
    "a volume's UCM is a (2Z+1, 2H+1, 2W+1) float32 saliency volume (136 MB for 256x256x64), made when saved; "
    "an image's UCM is always saved"
)
COCO_TIP = (
    "also <name>_coco_instances.json (one mask per connected region of each class) and <name>_coco_semantic.json "
    "(one per class): COCO files that CVAT, Label Studio and pycocotools import"
)


class SavePanel(QWidget):
    """ "Save result...", its "with the volume's UCM" and "with COCO JSON" boxes, and "Save into OME-Zarr".

    Parameters
    ----------
    parent : QWidget
        Dialogs open over it.
    target : callable returning (Image, Labels, session) or None
        What to save: the image, its result layer and the widget's session for it.
    merge : MergePanel
        Its threshold and hand edits go into the recipe.
    class_names : callable(scribbles layer, labels) -> dict
    say : callable(str)
        The widget's status line.
    """

    def __init__(self, parent: QWidget, target: Callable, merge, class_names: Callable, say: Callable[[str], None]):
        super().__init__(parent)
        self._target, self._merge, self._class_names, self._say = target, merge, class_names, say
        self.save_button = QPushButton("Save result...")
        self.save_button.setToolTip("label image (TIFF, PNG), one mask per class, mask stack, UCM and recipe")
        self.fields = {
            "ucm": CheckBox(text="with the volume's UCM", tooltip=UCM_TIP, enabled=False),
            "coco": CheckBox(text="with COCO JSON", tooltip=COCO_TIP),
        }
        self.ucm_box, self.coco_box = self.fields["ucm"].native, self.fields["coco"].native
        self.zarr_button = QPushButton("Save into OME-Zarr")
        self.zarr_button.setToolTip(
            "write the result as a labels group of the OME-Zarr image it was made "
            "from (every level, with the recipe), beside the image"
        )
        self.zarr_button.setEnabled(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(self.save_button)
        row.addWidget(self.ucm_box)
        row.addWidget(self.coco_box)
        layout.addLayout(row)
        layout.addWidget(self.zarr_button)
        self.save_button.clicked.connect(lambda: self.save())
        self.zarr_button.clicked.connect(lambda: self.save_into_zarr())

    def update_enabled(self, segmentation, image) -> None:
        """Enable what applies to the result shown (None: no result)."""
        self.save_button.setEnabled(segmentation is not None)
        self.fields["ucm"].enabled = segmentation is not None and np.ndim(segmentation.labels) >= 3
        self.zarr_button.setEnabled(segmentation is not None and zarr_source(image) is not None)

    def save(self, folder=None) -> list | None:
        """Save the current result (a folder dialog when ``folder`` is None); the files written or None."""
        target = self._target()
        if target is None:
            notify.show("there is no segmentation to save yet: run one first", "error")
            return None
        image, layer, session = target
        if folder is None:
            folder = dialogs.choose_folder(self)
            if folder is None:
                return None
        seg, where = session.segmentation, session.where
        data = np.asarray(layer.data)
        labels = np.array(data if where is None else data[where], copy=True)  # a part's result: that part
        recipe = dict(seg.recipe, napari={"image_layer": image.name, **self._merge_record(layer)})
        if where is not None:
            recipe["napari"]["part"] = parts.jsonable_where(where)
        try:
            ucm = seg.ucm if labels.ndim == 2 or self.fields["ucm"].value else None
            written = saving.export_result(
                folder,
                saving.safe_stem(image.name),
                labels,
                ucm=ucm,
                recipe=recipe,
                class_names=self._class_names(session.scribbles, labels) or None,
                parent=self,
                axes=parts.result_axes(image, where),
                coco=self.fields["coco"].value,
                image_file=image_file(image) if where is None else None,
            )
        except Exception as err:  # shown to the user; the layers are untouched
            notify.show_exception(err, "saving")
            return None
        if written is None:
            self._say("not saved: the existing files were kept")
            return None
        notify.show(f"saved {len(written)} files to {folder}", "info")
        self._say(f"saved {len(written)} files to {folder}")
        return written

    def save_into_zarr(self, name: str | None = None) -> Path | None:
        """Write the current result into its image's OME-Zarr as the labels group ``name``
        (default :data:`ZARR_LABELS`); the group's path, or None."""
        target = self._target()
        source = zarr_source(target[0]) if target is not None else None
        if target is None or source is None:
            notify.show("there is no result of an OME-Zarr image to save yet", "error")
            return None
        _, layer, session = target
        level = int(L.plugin_meta_get(layer, "level", 0) or 0)
        recipe = dict(session.segmentation.recipe, napari={"level": level, **self._merge_record(layer)})
        try:
            written = saving.save_into_zarr(
                source, name or ZARR_LABELS, np.asarray(layer.data), level=level, recipe=recipe, parent=self
            )
        except Exception as err:  # shown to the user; the image and the layers are untouched
            notify.show_exception(err, "saving into the OME-Zarr")
            return None
        if written is None:
            self._say("not saved: the existing labels group was kept")
            return None
        self._say(f"saved the labels group {written.name} into {source.name}")
        notify.show(f"saved the labels group {written.name} into {source}", "info")
        return written

    def _merge_record(self, layer) -> dict:
        """The merge threshold and the hand edits of ``layer``, for the recipe."""
        attached = self._merge.layer is layer
        return {
            "merge_threshold": round(self._merge.threshold, 4) if attached else None,
            "pixels_edited_by_hand": self._merge.edited_pixels() if attached else None,
        }


def image_file(image) -> str | None:
    """The file name of the image a layer was opened from, for the COCO files (None: not from one file)."""
    path = getattr(getattr(image, "source", None), "path", None)
    return Path(path).name if path and Path(path).is_file() else None


def zarr_source(image) -> Path | None:
    """The OME-Zarr an image layer was read from (by the plugin's reader), if any."""
    source = L.plugin_meta_get(image, "source") if image is not None else None
    return Path(source) if source and Path(source).is_dir() else None
