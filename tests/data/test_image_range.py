"""[0, 255] <-> [-1, 1]: the numpy and TF forms give the same values (one home: data/image_range.py)."""

import numpy as np
import tensorflow as tf

from tf_esgan.data.image_range import from_uint8, from_uint8_tensor, to_uint8, to_uint8_tensor


def test_to_uint8_numpy_equals_tensor(rng):
    grey = np.arange(256, dtype=np.float32)
    # Values exactly on rounding boundaries (v + 0.5) and beyond the range on both sides.
    values = np.concatenate([grey / 127.5 - 1.0, (grey + 0.5) / 127.5 - 1.0, rng.uniform(-1.5, 1.5, 5000),
                             [-1.0, 1.0, -7.0, 7.0]]).astype(np.float32)
    expected = to_uint8(values)
    np.testing.assert_array_equal(to_uint8_tensor(tf.constant(values)).numpy(), expected)
    assert expected.dtype == np.uint8 and expected.min() == 0 and expected.max() == 255


def test_round_trip_and_hand_values():
    grey = np.arange(256, dtype=np.uint8)
    np.testing.assert_array_equal(to_uint8(from_uint8(grey)), grey)
    np.testing.assert_array_equal(from_uint8_tensor(tf.constant(grey)).numpy(), from_uint8(grey))
    np.testing.assert_array_equal(from_uint8(np.array([0, 255])), [-1.0, 1.0])
    np.testing.assert_array_equal(to_uint8(np.array([-1.0, 0.0, 1.0])), [0, 128, 255])  # 127.5 -> 128
