"""How far the pinned tiny runs move between CPU kernels, and how far a changed computation moves them.

Runs `tests/pinned_runs.py`'s GAN and SegNet runs in fresh processes under each kernel
setting of TensorFlow's CPU backend that differs between the project's machines:

- `default`: the best kernels oneDNN finds on this CPU (AVX-512 with AMX / AVX512_FP16
  on the newest machines);
- `avx512_core_bf16`: `ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16`, the AVX-512 path of the
  machines without AMX;
- `avx2`: `ONEDNN_MAX_CPU_ISA=AVX2`, the code path oneDNN takes on an AVX2-only CPU
  such as the AMD EPYC (Zen 3) machines;
- `onednn_off`: `TF_ENABLE_ONEDNN_OPTS=0`, Eigen's kernels instead of oneDNN's;

then, under the default kernels, the same runs with one thing changed (seed, split,
learning rate, a loss weight). Prints one JSON line per run and a summary line with the
largest relative difference between kernel settings (`kernel_spread`) and the smallest
largest-difference of any changed run (`change_floor`); the test's tolerance must sit
between them. Results: benchmarks/README.md.

  python benchmarks/pinned_spread.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from absl import app, flags

_KINDS = flags.DEFINE_list("kinds", ["gan", "segnet"], "Which pinned runs to measure.")

REPO = Path(__file__).resolve().parents[1]
KERNELS = {"default": {}, "avx512_core_bf16": {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE_BF16"},
           "avx2": {"ONEDNN_MAX_CPU_ISA": "AVX2"}, "onednn_off": {"TF_ENABLE_ONEDNN_OPTS": "0"}}
CHANGES = {
    "gan": {"seed": {"seed": 1}, "split_seed": {"split_seed": 1}, "learning_rate": {"learning_rate": 1.1e-4},
            "beta": {"beta": 1.1}, "l1_weight": {"l1_weight": 110.0}},
    "segnet": {"seed": {"seed": 1}, "learning_rate": {"learning_rate": 1.1e-3},
               "learning_rate_x1.3": {"learning_rate": 1.3e-3}, "distance_weight": {"loss_weight": 1.1}},
}

_CHILD = """
import json, sys
sys.path.insert(0, {tests!r})
import pinned_runs
print(json.dumps(getattr(pinned_runs, {function!r})(**{overrides!r})))
"""


def run(kind: str, env: dict, overrides: dict) -> dict:
    """The pinned values of one run (`kind` "gan" or "segnet") in a fresh process."""
    code = _CHILD.format(tests=str(REPO / "tests"), function=f"{kind}_values", overrides=overrides)
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, cwd=REPO,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{kind} run {overrides} under {env} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def max_relative_difference(values: dict, reference: dict) -> float:
    return max(abs(values[name] - reference[name]) / abs(reference[name]) for name in reference)


def main(argv: list[str]) -> None:
    del argv
    summary = {}
    for kind in _KINDS.value:
        by_kernel = {name: run(kind, env, {}) for name, env in KERNELS.items()}
        for name, values in by_kernel.items():
            print(json.dumps({"kind": kind, "kernels": name, "values": values}), flush=True)
        reference = by_kernel["default"]
        spread = max(max_relative_difference(values, reference) for values in by_kernel.values())
        floors = {}
        for change, overrides in CHANGES[kind].items():
            values = run(kind, {}, overrides)
            floors[change] = max_relative_difference(values, reference)
            print(json.dumps({"kind": kind, "change": change, "max_relative_difference": floors[change]}), flush=True)
        summary[kind] = {"kernel_spread": spread, "change_floor": min(floors.values())}
    print(json.dumps({"summary": summary, "cpu_flags": _cpu_flags()}))


def _cpu_flags() -> list[str]:
    flags = set()
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("flags"):
                flags.update(f for f in line.split() if f.startswith(("avx512", "avx2", "fma", "amx")))
    return sorted(flags)


if __name__ == "__main__":
    app.run(main)
