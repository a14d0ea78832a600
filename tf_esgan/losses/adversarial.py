"""Adversarial and reconstruction terms of Enhanced Sharp-GAN (paper Eqs. 1-3).

The discriminator D is a PatchGAN (pix2pix, paper ref. [9]) that outputs one
logit per patch, D(.) = sigmoid(logit). All log-probabilities are written with
softplus so they stay finite for any logit:

    -log D       = -log sigmoid(l)     = softplus(-l)
    -log(1 - D)  = -log sigmoid(-l)    = softplus(l)

Means run over patches and batch. Every function casts to float32 first, so
mixed-precision networks can hand over bfloat16/float16 tensors.
"""

from __future__ import annotations

import tensorflow as tf


def _logits(logits: tf.Tensor) -> tf.Tensor:
    return tf.cast(logits, tf.float32)


def discriminator_loss(real_logits: tf.Tensor, fake_logits: tf.Tensor) -> tf.Tensor:
    """What D minimises: E[L_1] + E[L_2] of Eqs. 1-3.

    loss = mean(-log D(x, y)) + mean(-log(1 - D(x, G(x))))
         = mean(softplus(-real_logits)) + mean(softplus(fake_logits))

    Not halved (pix2pix divides D's objective by 2): Eq. 1 has no factor 1/2,
    and under Adam a constant factor on the loss leaves the updates unchanged
    (up to epsilon), so halving would only change the logged number.

    Args:
      real_logits: float [B, h, w, 1] (any shape), D's logits on (x, y).
      fake_logits: float, D's logits on (x, G(x)); may differ in batch size.

    Returns:
      float32 scalar >= 0; 2 log 2 ~= 1.386 when D outputs 0.5 everywhere.
    """
    real_term = tf.reduce_mean(tf.nn.softplus(-_logits(real_logits)))
    fake_term = tf.reduce_mean(tf.nn.softplus(_logits(fake_logits)))
    return real_term + fake_term


def generator_adversarial_loss(fake_logits: tf.Tensor) -> tf.Tensor:
    """Adversarial term G minimises, non-saturating form of Eq. 3.

    loss = mean(-log D(x, G(x))) = mean(softplus(-fake_logits))

    Eq. 3 read literally makes G maximise -log(1 - D(x, G(x))) (the saturating
    minimax form), whose gradient vanishes while D confidently rejects G's
    images; like pix2pix (ref. [9]) and the original GAN paper's advice, G
    minimises -log D(x, G(x)) instead, which has the same fixed point.

    Args:
      fake_logits: float [B, h, w, 1] (any shape), D's logits on (x, G(x)).

    Returns:
      float32 scalar >= 0; log 2 ~= 0.693 when D outputs 0.5 everywhere.
    """
    return tf.reduce_mean(tf.nn.softplus(-_logits(fake_logits)))


def l1_reconstruction_loss(real: tf.Tensor, fake: tf.Tensor) -> tf.Tensor:
    """pix2pix L1 term: mean |y - G(x)| over pixels, channels and batch.

    Not written in Eq. 1 of the paper but part of the pix2pix objective that
    Sharp-GAN builds on; its weight lives in the GAN config.

    Args:
      real: float [B, H, W, 3] in [-1, 1], the real image y.
      fake: float, same shape, the generated image G(x).

    Returns:
      float32 scalar in [0, 2] for inputs in [-1, 1].
    """
    real = tf.cast(real, tf.float32)
    fake = tf.cast(fake, tf.float32)
    if not real.shape.is_compatible_with(fake.shape):
        raise ValueError(
            f"l1_reconstruction_loss: `fake` must have the shape of `real` {real.shape}, got {fake.shape}."
        )
    return tf.reduce_mean(tf.abs(real - fake))
