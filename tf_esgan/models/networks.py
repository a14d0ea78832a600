"""Builds the generator and discriminator pair for a variant of Table 1."""

from __future__ import annotations

import dataclasses

from tf_esgan.config_fields import check_choices, same_field
from tf_esgan.models.discriminator import DiscriminatorConfig, PatchDiscriminator, build_discriminator
from tf_esgan.models.generator import GeneratorConfig, UNetGenerator, build_generator
from tf_esgan.models.normalization import check_normalization
from tf_esgan.models.precision import check_config_dtype_policy, dtype_policy_field, with_resolved_dtype_policy
from tf_esgan.models.variants import get_variant


@dataclasses.dataclass(frozen=True, kw_only=True)
class NetworkConfig:
    """Sizes shared by both networks (paper: 256x256 inputs, pix2pix widths).

    The defaults (and choices) are the generator's and discriminator's own (GeneratorConfig,
    DiscriminatorConfig), taken from there.

    Attributes:
      image_size: H = W of the condition map and image = the training crops (paper: 256).
      generator_base_filters: channels of the generator's first encoder block (pix2pix: 64).
      generator_depth: stride-2 encoder blocks of the generator (pix2pix: 8 at 256x256); image_size
        must be a multiple of 2**generator_depth.
      discriminator_base_filters: channels of the PatchGAN discriminator's first block (pix2pix: 64).
      discriminator_strided_blocks: its stride-2 blocks, which set the patch each logit judges:
        1, 2, 3, 4 -> 16, 34, 70 (pix2pix's default), 142 pixels square.
      norm: "instance" (default) or "batch", for both networks (models/normalization.py).
      upsampling: the generator decoder's "transpose" (pix2pix), "resize" (nearest) + conv or
        "bilinear" (bilinear resize) + conv.
      padding: the generator's convolution border, "zero" (pix2pix) or "reflect" (models/padding.py).
      dropout_rate: the generator's decoder dropout (pix2pix: 0.5).
      dtype_policy: "float32", "mixed_bfloat16", "mixed_float16" or "auto" (the policy
        `precision.recommended_dtype_policy()` picks; a job config resolves it when made).
    """

    image_size: int = same_field(GeneratorConfig, "image_size")
    generator_base_filters: int = same_field(GeneratorConfig, "base_filters")
    generator_depth: int = same_field(GeneratorConfig, "depth")
    discriminator_base_filters: int = same_field(DiscriminatorConfig, "base_filters")
    discriminator_strided_blocks: int = same_field(DiscriminatorConfig, "strided_blocks")
    norm: str = same_field(GeneratorConfig, "norm")
    upsampling: str = same_field(GeneratorConfig, "upsampling")
    padding: str = same_field(GeneratorConfig, "padding")
    dropout_rate: float = same_field(GeneratorConfig, "dropout_rate")
    dtype_policy: str = dtype_policy_field()

    def __post_init__(self) -> None:
        check_normalization(self.norm, "NetworkConfig")
        check_choices(self, "upsampling", "NetworkConfig")
        check_choices(self, "padding", "NetworkConfig")
        check_config_dtype_policy(self.dtype_policy, "NetworkConfig")


def generator_config(variant: str, config: NetworkConfig) -> GeneratorConfig:
    """The generator half of `config`, with the input channels of `variant`'s condition map."""
    config = with_resolved_dtype_policy(config, "NetworkConfig")
    return GeneratorConfig(
        input_channels=get_variant(variant).condition_channels,
        image_size=config.image_size,
        base_filters=config.generator_base_filters,
        depth=config.generator_depth,
        norm=config.norm,
        upsampling=config.upsampling,
        padding=config.padding,
        dropout_rate=config.dropout_rate,
        dtype_policy=config.dtype_policy,
    )


def build_networks(variant: str, config: NetworkConfig) -> tuple[UNetGenerator, PatchDiscriminator]:
    """(generator, discriminator) whose input channels match `variant`'s condition map."""
    config = with_resolved_dtype_policy(config, "NetworkConfig")  # once, so both get the same policy
    generator = build_generator(generator_config(variant, config))
    discriminator = build_discriminator(
        DiscriminatorConfig(
            condition_channels=get_variant(variant).condition_channels,
            image_size=config.image_size,
            base_filters=config.discriminator_base_filters,
            strided_blocks=config.discriminator_strided_blocks,
            norm=config.norm,
            dtype_policy=config.dtype_policy,
        )
    )
    return generator, discriminator
