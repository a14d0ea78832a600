"""Where the time of one GAN train step goes: TensorFlow profiler trace, op time by class.

Traces `--steps` train steps of a `train_step.py` configuration (default: what
`esgan-train` runs with no flags, on this machine's resolved dtype policy) with
`tf.profiler.experimental`, reads the host plane of the trace (`xplane.pb`), and sums
the duration of every TensorFlow op event by class:

  convolution          Conv2D and its two gradients inside Conv2D layers
  transposed conv      the same kernels inside Conv2DTranspose layers (forward is
                       Conv2DBackpropInput, backward Conv2D + Conv2DBackpropFilter)
  normalisation        moments, scale, shift and their gradients inside *_norm layers
  casts                every Cast (mixed precision's float32 <-> bfloat16)
  concatenation        ConcatV2 of the U-Net skips and its gradient (Slice / Split)
  activations, dropout LeakyReLU / ReLU / tanh / Dropout and gradients
  contour losses       the XLA-compiled L_s1 / L_s2 (eq. 3-4) and their gradient
  other losses         adversarial and L1 terms and their gradients
  optimizer            the two Adam updates
  other                whatever is left (bias adds, reshapes, control)

Op times are summed over the executor's threads, so with inter-op parallelism their
total can exceed the wall time; the report gives both. FLOP shares come from the
analytic convolution count (`tf_esgan.models.flops`): convolutions and transposed
convolutions carry all but well under 1 % of the FLOPs, which is why the other classes
show their time and their element count instead. The input pipeline is not in this
step (cached tensors); `pipeline_headroom.py` measures it.

  python benchmarks/profile_step.py                     # default config, 5 traced steps
  python benchmarks/profile_step.py --config=tutorial --json_out=results/profile.json
"""

from __future__ import annotations

import collections
import glob
import json
import os
import tempfile
import time

from absl import app, flags

import train_step as step_bench
from cpu_peak import machine_peak

_CONFIG = flags.DEFINE_string("config", "default", "A train_step.py configuration name.")
_TRACED = flags.DEFINE_integer("traced_steps", 5, "Steps inside the trace.")
_WARM = flags.DEFINE_integer("warm_steps", 3, "Untraced steps first (tracing, oneDNN primitive caches).")
_LOGDIR = flags.DEFINE_string("logdir", "", "Profiler log directory (default: a temporary one).")
_JSON_OUT = flags.DEFINE_string("json_out", "", "Also write the report to this JSON file.")
_TOP = flags.DEFINE_integer("top_ops", 12, "List this many op types by time.")

CLASSES = ("convolution", "transposed conv", "normalisation", "casts", "concatenation",
           "activations, dropout", "contour losses", "other losses", "optimizer", "other")
_CONV_TYPES = ("Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter", "_FusedConv2D",
               "_MklConv2D", "_MklNativeConv2D", "_MklFusedConv2D", "_MklNativeFusedConv2D",
               "_MklConv2DBackpropInput", "_MklConv2DBackpropFilter",
               "_MklNativeConv2DBackpropInput", "_MklNativeConv2DBackpropFilter",
               "_MklConv2DBackpropFilterWithBias", "_MklNativeConv2DBackpropFilterWithBias")
_ACTIVATION_TYPES = ("LeakyRelu", "LeakyReluGrad", "Relu", "ReluGrad", "Tanh", "TanhGrad",
                     "_MklLeakyRelu", "_MklLeakyReluGrad", "_MklRelu", "_MklReluGrad",
                     "_MklTanh", "_MklTanhGrad")


def classify(name: str, op_type: str) -> str:
    """The class of one op event, from its type and its name scope (layer names)."""
    lower = name.lower()
    if op_type in ("Cast", "_MklCast"):
        return "casts"
    if "adam" in lower or op_type.startswith(("ResourceApply", "AssignVariable", "AssignAddVariable",
                                              "AssignSubVariable")) or "optimizer" in lower:
        return "optimizer"
    if "terms" in lower or "contour" in lower or op_type in ("_XlaRun", "_XlaCompile", "XlaLaunch"):
        return "contour losses"
    if op_type in _CONV_TYPES:
        return "transposed conv" if ("up" in lower and "_conv" in lower) or "to_rgb" in lower else "convolution"
    if "_norm" in lower:
        return "normalisation"
    if "_skip" in lower or op_type in ("ConcatV2", "ConcatOffset", "_MklConcatV2"):
        return "concatenation"
    if "_act" in lower or "dropout" in lower or op_type in _ACTIVATION_TYPES:
        return "activations, dropout"
    if any(key in lower for key in ("l1", "adversarial", "binary_crossentropy", "sigmoid", "g_adv", "d_loss")):
        return "other losses"
    return "other"


