"""Time the contour losses (value + gradient) on 256x256 gray images, eager vs XLA.

Run: python benchmarks/bench_contour_losses.py [--batch 1] [--size 256] [--repeats 50]
Prints one JSON line per loss with milliseconds per call (median of `repeats`).
"""

import argparse
import json
import time

import numpy as np
import tensorflow as tf

from tf_esgan.losses.contour import compiled, sharp_gan_loss, sharpness_loss, smoothness_loss

LOSSES = {
    "smoothness_loss": lambda g, c: smoothness_loss(g, c),
    "sharpness_loss": lambda g, c: sharpness_loss(g, c, 0.1),
    "sharp_gan_loss": lambda g, c: sharp_gan_loss(g, c, 0.1),
}


def _median_ms(fn, gray, contour, repeats):
    fn(gray, contour)  # warm-up: tracing and XLA compilation are not timed
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        loss, grad = fn(gray, contour)
        grad.numpy()
        times.append(time.perf_counter() - start)
    return 1000.0 * float(np.median(times))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    shape = (args.batch, args.size, args.size, 1)
    gray = tf.constant(rng.uniform(size=shape), tf.float32)
    contour = tf.constant(rng.uniform(size=shape) < 0.1)
    for name, loss_fn in LOSSES.items():

        def value_and_grad(g, c, loss_fn=loss_fn):
            with tf.GradientTape() as tape:
                tape.watch(g)
                loss = loss_fn(g, c)
            return loss, tape.gradient(loss, g)

        row = {"loss": name, "shape": list(shape)}
        row["eager_ms"] = round(_median_ms(value_and_grad, gray, contour, args.repeats), 3)
        row["xla_ms"] = round(_median_ms(compiled(value_and_grad), gray, contour, args.repeats), 3)
        print(json.dumps(row))


if __name__ == "__main__":
    main()
