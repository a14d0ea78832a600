"""Instance labels from a served mask, with the binary-mask rule of `tf_esgan.data.labels`, in TF ops.

`labels.is_binary_mask` treats a mask as binary when all its values lie within {0, 1} or
within {0, 255}; binary masks are split into 4-connected components. The same rule is
applied here to each image of the batch on its own, so a batch may mix instance label
maps and binary masks (tests/serving/test_mask_labels.py checks that both agree). Ids
are then renumbered compactly (the maps are per nucleus, so they do not depend on the
ids; small ids keep the per-nucleus segment reductions small whatever ids the client
sends).
"""

from __future__ import annotations

import tensorflow as tf

from tf_esgan.data.labels import BINARY_FOREGROUND_VALUES
from tf_esgan.data.skeleton_graph import label_components


def binary_images(mask: tf.Tensor) -> tf.Tensor:
    """bool [B]: images whose values all lie within {0, 1} or within {0, 255}."""
    background = mask == 0
    within = [tf.reduce_all(background | (mask == top), axis=[1, 2]) for top in BINARY_FOREGROUND_VALUES]
    return tf.reduce_any(tf.stack(within), axis=0)


def _compact_ids(labels: tf.Tensor) -> tf.Tensor:
    """Same partition of the batch into nuclei, ids 1..N (0 stays background)."""
    flat = tf.reshape(labels, [-1])
    _, index = tf.unique(flat)
    compact = tf.where(flat > 0, index + 1, 0)
    return tf.reshape(compact, tf.shape(labels))


def labels_from_mask(mask: tf.Tensor) -> tf.Tensor:
    """Instance labels of a batch of masks.

    Args:
      mask: integer [B, H, W], 0 = background; per image either an instance label map
        (any non-negative ids) or a binary mask ({0, 1} or {0, 255}).
    Returns:
      int32 [B, H, W] instance labels, ids compact over the batch.
    Raises:
      InvalidArgumentError (at run time) if a value is negative.
    """
    mask = tf.cast(mask, tf.int32)
    check = tf.debugging.assert_non_negative(
        mask, message="mask: instance labels must be >= 0 (0 = background)")
    with tf.control_dependencies([check]):
        mask = tf.identity(mask)
    binary = binary_images(mask)
    # The component search is a while_loop over the whole batch: skip it when no image
    # needs it (the usual case of instance label maps).
    labels = tf.cond(
        tf.reduce_any(binary),
        lambda: tf.where(binary[:, None, None], label_components(mask > 0), mask),
        lambda: mask)
    return _compact_ids(labels)
