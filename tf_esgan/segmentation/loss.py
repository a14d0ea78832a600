"""SegNet training loss: nucleus cross-entropy + weighted distance-map regression.

    L = BCE(m, p) + distance_weight * mean((d - d_hat)^2)

m: nucleus mask, d: per-nucleus normalised distance map (Naylor et al. [3] regress a
distance map with a squared error), p and d_hat: the two SegNet output channels.
"""

from __future__ import annotations

import keras
import tensorflow as tf

# Probabilities are clipped away from 0 and 1 so the cross-entropy stays finite.
_EPSILON = 1e-7


def segnet_loss(targets: tf.Tensor, outputs: tf.Tensor, distance_weight: float) -> tf.Tensor:
    """Per-example loss.

    Args:
      targets: float32 [B, H, W, 2]: nucleus mask in {0, 1}, distance map in [0, 1].
      outputs: float32 [B, H, W, 2]: nucleus probability, distance map, both in [0, 1].
      distance_weight: weight of the distance term (>= 0).
    Returns:
      float32 [B]: pixel-mean BCE + distance_weight * pixel-mean squared error.
    """
    targets = tf.cast(targets, tf.float32)
    outputs = tf.cast(outputs, tf.float32)
    mask, distance = targets[..., 0], targets[..., 1]
    probability = tf.clip_by_value(outputs[..., 0], _EPSILON, 1.0 - _EPSILON)
    cross_entropy = -(mask * tf.math.log(probability) + (1.0 - mask) * tf.math.log(1.0 - probability))
    squared_error = tf.square(distance - outputs[..., 1])
    return tf.reduce_mean(cross_entropy + distance_weight * squared_error, axis=[1, 2])


@keras.saving.register_keras_serializable(package="tf_esgan")
class SegNetLoss(keras.losses.Loss):
    """Keras wrapper of `segnet_loss` (serialisable, so a compiled model saves as .keras)."""

    def __init__(self, distance_weight: float = 1.0, name: str = "segnet_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.distance_weight = distance_weight

    def call(self, y_true, y_pred):
        return segnet_loss(y_true, y_pred, self.distance_weight)

    def get_config(self):
        return {**super().get_config(), "distance_weight": self.distance_weight}
