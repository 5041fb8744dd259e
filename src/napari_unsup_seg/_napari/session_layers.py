"""A saved session (``core.session``) to and from napari layers.

:func:`session_of` gathers what the widget shows for one image; :func:`layer_tuples`
turns a session read from disk into the reader's layer data: the image, its scribbles
(class names in the plugin's metadata, as the legend keeps them) and the result. The
result layer's metadata carries what rebuilds its merge slider (``"reopened"``: the
run's labels and scribbles, the UCM, the threshold, the click-assigned pixels), so the
layers open without the dock; when the dock sees the image, :func:`reopened` makes the
widget's state for it from them. The three layers share a tag in their metadata
(``"session"``: the session's path and a token of this opening), which ties them
together whatever napari names them, even when one session is opened twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from napari.layers import Image, Labels

from ..core.errors import InputError
from ..core.export import class_values, present_values
from ..core.session import MergeRecord, Session, rebuild_segmentation, write_session
from . import class_colours
from . import layers as L
from .layers import META_KEY
from .merge import MergeState

_KEEP = ("axes", "channels_first", "source")  # of the image's plugin metadata


@dataclass
class Reopened:
    """The widget's state for an image of a reopened session."""

    result: Labels
    segmentation: object
    merge: MergeState
    where: tuple | None
    scope: tuple
    scribbles: Labels | None


def _geometry(layer) -> dict:
    return {
        "name": layer.name,
        "scale": [float(v) for v in layer.scale],
        "translate": [float(v) for v in layer.translate],
    }


def save(
    folder: Path, image: Image, scribbles: Labels | None, session, merge_threshold: float, overwrite: bool = False
) -> Path:
    """Write the session of ``image`` (``session``: the widget's state for it, or None) to ``folder``."""
    if image.multiscale:
        raise InputError("a multiscale image is not saved in a session: save its result into its OME-Zarr instead")
    layers = {
        "image": {
            **_geometry(image),
            "rgb": bool(image.rgb),
            "contrast_limits": [float(v) for v in image.contrast_limits],
            "metadata": {k: v for k, v in image.metadata.get(META_KEY, {}).items() if k in _KEEP},
        }
    }
    names, colours, data = {}, {}, None
    if scribbles is not None:
        data = np.asarray(scribbles.data)
        layers["scribbles"] = _geometry(scribbles)
        names = {int(k): str(v) for k, v in (L.plugin_meta_get(scribbles, "class_names", {}) or {}).items()}
        stored, hide = class_colours.colours(scribbles), class_colours.hidden(scribbles)
        for k in sorted(set(names) | {int(v) for v in class_values(data)}):
            rgba = stored.get(k) or tuple(float(c) for c in scribbles.get_color(k))
            colours[k] = (*rgba[:3], 1.0) if k in hide and k not in stored else rgba  # hidden: alpha 0 shown
        layers["scribbles"]["hidden"] = sorted(hide)
    result, seg, record, ucm, uncertainty = _result_of(session, merge_threshold)
    if result is not None:
        layers["result"] = {**_geometry(result), "opacity": float(result.opacity)}
    return write_session(
        folder,
        L.image_array(image),
        data,
        names,
        colours,
        None if result is None else np.asarray(result.data),
        ucm,
        record,
        None if seg is None else seg.recipe,
        layers=layers,
        uncertainty=uncertainty,
        overwrite=overwrite,
    )


def _result_of(session, threshold: float):
    """(result layer, segmentation, MergeRecord, UCM, uncertainty) of the widget's state (Nones without a result)."""
    seg = None if session is None else session.segmentation
    if seg is None or session.result is None:
        return None, None, MergeRecord(), None, None
    layer, where = session.result, session.where
    view = np.asarray(layer.data) if where is None else np.asarray(layer.data)[where]
    state = session.merge
    assigned = state.assigned(layer) if state is not None and state.shape == view.shape else None
    scope = next((list(k) for k, v in session.by_scope.items() if v is layer), None)
    record = MergeRecord(
        threshold,
        run_labels=np.asarray(seg.labels),
        run_scribbles=None if seg.scribbles is None else np.asarray(seg.scribbles),
        assigned=assigned if assigned is not None and assigned.any() else None,
        where=None if where is None else [None if isinstance(w, slice) else int(w) for w in where],
        scope=scope,
    )
    return layer, seg, record, seg.ucm, seg.uncertainty


