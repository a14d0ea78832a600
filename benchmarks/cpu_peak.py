"""Peak floating-point throughput of this machine's CPU, from /proc/cpuinfo.

peak = cores x clock x FLOP per cycle per core, where FLOP per cycle comes from the
widest vector FMA the CPU has, assuming two FMA pipes per core (Intel Xeon server cores
since Skylake-SP, AMD Zen 3/4): float32 AVX-512 2 x 16 lanes x 2 = 64, AVX2 2 x 8 x 2 =
32; bfloat16 AVX512_BF16 (`vdpbf16ps`, a pair of products per lane) 128; AMX-BF16 tiles
1024 (Intel's figure for Sapphire Rapids). The clock is /proc/cpuinfo's `cpu MHz` (a
virtual machine reports its nominal clock; turbo and AVX-512 down-clocking are not
known here), so the percentages are of a nominal peak: a guide to headroom, not a law.
"""

from __future__ import annotations

import os

_FLOP_PER_CYCLE = {  # per core, two FMA pipes
    "avx512_fp32": 64, "avx2_fp32": 32, "avx512_bf16": 128, "amx_bf16": 1024}


def _cpuinfo(path: str = "/proc/cpuinfo") -> tuple[str, float, set]:
    model, mhz, flags = "unknown", 0.0, set()
    with open(path) as stream:
        for line in stream:
            key, _, value = line.partition(":")
            key = key.strip()
            if key == "model name" and model == "unknown":
                model = value.strip()
            elif key == "cpu MHz" and not mhz:
                mhz = float(value)
            elif key == "flags" and not flags:
                flags = set(value.split())
    return model, mhz, flags


def machine_peak(path: str = "/proc/cpuinfo") -> dict:
    """{"cpu", "cores", "ghz", "isa", "peak_gflops": {"float32", "bfloat16", "bfloat16_amx"}}.

    `cores` are the CPUs this process may run on; a peak is None where the unit is missing.
    """
    model, mhz, flags = _cpuinfo(path)
    cores = len(os.sched_getaffinity(0))
    fp32_key = "avx512_fp32" if "avx512f" in flags else "avx2_fp32" if {"avx2", "fma"} <= flags else None
    cycles = cores * mhz / 1e3  # G cycles per second over all cores

    def peak(key: str | None, present: bool = True) -> float | None:
        return round(cycles * _FLOP_PER_CYCLE[key], 1) if key and present else None

    return {"cpu": model, "cores": cores, "ghz": round(mhz / 1e3, 3),
            "isa": sorted(f for f in flags if f.startswith(("avx512", "amx")) or f in ("avx2", "fma")),
            "peak_gflops": {"float32": peak(fp32_key), "bfloat16": peak("avx512_bf16", "avx512_bf16" in flags),
                            "bfloat16_amx": peak("amx_bf16", "amx_bf16" in flags)}}


def percent_of_peak(gflops: float, dtype_policy: str, peak: dict) -> float | None:
    """Achieved GFLOP/s as a percentage of the vector-unit peak of the policy's compute dtype
    (bfloat16: AVX512_BF16; AMX tiles, where present, are 8x more and reported beside)."""
    key = "bfloat16" if "bfloat16" in dtype_policy else "float32"
    value = peak["peak_gflops"][key] or peak["peak_gflops"]["float32"]
    return round(100.0 * gflops / value, 1) if value else None
