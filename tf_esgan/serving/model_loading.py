"""Loads the models to export: a `.keras` file, or the newest checkpoint of a GAN run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import keras
import tensorflow as tf

from tf_esgan.models.networks import build_networks
from tf_esgan.training.checkpoints import CHECKPOINT_DIR, RunCheckpoints
from tf_esgan.training.gan_config import TrainConfig
from tf_esgan.training.run_dir import CONFIG_FILE


def load_keras_model(path: str | os.PathLike) -> keras.Model:
    """A model saved with `model.save("....keras")` (custom layers are registered on import)."""
    path = Path(path)
    if path.suffix != ".keras" or not path.is_file():
        raise FileNotFoundError(f"{path}: expected an existing `.keras` file")
    # Importing the model modules registers UNetGenerator, SegNet's layers, etc.
    import tf_esgan.models.generator  # noqa: F401
    import tf_esgan.models.segnet  # noqa: F401
    return keras.saving.load_model(path, compile=False)


def load_generator_from_run(run_dir: str | os.PathLike, *, log=print) -> tuple[keras.Model, str]:
    """(generator, conditioning kind) of the newest readable checkpoint of a GAN run folder.

    The run's `config.json` gives the variant and network sizes; the generator is built
    from them and its weights are restored from `<run_dir>/checkpoints/`.
    """
    run_dir = Path(run_dir)
    config_path = run_dir / CONFIG_FILE
    if not config_path.is_file():
        raise FileNotFoundError(f"{config_path}: not found; expected a training run folder "
                                f"(config.json and {CHECKPOINT_DIR}/) or a `.keras` file")
    config = TrainConfig(**json.loads(config_path.read_text()))
    generator, _ = build_networks(config.variant, config.network_config())
    checkpoints = RunCheckpoints(tf.train.Checkpoint(generator=generator),
                                 read_dir=run_dir / CHECKPOINT_DIR,
                                 write_dir=run_dir / CHECKPOINT_DIR, keep=config.keep_checkpoints)
    prefix = checkpoints.restore_latest(log)
    if prefix is None:
        raise FileNotFoundError(f"{run_dir / CHECKPOINT_DIR}: no checkpoint to export")
    log(f"generator restored from {prefix} (variant {config.variant})")
    return generator, config.conditioning
