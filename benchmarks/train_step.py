"""Median seconds per GAN train step of named configurations, side by side in one run.

The reference is the float32 tutorial-architecture pix2pix step (batch norm, transposed
convolutions, widths 64, 256x256, Keras' Adam); `default` is what `esgan-train` runs with
its default flags (enhanced variant, instance norm, dtype policy "auto" resolved on this
machine, FusedAdam, D's logits by XLA); `default_keras_adam` the same with Keras' Adam and
oneDNN logits (the state before issue 21's changes), `default_onednn_logits` with FusedAdam
but oneDNN logits; `default_float32` the default network in float32 (is bfloat16 faster
on this CPU?). Steps of all configurations alternate inside each timing round, so load drift
on a shared machine hits all alike. Prints one JSON line per batch size with each
configuration's median s/step and its speed-up over the reference (target for
`default` at batch 1: >= 2.5x), plus achieved GFLOP/s (analytic conv FLOPs) and that as a
percentage of the machine's nominal peak for the configuration's compute dtype
(`cpu_peak.py`: cores x clock x FMA width, from /proc/cpuinfo; the report names the CPU).

  python benchmarks/train_step.py                       # batch 1, all configurations
  python benchmarks/train_step.py --batch_sizes=1,4 --configs=tutorial,default
"""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
import time

from absl import app, flags

from cpu_peak import machine_peak, percent_of_peak

_BATCH_SIZES = flags.DEFINE_list("batch_sizes", ["1"], "Batch sizes to measure.")
_CONFIGS = flags.DEFINE_list("configs", ["tutorial", "default", "default_resize", "cpu_budget"],
                             "Named configurations (see CONFIGS).")
_STEPS = flags.DEFINE_integer("steps", 6, "Timed rounds (one step of each configuration per round).")
_WARMUP = flags.DEFINE_integer("warmup", 2, "Untimed rounds first (tracing).")
_CONTOUR_FRACTION = flags.DEFINE_float("contour_fraction", 0.08, "Share of contour pixels in the batch.")
_INTER_OP = flags.DEFINE_integer("inter_op_threads", 0, "TensorFlow inter-op threads (0: TF's default).")
_INTRA_OP = flags.DEFINE_integer("intra_op_threads", 0, "TensorFlow intra-op threads (0: TF's default).")


def _configs() -> dict:
    """name -> function returning a TrainConfig (only its network and loss parts are used)."""
    from tf_esgan.reproduce.budgets import get_budget
    from tf_esgan.training.gan_config import GanDataConfig, RuntimeConfig, TrainConfig

    default = TrainConfig(data=GanDataConfig(dataset_dir="-"), runtime=RuntimeConfig(model_dir="-"))

    def changed(variant: str = default.variant, **network) -> TrainConfig:
        return dataclasses.replace(default, model=dataclasses.replace(default.model, **network),
                                   loss=dataclasses.replace(default.loss, variant=variant))

    def cpu_budget():
        # The budget's sizes, norm and upsampling, at the default config's resolved precision.
        network = dataclasses.replace(get_budget("cpu").network, dtype_policy=default.model.dtype_policy)
        return dataclasses.replace(default, model=network)

    return {
        "tutorial": lambda: changed("pix2pix", norm="batch", dtype_policy="float32", upsampling="transpose"),
        "tutorial_bf16": lambda: changed("pix2pix", norm="batch", dtype_policy="mixed_bfloat16",
                                         upsampling="transpose"),
        "default_batch_norm": lambda: changed(norm="batch"),
        "default": lambda: default,
        "default_float32": lambda: changed(dtype_policy="float32"),  # what `auto` would be without bf16
        "default_keras_adam": lambda: default,  # with Keras' unfused Adam (see KERAS_ADAM)
        "default_onednn_logits": lambda: default,  # D's logits by oneDNN, not XLA (see ONEDNN_LOGITS)
        "default_resize": lambda: changed(upsampling="resize"),
        "cpu_budget": cpu_budget,
    }


# Configurations stepping with Keras' own Adam (the tutorial's optimizer); the others use
# the optimizer esgan-train uses (FusedAdam, one ResourceApplyAdam per variable).
KERAS_ADAM = ("tutorial", "tutorial_bf16", "default_keras_adam")
# Configurations whose discriminator computes its logits with Keras' Conv2D (oneDNN), as
# before models/xla_conv.py; the tutorial is built that way too.
ONEDNN_LOGITS = ("tutorial", "tutorial_bf16", "default_keras_adam", "default_onednn_logits")


