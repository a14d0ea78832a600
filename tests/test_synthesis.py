"""esgan-synthesize's library: canonical layout, deterministic per (seed, index), resumable."""

import keras
import numpy as np
import pytest

from tf_esgan import synthesis
from tf_esgan.data import pair_formats
from tf_esgan.data.datasets import list_samples
from tf_esgan.data.image_io import read_image, read_mask
from tf_esgan.data.image_range import to_uint8
from tf_esgan.models.networks import NetworkConfig, build_networks
from tf_esgan.runs.run_dir import ConfigMismatchError


@pytest.fixture(scope="module")
def generator_file(tmp_path_factory):
    keras.utils.set_random_seed(3)
    generator, _ = build_networks("enhanced", NetworkConfig(image_size=64, generator_base_filters=4,
                                                            generator_depth=5, discriminator_base_filters=4))
    path = tmp_path_factory.mktemp("model") / "generator.keras"
    generator.save(path)
    return path


def job(generator_file, out_dir, count, **kwargs):
    config = synthesis.SynthesisConfig(model=str(generator_file), out_dir=str(out_dir), num_images=count,
                                       batch_size=3, conditioning="skeleton", **kwargs)
    return synthesis.synthesize(config, verbose=0, log=lambda message: None)


def files(folder):
    return {path.relative_to(folder).as_posix(): path.read_bytes()
            for path in sorted(folder.rglob("*.png"))}


def test_same_seed_same_files_and_canonical_layout(generator_file, tmp_path):
    assert job(generator_file, tmp_path / "a", 5)["written"] == 5
    job(generator_file, tmp_path / "b", 5)
    first = files(tmp_path / "a")
    assert first == files(tmp_path / "b") and len(first) == 11  # 5 pairs + synthetic_pairs.png
    samples = list_samples(tmp_path / "a")  # segmentation training reads it as is
    assert [sample.id for sample in samples] == [f"synthetic_{i:06d}" for i in range(5)]
    generator = keras.models.load_model(generator_file)
    nuclei = []
    for index, sample in enumerate(samples):
        labels = read_mask(sample.mask_path)
        expected_labels, condition = synthesis.random_pair(index, 0, 64, "tnbc", "skeleton")
        np.testing.assert_array_equal(labels, expected_labels)  # mask i is a function of (seed, i)
        nuclei.append(int(labels.max()))
        # The image is G(skeleton map of the written mask), rounded to uint8.
        expected = to_uint8(generator(condition[None], training=False))[0]
        assert np.abs(read_image(sample.image_path).astype(int) - expected).max() <= 1
    assert sum(count > 0 for count in nuclei) >= 2  # 64x64 crops: some may hold no nucleus
    other = job(generator_file, tmp_path / "c", 5, seed=1)
    assert other["written"] == 5 and files(tmp_path / "c") != first


def test_interrupted_run_completes_identically_without_duplicates(generator_file, tmp_path, monkeypatch):
    job(generator_file, tmp_path / "whole", 7)
    calls = {"count": 0}
    original = pair_formats.write_image

    def write_then_die(path, image):
        calls["count"] += 1
        if calls["count"] == 5:
            raise KeyboardInterrupt  # killed after writing the 5th mask, before its image
        original(path, image)

    monkeypatch.setattr(pair_formats, "write_image", write_then_die)
    with pytest.raises(KeyboardInterrupt):
        job(generator_file, tmp_path / "resumed", 7)
    monkeypatch.setattr(pair_formats, "write_image", original)
    assert len(list((tmp_path / "resumed" / "images").glob("*.png"))) == 4
    again = job(generator_file, tmp_path / "resumed", 7)
    assert again == {**again, "written": 3, "skipped": 4}
    assert files(tmp_path / "resumed") == files(tmp_path / "whole")
    assert not [p for p in (tmp_path / "resumed").rglob(".*")]  # no temporary files left
    assert job(generator_file, tmp_path / "resumed", 7)["written"] == 0
    with pytest.raises(ConfigMismatchError, match="preset"):
        job(generator_file, tmp_path / "resumed", 7, preset="monuseg")
