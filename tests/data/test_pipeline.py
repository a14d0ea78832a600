"""tf.data pipeline: shapes, ranges, image/condition alignment, determinism, bad files."""

import cv2
import numpy as np
import pytest

from tf_esgan.data import skeleton
from tf_esgan.data.datasets import Sample, list_samples
from tf_esgan.data.pipeline import PipelineConfig, make_dataset


def write_pair(folder, name, image, labels):
    (folder / "images").mkdir(exist_ok=True)
    (folder / "masks").mkdir(exist_ok=True)
    cv2.imwrite(str(folder / "images" / f"{name}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(folder / "masks" / f"{name}.png"), labels.astype(np.uint16))
    return Sample(id=name, image_path=folder / "images" / f"{name}.png",
                  mask_path=folder / "masks" / f"{name}.png")


def coded_sample(folder, name, rng, size=96):
    """An image whose red channel encodes the label id, so alignment can be read back."""
    labels = np.zeros((size, size), np.int32)
    for label in range(1, 12):
        y, x = rng.integers(8, size - 8, 2)
        radius = rng.integers(3, 9)
        yy, xx = np.mgrid[0:size, 0:size]
        labels[(yy - y) ** 2 + ((xx - x) * 1.4) ** 2 <= radius**2] = label
    image = np.stack([labels * 20, rng.integers(0, 255, (size, size)), np.full((size, size), 7)], -1)
    return write_pair(folder, name, image.astype(np.uint8), labels)


def test_real_tnbc_batches_have_documented_shapes_and_ranges(datasets_dir):
    samples = list_samples(datasets_dir / "tnbc")[:3]
    config = PipelineConfig(conditioning="skeleton", crop_size=256, batch_size=2, seed=3)
    batches = list(make_dataset(samples, config))
    assert [b[0].shape[0] for b in batches] == [2, 1]
    condition, image, contour = (t.numpy() for t in batches[0])
    assert condition.shape == (2, 256, 256, 1) and condition.dtype == np.float32
    assert image.shape == (2, 256, 256, 3) and image.dtype == np.float32
    assert contour.shape == (2, 256, 256, 1)
    assert -1.0 <= image.min() < -0.2 and 0.5 < image.max() <= 1.0
    assert 0.0 == condition.min() and 1.0 < condition.max() <= 2.0
    assert set(np.unique(contour)) == {0.0, 1.0}
    # H&E nuclei are dark: nucleus pixels (condition > 0, or contour where the map is 0)
    # are darker than background on average, so the map sits on the right pixels.
    nuclei = (condition > 0) | (contour > 0)
    gray = image.mean(-1, keepdims=True)
    assert gray[nuclei].mean() < gray[~nuclei].mean() - 0.1


@pytest.mark.parametrize("kind", ["binary", "distance", "skeleton"])
def test_condition_and_contour_stay_aligned_with_image_after_augmentation(tmp_path, rng, kind):
    samples = [coded_sample(tmp_path, f"s{i}", rng) for i in range(3)]
    config = PipelineConfig(conditioning=kind, crop_size=64, batch_size=3, seed=11, repeat=True)
    for condition, image, contour in make_dataset(samples, config).take(3):
        for i in range(3):
            red = np.round((image[i, ..., 0].numpy() + 1.0) * 127.5).astype(np.int32)
            labels = red // 20
            np.testing.assert_array_equal(condition[i].numpy(), skeleton.conditioning(labels, kind))
            np.testing.assert_array_equal(contour[i, ..., 0].numpy(), skeleton.contour_mask(labels))
            # Constant blue channel survives augmentation unchanged.
            assert np.all(np.round((image[i, ..., 2].numpy() + 1) * 127.5) == 7)


def test_same_seed_same_batches_other_seed_differs(tmp_path, rng):
    samples = [coded_sample(tmp_path, f"s{i}", rng) for i in range(4)]

    def first_images(seed):
        config = PipelineConfig(crop_size=48, batch_size=4, seed=seed)
        return next(iter(make_dataset(samples, config)))[1].numpy()

    np.testing.assert_array_equal(first_images(5), first_images(5))
    assert not np.array_equal(first_images(5), first_images(6))


def test_epochs_differ_but_cover_every_sample_once(tmp_path, rng):
    samples = [coded_sample(tmp_path, f"s{i}", rng) for i in range(4)]
    config = PipelineConfig(crop_size=96, batch_size=1, seed=2, augment=False, repeat=True)
    images = [b[1].numpy() for b in make_dataset(samples, config).take(8)]
    blue_noise = [img[0, ..., 1].tobytes() for img in images]
    assert len(set(blue_noise[:4])) == 4 and set(blue_noise[:4]) == set(blue_noise[4:])


def test_unaugmented_crop_is_central(tmp_path, rng):
    sample = coded_sample(tmp_path, "s0", rng, size=96)
    config = PipelineConfig(crop_size=64, augment=False, shuffle=False)
    _, image, _ = next(iter(make_dataset([sample], config)))
    original = cv2.cvtColor(cv2.imread(str(sample.image_path)), cv2.COLOR_BGR2RGB)
    expected = original[16:80, 16:80].astype(np.float32) / 127.5 - 1.0
    np.testing.assert_allclose(image[0].numpy(), expected, atol=1e-6)


def test_bad_files_raise_errors_naming_them(tmp_path, rng):
    good = coded_sample(tmp_path, "good", rng)
    corrupt = Sample(id="bad", image_path=tmp_path / "images" / "bad.png",
                     mask_path=good.mask_path)
    corrupt.image_path.write_bytes(b"not a png")
    with pytest.raises(Exception, match="bad.png"):
        list(make_dataset([good, corrupt], PipelineConfig(crop_size=64, shuffle=False)))
    with pytest.raises(Exception, match="smaller than the 128x128 crop"):
        list(make_dataset([good], PipelineConfig(crop_size=128)))
    with pytest.raises(ValueError, match="samples"):
        make_dataset([], PipelineConfig())
    with pytest.raises(ValueError, match="conditioning"):
        PipelineConfig(conditioning="mask")
