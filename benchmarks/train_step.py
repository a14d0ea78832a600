"""Median seconds per GAN train step: pix2pix vs enhanced (contour losses), same run.

Measures full-size networks (256x256, pix2pix widths) for every combination of
--batch_sizes x --xla x --policies. pix2pix and enhanced steps alternate inside
each timing round, so load drift on a shared machine hits both alike. Prints
JSON with the ratio enhanced / pix2pix (target <= 1.05: the contour losses cost
at most 5% of a step) and the achieved GFLOP/s of the step (analytic conv FLOPs,
tf_esgan.models.flops) next to a large float32 (and bfloat16) tf.matmul.

  python benchmarks/train_step.py                       # full matrix, several minutes
  python benchmarks/train_step.py --batch_sizes=1 --xla=false --policies=float32
"""

from __future__ import annotations

import json
import os
import statistics
import time

from absl import app, flags

_BATCH_SIZES = flags.DEFINE_list("batch_sizes", ["1", "4"], "Batch sizes to measure.")
_XLA = flags.DEFINE_list("xla", ["false", "true"], "Whole-step XLA settings (jit_compile of the step).")
_POLICIES = flags.DEFINE_list("policies", ["float32", "mixed_bfloat16"], "Keras dtype policies.")
_STEPS = flags.DEFINE_integer("steps", 5, "Timed rounds (one step of each variant per round).")
_WARMUP = flags.DEFINE_integer("warmup", 2, "Untimed rounds first (tracing, XLA compilation).")
_IMAGE_SIZE = flags.DEFINE_integer("image_size", 256, "H = W of the inputs.")
_MATMUL_SIZE = flags.DEFINE_integer("matmul_size", 4096, "n of the n x n reference matmul.")
_CONTOUR_FRACTION = flags.DEFINE_float("contour_fraction", 0.08, "Share of contour pixels in the fake batch.")

VARIANTS = ("pix2pix", "enhanced")


def _median_seconds(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _matmul_gflops(size: int, dtype: str) -> float:
    import tensorflow as tf

    a = tf.random.normal((size, size), dtype=tf.float32)
    a = tf.cast(a, dtype)
    matmul = tf.function(lambda x: tf.matmul(x, x))
    matmul(a).numpy()
    seconds = _median_seconds(lambda: matmul(a).numpy(), 5)
    return 2 * size**3 / seconds / 1e9


def _make_step(variant: str, policy: str, xla: bool, batch):
    import keras
    import tensorflow as tf

    from tf_esgan.models.flops import train_step_flops
    from tf_esgan.models.gan import EnhancedSharpGAN
    from tf_esgan.models.gan_config import GanLossConfig
    from tf_esgan.models.networks import NetworkConfig, build_networks

    keras.utils.set_random_seed(0)
    generator, discriminator = build_networks(
        variant, NetworkConfig(image_size=_IMAGE_SIZE.value, dtype_policy=policy)
    )
    gan = EnhancedSharpGAN(generator, discriminator, GanLossConfig(variant=variant))
    gan.compile(
        g_optimizer=keras.optimizers.Adam(1e-4, beta_1=0.5),
        d_optimizer=keras.optimizers.Adam(1e-4, beta_1=0.5),
        jit_compile=xla,
    )
    # Same wrapping as keras' own train function: one tf.function around train_step.
    step = tf.function(gan.train_step, jit_compile=xla)

    def run():
        logs = step(batch)
        float(logs["g_total"])  # Blocks until the step has finished.

    return run, train_step_flops(generator, discriminator, int(batch[0].shape[0]))


def _measure(policy: str, batch_size: int, xla: bool) -> dict:
    import numpy as np
    import tensorflow as tf

    size = _IMAGE_SIZE.value
    rng = np.random.default_rng(0)
    batch = (
        tf.constant((rng.random((batch_size, size, size, 1)) * 2).astype("float32")),
        tf.constant(rng.uniform(-1, 1, (batch_size, size, size, 3)).astype("float32")),
        tf.constant((rng.random((batch_size, size, size, 1)) < _CONTOUR_FRACTION.value).astype("float32")),
    )
    steps, times = {}, {name: [] for name in VARIANTS}
    compile_seconds = {}
    for name in VARIANTS:
        start = time.perf_counter()
        steps[name] = _make_step(name, policy, xla, batch)
        for _ in range(_WARMUP.value):
            steps[name][0]()
        compile_seconds[name] = round(time.perf_counter() - start, 2)
    for _ in range(_STEPS.value):
        for name in VARIANTS:
            start = time.perf_counter()
            steps[name][0]()
            times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(values) for name, values in times.items()}
    flops = steps["pix2pix"][1]
    return {
        "policy": policy,
        "batch_size": batch_size,
        "whole_step_xla": xla,
        "pix2pix_s": round(medians["pix2pix"], 4),
        "enhanced_s": round(medians["enhanced"], 4),
        "ratio_enhanced_over_pix2pix": round(medians["enhanced"] / medians["pix2pix"], 4),
        "conv_gflop_per_step": round(flops / 1e9, 2),
        "pix2pix_gflops_per_s": round(flops / medians["pix2pix"] / 1e9, 1),
        "setup_and_warmup_s": compile_seconds,
    }


def main(argv: list[str]) -> None:
    del argv
    import tensorflow as tf

    load_before = os.getloadavg()
    report = {
        "image_size": _IMAGE_SIZE.value,
        "cpus": os.cpu_count(),
        "devices": [device.device_type for device in tf.config.list_physical_devices()],
        "matmul_float32_gflops_per_s": round(_matmul_gflops(_MATMUL_SIZE.value, "float32"), 1),
        "matmul_bfloat16_gflops_per_s": round(_matmul_gflops(_MATMUL_SIZE.value, "bfloat16"), 1),
        "results": [],
    }
    for policy in _POLICIES.value:
        for batch_size in map(int, _BATCH_SIZES.value):
            for xla in (value.lower() == "true" for value in _XLA.value):
                result = _measure(policy, batch_size, xla)
                result["pix2pix_fraction_of_matmul_float32"] = round(
                    result["pix2pix_gflops_per_s"] / report["matmul_float32_gflops_per_s"], 3
                )
                report["results"].append(result)
                print(json.dumps(result), flush=True)
    report["load_average_before_after"] = [round(load_before[0], 2), round(os.getloadavg()[0], 2)]
    report["worst_ratio"] = max(r["ratio_enhanced_over_pix2pix"] for r in report["results"])
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    app.run(main)