def _events(logdir: str):
    """(name, type, duration_ps, thread line) of every TF op event on the host plane."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    paths = glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True)
    if not paths:
        raise FileNotFoundError(f"no *.xplane.pb under {logdir}")
    space = xplane_pb2.XSpace()
    with open(sorted(paths)[-1], "rb") as stream:
        space.ParseFromString(stream.read())
    for plane in space.planes:
        if not plane.name.startswith("/host:CPU"):
            continue
        for line in plane.lines:
            for event in line.events:
                label = plane.event_metadata[event.metadata_id].name
                if "::" in label:
                    continue  # ExecutorState::Process, KernelAndDeviceFunc::Run: containers
                name, sep, op_type = label.rpartition(":")
                if not sep or not op_type or " " in op_type or "/" in op_type:
                    continue  # executor bookkeeping, function calls, pipeline markers
                yield name, op_type, event.duration_ps, line.name


def layer_of(name: str) -> str | None:
    """"generator/up0_conv" from an op name such as
    "gradient_tape/generator_1/up0_conv_1/conv_transpose/Conv2DBackpropFilter"."""
    parts = name.split("/")
    for index, part in enumerate(parts[:-1]):
        model = part.rsplit("_", 1)[0] if part.rsplit("_", 1)[-1].isdigit() else part
        if model in ("generator", "discriminator"):
            layer = parts[index + 1]
            layer = layer.rsplit("_", 1)[0] if layer.rsplit("_", 1)[-1].isdigit() else layer
            return f"{model}/{layer}"
    return None


def _layer_flops(config) -> dict:
    """"model/layer" -> (kind, conv FLOPs of that layer in one step: forward x passes)."""
    from tf_esgan.models.flops import DISCRIMINATOR_PASSES_PER_STEP, GENERATOR_PASSES_PER_STEP, conv_layer_flops
    from tf_esgan.models.networks import build_networks

    generator, discriminator = build_networks(config.variant, config.model)
    return {f"{model.name}/{name}": (kind, passes * count)
            for model, passes in ((generator, GENERATOR_PASSES_PER_STEP), (discriminator, DISCRIMINATOR_PASSES_PER_STEP))
            for name, (kind, count) in conv_layer_flops(model).items()}


def _flop_shares(layer_flops: dict) -> dict:
    total = sum(count for _, count in layer_flops.values())
    transposed = sum(count for kind, count in layer_flops.values() if kind == "transposed")
    return {"gflop_per_step": round(total / 1e9, 1), "convolution": round(1 - transposed / total, 3),
            "transposed conv": round(transposed / total, 3)}


def main(argv: list[str]) -> None:
    del argv
    import tensorflow as tf

    configs = step_bench._configs()
    if _CONFIG.value not in configs:
        raise app.UsageError(f"--config: unknown {_CONFIG.value!r}; known: {sorted(configs)}")
    config = configs[_CONFIG.value]()
    run, flops = step_bench._make_step(config, step_bench._batch(config.model.image_size, 1),
                                       _CONFIG.value in step_bench.KERAS_ADAM, _CONFIG.value in step_bench.ONEDNN_LOGITS)
    for _ in range(_WARM.value):
        run()
    untraced = []
    for _ in range(_TRACED.value):
        start = time.perf_counter()
        run()
        untraced.append(time.perf_counter() - start)
    logdir = _LOGDIR.value or tempfile.mkdtemp(prefix="esgan_profile_")
    tf.profiler.experimental.start(logdir)
    start = time.perf_counter()
    for _ in range(_TRACED.value):
        run()
    wall = (time.perf_counter() - start) / _TRACED.value
    tf.profiler.experimental.stop()

    by_layer = collections.Counter()
    by_class = collections.Counter()
    by_type = collections.Counter()
    threads = set()
    examples = {}
    for name, op_type, duration_ps, thread in _events(logdir):
        seconds = duration_ps / 1e12 / _TRACED.value
        kind = classify(name, op_type)
        by_class[kind] += seconds
        by_type[(op_type, kind)] += seconds
        if kind in ("convolution", "transposed conv"):
            by_layer[layer_of(name)] += seconds
        threads.add(thread)
        examples.setdefault((op_type, kind), name)
    op_total = sum(by_class.values())
    kinds_and_flops = _layer_flops(config)
    layer_flops = {layer: count for layer, (_, count) in kinds_and_flops.items()}
    shares = _flop_shares(kinds_and_flops)
    report = {
        "machine": machine_peak(), "config": _CONFIG.value, "dtype_policy": config.model.dtype_policy,
        "s_per_step_untraced": round(sorted(untraced)[len(untraced) // 2], 4),
        "s_per_step_traced": round(wall, 4), "op_seconds_per_step": round(op_total, 4),
        "op_threads": len(threads), "conv_gflop_per_step": round(flops / 1e9, 1),
        "flop_share": shares,
        "classes": {kind: {"s_per_step": round(by_class[kind], 4),
                           "share_of_op_time": round(by_class[kind] / op_total, 3) if op_total else None}
                    for kind in CLASSES},
        "top_op_types": [{"type": op_type, "class": kind, "s_per_step": round(seconds, 4), "example": examples[(op_type, kind)]}
                         for (op_type, kind), seconds in by_type.most_common(_TOP.value)],
        "conv_layers": [{"layer": layer, "s_per_step": round(seconds, 4),
                         "gflop": round(layer_flops.get(layer, 0) / 1e9, 2),
                         "gflops_per_s": round(layer_flops.get(layer, 0) / 1e9 / seconds, 1) if seconds else None}
                        for layer, seconds in by_layer.most_common()],
        "load_average": round(os.getloadavg()[0], 2),
    }
    text = json.dumps(report, indent=1)
    print(text)
    if _JSON_OUT.value:
        with open(_JSON_OUT.value, "w") as stream:
            stream.write(text + "\n")


if __name__ == "__main__":
    app.run(main)
