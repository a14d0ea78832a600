"""The spread of a score over seeds: mean and sample standard deviation, and their text."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np


def _as_floats(values: Sequence[float | None]) -> np.ndarray:
    """None (a score that does not apply, e.g. SSIM of the real images) becomes NaN."""
    return np.array([math.nan if value is None else value for value in values], np.float64)


def mean_and_sd(values: Sequence[float | None]) -> tuple[float, float]:
    """(mean, sample standard deviation with ddof=1) of one score over the seeds.

    Args:
      values: one value per seed; None or NaN where the seed has no value.
    Returns:
      NaN mean when any value is missing (a mean over fewer seeds would not be comparable
      with the other rows); NaN sd for a single seed.
    """
    if not len(values):
        raise ValueError("values: expected one value per seed, got none")
    array = _as_floats(values)
    mean = float(np.mean(array))
    sd = float(np.std(array, ddof=1)) if len(array) > 1 else math.nan
    return mean, sd


def format_mean_sd(values: Sequence[float | None], digits: int = 3) -> str:
    """"0.512 ± 0.013" over several seeds, "0.512" for one, "n/a" when a value is missing."""
    mean, sd = mean_and_sd(values)
    if math.isnan(mean):
        return "n/a"
    if len(values) == 1:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {sd:.{digits}f}"
