"""MultiWorkerMirroredStrategy: two worker processes on 127.0.0.1 train a few steps and end
with identical weights; only the chief writes checkpoints and summaries."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from tf_esgan.data.datasets import sample_root

REPO = Path(__file__).resolve().parents[2]
WORKER = """
import sys, numpy as np
from tf_esgan.models.networks import NetworkConfig
from tf_esgan.training.gan_config import GanDataConfig, RuntimeConfig, TrainConfig, TrainerConfig
from tf_esgan.training.gan_trainer import train_and_evaluate
config = TrainConfig(data=GanDataConfig(dataset_dir=sys.argv[1], test_fraction=0.25),
                     runtime=RuntimeConfig(model_dir=sys.argv[2], strategy="multi_worker", verbose=0),
                     model=NetworkConfig(image_size=32, generator_base_filters=4, generator_depth=5,
                                         discriminator_base_filters=4, dtype_policy="auto"),
                     trainer=TrainerConfig(batch_size=2, epochs=1, steps_per_epoch=3))
result = train_and_evaluate(config)
weights = [w.numpy() for w in result.generator.weights + result.discriminator.weights]
np.savez(sys.argv[3], step=result.step, *weights)
"""


def test_two_workers_end_with_identical_weights(tmp_path, free_ports):
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    run = tmp_path / "run"
    workers = []
    for index in range(2):
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2",
               "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
        workers.append(subprocess.Popen(
            [sys.executable, "-c", WORKER, str(sample_root()), str(run), str(tmp_path / f"weights{index}.npz")],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outputs = [worker.communicate(timeout=300) for worker in workers]
    for worker, (_, stderr) in zip(workers, outputs):
        assert worker.returncode == 0, stderr[-3000:]
    chief, other = (np.load(tmp_path / f"weights{index}.npz") for index in range(2))
    assert int(chief["step"]) == int(other["step"]) == 3
    names = [name for name in chief.files if name != "step"]
    assert len(names) > 20
    for name in names:
        np.testing.assert_array_equal(chief[name], other[name])
    # Training moved the weights (a test of identical untrained weights would prove nothing).
    assert "finished: step 3" in outputs[0][0] and outputs[1][0].strip() == ""
    # Only the chief's files exist: one event file, one set of checkpoints.
    assert len(list((run / "logs").glob("events.out.tfevents.*"))) == 1
    assert sorted(path.name for path in (run / "checkpoints").glob("*.index")) == ["ckpt-3.index"]
