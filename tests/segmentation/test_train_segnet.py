"""Tiny end-to-end SegNet training, resume, evaluation and the CLI, on 3 real TNBC images."""

import dataclasses
import json
import math
import os
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_esgan.data.datasets import list_samples, slide_of, split_samples_by_group
from tf_esgan.models.precision import AUTO_DTYPE_POLICY
from tf_esgan.models.segnet import SegNetConfig
from tf_esgan.runs.run_dir import ConfigMismatchError
from tf_esgan.segmentation.scoring import evaluate_run, pad_to_multiple
import tf_esgan.segmentation.loss  # noqa: F401  (registers SegNetLoss for load_model)
from tf_esgan.segmentation.loss import segnet_loss
from tf_esgan.segmentation.train import SegNetTrainConfig, train_segnet
from tf_esgan.segmentation.train_config import SegNetDataConfig, SegNetTrainerConfig

_IDS = ("01_1", "01_2", "02_1")  # two slides: one for training, one for testing


@pytest.fixture(scope="module")
def three_images(datasets_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("tnbc3")
    for folder in ("images", "masks"):
        (root / folder).mkdir()
        for sample_id in _IDS:
            shutil.copy(datasets_dir / "tnbc" / folder / f"{sample_id}.png", root / folder)
    return root


def _config(dataset_dir, epochs):
    return SegNetTrainConfig(
        data=SegNetDataConfig(train_set="R*", dataset_dir=str(dataset_dir), crop_size=64, test_fraction=0.5),
        model=SegNetConfig(base_filters=4, dtype_policy=AUTO_DTYPE_POLICY),
        trainer=SegNetTrainerConfig(epochs=epochs, steps_per_epoch=2, batch_size=2, tune_images=1))


def _checkpointed(model_dir, name):
    """A value of the newest checkpoint of a run."""
    reader = tf.train.load_checkpoint(str(model_dir / "checkpoints"))
    return int(reader.get_tensor(f"{name}/.ATTRIBUTES/VARIABLE_VALUE"))


def test_segnet_loss_golden():
    targets = np.array([[[[1.0, 0.5], [0.0, 0.0]]]], np.float32)  # [1, 1, 2, 2]
    outputs = np.array([[[[0.8, 0.25], [0.1, 0.5]]]], np.float32)
    expected = (-np.log(0.8) + 2.0 * 0.25**2 - np.log(0.9) + 2.0 * 0.5**2) / 2
    np.testing.assert_allclose(segnet_loss(targets, outputs, 2.0).numpy(), [expected], rtol=1e-6)


def test_pad_to_multiple():
    image = np.arange(40 * 70 * 3).reshape(40, 70, 3)
    padded = pad_to_multiple(image)
    assert padded.shape == (64, 96, 3)
    np.testing.assert_array_equal(padded[:40, :70], image)
    np.testing.assert_array_equal(padded[40, :70], image[39])  # mirrored, not zeros


def test_train_resume_evaluate_and_cli(three_images, tmp_path):
    model_dir = tmp_path / "run"
    train_segnet(_config(three_images, epochs=1), model_dir, verbose=0)
    assert _checkpointed(model_dir, "epoch") == 1 and _checkpointed(model_dir, "step") == 2
    assert _checkpointed(model_dir, "optimizer/_iterations") == 2
    first = keras.models.load_model(model_dir / "segnet.keras")
    assert int(first.optimizer.iterations) == 2
    assert json.loads((model_dir / "config.json").read_text())["data"]["train_set"] == "R*"

    # Resume to 2 epochs: continues from epoch 1 (2 more steps, not 4).
    train_segnet(_config(three_images, epochs=2), model_dir, verbose=0)
    assert _checkpointed(model_dir, "epoch") == 2 and _checkpointed(model_dir, "step") == 4
    final = keras.models.load_model(model_dir / "segnet.keras")  # with its optimizer state
    assert int(final.optimizer.iterations) == 4
    assert any(not np.array_equal(a, b) for a, b in zip(first.get_weights(), final.get_weights()))
    assert list((model_dir / "logs").rglob("events.out.tfevents.*"))

    watershed = json.loads((model_dir / "watershed.json").read_text())
    assert 0 < watershed["foreground_threshold"] < 1 and 0 < watershed["marker_threshold"] < 1

    report = evaluate_run(model_dir)
    _, test = split_samples_by_group(list_samples(three_images), test_fraction=0.5, seed=0)
    assert report["split"] == "test" and report["images"] == [s.id for s in test]
    assert len({slide_of(i) for i in report["images"]}) == 1 and report["num_images"] == len(test)
    for name in ("dq", "sq", "pq", "aji"):
        for kind in ("mean", "pooled"):
            value = report[f"{kind}_{name}"]
            assert math.isfinite(value) and 0.0 <= value <= 1.0
    assert json.loads((model_dir / "eval_test.json").read_text())["mean_aji"] == report["mean_aji"]

    with pytest.raises(ConfigMismatchError, match="trainer.learning_rate"):
        config = _config(three_images, 2)
        train_segnet(dataclasses.replace(config, trainer=dataclasses.replace(config.trainer, learning_rate=0.1)),
                     model_dir, verbose=0)

    # The CLI extends the finished run by one epoch.
    command = [sys.executable, "-m", "tf_esgan.cli.train_segnet", "--train_set=R*",
               f"--dataset_dir={three_images}", f"--model_dir={model_dir}", "--epochs=3",
               "--steps_per_epoch=2", "--batch_size=2", "--crop_size=64", "--base_filters=4",
               "--test_fraction=0.5", "--tune_images=1", "--quiet"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Epoch 3/3" in result.stdout and "segnet.keras" in result.stdout
    assert _checkpointed(model_dir, "epoch") == 3
