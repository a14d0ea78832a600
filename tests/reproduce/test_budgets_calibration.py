"""Budgets (variants, the CPU budget) and the flat calibration image, on hand-made inputs."""

import dataclasses

import numpy as np
import pytest

from tf_esgan.data.datasets import Sample
from tf_esgan.data.image_io import write_image
from tf_esgan.evaluation.image_quality_table import synthesize_image
from tf_esgan.reproduce.budgets import ALL_VARIANTS, BUDGETS, budget_from_flat_dict, get_budget
from tf_esgan.reproduce.calibration import FLAT_CONDITIONING, flat_generate, mean_colour


def test_budgets_name_their_variants():
    assert ALL_VARIANTS == ("pix2pix", "sharp_gan", "sharp_gan_plus", "enhanced")
    assert BUDGETS["paper"].variants == ALL_VARIANTS and BUDGETS["small"].variants == ALL_VARIANTS
    cpu = get_budget("cpu")
    network = cpu.network
    assert (network.image_size, network.generator_depth, cpu.variants, network.upsampling, network.norm) == (
        256, 8, ("pix2pix", "enhanced"), "resize", "instance")
    assert (network.generator_base_filters, network.discriminator_base_filters, network.dtype_policy) == (
        32, 32, "auto")
    assert (cpu.gan_trainer.epochs, cpu.gan_trainer.steps_per_epoch, cpu.num_synthetic) == (10, 0, 1000)
    assert "enhanced" in BUDGETS["toy"].variants
    with pytest.raises(ValueError, match="must include 'enhanced'"):
        dataclasses.replace(cpu, variants=("pix2pix",))
    with pytest.raises(ValueError, match="variants"):
        dataclasses.replace(cpu, variants=("enhanced", "cyclegan"))
    with pytest.raises(ValueError, match="variants"):
        dataclasses.replace(cpu, variants=("enhanced", "enhanced"))


def test_gan_config_gets_the_budgets_network_and_split_seed(tmp_path):
    from tf_esgan.reproduce.pipeline import ReproduceConfig, _gan_config, _segnet_config

    run = ReproduceConfig(dataset=str(tmp_path), out_dir=str(tmp_path / "out"), budget="cpu", seed=3,
                          split_seed=1)
    cpu = get_budget("cpu")
    budget = dataclasses.replace(cpu, network=dataclasses.replace(cpu.network, norm="batch", dtype_policy="float32"))
    config = _gan_config(run, budget, "pix2pix")
    assert config.model == budget.network and config.variant == "pix2pix"
    assert (config.model.norm, config.model.dtype_policy, config.model.upsampling) == ("batch", "float32", "resize")
    assert (config.trainer.seed, config.data.split_seed, config.model.image_size) == (3, 1, 256)
    assert (config.trainer.epochs, config.trainer.steps_per_epoch) == (10, 0)
    segnet = _segnet_config(run, budget, "R")
    assert (segnet.trainer.seed, segnet.data.split_seed, segnet.data_split_seed) == (3, 1, 1)
    assert segnet.model == dataclasses.replace(budget.segnet_model, dtype_policy=segnet.model.dtype_policy)
    assert (segnet.model.base_filters, segnet.data.crop_size, segnet.trainer.batch_size) == (32, 128, 8)
    assert segnet.trainer == dataclasses.replace(budget.segnet_trainer, seed=3)


def test_mean_colour_weights_every_pixel(tmp_path):
    # A 2x2 image of (10, 20, 30) and a 2x4 image of (40, 50, 60): 4 and 8 pixels, so the
    # mean is (4 * 10 + 8 * 40) / 12 = 30 in red, not the mean of image means (25).
    samples = []
    for name, shape, colour in (("a", (2, 2), (10, 20, 30)), ("b", (2, 4), (40, 50, 60))):
        write_image(tmp_path / f"{name}.png", np.full((*shape, 3), colour, np.uint8))
        samples.append(Sample(id=name, image_path=tmp_path / f"{name}.png", mask_path=tmp_path / "unused.png"))
    np.testing.assert_allclose(mean_colour(samples), [30.0, 40.0, 50.0])
    with pytest.raises(ValueError, match="training images"):
        mean_colour([])


def test_flat_generate_writes_the_rounded_colour_on_every_tile():
    labels = np.zeros((96, 80), np.int32)
    labels[10:20, 10:20] = 1
    image, origins = synthesize_image(labels, flat_generate(np.array([200.4, 100.6, 0.0])), FLAT_CONDITIONING, 64)
    assert len(origins) == 4 and image.shape == (96, 80, 3)
    assert (image == np.array([200, 101, 0], np.uint8)).all()


