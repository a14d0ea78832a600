"""The training loop of every trainer (GAN, SegNet), for every `tf.distribute` strategy.

A trainer describes what it trains as a `TrainingTask` (what to checkpoint, a replica
step, the batches of an epoch, an end-of-epoch hook) and how long as `LoopSettings`;
`train` does the rest in `<model_dir>`:
  checkpoints/  ckpt-<step>.*: the task's objects plus step, epoch and epoch_step (the
                position in the epoch's data stream); after every epoch and every
                `checkpoint_every_steps` steps (the last `keep_checkpoints`).
  logs/         TensorBoard: loss/<term>, learning_rate/<optimizer>, speed/steps_per_sec
                per step; hparams once; whatever the epoch hook writes.
A rerun restores the newest readable checkpoint (`RunCheckpoints`) and continues at its
step, in its epoch, at its batch: `epoch_batches(epoch, done)` must give the batches an
uninterrupted run would have seen after `done` of them, so a resumed run sees the same
data. Under `MultiWorkerMirroredStrategy` every worker runs the loop (saves take part in
collectives) but only the chief's files are kept (`distributed.WriteDir`).
"""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path
from typing import Any, Callable, Mapping

import keras
import tensorflow as tf

from tf_esgan.data.pipeline import reraise_dataset_errors
from tf_esgan.errors import UserError
from tf_esgan.training import distributed, summaries
from tf_esgan.training.checkpoints import CHECKPOINT_DIR, RunCheckpoints
from tf_esgan.training.progress import TrainingProgress

FINISHED, TIME_BUDGET = "finished", "time budget"


