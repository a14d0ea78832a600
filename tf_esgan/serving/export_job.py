"""One `esgan-export` job: load a generator or SegNet from any model source, write a TF Serving version."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable

from tf_esgan.errors import ConfigError
from tf_esgan.io_utils import ensure_writable_dir
from tf_esgan.models.variants import VARIANTS, get_variant
from tf_esgan.config_fields import choice_field
from tf_esgan.pretrained.generator_loading import load_generator, load_keras_model
from tf_esgan.pretrained.registry import KINDS, pretrained_name
from tf_esgan.pretrained.segnet_loading import load_segnet
from tf_esgan.serving import generator_export, segnet_export


@dataclasses.dataclass(frozen=True, kw_only=True)
class ExportConfig:
    """Attributes:
      model: pretrained:NAME, a `.keras` file, or a training run folder (generator: the newest readable checkpoint; segnet: segnet.keras).
      out_dir: TF Serving base folder (one folder per model, one per version inside).
      kind: which network to export: "generator" or "segnet".
      variant: the variant a `.keras` generator was trained as (sets the conditioning map of `from_mask`); read from the run or the pretrained record otherwise.
      model_name: served model name; "" = esgan_generator or segnet.
      version: version number; None = largest existing + 1.
      overwrite: replace an existing version.
    """

    model: str
    out_dir: str
    kind: str = choice_field("generator", KINDS)
    variant: str = choice_field("", ("", *sorted(VARIANTS)))
    model_name: str = ""
    version: int | None = None
    overwrite: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"kind: expected one of {KINDS}, got {self.kind!r}")
        if self.variant and self.variant not in VARIANTS:
            raise ConfigError(f"variant: expected one of {sorted(VARIANTS)}, got {self.variant!r}")


def _load_generator(config: ExportConfig, log: Callable[[str], None]):
    """(generator, conditioning) from a run folder, pretrained:NAME or a `.keras` file."""
    if pretrained_name(config.model) is not None or Path(config.model).is_dir():
        generator, conditioning, _ = load_generator(config.model, log=log)
        if config.variant and get_variant(config.variant).conditioning != conditioning:
            raise ConfigError(f"--variant={config.variant} disagrees with {config.model} "
                              f"(conditioning {conditioning!r})")
        return generator, conditioning
    if not config.variant:
        raise ConfigError("--variant is required to export a `.keras` generator")
    return load_keras_model(config.model), get_variant(config.variant).conditioning


def export_model(config: ExportConfig, *, log: Callable[[str], None] = print) -> Path:
    """Writes `<out_dir>/<model_name>/<version>/` (atomically); returns that folder."""
    ensure_writable_dir(config.out_dir, "--out_dir")  # before the model is loaded
    options = dict(version=config.version, overwrite=config.overwrite)
    if config.kind == "segnet":
        segnet, _ = load_segnet(config.model)
        return Path(segnet_export.export_segnet(
            segnet, config.out_dir, **options, model_name=config.model_name or segnet_export.DEFAULT_MODEL_NAME))
    generator, conditioning = _load_generator(config, log)
    return Path(generator_export.export_generator(
        generator, config.out_dir, conditioning=conditioning, **options,
        model_name=config.model_name or generator_export.DEFAULT_MODEL_NAME))
