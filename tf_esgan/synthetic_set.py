"""The output folder of `esgan-synthesize`: which weights made the set, and what may go in.

A set is extended (a rerun with a larger `num_images`) only with the pairs the same
generator would have written, so `config.json` records the identity of the weights
that made it, not only the `--model` string:

    "generator_weights": {"model": "/abs/path/runs/enhanced",   # resolved; or pretrained:NAME
                          "checkpoint_step": 12000,              # run folders; else null
                          "sha256": "..."}                       # of the weight arrays, in order

A rerun with other weights (the run trained on, another model) is refused naming both,
while the same weights reached by another path (a symlink, a relative path, a copy)
extend the set. Synthesis only ever writes into an empty folder or its own set: a
folder holding files it did not write (a real dataset) is refused, and `overwrite`
deletes only the files named like its own (`synthetic_NNNNNN.*`, config.json, the figure).

Shards of one job (`SynthesisConfig.num_shards`) prepare the folder at the same time:
the first one creates config.json (a hard link of a finished temporary file, so exactly
one shard wins and nobody reads a half-written file), the others check it by the same
rules, and each removes only the temporary files of its own pairs (another shard's are
being written).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from tf_esgan.data.pair_formats import PAIR_FORMATS, pair_paths
from tf_esgan.errors import UserError
from tf_esgan.io_utils import (TEMPORARY_SUFFIX, disk_full_error, file_mode, is_disk_full,
                               remove_temporary_leftovers)
from tf_esgan.pretrained.registry import pretrained_name
from tf_esgan.runs.run_dir import CONFIG_FILE, ConfigMismatchError, prepare_run_dir, resolved_path
from tf_esgan.training.checkpoints import CHECKPOINT_DIR, CheckpointError, restore_newest
from tf_esgan.viz.synthetic_pairs import FIGURE_DIR, FIGURE_NAME

ID_FORMAT = "synthetic_{:06d}"
WEIGHTS_KEY = "generator_weights"
_ID_PATTERN = r"synthetic_\d{6}"
_PROBE = ID_FORMAT.format(0)
_TEMPORARY_PAIR_FILE = re.compile(r"\.synthetic_(\d{6})\..*" + re.escape(TEMPORARY_SUFFIX))
# Fields of config.json that may differ when a set is extended ("model" is compared
# through WEIGHTS_KEY, which resolves paths and hashes the weights); shards are not
# recorded (one set, many shards), but tolerated in a hand-written config.
_EXTENSIBLE = ("num_images", "batch_size", "out_dir", "overwrite", "model", WEIGHTS_KEY, "num_shards",
               "shard_index")
# A PNG in the set's folder itself may be a figure or a note; only Cellpose keeps
# images there, and they come with `*_masks.tif` label files, which are counted.
_UNCOUNTED_TOP_LEVEL_SUFFIXES = (".png",)
_SHORT_HASH = 16


class NotASyntheticSetError(UserError, ValueError):
    """The output folder holds files synthesis did not write (e.g. a real dataset)."""


def weights_sha256(model: keras.Model) -> str:
    """sha256 over the dtype, shape and bytes of every weight of `model`, in order."""
    digest = hashlib.sha256()
    for weight in model.weights:
        value = np.ascontiguousarray(keras.ops.convert_to_numpy(weight))
        digest.update(f"{value.dtype.str}{value.shape};".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


def checkpoint_step(model: str) -> int | None:
    """Training step of the newest readable checkpoint of run folder `model` (else None).

    What `generator_loading.load_generator` restores; recorded to tell the user which
    checkpoint made a set (the hash is what is compared).
    """
    folder = Path(model) / CHECKPOINT_DIR
    if pretrained_name(model) is not None or not folder.is_dir():
        return None
    step = tf.Variable(0, dtype=tf.int64, trainable=False)
    try:
        restored = restore_newest(tf.train.Checkpoint(step=step), folder, partial=True, log=lambda message: None)
    except CheckpointError:  # e.g. checkpoints without a step counter
        return None
    return int(step.numpy()) if restored else None


def model_location(model: str) -> str:
    """`pretrained:NAME` as is; an existing path resolved (symlinks, relative paths)."""
    if pretrained_name(model) is not None or not os.path.exists(model):
        return model
    return resolved_path(model)


def weights_identity(generator: keras.Model, model: str, *, step: int | None) -> dict:
    """The `generator_weights` record of config.json (see the module docstring)."""
    return {"model": model_location(model), "checkpoint_step": step, "sha256": weights_sha256(generator)}


def _describe(identity: dict) -> str:
    step = identity.get("checkpoint_step")
    return (f"{identity.get('model')}" + (f", checkpoint step {step}" if step is not None else "")
            + f", weights sha256 {str(identity.get('sha256'))[:_SHORT_HASH]}")


def _file_kinds(root: Path) -> dict[Path, set[str]]:
    """Folder -> name suffixes of the pair files of every format (e.g. masks/ -> .png, .tif)."""
    kinds: dict[Path, set[str]] = {}
    for format in PAIR_FORMATS:
        for path in pair_paths(root, format, _PROBE):
            kinds.setdefault(path.parent, set()).add(path.name[len(_PROBE):])
    return kinds


def _pair_files(root: Path) -> tuple[list[Path], list[Path]]:
    """(files named like ours, other files) where any pair format keeps its pairs.

    Every file of a pair subfolder (images/, masks/, Images/, Labels/) counts; in `root`
    itself, the files with a pair suffix other than PNG (`*_masks.tif`, `*.npy`).
    """
    ours, others = [], []
    for folder, suffixes in _file_kinds(root).items():
        if not folder.is_dir():
            continue
        top_level = folder == root
        pattern = re.compile(_ID_PATTERN + "(" + "|".join(map(re.escape, sorted(suffixes))) + ")")
        for entry in sorted(folder.iterdir()):
            if entry.name.startswith(".") or not entry.is_file():
                continue
            if pattern.fullmatch(entry.name):
                ours.append(entry)
            elif not top_level or (entry.name.endswith(tuple(suffixes))
                                   and not entry.name.endswith(_UNCOUNTED_TOP_LEVEL_SUFFIXES)):
                others.append(entry)
    return ours, others


def _read_config(root: Path) -> dict | None:
    path = root / CONFIG_FILE
    if not path.is_file():
        return None
    with contextlib.suppress(ValueError, OSError):
        return json.loads(path.read_text())
    return {}  # unreadable: prepare_run_dir explains


def check_synthetic_set(root: str | os.PathLike) -> None:
    """Refuses a folder that holds files synthesis did not write.

    Raises:
      NotASyntheticSetError: a pair file not named `synthetic_NNNNNN`, pairs without a
        synthesis config.json, or another tool's config.json.
    """
    root = Path(root)
    ours, others = _pair_files(root)
    if others:
        more = f" (and {len(others) - 1} more)" if len(others) > 1 else ""
        raise NotASyntheticSetError(
            f"{root}: holds {others[0]}{more}, not written by esgan-synthesize; it looks like a real "
            "dataset. Synthesis writes only into an empty folder or its own set: choose another --out_dir")
    config = _read_config(root)
    if config is None and ours:
        raise NotASyntheticSetError(
            f"{root}: holds image/label pairs but no {CONFIG_FILE} of esgan-synthesize; it looks like a real "
            f"dataset (or a set whose {CONFIG_FILE} was deleted). Choose another --out_dir, or delete the "
            "folder yourself to start over")
    if config and not {"num_images", "preset"} <= set(config):
        raise NotASyntheticSetError(
            f"{root / CONFIG_FILE}: not the config of a synthetic set (another tool's run folder?); "
            "choose another --out_dir")


def check_same_weights(root: str | os.PathLike, identity: dict) -> None:
    """Refuses to extend a set made with other generator weights.

    Raises:
      ConfigMismatchError: naming the model, step and hash of both.
    """
    root = Path(root)
    config = _read_config(root) or {}
    earlier = config.get(WEIGHTS_KEY)
    if earlier is None and "model" in config:  # a set made before weights were recorded
        if model_location(str(config["model"])) == identity["model"]:
            return
        earlier = {"model": config["model"], "sha256": "(not recorded)"}
    if earlier is None or earlier.get("sha256") == identity["sha256"]:
        return
    raise ConfigMismatchError(
        f"{root}: this synthetic set was made with other generator weights:\n"
        f"  in the set: {_describe(earlier)}\n  requested:  {_describe(identity)}\n"
        "Pass --overwrite to start the set over with the new weights, or choose another --out_dir.")


def clear(root: str | os.PathLike) -> list[Path]:
    """Deletes the files synthesis wrote in `root` (pairs, config.json, figure); returns them."""
    root = Path(root)
    ours, _ = _pair_files(root)
    removed = [*ours, *(path for path in (root / CONFIG_FILE, root / FIGURE_NAME, root / FIGURE_DIR / FIGURE_NAME)
                        if path.is_file())]
    for path in removed:
        path.unlink(missing_ok=True)
    for folder in [*_file_kinds(root), root / FIGURE_DIR]:
        if folder != root:
            with contextlib.suppress(OSError):  # kept when not empty
                folder.rmdir()
    return removed


def _remove_pair_leftovers(root: Path, owned: Callable[[int], bool]) -> None:
    """Deletes the temporary files of killed writers of the pairs `owned` says are ours."""
    for folder in {root, *_file_kinds(root)}:
        if not folder.is_dir():
            continue
        for leftover in folder.glob(f".synthetic_*{TEMPORARY_SUFFIX}"):
            match = _TEMPORARY_PAIR_FILE.fullmatch(leftover.name)
            if match and owned(int(match.group(1))):
                leftover.unlink(missing_ok=True)


def _create_config(root: Path, record: dict) -> bool:
    """Writes config.json if there is none; False when it exists (maybe another shard's)."""
    path = root / CONFIG_FILE
    if path.exists():
        return False
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{CONFIG_FILE}.", suffix=TEMPORARY_SUFFIX, dir=root)
        try:
            os.fchmod(handle, file_mode())
            with os.fdopen(handle, "w") as stream:
                stream.write(json.dumps(record, indent=2, sort_keys=True) + "\n")
            # link() refuses an existing name, unlike rename(): of shards racing, one wins.
            os.link(temporary, path)
            return True
        except FileExistsError:
            return False
        finally:
            os.unlink(temporary)
    except OSError as error:
        if is_disk_full(error):
            raise disk_full_error(error, path) from error
        raise


def prepare(root: str | os.PathLike, record: dict, *, overwrite: bool,
            owned: Callable[[int], bool] | None = None) -> Path:
    """Checks (or, with `overwrite`, clears) the set's folder and writes its config.json.

    Call while holding the folder's `run_lock`. Temporary files of a killed writer are
    deleted first.

    Args:
      root: the output folder.
      record: config.json content: the `SynthesisConfig` fields and WEIGHTS_KEY.
      overwrite: delete the earlier set instead of refusing other weights or settings.
      owned: for one shard of a job whose shards write `root` at the same time (under
        the shared `run_lock`), which pair indices it writes (see the module docstring).
    Raises:
      NotASyntheticSetError, ConfigMismatchError: see the check functions.
    """
    root = Path(root)
    if owned is None:
        for folder in {root, *_file_kinds(root)}:
            remove_temporary_leftovers(folder)
    elif overwrite:
        raise ValueError("synthetic_set.prepare: a shard cannot overwrite a set the other shards are writing")
    else:
        root.mkdir(parents=True, exist_ok=True)
        _remove_pair_leftovers(root, owned)
    check_synthetic_set(root)
    if owned is not None and _create_config(root, record):
        return root
    if overwrite:
        clear(root)
    else:
        check_same_weights(root, record[WEIGHTS_KEY])
    earlier = _read_config(root) or {}
    # Sets made before the format was recorded are canonical.
    legacy = ("format",) if earlier and "format" not in earlier and record.get("format") == "canonical" else ()
    return prepare_run_dir(root, record, overwrite=overwrite, ignore=_EXTENSIBLE + legacy)