class NonFiniteLossError(UserError, RuntimeError):
    """A loss became NaN or infinite; training stopped before writing a checkpoint."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class LoopSettings:
    """How long the loop trains and what it saves and shows.

    Attributes:
      epochs: total epochs; a run restored at a later epoch does nothing.
      steps_per_epoch: global batches per epoch.
      checkpoint_every_steps: also checkpoint every this many steps (0 = once per epoch).
      keep_checkpoints: checkpoints kept (older ones are deleted).
      max_train_seconds: stop (after a checkpoint) once training took this long; 0 = no limit.
      jit_compile: XLA-compile the replica step.
      verbose: 0 = only the final summary line, 1 = progress bar (on a terminal),
        2 = one line per epoch (see `progress.TrainingProgress`).
    """

    epochs: int
    steps_per_epoch: int
    checkpoint_every_steps: int = 0
    keep_checkpoints: int = 3
    max_train_seconds: float = 0.0
    jit_compile: bool = False
    verbose: int = 1


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainingTask:
    """What one trainer trains.

    Attributes:
      trackables: checkpointed objects by name (networks, optimizers), built in the
        strategy's scope, optimizers already built (so a restore fills every variable).
      optimizers: by name, for learning_rate/<name>; the first one's step count is
        reported on resume.
      replica_step: one replica's update on its share of a global batch; returns its
        loss terms as means over that share.
      epoch_batches: (epoch, batches done) -> that epoch's remaining global batches.
      loss_names: the terms `replica_step` returns (progress-bar columns).
      on_epoch_end: (global step, summaries) after each complete epoch, e.g. an image grid.
    """

    trackables: Mapping[str, Any]
    optimizers: Mapping[str, keras.optimizers.Optimizer]
    replica_step: Callable[[Any], Mapping[str, tf.Tensor]]
    epoch_batches: Callable[[int, int], tf.data.Dataset]
    loss_names: tuple[str, ...]
    on_epoch_end: Callable[[int, summaries.RunSummaries], None] | None = None


@dataclasses.dataclass(frozen=True)
class LoopResult:
    """What `train` did.

    Attributes:
      step, epoch: global steps and completed epochs at the end.
      resumed_from: checkpoint restored at the start, or None for a fresh run.
      losses: mean of each loss term over the steps of this invocation (empty if none ran).
      steps_run: steps of this invocation.
      seconds: wall time of the loop.
      stopped: "finished" or "time budget".
      checkpoint: last checkpoint written or restored (None if there is none).
    """

    step: int
    epoch: int
    resumed_from: str | None
    losses: dict
    steps_run: int
    seconds: float
    stopped: str
    checkpoint: str | None


def check_strategy(strategy: tf.distribute.Strategy, name: str, *, batch_size: int,
                   max_train_seconds: float) -> None:
    """Refuses settings strategy `name` cannot run (before anything is written).

    Raises:
      ValueError: `batch_size` not a multiple of the replicas, or a time budget with
        several workers (they would stop at different steps and wait forever for each other).
    """
    replicas = strategy.num_replicas_in_sync
    if batch_size % replicas:
        raise ValueError(f"batch_size {batch_size} must be a multiple of the {replicas} replicas "
                         f"of strategy {name!r}")
    if max_train_seconds and replicas > 1 and name == "multi_worker":
        raise ValueError("max_train_seconds is not supported with strategy 'multi_worker'; use epochs")


def train(task: TrainingTask, settings: LoopSettings, *, strategy: tf.distribute.Strategy, folder: Path,
          chief: bool, hparams: Mapping, say: Callable[[str], None]) -> LoopResult:
    """Trains `task` in run folder `folder` (resuming its newest checkpoint); see the module docstring.

    Args:
      chief: this process writes the run's files (`distributed.is_chief`).
      hparams: flat config values for TensorBoard's HParams dashboard.
      say: where the resume and summary lines go (a no-op on the other workers).
    Raises:
      CheckpointError: no readable checkpoint, or a checkpoint could not be written.
      NonFiniteLossError: a loss became NaN/inf (the last good checkpoint is kept).
      DatasetError: a file that only decoding finds bad.
    """
    counters = {name: tf.Variable(0, dtype=tf.int64, trainable=False) for name in ("step", "epoch", "epoch_step")}
    checkpoint = tf.train.Checkpoint(**task.trackables, **counters)
    checkpoint_dir = distributed.WriteDir(folder / CHECKPOINT_DIR, chief)
    log_dir = distributed.WriteDir(folder / summaries.LOG_DIR, chief)
    try:
        checkpoints = RunCheckpoints(checkpoint, read_dir=folder / CHECKPOINT_DIR,
                                     write_dir=checkpoint_dir.path, keep=settings.keep_checkpoints)
        resumed_from = checkpoints.restore_latest(say)
        if resumed_from:
            first_optimizer = next(iter(task.optimizers.values()))
            say(f"resumed from {resumed_from}: step {_integer(counters['step'])}, "
                f"epoch {_integer(counters['epoch'])}, optimizer step {_integer(first_optimizer.iterations)}")
        writer = summaries.RunSummaries(log_dir.path, hparams)
        try:
            with reraise_dataset_errors():
                return _Run(task, settings, strategy, checkpoints, writer, counters, resumed_from,
                            chief, say).run()
        finally:
            writer.close()
    finally:
        checkpoint_dir.cleanup()
        log_dir.cleanup()


def _applied_rate(optimizer) -> float:
    """The step size the optimizer's last update used (a schedule's value at the step before `iterations`)."""
    rate = optimizer._learning_rate  # the float/variable or the schedule itself (Keras 3 BaseOptimizer)
    if isinstance(rate, keras.optimizers.schedules.LearningRateSchedule):
        return float(rate(optimizer.iterations - 1))
    return float(tf.convert_to_tensor(optimizer.learning_rate).numpy())


def _integer(variable) -> int:
    return int(tf.convert_to_tensor(variable).numpy())


class _Run:
    """One invocation of the loop: its counters, totals and outputs."""

    def __init__(self, task, settings, strategy, checkpoints, writer, counters, resumed_from, chief, say):
        self.task, self.settings, self.strategy = task, settings, strategy
        self.checkpoints, self.writer, self.say = checkpoints, writer, say
        self.step, self.epoch, self.epoch_step = counters["step"], counters["epoch"], counters["epoch_step"]
        self.resumed_from = self.last_checkpoint = resumed_from
        self.totals = {name: 0.0 for name in task.loss_names}
        self.steps_run = 0
        self.progress = TrainingProgress(epochs=settings.epochs, steps_per_epoch=settings.steps_per_epoch,
                                         max_train_seconds=settings.max_train_seconds,
                                         verbose=settings.verbose if chief else 0, say=say,
                                         loss_names=task.loss_names)
        self.started = time.perf_counter()

    def run(self) -> LoopResult:
        train_step = distributed.make_train_step(self.task.replica_step, self.strategy,
                                                 jit_compile=self.settings.jit_compile)
        stopped = FINISHED
        while _integer(self.epoch) < self.settings.epochs and stopped == FINISHED:
            stopped = self._epoch(train_step)
            if stopped == FINISHED:
                self.progress.end_epoch()
                self.epoch.assign_add(1)
                self.epoch_step.assign(0)
                if self.task.on_epoch_end is not None:
                    self.task.on_epoch_end(_integer(self.step), self.writer)
            self.last_checkpoint = self.checkpoints.save(_integer(self.step))
        return self._result(stopped)

    def _epoch(self, train_step) -> str:
        """Runs the rest of the current epoch; FINISHED, or TIME_BUDGET if it ran out."""
        epoch, done = _integer(self.epoch), _integer(self.epoch_step)
        batches = distributed.distribute(self.task.epoch_batches(epoch, done), self.strategy)
        self.progress.start_epoch(epoch, done)
        tick = time.perf_counter()
        for batch in batches:
            losses = {name: float(value) for name, value in train_step(batch).items()}
            self._check_finite(losses)
            self.step.assign_add(1)
            self.epoch_step.assign_add(1)
            self.steps_run += 1
            now = time.perf_counter()
            self._record(losses, seconds=now - tick)
            tick = now
            global_step = _integer(self.step)
            if self.settings.checkpoint_every_steps and global_step % self.settings.checkpoint_every_steps == 0:
                self.last_checkpoint = self.checkpoints.save(global_step)
            if self.settings.max_train_seconds and now - self.started >= self.settings.max_train_seconds:
                return TIME_BUDGET
        return FINISHED

    def _check_finite(self, losses: dict[str, float]) -> None:
        bad = sorted(name for name, value in losses.items() if not math.isfinite(value))
        if bad:
            raise NonFiniteLossError(
                f"non-finite loss at step {_integer(self.step) + 1} "
                f"({', '.join(f'{name}={losses[name]}' for name in bad)}); stopped without saving. "
                f"Last good checkpoint: {self.last_checkpoint or '(none)'}. Try a lower learning rate.")

    def _record(self, losses: dict[str, float], *, seconds: float) -> None:
        """TensorBoard scalars, running totals and the progress bar of one step."""
        global_step = _integer(self.step)
        self.writer.scalars(global_step, losses, prefix="loss/")
        rates = {f"learning_rate/{name}": _applied_rate(optimizer) for name, optimizer in self.task.optimizers.items()}
        self.writer.scalars(global_step, {**rates, "speed/steps_per_sec": 1.0 / max(seconds, 1e-9)})
        for name, value in losses.items():
            self.totals[name] = self.totals.get(name, 0.0) + value
        self.progress.step(global_step=global_step, epoch_step=_integer(self.epoch_step),
                           elapsed=time.perf_counter() - self.started, losses=losses)

    def _result(self, stopped: str) -> LoopResult:
        seconds = time.perf_counter() - self.started
        means = {name: total / self.steps_run for name, total in self.totals.items()} if self.steps_run else {}
        step, epoch = _integer(self.step), _integer(self.epoch)
        self.say(f"{stopped}: step {step}, epoch {epoch}/{self.settings.epochs}, {self.steps_run} steps in "
                 f"{seconds:.1f} s ({self.steps_run / max(seconds, 1e-9):.2f} steps/s)"
                 + "".join(f", {name} {value:.4g}" for name, value in means.items())
                 + f"; checkpoint {self.last_checkpoint}")
        return LoopResult(step=step, epoch=epoch, resumed_from=self.resumed_from, losses=means,
                          steps_run=self.steps_run, seconds=seconds, stopped=stopped,
                          checkpoint=self.last_checkpoint)
