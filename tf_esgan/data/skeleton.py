"""Conditioning maps of the paper's section 2.2 (Fig. 3), computed per nucleus.

Every function takes an instance label map (int [H, W], 0 = background, ids need not be
consecutive) or a binary mask (split into 4-connected components first, as the TNBC
ground truth was). All work per nucleus, never on the union, so touching nuclei stay apart:

- `contour_mask`: the contour set c of the losses (Eqs. 4-7).
- `distance_map`: the paper's iterated one-pixel erosion, counted per nucleus and
  normalised by that nucleus' maximum.
- `skeleton`: the medial axis, "the set of points having more than one closest point on
  its contour", as a discrete test on the Euclidean distance to the contour.
- `skeleton_map`: `distance_map + skeleton` in [0, 2].

Pixels outside the image do not exist: the image border is not a contour, and erosion
does not start from it (a nucleus cut by a crop keeps its depth up to the border).
The same definitions are re-implemented with plain TF ops for serving; both must stay
in step (see BUILD_NOTES.md, "Skeleton maps").
"""

from __future__ import annotations

import cv2
import numpy as np

from tf_esgan.data.labels import instance_labels

#: Conditioning kinds of the four paper variants and their channel counts.
CONDITIONINGS = ("binary", "distance", "skeleton")
CONDITIONING_KINDS = CONDITIONINGS  # its older name, kept for code outside the package

#: A pixel is medial when no neighbour of its nucleus lies uphill by more than this
#: many pixels of Euclidean depth per pixel of step, i.e. its two closest contour points
#: are more than ~83 degrees apart as seen from it (a square's diagonal is 90 degrees).
MEDIAL_MAX_RISE = 0.75
#: ...and those two contour points are at least this many pixels apart (prunes the
#: one-pixel staircase corners of digital contours, the medial axis' usual spurs).
MEDIAL_MIN_SEPARATION = 3.0

