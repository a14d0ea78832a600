"""Analytic conv FLOP counts used by benchmarks/train_step.py."""

import keras

from tf_esgan.models.discriminator import DiscriminatorConfig, build_discriminator
from tf_esgan.models.flops import conv_flops, train_step_flops


def test_conv_and_transposed_conv_counts():
    inputs = keras.Input((4, 4, 1))
    x = keras.layers.Conv2D(2, 3, padding="same")(inputs)  # 2 * 16 px * 9 * 1 * 2 = 576
    x = keras.layers.Conv2DTranspose(3, 2, strides=2)(x)  # 2 * 16 input px * 4 * 2 * 3 = 768
    x = keras.layers.ReLU()(x)
    assert conv_flops(keras.Model(inputs, x)) == 576 + 768


def test_patchgan_256_forward_flops():
    expected = 2 * 16 * (
        128 * 128 * 4 * 64  # C64, 4 input channels (condition + RGB)
        + 64 * 64 * 64 * 128
        + 32 * 32 * 128 * 256
        + 31 * 31 * 256 * 512  # stride 1 after padding 32 -> 34: 31x31
        + 30 * 30 * 512 * 1
    )
    discriminator = build_discriminator(DiscriminatorConfig())
    assert conv_flops(discriminator) == expected == 6_327_173_120
    # A step: 3 generator passes and 8 discriminator passes per image.
    assert train_step_flops(discriminator, discriminator, 3) == 3 * 11 * expected
