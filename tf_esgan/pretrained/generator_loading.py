"""Loading trained generators: `pretrained:NAME`, a `.keras` file, or an `esgan-train` run.

One place for synthesis, evaluation and export, so they all restore generators alike.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable, NamedTuple

import keras
import tensorflow as tf

from tf_esgan.data import skeleton
from tf_esgan.errors import ModelLoadError, ModelNotFoundError
import tf_esgan.models.generator  # noqa: F401  (registers the generator's classes)
from tf_esgan.models.networks import build_networks
import tf_esgan.models.segnet  # noqa: F401  (registers SegNet's layers)
from tf_esgan.pretrained import registry
from tf_esgan.pretrained.loading import load_generator as load_pretrained
from tf_esgan.pretrained.segnet_loading import MODEL_FILE as SEGNET_MODEL_FILE
from tf_esgan.runs.run_dir import CONFIG_FILE, SEGNET_RUN, run_kind
from tf_esgan.training.checkpoints import CHECKPOINT_DIR, restore_newest
from tf_esgan.training.gan_config import TrainConfig

_EXPECTED = ("pretrained:NAME, an esgan-train run folder (with config.json and checkpoints/) "
             "or a .keras generator file")
# Where `training/loop.py`'s step counter sits in a checkpoint.
_STEP_KEY = "step/.ATTRIBUTES/VARIABLE_VALUE"


class LoadedGenerator(NamedTuple):
    """What `load_generator` returns; unpacks as (generator, conditioning, checkpoint_step)."""

    generator: keras.Model
    conditioning: str
    #: Training step of the restored checkpoint of a run folder; None for `pretrained:NAME`,
    #: a `.keras` file, or a checkpoint without a step counter.
    checkpoint_step: int | None


def _checkpoint_step(prefix: str) -> int | None:
    """The step counter saved in checkpoint `prefix`, read without restoring anything."""
    reader = tf.train.load_checkpoint(prefix)
    return int(reader.get_tensor(_STEP_KEY)) if reader.has_tensor(_STEP_KEY) else None


def load_keras_model(path: str | os.PathLike) -> keras.Model:
    """A model saved with `model.save("....keras")` (custom classes registered on import)."""
    path = Path(path)
    if path.suffix != ".keras" or not path.is_file():
        raise ModelNotFoundError(f"{path}: expected an existing `.keras` file")
    # UNetGenerator, SegNet's layers, etc. are registered by this module's imports.
    return keras.saving.load_model(path, compile=False)


def load_generator(model: str, conditioning: str = "", *, log: Callable[[str], None] = print
                   ) -> LoadedGenerator:
    """(generator, conditioning kind, checkpoint step) from `pretrained:NAME`, a run folder
    or a `.keras` file.

    A run folder restores its newest readable checkpoint (the step is that checkpoint's);
    `pretrained:NAME` is a model shipped in the package (`tf_esgan.pretrained`, loaded in
    float32); these and `.keras` files have no step (None).

    Raises:
      ModelLoadError (a ValueError): `model` is none of these (an esgan-train-segnet run
        is named as such), a run without a checkpoint, a `.keras` file without
        `conditioning` or holding no generator, or `conditioning` contradicting the
        model's (PretrainedModelError for an unknown or damaged pretrained model).
    """
    name = registry.pretrained_name(str(model))
    if name is not None:
        generator, kind = load_pretrained(name)
        log(f"generator: pretrained {name!r} ({kind} conditioning)")
        if conditioning and conditioning != kind:
            raise ModelLoadError(f"conditioning {conditioning!r} contradicts {model} ({kind!r})")
        return LoadedGenerator(generator, kind, None)
    path = Path(model)
    if path.is_file() and path.suffix == ".keras":
        if not conditioning:
            raise ModelLoadError(f"{path}: a .keras generator does not record its conditioning; pass "
                                 f"conditioning (one of {skeleton.CONDITIONINGS})")
        generator = load_keras_model(path)
        # A generator maps a 1-channel condition to RGB; SegNet maps RGB to 2 channels.
        if generator.input_shape[-1] != 1 or generator.output_shape[-1] != 3:
            raise ModelLoadError(f"{path}: not a generator (input {generator.input_shape}, output "
                                 f"{generator.output_shape}); is it a SegNet? Expected {_EXPECTED}")
        return LoadedGenerator(generator, conditioning, None)
    if path.is_dir() and (run_kind(path) == SEGNET_RUN or (path / SEGNET_MODEL_FILE).is_file()):
        raise ModelLoadError(f"{path}: this is an esgan-train-segnet run (a SegNet); a generator is needed "
                             f"here: {_EXPECTED}")
    if not (path / CONFIG_FILE).is_file():
        missing = "no such file or folder" if not path.exists() else "not a generator"
        raise ModelLoadError(f"{path}: {missing}; expected {_EXPECTED}")
    try:
        run = TrainConfig.from_json_dict(json.loads((path / CONFIG_FILE).read_text()))
    except (ValueError, TypeError) as error:  # JSONDecodeError is a ValueError
        raise ModelLoadError(f"{path / CONFIG_FILE}: not an esgan-train run config ({error})") from None
    generator, _ = build_networks(run.loss.variant, run.model)
    restored = restore_newest(tf.train.Checkpoint(generator=generator), path / CHECKPOINT_DIR,
                              partial=True, log=log)
    if restored is None:
        raise ModelLoadError(f"{path / CHECKPOINT_DIR}: no checkpoint; train the run first")
    log(f"generator restored from {restored} (variant {run.variant})")
    if conditioning and conditioning != run.conditioning:
        raise ModelLoadError(f"conditioning {conditioning!r} contradicts the run's variant {run.variant!r} "
                             f"({run.conditioning!r})")
    return LoadedGenerator(generator, run.conditioning, _checkpoint_step(restored))
