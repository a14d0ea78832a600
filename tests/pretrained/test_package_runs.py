"""tools/package_pretrained.py on tiny esgan-train and esgan-train-segnet run folders."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_esgan.models.networks import build_networks
from tf_esgan.models.segnet import SegNetConfig, build_segnet
from tf_esgan.pretrained import available, load_generator, load_segnet, model_card
from tf_esgan.serving.pretrained_packaging import package_segnet_run
from tf_esgan.runs.run_dir import prepare_run_dir
from tf_esgan.pretrained.segnet_loading import save_watershed_config
from tf_esgan.segmentation.postprocess import WatershedConfig
from tf_esgan.segmentation.train import SegNetTrainConfig
from tf_esgan.segmentation.train_config import SegNetDataConfig
from tf_esgan.training.checkpoints import CHECKPOINT_DIR, RunCheckpoints

from conftest import REPO, tiny_train_config


def _generator_run(folder):
    config = tiny_train_config("unused", folder, variant="sharp_gan", generator_base_filters=2,
                               discriminator_base_filters=2, dtype_policy="float32")
    prepare_run_dir(folder, config)
    keras.utils.set_random_seed(4)
    generator, discriminator = build_networks(config.variant, config.model)
    RunCheckpoints(tf.train.Checkpoint(generator=generator, discriminator=discriminator),
                   read_dir=folder / CHECKPOINT_DIR, write_dir=folder / CHECKPOINT_DIR, keep=1).save(1)
    return generator


def _segnet_run(folder):
    config = SegNetTrainConfig(data=SegNetDataConfig(dataset_dir="unused"),
                               model=SegNetConfig(base_filters=2, dtype_policy="float32"))
    prepare_run_dir(folder, config)
    segnet = build_segnet(SegNetConfig(base_filters=2))
    segnet.save(folder / "segnet.keras")
    save_watershed_config(WatershedConfig(foreground_threshold=0.4, marker_threshold=0.6, min_area=7),
                          folder / "watershed.json")
    return segnet


def test_packages_both_runs_with_card_and_checksums(tmp_path):
    generator = _generator_run(tmp_path / "gan")
    segnet = _segnet_run(tmp_path / "seg")
    (tmp_path / "card.json").write_text(json.dumps({"slides": ["01", "02"], "licence": "CC BY 4.0"}))
    models = tmp_path / "models"
    command = [sys.executable, str(REPO / "tools" / "package_pretrained.py"), "--name=tnbc",
               f"--generator_run={tmp_path / 'gan'}", f"--segnet_run={tmp_path / 'seg'}",
               f"--card={tmp_path / 'card.json'}", f"--models_dir={models}"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=300,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 0, result.stderr
    assert f"pretrained:tnbc (generator): {models / 'tnbc_generator.npz'}" in result.stdout
    assert "pretrained:tnbc (segnet)" in result.stdout and "all pretrained weights in" in result.stdout
    assert available(models) == {"generator": ["tnbc"], "segnet": ["tnbc"]}
    assert sorted(path.name for path in models.iterdir()) == [
        "registry.json", "tnbc_generator.json", "tnbc_generator.npz", "tnbc_segnet.json", "tnbc_segnet.npz"]

    loaded, conditioning = load_generator("tnbc", directory=models)
    assert conditioning == "distance"  # sharp_gan's, from the run's config.json
    for mine, theirs in zip(loaded.get_weights(), generator.get_weights()):
        np.testing.assert_array_equal(mine, theirs.astype(np.float16).astype(np.float32))
    loaded_segnet, watershed = load_segnet("tnbc", directory=models)
    assert watershed == WatershedConfig(foreground_threshold=0.4, marker_threshold=0.6, min_area=7)
    assert len(loaded_segnet.get_weights()) == len(segnet.get_weights())

    record = model_card("generator", "tnbc", models)
    assert record["card"] == {"slides": ["01", "02"], "licence": "CC BY 4.0"}
    assert record["source"]["run_dir"] == str((tmp_path / "gan").resolve())
    assert record["source"]["training_config"]["loss"]["variant"] == "sharp_gan"
    assert record["network"]["generator_base_filters"] == 2 and record["network"]["dtype_policy"] == "float32"


def test_bad_card_and_missing_run_are_named(tmp_path):
    (tmp_path / "card.json").write_text("[1, 2]")
    result = subprocess.run(
        [sys.executable, str(REPO / "tools" / "package_pretrained.py"), "--name=x", f"--segnet_run={tmp_path}",
         f"--card={tmp_path / 'card.json'}", f"--models_dir={tmp_path / 'models'}"],
        capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}, timeout=300)
    assert result.returncode == 1 and f"--card={tmp_path / 'card.json'}: expected a JSON object" in result.stderr
    with pytest.raises(FileNotFoundError, match=f"{tmp_path / 'config.json'}: missing; expected an "
                                                "esgan-train-segnet run folder"):
        package_segnet_run(tmp_path, name="x", directory=tmp_path / "models")
    assert not (tmp_path / "models").exists()