def _make_step(config, batch, keras_adam: bool = False, onednn_logits: bool = False):
    import keras
    import tensorflow as tf

    from tf_esgan.models.flops import train_step_flops
    from tf_esgan.models.gan import EnhancedSharpGAN
    from tf_esgan.models.networks import build_networks
    from tf_esgan.training.fused_adam import FusedAdam

    keras.utils.set_random_seed(0)
    generator, discriminator = build_networks(config.variant, config.model)
    gan = EnhancedSharpGAN(generator, discriminator, config.loss)
    adam = keras.optimizers.Adam if keras_adam else FusedAdam
    gan.compile(g_optimizer=adam(1e-4, beta_1=0.5), d_optimizer=adam(1e-4, beta_1=0.5))
    if onednn_logits:
        from tf_esgan.models.xla_conv import set_nested_xla

        set_nested_xla(discriminator, False)
    step = tf.function(gan.train_step)  # as keras' own train function wraps it

    def run():
        float(step(batch)["g_total"])  # blocks until the step has finished

    return run, train_step_flops(generator, discriminator, int(batch[0].shape[0]))


def _batch(size: int, batch_size: int):
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    return (tf.constant((rng.random((batch_size, size, size, 1)) * 2).astype("float32")),
            tf.constant(rng.uniform(-1, 1, (batch_size, size, size, 3)).astype("float32")),
            tf.constant((rng.random((batch_size, size, size, 1)) < _CONTOUR_FRACTION.value).astype("float32")))


def _measure(configs: dict, batch_size: int, peak: dict) -> dict:
    steps = {}
    for name, config in configs.items():
        steps[name] = _make_step(config, _batch(config.model.image_size, batch_size), name in KERAS_ADAM,
                                 name in ONEDNN_LOGITS)
        for _ in range(_WARMUP.value):
            steps[name][0]()
    times = {name: [] for name in configs}
    for _ in range(_STEPS.value):
        for name in configs:
            start = time.perf_counter()
            steps[name][0]()
            times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(values) for name, values in times.items()}
    reference = medians.get("tutorial")
    return {"batch_size": batch_size, "results": {name: {
        "variant": configs[name].variant, "norm": configs[name].model.norm,
        "dtype_policy": configs[name].model.dtype_policy, "upsampling": configs[name].model.upsampling,
        "widths": configs[name].model.generator_base_filters, "image_size": configs[name].model.image_size,
        "optimizer": "keras Adam" if name in KERAS_ADAM else "FusedAdam",
        "logits": "oneDNN" if name in ONEDNN_LOGITS else "XLA",
        "s_per_step": round(medians[name], 4),
        "speedup_over_tutorial": round(reference / medians[name], 2) if reference else None,
        "gflops_per_s": round(steps[name][1] / medians[name] / 1e9, 1),
        "percent_of_peak": percent_of_peak(steps[name][1] / medians[name] / 1e9, configs[name].model.dtype_policy,
                                           peak)} for name in configs}}


def main(argv: list[str]) -> None:
    del argv
    import tensorflow as tf

    tf.config.threading.set_inter_op_parallelism_threads(_INTER_OP.value)
    tf.config.threading.set_intra_op_parallelism_threads(_INTRA_OP.value)
    all_configs = _configs()
    unknown = sorted(set(_CONFIGS.value) - set(all_configs))
    if unknown:
        raise app.UsageError(f"--configs: unknown {unknown}; known: {sorted(all_configs)}")
    configs = {name: all_configs[name]() for name in _CONFIGS.value}
    load_before = os.getloadavg()[0]
    peak = machine_peak()
    for batch_size in map(int, _BATCH_SIZES.value):
        report = {"machine": peak, **_measure(configs, batch_size, peak)}
        report["load_average_before_after"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
        report["threads"] = {"inter_op": _INTER_OP.value, "intra_op": _INTRA_OP.value,
                             "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "")}
        print(json.dumps(report), flush=True)


if __name__ == "__main__":
    app.run(main)
