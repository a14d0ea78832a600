"""Training of SegNet on R, R*, S or S*, resumable on any tf.distribute strategy, then watershed tuning.

SegNet trains on the GAN's loop (`training.loop`), not `keras.Model.fit`, which cannot
run under MultiWorkerMirroredStrategy (keras-team/keras#20585). `<model_dir>` after a run:
  config.json      the `SegNetTrainConfig`, nested (see `train_config`; checked on every restart,
                   a flat one of an earlier version is rewritten nested).
  checkpoints/     ckpt-<step>.*: SegNet, its Adam state, step, epoch and the position in
                   the epoch (after every epoch and every `checkpoint_every_steps` steps).
  logs/            TensorBoard: loss/loss, learning_rate/segnet, speed per step; hparams.
  segnet.keras     the final model with its optimizer state (written atomically).
  watershed.json   thresholds tuned on training images (mean AJI).
A rerun with the same config resumes at the newest checkpoint's step; the data stream
restarts at the same batch (see `segmentation.data`), so it sees the batches an
uninterrupted run would have. Only `epochs`, `strategy` and the checkpoint cadence may
differ, so a finished run can be extended. A folder of the earlier `fit`-based trainer
(`checkpoint.json` + `checkpoint-<n>.keras`) still evaluates (its `segnet.keras`) but is
not resumed.

Batch normalization computes its batch statistics over the global batch (synchronized
over the replicas, also with one replica), so N replicas train the same network as one
device with the same global batch, up to the order of floating-point sums.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
from pathlib import Path
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from tf_esgan.console import fit_verbosity
from tf_esgan.data.datasets import check_samples, list_samples, load_pair, split_samples_by_group
from tf_esgan.io_utils import ensure_writable_dir
from tf_esgan.models.precision import model_uses_float16, with_loss_scaling
from tf_esgan.models.segnet import build_segnet
from tf_esgan.run_lock import run_lock
from tf_esgan.pretrained.segnet_loading import MODEL_FILE, WATERSHED_FILE, save_watershed_config
from tf_esgan.runs.run_dir import SEGNET_RUN, config_to_dict, prepare_run_dir
from tf_esgan.runs.run_owner import RunOwner
from tf_esgan.segmentation import scoring
from tf_esgan.segmentation.data import SegmentationDataConfig, make_segmentation_dataset, training_samples
from tf_esgan.segmentation.loss import SegNetLoss, segnet_loss
from tf_esgan.segmentation.postprocess import TuningGrid, tune_watershed
from tf_esgan.training import distributed, loop, summaries
from tf_esgan.training.checkpoints import CHECKPOINT_DIR, CheckpointError
from tf_esgan.training.fused_adam import FusedAdam
from tf_esgan.segmentation.train_config import (PATH_FIELDS, RESUMABLE_CHANGES, SegNetTrainConfig,
                                                nested_json_dict)

# What the earlier, `fit`-based trainer resumed from.
FIT_ERA_STATE = "checkpoint.json"
FIT_ERA_CHECKPOINTS = "checkpoint-*.keras"
LOSS_NAME = "loss"
_PARTIAL_PREFIX = ".partial-"  # the model file being saved (see _save_model)
# What a run writes beside config.json (see the module docstring), also what the fit-era
# trainer wrote: all that overwrite deletes.
RUN_OWNER = RunOwner(command=SEGNET_RUN, files=(
    CHECKPOINT_DIR, summaries.LOG_DIR, MODEL_FILE, WATERSHED_FILE, _PARTIAL_PREFIX + MODEL_FILE,
    FIT_ERA_STATE, FIT_ERA_CHECKPOINTS))


@dataclasses.dataclass(frozen=True)
class _TrainingData:
    samples: list  # real ones first
    augment: bool
    real_train: list  # the real training images (watershed tuning; S* mixing)
    real_count: int  # how many of `samples` are real


def _samples(config: SegNetTrainConfig) -> _TrainingData:
    """The training data, every file checked (a bad one inside tf.data would abort)."""
    data = config.data
    real = list_samples(data.dataset_dir)
    check_samples(real, source=data.dataset_dir)  # the held-out slides too: evaluation reads them
    real_train, _ = split_samples_by_group(real, test_fraction=data.test_fraction, seed=config.data_split_seed)
    real_source = data.dataset_dir
    if data.real_train_dir:  # a cross-dataset R: another dataset's images, this one's held-out slides
        real_train, real_source = list_samples(data.real_train_dir), data.real_train_dir
        check_samples(real_train, source=real_source)
    synthetic = list_samples(data.synthetic_dir) if data.train_set in ("S", "S*") else []
    if synthetic:
        check_samples(synthetic, source=data.synthetic_dir, crop_size=data.crop_size)
    if data.train_set != "S":  # only the sizes are new here: the real set is small
        check_samples(real_train, source=real_source, crop_size=data.crop_size)
    samples, augment = training_samples(data.train_set, real_train=real_train, synthetic=synthetic,
                                        augmentation=data.augmentation)
    return _TrainingData(samples=samples, augment=augment, real_train=real_train,
                         real_count=len(real_train) if data.train_set != "S" else 0)


def _save_model(model: keras.Model, path: Path) -> None:
    # Keras insists on the .keras suffix, so the temporary file keeps it.
    temporary = path.with_name(f"{_PARTIAL_PREFIX}{path.name}")
    model.save(temporary)
    os.replace(temporary, path)


def _synchronize_batch_norm(model: keras.Model, synchronized: bool) -> None:
    # Keras reads the flag when it traces the train step; the saved file keeps Keras' default.
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.synchronized = synchronized


def segnet_learning_rate(trainer):
    """Adam's `learning_rate` for a SegNetTrainerConfig: the float, or halved every `lr_halving_steps`."""
    if not trainer.lr_halving_steps:
        return trainer.learning_rate
    return keras.optimizers.schedules.ExponentialDecay(trainer.learning_rate, trainer.lr_halving_steps,
                                                       decay_rate=0.5, staircase=True)


