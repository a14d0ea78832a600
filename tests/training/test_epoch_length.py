"""An epoch is one pass over every input-sized tile of the training images."""

import json

import pytest

from tf_esgan.data.datasets import list_samples, sample_root
from tf_esgan.training.gan_trainer import tiles_per_pass

from conftest import tiny_train_config


def test_tiles_per_pass_counts_whole_tiles(datasets_dir):
    tnbc = list_samples(datasets_dir / "tnbc")[:5]  # 512x512 images
    assert tiles_per_pass(tnbc, 256) == 5 * 4
    assert tiles_per_pass(tnbc, 200) == 5 * 4  # floor(512 / 200) = 2 per side
    assert tiles_per_pass(tnbc, 128) == 5 * 16
    monuseg = list_samples(datasets_dir / "monuseg")[:2]  # 1000x1000
    assert tiles_per_pass(monuseg, 256) == 2 * 9
    crops = list_samples(sample_root())  # the packaged 256x256 crops
    assert tiles_per_pass(crops, 256) == len(crops)
    assert tiles_per_pass(crops, 512) == len(crops)  # an image smaller than a tile still counts once


@pytest.mark.parametrize("steps, expected", [(0, 3 * 4 // 2), (3, 3)])
def test_default_steps_per_epoch_is_tiles_over_batch(tmp_path, steps, expected):
    """One epoch on the 3 training crops (256x256, 4 tiles of 128 each) at batch 2: 6 steps."""
    from tf_esgan.data.datasets import split_samples_by_group

    train, _ = split_samples_by_group(list_samples(sample_root()), test_fraction=0.25, seed=0)
    assert len(train) == 3
    from tf_esgan.training.gan_trainer import train_and_evaluate

    run = tmp_path / "run"
    config = tiny_train_config(sample_root(), run, steps_per_epoch=steps, batch_size=2, image_size=128,
                               dtype_policy="float32")
    result = train_and_evaluate(config, log=lambda message: None)
    assert result.step == expected
    assert json.loads((run / "config.json").read_text())["model"]["dtype_policy"] == "float32"
