"""The progress bar of GAN training: per epoch, or over the time budget of a timed run."""

from __future__ import annotations

from typing import Callable

from tf_esgan.console import progress_bar, progress_enabled
from tf_esgan.models.gan import LOSS_NAMES


class TrainingProgress:
    """Steps, losses and time left on a terminal; nothing in a log file (see `console`).

    A run with a time budget (`max_train_seconds`, the demo's timed training) gets one bar
    over the budget's seconds, since its epoch count is only an upper bound; otherwise one
    bar per epoch over its steps, headed by "epoch n/N".
    """

    def __init__(self, *, epochs: int, steps_per_epoch: int, max_train_seconds: float, enabled: bool,
                 say: Callable[[str], None]):
        self._epochs, self._steps_per_epoch = epochs, steps_per_epoch
        self._budget = int(round(max_train_seconds))
        self._enabled = enabled and progress_enabled()
        self._say = say
        self._bar = None
        if self._enabled and self._budget:
            self._say(f"training for {self._budget} s")
            self._bar = progress_bar(self._budget, unit_name="s", stateful_metrics=("step", *LOSS_NAMES))

    def start_epoch(self, epoch: int, steps_done: int) -> None:
        """Called before epoch `epoch` (0-based) of which `steps_done` steps are done."""
        if not self._enabled or self._budget:
            return
        self._say(f"epoch {epoch + 1}/{self._epochs}")
        self._bar = progress_bar(self._steps_per_epoch, stateful_metrics=LOSS_NAMES)
        if steps_done:
            self._bar.update(steps_done)

    def step(self, *, global_step: int, epoch_step: int, elapsed: float, losses: dict[str, float]) -> None:
        """Called after each training step."""
        if self._bar is None:
            return
        if self._budget:
            self._bar.update(min(int(elapsed), self._budget),
                             values=[("step", global_step), *losses.items()])
        else:
            self._bar.update(epoch_step, values=list(losses.items()))
