"""Synthesis throughput of `esgan-train`'s default generator (images/s at batch 1, 8, 32).

    python benchmarks/synthesis_speed.py [--batches=2] [--full=6000]

The generator is the one `esgan-train` builds with its default flags (full pix2pix
widths at 256x256, instance norm, dtype policy "auto": mixed_bfloat16 on this CPU).
--full=N also times one real N-pair `synthesize` run at batch 8 (target: 6,000 in < 5 min).

Prints JSON: for each batch size, generator-only images/s and end-to-end images/s of
`synthesis.synthesize` (mask drawing, skeleton map, G, two atomic PNG writes per pair).
Random weights: speed does not depend on training.
"""

import json
import os
import tempfile
import time

from absl import app, flags

_ROUNDS = flags.DEFINE_integer("batches", 2, "Timed batches per batch size (after one warm-up batch).")
_FULL = flags.DEFINE_integer("full", 0, "Also time one end-to-end run of this many pairs at batch 8 (0: skip).")


def main(argv):
    import keras
    import numpy as np
    import tensorflow as tf

    from tf_esgan import synthesis
    from tf_esgan.models.inference import generate
    from tf_esgan.models.networks import build_networks
    from tf_esgan.training.gan_config import GanDataConfig, RuntimeConfig, TrainConfig

    keras.utils.set_random_seed(0)
    default = TrainConfig(data=GanDataConfig(dataset_dir="-"), runtime=RuntimeConfig(model_dir="-"))
    generator, _ = build_networks(default.variant, default.model)
    infer = tf.function(lambda condition: generate(generator, condition), reduce_retracing=True)
    results = {"load_average": os.getloadavg()[0], "cores": os.cpu_count(),
               "network": str(default.model)}
    for batch in (1, 8, 32):
        condition = np.random.default_rng(0).uniform(0, 2, (batch, 256, 256, 1)).astype(np.float32)
        infer(condition)  # trace and warm up
        started = time.perf_counter()
        for _ in range(_ROUNDS.value):
            infer(condition).numpy()
        generator_rate = batch * _ROUNDS.value / (time.perf_counter() - started)
        with tempfile.TemporaryDirectory() as folder:
            config = synthesis.SynthesisConfig(model="-", out_dir=folder, num_images=batch, batch_size=batch,
                                               conditioning="skeleton")
            synthesis.synthesize(config, generator=generator, verbose=0, log=lambda message: None)  # warm-up
            config = synthesis.SynthesisConfig(model="-", out_dir=folder, num_images=batch * (1 + _ROUNDS.value),
                                               batch_size=batch, conditioning="skeleton")
            summary = synthesis.synthesize(config, generator=generator, verbose=0, log=lambda message: None)
        results[f"batch_{batch}"] = {"generator_images_per_s": round(generator_rate, 2),
                                     "end_to_end_images_per_s": round(summary["written"] / summary["seconds"], 2)}
        print(json.dumps({f"batch_{batch}": results[f"batch_{batch}"]}), flush=True)
    if _FULL.value:
        with tempfile.TemporaryDirectory() as folder:
            config = synthesis.SynthesisConfig(model="-", out_dir=folder, num_images=_FULL.value, batch_size=8,
                                               conditioning="skeleton")
            summary = synthesis.synthesize(config, generator=generator, verbose=0, log=lambda message: None)
        results["full_run"] = {"pairs": summary["written"], "seconds": summary["seconds"]}
        print(json.dumps({"full_run": results["full_run"]}), flush=True)
    results["load_average_after"] = os.getloadavg()[0]
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    app.run(main)
