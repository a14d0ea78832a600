"""The served (TF) binary-mask rule and instance labels equal the numpy ones of `data.labels`."""

import numpy as np
import pytest
import tensorflow as tf

from tf_esgan.data.labels import instance_labels, is_binary_mask
from tf_esgan.serving.mask_labels import binary_images, labels_from_mask


def _partition(labels: np.ndarray) -> np.ndarray:
    """Ids renumbered by first appearance in raster order: equal for equal partitions."""
    _, first, inverse = np.unique(labels.ravel(), return_index=True, return_inverse=True)
    rank = np.argsort(np.argsort(first))
    return np.where(labels.ravel() > 0, rank[inverse] + 1, 0).reshape(labels.shape)


def _masks(rng) -> list[np.ndarray]:
    blobs = (rng.random((12, 12)) < 0.45).astype(np.int32)
    ids = rng.integers(1, 6, (12, 12)) * blobs
    masks = [blobs, blobs * 255, ids, np.zeros((12, 12), np.int32), np.ones((12, 12), np.int32),
             np.full((12, 12), 255, np.int32)]
    for low, high in ((1, 255), (7, 255), (0, 2), (0, 254), (3, 1)):  # two values, not binary
        masks.append(np.where(blobs > 0, high, low).astype(np.int32))
    masks.append(np.where(ids == 1, 255, ids))  # {0, 2..5, 255}
    return masks


def test_numpy_and_graph_rules_agree(rng):
    masks = _masks(rng)
    batch = tf.constant(np.stack(masks))
    graph_binary = binary_images(batch).numpy()
    assert graph_binary.tolist() == [is_binary_mask(mask) for mask in masks]
    assert graph_binary.tolist() == [True] * 2 + [False] + [True] * 3 + [False] * 6
    graph_labels = tf.function(labels_from_mask)(batch).numpy()
    for index, mask in enumerate(masks):
        expected = instance_labels(mask, name="mask")
        np.testing.assert_array_equal(_partition(graph_labels[index]), _partition(expected), err_msg=str(index))


@pytest.mark.parametrize("values", [(0, 1), (0, 255), (1, 255)])
def test_single_image_rule(values, rng):
    mask = np.where(rng.random((9, 9)) < 0.5, *values[::-1]).astype(np.int32)
    assert bool(binary_images(tf.constant(mask[None])).numpy()[0]) is is_binary_mask(mask)
