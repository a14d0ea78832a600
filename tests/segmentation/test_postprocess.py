"""Watershed post-processing on hand-made ideal predictions, and threshold tuning."""

import numpy as np
import pytest

from tf_esgan.data.skeleton import distance_map
from tf_esgan.metrics.segmentation import aggregated_jaccard_index, panoptic_quality
from tf_esgan.segmentation.postprocess import (TuningGrid, WatershedConfig, tune_watershed,
                                               watershed_instances)


def _touching_disks(size=64, radius=12, gap=22):
    """Two disks whose centres are `gap` apart (< 2 * radius, so they touch and overlap)."""
    yy, xx = np.mgrid[:size, :size]
    centre_y, left, right = size // 2, size // 2 - gap // 2, size // 2 + gap // 2
    first = (yy - centre_y) ** 2 + (xx - left) ** 2 <= radius**2
    second = (yy - centre_y) ** 2 + (xx - right) ** 2 <= radius**2
    labels = np.zeros((size, size), np.int32)
    labels[first] = 1
    labels[second & (xx >= size // 2)] = 2  # split the overlap at the midline
    labels[first & (xx < size // 2)] = 1
    return labels


def test_two_touching_disks_become_two_instances():
    truth = _touching_disks()
    assert len(np.unique(truth)) == 3  # one background + two nuclei sharing a border
    probability = (truth > 0).astype(np.float32)
    predicted = watershed_instances(probability, distance_map(truth), WatershedConfig())
    assert predicted.dtype == np.int32
    assert sorted(np.unique(predicted)) == [0, 1, 2]
    dq, sq, pq = panoptic_quality(truth, predicted)
    assert dq == 1.0 and sq > 0.95
    assert aggregated_jaccard_index(truth, predicted) > 0.95
    # without distance information (one marker for the blob) they merge
    merged = watershed_instances(probability, probability * 0.2, WatershedConfig())
    assert sorted(np.unique(merged)) == [0, 1]


def test_empty_prediction_gives_empty_label_map():
    labels = watershed_instances(np.zeros((32, 48)), np.zeros((32, 48)))
    assert labels.shape == (32, 48) and not labels.any()


def test_markerless_blob_kept_and_small_instances_dropped():
    probability = np.zeros((40, 40), np.float32)
    probability[2:12, 2:12] = 0.9   # 100 px, distance below the marker threshold
    probability[30:33, 30:33] = 0.9  # 9 px: noise
    labels = watershed_instances(probability, np.zeros_like(probability),
                                 WatershedConfig(min_area=10))
    assert labels.max() == 1 and (labels == 1).sum() == 100
    assert not labels[30:33, 30:33].any()


def test_thresholds_validated():
    with pytest.raises(ValueError, match="marker_threshold"):
        WatershedConfig(marker_threshold=1.0)
    with pytest.raises(ValueError, match="same shape"):
        watershed_instances(np.zeros((4, 4)), np.zeros((4, 5)))


def test_tuning_picks_thresholds_that_separate_the_nuclei():
    truth = _touching_disks()
    # distance peaks only reach 0.5: a marker threshold of 0.7 finds no marker and
    # leaves the two disks as one blob, 0.3 separates them.
    prediction = np.stack([(truth > 0).astype(np.float32), 0.5 * distance_map(truth)], axis=-1)
    grid = TuningGrid(foreground_thresholds=(0.5,), marker_thresholds=(0.7, 0.3), min_areas=(10,))
    best, score = tune_watershed([prediction], [truth], grid)
    assert best == WatershedConfig(foreground_threshold=0.5, marker_threshold=0.3, min_area=10)
    assert score > 0.95
    with pytest.raises(ValueError, match="as many predictions"):
        tune_watershed([prediction], [], grid)


def test_tuning_equals_the_literal_search_over_every_candidate():
    """The search floods once per threshold pair; the result must be the grid search by definition."""
    rng = np.random.default_rng(3)
    truths, predictions = [], []
    for shift in (0, 5, 9):
        truth = np.roll(_touching_disks(size=64, radius=11, gap=20 + shift % 4), shift, axis=0)
        noisy = np.clip((truth > 0) * 0.8 + rng.normal(0.1, 0.2, truth.shape), 0, 1).astype(np.float32)
        distance = np.clip(distance_map(truth) * rng.uniform(0.5, 1.0) + rng.normal(0, 0.1, truth.shape), 0, 1)
        truths.append(truth)
        predictions.append(np.stack([noisy, distance.astype(np.float32)], axis=-1))
    grid = TuningGrid()
    best, score = tune_watershed(predictions, truths, grid)
    literal = {}
    for foreground in grid.foreground_thresholds:
        for marker in grid.marker_thresholds:
            for area in grid.min_areas:
                config = WatershedConfig(foreground_threshold=foreground, marker_threshold=marker, min_area=area)
                literal[config] = np.mean([aggregated_jaccard_index(t, watershed_instances(p[..., 0], p[..., 1], config))
                                           for p, t in zip(predictions, truths)])
    top = max(literal.values())
    assert score == pytest.approx(top, abs=1e-12)
    assert best == next(config for config, value in literal.items() if value == top)  # first of the ties
    assert len(set(np.round(list(literal.values()), 6))) > 5  # the candidates really differ
