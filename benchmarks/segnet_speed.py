"""SegNet speed on this machine: train-step time and inference throughput.

Usage:
  python benchmarks/segnet_speed.py [--base_filters 64] [--size 256] [--steps 4]
                                    [--batch_sizes 1 4]

Prints JSON:
- parameters: weights of the model;
- train_step_s[batch]: median wall time of one `train_on_batch` (Adam, SegNet loss) on
  random [batch, size, size, 3] images, after one warm-up step that traces the graph;
- inference_images_per_s[batch]: images per second of `predict_on_batch`, median of
  --steps timed calls after a warm-up call;
- segment_512_s: `segmentation.scoring.segment_image` on one 512x512 image (eager
  network call + watershed), as evaluation runs it on a TNBC image;
- load_average: 1-minute load before and after (the machine may be shared).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import keras
import numpy as np

from tf_esgan.models.segnet import SegNetConfig, build_segnet
from tf_esgan.segmentation.scoring import segment_image
from tf_esgan.segmentation.loss import SegNetLoss


def _median_time(function, repeats: int) -> float:
    function()  # warm-up: tracing and memory allocation
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base_filters", type=int, default=64)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--batch_sizes", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--dtype_policy", default="float32", help="float32, mixed_bfloat16 or mixed_float16")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    rng = np.random.default_rng(0)
    model = build_segnet(SegNetConfig(base_filters=args.base_filters, dtype_policy=args.dtype_policy))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=SegNetLoss())
    train_step, inference = {}, {}
    for batch in args.batch_sizes:
        images = rng.integers(0, 256, (batch, args.size, args.size, 3)).astype(np.float32)
        targets = rng.random((batch, args.size, args.size, 2)).astype(np.float32)
        train_step[batch] = _median_time(lambda: model.train_on_batch(images, targets), args.steps)
        inference[batch] = batch / _median_time(lambda: model.predict_on_batch(images), args.steps)
    image = rng.integers(0, 256, (512, 512, 3)).astype(np.uint8)
    segment = _median_time(lambda: segment_image(model, image), max(1, args.steps // 2))
    print(json.dumps({
        "base_filters": args.base_filters, "dtype_policy": args.dtype_policy, "size": args.size, "parameters": model.count_params(),
        "train_step_s": train_step, "inference_images_per_s": inference, "segment_512_s": segment,
        "cpu_count": os.cpu_count(), "machine": platform.processor() or platform.machine(),
        "load_average": [load_before, os.getloadavg()[0]],
    }, indent=2))


if __name__ == "__main__":
    main()
