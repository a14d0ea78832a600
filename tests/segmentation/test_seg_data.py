"""SegNet data: targets, augmentation ops, training sets, deterministic resumable stream."""

import numpy as np
import pytest
from scipy import ndimage

from tf_esgan.data.datasets import list_samples, load_pair
from tf_esgan.data.skeleton import distance_map
from tf_esgan.segmentation.data import (SegmentationDataConfig, make_segmentation_dataset,
                                        median_blur, segmentation_targets, stain_jitter,
                                        training_samples)


def test_targets_of_a_square_nucleus():
    labels = np.zeros((9, 9), np.int32)
    labels[1:8, 1:8] = 5  # 7x7 square: depths 0 (rim) .. 3 (centre)
    targets = segmentation_targets(labels)
    assert targets.shape == (9, 9, 2) and targets.dtype == np.float32
    np.testing.assert_array_equal(targets[..., 0], labels > 0)
    np.testing.assert_allclose(targets[4, 1:8, 1], [0, 1 / 3, 2 / 3, 1, 2 / 3, 1 / 3, 0], atol=1e-6)


def test_stain_jitter_identity_and_effect():
    image = np.random.default_rng(0).integers(0, 256, (8, 8, 3)).astype(np.float32)
    same = stain_jitter(image, np.ones(3, np.float32), np.zeros(3, np.float32)).numpy()
    np.testing.assert_allclose(same, image, atol=0.05)
    darker = stain_jitter(image, np.full(3, 1.2, np.float32), np.zeros(3, np.float32)).numpy()
    assert darker.mean() < image.mean() - 1.0  # more optical density = darker


def test_median_blur_matches_scipy():
    image = np.random.default_rng(1).integers(0, 256, (7, 9, 3)).astype(np.float32)
    expected = np.stack([ndimage.median_filter(image[..., c], size=3, mode="mirror") for c in range(3)], -1)
    np.testing.assert_array_equal(median_blur(image).numpy(), expected)


def test_training_sets():
    real, synthetic = ["r1", "r2"], ["s1"]
    assert training_samples("R", real_train=real, synthetic=synthetic) == (real, False)
    assert training_samples("R*", real_train=real, synthetic=synthetic) == (real, True)
    assert training_samples("S", real_train=real, synthetic=synthetic) == (synthetic, False)
    assert training_samples("S*", real_train=real, synthetic=synthetic) == (real + synthetic, True)
    with pytest.raises(ValueError, match="synthetic_dir"):
        training_samples("S", real_train=real, synthetic=[])
    with pytest.raises(ValueError, match="train_set"):
        training_samples("X", real_train=real, synthetic=synthetic)


@pytest.mark.parametrize("augment", [False, True])
def test_stream_is_deterministic_resumable_and_consistent(datasets_dir, augment):
    samples = list_samples(datasets_dir / "tnbc")[:3]
    config = SegmentationDataConfig(crop_size=64, batch_size=2, augment=augment, seed=7)
    batches = list(make_segmentation_dataset(samples, config).take(3))
    resumed = list(make_segmentation_dataset(samples, config, start_batch=2).take(1))
    np.testing.assert_array_equal(resumed[0][0].numpy(), batches[2][0].numpy())
    np.testing.assert_array_equal(resumed[0][1].numpy(), batches[2][1].numpy())
    for images, targets in batches:
        images, targets = images.numpy(), targets.numpy()
        assert images.shape == (2, 64, 64, 3) and targets.shape == (2, 64, 64, 2)
        assert images.min() >= 0 and images.max() <= 255
        assert set(np.unique(targets[..., 0])) <= {0.0, 1.0}
        assert np.all(targets[..., 1][targets[..., 0] == 0] == 0)
        assert targets[..., 1].max() <= 1.0
        if not augment:  # a plain crop: the image pixels are real uint8 values
            np.testing.assert_array_equal(images, np.round(images))
    assert not np.array_equal(batches[0][0].numpy(), batches[1][0].numpy())


def test_crop_targets_match_the_mask_crop(datasets_dir):
    # Without augmentation each crop is a window of one real pair: find it and compare.
    samples = list_samples(datasets_dir / "tnbc")[:1]
    image, labels = load_pair(samples[0])
    config = SegmentationDataConfig(crop_size=64, batch_size=1, seed=2)
    crop, targets = [t.numpy()[0] for t in next(iter(make_segmentation_dataset(samples, config)))]
    crop = crop.astype(np.uint8)
    corners = np.argwhere(np.all(image[:-63, :-63] == crop[0, 0], axis=-1))
    matches = [(y, x) for y, x in corners if np.array_equal(image[y:y + 64, x:x + 64], crop)]
    assert len(matches) == 1
    y, x = matches[0]
    np.testing.assert_allclose(targets[..., 1], distance_map(labels[y:y + 64, x:x + 64]), atol=1e-6)
    np.testing.assert_array_equal(targets[..., 0], labels[y:y + 64, x:x + 64] > 0)


def test_image_smaller_than_crop_is_reported(datasets_dir):
    samples = list_samples(datasets_dir / "tnbc")[:1]
    config = SegmentationDataConfig(crop_size=1024, batch_size=1)
    with pytest.raises(Exception, match="smaller than the 1024x1024 crop"):
        next(iter(make_segmentation_dataset(samples, config)))
