"""Weights stored compactly: float16 arrays in `model.get_weights()` order, one `.npz`.

float16 halves the size of float32 weights; its 11-bit mantissa (relative error
< 5e-4) moves a generator's image by at most a grey level or two. SegNet is touchier:
its argmax unpooling puts a value back where the encoder's maximum was, and a rounding
that swaps two nearly equal maxima moves it by a pixel, so a few isolated pixels
(< 0.1 % on random tiny SegNets) change by up to ~0.05 while the mean change stays
~1e-4 (tests/pretrained measure both; `serving/pretrained_packaging.py` records the
trained model's). Where that matters, `STORAGE_DTYPES` also offers float32. Values are read back into the
float32 (or mixed-precision) network the record describes.

"int8" halves float16 again for the kernels, which hold nearly all of a network's weights:
each kernel (2 or more dimensions) is stored as int8 with one float32 scale per slice along
its last axis (a convolution's output channels; a Keras transposed convolution keeps its input
channels there), w ~ q * scale with scale = max |w| of that slice / 127 (symmetric, round to
nearest), so a weight moves by at most scale / 2 = 1/254 of its slice's largest magnitude; vectors (biases, norm parameters) stay float16. The full-width TNBC generator:
96 MiB compressed in float16, 46 MiB in int8, and the same validation SSIM/FSIM/GMSD to four
decimals (benchmarks/README.md). An int8 kernel sits in the `.npz` as `weight_NNNN` with its
scales beside it as `scale_NNNN`; `load_weights` returns it dequantized to float32.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Sequence

import keras
import numpy as np

from tf_esgan.io_utils import atomic_path
from tf_esgan.pretrained.registry import PretrainedModelError

STORAGE_DTYPE = "float16"
STORAGE_DTYPES = ("float16", "float32", "int8")
_KEY = "weight_{:04d}"
_SCALE_KEY = "scale_{:04d}"
_INT8_MAX = 127


@dataclasses.dataclass(frozen=True)
class QuantizedKernel:
    """An int8 kernel and its scales per last-axis slice: w ~ values * scales (broadcast on the last axis)."""

    values: np.ndarray  # int8, the kernel's shape
    scales: np.ndarray  # float32 [kernel.shape[-1]]

    @property
    def shape(self) -> tuple[int, ...]:
        return self.values.shape

    def dequantized(self) -> np.ndarray:
        return self.values.astype(np.float32) * self.scales


def quantize_kernel(kernel: np.ndarray) -> QuantizedKernel:
    """Symmetric int8 per last-axis slice (the module docstring); an all-zero slice gets scale 1."""
    kernel = np.asarray(kernel, np.float32)
    largest = np.abs(kernel).reshape(-1, kernel.shape[-1]).max(axis=0)
    scales = np.where(largest > 0, largest / _INT8_MAX, 1.0).astype(np.float32)
    values = np.clip(np.rint(kernel / scales), -_INT8_MAX, _INT8_MAX).astype(np.int8)
    return QuantizedKernel(values, scales)


def to_storage(weights: Sequence[np.ndarray], source: str,
               dtype: str = STORAGE_DTYPE) -> list[np.ndarray | QuantizedKernel]:
    """Floating arrays as `dtype` (others unchanged); raises if a value overflows it.

    With "int8", floating arrays of 2 or more dimensions become `QuantizedKernel`s and the
    others float16.
    """
    if dtype not in STORAGE_DTYPES:
        raise ValueError(f"{source}: weights dtype must be one of {STORAGE_DTYPES}, got {dtype!r}")
    stored = []
    for index, array in enumerate(weights):
        array = np.asarray(array)
        if dtype == "int8" and np.issubdtype(array.dtype, np.floating) and array.ndim >= 2:
            if not np.all(np.isfinite(array)):
                raise ValueError(f"{source}: weight {index} {array.shape} is not finite")
            stored.append(quantize_kernel(array))
            continue
        if np.issubdtype(array.dtype, np.floating):
            dtype_here = "float16" if dtype == "int8" else dtype
            with np.errstate(over="ignore"):  # reported below, naming the weight
                compact = array.astype(dtype_here)
            if not np.all(np.isfinite(compact)) and np.all(np.isfinite(array)):
                raise ValueError(f"{source}: weight {index} {array.shape} has values beyond {dtype_here}'s "
                                 f"range (max |w| = {np.abs(array).max():.3g})")
            array = compact
        stored.append(array)
    return stored


def save_weights(path: str | os.PathLike, weights: Sequence[np.ndarray | QuantizedKernel]) -> None:
    """Writes already converted weights (`to_storage`) to a compressed `.npz`, atomically."""
    arrays = {}
    for index, weight in enumerate(weights):
        if isinstance(weight, QuantizedKernel):
            arrays[_KEY.format(index)], arrays[_SCALE_KEY.format(index)] = weight.values, weight.scales
        else:
            arrays[_KEY.format(index)] = weight
    with atomic_path(path) as temporary:
        # A file object, not a name: np.savez would append ".npz" to the temporary name.
        with open(temporary, "wb") as stream:
            np.savez_compressed(stream, **arrays)


def load_weights(path: str | os.PathLike) -> list[np.ndarray]:
    """The arrays of a weights `.npz`, in order (int8 kernels dequantized to float32)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = set(archive.files)
            count = sum(name.startswith("weight_") for name in names)
            weights = []
            for index in range(count):
                values = archive[_KEY.format(index)]
                if _SCALE_KEY.format(index) in names:
                    values = QuantizedKernel(values, archive[_SCALE_KEY.format(index)]).dequantized()
                weights.append(values)
            return weights
    except (OSError, ValueError, KeyError) as error:
        raise PretrainedModelError(f"{path}: not a readable weights archive ({error})") from None


def assign_weights(model: keras.Model, weights: Sequence[np.ndarray | QuantizedKernel],
                   source: str | os.PathLike) -> None:
    """Sets `model`'s weights, cast to each variable's dtype, after checking count and shapes."""
    variables = model.weights
    weights = [weight.dequantized() if isinstance(weight, QuantizedKernel) else weight for weight in weights]
    if len(weights) != len(variables):
        raise PretrainedModelError(f"{source}: holds {len(weights)} arrays but the network of its "
                                   f"record has {len(variables)} weights")
    for index, (variable, array) in enumerate(zip(variables, weights)):
        if tuple(array.shape) != tuple(variable.shape):
            raise PretrainedModelError(f"{source}: weight {index} ({variable.path}) has shape "
                                       f"{tuple(array.shape)}, the network expects {tuple(variable.shape)}")
    model.set_weights([np.asarray(array, dtype=variable.dtype) for variable, array in zip(variables, weights)])
