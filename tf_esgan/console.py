"""What a long job shows while it runs: one progress-bar style for every command.

A bar is drawn only when standard output is a terminal and absl's verbosity is WARNING
(the default) or more verbose; batch jobs (output to a file or a pipe) and
`--verbosity=-2` get no bar, so their logs hold only result lines. The verbosity lives
in absl (`--verbosity` / `-v` on every `esgan-*` command), not in a global of ours.
"""

from __future__ import annotations

import sys
from typing import Iterable

import keras
from absl import logging

# absl levels: 1 DEBUG, 0 INFO, -1 WARNING (default), -2 ERROR, -3 FATAL.
PROGRESS_MIN_VERBOSITY = logging.WARNING


class NoProgress:
    """Stands in for `keras.utils.Progbar` where no bar is drawn."""

    def update(self, current, values=None, finalize=None) -> None:
        del current, values, finalize

    def add(self, n, values=None) -> None:
        del n, values


def progress_enabled() -> bool:
    """True when a bar would be drawn: stdout is a terminal and verbosity allows it."""
    return sys.stdout.isatty() and logging.get_verbosity() >= PROGRESS_MIN_VERBOSITY


def progress_bar(target: int | None, *, unit_name: str = "step",
                 stateful_metrics: Iterable[str] | None = None, enabled: bool = True):
    """A Keras `Progbar` (steps, rate, time left, metric values) or a `NoProgress`.

    Args:
      target: total count (None when unknown).
      unit_name: what is counted ("pair", "image", "step").
      stateful_metrics: names whose latest value is shown instead of a running mean.
      enabled: the caller's own switch (for example a `--quiet` flag).
    """
    if not (enabled and progress_enabled()):
        return NoProgress()
    return keras.utils.Progbar(target, unit_name=unit_name, stateful_metrics=stateful_metrics)


def fit_verbosity(enabled: bool = True) -> int:
    """`verbose` for `keras.Model.fit`: 1 (bar) on a terminal, else 2 (a line per epoch)."""
    return 1 if enabled and progress_enabled() else 2