def _build_model(config: SegNetTrainConfig, strategy: tf.distribute.Strategy) -> keras.Model:
    """SegNet compiled with Adam (`FusedAdam`; loss-scaled if it computes in float16), optimizer built."""
    with strategy.scope():
        keras.utils.set_random_seed(config.trainer.seed)
        model = build_segnet(config.model)
        optimizer = FusedAdam(segnet_learning_rate(config.trainer))
        if model_uses_float16(model):
            optimizer = with_loss_scaling(optimizer)
        # Compiled so that segnet.keras carries the loss and the optimizer state, as before.
        model.compile(optimizer=optimizer, loss=SegNetLoss(distance_weight=config.loss.distance_weight))
        model.optimizer.build(model.trainable_variables)
    _synchronize_batch_norm(model, strategy.num_replicas_in_sync > 1)
    return model


def segnet_replica_step(model: keras.Model, config: SegNetTrainConfig) -> Callable:
    """One replica's SegNet update on its share of a global batch; {"loss": its mean loss}.

    The gradient is that of the mean `segnet_loss` over the global batch: each replica
    divides its sum by the global batch size and the optimizer sums the replicas' gradients.
    """
    optimizer = model.optimizer

    def replica_step(batch):
        images, targets = batch
        with tf.GradientTape() as tape:
            outputs = model(images, training=True)
            per_example = segnet_loss(targets, outputs, config.loss.distance_weight)
            loss = tf.nn.compute_average_loss(per_example, global_batch_size=config.trainer.batch_size)
            scaled = optimizer.scale_loss(loss)
        variables = model.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(scaled, variables), variables))
        return {LOSS_NAME: tf.reduce_mean(per_example)}

    return replica_step


def _segnet_task(model: keras.Model, config: SegNetTrainConfig, training: _TrainingData,
                 steps_per_epoch: int) -> loop.TrainingTask:
    data_config = SegmentationDataConfig(crop_size=config.data.crop_size, batch_size=config.trainer.batch_size,
                                         augment=training.augment, seed=config.trainer.seed,
                                         real_fraction=config.data.real_fraction)

    def epoch_batches(epoch: int, done: int) -> tf.data.Dataset:
        # One endless stream for the whole run: epoch e is its batches [e * steps, (e + 1) * steps).
        first = epoch * steps_per_epoch + done
        return make_segmentation_dataset(training.samples, data_config, start_batch=first,
                                         real_count=training.real_count).take(steps_per_epoch - done)

    return loop.TrainingTask(trackables={"model": model, "optimizer": model.optimizer},
                             optimizers={"segnet": model.optimizer},
                             replica_step=segnet_replica_step(model, config), epoch_batches=epoch_batches,
                             loss_names=(LOSS_NAME,))


def _prepare_folder(folder: Path, config: SegNetTrainConfig, *, overwrite: bool, chief: bool) -> None:
    if not chief:
        return
    # overwrite starts over: the earlier run's checkpoints, logs and model go too.
    prepare_run_dir(folder, config, overwrite=overwrite, ignore=RESUMABLE_CHANGES, paths=PATH_FIELDS,
                    upgrade=nested_json_dict, owner=RUN_OWNER)


def _fit_era_run_finished(folder: Path, config: SegNetTrainConfig) -> bool:
    """Whether `folder` is a finished run of the fit-era trainer (nothing to do); False for none.

    Raises:
      CheckpointError: an unfinished one (its checkpoints cannot be resumed here).
    """
    path = folder / FIT_ERA_STATE
    if not path.exists():
        return False
    try:
        epoch = int(json.loads(path.read_text())["epoch"])
    except (OSError, ValueError, KeyError, TypeError):
        epoch = -1
    if epoch >= config.trainer.epochs and all((folder / name).exists()
                                      for name in (MODEL_FILE, WATERSHED_FILE)):
        return True
    raise CheckpointError(f"{path}: a run of an earlier version (epoch {epoch} of {config.trainer.epochs}, Keras fit "
                          "checkpoints), which cannot be resumed; pass --overwrite to train it again from "
                          "scratch (its segnet.keras still evaluates as it is)")


