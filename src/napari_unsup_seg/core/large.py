"""Large images: fitted at a working resolution, brought to full resolution tile by tile.

An image of more than :attr:`LargeParams.work_pixels` pixels is segmented in two steps:

1. **fit at a working resolution**: the image (anti-aliased) and its scribbles (every
   stroke pixel kept, see :func:`shrink_scribbles`) are shrunk to at most ``work_pixels``
   pixels and segmented by :func:`core.pipeline.segment` as any image: network,
   scribble walks or CRF, hierarchy;
2. **full resolution by tiles** (:func:`refine_tiled`): each label of the working result
   is enlarged as a smooth indicator (bilinear, so borders are not staircases of the
   enlargement factor) and each pixel takes the label whose indicator is largest; this is
   done one tile at a time, from the working labels around the tile, so memory stays
   bounded and tiles agree at their seams by construction. Full-resolution strokes keep
   their class. Optionally (``band`` > 0) a band around each change of label is then
   re-decided by a random walk on the full-resolution image; on MedScribble dev, fitted
   at half and quarter resolution, that walk lowered the mean IoU (0.852 against 0.867 at
   half resolution), so it is off by default.

Class identities come from the one working result, so they agree across tiles. Memory
is the full-resolution image and labels plus one tile's walk; time grows with the
pixel count (the fit is bounded by ``work_pixels``). Merging (``classes``, ``regions``)
cuts the working hierarchy and brings the cut to full resolution the same way.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from .errors import InputError
from .progress import Progress, ProgressGen, drain


@dataclass(frozen=True)
class LargeParams:
    """How large images are segmented.

    Parameters
    ----------
    work_pixels : int
        Images with more pixels are fitted at a working resolution of at most this many
        pixels (1024 x 1024 by default); smaller images are segmented as they are.
    tile : int
        Side of the full-resolution tiles (pixels).
    band : int
        Half width (working pixels, widened by the enlargement factor) of the band that a
        random walk on the full-resolution image re-decides; 0 (default): no walk.
    beta : float
        Edge sensitivity of the refining walk (as :class:`core.propagate.WalkParams`).
    """

    work_pixels: int = 1024 * 1024
    tile: int = 1024
    band: int = 0
    beta: float = 8000.0

    def __post_init__(self):
        if self.work_pixels < 64 * 64:
            raise InputError(f"work_pixels {self.work_pixels}: at least 4096 (64 x 64) are needed")
        if self.tile < 64:
            raise InputError(f"tile {self.tile}: at least 64 pixels are needed")
        if self.band < 0 or not self.beta > 0:
            raise InputError("band must be 0 or more and beta positive")


def working_shape(shape: tuple[int, int], work_pixels: int) -> tuple[int, int]:
    """The (h, w) of the working resolution: the image's aspect, at most ``work_pixels`` pixels."""
    h, w = shape
    if h * w <= work_pixels:
        return h, w
    f = np.sqrt(work_pixels / (h * w))
    return max(2, int(h * f)), max(2, int(w * f))


