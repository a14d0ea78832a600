"""70x70 PatchGAN discriminator conditioned on the input map (pix2pix, ref. [9]).

D(x, y): the condition x and an image y are concatenated on channels, then
C64 (stride 2, no norm) - C128 (s2) - C256 (s2) - C512 (s1) - 1 logit (s1),
4x4 kernels, LeakyReLU 0.2. Each output logit sees a 70x70 input patch; a
256x256 input gives [B, 30, 30, 1] logits, 512x512 gives [B, 62, 62, 1].
"""

from __future__ import annotations

import dataclasses
from typing import Any

import keras

from tf_esgan.config_fields import choice_field
from tf_esgan.models.config_model import ConfigModel
from tf_esgan.models.pix2pix_conventions import (
    KERNEL_SIZE, LEAKY_SLOPE, MAX_FILTER_MULTIPLIER, pix2pix_initializer)
from tf_esgan.models.normalization import (
    DEFAULT_NORMALIZATION, NORMALIZATIONS, check_normalization, normalization_layer)
from tf_esgan.models.precision import check_dtype_policy, dtype_policy_field
from tf_esgan.models.xla_conv import XlaConv2D

# Two stride-1 valid 4x4 convs (each after 1-pixel zero padding) shrink the
# map by 2 in total; the map before them must keep at least 1 output pixel.
_MIN_FEATURE_SIZE = 3


@dataclasses.dataclass(frozen=True, kw_only=True)
class DiscriminatorConfig:
    """PatchGAN hyper-parameters.

    Attributes:
      condition_channels: channels of the condition map x (1 for every variant).
      image_channels: channels of y (3).
      image_size: H = W of inputs; must be divisible by 2**strided_blocks.
      base_filters: channels of the first block (64).
      strided_blocks: stride-2 blocks before the two stride-1 convs (3 gives 70x70 patches).
      norm: "instance" (default) or "batch" (see models/normalization.py).
      dtype_policy: Keras policy of the hidden layers; the logit layer is float32.
    """

    condition_channels: int = 1
    image_channels: int = 3
    image_size: int = 256
    base_filters: int = 64
    strided_blocks: int = 3
    norm: str = choice_field(DEFAULT_NORMALIZATION, NORMALIZATIONS)
    dtype_policy: str = dtype_policy_field()

    def __post_init__(self) -> None:
        owner = "DiscriminatorConfig"
        if self.strided_blocks < 1:
            raise ValueError(f"{owner}: `strided_blocks` must be >= 1, got {self.strided_blocks}.")
        step = 2**self.strided_blocks
        if self.image_size % step or self.image_size // step < _MIN_FEATURE_SIZE:
            raise ValueError(
                f"{owner}: `image_size` must be a multiple of 2**strided_blocks = {step} and at least "
                f"{step * _MIN_FEATURE_SIZE}, got {self.image_size}."
            )
        for field in ("condition_channels", "image_channels", "base_filters"):
            if getattr(self, field) < 1:
                raise ValueError(f"{owner}: `{field}` must be >= 1, got {getattr(self, field)}.")
        check_normalization(self.norm, owner)
        check_dtype_policy(self.dtype_policy, owner)

    def output_size(self) -> int:
        return self.image_size // 2**self.strided_blocks - 2


@keras.saving.register_keras_serializable(package="tf_esgan")
class PatchDiscriminator(ConfigModel):
    """[condition [B,S,S,C], image [B,S,S,3] in [-1,1]] -> float32 logits [B, S/8-2, S/8-2, 1]."""

    config_class = DiscriminatorConfig

    @classmethod
    def build_graph(cls, config: DiscriminatorConfig) -> tuple[Any, Any]:
        policy = config.dtype_policy
        size = config.image_size
        condition = keras.Input((size, size, config.condition_channels), name="condition")
        image = keras.Input((size, size, config.image_channels), name="image")
        x = keras.layers.Concatenate(name="pair", dtype=policy)([condition, image])

        def block(x: Any, level: int, strides: int, with_norm: bool) -> Any:
            width = config.base_filters * min(2**level, MAX_FILTER_MULTIPLIER)
            padding = "same" if strides == 2 else "valid"
            if strides == 1:
                x = keras.layers.ZeroPadding2D(1, name=f"block{level}_pad", dtype=policy)(x)
            x = keras.layers.Conv2D(
                width, KERNEL_SIZE, strides=strides, padding=padding, use_bias=not with_norm,
                kernel_initializer=pix2pix_initializer(), name=f"block{level}_conv", dtype=policy,
            )(x)  # fmt: skip
            if with_norm:
                x = normalization_layer(config.norm, name=f"block{level}_norm", dtype=policy)(x)
            return keras.layers.LeakyReLU(LEAKY_SLOPE, name=f"block{level}_act", dtype=policy)(x)

        for level in range(config.strided_blocks):
            x = block(x, level, strides=2, with_norm=level > 0)
        x = block(x, config.strided_blocks, strides=1, with_norm=True)
        x = keras.layers.ZeroPadding2D(1, name="logits_pad", dtype=policy)(x)
        # One channel out: its input gradient is slow in oneDNN, fast in XLA (models/xla_conv.py).
        logits = XlaConv2D(
            1, KERNEL_SIZE, strides=1, padding="valid", kernel_initializer=pix2pix_initializer(),
            name="logits", dtype="float32",
        )(x)  # fmt: skip
        return [condition, image], logits


def build_discriminator(config: DiscriminatorConfig) -> PatchDiscriminator:
    """Builds the PatchGAN discriminator described by `config`."""
    return PatchDiscriminator(config, name="discriminator")
