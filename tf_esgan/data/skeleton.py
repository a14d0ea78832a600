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

#: Conditioning kinds of the four paper variants and their channel counts.
CONDITIONING_KINDS = ("binary", "distance", "skeleton")

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

    Accepted: 2-D (or [H, W, 1]) integer, bool, or float with integral values; bool
    arrays and arrays whose values are {0, 1} or {0, 255} are binary and are split into
    4-connected components. Raises ValueError naming `name` otherwise.
    """
    array = np.asarray(mask)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D label map [H, W], got shape {array.shape}")
    if array.dtype == bool:
        return _components(array)
    if np.issubdtype(array.dtype, np.floating):
        if not np.all(np.isfinite(array)) or np.any(array != np.round(array)):
            raise ValueError(f"{name}: expected integer labels, got non-integer values")
    elif not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name}: expected an integer label map, got dtype {array.dtype}")
    if array.size and array.min() < 0:
        raise ValueError(f"{name}: labels must be >= 0, got {array.min()}")
    if array.size and array.max() >= 2**24:
        raise ValueError(f"{name}: label ids must be < 2**24, got {array.max()}")
    top = array.max() if array.size else 0
    if top == 255 or top == 1:
        values = np.unique(array)
        if len(values) <= 2:
            return _components(array > 0)
    return array.astype(np.int32, copy=False)


def _components(binary: np.ndarray) -> np.ndarray:
    _, labels = cv2.connectedComponents(binary.astype(np.uint8), connectivity=4, ltype=cv2.CV_32S)
    return labels


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


def erosion_depth(labels: np.ndarray) -> np.ndarray:
    """Number of one-pixel (3x3) erosions of its own nucleus needed to reach each pixel.

    Contour pixels are reached by 0 erosions. Equals the chessboard distance to the
    nearest contour pixel of the same nucleus (see BUILD_NOTES.md for the argument).
    Returns float32 [H, W], 0 on background.
    """
    labels = as_labels(labels)
    return _erosion_depth(_interior(labels, _contour(labels)))


def _interior(labels: np.ndarray, contour: np.ndarray) -> np.ndarray:
    return ((labels > 0) & ~contour).astype(np.uint8)


def _erosion_depth(interior: np.ndarray) -> np.ndarray:
    return cv2.distanceTransform(interior, cv2.DIST_C, 3)


def _per_label_max(labels: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per-pixel maximum of `values` over the pixel's nucleus (0 on background)."""
    flat_labels = labels.ravel()
    nuclei = np.flatnonzero(flat_labels)  # ufunc.at cost grows with its input: skip background
    peak = np.zeros(int(flat_labels.max(initial=0)) + 1, np.float32)
    np.maximum.at(peak, flat_labels[nuclei], values.ravel()[nuclei])
    return peak[labels]


def distance_map(labels: np.ndarray) -> np.ndarray:
    """Paper's distance map: erosion depth divided by its nucleus' maximum.

    Every nucleus peaks at exactly 1.0; a nucleus too thin to have an interior (all
    of it contour) is 1.0 throughout. Returns float32 [H, W] in [0, 1], 0 on background.
    """
    labels = as_labels(labels)
    return _distance_map(labels, _interior(labels, _contour(labels)))


def _distance_map(labels: np.ndarray, interior: np.ndarray) -> np.ndarray:
    depth = _erosion_depth(interior)
    peak = _per_label_max(labels, depth)
    scaled = np.divide(depth, peak, out=np.ones_like(depth), where=peak > 0)
    scaled[labels == 0] = 0.0
    return scaled


def euclidean_depth(labels: np.ndarray) -> np.ndarray:
    """Exact Euclidean distance from each interior pixel to its nucleus' contour set.

    Returns float32 [H, W]: 0 on contour and background pixels.
    """
    labels = as_labels(labels)
    return _euclidean_depth(_interior(labels, _contour(labels)))


def _euclidean_depth(interior: np.ndarray) -> np.ndarray:
    return cv2.distanceTransform(interior, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


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
    labels = as_labels(labels)
    return _skeleton(labels, _interior(labels, _contour(labels)))


def _skeleton(labels: np.ndarray, interior: np.ndarray) -> np.ndarray:
    height, width = labels.shape
    depth = _euclidean_depth(interior)
    # Work on nucleus pixels only, as flat indices into arrays padded by one pixel
    # (padding label -1 matches no nucleus, so outside neighbours never count).
    padded_labels = np.pad(labels, 1, constant_values=-1).ravel()
    padded_depth = np.pad(depth, 1).ravel()
    rows, cols = np.nonzero(labels)
    centre = (rows + 1) * (width + 2) + (cols + 1)
    own_label = padded_labels[centre]
    own_depth = padded_depth[centre]
    steepest = np.full(centre.shape, -np.inf, np.float32)
    for dy, dx in _NEIGHBOURS:
        neighbour = centre + (dy * (width + 2) + dx)
        step = np.float32(np.sqrt(2.0) if dy and dx else 1.0)
        rise = (padded_depth[neighbour] - own_depth) / step
        same = padded_labels[neighbour] == own_label
        np.maximum(steepest, np.where(same, rise, -np.inf), out=steepest)
    rise = np.clip(steepest, 0.0, 1.0)
    separation = 2.0 * own_depth * np.sqrt(1.0 - rise * rise)
    medial = (own_depth > 0) & (steepest < MEDIAL_MAX_RISE) & (separation >= MEDIAL_MIN_SEPARATION)
    deepest = own_depth == _per_label_max(labels, depth)[rows, cols]
    result = np.zeros((height, width), bool)
    result[rows[medial | deepest], cols[medial | deepest]] = True
    return result


def skeleton_map(labels: np.ndarray) -> np.ndarray:
    """Skeleton map of section 2.2: `distance_map + skeleton`, float32 [H, W] in [0, 2]."""
    labels = as_labels(labels)
    interior = _interior(labels, _contour(labels))
    return _distance_map(labels, interior) + _skeleton(labels, interior).astype(np.float32)


def conditioning(labels: np.ndarray, kind: str) -> np.ndarray:
    """Generator input for a paper variant, float32 [H, W, 1].

    Args:
      labels: instance label map or binary mask [H, W].
      kind: "binary" (pix2pix: nucleus = 1), "distance" (Sharp-GAN: distance map in
        [0, 1]) or "skeleton" (Sharp-GAN+ and the enhanced model: skeleton map in [0, 2]).
    """
    labels = as_labels(labels)
    if kind == "binary":
        condition = (labels > 0).astype(np.float32)
    elif kind == "distance":
        condition = distance_map(labels)
    elif kind == "skeleton":
        condition = skeleton_map(labels)
    else:
        raise ValueError(f"kind: expected one of {CONDITIONING_KINDS}, got {kind!r}")
    return condition[..., None]
