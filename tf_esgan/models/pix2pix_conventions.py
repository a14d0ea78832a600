"""Constants and the weight initialiser shared by the pix2pix generator and discriminator.

Isola et al. 2017: 4x4 convolutions, weights from N(0, 0.02), LeakyReLU slope 0.2, widths
doubling per level up to 8x the base width.
"""

import keras

KERNEL_SIZE = 4
INIT_STDDEV = 0.02
LEAKY_SLOPE = 0.2
MAX_FILTER_MULTIPLIER = 8


def pix2pix_initializer() -> keras.initializers.Initializer:
    return keras.initializers.RandomNormal(mean=0.0, stddev=INIT_STDDEV)
