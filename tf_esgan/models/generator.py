"""pix2pix U-Net generator (paper ref. [9], used by all variants of Table 1).

With the defaults it is the 256x256 pix2pix generator: 8 stride-2 encoder
blocks C64-C128-C256-C512-C512-C512-C512-C512 down to 1x1, 7 decoder blocks
CD512-CD512-CD512-C512-C256-C128-C64 each concatenated with the encoder
output of the same size, and a last stride-2 transposed conv to RGB with tanh.
`depth` and `base_filters` shrink it for tests and small crops.

`upsampling="resize"` replaces every stride-2 transposed convolution of the decoder by
a nearest-neighbour 2x resize and a 3x3 convolution (Odena et al. 2016, "Deconvolution
and checkerboard artifacts"): the same widths and skips, without the checkerboard an
under-trained transposed-convolution decoder paints. `upsampling="bilinear"` is the same
with a bilinear resize (no block edges on the 2x2 cells of a nearest resize, a likely
source of the straight lines at block borders of the `cpu` budget's images).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import keras

from tf_esgan.config_fields import check_choices, choice_field
from tf_esgan.models.config_model import ConfigModel
from tf_esgan.models.pix2pix_conventions import (
    KERNEL_SIZE, LEAKY_SLOPE, MAX_FILTER_MULTIPLIER, pix2pix_initializer)
from tf_esgan.models.normalization import (
    DEFAULT_NORMALIZATION, NORMALIZATIONS, check_normalization, normalization_layer)
from tf_esgan.models.padding import PADDINGS, padded_conv
from tf_esgan.models.precision import check_dtype_policy, dtype_policy_field


UPSAMPLINGS = ("transpose", "resize", "bilinear")
#: Keras interpolation of each resize decoder.
_RESIZE_INTERPOLATION = {"resize": "nearest", "bilinear": "bilinear"}
_RESIZE_KERNEL = 3


def _upsample(config: "GeneratorConfig", width: int, *, name: str, dtype: str, **kwargs: Any):
    """The decoder's 2x upsampling convolution (a callable layer or layer chain)."""
    if config.upsampling == "transpose":
        return keras.layers.Conv2DTranspose(
            width, KERNEL_SIZE, strides=2, padding="same", kernel_initializer=pix2pix_initializer(),
            name=name, dtype=dtype, **kwargs)
    resize = keras.layers.UpSampling2D(2, interpolation=_RESIZE_INTERPOLATION[config.upsampling],
                                       name=f"{name}_resize", dtype=dtype)
    conv = padded_conv(config.padding, dict(filters=width, kernel_size=_RESIZE_KERNEL,
                                            kernel_initializer=pix2pix_initializer(), **kwargs), name=name, dtype=dtype)
    return lambda x: conv(resize(x))


