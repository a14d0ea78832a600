"""What a training loop shows: a progress bar per epoch or over a time budget, or a line per epoch."""

from __future__ import annotations

import time
from typing import Callable, Sequence

from tf_esgan.console import progress_bar, progress_enabled

QUIET, BAR, LINES = 0, 1, 2  # `verbose` values


class TrainingProgress:
    """Steps, losses and time left on a terminal; or one line per epoch; or nothing.

    `verbose` BAR: a bar only on a terminal (see `console`), nothing in a log file. A run
    with a time budget (`max_train_seconds`, the demo's timed training) gets one bar over
    the budget's seconds, since its epoch count is only an upper bound; otherwise one bar
    per epoch over its steps, headed by "epoch n/N". `verbose` LINES: after each epoch,
    "Epoch n/N: <steps> steps in <s> s, <loss> <mean>" (what `fit(verbose=2)` printed).
    """

    def __init__(self, *, epochs: int, steps_per_epoch: int, max_train_seconds: float, verbose: int,
                 say: Callable[[str], None], loss_names: Sequence[str]):
        self._epochs, self._steps_per_epoch = epochs, steps_per_epoch
        self._budget = int(round(max_train_seconds))
        self._bar_shown = verbose == BAR and progress_enabled()
        self._lines = verbose == LINES
        self._say = say
        self._loss_names = tuple(loss_names)
        self._bar = None
        self._epoch, self._epoch_totals, self._epoch_steps, self._epoch_started = 0, {}, 0, 0.0
        if self._bar_shown and self._budget:
            self._say(f"training for {self._budget} s")
            self._bar = progress_bar(self._budget, unit_name="s", stateful_metrics=("step", *self._loss_names))

    def start_epoch(self, epoch: int, steps_done: int) -> None:
        """Called before epoch `epoch` (0-based) of which `steps_done` steps are done."""
        self._epoch, self._epoch_totals, self._epoch_steps = epoch, {}, 0
        self._epoch_started = time.perf_counter()
        if not self._bar_shown or self._budget:
            return
        self._say(f"epoch {epoch + 1}/{self._epochs}")
        self._bar = progress_bar(self._steps_per_epoch, stateful_metrics=self._loss_names)
        if steps_done:
            self._bar.update(steps_done)

    def step(self, *, global_step: int, epoch_step: int, elapsed: float, losses: dict[str, float]) -> None:
        """Called after each training step."""
        self._epoch_steps += 1
        for name, value in losses.items():
            self._epoch_totals[name] = self._epoch_totals.get(name, 0.0) + value
        if self._bar is None:
            return
        if self._budget:
            self._bar.update(min(int(elapsed), self._budget),
                             values=[("step", global_step), *losses.items()])
        else:
            self._bar.update(epoch_step, values=list(losses.items()))

    def end_epoch(self) -> None:
        """Called after an epoch's last step."""
        if not self._lines:
            return
        seconds = time.perf_counter() - self._epoch_started
        means = "".join(f", {name} {total / max(self._epoch_steps, 1):.4g}"
                        for name, total in self._epoch_totals.items())
        self._say(f"Epoch {self._epoch + 1}/{self._epochs}: {self._epoch_steps} steps in {seconds:.1f} s{means}")
