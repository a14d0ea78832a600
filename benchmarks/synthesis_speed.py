"""Synthesis throughput of the full-size generator (images/s at batch 1, 8, 32, CPU).

    python benchmarks/synthesis_speed.py [--images_per_batch_size=2]

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


def main(argv):
    import keras
    import numpy as np
    import tensorflow as tf

    from tf_esgan import synthesis
    from tf_esgan.models.networks import NetworkConfig, build_networks

    keras.utils.set_random_seed(0)
    generator, _ = build_networks("enhanced", NetworkConfig())
    infer = tf.function(lambda condition: generator(condition, training=False), reduce_retracing=True)
    results = {"load_average": os.getloadavg()[0], "cores": os.cpu_count()}
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
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    app.run(main)
