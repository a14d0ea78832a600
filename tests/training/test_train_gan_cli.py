"""esgan-train end to end (subprocess): scalars in the event files, config.json, checkpoints,
and the refusals of bad input with a non-zero exit."""

import json
import math
import os
import resource
import signal
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
import tensorflow as tf

from tf_esgan.data.datasets import sample_root
from tf_esgan.models.gan import LOSS_NAMES
from tf_esgan.training import summaries

REPO = Path(__file__).resolve().parents[2]
TINY = ["--image_size=32", "--generator_base_filters=4", "--generator_depth=5",
        "--discriminator_base_filters=4", "--batch_size=2", "--test_fraction=0.25", "--quiet"]
NO_XLA = "--contour_xla=false"  # saves the XLA compile; the first test keeps the default path


def train(model_dir, *extra, dataset_dir=None, preexec_fn=None):
    command = [sys.executable, "-m", "tf_esgan.cli.train_gan", f"--dataset_dir={dataset_dir or sample_root()}",
               f"--model_dir={model_dir}", *TINY, *extra]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300, preexec_fn=preexec_fn,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})


def read_events(log_dir):
    """tag -> {step: value or image bytes} over every event file of a run."""
    found = defaultdict(dict)
    for path in sorted(Path(log_dir).glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                tensor = tf.make_ndarray(value.tensor) if value.HasField("tensor") else None
                found[value.tag][event.step] = tensor
    return found


def test_train_writes_scalars_images_config_and_checkpoints(tmp_path):
    run = tmp_path / "run"
    result = train(run, "--epochs=2", "--steps_per_epoch=2")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "finished: step 4, epoch 2/2" in result.stdout

    config = json.loads((run / "config.json").read_text())
    assert config["model"]["image_size"] == 32 and config["trainer"]["epochs"] == 2
    assert config["loss"]["variant"] == "enhanced"
    assert config["trainer"]["learning_rate"] == 1e-4 and config["trainer"]["batch_size"] == 2

    events = read_events(run / "logs")
    for name in LOSS_NAMES:
        values = events[f"loss/{name}"]
        assert sorted(values) == [1, 2, 3, 4]
        assert all(math.isfinite(float(value)) for value in values.values())
    assert float(events["loss/d_loss"][1]) == pytest.approx(2 * math.log(2), abs=0.2)  # D starts near chance
    for network in ("generator", "discriminator"):
        rates = events[f"learning_rate/{network}"]
        assert sorted(rates) == [1, 2, 3, 4] and all(float(v) == pytest.approx(1e-4) for v in rates.values())
    assert all(float(v) > 0 for v in events["speed/steps_per_sec"].values())
    assert sorted(events[summaries.IMAGE_TAG]) == [2, 4]  # once per epoch
    grid = tf.io.decode_png(events[summaries.IMAGE_TAG][4][2])  # [width, height, png]
    assert grid.shape == (32, 96, 3)  # 1 validation image: condition | real | synthetic
    assert 0 < float(events["validation/ssim"][4]) < 1
    assert "_hparams_/session_start_info" in events

    reader = tf.train.load_checkpoint(str(run / "checkpoints"))
    assert reader.get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE") == 4
    assert reader.get_tensor("epoch/.ATTRIBUTES/VARIABLE_VALUE") == 2
    assert reader.get_tensor("g_optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE") == 4
    assert reader.get_tensor("d_optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE") == 4

    # Contradicting flags: refused, naming the value, config.json untouched.
    before = (run / "config.json").read_text()
    refused = train(run, "--epochs=2", "--steps_per_epoch=2", "--learning_rate=0.001")
    assert refused.returncode == 2
    assert "trainer.learning_rate: 0.0001 in the run, 0.001 requested" in refused.stderr
    assert (run / "config.json").read_text() == before

    # Disk full while saving (a file-size limit makes every large write fail): clear
    # error, non-zero exit, and the previous checkpoint is intact.
    def limit_file_size():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))

    full = train(run, "--epochs=3", "--steps_per_epoch=2", preexec_fn=limit_file_size)
    assert full.returncode == 2, full.stderr[-2000:]
    assert "could not write the checkpoint of step 6" in full.stderr and "ckpt-4 is intact" in full.stderr
    assert tf.train.latest_checkpoint(str(run / "checkpoints")).endswith("ckpt-4")
    assert not list((run / "checkpoints").glob("*_temp*"))  # the failed save's temporaries are gone
    assert tf.train.load_checkpoint(str(run / "checkpoints")).get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE") == 4


def test_lr_decay_epochs_decays_the_rate_each_step_applies(tmp_path):
    run = tmp_path / "run"
    result = train(run, "--epochs=2", "--steps_per_epoch=2", "--lr_decay_epochs=2", NO_XLA)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((run / "config.json").read_text())["trainer"]["lr_decay_epochs"] == 2
    events = read_events(run / "logs")
    # decay over all 4 steps: step k (1-based) applies lr(k - 1) = 1e-4 * (4 - (k - 1)) / 4
    for network in ("generator", "discriminator"):
        rates = events[f"learning_rate/{network}"]
        assert [float(rates[step]) for step in (1, 2, 3, 4)] == pytest.approx([1e-4, 0.75e-4, 0.5e-4, 0.25e-4])


def test_bad_input_exits_non_zero_with_a_clear_message(tmp_path):
    (tmp_path / "empty" / "images").mkdir(parents=True)
    (tmp_path / "empty" / "masks").mkdir()
    empty = train(tmp_path / "run", dataset_dir=tmp_path / "empty")
    assert empty.returncode == 2 and "no samples" in empty.stderr
    assert not (tmp_path / "run").exists()  # nothing written for a failed start

    variant = train(tmp_path / "run", "--variant=stylegan")
    assert variant.returncode == 2 and len(variant.stderr.strip().splitlines()) == 1 and "stylegan" in variant.stderr and "enhanced" in variant.stderr
    strategy = train(tmp_path / "run", "--strategy=tpu")
    assert strategy.returncode == 2 and "multi_worker" in strategy.stderr
