"""Training of the GAN on the shared loop (`training.loop`): any tf.distribute strategy, resumable.

The GAN-specific parts live here: the slide-grouped split, each epoch's batches, the
replica step (D then G on one fake) and the per-epoch validation image grid.

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
from pathlib import Path
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from tf_esgan.errors import ConfigError
from tf_esgan.io_utils import ensure_writable_dir
from tf_esgan.run_lock import run_lock
from tf_esgan.data.datasets import Sample, check_samples, list_samples, split_samples_by_group
from tf_esgan.data.pipeline import PipelineConfig, make_dataset
from tf_esgan.metrics.image_quality import ssim
from tf_esgan.models.gan import LOSS_NAMES, EnhancedSharpGAN
from tf_esgan.models.inference import generate
from tf_esgan.models.networks import build_networks
from tf_esgan.training import distributed, loop, summaries
from tf_esgan.training.checkpoints import CHECKPOINT_DIR
from tf_esgan.training.gan_config import PATH_FIELDS, RESUMABLE_CHANGES, TrainConfig, nested_json_dict
from tf_esgan.training.lr_schedule import gan_learning_rate
from tf_esgan.training.loop import NonFiniteLossError  # noqa: F401  (raised by train_and_evaluate)
from tf_esgan.runs.run_dir import GAN_RUN, config_to_dict, prepare_run_dir
from tf_esgan.runs.run_owner import RunOwner

VALIDATION_IMAGES = 4  # rows of the per-epoch image grid
ADAM_BETA_1 = 0.5  # pix2pix's Adam momentum, used by the paper's code base
# What a run writes beside config.json (see the module docstring): all that overwrite deletes.
RUN_OWNER = RunOwner(command=GAN_RUN, files=(CHECKPOINT_DIR, summaries.LOG_DIR))


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
    samples = list_samples(config.data.dataset_dir)
    # Every pair is read by training or by the validation images: a bad file found inside
    # tf.data would end the run with a traceback, possibly hours in.
    check_samples(samples, source=config.data.dataset_dir, crop_size=config.model.image_size, crop_flag="--image_size")
    train, validation = split_samples_by_group(samples, test_fraction=config.data.test_fraction,
                                               seed=config.data_split_seed)
    if not train:
        raise ConfigError(f"{config.data.dataset_dir}: no training images left after holding out "
                          f"--test_fraction={config.data.test_fraction} of the slides")
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
    pipeline = PipelineConfig(conditioning=config.conditioning, crop_size=config.model.image_size,
                              batch_size=VALIDATION_IMAGES, augment=False, shuffle=False)
    condition, image, _ = next(iter(make_dataset(samples[:VALIDATION_IMAGES], pipeline)))
    return condition.numpy(), image.numpy()


def _epoch_dataset(train: list[Sample], config: TrainConfig, epoch: int, steps: int, done: int) -> tf.data.Dataset:
    pipeline = PipelineConfig(conditioning=config.conditioning, crop_size=config.model.image_size,
                              batch_size=config.trainer.batch_size, augment=True, shuffle=True, repeat=True,
                              drop_remainder=True, seed=_epoch_seed(config.trainer.seed, epoch))
    return make_dataset(train, pipeline).take(steps).skip(done)


def _build(config: TrainConfig, strategy: tf.distribute.Strategy, steps_per_epoch: int) -> EnhancedSharpGAN:
    trainer = config.trainer
    with strategy.scope():
        keras.utils.set_random_seed(trainer.seed)
        generator, discriminator = build_networks(config.loss.variant, config.model)
        gan = EnhancedSharpGAN(generator, discriminator, config.loss)
        rate = lambda: gan_learning_rate(trainer.learning_rate, epochs=trainer.epochs,  # noqa: E731
                                         steps_per_epoch=steps_per_epoch, decay_epochs=trainer.lr_decay_epochs)
        gan.compile(g_optimizer=distributed.ReplicaMeanAdam(rate(), beta_1=ADAM_BETA_1),
                    d_optimizer=distributed.ReplicaMeanAdam(rate(), beta_1=ADAM_BETA_1),
                    jit_compile=config.runtime.jit_compile)
    return gan


def _prepare_folder(config: TrainConfig, chief: bool) -> Path:
    folder = Path(config.runtime.model_dir)
    if not chief:
        return folder
    # overwrite is an explicit request to start over: the earlier run's files go too.
    prepare_run_dir(folder, config, overwrite=config.runtime.overwrite, ignore=RESUMABLE_CHANGES,
                    paths=PATH_FIELDS, upgrade=nested_json_dict, owner=RUN_OWNER)
    return folder


def gan_replica_step(gan: EnhancedSharpGAN, strategy: tf.distribute.Strategy) -> Callable:
    """One replica's GAN update (for `distributed.make_train_step`): losses of its share.

    One step is `EnhancedSharpGAN.train_step` without its Keras metric trackers: D is
    updated on this step's fake, then G (one G forward per step).
    """
    # BatchNorm moving statistics are updated from each replica's own share of the batch
    # (Keras keeps them per replica), so replicas and workers drift apart; averaging them
    # after every step keeps all copies equal (exact for the moving means, which are linear).
    statistics = [variable for network in (gan.generator, gan.discriminator)
                  for variable in network.non_trainable_variables if "float" in str(variable.dtype)]

    def replica_step(batch):
        terms = gan.generator_step(batch, before_loss=lambda fake: gan.discriminator_step(batch, fake))
        if strategy.num_replicas_in_sync > 1 and statistics:
            context = tf.distribute.get_replica_context()
            averaged = context.all_reduce(tf.distribute.ReduceOp.MEAN,
                                          [tf.identity(variable.value) for variable in statistics])
            for variable, value in zip(statistics, averaged):
                variable.assign(value)
        return terms

    return replica_step


def _gan_task(config: TrainConfig, gan: EnhancedSharpGAN, strategy: tf.distribute.Strategy,
              train: list[Sample], validation: list[Sample], steps_per_epoch: int) -> loop.TrainingTask:
    validation_condition, validation_image = _validation_batch(validation, config)

    def epoch_end(step: int, writer: summaries.RunSummaries) -> None:
        _log_epoch_images(gan, writer, step, validation_condition, validation_image, config.conditioning)

    return loop.TrainingTask(
        trackables={"generator": gan.generator, "discriminator": gan.discriminator,
                    "g_optimizer": gan.g_optimizer, "d_optimizer": gan.d_optimizer},
        optimizers={"generator": gan.g_optimizer, "discriminator": gan.d_optimizer},
        replica_step=gan_replica_step(gan, strategy),
        epoch_batches=lambda epoch, done: _epoch_dataset(train, config, epoch, steps_per_epoch, done),
        loss_names=LOSS_NAMES, on_epoch_end=epoch_end)


def train_and_evaluate(config: TrainConfig, *, log: Callable[[str], None] = print) -> TrainResult:
    """Trains (or resumes) the run described by `config`; see the module docstring.

    Raises:
      ValueError / DatasetError: bad config or dataset, e.g. a truncated or wrong-format
        file anywhere in it (every pair is checked before anything is written).
      ConfigError: `image_size` larger than the smallest image (named).
      UnwritableFolderError: `model_dir` cannot be created or written.
      ConfigMismatchError: `model_dir` holds a run with other settings (unless overwrite).
      ForeignFolderError: `model_dir` holds a dataset or another command's output (also with overwrite).
      FolderLockedError: another process is writing `model_dir` (see `run_lock`).
      CheckpointError: no readable checkpoint, or a checkpoint could not be written.
      NonFiniteLossError: a loss became NaN/inf (the last good checkpoint is kept).
    """
    # MultiWorkerMirroredStrategy must exist before other TF ops run in the process.
    strategy = distributed.make_strategy(config.runtime.strategy)
    chief = distributed.is_chief(strategy)
    trainer, runtime = config.trainer, config.runtime
    loop.check_strategy(strategy, runtime.strategy, batch_size=trainer.batch_size,
                        max_train_seconds=trainer.max_train_seconds)
    train, validation = _split(config)
    steps_per_epoch = trainer.steps_per_epoch or max(
        1, tiles_per_pass(train, config.model.image_size) // trainer.batch_size)
    if chief:
        ensure_writable_dir(runtime.model_dir, "--model_dir")
    settings = loop.LoopSettings(epochs=trainer.epochs, steps_per_epoch=steps_per_epoch,
                                 checkpoint_every_steps=trainer.checkpoint_every_steps,
                                 keep_checkpoints=trainer.keep_checkpoints,
                                 max_train_seconds=trainer.max_train_seconds, jit_compile=runtime.jit_compile,
                                 verbose=runtime.verbose)
    # One writer per run folder. The other workers of a multi-worker run write only to
    # temporary folders (distributed.WriteDir), so only the chief takes the lock.
    with run_lock(config.runtime.model_dir, what="training run") if chief else contextlib.nullcontext():
        folder = _prepare_folder(config, chief)
        gan = _build(config, strategy, steps_per_epoch)
        task = _gan_task(config, gan, strategy, train, validation, steps_per_epoch)
        result = loop.train(task, settings, strategy=strategy, folder=folder, chief=chief,
                            hparams=config_to_dict(config), say=log if chief else (lambda message: None))
    return TrainResult(step=result.step, epoch=result.epoch, resumed_from=result.resumed_from,
                       losses=result.losses, seconds=result.seconds, stopped=result.stopped,
                       checkpoint=result.checkpoint, generator=gan.generator, discriminator=gan.discriminator)


def _log_epoch_images(gan, writer, step, condition, image, kind) -> None:
    synthetic = generate(gan.generator, condition).numpy()
    writer.image(step, summaries.image_grid(condition, image, synthetic, kind))
    to_unit = lambda batch: np.clip((batch + 1.0) / 2.0, 0.0, 1.0)  # noqa: E731
    writer.scalars(step, {"validation/ssim": float(np.mean(ssim(to_unit(image), to_unit(synthetic))))})
