"""Keras dtype policies for mixed-precision training.

"mixed_bfloat16" suits TPUs and CPUs with AVX512-BF16 or AMX; "mixed_float16"
suits GPUs and needs loss scaling (float16's small exponent range lets small
gradients underflow); "float32" is the default. The networks take the policy
per layer from their configs, so nothing here has to set a global policy.

Every config's `dtype_policy` is a `dtype_policy_field()`: default DEFAULT_DTYPE_POLICY
(float32: the same numbers on every machine), choices DTYPE_POLICY_CHOICES. A training
job's model section defaults to "auto" instead (`auto_policy_section`), which the job
resolves once, when it is made, with `with_resolved_dtype_policy` (so its config.json
names the policy used).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from pathlib import Path
from typing import Any, Callable, Iterator

import keras
import tensorflow as tf

from tf_esgan.config_fields import choice_field

DTYPE_POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")
AUTO_DTYPE_POLICY = "auto"
DTYPE_POLICY_CHOICES = (AUTO_DTYPE_POLICY, *DTYPE_POLICIES)
DEFAULT_DTYPE_POLICY = "float32"
# /proc/cpuinfo flags of CPUs with native bfloat16 matrix instructions.
_BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


def check_dtype_policy(name: str, owner: str) -> None:
    """Raises ValueError naming `owner` if `name` is not a supported policy."""
    if name not in DTYPE_POLICIES:
        raise ValueError(f"{owner}: `dtype_policy` must be one of {DTYPE_POLICIES}, got {name!r}.")


def resolve_dtype_policy(name: str, owner: str) -> str:
    """`name`, or for "auto" the policy `recommended_dtype_policy()` picks on this machine."""
    if name == AUTO_DTYPE_POLICY:
        return recommended_dtype_policy()
    check_dtype_policy(name, owner)
    return name


def dtype_policy_field() -> Any:
    """The `dtype_policy` field of a network config: DEFAULT_DTYPE_POLICY, one of DTYPE_POLICY_CHOICES."""
    return choice_field(DEFAULT_DTYPE_POLICY, DTYPE_POLICY_CHOICES)


def check_config_dtype_policy(name: str, owner: str) -> None:
    """Raises ValueError naming `owner` unless `name` is a policy or "auto" (resolved later)."""
    if name != AUTO_DTYPE_POLICY:
        check_dtype_policy(name, owner)


def auto_policy_section(section_class: type, **values) -> Callable[[], Any]:
    """A job's `default_factory` for its model section: `section_class(**values)` with dtype_policy "auto"."""
    return functools.partial(section_class, dtype_policy=AUTO_DTYPE_POLICY, **values)


def with_resolved_dtype_policy(section: Any, owner: str) -> Any:
    """`section` (a frozen config with `dtype_policy`) with "auto" resolved (see `resolve_dtype_policy`)."""
    policy = resolve_dtype_policy(section.dtype_policy, owner)
    return section if policy == section.dtype_policy else dataclasses.replace(section, dtype_policy=policy)


def needs_loss_scaling(name: str) -> bool:
    return name == "mixed_float16"


def cpu_has_bfloat16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """True if the CPU flags list AVX512-BF16 or AMX-BF16 (Linux; False elsewhere)."""
    try:
        flags = set(cpuinfo.read_text().split())
    except OSError:
        return False
    return any(flag in flags for flag in _BF16_CPU_FLAGS)


def recommended_dtype_policy() -> str:
    """mixed_float16 with a GPU, mixed_bfloat16 on a TPU or bfloat16-capable CPU, else float32."""
    if tf.config.list_physical_devices("GPU"):
        return "mixed_float16"
    if tf.config.list_physical_devices("TPU") or cpu_has_bfloat16():
        return "mixed_bfloat16"
    return "float32"


def model_uses_float16(model: keras.Model) -> bool:
    """True if any layer of `model` computes in float16 (then gradients need loss scaling)."""
    return any(layer.dtype_policy.compute_dtype == "float16" for layer in model.layers)


def with_loss_scaling(optimizer: keras.optimizers.Optimizer) -> keras.optimizers.Optimizer:
    """`optimizer` wrapped in a dynamic LossScaleOptimizer unless it already is one."""
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer
    return keras.optimizers.LossScaleOptimizer(optimizer)


@contextlib.contextmanager
def global_dtype_policy(name: str) -> Iterator[None]:
    """Sets Keras' global dtype policy inside the block and restores the previous one."""
    check_dtype_policy(name, "global_dtype_policy")
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
