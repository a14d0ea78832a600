"""Analytic FLOP counts of the convolutions of a training step (for benchmarks).

Only Conv2D and Conv2DTranspose are counted (2 FLOPs per multiply-add); in
these networks normalisation, activations and losses add well under 1%.
"""

from __future__ import annotations

import keras

# Per image: G runs forward once (EnhancedSharpGAN.train_step updates D on that same
# fake) and backward once; D runs forward+backward on the real and the fake pair, then
# forward on the fake plus its backward to its input (no weight gradients). A backward
# pass that computes input and weight gradients costs two forward passes, one without
# weight gradients one. (Until 2026-12-07 this counted a second G forward, which the
# step had stopped running: GFLOP/s figures before then are 14 % high.)
GENERATOR_PASSES_PER_STEP = 3
DISCRIMINATOR_PASSES_PER_STEP = 2 * 3 + 2


def conv_layer_flops(model: keras.Model) -> dict[str, tuple[str, int]]:
    """Layer name -> ("conv" or "transposed", forward FLOPs per image) of the conv layers of a built functional `model`."""
    flops = {}
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2DTranspose):
            kind = "transposed"
            _, height, width, channels_in = layer.input.shape
        elif isinstance(layer, keras.layers.Conv2D):
            kind = "conv"
            _, height, width, _ = layer.output.shape
            channels_in = layer.input.shape[-1]
        else:
            continue
        kernel_h, kernel_w = layer.kernel_size
        flops[layer.name] = (kind, int(2 * height * width * kernel_h * kernel_w * channels_in * layer.filters))
    return flops


def conv_flops(model: keras.Model) -> int:
    """Forward FLOPs per image of the conv layers of a built functional `model`."""
    return sum(count for _, count in conv_layer_flops(model).values())


def train_step_flops(generator: keras.Model, discriminator: keras.Model, batch_size: int) -> int:
    """Conv FLOPs of one EnhancedSharpGAN train step (D step + G step) on `batch_size` images."""
    per_image = (
        GENERATOR_PASSES_PER_STEP * conv_flops(generator)
        + DISCRIMINATOR_PASSES_PER_STEP * conv_flops(discriminator)
    )
    return batch_size * per_image
