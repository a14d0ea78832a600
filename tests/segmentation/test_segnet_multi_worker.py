"""SegNet on the shared loop: two MultiWorkerMirroredStrategy workers on 127.0.0.1 train a
step like one process with the same global batch, and only the chief writes; a run stopped
after a mid-epoch checkpoint and rerun ends with the weights of an uninterrupted run; a
run folder of the fit-era trainer is not resumed."""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import tf_esgan.segmentation.loss  # noqa: F401  (registers SegNetLoss for load_model)
from tf_esgan.data.datasets import sample_root
from tf_esgan.segmentation.train import SegNetTrainConfig, train_segnet
from tf_esgan.training import checkpoints

REPO = Path(__file__).resolve().parents[2]
# A global batch of 2 crops; 2 epochs of 2 steps with a checkpoint after every step.
TINY = {"data": dict(train_set="R*", crop_size=64, test_fraction=0.25),
        "model": dict(base_filters=4, dtype_policy="float32"),
        "trainer": dict(epochs=2, steps_per_epoch=2, batch_size=2, tune_images=1, checkpoint_every_steps=1)}
# The two-worker comparison trains one step (see the tolerance below).
ONE_STEP = dict(epochs=1, steps_per_epoch=1)
WORKER = """
import sys
from tf_esgan.segmentation.train import SegNetTrainConfig, train_segnet
values = {config!r}
values["data"]["dataset_dir"] = sys.argv[1]
config = SegNetTrainConfig.from_json_dict({{**values, "runtime": {{"strategy": "multi_worker"}}}})
train_segnet(config, sys.argv[2], verbose=2)
""".format(config={**TINY, "trainer": {**TINY["trainer"], **ONE_STEP}})


def _config(**trainer_changes):
    """TINY on the embedded samples; `trainer_changes` replace its trainer fields."""
    return SegNetTrainConfig.from_json_dict({**TINY, "data": {**TINY["data"], "dataset_dir": str(sample_root())},
                                             "trainer": {**TINY["trainer"], **trainer_changes}})


def _weights(run):
    return keras.models.load_model(run / "segnet.keras").get_weights()


def _first_loss(run):
    for path in (run / "logs").glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                if value.tag == "loss/loss" and event.step == 1:
                    return float(tf.make_ndarray(value.tensor))
    raise AssertionError(f"no loss/loss of step 1 in {run / 'logs'}")


@pytest.fixture(scope="module")
def uninterrupted_weights(tmp_path_factory):
    """The weights of an uninterrupted single-process run of TINY (default strategy)."""
    run = tmp_path_factory.mktemp("segnet") / "one"
    train_segnet(_config(), run, verbose=0)
    return _weights(run)


def test_two_workers_train_like_one_process(tmp_path, free_ports):
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    run = tmp_path / "run"
    workers = []
    for index in range(2):
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2",
               "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
        workers.append(subprocess.Popen([sys.executable, "-c", WORKER, str(sample_root()), str(run)], cwd=REPO,
                                        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    one_process = tmp_path / "one"
    train_segnet(_config(**ONE_STEP), one_process, verbose=0)  # meanwhile, the reference
    outputs = [worker.communicate(timeout=300) for worker in workers]
    for worker, (_, stderr) in zip(workers, outputs):
        assert worker.returncode == 0, stderr[-3000:]
    assert "Epoch 1/1" in outputs[0][0] and outputs[1][0].strip() == ""  # only the chief talks
    # Only the chief's files exist: one event file, one checkpoint, one model.
    assert sorted(path.name for path in run.iterdir() if not path.name.startswith(".")) == [
        "checkpoints", "config.json", "logs", "segnet.keras", "watershed.json"]
    assert len(list((run / "logs").glob("events.out.tfevents.*"))) == 1
    assert sorted(path.name for path in (run / "checkpoints").glob("*.index")) == ["ckpt-1.index"]

    # Same initial weights and the same global batch: the same loss before the update.
    assert _first_loss(run) == pytest.approx(_first_loss(one_process), rel=1e-6)
    # The update: each worker's gradient (and batch-norm statistics) is a sum of two
    # per-worker partial sums instead of one sum over the batch, which changes float32
    # gradients by ~1e-4 of their norm. Adam's first step is lr * g / (|g| + 1e-7), about
    # lr * sign(g), so wherever |g| is below that noise (dead units) the sign, and the
    # update, may flip: those elements differ by up to 2 lr, all others by rounding. A
    # wrong data split or unreduced gradient would move most elements differently.
    distributed, expected = _weights(run), _weights(one_process)
    assert len(distributed) == len(expected) > 20
    learning_rate = _config().trainer.learning_rate
    for got, want in zip(distributed, expected):
        np.testing.assert_allclose(got, want, rtol=0, atol=2 * learning_rate * 1.01)
    close = sum(int(np.sum(np.abs(got - want) <= 1e-5)) for got, want in zip(distributed, expected))
    assert close / sum(want.size for want in expected) > 0.9


def test_stopped_mid_epoch_then_rerun_ends_like_an_uninterrupted_run(tmp_path, monkeypatch, uninterrupted_weights):
    run = tmp_path / "run"
    save = checkpoints.RunCheckpoints.save

    class Killed(Exception):
        pass

    def save_then_die_at_step_3(self, step):
        prefix = save(self, step)
        if step == 3:  # mid-epoch 2: epoch 1, epoch_step 1
            raise Killed(prefix)
        return prefix

    monkeypatch.setattr(checkpoints.RunCheckpoints, "save", save_then_die_at_step_3)
    with pytest.raises(Killed):
        train_segnet(_config(), run, verbose=0)
    monkeypatch.undo()
    assert not (run / "segnet.keras").exists()

    train_segnet(_config(), run, verbose=0)
    resumed = _weights(run)
    # Same process, same ops on the same batches: the resumed run repeats the arithmetic
    # of the uninterrupted one exactly.
    for got, expected in zip(resumed, uninterrupted_weights):
        np.testing.assert_array_equal(got, expected)
    assert keras.models.load_model(run / "segnet.keras").optimizer.iterations.numpy() == 4


def test_a_run_of_the_fit_era_trainer_is_not_resumed(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "checkpoint.json").write_text(json.dumps({"epoch": 1, "file": "checkpoint-1.keras"}))
    with pytest.raises(checkpoints.CheckpointError) as error:
        train_segnet(_config(), run, verbose=0)
    message = str(error.value)
    assert str(run / "checkpoint.json") in message and "--overwrite" in message and "\n" not in message
