"""`tf.data` batches of (image, targets) for SegNet, and the training sets R, R*, S, S*.

Training sets (paper section 3.3, Table 2):
  R   real train split, random crops only;
  R*  R with classical augmentation;
  S   the synthetic folder (from esgan-synthesize), random crops only;
  S*  real train split + synthetic folder, with classical augmentation.

Classical augmentation, per element: random rescaling (bilinear image, nearest labels),
the paired random crop + flips + 90-degree rotation of `data.pipeline`, a stain jitter
in haematoxylin-eosin-DAB optical density (Tellez et al. 2018: each stain scaled by
1 +- `stain_sigma` and shifted by +- `stain_sigma`), and a 3x3 median blur with
probability `median_probability`.

The element stream is a pure function of (seed, global element index): element k is
sample permutation_e[k mod n] with e = k div n and permutation_e a stateless shuffle
keyed by (seed, e), and its augmentation is keyed by (seed, k). A resumed run starts
the stream at `start_batch` and sees exactly the batches an uninterrupted run would.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np
import tensorflow as tf
from skimage import color

from tf_esgan.data import skeleton
from tf_esgan.data.datasets import Sample
from tf_esgan.data.image_io import DatasetError
from tf_esgan.data.pipeline import random_crop_flip_rotate, read_pair_for_crop

TRAIN_SETS = ("R", "R*", "S", "S*")
_MEDIAN_SIZE = 3


@dataclasses.dataclass(frozen=True, kw_only=True)
class SegmentationDataConfig:
    """How SegNet training batches are made.

    Attributes:
      crop_size: side of the square crops.
      batch_size: crops per batch.
      augment: classical augmentation (R*, S*); False gives random crops only.
      scale_range: (low, high) random rescaling factors when augmenting.
      stain_sigma: stain jitter strength when augmenting (0 disables).
      median_probability: chance of a 3x3 median blur when augmenting.
      seed: makes order, crops and augmentation reproducible.
    """

    crop_size: int = 256
    batch_size: int = 4
    augment: bool = False
    scale_range: tuple[float, float] = (0.8, 1.25)
    stain_sigma: float = 0.05
    median_probability: float = 0.3
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("crop_size", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"SegmentationDataConfig: `{name}` must be >= 1, got {getattr(self, name)}")
        low, high = self.scale_range
        if not 0 < low <= high:
            raise ValueError(f"SegmentationDataConfig: `scale_range` must be 0 < low <= high, got {self.scale_range}")


def training_samples(train_set: str, *, real_train: Sequence[Sample],
                     synthetic: Sequence[Sample]) -> tuple[list[Sample], bool]:
    """(samples, augment) of a training set name; see the module docstring."""
    if train_set not in TRAIN_SETS:
        raise ValueError(f"train_set: expected one of {TRAIN_SETS}, got {train_set!r}")
    samples = (list(real_train) if train_set in ("R", "R*", "S*") else []) + (
        list(synthetic) if train_set in ("S", "S*") else [])
    if not samples:
        source = "synthetic_dir" if train_set == "S" else "the real train split"
        raise DatasetError(f"train_set {train_set!r}: no training samples in {source}")
    return samples, train_set.endswith("*")


def segmentation_targets(labels: np.ndarray) -> np.ndarray:
    """SegNet targets of a label map: float32 [H, W, 2] = (nucleus mask in {0, 1},
    per-nucleus normalised distance map in [0, 1], `skeleton.distance_map`)."""
    labels = skeleton.as_labels(labels)
    return np.stack([(labels > 0).astype(np.float32), skeleton.distance_map(labels)], axis=-1)


def stain_jitter(image: tf.Tensor, scale: tf.Tensor, shift: tf.Tensor) -> tf.Tensor:
    """Scales/shifts the H, E, DAB optical densities of float RGB [H, W, 3] in [0, 255].

    od = -log((rgb + 1) / 256); stains = od @ hed_from_rgb; stains * scale + shift back
    through rgb_from_hed (scale 1, shift 0 is the identity). Returns [0, 255] float32.
    """
    hed_from_rgb = tf.constant(color.hed_from_rgb, tf.float32)
    rgb_from_hed = tf.constant(color.rgb_from_hed, tf.float32)
    optical_density = -tf.math.log((image + 1.0) / 256.0)
    stains = tf.tensordot(optical_density, hed_from_rgb, 1) * scale + shift
    rgb = tf.exp(-tf.tensordot(stains, rgb_from_hed, 1)) * 256.0 - 1.0
    return tf.clip_by_value(rgb, 0.0, 255.0)


def median_blur(image: tf.Tensor) -> tf.Tensor:
    """3x3 median of each channel of float [H, W, C], reflecting at the border."""
    half = _MEDIAN_SIZE // 2
    padded = tf.pad(image, [[half, half], [half, half], [0, 0]], mode="REFLECT")
    height, width = tf.shape(image)[0], tf.shape(image)[1]
    windows = tf.stack([padded[dy:dy + height, dx:dx + width]
                        for dy in range(_MEDIAN_SIZE) for dx in range(_MEDIAN_SIZE)], axis=-1)
    middle = _MEDIAN_SIZE * _MEDIAN_SIZE // 2
    return tf.sort(windows, axis=-1)[..., middle]


def _targets(labels: np.ndarray) -> np.ndarray:
    return segmentation_targets(labels[..., 0])


def _rescale(image: tf.Tensor, labels: tf.Tensor, config: SegmentationDataConfig, seed: tf.Tensor):
    """Random rescaling, never below the crop size."""
    size = tf.cast(tf.shape(labels)[:2], tf.float32)
    low, high = config.scale_range
    factor = tf.random.stateless_uniform([], seed, minval=low, maxval=high)
    factor = tf.maximum(factor, config.crop_size / tf.reduce_min(size))
    new_size = tf.cast(tf.math.ceil(size * factor), tf.int32)
    image = tf.image.resize(tf.cast(image, tf.float32), new_size, method="bilinear")
    labels = tf.image.resize(labels, new_size, method="nearest")
    return image, labels


def _augment_image(image: tf.Tensor, config: SegmentationDataConfig, seed: tf.Tensor) -> tf.Tensor:
    seeds = tf.random.experimental.stateless_split(seed, num=3)
    sigma = config.stain_sigma
    scale = tf.random.stateless_uniform([3], seeds[0], minval=1.0 - sigma, maxval=1.0 + sigma)
    shift = tf.random.stateless_uniform([3], seeds[1], minval=-sigma, maxval=sigma)
    image = stain_jitter(image, scale, shift)
    blur = tf.random.stateless_uniform([], seeds[2]) < config.median_probability
    return tf.cond(blur, lambda: median_blur(image), lambda: image)


def make_segmentation_dataset(samples: Sequence[Sample], config: SegmentationDataConfig, *,
                              start_batch: int = 0) -> tf.data.Dataset:
    """Endless batches of (image float32 [B, S, S, 3] in [0, 255], targets float32
    [B, S, S, 2]: nucleus mask, distance map), starting at batch `start_batch`.

    Every image must be at least `crop_size` on both sides (DatasetError naming the file).
    """
    if not samples:
        raise ValueError("samples: expected at least one image/mask pair, got none")
    size, count = config.crop_size, len(samples)
    image_paths = tf.constant([str(sample.image_path) for sample in samples])
    mask_paths = tf.constant([str(sample.mask_path) for sample in samples])
    seed = tf.constant(config.seed, tf.int64)

    def element(index):
        epoch, position = index // count, index % count
        order = tf.argsort(tf.random.stateless_uniform([count], tf.stack([seed, -1 - epoch])))
        chosen = order[position]
        image, labels = tf.numpy_function(read_pair_for_crop, [image_paths[chosen], mask_paths[chosen], tf.constant(size, tf.int64)],
                                          [tf.uint8, tf.int32], stateful=False)
        image.set_shape([None, None, 3])
        labels = labels[..., None]
        labels.set_shape([None, None, 1])
        seeds = tf.random.experimental.stateless_split(tf.stack([seed, index]), num=3)
        if config.augment:
            image, labels = _rescale(image, labels, config, seeds[0])
            image = tf.cast(tf.round(image), tf.int32)
        stacked = tf.concat([tf.cast(image, tf.int32), labels], axis=-1)
        if config.augment:
            stacked = random_crop_flip_rotate(stacked, size, seeds[1])
        else:
            stacked = tf.image.stateless_random_crop(stacked, [size, size, 4], seed=seeds[1])
        image = tf.cast(stacked[..., :3], tf.float32)
        if config.augment:
            image = _augment_image(image, config, seeds[2])
        targets = tf.numpy_function(_targets, [stacked[..., 3:]], tf.float32, stateful=False)
        targets.set_shape([size, size, 2])
        image.set_shape([size, size, 3])
        return image, targets

    first = start_batch * config.batch_size
    dataset = tf.data.Dataset.range(first, np.iinfo(np.int64).max)
    dataset = dataset.map(element, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    dataset = dataset.batch(config.batch_size, drop_remainder=True)
    return dataset.prefetch(tf.data.AUTOTUNE)

