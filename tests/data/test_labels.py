"""One label-map validation and binary-mask rule (`tf_esgan.data.labels`), pinned."""

import cv2
import numpy as np
import pytest
from skimage.measure import label as skimage_label

from tf_esgan.data import labels as labels_module
from tf_esgan.data.image_io import DatasetError, read_mask
from tf_esgan.data.labels import (check_label_map, connected_components, instance_labels,
                                  is_binary_mask, relabel_consecutive)

# Two nuclei touching only diagonally: one 8-connected blob, two 4-connected ones.
DIAGONAL = np.array([[1, 1, 0, 0],
                     [1, 1, 0, 0],
                     [0, 0, 1, 1],
                     [0, 0, 1, 1]])


@pytest.mark.parametrize("values, binary", [
    ({0, 1}, True), ({0, 255}, True), ({0}, True), ({1}, True), ({255}, True),
    # Two values without background are two nuclei (the old in-graph/numpy rule,
    # "maximum 1 or 255 and at most two values", merged them into one).
    ({1, 255}, False), ({7, 255}, False),
    ({0, 2}, False), ({0, 1, 2}, False), ({0, 254}, False), ({0, 1, 255}, False),
])
def test_binary_rule_looks_at_values(values, binary):
    array = np.array(sorted(values) * 4).reshape(-1, 2)[:4]
    for dtype in (np.uint8, np.uint16, np.int32, np.int64, np.float32):
        assert is_binary_mask(array.astype(dtype)) is binary, (values, dtype)
    assert is_binary_mask(array.astype(bool))


def test_binary_masks_of_every_bit_depth_are_split_in_files(tmp_path):
    # The old file rule split 8-bit masks only; 16-bit {0, 255} was one instance.
    for dtype, top in ((np.uint8, 255), (np.uint16, 255), (np.uint16, 1), (np.uint8, 1)):
        path = tmp_path / f"{np.dtype(dtype).name}_{top}.png"
        cv2.imwrite(str(path), (DIAGONAL * top).astype(dtype))
        np.testing.assert_array_equal(read_mask(path), connected_components(DIAGONAL))
        assert read_mask(path).max() == 2


def test_connected_components_are_4_connected_in_raster_order(rng):
    np.testing.assert_array_equal(connected_components(DIAGONAL),
                                  [[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 2, 2], [0, 0, 2, 2]])
    # Same labels as scikit-image's 4-connectivity (the former TNBC converter).
    for _ in range(50):
        mask = rng.random(tuple(rng.integers(1, 40, 2))) < rng.random()
        np.testing.assert_array_equal(connected_components(mask),
                                      skimage_label(mask, connectivity=1).astype(np.int32))
    assert connected_components(np.zeros((0, 5), bool)).shape == (0, 5)
    assert connected_components(mask).dtype == np.int32


def test_instance_labels_keeps_label_maps_and_splits_binary_masks():
    label_map = DIAGONAL * np.array([[3], [3], [8], [8]])
    np.testing.assert_array_equal(instance_labels(label_map, name="m"), label_map)
    np.testing.assert_array_equal(instance_labels(DIAGONAL * 255, name="m"), connected_components(DIAGONAL))
    np.testing.assert_array_equal(instance_labels(DIAGONAL.astype(bool), name="m"),
                                  connected_components(DIAGONAL))


@pytest.mark.parametrize("array, message", [
    (np.zeros((2, 2, 1), int), r"m: expected a 2-D label map \[H, W\], got shape \(2, 2, 1\)"),
    (np.array([[0, 1.5]]), "m: expected integer labels, found non-integer value 1.5"),
    (np.array([[0, np.nan]]), "m: expected integer labels, found non-integer value nan"),
    (np.zeros((2, 2), bool), "m: expected an integer label map, got dtype bool"),
    (np.array([["a"]]), "m: expected an integer label map, got dtype <U1"),
    (np.array([[0, -3]]), "m: expected labels >= 0, found -3"),
])
def test_check_label_map_errors(array, message):
    with pytest.raises(ValueError, match=message):
        check_label_map(array, name="m")
    with pytest.raises(DatasetError, match=message):
        check_label_map(array, name="m", error=DatasetError)


def test_check_label_map_accepts_whole_floats_and_keeps_the_array():
    whole = np.array([[0.0, 2.0]], np.float32)
    assert check_label_map(whole, name="m").dtype == np.float32
    assert check_label_map(np.zeros((0, 3), np.int32), name="m").shape == (0, 3)


def test_relabel_consecutive_keeps_order():
    labels = relabel_consecutive(np.array([[0, 40, 7], [7, 0, 1000]], np.int64))
    np.testing.assert_array_equal(labels, [[0, 2, 1], [1, 0, 3]])
    assert labels.dtype == np.int32


def test_one_home_for_the_rule():
    assert labels_module.BINARY_FOREGROUND_VALUES == (1, 255)
