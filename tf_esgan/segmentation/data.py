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

Augmentation is the paper's by default (R*, S* augmented; R, S random crops only);
`augmentation="on"` or `"off"` applies it to every set alike (e.g. R with the same
augmentation S* has, so a comparison of the two is about the data, not the augmentation).

The element stream is a pure function of (seed, global element index): element k is
sample permutation_e[k mod n] with e = k div n and permutation_e a stateless shuffle
keyed by (seed, e), and its augmentation is keyed by (seed, k). A resumed run starts
the stream at `start_batch` and sees exactly the batches an uninterrupted run would.
With `real_fraction` > 0 (S*: the share of real crops per batch), element k at position
p of its batch of B is real if p < floor(B * f) (or p == floor(B * f) with probability
frac(B * f), keyed by (seed, k)) and is drawn uniformly from its group, keyed by (seed, k):
every batch then holds the same share of real crops, however few real images there are.
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
#: "auto": the paper's (the starred sets augmented); "on"/"off": every set alike.
AUGMENTATIONS = ("auto", "on", "off")
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
      real_fraction: share of each batch drawn from the first `real_count` samples given to
        `make_segmentation_dataset` (the real ones of S*); 0 = all samples pooled.
    """

    crop_size: int = 256
    batch_size: int = 4
    augment: bool = False
    scale_range: tuple[float, float] = (0.8, 1.25)
    stain_sigma: float = 0.05
    median_probability: float = 0.3
    seed: int = 0
    real_fraction: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.real_fraction <= 1.0:
            raise ValueError(f"SegmentationDataConfig: `real_fraction` must be in [0, 1], got {self.real_fraction}")
        for name in ("crop_size", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"SegmentationDataConfig: `{name}` must be >= 1, got {getattr(self, name)}")
        low, high = self.scale_range
        if not 0 < low <= high:
            raise ValueError(f"SegmentationDataConfig: `scale_range` must be 0 < low <= high, got {self.scale_range}")


def training_samples(train_set: str, *, real_train: Sequence[Sample],
                     synthetic: Sequence[Sample], augmentation: str = "auto") -> tuple[list[Sample], bool]:
    """(samples, augment) of a training set name (real samples first); see the module docstring."""
    if train_set not in TRAIN_SETS:
        raise ValueError(f"train_set: expected one of {TRAIN_SETS}, got {train_set!r}")
    if augmentation not in AUGMENTATIONS:
        raise ValueError(f"augmentation: expected one of {AUGMENTATIONS}, got {augmentation!r}")
    samples = (list(real_train) if train_set in ("R", "R*", "S*") else []) + (
        list(synthetic) if train_set in ("S", "S*") else [])
    if not samples:
        source = "synthetic_dir" if train_set == "S" else "the real train split"
        raise DatasetError(f"train_set {train_set!r}: no training samples in {source}")
    return samples, train_set.endswith("*") if augmentation == "auto" else augmentation == "on"


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


def _mixed_choice(index: tf.Tensor, seed: tf.Tensor, *, count: int, real_count: int, batch_size: int,
                  real_fraction: float) -> tf.Tensor:
    """Sample index of element `index` when each batch holds `real_fraction` real crops."""
    per_batch = batch_size * real_fraction
    whole = int(np.floor(per_batch))
    draws = tf.random.stateless_uniform([2], tf.random.experimental.stateless_fold_in(tf.stack([seed, index]), 7))
    position = index % batch_size
    real = (position < whole) | ((position == whole) & (draws[0] < per_batch - whole))
    low = tf.where(real, 0, real_count)
    size = tf.where(real, real_count, count - real_count)
    return low + tf.minimum(tf.cast(draws[1] * tf.cast(size, tf.float32), tf.int32), size - 1)


def make_segmentation_dataset(samples: Sequence[Sample], config: SegmentationDataConfig, *,
                              start_batch: int = 0, real_count: int = 0) -> tf.data.Dataset:
    """Endless batches of (image float32 [B, S, S, 3] in [0, 255], targets float32
    [B, S, S, 2]: nucleus mask, distance map), starting at batch `start_batch`.

    Every image must be at least `crop_size` on both sides (DatasetError naming the file).
    `real_count`: the first `real_count` samples are real (mixed by `config.real_fraction`).
    """
    if not samples:
        raise ValueError("samples: expected at least one image/mask pair, got none")
    size, count = config.crop_size, len(samples)
    mixed = config.real_fraction > 0 and 0 < real_count < count
    image_paths = tf.constant([str(sample.image_path) for sample in samples])
    mask_paths = tf.constant([str(sample.mask_path) for sample in samples])
    seed = tf.constant(config.seed, tf.int64)

    def element(index):
        if mixed:
            chosen = _mixed_choice(index, seed, count=count, real_count=real_count, batch_size=config.batch_size,
                                   real_fraction=config.real_fraction)
        else:
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

