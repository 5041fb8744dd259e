"""npe2 reader: an OME-Zarr image as a multiscale layer (lazy), with its labels groups as Labels layers;
a saved session (``<name>.unsupseg``) as its image, scribbles and result.

The image keeps its axes in the plugin's metadata (so the widget knows time, channel and
depth) and its level-0 scale on the spatial axes; each labels group (ours or another
tool's) opens as a multiscale Labels layer over it, with the recipe we wrote in its
metadata.
"""

from __future__ import annotations

from pathlib import Path

from .layer_axes import META_KEY


def get_reader(path):
    """The reader for ``path`` when it is a session, an OME-Zarr image or a label TIFF of ours, else None
    (napari tries other readers)."""
    from ..core import zarr_io
    from ..core.export import read_label_tiff
    from ..core.session import meant_as_session

    if isinstance(path, list):
        return None
    if meant_as_session(path):
        return read_session
    if zarr_io.is_ome_zarr(path):
        return read_ome_zarr
    if str(path).lower().endswith((".tif", ".tiff")) and read_label_tiff(path) is not None:
        return read_labels
    return None


def read_session(path) -> list[tuple]:
    """A session folder as its image, scribbles and result layers (see ``core.session``)."""
    from ..core.session import read_session as read
    from .session_layers import layer_tuples

    return layer_tuples(read(path))


def read_labels(path) -> list[tuple]:
    """A label TIFF written by this package (labels, masks' source, saved scribbles) as a Labels layer."""
    from ..core.export import read_label_tiff

    labels, axes, spacing = read_label_tiff(path)
    kwargs = {"name": Path(path).stem}
    if axes and spacing is not None and "Z" in axes:
        size = dict(zip("ZYX", spacing))
        kwargs["scale"] = tuple(float(size.get(a, 1.0)) for a in axes)
    if axes:
        kwargs["axis_labels"] = tuple(axes.lower())
    return [(labels, kwargs, "labels")]


def read_ome_zarr(path) -> list[tuple]:
    """Layer data tuples of an OME-Zarr image and its labels groups."""
    import zarr

    from ..core import zarr_io
    from ..core.errors import InputError

    path = Path(path)
    info, lazy = zarr_io.open_image(path)
    order = _channels_first(info.axes)  # napari draws scribbles over the last axes: C goes first
    letters = "".join(info.axes[i] for i in order)
    levels = [level.transpose(order) for level in lazy]
    layers = [
        (
            levels,
            {
                "name": path.name.split(".")[0],
                "multiscale": len(levels) > 1,
                "scale": tuple(info.scales[0][i] for i in order),
                "translate": tuple(info.translations[0][i] for i in order),
                "axis_labels": tuple(letters.lower()),
                "metadata": {META_KEY: {"axes": letters, "source": str(path)}},
            },
            "image",
        )
    ]
    labels_dir = path / "labels"
    if labels_dir.is_dir():
        try:
            names = zarr.open_group(str(labels_dir), mode="r").attrs.get("ome", {}).get("labels")
            names = names or zarr.open_group(str(labels_dir), mode="r").attrs.get("labels", [])
        except Exception:  # an unreadable labels group: the image still opens
            names = []
        for name in names:
            try:
                layers.append(_labels_layer(labels_dir / name, info))
            except (InputError, OSError, KeyError, ValueError):
                continue
    return layers


def _channels_first(axes: str) -> list[int]:
    """The order of the axes that puts C first (OME-Zarr puts it after T)."""
    return sorted(range(len(axes)), key=lambda i: (axes[i] != "C", i))


def _labels_layer(group_path: Path, info) -> tuple:
    import dask.array as da
    import zarr

    group = zarr.open_group(str(group_path), mode="r")
    ome = group.attrs.get("ome", dict(group.attrs))
    datasets = ome["multiscales"][0]["datasets"]
    levels = [da.from_zarr(group[d["path"]]) for d in datasets]
    scale = next(t["scale"] for t in datasets[0]["coordinateTransformations"] if t["type"] == "scale")
    keep = [i for i, a in enumerate(info.axes) if a != "C"]
    meta = {"role": "result", "recipe": dict(group.attrs.get(META_KEY, {})), "zarr_labels": str(group_path)}
    return (
        levels,
        {
            "name": f"{group_path.parent.parent.name.split('.')[0]} {group_path.name}",
            "multiscale": len(levels) > 1,
            "scale": tuple(scale),
            "translate": tuple(info.translations[0][i] for i in keep),
            "metadata": {META_KEY: meta},
        },
        "labels",
    )
