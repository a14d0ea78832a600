"""The plain-TF conditioning maps equal the numpy/OpenCV ones exactly on real masks."""

import cv2
import numpy as np
import pytest
import tensorflow as tf

from tf_esgan.data import skeleton, skeleton_graph

MAPS = ["contour_mask", "erosion_depth", "euclidean_depth", "distance_map", "skeleton", "skeleton_map"]


def real_batch(datasets_dir, dataset, count, size=256):
    paths = sorted((datasets_dir / dataset / "masks").glob("*.png"))[:count]
    return np.stack([cv2.imread(str(p), cv2.IMREAD_UNCHANGED)[:size, :size].astype(np.int32)
                     for p in paths])


@pytest.mark.parametrize("dataset", ["tnbc", "cpm15", "monuseg"])
def test_graph_maps_equal_numpy_maps_on_real_masks(datasets_dir, dataset):
    labels = real_batch(datasets_dir, dataset, 3)
    compiled = tf.function(lambda x: {name: getattr(skeleton_graph, name)(x) for name in MAPS})
    graph = compiled(tf.constant(labels))
    for name in MAPS:
        expected = np.stack([getattr(skeleton, name)(one) for one in labels])
        np.testing.assert_array_equal(graph[name].numpy(), expected, err_msg=name)


def test_graph_conditioning_kinds_and_hand_made_shapes():
    labels = np.zeros((2, 40, 40), np.int32)
    labels[0, 5:30, 5:30] = 4  # a square: skeleton = diagonals
    labels[0, 30:38, 10:20] = 9  # touching it from below
    labels[1, 0:12, 0:40] = 2  # cut by the image border on three sides
    for kind in ("binary", "distance", "skeleton"):
        got = skeleton_graph.conditioning(tf.constant(labels), kind).numpy()
        expected = np.stack([skeleton.conditioning(one, kind) for one in labels])
        np.testing.assert_array_equal(got, expected, err_msg=kind)
    with pytest.raises(ValueError, match="kind"):
        skeleton_graph.conditioning(tf.constant(labels), "mask")


def test_graph_components_give_the_same_partition_as_opencv(datasets_dir):
    binary = real_batch(datasets_dir, "tnbc", 2, size=128) > 0
    ids = skeleton_graph.label_components(tf.constant(binary)).numpy()
    for one_binary, one_ids in zip(binary, ids):
        reference = skeleton.as_labels(one_binary)
        pairs = set(zip(reference.ravel().tolist(), one_ids.ravel().tolist()))
        # A bijection between component ids: same partition of the pixels.
        assert len(pairs) == len(np.unique(reference)) == len(np.unique(one_ids)) > 3
        np.testing.assert_array_equal(
            skeleton_graph.skeleton_map(tf.constant(one_ids[None])).numpy()[0],
            skeleton.skeleton_map(reference))
