"""The one mapping between 8-bit pixel values [0, 255] and the networks' range [-1, 1].

    x = v / 127.5 - 1        (uint8 image -> network input)
    v = round((x + 1) * 127.5), clipped to [0, 255]   (tanh output -> uint8 image)

Rounding is half to even (`np.rint`, `tf.round`), and clipping comes before the cast, so
the numpy forms (synthesis, evaluation) and the TF forms (input pipelines, SegNet's
scaling layer, the served graph) give the same pixels for the same float32 values
(tests/data/test_image_range.py).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

_HALF_RANGE = 127.5


def to_uint8(images: np.ndarray) -> np.ndarray:
    """float [..., 3] in [-1, 1] -> uint8 [..., 3] in [0, 255] (rounded, clipped)."""
    scaled = (np.asarray(images, np.float32) + 1.0) * _HALF_RANGE
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def to_uint8_tensor(images: tf.Tensor) -> tf.Tensor:
    """`to_uint8` in TF ops, for graphs (the served generator)."""
    scaled = (tf.cast(images, tf.float32) + 1.0) * _HALF_RANGE
    return tf.cast(tf.round(tf.clip_by_value(scaled, 0.0, 255.0)), tf.uint8)


def from_uint8(values: np.ndarray) -> np.ndarray:
    """uint8 (or float) values in [0, 255] -> float32 in [-1, 1]."""
    return np.asarray(values, np.float32) / _HALF_RANGE - 1.0


def from_uint8_tensor(images: tf.Tensor) -> tf.Tensor:
    """`from_uint8` in TF ops, for input pipelines and layers."""
    return tf.cast(images, tf.float32) / _HALF_RANGE - 1.0
