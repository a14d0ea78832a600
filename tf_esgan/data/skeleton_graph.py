"""The conditioning maps of `skeleton.py` with plain TF ops, for served graphs.

TF Serving runs a SavedModel's graph in C++ and cannot call Python, so the maps that
training builds with numpy/OpenCV (`tf.numpy_function`) are rebuilt here from the same
definitions: the 8-neighbour contour set, the erosion depth by a `tf.while_loop` of 3x3
erosions, per-nucleus normalisation by `unsorted_segment_max`, the exact Euclidean
distance to the contour by two separable min passes over integer squared distances, and
the same medial-axis test with the same float32 arithmetic. The results equal the numpy
functions exactly (tested on real masks).

All functions take int32 instance labels [B, H, W] (0 = background; binary masks must be
split into components first, see `label_components`).
"""

from __future__ import annotations

import tensorflow as tf

from tf_esgan.data.skeleton import MEDIAL_MAX_RISE, MEDIAL_MIN_SEPARATION

_NEIGHBOURS = tuple((dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx)


def _shift(padded: tf.Tensor, dy: int, dx: int, height, width) -> tf.Tensor:
    """Neighbour (dy, dx) of every pixel from a [B, H+2, W+2] tensor padded by one."""
    return padded[:, 1 + dy:1 + dy + height, 1 + dx:1 + dx + width]


def contour_mask(labels: tf.Tensor) -> tf.Tensor:
    """bool [B, H, W]: nucleus pixels with an in-image 8-neighbour of another label."""
    labels = tf.convert_to_tensor(labels, tf.int32)
    height, width = tf.shape(labels)[1], tf.shape(labels)[2]
    # Padding with -1 would make the border a contour; outside pixels do not exist, so
    # pad by replicating the edge (a neighbour equal to the pixel never counts).
    padded = tf.pad(labels, [[0, 0], [1, 1], [1, 1]], mode="SYMMETRIC")
    differs = tf.zeros_like(labels, tf.bool)
    for dy, dx in _NEIGHBOURS:
        differs |= _shift(padded, dy, dx, height, width) != labels
    return (labels > 0) & differs


def _interior(labels: tf.Tensor) -> tf.Tensor:
    return (labels > 0) & ~contour_mask(labels)


def erosion_depth(labels: tf.Tensor) -> tf.Tensor:
    """float32 [B, H, W]: 3x3 erosions of its own nucleus needed to reach each pixel."""
    interior = _interior(tf.convert_to_tensor(labels, tf.int32))

    def erode(alive):
        # min-pool of a 0/1 map; SAME padding counts outside pixels as alive, so the
        # image border does not erode. Interior pixels only have same-label neighbours.
        as_float = tf.cast(alive, tf.float32)[..., None]
        return -tf.nn.max_pool2d(-as_float, 3, 1, "SAME")[..., 0] > 0.5

    def body(alive, depth):
        return erode(alive), depth + tf.cast(alive, tf.float32)

    _, depth = tf.while_loop(lambda alive, depth: tf.reduce_any(alive), body,
                             (interior, tf.zeros_like(interior, tf.float32)))
    return depth


def _per_label_max(labels: tf.Tensor, values: tf.Tensor) -> tf.Tensor:
    """Per-pixel maximum of `values` over its nucleus, per image of the batch."""
    batch = tf.shape(labels)[0]
    per_image = tf.reduce_max(labels) + 1
    segments = labels + tf.range(batch)[:, None, None] * per_image
    peak = tf.math.unsorted_segment_max(values, segments, batch * per_image)
    return tf.gather(peak, segments)


def distance_map(labels: tf.Tensor) -> tf.Tensor:
    """float32 [B, H, W] in [0, 1]: erosion depth over its nucleus' maximum."""
    labels = tf.convert_to_tensor(labels, tf.int32)
    depth = erosion_depth(labels)
    peak = _per_label_max(labels, depth)
    scaled = tf.where(peak > 0, depth / tf.where(peak > 0, peak, 1.0), 1.0)
    return tf.where(labels > 0, scaled, 0.0)


def _squared_distance_1d(zero: tf.Tensor, axis: int) -> tf.Tensor:
    """Squared distance to the nearest True along `axis` (int32, large if none)."""
    size = tf.shape(zero)[axis]
    far = tf.constant(2**20, tf.int32)
    distance = tf.where(zero, 0, far)

    def body(distance, _):
        # Relax from both sides until nothing changes (rounds = longest run of non-zeros).
        ahead = tf.roll(distance, -1, axis) + 1
        behind = tf.roll(distance, 1, axis) + 1
        index = tf.range(size)
        shape = [1, 1, 1]
        shape[axis] = -1
        index = tf.reshape(index, shape)
        ahead = tf.where(index < size - 1, ahead, far)
        behind = tf.where(index > 0, behind, far)
        relaxed = tf.minimum(distance, tf.minimum(ahead, behind))
        return relaxed, tf.reduce_any(relaxed != distance)

    distance, _ = tf.while_loop(lambda _, changed: changed, body, (distance, tf.constant(True)),
                                maximum_iterations=size)
    return distance


def euclidean_depth(labels: tf.Tensor) -> tf.Tensor:
    """float32 [B, H, W]: exact Euclidean distance of interior pixels to the contour set.

    Separable exact transform: per row the 1-D distance g to the nearest non-interior
    pixel, then per column min over k of g(k, j)^2 + (i - k)^2, in int32, then sqrt.
    """
    interior = _interior(tf.convert_to_tensor(labels, tf.int32))
    row = _squared_distance_1d(~interior, axis=2)
    squared_row = tf.minimum(row, 2**15) ** 2
    height = tf.shape(interior)[1]
    best = squared_row

    def body(offset, best):
        offset_sq = offset * offset
        index = tf.range(height)[None, :, None]
        down = tf.where(index + offset < height, tf.roll(squared_row, -offset, 1), 2**30)
        up = tf.where(index - offset >= 0, tf.roll(squared_row, offset, 1), 2**30)
        return offset + 1, tf.minimum(best, tf.minimum(down, up) + offset_sq)

    def more(offset, best):
        # No column offset beyond the largest distance found so far can improve it.
        return (offset < height) & (offset * offset <= tf.reduce_max(tf.where(interior, best, 0)))

    _, best = tf.while_loop(more, body, (1, best), maximum_iterations=height)
    return tf.where(interior, tf.sqrt(tf.cast(best, tf.float32)), 0.0)


def skeleton(labels: tf.Tensor) -> tf.Tensor:
    """bool [B, H, W]: the medial-axis test of `skeleton.skeleton`, same arithmetic."""
    labels = tf.convert_to_tensor(labels, tf.int32)
    height, width = tf.shape(labels)[1], tf.shape(labels)[2]
    depth = euclidean_depth(labels)
    padded_labels = tf.pad(labels, [[0, 0], [1, 1], [1, 1]], constant_values=-1)
    padded_depth = tf.pad(depth, [[0, 0], [1, 1], [1, 1]])
    steepest = tf.fill(tf.shape(depth), float("-inf"))
    for dy, dx in _NEIGHBOURS:
        step = tf.constant(2.0 ** 0.5 if dy and dx else 1.0, tf.float32)
        rise = (_shift(padded_depth, dy, dx, height, width) - depth) / step
        same = _shift(padded_labels, dy, dx, height, width) == labels
        steepest = tf.maximum(steepest, tf.where(same, rise, float("-inf")))
    rise = tf.clip_by_value(steepest, 0.0, 1.0)
    separation = 2.0 * depth * tf.sqrt(1.0 - rise * rise)
    medial = (depth > 0) & (steepest < MEDIAL_MAX_RISE) & (separation >= MEDIAL_MIN_SEPARATION)
    deepest = (labels > 0) & (depth == _per_label_max(labels, depth))
    return medial | deepest


def skeleton_map(labels: tf.Tensor) -> tf.Tensor:
    """float32 [B, H, W] in [0, 2]: distance map + skeleton."""
    return distance_map(labels) + tf.cast(skeleton(labels), tf.float32)


def conditioning(labels: tf.Tensor, kind: str) -> tf.Tensor:
    """float32 [B, H, W, 1] generator input for a conditioning kind (see skeleton.py)."""
    labels = tf.convert_to_tensor(labels, tf.int32)
    if kind == "binary":
        condition = tf.cast(labels > 0, tf.float32)
    elif kind == "distance":
        condition = distance_map(labels)
    elif kind == "skeleton":
        condition = skeleton_map(labels)
    else:
        raise ValueError(f"kind: expected 'binary', 'distance' or 'skeleton', got {kind!r}")
    return condition[..., None]


def label_components(foreground: tf.Tensor) -> tf.Tensor:
    """int32 [B, H, W]: 4-connected components of a binary mask (ids not consecutive).

    Every foreground pixel starts with its own id and takes the largest id among its
    4-neighbours in the foreground until nothing changes.
    """
    foreground = tf.cast(foreground, tf.int32) > 0
    shape = tf.shape(foreground)
    ids = tf.reshape(tf.range(1, tf.reduce_prod(shape) + 1), shape)
    ids = tf.where(foreground, ids, 0)

    def spread(ids):
        padded = tf.pad(ids, [[0, 0], [1, 1], [1, 1]])
        height, width = shape[1], shape[2]
        best = ids
        for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
            best = tf.maximum(best, _shift(padded, dy, dx, height, width))
        return tf.where(foreground, best, 0)

    def body(ids, _):
        new = spread(ids)
        return new, tf.reduce_any(new != ids)

    ids, _ = tf.while_loop(lambda ids, changed: changed, body, (ids, tf.constant(True)))
    return ids
