"""Synthesis throughput of `esgan-train`'s default generator (images/s at batch 1, 8, 32).

    python benchmarks/synthesis_speed.py [--batches=2] [--full=6000]
    python benchmarks/synthesis_speed.py --batch_sizes= --full=400 --pipeline_depths=0,2 --repeats=2

The generator is the one `esgan-train` builds with its default flags (full pix2pix
widths at 256x256, instance norm, dtype policy "auto": mixed_bfloat16 on this CPU).
--full=N also times real N-pair `synthesize` runs at batch 8 (target: 6,000 in < 5 min),
one per --pipeline_depths value (0: the serial loop; > 0: masks, maps and PNG writes in
threads beside the generator), alternating --repeats times, side by side with the
generator alone over the same batches (a fresh `tf.function`, traced as a run traces it):
the part of a run that stays serial.

Prints JSON: for each batch size, generator-only images/s and end-to-end images/s of
`synthesis.synthesize` (mask drawing, skeleton map, G, two atomic PNG writes per pair) at
the config's default pipeline depth; then the full runs. Random weights: speed does not
depend on training.
"""

import json
import math
import os
import statistics
import tempfile
import time

from absl import app, flags

_ROUNDS = flags.DEFINE_integer("batches", 2, "Timed batches per batch size (after one warm-up batch).")
_BATCH_SIZES = flags.DEFINE_list("batch_sizes", ["1", "8", "32"], "Batch sizes of the per-batch rates (empty: skip).")
_FULL = flags.DEFINE_integer("full", 0, "Also time end-to-end runs of this many pairs at batch 8 (0: skip).")
_DEPTHS = flags.DEFINE_list("pipeline_depths", ["0", "2"],
                            "SynthesisConfig.pipeline_depth of the full runs, compared side by side.")
_REPEATS = flags.DEFINE_integer("repeats", 1, "Full runs per pipeline depth (alternating), and generator-only runs.")

_FULL_BATCH = 8


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

    def synthesize(folder, count, batch, **kwargs):
        config = synthesis.SynthesisConfig(model="-", out_dir=folder, num_images=count, batch_size=batch,
                                           conditioning="skeleton", **kwargs)
        return synthesis.synthesize(config, generator=generator, verbose=0, log=lambda message: None)

    for batch in map(int, _BATCH_SIZES.value):
        condition = np.random.default_rng(0).uniform(0, 2, (batch, 256, 256, 1)).astype(np.float32)
        infer(condition)  # trace and warm up
        started = time.perf_counter()
        for _ in range(_ROUNDS.value):
            infer(condition).numpy()
        generator_rate = batch * _ROUNDS.value / (time.perf_counter() - started)
        with tempfile.TemporaryDirectory() as folder:
            synthesize(folder, batch, batch)  # warm-up
            summary = synthesize(folder, batch * (1 + _ROUNDS.value), batch)
        results[f"batch_{batch}"] = {"generator_images_per_s": round(generator_rate, 2),
                                     "end_to_end_images_per_s": round(summary["written"] / summary["seconds"], 2)}
        print(json.dumps({f"batch_{batch}": results[f"batch_{batch}"]}), flush=True)
    if _FULL.value:
        depths = [int(depth) for depth in _DEPTHS.value]
        seconds = {depth: [] for depth in ["generator_only", *depths]}
        condition = np.random.default_rng(0).uniform(0, 2, (_FULL_BATCH, 256, 256, 1)).astype(np.float32)
        for _ in range(_REPEATS.value):
            for depth in depths:
                cpu = time.process_time()  # every thread's: the work, wherever it overlaps
                with tempfile.TemporaryDirectory() as folder:
                    summary = synthesize(folder, _FULL.value, _FULL_BATCH, pipeline_depth=depth)
                seconds[depth].append(summary["seconds"])
                print(json.dumps({"pipeline_depth": depth, "seconds": summary["seconds"],
                                  "cpu_seconds": round(time.process_time() - cpu, 2),
                                  "load_average": os.getloadavg()[0]}), flush=True)
            # As synthesis calls it: a fresh tf.function, traced on its first batch.
            alone = tf.function(lambda condition: generate(generator, condition), reduce_retracing=True)
            started, cpu = time.perf_counter(), time.process_time()
            for _ in range(math.ceil(_FULL.value / _FULL_BATCH)):
                alone(condition).numpy()
            seconds["generator_only"].append(round(time.perf_counter() - started, 2))
            print(json.dumps({"generator_only_seconds": seconds["generator_only"][-1],
                              "cpu_seconds": round(time.process_time() - cpu, 2)}), flush=True)
        median = {key: statistics.median(values) for key, values in seconds.items()}
        results["full_run"] = {"pairs": _FULL.value, "batch_size": _FULL_BATCH, "seconds": seconds,
                               "median_seconds": median,
                               "median_over_generator_only": {depth: round(median[depth] / median["generator_only"], 3)
                                                              for depth in depths}}
        print(json.dumps({"full_run": results["full_run"]}), flush=True)
    results["load_average_after"] = os.getloadavg()[0]
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    app.run(main)
