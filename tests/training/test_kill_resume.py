"""SIGKILL during training, then the same command again: resumes at the checkpoint's step
with the optimizer state restored; every kept checkpoint stays loadable."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import tensorflow as tf

from tf_esgan.data.datasets import sample_root

REPO = Path(__file__).resolve().parents[2]
STEPS = 20  # the kill lands a few steps after the first checkpoint; fewer steps, a shorter resume


def test_sigkill_then_resume_continues_from_the_checkpoint(tmp_path):
    run = tmp_path / "run"
    command = [sys.executable, "-m", "tf_esgan.cli.train_gan", f"--dataset_dir={sample_root()}", f"--model_dir={run}",
               "--image_size=32", "--generator_base_filters=4", "--generator_depth=5",
               "--discriminator_base_filters=4", "--batch_size=2", "--test_fraction=0.25",
               "--epochs=1", f"--steps_per_epoch={STEPS}", "--checkpoint_every_steps=1", "--keep_checkpoints=2",
               "--contour_xla=false",
               "--quiet"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = run / "checkpoints" / "checkpoint"
    deadline = time.monotonic() + 240
    while not state.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    time.sleep(0.3)  # a few more steps, so the kill likely lands in or near a save
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert state.exists(), "no checkpoint was written before the deadline"

    checkpoints = tf.train.get_checkpoint_state(str(run / "checkpoints")).all_model_checkpoint_paths
    for prefix in checkpoints:  # every listed checkpoint is complete
        assert tf.train.load_checkpoint(prefix).get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE") > 0
    killed_at = tf.train.load_checkpoint(checkpoints[-1]).get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE")
    assert 1 <= killed_at < STEPS

    resumed = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"step {killed_at}, epoch 0, optimizer step {killed_at}" in resumed.stdout
    assert f"finished: step {STEPS}, epoch 1/1, {STEPS - killed_at} steps" in resumed.stdout
    final = tf.train.load_checkpoint(str(run / "checkpoints"))
    assert final.get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE") == STEPS
    # Adam's step count continued from the checkpoint: a fresh optimizer would stop at
    # STEPS - killed_at.
    assert final.get_tensor("g_optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE") == STEPS
    assert final.get_tensor("d_optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE") == STEPS
