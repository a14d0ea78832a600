"""Marker-controlled watershed: SegNet outputs -> instance label map (after Naylor et al. [3]).

Foreground = nucleus probability > `foreground_threshold`. Markers = connected components
of (distance map > `marker_threshold`) inside the foreground: every nucleus' normalised
distance map peaks at 1 in its centre and falls to 0 on its contour, so touching nuclei
give separate markers even where their union is one blob. The watershed floods the
negated distance map from the markers, restricted to the foreground. Foreground blobs no
marker reaches become instances of their own, and instances smaller than
`min_area` pixels are dropped (noise).

`tune_watershed` grid-searches the two thresholds on training images, maximising the mean
over images of the per-image AJI (the metric of the paper's Table 1).
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Iterable, Sequence

import numpy as np
from scipy import ndimage
from skimage import segmentation

from tf_esgan.metrics import segmentation as seg_metrics
# Defined in models/ (loading a SegNet needs it); `postprocess.WatershedConfig` stays importable.
from tf_esgan.models.watershed_config import WatershedConfig

# 8-connectivity for markers and leftover blobs: a diagonal step stays inside one nucleus.
_EIGHT = np.ones((3, 3), bool)


@dataclasses.dataclass(frozen=True, kw_only=True)
class TuningGrid:
    """Candidate values searched by `tune_watershed` (all combinations)."""

    foreground_thresholds: tuple[float, ...] = (0.3, 0.4, 0.5, 0.6, 0.7)
    marker_thresholds: tuple[float, ...] = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
    min_areas: tuple[int, ...] = (10, 30)


def _check_map(values: np.ndarray, name: str) -> np.ndarray:
    values = np.asarray(values, np.float32)
    if values.ndim != 2:
        raise ValueError(f"`{name}` must be a 2-D map [H, W], got shape {values.shape}")
    return values


def watershed_instances(nucleus_probability: np.ndarray, distance: np.ndarray,
                        config: WatershedConfig = WatershedConfig()) -> np.ndarray:
    """Instance label map from the two SegNet output channels.

    Args:
      nucleus_probability: float [H, W] in [0, 1].
      distance: float [H, W] in [0, 1], predicted normalised distance map.
      config: thresholds.
    Returns:
      int32 [H, W]: 0 background, 1..N nuclei (consecutive ids).
    """
    probability = _check_map(nucleus_probability, "nucleus_probability")
    distance = _check_map(distance, "distance")
    if probability.shape != distance.shape:
        raise ValueError(f"`nucleus_probability` {probability.shape} and `distance` "
                         f"{distance.shape} must have the same shape")
    return _drop_small(_flooded(probability, distance, config.foreground_threshold, config.marker_threshold),
                       config.min_area)


def _flooded(probability: np.ndarray, distance: np.ndarray, foreground_threshold: float,
             marker_threshold: float) -> np.ndarray:
    """The instances before small ones are dropped: marker basins 1..M, then markerless blobs M+1.."""
    foreground = probability > foreground_threshold
    markers, marker_count = ndimage.label(foreground & (distance > marker_threshold), _EIGHT)
    labels = segmentation.watershed(-distance, markers, mask=foreground).astype(np.int32)
    unreached, _ = ndimage.label(foreground & (labels == 0), _EIGHT)
    return np.where(unreached > 0, unreached + marker_count, labels)


def _drop_small(labels: np.ndarray, min_area: int) -> np.ndarray:
    """Removes instances below `min_area` pixels and renumbers the rest 1..N."""
    areas = np.bincount(labels.ravel())
    keep = areas >= min_area
    keep[0] = False
    new_ids = np.zeros(len(areas), np.int32)
    new_ids[keep] = np.arange(1, keep.sum() + 1, dtype=np.int32)
    return new_ids[labels]


def tune_watershed(predictions: Sequence[np.ndarray], true_labels: Sequence[np.ndarray],
                   grid: TuningGrid = TuningGrid()) -> tuple[WatershedConfig, float]:
    """Grid search of the thresholds maximising the mean per-image AJI.

    Use training images only (the test images must not choose the thresholds).

    Args:
      predictions: SegNet outputs, float [H, W, 2] per image (nucleus probability,
        distance map).
      true_labels: int [H, W] instance label maps, one per prediction.
      grid: candidate values.
    Returns:
      (best config, its mean AJI); ties keep the first candidate in grid order.
    """
    if len(predictions) != len(true_labels) or not predictions:
        raise ValueError(f"tune_watershed: expected as many predictions as label maps (>= 1), "
                         f"got {len(predictions)} and {len(true_labels)}")
    maps = [(_check_map(prediction[..., 0], "nucleus_probability"), _check_map(prediction[..., 1], "distance"))
            for prediction in predictions]
    best_config, best_score = None, -np.inf
    # The flooding depends on the two thresholds only: once per pair, then each minimum area
    # (the same candidates in the same order as itertools.product of the three).
    for foreground, marker in itertools.product(grid.foreground_thresholds, grid.marker_thresholds):
        flooded = [_flooded(probability, distance, foreground, marker) for probability, distance in maps]
        for area in grid.min_areas:
            config = WatershedConfig(foreground_threshold=foreground, marker_threshold=marker, min_area=area)
            score = _mean_aji([_drop_small(labels, area) for labels in flooded], true_labels)
            if score > best_score:
                best_config, best_score = config, score
    return best_config, float(best_score)


def _mean_aji(instances: Iterable[np.ndarray], true_labels: Iterable[np.ndarray]) -> float:
    scores = [seg_metrics.aggregated_jaccard_index(truth, labels) for labels, truth in zip(instances, true_labels)]
    finite = [score for score in scores if np.isfinite(score)]
    return float(np.mean(finite)) if finite else -np.inf
