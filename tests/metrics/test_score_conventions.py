"""HoVer-Net per-image means and StarDist pooled scores: hand-computed cases and a slow reference."""

import numpy as np
import pytest

from tf_esgan.metrics.score_conventions import convention_blocks, pooled
from tf_esgan.metrics.segmentation import aggregate, instance_counts


def _hand_images():
    """Image 1: one nucleus found exactly. Image 2: one of three found with IoU 0.6, plus one false.

    Per image: (TP, FP, FN, IoU sum, AJI) = (1, 0, 0, 1.0, 1) and (1, 1, 2, 0.6, 6/26):
    true 1 (10 px) vs pred 1 (6 px inside it) gives I/U = 6/10; the unmatched true
    nuclei (4 + 4 px) and the never-paired prediction (8 px) add to the AJI union.
    """
    first_true = np.zeros((10, 10), np.int32)
    first_true[2:5, 2:5] = 1
    second_true = np.zeros((10, 10), np.int32)
    second_true[0:2, 0:5] = 1
    second_true[4:6, 0:2] = 2
    second_true[8:10, 0:2] = 3
    second_pred = np.zeros((10, 10), np.int32)
    second_pred[0:2, 0:3] = 7
    second_pred[4:6, 6:10] = 9
    return [(first_true, first_true.copy()), (second_true, second_pred)]


def test_hand_made_images_give_different_per_image_and_pooled_scores():
    blocks = convention_blocks(aggregate(instance_counts(t, p) for t, p in _hand_images()))
    mean = blocks["per_image_mean"]
    # Per image: DQ 1 and 1 / (1 + 1/2 + 2/2) = 0.4; SQ 1 and 0.6; PQ 1 and 0.24.
    assert mean["dq"] == pytest.approx((1 + 0.4) / 2)
    assert mean["sq"] == pytest.approx((1 + 0.6) / 2)
    assert mean["pq"] == pytest.approx((1 + 0.24) / 2)
    assert mean["aji"] == pytest.approx((1 + 6 / 26) / 2)
    assert (mean["num_images"], mean["num_skipped"]) == (2, 0)
    # Pooled: TP 2, FP 1, FN 2, n_true 4, n_pred 3, IoU sum 1.6.
    assert pooled(aggregate(instance_counts(t, p) for t, p in _hand_images())) == pytest.approx({
        "criterion": "iou", "thresh": 0.5, "by_image": False,
        "tp": 2, "fp": 1, "fn": 2, "n_true": 4, "n_pred": 3,
        "precision": 2 / 3, "recall": 2 / 4, "accuracy": 2 / 5, "f1": 4 / 7,
        "mean_true_score": 1.6 / 4, "mean_matched_score": 1.6 / 2,
        "panoptic_quality": 1.6 / 3.5,
    })
    assert blocks["pooled"]["f1"] != pytest.approx(mean["dq"])  # the conventions really differ
    assert "StarDist" in blocks["score_conventions"] and "HoVer-Net" in blocks["score_conventions"]


def test_no_true_positive_gives_zeros_as_stardist():
    true = np.zeros((8, 8), np.int32)
    true[0:2, 0:2] = 1
    pred = np.zeros((8, 8), np.int32)
    pred[5:8, 5:8] = 4
    scores = pooled(aggregate([instance_counts(true, pred)]))
    assert (scores["tp"], scores["fp"], scores["fn"]) == (0, 1, 1)
    assert all(scores[key] == 0.0 for key in ("precision", "recall", "accuracy", "f1",
                                              "mean_true_score", "mean_matched_score",
                                              "panoptic_quality"))
    empty = np.zeros((8, 8), np.int32)
    assert pooled(aggregate([instance_counts(empty, empty)]))["panoptic_quality"] == 0.0


def _slow_matches(true, pred):
    """IoUs of the matched pairs (IoU > 0.5) from one boolean mask per pair, and the id counts."""
    true_ids = [i for i in np.unique(true) if i]
    pred_ids = [i for i in np.unique(pred) if i]
    matched = []
    for t in true_ids:
        for p in pred_ids:
            iou = np.logical_and(true == t, pred == p).sum() / np.logical_or(true == t, pred == p).sum()
            if iou > 0.5:
                matched.append(iou)
    return matched, len(true_ids), len(pred_ids)


def _slow_blocks(images):
    per_image = []
    totals = {"tp": 0, "fp": 0, "fn": 0, "n_true": 0, "n_pred": 0, "iou": 0.0}
    for true, pred in images:
        matched, n_true, n_pred = _slow_matches(true, pred)
        tp, fp, fn = len(matched), n_pred - len(matched), n_true - len(matched)
        dq = tp / (tp + fp / 2 + fn / 2)
        sq = sum(matched) / tp if tp else 0.0
        per_image.append((dq, sq, dq * sq))
        for key, value in zip(totals, (tp, fp, fn, n_true, n_pred, sum(matched))):
            totals[key] += value
    tp, fp, fn = totals["tp"], totals["fp"], totals["fn"]
    return np.mean(per_image, axis=0), {
        "tp": tp, "fp": fp, "fn": fn, "n_true": totals["n_true"], "n_pred": totals["n_pred"],
        "precision": tp / (tp + fp), "recall": tp / (tp + fn), "accuracy": tp / (tp + fp + fn),
        "f1": 2 * tp / (2 * tp + fp + fn), "mean_matched_score": totals["iou"] / tp,
        "mean_true_score": totals["iou"] / totals["n_true"],
        "panoptic_quality": totals["iou"] / (tp + fp / 2 + fn / 2)}


def _random_image(rng, nuclei):
    """Non-overlapping true boxes; predictions shifted by up to 3 px, some dropped, some added."""
    true = np.zeros((48, 48), np.int32)
    pred = np.zeros((48, 48), np.int32)
    for index in range(nuclei):
        row, col = 2 + 11 * (index // 4), 2 + 11 * (index % 4)
        height, width = rng.integers(4, 9, 2)
        true[row:row + height, col:col + width] = index + 1
        if rng.random() < 0.8:
            dy, dx = rng.integers(-3, 4, 2)
            pred[max(row + dy, 0):row + dy + height, max(col + dx, 0):col + dx + width] = 50 + index
    pred[44:47, 44:47] = 99 if rng.random() < 0.5 else 0
    return true, pred


def test_blocks_match_a_slow_literal_reference(rng):
    images = [_random_image(rng, nuclei) for nuclei in (3, 16, 9, 1, 12)]
    blocks = convention_blocks(aggregate(instance_counts(t, p) for t, p in images))
    slow_mean, slow_pooled = _slow_blocks(images)
    mean = blocks["per_image_mean"]
    assert [mean["dq"], mean["sq"], mean["pq"]] == pytest.approx(list(slow_mean))
    assert {key: blocks["pooled"][key] for key in slow_pooled} == pytest.approx(slow_pooled)
    assert 0 < blocks["pooled"]["tp"] < blocks["pooled"]["n_true"]  # a case with misses
