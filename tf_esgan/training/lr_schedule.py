"""pix2pix's learning-rate schedule: constant, then a linear decay to zero over the last epochs.

The paper states Adam at 1e-4 and nothing about a schedule (constant is this project's
default). pix2pix (Isola et al. 2017, ref. [9]) trains 100 epochs at the initial step and
decays it linearly to zero over the next 100; `--lr_decay_epochs` offers that tail as a
named option (BUILD_NOTES.md), decayed per step rather than per epoch.
"""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tf_esgan")
class LinearDecayTail(keras.optimizers.schedules.LearningRateSchedule):
    """lr(step) = initial for step < start; initial * (end - step) / (end - start) up to end; 0 after.

    Args:
      initial: the step size before the decay.
      start: first optimizer step of the decay (the first step of the first decaying epoch).
      end: the step at which it reaches 0 (the run's last step: epochs * steps_per_epoch).
    """

    def __init__(self, initial: float, start: int, end: int):
        if not 0 <= start < end:
            raise ValueError(f"LinearDecayTail: need 0 <= start < end, got start={start}, end={end}")
        self.initial, self.start, self.end = float(initial), int(start), int(end)

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        fraction = tf.clip_by_value((self.end - step) / float(self.end - self.start), 0.0, 1.0)
        return self.initial * fraction

    def get_config(self):
        return {"initial": self.initial, "start": self.start, "end": self.end}


def gan_learning_rate(learning_rate: float, *, epochs: int, steps_per_epoch: int, decay_epochs: int):
    """The optimizers' `learning_rate`: the float itself, or a LinearDecayTail over the last `decay_epochs`."""
    if decay_epochs <= 0:
        return learning_rate
    end = epochs * steps_per_epoch
    return LinearDecayTail(learning_rate, start=(epochs - decay_epochs) * steps_per_epoch, end=end)