def test_segnet_trains_on_the_split_of_split_seed(datasets_dir):
    from tf_esgan.data.datasets import list_samples, split_samples_by_group
    from tf_esgan.segmentation.train import SegNetTrainConfig, _samples
    from tf_esgan.segmentation.train_config import SegNetDataConfig, SegNetTrainerConfig

    tnbc = datasets_dir / "tnbc"
    by_seed = {seed: split_samples_by_group(list_samples(tnbc), test_fraction=0.3, seed=seed)[0] for seed in (0, 1)}
    assert by_seed[0] != by_seed[1]
    for split_seed, expected in ((None, by_seed[1]), (0, by_seed[0])):
        config = SegNetTrainConfig(data=SegNetDataConfig(train_set="R", dataset_dir=str(tnbc), split_seed=split_seed),
                                   trainer=SegNetTrainerConfig(seed=1))
        # By id: the config stores the dataset folder resolved (symlinks followed), the
        # expected samples carry the path as given.
        assert [sample.id for sample in _samples(config).samples] == [sample.id for sample in expected]


def test_a_budget_recorded_flat_reads_as_the_same_budget():
    from tf_esgan.reproduce.pipeline import _nested_budget
    from tf_esgan.runs.run_dir import config_to_dict

    cpu = get_budget("cpu")
    flat = {"image_size": 256, "generator_base_filters": 32, "generator_depth": 8, "discriminator_base_filters": 32,
            "variants": ["pix2pix", "enhanced"], "norm": "instance", "dtype_policy": "auto", "upsampling": "resize",
            "gan_epochs": 10, "gan_steps_per_epoch": 0, "num_synthetic": 1000, "segnet_base_filters": 32,
            "segnet_crop_size": 128, "segnet_batch_size": 8, "segnet_epochs": 24, "segnet_steps_per_epoch": 25,
            "segnet_tune_images": 16}  # as config.json of benchmarks/results/reproduce_tnbc_cpu records it
    assert budget_from_flat_dict(flat) == cpu
    # The GAN's sections nested but SegNet's fields flat (as recorded in between), and today's.
    gan_nested = {**{key: value for key, value in flat.items() if key.startswith("segnet_")},
                  "network": config_to_dict(cpu.network), "gan_trainer": config_to_dict(cpu.gan_trainer),
                  "variants": flat["variants"], "num_synthetic": 1000}
    assert budget_from_flat_dict(gan_nested) == cpu
    assert budget_from_flat_dict(config_to_dict(cpu)) == cpu
    before_issue_20 = {"real_set": "", "real_fraction": 0.0}  # what a run recorded without them did
    assert _nested_budget({"run": {}, "budget": gan_nested}) == {"run": before_issue_20, "budget": config_to_dict(cpu)}
    assert _nested_budget({"run": {}, "budget": flat}) == {"run": before_issue_20, "budget": config_to_dict(cpu)}
    assert _nested_budget({"run": {"real_set": "cpm15"}})["run"] == {"real_set": "cpm15", "real_fraction": 0.0}


def test_real_set_and_real_fraction_reach_the_segnets_of_table_2(tmp_path):
    from tf_esgan.reproduce.pipeline import ReproduceConfig, _segnet_config
    from tf_esgan.reproduce.report import _real_note

    budget = get_budget("toy")
    own = ReproduceConfig(dataset=str(tmp_path / "tnbc"), out_dir=str(tmp_path / "out"), budget="toy")
    cross = ReproduceConfig(dataset=str(tmp_path / "tnbc"), out_dir=str(tmp_path / "out"), budget="toy",
                            real_set="cpm15", datasets_root=str(tmp_path), real_fraction=0.5)
    assert {train_set: _segnet_config(own, budget, train_set).data.real_train_dir
            for train_set in ("R", "S*")} == {"R": "", "S*": ""}
    for train_set in ("R", "R*", "S*"):
        assert _segnet_config(cross, budget, train_set).data.real_train_dir == str((tmp_path / "cpm15").resolve())
    # The held-out slides stay the dataset's; only S* gets the real share.
    assert _segnet_config(cross, budget, "R").data.dataset_dir == str((tmp_path / "tnbc").resolve())
    assert [_segnet_config(cross, budget, s).data.real_fraction for s in ("R", "S*")] == [0.0, 0.5]
    assert "all images of cpm15 (cross-dataset" in _real_note(cross) and "50% real crops" in _real_note(cross)
    assert "own training slides" in _real_note(own) and "pools real and synthetic" in _real_note(own)
    with pytest.raises(ValueError, match="real_fraction"):
        ReproduceConfig(dataset="tnbc", out_dir="o", real_fraction=1.5)
    with pytest.raises(ValueError, match="real_set"):
        ReproduceConfig(dataset="tnbc", out_dir="o", real_set="tnbc")
