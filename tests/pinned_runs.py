"""The two tiny training runs whose numbers `test_behaviour_pinned.py` pins.

Shared by the test and by `benchmarks/pinned_spread.py`, which runs them under other CPU
kernels (oneDNN's AVX2 code path, oneDNN off) to size the test's tolerance, and with
one-step changes of seed, data order, loss and optimizer to show the tolerance still
catches a changed computation.

Each run returns a flat dict name -> float: weight sums |w| of the first six weights and,
for the GAN, its final losses. `overrides` name leaf fields of the run's config.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import keras
import numpy as np

from tf_esgan.data.datasets import sample_root
from tf_esgan.models.segnet import SegNetConfig
from tf_esgan.segmentation.train import SegNetTrainConfig, train_segnet
from tf_esgan.segmentation.train_config import SegNetDataConfig, SegNetTrainerConfig
from tf_esgan.training.gan_trainer import train_and_evaluate

from conftest import tiny_train_config

GAN_LOSS_NAMES = ("d_loss", "g_adv", "l1", "ls1", "ls2", "g_total")

TINY_GAN_RUN = dict(image_size=32, generator_base_filters=4, generator_depth=5, discriminator_base_filters=4,
                    batch_size=1, test_fraction=0.25, epochs=1, steps_per_epoch=3, verbose=0,
                    dtype_policy="float32", contour_xla=True)  # the default path, as pinned


def gan_values(model_dir: Path | None = None, **overrides) -> dict[str, float]:
    """Weight sums of the generator's first six weights and the final losses of a 3-step GAN run."""
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(model_dir or scratch) / "gan"
        config = tiny_train_config(sample_root(), folder, **{**TINY_GAN_RUN, **overrides})
        result = train_and_evaluate(config, log=lambda message: None)
        values = {f"g_weight_{index}": float(np.sum(np.abs(weight.numpy())))
                  for index, weight in enumerate(result.generator.weights[:6])}
        values.update({name: float(result.losses[name]) for name in GAN_LOSS_NAMES})
    return values


def segnet_values(model_dir: Path | None = None, *, seed: int = 0, learning_rate: float | None = None,
                  loss_weight: float | None = None) -> dict[str, float]:
    """Weight sums of the first six weights of a 2-step SegNet run (float32, 64 px crops)."""
    trainer = SegNetTrainerConfig(epochs=1, steps_per_epoch=2, batch_size=2, tune_images=2, seed=seed)
    if learning_rate is not None:
        trainer = dataclasses.replace(trainer, learning_rate=learning_rate)
    config = SegNetTrainConfig(
        data=SegNetDataConfig(train_set="R", dataset_dir=str(sample_root()), crop_size=64, test_fraction=0.25),
        model=SegNetConfig(base_filters=4, dtype_policy="float32"), trainer=trainer)
    if loss_weight is not None:
        config = dataclasses.replace(config, loss=dataclasses.replace(config.loss, distance_weight=loss_weight))
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(model_dir or scratch) / "segnet"
        model = keras.models.load_model(train_segnet(config, folder, verbose=0), compile=False)
        return {f"s_weight_{index}": float(np.sum(np.abs(weight))) for index, weight in
                enumerate(model.get_weights()[:6])}
