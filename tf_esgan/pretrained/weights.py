"""Weights stored compactly: float16 arrays in `model.get_weights()` order, one `.npz`.

float16 halves the size of float32 weights; its 11-bit mantissa (relative error
< 5e-4) moves a generator's image by at most a grey level or two. SegNet is touchier:
its argmax unpooling puts a value back where the encoder's maximum was, and a rounding
that swaps two nearly equal maxima moves it by a pixel, so a few isolated pixels
(< 0.1 % on random tiny SegNets) change by up to ~0.05 while the mean change stays
~1e-4 (tests/pretrained measure both; `serving/pretrained_packaging.py` records the
trained model's). Where that matters, `STORAGE_DTYPES` also offers float32. Values are read back into the
float32 (or mixed-precision) network the record describes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import keras
import numpy as np

from tf_esgan.io_utils import atomic_path
from tf_esgan.pretrained.registry import PretrainedModelError

STORAGE_DTYPE = "float16"
STORAGE_DTYPES = ("float16", "float32")
_KEY = "weight_{:04d}"


def to_storage(weights: Sequence[np.ndarray], source: str, dtype: str = STORAGE_DTYPE) -> list[np.ndarray]:
    """Floating arrays as `dtype` (others unchanged); raises if a value overflows it."""
    if dtype not in STORAGE_DTYPES:
        raise ValueError(f"{source}: weights dtype must be one of {STORAGE_DTYPES}, got {dtype!r}")
    stored = []
    for index, array in enumerate(weights):
        array = np.asarray(array)
        if np.issubdtype(array.dtype, np.floating):
            with np.errstate(over="ignore"):  # reported below, naming the weight
                compact = array.astype(dtype)
            if not np.all(np.isfinite(compact)) and np.all(np.isfinite(array)):
                raise ValueError(f"{source}: weight {index} {array.shape} has values beyond {dtype}'s "
                                 f"range (max |w| = {np.abs(array).max():.3g})")
            array = compact
        stored.append(array)
    return stored


def save_weights(path: str | os.PathLike, weights: Sequence[np.ndarray]) -> None:
    """Writes already converted weights (`to_storage`) to a compressed `.npz`, atomically."""
    with atomic_path(path) as temporary:
        # A file object, not a name: np.savez would append ".npz" to the temporary name.
        with open(temporary, "wb") as stream:
            np.savez_compressed(stream, **{_KEY.format(i): array for i, array in enumerate(weights)})


def load_weights(path: str | os.PathLike) -> list[np.ndarray]:
    """The arrays of a weights `.npz`, in order."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            count = len(archive.files)
            return [archive[_KEY.format(i)] for i in range(count)]
    except (OSError, ValueError, KeyError) as error:
        raise PretrainedModelError(f"{path}: not a readable weights archive ({error})") from None


def assign_weights(model: keras.Model, weights: Sequence[np.ndarray], source: str | os.PathLike) -> None:
    """Sets `model`'s weights, cast to each variable's dtype, after checking count and shapes."""
    variables = model.weights
    if len(weights) != len(variables):
        raise PretrainedModelError(f"{source}: holds {len(weights)} arrays but the network of its "
                                   f"record has {len(variables)} weights")
    for index, (variable, array) in enumerate(zip(variables, weights)):
        if tuple(array.shape) != tuple(variable.shape):
            raise PretrainedModelError(f"{source}: weight {index} ({variable.path}) has shape "
                                       f"{tuple(array.shape)}, the network expects {tuple(variable.shape)}")
    model.set_weights([np.asarray(array, dtype=variable.dtype) for variable, array in zip(variables, weights)])
