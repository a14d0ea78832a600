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


def paired_bootstrap_interval(differences: Sequence[float], *, resamples: int = 10_000,
                              confidence: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """Mean of paired differences and its percentile bootstrap interval (Efron & Tibshirani 1993, ch. 13).

    For a comparison of two training sets scored on the same images, `differences[i]` is
    score_A(image i) - score_B(image i) (e.g. PQ of S* minus PQ of R, each averaged over
    seeds first). The images are resampled with replacement `resamples` times; the interval
    is the (1 - confidence) / 2 and (1 + confidence) / 2 quantiles of the resampled means.

    Args:
      differences: float [N], one per image; NaN entries (images with no score) dropped.
      resamples: number of bootstrap resamples B.
      confidence: coverage of the interval, in (0, 1).
      seed: seed of the resampling (the interval is reproducible).
    Returns:
      (mean, low, high) of the differences; NaN for all three when none is finite.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence: expected a value in (0, 1), got {confidence}")
    if resamples < 1:
        raise ValueError(f"resamples: expected at least 1, got {resamples}")
    array = _as_floats(differences)
    array = array[np.isfinite(array)]
    if not array.size:
        return math.nan, math.nan, math.nan
    rng = np.random.default_rng(seed)
    means = array[rng.integers(0, array.size, size=(resamples, array.size))].mean(axis=1)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return float(array.mean()), float(low), float(high)
