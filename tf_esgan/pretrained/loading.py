"""Pretrained networks by name: rebuild the recorded network, fill in the verified weights.

    generator, conditioning = load_generator("tnbc")
    image = tf_esgan.models.inference.generate(generator, condition)   # as for any generator
    segnet, watershed = load_segnet("tnbc")
    labels = tf_esgan.segmentation.scoring.segment_image(segnet, rgb_image, watershed)

The network is built with `dtype_policy` (default "float32": the same numbers on every
machine); the policy it was trained with stays in the record (`record["network"]`).
"auto" picks this machine's fastest policy (`models.precision`), e.g. mixed_bfloat16 on
a CPU with AMX.
"""

from __future__ import annotations

import os

import keras

from tf_esgan.models.generator import build_generator
from tf_esgan.models.networks import NetworkConfig, generator_config
from tf_esgan.models.precision import DEFAULT_DTYPE_POLICY, resolve_dtype_policy
from tf_esgan.models.segnet import SegNetConfig, build_segnet
from tf_esgan.models.variants import VARIANTS, get_variant
from tf_esgan.models.watershed_config import WatershedConfig
from tf_esgan.pretrained.registry import ModelFiles, PretrainedModelError, open_model
from tf_esgan.pretrained.weights import assign_weights, load_weights


def _config(config_class, values, source, field: str, **overrides):
    """`config_class(**values, **overrides)`, a bad record raising PretrainedModelError."""
    try:
        return config_class(**{**values, **overrides})
    except (TypeError, ValueError) as error:
        raise PretrainedModelError(f"{source}: `{field}` is not a valid {config_class.__name__} "
                                   f"({error})") from None


def _field(record: dict, name: str, source):
    if name not in record:
        raise PretrainedModelError(f"{source}: record has no `{name}`")
    return record[name]


def generator_from_record(record: dict, weights, *, source: str | os.PathLike,
                          dtype_policy: str = DEFAULT_DTYPE_POLICY) -> tuple[keras.Model, str]:
    """(UNet generator, conditioning kind) of a generator record and its weights."""
    variant = _field(record, "variant", source)
    if variant not in VARIANTS:
        raise PretrainedModelError(f"{source}: unknown variant {variant!r} (expected one of {sorted(VARIANTS)})")
    conditioning = _field(record, "conditioning", source)
    if conditioning != get_variant(variant).conditioning:
        raise PretrainedModelError(f"{source}: conditioning {conditioning!r} contradicts variant {variant!r}")
    network = _config(NetworkConfig, _field(record, "network", source), source, "network",
                      dtype_policy=resolve_dtype_policy(dtype_policy, "load_generator"))
    generator = build_generator(generator_config(variant, network))
    assign_weights(generator, weights, source)
    return generator, conditioning


def segnet_from_record(record: dict, weights, *, source: str | os.PathLike,
                       dtype_policy: str = DEFAULT_DTYPE_POLICY) -> tuple[keras.Model, WatershedConfig]:
    """(SegNet, its tuned watershed thresholds) of a SegNet record and its weights."""
    config = _config(SegNetConfig, _field(record, "network", source), source, "network",
                     dtype_policy=resolve_dtype_policy(dtype_policy, "load_segnet"))
    watershed = _config(WatershedConfig, _field(record, "watershed", source), source, "watershed")
    segnet = build_segnet(config)
    assign_weights(segnet, weights, source)
    return segnet, watershed


def _open(kind: str, name: str, directory) -> tuple[ModelFiles, list]:
    files = open_model(kind, name, directory)
    return files, load_weights(files.weights_path)


def load_generator(name: str, *, directory: str | os.PathLike | None = None,
                   dtype_policy: str = DEFAULT_DTYPE_POLICY) -> tuple[keras.Model, str]:
    """The pretrained generator `name` and its conditioning kind ("skeleton", ...).

    Run it with `tf_esgan.models.inference.generate`, like every other generator.

    Raises:
      PretrainedModelError: unknown name (lists the available ones), or a missing or
        damaged file (named).
    """
    files, weights = _open("generator", name, directory)
    return generator_from_record(files.record, weights, source=files.weights_path, dtype_policy=dtype_policy)


def load_segnet(name: str, *, directory: str | os.PathLike | None = None,
                dtype_policy: str = DEFAULT_DTYPE_POLICY) -> tuple[keras.Model, WatershedConfig]:
    """The pretrained SegNet `name` and the watershed thresholds tuned with it.

    Raises:
      PretrainedModelError: as `load_generator`.
    """
    files, weights = _open("segnet", name, directory)
    return segnet_from_record(files.record, weights, source=files.weights_path, dtype_policy=dtype_policy)


def model_card(kind: str, name: str, directory: str | os.PathLike | None = None) -> dict:
    """The record of a pretrained model without its weights: network, source, card."""
    return dict(open_model(kind, name, directory).record)