def shrink_image(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(C, H, W) float32 shrunk to ``shape``, anti-aliased, one channel at a time (bounded memory)."""
    from skimage.transform import resize

    return np.stack(
        [resize(c, shape, order=1, anti_aliasing=True, preserve_range=True).astype(np.float32) for c in image]
    )


def shrink_scribbles(scribbles: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Scribbles brought to a smaller ``shape``: each stroke pixel marks the pixel that covers
    it, so no stroke is lost (where two classes meet in one pixel, one of them wins)."""
    scribbles = np.asarray(scribbles)
    if scribbles.shape == tuple(shape):
        return scribbles
    out = np.zeros(shape, np.int32)
    index = np.nonzero(scribbles)
    out[tuple((i * n) // m for i, n, m in zip(index, shape, scribbles.shape))] = scribbles[index]
    return out


def _enlarge_rows(n_small: int, n_big: int, start: int, stop: int) -> np.ndarray:
    """Indices into a small axis of the big pixels ``start..stop`` (centres aligned)."""
    return np.minimum(((np.arange(start, stop) + 0.5) * n_small / n_big).astype(np.int64), n_small - 1)


def _interpolation(n_small: int, n_big: int, start: int, stop: int) -> tuple[int, np.ndarray]:
    """``(first, M)``: rows ``first..first+M.shape[1]`` of a small axis and the (stop-start, k)
    matrix of bilinear weights that enlarges them to the big pixels ``start..stop``."""
    centres = (np.arange(start, stop) + 0.5) * n_small / n_big - 0.5
    centres = np.clip(centres, 0, n_small - 1)
    low = np.floor(centres).astype(np.int64)
    high = np.minimum(low + 1, n_small - 1)
    first, last = int(low.min()), int(high.max())
    weights = np.zeros((stop - start, last - first + 1), np.float32)
    rows = np.arange(stop - start)
    frac = (centres - low).astype(np.float32)
    np.add.at(weights, (rows, low - first), 1 - frac)
    np.add.at(weights, (rows, high - first), frac)
    return first, weights


def enlarge_labels(small: np.ndarray, shape: tuple[int, int], box: tuple[int, int, int, int]) -> np.ndarray:
    """The part ``box`` = (y0, y1, x0, x1) of ``small`` labels enlarged to ``shape``: each pixel
    takes the label whose bilinearly enlarged indicator is largest (smooth borders)."""
    y0, y1, x0, x1 = box
    (h, w), (big_h, big_w) = small.shape, shape
    fy, wy = _interpolation(h, big_h, y0, y1)
    fx, wx = _interpolation(w, big_w, x0, x1)
    crop = small[fy : fy + wy.shape[1], fx : fx + wx.shape[1]]
    present = np.unique(crop)
    best = np.full((y1 - y0, x1 - x0), -1.0, np.float32)
    out = np.full(best.shape, present[0], small.dtype)
    if present.size == 1:
        return out
    for value in present:
        score = wy @ (crop == value).astype(np.float32) @ wx.T
        better = score > best
        out[better], best[better] = value, score[better]
    return out


def tiles(shape: tuple[int, int], tile: int):
    """(y0, y1, x0, x1) of the tiles covering ``shape``."""
    h, w = shape
    for y0 in range(0, h, tile):
        for x0 in range(0, w, tile):
            yield y0, min(h, y0 + tile), x0, min(w, x0 + tile)


def refine_tiled(
    image: np.ndarray,
    coarse: np.ndarray,
    scribbles: np.ndarray | None,
    params: LargeParams = LargeParams(),
    *,
    stop: threading.Event | None = None,
) -> ProgressGen[tuple[np.ndarray, bool]]:
    """Bring ``coarse`` labels (h, w) to the (H, W) of ``image`` (C, H, W), tile by tile.

    Returns ``(labels, stopped)``; after a stop the tiles left are enlarged without the
    walk (when ``params.band`` asks for one).
    """
    from .edge_weights import contrast_weights
    from .propagate import _band, solve_walk

    _, h_big, w_big = image.shape
    h, w = coarse.shape
    factor = max(h_big / h, w_big / w)
    radius = params.band + int(np.ceil(factor))
    margin = 2 * radius + 8
    out = np.empty((h_big, w_big), np.int32)
    boxes = list(tiles((h_big, w_big), params.tile))
    stopped = False
    for i, (y0, y1, x0, x1) in enumerate(boxes):
        wy0, wy1, wx0, wx1 = max(0, y0 - margin), min(h_big, y1 + margin), max(0, x0 - margin), min(w_big, x1 + margin)
        labels = enlarge_labels(coarse, (h_big, w_big), (wy0, wy1, wx0, wx1)).astype(np.int32)
        if scribbles is not None:
            strokes = scribbles[wy0:wy1, wx0:wx1]
            labels = np.where(strokes > 0, strokes, labels)
        stopped = stopped or (stop is not None and stop.is_set())
        band = _band(labels, radius) if params.band and not stopped else np.zeros(labels.shape, bool)
        if scribbles is not None:
            band &= strokes == 0
        if band.any():
            present = np.unique(labels)
            values = (labels[None] == present[:, None, None]).astype(np.float32)
            probs = solve_walk(contrast_weights(image[:, wy0:wy1, wx0:wx1], params.beta), ~band, values)
            labels = np.where(band, present[np.argmax(probs, axis=0)], labels)
        out[y0:y1, x0:x1] = labels[y0 - wy0 : y1 - wy0, x0 - wx0 : x1 - wx0]
        yield Progress(i + 1, len(boxes), stage="refine", message=f"full resolution: tile {i + 1}/{len(boxes)}")
    return out, stopped


@dataclass
class LargeSegmentation:
    """Result of a large image: full-resolution labels over a working-resolution :class:`Segmentation`.

    ``hierarchy`` is the working one; ``classes`` and ``regions`` cut it and bring the cut
    to full resolution (seconds on very large images). A large image has no
    full-resolution UCM (``ucm`` is None); ``coarse.ucm`` is the working one.
    """

    labels: np.ndarray
    coarse: object  # core.pipeline.Segmentation at the working resolution
    image: np.ndarray = field(repr=False)
    scribbles: np.ndarray | None
    params: LargeParams
    stopped: bool
    recipe: dict

    @property
    def hierarchy(self):
        return self.coarse.hierarchy

    @property
    def state(self):
        return self.coarse.state

    @property
    def ucm(self):
        return None

    @property
    def uncertainty(self) -> np.ndarray | None:
        """The working uncertainty enlarged to full resolution (nearest), or None."""
        small = self.coarse.uncertainty
        if small is None:
            return None
        h, w = small.shape
        big_h, big_w = self.labels.shape
        return small[np.ix_(_enlarge_rows(h, big_h, 0, big_h), _enlarge_rows(w, big_w, 0, big_w))]

    def _full(self, small: np.ndarray) -> np.ndarray:
        labels, _ = drain(refine_tiled(self.image, small, self.scribbles, self.params))
        return labels

    def regions(self, threshold: float) -> np.ndarray:
        return self._full(self.coarse.regions(threshold))

    def n_regions(self, threshold: float) -> int:
        return self.coarse.n_regions(threshold)

    def precompute(self) -> None:
        self.coarse.precompute()

    def classes(self, threshold: float) -> np.ndarray:
        return self._full(self.coarse.classes(threshold))

    def classes_with_regions(self, n: int) -> np.ndarray:
        return self._full(self.coarse.classes_with_regions(n))


def segment_large(
    image: np.ndarray,
    scribbles: np.ndarray | None,
    params,
    *,
    segment,
    stop: threading.Event | None = None,
    warm_start: dict | None = None,
) -> ProgressGen[LargeSegmentation]:
    """Segment a large (C, H, W) image (see the module notes); yields Progress.

    ``segment`` is :func:`core.pipeline.segment`, which runs on the working-resolution
    image (passed in, as the pipeline is the module that calls this one).
    """
    large = params.large
    shape = working_shape(image.shape[1:], large.work_pixels)
    yield Progress(0, 1, stage="shrink", message=f"working resolution {shape[0]}x{shape[1]}")
    small = shrink_image(image, shape)
    small_scribbles = None if scribbles is None else shrink_scribbles(scribbles, shape)
    coarse = yield from _without_results(segment(small, small_scribbles, params, stop=stop, warm_start=warm_start))
    labels, stopped = yield from refine_tiled(image, coarse.labels, scribbles, large, stop=stop)
    recipe = dict(coarse.recipe)
    recipe["large"] = {"shape": list(image.shape[1:]), "working_shape": list(shape), "tile": large.tile}
    return LargeSegmentation(labels, coarse, image, scribbles, large, coarse.stopped or stopped, recipe)


def _without_results(gen):
    """Forward the working run's progress; its first mask is of the working size, a preview then."""
    import dataclasses

    while True:
        try:
            event = next(gen)
        except StopIteration as done:
            return done.value
        if event.result is not None:
            event = dataclasses.replace(event, preview=event.result, result=None)
        yield event