def train_segnet(config: SegNetTrainConfig, model_dir: str | os.PathLike, *,
                 overwrite: bool = False, verbose: int = 1) -> Path:
    """Trains (or resumes) a run, saves `segnet.keras` and tunes `watershed.json`.

    Args:
      config: the run.
      model_dir: run folder (created; see the module docstring).
      overwrite: replace a differing config.json and start from scratch (deleting what an
        earlier run wrote in `model_dir`, and only that).
      verbose: 1 = progress bar on a terminal (else a line per epoch), 2 = a line per
        epoch, 0 = silent.
    Returns:
      Path of the final model (written by the chief only; see `distributed.is_chief`).
    Raises:
      ValueError: `batch_size` not a multiple of the strategy's replicas.
      DatasetError: a bad file in `dataset_dir` or `synthetic_dir` (all checked first).
      ConfigError: `crop_size` larger than the smallest training image (named).
      UnwritableFolderError: `model_dir` cannot be created or written.
      ConfigMismatchError: `model_dir` holds a run with other settings (unless overwrite).
      ForeignFolderError: `model_dir` holds a dataset or another command's output (also with overwrite).
      FolderLockedError: another process is writing `model_dir` (see `run_lock`).
      CheckpointError: an unfinished run of the fit-era trainer, no readable checkpoint,
        or a checkpoint could not be written.
      NonFiniteLossError: the loss became NaN/inf (the last good checkpoint is kept).
    """
    # MultiWorkerMirroredStrategy must exist before other TF ops run in the process.
    trainer = config.trainer
    strategy = distributed.make_strategy(config.runtime.strategy)
    chief = distributed.is_chief(strategy)
    loop.check_strategy(strategy, config.runtime.strategy, batch_size=trainer.batch_size, max_train_seconds=0)
    training = _samples(config)  # before the run folder is made
    folder = Path(model_dir)
    if chief:
        ensure_writable_dir(model_dir, "--model_dir")
    say = (lambda message: print(message, flush=True)) if verbose and chief else (lambda message: None)
    steps = trainer.steps_per_epoch or math.ceil(len(training.samples) / trainer.batch_size)
    settings = loop.LoopSettings(epochs=trainer.epochs, steps_per_epoch=steps,
                                 checkpoint_every_steps=trainer.checkpoint_every_steps,
                                 keep_checkpoints=trainer.keep_checkpoints,
                                 verbose=fit_verbosity(verbose == 1) if verbose else 0)
    final_path = folder / MODEL_FILE
    # One writer per run folder; the other workers write only temporary folders.
    with run_lock(model_dir, what="training run") if chief else contextlib.nullcontext():
        _prepare_folder(folder, config, overwrite=overwrite, chief=chief)
        if not overwrite and _fit_era_run_finished(folder, config):
            say(f"{folder}: finished (by an earlier version); nothing to do")
            return final_path
        model = _build_model(config, strategy)
        result = loop.train(_segnet_task(model, config, training, steps), settings, strategy=strategy,
                            folder=folder, chief=chief, hparams=config_to_dict(config), say=say)
        if chief:
            _finish(model, folder, training, config, trained=result.steps_run > 0, say=say)
    return final_path


def _finish(model: keras.Model, folder: Path, training: _TrainingData, config: SegNetTrainConfig, *,
            trained: bool, say: Callable[[str], None]) -> None:
    """Writes segnet.keras and watershed.json unless they are there and no step ran now."""
    _synchronize_batch_norm(model, False)
    if trained or not (folder / MODEL_FILE).exists():
        _save_model(model, folder / MODEL_FILE)
    if trained or not (folder / WATERSHED_FILE).exists():
        real = config.trainer.tune_on == "real" and training.real_train
        tune_samples = training.real_train if real else training.samples
        tuned, score = _tune(model, tune_samples, config.trainer.tune_images)
        save_watershed_config(tuned, folder / WATERSHED_FILE)
        say(f"watershed tuned on {min(config.trainer.tune_images, len(tune_samples))} "
            f"{'real training' if real else 'training'} images: {tuned} (mean AJI {score:.4f})")


def _tune(model: keras.Model, samples, count: int):
    """Tunes the watershed on `count` training images spread evenly over the sorted list."""
    chosen = [samples[int(i)] for i in np.unique(np.linspace(0, len(samples) - 1, count).round())]
    predictions, truths = [], []
    for sample in chosen:
        image, truth = load_pair(sample)
        predictions.append(scoring.predict_maps(model, image))
        truths.append(truth)
    return tune_watershed(predictions, truths, TuningGrid())
