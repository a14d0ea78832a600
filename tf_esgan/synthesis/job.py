"""Synthesis at scale: random nuclei masks -> conditioning maps -> images, as a dataset.

Writes pairs with ids `synthetic_000000`, ... in one of `pair_formats.PAIR_FORMATS`: by
default `<out_dir>/images/<id>.png` and `<out_dir>/masks/<id>.png` (the canonical layout,
so segmentation training reads it directly), or the layouts StarDist, Cellpose and
HoVer-Net train on. Every file is written atomically (temporary file, then rename).
Image `i` depends only on (seed, i): its mask comes from `np.random.default_rng([seed, i])`
and batches cover fixed index blocks [k * batch_size, (k + 1) * batch_size), so a rerun
after an interruption skips the finished pairs and writes exactly the files an
uninterrupted run would have written. Masks and maps are drawn ahead of the generator and
pairs written behind it, in threads beside it (`pipeline.py`), with the same files
as a serial run. One process writes a set at a time (`run_lock`), and a set is only
resumed or extended by the generator weights and settings that made it (`synthetic_set.py`;
config.json records them).

Shards (`num_shards`, `shard_index`) split a job across processes or machines writing
one folder at the same time: shard K of N writes the blocks b with b % N == K, so the
shards together write exactly the files of one unsharded run with the same seed and
batch size, and no pair twice. Array jobs pass the shard on the command line; a
`TF_CONFIG` cluster gives it by the task's position (`tf_config_shard`).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import time
from pathlib import Path
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from tf_esgan.config_fields import check_minimum, choice_field
from tf_esgan.console import progress_bar
from tf_esgan.data import masks, skeleton
from tf_esgan.data.image_range import to_uint8
from tf_esgan.data.pair_formats import PAIR_FORMATS, write_pair
from tf_esgan.errors import ConfigError
from tf_esgan.models.inference import generate
from tf_esgan.pretrained.generator_loading import load_generator
from tf_esgan.run_lock import run_lock
from tf_esgan.runs.run_dir import config_to_dict
from tf_esgan.synthesis import synthetic_set
from tf_esgan.synthesis.pipeline import run_blocks
from tf_esgan.synthesis.synthetic_set import ID_FORMAT
from tf_esgan.viz.synthetic_pairs import GRID_SIDE, save_synthetic_pairs_figure


@dataclasses.dataclass(frozen=True, kw_only=True)
class SynthesisConfig:
    """One `esgan-synthesize` job.

    Attributes:
      model: `pretrained:NAME`, an `esgan-train` run folder (config.json + checkpoints/) or a
        `.keras` generator.
      out_dir: output dataset folder (the pair files of `format` and config.json).
      num_images: pairs wanted in total (a rerun with a larger value adds more, with
        the same generator weights and settings only; a smaller one than the set holds
        is refused).
      preset: nuclei size/density preset of `masks.PRESETS`.
      seed: the masks (and so the images) of the whole set.
      batch_size: generator batch; recorded, and a resume or extension must keep it (the
        batch changes the generator's rounding).
      conditioning: "binary", "distance" or "skeleton"; "" = the run's variant (required
        for a `.keras` file).
      format: file layout of the pairs, one of `pair_formats.PAIR_FORMATS`.
      overwrite: delete the set already in `out_dir` (only the files synthesis wrote)
        and start over, instead of refusing other weights or settings (unsharded only).
      num_shards: processes writing the set at the same time (e.g. an array job's size).
      shard_index: this process's shard, 0 <= shard_index < num_shards: it writes the
        batch blocks b with b % num_shards == shard_index.
      pipeline_depth: batches drawn ahead of the generator (masks, maps) and written behind
        it (PNGs), each in a thread beside it; 0 = one batch at a time, serially. The
        files are the same either way (not recorded).
    """

    model: str
    out_dir: str
    num_images: int
    preset: str = choice_field("tnbc", sorted(masks.PRESETS))
    seed: int = 0
    batch_size: int = 8
    conditioning: str = choice_field("", ("", *skeleton.CONDITIONINGS))
    format: str = choice_field("canonical", PAIR_FORMATS)
    overwrite: bool = False
    num_shards: int = 1
    shard_index: int = 0
    pipeline_depth: int = 2

    def __post_init__(self) -> None:
        check_minimum(self, ("num_images", "batch_size", "num_shards"), 1, "SynthesisConfig")
        check_minimum(self, ("pipeline_depth",), 0, "SynthesisConfig")
        if self.preset not in masks.PRESETS:
            raise ValueError(f"SynthesisConfig: `preset` must be one of {sorted(masks.PRESETS)}, got {self.preset!r}")
        if self.conditioning and self.conditioning not in skeleton.CONDITIONINGS:
            raise ValueError(f"SynthesisConfig: `conditioning` must be one of {skeleton.CONDITIONINGS} "
                             f"or empty, got {self.conditioning!r}")
        if self.format not in PAIR_FORMATS:
            raise ValueError(f"SynthesisConfig: `format` must be one of {PAIR_FORMATS}, got {self.format!r}")
        if not 0 <= self.shard_index < self.num_shards:
            raise ValueError(f"SynthesisConfig: `shard_index` must be in [0, num_shards={self.num_shards}), "
                             f"got {self.shard_index}")
        if self.overwrite and self.num_shards > 1:
            raise ValueError("SynthesisConfig: `overwrite` deletes the set while the other shards write it; "
                             "delete it first (one unsharded run with overwrite, or remove the folder)")

    def owns(self, index: int) -> bool:
        """Whether this shard writes pair `index` (every pair when unsharded)."""
        return (index // self.batch_size) % self.num_shards == self.shard_index


# Task types that synthesize, in the order shards are numbered ("ps" and "evaluator"
# tasks of a training cluster have no shard).
_SHARD_TASK_TYPES = ("chief", "worker")


def tf_config_shard(tf_config: str | None = None) -> tuple[int, int] | None:
    """(shard_index, num_shards) of this task of the `TF_CONFIG` cluster; None without one.

    Shards are the cluster's `chief` task (if any) followed by its `worker` tasks in
    order: with one chief and three workers, the chief is shard 0 and worker i is shard
    i + 1 of 4; without a chief, worker i is shard i.

    Args:
      tf_config: the JSON text; default the TF_CONFIG environment variable.
    Raises:
      ConfigError: TF_CONFIG is not JSON, or its task is missing or not among the shards.
    """
    text = os.environ.get("TF_CONFIG", "") if tf_config is None else tf_config
    if not text.strip():
        return None
    try:
        parsed = json.loads(text)
        cluster, task = parsed.get("cluster") or {}, parsed.get("task") or {}
        tasks = [(kind, index) for kind in _SHARD_TASK_TYPES for index in range(len(cluster.get(kind) or ()))]
    except (ValueError, AttributeError, TypeError) as error:
        raise ConfigError(f"TF_CONFIG: not a JSON object with a `cluster` ({error})") from None
    if not cluster:
        return None
    try:
        this = (task["type"], int(task["index"]))
    except (KeyError, TypeError, ValueError):
        raise ConfigError(f"TF_CONFIG: names a cluster but no `task` with a type and index, got {task!r}") from None
    if this not in tasks:
        raise ConfigError(f"TF_CONFIG: task {this[0]}:{this[1]} is not one of the cluster's "
                          f"{' and '.join(_SHARD_TASK_TYPES)} tasks, which synthesize")
    return tasks.index(this), len(tasks)


def random_pair(index: int, seed: int, size: int, preset: str, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Mask int32 [size, size] and conditioning float32 [size, size, 1] of image `index`."""
    labels = masks.random_nuclei_labels((size, size), rng=np.random.default_rng([seed, index]), preset=preset)
    return labels, skeleton.conditioning(labels, kind)


def synthesize(config: SynthesisConfig, *, generator: keras.Model | None = None, verbose: int = 1,
               log: Callable[[str], None] = print) -> dict:
    """Writes the missing pairs of `config`; returns counts and timing.

    Args:
      config: the job.
      generator: an already loaded generator (else loaded from `config.model`); it then
        needs `config.conditioning`.
      verbose: 1 = progress bar.
    Raises:
      ConfigMismatchError: `out_dir` was made with other generator weights, seed, preset,
        conditioning, format, batch size or image size, or holds more than `num_images`
        pairs (unless `config.overwrite`); or, for a shard, is being written by shards of
        another `num_shards` and misses pairs.
      NotASyntheticSetError: `out_dir` holds files synthesis did not write (a real dataset).
      FolderLockedError: another process is writing `out_dir` (for a shard: an unsharded
        run, the same shard, or a shard of another `num_shards`).
    """
    step = None
    if generator is None:
        generator, kind, step = load_generator(config.model, config.conditioning, log=log)
    elif not config.conditioning:
        raise ValueError("synthesize: pass config.conditioning with an in-memory generator")
    else:
        kind = config.conditioning
    record = {**config_to_dict(dataclasses.replace(config, conditioning=kind)),
              synthetic_set.WEIGHTS_KEY: synthetic_set.weights_identity(generator, config.model, step=step),
              synthetic_set.IMAGE_SIZE_KEY: int(generator.inputs[0].shape[1])}
    # One set, written by every shard of the job, with the same files at any pipeline depth.
    for name in ("shard_index", "pipeline_depth"):
        del record[name]
    sharded = config.num_shards > 1
    with run_lock(config.out_dir, what="synthetic set", shard_index=config.shard_index,
                  num_shards=config.num_shards):
        # config.json stops a rerun from mixing two different sets in one folder.
        synthetic_set.prepare(config.out_dir, record, overwrite=config.overwrite,
                              owned=config.owns if sharded else None)
        summary = _write_pairs(config, generator, kind, verbose, log)
        if sharded:
            synthetic_set.finish_shard(config.out_dir, record)
        return summary


def _write_pairs(config: SynthesisConfig, generator: keras.Model, kind: str, verbose: int,
                 log: Callable[[str], None]) -> dict:
    out = Path(config.out_dir)
    size = int(generator.inputs[0].shape[1])
    infer = tf.function(lambda condition: generate(generator, condition), reduce_retracing=True)
    owned = [index for index in range(config.num_images) if config.owns(index)]
    todo = {index for index in owned if not synthetic_set.pair_written(out, config.format, index)}
    blocks = sorted({index // config.batch_size for index in todo})
    progress = progress_bar(len(owned), unit_name="pair", enabled=bool(verbose))
    if len(todo) < len(owned):
        progress.update(len(owned) - len(todo))

    def indices(block: int) -> range:
        return range(block * config.batch_size, (block + 1) * config.batch_size)

    def prepare(block: int) -> tuple[list[np.ndarray], np.ndarray]:  # in a helper thread
        pairs = [random_pair(index, config.seed, size, config.preset, kind) for index in indices(block)]
        return [labels for labels, _ in pairs], np.stack([condition for _, condition in pairs])

    def generate_block(block: int, prepared: tuple[list[np.ndarray], np.ndarray]) -> list[Callable[[], None]]:
        labels, conditions = prepared
        # The last block is padded to a full batch: one traced shape, same numbers.
        images = to_uint8(infer(conditions))
        return [functools.partial(write, index, image, mask)
                for index, mask, image in zip(indices(block), labels, images) if index in todo]

    def write(index: int, image: np.ndarray, labels: np.ndarray) -> None:  # in the other helper thread
        # Labels first: the last file of `pair_paths` completes the pair, and a pair
        # counts as done only when all exist.
        write_pair(out, config.format, ID_FORMAT.format(index), image, labels)
        progress.add(1)

    started = time.perf_counter()
    written = run_blocks(blocks, prepare, generate_block, depth=config.pipeline_depth)
    seconds = time.perf_counter() - started
    summary = {"written": written, "skipped": len(owned) - len(todo), "seconds": round(seconds, 2),
               "out_dir": str(out), "figure": None, "shard_index": config.shard_index,
               "num_shards": config.num_shards}
    who = f"shard {config.shard_index} of {config.num_shards} " if config.num_shards > 1 else ""
    line = f"{who}synthesized {written} pairs ({summary['skipped']} already there) into {out} in {seconds:.1f} s"
    if config.shard_index == 0:
        # Read back from disk, so a resumed run shows the files, not only this run's
        # batches; other shards' pairs only where they are finished.
        shown = [ID_FORMAT.format(index) for index in range(min(config.num_images, GRID_SIDE * GRID_SIDE))
                 if synthetic_set.pair_written(out, config.format, index)]
        summary["figure"] = str(save_synthetic_pairs_figure(out, shown, format=config.format))
        line += f"; look at them in {summary['figure']}"
    log(line)
    return summary
