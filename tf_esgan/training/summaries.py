"""TensorBoard output of a GAN run: loss scalars, learning rates, speed, image grids, hparams."""

from __future__ import annotations

import os
from typing import Mapping

import numpy as np
import tensorflow as tf
from tensorboard.plugins.hparams import api as hparams_api

LOG_DIR = "logs"
IMAGE_TAG = "validation/condition_real_synthetic"
# Condition maps are scaled to [0, 1] for display by their largest possible value.
CONDITION_MAX = {"binary": 1.0, "distance": 1.0, "skeleton": 2.0}


def image_grid(condition: np.ndarray, real: np.ndarray, synthetic: np.ndarray, kind: str) -> np.ndarray:
    """One picture, a row per example: condition | real | synthetic.

    Args:
      condition: float32 [B, H, W, 1] conditioning map of kind `kind`.
      real, synthetic: float32 [B, H, W, 3] in [-1, 1].
      kind: "binary", "distance" or "skeleton".
    Returns:
      float32 [1, B * H, 3 * W, 3] in [0, 1].
    """
    shown_condition = np.repeat(np.clip(condition / CONDITION_MAX[kind], 0.0, 1.0), 3, axis=-1)
    to_unit = lambda image: np.clip((np.asarray(image) + 1.0) / 2.0, 0.0, 1.0)  # noqa: E731
    rows = np.concatenate([shown_condition, to_unit(real), to_unit(synthetic)], axis=2)
    return rows.reshape(1, -1, rows.shape[2], 3).astype(np.float32)


def hparams_of(config_dict: Mapping) -> dict:
    """The config values TensorBoard's HParams plugin accepts (bool, int, float, str).

    A nested config's values are named by dotted path ("trainer.batch_size").
    """
    values = {}
    for key, value in config_dict.items():
        if isinstance(value, Mapping):
            values.update({f"{key}.{name}": item for name, item in hparams_of(value).items()})
        elif isinstance(value, (bool, int, float, str)):
            values[key] = value
    return values


class RunSummaries:
    """Writes one run's event files under `log_dir`.

    Args:
      log_dir: `<model_dir>/logs` on the chief, a temporary folder on other workers.
      hparams: flat config values, written once (TensorBoard HParams dashboard).
    """

    def __init__(self, log_dir: str | os.PathLike, hparams: Mapping):
        self.writer = tf.summary.create_file_writer(str(log_dir))
        with self.writer.as_default():
            hparams_api.hparams(hparams_of(hparams), trial_id=os.path.basename(os.path.normpath(str(log_dir))))
        self.writer.flush()

    def scalars(self, step: int, values: Mapping[str, float], prefix: str = "") -> None:
        with self.writer.as_default():
            for name, value in values.items():
                tf.summary.scalar(f"{prefix}{name}", float(value), step=step)

    def image(self, step: int, grid: np.ndarray) -> None:
        with self.writer.as_default():
            tf.summary.image(IMAGE_TAG, grid, step=step, max_outputs=1)
        self.writer.flush()

    def flush(self) -> None:
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
