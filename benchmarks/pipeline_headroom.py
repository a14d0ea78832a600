"""Input-pipeline headroom: GAN step time fed by the real tf.data pipeline vs cached tensors.

    python benchmarks/pipeline_headroom.py --dataset_dir=../shared/datasets/tnbc [--steps=20]

Same full-size enhanced model and the trainer's own train step (`distributed.make_train_step`,
default strategy, batch 1, 256x256); the two feeds alternate in rounds, side by side in one
run. Target: pipeline step time within 5% of the cached one.
"""

import json
import os
import time

from absl import app, flags

_DATASET_DIR = flags.DEFINE_string("dataset_dir", None, "Canonical dataset.")
_STEPS = flags.DEFINE_integer("steps", 15, "Timed steps per feed and round.")
_ROUNDS = flags.DEFINE_integer("rounds", 2, "Alternating rounds.")
_BATCH = flags.DEFINE_integer("batch_size", 1, "Batch size (paper: 1).")
flags.mark_flag_as_required("dataset_dir")


def main(argv):
    import numpy as np
    import tensorflow as tf

    from tf_esgan.data.datasets import list_samples
    from tf_esgan.data.pipeline import PipelineConfig, make_dataset
    from tf_esgan.training import distributed, gan_trainer
    from tf_esgan.training.gan_config import GanDataConfig, RuntimeConfig, TrainConfig, TrainerConfig

    config = TrainConfig(data=GanDataConfig(dataset_dir=_DATASET_DIR.value), runtime=RuntimeConfig(model_dir="-"),
                         trainer=TrainerConfig(batch_size=_BATCH.value))
    strategy = distributed.make_strategy("default")
    gan = gan_trainer._build(config, strategy)
    step = distributed.make_train_step(gan_trainer.gan_replica_step(gan, strategy), strategy)
    pipeline = PipelineConfig(conditioning=config.conditioning, crop_size=256, batch_size=_BATCH.value,
                              augment=True, shuffle=True, repeat=True, drop_remainder=True)
    real = iter(make_dataset(list_samples(_DATASET_DIR.value), pipeline))
    cached_batch = next(real)
    cached = iter(tf.data.Dataset.from_tensors(cached_batch).repeat())
    for feed in (real, cached):
        step(next(feed))  # trace, warm up
    times = {"tf.data pipeline": [], "cached tensors": []}
    for _ in range(_ROUNDS.value):
        for name, feed in (("tf.data pipeline", real), ("cached tensors", cached)):
            started = time.perf_counter()
            for _ in range(_STEPS.value):
                losses = step(next(feed))
            float(losses["g_total"])
            times[name].append((time.perf_counter() - started) / _STEPS.value)
    result = {name: round(float(np.median(values)), 4) for name, values in times.items()}
    result["ratio"] = round(result["tf.data pipeline"] / result["cached tensors"], 4)
    result["load_average"] = os.getloadavg()[0]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    app.run(main)
