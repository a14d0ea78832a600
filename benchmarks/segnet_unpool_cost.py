"""What SegNet's argmax pooling and index unpooling cost in a training step (issue 21).

SegNet's five MaxPoolWithArgmax / MaxUnpool pairs are the only ops of its step that are
neither convolutions nor elementwise; `tf.scatter_nd` (the unpooling) and its gradient
run outside oneDNN. This times, side by side in one process:

- `pairs_s`: forward + backward of the five pool/unpool pairs alone, at the shapes a SegNet
  of --base_filters sees on batches of --batch crops of --size (the model's own layers);
- `pairs_alternative_s`: the same pairs written elementwise (space_to_depth, argmax over the
  four cells, one-hot, depth_to_space), checked equal to the model's layers first;
- `step_s`: one whole `train_on_batch` of that SegNet (Adam, SegNet loss);

with the CPU's name and AVX-512 flags, under --dtype_policy. Medians of --repeats calls after
a warm-up. Prints one JSON object.

  PYTHONPATH=. python benchmarks/segnet_unpool_cost.py [--base_filters 32] [--batch 8] [--size 128]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time

import keras
import numpy as np
import tensorflow as tf

from tf_esgan.models.segnet import (
    ENCODER_BLOCKS, WIDTH_MULTIPLIERS, MaxPoolWithArgmax, MaxUnpool, SegNetConfig, build_segnet)
from tf_esgan.segmentation.loss import SegNetLoss


def _cpu() -> dict:
    text = open("/proc/cpuinfo").read()
    name = re.search(r"model name\s*:\s*(.*)", text)
    return {"cpu": name.group(1).strip() if name else "unknown",
            "avx512": sorted(set(re.findall(r"\b(avx512[a-z_0-9]*)", text))), "cores": os.cpu_count()}


def _model_pair_of(policy: str):
    pool, unpool = MaxPoolWithArgmax(dtype=policy), MaxUnpool(dtype=policy)  # the model's own layers

    def pair(x):
        return unpool(list(pool(x)))
    return pair


def _elementwise_pair(x):
    batch, height, width, channels = x.shape
    cells = tf.reshape(tf.nn.space_to_depth(x, 2), [batch, height // 2, width // 2, 4, channels])
    one_hot = tf.one_hot(tf.argmax(cells, axis=3, output_type=tf.int32), 4, axis=3, dtype=x.dtype)
    pooled = tf.reduce_sum(cells * one_hot, axis=3)
    unpooled = one_hot * pooled[:, :, :, None, :]
    return tf.nn.depth_to_space(tf.reshape(unpooled, [batch, height // 2, width // 2, 4 * channels]), 2)


def _gradient_step(pair):
    @tf.function
    def step(inputs):
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            total = tf.add_n([tf.reduce_sum(tf.cast(pair(x), tf.float32)) for x in inputs])
        return tape.gradient(total, inputs)
    return step


def _median_seconds(function, repeats: int) -> float:
    def run():
        result = function()
        for value in (result if isinstance(result, (list, tuple)) else [result]):
            np.asarray(value)
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base_filters", type=int, default=32)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--dtype_policy", default="mixed_bfloat16")
    args = parser.parse_args()
    compute = keras.mixed_precision.Policy(args.dtype_policy).compute_dtype
    rng = np.random.default_rng(0)
    shapes = [(args.batch, args.size >> level, args.size >> level, args.base_filters * multiplier)
              for level, multiplier in enumerate(WIDTH_MULTIPLIERS[:len(ENCODER_BLOCKS)])]
    inputs = [tf.cast(rng.standard_normal(shape).astype(np.float32), compute) for shape in shapes]
    _model_pair = _model_pair_of(args.dtype_policy)
    for x in inputs:  # the alternative must compute the same thing (first maximum of each cell wins)
        if not bool(tf.reduce_all(_model_pair(x) == _elementwise_pair(x))):
            raise SystemExit(f"elementwise pair differs from the model's at shape {x.shape}")
    model = build_segnet(SegNetConfig(base_filters=args.base_filters, dtype_policy=args.dtype_policy))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=SegNetLoss())
    images = rng.integers(0, 256, (args.batch, args.size, args.size, 3)).astype(np.float32)
    targets = rng.random((args.batch, args.size, args.size, 2)).astype(np.float32)
    model_pairs, elementwise_pairs = _gradient_step(_model_pair), _gradient_step(_elementwise_pair)
    load_before = os.getloadavg()[0]
    result = {
        **_cpu(), "dtype_policy": args.dtype_policy, "base_filters": args.base_filters, "batch": args.batch,
        "size": args.size,
        "pairs_s": _median_seconds(lambda: model_pairs(inputs), args.repeats),
        "pairs_alternative_s": _median_seconds(lambda: elementwise_pairs(inputs), args.repeats),
        "step_s": _median_seconds(lambda: model.train_on_batch(images, targets), max(3, args.repeats // 2)),
    }
    result["pairs_share_of_step"] = round(result["pairs_s"] / result["step_s"], 3)
    result["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
