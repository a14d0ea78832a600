"""Generator inference: the image the generator computed in training, without dropout.

Every place that runs a trained generator (synthesis, Table 1 evaluation, the
reproduction, the demo, the TensorBoard grid, the SavedModel) calls `generate`, so they
all compute the same image. Two readings, recorded in BUILD_NOTES.md:

- Normalisation: the layers of `models/normalization.py` normalise each image by its own
  statistics at inference, exactly what a batch-1 training step computed; no moving
  averages collected at batch size 1 are ever used.
- Dropout: off. pix2pix keeps it on as its only noise, but then one mask gives a
  different image per call and synthesis is no longer a function of (seed, index); on the
  TNBC generators dropout on/off moved SSIM by < 0.005, so determinism costs nothing
  measurable.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf


def generate(generator: Any, condition: Any) -> tf.Tensor:
    """G(x) at inference.

    Args:
      generator: a U-Net generator (keras.Model), condition [B, S, S, C] -> RGB.
      condition: float32 [B, S, S, C] conditioning maps (tensor or array).
    Returns:
      float32 [B, S, S, 3] in [-1, 1].
    """
    return tf.cast(generator(condition, training=False), tf.float32)
