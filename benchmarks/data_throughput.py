"""Throughput of synthetic mask generation and of skeleton maps.

Usage:
  python benchmarks/data_throughput.py [--masks 500] [--total 6000] [--processes 2]
                                       [--skeletons 200] [--preset tnbc ...]

Prints JSON:
- masks_per_s[preset]: `random_nuclei_labels` 256 x 256 masks per second, one process;
- single_process_6000_s_extrapolated: --total / the slowest preset's rate (extrapolated,
  not run);
- parallel: the measured wall time to make --total masks of --preset[0] with --processes
  worker processes (multiprocessing Pool, one SeedSequence child per chunk);
- skeleton_maps_per_s: `tf_esgan.data.skeleton.skeleton_map` on the first preset's masks
  (or skeleton_error if that function cannot be imported).
The paper generates 6,000 masks (Sec. 3.3); the target is < 60 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import time

import numpy as np

from tf_esgan.data.masks import PRESETS, random_nuclei_labels

_CHUNK = 250  # masks per worker task: large enough to hide the pickling of results


def _make_masks(task):
    seed, count, preset = task
    rng = np.random.default_rng(seed)
    nuclei = 0
    for _ in range(count):
        nuclei += int(random_nuclei_labels(rng=rng, preset=preset).max())
    return nuclei  # only a count travels back: the benchmark times generation, not IPC


def _rate(preset, count, seed=0):
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    masks = [random_nuclei_labels(rng=rng, preset=preset) for _ in range(count)]
    seconds = time.perf_counter() - start
    return count / seconds, masks


def _parallel(preset, total, processes, seed=0):
    children = np.random.SeedSequence(seed).spawn(-(-total // _CHUNK))
    tasks = [(child, min(_CHUNK, total - index * _CHUNK), preset)
             for index, child in enumerate(children)]
    context = multiprocessing.get_context("spawn" if os.name == "nt" else "fork")
    start = time.perf_counter()
    with context.Pool(processes) as pool:
        nuclei = sum(pool.map(_make_masks, tasks))
    seconds = time.perf_counter() - start
    return {"preset": preset, "masks": total, "processes": processes,
            "seconds": round(seconds, 2), "masks_per_s": round(total / seconds, 1),
            "mean_nuclei_per_mask": round(nuclei / total, 1)}


def _skeleton_rate(masks):
    try:
        from tf_esgan.data.skeleton import skeleton_map
    except ImportError as error:
        return {"skeleton_error": f"tf_esgan.data.skeleton.skeleton_map not importable: {error}"}
    start = time.perf_counter()
    for labels in masks:
        skeleton_map(labels)
    return {"skeleton_maps_per_s": round(len(masks) / (time.perf_counter() - start), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--masks", type=int, default=500, help="masks per preset, one process")
    parser.add_argument("--total", type=int, default=6000, help="masks for the parallel run")
    parser.add_argument("--processes", type=int, default=2, help="worker processes (0 = skip)")
    parser.add_argument("--skeletons", type=int, default=200, help="skeleton maps to time")
    parser.add_argument("--preset", nargs="+", default=sorted(PRESETS), choices=sorted(PRESETS))
    args = parser.parse_args()

    report = {"cpu_count": os.cpu_count(), "python": platform.python_version(),
              "masks_per_s": {}}
    skeleton_masks = None
    for preset in args.preset:
        rate, masks = _rate(preset, args.masks)
        report["masks_per_s"][preset] = round(rate, 1)
        if skeleton_masks is None:
            skeleton_masks = masks[: args.skeletons]
    slowest = min(report["masks_per_s"].values())
    report["single_process_6000_s_extrapolated"] = round(args.total / slowest, 1)
    if args.processes > 0:
        report["parallel"] = _parallel(args.preset[0], args.total, args.processes)
    if args.skeletons > 0:
        report.update(_skeleton_rate(skeleton_masks))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
