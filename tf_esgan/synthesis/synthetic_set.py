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

Every setting that decides the pairs is recorded and must match on a resume, an extension
and every shard: seed, preset, conditioning, format, `batch_size` (batches change the
generator's rounding), the generator's `image_size` and its weights; a rerun with other
values is refused in one line naming the flags that would match. `num_images` only
grows: a smaller one than the set holds (on disk or recorded) is refused, so the record
never counts fewer pairs than the folder has. A field a set predates is unknown and
accepted, except `format`, which was canonical then.

Shards of one job (`SynthesisConfig.num_shards`) prepare the folder at the same time:
the first one creates config.json (a hard link of a finished temporary file, so exactly
one shard wins and nobody reads a half-written file), the others check it by the same
rules, and each removes only the temporary files of its own pairs (another shard's are
being written). `num_shards` records the job still writing the set: shards of another
count are refused while a shard of the recorded job holds its lock
(`.esgan.shard-K-of-N.lock`) or while the set misses pairs, since together they would
leave blocks unwritten and write others twice. Once complete the set records
`num_shards` 1, as an unsharded run writes it, and any job may extend it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Callable

import keras
import numpy as np

from tf_esgan.data.pair_formats import PAIR_FORMATS, pair_paths
from tf_esgan.errors import UserError
from tf_esgan.io_utils import (TEMPORARY_SUFFIX, disk_full_error, file_mode, is_disk_full,
                               remove_temporary_leftovers)
from tf_esgan.pretrained.registry import pretrained_name
from tf_esgan.run_lock import SHARD_LOCK_FILE, FolderLockedError
from tf_esgan.runs.run_dir import CONFIG_FILE, ConfigMismatchError, prepare_run_dir, resolved_path
from tf_esgan.viz.synthetic_pairs import FIGURE_DIR, FIGURE_NAME

ID_FORMAT = "synthetic_{:06d}"
WEIGHTS_KEY = "generator_weights"
IMAGE_SIZE_KEY = "image_size"  # the generator's input size: the masks' size
_ID_PATTERN = r"synthetic_(\d{6})"
_PROBE = ID_FORMAT.format(0)
_TEMPORARY_PAIR_FILE = re.compile(r"\.synthetic_(\d{6})\..*" + re.escape(TEMPORARY_SUFFIX))
# Fields of config.json not compared as settings of the pairs: "model" is compared through
# WEIGHTS_KEY (resolved paths, hashed weights), num_images and num_shards by their own
# rules (see the module docstring); shard_index is tolerated in a hand-written config.
_EXTENSIBLE = ("num_images", "out_dir", "overwrite", "model", WEIGHTS_KEY, "num_shards", "shard_index")
# What a field meant in sets made before it was recorded; other missing fields are unknown.
_LEGACY_VALUES = {"format": "canonical"}
_SHARD_LOCK = re.compile(
    re.escape(SHARD_LOCK_FILE).replace(r"\{index\}", r"(\d+)").replace(r"\{count\}", r"(\d+)"))
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


def _what_to_do(rerun: str, *, shard: bool, overwrite: str = "start it over") -> str:
    """The end of a refusal: the flags that would match, then (unsharded) --overwrite, or another folder."""
    return f"{rerun}, " + ("" if shard else f"pass --overwrite to {overwrite}, ") + "or choose another --out_dir"


def check_same_weights(root: str | os.PathLike, identity: dict, *, shard: bool = False) -> None:
    """Refuses to extend a set made with other generator weights.

    Args:
      root: the set's folder.
      identity: the requested weights' `weights_identity`.
      shard: the request is one shard of a job (which cannot --overwrite).
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
        f"{root}: this synthetic set was made with other generator weights (in the set: {_describe(earlier)}; "
        f"requested: {_describe(identity)}); "
        + _what_to_do("rerun with the set's --model", shard=shard, overwrite="start it over with the new weights"))


def pair_written(root: str | os.PathLike, format: str, index: int) -> bool:
    """Whether every file of pair `index` is in `root` (the last one written completes a pair)."""
    return all(path.is_file() for path in pair_paths(Path(root), format, ID_FORMAT.format(index)))


def _missing_pairs(root: Path, config: dict) -> int:
    """How many of the `num_images` pairs config.json `config` describes are not (yet) written."""
    format = config.get("format", _LEGACY_VALUES["format"])
    return sum(not pair_written(root, format, index) for index in range(int(config.get("num_images", 0))))


def _pairs_held(root: Path, config: dict) -> int:
    """The pairs the set counts: its recorded num_images, or more where files of later pairs exist."""
    ours, _ = _pair_files(root)
    on_disk = max((int(re.match(_ID_PATTERN, path.name).group(1)) + 1 for path in ours), default=0)
    return max(int(config.get("num_images", 0)), on_disk)


def check_same_settings(root: str | os.PathLike, record: dict, *, shard: bool = False) -> None:
    """Refuses to resume or extend a set with settings that make other pairs, or fewer.

    Args:
      root: the set's folder.
      record: the requested config.json content (see `prepare`).
      shard: the request is one shard of a job, whose `num_shards` is in `record`.
    Raises:
      ConfigMismatchError: a setting of the pairs differs (naming the flags that match
        the set), `num_images` is smaller than the set holds, or a shard of another count
        than the job writing the set while pairs are missing.
    """
    root = Path(root)
    earlier = _read_config(root) or {}
    in_the_set = {name: earlier.get(name, _LEGACY_VALUES.get(name)) for name in record}
    differing = [name for name in sorted(record) if earlier and name not in _EXTENSIBLE
                 and (name in earlier or name in _LEGACY_VALUES) and in_the_set[name] != record[name]]
    if differing:
        details = "; ".join(f"{name}: {in_the_set[name]!r} in the run, {record[name]!r} requested"
                            for name in differing)
        matching = [f"a --model of image size {in_the_set[name]}" if name == IMAGE_SIZE_KEY
                    else f"--{name}={in_the_set[name]}" for name in differing]
        raise ConfigMismatchError(
            f"{root / CONFIG_FILE}: this synthetic set was made with other settings ({details}); "
            + _what_to_do(f"rerun with {' and '.join(matching)} to resume or extend it", shard=shard))
    held, wanted = _pairs_held(root, earlier), int(record["num_images"])
    if wanted < held:
        raise ConfigMismatchError(
            f"{root}: this synthetic set holds {held} pairs, more than --num_images={wanted}; "
            + _what_to_do(f"pass --num_images={held} or more to resume or extend it", shard=shard,
                          overwrite=f"start over with {wanted} pairs"))
    writing = earlier.get("num_shards")
    if shard and writing not in (None, 1, record.get("num_shards")):
        missing = _missing_pairs(root, earlier)
        if missing:
            raise ConfigMismatchError(
                f"{root}: this synthetic set is being written in {writing} shards (--num_shards={writing}) and "
                f"{missing} of its {earlier['num_images']} pairs are missing; run its missing shards with "
                f"--num_shards={writing}, or complete it with one run without --num_shards once none of them runs")


def _shard_holder(path: Path) -> str:
    """'pid P@HOST, running `COMMAND`' from a shard lock file's record (see `run_lock`)."""
    try:
        holder = json.loads(path.read_text())
        return f"pid {holder['pid']}@{holder['host']}, running `{holder['command']}`"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


def check_no_other_shard_job(root: str | os.PathLike, num_shards: int) -> None:
    """Refuses a shard while a shard of another `num_shards` holds its lock on the folder.

    Call while holding this shard's own `run_lock`: of two shards of different counts
    starting together, the later one to look sees the other's lock.

    Raises:
      FolderLockedError: naming the other shard, its process and its count.
    """
    root = Path(root)
    for path in sorted(root.glob(SHARD_LOCK_FILE.format(index="*", count="*"))):
        match = _SHARD_LOCK.fullmatch(path.name)
        if match is None or int(match.group(2)) == num_shards:
            continue
        try:
            descriptor = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:  # removed by its finishing holder
            continue
        try:
            # A free lock (left by a killed shard) is taken and dropped at once; a held one refuses.
            fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
            continue
        except BlockingIOError:
            pass
        except OSError:  # no flock on this file system: run_lock runs unlocked too
            continue
        finally:
            os.close(descriptor)
        index, count = match.groups()
        raise FolderLockedError(
            f"{root}: shard {index} of {count} ({_shard_holder(path)}) is writing this synthetic set; shards "
            f"writing a set at the same time need the same --num_shards: wait for that job to finish, or run "
            f"this one with --num_shards={count}")


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
      record: config.json content: the `SynthesisConfig` fields but `shard_index`,
        WEIGHTS_KEY and IMAGE_SIZE_KEY.
      overwrite: delete the earlier set instead of refusing other weights or settings.
      owned: for one shard of a job whose shards write `root` at the same time (under
        the shared `run_lock`), which pair indices it writes (see the module docstring).
    Raises:
      NotASyntheticSetError, ConfigMismatchError, FolderLockedError: see the check functions.
    """
    root = Path(root)
    shard = owned is not None
    if not shard:
        for folder in {root, *_file_kinds(root)}:
            remove_temporary_leftovers(folder)
    elif overwrite:
        raise ValueError("synthetic_set.prepare: a shard cannot overwrite a set the other shards are writing")
    else:
        root.mkdir(parents=True, exist_ok=True)
        _remove_pair_leftovers(root, owned)
    check_synthetic_set(root)
    if shard:
        check_no_other_shard_job(root, record.get("num_shards", 1))
        if _create_config(root, record):
            return root
    if overwrite:
        clear(root)
    else:
        check_same_weights(root, record[WEIGHTS_KEY], shard=shard)
        check_same_settings(root, record, shard=shard)
    # Compared above by the rules of a set; prepare_run_dir writes the record (and
    # refuses an unreadable config.json).
    compared = tuple(sorted({*(_read_config(root) or {}), *record}))
    return prepare_run_dir(root, record, overwrite=overwrite, ignore=compared)


def finish_shard(root: str | os.PathLike, record: dict) -> bool:
    """After a shard wrote its pairs: records a complete set as written (`num_shards` 1).

    Then any job may extend it (see the module docstring). config.json is replaced only
    while it is still `record`, the one this shard's `prepare` checked or wrote.

    Returns:
      Whether every pair of `record` is written.
    """
    root = Path(root)
    if _missing_pairs(root, record):
        return False
    if record.get("num_shards", 1) != 1 and _read_config(root) == record:
        prepare_run_dir(root, {**record, "num_shards": 1}, overwrite=True)  # checked by `prepare`
    return True