@dataclasses.dataclass(frozen=True, kw_only=True)
class GeneratorConfig:
    """U-Net generator hyper-parameters.

    Attributes:
      input_channels: channels of the condition map (1 for every variant).
      output_channels: 3 (RGB in [-1, 1]).
      image_size: H = W of inputs; must be divisible by 2**depth.
      base_filters: channels of the first encoder block (64 in pix2pix).
      depth: number of stride-2 encoder blocks (8 in pix2pix at 256x256).
      norm: "instance" (default) or "batch" (see models/normalization.py).
      upsampling: "transpose" (pix2pix), "resize" (nearest 2x resize + 3x3 conv) or "bilinear"
        (bilinear 2x resize + 3x3 conv).
      padding: "zero" (pix2pix's "same") or "reflect": how the encoder's and the resize decoders'
        convolutions pad the border (models/padding.py).
      dropout_rate: dropout of the first decoder blocks (0.5, pix2pix's noise z).
      dropout_blocks: how many of the first decoder blocks use dropout (3).
      dtype_policy: Keras policy of the hidden layers; the last layer is float32.
    """

    input_channels: int = 1
    output_channels: int = 3
    image_size: int = 256
    base_filters: int = 64
    depth: int = 8
    norm: str = choice_field(DEFAULT_NORMALIZATION, NORMALIZATIONS)
    upsampling: str = choice_field("transpose", UPSAMPLINGS)
    padding: str = choice_field("zero", PADDINGS)
    dropout_rate: float = 0.5
    dropout_blocks: int = 3
    dtype_policy: str = dtype_policy_field()

    def __post_init__(self) -> None:
        owner = "GeneratorConfig"
        if self.depth < 2:
            raise ValueError(f"{owner}: `depth` must be >= 2, got {self.depth}.")
        if self.image_size <= 0 or self.image_size % (2**self.depth):
            raise ValueError(
                f"{owner}: `image_size` must be a positive multiple of 2**depth = {2**self.depth} "
                f"(depth={self.depth} stride-2 blocks), got {self.image_size}."
            )
        for field in ("input_channels", "output_channels", "base_filters"):
            if getattr(self, field) < 1:
                raise ValueError(f"{owner}: `{field}` must be >= 1, got {getattr(self, field)}.")
        if not 0.0 <= self.dropout_rate < 1.0:
            raise ValueError(f"{owner}: `dropout_rate` must be in [0, 1), got {self.dropout_rate}.")
        check_normalization(self.norm, owner)
        check_choices(self, "upsampling", owner)
        check_choices(self, "padding", owner)
        check_dtype_policy(self.dtype_policy, owner)

    def encoder_filters(self) -> list[int]:
        return [self.base_filters * min(2**level, MAX_FILTER_MULTIPLIER) for level in range(self.depth)]


@keras.saving.register_keras_serializable(package="tf_esgan")
class UNetGenerator(ConfigModel):
    """G(x): condition float32 [B, S, S, C_in] -> image float32 [B, S, S, 3] in [-1, 1]."""

    config_class = GeneratorConfig

    @classmethod
    def build_graph(cls, config: GeneratorConfig) -> tuple[Any, Any]:
        policy = config.dtype_policy
        size = config.image_size
        condition = keras.Input((size, size, config.input_channels), name="condition")
        filters = config.encoder_filters()

        skips = []
        x = condition
        for level, width in enumerate(filters):
            # No norm on the first block (pix2pix) nor on the innermost one: at
            # 1x1 with batch size 1, batch/instance norm would output a constant
            # and cut the bottleneck off (pix2pix's original U-Net has none there).
            with_norm = 0 < level < config.depth - 1
            x = padded_conv(config.padding, dict(
                filters=width, kernel_size=KERNEL_SIZE, strides=2, use_bias=not with_norm,
                kernel_initializer=pix2pix_initializer()), name=f"down{level}_conv", dtype=policy,
            )(x)  # fmt: skip
            if with_norm:
                x = normalization_layer(config.norm, name=f"down{level}_norm", dtype=policy)(x)
            x = keras.layers.LeakyReLU(LEAKY_SLOPE, name=f"down{level}_act", dtype=policy)(x)
            skips.append(x)

        # Decoder block j restores the size of encoder level depth-2-j and is
        # concatenated with that level's output.
        for block, level in enumerate(reversed(range(config.depth - 1))):
            x = _upsample(config, filters[level], use_bias=False, name=f"up{block}_conv", dtype=policy)(x)
            x = normalization_layer(config.norm, name=f"up{block}_norm", dtype=policy)(x)
            if block < config.dropout_blocks and config.dropout_rate > 0:
                x = keras.layers.Dropout(config.dropout_rate, name=f"up{block}_dropout", dtype=policy)(x)
            x = keras.layers.ReLU(name=f"up{block}_act", dtype=policy)(x)
            x = keras.layers.Concatenate(name=f"up{block}_skip", dtype=policy)([x, skips[level]])

        # float32 output so losses and saved images never see bfloat16/float16.
        image = _upsample(config, config.output_channels, activation="tanh", name="to_rgb", dtype="float32")(x)
        return condition, image


def build_generator(config: GeneratorConfig) -> UNetGenerator:
    """Builds the U-Net generator described by `config`."""
    return UNetGenerator(config, name="generator")
