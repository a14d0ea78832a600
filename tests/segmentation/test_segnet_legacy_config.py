"""SegNet config.json files written before SegNetTrainConfig was nested (one flat dict) still
load, evaluate, package and resume."""

import dataclasses
import json

import pytest

from tf_esgan.data.datasets import sample_root
from tf_esgan.models.segnet import SegNetConfig
from tf_esgan.serving.pretrained_packaging import package_segnet_run
from tf_esgan.runs.run_dir import SEGNET_RUN, ConfigMismatchError, config_to_dict, run_kind
from tf_esgan.segmentation.scoring import evaluate_run
from tf_esgan.segmentation.train import train_segnet
from tf_esgan.segmentation.train_config import (SegNetDataConfig, SegNetTrainConfig, SegNetTrainerConfig,
                                                nested_json_dict)

# The leaf fields of the flat SegNetTrainConfig, as its config.json held them.
FLAT_FIELDS = ("train_set", "dataset_dir", "synthetic_dir", "epochs", "steps_per_epoch", "batch_size", "crop_size",
               "learning_rate", "distance_weight", "base_filters", "dtype_policy", "seed", "split_seed",
               "test_fraction", "tune_images", "strategy", "checkpoint_every_steps", "keep_checkpoints")


def _flat_json(config: SegNetTrainConfig) -> dict:
    """`config` as a config.json of the flat layout (before the nesting) recorded it."""
    leaves = {key: value for section in config_to_dict(config).values() for key, value in section.items()}
    return {name: leaves[name] for name in FLAT_FIELDS}


def _config(epochs: int = 1, batch_size: int = 2) -> SegNetTrainConfig:
    return SegNetTrainConfig(
        data=SegNetDataConfig(train_set="R", dataset_dir=str(sample_root()), crop_size=64, test_fraction=0.25),
        model=SegNetConfig(base_filters=2, dtype_policy="float32"),
        trainer=SegNetTrainerConfig(epochs=epochs, steps_per_epoch=1, batch_size=batch_size, tune_images=1))


def test_flat_and_nested_config_json_read_as_the_same_config(tmp_path):
    config = _config()
    flat = _flat_json(config)
    # A flat run predates `tune_on`: it tuned its watershed on its own training images.
    legacy = dataclasses.replace(config, trainer=dataclasses.replace(config.trainer, tune_on="training"))
    assert SegNetTrainConfig.from_json_dict(flat) == legacy
    assert SegNetTrainConfig.from_json_dict(config_to_dict(config)) == config
    assert nested_json_dict(flat) == config_to_dict(legacy)
    assert nested_json_dict(config_to_dict(config)) == config_to_dict(config)
    for layout in (flat, config_to_dict(config)):
        (tmp_path / "config.json").write_text(json.dumps(layout))
        assert run_kind(tmp_path) == SEGNET_RUN


def test_a_flat_config_json_run_evaluates_packages_and_resumes_rewritten_nested(tmp_path, capsys):
    run = tmp_path / "run"
    first = _config()
    train_segnet(first, run, verbose=0)
    (run / "config.json").write_text(json.dumps(_flat_json(first), indent=2))

    # Evaluation reads the run's dataset, split and seed from the flat file.
    report = evaluate_run(run)
    assert report["dataset_dir"] == str(sample_root().resolve()) and report["split"] == "test"
    record = package_segnet_run(run, name="legacy", directory=tmp_path / "packaged")
    assert record["network"]["base_filters"] == 2 and record["source"]["training_config"]["train_set"] == "R"

    # A value that changes what a checkpoint means is still refused, named by its dotted path.
    with pytest.raises(ConfigMismatchError, match=r"trainer\.batch_size: 2 in the run, 1 requested"):
        train_segnet(_config(batch_size=1), run, verbose=0)
    assert "data" not in json.loads((run / "config.json").read_text())  # untouched by the refusal

    longer = _config(epochs=2)
    capsys.readouterr()
    train_segnet(longer, run, verbose=2)
    assert "resumed from" in capsys.readouterr().out
    assert json.loads((run / "config.json").read_text()) == config_to_dict(longer)
