"""Adam with each variable's update in one fused kernel (`ResourceApplyAdam`).

Keras 3's Adam updates a variable with about a dozen separate elementwise ops (subtract,
multiply, square, sqrt, divide and three assigns), each a full pass over the variable,
its gradient or a moment: on the CPU at batch 1 that was 24 % of the op time of a GAN
step (benchmarks/README.md, "Profile of the training step"). TensorFlow's
`ResourceApplyAdam` computes the same update in one pass:

    lr_t = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
    m   <- m + (g - m) * (1 - beta_1)
    v   <- v + (g^2 - v) * (1 - beta_2)
    var <- var - lr_t * m / (sqrt(v) + epsilon)

which is Keras' `Adam.update_step` term for term (t = iterations + 1), so the two differ
by float rounding only (tests/training/test_fused_adam.py). Variables, slots, config and
checkpoints are Keras Adam's; `amsgrad`, sparse gradients and non-float32 variables take
Keras' own path.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf


def _resource(variable: Any) -> Any:
    """The tf.Variable behind a Keras variable (or `variable` itself)."""
    return variable.value if isinstance(variable, keras.Variable) else variable


@keras.saving.register_keras_serializable(package="tf_esgan")
class FusedAdam(keras.optimizers.Adam):
    """`keras.optimizers.Adam` whose per-variable update is one `ResourceApplyAdam`."""

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        target = _resource(variable)
        if (self.amsgrad or target.dtype != tf.float32 or not hasattr(target, "handle")
                or isinstance(gradient, tf.IndexedSlices)):
            super().update_step(gradient, variable, learning_rate)
            return
        index = self._get_variable_index(variable)
        m = _resource(self._momentums[index])
        v = _resource(self._velocities[index])
        local_step = tf.cast(self.iterations + 1, tf.float32)
        beta_1 = tf.cast(self.beta_1, tf.float32)
        beta_2 = tf.cast(self.beta_2, tf.float32)
        tf.raw_ops.ResourceApplyAdam(
            var=target.handle, m=m.handle, v=v.handle,
            beta1_power=tf.pow(beta_1, local_step), beta2_power=tf.pow(beta_2, local_step),
            lr=tf.cast(learning_rate, tf.float32), beta1=beta_1, beta2=beta_2,
            epsilon=tf.cast(self.epsilon, tf.float32), grad=tf.cast(gradient, tf.float32),
            use_locking=False)
