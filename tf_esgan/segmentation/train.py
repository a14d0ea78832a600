"""Training of SegNet on R, R*, S or S*, with crash-safe resume, then watershed tuning.

`<model_dir>` after a run:
  config.json              the `SegNetTrainConfig` (checked on every restart).
  checkpoint.json          {"epoch": n, "file": "checkpoint-<n>.keras"}: last finished epoch.
  checkpoint-<n>.keras     model + optimizer state after epoch n (written before the JSON
                           that names it, so a crash never leaves a JSON naming a partial file).
  logs/                    TensorBoard scalars (loss per epoch).
  segnet.keras             the final model (written atomically).
  watershed.json           thresholds tuned on training images (mean AJI).
A rerun with the same config resumes after the last finished epoch; the data stream
restarts at the same batch (see `segmentation.data`). Only `epochs` may differ, so a
finished run can be extended.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path

import keras
import numpy as np

from tf_esgan.console import fit_verbosity
from tf_esgan.data.datasets import check_samples, list_samples, load_pair, split_samples_by_group
from tf_esgan.data.pipeline import reraise_dataset_errors
from tf_esgan.io_utils import atomic_path, ensure_writable_dir
from tf_esgan.models.precision import resolve_dtype_policy
from tf_esgan.models.segnet import SegNetConfig, build_segnet
from tf_esgan.run_lock import run_lock
from tf_esgan.segmentation import evaluate
from tf_esgan.segmentation.data import (TRAIN_SETS, SegmentationDataConfig, make_segmentation_dataset,
                                        training_samples)
from tf_esgan.segmentation.loss import SegNetLoss
from tf_esgan.segmentation.postprocess import TuningGrid, tune_watershed
from tf_esgan.training.run_dir import prepare_run_dir, resolved_path

CHECKPOINT_STATE = "checkpoint.json"


@dataclasses.dataclass(frozen=True, kw_only=True)
class SegNetTrainConfig:
    """One SegNet training run.

    Attributes:
      train_set: "R", "R*", "S" or "S*" (see `segmentation.data`).
      dataset_dir: real dataset (canonical layout); its slide-grouped train split is R.
      synthetic_dir: synthetic pairs (canonical layout), needed by S and S*.
        Both are stored absolute (resolved when the config is made), so the run's
        evaluation finds them from any folder.
      epochs: total epochs (an extended rerun continues to the new total).
      steps_per_epoch: batches per epoch; 0 = ceil(training images / batch_size).
      batch_size, crop_size: training batches of crop_size^2 crops.
      learning_rate: Adam step size.
      distance_weight: weight of the distance-map term of the loss.
      base_filters: SegNet width (64 in the paper).
      dtype_policy: "auto" (resolved when the config is made, as for the GAN: mixed_bfloat16
        on a bf16 CPU, mixed_float16 on a GPU, float32 otherwise) or a Keras policy name.
      seed: data order, augmentation and initial weights (and the split, see split_seed).
      split_seed: seed of the slide-grouped split; None = `seed`. Runs of several seeds
        on one held-out split set this.
      test_fraction: fraction of the slides held out for testing.
      tune_images: training images used to tune the watershed thresholds.
    """

    train_set: str = "R"
    dataset_dir: str = ""
    synthetic_dir: str = ""
    epochs: int = 50
    steps_per_epoch: int = 0
    batch_size: int = 4
    crop_size: int = 256
    learning_rate: float = 1e-3
    distance_weight: float = 1.0
    base_filters: int = 64
    dtype_policy: str = "auto"
    seed: int = 0
    split_seed: int | None = None
    test_fraction: float = 0.3
    tune_images: int = 16

    def __post_init__(self) -> None:
        # Frozen dataclass: resolve "auto" once, so config.json names the policy used.
        object.__setattr__(self, "dtype_policy", resolve_dtype_policy(self.dtype_policy, "SegNetTrainConfig"))
        if self.train_set not in TRAIN_SETS:
            raise ValueError(f"SegNetTrainConfig: `train_set` must be one of {TRAIN_SETS}, got {self.train_set!r}")
        if not self.dataset_dir:
            raise ValueError("SegNetTrainConfig: `dataset_dir` is required (the real dataset)")
        if self.train_set in ("S", "S*") and not self.synthetic_dir:
            raise ValueError(f"SegNetTrainConfig: train_set {self.train_set!r} needs `synthetic_dir`")
        object.__setattr__(self, "dataset_dir", resolved_path(self.dataset_dir))
        object.__setattr__(self, "synthetic_dir", resolved_path(self.synthetic_dir))
        for name in ("epochs", "batch_size", "crop_size", "tune_images"):
            if getattr(self, name) < 1:
                raise ValueError(f"SegNetTrainConfig: `{name}` must be >= 1, got {getattr(self, name)}")
        if self.crop_size % 32:
            raise ValueError(f"SegNetTrainConfig: `crop_size` must be a multiple of 32, got {self.crop_size}")

    @property
    def data_split_seed(self) -> int:
        return self.seed if self.split_seed is None else self.split_seed


class _EpochCheckpoint(keras.callbacks.Callback):
    """Saves model + optimizer after every epoch, then the JSON naming it."""

    def __init__(self, model_dir: Path):
        super().__init__()
        self.model_dir = model_dir

    def on_epoch_end(self, epoch, logs=None):
        name = f"checkpoint-{epoch + 1}.keras"
        _save_model(self.model, self.model_dir / name)
        previous = _checkpoint_state(self.model_dir)
        with atomic_path(self.model_dir / CHECKPOINT_STATE) as temporary:
            temporary.write_text(json.dumps({"epoch": epoch + 1, "file": name}) + "\n")
        if previous and previous["file"] != name:
            (self.model_dir / previous["file"]).unlink(missing_ok=True)


def _save_model(model: keras.Model, path: Path) -> None:
    # Keras insists on the .keras suffix, so the temporary file keeps it.
    temporary = path.with_name(f".partial-{path.name}")
    model.save(temporary)
    os.replace(temporary, path)


def _checkpoint_state(model_dir: Path) -> dict | None:
    path = model_dir / CHECKPOINT_STATE
    return json.loads(path.read_text()) if path.exists() else None


def _build_model(config: SegNetTrainConfig) -> keras.Model:
    keras.utils.set_random_seed(config.seed)
    model = build_segnet(SegNetConfig(base_filters=config.base_filters, dtype_policy=config.dtype_policy))
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate),
                  loss=SegNetLoss(distance_weight=config.distance_weight))
    return model


def _samples(config: SegNetTrainConfig):
    """(training samples, augment), every file checked (a bad one inside tf.data would abort)."""
    real = list_samples(config.dataset_dir)
    check_samples(real, source=config.dataset_dir)  # the held-out slides too: evaluation reads them
    real_train, _ = split_samples_by_group(real, test_fraction=config.test_fraction, seed=config.data_split_seed)
    synthetic = list_samples(config.synthetic_dir) if config.train_set in ("S", "S*") else []
    if synthetic:
        check_samples(synthetic, source=config.synthetic_dir, crop_size=config.crop_size)
    if config.train_set != "S":  # only the sizes are new here: the real set is small
        check_samples(real_train, source=config.dataset_dir, crop_size=config.crop_size)
    return training_samples(config.train_set, real_train=real_train, synthetic=synthetic)


def train_segnet(config: SegNetTrainConfig, model_dir: str | os.PathLike, *,
                 overwrite: bool = False, verbose: int = 1) -> Path:
    """Trains (or resumes) a run, saves `segnet.keras` and tunes `watershed.json`.

    Args:
      config: the run.
      model_dir: run folder (created; see the module docstring).
      overwrite: replace a differing config.json and start from scratch.
      verbose: Keras `fit` verbosity (1 = progress bar).
    Returns:
      Path of the final model.
    Raises:
      DatasetError: a bad file in `dataset_dir` or `synthetic_dir` (all checked first).
      ConfigError: `crop_size` larger than the smallest training image (named).
      UnwritableFolderError: `model_dir` cannot be created or written.
      FolderLockedError: another process is writing `model_dir` (see `run_lock`).
    """
    samples, augment = _samples(config)  # before the run folder is made
    ensure_writable_dir(model_dir, "--model_dir")
    with run_lock(model_dir, what="training run"):  # one writer per run folder
        folder = prepare_run_dir(model_dir, config, overwrite=overwrite, ignore=("epochs",),
                                 paths=("dataset_dir", "synthetic_dir"))
        if overwrite:  # start over: forget the earlier run's checkpoints
            (folder / CHECKPOINT_STATE).unlink(missing_ok=True)
            for stale in folder.glob("checkpoint-*.keras"):
                stale.unlink()
        steps = config.steps_per_epoch or math.ceil(len(samples) / config.batch_size)
        state = _checkpoint_state(folder)
        if state is not None:
            model = keras.models.load_model(folder / state["file"])
            initial_epoch = state["epoch"]
        else:
            model, initial_epoch = _build_model(config), 0
        final_path = folder / evaluate.MODEL_FILE
        if initial_epoch < config.epochs or not final_path.exists():
            data_config = SegmentationDataConfig(crop_size=config.crop_size, batch_size=config.batch_size,
                                                 augment=augment, seed=config.seed)
            dataset = make_segmentation_dataset(samples, data_config, start_batch=initial_epoch * steps)
            callbacks = [_EpochCheckpoint(folder),
                         keras.callbacks.TensorBoard(log_dir=str(folder / "logs"), update_freq="epoch")]
            with reraise_dataset_errors():
                model.fit(dataset, epochs=config.epochs, initial_epoch=initial_epoch, steps_per_epoch=steps,
                          callbacks=callbacks, verbose=fit_verbosity(verbose == 1) if verbose else 0,
                          shuffle=False)
            _save_model(model, final_path)
        if not (folder / evaluate.WATERSHED_FILE).exists() or initial_epoch < config.epochs:
            tuned, score = _tune(model, samples, config.tune_images)
            evaluate.save_watershed_config(tuned, folder / evaluate.WATERSHED_FILE)
            if verbose:
                print(f"watershed tuned on {min(config.tune_images, len(samples))} training images: "
                      f"{tuned} (mean AJI {score:.4f})", flush=True)
        return final_path


def _tune(model: keras.Model, samples, count: int):
    """Tunes the watershed on `count` training images spread evenly over the sorted list."""
    chosen = [samples[int(i)] for i in np.unique(np.linspace(0, len(samples) - 1, count).round())]
    predictions, truths = [], []
    for sample in chosen:
        image, truth = load_pair(sample)
        predictions.append(evaluate.predict_maps(model, image))
        truths.append(truth)
    return tune_watershed(predictions, truths, TuningGrid())
