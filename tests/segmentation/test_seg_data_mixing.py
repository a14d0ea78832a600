"""S* with a fixed share of real crops per batch, and augmentation chosen for every set."""

import numpy as np
import pytest
import tensorflow as tf

from tf_esgan.data.datasets import list_samples, sample_root
from tf_esgan.segmentation.data import (SegmentationDataConfig, _mixed_choice, make_segmentation_dataset,
                                        training_samples)


def _choices(count, real_count, batch_size, fraction, elements=1600, seed=3):
    return np.array([int(_mixed_choice(tf.constant(k, tf.int64), tf.constant(seed, tf.int64), count=count,
                                       real_count=real_count, batch_size=batch_size, real_fraction=fraction))
                     for k in range(elements)])


def test_every_batch_holds_the_whole_share_of_real_crops():
    batch_size, real_count, count = 4, 3, 50
    chosen = _choices(count, real_count, batch_size, 0.5, elements=400)
    real_per_batch = (chosen < real_count).reshape(-1, batch_size).sum(axis=1)
    assert np.all(real_per_batch == 2)
    assert set(chosen[chosen < real_count]) == {0, 1, 2}  # every real image is used
    assert set(chosen[chosen >= real_count]) > set(range(real_count, count - 5))  # the synthetic ones too


def test_a_fractional_share_is_met_on_average_and_within_one_per_batch():
    batch_size, real_count, count = 4, 5, 100
    chosen = _choices(count, real_count, batch_size, 0.3)
    real_per_batch = (chosen < real_count).reshape(-1, batch_size).sum(axis=1)
    assert set(real_per_batch) == {1, 2}  # floor(1.2) = 1, plus one with probability 0.2
    assert real_per_batch.mean() == pytest.approx(1.2, abs=0.05)
    # Uniform within each group: no image more than ~2x as frequent as another.
    frequencies = np.bincount(chosen, minlength=count)
    assert frequencies[:real_count].max() < 2 * frequencies[:real_count].min()


def test_the_mixed_stream_is_deterministic_and_resumes_exactly():
    real = list_samples(sample_root())
    samples = real[:2] + real[2:]  # two "real", two "synthetic"
    config = SegmentationDataConfig(crop_size=64, batch_size=2, seed=5, real_fraction=0.5)
    batches = [b[0].numpy() for b in make_segmentation_dataset(samples, config, real_count=2).take(3)]
    again = [b[0].numpy() for b in make_segmentation_dataset(samples, config, real_count=2).take(3)]
    resumed = [b[0].numpy() for b in make_segmentation_dataset(samples, config, real_count=2, start_batch=2).take(1)]
    np.testing.assert_array_equal(np.stack(batches), np.stack(again))
    np.testing.assert_array_equal(batches[2], resumed[0])
    pooled = [b[0].numpy() for b in make_segmentation_dataset(samples, SegmentationDataConfig(
        crop_size=64, batch_size=2, seed=5), real_count=2).take(3)]
    assert not np.array_equal(np.stack(batches), np.stack(pooled))  # the share changes what is drawn


def test_augmentation_can_be_chosen_for_every_set():
    real, synthetic = ["r1", "r2"], ["s1"]
    assert training_samples("R", real_train=real, synthetic=synthetic, augmentation="on") == (real, True)
    assert training_samples("S*", real_train=real, synthetic=synthetic, augmentation="off") == (
        real + synthetic, False)
    assert training_samples("S", real_train=real, synthetic=synthetic)[1] is False  # the paper's by default
    with pytest.raises(ValueError, match="augmentation"):
        training_samples("R", real_train=real, synthetic=synthetic, augmentation="yes")
    with pytest.raises(ValueError, match="real_fraction"):
        SegmentationDataConfig(real_fraction=1.5)
