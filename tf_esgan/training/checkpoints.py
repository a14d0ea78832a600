"""Crash-safe checkpoints of a GAN run: save the last N, restore the newest readable one.

`tf.train.CheckpointManager` writes a checkpoint's data and index files first and the
`checkpoint` state file that names it last, so a process killed while saving leaves the
state file naming the previous, complete checkpoint (tests/training/test_kill_resume.py
kills a run with SIGKILL to check it). Restoring walks the checkpoints newest first and
falls back, saying so, when one cannot be read (truncated or corrupted files). A save
that fails (disk full) or is killed leaves TensorFlow's temporaries (`ckpt-<N>_temp/`,
`*.tempstate*`, `checkpoint.tmp*`); they are deleted after the failure and when the
next run opens the folder.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Callable

import tensorflow as tf
from google.protobuf import text_format

from tf_esgan.errors import UserError

CHECKPOINT_DIR = "checkpoints"
PREFIX = "ckpt"


class CheckpointError(UserError, RuntimeError):
    """No checkpoint of a run could be read, or a new one could not be written."""


def _listed_checkpoints(listed: list[str], directory: Path) -> list[str]:
    """Checkpoint prefixes, newest first: those of the state file, then other files on disk."""
    listed = [str(prefix) for prefix in listed]
    on_disk = [str(path.with_suffix("")) for path in directory.glob(f"{PREFIX}-*.index")]
    # Prefixes on disk but not in the state file (e.g. a state file lost or unreadable)
    # are still candidates, after the listed ones.
    extra = [prefix for prefix in on_disk if prefix not in listed]
    number = lambda prefix: int(re.search(r"-(\d+)$", prefix).group(1))  # noqa: E731
    return sorted(listed, key=number, reverse=True) + sorted(extra, key=number, reverse=True)


def restore_newest(checkpoint: tf.train.Checkpoint, directory: str | os.PathLike, *,
                   listed: list[str] | None = None, partial: bool = False,
                   log: Callable[[str], None] = print) -> str | None:
    """Restores the newest readable checkpoint in `directory`; its prefix, or None if none exist.

    Args:
      checkpoint: objects to restore (all of them must be in the checkpoint).
      directory: a checkpoint folder of `RunCheckpoints`.
      listed: checkpoint prefixes already known (e.g. a manager's); default: the state file's.
      partial: `checkpoint` holds only part of what was saved (e.g. only the generator).
      log: told about each unreadable checkpoint that is skipped.
    Raises:
      CheckpointError: checkpoints exist but none can be read (a run is not started over
        silently: that would overwrite them).
    """
    directory = Path(directory)
    if not directory.is_dir():
        return None
    if listed is None:
        try:
            state = tf.train.get_checkpoint_state(str(directory))
        except (tf.errors.OpError, text_format.ParseError):
            state = None  # the files on disk are still tried below
        listed = [] if state is None else [str(directory / Path(path).name)
                                           for path in state.all_model_checkpoint_paths]
    failures = []
    for prefix in _listed_checkpoints(listed, directory):
        try:
            status = checkpoint.restore(prefix)
            status.assert_existing_objects_matched()
            if partial:
                status.expect_partial()
        except (tf.errors.OpError, ValueError, AssertionError, IndexError, OSError) as error:
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            failures.append(f"{prefix}: {first_line}")
            log(f"checkpoint {prefix} is unreadable ({first_line}); falling back to the previous one")
            continue
        return prefix
    if failures:
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        raise CheckpointError(f"{directory}: no readable checkpoint ({failures[0]}{more}); move the folder "
                              "away, or pass --overwrite to start over")
    return None


# What a failed or killed save leaves: the shards of `ckpt-<N>_temp/`, a data file being
# written (`.tempstate<random>`) and the state file's atomic-write temporary.
_SAVE_TEMPORARIES = (f"{PREFIX}-*_temp*", f"{PREFIX}-*.tempstate*", "checkpoint.tmp*")


def remove_save_temporaries(directory: str | os.PathLike, step: int | None = None) -> list[Path]:
    """Deletes what failed or killed saves left in `directory` (of checkpoint `step`, or all).

    Only safe while no save runs in `directory` (the trainer holds the run's lock).
    """
    directory = Path(directory)
    patterns = _SAVE_TEMPORARIES if step is None else (f"{PREFIX}-{step}_temp*", f"{PREFIX}-{step}.*tempstate*")
    removed = []
    for pattern in patterns:
        for leftover in directory.glob(pattern):
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)
            removed.append(leftover)
    return removed


class RunCheckpoints:
    """Saves and restores one `tf.train.Checkpoint` in `<model_dir>/checkpoints/`.

    Args:
      checkpoint: what to save (networks, optimizers, step counters).
      read_dir: the run's checkpoint folder (every worker restores from it).
      write_dir: where this worker saves: `read_dir` on the chief, a temporary folder
        on the other workers (see `distributed.WriteDir`).
      keep: checkpoints kept; older ones are deleted after a successful save.
    """

    def __init__(self, checkpoint: tf.train.Checkpoint, *, read_dir: str | os.PathLike,
                 write_dir: str | os.PathLike, keep: int):
        self.checkpoint = checkpoint
        self.read_dir = Path(read_dir)
        remove_save_temporaries(write_dir)  # of a save killed in an earlier run
        try:
            self.manager = tf.train.CheckpointManager(checkpoint, str(write_dir), max_to_keep=keep,
                                                      checkpoint_name=PREFIX)
        except (tf.errors.OpError, ValueError, text_format.ParseError) as error:
            raise CheckpointError(f"{Path(write_dir) / 'checkpoint'}: unreadable checkpoint state "
                                  f"file ({error}); move it away to resume from the files on disk") from error

    def restore_latest(self, log: Callable[[str], None] = print) -> str | None:
        """Restores the newest readable checkpoint of `read_dir` (see `restore_newest`)."""
        listed = self.manager.checkpoints if self.read_dir == Path(self.manager.directory) else None
        return restore_newest(self.checkpoint, self.read_dir, listed=listed, log=log)

    def save(self, step: int) -> str:
        """Writes checkpoint `ckpt-<step>`; returns its prefix.

        Raises:
          CheckpointError: the write failed (e.g. disk full); the previous checkpoints are
            untouched because old ones are only deleted after a complete save.
        """
        try:
            return self.manager.save(checkpoint_number=step)
        except (tf.errors.OpError, OSError) as error:
            remove_save_temporaries(self.manager.directory, step)
            previous = self.manager.latest_checkpoint
            raise CheckpointError(
                f"{self.manager.directory}: could not write the checkpoint of step {step} "
                f"({type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}; "
                f"is the disk full?). The last good checkpoint {previous or '(none)'} is intact.") from error
