"""Training of the GAN: one custom loop for every tf.distribute strategy, resumable.

`<model_dir>` after a run:
  config.json      the `TrainConfig` (checked on restart; see gan_config.RESUMABLE_CHANGES).
  checkpoints/     ckpt-<step>.*: G, D, both optimizers, step, epoch and the position in
                   the epoch's data stream (the last `keep_checkpoints`).
  logs/            TensorBoard: loss/*, learning_rate/*, speed/steps_per_sec per step;
                   validation image grid and SSIM per epoch; hparams.
Rerunning the same command resumes at the checkpoint's step with the same optimizer
state and the same batches an uninterrupted run would have seen: each epoch's batches
are a pure function of (seed, epoch), and a resumed epoch skips the batches it had done.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import shutil
import time
from pathlib import Path
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from tf_esgan.errors import ConfigError, UserError
from tf_esgan.io_utils import ensure_writable_dir
from tf_esgan.run_lock import run_lock
from tf_esgan.data.datasets import Sample, check_samples, list_samples, split_samples_by_group
from tf_esgan.data.pipeline import PipelineConfig, make_dataset, reraise_dataset_errors
from tf_esgan.metrics.image_quality import ssim
from tf_esgan.models.gan import LOSS_NAMES, EnhancedSharpGAN
from tf_esgan.models.inference import generate
from tf_esgan.models.networks import build_networks
from tf_esgan.training import distributed, summaries
from tf_esgan.training.checkpoints import CHECKPOINT_DIR, RunCheckpoints
from tf_esgan.training.gan_config import RESUMABLE_CHANGES, TrainConfig
from tf_esgan.training.progress import TrainingProgress
from tf_esgan.training.run_dir import config_to_dict, prepare_run_dir

VALIDATION_IMAGES = 4  # rows of the per-epoch image grid
ADAM_BETA_1 = 0.5  # pix2pix's Adam momentum, used by the paper's code base


class NonFiniteLossError(UserError, RuntimeError):
    """A loss became NaN or infinite; training stopped before writing a checkpoint."""


@dataclasses.dataclass(frozen=True)
class TrainResult:
    """What `train_and_evaluate` did.

    Attributes:
      step, epoch: global steps and completed epochs at the end.
      resumed_from: checkpoint restored at the start, or None for a fresh run.
      losses: mean of each loss term over the steps of this invocation (empty if none ran).
      seconds: wall time of the training loop.
      stopped: "finished" or "time budget".
      checkpoint: last checkpoint written (None if no step ran).
      generator, discriminator: the trained networks.
    """

    step: int
    epoch: int
    resumed_from: str | None
    losses: dict
    seconds: float
    stopped: str
    checkpoint: str | None
    generator: keras.Model
    discriminator: keras.Model


def _epoch_seed(seed: int, epoch: int) -> int:
    # Distinct, reproducible data order and augmentation per epoch.
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0])


def _split(config: TrainConfig) -> tuple[list[Sample], list[Sample]]:
    samples = list_samples(config.dataset_dir)
    # Every pair is read by training or by the validation images: a bad file found inside
    # tf.data would end the run with a traceback, possibly hours in.
    check_samples(samples, source=config.dataset_dir, crop_size=config.image_size, crop_flag="--image_size")
    train, validation = split_samples_by_group(samples, test_fraction=config.test_fraction,
                                               seed=config.data_split_seed)
    if not train:
        raise ConfigError(f"{config.dataset_dir}: no training images left after holding out "
                          f"--test_fraction={config.test_fraction} of the slides")
    return train, validation or train  # a single-slide dataset validates on its training images


def tiles_per_pass(samples: list[Sample], tile: int) -> int:
    """Input-sized tiles in one pass over `samples`: sum of floor(H/tile) * floor(W/tile).

    This is what an epoch means here ("256x256 input, 150 epochs": every 256x256 tile of
    the training images once per epoch); the tiles themselves are random crops.
    """
    from PIL import Image  # header only: the pixels are not decoded

    total = 0
    for sample in samples:
        with Image.open(sample.image_path) as image:
            width, height = image.size
        total += max(1, height // tile) * max(1, width // tile)
    return total


def _validation_batch(samples: list[Sample], config: TrainConfig) -> tuple[np.ndarray, ...]:
    pipeline = PipelineConfig(conditioning=config.conditioning, crop_size=config.image_size,
                              batch_size=VALIDATION_IMAGES, augment=False, shuffle=False)
    condition, image, _ = next(iter(make_dataset(samples[:VALIDATION_IMAGES], pipeline)))
    return condition.numpy(), image.numpy()


def _epoch_dataset(train: list[Sample], config: TrainConfig, epoch: int, steps: int, done: int) -> tf.data.Dataset:
    pipeline = PipelineConfig(conditioning=config.conditioning, crop_size=config.image_size,
                              batch_size=config.batch_size, augment=True, shuffle=True, repeat=True,
                              drop_remainder=True, seed=_epoch_seed(config.seed, epoch))
    return make_dataset(train, pipeline).take(steps).skip(done)


def _build(config: TrainConfig, strategy: tf.distribute.Strategy) -> EnhancedSharpGAN:
    with strategy.scope():
        keras.utils.set_random_seed(config.seed)
        generator, discriminator = build_networks(config.variant, config.network_config())
        gan = EnhancedSharpGAN(generator, discriminator, config.loss_config())
        gan.compile(g_optimizer=distributed.ReplicaMeanAdam(config.learning_rate, beta_1=ADAM_BETA_1),
                    d_optimizer=distributed.ReplicaMeanAdam(config.learning_rate, beta_1=ADAM_BETA_1),
                    jit_compile=config.jit_compile)
    return gan


def _prepare_folder(config: TrainConfig, chief: bool) -> Path:
    folder = Path(config.model_dir)
    if not chief:
        return folder
    prepare_run_dir(folder, config, overwrite=config.overwrite, ignore=RESUMABLE_CHANGES, paths=("dataset_dir",))
    if config.overwrite:  # explicit request to start over: forget the earlier run
        shutil.rmtree(folder / CHECKPOINT_DIR, ignore_errors=True)
        shutil.rmtree(folder / summaries.LOG_DIR, ignore_errors=True)
    return folder


def _scalar(variable) -> float:
    return float(tf.convert_to_tensor(variable).numpy())


def train_and_evaluate(config: TrainConfig, *, log: Callable[[str], None] = print) -> TrainResult:
    """Trains (or resumes) the run described by `config`; see the module docstring.

    Raises:
      ValueError / DatasetError: bad config or dataset, e.g. a truncated or wrong-format
        file anywhere in it (every pair is checked before anything is written).
      ConfigError: `image_size` larger than the smallest image (named).
      UnwritableFolderError: `model_dir` cannot be created or written.
      ConfigMismatchError: `model_dir` holds a run with other settings (unless overwrite).
      FolderLockedError: another process is writing `model_dir` (see `run_lock`).
      CheckpointError: no readable checkpoint, or a checkpoint could not be written.
      NonFiniteLossError: a loss became NaN/inf (the last good checkpoint is kept).
    """
    # MultiWorkerMirroredStrategy must exist before other TF ops run in the process.
    strategy = distributed.make_strategy(config.strategy)
    chief = distributed.is_chief(strategy)
    replicas = strategy.num_replicas_in_sync
    if config.batch_size % replicas:
        raise ValueError(f"batch_size {config.batch_size} must be a multiple of the {replicas} replicas "
                         f"of strategy {config.strategy!r}")
    if config.max_train_seconds and replicas > 1 and config.strategy == "multi_worker":
        # Workers would stop at different steps and wait forever for each other.
        raise ValueError("max_train_seconds is not supported with strategy 'multi_worker'; use epochs")
    train, validation = _split(config)
    steps_per_epoch = config.steps_per_epoch or max(1, tiles_per_pass(train, config.image_size) // config.batch_size)
    if chief:
        ensure_writable_dir(config.model_dir, "--model_dir")
    # One writer per run folder. The other workers of a multi-worker run write only to
    # temporary folders (distributed.WriteDir), so only the chief takes the lock.
    with run_lock(config.model_dir, what="training run") if chief else contextlib.nullcontext():
        folder = _prepare_folder(config, chief)
        say = log if chief else (lambda message: None)

        gan = _build(config, strategy)
        step, epoch, epoch_step = (tf.Variable(0, dtype=tf.int64, trainable=False) for _ in range(3))
        checkpoint = tf.train.Checkpoint(generator=gan.generator, discriminator=gan.discriminator,
                                         g_optimizer=gan.g_optimizer, d_optimizer=gan.d_optimizer,
                                         step=step, epoch=epoch, epoch_step=epoch_step)
        checkpoint_dir = distributed.WriteDir(folder / CHECKPOINT_DIR, chief)
        log_dir = distributed.WriteDir(folder / summaries.LOG_DIR, chief)
        try:
            checkpoints = RunCheckpoints(checkpoint, read_dir=folder / CHECKPOINT_DIR,
                                         write_dir=checkpoint_dir.path, keep=config.keep_checkpoints)
            resumed_from = checkpoints.restore_latest(say)
            if resumed_from:
                say(f"resumed from {resumed_from}: step {int(step.numpy())}, epoch {int(epoch.numpy())}, "
                    f"optimizer step {_scalar(gan.g_optimizer.iterations):.0f}")
            writer = summaries.RunSummaries(log_dir.path, config_to_dict(config))
            try:
                with reraise_dataset_errors():
                    return _loop(config, gan, strategy, checkpoints, writer, train, validation, steps_per_epoch,
                                 (step, epoch, epoch_step), resumed_from, chief, say)
            finally:
                writer.close()
        finally:
            checkpoint_dir.cleanup()
            log_dir.cleanup()


def _loop(config, gan, strategy, checkpoints, writer, train, validation, steps_per_epoch, counters,
          resumed_from, chief, say) -> TrainResult:
    step, epoch, epoch_step = counters
    train_step = distributed.make_train_step(gan, strategy, jit_compile=config.jit_compile)
    validation_condition, validation_image = _validation_batch(validation, config)
    totals = {name: 0.0 for name in LOSS_NAMES}
    steps_run, last_checkpoint, stopped = 0, resumed_from, "finished"
    started = time.perf_counter()
    progress = TrainingProgress(epochs=config.epochs, steps_per_epoch=steps_per_epoch,
                                max_train_seconds=config.max_train_seconds,
                                enabled=chief and bool(config.verbose), say=say)
    while int(epoch.numpy()) < config.epochs and stopped == "finished":
        current_epoch, done = int(epoch.numpy()), int(epoch_step.numpy())
        dataset = distributed.distribute(
            _epoch_dataset(train, config, current_epoch, steps_per_epoch, done), strategy)
        progress.start_epoch(current_epoch, done)
        tick = time.perf_counter()
        for batch in dataset:
            losses = {name: float(value) for name, value in train_step(batch).items()}
            bad = sorted(name for name, value in losses.items() if not math.isfinite(value))
            if bad:
                raise NonFiniteLossError(
                    f"non-finite loss at step {int(step.numpy()) + 1} ({', '.join(f'{n}={losses[n]}' for n in bad)}); "
                    f"stopped without saving. Last good checkpoint: {last_checkpoint or '(none)'}. "
                    "Try a lower learning rate.")
            step.assign_add(1)
            epoch_step.assign_add(1)
            steps_run += 1
            now = time.perf_counter()
            global_step = int(step.numpy())
            writer.scalars(global_step, losses, prefix="loss/")
            writer.scalars(global_step, {
                "learning_rate/generator": _scalar(gan.g_optimizer.learning_rate),
                "learning_rate/discriminator": _scalar(gan.d_optimizer.learning_rate),
                "speed/steps_per_sec": 1.0 / max(now - tick, 1e-9)})
            tick = now
            for name, value in losses.items():
                totals[name] += value
            progress.step(global_step=global_step, epoch_step=int(epoch_step.numpy()),
                          elapsed=now - started, losses=losses)
            if config.checkpoint_every_steps and global_step % config.checkpoint_every_steps == 0:
                last_checkpoint = checkpoints.save(global_step)
            if config.max_train_seconds and now - started >= config.max_train_seconds:
                stopped = "time budget"
                break
        if stopped == "finished":
            epoch.assign_add(1)
            epoch_step.assign(0)
            _log_epoch_images(gan, writer, int(step.numpy()), validation_condition, validation_image,
                              config.conditioning)
        last_checkpoint = checkpoints.save(int(step.numpy()))
    seconds = time.perf_counter() - started
    means = {name: total / steps_run for name, total in totals.items()} if steps_run else {}
    say(f"{stopped}: step {int(step.numpy())}, epoch {int(epoch.numpy())}/{config.epochs}, {steps_run} steps in "
        f"{seconds:.1f} s ({steps_run / max(seconds, 1e-9):.2f} steps/s)"
        + "".join(f", {name} {value:.4g}" for name, value in means.items())
        + f"; checkpoint {last_checkpoint}")
    return TrainResult(step=int(step.numpy()), epoch=int(epoch.numpy()), resumed_from=resumed_from,
                       losses=means, seconds=seconds, stopped=stopped, checkpoint=last_checkpoint,
                       generator=gan.generator, discriminator=gan.discriminator)


def _log_epoch_images(gan, writer, step, condition, image, kind) -> None:
    synthetic = generate(gan.generator, condition).numpy()
    writer.image(step, summaries.image_grid(condition, image, synthetic, kind))
    to_unit = lambda batch: np.clip((batch + 1.0) / 2.0, 0.0, 1.0)  # noqa: E731
    writer.scalars(step, {"validation/ssim": float(np.mean(ssim(to_unit(image), to_unit(synthetic))))})
