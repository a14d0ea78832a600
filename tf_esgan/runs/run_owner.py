"""Whose folder is it: a trainer writes only into an empty folder or a run of its own.

`--model_dir` is a folder the trainer fills, so a wrong one (a dataset, a synthetic set, a
run of the other trainer) would get a config.json and checkpoints mixed into it, and with
`--overwrite` lose its own config.json (a synthetic set's records the hash of the weights
that made it). `RunOwner.check` refuses such a folder, with or without `--overwrite`,
naming what it is; `RunOwner.clear` (what `--overwrite` does) deletes only the files the
trainer itself writes. Files other tools add to a run (esgan-evaluate-segnet's reports)
stay, and do not make the run foreign. Hidden files (locks, temporaries) are not counted.

    owner = RunOwner(command=GAN_RUN, files=("checkpoints", "logs"))
    prepare_run_dir(model_dir, config, overwrite=overwrite, owner=owner)
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import os
import shutil
from pathlib import Path

from tf_esgan.data.pair_formats import detect_format
from tf_esgan.errors import UserError
from tf_esgan.runs.run_dir import CONFIG_FILE, GAN_RUN, REPRODUCTION, SEGNET_RUN, SYNTHETIC_SET, run_kind

# What a folder written by each command is, for messages.
_WHAT = {GAN_RUN: "an esgan-train run (a GAN)", SEGNET_RUN: "an esgan-train-segnet run (a SegNet)",
         SYNTHETIC_SET: "a synthetic set written by esgan-synthesize",
         REPRODUCTION: "a reproduction written by esgan-reproduce"}


class ForeignFolderError(UserError, ValueError):
    """The run folder holds a dataset or another command's output (the message says which)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class RunOwner:
    """A command that writes run folders, and the files it writes in one.

    Attributes:
      command: what `run_dir.run_kind` calls its folders (GAN_RUN, SEGNET_RUN).
      files: names (or glob patterns) of the files and folders it writes in the run folder
        besides config.json; all that `clear` deletes.
      folder_flag: the flag naming the run folder, for messages.
    """

    command: str
    files: tuple[str, ...]
    folder_flag: str = "--model_dir"

    def _refuse(self, folder: Path, what: str) -> ForeignFolderError:
        return ForeignFolderError(f"{folder}: {what}; choose another {self.folder_flag} ({self.command} writes "
                                  "only into an empty folder or a run of its own, also with --overwrite)")

    def _owns(self, name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in (CONFIG_FILE, *self.files))

    def check(self, folder: str | os.PathLike) -> None:
        """Refuses `folder` unless it is missing, empty, a run of `command` or holds only its files.

        Raises:
          ForeignFolderError: another command's config.json (naming the command), a
            dataset's image/label pairs, or (without a config.json of `command`) a file
            or folder `command` does not write.
        """
        folder = Path(folder)
        if not folder.is_dir():
            return
        kind = run_kind(folder)
        if kind is not None and kind != self.command:
            raise self._refuse(folder, f"this is {_WHAT[kind]}, not {_WHAT[self.command]}")
        dataset_format = detect_format(folder)
        if dataset_format is not None:
            raise self._refuse(folder, f"it holds a dataset (image/label pairs, {dataset_format} layout)")
        if kind == self.command:
            return  # its own run: what other tools added (reports) may stay
        if (folder / CONFIG_FILE).is_file() and _readable_object(folder / CONFIG_FILE):
            raise self._refuse(folder, f"its {CONFIG_FILE} is not one an esgan command writes")
        strangers = sorted(entry.name + ("/" if entry.is_dir() else "") for entry in folder.iterdir()
                           if not entry.name.startswith(".") and not self._owns(entry.name))
        if strangers:
            more = f" (and {len(strangers) - 1} more)" if len(strangers) > 1 else ""
            raise self._refuse(folder, f"it holds {strangers[0]}{more} but no {self.command} run")

    def clear(self, folder: str | os.PathLike) -> list[Path]:
        """Deletes what `command` wrote in `folder` (config.json and `files`); returns those paths."""
        folder = Path(folder)
        removed = [entry for entry in sorted(folder.iterdir()) if self._owns(entry.name)] if folder.is_dir() else []
        for path in removed:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        return removed


def _readable_object(path: Path) -> bool:
    try:
        return isinstance(json.loads(path.read_text()), dict)
    except (OSError, ValueError):
        return False
