"""The one meaning of --quiet: no progress bar, the summary lines stay.

A trainer run with --quiet prints one line per epoch ("Epoch n/N: <steps> steps in <s> s,
<mean losses>") and its final summary, what a log file of a long run should hold; the
other commands with --quiet print their summary without the per-item bar or lines.
"""

from __future__ import annotations

from absl import flags

from tf_esgan.training.progress import BAR, LINES

QUIET_FLAG = "quiet"
TRAINING_QUIET_HELP = ("No progress bar: one summary line per epoch (steps, seconds, mean losses) and the "
                       "final summary, as suits a log file.")


def define_quiet_flag(help_text: str = TRAINING_QUIET_HELP) -> flags.FlagHolder:
    """--quiet (default off); `help_text` says what the command still prints."""
    return flags.DEFINE_bool(QUIET_FLAG, False, help_text)


def training_verbose(quiet: bool) -> int:
    """A trainer's `verbose` for --quiet: a line per epoch (progress.LINES), else a progress bar (BAR)."""
    return LINES if quiet else BAR
