"""`tf.data` pipeline of (condition, image, contour) training batches.

Per element: read and validate the pair (numpy, so errors name the file), optional
in-memory cache of the decoded pair, paired random crop, flips and 90-degree rotations
applied identically to image and mask, then the conditioning map and contour set built
per nucleus by `tf.numpy_function` around `tf_esgan.data.skeleton`, image scaled to
[-1, 1]. Randomness is stateless and keyed by (seed, epoch, element), so a seed gives
the same batches on every run whatever the parallelism.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from pathlib import Path
from typing import Sequence

import numpy as np
import tensorflow as tf

from tf_esgan.data import skeleton
from tf_esgan.data.datasets import Sample, load_pair
from tf_esgan.data.image_io import DatasetError
from tf_esgan.data.image_range import from_uint8_tensor


@dataclasses.dataclass(frozen=True, kw_only=True)
class PipelineConfig:
    """How batches are made.

    Attributes:
      conditioning: "binary", "distance" or "skeleton" (see `skeleton.conditioning`).
      crop_size: side of the square crops fed to the networks.
      batch_size: elements per batch.
      augment: random crops, flips and rotations; False gives the central crop only.
      shuffle: shuffle element order each epoch (a buffer of `shuffle_buffer`).
      cache: keep decoded image/mask pairs in memory after the first epoch.
      repeat: repeat forever (training) instead of one pass.
      drop_remainder: drop a last partial batch (static batch size for the model).
      seed: makes crops, flips, rotations and order reproducible.
    """

    conditioning: str = "skeleton"
    crop_size: int = 256
    batch_size: int = 1
    augment: bool = True
    shuffle: bool = True
    shuffle_buffer: int = 256
    cache: bool = False
    repeat: bool = False
    drop_remainder: bool = False
    seed: int = 0

    def __post_init__(self):
        if self.conditioning not in skeleton.CONDITIONINGS:
            raise ValueError(
                f"conditioning: expected one of {skeleton.CONDITIONINGS}, got {self.conditioning!r}")
        for name in ("crop_size", "batch_size", "shuffle_buffer"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: expected a positive integer, got {getattr(self, name)}")


def read_pair_for_crop(image_path: bytes, mask_path: bytes, crop_size: np.int64):
    """A `tf.numpy_function` body: (uint8 [H, W, 3], int32 [H, W]) of one pair, both sides >= crop_size.

    Shared by the GAN and SegNet pipelines; raises `DatasetError` naming the file.
    """
    path = Path(image_path.decode())
    sample = Sample(id=path.stem, image_path=path, mask_path=Path(mask_path.decode()))
    image, labels = load_pair(sample)
    if min(labels.shape) < crop_size:
        raise DatasetError(
            f"{path}: image is {labels.shape[1]}x{labels.shape[0]}, smaller than the "
            f"{crop_size}x{crop_size} crop")
    return image, labels.astype(np.int32)


# How tf.data reports an exception of a `tf.numpy_function`: "<type name>: <message>".
_WRAPPED_DATASET_ERROR = re.compile(r"\bDatasetError: (.+)")


@contextlib.contextmanager
def reraise_dataset_errors():
    """Turns a `DatasetError` raised inside a tf.data pipeline back into a `DatasetError`.

    tf.data wraps it in an `InvalidArgumentError` holding the whole Python traceback. The
    trainers check every file before they start (`datasets.check_samples`); this catches
    what only decoding finds (damage inside a complete PNG, a file changed meanwhile).
    """
    try:
        yield
        return
    except tf.errors.InvalidArgumentError as error:
        found = _WRAPPED_DATASET_ERROR.search(error.message or "")
        if found is None:
            raise
        message = found.group(1).strip()
    # Raised outside the `except` block, so the new error does not keep the old one's
    # traceback alive: its frames hold the tf.data iterator, whose threads must be
    # stopped before the interpreter exits (else "terminate called ...", status 134).
    raise DatasetError(f"{message} (found while reading batches; fix or remove the file and "
                       "rerun, training resumes from the last checkpoint)")


def _condition_and_contour(labels: np.ndarray, kind: bytes):
    condition, contour = skeleton.conditioning_and_contour(labels[..., 0], kind.decode())
    return condition, contour[..., None].astype(np.float32)


def conditioning_and_contour(labels: tf.Tensor, kind: str) -> tuple[tf.Tensor, tf.Tensor]:
    """Graph wrapper: int32 labels [H, W, 1] -> (condition [H, W, 1], contour [H, W, 1])."""
    condition, contour = tf.numpy_function(
        _condition_and_contour, [labels, kind], [tf.float32, tf.float32], stateful=False)
    condition.set_shape(labels.shape)
    contour.set_shape(labels.shape)
    return condition, contour


def random_crop_flip_rotate(stacked: tf.Tensor, crop_size: int, seed: tf.Tensor) -> tf.Tensor:
    """Same random crop, flips and 90-degree rotation for all channels of [H, W, C].

    Stack an image and its label map on the channel axis first so both move together;
    `seed` is a stateless seed, int64 [2].
    """
    seeds = tf.random.experimental.stateless_split(seed, num=4)
    channels = stacked.shape[-1]
    stacked = tf.image.stateless_random_crop(stacked, [crop_size, crop_size, channels], seed=seeds[0])
    stacked = tf.image.stateless_random_flip_left_right(stacked, seed=seeds[1])
    stacked = tf.image.stateless_random_flip_up_down(stacked, seed=seeds[2])
    turns = tf.random.stateless_uniform([], seeds[3], minval=0, maxval=4, dtype=tf.int32)
    return tf.image.rot90(stacked, k=turns)


def make_dataset(samples: Sequence[Sample], config: PipelineConfig) -> tf.data.Dataset:
    """Batches of (condition, image, contour).

    Args:
      samples: image/mask pairs (e.g. from `datasets.list_samples`); each must be at
        least `crop_size` on both sides.
      config: a `PipelineConfig`.
    Returns:
      A dataset of tuples: condition float32 [B, S, S, 1] (range per conditioning kind),
      image float32 [B, S, S, 3] in [-1, 1], contour float32 [B, S, S, 1] in {0, 1}.
    """
    if not samples:
        raise ValueError("samples: expected at least one image/mask pair, got none")
    size = config.crop_size
    paths = tf.data.Dataset.from_tensor_slices((
        [str(sample.image_path) for sample in samples],
        [str(sample.mask_path) for sample in samples]))

    def read(image_path, mask_path):
        image, labels = tf.numpy_function(
            read_pair_for_crop, [image_path, mask_path, tf.constant(size, tf.int64)], [tf.uint8, tf.int32])
        image.set_shape([None, None, 3])
        labels.set_shape([None, None])
        return tf.concat([tf.cast(image, tf.int32), labels[..., None]], axis=-1)

    dataset = paths.map(read, num_parallel_calls=tf.data.AUTOTUNE)
    if config.cache:
        dataset = dataset.cache()
    if config.shuffle:
        dataset = dataset.shuffle(min(config.shuffle_buffer, len(samples)), seed=config.seed,
                                  reshuffle_each_iteration=True)
    if config.repeat:
        dataset = dataset.repeat()
    dataset = dataset.enumerate()

    def prepare(index, stacked):
        if config.augment:
            stacked = random_crop_flip_rotate(stacked, size, tf.stack([tf.constant(config.seed, tf.int64), index]))
        else:
            stacked = tf.image.resize_with_crop_or_pad(stacked, size, size)
        image = from_uint8_tensor(stacked[..., :3])
        condition, contour = conditioning_and_contour(stacked[..., 3:], config.conditioning)
        return condition, image, contour

    dataset = dataset.map(prepare, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    dataset = dataset.batch(config.batch_size, drop_remainder=config.drop_remainder)
    return dataset.prefetch(tf.data.AUTOTUNE)
