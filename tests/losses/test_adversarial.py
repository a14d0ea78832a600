"""Adversarial (Eqs. 2-3) and L1 losses: hand-computed values, stability, -log(sigmoid) agreement."""

import math

import numpy as np
import pytest
import tensorflow as tf

from tf_esgan.losses.adversarial import (
    discriminator_loss,
    generator_adversarial_loss,
    l1_reconstruction_loss,
)


def test_hand_computed_values():
    # logit ln 3 -> D = 3/4; logit -ln 3 -> D = 1/4; logit 0 -> D = 1/2.
    ln3 = math.log(3.0)
    real = tf.constant([[[[ln3]], [[0.0]]]])  # [1, 2, 1, 1] patches
    fake = tf.constant([[[[-ln3]], [[0.0]]]])
    # D: mean(-log 3/4, -log 1/2) + mean(-log(1 - 1/4), -log(1 - 1/2)) = -log 3/4 - log 1/2.
    expected_d = -math.log(0.75) - math.log(0.5)
    assert float(discriminator_loss(real, fake)) == pytest.approx(expected_d, abs=1e-6)
    assert expected_d == pytest.approx(0.980829, abs=1e-6)
    # G (non-saturating): mean(-log 1/4, -log 1/2) = (ln 4 + ln 2) / 2 = 1.5 ln 2.
    assert float(generator_adversarial_loss(fake)) == pytest.approx(1.5 * math.log(2.0), abs=1e-6)
    # Undecided discriminator: 2 ln 2 for D, ln 2 for G.
    zeros = tf.zeros((2, 30, 30, 1))
    assert float(discriminator_loss(zeros, zeros)) == pytest.approx(2 * math.log(2.0), abs=1e-6)
    assert float(generator_adversarial_loss(zeros)) == pytest.approx(math.log(2.0), abs=1e-6)


def test_agrees_with_log_sigmoid_formulas(rng):
    real = rng.normal(scale=3.0, size=(2, 8, 8, 1))
    fake = rng.normal(scale=3.0, size=(3, 8, 8, 1))
    d_real, d_fake = 1 / (1 + np.exp(-real)), 1 / (1 + np.exp(-fake))
    expected_d = np.mean(-np.log(d_real)) + np.mean(-np.log(1 - d_fake))
    expected_g = np.mean(-np.log(d_fake))
    got_d = discriminator_loss(tf.constant(real, tf.float32), tf.constant(fake, tf.float32))
    got_g = generator_adversarial_loss(tf.constant(fake, tf.float32))
    assert float(got_d) == pytest.approx(expected_d, rel=1e-5)
    assert float(got_g) == pytest.approx(expected_g, rel=1e-5)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_large_logits_stay_finite_with_finite_gradients(sign):
    real = tf.Variable(tf.fill((1, 4, 4, 1), 100.0 * sign))
    fake = tf.Variable(tf.fill((1, 4, 4, 1), -100.0 * sign))
    with tf.GradientTape(persistent=True) as tape:
        d_loss = discriminator_loss(real, fake)
        g_loss = generator_adversarial_loss(fake)
    # D right (sign=+1): D loss ~ 0, G loss ~ 100; D wrong: D loss ~ 200, G loss ~ 0.
    assert float(d_loss) == pytest.approx(0.0 if sign > 0 else 200.0, abs=1e-4)
    assert float(g_loss) == pytest.approx(100.0 if sign > 0 else 0.0, abs=1e-4)
    for grad in tape.gradient(d_loss, [real, fake]) + [tape.gradient(g_loss, fake)]:
        assert np.all(np.isfinite(grad.numpy()))
    # Non-saturating: G still gets a full-size gradient (-1/16 per patch) when D rejects its images.
    if sign > 0:
        np.testing.assert_allclose(tape.gradient(g_loss, fake).numpy(), -1.0 / 16, rtol=1e-6)


def test_low_precision_logits_give_float32():
    logits = tf.constant([[[[2.0]], [[-1.0]]]], tf.bfloat16)
    for value in (discriminator_loss(logits, logits), generator_adversarial_loss(logits)):
        assert value.dtype == tf.float32
    assert float(generator_adversarial_loss(logits)) == pytest.approx(
        (math.log1p(math.exp(-2.0)) + math.log1p(math.exp(1.0))) / 2, abs=1e-6
    )


def test_l1_reconstruction_loss():
    real = tf.constant([[[[1.0, -1.0, 0.5]]], [[[0.0, 0.0, 0.0]]]])  # [2, 1, 1, 3]
    fake = tf.constant([[[[0.0, -1.0, -0.5]]], [[[1.0, -1.0, 0.25]]]])
    # |diffs| = 1, 0, 1, 1, 1, 0.25 -> mean 4.25 / 6.
    assert float(l1_reconstruction_loss(real, fake)) == pytest.approx(4.25 / 6, abs=1e-7)
    assert float(l1_reconstruction_loss(real, tf.cast(real, tf.float16))) == 0.0
    assert l1_reconstruction_loss(real, tf.cast(fake, tf.bfloat16)).dtype == tf.float32
    with pytest.raises(ValueError, match="l1_reconstruction_loss: `fake`"):
        l1_reconstruction_loss(real, fake[:, :, :, :2])