def layer_tuples(session: Session) -> list[tuple]:
    """The reader's layer data of a session: image, scribbles, result (those it has)."""
    tag = {"path": str(session.folder), "opened": uuid.uuid4().hex}
    spec = session.layers
    image = spec.get("image", {})
    name = session.name
    kwargs = {
        "name": name,
        "rgb": bool(image.get("rgb", False)),
        "metadata": {META_KEY: {**image.get("metadata", {}), "session": tag}},
    }
    for key in ("scale", "translate", "contrast_limits"):
        if image.get(key) is not None:
            kwargs[key] = tuple(image[key])
    out = [(session.image, kwargs, "image")]
    hide = (spec.get("scribbles") or {}).get("hidden") or []
    colormap = _colormap(session.colours, hide)
    if session.scribbles is not None:
        meta = {"role": "scribbles", "image": name, "class_names": dict(session.class_names), "session": tag}
        if colormap is not None:  # as the legend keeps them
            meta.update(
                {
                    class_colours.COLOURS_KEY: {int(k): list(c) for k, c in session.colours.items()},
                    class_colours.HIDDEN_KEY: [int(k) for k in hide],
                }
            )
        out.append(
            (
                session.scribbles,
                _labels_kwargs(spec.get("scribbles"), f"{name}{L.SCRIBBLES_SUFFIX}", meta, colormap),
                "labels",
            )
        )
    if session.labels is not None:
        out.append(
            (
                session.labels,
                _labels_kwargs(
                    spec.get("result"), f"{name}{L.RESULT_SUFFIX}", _result_meta(session, name, tag), colormap
                ),
                "labels",
            )
        )
    return out


def _labels_kwargs(spec: dict | None, name: str, meta: dict, colormap) -> dict:
    spec = spec or {}
    kwargs = {"name": spec.get("name") or name, "metadata": {META_KEY: meta}}
    for key in ("scale", "translate"):
        if spec.get(key) is not None:
            kwargs[key] = tuple(spec[key])
    if spec.get("opacity") is not None:
        kwargs["opacity"] = float(spec["opacity"])
    if colormap is not None:
        kwargs["colormap"] = colormap
    return kwargs


def _result_meta(session: Session, name: str, tag: dict) -> dict:
    merge = session.merge
    present = set(present_values(session.labels).tolist())
    meta = {
        "role": "result",
        "image": name,
        "recipe": session.recipe,
        "session": tag,
        "class_names": {k: v for k, v in session.class_names.items() if k in present},
        "ucm": session.ucm if session.ucm is not None and session.ucm.ndim == 2 and merge.where is None else None,
        "reopened": {
            "threshold": merge.threshold,
            "run_labels": merge.run_labels,
            "run_scribbles": merge.run_scribbles,
            "assigned": merge.assigned,
            "ucm": session.ucm,
            "uncertainty": session.uncertainty,
            "scope": merge.scope,
        },
    }
    if merge.where is not None:
        meta["where"] = list(merge.where)
    return meta


def _colormap(colours: dict, hide=()):
    """None when the saved colours are napari's default ones and none is hidden, else the
    legend's colormap of them."""
    if not colours and not hide:
        return None
    default = Labels(np.zeros((1, 1), np.uint8)).colormap
    if not hide and all(np.allclose(default.map(np.array([k]))[0], c) for k, c in colours.items()):
        return None
    return class_colours.colormap({int(k): tuple(c) for k, c in colours.items()}, hide)


def reopened(viewer, image: Image, taken) -> Reopened | None:
    """The widget's state for ``image`` when it and a result layer come from one session (else None).

    ``taken``: result layers that another image's state holds already.
    """
    tag = L.plugin_meta_get(image, "session")
    if not tag:
        return None
    found = scribbles = None
    for layer in viewer.layers:
        if not isinstance(layer, Labels) or L.plugin_meta_get(layer, "session") != tag:
            continue
        if L.role(layer) == "result" and found is None and not any(layer is t for t in taken):
            found = layer
        elif L.role(layer) == "scribbles" and scribbles is None:
            scribbles = layer
    saved = L.plugin_meta_get(found, "reopened") if found is not None else None
    if not saved or saved.get("run_labels") is None:
        return None
    where = L.plugin_meta_get(found, "where")
    where = None if where is None else tuple(slice(None) if w is None else int(w) for w in where)
    seg = rebuild_segmentation(
        saved["run_labels"],
        saved.get("run_scribbles"),
        saved.get("ucm"),
        L.plugin_meta_get(found, "recipe", {}) or {},
        saved.get("uncertainty"),
    )
    view = np.asarray(found.data) if where is None else np.asarray(found.data)[where]
    if view.shape != np.shape(seg.labels):
        return None  # the layer was replaced since
    state = MergeState(tuple(view.shape), float(saved.get("threshold", 0.0)), kept=saved.get("assigned"))
    scope = tuple(saved.get("scope") or (None, None))
    if scribbles is not None and seg.scribbles is not None:
        class_colours.follow(found, scribbles)  # as a result made in this session does
    return Reopened(found, seg, state, where, scope, scribbles)