_NEIGHBOURS = tuple((dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx)
_SQUARE = np.ones((3, 3), np.uint8)


def as_labels(mask: np.ndarray, *, name: str = "labels") -> np.ndarray:
    """Validates a label map or binary mask and returns int32 instance labels [H, W].

    Accepted: 2-D (or [H, W, 1]) integer, bool, or float with integral values; binary
    masks (`labels.is_binary_mask`: bool, or values within {0, 1} or {0, 255}) are split
    into 4-connected components. Raises ValueError naming `name` otherwise.
    """
    array = np.asarray(mask)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    labels = instance_labels(array, name=name)
    if labels.size and labels.max() >= 2**24:  # contours compare ids as float32
        raise ValueError(f"{name}: label ids must be < 2**24, got {labels.max()}")
    return labels.astype(np.int32, copy=False)


def contour_mask(labels: np.ndarray) -> np.ndarray:
    """Contour set c: nucleus pixels with an 8-neighbour of another label.

    Args:
      labels: instance label map or binary mask [H, W].
    Returns:
      bool [H, W]; the other label may be background or another nucleus; neighbours
      outside the image do not count.
    """
    return _contour(as_labels(labels))


def _contour(labels: np.ndarray) -> np.ndarray:
    as_float = labels.astype(np.float32)  # exact: ids < 2**24
    highest = cv2.dilate(as_float, _SQUARE, borderType=cv2.BORDER_REPLICATE)
    lowest = cv2.erode(as_float, _SQUARE, borderType=cv2.BORDER_REPLICATE)
    return (labels > 0) & ((highest != as_float) | (lowest != as_float))


class _Nuclei:
    """A validated label map with the index arrays every map needs, computed once.

    Maps are evaluated at nucleus pixels only, addressed by flat indices into arrays
    padded by one pixel; the padding label -1 matches no nucleus, so neighbours outside
    the image never count as the same nucleus.
    """

    def __init__(self, labels: np.ndarray):
        height, width = labels.shape
        self.shape = labels.shape
        self.row = width + 2
        padded = np.full((height + 2, width + 2), -1, np.int32)
        padded[1:-1, 1:-1] = labels
        self.padded_labels = padded.ravel()
        self.centre = np.flatnonzero(self.padded_labels > 0)
        self.own_label = self.padded_labels[self.centre]
        self.count = int(labels.max(initial=0)) + 1
        self.contour = _contour(labels)
        self.interior = ((labels > 0) & ~self.contour).astype(np.uint8)

    def padded(self, values: np.ndarray) -> np.ndarray:
        """[H, W] -> flat [(H+2)(W+2)], zero padded."""
        out = np.zeros((self.shape[0] + 2, self.row), values.dtype)
        out[1:-1, 1:-1] = values
        return out.ravel()

    def nucleus_max(self, values: np.ndarray) -> np.ndarray:
        """Per nucleus pixel (in `centre` order): max of `values` over its nucleus."""
        peak = np.zeros(self.count, values.dtype)
        np.maximum.at(peak, self.own_label, values)
        return peak[self.own_label]

    def scatter(self, values: np.ndarray, dtype) -> np.ndarray:
        """Values at nucleus pixels -> [H, W] map, 0 on background."""
        out = np.zeros((self.shape[0] + 2) * self.row, dtype)
        out[self.centre] = values
        return out.reshape(self.shape[0] + 2, self.row)[1:-1, 1:-1]


def erosion_depth(labels: np.ndarray) -> np.ndarray:
    """Number of one-pixel (3x3) erosions of its own nucleus needed to reach each pixel.

    Contour pixels are reached by 0 erosions. Equals the chessboard distance to the
    nearest pixel of another label, minus one (see BUILD_NOTES.md for the argument).
    Returns float32 [H, W], 0 on background.
    """
    return cv2.distanceTransform(_Nuclei(as_labels(labels)).interior, cv2.DIST_C, 3)


def distance_map(labels: np.ndarray) -> np.ndarray:
    """Paper's distance map: erosion depth divided by its nucleus' maximum.

    Every nucleus peaks at exactly 1.0; a nucleus too thin to have an interior (all
    of it contour) is 1.0 throughout. Returns float32 [H, W] in [0, 1], 0 on background.
    """
    return _distance_map(_Nuclei(as_labels(labels)))


def _distance_map(nuclei: _Nuclei) -> np.ndarray:
    depth = nuclei.padded(cv2.distanceTransform(nuclei.interior, cv2.DIST_C, 3))[nuclei.centre]
    peak = nuclei.nucleus_max(depth)
    scaled = np.divide(depth, peak, out=np.ones_like(depth), where=peak > 0)
    return nuclei.scatter(scaled, np.float32)


def euclidean_depth(labels: np.ndarray) -> np.ndarray:
    """Exact Euclidean distance from each interior pixel to its nucleus' contour set.

    Returns float32 [H, W]: 0 on contour and background pixels.
    """
    return _euclidean_depth(_Nuclei(as_labels(labels)))


def _euclidean_depth(nuclei: _Nuclei) -> np.ndarray:
    return cv2.distanceTransform(nuclei.interior, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


def skeleton(labels: np.ndarray) -> np.ndarray:
    """Per-nucleus medial axis (the paper's topological skeleton).

    A pixel p of nucleus k with Euclidean depth d(p) to k's contour is medial when its
    steepest rise to a neighbour q of the same nucleus, (d(q) - d(p)) / |q - p|, is below
    `MEDIAL_MAX_RISE` (off the axis the depth grows at ~1 pixel per pixel towards the
    single closest contour point) and the implied separation of its two closest contour
    points, 2 d sqrt(1 - rise^2), is at least `MEDIAL_MIN_SEPARATION`. The deepest
    pixels of every nucleus (centres of its largest inscribed disc) are always medial,
    so each nucleus has a skeleton. Returns bool [H, W].
    """
    return _skeleton(_Nuclei(as_labels(labels)))


def _skeleton(nuclei: _Nuclei) -> np.ndarray:
    padded_depth = nuclei.padded(_euclidean_depth(nuclei))
    own_depth = padded_depth[nuclei.centre]
    steepest = np.full(nuclei.centre.shape, -np.inf, np.float32)
    for dy, dx in _NEIGHBOURS:
        neighbour = nuclei.centre + (dy * nuclei.row + dx)
        step = np.float32(np.sqrt(2.0) if dy and dx else 1.0)
        rise = (padded_depth[neighbour] - own_depth) / step
        same = nuclei.padded_labels[neighbour] == nuclei.own_label
        np.maximum(steepest, np.where(same, rise, -np.inf), out=steepest)
    rise = np.clip(steepest, 0.0, 1.0)
    separation = 2.0 * own_depth * np.sqrt(1.0 - rise * rise)
    medial = (own_depth > 0) & (steepest < MEDIAL_MAX_RISE) & (separation >= MEDIAL_MIN_SEPARATION)
    deepest = own_depth == nuclei.nucleus_max(own_depth)
    return nuclei.scatter(medial | deepest, bool)


def skeleton_map(labels: np.ndarray) -> np.ndarray:
    """Skeleton map of section 2.2: `distance_map + skeleton`, float32 [H, W] in [0, 2]."""
    return _skeleton_map(_Nuclei(as_labels(labels)))


def _skeleton_map(nuclei: _Nuclei) -> np.ndarray:
    return _distance_map(nuclei) + _skeleton(nuclei).astype(np.float32)


def conditioning(labels: np.ndarray, kind: str) -> np.ndarray:
    """Generator input for a paper variant, float32 [H, W, 1].

    Args:
      labels: instance label map or binary mask [H, W].
      kind: "binary" (pix2pix: nucleus = 1), "distance" (Sharp-GAN: distance map in
        [0, 1]) or "skeleton" (Sharp-GAN+ and the enhanced model: skeleton map in [0, 2]).
    """
    return conditioning_and_contour(labels, kind)[0]


def conditioning_and_contour(labels: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """`conditioning(labels, kind)` and `contour_mask(labels)` from one pass over the labels.

    The training pipeline needs both for every crop; this validates the labels and finds
    the contour once. Returns (float32 [H, W, 1], bool [H, W]).
    """
    if kind not in CONDITIONINGS:
        raise ValueError(f"kind: expected one of {CONDITIONINGS}, got {kind!r}")
    labels = as_labels(labels)
    nuclei = _Nuclei(labels)
    if kind == "binary":
        condition = (labels > 0).astype(np.float32)
    elif kind == "distance":
        condition = _distance_map(nuclei)
    else:
        condition = _skeleton_map(nuclei)
    return condition[..., None], nuclei.contour
