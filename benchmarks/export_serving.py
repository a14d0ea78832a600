"""SavedModel export for TF Serving vs the Keras models, side by side in one run.

Usage:
  python benchmarks/export_serving.py [--size 256] [--generator_base_filters 64]
      [--generator_depth 8] [--segnet_base_filters 64] [--batches 1 8] [--repeats 5]

Prints JSON (and a table on stderr):
- export_mb / export_s: our export (`tf_esgan.serving`) and Keras 3 `model.export`, on disk;
- load_s: `tf.saved_model.load` of each export (TF2 loader) and of ours with the TF1
  Session loader TF Serving uses;
- latency_s[signature][batch]: median of --repeats calls after one warm-up call, the
  runners of a signature taking turns call by call:
  `saved_model`: the loaded signature (generator: float map -> uint8 image, includes the
  uint8 conversion; from_mask: int32 mask -> uint8, includes the in-graph skeleton map);
  `keras_eager`: `model(x, training=False)`; `keras_function`: the same inside one
  tf.function (what a Python server would run); for from_mask the Keras side is the numpy
  `skeleton.skeleton_map` per image + `keras_function`.
  Inputs: skeleton maps / masks from the bundled sample masks (tiled to --size).
- load_average before/after: the machine may be shared, so compare columns of one run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tf_esgan.data import skeleton
from tf_esgan.data.image_io import read_mask
from tf_esgan.models.networks import NetworkConfig, build_networks
from tf_esgan.models.segnet import SegNetConfig, build_segnet
from tf_esgan.serving import export_generator, export_segnet

SAMPLE_MASKS = Path(__file__).resolve().parents[1] / "tf_esgan" / "data" / "sample" / "masks"


def _interleaved_medians(runners: dict, repeats: int) -> dict:
    """Median seconds per runner; runners take turns, so load changes hit all alike."""
    for function in runners.values():
        function()  # warm-up: tracing and memory allocation
    times = {name: [] for name in runners}
    for _ in range(repeats):
        for name, function in runners.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(values)) for name, values in times.items()}


def _to_numpy(function):
    """`function` whose result is copied to numpy, so the timing includes the whole call."""
    def call():
        result = function()
        return np.asarray(next(iter(result.values())) if isinstance(result, dict) else result)
    return call


def _size_mb(path: Path) -> float:
    return sum(file.stat().st_size for file in Path(path).rglob("*") if file.is_file()) / 1e6


def _timed(function):
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


def _masks(size: int, batch: int) -> np.ndarray:
    masks = []
    for path in sorted(SAMPLE_MASKS.glob("*.png")):
        labels = read_mask(path)
        reps = (-(-size // labels.shape[0]), -(-size // labels.shape[1]))
        # Tiling repeats ids in touching copies; offsetting keeps every copy its own nucleus.
        tiles = [[np.where(labels > 0, labels + (i * reps[1] + j) * (labels.max() + 1), 0)
                  for j in range(reps[1])] for i in range(reps[0])]
        masks.append(np.block(tiles)[:size, :size])
    return np.stack([masks[i % len(masks)] for i in range(batch)]).astype(np.int32)


def _tf1_load_seconds(export_dir: Path) -> float:
    code = ("import sys, time, tensorflow as tf\n"
            "g = tf.Graph()\n"
            "with g.as_default(), tf.compat.v1.Session(graph=g) as s:\n"
            "    t = time.perf_counter(); tf.compat.v1.saved_model.load(s, ['serve'], sys.argv[1])\n"
            "    print(time.perf_counter() - t)\n")
    out = subprocess.run([sys.executable, "-c", code, str(export_dir)], check=True,
                         capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def _compare_exports(name, model, ours_fn, workdir):
    ours, ours_s = _timed(ours_fn)
    keras_dir = workdir / f"keras_{name}"
    _, keras_s = _timed(lambda: model.export(str(keras_dir), verbose=False))
    loaded, load_ours = _timed(lambda: tf.saved_model.load(str(ours)))
    _, load_keras = _timed(lambda: tf.saved_model.load(str(keras_dir)))
    return loaded, {
        "export_mb": {"ours": _size_mb(ours), "keras_export": _size_mb(keras_dir)},
        "export_s": {"ours": ours_s, "keras_export": keras_s},
        "load_s": {"ours_tf2": load_ours, "keras_export_tf2": load_keras,
                   "ours_tf1_session": _tf1_load_seconds(ours)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--generator_base_filters", type=int, default=64)
    parser.add_argument("--generator_depth", type=int, default=8)
    parser.add_argument("--segnet_base_filters", type=int, default=64)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    report = {"args": vars(args), "load_average_before": os.getloadavg()[0], "cpu_count": os.cpu_count()}
    keras.utils.set_random_seed(0)
    generator, _ = build_networks("enhanced", NetworkConfig(
        image_size=args.size, generator_base_filters=args.generator_base_filters,
        generator_depth=args.generator_depth))
    segnet = build_segnet(SegNetConfig(base_filters=args.segnet_base_filters))
    latency: dict = {}
    with tempfile.TemporaryDirectory() as work:
        workdir = Path(work)
        served_generator, report["generator"] = _compare_exports(
            "generator", generator,
            lambda: export_generator(generator, workdir / "ours", conditioning="skeleton"), workdir)
        served_segnet, report["segnet"] = _compare_exports(
            "segnet", segnet, lambda: export_segnet(segnet, workdir / "ours"), workdir)
        generator_fn = tf.function(lambda x: generator(x, training=False))
        segnet_fn = tf.function(lambda x: segnet(x, training=False))
        for batch in args.batches:
            masks = _masks(args.size, batch)
            maps = np.stack([skeleton.skeleton_map(mask) for mask in masks])[..., None].astype(np.float32)
            images = np.random.default_rng(batch).integers(0, 256, (batch, args.size, args.size, 3), np.uint8)
            cases = {
                "generator/serving_default": {
                    "saved_model": lambda: served_generator.signatures["serving_default"](
                        skeleton_map=tf.constant(maps)),
                    "keras_eager": lambda: generator(maps, training=False),
                    "keras_function": lambda: generator_fn(tf.constant(maps))},
                "generator/from_mask": {
                    "saved_model": lambda: served_generator.signatures["from_mask"](mask=tf.constant(masks)),
                    "keras_function": lambda: generator_fn(tf.constant(np.stack(
                        [skeleton.skeleton_map(mask) for mask in masks])[..., None].astype(np.float32)))},
                "segnet/serving_default": {
                    "saved_model": lambda: served_segnet.signatures["serving_default"](image=tf.constant(images)),
                    "keras_eager": lambda: segnet(images, training=False),
                    "keras_function": lambda: segnet_fn(tf.constant(images))},
            }
            for signature, runners in cases.items():
                medians = _interleaved_medians(
                    {runner: _to_numpy(function) for runner, function in runners.items()}, args.repeats)
                for runner, seconds in medians.items():
                    latency.setdefault(signature, {}).setdefault(runner, {})[batch] = seconds
    report["latency_s"] = latency
    report["load_average_after"] = os.getloadavg()[0]
    print(json.dumps(report, indent=2))
    for signature, runners in latency.items():
        for runner, values in runners.items():
            cells = "  ".join(f"b{batch}={seconds * 1e3:8.1f} ms" for batch, seconds in values.items())
            print(f"{signature:28s} {runner:15s} {cells}", file=sys.stderr)


if __name__ == "__main__":
    main()
