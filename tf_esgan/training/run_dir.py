"""A training run's folder: `config.json` written once, and checked on every restart.

Every trainer (GAN, SegNet) calls `prepare_run_dir(model_dir, config)` before training:
a fresh folder gets the config; a folder from an earlier run is resumed only when its
config matches, otherwise the user is told which values differ (or passes overwrite).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
from pathlib import Path
from typing import Any

from tf_esgan.errors import UserError
from tf_esgan.io_utils import atomic_path

CONFIG_FILE = "config.json"


class ConfigMismatchError(UserError, ValueError):
    """The model dir holds a run whose config differs from the requested one."""


def config_to_dict(config: Any) -> dict:
    """Frozen dataclass (possibly nested) -> JSON-ready dict (paths and enums as str)."""

    def plain(value):
        if dataclasses.is_dataclass(value):
            return {field.name: plain(getattr(value, field.name)) for field in dataclasses.fields(value)}
        if isinstance(value, (list, tuple)):
            return [plain(item) for item in value]
        if isinstance(value, dict):
            return {str(key): plain(item) for key, item in value.items()}
        if isinstance(value, (os.PathLike, enum.Enum)):
            return str(value.value if isinstance(value, enum.Enum) else os.fspath(value))
        return value

    return plain(config)


def _differences(old: dict, new: dict, prefix: str = "") -> list[str]:
    found = []
    for key in sorted(set(old) | set(new)):
        name = f"{prefix}{key}"
        if isinstance(old.get(key), dict) and isinstance(new.get(key), dict):
            found += _differences(old[key], new[key], f"{name}.")
        elif old.get(key, "<missing>") != new.get(key, "<missing>"):
            found.append(f"{name}: {old.get(key, '<missing>')!r} in the run, {new.get(key, '<missing>')!r} requested")
    return found


def prepare_run_dir(model_dir: str | os.PathLike, config: Any, *, overwrite: bool = False,
                    ignore: tuple[str, ...] = ()) -> Path:
    """Creates `model_dir` and writes `config.json`, or checks it against an earlier run.

    Args:
      model_dir: the run's folder.
      config: a frozen dataclass.
      overwrite: replace a differing earlier config instead of refusing (checkpoints of
        the earlier run are left in place; the trainer decides whether to resume them).
      ignore: top-level config fields allowed to differ on resume (e.g. "epochs", so a
        finished run can be extended).
    Raises:
      ConfigMismatchError: naming each differing value, when `overwrite` is False.
    """
    folder = Path(model_dir)
    folder.mkdir(parents=True, exist_ok=True)
    wanted = config_to_dict(config)
    path = folder / CONFIG_FILE
    if path.exists() and not overwrite:
        try:
            earlier = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise ConfigMismatchError(f"{path}: unreadable config ({error}); pass overwrite to replace it") from error
        differing = [line for line in _differences(
            {k: v for k, v in earlier.items() if k not in ignore},
            {k: v for k, v in wanted.items() if k not in ignore})]
        if differing:
            raise ConfigMismatchError(
                f"{path} belongs to a run with a different config:\n  " + "\n  ".join(differing)
                + "\nUse another model dir, or --overwrite to replace the config.")
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(wanted, indent=2, sort_keys=True) + "\n")
    return folder
