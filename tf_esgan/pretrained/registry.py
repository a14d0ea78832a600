"""Where the pretrained models live, which ones exist, and their checksums.

A models folder holds, per model of kind K ("generator" or "segnet") and name N:

    <N>_<K>.npz      the weights, float16, in `model.get_weights()` order (`weights.py`)
    <N>_<K>.json     the record: what network to build, its post-processing, the card
    registry.json    {"format_version": 1, "models": {K: {N: {"kind", "files", "sha256"}}}}

Names are per kind, so `pretrained:tnbc` is the TNBC generator where a generator is
taken and the TNBC SegNet where a SegNet is. The folder is the package's
`tf_esgan/pretrained/models/`, or `$ESGAN_PRETRAINED_DIR` when set, or the `directory`
argument of every function here (tests package tiny models into a temporary folder).
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.resources
import json
import os
import re
from pathlib import Path

from tf_esgan.errors import UserError
from tf_esgan.io_utils import atomic_path

PREFIX = "pretrained:"
KINDS = ("generator", "segnet")
REGISTRY_FILE = "registry.json"
DIRECTORY_ENV = "ESGAN_PRETRAINED_DIR"
FORMAT_VERSION = 1
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_REINSTALL = "reinstall tf-esgan (pip install --force-reinstall tf-esgan) or package the model again"


class PretrainedModelError(UserError, ValueError):
    """A pretrained model is unknown, missing or damaged (the message names the file)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class ModelFiles:
    """One registered model after its checksums were verified.

    Attributes:
      name, kind: as registered.
      weights_path: the `.npz` file.
      record_path: the `.json` file.
      record: its parsed content.
    """

    name: str
    kind: str
    weights_path: Path
    record_path: Path
    record: dict


def models_dir(directory: str | os.PathLike | None = None) -> Path:
    """`directory`, else $ESGAN_PRETRAINED_DIR, else the package's models folder."""
    if directory is not None:
        return Path(directory)
    if os.environ.get(DIRECTORY_ENV):
        return Path(os.environ[DIRECTORY_ENV])
    return Path(str(importlib.resources.files("tf_esgan.pretrained") / "models"))


def pretrained_name(reference: str) -> str | None:
    """"pretrained:NAME" -> "NAME"; any other reference (a path) -> None."""
    reference = str(reference)
    return reference[len(PREFIX):] if reference.startswith(PREFIX) else None


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name or ""):
        raise PretrainedModelError(f"pretrained model name {name!r}: expected 1-64 lowercase letters, "
                                   "digits, '_' or '-', starting with a letter or digit")
    return name


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"kind: expected one of {KINDS}, got {kind!r}")
    return kind


def file_names(kind: str, name: str) -> dict[str, str]:
    """{"weights": "<name>_<kind>.npz", "record": "<name>_<kind>.json"}."""
    stem = f"{check_name(name)}_{_check_kind(kind)}"
    return {"weights": f"{stem}.npz", "record": f"{stem}.json"}


def sha256_of(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_registry(directory: str | os.PathLike | None = None) -> dict:
    """The registry's content; an empty registry if the folder has none yet."""
    path = models_dir(directory) / REGISTRY_FILE
    if not path.exists():
        return {"format_version": FORMAT_VERSION, "models": {kind: {} for kind in KINDS}}
    try:
        registry = json.loads(path.read_text())
        models = registry["models"]
        if not isinstance(models, dict):
            raise TypeError("`models` is not an object")
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise PretrainedModelError(f"{path}: not a readable registry ({error}); it is damaged, "
                                   f"{_REINSTALL}") from None
    for kind in KINDS:
        models.setdefault(kind, {})
    return registry


def available(directory: str | os.PathLike | None = None) -> dict[str, list[str]]:
    """Registered names by kind, e.g. {"generator": ["tnbc"], "segnet": ["tnbc"]}."""
    models = read_registry(directory)["models"]
    return {kind: sorted(models[kind]) for kind in KINDS}


def _describe_available(kind: str, directory: Path) -> str:
    names = available(directory)[kind]
    if not names:
        return f"none is installed in {directory} (package one with tools/package_pretrained.py)"
    return "available: " + ", ".join(PREFIX + name for name in names)


def open_model(kind: str, name: str, directory: str | os.PathLike | None = None) -> ModelFiles:
    """Finds a registered model and checks both files against their recorded sha256.

    Raises:
      PretrainedModelError: unknown name (the message lists the available ones), a
        missing file, a checksum mismatch or an unreadable record, naming the file.
    """
    _check_kind(kind)
    folder = models_dir(directory)
    entry = read_registry(folder)["models"][kind].get(name)
    if entry is None:
        raise PretrainedModelError(f"no pretrained {kind} named {name!r}; "
                                   f"{_describe_available(kind, folder)}")
    try:
        paths = {role: folder / entry["files"][role] for role in ("weights", "record")}
        expected = {role: entry["sha256"][role] for role in paths}
    except (KeyError, TypeError) as error:
        raise PretrainedModelError(f"{folder / REGISTRY_FILE}: entry of {kind} {name!r} lacks {error}; it is "
                                   f"damaged, {_REINSTALL}") from None
    for role, path in paths.items():
        if not path.is_file():
            raise PretrainedModelError(f"{path}: missing file of pretrained {kind} {name!r}; {_REINSTALL}")
        actual = sha256_of(path)
        if actual != expected[role]:
            raise PretrainedModelError(
                f"{path}: damaged file of pretrained {kind} {name!r} (sha256 {actual}, registry "
                f"{folder / REGISTRY_FILE} expects {expected[role]}); {_REINSTALL}")
    try:
        record = json.loads(paths["record"].read_text())
    except ValueError as error:
        raise PretrainedModelError(f"{paths['record']}: not valid JSON ({error}); {_REINSTALL}") from None
    if record.get("kind") != kind or record.get("format_version") != FORMAT_VERSION:
        raise PretrainedModelError(
            f"{paths['record']}: expected a format-{FORMAT_VERSION} {kind} record, got kind "
            f"{record.get('kind')!r}, format {record.get('format_version')!r}")
    return ModelFiles(name=name, kind=kind, weights_path=paths["weights"], record_path=paths["record"],
                      record=record)


def register(kind: str, name: str, directory: str | os.PathLike | None = None) -> dict:
    """Adds (or replaces) the entry of files already written in the folder, with their sha256.

    Call it after both files are in place: the registry never names a file that is not.
    Returns the entry.
    """
    folder = models_dir(directory)
    names = file_names(kind, name)
    entry = {"kind": kind, "files": names,
             "sha256": {role: sha256_of(folder / file_name) for role, file_name in names.items()}}
    registry = read_registry(folder)
    registry["format_version"] = FORMAT_VERSION
    registry["models"][kind][name] = entry
    registry["models"] = {kind: dict(sorted(registry["models"][kind].items())) for kind in KINDS}
    with atomic_path(folder / REGISTRY_FILE) as temporary:
        temporary.write_text(json.dumps(registry, indent=2) + "\n")
    return entry
