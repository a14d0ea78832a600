"""A training run's folder: `config.json` written once, and checked on every restart.

Every trainer (GAN, SegNet) calls `prepare_run_dir(model_dir, config, owner=...)` before
training: a fresh folder gets the config; a folder from an earlier run is resumed only when
its config matches, otherwise the user is told (in one line) the first value that differs,
or passes overwrite. A trainer's `owner` (`runs.run_owner`) keeps it out of datasets and
other tools' folders, and makes overwrite delete only what that trainer writes.
Configs store absolute paths; config.json files written before that hold paths relative
to the folder the run was started from, and match when the run is resumed from there.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from tf_esgan.errors import UserError
from tf_esgan.io_utils import atomic_path

if TYPE_CHECKING:
    from tf_esgan.runs.run_owner import RunOwner

CONFIG_FILE = "config.json"
# What `run_kind` returns: the command that wrote a folder.
GAN_RUN = "esgan-train"
SEGNET_RUN = "esgan-train-segnet"
SYNTHETIC_SET = "esgan-synthesize"
REPRODUCTION = "esgan-reproduce"
# synthetic_set.WEIGHTS_KEY (that module imports this one); sets older than it have these two.
_SYNTHETIC_SET_KEY = "generator_weights"
_OLDER_SYNTHETIC_SET_KEYS = frozenset({"num_images", "preset"})


class ConfigMismatchError(UserError, ValueError):
    """The model dir holds a run whose config differs from the requested one.

    Attributes:
      differences: every differing value, one line each ("key: old in the run, new
        requested"); the message names only the first.
    """

    def __init__(self, message: str, *, differences: tuple[str, ...] = ()):
        super().__init__(message)
        self.differences = tuple(differences)


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


def with_added_fields(values: Mapping, added: Mapping[tuple[str, str], Any]) -> dict:
    """A copy of a nested config dict with each (section, field) of `added` filled in with the
    value that meant what a run written before the field existed did, where it lacks one."""
    nested = {key: dict(value) if isinstance(value, Mapping) else value for key, value in values.items()}
    for (section, name), value in added.items():
        if isinstance(nested.get(section), dict):
            nested[section].setdefault(name, value)
    return nested


def _differences(old: dict, new: dict, prefix: str = "") -> dict[str, str]:
    """Dotted key -> "key: old in the run, new requested", for every differing leaf."""
    found = {}
    for key in sorted(set(old) | set(new)):
        name = f"{prefix}{key}"
        if isinstance(old.get(key), dict) and isinstance(new.get(key), dict):
            found.update(_differences(old[key], new[key], f"{name}."))
        elif old.get(key, "<missing>") != new.get(key, "<missing>"):
            found[name] = f"{name}: {old.get(key, '<missing>')!r} in the run, {new.get(key, '<missing>')!r} requested"
    return found


def resolved_path(path: str | os.PathLike) -> str:
    """`path` made absolute (against the current folder) with symlinks resolved; "" stays ""."""
    return str(Path(path).expanduser().resolve()) if path else ""


def run_kind(folder: str | os.PathLike) -> str | None:
    """The command that wrote `folder`, by the fields of its config.json (see `config_kind`).

    None without a readable config.json, or for one no esgan command writes.
    """
    try:
        config = json.loads((Path(folder) / CONFIG_FILE).read_text())
    except (OSError, ValueError):
        return None
    return config_kind(config)


def config_kind(config: Any) -> str | None:
    """GAN_RUN, SEGNET_RUN, SYNTHETIC_SET or REPRODUCTION by the fields of a config.json's
    content (any layout written so far); None for anything else."""
    if not isinstance(config, dict):
        return None
    if _SYNTHETIC_SET_KEY in config or _OLDER_SYNTHETIC_SET_KEYS <= set(config):
        return SYNTHETIC_SET
    if isinstance(config.get("run"), dict) and "budget" in config:
        return REPRODUCTION
    if "train_set" in config or isinstance(config.get("data"), dict) and "train_set" in config["data"]:
        return SEGNET_RUN  # SegNetTrainConfig (flat, older; or nested)
    if "variant" in config or isinstance(config.get("loss"), dict):  # TrainConfig (flat, older; or nested)
        return GAN_RUN
    return None


def _get(config: dict, dotted: str):
    """config["a"]["b"] for "a.b"; None where a level is missing."""
    node = config
    for key in dotted.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _with(config: dict, dotted: str, value=None, *, remove: bool = False) -> dict:
    """A copy of `config` with the field at `dotted` set to `value` (or removed); absent levels are left alone."""
    head, _, rest = dotted.partition(".")
    if head not in config:
        return config
    if rest:
        if not isinstance(config[head], dict):
            return config
        return {**config, head: _with(config[head], rest, value, remove=remove)}
    if remove:
        return {key: item for key, item in config.items() if key != head}
    return {**config, head: value}


def _resolve_paths(config: dict, paths: tuple[str, ...]) -> dict:
    for dotted in paths:
        value = _get(config, dotted)
        if isinstance(value, str):
            config = _with(config, dotted, resolved_path(value))
    return config


def _without(config: dict, ignore: tuple[str, ...]) -> dict:
    for dotted in ignore:
        config = _with(config, dotted, remove=True)
    return config


def prepare_run_dir(model_dir: str | os.PathLike, config: Any, *, overwrite: bool = False,
                    ignore: tuple[str, ...] = (), paths: tuple[str, ...] = (),
                    upgrade: Callable[[dict], dict] | None = None, owner: RunOwner | None = None) -> Path:
    """Creates `model_dir` and writes `config.json`, or checks it against an earlier run.

    Args:
      model_dir: the run's folder.
      config: a frozen dataclass.
      overwrite: replace a differing earlier config instead of refusing (without `owner`,
        the earlier run's other files are left in place: the caller decides about them).
      ignore: fields allowed to differ on resume (e.g. "epochs", so a finished run can be
        extended); a nested config's fields by dotted path ("trainer.epochs").
      paths: fields holding paths (dotted like `ignore`), compared resolved: an earlier
        config's relative path is taken relative to the current folder, as it was when written.
      upgrade: converts the earlier config.json's dict written in an older layout to the
        current one before comparing (it raises ValueError or TypeError for a config it
        cannot read); the file is then rewritten in the current layout.
      owner: the command that writes the folder (a trainer): a folder holding a dataset or
        another command's output is refused, with or without `overwrite`, and `overwrite`
        deletes only the files `owner` names (see `run_owner.RunOwner`).
    Raises:
      ConfigMismatchError: naming the first differing value (by dotted path; all of them in
        its `differences`), when `overwrite` is False.
      ForeignFolderError: the folder is not `owner`'s (see `RunOwner.check`).
    """
    folder = Path(model_dir)
    folder.mkdir(parents=True, exist_ok=True)
    if owner is not None:
        owner.check(folder)
        if overwrite:
            owner.clear(folder)
    wanted = config_to_dict(config)
    path = folder / CONFIG_FILE
    if path.exists() and not overwrite:
        _check_same_run(path, wanted, ignore=ignore, paths=paths, upgrade=upgrade,
                        folder_flag=owner.folder_flag if owner is not None else "output folder")
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(wanted, indent=2, sort_keys=True) + "\n")
    return folder


def _check_same_run(path: Path, wanted: dict, *, ignore: tuple[str, ...], paths: tuple[str, ...],
                    upgrade: Callable[[dict], dict] | None, folder_flag: str) -> None:
    """Raises ConfigMismatchError unless the config.json at `path` is that of the run `wanted`."""
    try:
        earlier = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ConfigMismatchError(f"{path}: unreadable config ({error}); pass overwrite to replace it") from error
    if not isinstance(earlier, dict):
        raise ConfigMismatchError(f"{path}: not a run config (a JSON object); pass overwrite to replace it")
    if upgrade is not None:
        try:
            earlier = upgrade(earlier)
        except (ValueError, TypeError) as error:
            raise ConfigMismatchError(f"{path}: an older config that cannot be read ({error}); "
                                      "pass overwrite to replace it") from None
    earlier, resolved = _resolve_paths(earlier, paths), _resolve_paths(wanted, paths)
    differing = _differences(_without(earlier, ignore), _without(resolved, ignore))
    for key in paths:
        old_path = _get(earlier, key)
        if old_path and old_path != _get(resolved, key) and not Path(old_path).exists():
            # A moved dataset: the run can go on with the new path, but only the user knows.
            differing[key] = (f"{key}: the run's {old_path} no longer exists; if it moved to "
                              f"{_get(wanted, key)}, set {key} to that in {path} to resume")
    if differing:
        lines = tuple(differing[key] for key in sorted(differing))
        others = len(lines) - 1
        more = f" (and {others} other setting{'s' if others > 1 else ''})" if others else ""
        raise ConfigMismatchError(
            f"{path} belongs to a run with a different config: {lines[0]}{more}; rerun with the same "
            f"settings, --overwrite to start over, or another {folder_flag}", differences=lines)


def nest_flat_dict(values: Mapping, sections: Mapping[str, type], legacy_defaults: Mapping) -> dict:
    """A flat config.json dict (written before configs were nested) sorted into `sections`.

    Each leaf key goes to the section dataclass that has a field of that name; fields the
    file predates get `legacy_defaults` (the values they meant then); unknown keys drop.
    """
    flat = {**legacy_defaults, **values}
    return {section: {key: value for key, value in flat.items()
                      if key in {field.name for field in dataclasses.fields(kind)}}
            for section, kind in sections.items()}


def sections_from_dict(nested: Mapping, sections: Mapping[str, type]) -> dict:
    """Section name -> section dataclass built from a nested config.json dict (unknown keys ignored)."""
    built = {}
    for name, kind in sections.items():
        values = nested.get(name)
        if isinstance(values, Mapping):
            known = {field.name for field in dataclasses.fields(kind)}
            built[name] = kind(**{key: value for key, value in values.items() if key in known})
    return built
